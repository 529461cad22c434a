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
    if os.geteuid() != 0:
        msg = "smbstatus and smbcontrol need root: run these tests as root"
        if harness.in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


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
