"""The rest of issue 21's SMB management, against a real private smbd with real SMB clients
(smbprotocol): MSFT_SmbOpenFile.ForceClose of one file, MSFT_SmbOpenFile.Locks, Remove-SmbShare
(DeleteInstance of MSFT_SmbShare), CreateShare's CreatedShare, the share settings of
MSFT_SmbShare and Win32_Share.GetAccessMask from the share's ACL.

smbstatus, Samba's messaging and `net conf` need root, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from collections import OrderedDict

import pytest

import harness
from harness import status_opens, status_sessions
from test_smb_management import (SMB_NS, call, mserver, registry_shares,  # noqa: F401
                                 require_pywbem, rsamba, smb_query_ns)


@pytest.fixture(autouse=True)
def _needs_root_and_binary(openwmi_bin):
    harness.need_root("smbstatus and Samba's messaging need root: run these tests as root")


def smb2_lock(handle, offset: int, length: int) -> None:
    """An exclusive SMB2 byte-range lock on an smbprotocol Open (smbprotocol has no LOCK
    request of its own): [MS-SMB2] 2.2.26 with one SMB2_LOCK_ELEMENT."""
    from smbprotocol.header import Commands
    from smbprotocol.structure import BytesField, IntField, Structure

    class Smb2LockRequest(Structure):
        COMMAND = Commands.SMB2_LOCK

        def __init__(self):
            self.fields = OrderedDict([
                ("structure_size", IntField(size=2, default=48)),
                ("lock_count", IntField(size=2)),
                ("lock_sequence", IntField(size=4)),
                ("file_id", BytesField(size=16)),
                ("locks", BytesField()),
            ])
            super().__init__()

    req = Smb2LockRequest()
    req["lock_count"] = 1
    req["file_id"] = handle.file_id
    # SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY
    req["locks"] = struct.pack("<QQII", offset, length, 0x02 | 0x10, 0)
    tree = handle.tree_connect
    sent = handle.connection.send(req, tree.session.session_id, tree.tree_connect_id)
    handle.connection.receive(sent)


def open_rows(conf) -> dict[str, dict]:
    """MSFT_SmbOpenFile rows by ShareRelativePath."""
    return {r["ShareRelativePath"]: r
            for r in smb_query_ns(conf, "SELECT * FROM MSFT_SmbOpenFile")}


# ------------------------------------------------------------------ open files


def test_force_close_closes_that_file_only(rsamba):
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        tree = conn.tree_connect("public")
        victim = conn.open_file(tree, "victim.txt")
        kept = conn.open_file(tree, "kept.txt")
        victim.write(b"victim", 0)
        kept.write(b"kept", 0)
        rsamba.wait_for_status(lambda s: len(status_opens(s)) == 2, "two opens")
        rows = open_rows(rsamba.conf_path)
        assert set(rows) == {"victim.txt", "kept.txt"}, rows
        out, err = call(rsamba.conf_path, "-n", SMB_NS,
                        f"MSFT_SmbOpenFile.FileId={rows['victim.txt']['FileId']}", "ForceClose")
        assert out["ReturnValue"] == 0, err
        assert "method=MSFT_SmbOpenFile.ForceClose" in err and "return=0" in err, err
        # smbstatus no longer lists it; the other open and the session stay.
        status = rsamba.smbstatus_json()
        assert [p.rsplit("/", 1)[1] for p, _ in status_opens(status)] == ["kept.txt"]
        assert len(status_sessions(status)) == 1
        # The client's next operation on that handle fails; the other handle still works.
        with pytest.raises(Exception) as e:
            victim.read(0, 6)
        assert "STATUS_FILE_CLOSED" in str(e.value) or "closed" in str(e.value).lower()
        assert kept.read(0, 4) == b"kept"
        assert set(open_rows(rsamba.conf_path)) == {"kept.txt"}
        # An open that is gone: not found, and the other open is untouched.
        r = harness.run_openwmi("--smb-conf", rsamba.conf_path, "--freshness", "0", "call",
                                "-n", SMB_NS,
                                f"MSFT_SmbOpenFile.FileId={rows['victim.txt']['FileId']}",
                                "ForceClose", check=False)
        assert r.returncode != 0 and "WBEM_E_NOT_FOUND" in r.stderr, r.stderr
        assert kept.read(0, 4) == b"kept"
    finally:
        conn.close()


def test_locks_counts_the_byte_range_locks_of_an_open(rsamba):
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        tree = conn.tree_connect("public")
        locked = conn.open_file(tree, "locked.txt")
        locked.write(b"0123456789", 0)
        conn.open_file(tree, "free.txt")
        smb2_lock(locked, 0, 2)
        smb2_lock(locked, 4, 2)
        rsamba.wait_for_status(lambda s: len(status_opens(s)) == 2, "two opens")
        brl = json.loads(rsamba.smbstatus("--json", "-B").stdout)["byte_range_locks"]
        assert sum(len(f["locks"]) for f in brl.values()) == 2, brl
        rows = open_rows(rsamba.conf_path)
        assert rows["locked.txt"]["Locks"] == 2
        assert rows["free.txt"]["Locks"] == 0
    finally:
        conn.close()


# ------------------------------------------------------------------ Remove-SmbShare


def pywbemcli_runner(mserver, tmp_path, user):
    import server_harness as sh
    from conftest import require
    require("pywbemcli", programs=("pywbemcli",))

    def run(*args, check=True):
        password = sh.PASSWORD if user == sh.USER else sh.OTHER_PASSWORD
        cmd = ["pywbemcli", "-s", mserver.url, "-u", user, "-p", password, "-t", "60",
               "-C", str(tmp_path / f"pywbemcli_{user}.yaml"), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYWBEMCLI_")}
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        if check:
            assert r.returncode == 0, f"{cmd}\n{r.stdout}\n{r.stderr}\n{mserver.log()}"
        return r
    return run


def test_remove_smb_share_over_cim_xml(rsamba, mserver, tmp_path):
    import server_harness as sh
    d = rsamba.base / "to remove"
    d.mkdir()
    d.chmod(0o777)
    out, err = call(rsamba.conf_path, "-n", SMB_NS, "MSFT_SmbShare", "CreateShare",
                    "Name=doomed", f"Path={d}")
    assert out["ReturnValue"] == 0, err
    assert registry_shares(rsamba) == ["doomed"]
    path = 'MSFT_SmbShare.Name="doomed",ScopeName="*"'
    # A user without `manage`: refused, nothing changes, the refusal is audited.
    other = pywbemcli_runner(mserver, tmp_path, sh.OTHER_USER)
    r = other("instance", "delete", path, "-n", SMB_NS, check=False)
    assert r.returncode != 0 and "CIM_ERR_ACCESS_DENIED" in r.stdout + r.stderr, r
    assert "manage" in r.stdout + r.stderr
    assert registry_shares(rsamba) == ["doomed"]
    admin = pywbemcli_runner(mserver, tmp_path, sh.USER)
    # An smb.conf share is not openwmi's to delete: a clear refusal, the share stays.
    r = admin("instance", "delete", 'MSFT_SmbShare.Name="data",ScopeName="*"', "-n", SMB_NS,
              check=False)
    assert r.returncode != 0 and "CIM_ERR_ACCESS_DENIED" in r.stdout + r.stderr, r
    assert "registry" in r.stdout + r.stderr
    assert "data" in {x["Name"] for x in smb_query_ns(rsamba.conf_path,
                                                      "SELECT Name FROM MSFT_SmbShare")}
    r = admin("instance", "delete", 'MSFT_SmbShare.Name="nosuch",ScopeName="*"', "-n", SMB_NS,
              check=False)
    assert r.returncode != 0 and "CIM_ERR_NOT_FOUND" in r.stdout + r.stderr, r
    admin("instance", "delete", path, "-n", SMB_NS)
    assert registry_shares(rsamba) == []
    assert "doomed" not in {x["Name"] for x in smb_query_ns(rsamba.conf_path,
                                                            "SELECT Name FROM MSFT_SmbShare")}
    lines = [l for l in mserver.log_path.read_text().splitlines() if "openwmi audit:" in l]
    deletes = [l for l in lines if "method=MSFT_SmbShare.DeleteInstance" in l]
    assert len(deletes) == 4, lines
    assert f"user={sh.OTHER_USER}" in deletes[0] and "CIM_ERR_ACCESS_DENIED" in deletes[0]
    assert 'Name=\\"data\\"' in deletes[1] or "data" in deletes[1]
    assert "CIM_ERR_NOT_FOUND" in deletes[2]
    assert f"user={sh.USER}" in deletes[3] and "result=ok" in deletes[3]


# ------------------------------------------------------------------ CreateShare, settings


def test_create_share_returns_the_created_share_and_settings_read_back(rsamba, mserver):
    import pywbem
    import server_harness as sh
    require_pywbem()
    d = rsamba.base / "with settings"
    d.mkdir()
    d.chmod(0o777)
    smb = mserver.pywbem(sh.USER, namespace=SMB_NS)
    ret, out = smb.InvokeMethod("CreateShare", pywbem.CIMClassName("MSFT_SmbShare"),
                                [("Name", "settled"), ("Path", str(d)),
                                 ("Description", "made with settings"),
                                 ("EncryptData", True), ("CachingMode", pywbem.Uint32(0)),
                                 ("FolderEnumerationMode", pywbem.Uint32(0)),
                                 ("ConcurrentUserLimit", pywbem.Uint32(4))])
    assert int(ret) == 0
    created = out["CreatedShare"]
    # An embedded instance (EmbeddedObject="instance"): pywbem reads it back as one.
    assert isinstance(created, pywbem.CIMInstance), created
    assert created.classname == "MSFT_SmbShare"
    assert (created["Name"], created["Path"], created["Description"]) == \
        ("settled", str(d), "made with settings")
    assert created["ScopeName"] == "*" and created["ConcurrentUserLimit"] == 4
    assert (created["EncryptData"], created["CachingMode"], created["FolderEnumerationMode"]) \
        == (True, 0, 0)
    # The same values from Samba's configuration, and the defaults for a share without them.
    rows = {r["Name"]: r for r in smb_query_ns(rsamba.conf_path, "SELECT * FROM MSFT_SmbShare")}
    s = rows["settled"]
    assert (s["EncryptData"], s["CachingMode"], s["FolderEnumerationMode"]) == (True, 0, 0)
    p = rows["public"]
    assert (p["EncryptData"], p["CachingMode"], p["FolderEnumerationMode"]) == (False, 1, 1)
    # Locally the embedded instance is its INSTANCE text.
    out2, err = call(rsamba.conf_path, "-n", SMB_NS, "MSFT_SmbShare", "CreateShare",
                     "Name=settled2", f"Path={d}")
    assert out2["ReturnValue"] == 0, err
    assert out2["CreatedShare"].startswith('<INSTANCE CLASSNAME="MSFT_SmbShare">')
    assert "<VALUE>settled2</VALUE>" in out2["CreatedShare"]
    for name in ("settled", "settled2"):
        r = subprocess.run(["net", "-s", str(rsamba.conf_path), "conf", "delshare", name],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr


def test_byte_range_locks_gauge_per_share(rsamba, tmp_path, openwmi_bin):
    import server_harness as sh
    from test_metrics import samples, scrape
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        tree = conn.tree_connect("data")
        f = conn.open_file(tree, "locked.txt")
        f.write(b"0123456789", 0)
        smb2_lock(f, 0, 1)
        smb2_lock(f, 2, 1)
        smb2_lock(f, 8, 2)
        rsamba.wait_for_status(lambda s: len(status_opens(s)) == 1, "one open")
        with sh.OpenwmiServer(openwmi_bin, tmp_path / "serve",
                              smb_conf=rsamba.conf_path).start() as server:
            status, _, text = scrape(server)
            assert status == 200, text
            locks = samples(text, "openwmi_samba_byte_range_locks")
            assert locks['{share="data"}'] == 3, locks
            assert locks['{share="public"}'] == 0, locks
    finally:
        conn.close()


# ------------------------------------------------------------------ GetAccessMask


FULL, CHANGE, READ = 0x1F01FF, 0x1301BF, 0x1200A9
WRITE_RIGHTS = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000


def sharesec(server, *args) -> str:
    r = subprocess.run(["sharesec", "-s", str(server.conf_path), *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def samba_sid(server, user: str) -> str:
    r = subprocess.run(["pdbedit", "-s", str(server.conf_path), "-L", "-v", "-u", user],
                       capture_output=True, text=True, timeout=30, check=True)
    return next(l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
                if l.startswith("User SID:"))


def test_get_access_mask_from_the_share_acl(rsamba, mserver, tmp_path):
    import pywbem
    import server_harness as sh
    from conftest import require
    require("Samba", programs=("sharesec", "pdbedit"))
    require_pywbem()

    def mask(share="data"):
        out, err = call(rsamba.conf_path, f'Win32_Share.Name="{share}"', "GetAccessMask")
        assert "method=Win32_Share.GetAccessMask" in err, err
        return out["ReturnValue"]

    # No ACL stored: Samba's default, Everyone Full.
    assert mask() == FULL
    # A real ACL: Everyone may read, root (the local caller, Unix SID S-1-22-1-0) may change.
    sharesec(rsamba, "data", "--replace", "S-1-1-0:ALLOWED/0x0/READ,S-1-22-1-0:ALLOWED/0x0/CHANGE")
    assert "S-1-22-1-0:ALLOWED/0x0/CHANGE" in sharesec(rsamba, "data", "--view")
    assert mask() == CHANGE | READ
    # A denial before a grant wins for that right.
    sharesec(rsamba, "data", "--replace",
             "S-1-22-1-0:DENIED/0x0/0x00000002,S-1-1-0:ALLOWED/0x0/FULL")
    assert mask() == FULL & ~0x2
    # The caller's Samba account SID (how ACLs made with Windows tools name users) counts.
    rsamba.add_user("root", "Root-test-pw1")
    sharesec(rsamba, "data", "--replace", f"{samba_sid(rsamba, 'root')}:ALLOWED/0x0/READ")
    assert mask() == READ
    # Over CIM-XML the caller is the authenticated user, not root: `tester` has no Unix or
    # Samba account here, so an ACL for root alone leaves it nothing.
    conn = mserver.pywbem(sh.USER)
    path = pywbem.CIMInstanceName("Win32_Share", {"Name": "data"}, namespace="root/cimv2")
    ret, _ = conn.InvokeMethod("GetAccessMask", path)
    assert int(ret) == 0
    sharesec(rsamba, "data", "--replace", "S-1-5-11:ALLOWED/0x0/CHANGE")
    ret, _ = conn.InvokeMethod("GetAccessMask", path)
    assert int(ret) == CHANGE
    # A read-only share never grants write rights, whatever its ACL.
    subprocess.run(["net", "-s", str(rsamba.conf_path), "conf", "addshare", "ro", str(tmp_path),
                    "writeable=n", "guest_ok=n"], check=True, capture_output=True, timeout=30)
    try:
        assert mask("ro") == FULL & ~WRITE_RIGHTS
    finally:
        subprocess.run(["net", "-s", str(rsamba.conf_path), "conf", "delshare", "ro"],
                       check=True, capture_output=True, timeout=30)
