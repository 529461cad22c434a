"""openwmi as systemd runs it, and its Debian package.

The service: `READY=1` reaches $NOTIFY_SOCKET once requests are answered (Type=notify), with
`RELOADING=1`/`READY=1` around a SIGHUP and `STOPPING=1` at the end; SIGHUP puts new
[permissions] in force without dropping a connection; under journald ($JOURNAL_STREAM naming
stderr) log lines carry `<N>` priorities and no timestamp.

The package (scripts/build-deb; needs cargo-deb, lintian, systemd-analyze): its contents,
lintian without errors, `dpkg -i` on this machine (the openwmi-admins group made), the installed
binary answering, `systemd-analyze verify` accepting the installed unit, and the unit's
capability bounding set and no_new_privs (applied with setpriv, as systemd is not PID 1 here)
still letting the installed binary read smbstatus and serve. The mount-namespace options
(ProtectSystem, ProtectHome, PrivateTmp) are checked by systemd-analyze only.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import harness
import server_harness as sh
from conftest import require
from harness import status_tcons

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "crates/cli/debian/openwmi.service"


@pytest.fixture(autouse=True)
def _needs_root(openwmi_bin):
    harness.need_root("these tests run smbstatus and install a package: run them as root")


def recv_until(sock: socket.socket, wanted: str, timeout: float = 60.0) -> list[str]:
    got = []
    deadline = time.monotonic() + timeout
    while wanted not in got:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            raise AssertionError(f"no {wanted} on the notify socket; got {got}")
    return got


def test_readiness_reload_and_stop_reach_systemd(openwmi_bin, tmp_path):
    notify_path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    port = harness.free_port()
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([str(openwmi_bin), "serve", "--http", "--auth", "none", "--listen",
                             f"127.0.0.1:{port}", "--state-dir", str(tmp_path / "state")],
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    try:
        recv_until(sock, "READY=1")
        # Ready means answering.
        assert harness.port_accepts(port)
        proc.send_signal(signal.SIGHUP)
        got = recv_until(sock, "READY=1")
        assert got[0] == "RELOADING=1", got
        assert proc.poll() is None, "SIGHUP ended the server"
        proc.send_signal(signal.SIGTERM)
        recv_until(sock, "STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        harness._stop_group(proc)
        sock.close()


def enumerate_request(user: str, password: str):
    body = sh.imethodcall("EnumerateInstances", "root/cimv2",
                          sh.class_name_param("Win32_ServerConnection"))
    return body, sh.cim_headers("EnumerateInstances", auth=sh.basic_auth(user, password))


def test_sighup_reloads_permissions_without_dropping_connections(samba, smb_connect, tmp_path,
                                                                 openwmi_bin):
    smb_connect("owtest1", shares=("public",))
    samba.wait_for_status(lambda s: len(status_tcons(s)) == 1, "one tree connect")
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path)
    with server:
        conn = server.connection()
        body, headers = enumerate_request(sh.OTHER_USER, sh.OTHER_PASSWORD)

        def ask() -> str:
            conn.request("POST", "/cimom", body=body, headers=headers)
            r = conn.getresponse()
            assert r.status == 200
            return r.read().decode()

        assert 'CODE="2"' in ask()  # CIM_ERR_ACCESS_DENIED: no `sessions` right
        config = server.base / "serve.toml"
        config.write_text(config.read_text() + f"""
[permissions]
[[permissions.grant]]
namespace = "*"
users = ["{sh.OTHER_USER}"]
rights = ["read", "sessions"]
""")
        os.kill(server.proc.pid, signal.SIGHUP)
        harness.wait_until(lambda: "configuration reloaded" in server.log(), 30, "the reload")
        answer = ask()  # the same connection, still open
        assert "<ERROR" not in answer and "owtest1" in answer, answer[:500]
        # A file that no longer parses keeps the permissions in force.
        config.write_text(config.read_text() + "\n[permissions.nonsense\n")
        os.kill(server.proc.pid, signal.SIGHUP)
        harness.wait_until(lambda: "not reloaded" in server.log(), 30, "the refused reload")
        assert "owtest1" in ask()
        assert server.alive()


def test_log_lines_for_the_journal(openwmi_bin, tmp_path):
    err_path = tmp_path / "stderr"
    err = open(err_path, "wb")
    st = os.fstat(err.fileno())
    port = harness.free_port()
    users = tmp_path / "users"
    subprocess.run([str(openwmi_bin), "passwd", "--users-file", str(users), "u"],
                   input="pw-123456\n", text=True, check=True, capture_output=True)
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    proc = subprocess.Popen([str(openwmi_bin), "serve", "--http", "--listen", f"127.0.0.1:{port}",
                             "--users-file", str(users), "--state-dir", str(tmp_path / "state")],
                            env=env, stdout=subprocess.DEVNULL, stderr=err,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    err.close()
    try:
        harness.wait_until(lambda: harness.port_accepts(port), 60, "openwmi serve")
        body, headers = enumerate_request("u", "wrong")
        conn = socket.create_connection(("127.0.0.1", port))
        conn.close()
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/cimom", body=body, headers=headers)
        assert c.getresponse().status == 401
        harness.wait_until(lambda: "login failed" in err_path.read_text(), 30, "the log line")
        line = next(l for l in err_path.read_text().splitlines() if "login failed" in l)
        assert line.startswith("<4>login failed"), line
        assert not re.search(r"\d{4}-\d\d-\d\dT", line), line
    finally:
        harness._stop_group(proc)


# ------------------------------------------------------------------------------- the package


@pytest.fixture(scope="module")
def deb(openwmi_bin) -> Path:
    """The package: $OPENWMI_DEB, else built by scripts/build-deb from the binary under test."""
    given = os.environ.get("OPENWMI_DEB")
    if given:
        return Path(given)
    require("cargo-deb", programs=("cargo-deb",))
    profile = {"debug": "dev"}.get(Path(openwmi_bin).parent.name, Path(openwmi_bin).parent.name)
    r = subprocess.run([str(ROOT / "scripts/build-deb"), "--no-build"], cwd=ROOT,
                       env={**os.environ, "OPENWMI_DEB_PROFILE": profile,
                            "CARGO_TARGET_DIR": str(Path(openwmi_bin).parents[1])},
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = sorted((ROOT / "target/debian").glob("openwmi_*_amd64.deb"), key=os.path.getmtime)
    assert debs, r.stdout + r.stderr
    return debs[-1]


def test_the_package_holds_what_it_should(deb):
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    for path in ["./usr/bin/openwmi", "./etc/openwmi/openwmi.toml",
                 "/systemd/system/openwmi.service", "./usr/share/man/man1/openwmi.1",
                 "./usr/share/man/man1/openwmi-check.1", "./usr/share/man/man1/openwmi-serve.1",
                 "./usr/share/bash-completion/completions/openwmi",
                 "./usr/share/zsh/vendor-completions/_openwmi",
                 "./usr/share/fish/vendor_completions.d/openwmi.fish"]:
        assert path in listing, f"{path} missing:\n{listing}"
    assert re.match(r"openwmi_\d+\.\d+\.\d+(-\d+)?_amd64\.deb$", deb.name), deb.name


def test_lintian_finds_no_errors(deb):
    require("lintian", programs=("lintian",))
    r = subprocess.run(["lintian", "--no-tag-display-limit", str(deb)], capture_output=True,
                       text=True, timeout=600)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert not errors, r.stdout


@pytest.fixture(scope="module")
def installed(deb):
    require("dpkg", programs=("dpkg",))
    r = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    yield Path("/usr/bin/openwmi")
    # The machine as it was, but for the group (Debian keeps system groups).
    r = subprocess.run(["dpkg", "--purge", "openwmi"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not Path("/usr/bin/openwmi").exists()


def test_installed_binary_group_and_unit(installed, samba):
    require("systemd-analyze", programs=("systemd-analyze",))
    r = subprocess.run([str(installed), "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.startswith("openwmi "), r.stdout
    assert subprocess.run(["getent", "group", "openwmi-admins"], capture_output=True).returncode == 0
    assert Path("/etc/openwmi/openwmi.toml").is_file()
    unit = next(p for p in (Path("/lib/systemd/system/openwmi.service"),
                            Path("/usr/lib/systemd/system/openwmi.service")) if p.exists())
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "openwmi.service" not in r.stderr, r.stdout + r.stderr
    r = subprocess.run([str(installed), "--smb-conf", str(samba.conf_path), "check", "--count",
                        "SELECT * FROM Win32_Share WHERE Name='public'", "-c", "1:1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("OPENWMI OK - 1 instance"), r.stdout + r.stderr


def unit_setting(name: str) -> str:
    for line in UNIT.read_text().splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} not in {UNIT}")


def test_the_units_capabilities_still_read_samba_and_serve(installed, samba, smb_connect,
                                                          tmp_path):
    require("setpriv", programs=("setpriv",))
    smb_connect("owtest1", shares=("public",))
    samba.wait_for_status(lambda s: len(status_tcons(s)) == 1, "one tree connect")
    caps = [c.lower().removeprefix("cap_") for c in unit_setting("CapabilityBoundingSet").split()]
    assert unit_setting("NoNewPrivileges") == "yes"
    port = harness.free_port()
    config = tmp_path / "openwmi.toml"
    config.write_text('[permissions]\n[[permissions.grant]]\nnamespace = "*"\n'
                      'users = ["anonymous"]\nrights = ["read", "sessions"]\n')
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        ["setpriv", "--no-new-privs", "--bounding-set", ",".join(["-all"] + [f"+{c}" for c in caps]),
         "--inh-caps", "-all", str(installed), "serve", "--http", "--auth", "none",
         "--listen", f"127.0.0.1:{port}", "--smb-conf", str(samba.conf_path),
         "--config", str(config),
         "--state-dir", str(tmp_path / "state")],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    try:
        harness.wait_until(lambda: harness.port_accepts(port), 60, "the sandboxed server")
        status = open(f"/proc/{proc.pid}/status").read()
        bounding = int(re.search(r"CapBnd:\s*([0-9a-f]+)", status).group(1), 16)
        assert bin(bounding).count("1") == len(caps), status
        assert re.search(r"NoNewPrivs:\s*1", status), status
        r = subprocess.run([str(installed), "check", "-r", f"127.0.0.1:{port}", "--http",
                            "--count", "SELECT * FROM Win32_ServerConnection WHERE ShareName='public'",
                            "-c", "1:1"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr + (tmp_path / "serve.log").read_text()
    finally:
        harness._stop_group(proc)
