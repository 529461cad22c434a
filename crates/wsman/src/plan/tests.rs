use super::*;
use crate::envelope::{decode, Limits};

fn envelope(action: &str, uri: &str, selectors: &str, body: &str) -> Envelope {
    let text = format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"><s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:1</a:MessageID><w:ResourceURI>{uri}</w:ResourceURI><w:SelectorSet>{selectors}</w:SelectorSet></s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    );
    decode(text.as_bytes(), None, &Limits::default()).unwrap_or_else(|r| panic!("{r:?}"))
}

const WMI_SHARE: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Share";

#[test]
fn a_get_is_a_get_instance() {
    let e = envelope(
        ns::ACTION_GET,
        WMI_SHARE,
        r#"<w:Selector Name="Name">C$</w:Selector>"#,
        "",
    );
    let Plan::Get {
        namespace,
        form,
        operation: Operation::GetInstance(p),
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    assert_eq!((namespace.as_str(), form), ("root/cimv2", UriForm::Wmi));
    assert_eq!(p.instance_name.to_string(), r#"Win32_Share.Name="C$""#);
}

#[test]
fn a_windows_query_is_an_open_query() {
    let body = r#"<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode><w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM Win32_Share</w:Filter></n:Enumerate>"#;
    let e = envelope(
        ns::ACTION_ENUMERATE,
        "http://schemas.dmtf.org/wbem/wscim/1/*",
        r#"<w:Selector Name="__cimnamespace">root/cimv2</w:Selector>"#,
        body,
    );
    let Plan::Enumerate {
        operation: Operation::OpenQueryInstances(q),
        batching,
        ..
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    assert_eq!(q.filter.query, "SELECT * FROM Win32_Share");
    assert_eq!(q.open.max_object_count, 32000);
    assert_eq!(
        batching,
        Batching {
            mode: EnumerationMode::ObjectAndEpr,
            optimize: true,
            max_elements: 32000
        }
    );
}

#[test]
fn enumerations_of_a_class_and_their_batching() {
    let e = envelope(ns::ACTION_ENUMERATE, WMI_SHARE, "", "<n:Enumerate/>");
    let Plan::Enumerate {
        operation: Operation::OpenEnumerateInstances(p),
        batching,
        ..
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    assert_eq!(p.class_name.as_str(), "Win32_Share");
    assert_eq!(
        batching.max_elements, 0,
        "not optimized: items come by Pull"
    );
    let e = envelope(
        ns::ACTION_ENUMERATE,
        WMI_SHARE,
        "",
        "<n:Enumerate><w:OptimizeEnumeration/><w:EnumerationMode>EnumerateEPR</w:EnumerationMode></n:Enumerate>",
    );
    let Plan::Enumerate {
        operation: Operation::OpenEnumerateInstancePaths(_),
        batching,
        ..
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    assert_eq!(batching.max_elements, 1, "DSP0226: MaxElements absent is 1");
}

#[test]
fn association_filters_are_associators_or_references() {
    let filter = |kind: &str| {
        format!(
            r#"<n:Enumerate><w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"><b:{kind}><b:Object><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.dell.com/wbem/wscim/1/cim-schema/2/Win32_Share</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">IPC$</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object><b:AssociationClassName>Win32_ConnectionShare</b:AssociationClassName><b:ResultClassName>Win32_ServerConnection</b:ResultClassName></b:{kind}></w:Filter></n:Enumerate>"#
        )
    };
    let all = "http://schemas.dmtf.org/wbem/wscim/1/*";
    let e = envelope(
        ns::ACTION_ENUMERATE,
        all,
        "",
        &filter("AssociatedInstances"),
    );
    let Plan::Enumerate {
        namespace,
        operation: Operation::OpenAssociatorInstances(p),
        ..
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    // No __cimnamespace anywhere: Windows' default for DMTF URIs.
    assert_eq!(namespace, "root/hardware");
    assert_eq!(
        p.assoc.assoc_class.unwrap().as_str(),
        "Win32_ConnectionShare"
    );
    assert_eq!(
        p.assoc.result_class.unwrap().as_str(),
        "Win32_ServerConnection"
    );
    assert_eq!(p.instance_name.to_string(), r#"Win32_Share.Name="IPC$""#);
    let e = envelope(
        ns::ACTION_ENUMERATE,
        all,
        "",
        &filter("AssociationInstances"),
    );
    let Plan::Enumerate {
        operation: Operation::OpenReferenceInstances(p),
        ..
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        p.refs.result_class.unwrap().as_str(),
        "Win32_ConnectionShare"
    );
}

#[test]
fn wrong_requests_get_their_faults() {
    let enumerate = |body: &str| plan(&envelope(ns::ACTION_ENUMERATE, WMI_SHARE, "", body));
    let f = enumerate("<n:Enumerate><w:Filter Dialect=\"urn:xpath\">x</w:Filter></n:Enumerate>")
        .unwrap_err();
    assert_eq!(f.kind, FaultKind::FilterDialectRequestedUnavailable);
    let f = enumerate("<n:Enumerate><w:Filter>x</w:Filter></n:Enumerate>").unwrap_err();
    assert_eq!(f.kind, FaultKind::FilterDialectRequestedUnavailable);
    let f = enumerate(&format!(
        "<n:Enumerate><w:Filter Dialect=\"{}\"> </w:Filter></n:Enumerate>",
        ns::DIALECT_WQL
    ))
    .unwrap_err();
    assert_eq!(f.kind, FaultKind::CannotProcessFilter);
    let f = plan(&envelope(
        ns::ACTION_ENUMERATE,
        "http://schemas.dmtf.org/wbem/wscim/1/*",
        "",
        "<n:Enumerate/>",
    ))
    .unwrap_err();
    assert_eq!(f.kind, FaultKind::CannotProcessFilter);
    let f = plan(&envelope(
        ns::ACTION_ENUMERATE,
        WMI_SHARE,
        r#"<w:Selector Name="Name">x</w:Selector>"#,
        "<n:Enumerate/>",
    ))
    .unwrap_err();
    assert_eq!(
        (f.kind, f.detail),
        (FaultKind::InvalidSelectors, Some("UnexpectedSelectors"))
    );
    for action in [ns::ACTION_GET_STATUS, ns::ACTION_RENEW, "urn:put"] {
        let f = plan(&envelope(action, WMI_SHARE, "", "")).unwrap_err();
        assert_eq!(f.kind, FaultKind::ActionNotSupported, "{action}");
    }
    let f = plan(&envelope(ns::ACTION_PULL, WMI_SHARE, "", "<n:Enumerate/>")).unwrap_err();
    assert_eq!(f.kind, FaultKind::SchemaValidationError);
    let f = plan(&envelope(ns::ACTION_GET, "http://nowhere/x", "", "")).unwrap_err();
    assert_eq!(f.kind, FaultKind::DestinationUnreachable);
    let mut e = envelope(ns::ACTION_GET, WMI_SHARE, "", "");
    e.headers.message_id = None;
    assert_eq!(
        plan(&e).unwrap_err().kind,
        FaultKind::MessageInformationHeaderRequired
    );
    e.headers.action = None;
    assert_eq!(
        plan(&e).unwrap_err().kind,
        FaultKind::MessageInformationHeaderRequired
    );
    e.body = Body::Identify;
    assert_eq!(plan(&e).unwrap(), Plan::Identify);
}

#[test]
fn class_definitions_are_get_class() {
    let e = envelope(
        ns::ACTION_GET,
        resource::CIM_XML_CLASSES,
        r#"<w:Selector Name="ClassName">Win32_Share</w:Selector><w:Selector Name="__cimnamespace">root/cimv2</w:Selector>"#,
        "",
    );
    let Plan::Get {
        operation: Operation::GetClass(c),
        ..
    } = plan(&e).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.class_name.as_str(), "Win32_Share");
}

fn invoke_plan(e: &Envelope) -> (String, ObjectPath, String, Vec<(Name, Option<Value>)>) {
    let Plan::Invoke {
        namespace,
        resource_uri,
        operation:
            Operation::InvokeMethod {
                target,
                method,
                params,
            },
        ..
    } = plan(e).unwrap_or_else(|f| panic!("{f:?}"))
    else {
        panic!()
    };
    assert_eq!(resource_uri, WMI_SHARE);
    (namespace, target, method.to_string(), params)
}

#[test]
fn an_invoke_without_keys_calls_the_class() {
    let body = format!(
        r#"<p:Create_INPUT xmlns:p="{WMI_SHARE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><p:Path>/srv/x</p:Path><p:Name> x </p:Name><p:Type>0</p:Type><p:Description xsi:nil="true"/></p:Create_INPUT>"#
    );
    let e = envelope(&format!("{WMI_SHARE}/Create"), WMI_SHARE, "", &body);
    let (namespace, target, method, params) = invoke_plan(&e);
    assert_eq!(namespace, "root/cimv2");
    assert_eq!(target.keys, Keys::Class);
    assert_eq!(target.class.as_str(), "Win32_Share");
    assert_eq!(method, "Create");
    let s = |v: &str| Some(Value::String(v.into()));
    assert_eq!(
        params,
        vec![
            (Name::new("Path"), s("/srv/x")),
            (Name::new("Name"), s(" x ")),
            (Name::new("Type"), s("0")),
            (Name::new("Description"), None),
        ]
    );
}

#[test]
fn an_invoke_with_keys_calls_the_instance_and_repeats_make_arrays() {
    let body = format!(
        r#"<p:SetShareInfo_INPUT xmlns:p="{WMI_SHARE}"><p:Tags>a</p:Tags><p:Tags>b</p:Tags></p:SetShareInfo_INPUT>"#
    );
    let e = envelope(
        &format!("{WMI_SHARE}/SetShareInfo"),
        WMI_SHARE,
        r#"<w:Selector Name="Name">data</w:Selector>"#,
        &body,
    );
    let (_, target, _, params) = invoke_plan(&e);
    assert_eq!(target.to_string(), r#"Win32_Share.Name="data""#);
    assert_eq!(
        params,
        vec![(
            Name::new("Tags"),
            Some(Value::Array(vec![
                Value::String("a".into()),
                Value::String("b".into())
            ]))
        )]
    );
}

#[test]
fn an_invoke_whose_body_or_action_does_not_fit_is_refused() {
    let input = format!(r#"<p:Create_INPUT xmlns:p="{WMI_SHARE}"/>"#);
    // The body names another method.
    let e = envelope(&format!("{WMI_SHARE}/Delete"), WMI_SHARE, "", &input);
    assert_eq!(plan(&e).unwrap_err().kind, FaultKind::SchemaValidationError);
    // The action is under another resource URI.
    let e = envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process/Create",
        WMI_SHARE,
        "",
        &input,
    );
    assert_eq!(plan(&e).unwrap_err().kind, FaultKind::ActionNotSupported);
    // A method action with another body.
    let e = envelope(
        &format!("{WMI_SHARE}/Create"),
        WMI_SHARE,
        "",
        "<n:Enumerate/>",
    );
    assert_eq!(plan(&e).unwrap_err().kind, FaultKind::SchemaValidationError);
    // Embedded objects are not taken.
    let nested = format!(
        r#"<p:Create_INPUT xmlns:p="{WMI_SHARE}"><p:Access><p:X>1</p:X></p:Access></p:Create_INPUT>"#
    );
    let text = format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>{nested}</s:Body></s:Envelope>"#
    );
    let rejected = decode(text.as_bytes(), None, &Limits::default()).unwrap_err();
    assert_eq!(rejected.fault.kind, FaultKind::UnsupportedFeature);
}
