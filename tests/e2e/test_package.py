"""openwmi as systemd runs it, and its Debian package.

The service: `READY=1` reaches $NOTIFY_SOCKET once requests are answered (Type=notify), with
`RELOADING=1`/`READY=1` around a SIGHUP and `STOPPING=1` at the end; SIGHUP puts new
[permissions] in force without dropping a connection; under journald ($JOURNAL_STREAM naming
stderr) log lines carry `<N>` priorities and no timestamp.

The package (scripts/build-deb; needs cargo-deb, lintian, systemd-analyze): its contents,
lintian without errors, `dpkg -i` on this machine (the openwmi-admins group made), the installed
binary answering, `systemd-analyze verify` accepting the installed unit, and the unit's
capability bounding set and no_new_privs (applied with setpriv) still letting the installed
binary read smbstatus and serve. The whole sandbox (ProtectSystem=strict with its
ReadWritePaths, ProtectHome, PrivateTmp, the system call filter, ...) is applied by a real
systemd: this machine's own tree booted as PID 1 in a container (systemd-nspawn over an overlay
of /), where the package is installed, a real smbd serves real sessions and `systemctl start
openwmi` must still read them; `systemd-analyze security --offline=yes` rates the unit file.
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


# ------------------------------------------------------- the unit under a real systemd (PID 1)

CONTAINER_SMB_CONF = """[global]
  server role = standalone server
  map to guest = Bad User
  interfaces = lo
  bind interfaces only = yes
  disable netbios = yes
  load printers = no
  printcap name = /dev/null
[public]
  path = /srv/openwmi-test/public
  guest ok = yes
  read only = no
"""

CONTAINER_PASSWORD = "pw-container-1"


class Container:
    """This machine's own tree booted with systemd as PID 1 by systemd-nspawn: an overlay over /
    whose writes go to a tmpfs (the host's files stay as they are), its own network namespace
    (its services bind nothing of the host's), commands run in it with nsenter."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.layer = base / "layer"
        self.proc = None
        self.leader = 0
        self.mounted = []

    def start(self) -> "Container":
        self.root.mkdir(parents=True)
        self.layer.mkdir()
        self._mount(["-t", "tmpfs", "-o", "size=2g", "tmpfs", str(self.layer)])
        (self.layer / "upper").mkdir()
        (self.layer / "work").mkdir()
        self._mount(["-t", "overlay", "overlay", "-o",
                     f"lowerdir=/,upperdir={self.layer / 'upper'},workdir={self.layer / 'work'}",
                     str(self.root)])
        return self

    def boot(self) -> None:
        log = open(self.base / "nspawn.log", "wb")
        # --register=no --keep-unit: no machined and no systemd on the host to ask for a scope.
        self.proc = subprocess.Popen(
            ["systemd-nspawn", f"--directory={self.root}", "--register=no", "--keep-unit",
             "--private-network", "--boot", "--machine=openwmi-test", "--console=passive"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def leader() -> int:
            if self.proc.poll() is not None:
                raise harness.HarnessError(f"systemd-nspawn exited {self.proc.returncode}: "
                                           + (self.base / "nspawn.log").read_text())
            r = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
            return int(r.stdout.split()[0]) if r.stdout.split() else 0

        self.leader = harness.wait_until(leader, 60, "the container's PID 1")

        def booted() -> bool:
            r = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=300)
            return r.stdout.strip() in ("running", "degraded")

        harness.wait_until(booted, 300, "systemd in the container to finish booting", interval=1)

    def run(self, *cmd: str, check: bool = True, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        r = subprocess.run(["nsenter", "-t", str(self.leader), "-a", *cmd], capture_output=True,
                           text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def _mount(self, args: list[str]) -> None:
        subprocess.run(["mount", *args], check=True, capture_output=True, text=True)
        self.mounted.append(Path(args[-1]))

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # systemd-nspawn asks the container's systemd to power off on SIGTERM.
            self.proc.terminate()
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                harness._stop_group(self.proc)
        for path in reversed(self.mounted):
            subprocess.run(["umount", "--lazy", str(path)], capture_output=True)


@pytest.fixture
def container(tmp_path):
    require("systemd-nspawn (Debian package systemd-container)", programs=("systemd-nspawn",
                                                                          "nsenter", "pgrep"))
    c = Container(tmp_path / "container")
    try:
        yield c.start()
    finally:
        c.close()


def service_mounts(c: Container, pid: str) -> dict:
    """{mount point: options} of the service's mount namespace (the last mount of a point)."""
    out = {}
    for line in c.run("cat", f"/proc/{pid}/mountinfo").stdout.splitlines():
        fields = line.split()
        out[fields[4]] = fields[5].split(",")
    return out


def test_the_unit_under_a_real_systemd(deb, container):
    """The package installed in a container with systemd as PID 1, `systemctl start openwmi`
    with the packaged unit as it is: the sandbox is really applied (read-only system, no homes,
    a private /tmp, no new privileges, the capability set, the system call filter), and the
    service still reads a real smbd's sessions, tree connects and open files through smbstatus,
    serves CIM-XML, WS-Management and /metrics, and reloads on `systemctl reload`."""
    c = container
    (c.root / "srv/openwmi-test/public").mkdir(parents=True)
    (c.root / "srv/openwmi-test/public/m.txt").write_text("hello\n")
    os.chmod(c.root / "srv/openwmi-test/public", 0o777)
    shutil.copy(deb, c.root / "srv/openwmi-test/openwmi.deb")
    (c.root / "etc/samba").mkdir(parents=True, exist_ok=True)
    (c.root / "etc/samba/smb.conf").write_text(CONTAINER_SMB_CONF)
    c.boot()
    c.run("dpkg", "-i", "/srv/openwmi-test/openwmi.deb", timeout=300)
    c.run("systemctl", "restart", "smbd")
    c.run("openwmi", "passwd", "--users-file", "/etc/openwmi/users", "--groups",
          "openwmi-admins", "monitor", input=CONTAINER_PASSWORD + "\n")
    (c.root / "etc/openwmi/openwmi.toml").write_text(
        'listen = ["127.0.0.1:5988"]\nhttp = true\nusers_file = "/etc/openwmi/users"\n')
    # Two SMB sessions on `public` held open, one with a file open, for as long as the test.
    c.run("systemd-run", "--unit=smb-client-1", "sh", "-c",
          "sleep 3600 | smbclient //127.0.0.1/public -N")
    c.run("systemd-run", "--unit=smb-client-2", "sh", "-c",
          "(echo 'open m.txt'; sleep 3600) | smbclient //127.0.0.1/public -N")
    harness.wait_until(lambda: "m.txt" in c.run("smbstatus", "-L").stdout, 60,
                       "the open file in smbstatus")
    c.run("systemctl", "start", "openwmi")
    assert c.run("systemctl", "is-active", "openwmi").stdout.strip() == "active"

    pid = c.run("systemctl", "show", "--property=MainPID", "--value", "openwmi").stdout.strip()
    status = c.run("cat", f"/proc/{pid}/status").stdout
    assert re.search(r"NoNewPrivs:\s*1", status), status
    assert re.search(r"Seccomp:\s*2", status), status
    bounding = int(re.search(r"CapBnd:\s*([0-9a-f]+)", status).group(1), 16)
    assert bounding == (1 << 2) | (1 << 10), status  # CAP_DAC_READ_SEARCH, CAP_NET_BIND_SERVICE
    mounts = service_mounts(c, pid)
    assert "ro" in mounts["/"], mounts["/"]
    assert "rw" in mounts["/run/samba"] and "rw" in mounts["/tmp"], mounts
    assert "ro" in mounts["/home"] and "ro" in mounts["/root"], mounts
    home = c.run("stat", "-c", "%a %F", f"/proc/{pid}/root/home").stdout.strip()
    assert home.startswith("0 "), home  # ProtectHome: inaccessible
    tmp_inode = c.run("stat", "-c", "%i", f"/proc/{pid}/root/tmp").stdout
    assert tmp_inode != c.run("stat", "-c", "%i", "/tmp").stdout  # PrivateTmp
    for path in ("/var/lib/samba", "/var/cache/samba", "/etc", "/usr"):
        r = c.run("nsenter", "-t", pid, "-m", "touch", f"{path}/openwmi-probe", check=False)
        assert r.returncode != 0 and "Read-only file system" in r.stderr, (path, r.stderr)

    def check(query: str, threshold: str, *more: str) -> subprocess.CompletedProcess:
        return c.run("openwmi", "check", "-r", "127.0.0.1:5988", "--http", "-U", "monitor",
                     "--password-stdin", *more, "--count", query, "-c", threshold,
                     input=CONTAINER_PASSWORD + "\n", check=False)

    # Both guest sessions come from one client as one user: one Win32_ServerSession.
    r = check("SELECT * FROM Win32_ServerSession", "1:1")
    assert r.returncode == 0, r.stdout + r.stderr + c.run("journalctl", "-u", "openwmi").stdout
    r = check("SELECT * FROM Win32_Share WHERE Name='public'", "1:1", "--protocol", "wsman")
    assert r.returncode == 0, r.stdout + r.stderr
    metrics = c.run("curl", "-s", "-u", f"monitor:{CONTAINER_PASSWORD}",
                    "http://127.0.0.1:5988/metrics").stdout
    assert 'openwmi_samba_tree_connects{share="public"} 2' in metrics, metrics
    assert re.search(r'^openwmi_samba_sessions\{.*\} 2$', metrics, re.M), metrics
    assert 'openwmi_samba_open_files{share="public"} 1' in metrics, metrics
    assert 'openwmi_data_source_failures_total{source="smbstatus"} 0' in metrics, metrics
    # Reload: the same process, still answering.
    c.run("systemctl", "reload", "openwmi")
    harness.wait_until(lambda: "configuration reloaded" in c.run(
        "journalctl", "-u", "openwmi", "--no-pager").stdout, 60, "the reload in the journal")
    assert c.run("systemctl", "show", "--property=MainPID", "--value",
                 "openwmi").stdout.strip() == pid
    assert check("SELECT * FROM Win32_ServerSession", "1:1").returncode == 0
    c.run("systemctl", "stop", "openwmi")
    assert c.run("systemctl", "is-active", "openwmi", check=False).stdout.strip() == "inactive"


def test_systemd_analyze_security_offline():
    """`systemd-analyze security --offline=yes` on the unit file (no running systemd needed):
    an overall exposure of 3.0 at most (the threshold counts tenths), and the directives the
    unit promises counted as set."""
    require("systemd-analyze", programs=("systemd-analyze",))
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=30",
                        str(UNIT)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--json=short", str(UNIT)],
                       capture_output=True, text=True, timeout=120, check=True)
    import json
    checks = {c["name"]: c["set"] for c in json.loads(r.stdout)}
    for name in ("NoNewPrivileges=", "ProtectSystem=", "ProtectHome=", "PrivateTmp=",
                 "PrivateDevices=", "PrivateMounts=", "SystemCallFilter=~@mount",
                 "SystemCallFilter=~@module", "CapabilityBoundingSet=~CAP_SYS_ADMIN",
                 "RestrictNamespaces=~user", "MemoryDenyWriteExecute="):
        assert checks.get(name) is True, (name, checks.get(name))
