"""Namespace permissions of `openwmi serve --config` seen through pywbem: the default policy keeps
the Samba session classes for root and `openwmi-admins` however they are reached (enumeration,
a query over a superclass, associations, GetInstance, pull operations), a custom `[permissions]`
table refuses whole namespaces, interop discovery keeps working, and a bad table stops the server
with the key named.

The Samba data is a real Samba 4.17 capture replayed by a fake smbstatus, so no smbd is needed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import harness
import server_harness as sh
from conftest import require

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO.parent / "shared" / "fixtures" / "smbstatus-4.17.json"
if not CAPTURE.exists():
    CAPTURE = REPO / "crates" / "samba" / "tests" / "data" / "smbstatus-4.17.json"

ADMIN, ADMIN_PW = "wmiadmin", "Admin-pw-3"
CIM_ERR_ACCESS_DENIED = 2
CIM_ERR_INVALID_NAMESPACE = 3

CUSTOM = """
[permissions]
[[permissions.grant]]
namespace = 'root\\cimv2'
users = ["tester"]
rights = ["read"]
"""


class PermissionServer(sh.OpenwmiServer):
    """The harness server with a `[permissions]` table in its config, the fake smbstatus, and
    ADMIN in the group openwmi-admins."""

    permissions: str = ""

    def command(self) -> list[str]:
        # Called once the harness has written serve.toml and the users file: add our parts.
        config = self.base / "serve.toml"
        if "[permissions]" not in config.read_text():
            config.write_text(config.read_text() + self.permissions)
        lines = self.users_file.read_text().splitlines()
        lines = [l + ":openwmi-admins" if l.startswith(ADMIN + ":") and l.count(":") == 1 else l
                 for l in lines]
        self.users_file.write_text("\n".join(lines) + "\n")
        d = self.base
        return super().command() + ["--smbstatus", str(d / "smbstatus"), "--testparm",
                                    str(d / "no-testparm"), "--mountinfo", "/dev/null",
                                    "--fstab", "/dev/null"]

    def start(self, timeout: float = 30.0) -> "PermissionServer":
        self.base.mkdir(parents=True, exist_ok=True)
        fake = self.base / "smbstatus"
        fake.write_text(f"#!/bin/sh\ncat '{CAPTURE}'\n")
        fake.chmod(0o755)
        conf = self.base / "smb.conf"
        conf.write_text("[global]\n\tnetbios name = TESTSRV\n[public]\n\tpath = /srv/samba/public\n")
        self.smb_conf = conf
        super().start(timeout)
        return self


def _server(openwmi_bin, base: Path, permissions: str) -> PermissionServer:
    require("pywbem", modules=("pywbem",))
    # Here USER is an ordinary user (the server harness puts it in the admin group by
    # default) and ADMIN the one member of openwmi-admins.
    srv = PermissionServer(openwmi_bin, base, tls=None,
                           users={sh.USER: sh.PASSWORD, ADMIN: ADMIN_PW},
                           groups={ADMIN: sh.ADMIN_GROUP})
    srv.permissions = permissions
    return srv.start()


@pytest.fixture(scope="module")
def default_server(openwmi_bin, tmp_path_factory):
    srv = _server(openwmi_bin, tmp_path_factory.mktemp("perm-default"), "")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def custom_server(openwmi_bin, tmp_path_factory):
    srv = _server(openwmi_bin, tmp_path_factory.mktemp("perm-custom"), CUSTOM)
    yield srv
    srv.stop()


def denied(call, *args, **kwargs) -> str:
    import pywbem

    with pytest.raises(pywbem.CIMError) as info:
        result = call(*args, **kwargs)
        if not isinstance(result, (list, tuple, dict)) and hasattr(result, "__iter__"):
            list(result)
    assert info.value.status_code == CIM_ERR_ACCESS_DENIED, str(info.value)
    return info.value.status_description


def share():
    import pywbem

    return pywbem.CIMInstanceName("Win32_Share", keybindings={"Name": "public"}, namespace="root/cimv2")


def connection():
    import pywbem

    return pywbem.CIMInstanceName(
        "Win32_ServerConnection",
        keybindings={"ComputerName": "127.0.0.1", "ShareName": "public", "UserName": "tester"},
        namespace="root/cimv2")


def test_ordinary_user_reads_shares_but_not_sessions(default_server):
    conn = default_server.pywbem()
    assert "public" in [i["Name"] for i in conn.EnumerateInstances("Win32_Share")]
    conn.EnumerateInstances("Win32_NetworkConnection")
    msg = denied(conn.EnumerateInstances, "Win32_ServerConnection")
    assert "tester" in msg and "Win32_ServerConnection" in msg
    for cls in ("Win32_ServerSession", "Win32_ConnectionShare", "Win32_SessionConnection"):
        denied(conn.EnumerateInstanceNames, cls)
    denied(conn.ExecQuery, "WQL", "SELECT * FROM CIM_LogicalElement")
    denied(conn.Associators, share())
    denied(conn.ReferenceNames, share())
    denied(conn.GetInstance, connection())
    denied(conn.OpenEnumerateInstances, "Win32_ServerConnection")
    denied(conn.OpenQueryInstances, "WQL", "SELECT * FROM CIM_LogicalElement")
    denied(conn.OpenAssociatorInstances, share())
    denied(conn.IterEnumerateInstances, "Win32_ServerSession")


def test_admin_group_member_reads_sessions(default_server):
    conn = default_server.pywbem(ADMIN)
    assert len(conn.EnumerateInstances("Win32_ServerConnection")) == 2
    classes = {i.classname for i in conn.ExecQuery("WQL", "SELECT * FROM CIM_LogicalElement")}
    assert {"Win32_ServerConnection", "Win32_Share"} <= classes, classes
    assert {i.classname for i in conn.Associators(share())} == {"Win32_ServerConnection"}
    assert conn.GetInstance(connection())["ShareName"] == "public"
    assert len(list(conn.IterEnumerateInstances("Win32_ServerConnection", MaxObjectCount=1))) == 2


def test_namespace_without_read_is_refused_and_interop_still_works(custom_server):
    import pywbem

    tester = custom_server.pywbem()
    tester.EnumerateInstances("Win32_Share")
    denied(tester.EnumerateInstances, "Win32_ServerConnection")
    denied(tester.EnumerateClassNames, namespace="root")
    # pywbem's discovery: the interop namespace, the namespaces, the server's identity.
    server = pywbem.WBEMServer(tester)
    assert server.interop_ns.lower() == "root/interop"
    assert "root/cimv2" in [n.lower() for n in server.namespaces]
    assert server.brand
    # The admin is named by no grant of this table: nothing, interop included.
    admin = custom_server.pywbem(ADMIN)
    msg = denied(admin.EnumerateInstances, "Win32_Share")
    assert ADMIN in msg and "root\\cimv2" in msg
    denied(admin.EnumerateInstances, "CIM_Namespace", namespace="root/interop")
    with pytest.raises(pywbem.CIMError) as info:
        tester.EnumerateClassNames(namespace="root/nowhere")
    assert info.value.status_code == CIM_ERR_INVALID_NAMESPACE


def test_bad_permissions_table_stops_the_server(openwmi_bin, tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text("[permissions]\n[[permissions.grant]]\nnamespace = '*'\nusers = ['x']\n"
                      "rights = ['write']\n")
    users = tmp_path / "users"
    subprocess.run([str(openwmi_bin), "passwd", "--users-file", str(users), "x"], input="pw\n",
                   text=True, check=True, capture_output=True, timeout=60)
    r = subprocess.run([str(openwmi_bin), "serve", "--http", "--listen", f"127.0.0.1:{harness.free_port()}",
                        "--users-file", str(users), "--config", str(config)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "permissions.grant[1].rights" in r.stderr, r.stderr
