"""WS-Eventing on `openwmi serve`'s /wsman, as WinRM serves WMI event queries: Subscribe with
pull delivery and a WQL event filter, events taken with Pull, Renew, GetStatus, Unsubscribe,
expiry, ownership and limits. The requests go through PyPI's pypsrp (its WSMan class sends any
action; Debian's wsl and pywinrm have no eventing), the SMB sessions are real ones with smbd;
`openwmi watch -r http://.../wsman` prints what a real SMB client does.

smbstatus only shows connections to root, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

import harness
import server_harness as sh
from conftest import require

WSE = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
SUBSCRIBE = f"{WSE}/Subscribe"
RENEW = f"{WSE}/Renew"
GET_STATUS = f"{WSE}/GetStatus"
UNSUBSCRIBE = f"{WSE}/Unsubscribe"
PULL = f"{WSEN}/Pull"
PULL_MODE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ALL_CIMV2 = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*"

CONNECTIONS = ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA "
               "'Win32_ServerConnection' AND __CLASS <> '__InstanceModificationEvent'")
SHARES = "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'"

# WinRM's codes (wsmerror.h) and WMI's (WBEM_E_*), as f:WSManFault Code.
TIMED_OUT = 0x80338029
INVALID_CONTEXT = 0x8033801B
INVALID_MESSAGE = 0x80338025
UNABLE_TO_RENEW = 0x80338024
DELIVERY_MODE = 0x8033801E
UNSUPPORTED_EXPIRATION = 0x80338020
QUOTA_LIMIT = 2150858815
WBEM_E_ACCESS_DENIED = 0x80041003
WBEMESS_E_REGISTRATION_TOO_PRECISE = 0x80042002
WBEM_E_INVALID_CLASS = 0x80041010


@pytest.fixture(autouse=True)
def _needs_root_and_tools(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")
    require("pypsrp", modules=("pypsrp",))


@pytest.fixture
def server(samba, tmp_path):
    # WS-Eventing counts under [indications]' limits (128 per user by default).
    s = sh.OpenwmiServer(harness.openwmi_bin(), tmp_path / "serve", smb_conf=samba.conf_path,
                         config_text="[indications]\nmax_subscriptions_per_user = 32\n")
    s.start()
    yield s
    assert s.alive(), s.log()
    s.stop()


def client(server, user: str = sh.USER):
    """pypsrp's WSMan over http with Basic (encryption off), adding the e:Identifier header
    that Renew, GetStatus and Unsubscribe carry (pypsrp sends any action, not this header)."""
    from pypsrp.wsman import WSMan

    class EventingWSMan(WSMan):
        identifier = None

        def _create_header(self, *args, **kwargs):
            message_id, header = super()._create_header(*args, **kwargs)
            if self.identifier:
                ET.SubElement(header, "{%s}Identifier" % WSE).text = self.identifier
            return message_id, header

    return EventingWSMan("127.0.0.1", port=server.port, username=user,
                         password=server.users[user], ssl=False, auth="basic",
                         encryption="never", operation_timeout=20)


class Subscription:
    def __init__(self, w, response: ET.Element):
        self.w = w
        self.context = response.findtext(f".//{{{WSEN}}}EnumerationContext")
        self.identifier = response.findtext(f".//{{{WSE}}}Identifier")
        self.expires = response.findtext(f".//{{{WSE}}}SubscribeResponse/{{{WSE}}}Expires")
        self.manager = response.find(f".//{{{WSE}}}SubscriptionManager")
        assert self.context and self.identifier and self.manager is not None

    def pull(self, timeout: int = 5) -> list[ET.Element]:
        body = ET.Element("{%s}Pull" % WSEN)
        ET.SubElement(body, "{%s}EnumerationContext" % WSEN).text = self.context
        ET.SubElement(body, "{%s}MaxElements" % WSEN).text = "20"
        r = self.w.invoke(PULL, ALL_CIMV2, body, timeout=timeout)
        items = r.find(f".//{{{WSEN}}}Items")
        return list(items) if items is not None else []

    def wait(self, what: str, timeout: float = 60) -> list[ET.Element]:
        """Pulls until events come; the Pulls that find none get wsman:TimedOut."""
        from pypsrp.exceptions import WSManFaultError

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                got = self.pull()
            except WSManFaultError as e:
                assert e.code == TIMED_OUT, e
                continue
            if got:
                return got
        raise AssertionError(f"no {what} within {timeout} s")

    def manage(self, action: str, body: ET.Element) -> ET.Element:
        self.w.identifier = self.identifier
        try:
            return self.w.invoke(action, ALL_CIMV2, body)
        finally:
            self.w.identifier = None


def subscribe(w, query: str, expires: str | None = None, mode: str = PULL_MODE) -> Subscription:
    body = ET.Element("{%s}Subscribe" % WSE)
    d = ET.SubElement(body, "{%s}Delivery" % WSE, attrib={"Mode": mode})
    ET.SubElement(d, "{%s}Heartbeats" % WSMAN).text = "PT60.000S"
    if expires:
        ET.SubElement(body, "{%s}Expires" % WSE).text = expires
    ET.SubElement(body, "{%s}Filter" % WSMAN, attrib={"Dialect": WQL}).text = query
    return Subscription(w, w.invoke(SUBSCRIBE, ALL_CIMV2, body))


def fault(call):
    from pypsrp.exceptions import WSManFaultError

    with pytest.raises(WSManFaultError) as info:
        call()
    return info.value


def local(e: ET.Element) -> str:
    return e.tag.rsplit("}", 1)[-1]


def embedded(event: ET.Element, name: str) -> dict:
    [obj] = [c for c in event if local(c) == name]
    return {local(c): c.text for c in obj}


def test_a_subscription_pulls_connect_and_disconnect(server, smb_connect):
    require("smbprotocol", modules=("smbprotocol",))
    s = subscribe(client(server), CONNECTIONS)
    assert s.expires == "PT600.000S"  # the default
    # Nothing yet: the Pull waits its OperationTimeout, then wsman:TimedOut as on Windows.
    e = fault(lambda: s.pull(timeout=2))
    assert e.code == TIMED_OUT, e

    conn = smb_connect("owtest1", shares=["public"])
    [created] = s.wait("creation event")
    assert local(created) == "__InstanceCreationEvent"
    target = embedded(created, "TargetInstance")
    assert target["ShareName"] == "public" and target["UserName"] == "owtest1", target
    assert int([c for c in created if local(c) == "TIME_CREATED"][0].text) > 0
    conn.close()
    [deleted] = s.wait("deletion event")
    assert local(deleted) == "__InstanceDeletionEvent"
    assert embedded(deleted, "TargetInstance")["ShareName"] == "public"

    # GetStatus, Renew, then Unsubscribe: a Pull afterwards finds no context.
    status = s.manage(GET_STATUS, ET.Element("{%s}GetStatus" % WSE))
    assert status.findtext(f".//{{{WSE}}}Expires").startswith("PT")
    renew = ET.Element("{%s}Renew" % WSE)
    ET.SubElement(renew, "{%s}Expires" % WSE).text = "PT120S"
    assert s.manage(RENEW, renew).findtext(f".//{{{WSE}}}Expires") == "PT120.000S"
    s.manage(UNSUBSCRIBE, ET.Element("{%s}Unsubscribe" % WSE))
    assert fault(s.pull).code == INVALID_CONTEXT
    assert fault(lambda: s.manage(UNSUBSCRIBE, ET.Element("{%s}Unsubscribe" % WSE))).code \
        == INVALID_MESSAGE


def test_expiry_and_ownership(server):
    owner = client(server)
    started = time.monotonic()
    s = subscribe(owner, SHARES, expires="PT10S")
    assert s.expires == "PT10.000S"
    assert fault(lambda: s.pull(timeout=1)).code == TIMED_OUT
    # Another user's context is refused as a foreign enumeration's, the subscription stays.
    s.w = client(server, sh.OTHER_USER)
    assert fault(lambda: s.pull(timeout=1)).code == INVALID_CONTEXT
    assert fault(lambda: s.manage(UNSUBSCRIBE, ET.Element("{%s}Unsubscribe" % WSE))).code \
        == INVALID_MESSAGE
    s.w = owner
    # Expired: the context and the identifier are gone.
    time.sleep(max(0.0, started + 11 - time.monotonic()))
    assert fault(s.pull).code == INVALID_CONTEXT
    renew = ET.Element("{%s}Renew" % WSE)
    ET.SubElement(renew, "{%s}Expires" % WSE).text = "PT60S"
    assert fault(lambda: s.manage(RENEW, renew)).code == UNABLE_TO_RENEW
    # A renewed one outlives its first expiry.
    started = time.monotonic()
    s = subscribe(owner, SHARES, expires="PT5S")
    s.manage(RENEW, renew)
    time.sleep(max(0.0, started + 6 - time.monotonic()))
    assert fault(lambda: s.pull(timeout=1)).code == TIMED_OUT


def test_refusals(server):
    w = client(server)
    # A user without the sessions right may not watch Win32_ServerConnection.
    e = fault(lambda: subscribe(client(server, sh.OTHER_USER), CONNECTIONS))
    assert e.code == WBEM_E_ACCESS_DENIED, e
    # Windows' errors for bad event queries, with WMI's code.
    e = fault(lambda: subscribe(w, "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance "
                                   "ISA 'Win32_Share'"))
    assert e.code == WBEMESS_E_REGISTRATION_TOO_PRECISE, e
    e = fault(lambda: subscribe(w, "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE "
                                   "TargetInstance ISA 'Win32_Nope'"))
    assert e.code == WBEM_E_INVALID_CLASS, e
    # Push delivery and date-time expirations are not served.
    e = fault(lambda: subscribe(w, SHARES, mode=f"{WSE}/DeliveryModes/Push"))
    assert e.code == DELIVERY_MODE, e
    e = fault(lambda: subscribe(w, SHARES, expires="2030-01-01T00:00:00Z"))
    assert e.code == UNSUPPORTED_EXPIRATION, e


def watch_command(server, *extra: str) -> list[str]:
    return [str(harness.openwmi_bin()), "watch", "-r", f"http://127.0.0.1:{server.port}/wsman",
            "-U", sh.USER, "-o", "json", *extra]


def test_watch_remote_over_wsman_and_the_limit(server, smb_connect):
    require("smbprotocol", modules=("smbprotocol",))
    env = {**os.environ, "OPENWMI_PASSWORD": sh.PASSWORD}
    query = CONNECTIONS + " AND __CLASS = '__InstanceCreationEvent'"
    proc = subprocess.Popen(watch_command(server, "--count", "1", "--timeout", "90", query),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stderr
        line = proc.stderr.readline()
        assert line.startswith("watching: "), line + proc.stderr.read()
        c = smb_connect("owtest1", shares=["public"])
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    [ev] = [json.loads(x) for x in out.splitlines()]
    assert ev["__CLASS"] == "__InstanceCreationEvent"
    assert ev["TargetInstance.ShareName"] == "public"
    assert ev["TargetInstance.UserName"] == "owtest1"
    assert ev["TargetInstance.__CLASS"] == "Win32_ServerConnection"
    c.close()

    # Ctrl-C ends a watch with status 0 and unsubscribes.
    proc = subprocess.Popen(watch_command(server, query), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    assert proc.stderr
    assert proc.stderr.readline().startswith("watching: ")
    time.sleep(1)  # a Pull is waiting on the server when the signal comes
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0, proc.stderr.read()

    # A bad query from the command line: exit status 1, WMI's error named.
    r = subprocess.run(watch_command(server, "--timeout", "5", "SELECT * FROM "
                                     "__InstanceCreationEvent WHERE TargetInstance ISA "
                                     "'Win32_Share'"),
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1 and "WBEMESS_E_REGISTRATION_TOO_PRECISE" in r.stderr, r.stderr

    # Nothing of the watches is left: the user's whole quota (32, configured) is free.
    w = client(server)
    held = []
    while len(held) <= 40:
        try:
            held.append(subscribe(w, SHARES))
        except Exception as e:  # the quota's fault
            assert getattr(e, "code", None) == QUOTA_LIMIT, e
            break
    assert len(held) == 32
    # Another user's quota is their own.
    subscribe(client(server, sh.OTHER_USER), SHARES)


def test_watch_over_several_hosts_tags_each_event(samba, smb_connect, tmp_path):
    require("smbprotocol", modules=("smbprotocol",))
    servers = [sh.OpenwmiServer(harness.openwmi_bin(), tmp_path / f"serve{i}",
                                smb_conf=samba.conf_path).start() for i in range(2)]
    try:
        env = {**os.environ, "OPENWMI_PASSWORD": sh.PASSWORD}
        query = CONNECTIONS + " AND __CLASS = '__InstanceCreationEvent'"
        cmd = [str(harness.openwmi_bin()), "watch", "-U", sh.USER, "-o", "json", "--count", "2",
               "--timeout", "90"]
        for s in servers:
            cmd += ["-r", f"http://127.0.0.1:{s.port}/wsman"]
        proc = subprocess.Popen(cmd + [query], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=env)
        try:
            assert proc.stderr
            for _ in servers:
                line = proc.stderr.readline()
                assert line.startswith("watching: "), line + proc.stderr.read()
            c = smb_connect("owtest1", shares=["public"])
            out, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        events = [json.loads(x) for x in out.splitlines()]
        assert len(events) == 2, out
        assert {e["Host"] for e in events} == {f"127.0.0.1:{s.port}" for s in servers}, events
        assert all(e["TargetInstance.ShareName"] == "public" for e in events), events
        c.close()
    finally:
        for s in servers:
            assert s.alive(), s.log()
            s.stop()
