use super::*;
use crate::envelope::{decode, Limits};
use openwmi_cim::{CimType, Name, TypeDecl};

const HEAD: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">"#;

fn env(action: &str, extra_header: &str, body: &str) -> String {
    format!(
        "{HEAD}<s:Header><a:To>http://h:5985/wsman</a:To>\
         <w:ResourceURI s:mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*</w:ResourceURI>\
         <a:Action s:mustUnderstand=\"true\">{action}</a:Action>\
         <a:MessageID>uuid:1</a:MessageID>{extra_header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

fn decoded(text: &str) -> Envelope {
    decode(text.as_bytes(), None, &Limits::default()).unwrap_or_else(|r| panic!("{r:?}"))
}

const QUERY: &str = "SELECT * FROM __InstanceCreationEvent WITHIN 2 WHERE TargetInstance ISA 'Win32_ServerConnection'";

/// What WinRM's client sends for a WMI event query with pull delivery.
fn windows_subscribe() -> String {
    env(
        ns::ACTION_SUBSCRIBE,
        "",
        &format!(
            "<e:Subscribe><e:Delivery Mode=\"http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull\">\
             <w:Heartbeats>PT60.000S</w:Heartbeats><w:Locale xml:lang=\"en-US\"/>\
             <w:ContentEncoding>UTF-8</w:ContentEncoding></e:Delivery>\
             <e:Expires>PT3600.000S</e:Expires>\
             <w:Filter Dialect=\"http://schemas.microsoft.com/wbem/wsman/1/WQL\">{QUERY}</w:Filter>\
             </e:Subscribe>"
        ),
    )
}

#[test]
fn a_windows_subscribe_decodes() {
    let e = decoded(&windows_subscribe());
    assert!(claims(&e));
    let Body::Eventing(EventingBody::Subscribe(b)) = &e.body else {
        panic!("{:?}", e.body)
    };
    assert_eq!(b.delivery_mode.as_deref(), Some(ns::DELIVERY_PULL));
    assert_eq!(
        b.expires,
        Some(Expires::Duration(Duration::from_secs(3600)))
    );
    let f = b.filter.as_ref().unwrap();
    assert_eq!(f.dialect.as_deref(), Some(ns::DIALECT_WQL));
    assert_eq!(f.content, FilterContent::Text(QUERY.into()));
    assert!(!b.end_to && !b.bookmarks);
}

#[test]
fn renew_unsubscribe_and_get_status_carry_the_identifier() {
    let id = "<e:Identifier>uuid:ABC</e:Identifier>";
    let e = decoded(&env(
        ns::ACTION_EVENTING_RENEW,
        id,
        "<e:Renew><e:Expires>PT60S</e:Expires></e:Renew>",
    ));
    assert_eq!(e.headers.identifier.as_deref(), Some("uuid:ABC"));
    assert_eq!(
        e.body,
        Body::Eventing(EventingBody::Renew {
            expires: Some(Expires::Duration(Duration::from_secs(60)))
        })
    );
    let e = decoded(&env(ns::ACTION_UNSUBSCRIBE, id, "<e:Unsubscribe/>"));
    assert_eq!(e.body, Body::Eventing(EventingBody::Unsubscribe));
    assert!(claims(&e));
    let e = decoded(&env(ns::ACTION_EVENTING_GET_STATUS, id, "<e:GetStatus/>"));
    assert_eq!(e.body, Body::Eventing(EventingBody::GetStatus));
}

#[test]
fn expirations_that_are_no_durations() {
    let e = decoded(&env(
        ns::ACTION_SUBSCRIBE,
        "",
        "<e:Subscribe><e:Expires>2030-01-01T00:00:00Z</e:Expires></e:Subscribe>",
    ));
    let Body::Eventing(EventingBody::Subscribe(b)) = &e.body else {
        panic!()
    };
    assert_eq!(
        b.expires,
        Some(Expires::Other("2030-01-01T00:00:00Z".into()))
    );
    let r = decode(
        env(
            ns::ACTION_SUBSCRIBE,
            "",
            "<e:Subscribe><e:Expires>PTxS</e:Expires></e:Subscribe>",
        )
        .as_bytes(),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(r.fault.kind, FaultKind::InvalidExpirationTime);
    assert_eq!(r.message_id.as_deref(), Some("uuid:1"));
}

#[test]
fn two_filters_and_unserved_features_are_told() {
    let f = format!(
        "<w:Filter Dialect=\"{}\">{QUERY}</w:Filter>",
        ns::DIALECT_WQL
    );
    let r = decode(
        env(
            ns::ACTION_SUBSCRIBE,
            "",
            &format!("<e:Subscribe>{f}{f}</e:Subscribe>"),
        )
        .as_bytes(),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(r.fault.kind, FaultKind::InvalidMessage);
    let e = decoded(&env(
        ns::ACTION_SUBSCRIBE,
        "",
        "<e:Subscribe><e:EndTo><a:Address>http://x</a:Address></e:EndTo><w:SendBookmarks/></e:Subscribe>",
    ));
    let Body::Eventing(EventingBody::Subscribe(b)) = &e.body else {
        panic!()
    };
    assert!(b.end_to && b.bookmarks);
    assert_eq!(b.delivery_mode, None);
}

#[test]
fn only_event_contexts_are_claimed() {
    let pull = |ctx: &str| {
        decoded(&env(
            ns::ACTION_PULL,
            "",
            &format!("<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext></n:Pull>"),
        ))
    };
    assert!(claims(&pull("uuid:X-ev")));
    assert!(!claims(&pull("17-256")));
    let release = decoded(&env(
        ns::ACTION_RELEASE,
        "",
        "<n:Release><n:EnumerationContext>uuid:X-ev</n:EnumerationContext></n:Release>",
    ));
    assert!(claims(&release));
    let get = decoded(&env(ns::ACTION_GET, "", ""));
    assert!(!claims(&get));
}

fn prop(name: &str, v: Value) -> InstanceProperty {
    InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::scalar(v.cim_type().unwrap_or(CimType::String)),
        value: Some(v),
    }
}

#[test]
fn an_event_is_its_class_with_the_target_embedded() {
    let row = Instance {
        class_name: Name::new("__InstanceModificationEvent"),
        properties: vec![
            prop("TIME_CREATED", Value::UInt64(133_000_000_000_000_000)),
            prop(
                "TargetInstance",
                Value::Reference(Box::new(
                    "Win32_ServerConnection.ShareName=\"public\""
                        .parse()
                        .unwrap(),
                )),
            ),
            prop(
                "TargetInstance.__CLASS",
                Value::String("Win32_ServerConnection".into()),
            ),
            prop("TargetInstance.ShareName", Value::String("pub<lic>".into())),
            prop("TargetInstance.NumberOfFiles", Value::UInt32(1)),
            prop(
                "PreviousInstance.__CLASS",
                Value::String("Win32_ServerConnection".into()),
            ),
            prop("PreviousInstance.NumberOfFiles", Value::UInt32(0)),
        ],
    };
    let mut out = String::new();
    write_event(
        &mut out,
        &row,
        "root/cimv2",
        UriForm::Wmi,
        "Win32_ServerConnection",
    );
    let wrapped = format!(
        "<r xmlns:xsi=\"{}\" xmlns:a=\"{}\" xmlns:w=\"{}\" xmlns:cim=\"{}\">{out}</r>",
        ns::XSI,
        ns::WSA,
        ns::WSMAN,
        ns::CIM
    );
    let doc = roxmltree::Document::parse(&wrapped).unwrap_or_else(|e| panic!("{e}: {out}"));
    let ev = doc.root_element().first_element_child().unwrap();
    let wmi = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/";
    assert_eq!(
        ev.tag_name().namespace(),
        Some(format!("{wmi}__InstanceModificationEvent").as_str())
    );
    let names: Vec<&str> = ev
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(
        names,
        ["TIME_CREATED", "TargetInstance", "PreviousInstance"]
    );
    let target = ev
        .children()
        .find(|n| n.has_tag_name("TargetInstance"))
        .unwrap();
    assert_eq!(
        target.attribute((ns::XSI, "type")),
        Some("q:Win32_ServerConnection_Type")
    );
    let members: Vec<(String, &str)> = target
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            assert_eq!(
                n.tag_name().namespace(),
                Some(format!("{wmi}Win32_ServerConnection").as_str())
            );
            (n.tag_name().name().to_owned(), n.text().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        members,
        [
            ("ShareName".to_owned(), "pub<lic>"),
            ("NumberOfFiles".to_owned(), "1")
        ]
    );
}

#[test]
fn a_projected_reference_stays_a_reference() {
    let row = Instance {
        class_name: Name::new("__InstanceCreationEvent"),
        properties: vec![prop(
            "TargetInstance",
            Value::Reference(Box::new("Win32_Share.Name=\"a\"".parse().unwrap())),
        )],
    };
    let mut out = String::new();
    write_event(&mut out, &row, "root/cimv2", UriForm::Dmtf, "Win32_Share");
    assert!(out.contains("<p:TargetInstance><a:Address>"), "{out}");
}

#[test]
fn eventing_faults_declare_their_prefix() {
    let f = Fault::new(FaultKind::DeliveryModeRequestedUnavailable, "push");
    let text = f.envelope(Some("uuid:1"), "host");
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let sub = doc
        .descendants()
        .find(|n| n.has_tag_name((ns::SOAP, "Subcode")))
        .unwrap();
    assert!(sub
        .descendants()
        .any(|n| n.text() == Some("e:DeliveryModeRequestedUnavailable")));
    assert!(text.contains(ns::FAULT_EVENTING));
    assert!(text.contains("Code=\"2150858782\""), "{text}");
}

#[test]
fn granted_expirations() {
    let e = Eventing::new(EventingLimits::default());
    assert_eq!(e.granted(None).unwrap(), DEFAULT_EXPIRES);
    assert_eq!(
        e.granted(Some(&Expires::Duration(Duration::from_secs(10 * 86_400))))
            .unwrap(),
        MAX_EXPIRES
    );
    assert_eq!(
        e.granted(Some(&Expires::Duration(Duration::ZERO)))
            .unwrap_err()
            .kind,
        FaultKind::InvalidExpirationTime
    );
    assert_eq!(
        e.granted(Some(&Expires::Other("2030-01-01T00:00:00Z".into())))
            .unwrap_err()
            .kind,
        FaultKind::UnsupportedExpirationType
    );
}
