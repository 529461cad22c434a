"""The answer cache of `openwmi serve` seen through real clients: answers about static (MOF)
instances, kept after the first request, are byte for byte the answers a server without the cache
(`--answer-cache-kib 0`) makes afresh, each with the request's own message ID; pywbem sees the same
instances every time; and a kept answer goes only to users allowed to read it.
"""

from __future__ import annotations

import pytest

import server_harness as sh
from conftest import require

# Only USER (tester) may read root/test; OTHER_USER is named by no grant.
GRANT = """
[permissions]
[[permissions.grant]]
namespace = 'root\\test'
users = ["tester"]
rights = ["read"]
"""

QUERY = "SELECT * FROM Test_Share WHERE MaximumAllowed < 3"

REQUESTS = {
    "EnumerateInstances": sh.class_name_param("Test_Share"),
    "EnumerateInstanceNames": sh.class_name_param("Test_Share"),
    "ExecQuery": sh.value_param("QueryLanguage", "WQL")
    + sh.value_param("Query", QUERY),
}


@pytest.fixture(scope="module")
def servers(openwmi_bin, tmp_path_factory):
    """Two servers of the same 1000 shares: with the answer cache (the default) and without."""
    require("pywbem", modules=("pywbem",))
    base = tmp_path_factory.mktemp("answer-cache")
    mof = base / "shares.mof"
    mof.write_text(sh.test_share_mof(1000))
    started = []
    try:
        for name, extra in (("kept", []), ("fresh", ["--answer-cache-kib", "0"])):
            started.append(sh.OpenwmiServer(openwmi_bin, base / name, mof=[f"root/test={mof}"],
                                            extra_args=extra, config_text=GRANT).start())
        yield started[0], started[1]
    finally:
        for srv in started:
            srv.stop()


def test_kept_answers_are_fresh_answers_with_each_requests_message_id(servers):
    kept, fresh = servers
    for method, params in REQUESTS.items():
        for msg_id in ("11", "12", "13"):
            body = sh.imethodcall(method, "root/test", params, msg_id=msg_id)
            got = sh.post(kept, body, sh.cim_headers(method, "root/test"))
            want = sh.post(fresh, body, sh.cim_headers(method, "root/test"))
            assert (got.status, want.status) == (200, 200), got.text[:500]
            assert f'MESSAGE ID="{msg_id}"' in got.text
            assert "<ERROR" not in got.text
            assert got.body == want.body, f"{method} (message {msg_id})"
            # A kept answer is whole: it goes with its length.
            assert not got.chunked and got.headers["content-length"] == str(len(got.body))


def test_pywbem_gets_the_same_instances_every_time(servers):
    kept, _ = servers
    conn = kept.pywbem(namespace="root/test")

    def shares(result) -> list:
        return sorted((str(i.path), dict(i.items())) for i in result)

    first = shares(conn.ExecQuery("WQL", QUERY))
    assert len(first) == 300
    for _ in range(3):
        assert shares(conn.ExecQuery("WQL", QUERY)) == first
    everything = shares(conn.EnumerateInstances("Test_Share"))
    assert len(everything) == 1000
    assert shares(conn.EnumerateInstances("Test_Share")) == everything


def test_a_kept_answer_goes_only_to_users_allowed_to_read_it(servers):
    import pywbem

    kept, _ = servers
    tester = kept.pywbem(namespace="root/test")
    other = kept.pywbem(sh.OTHER_USER, namespace="root/test")
    calls = [
        lambda c: c.EnumerateInstanceNames("Test_Share"),
        lambda c: c.EnumerateInstances("Test_Share"),
        lambda c: c.ExecQuery("WQL", QUERY),
    ]
    for call in calls:
        # Twice: the second answer is the kept one.
        assert call(tester) and call(tester)
        with pytest.raises(pywbem.CIMError) as info:
            call(other)
        assert info.value.status_code == 2, str(info.value)  # CIM_ERR_ACCESS_DENIED
        assert call(tester)
