use super::*;

const HEAD: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">"#;

fn env(header: &str, body: &str) -> String {
    format!("{HEAD}<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>")
}

fn ok(text: &str) -> Envelope {
    decode(text.as_bytes(), None, &Limits::default()).unwrap_or_else(|r| panic!("{r:?}"))
}

fn fault(bytes: &[u8]) -> Fault {
    decode(bytes, None, &Limits::default()).unwrap_err().fault
}

/// The header of a Windows client's Get-CimInstance (wsman.md 9).
const WINDOWS_HEADER: &str = r#"<a:To>http://host:5986/wsman</a:To>
<w:ResourceURI s:mustUnderstand="true">http://schemas.dmtf.org/wbem/wscim/1/*</w:ResourceURI>
<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>
<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>
<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>
<a:MessageID>uuid:D6C2E5B4-8D0F-4B56-9B9C-0A3E1D2C4B5A</a:MessageID>
<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>
<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>
<p:ActivityId s:mustUnderstand="false">{1}</p:ActivityId>
<p:SessionId s:mustUnderstand="false">uuid:1</p:SessionId>
<p:OperationID s:mustUnderstand="false">uuid:2</p:OperationID>
<p:SequenceId s:mustUnderstand="false">1</p:SequenceId>
<w:OperationTimeout>PT60.000S</w:OperationTimeout>
<w:SelectorSet><w:Selector Name="__cimnamespace">root/cimv2</w:Selector></w:SelectorSet>
<w:OptionSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><w:Option Name="msftwinrm:UsePreciseArrays" xsi:type="xs:boolean">TRUE</w:Option></w:OptionSet>"#;

const WINDOWS_BODY: &str = r#"<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>
<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>
<w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM Win32_Share</w:Filter></n:Enumerate>"#;

#[test]
fn a_windows_enumerate_decodes() {
    let e = ok(&env(WINDOWS_HEADER, WINDOWS_BODY));
    let h = &e.headers;
    assert_eq!(h.action.as_deref(), Some(crate::ns::ACTION_ENUMERATE));
    assert_eq!(
        h.resource_uri.as_deref(),
        Some("http://schemas.dmtf.org/wbem/wscim/1/*")
    );
    assert_eq!(h.max_envelope_size, Some(512000));
    assert_eq!(h.operation_timeout, Some(Duration::from_secs(60)));
    assert_eq!(h.locale.as_deref(), Some("en-US"));
    assert_eq!(h.data_locale.as_deref(), Some("en-US"));
    assert_eq!(h.selectors.len(), 1);
    assert_eq!(h.options.len(), 1);
    let Body::Enumerate(b) = &e.body else {
        panic!("{:?}", e.body)
    };
    assert!(b.optimize);
    assert_eq!(b.max_elements, Some(32000));
    assert_eq!(b.mode, EnumerationMode::ObjectAndEpr);
    assert_eq!(
        b.filter,
        Some(FilterSpec {
            dialect: Some(crate::ns::DIALECT_WQL.into()),
            content: FilterContent::Text("SELECT * FROM Win32_Share".into()),
        })
    );
    assert_eq!(e.encoding, Encoding::Utf8);
}

#[test]
fn utf16_requests_decode_with_or_without_a_byte_order_mark() {
    let text = env(WINDOWS_HEADER, WINDOWS_BODY);
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let e = decode(
        &le,
        Some("application/soap+xml;charset=UTF-16"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(e.encoding, Encoding::Utf16Le);
    assert_eq!(e.headers.max_envelope_size, Some(512000));
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let e = decode(
        &be,
        Some("application/soap+xml; charset=\"utf-16be\""),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(e.encoding, Encoding::Utf16Be);
    let r = decode(
        b"<x/>",
        Some("application/soap+xml;charset=iso-8859-1"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(r.fault.kind, FaultKind::EncodingLimit);
}

#[test]
fn malformed_envelopes_fault_saying_where() {
    let f = fault(b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>");
    assert_eq!(f.kind, FaultKind::SchemaValidationError);
    assert!(f.reason.contains("never closed"), "{}", f.reason);
    let f = fault(b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">\n<s:Body></s:Bod></s:Envelope>");
    assert!(f.reason.contains("not well-formed"), "{}", f.reason);
    assert!(f.reason.contains("2:"), "{}", f.reason);
    let f = fault(b"<Envelope/>");
    assert_eq!(f.kind, FaultKind::VersionMismatch);
    let f = fault(
        b"<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body/></e:Envelope>",
    );
    assert_eq!(f.kind, FaultKind::VersionMismatch);
    assert!(f.reason.contains("SOAP 1.1"));
    let f = fault(format!("{HEAD}<s:Header/></s:Envelope>").as_bytes());
    assert!(f.reason.contains("no s:Body"), "{}", f.reason);
    let f = fault(b"\xff\x00garbage");
    assert_eq!(f.kind, FaultKind::EncodingLimit);
    let f = fault(b"");
    assert_eq!(f.kind, FaultKind::SchemaValidationError);
}

#[test]
fn doctype_and_entities_are_refused() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&b;</s:Body></s:Envelope>"#;
    let f = fault(bomb.as_bytes());
    assert_eq!(f.kind, FaultKind::SchemaValidationError);
    assert!(f.reason.contains("DOCTYPE"), "{}", f.reason);
    let external = r#"<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>"#;
    assert!(fault(external.as_bytes()).reason.contains("DOCTYPE"));
    let f = fault(env("", "<x>&xxe;</x>").as_bytes());
    assert_eq!(f.kind, FaultKind::SchemaValidationError);
}

#[test]
fn size_depth_and_node_limits_hold() {
    let limits = Limits {
        max_bytes: 2000,
        max_depth: 12,
        max_nodes: 60,
    };
    let big = env("", &"<x/>".repeat(1000));
    let r = decode(big.as_bytes(), None, &limits).unwrap_err();
    assert_eq!(r.fault.kind, FaultKind::EncodingLimit);
    assert_eq!(r.fault.detail, Some("MaxEnvelopeSize"));
    let deep = env("", &format!("{}{}", "<x>".repeat(20), "</x>".repeat(20)));
    let r = decode(deep.as_bytes(), None, &limits).unwrap_err();
    assert_eq!(r.fault.kind, FaultKind::EncodingLimit);
    assert!(
        r.fault.reason.contains("deeper than 12"),
        "{}",
        r.fault.reason
    );
    let many = env("", &"<x/>".repeat(100));
    let r = decode(many.as_bytes(), None, &limits).unwrap_err();
    assert!(r.fault.reason.contains("XML nodes"), "{}", r.fault.reason);
    // Very deep nesting within the default size stops cleanly too.
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let r = decode(deep.as_bytes(), None, &Limits::default()).unwrap_err();
    assert_eq!(r.fault.kind, FaultKind::EncodingLimit);
}

#[test]
fn header_rules() {
    let action = "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>";
    // Unknown header with mustUnderstand: MustUnderstand naming it.
    let f = fault(
        env(
            &format!("{action}<x:Odd xmlns:x=\"urn:odd\" s:mustUnderstand=\"true\"/>"),
            "",
        )
        .as_bytes(),
    );
    assert_eq!(f.kind, FaultKind::MustUnderstand);
    assert_eq!(
        f.not_understood.as_deref(),
        Some(&("urn:odd".to_owned(), "Odd".to_owned()))
    );
    assert!(f.envelope(None, "h").contains("<s:NotUnderstood"));
    // Without it, ignored.
    ok(&env(
        &format!("{action}<x:Odd xmlns:x=\"urn:odd\" s:mustUnderstand=\"false\"/>"),
        "",
    ));
    let f = fault(env(&format!("{action}{action}"), "").as_bytes());
    assert_eq!(f.kind, FaultKind::InvalidMessageInformationHeader);
    let f = fault(env("<w:MaxEnvelopeSize>100</w:MaxEnvelopeSize>", "").as_bytes());
    assert_eq!(
        (f.kind, f.detail),
        (FaultKind::EncodingLimit, Some("MinimumEnvelopeLimit"))
    );
    let f = fault(env("<w:OperationTimeout>60</w:OperationTimeout>", "").as_bytes());
    assert_eq!(f.kind, FaultKind::InvalidMessageInformationHeader);
    let f = fault(
        env(
            "<a:ReplyTo><a:Address>http://elsewhere/</a:Address></a:ReplyTo>",
            "",
        )
        .as_bytes(),
    );
    assert_eq!(
        (f.kind, f.detail),
        (FaultKind::UnsupportedFeature, Some("AddressingMode"))
    );
    let f = fault(
        env(
            "<w:SelectorSet><w:Selector Name=\"a\">1</w:Selector><w:Selector Name=\"A\">2</w:Selector></w:SelectorSet>",
            "",
        )
        .as_bytes(),
    );
    assert_eq!(
        (f.kind, f.detail),
        (FaultKind::InvalidSelectors, Some("DuplicateSelectors"))
    );
    // The message ID is kept for the fault's RelatesTo.
    let r = decode(
        env(
            "<a:MessageID>uuid:X</a:MessageID><w:MaxEnvelopeSize>1</w:MaxEnvelopeSize>",
            "",
        )
        .as_bytes(),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(r.message_id.as_deref(), Some("uuid:X"));
}

#[test]
fn bodies() {
    let e = ok(&env("", "<n:Pull><n:EnumerationContext> c-1 </n:EnumerationContext><n:MaxElements>5</n:MaxElements><n:MaxTime>PT1S</n:MaxTime></n:Pull>"));
    assert_eq!(
        e.body,
        Body::Pull(PullBody {
            context: "c-1".into(),
            max_elements: Some(5),
            max_time: Some(Duration::from_secs(1)),
            max_characters: None,
        })
    );
    let e = ok(&env(
        "",
        "<n:Release><n:EnumerationContext>c</n:EnumerationContext></n:Release>",
    ));
    assert_eq!(
        e.body,
        Body::Release {
            context: "c".into()
        }
    );
    let e = ok(&env(
        "",
        "<i:Identify xmlns:i=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\"/>",
    ));
    assert_eq!(e.body, Body::Identify);
    assert_eq!(ok(&env("", "")).body, Body::Empty);
    let f = fault(env("", "<n:Pull><n:MaxElements>0</n:MaxElements></n:Pull>").as_bytes());
    assert_eq!(f.kind, FaultKind::SchemaValidationError);
    let f = fault(env("", "<a/><b/>").as_bytes());
    assert!(f.reason.contains("more than one"), "{}", f.reason);
    let assoc = r#"<n:Enumerate><w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter" xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"><b:AssociationInstances><b:Object><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/T</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">v</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object><b:Role>R</b:Role></b:AssociationInstances></w:Filter></n:Enumerate>"#;
    let Body::Enumerate(b) = ok(&env("", assoc)).body else {
        panic!()
    };
    let Some(FilterSpec {
        content: FilterContent::Association(a),
        ..
    }) = b.filter
    else {
        panic!()
    };
    assert!(a.references);
    assert_eq!(a.role.as_deref(), Some("R"));
    assert_eq!(a.object.selectors.len(), 1);
}

#[test]
fn durations() {
    for (text, secs) in [
        ("PT60.000S", 60.0),
        ("PT0.5S", 0.5),
        ("P1DT1H", 90000.0),
        ("PT1M30S", 90.0),
        ("P1Y", 365.0 * 86400.0),
    ] {
        assert_eq!(
            parse_duration(text),
            Some(Duration::from_secs_f64(secs)),
            "{text}"
        );
    }
    for bad in [
        "", "P", "PT", "60", "PT1.5M", "PTS", "P1S", "PT1H2H", "-PT1S", "PT1S2",
    ] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

fn full(text: &str) -> Result<Envelope, Box<Rejected>> {
    decode_full(text.as_bytes(), None, &Limits::default())
}

const GET_ACTION: &str = "<a:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>";

#[test]
fn the_fast_path_reads_gets_as_the_full_parser_does() {
    let windows_get = WINDOWS_HEADER.replace(
        "<a:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>",
        GET_ACTION,
    );
    let gets = [
        env(&windows_get, ""),
        env(
            &format!("{GET_ACTION}<a:MessageID>uuid:1</a:MessageID><w:SelectorSet><w:Selector Name=' Name '> a b </w:Selector></w:SelectorSet>"),
            "",
        ),
        // wsl: `<s:Body/>`, MessageID without uuid:, a default namespace.
        format!(
            "{HEAD}<s:Header>{GET_ACTION}<MessageID xmlns=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\">42</MessageID>\
             <x:Other xmlns:x=\"urn:x\" s:mustUnderstand=\"false\"><x:Deep><x:Deeper/></x:Deep></x:Other></s:Header><s:Body/></s:Envelope>"
        ),
    ];
    for text in &gets {
        let fast =
            decode_fast(text, &Limits::default()).unwrap_or_else(|| panic!("not fast: {text}"));
        assert_eq!(fast, full(text).unwrap(), "{text}");
        assert_eq!(ok(text), fast);
    }
    // Left to the full parser (which refuses or reads them).
    let slow = [
        env(WINDOWS_HEADER, WINDOWS_BODY),
        env(
            &format!("{GET_ACTION}<a:MessageID>a&amp;b</a:MessageID>"),
            "",
        ),
        env(
            &format!("{GET_ACTION}<!-- c --><a:MessageID>1</a:MessageID>"),
            "",
        ),
        env(
            &format!("{GET_ACTION}<a:MessageID>1</a:MessageID><a:MessageID>2</a:MessageID>"),
            "",
        ),
        env(
            &format!("{GET_ACTION}<x:Y xmlns:x=\"urn:x\" s:mustUnderstand=\"true\"/>"),
            "",
        ),
        env(
            &format!("{GET_ACTION}<a:MessageID>1</a:MessageID><q:Y/>"),
            "",
        ),
        env(
            &format!("{GET_ACTION}<a:MessageID>\u{e9}</a:MessageID>"),
            "",
        ),
        format!("<?xml version=\"1.0\"?>{}", env(GET_ACTION, "")),
        env(
            &format!("{GET_ACTION}<w:MaxEnvelopeSize>100</w:MaxEnvelopeSize>"),
            "",
        ),
        env(
            &format!("{GET_ACTION}<a:MessageID a=\"1\" a=\"2\">1</a:MessageID>"),
            "",
        ),
        format!("{}<x/>", env(GET_ACTION, "")),
    ];
    for text in &slow {
        assert_eq!(decode_fast(text, &Limits::default()), None, "{text}");
    }
    // Too deep for the limits: left to the full parser, which refuses it.
    let deep = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let text = &gets[2];
    assert_eq!(decode_fast(text, &deep), None);
    assert!(decode(text.as_bytes(), None, &deep).is_err());
}
