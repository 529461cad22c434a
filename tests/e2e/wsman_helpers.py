"""WS-Management requests and answers for the end-to-end tests: raw envelopes (shaped as
Windows, pypsrp and wsl send them), a raw POST, and the parsing of answers and faults."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Optional

import server_harness as sh

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "b": "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
RELEASE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"
GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ASSOC = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
DMTF_CLASS = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
ALL_CLASSES = "http://schemas.dmtf.org/wbem/wscim/1/*"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
SOAP_TYPE = "application/soap+xml;charset=UTF-8"

# A test class with an association, datetimes and arrays, beside the Test_Share instances.
ASSOC_MOF = """
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
[Association] class Test_ShareLink { [Key] Test_Share REF Antecedent; [Key] Test_Share REF Dependent; };
instance of Test_ShareLink { Antecedent = "Test_Share.Name=\\"share000000\\""; Dependent = "Test_Share.Name=\\"share000001\\""; };
instance of Test_ShareLink { Antecedent = "Test_Share.Name=\\"share000000\\""; Dependent = "Test_Share.Name=\\"share000002\\""; };
"""


def wsman_mof(count: int) -> str:
    return sh.test_share_mof(count) + ASSOC_MOF


def selectors(sel: dict) -> str:
    return "".join(f'<w:Selector Name="{k}">{v}</w:Selector>' for k, v in sel.items())


def envelope(action: Optional[str], uri: Optional[str], body: str = "", sel: Optional[dict] = None,
             message_id: Optional[str] = None, extra_header: str = "", max_envelope: Optional[int] = None,
             timeout: Optional[str] = None) -> str:
    """A request envelope as the clients write it: To, ReplyTo, Action, MessageID (mustUnderstand as
    Windows marks them), the resource URI and selectors."""
    mid = message_id if message_id is not None else f"uuid:{str(uuid.uuid4()).upper()}"
    h = ['<a:To>http://127.0.0.1/wsman</a:To>']
    if uri is not None:
        h.append(f'<w:ResourceURI s:mustUnderstand="true">{uri}</w:ResourceURI>')
    h.append(f'<a:ReplyTo><a:Address s:mustUnderstand="true">{ANONYMOUS}</a:Address></a:ReplyTo>')
    if action is not None:
        h.append(f'<a:Action s:mustUnderstand="true">{action}</a:Action>')
    if max_envelope is not None:
        h.append(f'<w:MaxEnvelopeSize s:mustUnderstand="true">{max_envelope}</w:MaxEnvelopeSize>')
    if mid:
        h.append(f"<a:MessageID>{mid}</a:MessageID>")
    if timeout is not None:
        h.append(f"<w:OperationTimeout>{timeout}</w:OperationTimeout>")
    if sel:
        h.append(f"<w:SelectorSet>{selectors(sel)}</w:SelectorSet>")
    h.append(extra_header)
    return (f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}" xmlns:p="{NS["p"]}" '
            f'xmlns:n="{NS["n"]}" xmlns:b="{NS["b"]}"><s:Header>{"".join(h)}</s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>")


def enumerate_body(max_elements: Optional[int] = None, mode: Optional[str] = None, filt: str = "",
                   optimize: bool = True) -> str:
    parts = ["<n:Enumerate>"]
    if optimize:
        parts.append("<w:OptimizeEnumeration/>")
    if max_elements is not None:
        parts.append(f"<w:MaxElements>{max_elements}</w:MaxElements>")
    if mode:
        parts.append(f"<w:EnumerationMode>{mode}</w:EnumerationMode>")
    parts.append(filt)
    parts.append("</n:Enumerate>")
    return "".join(parts)


def wql_filter(query: str) -> str:
    return f'<w:Filter Dialect="{WQL}">{query}</w:Filter>'


def pull_body(context: str, max_elements: Optional[int] = None) -> str:
    m = f"<n:MaxElements>{max_elements}</n:MaxElements>" if max_elements else ""
    return f"<n:Pull><n:EnumerationContext>{context}</n:EnumerationContext>{m}</n:Pull>"


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    @property
    def root(self) -> ET.Element:
        return ET.fromstring(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def fault(self) -> dict:
        """Subcode, reason, WSManFault Code and the MSFT_WmiError error_Code of a fault."""
        r = self.root
        sub = r.find(".//s:Fault/s:Code/s:Subcode/s:Value", NS)
        code = r.find(".//s:Fault/s:Code/s:Value", NS)
        wf = r.find(".//s:Detail/f:WSManFault", NS)
        err = r.find(".//{*}MSFT_WmiError/{*}error_Code")
        detail = r.find(".//s:Detail/w:FaultDetail", NS)
        return {
            "code": code.text if code is not None else None,
            "subcode": sub.text if sub is not None else None,
            "reason": r.findtext(".//s:Fault/s:Reason/s:Text", namespaces=NS),
            "wsman_code": int(wf.get("Code")) if wf is not None else None,
            "wmi_code": int(err.text) if err is not None else None,
            "detail": detail.text.rsplit("/", 1)[-1] if detail is not None else None,
            "relates_to": r.findtext(".//s:Header/a:RelatesTo", namespaces=NS),
            "action": r.findtext(".//s:Header/a:Action", namespaces=NS),
        }


def post(server: sh.OpenwmiServer, body: str | bytes, auth: Optional[str] = "default",
         content_type: str = SOAP_TYPE, headers: Optional[dict] = None, path: str = "/wsman",
         timeout: float = 60.0) -> Answer:
    h = {"Content-Type": content_type}
    if auth == "default":
        h["Authorization"] = sh.basic_auth()
    elif auth is not None:
        h["Authorization"] = auth
    h.update(headers or {})
    conn = server.connection(timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode() if isinstance(body, str) else body, headers=h)
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def items(root: ET.Element) -> list[ET.Element]:
    """The items of an EnumerateResponse (w:Items) or PullResponse (n:Items)."""
    found = root.find(".//w:Items", NS)
    if found is None:
        found = root.find(".//n:Items", NS)
    return list(found) if found is not None else []


def context_of(root: ET.Element) -> Optional[str]:
    c = root.find(".//n:EnumerationContext", NS)
    return c.text if c is not None and c.text else None


def end_of_sequence(root: ET.Element) -> bool:
    return root.find(".//w:EndOfSequence", NS) is not None or root.find(".//n:EndOfSequence", NS) is not None


def enumerate_all(server: sh.OpenwmiServer, uri: str, body: str, sel: Optional[dict] = None,
                  pull_max: int = 100, max_envelope: Optional[int] = None) -> tuple[list[ET.Element], int]:
    """Enumerate, then Pull until the end: every item and the number of requests."""
    a = post(server, envelope(ENUMERATE, uri, body, sel, max_envelope=max_envelope))
    assert a.status == 200, a.text
    root = a.root
    got = items(root)
    ctx = context_of(root)
    requests = 1
    while ctx:
        a = post(server, envelope(PULL, uri, pull_body(ctx, pull_max), max_envelope=max_envelope))
        assert a.status == 200, a.text
        got += items(a.root)
        ctx = context_of(a.root)
        requests += 1
        assert requests < 10_000
    return got, requests


def prop(item: ET.Element, name: str) -> Optional[str]:
    for child in item:
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text
    return None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def epr_selectors(epr: ET.Element) -> dict:
    return {s.get("Name"): s.text for s in epr.findall(".//w:Selector", NS)}


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def wsl_documents(stdout: str) -> list[ET.Element]:
    """The answers wsl printed (each an XML document, coloured with ANSI codes)."""
    text = ANSI.sub("", stdout)
    docs = []
    for part in text.split('<?xml version="1.0"?>')[1:]:
        part = part.strip()
        end = part.rfind("</s:Envelope>")
        docs.append(ET.fromstring(part[: end + len("</s:Envelope>")]))
    return docs
