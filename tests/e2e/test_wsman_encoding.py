"""DSP0230's encodings that only the class decides, over WS-Management against our own
`openwmi serve`: an embedded instance (EmbeddedInstance qualifier) nested as an element, an
OctetString uint8[] as one base64 value, NULL and empty arrays as Windows writes them (with
`msftwinrm:IsNullArray` when the request asks for UsePreciseArrays). Read back by clients we did
not write (pypsrp, pywinrm) and by the `openwmi` client, which must give what CIM-XML gives.

A missing component (openssl, pypsrp, pywinrm) skips on a developer machine and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import harness
import server_harness as sh
from conftest import require
from wsman_helpers import GET, NS, WMI, envelope, local, post

INNER = ('<INSTANCE CLASSNAME="Test_Inner"><PROPERTY NAME="Label" TYPE="string"><VALUE>a &lt;b&gt;</VALUE>'
         '</PROPERTY><PROPERTY NAME="Count" TYPE="uint32"><VALUE>3</VALUE></PROPERTY></INSTANCE>')

MOF = """\
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier OctetString : boolean = false, Scope(property, parameter);
Qualifier EmbeddedInstance : string = null, Scope(property, parameter, method);

class Test_Inner { string Label; uint32 Count; };

class Test_Blob {
    [Key] string Name;
    [OctetString] uint8 Data[];
    [EmbeddedInstance("Test_Inner")] string Inner;
    uint32 Tags[];
    uint32 Nothing[];
};

instance of Test_Blob { Name = "b1"; Data = {0, 0, 0, 7, 1, 2, 255}; Inner = "%s"; Tags = {5, 6}; };
""" % INNER.replace("\\", "\\\\").replace('"', '\\"')

BLOB = f"{WMI}root/test/Test_Blob"
PRECISE = ('<w:OptionSet><w:Option Name="msftwinrm:UsePreciseArrays" '
           'xmlns:msftwinrm="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">true</w:Option></w:OptionSet>')
WSMV = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@pytest.fixture(scope="module", autouse=True)
def no_password_from_environment():
    saved = os.environ.pop("OPENWMI_PASSWORD", None)
    yield
    if saved is not None:
        os.environ["OPENWMI_PASSWORD"] = saved


@pytest.fixture(scope="module")
def server(openwmi_bin, tmp_path_factory):
    base: Path = tmp_path_factory.mktemp("wsman-encoding")
    mof = base / "blob.mof"
    mof.write_text(MOF)
    srv = sh.OpenwmiServer(openwmi_bin, base / "server", mof=[f"root/test={mof}"]).start()
    yield srv
    try:
        assert srv.alive(), f"server died:\n{srv.log()}"
    finally:
        srv.stop()


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local(c.tag) == name]


def get_blob(server, extra_header: str = "") -> ET.Element:
    a = post(server, envelope(GET, BLOB, "", {"Name": "b1"}, extra_header=extra_header))
    assert a.status == 200, a.text
    return a.root.find(".//s:Body/*", NS)


def test_the_encodings_only_the_class_decides(server):
    blob = get_blob(server, PRECISE)
    [data] = children(blob, "Data")
    assert data.get(f"{{{XSI}}}type") == "cim:cimBase64Binary" and data.text == "AQL/", ET.tostring(data)
    [inner] = children(blob, "Inner")
    assert inner.get(f"{{{XSI}}}type").endswith(":Test_Inner_Type"), ET.tostring(inner)
    assert [(local(c.tag), c.text) for c in inner] == [("Label", "a <b>"), ("Count", "3")]
    assert [c.text for c in children(blob, "Tags")] == ["5", "6"]
    [nothing] = children(blob, "Nothing")
    assert nothing.get(f"{{{XSI}}}nil") == "true"
    assert nothing.get(f"{{{WSMV}}}IsNullArray") == "true", ET.tostring(nothing)
    # Without UsePreciseArrays a NULL array is the plain xsi:nil Windows 2003 wrote.
    [nothing] = children(get_blob(server), "Nothing")
    assert nothing.get(f"{{{XSI}}}nil") == "true" and nothing.get(f"{{{WSMV}}}IsNullArray") is None


def test_real_clients_read_them(server):
    require("pypsrp", modules=("pypsrp",))
    require("pywinrm", modules=("winrm",))
    from pypsrp.wsman import SelectorSet, WSMan
    from winrm.protocol import Protocol

    w = WSMan("127.0.0.1", port=server.port, username=sh.USER, password=sh.PASSWORD, ssl=False,
              auth="basic", encryption="never")
    s = SelectorSet()
    s.add_option("Name", "b1")
    [blob] = list(w.get(BLOB, selector_set=s))
    [inner] = children(blob, "Inner")
    assert {local(c.tag): c.text for c in inner} == {"Label": "a <b>", "Count": "3"}
    [data] = children(blob, "Data")
    assert data.text == "AQL/"

    p = Protocol(f"http://127.0.0.1:{server.port}/wsman", transport="basic", username=sh.USER,
                 password=sh.PASSWORD, message_encryption="never")
    root = ET.fromstring(p.send_message(envelope(GET, BLOB, "", {"Name": "b1"}, extra_header=PRECISE)))
    blob = root.find(".//s:Body/*", NS)
    assert children(blob, "Nothing")[0].get(f"{{{WSMV}}}IsNullArray") == "true"


def embedded(text: str) -> tuple:
    """An embedded INSTANCE's class and property values, however it is spelled."""
    el = ET.fromstring(text)
    return el.get("CLASSNAME"), {p.get("NAME"): p.findtext("VALUE") for p in el.findall("PROPERTY")}


def test_our_client_reads_what_cim_xml_gives(server):
    path = 'Test_Blob.Name="b1"'
    base = ["-U", sh.USER, "--password-stdin", "-n", "root/test", "-o", "json"]
    ws = harness.run_openwmi("get", "-r", f"{server.url}/wsman", *base, path, input=sh.PASSWORD + "\n",
                             timeout=120)
    cx = harness.run_openwmi("get", "-r", f"{server.url}/root/test", *base, path, input=sh.PASSWORD + "\n",
                             timeout=120)
    [w], [c] = json.loads(ws.stdout), json.loads(cx.stdout)
    assert w["Data"] == c["Data"] == [0, 0, 0, 7, 1, 2, 255], (w, c)
    assert w["Tags"] == c["Tags"] == [5, 6]
    assert w["Nothing"] is None and c["Nothing"] is None
    assert embedded(w["Inner"]) == embedded(c["Inner"]) == ("Test_Inner", {"Label": "a <b>", "Count": "3"})
