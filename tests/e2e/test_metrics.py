"""`GET /metrics` of `openwmi serve` against a real private smbd with real SMB sessions: a real
Prometheus server (Debian's `prometheus`) scrapes it on loopback and its HTTP API returns the
session and tree-connect counts the sessions make; `promtool check metrics` finds nothing to
complain about; the route sits behind the server's authentication, and per-user series go only
to a scraper holding the `sessions` right, and only when configured.

smbstatus shows connections to root only, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import harness
import server_harness as sh
from conftest import require
from harness import status_opens, status_tcons


@pytest.fixture(autouse=True)
def _needs_root(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")


@pytest.fixture
def sessions(samba, smb_connect):
    """owtest1 on `public` (a file open) and `data`; owtest2 on `public`."""
    smb_connect("owtest1", shares=("public", "data"), files=("m.txt",))
    smb_connect("owtest2", shares=("public",))
    samba.wait_for_status(lambda s: len(status_tcons(s)) == 3 and len(status_opens(s)) == 1,
                          "three tree connects and an open file")
    return samba


def start_server(samba, tmp_path, openwmi_bin, config_text=""):
    return sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path,
                            config_text=config_text).start()


def scrape(server, user=sh.USER, password=sh.PASSWORD, method="GET"):
    conn = server.connection()
    headers = {} if user is None else {"Authorization": sh.basic_auth(user, password)}
    conn.request(method, "/metrics", headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, r.headers, body


def samples(text: str, name: str) -> dict:
    """{label text: value} of the samples of `name`."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, value = line.rsplit(" ", 1)
            out[key[len(name):]] = float(value)
    return out


def test_the_samba_gauges_and_promtool(sessions, tmp_path, openwmi_bin):
    require("promtool", programs=("promtool",))
    with start_server(sessions, tmp_path, openwmi_bin) as server:
        status, headers, text = scrape(server)
        assert status == 200, text
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        tcons = samples(text, "openwmi_samba_tree_connects")
        assert tcons['{share="public"}'] == 2 and tcons['{share="data"}'] == 1, tcons
        assert sum(samples(text, "openwmi_samba_sessions").values()) == 2
        assert samples(text, "openwmi_samba_users_connected") == {"": 2}
        opens = samples(text, "openwmi_samba_open_files")
        assert opens['{share="public"}'] == 1 and opens['{share="data"}'] == 0, opens
        assert samples(text, "openwmi_data_source_up")['{source="smbstatus"}'] == 1
        # No per-user series unless configured.
        assert "openwmi_samba_user_sessions" not in text
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", (
            r.stdout + r.stderr)


def test_authentication_and_methods(samba, tmp_path, openwmi_bin):
    with start_server(samba, tmp_path, openwmi_bin) as server:
        assert scrape(server, user=None)[0] == 401
        assert scrape(server, password="wrong")[0] == 401
        status, headers, _ = scrape(server, method="POST")
        assert status == 405 and "GET" in headers.get("Allow", "")
        # The server's own health counts what just happened.
        status, _, text = scrape(server)
        assert status == 200
        assert samples(text, "openwmi_auth_failures_total")[""] >= 1
        requests = samples(text, "openwmi_http_requests_total")
        assert requests['{route="/metrics",code="4xx"}'] >= 3, requests
        assert samples(text, "openwmi_http_request_duration_seconds_count")[
            '{route="/metrics"}'] >= 3
        assert samples(text, "openwmi_enumerations_open") == {"": 0}
        # A CIM operation refused for want of the `sessions` right, counted by method and result.
        body = sh.imethodcall("EnumerateInstances", "root/cimv2",
                              sh.class_name_param("Win32_ServerConnection"))
        r = sh.post(server, body, sh.cim_headers("EnumerateInstances",
                                                 auth=sh.basic_auth(sh.OTHER_USER,
                                                                    sh.OTHER_PASSWORD)))
        assert 'CODE="2"' in r.text
        _, _, text = scrape(server)
        ops = samples(text, "openwmi_cim_operations_total")
        assert ops['{operation="EnumerateInstances",result="CIM_ERR_ACCESS_DENIED"}'] >= 1, ops


def test_per_user_series_need_config_and_the_sessions_right(sessions, tmp_path, openwmi_bin):
    config = "[metrics]\nper_user_labels = true\n"
    with start_server(sessions, tmp_path, openwmi_bin, config) as server:
        _, _, admin = scrape(server)
        users = samples(admin, "openwmi_samba_user_sessions")
        assert users == {'{user="owtest1"}': 1, '{user="owtest2"}': 1}, users
        assert sum(samples(admin, "openwmi_samba_client_sessions").values()) == 2
        status, _, other = scrape(server, sh.OTHER_USER, sh.OTHER_PASSWORD)
        assert status == 200
        assert "openwmi_samba_user_sessions" not in other
        assert "openwmi_samba_client_sessions" not in other
        # The aggregates are for every authenticated scraper.
        assert sum(samples(other, "openwmi_samba_sessions").values()) == 2


def prometheus_query(port: int, query: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as r:
        answer = json.load(r)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_a_real_prometheus_scrapes_it(sessions, tmp_path, openwmi_bin):
    require("prometheus", programs=("prometheus",))
    with start_server(sessions, tmp_path, openwmi_bin) as server:
        base = tmp_path / "prometheus"
        base.mkdir()
        (base / "password").write_text(sh.PASSWORD)
        (base / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: openwmi
    metrics_path: /metrics
    basic_auth:
      username: {sh.USER}
      password_file: {base / "password"}
    static_configs:
      - targets: ["127.0.0.1:{server.port}"]
""")
        port = harness.free_port()
        log = open(base / "prometheus.log", "wb")
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={base / 'prometheus.yml'}",
             f"--storage.tsdb.path={base / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        try:
            harness.wait_until(lambda: harness.port_accepts(port), 60, "prometheus listening")
            found = {}

            def scraped() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=10):
                        pass
                except OSError:  # 503 until its storage is open
                    return False
                for q in ("sum(openwmi_samba_sessions)", "openwmi_samba_tree_connects",
                          "up{job=\"openwmi\"}"):
                    found[q] = prometheus_query(port, q)
                return bool(found["sum(openwmi_samba_sessions)"]) and any(
                    r["value"][1] == "1" for r in found['up{job="openwmi"}'])

            try:
                harness.wait_until(scraped, 90, "prometheus to scrape openwmi", interval=0.5)
            except harness.HarnessError:
                url = f"http://127.0.0.1:{port}/api/v1/targets"
                with urllib.request.urlopen(url, timeout=10) as r:
                    targets = r.read().decode()
                pytest.fail(f"not scraped: {found}\ntargets: {targets}")
            assert float(found["sum(openwmi_samba_sessions)"][0]["value"][1]) == 2
            tcons = {r["metric"]["share"]: float(r["value"][1])
                     for r in found["openwmi_samba_tree_connects"]}
            assert tcons["public"] == 2 and tcons["data"] == 1, tcons
        finally:
            harness._stop_group(proc)


def test_a_local_listener_without_login(samba, tmp_path, openwmi_bin):
    import http.client
    port = harness.free_port()
    config = f'[metrics]\nlisten = ["127.0.0.1:{port}"]\n'
    with start_server(samba, tmp_path, openwmi_bin, config) as server:
        harness.wait_until(lambda: harness.port_accepts(port), 30, "the /metrics listener")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def ready():
            # 503 until the object manager (and its Samba source) is built.
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            text = r.read().decode()
            return text if r.status == 200 else None

        text = harness.wait_until(ready, 60, "the /metrics answer", interval=0.2)
        assert "openwmi_samba_shares" in text, text[:300]
        # Only /metrics: the CIM-XML front-end is not reachable without login.
        body, headers = sh.imethodcall("EnumerateInstances", "root/cimv2",
                                       sh.class_name_param("Win32_Share")), sh.cim_headers(
            "EnumerateInstances")
        conn.request("POST", "/cimom", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 404
        # The authenticated listener still wants a login.
        assert scrape(server, user=None)[0] == 401
    # Without login only on loopback: anything else is refused at start.
    bad = sh.OpenwmiServer(openwmi_bin, tmp_path / "bad", smb_conf=samba.conf_path,
                           config_text=f'[metrics]\nlisten = ["0.0.0.0:{harness.free_port()}"]\n')
    with pytest.raises(harness.HarnessError, match="loopback"):
        bad.start(timeout=30)
    bad.stop()


def cim_call(server, method: str, params: str):
    return sh.post(server, sh.imethodcall(method, "root/cimv2", params), sh.cim_headers(method))


def test_request_latency_by_protocol_and_data_source_reads(samba, tmp_path, openwmi_bin):
    """Latency histograms by protocol, operation and result grow with requests of both protocols
    (a real WS-Man client, pywinrm's transport, for WS-Management); every data-source read
    counts, whoever asked for it; promtool accepts the histograms."""
    require("promtool", programs=("promtool",))
    import wsman_helpers as wh
    with start_server(samba, tmp_path, openwmi_bin) as server:
        _, _, before = scrape(server)
        r = cim_call(server, "EnumerateInstances", sh.class_name_param("Win32_Share"))
        assert r.status == 200 and "ERROR" not in r.text, r.text[:300]
        r = cim_call(server, "GetInstance",
                     sh.instance_name_param("Win32_Share", {"Name": "public"}))
        assert r.status == 200 and "VALUE.NAMEDINSTANCE" not in r.text and "INSTANCE" in r.text, (
            r.text[:300])
        r = cim_call(server, "GetInstance",
                     sh.instance_name_param("Win32_Share", {"Name": "no-such-share"}))
        assert 'CODE="6"' in r.text, r.text[:300]
        got, requests = wh.enumerate_all(server, wh.WMI + "root/cimv2/Win32_Share",
                                         wh.enumerate_body(max_elements=1))
        assert len(got) >= 2 and requests >= 2, (len(got), requests)
        status, _, after = scrape(server)
        assert status == 200

        def count(text, protocol, operation, result):
            key = f'{{protocol="{protocol}",operation="{operation}",result="{result}"}}'
            return samples(text, "openwmi_request_duration_seconds_count").get(key, 0)

        for labels, more in ((("cimxml", "EnumerateInstances", "OK"), 1),
                             (("cimxml", "GetInstance", "OK"), 1),
                             (("cimxml", "GetInstance", "CIM_ERR_NOT_FOUND"), 1),
                             (("wsman", "Enumerate", "OK"), 1),
                             (("wsman", "Pull", "OK"), requests - 1),
                             (("metrics", "GET", "OK"), 1)):
            assert count(after, *labels) >= count(before, *labels) + more, (labels, after)
        buckets = samples(after, "openwmi_request_duration_seconds_bucket")
        key = '{protocol="cimxml",operation="GetInstance",result="OK",le="+Inf"}'
        assert buckets[key] == count(after, "cimxml", "GetInstance", "OK")
        assert samples(after, "openwmi_request_duration_seconds_sum")[
            '{protocol="cimxml",operation="GetInstance",result="OK"}'] > 0
        # The scrapes read smbstatus; the duration histogram counts every read.
        reads = samples(after, "openwmi_data_source_reads_total")
        assert reads['{source="smbstatus"}'] >= 1, reads
        assert samples(after, "openwmi_data_source_read_duration_seconds_count")[
            '{source="smbstatus"}'] == reads['{source="smbstatus"}']
        assert samples(after, "openwmi_data_source_failures_total")['{source="smbstatus"}'] == 0
        assert samples(after, "openwmi_data_source_last_answer_timestamp_seconds")[
            '{source="smbstatus"}'] > time.time() - 600
        assert samples(after, "openwmi_samba_snapshot_age_seconds")[""] >= 0
        r = subprocess.run(["promtool", "check", "metrics"], input=after, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", (
            r.stdout + r.stderr)


@pytest.mark.parametrize("how", ["exits", "hangs"])
def test_a_failing_data_source_is_counted(samba, tmp_path, openwmi_bin, how):
    """A smbstatus that exits non-zero, or hangs past the source timeout, fails its reads: the
    failure counter grows for the CIM request's read and the scrape's alike, the scrape still
    answers (with `openwmi_data_source_up` 0) and the server stays up."""
    script = tmp_path / "smbstatus"
    body = ("echo 'smbstatus: broken on purpose' >&2\nexit 3\n" if how == "exits"
            else "exec sleep 60\n")
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path,
                              extra_args=["--smbstatus", script, "--source-timeout", "1",
                                          "--freshness", "0"])
    with server.start():
        _, _, before = scrape(server)
        failures_before = samples(before, "openwmi_data_source_failures_total")[
            '{source="smbstatus"}']
        assert failures_before >= 1, before
        assert samples(before, "openwmi_data_source_up")['{source="smbstatus"}'] == 0
        r = cim_call(server, "EnumerateInstances", sh.class_name_param("Win32_ServerConnection"))
        assert "<ERROR" in r.text, r.text[:300]
        status, _, after = scrape(server)
        assert status == 200 and server.alive()
        # The CIM request's read and the second scrape's.
        assert samples(after, "openwmi_data_source_failures_total")[
            '{source="smbstatus"}'] >= failures_before + 2, after
        reads = samples(after, "openwmi_data_source_read_duration_seconds_count")
        assert reads['{source="smbstatus"}'] >= failures_before + 2
        if how == "hangs":
            # Each hanging read lasted its timeout, no more.
            buckets = samples(after, "openwmi_data_source_read_duration_seconds_bucket")
            assert buckets['{source="smbstatus",le="0.5"}'] == 0, buckets
            assert buckets['{source="smbstatus",le="10"}'] == reads['{source="smbstatus"}']
        # Shares do not need smbstatus.
        assert samples(after, "openwmi_data_source_up")['{source="smb_conf"}'] == 1
