"""Method calls over WS-Management (Invoke, DSP0227 §8) against a real smbd with registry
shares: `openwmi call -r http://.../wsman` creates a Win32_Share that a real SMB client then
connects to, pywinrm (raw Protocol messages, as in test_wsman_server.py) deletes it with an
instance Invoke, and a user without the `manage` right gets wsman:AccessDenied.

Reuses test_smb_management's smbd (registry shares = yes) and its `openwmi serve`; runs as root
like that module (smbstatus, `net conf`)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

import harness
import server_harness as sh
from conftest import require
from test_smb_management import (_needs_root_and_binary, can_connect, mserver,  # noqa: F401
                                 registry_shares, rsamba)
from wsman_helpers import NS, WMI, envelope, post

SHARE_URI = f"{WMI}root/cimv2/Win32_Share"


def call_wsman(server, user: str, password: str, *args: str, check: bool = True):
    return harness.run_openwmi("call", "-r", f"http://127.0.0.1:{server.port}/wsman", "--http",
                               "-U", user, "-o", "json", *args,
                               env={"OPENWMI_PASSWORD": password}, check=check)


def delete_body() -> str:
    return f'<p:Delete_INPUT xmlns:p="{SHARE_URI}"/>'


def test_invoke_over_wsman_creates_and_deletes_a_real_share(rsamba, mserver):
    d = rsamba.base / "wsman share"
    d.mkdir()
    d.chmod(0o777)
    # A static method through our client: no key selectors, the parameters as text.
    r = call_wsman(mserver, sh.USER, sh.PASSWORD, "Win32_Share", "Create", f"Path={d}",
                   "Name=viawsman", "Type=0", "Description=Made over WS-Man")
    assert json.loads(r.stdout)[0]["ReturnValue"] == 0, r.stderr
    assert "viawsman" in registry_shares(rsamba)
    assert can_connect(rsamba, "viawsman")

    # A user without `manage`: the fault over the wire, and our client's error.
    other = sh.basic_auth(sh.OTHER_USER, sh.OTHER_PASSWORD)
    a = post(mserver, envelope(f"{SHARE_URI}/Delete", SHARE_URI, delete_body(),
                               {"Name": "viawsman"}), auth=other)
    assert a.status == 500, a.text
    f = a.fault()
    assert f["subcode"] == "w:AccessDenied", f
    assert f["wsman_code"] == 0x80041003  # WBEM_E_ACCESS_DENIED
    assert "manage" in f["reason"], f
    r = call_wsman(mserver, sh.OTHER_USER, sh.OTHER_PASSWORD, 'Win32_Share.Name="viawsman"',
                   "Delete", check=False)
    assert r.returncode != 0 and "ACCESS_DENIED" in r.stderr, r.stderr
    assert "viawsman" in registry_shares(rsamba)

    # An instance method through pywinrm: the key as a selector, the answer's _OUTPUT.
    require("pywinrm", modules=("winrm",))
    from winrm.protocol import Protocol
    p = Protocol(f"http://127.0.0.1:{mserver.port}/wsman", transport="basic", username=sh.USER,
                 password=sh.PASSWORD, message_encryption="never")
    root = ET.fromstring(p.send_message(envelope(f"{SHARE_URI}/Delete", SHARE_URI, delete_body(),
                                                 {"Name": "viawsman"})))
    assert root.findtext(".//s:Header/a:Action", namespaces=NS) == f"{SHARE_URI}/DeleteResponse"
    out = root.find(f".//{{{SHARE_URI}}}Delete_OUTPUT")
    assert out is not None, ET.tostring(root)
    assert out.findtext(f"{{{SHARE_URI}}}ReturnValue") == "0"
    assert "viawsman" not in registry_shares(rsamba)
    assert not can_connect(rsamba, "viawsman")

    # Windows' status codes come back as ReturnValue, not as faults.
    r = call_wsman(mserver, sh.USER, sh.PASSWORD, 'Win32_Share.Name="viawsman"', "Delete")
    assert json.loads(r.stdout)[0]["ReturnValue"] == 25  # NERR_NetNameNotFound
    # A method the class lacks: the fault, as an error.
    r = call_wsman(mserver, sh.USER, sh.PASSWORD, "Win32_Share", "Nope", check=False)
    assert r.returncode != 0, r.stdout
    lines = [l for l in mserver.log_path.read_text().splitlines() if "openwmi audit:" in l]
    assert any(f"user={sh.OTHER_USER} from=127.0.0.1:" in l and "CIM_ERR_ACCESS_DENIED" in l
               for l in lines), lines
    assert any(f"user={sh.USER} from=127.0.0.1:" in l and "Win32_Share.Create" in l
               for l in lines), lines
