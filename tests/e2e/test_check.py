"""`openwmi check`, the monitoring plugin, against a real private smbd with real SMB sessions:
each exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) reached for real, locally and through
`openwmi serve` with -r; the plugins' range rules (`10`, `10:`, `~:10`, `10:20`, `@10:20`)
judged on a real count; and the UNKNOWNs: a failed query, a refused login, a host that refuses
the connection, one that never answers (the timeout), a wrong command line.

smbstatus shows connections to root only, so these tests run as root (CI does)."""

from __future__ import annotations

import os
import re
import socket

import pytest

import harness
import server_harness as sh
from harness import status_opens, status_tcons

CONN_PUBLIC = "SELECT * FROM Win32_ServerConnection WHERE ShareName='public'"
CONN = "SELECT * FROM Win32_ServerConnection"
LINE = re.compile(r"^OPENWMI (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]*( \| [^\n]*)?$")
CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


@pytest.fixture(autouse=True)
def _needs_root(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")


def check(*args, timeout: float = 60.0, **kw):
    """Runs `openwmi check ARGS`; asserts the plugin's output shape and that the exit code is
    the status line's. Returns (status word, line)."""
    r = harness.run_openwmi("check", *args, check=False, timeout=timeout, **kw)
    lines = r.stdout.splitlines()
    assert len(lines) == 1, f"one status line expected:\n{r.stdout}\n--- stderr\n{r.stderr}"
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert r.returncode == CODES[m.group(1)], (r.returncode, lines[0])
    return m.group(1), lines[0]


@pytest.fixture
def two_on_public(samba, smb_connect):
    """Two sessions on `public` (owtest1 with a file open), one on `data`."""
    one = smb_connect("owtest1", shares=("public", "data"), files=("held.txt",))
    smb_connect("owtest2", shares=("public",))
    samba.wait_for_status(lambda s: len(status_tcons(s)) == 3 and len(status_opens(s)) == 1,
                          "three tree connects and an open file")
    return samba, one


def local(samba, *args):
    return ("--smb-conf", samba.conf_path, *args)


def test_each_exit_code_locally(two_on_public):
    samba, _ = two_on_public
    assert check(*local(samba, "--count", CONN_PUBLIC, "-w", "5", "-c", "10")) == (
        "OK", "OPENWMI OK - 2 instances | instances=2;5;10;0")
    status, line = check(*local(samba, "--count", CONN_PUBLIC, "-w", "1", "-c", "10"))
    assert status == "WARNING" and "2 instances" in line
    status, line = check(*local(samba, "--count", CONN_PUBLIC, "-w", "1", "-c", "~:1"))
    assert status == "CRITICAL" and line.endswith("| instances=2;1;~:1;0")
    status, line = check(*local(samba, "--count", "SELECT * FROM Win32_NoSuchClass"))
    assert status == "UNKNOWN" and "WBEM_E_INVALID_CLASS (0x80041010)" in line


@pytest.mark.parametrize("rng,alerts", [
    ("1", True), ("2", False),            # outside 0..N
    ("3:", True), ("2:", False),          # below N
    ("~:1", True), ("~:2", False),        # above N
    ("3:5", True), ("1:3", False),        # outside N..M
    ("@1:3", True), ("@3:5", False),      # inside N..M
    (":1", True), ("@2", True),           # `:N` starts at 0; `@N` is @0:N
])
def test_range_rules_on_a_real_count(two_on_public, rng, alerts):
    samba, _ = two_on_public
    status, _ = check(*local(samba, "--count", CONN_PUBLIC, "-c", rng))
    assert status == ("CRITICAL" if alerts else "OK")
    status, _ = check(*local(samba, "--count", CONN_PUBLIC, "-w", rng))
    assert status == ("WARNING" if alerts else "OK")


def test_a_property_of_each_instance(two_on_public):
    samba, _ = two_on_public
    wql = "SELECT * FROM Win32_ServerConnection WHERE UserName='owtest1'"
    status, line = check(*local(samba, "--query", wql, "--property", "NumberOfFiles", "-w", "0"))
    # owtest1 holds a file open on `public`, none on `data`.
    assert status == "WARNING", line
    assert re.search(r"WARNING [^ ]*public[^ ]*=1", line), line
    perf = line.split(" | ", 1)[1].split()
    assert sorted(perf) == ["127.0.0.1,data,owtest1=0;0", "127.0.0.1,public,owtest1=1;0"], line
    status, line = check(*local(samba, "--query", wql, "--property", "NumberOfFiles",
                                "-w", "~:1", "-c", "~:5"))
    assert status == "OK", line
    status, line = check(*local(samba, "--query", wql, "--property", "NoSuchProperty"))
    assert status == "UNKNOWN" and "no property NoSuchProperty" in line


def test_wrong_command_lines_are_unknown(samba):
    for args in (["--count"], ["--count", CONN, "-w", "10:5"], ["--count", CONN, "-c", "x"],
                 ["--count", CONN, "--query", CONN], [], ["--count", CONN, "-t", "0"]):
        status, line = check(*local(samba, *args))
        assert status == "UNKNOWN", (args, line)


@pytest.fixture
def server(samba, tmp_path, openwmi_bin):
    with sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path) as s:
        yield s


def remote(server, user=sh.USER):
    return ("-r", f"127.0.0.1:{server.port}", "--http", "-U", user, "--password-stdin")


def test_each_exit_code_remotely(two_on_public, server):
    pw = sh.PASSWORD + "\n"
    assert check(*remote(server), "--count", CONN_PUBLIC, "-c", "2", input=pw)[0] == "OK"
    assert check(*remote(server), "--count", CONN_PUBLIC, "-w", "1", input=pw)[0] == "WARNING"
    assert check(*remote(server), "--count", CONN_PUBLIC, "-c", "@2", input=pw)[0] == "CRITICAL"
    status, line = check(*remote(server), "--count", CONN, input="wrong password\n")
    assert status == "UNKNOWN" and "WBEM_E_ACCESS_DENIED" in line, line
    # The other user lacks the `sessions` right: refused, never counted as 0.
    status, line = check(*remote(server, sh.OTHER_USER), "--count", CONN,
                         input=sh.OTHER_PASSWORD + "\n")
    assert status == "UNKNOWN" and "WBEM_E_ACCESS_DENIED" in line, line


def test_unreachable_and_silent_hosts_are_unknown(samba):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        # Bound, not listening: the connection is refused.
        status, line = check("-r", f"127.0.0.1:{port}", "--http", "--count", CONN)
        assert status == "UNKNOWN" and "WBEM_E_TRANSPORT_FAILURE" in line, line
        # Listening, never answering: the timeout decides.
        s.listen(4)
        status, line = check("-r", f"127.0.0.1:{port}", "--http", "-t", "2", "--count", CONN,
                             timeout=30)
        assert status == "UNKNOWN" and "no answer within 2 seconds" in line, line
