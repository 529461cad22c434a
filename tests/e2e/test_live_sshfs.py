"""Win32_NetworkConnection from real mounts: a private sshd on a free loopback port, sshfs
mounts (mount points and remote paths with spaces), read through the openwmi binary from the
real /proc/self/mountinfo, plus fstab entries that are not mounted (--fstab FILE)."""

from __future__ import annotations

import json

import harness
from live_helpers import SshfsMountWithOptions, openwmi

NC = "SELECT * FROM Win32_NetworkConnection"


def connections(*options) -> list[dict]:
    r = harness.run_openwmi(*options, "query", "-o", "json", NC)
    return json.loads(r.stdout)


def by_local(rows: list[dict], local: str) -> dict:
    found = [r for r in rows if r["LocalName"] == local]
    assert len(found) == 1, (local, rows)
    return found[0]


def unc(path) -> str:
    return "\\\\127.0.0.1" + str(path).replace("/", "\\")


def fstab_escape(text: str) -> str:
    return text.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")


def test_sshfs_mount_is_a_connected_network_connection(openwmi_bin, sshfs_mount, tmp_path):
    m = sshfs_mount("mnt with space", "export dir")
    empty_fstab = tmp_path / "fstab"
    empty_fstab.write_text("")
    rows = connections("--fstab", empty_fstab)
    row = by_local(rows, str(m.mount_point))
    remote = unc(m.remote_path)
    assert " " in remote and " " in row["LocalName"]
    assert row["RemoteName"] == row["RemotePath"] == remote
    assert row["Name"] == f"{remote} ({m.mount_point})"
    assert row["UserName"] == m.ssh.user
    assert row["ConnectionState"] == "Connected"
    assert row["Status"] == "OK"
    assert row["ProviderName"] == "fuse.sshfs"
    assert row["Caption"] == "RESOURCE CONNECTED"
    assert row["Description"] == "RESOURCE CONNECTED - fuse.sshfs"
    assert row["ConnectionType"] == "Current Connection"
    assert row["Persistent"] is False
    assert (row["DisplayType"], row["ResourceType"]) == ("Share", "Disk")
    assert row["AccessMask"] == 2032127  # read-write
    assert row["Comment"] is None and row["InstallDate"] is None
    # The key path finds it again.
    name = row["Name"].replace("\\", "\\\\")
    r = harness.run_openwmi("--fstab", empty_fstab, "get", "-o", "json",
                            f'Win32_NetworkConnection.Name="{name}"')
    [got] = json.loads(r.stdout)
    assert got["LocalName"] == str(m.mount_point)
    # WQL over the live class.
    r = harness.run_openwmi("--fstab", empty_fstab, "query", "-o", "json",
                            "SELECT LocalName FROM Win32_NetworkConnection "
                            "WHERE ProviderName = 'fuse.sshfs' AND LocalName LIKE '%mnt with space'")
    assert [x["LocalName"] for x in json.loads(r.stdout)] == [str(m.mount_point)]


def test_two_mounts_and_the_unmount(openwmi_bin, sshfs_mount, tmp_path):
    a = sshfs_mount("first", "one")
    b = sshfs_mount("second mount", "two dirs/deeper")
    empty = tmp_path / "fstab"
    empty.write_text("")
    rows = connections("--fstab", empty)
    assert by_local(rows, str(a.mount_point))["RemoteName"] == unc(a.remote_path)
    assert by_local(rows, str(b.mount_point))["RemoteName"] == unc(b.remote_path)
    b.unmount()
    rows = connections("--fstab", empty)
    assert [r for r in rows if r["LocalName"] == str(b.mount_point)] == []
    by_local(rows, str(a.mount_point))


def test_fstab_entries(openwmi_bin, sshfs_mount, tmp_path):
    m = sshfs_mount("mounted and remembered", "export")
    remembered = "/mnt/ow not mounted"
    fstab = tmp_path / "fstab"
    fstab.write_text("\n".join([
        "# a comment",
        "UUID=1234 / ext4 defaults 0 1",
        f"bob@127.0.0.1:/srv/far\\040away {fstab_escape(remembered)} fuse.sshfs noauto,_netdev 0 0",
        f"{fstab_escape(m.source)} {fstab_escape(str(m.mount_point))} fuse.sshfs _netdev 0 0",
        "//fileserver/team /mnt/team cifs ro,username=alice,domain=CORP 0 0",
        "",
    ]))
    rows = connections("--fstab", fstab)
    gone = by_local(rows, remembered)
    assert gone["RemoteName"] == "\\\\127.0.0.1\\srv\\far away"
    assert gone["ConnectionState"] == "Disconnected"
    assert gone["Status"] == "No Contact"
    # noauto: remembered but not reconnected at boot, so not persistent.
    assert gone["Persistent"] is False
    assert gone["ConnectionType"] == "Current Connection"
    assert gone["Caption"] == "RESOURCE REMEMBERED"
    assert gone["Description"] == "RESOURCE REMEMBERED - fuse.sshfs"
    assert gone["UserName"] == "bob"
    team = by_local(rows, "/mnt/team")
    assert team["RemoteName"] == "\\\\fileserver\\team"
    assert team["ProviderName"] == "Microsoft Windows Network"
    assert team["UserName"] == "CORP\\alice"
    assert team["AccessMask"] == 1179785  # ro
    assert team["Status"] == "No Contact"
    assert (team["Persistent"], team["ConnectionType"]) == (True, "Persistent Connection")
    # Mounted and in fstab: one instance, connected and persistent.
    both = by_local(rows, str(m.mount_point))
    assert (both["ConnectionState"], both["Status"], both["Persistent"]) == ("Connected", "OK", True)
    assert both["ConnectionType"] == "Persistent Connection"
    assert both["Caption"] == "RESOURCE CONNECTED"
    # Local file systems are not network connections.
    assert all(r["LocalName"] != "/" for r in rows)
    # Selecting the remembered ones.
    r = harness.run_openwmi("--fstab", fstab, "query", "-o", "json",
                            "SELECT LocalName FROM Win32_NetworkConnection "
                            "WHERE ConnectionState = 'Disconnected'")
    assert sorted(x["LocalName"] for x in json.loads(r.stdout)) == ["/mnt/ow not mounted", "/mnt/team"]


def test_unreadable_mount_table_fails_the_class_only(openwmi_bin, tmp_path):
    r = openwmi("--mountinfo", tmp_path / "missing", "query", NC)
    assert r.returncode == 1
    assert "WBEM_E_FAILED (0x80041001)" in r.stderr and "missing" in r.stderr


def test_read_only_mount(openwmi_bin, sshfs_mount, ssh_server, tmp_path):
    # The fixture provides the checks (sshfs, /dev/fuse) and the remote directory layout.
    sshfs_mount("rw mount", "shared")
    remote = tmp_path / "ro remote"
    remote.mkdir()
    m = SshfsMountWithOptions(ssh_server, remote, tmp_path / "ro mount", "ro")
    with m:
        entry = harness.find_mount(m.mount_point)
        assert entry is not None and entry.options.split(",")[0] == "ro", entry
        empty = tmp_path / "fstab"
        empty.write_text("")
        rows = connections("--fstab", empty)
        assert by_local(rows, str(m.mount_point))["AccessMask"] == 1179785
        assert by_local(rows, str(tmp_path / "rw mount"))["AccessMask"] == 2032127
