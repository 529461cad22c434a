"""`openwmi serve` as a WS-Management server, against real clients we did not write: Debian's
`wsl` (wslid, wslenum, wslget; over HTTPS with a test CA), PyPI's pypsrp (its WSMan class) and
pywinrm (raw Protocol messages); a request shaped like Windows' Get-CimInstance; the live Samba
classes over WS-Man with a real smbd and SMB sessions; every bad input of issue 19 answered with
its fault while a concurrent good client is served; 401 for every action without credentials.

A missing component (wsl, uuidgen, pypsrp, pywinrm, openssl, smbd, smbprotocol) skips on a
developer machine and fails under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

import harness
import server_harness as sh
from conftest import require
from wsman_helpers import (ALL_CLASSES, ASSOC, DMTF_CLASS, ENUMERATE, GET, NS, PULL, RELEASE, WMI,
                           Answer, context_of, end_of_sequence, enumerate_all, enumerate_body, envelope,
                           epr_selectors, items, local, post, prop, pull_body, wql_filter, wsl_documents,
                           wsman_mof)

N_SHARES = 40
TEST_SHARE = f"{WMI}root/test/Test_Share"
CA_ENV_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(scope="module", autouse=True)
def no_ca_bundle_from_environment():
    saved = {v: os.environ.pop(v) for v in CA_ENV_VARS if v in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wsman")


@pytest.fixture(scope="module")
def test_ca(module_dir) -> sh.TestCA:
    require("openssl", programs=("openssl",))
    return sh.make_test_ca(module_dir / "ca")


@pytest.fixture(scope="module")
def mof(module_dir) -> Path:
    path = module_dir / "shares.mof"
    path.write_text(wsman_mof(N_SHARES))
    return path


def _serve(openwmi_bin, base: Path, tls, mof: Path, **kw) -> sh.OpenwmiServer:
    return sh.OpenwmiServer(openwmi_bin, base, tls=tls, mof=[f"root/test={mof}"], **kw).start()


@pytest.fixture(scope="module")
def https(openwmi_bin, module_dir, test_ca, mof):
    srv = _serve(openwmi_bin, module_dir / "https", test_ca, mof)
    yield srv
    try:
        assert srv.alive(), f"server died:\n{srv.log()}"
    finally:
        srv.stop()
    log = srv.log_path.read_text(errors="replace")
    for pw in srv.users.values():
        assert pw not in log, "a password appears in the server's log"


@pytest.fixture(scope="module")
def http(openwmi_bin, module_dir, mof):
    srv = _serve(openwmi_bin, module_dir / "http", None, mof)
    yield srv
    try:
        assert srv.alive(), f"server died:\n{srv.log()}"
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------
# wsl (Debian): over HTTPS, the CA certificate where wsl looks for it (<endpoint>.crt)


def wsl(server: sh.OpenwmiServer, tmp_path: Path, *args: str, user: str = sh.USER,
        password: str = sh.PASSWORD, env: dict | None = None) -> tuple[int, list]:
    require("wsl", programs=("wslenum", "wslid", "wslget", "uuidgen", "curl", "xmllint"))
    endpoint = f"127.0.0.1:{server.port}"
    work = tmp_path / "wsl"
    work.mkdir(exist_ok=True)
    e = {"PATH": os.environ["PATH"], "HOME": str(work), "WSENDPOINT": endpoint, "WSUSER": user,
         "WSPASS": password, "OUTLEVEL": "1"}
    if server.tls is None:
        e["WSNOSSL"] = "true"
    else:
        (work / f"{endpoint}.crt").write_bytes(server.tls.ca_cert.read_bytes())
    e.update(env or {})
    r = subprocess.run(list(args), cwd=work, env=e, capture_output=True, text=True, timeout=300)
    return r.returncode, wsl_documents(r.stdout)


def test_wslid_identifies_the_server(https, tmp_path):
    rc, [doc] = wsl(https, tmp_path, "wslid", "check")
    assert rc == 0
    resp = doc.find(".//wsmid:IdentifyResponse", NS)
    assert resp is not None
    assert resp.findtext("wsmid:ProtocolVersion", namespaces=NS) == NS["w"]
    assert resp.findtext("wsmid:ProductVendor", namespaces=NS) == "openwmi"
    assert resp.findtext(".//wsmid:SecurityProfileName", namespaces=NS).endswith("/https/basic")


def test_wslenum_with_a_wql_filter_pulls_to_the_end(https, tmp_path):
    # wsl pastes the filter into its XML as given: `<` is written as the entity.
    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-dialect",
                   "http://schemas.microsoft.com/wbem/wsman/1/WQL", "-filter",
                   "SELECT * FROM Test_Share WHERE MaximumAllowed &lt; 3")
    assert rc == 0, docs
    got = [i for d in docs for i in items(d)]
    names = sorted(prop(i, "Name") for i in got)
    assert names == sorted(f"share{i:06d}" for i in range(N_SHARES) if i % 10 < 3)
    # No OptimizeEnumeration: the first answer has only the context, each pull one item.
    assert len(docs) == len(names) + 1
    assert context_of(docs[-1]) is None and end_of_sequence(docs[-1])


def test_wslenum_optimized_and_epr_modes(https, tmp_path):
    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-opti", "15",
                   "-mode", "epr")
    assert rc == 0
    eprs = [i for d in docs for i in items(d)]
    assert len(eprs) == N_SHARES and len(docs) == 3  # 15 + 15 + 10
    assert all(local(e.tag) == "EndpointReference" for e in eprs)
    sel = epr_selectors(eprs[0])
    assert sel == {"__cimnamespace": "root/test", "Name": "share000000"}
    assert eprs[0].findtext(".//w:ResourceURI", namespaces=NS) == f"{DMTF_CLASS}Test_Share"

    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-opti", "100",
                   "-mode", "objepr")
    assert rc == 0
    [doc] = docs
    got = items(doc)
    assert len(got) == N_SHARES and end_of_sequence(doc)
    for item in got:
        assert local(item.tag) == "Item"
        obj, epr = list(item)
        assert local(obj.tag) == "Test_Share"
        assert epr_selectors(epr)["Name"] == prop(obj, "Name")


def test_wslenum_association_filters(https, tmp_path):
    # wsl swaps its flags: -associators sends AssociationInstances (the associations
    # themselves), -references AssociatedInstances (the objects at their other end).
    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-opti", "50",
                   "-references", "Name=share000000")
    assert rc == 0, docs
    got = [i for d in docs for i in items(d)]
    assert sorted(prop(i, "Name") for i in got) == ["share000001", "share000002"]
    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-opti", "50",
                   "-associators", "Name=share000000")
    assert rc == 0, docs
    links = [i for d in docs for i in items(d)]
    assert [local(i.tag) for i in links] == ["Test_ShareLink", "Test_ShareLink"]
    deps = sorted(epr_selectors(child)["Name"] for i in links for child in i
                  if local(child.tag) == "Dependent")
    assert deps == ["share000001", "share000002"]


def test_wslenum_selector_filter_and_associations_in_epr_mode(https, tmp_path):
    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-opti", "50", "-dialect",
                   "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter", "-filter", "Name=share000003")
    assert rc == 0, docs
    [item] = [i for d in docs for i in items(d)]
    assert prop(item, "Caption") == "Test share number 3"
    rc, docs = wsl(https, tmp_path, "wslenum", "Test_Share", "-ns", "root/test", "-opti", "50", "-mode", "epr",
                   "-references", "Name=share000000")
    assert rc == 0, docs
    eprs = [i for d in docs for i in items(d)]
    assert sorted(epr_selectors(e)["Name"] for e in eprs) == ["share000001", "share000002"]


def test_a_class_definition_through_the_cim_xml_schema_uri(https):
    uri = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*"
    a = post(https, envelope(GET, uri, "", {"__cimnamespace": "root/test", "ClassName": "Test_Share"}))
    assert a.status == 200, a.text
    cls = a.root.find(".//s:Body/CLASS", NS)
    assert cls is not None and cls.get("NAME") == "Test_Share", a.text
    assert {p.get("NAME") for p in cls.findall("PROPERTY")} >= {"Name", "Path", "Caption"}
    f = post(https, envelope(GET, uri, "", {"__cimnamespace": "root/test", "ClassName": "Nope"})).fault()
    assert f["subcode"] == "a:DestinationUnreachable"


def test_every_class_through_the_cim_xml_schema_uri(https):
    """Enumerate of the class URI lists the namespace's classes as CIM-XML CLASS elements (what
    Windows' WMI plugin answers), pulled like instances; a WQL schema query filters them, and
    pypsrp (a client we did not write) reads them."""
    uri = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*"
    sel = {"__cimnamespace": "root/test"}
    got, requests = enumerate_all(https, uri, enumerate_body(), sel, pull_max=2)
    names = [c.get("NAME") for c in got]
    assert all(local(c.tag) == "CLASS" for c in got), got
    assert "Test_Share" in names and requests > 1, names
    share = got[names.index("Test_Share")]
    assert {p.get("NAME") for p in share.findall("PROPERTY")} >= {"Name", "Path", "Caption"}
    # EPR mode: each class as the EPR a Get answers with that class.
    got, _ = enumerate_all(https, uri, enumerate_body(mode="EnumerateEPR"), sel)
    epr = [e for e in got if epr_selectors(e).get("ClassName") == "Test_Share"]
    assert epr and epr_selectors(epr[0])["__cimnamespace"] == "root/test", got
    # A WQL schema query picks classes; a data query is not one for this URI.
    wql = "SELECT * FROM meta_class WHERE __CLASS = 'Test_Share'"
    got, _ = enumerate_all(https, uri, enumerate_body(32000, filt=wql_filter(wql)), sel)
    assert [c.get("NAME") for c in got] == ["Test_Share"]
    got, _ = enumerate_all(https, f"{WMI}root/test/*", enumerate_body(32000, filt=wql_filter(wql)))
    assert [c.get("NAME") for c in got] == ["Test_Share"]
    f = post(https, envelope(ENUMERATE, uri, enumerate_body(filt=wql_filter("SELECT * FROM Test_Share")),
                             sel)).fault()
    assert f["subcode"] == "n:CannotProcessFilter", f
    f = post(https, envelope(ENUMERATE, uri, enumerate_body(), {"__cimnamespace": "root/nope"})).fault()
    assert f["subcode"] == "a:DestinationUnreachable", f

    require("pypsrp", modules=("pypsrp",))
    import xml.etree.ElementTree as ET

    from pypsrp.wsman import NAMESPACES, SelectorSet, WSMan

    w = WSMan("127.0.0.1", port=https.port, username=sh.USER, password=sh.PASSWORD, ssl=True,
              auth="basic", cert_validation=str(https.tls.ca_cert))
    body = ET.Element("{%s}Enumerate" % NAMESPACES["wsen"])
    ET.SubElement(body, "{%s}OptimizeEnumeration" % NAMESPACES["wsman"])
    ET.SubElement(body, "{%s}MaxElements" % NAMESPACES["wsman"]).text = "32000"
    s = SelectorSet()
    s.add_option("__cimnamespace", "root/test")
    r = w.enumerate(uri, resource=body, selector_set=s)
    names = [c.get("NAME") for c in r.findall(".//{%s}Items/CLASS" % NAMESPACES["wsman"])]
    assert "Test_Share" in names, names


def test_dmtf_uris_without_cimnamespace_mean_root_hardware_as_on_windows(https):
    """MS-WSMV 3.1.4.1.1: without __cimnamespace a DMTF resource URI means root\\hardware, which
    openwmi lacks: the answer is Windows' for a class that is not there."""
    sel = {"Name": "share000001"}
    for uri in (f"{DMTF_CLASS}Test_Share", f"{DMTF_CLASS}Win32_Share"):
        f = post(https, envelope(GET, uri, "", sel)).fault()
        assert (f["subcode"], f["detail"]) == ("a:DestinationUnreachable", "InvalidResourceURI"), f
        assert f["wmi_code"] == 0x80041010 and "__cimnamespace" in f["reason"], f
    f = post(https, envelope(ENUMERATE, ALL_CLASSES, enumerate_body(5, filt=wql_filter(
        "SELECT * FROM Test_Share"))))
    assert f.fault()["detail"] == "InvalidResourceURI", f.text
    a = post(https, envelope(GET, f"{DMTF_CLASS}Test_Share", "", {"__cimnamespace": "root/test", **sel}))
    assert a.status == 200 and prop(a.root.find(".//s:Body/*", NS), "Name") == "share000001", a.text


def test_wslget_reads_one_instance(https, tmp_path):
    # wslget has no -ns: the namespace goes as the selector it is.
    rc, [doc] = wsl(https, tmp_path, "wslget", "Test_Share", "__cimnamespace=root/test",
                    "Name=share000007")
    assert rc == 0
    inst = doc.find(".//s:Body/*", NS)
    assert local(inst.tag) == "Test_Share"
    assert (prop(inst, "Name"), prop(inst, "Path"), prop(inst, "MaximumAllowed")) == (
        "share000007", "/srv/share000007", "7")
    rc, [doc] = wsl(https, tmp_path, "wslget", "Test_Share", "__cimnamespace=root/test", "Name=nope")
    assert rc != 0
    sub = doc.findtext(".//s:Subcode/s:Value", namespaces=NS)
    assert sub == "a:DestinationUnreachable"


def test_wsl_with_a_wrong_password_gets_nothing(https, tmp_path):
    rc, docs = wsl(https, tmp_path, "wslid", "check", password="wrong")
    assert docs == []


# --------------------------------------------------------------------------------------------
# pypsrp and pywinrm


def test_pypsrp_enumerate_pull_get(https):
    require("pypsrp", modules=("pypsrp",))
    import xml.etree.ElementTree as ET

    from pypsrp.exceptions import WSManFaultError
    from pypsrp.wsman import NAMESPACES, SelectorSet, WSMan

    w = WSMan("127.0.0.1", port=https.port, username=sh.USER, password=sh.PASSWORD, ssl=True,
              auth="basic", cert_validation=str(https.tls.ca_cert))
    body = ET.Element("{%s}Enumerate" % NAMESPACES["wsen"])
    ET.SubElement(body, "{%s}OptimizeEnumeration" % NAMESPACES["wsman"])
    ET.SubElement(body, "{%s}MaxElements" % NAMESPACES["wsman"]).text = "16"
    r = w.enumerate(TEST_SHARE, resource=body)
    names = [prop(i, "Name") for i in r.findall(".//{%s}Items/*" % NAMESPACES["wsman"])]
    ctx = r.find(".//{%s}EnumerationContext" % NAMESPACES["wsen"]).text
    assert len(names) == 16 and ctx
    while ctx:
        pb = ET.Element("{%s}Pull" % NAMESPACES["wsen"])
        ET.SubElement(pb, "{%s}EnumerationContext" % NAMESPACES["wsen"]).text = ctx
        ET.SubElement(pb, "{%s}MaxElements" % NAMESPACES["wsen"]).text = "16"
        r = w.pull(TEST_SHARE, resource=pb)
        names += [prop(i, "Name") for i in r.findall(".//{%s}Items/*" % NAMESPACES["wsen"])]
        c = r.find(".//{%s}EnumerationContext" % NAMESPACES["wsen"])
        ctx = c.text if c is not None else None
    assert names == [f"share{i:06d}" for i in range(N_SHARES)]

    s = SelectorSet()
    s.add_option("Name", "share000003")
    r = w.get(TEST_SHARE, selector_set=s)
    [inst] = list(r)
    assert prop(inst, "Caption") == "Test share number 3"

    s = SelectorSet()
    s.add_option("Name", "missing")
    with pytest.raises(WSManFaultError) as e:
        w.get(TEST_SHARE, selector_set=s)
    assert e.value.code == 0x80041002  # WBEM_E_NOT_FOUND, in f:WSManFault's Code
    assert "missing" in e.value.reason


def test_pywinrm_raw_protocol_messages(http):
    require("pywinrm", modules=("winrm",))
    from winrm.exceptions import WSManFaultError
    from winrm.protocol import Protocol

    p = Protocol(f"http://127.0.0.1:{http.port}/wsman", transport="basic", username=sh.USER,
                 password=sh.PASSWORD, message_encryption="never")
    import xml.etree.ElementTree as ET

    body = enumerate_body(100, filt=wql_filter("SELECT Name FROM Test_Share WHERE Type = 1"))
    root = ET.fromstring(p.send_message(envelope(ENUMERATE, ALL_CLASSES, body, {"__cimnamespace": "root/test"})))
    assert sorted(prop(i, "Name") for i in items(root)) == [
        f"share{i:06d}" for i in range(N_SHARES) if i % 4 == 1]
    with pytest.raises(WSManFaultError) as e:
        p.send_message(envelope(ENUMERATE, ALL_CLASSES, enumerate_body(5, filt=wql_filter("SELECT FROM")),
                                {"__cimnamespace": "root/test"}))
    assert e.value.fault_subcode == "n:CannotProcessFilter"
    assert e.value.wsman_fault_code == 0x80041017  # WBEM_E_INVALID_QUERY
    with pytest.raises(WSManFaultError) as e:
        p.send_message(envelope(GET, f"{WMI}root/nowhere/Test_Share", "", {"Name": "x"}))
    assert e.value.fault_subcode == "a:DestinationUnreachable"
    assert e.value.wsman_fault_code == 0x8004100E  # WBEM_E_INVALID_NAMESPACE


# --------------------------------------------------------------------------------------------
# A Windows client's request (wsman.md 9), in UTF-8 and in UTF-16


WINDOWS_HEADER = """<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>
<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>
<p:ActivityId s:mustUnderstand="false">{D2F1C2A0-0000-0000-0000-000000000000}</p:ActivityId>
<p:SessionId s:mustUnderstand="false">uuid:4A1B6A5C-1111-2222-3333-444455556666</p:SessionId>
<p:OperationID s:mustUnderstand="false">uuid:9C1B6A5C-1111-2222-3333-444455556666</p:OperationID>
<p:SequenceId s:mustUnderstand="false">1</p:SequenceId>
<w:OptionSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><w:Option Name="msftwinrm:UsePreciseArrays" xsi:type="xs:boolean">TRUE</w:Option></w:OptionSet>"""


def windows_request(query: str, namespace: str = "root/test") -> str:
    body = enumerate_body(32000, "EnumerateObjectAndEPR", wql_filter(query))
    return envelope(ENUMERATE, ALL_CLASSES, body, {"__cimnamespace": namespace},
                    extra_header=WINDOWS_HEADER, max_envelope=512000, timeout="PT60.000S")


def test_a_get_ciminstance_shaped_request_succeeds(https):
    req = windows_request("SELECT * FROM Test_Share")
    a = post(https, req)
    assert a.status == 200, a.text
    assert a.headers["content-type"] == "application/soap+xml;charset=UTF-8"
    root = a.root
    got = items(root)
    assert len(got) == N_SHARES and end_of_sequence(root)
    assert context_of(root) is None
    mid = ET_find(req, ".//a:MessageID")
    assert root.findtext(".//s:Header/a:RelatesTo", namespaces=NS) == mid
    assert root.findtext(".//s:Header/a:Action", namespaces=NS).endswith("/EnumerateResponse")
    first = got[0]
    obj, epr = list(first)
    assert obj.get("{%s}type" % NS["xsi"]) == "p:Test_Share_Type"
    assert epr_selectors(epr) == {"__cimnamespace": "root/test", "Name": "share000000"}

    # The same request in UTF-16 (with a byte-order mark) is answered in UTF-16.
    a = post(https, b"\xff\xfe" + req.encode("utf-16-le"),
             content_type="application/soap+xml;charset=UTF-16")
    assert a.status == 200
    assert a.headers["content-type"] == "application/soap+xml;charset=UTF-16"
    assert a.body[:2] == b"\xff\xfe"
    import xml.etree.ElementTree as ET
    root = ET.fromstring(a.body.decode("utf-16"))
    assert len(items(root)) == N_SHARES


def ET_find(xml: str, path: str) -> str:
    import xml.etree.ElementTree as ET
    return ET.fromstring(xml).findtext(path, namespaces=NS)


def test_envelope_size_limit_splits_an_enumeration(https):
    got, requests = enumerate_all(https, TEST_SHARE, enumerate_body(32000), max_envelope=8192)
    assert [prop(i, "Name") for i in got] == [f"share{i:06d}" for i in range(N_SHARES)]
    assert requests >= 2, "8192 bytes hold a handful of shares, not all of them"


def test_release_and_foreign_or_expired_contexts(https):
    a = post(https, envelope(ENUMERATE, TEST_SHARE, enumerate_body(2)))
    ctx = context_of(a.root)
    assert ctx
    # Another user may not continue it.
    other = sh.basic_auth(sh.OTHER_USER, sh.OTHER_PASSWORD)
    f = post(https, envelope(PULL, TEST_SHARE, pull_body(ctx)), auth=other).fault()
    assert f["subcode"] == "n:InvalidEnumerationContext"
    # CIM-XML cannot pull it either (one table, kinds kept apart), nor a changed token.
    f = post(https, envelope(PULL, TEST_SHARE, pull_body(ctx.rsplit("-", 1)[0] + "-999"))).fault()
    assert f["subcode"] == "n:InvalidEnumerationContext"
    a = post(https, envelope(RELEASE, TEST_SHARE,
                             f"<n:Release><n:EnumerationContext>{ctx}</n:EnumerationContext></n:Release>"))
    assert a.status == 200, a.text
    assert a.root.findtext(".//a:Action", namespaces=NS).endswith("/ReleaseResponse")
    f = post(https, envelope(PULL, TEST_SHARE, pull_body(ctx))).fault()
    assert f["subcode"] == "n:InvalidEnumerationContext"
    assert f["code"] == "s:Receiver"


# --------------------------------------------------------------------------------------------
# Authentication


def test_every_action_without_credentials_gets_401_basic(https):
    requests = [
        envelope(None, None, '<wsmid:Identify xmlns:wsmid="%s"/>' % NS["wsmid"], message_id=""),
        envelope(GET, TEST_SHARE, "", {"Name": "share000001"}),
        envelope(ENUMERATE, TEST_SHARE, enumerate_body(5)),
        envelope(PULL, TEST_SHARE, pull_body("x-256")),
        envelope(RELEASE, TEST_SHARE, "<n:Release/>"),
        "<garbage",
    ]
    for body in requests:
        for headers in ({}, {"WSMANIDENTIFY": "unauthenticated"}):
            a = post(https, body, auth=None, headers=headers)
            assert a.status == 401, (body, a.text)
            assert a.headers["www-authenticate"].startswith("Basic ")
            assert a.body == b""
    a = post(https, requests[1], auth=sh.basic_auth(sh.USER, "wrong"))
    assert a.status == 401


def test_unauthenticated_identify_when_configured(openwmi_bin, tmp_path, mof):
    with _serve(openwmi_bin, tmp_path / "srv", None, mof,
                extra_args=["--wsman-identify-unauthenticated"]) as srv:
        identify = envelope(None, None, '<wsmid:Identify xmlns:wsmid="%s"/>' % NS["wsmid"], message_id="")
        a = post(srv, identify, auth=None, headers={"WSMANIDENTIFY": "unauthenticated"})
        assert a.status == 200, a.text
        resp = a.root.find(".//wsmid:IdentifyResponse", NS)
        assert resp.findtext("wsmid:ProductVersion", namespaces=NS) == "OS: 0.0.0 SP: 0.0 Stack: 3.0"
        assert resp.find("wsmid:SecurityProfiles", NS) is None
        # Without the header, or for any other action, credentials are still required.
        assert post(srv, identify, auth=None).status == 401
        for body in (envelope(GET, TEST_SHARE, "", {"Name": "share000001"}),
                     envelope(ENUMERATE, TEST_SHARE, enumerate_body(5))):
            a = post(srv, body, auth=None, headers={"WSMANIDENTIFY": "unauthenticated"})
            assert a.status == 401
        # Wrong credentials are refused even for Identify.
        a = post(srv, identify, auth=sh.basic_auth(sh.USER, "wrong"),
                 headers={"WSMANIDENTIFY": "unauthenticated"})
        assert a.status == 401


# --------------------------------------------------------------------------------------------
# Bad input: each gets its fault while a good client is served meanwhile


BAD_INPUTS = {
    "malformed SOAP": ("<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>",
                       "w:SchemaValidationError"),
    "not SOAP 1.2": ("<Envelope><Body/></Envelope>", None),  # s:VersionMismatch, no subcode
    "wrong action": (envelope("http://example.com/Frobnicate", TEST_SHARE), "a:ActionNotSupported"),
    "GetStatus": (envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/GetStatus", TEST_SHARE),
                  "a:ActionNotSupported"),
    "unknown resource URI": (envelope(GET, "http://example.com/nothing", "", {"Name": "x"}),
                             "a:DestinationUnreachable"),
    "unknown class": (envelope(GET, f"{WMI}root/test/No_Such_Class", "", {"Name": "x"}),
                      "a:DestinationUnreachable"),
    "missing key": (envelope(GET, TEST_SHARE, "", {"Other": "x"}), "w:InvalidSelectors"),
    "no selectors": (envelope(GET, TEST_SHARE, ""), "w:InvalidSelectors"),
    "keys on enumerate": (envelope(ENUMERATE, TEST_SHARE, enumerate_body(5), {"Name": "x"}),
                          "w:InvalidSelectors"),
    "huge envelope": (envelope(GET, TEST_SHARE, "<x>" + "y" * 600_000 + "</x>", {"Name": "x"}),
                      "w:EncodingLimit"),
    "deep nesting": (envelope(GET, TEST_SHARE, "<x>" * 200 + "</x>" * 200, {"Name": "x"}),
                     "w:EncodingLimit"),
    "DOCTYPE": ('<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + envelope(GET, TEST_SHARE, "&x;", {"Name": "x"}), "w:SchemaValidationError"),
    "unknown dialect": (envelope(ENUMERATE, TEST_SHARE,
                                 enumerate_body(5, filt='<w:Filter Dialect="urn:xpath">/x</w:Filter>')),
                        "n:FilterDialectRequestedUnavailable"),
    "bad WQL": (envelope(ENUMERATE, ALL_CLASSES, enumerate_body(5, filt=wql_filter("SELEKT 1")),
                         {"__cimnamespace": "root/test"}), "n:CannotProcessFilter"),
    "expired context": (envelope(PULL, TEST_SHARE, pull_body("0123456789abcdef1-256")),
                        "n:InvalidEnumerationContext"),
    "must understand": (envelope(GET, TEST_SHARE, "", {"Name": "x"},
                                 extra_header='<z:New xmlns:z="urn:z" s:mustUnderstand="true"/>'), None),
    "small MaxEnvelopeSize": (envelope(GET, TEST_SHARE, "", {"Name": "x"}, max_envelope=100),
                              "w:EncodingLimit"),
    "bad timeout": (envelope(GET, TEST_SHARE, "", {"Name": "x"}, timeout="soon"),
                    "a:InvalidMessageInformationHeader"),
}


# Refused before the header is read: their faults cannot name the request's MessageID.
UNREADABLE = {"malformed SOAP", "not SOAP 1.2", "huge envelope", "deep nesting", "DOCTYPE"}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_its_fault_while_others_are_served(https, case):
    body, subcode = BAD_INPUTS[case]
    stop = threading.Event()
    served: list[int] = []
    errors: list[str] = []

    def good_client():
        while not stop.is_set():
            a = post(https, envelope(GET, TEST_SHARE, "", {"Name": "share000005"}))
            if a.status == 200 and b"share000005" in a.body:
                served.append(1)
            else:
                errors.append(a.text)

    t = threading.Thread(target=good_client)
    t.start()
    try:
        for _ in range(3):
            a = post(https, body)
            assert a.status == 500, a.text
            assert a.headers["content-type"].startswith("application/soap+xml")
            f = a.fault()
            assert f["subcode"] == subcode, (case, f)
            assert f["reason"]
            if case not in UNREADABLE:
                assert f["relates_to"] and f["relates_to"].startswith("uuid:"), f
    finally:
        deadline = time.monotonic() + 30
        while not served and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        t.join(60)
    assert served and not errors, errors[:1]
    assert https.alive()


def test_must_understand_and_version_faults(https):
    a = post(https, BAD_INPUTS["must understand"][0])
    f = a.fault()
    assert f["code"] == "s:MustUnderstand"
    assert a.root.find(".//s:Header/s:NotUnderstood", NS).get("qname").endswith(":New")
    f = post(https, BAD_INPUTS["not SOAP 1.2"][0]).fault()
    assert f["code"] == "s:VersionMismatch"
    # A request that is not SOAP at all: the HTTP layer refuses it.
    a = post(https, "x", content_type="text/plain")
    assert a.status == 415
    conn = https.connection()
    conn.request("GET", "/wsman", headers={"Authorization": sh.basic_auth()})
    r = conn.getresponse()
    assert r.status == 405 and r.getheader("Allow") == "POST"
    conn.close()


def test_the_trailing_slash_path_and_cim_xml_stay_beside(https):
    a = post(https, envelope(GET, TEST_SHARE, "", {"Name": "share000001"}), path="/wsman/")
    assert a.status == 200
    # CIM-XML on the same listener.
    r = sh.post(https, sh.imethodcall("GetInstance", "root/test",
                                      sh.instance_name_param("Test_Share", {"Name": "share000001"})),
                sh.cim_headers("GetInstance", "root/test"))
    assert r.status == 200 and "share000001" in r.text


# --------------------------------------------------------------------------------------------
# Live Samba classes over WS-Man: a real smbd, real SMB sessions


@pytest.fixture(scope="module")
def live(openwmi_bin, module_dir, test_ca, mof):
    harness.need_root("smbstatus shows connections to root only: run these tests as root")
    require("Samba", programs=("smbd", "smbstatus", "smbpasswd", "testparm"))
    require("smbprotocol", modules=("smbprotocol",))
    with harness.SambaServer() as samba:
        conns = [harness.SmbConnection(samba, "owtest1"), harness.SmbConnection(samba, "owtest2")]
        try:
            conns[0].tree_connect("public")
            conns[1].tree_connect("public")
            conns[1].tree_connect("private")
            samba.wait_for_status(lambda s: len(harness.status_tcons(s)) >= 3, "three tree connects")
            srv = _serve(openwmi_bin, module_dir / "live", test_ca, mof, smb_conf=samba.conf_path)
            try:
                yield srv
            finally:
                srv.stop()
        finally:
            for c in conns:
                c.close()


CONN_URI = f"{WMI}root/cimv2/Win32_ServerConnection"


def test_live_server_connections_over_wsman(live, tmp_path):
    got, _ = enumerate_all(live, CONN_URI, enumerate_body(100))
    rows = sorted((prop(i, "ShareName"), prop(i, "UserName")) for i in got)
    assert rows == [("private", "owtest2"), ("public", "owtest1"), ("public", "owtest2")]
    # Through wsl's WQL too.
    rc, docs = wsl(live, tmp_path, "wslenum", "Win32_ServerConnection", "-ns", "root/cimv2", "-opti", "10",
                   "-dialect", "http://schemas.microsoft.com/wbem/wsman/1/WQL", "-filter",
                   "SELECT * FROM Win32_ServerConnection WHERE ShareName = 'public'")
    assert rc == 0
    assert sorted(prop(i, "UserName") for d in docs for i in items(d)) == ["owtest1", "owtest2"]


def test_live_connection_share_associations_both_directions(live):
    # From a share to its connections.
    filt = (f'<w:Filter Dialect="{ASSOC}"><b:AssociatedInstances><b:Object>'
            f'<a:Address>{NS["a"]}/role/anonymous</a:Address><a:ReferenceParameters>'
            f'<w:ResourceURI>{WMI}root/cimv2/Win32_Share</w:ResourceURI>'
            f'<w:SelectorSet><w:Selector Name="Name">public</w:Selector></w:SelectorSet>'
            f'</a:ReferenceParameters></b:Object>'
            f'<b:AssociationClassName>Win32_ConnectionShare</b:AssociationClassName>'
            f'</b:AssociatedInstances></w:Filter>')
    got, _ = enumerate_all(live, ALL_CLASSES, enumerate_body(50, filt=filt), {"__cimnamespace": "root/cimv2"})
    assert sorted((local(i.tag), prop(i, "UserName")) for i in got) == [
        ("Win32_ServerConnection", "owtest1"), ("Win32_ServerConnection", "owtest2")]
    # From a connection to its share, by the association instances (there are others: the
    # session's).
    sel = "".join(f'<w:Selector Name="{k}">{v}</w:Selector>' for k, v in
                  {"ComputerName": "127.0.0.1", "ShareName": "private", "UserName": "owtest2"}.items())
    filt = (f'<w:Filter Dialect="{ASSOC}"><b:AssociationInstances><b:Object>'
            f'<a:Address>{NS["a"]}/role/anonymous</a:Address><a:ReferenceParameters>'
            f'<w:ResourceURI>{CONN_URI}</w:ResourceURI><w:SelectorSet>{sel}</w:SelectorSet>'
            f'</a:ReferenceParameters></b:Object>'
            f'<b:AssociationClassName>Win32_ConnectionShare</b:AssociationClassName>'
            f'</b:AssociationInstances></w:Filter>')
    got, _ = enumerate_all(live, ALL_CLASSES, enumerate_body(50, filt=filt), {"__cimnamespace": "root/cimv2"})
    [link] = got
    assert local(link.tag) == "Win32_ConnectionShare"
    ante = [c for c in link if local(c.tag) == "Antecedent"][0]
    assert epr_selectors(ante)["Name"] == "private"
    # ASSOCIATORS OF in WQL.
    q = ('ASSOCIATORS OF {Win32_ServerConnection.ComputerName="127.0.0.1",ShareName="private",'
         'UserName="owtest2"} WHERE AssocClass=Win32_ConnectionShare')
    got, _ = enumerate_all(live, ALL_CLASSES, enumerate_body(50, filt=wql_filter(q)),
                           {"__cimnamespace": "root/cimv2"})
    assert [(local(i.tag), prop(i, "Name")) for i in got] == [("Win32_Share", "private")]


def test_a_user_without_the_right_is_refused_over_wsman(live):
    other = sh.basic_auth(sh.OTHER_USER, sh.OTHER_PASSWORD)
    a = post(live, envelope(ENUMERATE, CONN_URI, enumerate_body(10)), auth=other)
    f = a.fault()
    assert f["subcode"] == "w:AccessDenied", f
    assert f["wmi_code"] == 0x80041003


def test_a_hung_samba_source_gives_a_fault_naming_it_never_a_hang(openwmi_bin, tmp_path, mof, samba):
    harness.need_root("the Samba fixtures run as root")
    from live_helpers import script

    hung = script(tmp_path, "smbstatus", "exec sleep 60")
    with _serve(openwmi_bin, tmp_path / "srv", None, mof, smb_conf=samba.conf_path,
                extra_args=["--smbstatus", hung, "--source-timeout", "1"]) as srv:
        started = time.monotonic()
        f = post(srv, envelope(ENUMERATE, CONN_URI, enumerate_body(10))).fault()
        assert time.monotonic() - started < 30
        assert f["subcode"] == "w:InternalError", f
        assert str(hung) in f["reason"] and "timed out" in f["reason"], f
        assert f["wmi_code"] == 0x80041001  # WBEM_E_FAILED
        # The static classes are served meanwhile and after.
        a = post(srv, envelope(GET, TEST_SHARE, "", {"Name": "share000001"}))
        assert a.status == 200

    # A source slower than the request's OperationTimeout: wsman:TimedOut, in about that time.
    with _serve(openwmi_bin, tmp_path / "srv2", None, mof, smb_conf=samba.conf_path,
                extra_args=["--smbstatus", hung, "--source-timeout", "50"]) as srv:
        started = time.monotonic()
        f = post(srv, envelope(ENUMERATE, CONN_URI, enumerate_body(10), timeout="PT2S")).fault()
        assert time.monotonic() - started < 20
        assert f["subcode"] == "w:TimedOut", f
        assert f["code"] == "s:Receiver"
        assert post(srv, envelope(GET, TEST_SHARE, "", {"Name": "share000001"})).status == 200


def test_every_listener_answers_both_protocols(openwmi_bin, tmp_path, mof):
    second = harness.free_port()
    with _serve(openwmi_bin, tmp_path / "srv", None, mof,
                extra_args=["--listen", f"127.0.0.1:{second}"]) as srv:
        for port in (srv.port, second):
            srv_at = sh.OpenwmiServer.__new__(sh.OpenwmiServer)
            srv_at.tls, srv_at.port = None, port
            a = post(srv_at, envelope(GET, TEST_SHARE, "", {"Name": "share000004"}))
            assert a.status == 200 and b"share000004" in a.body, port
            r = sh.post(srv_at, sh.imethodcall("GetInstance", "root/test",
                                               sh.instance_name_param("Test_Share", {"Name": "share000004"})),
                        sh.cim_headers("GetInstance", "root/test"))
            assert r.status == 200 and "share000004" in r.text, port
