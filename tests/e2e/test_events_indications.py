"""CIM-XML indications end to end: subscriptions made with pywbemcli (`subscription
add-destination / add-filter / add-subscription`) on `openwmi serve`, a real pywbemlistener
receiving ExportIndication requests when a real SMB client connects to a share, opens a file and
disconnects; sequence numbers consecutive; subscriptions kept across a restart; a user without
the right, a destination outside the loopback and a bad query are refused.

smbstatus only shows connections to root, so these tests run as root (CI does)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

import pytest

import harness
import server_harness as sh
from conftest import require

QUERY = ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA "
         "'Win32_ServerConnection' AND (__CLASS <> '__InstanceModificationEvent' OR "
         "TargetInstance.NumberOfFiles > 0 AND PreviousInstance.NumberOfFiles = 0)")
FORMAT = ("{i.classname}|{i[SequenceContext]}|{i[SequenceNumber]}|{i[TargetInstance][ShareName]}|"
          "{i[TargetInstance][UserName]}|{i[TargetInstance][NumberOfFiles]}")


@pytest.fixture(autouse=True)
def _needs_root_and_tools(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")
    require("pywbemtools", programs=("pywbemcli", "pywbemlistener"))


class Listener:
    """`pywbemlistener run` on a free loopback port (or `port`), appending one line per
    indication in `indi_format` to `base/file_name`; over https with `tls`'s certificate."""

    def __init__(self, base: Path, port: int = 0, *, indi_format: str = FORMAT,
                 file_name: str = "indications.txt", tls: Optional[sh.TestCA] = None):
        self.port = port or harness.free_port()
        self.scheme = "http" if tls is None else "https"
        self.file = base / file_name
        if not self.file.exists():
            self.file.write_text("")
        certs = [] if tls is None else ["--certfile", str(tls.server_cert),
                                        "--keyfile", str(tls.server_key)]
        self.proc = subprocess.Popen(
            ["pywbemlistener", "run", f"lis{self.port}", "--port", str(self.port), "--scheme",
             self.scheme, *certs, "--bind-addr", "127.0.0.1", "--indi-file", str(self.file),
             "--indi-format", indi_format],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True)
        harness.wait_until(lambda: harness.port_accepts(self.port), 60, "pywbemlistener")

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def lines(self) -> list[list[str]]:
        return [line.split("|") for line in self.file.read_text().splitlines() if line]

    def wait(self, count: int, what: str, timeout: float = 60) -> list[list[str]]:
        harness.wait_until(lambda: len(self.lines()) >= count, timeout, what)
        return self.lines()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cli(server: sh.OpenwmiServer, *args: str, user: str = sh.USER,
        check: bool = True) -> subprocess.CompletedProcess:
    password = server.users[user]
    cmd = ["pywbemcli", "-s", server.url, "-u", user, "-p", password, *args]
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}\n{r.stderr}"
    return r


def subscribe(server, listener_url: str, user: str = sh.USER) -> None:
    cli(server, "subscription", "add-destination", "dest1", "-l", listener_url, user=user)
    cli(server, "subscription", "add-filter", "conns", "-q", QUERY, "--source-namespaces",
        "root/cimv2", user=user)
    cli(server, "subscription", "add-subscription", "dest1", "conns", user=user)


def test_a_listener_gets_connect_open_and_disconnect(samba, smb_connect, openwmi_bin, tmp_path):
    require("smbprotocol", modules=("smbprotocol",))
    listener = Listener(tmp_path)
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path).start()
    try:
        subscribe(server, listener.url)
        listing = cli(server, "subscription", "list-subscriptions").stdout
        assert "conns" in listing and "dest1" in listing, listing

        conn = smb_connect("owtest1", shares=["public"])
        [created] = listener.wait(1, "a creation indication")
        assert created[0] == "__InstanceCreationEvent"
        assert created[3:6] == ["public", "owtest1", "0"], created
        conn.open_file(conn.trees[0], "report.txt")
        lines = listener.wait(2, "a modification indication")
        assert lines[1][0] == "__InstanceModificationEvent"
        assert lines[1][3:6] == ["public", "owtest1", "1"], lines[1]
        conn.close()
        lines = listener.wait(3, "a deletion indication")
        assert lines[2][0] == "__InstanceDeletionEvent"
        assert lines[2][3:5] == ["public", "owtest1"]
        # One sequence context, numbers consecutive from 0 (DSP1054): nothing lost, no repeats.
        assert {line[1] for line in lines} == {lines[0][1]}
        assert [int(line[2]) for line in lines] == [0, 1, 2]

        # Kept across a restart: the subscription comes back and delivers.
        server.stop()
        server.start()
        listing = cli(server, "subscription", "list-subscriptions").stdout
        assert "conns" in listing, listing
        smb_connect("owtest2", shares=["data"])
        lines = listener.wait(4, "an indication after the restart")
        assert lines[3][0] == "__InstanceCreationEvent" and lines[3][3:5] == ["data", "owtest2"]
        assert lines[3][1] != lines[0][1] and lines[3][2] == "0"

        # Removed by its owner: nothing more arrives.
        cli(server, "subscription", "remove-subscription", "dest1", "conns")
        assert "conns" not in cli(server, "subscription", "list-subscriptions").stdout
        smb_connect("owtest1", shares=["private"])
        time.sleep(4)
        assert len(listener.lines()) == 4
        assert server.alive(), server.log()
    finally:
        server.stop()
        listener.stop()


def test_a_listener_down_then_up_gets_the_queued_indications(samba, smb_connect, openwmi_bin,
                                                              tmp_path):
    require("smbprotocol", modules=("smbprotocol",))
    listener = Listener(tmp_path)
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path).start()
    try:
        subscribe(server, listener.url)
        listener.stop()
        # Retried 2, 4 and 8 s after the first attempt (CIM_IndicationService's defaults).
        conn = smb_connect("owtest1", shares=["public"])
        time.sleep(3)
        listener = Listener(tmp_path, listener.port)
        [created] = listener.wait(1, "the queued creation")
        assert created[0] == "__InstanceCreationEvent" and created[2] == "0"
        conn.close()
        lines = listener.wait(2, "the deletion")
        assert [line[0] for line in lines] == ["__InstanceCreationEvent", "__InstanceDeletionEvent"]
        assert [int(line[2]) for line in lines] == [0, 1]
        time.sleep(3)
        assert len(listener.lines()) == 2, "a duplicate arrived"
        assert server.alive(), server.log()
    finally:
        server.stop()
        listener.stop()


def test_refusals(samba, openwmi_bin, tmp_path):
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path).start()
    try:
        # A destination the server must not connect to over plain http.
        r = cli(server, "subscription", "add-destination", "far", "-l", "http://10.255.255.1:5000",
                check=False)
        assert r.returncode != 0 and "CIM_ERR_ACCESS_DENIED" in r.stdout + r.stderr, r
        # A user without the sessions right may not watch Win32_ServerConnection.
        r = cli(server, "subscription", "add-filter", "f", "-q", QUERY, "--source-namespaces",
                "root/cimv2", user=sh.OTHER_USER, check=False)
        assert r.returncode != 0 and "CIM_ERR_ACCESS_DENIED" in r.stdout + r.stderr, r
        # Windows' errors for bad event queries.
        for query, code in [
            ("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Share'",
             "CIM_ERR_INVALID_QUERY"),
            ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Nope'",
             "CIM_ERR_INVALID_CLASS"),
        ]:
            r = cli(server, "subscription", "add-filter", "bad", "-q", query,
                    "--source-namespaces", "root/cimv2", check=False)
            assert r.returncode != 0 and code in r.stdout + r.stderr, (query, r)
        # What one user made, another does not see.
        cli(server, "subscription", "add-destination", "mine", "-l", "http://127.0.0.1:9")
        theirs = cli(server, "subscription", "list-destinations", user=sh.OTHER_USER).stdout
        assert "mine" not in theirs
        assert "mine" in cli(server, "subscription", "list-destinations").stdout
        assert server.alive(), server.log()
    finally:
        server.stop()
