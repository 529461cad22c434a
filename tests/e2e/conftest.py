"""Shared fixtures of the end-to-end suite.

Fixtures for the product's tests:
  openwmi_bin   Path of the binary under test ($OPENWMI_BIN or target/release/openwmi)
  samba         a running private SambaServer (fresh per test); `samba.conf_path` is what
                `openwmi --smb-conf FILE` should read
  smb_users     {username: password} known to `samba`
  smb_connect   factory: smb_connect(user, shares=(), files=()) -> SmbConnection held open
                until the test ends (closed at teardown)
  smbclient_process  factory: smbclient_process(share, user) -> SmbClientProcess
  ssh_server    a running private sshd (one per test session)
  sshfs_mount   factory: sshfs_mount(name="mnt with space") -> SshfsMount, unmounted at teardown

A real component that is missing skips the test on a developer machine but FAILS it under
CI (CI=true), so that a CI run can never pass without exercising the real thing.
"""

from __future__ import annotations

import sys
import shutil
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def require(component: str, programs=(), modules=(), paths=()) -> None:
    """Skips (developer machine) or fails (CI) when `component` cannot run here."""
    problems = [f"program {p!r} not found" for p in harness.missing_programs(programs)]
    problems += [f"{p} does not exist" for p in paths if not Path(p).exists()]
    for mod in modules:
        try:
            __import__(mod)
        except ImportError as e:
            problems.append(f"python module {mod!r} missing ({e})")
    if not problems:
        return
    msg = f"{component} unavailable: {'; '.join(problems)} (run scripts/install-deps as root)"
    if harness.in_ci():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def pytest_report_header(config):
    return [f"openwmi binary: {harness.openwmi_bin()}", f"CI mode (missing component fails): {harness.in_ci()}"]


@pytest.fixture(scope="session")
def openwmi_bin() -> Path:
    path = harness.openwmi_bin()
    if not path.is_file():
        msg = f"openwmi binary not found at {path} (build it, or set OPENWMI_BIN)"
        if harness.in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture
def samba():
    require("Samba", programs=("smbd", "smbstatus", "smbpasswd", "testparm"))
    with harness.SambaServer() as server:
        yield server


@pytest.fixture
def smb_users(samba) -> dict[str, str]:
    return dict(samba.users)


@pytest.fixture
def smb_connect(samba):
    require("smbprotocol", modules=("smbprotocol",))
    made: list[harness.SmbConnection] = []

    def connect(user: str, shares=(), files=()) -> harness.SmbConnection:
        """Opens a session as `user`, tree-connects each of `shares` (repeats allowed), and opens
        each of `files` (created if missing) on the first tree."""
        conn = harness.SmbConnection(samba, user)
        made.append(conn)
        for share in shares:
            conn.tree_connect(share)
        for name in files:
            conn.open_file(conn.trees[0], name)
        return conn

    yield connect
    for conn in made:
        conn.close()


@pytest.fixture
def smbclient_process(samba):
    require("smbclient", programs=("smbclient", "stdbuf"))
    made: list[harness.SmbClientProcess] = []

    def start(share: str, user: str) -> harness.SmbClientProcess:
        client = harness.SmbClientProcess(samba, share, user)
        made.append(client)
        return client

    yield start
    for client in made:
        client.close()


@pytest.fixture(scope="session")
def ssh_server():
    require("sshd", programs=(harness.SshServer.SSHD, "ssh-keygen"))
    with harness.SshServer() as server:
        yield server


@pytest.fixture
def sshfs_mount(ssh_server, tmp_path):
    require("sshfs", programs=("sshfs", "fusermount3"), paths=("/dev/fuse",))
    made: list[harness.SshfsMount] = []
    remote_root = harness._make_base_dir("ow-remote-")

    def mount(name: str = "mnt with space", remote: str = "export dir") -> harness.SshfsMount:
        remote_path = remote_root / remote
        remote_path.mkdir(parents=True, exist_ok=True)
        (remote_path / "hello.txt").write_text("hello from sshfs\n")
        m = harness.SshfsMount(ssh_server, remote_path, tmp_path / name)
        made.append(m)
        return m.mount()

    yield mount
    errors = []
    for m in reversed(made):
        try:
            m.unmount()
        except harness.HarnessError as e:
            errors.append(str(e))
    shutil.rmtree(remote_root, ignore_errors=True)
    if errors:
        pytest.fail("; ".join(errors))


@pytest.fixture
def run_openwmi(openwmi_bin):
    return harness.run_openwmi
