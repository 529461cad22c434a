"""Indications beyond root/cimv2 and the server's `[indications]` table, end to end: an
MSFT_SmbSession creation event in root/Microsoft/Windows/SMB when a real smbclient connects
(locally through `openwmi watch -n`, and at a real pywbemlistener through a pywbemcli
subscription whose filter names that namespace); administrators list and remove everyone's
subscriptions with pywbemcli, other users only their own; allowed_destinations, the retry
settings and the limits from the configuration file.

smbstatus only shows connections to root, so these tests run as root (CI does)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Optional

import pytest

import harness
import server_harness as sh
from conftest import require
from test_events_indications import Listener, cli

SMB_NS = "root/Microsoft/Windows/SMB"
SESSION_EVENTS = ("SELECT * FROM __InstanceCreationEvent WITHIN 1 "
                  "WHERE TargetInstance ISA 'MSFT_SmbSession'")
FORMAT = "{i.classname}|{i[SequenceNumber]}|{i[TargetInstance].classname}|" \
         "{i[TargetInstance][ClientUserName]}"


@pytest.fixture(autouse=True)
def _needs_root_and_tools(openwmi_bin):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")
    require("pywbemtools", programs=("pywbemcli", "pywbemlistener"))


def SessionListener(base: Path, tls: Optional[sh.TestCA] = None) -> Listener:
    """`pywbemlistener run` on a free loopback port, one line per MSFT_SmbSession indication."""
    return Listener(base, indi_format=FORMAT, file_name="sessions.txt", tls=tls)


def connected(smbclient_process, share: str, user: str):
    client = smbclient_process(share, user)
    client.command("pwd", "Current directory")
    return client


def test_smb_session_events_locally_in_the_smb_namespace(samba, smbclient_process):
    proc = subprocess.Popen(
        [str(harness.openwmi_bin()), "--smb-conf", str(samba.conf_path), "watch", "-n", SMB_NS,
         "-o", "json", "--count", "1", "--timeout", "90", SESSION_EVENTS],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("watching: "), first + proc.stderr.read()
        connected(smbclient_process, "public", "owtest1")
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    [line] = out.splitlines()
    ev = json.loads(line)
    assert ev["__CLASS"] == "__InstanceCreationEvent"
    assert ev["TargetInstance.__CLASS"] == "MSFT_SmbSession"
    assert ev["TargetInstance.ClientUserName"].endswith("owtest1"), ev


def test_smb_session_event_at_pywbemlistener(samba, smbclient_process, openwmi_bin, tmp_path):
    listener = SessionListener(tmp_path)
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path).start()
    try:
        cli(server, "subscription", "add-destination", "sessions", "-l", listener.url)
        cli(server, "subscription", "add-filter", "smbsessions", "-q", SESSION_EVENTS,
            "--source-namespaces", SMB_NS)
        cli(server, "subscription", "add-subscription", "sessions", "smbsessions")
        connected(smbclient_process, "public", "owtest1")
        [line] = listener.wait(1, "an MSFT_SmbSession creation")
        assert line[0] == "__InstanceCreationEvent", line
        assert line[1] == "0"
        assert line[2] == "MSFT_SmbSession" and line[3].endswith("owtest1"), line
        assert server.alive(), server.log()
    finally:
        server.stop()
        listener.stop()


def test_administrators_see_and_remove_everyones_subscriptions(samba, openwmi_bin, tmp_path):
    # sh.USER is in openwmi-admins; sh.OTHER_USER is not.
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path).start()
    shares = ("SELECT * FROM __InstanceCreationEvent WITHIN 5 "
              "WHERE TargetInstance ISA 'Win32_Share'")
    try:
        cli(server, "subscription", "add-destination", "theirs", "-l", "http://127.0.0.1:9",
            user=sh.OTHER_USER)
        cli(server, "subscription", "add-filter", "theirfilter", "-q", shares,
            "--source-namespaces", "root/cimv2", user=sh.OTHER_USER)
        cli(server, "subscription", "add-subscription", "theirs", "theirfilter",
            user=sh.OTHER_USER)
        cli(server, "subscription", "add-destination", "mine", "-l", "http://127.0.0.1:10")

        # The administrator sees both users' objects; the other user only their own.
        admin_view = cli(server, "subscription", "list-destinations").stdout
        assert "theirs" in admin_view and "mine" in admin_view, admin_view
        assert "theirfilter" in cli(server, "subscription", "list-filters").stdout
        assert "theirfilter" in cli(server, "subscription", "list-subscriptions").stdout
        other_view = cli(server, "subscription", "list-destinations", user=sh.OTHER_USER).stdout
        assert "theirs" in other_view and "mine" not in other_view, other_view

        # The administrator removes them (GetInstance, then DeleteInstance).
        cli(server, "subscription", "remove-subscription", "theirs", "theirfilter")
        cli(server, "subscription", "remove-filter", "theirfilter")
        cli(server, "subscription", "remove-destination", "theirs")
        for what in ("list-destinations", "list-filters", "list-subscriptions"):
            out = cli(server, "subscription", what, user=sh.OTHER_USER).stdout
            assert "theirs" not in out and "theirfilter" not in out, (what, out)
        # The other user cannot remove the administrator's.
        r = cli(server, "subscription", "remove-destination", "mine", user=sh.OTHER_USER,
                check=False)
        assert r.returncode != 0, r
        assert "mine" in cli(server, "subscription", "list-destinations").stdout
        assert server.alive(), server.log()
    finally:
        server.stop()


CONFIG = """
[indications]
allowed_destinations = ["10.255.255.0/24", "http://listener.invalid:5990/"]
delivery_retry_attempts = 5
delivery_retry_interval_secs = 7
max_queued_per_destination = 50
max_subscriptions_per_user = 2
max_subscriptions = 3
"""


def test_the_indications_table(samba, openwmi_bin, tmp_path):
    server = sh.OpenwmiServer(openwmi_bin, tmp_path / "serve", smb_conf=samba.conf_path,
                              config_text=CONFIG).start()
    try:
        service = server.pywbem(namespace="root/interop").EnumerateInstances(
            "CIM_IndicationService")
        [svc] = service
        assert svc["DeliveryRetryAttempts"] == 5 and svc["DeliveryRetryInterval"] == 7, svc

        # Inside the allow-list: accepted; outside: refused as before.
        cli(server, "subscription", "add-destination", "lan", "-l", "http://10.255.255.7:5000")
        cli(server, "subscription", "add-destination", "prefix", "-l",
            "http://listener.invalid:5990")  # pywbem sends a listener URL without its path
        for url in ("http://10.255.254.7:5000", "http://listener.invalid:5991"):
            r = cli(server, "subscription", "add-destination", "far", "-l", url, check=False)
            assert r.returncode != 0 and "CIM_ERR_ACCESS_DENIED" in r.stdout + r.stderr, r

        # Two per user: a third is refused; three in total: the other user gets one.
        r = cli(server, "subscription", "add-destination", "third", "-l",
                "http://127.0.0.1:9", check=False)
        assert r.returncode != 0 and "CIM_ERR_SERVER_LIMITS_EXCEEDED" in r.stdout + r.stderr, r
        cli(server, "subscription", "add-destination", "o1", "-l", "http://127.0.0.1:10",
            user=sh.OTHER_USER)
        r = cli(server, "subscription", "add-destination", "o2", "-l", "http://127.0.0.1:11",
                user=sh.OTHER_USER, check=False)
        assert r.returncode != 0 and "CIM_ERR_SERVER_LIMITS_EXCEEDED" in r.stdout + r.stderr, r
    finally:
        server.stop()

    # A malformed entry stops the server at start, naming the key.
    bad = sh.OpenwmiServer(openwmi_bin, tmp_path / "bad", smb_conf=samba.conf_path,
                           config_text="[indications]\nallowed_destinations = [\"10.0.0.0/99\"]\n")
    with pytest.raises(harness.HarnessError) as e:
        bad.start(timeout=30)
    assert "prefix length" in str(e.value), e.value


def test_an_https_listener_signed_by_the_configured_ca(samba, smbclient_process, openwmi_bin,
                                                       tmp_path):
    ca = sh.make_test_ca(tmp_path / "ca")
    listener = SessionListener(tmp_path, tls=ca)
    # Without the CA the server does not trust the listener: the indication is given up.
    untrusting = sh.OpenwmiServer(openwmi_bin, tmp_path / "untrusting",
                                  smb_conf=samba.conf_path,
                                  config_text="[indications]\ndelivery_retry_attempts = 0\n")
    trusting = sh.OpenwmiServer(
        openwmi_bin, tmp_path / "trusting", smb_conf=samba.conf_path,
        config_text=f"[indications]\nlistener_ca_file = \"{ca.ca_cert}\"\n")
    try:
        for server in (untrusting, trusting):
            server.start()
            cli(server, "subscription", "add-destination", "sessions", "-l", listener.url)
            cli(server, "subscription", "add-filter", "smbsessions", "-q", SESSION_EVENTS,
                "--source-namespaces", SMB_NS)
            cli(server, "subscription", "add-subscription", "sessions", "smbsessions")
        client = connected(smbclient_process, "public", "owtest1")
        [line] = listener.wait(1, "an indication over https")
        assert line[2] == "MSFT_SmbSession", line
        harness.wait_until(lambda: "gave up delivering" in untrusting.log(), 60,
                           "the untrusting server to give up")
        assert len(listener.lines()) == 1
        client.close()
        assert trusting.alive() and untrusting.alive()
    finally:
        untrusting.stop()
        trusting.stop()
        listener.stop()
