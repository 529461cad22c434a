"""Issue 22, items 6-10, against a real private smbd and real SMB clients: connections to a
user's home share ([homes]), a usershare (`net usershare add`), printer shares (a printcap
printer through [printers], and a printable section) resolve to Win32_Share instances; an
IPC$ connection's file count; the host name in paths; fstab persistence and Status.

smbstatus only shows connections to root, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import harness
from conftest import require
from harness import status_tcons
from live_helpers import conn_path, get, path_tail, query

LOCAL = "127.0.0.1"
PRINTCAP = "laser|Laser printer:lp=/dev/null:\nink:\\\n  :lp=/dev/null:\n"
TYPE_DISK, TYPE_PRINT_QUEUE, TYPE_IPC_ADMIN = 0, 1, 2147483651


@pytest.fixture(autouse=True)
def _needs_root_and_binary(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")


class AllKindsSamba(harness.SambaServer):
    """The harness's smbd plus [homes] (under its own directory), [printers] fed by a BSD
    printcap, a printable section `staticprn`, and usershares enabled."""

    def _write_conf(self) -> None:
        super()._write_conf()
        b = self.base
        text = self.conf_path.read_text()
        text = text.replace("  usershare max shares = 0\n",
                            f"  usershare max shares = 10\n  usershare path = {b}/usershares\n"
                            "  usershare owner only = no\n")
        text = text.replace("  load printers = no\n", "  load printers = yes\n")
        text = text.replace("  printcap name = /dev/null\n", f"  printcap name = {b}/printcap\n")
        text = text.replace("  disable spoolss = yes\n", "")
        text += (f"\n[homes]\n  path = {b}/home/%S\n  read only = no\n  browseable = no\n"
                 f"\n[printers]\n  path = {b}/spool\n  printable = yes\n"
                 "  print command = /bin/true\n  lpq command = /bin/true\n"
                 "  lprm command = /bin/true\n"
                 f"\n[staticprn]\n  path = {b}/spool\n  printable = yes\n"
                 "  comment = A printer section\n  print command = /bin/true\n")
        self.conf_path.write_text(text)

    def start(self, timeout: float = 30.0) -> "AllKindsSamba":
        b = self.base
        # smbd refuses a usershare directory not owned by root, without the sticky bit, or
        # writable by others.
        (b / "usershares").mkdir(exist_ok=True)
        (b / "usershares").chmod(0o1770)
        (b / "spool").mkdir(exist_ok=True)
        (b / "spool").chmod(0o1777)
        for user in self.users:
            home = b / "home" / user
            home.mkdir(parents=True, exist_ok=True)
            home.chmod(0o777)
        (b / "printcap").write_text(PRINTCAP)
        (b / "ushare dir").mkdir(exist_ok=True)
        (b / "ushare dir").chmod(0o777)
        super().start(timeout)
        r = subprocess.run(["net", "-s", str(self.conf_path), "usershare", "add", "ushare",
                            str(b / "ushare dir"), "A user share", "S-1-1-0:F"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise harness.HarnessError(f"net usershare add: {r.stdout}{r.stderr}")
        return self

    def load_printers(self) -> None:
        """smbd learns the printcap's printers when its print server first runs; a spoolss
        call starts it."""
        user = "owtest1"
        r = subprocess.run(["rpcclient", "-p", str(self.port), "-U",
                            f"{user}%{self.users[user]}", "-c", "enumprinters", LOCAL],
                           capture_output=True, text=True, timeout=60)
        if "laser" not in r.stdout:
            raise harness.HarnessError(f"rpcclient enumprinters: {r.stdout}{r.stderr}")


@pytest.fixture
def samba_all():
    require("Samba", programs=("smbd", "smbstatus", "smbpasswd", "testparm", "net", "rpcclient"))
    require("smbprotocol", modules=("smbprotocol",))
    with AllKindsSamba() as server:
        yield server


@pytest.fixture
def connect(samba_all):
    made: list[harness.SmbConnection] = []

    def make(user: str, shares=()) -> harness.SmbConnection:
        conn = harness.SmbConnection(samba_all, user)
        made.append(conn)
        for share in shares:
            conn.tree_connect(share)
        return conn

    yield make
    for conn in made:
        conn.close()


def shares_by_name(conf: Path) -> dict[str, dict]:
    return {r["Name"]: r for r in query(conf, "SELECT * FROM Win32_Share")}


def test_connections_to_homes_printer_and_user_shares_resolve(samba_all, connect):
    samba_all.load_printers()
    kinds = ["owtest1", "ushare", "laser", "staticprn", "IPC$"]
    connect("owtest1", shares=kinds)
    # A real client program too: smbclient on the other user's home share.
    require("smbclient", programs=("smbclient", "stdbuf"))
    other = harness.SmbClientProcess(samba_all, "owtest2", "owtest2")
    try:
        other.command("ls", "blocks")
        status = samba_all.wait_for_status(lambda s: len(status_tcons(s)) == 6, "six tcons")
        served = sorted({t["service"] for t in status_tcons(status)})
        assert served == sorted(kinds + ["owtest2"])
        conf = samba_all.conf_path
        shares = shares_by_name(conf)
        b = samba_all.base
        for user in ("owtest1", "owtest2"):
            home = shares[user]
            assert (home["Type"], home["Path"]) == (TYPE_DISK, str(b / "home" / user))
            assert home["Caption"] == home["Description"] == f"Home directory of {user}"
        ushare = shares["ushare"]
        assert (ushare["Type"], ushare["Path"], ushare["Description"]) == (
            TYPE_DISK, str(b / "ushare dir"), "A user share")
        laser, ink = shares["laser"], shares["ink"]
        assert (laser["Type"], laser["Path"], laser["Description"]) == (
            TYPE_PRINT_QUEUE, str(b / "spool"), "Laser printer")
        assert (ink["Type"], ink["Description"]) == (TYPE_PRINT_QUEUE, "")
        assert (shares["staticprn"]["Type"], shares["staticprn"]["Description"]) == (
            TYPE_PRINT_QUEUE, "A printer section")
        assert shares["IPC$"]["Type"] == TYPE_IPC_ADMIN
        # Every Antecedent resolves: GetObject finds it, and ASSOCIATORS OF each connection
        # reaches its share.
        links = query(conf, "SELECT * FROM Win32_ConnectionShare")
        assert len(links) == 6
        for link in links:
            share = get(conf, path_tail(link["Antecedent"]))
            assert share["__CLASS"] == "Win32_Share"
            dependent = path_tail(link["Dependent"])
            [far] = query(conf, f"ASSOCIATORS OF {{{dependent}}} "
                                "WHERE AssocClass=Win32_ConnectionShare")
            assert far["Name"] == share["Name"]
        for user, share in [("owtest1", "owtest1"), ("owtest1", "ushare"),
                            ("owtest1", "laser"), ("owtest2", "owtest2")]:
            rows = query(conf, f'ASSOCIATORS OF {{Win32_Share.Name="{share}"}} '
                               "WHERE AssocClass=Win32_ConnectionShare")
            assert [(r["UserName"], r["ShareName"]) for r in rows] == [(user, share)]
    finally:
        other.close()


def test_home_share_of_a_connected_user_without_tree_connect(samba_all, connect):
    # Samba adds the user's home share at session setup: `smbclient -L` lists it then.
    connect("owtest2", shares=["public"])
    samba_all.wait_for_status(lambda s: len(status_tcons(s)) == 1, "one tcon")
    shares = shares_by_name(samba_all.conf_path)
    assert "owtest2" in shares and "owtest1" not in shares
    assert {"homes", "printers", "laser", "ink", "ushare", "staticprn"} <= set(shares)


def test_ipc_connection_file_count_is_unknown(samba_all, connect):
    conn = connect("owtest1", shares=["IPC$", "public"])
    conn.open_pipe(conn.trees[0], "srvsvc")
    conn.open_file(conn.trees[1], "held.txt")
    samba_all.wait_for_status(lambda s: len(status_tcons(s)) == 2, "IPC$ and public")
    rows = {r["ShareName"]: r for r in query(samba_all.conf_path,
                                             "SELECT * FROM Win32_ServerConnection")}
    # smbstatus lists the file, not the pipe: the IPC$ count is unknown, not 0.
    assert rows["IPC$"]["NumberOfFiles"] is None
    assert rows["public"]["NumberOfFiles"] == 1


def test_host_name_in_paths_is_samba_netbios_name(samba_all, connect):
    connect("owtest1", shares=["public"])
    samba_all.wait_for_status(lambda s: len(status_tcons(s)) == 1, "one tcon")
    conf = samba_all.conf_path
    [row] = query(conf, "SELECT * FROM Win32_ServerConnection")
    assert row["__SERVER"] == "OWTESTSRV"  # the harness's `netbios name`
    assert row["__PATH"] == "\\\\OWTESTSRV\\root\\cimv2:" + conn_path(LOCAL, "public", "owtest1")
    [link] = query(conf, "SELECT * FROM Win32_ConnectionShare")
    assert link["Antecedent"].startswith("\\\\OWTESTSRV\\root\\cimv2:")
    # A netbios name in lower case is written in upper case, as Samba uses it.
    lower = samba_all.base / "lower.conf"
    lower.write_text(conf.read_text().replace("netbios name = OWTESTSRV",
                                              "netbios name = owLower"))
    [share] = query(lower, 'SELECT * FROM Win32_Share WHERE Name = "public"')
    assert share["__SERVER"] == "OWLOWER"
    # Without a netbios name: the short host name, upper case.
    plain = samba_all.base / "plain.conf"
    plain.write_text(conf.read_text().replace("netbios name = OWTESTSRV", ""))
    short = Path("/proc/sys/kernel/hostname").read_text().strip().split(".")[0].upper()
    [share] = query(plain, 'SELECT * FROM Win32_Share WHERE Name = "public"')
    assert share["__SERVER"] == short
    assert share["__PATH"].startswith(f"\\\\{short}\\root\\cimv2:")


def network_connections(fstab: Path) -> dict[str, dict]:
    r = harness.run_openwmi("--fstab", fstab, "--mountinfo", "/dev/null", "query", "-o", "json",
                            "SELECT * FROM Win32_NetworkConnection")
    return {row["LocalName"]: row for row in json.loads(r.stdout)}


def test_fstab_noauto_entries_are_remembered_but_not_persistent(openwmi_bin, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("//nas/a /mnt/a cifs noauto,_netdev 0 0\n"
                     "//nas/b /mnt/b cifs user,_netdev 0 0\n"
                     "//nas/c /mnt/c cifs noauto,x-systemd.automount 0 0\n"
                     "nas:/export /mnt/d nfs defaults 0 0\n")
    rows = network_connections(fstab)
    got = {local: (r["Persistent"], r["ConnectionType"], r["ConnectionState"])
           for local, r in rows.items()}
    assert got == {
        "/mnt/a": (False, "Current Connection", "Disconnected"),
        "/mnt/b": (True, "Persistent Connection", "Disconnected"),
        "/mnt/c": (True, "Persistent Connection", "Disconnected"),
        "/mnt/d": (True, "Persistent Connection", "Disconnected"),
    }


def test_network_connection_status_uses_only_the_seed_values(openwmi_bin, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("//nas/a /mnt/a cifs noauto 0 0\n//nas/b /mnt/b cifs defaults 0 0\n")
    for row in network_connections(fstab).values():
        assert row["Status"] == "No Contact"
        assert len(row["Status"]) <= 10
    # The schema agrees: Status' ValueMap has no "Unavailable".
    r = harness.run_openwmi("class", "Win32_NetworkConnection")
    assert "No Contact" in r.stdout and "Unavailable" not in r.stdout

