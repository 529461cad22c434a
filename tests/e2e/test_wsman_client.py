"""The `openwmi` client over WS-Management (`-r https://HOST:PORT/wsman`) against our own
`openwmi serve`, which answers WS-Man on the same listeners as CIM-XML: queries and gets in
every output format agree with CIM-XML, the live Samba classes (a real smbd and real SMB
sessions) come through, classes are read through the CIM-XML schema URI, and a wrong password
is WBEM_E_ACCESS_DENIED with exit code 1.

A missing component (openssl, smbd, smbprotocol) skips on a developer machine and fails under
CI=true.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import harness
import server_harness as sh
from conftest import require

N_TEST_SHARES = 25


@pytest.fixture(scope="module", autouse=True)
def no_password_from_environment():
    saved = os.environ.pop("OPENWMI_PASSWORD", None)
    yield
    if saved is not None:
        os.environ["OPENWMI_PASSWORD"] = saved


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wsman-client")


@pytest.fixture(scope="module")
def test_ca(module_dir) -> sh.TestCA:
    require("openssl", programs=("openssl",))
    return sh.make_test_ca(module_dir / "ca")


@pytest.fixture(scope="module")
def live_samba():
    """A private smbd with sessions held open: owtest1 on `public` and `data`, owtest2 on `public`."""
    require("Samba", programs=("smbd", "smbstatus", "smbpasswd", "testparm"))
    require("smbprotocol", modules=("smbprotocol",))
    with harness.SambaServer() as samba:
        conns = [harness.SmbConnection(samba, "owtest1"), harness.SmbConnection(samba, "owtest2")]
        try:
            conns[0].tree_connect("public")
            conns[0].tree_connect("data")
            conns[1].tree_connect("public")
            samba.wait_for_status(lambda s: len(harness.status_tcons(s)) >= 3, "three tree connects")
            yield samba
        finally:
            for c in conns:
                c.close()


@pytest.fixture(scope="module", params=["https", "http"])
def server(request, openwmi_bin, module_dir, test_ca, live_samba):
    mof = module_dir / "test_shares.mof"
    mof.write_text(sh.test_share_mof(N_TEST_SHARES))
    tls = test_ca if request.param == "https" else None
    srv = sh.OpenwmiServer(openwmi_bin, module_dir / f"server-{request.param}", tls=tls,
                           mof=[f"root/test={mof}"], smb_conf=live_samba.conf_path).start()
    yield srv
    try:
        assert srv.alive(), f"server died:\n{srv.log()}"
    finally:
        srv.stop()


def wsman_url(server: sh.OpenwmiServer) -> str:
    return f"{server.url}/wsman"


def tls_args(server: sh.OpenwmiServer) -> list[str]:
    return [] if server.tls is None else ["--ca-cert", str(server.tls.ca_cert)]


def openwmi(server: sh.OpenwmiServer, *args: str, resource: str | None = None, password: str = sh.PASSWORD,
            check: bool = True, extra: tuple = ()):
    """`openwmi ARGS -r <server>/wsman -U tester --password-stdin`."""
    first, rest = args[0], args[1:]
    cmd = [first, "-r", resource or wsman_url(server), "-U", sh.USER, "--password-stdin",
           *tls_args(server), *extra, *rest]
    return harness.run_openwmi(*cmd, input=password + "\n", check=check, timeout=120)


def cimxml(server: sh.OpenwmiServer, *args: str, namespace: str = "root/cimv2"):
    first, rest = args[0], args[1:]
    resource = f"{server.url}/{namespace}"
    cmd = [first, "-r", resource, "-U", sh.USER, "--password-stdin", *tls_args(server), *rest]
    return harness.run_openwmi(*cmd, input=sh.PASSWORD + "\n", timeout=120)


def rows(r) -> list[dict]:
    return json.loads(r.stdout)


def test_query_matches_cim_xml(server):
    q = "SELECT * FROM Win32_Share"
    ws = rows(openwmi(server, "query", "-o", "json", q))
    cx = rows(cimxml(server, "query", "-o", "json", q))
    assert sorted(r["Name"] for r in ws) == sorted(r["Name"] for r in cx)
    for share in ("public", "data"):
        assert share in [r["Name"] for r in ws], ws
    by_name = {r["Name"]: r for r in ws}
    assert by_name["data"]["Description"] == "Team data (test share)", by_name["data"]
    assert by_name["data"]["__CLASS"] == "Win32_Share"
    assert by_name["data"]["__PATH"].endswith('root\\cimv2:Win32_Share.Name="data"'), by_name["data"]
    # Typed as the class says: Type is a number, not text.
    assert isinstance(by_name["data"]["Type"], int), by_name["data"]


def test_query_namespace_filter_and_paging(server):
    """The -n namespace after /wsman/, a WQL filter, and more results than one batch can need."""
    r = openwmi(server, "query", "-n", "root/test", "-o", "json", "SELECT * FROM Test_Share")
    assert len(rows(r)) == N_TEST_SHARES
    q = "SELECT Name FROM Test_Share WHERE MaximumAllowed < 3"
    ws = sorted(x["Name"] for x in rows(openwmi(server, "query", "-n", "root/test", "-o", "json", q)))
    cx = sorted(x["Name"] for x in rows(cimxml(server, "query", "-o", "json", q, namespace="root/test")))
    assert ws == cx and ws, ws


def test_get_and_output_formats(server):
    path = 'Win32_Share.Name="data"'
    r = openwmi(server, "get", "-o", "json", path)
    got = rows(r)
    assert got[0]["Name"] == "data", got
    for fmt in ("table", "list", "csv", "mof", "wmic"):
        out = openwmi(server, "get", "-o", fmt, path).stdout
        assert "data" in out, (fmt, out)
    r = openwmi(server, "get", 'Win32_Share.Name="nosuch"', check=False)
    assert r.returncode == 1, r.stderr
    assert "WBEM_E_NOT_FOUND (0x80041002)" in r.stderr, r.stderr


def test_live_samba_sessions_over_wsman(server):
    q = "SELECT UserName, ShareName FROM Win32_ServerConnection WHERE ShareName = 'public'"
    got = rows(openwmi(server, "query", "-o", "json", q))
    assert sorted(r["UserName"] for r in got) == ["owtest1", "owtest2"], got
    assoc = "ASSOCIATORS OF {Win32_Share.Name=\"public\"} WHERE AssocClass = Win32_ConnectionShare"
    got = rows(openwmi(server, "query", "-o", "json", assoc))
    assert sorted(r["UserName"] for r in got) == ["owtest1", "owtest2"], got
    assert all(r["__CLASS"] == "Win32_ServerConnection" for r in got), got


def test_class_over_wsman(server):
    out = openwmi(server, "class", "Win32_Share").stdout
    assert "class Win32_Share" in out and "Name;" in out, out


def test_classes_over_wsman_match_cim_xml(server):
    """`openwmi classes` over WS-Man lists what CIM-XML lists (the server enumerates the CIM-XML
    class URI), and a meta_class query returns class definitions."""
    for args in (("classes", "--deep"), ("classes", "CIM_ManagedSystemElement"), ("classes",)):
        ws = openwmi(server, *args, "-o", "json").stdout
        cx = cimxml(server, *args, "-o", "json").stdout
        assert json.loads(ws) == json.loads(cx) and json.loads(ws), (args, ws, cx)
    ws = rows(openwmi(server, "classes", "-n", "root/test", "--deep", "-o", "json"))
    assert "Test_Share" in json.dumps(ws), ws
    out = openwmi(server, "query", "SELECT * FROM meta_class WHERE __CLASS = 'Win32_Share'").stdout
    assert "class Win32_Share" in out, out


def test_protocol_option_with_a_wmi_resource(server):
    host = f"\\\\127.0.0.1:{server.port}"
    extra = ("--protocol", "wsman") + (("--http",) if server.tls is None else ())
    r = openwmi(server, "query", "-o", "csv", "SELECT Name FROM Win32_Share WHERE Name = 'data'",
                resource=host, extra=extra)
    assert "data" in r.stdout, r.stdout


def test_wrong_password_is_access_denied(server):
    r = openwmi(server, "query", "SELECT * FROM Win32_Share", password="not-the-password", check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "WBEM_E_ACCESS_DENIED (0x80041003)" in r.stderr, r.stderr
    assert "not-the-password" not in r.stderr
