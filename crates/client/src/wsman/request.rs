//! The requests the client sends, shaped as Windows' WinRM client sends them
//! (MS-WSMV; the captures quoted in spec/wsman.md §9): SOAP 1.2, the
//! prefixes `s a n w p`, the addressing headers with `mustUnderstand` where
//! Windows puts it, `uuid:` message ids with an upper-case GUID,
//! MaxEnvelopeSize 512000, Locale/DataLocale and SessionId/OperationID/
//! SequenceId with `mustUnderstand="false"`. Pure: no I/O.

use std::fmt::Write as _;
use std::time::Duration;

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const NS_MSWSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const NS_IDENTITY: &str = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
pub const NS_CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/common";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const NS_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

pub const ACTION_ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
pub const ACTION_PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
pub const ACTION_RELEASE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";
pub const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
pub const DIALECT_WQL: &str = "http://schemas.microsoft.com/wbem/wsman/1/WQL";

/// The WMI resource URI prefix: the namespace (with `/`) and the class follow.
pub const WMI_PREFIX: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/";
/// Class definitions as CIM-XML, which Windows' WMI plugin offers (Get with
/// `__cimnamespace` and `ClassName`, Enumerate with `__cimnamespace`).
pub const CIM_XML_SCHEMA_URI: &str = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*";

/// What Windows' client puts in MaxEnvelopeSize.
pub const MAX_ENVELOPE_SIZE: u32 = 512_000;
/// What Windows' CIM cmdlets put in MaxElements.
pub const MAX_ELEMENTS: u32 = 32_000;
/// Windows' OperationTimeout when none is set.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// `.../wmi/root/cimv2/Win32_Share` (`class` `*` for a WQL enumeration).
pub fn wmi_resource_uri(namespace: &str, class: &str) -> String {
    let ns = namespace.replace('\\', "/");
    format!("{WMI_PREFIX}{}/{class}", ns.trim_matches('/'))
}

/// The headers that vary per request.
#[derive(Clone, Debug)]
pub struct Header<'a> {
    /// The endpoint URL (`https://host:5986/wsman`).
    pub to: &'a str,
    pub resource_uri: &'a str,
    pub message_id: &'a str,
    pub session_id: &'a str,
    pub operation_id: &'a str,
    /// `en-US` style.
    pub locale: &'a str,
    pub timeout: Duration,
    /// `(name, value)`, `__cimnamespace` and keys, in order.
    pub selectors: &'a [(String, String)],
}

/// `<` `>` `&` `"` `'` escaped, for text and attribute values alike.
pub fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped rather than
            // making the whole request malformed.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// xs:duration with milliseconds, as Windows writes it: `PT60.000S`.
pub fn duration(d: Duration) -> String {
    format!("PT{}.{:03}S", d.as_secs(), d.subsec_millis())
}

pub(crate) fn envelope_start(out: &mut String, h: &Header, action: &str) {
    let _ = write!(
        out,
        "<s:Envelope xmlns:s=\"{NS_SOAP}\" xmlns:a=\"{NS_ADDRESSING}\" xmlns:n=\"{NS_ENUMERATION}\" \
         xmlns:w=\"{NS_WSMAN}\" xmlns:p=\"{NS_MSWSMAN}\"><s:Header><a:To>"
    );
    escape(out, h.to);
    out.push_str("</a:To><w:ResourceURI s:mustUnderstand=\"true\">");
    escape(out, h.resource_uri);
    let _ = write!(
        out,
        "</w:ResourceURI><a:ReplyTo><a:Address s:mustUnderstand=\"true\">{ANONYMOUS}</a:Address>\
         </a:ReplyTo><a:Action s:mustUnderstand=\"true\">{action}</a:Action>\
         <w:MaxEnvelopeSize s:mustUnderstand=\"true\">{MAX_ENVELOPE_SIZE}</w:MaxEnvelopeSize>\
         <a:MessageID>"
    );
    escape(out, h.message_id);
    out.push_str("</a:MessageID><w:Locale xml:lang=\"");
    escape(out, h.locale);
    out.push_str("\" s:mustUnderstand=\"false\"/><p:DataLocale xml:lang=\"");
    escape(out, h.locale);
    out.push_str("\" s:mustUnderstand=\"false\"/><p:SessionId s:mustUnderstand=\"false\">");
    escape(out, h.session_id);
    out.push_str("</p:SessionId><p:OperationID s:mustUnderstand=\"false\">");
    escape(out, h.operation_id);
    out.push_str("</p:OperationID><p:SequenceId s:mustUnderstand=\"false\">1</p:SequenceId>");
    if !h.selectors.is_empty() {
        out.push_str("<w:SelectorSet>");
        for (name, value) in h.selectors {
            out.push_str("<w:Selector Name=\"");
            escape(out, name);
            out.push_str("\">");
            escape(out, value);
            out.push_str("</w:Selector>");
        }
        out.push_str("</w:SelectorSet>");
    }
    let _ = write!(
        out,
        "<w:OperationTimeout>{}</w:OperationTimeout></s:Header>",
        duration(h.timeout)
    );
}

/// The DSP0227 association filter: what `winrm enumerate -dialect:association`
/// sends for the associators (or references) of an instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssociationFilter {
    /// `true`: AssociationInstances (the associations, REFERENCES OF);
    /// `false`: AssociatedInstances (the other ends, ASSOCIATORS OF).
    pub references: bool,
    /// The source object: its resource URI and key selectors.
    pub resource_uri: String,
    pub selectors: Vec<(String, String)>,
    pub association_class: Option<String>,
    pub role: Option<String>,
    pub result_class: Option<String>,
    pub result_role: Option<String>,
}

/// An Enumerate's filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter<'a> {
    Wql(&'a str),
    Association(AssociationFilter),
}

pub const DIALECT_ASSOCIATION: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter";
pub const NS_CIMBINDING: &str = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd";

fn write_association(out: &mut String, f: &AssociationFilter) {
    let el = if f.references {
        "AssociationInstances"
    } else {
        "AssociatedInstances"
    };
    let _ = write!(
        out,
        "<w:Filter Dialect=\"{DIALECT_ASSOCIATION}\"><b:{el} xmlns:b=\"{NS_CIMBINDING}\"><b:Object>\
         <a:Address>{ANONYMOUS}</a:Address><a:ReferenceParameters><w:ResourceURI>"
    );
    escape(out, &f.resource_uri);
    out.push_str("</w:ResourceURI><w:SelectorSet>");
    for (name, value) in &f.selectors {
        out.push_str("<w:Selector Name=\"");
        escape(out, name);
        out.push_str("\">");
        escape(out, value);
        out.push_str("</w:Selector>");
    }
    out.push_str("</w:SelectorSet></a:ReferenceParameters></b:Object>");
    for (tag, v) in [
        ("AssociationClassName", &f.association_class),
        ("Role", &f.role),
        ("ResultClassName", &f.result_class),
        ("ResultRole", &f.result_role),
    ] {
        if let Some(v) = v {
            let _ = write!(out, "<b:{tag}>");
            escape(out, v);
            let _ = write!(out, "</b:{tag}>");
        }
    }
    let _ = write!(out, "</b:{el}></w:Filter>");
}

/// WS-Enumeration Enumerate, optimized (the first items come back in the
/// response), objects with their EPRs, with a filter when given.
pub fn enumerate(h: &Header, filter: Option<&Filter>) -> String {
    let mut out = String::with_capacity(2048);
    envelope_start(&mut out, h, ACTION_ENUMERATE);
    let _ = write!(
        out,
        "<s:Body><n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>{MAX_ELEMENTS}</w:MaxElements>\
         <w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>"
    );
    match filter {
        Some(Filter::Wql(q)) => {
            let _ = write!(out, "<w:Filter Dialect=\"{DIALECT_WQL}\">");
            escape(&mut out, q);
            out.push_str("</w:Filter>");
        }
        Some(Filter::Association(a)) => write_association(&mut out, a),
        None => {}
    }
    out.push_str("</n:Enumerate></s:Body></s:Envelope>");
    out
}

/// Enumerate without EnumerationMode nor filter: what the client sends for
/// resources that are not instances (class definitions).
pub fn enumerate_objects(h: &Header) -> String {
    let mut out = String::with_capacity(2048);
    envelope_start(&mut out, h, ACTION_ENUMERATE);
    let _ = write!(
        out,
        "<s:Body><n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>{MAX_ELEMENTS}</w:MaxElements>\
         </n:Enumerate></s:Body></s:Envelope>"
    );
    out
}

pub fn pull(h: &Header, context: &str) -> String {
    let mut out = String::with_capacity(2048);
    envelope_start(&mut out, h, ACTION_PULL);
    out.push_str("<s:Body><n:Pull><n:EnumerationContext>");
    escape(&mut out, context);
    let _ = write!(
        out,
        "</n:EnumerationContext><n:MaxElements>{MAX_ELEMENTS}</n:MaxElements></n:Pull></s:Body></s:Envelope>"
    );
    out
}

pub fn release(h: &Header, context: &str) -> String {
    let mut out = String::with_capacity(2048);
    envelope_start(&mut out, h, ACTION_RELEASE);
    out.push_str("<s:Body><n:Release><n:EnumerationContext>");
    escape(&mut out, context);
    out.push_str("</n:EnumerationContext></n:Release></s:Body></s:Envelope>");
    out
}

/// WS-Transfer Get: the instance (or class) the ResourceURI and selectors name.
pub fn get(h: &Header) -> String {
    let mut out = String::with_capacity(2048);
    envelope_start(&mut out, h, ACTION_GET);
    out.push_str("<s:Body/></s:Envelope>");
    out
}

/// One value of a method's input parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputValue {
    Nil,
    Text(String),
    /// A reference: the EPR of an instance.
    Reference {
        resource_uri: String,
        selectors: Vec<(String, String)>,
    },
}

/// Invoke (DSP0227 §8): Action `<ResourceURI>/<Method>`, the key selectors
/// of the instance (none for a static method), and the body
/// `<p0:<Method>_INPUT xmlns:p0="<ResourceURI>">` with one element per
/// value (an array repeats the element), as the Windows client writes it
/// (OMI's test3 capture).
pub fn invoke(h: &Header, method: &str, params: &[(String, Vec<InputValue>)]) -> String {
    let mut out = String::with_capacity(2048);
    let mut action = String::with_capacity(h.resource_uri.len() + method.len() + 1);
    escape(&mut action, h.resource_uri);
    action.push('/');
    escape(&mut action, method);
    envelope_start(&mut out, h, &action);
    out.push_str("<s:Body><p0:");
    out.push_str(method);
    out.push_str("_INPUT xmlns:p0=\"");
    escape(&mut out, h.resource_uri);
    let _ = write!(out, "\" xmlns:xsi=\"{NS_XSI}\">");
    for (name, values) in params {
        for v in values {
            let _ = write!(out, "<p0:{name}");
            match v {
                InputValue::Nil => out.push_str(" xsi:nil=\"true\"/>"),
                InputValue::Text(t) => {
                    out.push('>');
                    escape(&mut out, t);
                    let _ = write!(out, "</p0:{name}>");
                }
                InputValue::Reference {
                    resource_uri,
                    selectors,
                } => {
                    let _ = write!(
                        out,
                        "><a:Address>{ANONYMOUS}</a:Address><a:ReferenceParameters><w:ResourceURI>"
                    );
                    escape(&mut out, resource_uri);
                    out.push_str("</w:ResourceURI><w:SelectorSet>");
                    for (k, v) in selectors {
                        out.push_str("<w:Selector Name=\"");
                        escape(&mut out, k);
                        out.push_str("\">");
                        escape(&mut out, v);
                        out.push_str("</w:Selector>");
                    }
                    let _ = write!(out, "</w:SelectorSet></a:ReferenceParameters></p0:{name}>");
                }
            }
        }
    }
    out.push_str("</p0:");
    out.push_str(method);
    out.push_str("_INPUT></s:Body></s:Envelope>");
    out
}

/// Identify (no Action, no addressing headers), as `wslid` and `Test-WSMan` send it.
pub fn identify() -> String {
    format!(
        "<s:Envelope xmlns:s=\"{NS_SOAP}\" xmlns:wsmid=\"{NS_IDENTITY}\"><s:Header/>\
         <s:Body><wsmid:Identify/></s:Body></s:Envelope>"
    )
}

/// `uuid:` and an upper-case GUID from 16 random bytes (a version 4 UUID).
pub fn message_id(random: [u8; 16]) -> String {
    let mut b = random;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(41);
    s.push_str("uuid:");
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{x:02X}");
    }
    s
}

/// The `xml:lang` of a WMI locale (`MS_409`): the usual LCIDs, else `en-US`.
pub fn locale_tag(locale: Option<&str>) -> &'static str {
    let lcid = locale
        .and_then(|l| l.get(3..))
        .and_then(|h| u32::from_str_radix(h, 16).ok());
    match lcid {
        Some(0x407) => "de-DE",
        Some(0x40C) => "fr-FR",
        Some(0x410) => "it-IT",
        Some(0x40A) | Some(0xC0A) => "es-ES",
        Some(0x411) => "ja-JP",
        Some(0x412) => "ko-KR",
        Some(0x416) => "pt-BR",
        Some(0x419) => "ru-RU",
        Some(0x804) => "zh-CN",
        Some(0x809) => "en-GB",
        _ => "en-US",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(selectors: &[(String, String)]) -> Header<'_> {
        Header {
            to: "https://h:5986/wsman",
            resource_uri: "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*",
            message_id: "uuid:00000000-0000-4000-8000-000000000000",
            session_id: "uuid:11111111-1111-4111-8111-111111111111",
            operation_id: "uuid:22222222-2222-4222-8222-222222222222",
            locale: "en-US",
            timeout: DEFAULT_OPERATION_TIMEOUT,
            selectors,
        }
    }

    #[test]
    fn message_ids_are_upper_case_v4_guids() {
        let id = message_id([0xab; 16]);
        assert_eq!(id, "uuid:ABABABAB-ABAB-4BAB-ABAB-ABABABABABAB");
    }

    #[test]
    fn enumerate_is_shaped_like_windows() {
        let e = enumerate(
            &header(&[]),
            Some(&Filter::Wql("select * from Win32_Share where Name < 'b'")),
        );
        for part in [
            "<w:ResourceURI s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*</w:ResourceURI>",
            "<a:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>",
            "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">512000</w:MaxEnvelopeSize>",
            "<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>",
            "<w:OperationTimeout>PT60.000S</w:OperationTimeout>",
            "<w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>",
            "<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>",
            "where Name &lt; &apos;b&apos;</w:Filter>",
        ] {
            assert!(e.contains(part), "{part} not in {e}");
        }
        assert!(!e.contains("SelectorSet"));
    }

    #[test]
    fn association_filter() {
        let f = Filter::Association(AssociationFilter {
            references: false,
            resource_uri: wmi_resource_uri("root/cimv2", "Win32_Share"),
            selectors: vec![("Name".into(), "public".into())],
            association_class: Some("Win32_ConnectionShare".into()),
            ..AssociationFilter::default()
        });
        let e = enumerate(&header(&[]), Some(&f));
        assert!(e.contains(
            "<w:Filter Dialect=\"http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter\">\
             <b:AssociatedInstances xmlns:b=\"http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd\"><b:Object>"
        ), "{e}");
        assert!(e.contains("<w:Selector Name=\"Name\">public</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object>\
             <b:AssociationClassName>Win32_ConnectionShare</b:AssociationClassName></b:AssociatedInstances></w:Filter>"), "{e}");
    }

    #[test]
    fn selectors_and_escaping() {
        let sel = vec![
            ("__cimnamespace".to_owned(), "root/cimv2".to_owned()),
            ("Name".to_owned(), "a&b\u{1}".to_owned()),
        ];
        let g = get(&header(&sel));
        assert!(g.contains(
            "<w:SelectorSet><w:Selector Name=\"__cimnamespace\">root/cimv2</w:Selector>\
             <w:Selector Name=\"Name\">a&amp;b</w:Selector></w:SelectorSet>"
        ));
        assert!(g.ends_with("<s:Body/></s:Envelope>"));
        assert_eq!(
            wmi_resource_uri("root\\cimv2", "Win32_Share"),
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Share"
        );
        assert_eq!(duration(Duration::from_millis(2500)), "PT2.500S");
        assert_eq!(locale_tag(Some("MS_407")), "de-DE");
        assert_eq!(locale_tag(None), "en-US");
    }
}
