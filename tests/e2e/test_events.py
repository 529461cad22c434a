"""Event queries through `openwmi watch` against a real smbd and real SMB clients: a creation
when a client connects to a share, a modification when it opens a file (NumberOfFiles), a
deletion when it disconnects; ActiveTime makes a modification at every poll; bad event queries
get Windows' errors.

smbstatus only shows connections to root, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

import harness

LOCAL = "127.0.0.1"
CONN_EVENTS = ("SELECT * FROM __InstanceOperationEvent WITHIN 1 "
               "WHERE TargetInstance ISA 'Win32_ServerConnection'")


@pytest.fixture(autouse=True)
def _needs_root_and_binary(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")


class Watch:
    """A running `openwmi watch -o json`: its stdout lines as parsed events."""

    def __init__(self, conf, wql: str, *options: str):
        cmd = [str(harness.openwmi_bin()), "--smb-conf", str(conf), "watch", "-o", "json",
               *options, wql]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.events: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        started = threading.Event()
        threading.Thread(target=self._read_stderr, args=(started,), daemon=True).start()
        # The first snapshot is taken before this line: later changes are events.
        if not started.wait(60):
            self.stop()
            raise AssertionError(f"watch did not start: {self.stderr}")

    def _read_stdout(self):
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def _read_stderr(self, started: threading.Event):
        assert self.proc.stderr
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.startswith("watching: "):
                started.set()
        started.set()

    def next(self, what: str, timeout: float = 30.0) -> dict:
        try:
            ev = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s: expected {what}; "
                                 f"stderr: {self.stderr}") from None
        assert ev is not None, f"watch ended before {what}: {self.stderr}"
        return ev

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def test_connect_open_and_disconnect_are_events(samba, smb_connect):
    # Modifications only when a file is opened: ActiveTime changes at every poll.
    wql = ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA "
           "'Win32_ServerConnection' AND (__CLASS <> '__InstanceModificationEvent' OR "
           "TargetInstance.NumberOfFiles > 0 AND PreviousInstance.NumberOfFiles = 0)")
    with Watch(samba.conf_path, wql) as w:
        conn = smb_connect("owtest1", shares=["public"])
        ev = w.next("a creation")
        assert ev["__CLASS"] == "__InstanceCreationEvent"
        assert ev["TargetInstance.ComputerName"] == LOCAL
        assert ev["TargetInstance.ShareName"] == "public"
        assert ev["TargetInstance.UserName"] == "owtest1"
        assert ev["TargetInstance.NumberOfFiles"] == 0
        assert ev["TargetInstance.__CLASS"] == "Win32_ServerConnection"
        assert "Win32_ServerConnection.ComputerName=" in ev["TargetInstance"]
        # TIME_CREATED: 100 ns units since 1601, close to now.
        now = (time.time() + 11644473600) * 10**7
        assert abs(ev["TIME_CREATED"] - now) < 600 * 10**7

        conn.open_file(conn.trees[0], "report.txt")
        ev = w.next("a modification")
        assert ev["__CLASS"] == "__InstanceModificationEvent"
        assert ev["TargetInstance.NumberOfFiles"] == 1
        assert ev["PreviousInstance.NumberOfFiles"] == 0
        assert ev["TargetInstance.ShareName"] == "public"

        conn.close()
        ev = w.next("a deletion")
        assert ev["__CLASS"] == "__InstanceDeletionEvent"
        assert ev["TargetInstance.UserName"] == "owtest1"
        assert ev["TargetInstance.ShareName"] == "public"
        assert w.stop() == 0


def test_active_time_makes_a_modification_every_poll(samba, smb_connect):
    smb_connect("owtest2", shares=["private"])
    samba.wait_for_status(lambda s: len(harness.status_tcons(s)) == 1, "a tree connect")
    wql = ("SELECT TargetInstance.ActiveTime, PreviousInstance.ActiveTime FROM "
           "__InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection'")
    r = harness.run_openwmi("--smb-conf", samba.conf_path, "watch", "-o", "json", "--count", "2",
                            "--timeout", "60", wql)
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(events) == 2, r.stdout
    for ev in events:
        assert ev["TargetInstance.ActiveTime"] > ev["PreviousInstance.ActiveTime"]
        assert set(ev) >= {"TargetInstance.ActiveTime", "PreviousInstance.ActiveTime"}
        assert "TargetInstance.UserName" not in ev


def test_count_timeout_and_formats(samba, smb_connect):
    # Nothing happens: --timeout ends the watch with status 0 and no rows.
    r = harness.run_openwmi("--smb-conf", samba.conf_path, "watch", "-o", "csv", "--timeout",
                            "2", CONN_EVENTS)
    assert r.stdout == ""
    assert r.stderr.startswith("watching: SELECT * FROM __InstanceOperationEvent WITHIN 1 ")
    # --count 1 ends at the first event; list and csv print the event class.
    for fmt, check in (("list", lambda out: "__CLASS=__InstanceCreationEvent" in out),
                       ("csv", lambda out: out.splitlines()[0].startswith('"__CLASS"')
                        or out.splitlines()[0].startswith("__CLASS"))):
        proc = subprocess.Popen(
            [str(harness.openwmi_bin()), "--smb-conf", str(samba.conf_path), "watch", "-o", fmt,
             "--count", "1", "--timeout", "60",
             CONN_EVENTS + " AND __CLASS = '__InstanceCreationEvent'"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr
        assert proc.stderr.readline().startswith("watching: ")
        conn = smb_connect("owtest1", shares=["data"])
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert check(out), out
        assert "data" in out and "owtest1" in out
        conn.close()
        samba.wait_for_status(lambda s: not harness.status_tcons(s), "no tree connects")


@pytest.mark.parametrize("wql, code", [
    # No WITHIN on a polled class: Windows' own code.
    ("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Share'",
     "WBEMESS_E_REGISTRATION_TOO_PRECISE (0x80042002)"),
    ("SELECT * FROM __InstanceCreationEvent WITHIN 0.2 WHERE TargetInstance ISA 'Win32_Share'",
     "WBEM_E_INVALID_QUERY (0x80041017)"),
    ("SELECT * FROM __NoSuchEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'",
     "WBEM_E_INVALID_CLASS (0x80041010)"),
    ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Nope'",
     "WBEM_E_INVALID_CLASS (0x80041010)"),
    ("SELECT * FROM Win32_Share WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'",
     "WBEM_E_NOT_EVENT_CLASS (0x80041059)"),
    ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' "
     "AND TargetInstance.Nope = 1", "WBEM_E_INVALID_QUERY (0x80041017)"),
    ("SELECT * FROM __InstanceCreationEvent WITHIN", "WBEM_E_INVALID_QUERY (0x80041017)"),
])
def test_bad_event_queries_get_windows_errors(samba, wql, code):
    r = harness.run_openwmi("--smb-conf", samba.conf_path, "watch", "--timeout", "1", wql,
                            check=False)
    assert r.returncode == 1, r
    assert r.stderr.startswith(f"error: {code}"), r.stderr
    assert r.stdout == ""


def test_exec_query_refuses_an_event_query(samba):
    r = harness.run_openwmi("--smb-conf", samba.conf_path, "query", CONN_EVENTS, check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("error: WBEM_E_INVALID_QUERY (0x80041017)"), r.stderr


def test_watch_remote_over_cim_xml_indications(samba, smb_connect, tmp_path):
    """`watch -r` against `openwmi serve`: a subscription made for the run, events delivered to
    the --listener, and everything removed at exit (here: --count, then Ctrl-C)."""
    import server_harness as sh
    server = sh.OpenwmiServer(harness.openwmi_bin(), tmp_path / "serve",
                              smb_conf=samba.conf_path).start()
    try:
        env = {**os.environ, "OPENWMI_PASSWORD": sh.PASSWORD}
        wql = CONN_EVENTS + " AND __CLASS = '__InstanceCreationEvent'"

        def start(*extra):
            port = harness.free_port()
            proc = subprocess.Popen(
                [str(harness.openwmi_bin()), "watch", "-r", f"//127.0.0.1:{server.port}/root/cimv2",
                 "--http", "-U", sh.USER, "--listener", f"127.0.0.1:{port}", "-o", "json",
                 "--timeout", "90", *extra, wql],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                text=True, env=env)
            assert proc.stderr
            line = proc.stderr.readline()
            assert line.startswith("watching: "), line + proc.stderr.read()
            return proc

        conn = server.pywbem(namespace="root/interop")
        proc = start("--count", "1")
        assert len(conn.EnumerateInstanceNames("CIM_IndicationSubscription")) == 1
        c = smb_connect("owtest1", shares=["public"])
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        [ev] = [json.loads(line) for line in out.splitlines()]
        assert ev["__CLASS"] == "__InstanceCreationEvent"
        assert ev["TargetInstance.ShareName"] == "public"
        assert ev["TargetInstance.UserName"] == "owtest1"
        assert ev["TargetInstance.__CLASS"] == "Win32_ServerConnection"
        for cls in ("CIM_IndicationSubscription", "CIM_IndicationFilter",
                    "CIM_ListenerDestinationCIMXML"):
            assert conn.EnumerateInstanceNames(cls) == [], cls
        c.close()

        # Ctrl-C removes the subscription too.
        proc = start()
        assert len(conn.EnumerateInstanceNames("CIM_IndicationSubscription")) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
        assert conn.EnumerateInstanceNames("CIM_IndicationSubscription") == []
        # Without --listener: a usage problem, named.
        r = harness.run_openwmi("watch", "-r", f"//127.0.0.1:{server.port}/root/cimv2", "--http",
                                "-U", sh.USER, wql, check=False, env={"OPENWMI_PASSWORD": sh.PASSWORD})
        assert r.returncode == 1 and "--listener" in r.stderr, r.stderr
        assert server.alive(), server.log()
    finally:
        server.stop()
