"""The SMB management classes of root/Microsoft/Windows/SMB and the first methods, against a
real private smbd with real SMB clients (smbprotocol, smbclient), through the openwmi binary
(local) and through openwmi serve with real WBEM clients (pywbemcli, wbemcli).

smbstatus, smbcontrol and `net conf` need root, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

import harness
from harness import status_opens, status_sessions
from live_helpers import openwmi, query

SMB_NS = "root/Microsoft/Windows/SMB"


@pytest.fixture(autouse=True)
def _needs_root_and_binary(openwmi_bin):
    harness.need_root("smbstatus and smbcontrol need root: run these tests as root")


class RegistrySambaServer(harness.SambaServer):
    """The harness's smbd with `registry shares = yes`, where openwmi creates shares."""

    def _write_conf(self) -> None:
        super()._write_conf()
        text = self.conf_path.read_text()
        self.conf_path.write_text(text.replace("[global]\n", "[global]\n  registry shares = yes\n", 1))


@pytest.fixture
def rsamba():
    harness_require()
    with RegistrySambaServer() as server:
        yield server


def harness_require():
    from conftest import require
    require("Samba", programs=("smbd", "smbstatus", "smbcontrol", "net", "testparm"))
    require("smbprotocol", modules=("smbprotocol",))


def smb_query(conf, wql: str) -> list[dict]:
    return query(conf, wql, "--freshness", "0")


def smb_query_ns(conf, wql: str) -> list[dict]:
    r = harness.run_openwmi("--smb-conf", conf, "--freshness", "0", "query", "-n", SMB_NS,
                            "-o", "json", wql)
    return json.loads(r.stdout)


# ------------------------------------------------------------------ classes


def test_session_lists_dialect_signing_and_user(rsamba):
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        conn.tree_connect("public")
        status = rsamba.wait_for_status(lambda s: len(status_sessions(s)) == 1, "one session")
        sess = status_sessions(status)[0]
        rows = smb_query_ns(rsamba.conf_path, "SELECT * FROM MSFT_SmbSession")
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["SessionId"] == int(sess["session_id"])
        # smbprotocol negotiates SMB 3.1.1 with a Samba 4.17 server, and signs.
        assert sess["session_dialect"] == "SMB3_11"
        assert row["Dialect"] == "3.1.1"
        assert row["Signed"] is True and row["Encrypted"] is False
        assert row["ClientComputerName"] == "127.0.0.1"
        assert row["ClientUserName"].endswith("\\owtest1")
        assert row["ScopeName"] == "*"
        assert row["TransportName"] == "tcp"
        assert row["SecondsIdle"] is None
        assert 0 <= row["SecondsExists"] < 300
        # Get-SmbSession-shaped queries.
        assert smb_query_ns(rsamba.conf_path,
                            'SELECT * FROM MSFT_SmbSession WHERE Dialect < "3.0"') == []
        same = smb_query_ns(rsamba.conf_path,
                            'SELECT SessionId FROM MSFT_SmbSession WHERE Dialect >= "3.0"')
        assert [r["SessionId"] for r in same] == [row["SessionId"]]
        user = row["ClientUserName"].replace("\\", "\\\\")
        by_user = smb_query_ns(rsamba.conf_path,
                               f'SELECT * FROM MSFT_SmbSession WHERE ClientUserName = "{user}"')
        assert [r["SessionId"] for r in by_user] == [row["SessionId"]]
    finally:
        conn.close()


def test_smb1_client_is_found_by_dialect(rsamba):
    """An old-dialect client (smbclient forced to SMB2_10) shows up in `Dialect < "3.0"`."""
    harness.wait_until(lambda: True, 1, "")
    p = subprocess.Popen(
        ["smbclient", "-p", str(rsamba.port), "-U", "owtest2%" + rsamba.users["owtest2"],
         "-m", "SMB2_10", "//127.0.0.1/public"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        rsamba.wait_for_status(lambda s: any(x["session_dialect"] == "SMB2_10"
                                             for x in status_sessions(s)), "an SMB2_10 session")
        rows = smb_query_ns(rsamba.conf_path,
                            'SELECT * FROM MSFT_SmbSession WHERE Dialect < "3.0"')
        assert [(r["Dialect"], r["ClientUserName"].split("\\")[-1]) for r in rows] == [
            ("2.1", "owtest2")]
    finally:
        p.kill()
        p.wait()


def test_open_file_path_and_access_mask(rsamba):
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        tree = conn.tree_connect("data")
        conn.open_file(tree, "report.txt")
        status = rsamba.wait_for_status(lambda s: len(status_opens(s)) == 1, "one open")
        (_, open_), = status_opens(status)
        sess = status_sessions(status)[0]
        rows = smb_query_ns(rsamba.conf_path, "SELECT * FROM MSFT_SmbOpenFile")
        assert len(rows) == 1, rows
        row = rows[0]
        share_dir = str(rsamba.share("data").path)
        assert row["Path"] == share_dir + "/report.txt"
        assert row["ShareRelativePath"] == "report.txt"
        assert row["Permissions"] == int(open_["access_mask"]["hex"], 16)
        # GENERIC_READ | GENERIC_WRITE as smbd grants it on a file.
        assert row["Permissions"] & 0x3 == 0x3
        assert row["SessionId"] == int(sess["session_id"])
        assert row["ClientUserName"].endswith("\\owtest1")
        assert row["Signed"] is True
        one = smb_query_ns(rsamba.conf_path,
                           f"SELECT * FROM MSFT_SmbOpenFile WHERE FileId = {row['FileId']}")
        assert [r["Path"] for r in one] == [row["Path"]]
    finally:
        conn.close()


def test_shares_with_current_users(rsamba):
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        conn.tree_connect("data")
        conn.tree_connect("data")
        rsamba.wait_for_status(lambda s: len(s.get("tcons", {})) == 2, "two tree connects")
        rows = {r["Name"]: r for r in smb_query_ns(rsamba.conf_path,
                                                   "SELECT * FROM MSFT_SmbShare")}
        assert {"public", "private", "data", "IPC$"} <= set(rows)
        data = rows["data"]
        assert data["Path"] == str(rsamba.share("data").path)
        assert data["Description"] == "Team data (test share)"
        assert data["ConcurrentUserLimit"] == 5
        assert data["CurrentUsers"] == 2
        assert data["ShareType"] == 0 and data["ShareState"] == 1
        assert data["ScopeName"] == "*" and data["Special"] is False
        ipc = rows["IPC$"]
        assert ipc["ShareType"] == 3 and ipc["Special"] is True and ipc["Path"] is None
    finally:
        conn.close()


# ------------------------------------------------------------------ methods, locally


def call(conf, *args, check=True) -> tuple[dict, str]:
    """`openwmi call ... -o json`: the __PARAMETERS row and stderr (the audit line)."""
    r = harness.run_openwmi("--smb-conf", conf, "--freshness", "0", "call", "-o", "json", *args,
                            check=check)
    rows = json.loads(r.stdout) if r.returncode == 0 else []
    return (rows[0] if rows else {}), r.stderr


def registry_shares(server) -> list[str]:
    r = subprocess.run(["net", "-s", str(server.conf_path), "conf", "listshares"],
                       capture_output=True, text=True, timeout=30, check=True)
    return sorted(l.strip() for l in r.stdout.splitlines() if l.strip())


def can_connect(server, share: str) -> bool:
    try:
        with harness.SmbConnection(server, "owtest1") as c:
            c.tree_connect(share)
        return True
    except Exception:
        return False


def session_ids(conf) -> list[int]:
    return [r["SessionId"] for r in smb_query_ns(conf, "SELECT SessionId FROM MSFT_SmbSession")]


def test_force_close_ends_the_clients_session(rsamba):
    conn = harness.SmbConnection(rsamba, "owtest1")
    other = harness.SmbConnection(rsamba, "owtest2")
    try:
        tree = conn.tree_connect("public")
        other.tree_connect("public")
        rsamba.wait_for_status(lambda s: len(status_sessions(s)) == 2, "two sessions")
        rows = smb_query_ns(rsamba.conf_path, "SELECT * FROM MSFT_SmbSession")
        victim = next(r for r in rows if r["ClientUserName"].endswith("\\owtest1"))
        out, err = call(rsamba.conf_path, "-n", SMB_NS,
                        f"MSFT_SmbSession.SessionId={victim['SessionId']}", "ForceClose")
        assert out["ReturnValue"] == 0
        assert "method=MSFT_SmbSession.ForceClose" in err and "return=0" in err, err
        # The client's next operation fails; smbstatus no longer lists the session.
        with pytest.raises(Exception):
            conn.open_file(tree, "after.txt")
        status = rsamba.wait_for_status(lambda s: len(status_sessions(s)) == 1, "one session left")
        assert [s["username"] for s in status_sessions(status)] == ["owtest2"]
        assert victim["SessionId"] not in session_ids(rsamba.conf_path)
        # An unknown session: an error, nothing else ends.
        r = harness.run_openwmi("--smb-conf", rsamba.conf_path, "--freshness", "0", "call",
                                "-n", SMB_NS, f"MSFT_SmbSession.SessionId={victim['SessionId']}",
                                "ForceClose", check=False)
        assert r.returncode != 0 and "WBEM_E_NOT_FOUND" in r.stderr, r.stderr
        assert "result=error" in r.stderr
        assert len(status_sessions(rsamba.smbstatus_json())) == 1
    finally:
        conn.close()
        other.close()


def test_win32_share_create_then_delete(rsamba):
    d = rsamba.base / "made by openwmi"
    d.mkdir()
    d.chmod(0o777)
    out, err = call(rsamba.conf_path, "Win32_Share", "Create", f"Path={d}", "Name=made",
                    "Type=0", "Description=Made by a test", "MaximumAllowed=4")
    assert out["ReturnValue"] == 0, err
    assert "made" in registry_shares(rsamba)
    # A real client connects and writes.
    with harness.SmbConnection(rsamba, "owtest1") as c:
        t = c.tree_connect("made")
        c.open_file(t, "hello.txt")
    assert (d / "hello.txt").exists()
    rows = smb_query(rsamba.conf_path, 'SELECT * FROM Win32_Share WHERE Name = "made"')
    assert [(r["Path"], r["Description"], r["MaximumAllowed"]) for r in rows] == [
        (str(d), "Made by a test", 4)]
    out, _ = call(rsamba.conf_path, 'Win32_Share.Name="made"', "SetShareInfo",
                  "Description=Changed", "MaximumAllowed=2")
    assert out["ReturnValue"] == 0
    rows = smb_query(rsamba.conf_path, 'SELECT * FROM Win32_Share WHERE Name = "made"')
    assert [(r["Description"], r["MaximumAllowed"]) for r in rows] == [("Changed", 2)]
    out, _ = call(rsamba.conf_path, 'Win32_Share.Name="made"', "GetAccessMask")
    assert out["ReturnValue"] == 0x1F01FF
    out, err = call(rsamba.conf_path, 'Win32_Share.Name="made"', "Delete")
    assert out["ReturnValue"] == 0, err
    assert "made" not in registry_shares(rsamba)
    assert not can_connect(rsamba, "made")
    assert d.is_dir(), "the directory stays"


def test_bad_parameters_give_windows_codes_and_change_nothing(rsamba):
    d = rsamba.base / "bad"
    d.mkdir()
    before = registry_shares(rsamba)
    conf_before = rsamba.conf_path.read_text()
    cases = [
        (["Name=a/b", f"Path={d}", "Type=0"], 9),            # invalid name
        (["Name=global", f"Path={d}", "Type=0"], 9),
        (["Name=x1", f"Path={d}/missing", "Type=0"], 24),    # unknown directory
        (["Name=x1", "Path=C:\\data", "Type=0"], 24),
        (["Name=x1", "Path=\\\\srv\\share", "Type=0"], 23),  # redirected path
        (["Name=x1", "Type=0"], 21),                         # no path
        (["Name=x1", f"Path={d}/%U", "Type=0"], 21),         # Samba would expand %U
        (["Name=x1", f"Path={d}", "Type=1"], 10),            # print queue: invalid level
        (["Name=x1", f"Path={d}", "Type=7"], 21),
        (["Name=x1", f"Path={d}", "Type=0", "Password=secret"], 21),
        (["Name=public", f"Path={d}", "Type=0"], 22),        # duplicate (smb.conf share)
    ]
    for params, code in cases:
        out, err = call(rsamba.conf_path, "Win32_Share", "Create", *params)
        assert out["ReturnValue"] == code, (params, out, err)
        assert f"return={code}" in err
        assert "secret" not in err, "parameter values are never logged"
    for path, code in [('Win32_Share.Name="public"', 2), ('Win32_Share.Name="nope"', 25)]:
        out, _ = call(rsamba.conf_path, path, "Delete")
        assert out["ReturnValue"] == code, (path, out)
        out, _ = call(rsamba.conf_path, path, "SetShareInfo", "Description=x")
        assert out["ReturnValue"] == code, (path, out)
    assert registry_shares(rsamba) == before
    assert rsamba.conf_path.read_text() == conf_before
    assert can_connect(rsamba, "public")
    # A value of the wrong type is a CIM error, not a call.
    r = harness.run_openwmi("--smb-conf", rsamba.conf_path, "call", "Win32_Share", "Create",
                            "Name=x1", f"Path={d}", "Type=disk", check=False)
    assert r.returncode != 0 and "WBEM_E_INVALID_PARAMETER" in r.stderr, r.stderr
    # An instance method on the class, a static one without Create's class path.
    r = harness.run_openwmi("--smb-conf", rsamba.conf_path, "call", "Win32_Share", "Delete",
                            check=False)
    assert r.returncode != 0 and "instance method" in r.stderr, r.stderr
    r = harness.run_openwmi("--smb-conf", rsamba.conf_path, "call", "Win32_Share", "Nope",
                            check=False)
    assert r.returncode != 0 and "WBEM_E_INVALID_METHOD" in r.stderr, r.stderr
    assert registry_shares(rsamba) == before


def test_class_shows_methods_with_parameters(openwmi_bin):
    r = harness.run_openwmi("class", "Win32_Share")
    assert "uint32 Create(" in r.stdout and "string Path," in r.stdout, r.stdout
    assert "uint32 Delete();" in r.stdout
    r = harness.run_openwmi("class", "-n", SMB_NS, "MSFT_SmbSession")
    assert "uint32 ForceClose();" in r.stdout


# ------------------------------------------------------------------ methods over CIM-XML


@pytest.fixture
def mserver(rsamba, openwmi_bin, tmp_path):
    """openwmi serve (plain HTTP on loopback) over the registry-share smbd: sh.USER is in
    openwmi-admins (read, sessions, manage by default), sh.OTHER_USER is not."""
    import server_harness as sh
    srv = sh.OpenwmiServer(openwmi_bin, tmp_path / "srv", smb_conf=rsamba.conf_path,
                           extra_args=["--freshness", "0"])
    with srv:
        yield srv


def audit_lines(server) -> list[str]:
    return [l for l in server.log_path.read_text().splitlines() if "openwmi audit:" in l]


def test_pywbem_invoke_method_and_the_manage_right(rsamba, mserver, tmp_path):
    import pywbem
    import server_harness as sh
    require_pywbem()
    d = rsamba.base / "remote share"
    d.mkdir()
    d.chmod(0o777)
    admin = mserver.pywbem(sh.USER)
    ret, out = admin.InvokeMethod("Create", pywbem.CIMClassName("Win32_Share"),
                                  [("Path", str(d)), ("Name", "remote"),
                                   ("Type", pywbem.Uint32(0))])
    assert (int(ret), out) == (0, {})
    assert can_connect(rsamba, "remote")
    # A user without `manage`: access denied, nothing changes, the refusal is audited.
    other = mserver.pywbem(sh.OTHER_USER)
    path = pywbem.CIMInstanceName("Win32_Share", {"Name": "remote"}, namespace="root/cimv2")
    with pytest.raises(pywbem.CIMError) as e:
        other.InvokeMethod("Delete", path)
    assert e.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
    assert "manage" in e.value.status_description
    assert "remote" in registry_shares(rsamba)
    ret, _ = admin.InvokeMethod("Delete", path)
    assert int(ret) == 0
    assert "remote" not in registry_shares(rsamba)
    # Reading sessions and open files needs `sessions`, as Win32_ServerConnection does.
    with harness.SmbConnection(rsamba, "owtest1") as c:
        c.tree_connect("public")
        rsamba.wait_for_status(lambda s: len(status_sessions(s)) == 1, "one session")
        smb_admin = mserver.pywbem(sh.USER, namespace=SMB_NS)
        sessions = smb_admin.EnumerateInstances("MSFT_SmbSession")
        assert [str(i["Dialect"]) for i in sessions] == ["3.1.1"]
        smb_other = mserver.pywbem(sh.OTHER_USER, namespace=SMB_NS)
        for cls in ("MSFT_SmbSession", "MSFT_SmbOpenFile"):
            with pytest.raises(pywbem.CIMError) as e:
                smb_other.EnumerateInstances(cls)
            assert e.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
            assert "sessions" in e.value.status_description
        assert smb_other.EnumerateInstances("MSFT_SmbShare")
    lines = audit_lines(mserver)
    assert len(lines) == 3, lines
    assert f"user={sh.USER} from=127.0.0.1:" in lines[0] and "Win32_Share.Create" in lines[0]
    assert f"user={sh.OTHER_USER}" in lines[1] and "CIM_ERR_ACCESS_DENIED" in lines[1]
    assert "Win32_Share.Delete" in lines[2] and "return=0" in lines[2]


def require_pywbem():
    from conftest import require
    require("pywbem", modules=("pywbem",))


def test_pywbemcli_wbemcli_and_openwmi_remote_calls(rsamba, mserver, tmp_path):
    import server_harness as sh
    from conftest import require
    require("pywbemcli", programs=("pywbemcli",))
    require("sblim wbemcli", programs=("wbemcli",))
    d = rsamba.base / "cli share"
    d.mkdir()
    d.chmod(0o777)

    def pywbemcli(*args):
        cmd = ["pywbemcli", "-s", mserver.url, "-u", sh.USER, "-p", sh.PASSWORD, "-t", "60",
               "-C", str(tmp_path / "pywbemcli_connections.yaml"), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYWBEMCLI_")}
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        assert r.returncode == 0, f"{cmd}\n{r.stdout}\n{r.stderr}\n{mserver.log()}"
        return r.stdout

    out = pywbemcli("class", "invokemethod", "Win32_Share", "Create", "-p", f"Path={d}",
                    "-p", "Name=viacli", "-p", "Type=0")
    assert "ReturnValue=0" in out.replace(" ", ""), out
    assert "viacli" in registry_shares(rsamba)
    out = pywbemcli("instance", "invokemethod", 'Win32_Share.Name="viacli"', "Delete")
    assert "ReturnValue=0" in out.replace(" ", ""), out
    assert "viacli" not in registry_shares(rsamba)

    # wbemcli: a static call on the class path, an instance call on the instance path.
    base = f"http://{sh.USER}:{sh.PASSWORD}@127.0.0.1:{mserver.port}/root/cimv2"
    r = subprocess.run(["wbemcli", "cm", f"{base}:Win32_Share",
                        f'Create.Path="{d}",Name="viawbemcli",Type=0'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{mserver.log()}"
    assert r.stdout.strip().endswith("Win32_Share Create: 0"), r.stdout
    assert "viawbemcli" in registry_shares(rsamba)
    r = subprocess.run(["wbemcli", "cm", f'{base}:Win32_Share.Name="viawbemcli"', "Delete"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{mserver.log()}"
    assert "viawbemcli" not in registry_shares(rsamba)

    # openwmi call -r: ForceClose of a real session over CIM-XML.
    conn = harness.SmbConnection(rsamba, "owtest1")
    try:
        tree = conn.tree_connect("public")
        status = rsamba.wait_for_status(lambda s: len(status_sessions(s)) == 1, "one session")
        sid = int(status_sessions(status)[0]["session_id"])
        r = harness.run_openwmi("call", "-r", f"http://127.0.0.1:{mserver.port}/{SMB_NS}",
                                "--http", "-U", sh.USER, "-o", "json",
                                f"MSFT_SmbSession.SessionId={sid}", "ForceClose",
                                env={"OPENWMI_PASSWORD": sh.PASSWORD})
        assert json.loads(r.stdout)[0]["ReturnValue"] == 0
        with pytest.raises(Exception):
            conn.open_file(tree, "after.txt")
        rsamba.wait_for_status(lambda s: not status_sessions(s), "no session")
    finally:
        conn.close()
    assert len(audit_lines(mserver)) == 5


# ------------------------------------------------------------------ client side


def test_smb_connection_and_mapping_from_the_mount_table(openwmi_bin, tmp_path):
    """No cifs mount can be made in the test container: a mount table as the kernel writes it
    (cifs_show_options: vers=, username=, domain=) and an fstab stand in."""
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "36 1 0:30 / /mnt/team rw,relatime shared:1 - cifs //nas/team "
        "rw,vers=3.1.1,cache=strict,username=alice,domain=CORP,uid=0,forceuid\n"
        "37 1 0:31 / /mnt/old rw,relatime - cifs //oldsrv/data rw,vers=2.1,username=bob\n"
        "38 1 0:32 / /mnt/nfs rw - nfs4 srv:/x rw,vers=4.2\n")
    fstab = tmp_path / "fstab"
    fstab.write_text("//nas/team /mnt/team cifs credentials=/etc/c 0 0\n"
                     "//nas/later /mnt/later cifs noauto 0 0\n")

    def rows(cls):
        r = harness.run_openwmi("--mountinfo", mountinfo, "--fstab", fstab, "query", "-n",
                                SMB_NS, "-o", "json", f"SELECT * FROM {cls}")
        return json.loads(r.stdout)

    conns = {(r["ServerName"], r["ShareName"]): r for r in rows("MSFT_SmbConnection")}
    assert set(conns) == {("nas", "team"), ("oldsrv", "data")}
    assert conns[("nas", "team")]["Dialect"] == "3.1.1"
    assert conns[("nas", "team")]["UserName"] == "CORP\\alice"
    assert conns[("oldsrv", "data")]["Dialect"] == "2.1"
    maps = {r["LocalPath"]: (r["RemotePath"], r["Status"]) for r in rows("MSFT_SmbMapping")}
    assert maps == {"/mnt/team": ("\\\\nas\\team", 0), "/mnt/old": ("\\\\oldsrv\\data", 0),
                    "/mnt/later": ("\\\\nas\\later", 6)}


def test_msft_create_share_with_samba_settings(rsamba):
    d = rsamba.base / "secret"
    d.mkdir()
    d.chmod(0o777)
    out, err = call(rsamba.conf_path, "-n", SMB_NS, "MSFT_SmbShare", "CreateShare",
                    "Name=secret", f"Path={d}", "EncryptData=true", "CachingMode=0",
                    "ConcurrentUserLimit=9")
    assert out["ReturnValue"] == 0, err
    r = subprocess.run(["net", "-s", str(rsamba.conf_path), "conf", "showshare", "secret"],
                       capture_output=True, text=True, timeout=30, check=True)
    for line in ("smb encrypt = required", "csc policy = disable", "max connections = 9"):
        assert line in r.stdout, r.stdout
    rows = smb_query_ns(rsamba.conf_path, 'SELECT * FROM MSFT_SmbShare WHERE Name = "secret"')
    assert [(x["Path"], x["ConcurrentUserLimit"]) for x in rows] == [(str(d), 9)]
    # Samba tells the client the share must be encrypted (SMB2_SHAREFLAG_ENCRYPT_DATA).
    with harness.SmbConnection(rsamba, "owtest1") as conn:
        assert conn.tree_connect("secret").encrypt_data is True
        assert conn.tree_connect("public").encrypt_data is False
    # What Samba cannot do per share is refused, and nothing is made.
    r = harness.run_openwmi("--smb-conf", rsamba.conf_path, "call", "-n", SMB_NS,
                            "MSFT_SmbShare", "CreateShare", "Name=other", f"Path={d}",
                            "FullAccess=OWTEST\\owtest1", check=False)
    assert r.returncode != 0 and "WBEM_E_NOT_SUPPORTED" in r.stderr, r.stderr
    assert "other" not in registry_shares(rsamba)
    out, _ = call(rsamba.conf_path, 'Win32_Share.Name="secret"', "Delete")
    assert out["ReturnValue"] == 0
    assert registry_shares(rsamba) == []
