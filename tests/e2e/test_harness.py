"""Self-tests of the harness: the real components start, accept clients, and report what the
product will read (smbstatus --json, testparm, /proc/self/mountinfo)."""

from __future__ import annotations

import os
import subprocess

import pytest

import harness
from harness import status_opens, status_sessions, status_tcons, status_user_services


def test_smbd_listens_on_private_loopback_port(samba):
    assert samba.proc is not None and samba.proc.poll() is None
    assert harness.port_accepts(samba.port)
    status = samba.smbstatus_json()
    assert status["smb_conf"] == str(samba.conf_path)
    assert status_sessions(status) == [] and status_tcons(status) == []


def test_testparm_shows_the_test_shares(samba):
    text = samba.testparm_text()
    for section in ("[public]", "[private]", "[data]"):
        assert section in text
    assert "comment = Team data (test share)" in text
    assert "max connections = 5" in text
    assert f"smb ports = {samba.port}" in text


def test_two_users_on_two_shares(samba, smb_connect):
    smb_connect("owtest1", shares=["public"])
    smb_connect("owtest2", shares=["private"])
    status = samba.wait_for_status(lambda s: len(status_tcons(s)) == 2, "two tree connects")
    assert sorted(s["username"] for s in status_sessions(status)) == ["owtest1", "owtest2"]
    assert status_user_services(status) == [("owtest1", "public"), ("owtest2", "private")]
    for tcon in status_tcons(status):
        assert tcon["machine"] == "127.0.0.1"
        assert tcon["session_id"] in status["sessions"]


def test_one_session_with_two_open_files(samba, smb_connect):
    smb_connect("owtest1", shares=["public"], files=["first.txt", "second file.txt"])
    status = samba.wait_for_status(lambda s: len(status_opens(s)) == 2, "two opens")
    paths = sorted(path for path, _ in status_opens(status))
    public = samba.share("public").path
    assert paths == [f"{public}/first.txt", f"{public}/second file.txt"]
    assert {op["uid"] for _, op in status_opens(status)} == {int(_uid("owtest1"))}
    assert len(status_sessions(status)) == 1


def test_three_tree_connects_from_one_session_to_one_share(samba, smb_connect):
    smb_connect("owtest2", shares=["data", "data", "data"])
    status = samba.wait_for_status(lambda s: len(status_tcons(s)) == 3, "three tree connects")
    assert len(status_sessions(status)) == 1
    assert {t["session_id"] for t in status_tcons(status)} == set(status["sessions"])
    assert status_user_services(status) == [("owtest2", "data")] * 3


def test_session_disappears_after_disconnect(samba, smb_connect):
    stays = smb_connect("owtest1", shares=["public"])
    leaves = smb_connect("owtest2", shares=["public"])
    samba.wait_for_status(lambda s: len(status_sessions(s)) == 2, "two sessions")
    leaves.close()
    status = samba.wait_for_status(lambda s: len(status_sessions(s)) == 1, "one session left")
    assert [s["username"] for s in status_sessions(status)] == ["owtest1"]
    assert stays.connected


def test_tree_disconnect_keeps_the_session(samba, smb_connect):
    conn = smb_connect("owtest1", shares=["public", "private"])
    samba.wait_for_status(lambda s: len(status_tcons(s)) == 2, "two tree connects")
    conn.tree_disconnect(conn.trees[1])
    status = samba.wait_for_status(lambda s: len(status_tcons(s)) == 1, "one tree connect")
    assert status_user_services(status) == [("owtest1", "public")]
    assert len(status_sessions(status)) == 1


def test_smbclient_program_holds_files_open(samba, smbclient_process):
    client = smbclient_process("public", "owtest1")
    (samba.share("public").path / "a.txt").write_text("a\n")
    (samba.share("public").path / "b.txt").write_text("b\n")
    fnums = [client.open("a.txt"), client.open("b.txt")]
    assert fnums == [1, 2]
    status = samba.wait_for_status(lambda s: len(status_opens(s)) == 2, "two opens by smbclient")
    assert status_user_services(status) == [("owtest1", "public")]
    client.close()
    samba.wait_for_status(lambda s: not status_sessions(s), "no session after smbclient quit")


def test_wrong_password_is_refused(samba):
    with pytest.raises(Exception):
        harness.SmbConnection(samba, "owtest1", password="not-the-password")


def test_smbd_and_children_are_gone_after_stop():
    server = harness.SambaServer().start()
    pgid = server.proc.pid
    with harness.SmbConnection(server, "owtest1") as conn:
        conn.tree_connect("public")
        server.stop()
    assert not harness._group_alive(pgid)
    assert not server.base.exists()


def test_parallel_servers_do_not_collide(samba):
    with harness.SambaServer() as other:
        assert other.port != samba.port and other.base != samba.base
        with harness.SmbConnection(other, "owtest1") as conn:
            conn.tree_connect("public")
            other.wait_for_status(lambda s: len(status_tcons(s)) == 1, "tcon on second server")
        assert status_tcons(samba.smbstatus_json()) == []


def test_sshfs_mount_with_space_appears_in_mountinfo(sshfs_mount, ssh_server):
    mount = sshfs_mount("mnt with space")
    entry = harness.find_mount(mount.mount_point)
    assert entry is not None
    assert entry.fstype == "fuse.sshfs"
    assert entry.source == f"root@127.0.0.1:{mount.remote_path}"
    assert str(mount.mount_point).replace(" ", "\\040") in entry.line
    assert (mount.mount_point / "hello.txt").read_text() == "hello from sshfs\n"
    mount.unmount()
    assert harness.find_mount(mount.mount_point) is None


def test_two_sshfs_mounts(sshfs_mount):
    first = sshfs_mount("first", remote="one")
    second = sshfs_mount("second mount", remote="two")
    sources = {m.source for m in harness.mountinfo_entries() if m.fstype == "fuse.sshfs"}
    assert {first.source, second.source} <= sources


def test_mountinfo_unescape():
    assert harness.unescape_mountinfo(r"/mnt/a\040b\134c\011d") == "/mnt/a b\\c\td"
    assert harness.unescape_mountinfo("/plain\\") == "/plain\\"
    assert harness.unescape_mountinfo(r"/x\09") == r"/x\09"


def test_openwmi_bin_default_path(monkeypatch):
    monkeypatch.delenv("OPENWMI_BIN", raising=False)
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    assert harness.openwmi_bin() == harness.REPO_ROOT / "target" / "release" / "openwmi"
    monkeypatch.setenv("OPENWMI_BIN", "/x/openwmi")
    assert str(harness.openwmi_bin()) == "/x/openwmi"


def test_run_openwmi_reports_failures(monkeypatch, tmp_path):
    fake = tmp_path / "openwmi"
    fake.write_text("#!/bin/sh\necho out \"$@\"; echo err >&2; exit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("OPENWMI_BIN", str(fake))
    r = harness.run_openwmi("query", "SELECT * FROM Win32_Share", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out query SELECT * FROM Win32_Share\n", "err\n")
    with pytest.raises(AssertionError, match="exited 3"):
        harness.run_openwmi("x")


def _uid(user: str) -> str:
    return subprocess.run(["id", "-u", user], capture_output=True, text=True, check=True).stdout.strip()


def test_running_as_root():
    # The harness adds Unix users and starts smbd/sshd: it needs root (as in CI).
    if os.geteuid() != 0:
        msg = "the e2e suite must run as root"
        if harness.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)


def test_missing_component_fails_under_ci_and_skips_otherwise(monkeypatch):
    from conftest import require

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-program-xyz"):
        require("thing", programs=("no-such-program-xyz",))
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        require("thing", paths=("/no/such/path",))
    require("python", programs=("python3",), modules=("json",), paths=("/",))
