"""Issue 22, items 2, 5, 15 and 16, against a real `openwmi serve --http` and real WBEM clients
(pywbem, pywbemcli): schema queries on the system properties of classes, a `--mof` namespace
that needs no qualifier declarations, `pywbemcli profile list` / `profile centralinsts`, and
GetClass of a missing class.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import server_harness as sh
from conftest import require
from test_server import pywbemcli

# Uses the standard qualifiers without declaring any, as a Windows MOF may.
UNDECLARED_MOF = """
class My_Class
{
    [Key, Description("A thing."), MaxLen(32)] string Name;
    [Units("bytes"), ValueMap {"0", "1"}, Values {"Small", "Large"}] uint16 Size;
};
instance of My_Class { Name = "one"; Size = 1; };
"""

# Keep the live providers away from this machine's Samba and mounts.
NO_LIVE_DATA = ["--smbstatus", "/nonexistent/smbstatus", "--testparm", "/nonexistent/testparm",
                "--mountinfo", "/nonexistent/mountinfo", "--fstab", "/nonexistent/fstab"]


@pytest.fixture(scope="module")
def server(openwmi_bin, tmp_path_factory):
    require("pywbem", modules=("pywbem",))
    base = tmp_path_factory.mktemp("schema-fidelity")
    mof = base / "extra.mof"
    mof.write_text(UNDECLARED_MOF)
    srv = sh.OpenwmiServer(openwmi_bin, base / "server", mof=[f"root/test={mof}"],
                           extra_args=NO_LIVE_DATA).start()
    yield srv
    try:
        assert srv.alive(), f"server died:\n{srv.log()}"
    finally:
        srv.stop()


def _remote(server, openwmi_bin, *args: str) -> subprocess.CompletedProcess:
    """`openwmi ARGS -r \\\\127.0.0.1:PORT\\root\\cimv2` against the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENWMI_")}
    env["OPENWMI_PASSWORD"] = sh.PASSWORD
    resource = f"\\\\127.0.0.1:{server.port}\\root\\cimv2"
    return subprocess.run([str(openwmi_bin), args[0], "--http", "-r", resource, "-U", sh.USER, *args[1:]],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=env)


def _schema_query(server, openwmi_bin, where: str) -> list[str]:
    """The classes a schema query over CIM-XML returns. (pywbem's ExecQuery cannot take classes
    in its answer, so openwmi's own client asks.)"""
    r = _remote(server, openwmi_bin, "query", f"SELECT * FROM meta_class WHERE {where}")
    assert r.returncode == 0, (r.stdout, r.stderr)
    return sorted(re.findall(r"^class (\w+)", r.stdout, re.MULTILINE))


# ----------------------------------------------------------------------------------------
# Item 2


def test_schema_queries_on_system_properties(server, openwmi_bin):
    q = lambda where: _schema_query(server, openwmi_bin, where)  # noqa: E731
    assert q('__SUPERCLASS = "CIM_LogicalElement"') == ["Win32_NetworkConnection", "Win32_ServerConnection",
                                                        "Win32_ServerSession", "Win32_Share"]
    assert q("__DYNASTY = 'CIM_Dependency' AND __GENUS = 1") == [
        "CIM_Dependency", "Win32_ConnectionShare", "Win32_SessionConnection"]
    assert q('__this ISA "CIM_LogicalElement" AND __PROPERTY_COUNT > 13') == ["Win32_NetworkConnection"]
    assert q(r'__NAMESPACE = "root\\cimv2" AND __RELPATH = "Win32_Share"') == ["Win32_Share"]
    assert q("__SERVER <> 'no-such-host' AND __CLASS = 'CIM_Dependency'") == ["CIM_Dependency"]
    assert q("__GENUS = 2") == []


# ----------------------------------------------------------------------------------------
# Item 5


def test_new_namespace_starts_with_the_standard_qualifiers(server):
    conn = server.pywbem(namespace="root/test")
    insts = conn.EnumerateInstances("My_Class")
    assert [i["Name"] for i in insts] == ["one"]
    names = {q.name.lower() for q in conn.EnumerateQualifiers(namespace="root/test")}
    assert {"key", "description", "maxlen", "units", "valuemap", "values"} <= names
    # root/default exists, as on Windows, with the same declarations.
    names = {q.name.lower() for q in conn.EnumerateQualifiers(namespace="root/default")}
    assert {"key", "description", "maxlen", "units", "valuemap", "values"} <= names
    assert conn.EnumerateClassNames(namespace="root/default") == []


# ----------------------------------------------------------------------------------------
# Item 15


def test_pywbemcli_profile_list(server, tmp_path):
    out = pywbemcli(server, "-o", "simple", "profile", "list", tmp=tmp_path, ns="root/interop").stdout
    assert "Profile Registration" in out, out
    row = next(line for line in out.splitlines() if "Profile Registration" in line)
    assert row.split()[0] == "DMTF" and row.split()[-1] == "1.1.0", out
    out = pywbemcli(server, "-o", "simple", "profile", "list", "--organization", "DMTF",
                    tmp=tmp_path, ns="root/interop").stdout
    assert "Profile Registration" in out, out


def test_pywbemcli_profile_centralinsts(server, tmp_path):
    r = pywbemcli(server, "profile", "centralinsts", tmp=tmp_path, ns="root/interop")
    assert "Exception" not in r.stdout, r.stdout
    assert "DMTF:Profile Registration:1.1.0" in r.stdout, r.stdout
    assert "CIM_ObjectManager" in r.stdout, r.stdout


def test_interop_value_maps_resolve(server):
    import pywbem

    conn = server.pywbem(namespace="root/interop")
    wbem = pywbem.WBEMServer(conn)
    assert wbem.interop_ns.lower() == "root/interop"
    profiles = wbem.get_selected_profiles(registered_org="DMTF", registered_name="Profile Registration")
    assert len(profiles) == 1
    central = wbem.get_central_instances(profiles[0].path)
    assert [p.classname for p in central] == ["CIM_ObjectManager"]
    for cls, prop in [("CIM_RegisteredProfile", "RegisteredOrganization"),
                      ("CIM_RegisteredProfile", "AdvertiseTypes"),
                      ("CIM_Namespace", "ClassInfo"), ("CIM_ObjectManager", "EnabledState")]:
        vm = pywbem.ValueMapping.for_property(wbem, "root/interop", cls, prop)
        assert vm.tovalues(2), (cls, prop)
    ns = conn.EnumerateInstances("CIM_Namespace")
    vm = pywbem.ValueMapping.for_property(wbem, "root/interop", "CIM_Namespace", "ClassType")
    assert {vm.tovalues(i["ClassType"]) for i in ns} == {"CIM"}


# ----------------------------------------------------------------------------------------
# Item 16


def test_get_class_of_a_missing_class_is_not_found(server, openwmi_bin, tmp_path):
    import pywbem

    conn = server.pywbem()
    with pytest.raises(pywbem.CIMError) as e:
        conn.GetClass("No_Such_Class")
    assert e.value.status_code == pywbem.CIM_ERR_NOT_FOUND, e.value
    # Enumerations and queries of a missing class stay INVALID_CLASS.
    for call in (lambda: conn.EnumerateInstances("No_Such_Class"),
                 lambda: conn.EnumerateClasses(ClassName="No_Such_Class"),
                 lambda: conn.ExecQuery("WQL", "SELECT * FROM No_Such_Class")):
        with pytest.raises(pywbem.CIMError) as e:
            call()
        assert e.value.status_code == pywbem.CIM_ERR_INVALID_CLASS, e.value
    r = pywbemcli(server, "class", "get", "No_Such_Class", tmp=tmp_path, check=False)
    assert r.returncode != 0 and "CIM_ERR_NOT_FOUND" in r.stdout + r.stderr, (r.stdout, r.stderr)
    # `openwmi class` on the remote server follows GetObject too.
    r = _remote(server, openwmi_bin, "class", "No_Such_Class")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: WBEM_E_NOT_FOUND (0x80041002): "), r.stderr
