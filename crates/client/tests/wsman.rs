//! The client against Windows-shaped WS-Management answers (a replay server
//! on loopback): results, paths and errors, and that every request is what
//! Windows' own client would send.

mod wsman_replay;

use openwmi_cim::{Value, WbemStatus};
use openwmi_client::{ConnectParams, Locator, Protocol, Services, WbemError, WbemObject};
use wsman_replay::{windows, Replay, Reply, PASSWORD, USER};

fn params(resource: String) -> ConnectParams {
    ConnectParams {
        user: Some(USER.into()),
        password: Some(PASSWORD.into()),
        ..ConnectParams::new(resource)
    }
}

fn connect(srv: &Replay) -> Result<Services, WbemError> {
    Locator::new().connect_server(&params(srv.url()))
}

fn instances(
    s: &Services,
    wql: &str,
) -> Result<Vec<(Option<String>, openwmi_cim::Instance)>, WbemError> {
    s.exec_query(wql)?
        .map(|o| match o? {
            WbemObject::Instance { path, instance } => Ok((path.map(|p| p.to_string()), instance)),
            WbemObject::Class(c) => panic!("class {}", c.name),
        })
        .collect()
}

fn is_guid_id(id: &str) -> bool {
    let Some(g) = id.strip_prefix("uuid:") else {
        return false;
    };
    g.len() == 36
        && g.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_digit() || ('A'..='F').contains(&c)
            }
        })
}

/// What every request carries, as Windows' client sends it.
fn check_common(r: &wsman_replay::Recorded, url: &str) {
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/wsman"));
    assert_eq!(
        r.header("Content-Type"),
        Some("application/soap+xml;charset=UTF-8")
    );
    assert!(r.header("Authorization").unwrap().starts_with("Basic "));
    let p = r.parsed();
    if p.action.is_none() {
        return; // Identify has no addressing headers
    }
    assert_eq!(p.to.as_deref(), Some(url));
    assert_eq!(p.action_must_understand.as_deref(), Some("true"));
    assert_eq!(p.resource_uri_must_understand.as_deref(), Some("true"));
    assert!(
        is_guid_id(p.message_id.as_deref().unwrap()),
        "{:?}",
        p.message_id
    );
    assert_eq!(
        p.reply_to.as_deref(),
        Some("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous")
    );
    assert_eq!(p.max_envelope_size.as_deref(), Some("512000"));
    assert_eq!(p.operation_timeout.as_deref(), Some("PT60.000S"));
    assert_eq!(p.locale.as_deref(), Some("en-US"));
    assert_eq!(p.locale_must_understand.as_deref(), Some("false"));
    assert_eq!(p.data_locale.as_deref(), Some("en-US"));
    assert!(is_guid_id(p.session_id.as_deref().unwrap()));
}

#[test]
fn query_enumerates_then_pulls_to_the_end() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    assert_eq!(s.namespace(), "root/cimv2");
    let host = format!("127.0.0.1:{}", srv.port);
    assert_eq!(s.host(), Some(host.as_str()));
    let rows = instances(&s, "SELECT * FROM Win32_Share").unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|(_, i)| i.value("Name").and_then(Value::as_str).unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ADMIN$", "C$", "Users"]);
    assert_eq!(
        rows[0].0.as_deref(),
        Some(format!("\\\\{host}\\root\\cimv2:Win32_Share.Name=\"ADMIN$\"").as_str())
    );
    assert_eq!(rows[0].1.value("AccessMask"), None, "xsi:nil is NULL");
    assert_eq!(
        rows[2].1.value("Caption").and_then(Value::as_str),
        Some("Users & profiles")
    );

    let reqs = srv.requests();
    let actions: Vec<String> = reqs
        .iter()
        .map(|r| {
            let p = r.parsed();
            format!(
                "{} {}",
                p.action.unwrap_or_default().rsplit('/').next().unwrap(),
                p.resource_uri.unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            " ".to_owned(),
            "Enumerate http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*".into(),
            "Get http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*".into(),
            "Pull http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*".into(),
        ]
    );
    for r in &reqs {
        check_common(r, &srv.url());
    }
    assert_eq!(
        reqs[0].parsed().body_element.as_deref(),
        Some("http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd|Identify")
    );
    let e = reqs[1].parsed();
    assert!(e.optimize);
    assert_eq!(e.max_elements.as_deref(), Some("32000"));
    assert_eq!(e.enumeration_mode.as_deref(), Some("EnumerateObjectAndEPR"));
    assert_eq!(
        e.filter_dialect.as_deref(),
        Some("http://schemas.microsoft.com/wbem/wsman/1/WQL")
    );
    assert_eq!(e.filter.as_deref(), Some("SELECT * FROM Win32_Share"));
    assert!(
        e.selectors.is_empty(),
        "Windows faults on selectors with WQL"
    );
    let c = reqs[2].parsed();
    assert_eq!(
        c.selectors,
        [
            ("__cimnamespace".to_owned(), "root/cimv2".to_owned()),
            ("ClassName".to_owned(), "Win32_Share".to_owned())
        ]
    );
    let pull = reqs[3].parsed();
    assert_eq!(
        pull.context.as_deref(),
        Some("uuid:6E1D2A3B-4C5D-4E6F-8A7B-9C0D1E2F3A4B")
    );
    assert_eq!(pull.max_elements.as_deref(), Some("32000"));
    assert_ne!(reqs[1].parsed().message_id, pull.message_id);
}

#[test]
fn values_are_typed_by_the_class_when_the_server_gives_it() {
    let class = "<CLASS NAME=\"Win32_Share\" SUPERCLASS=\"CIM_LogicalElement\">\
        <PROPERTY NAME=\"Name\" TYPE=\"string\"><QUALIFIER NAME=\"key\" TYPE=\"boolean\"><VALUE>true</VALUE></QUALIFIER></PROPERTY>\
        <PROPERTY NAME=\"Type\" TYPE=\"uint32\"/><PROPERTY NAME=\"AllowMaximum\" TYPE=\"boolean\"/>\
        <PROPERTY NAME=\"AccessMask\" TYPE=\"uint32\"/><PROPERTY NAME=\"Path\" TYPE=\"string\"/></CLASS>";
    let srv = Replay::start(windows(Some(class.into())));
    let s = connect(&srv).unwrap();
    let rows = instances(&s, "SELECT * FROM Win32_Share").unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].1.value("Type"), Some(&Value::UInt32(2147483648)));
    assert_eq!(rows[0].1.value("AllowMaximum"), Some(&Value::Boolean(true)));
    let gets = srv
        .requests()
        .iter()
        .filter(|r| r.parsed().action.unwrap_or_default().ends_with("/Get"))
        .count();
    assert_eq!(gets, 1, "one class definition per class");

    // The class itself, and GetObject of an instance by its key.
    match s.get_object("Win32_Share").unwrap() {
        WbemObject::Class(c) => {
            assert_eq!(c.name.as_str(), "Win32_Share");
            assert!(c.property("Name").unwrap().is_key());
        }
        other => panic!("{other:?}"),
    }
    match s.get_object("Win32_Share=\"ADMIN$\"").unwrap() {
        WbemObject::Instance { path, instance } => {
            assert_eq!(instance.value("Type"), Some(&Value::UInt32(2147483648)));
            assert!(path
                .unwrap()
                .to_string()
                .ends_with("Win32_Share.Name=\"ADMIN$\""));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn get_sends_the_class_resource_uri_and_key_selectors() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    let WbemObject::Instance { path, instance } =
        s.get_object("Win32_Share.Name=\"ADMIN$\"").unwrap()
    else {
        panic!()
    };
    assert_eq!(
        instance.value("Path").and_then(Value::as_str),
        Some("C:\\Windows")
    );
    assert_eq!(
        path.unwrap().to_string(),
        format!(
            "\\\\127.0.0.1:{}\\root\\cimv2:Win32_Share.Name=\"ADMIN$\"",
            srv.port
        )
    );
    let reqs = srv.requests();
    let get = reqs
        .iter()
        .map(|r| r.parsed())
        .find(|p| {
            p.resource_uri.as_deref()
                == Some("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Share")
        })
        .unwrap();
    assert_eq!(
        get.action.as_deref(),
        Some("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get")
    );
    assert_eq!(get.selectors, [("Name".to_owned(), "ADMIN$".to_owned())]);
    assert_eq!(get.body_element, None, "Get has an empty body");
    for r in &reqs {
        check_common(r, &srv.url());
    }
}

#[test]
fn faults_map_to_wbem_codes() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    let e = s.get_object("Win32_Share.Name=\"nosuch\"").unwrap_err();
    assert_eq!(e.status, WbemStatus::NotFound, "{e}");
    let text = e.to_string();
    assert!(text.contains("wsa:DestinationUnreachable"), "{text}");
    assert!(text.contains("2150858752"), "{text}");
    assert!(text.contains("cannot find the resource"), "{text}");

    let e = instances(&s, "SELECT * FROM Win32_Nope").unwrap_err();
    assert_eq!(e.status, WbemStatus::InvalidClass, "{e}");
    assert!(e.to_string().contains("Invalid class"), "{e}");
    let e = s.get_object("Win32_Nope.Name=\"x\"").unwrap_err();
    assert_eq!(e.status, WbemStatus::InvalidClass, "{e}");

    // A server that lists no class definitions (neither way) says so.
    let e = s.class_names(None, true).unwrap_err();
    assert_eq!(e.status, WbemStatus::NotFound, "{e}");
    assert!(
        e.to_string()
            .contains("enumerates class definitions neither"),
        "{e}"
    );

    // A bad query is refused before anything is sent, as over CIM-XML.
    let before = srv.requests().len();
    let e = instances(&s, "SELEC * FROM").unwrap_err();
    assert_eq!(e.status, WbemStatus::InvalidQuery, "{e}");
    assert_eq!(srv.requests().len(), before);
}

#[test]
fn an_empty_result_ends_without_a_pull() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    let rows = instances(&s, "SELECT * FROM Win32_Share WHERE Name = 'none'").unwrap();
    assert!(rows.is_empty());
    assert!(!srv.requests().iter().any(|r| r
        .parsed()
        .action
        .unwrap_or_default()
        .ends_with("/Pull")));
}

#[test]
fn stopping_early_releases_the_enumeration() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    {
        let mut stream = s.exec_query("SELECT * FROM Win32_Share").unwrap();
        assert!(stream.next().unwrap().is_ok());
    }
    let last = srv.requests().last().unwrap().parsed();
    assert_eq!(
        last.action.as_deref(),
        Some("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release")
    );
    assert_eq!(
        last.context.as_deref(),
        Some("uuid:6E1D2A3B-4C5D-4E6F-8A7B-9C0D1E2F3A4B")
    );
}

#[test]
fn wrong_password_is_access_denied() {
    let srv = Replay::start(windows(None));
    let mut p = params(srv.url());
    p.password = Some("wrong".into());
    let e = Locator::new().connect_server(&p).unwrap_err();
    assert_eq!(e.status, WbemStatus::AccessDenied, "{e}");
    p.user = None;
    p.password = None;
    let e = Locator::new().connect_server(&p).unwrap_err();
    assert_eq!(e.status, WbemStatus::AccessDenied, "{e}");
    assert!(e.to_string().contains("none given"), "{e}");
    assert!(srv.requests().iter().all(|r| r.path == "/wsman"));

    // WinRM with Basic disabled (its default) offers only Negotiate/Kerberos.
    let srv = Replay::start(|_| Reply {
        status: 401,
        headers: vec![
            ("WWW-Authenticate".into(), "Negotiate".into()),
            ("WWW-Authenticate".into(), "Kerberos".into()),
        ],
        body: String::new(),
    });
    let e = connect(&srv).unwrap_err();
    assert_eq!(e.status, WbemStatus::AccessDenied, "{e}");
    assert!(
        e.to_string()
            .contains("does not accept Basic authentication (it offers Negotiate, Kerberos)"),
        "{e}"
    );
}

#[test]
fn connection_failures_are_transport_failures() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let e = Locator::new()
        .connect_server(&params(format!("http://127.0.0.1:{port}/wsman")))
        .unwrap_err();
    assert_eq!(e.status, WbemStatus::TransportFailure, "{e}");
    // An answer that is not WS-Management at all.
    let srv = Replay::start(|_| Reply {
        status: 502,
        headers: Vec::new(),
        body: "<html>bad gateway</html>".into(),
    });
    let e = connect(&srv).unwrap_err();
    assert_eq!(e.status, WbemStatus::TransportFailure, "{e}");
    let srv = Replay::start(|_| Reply::ok("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>".into()));
    let e = connect(&srv).unwrap_err();
    assert_eq!(e.status, WbemStatus::Failed, "{e}");
    assert!(
        e.to_string().contains("invalid WS-Management response"),
        "{e}"
    );
}

#[test]
fn protocol_option_and_namespaces() {
    let srv = Replay::start(windows(None));
    // A WMI-style resource with --protocol wsman, on the replay server's port.
    let mut p = params(format!("\\\\127.0.0.1:{}\\root\\cimv2", srv.port));
    p.protocol = Some(Protocol::WsMan);
    p.http = true;
    let s = Locator::new().connect_server(&p).unwrap();
    assert_eq!(instances(&s, "SELECT * FROM Win32_Share").unwrap().len(), 3);
    // The namespace after /wsman/ goes into the resource URI.
    let s = Locator::new()
        .connect_server(&params(format!("{}/root/StandardCimv2", srv.url())))
        .unwrap();
    assert_eq!(s.namespace(), "root/StandardCimv2");
    let _ = instances(&s, "SELECT * FROM Win32_Share").unwrap();
    let uri = srv
        .requests()
        .last()
        .unwrap()
        .parsed()
        .resource_uri
        .unwrap();
    assert!(
        uri.starts_with("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"),
        "{uri}"
    );
}

#[test]
fn classes_come_from_the_cim_xml_schema_uri() {
    let srv = Replay::start(|req| {
        let p = req.parsed();
        let action = p.action.clone().unwrap_or_default();
        if action.is_empty() {
            return Reply::ok(wsman_replay::answer("identify.xml", req));
        }
        assert_eq!(
            p.resource_uri.as_deref(),
            Some("http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*")
        );
        assert_eq!(
            p.selectors,
            [("__cimnamespace".to_owned(), "root/cimv2".to_owned())]
        );
        let classes = "<w:Item><CLASS NAME=\"CIM_A\"/></w:Item><w:Item><CLASS NAME=\"CIM_B\" SUPERCLASS=\"CIM_A\"/></w:Item>\
                       <w:Item><CLASS NAME=\"Win32_C\" SUPERCLASS=\"CIM_B\"/></w:Item>";
        Reply::ok(wsman_replay::answer("enumerate_empty.xml", req).replace(
            "<w:Items></w:Items>",
            &format!("<w:Items>{classes}</w:Items>"),
        ))
    });
    let s = connect(&srv).unwrap();
    let names =
        |v: Vec<openwmi_cim::Name>| v.into_iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(names(s.class_names(None, false).unwrap()), ["CIM_A"]);
    assert_eq!(
        names(s.class_names(Some("CIM_A"), true).unwrap()),
        ["CIM_B", "Win32_C"]
    );
    let e = s.class_names(Some("Nope"), false).unwrap_err();
    assert_eq!(e.status, WbemStatus::InvalidClass);
    assert_eq!(s.create_class_enum(Some("CIM_B"), false).unwrap().len(), 1);
}

/// HTTPS with the server's certificate trusted through `ca_cert` (WinRM's
/// 5986 listener), and refused without it.
#[test]
fn https_with_a_trusted_certificate() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = CertificateDer::from(ck.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let srv = Replay::start_tls(windows(None), std::sync::Arc::new(config));
    let url = format!("https://127.0.0.1:{}/wsman", srv.port);
    let e = Locator::new()
        .connect_server(&params(url.clone()))
        .unwrap_err();
    assert_eq!(e.status, WbemStatus::TransportFailure, "{e}");
    let dir = std::env::temp_dir().join(format!("openwmi-wsman-ca-{}", std::process::id()));
    std::fs::write(&dir, ck.cert.pem()).unwrap();
    let mut p = params(url.clone());
    p.ca_cert = Some(dir.clone());
    let s = Locator::new().connect_server(&p).unwrap();
    assert_eq!(instances(&s, "SELECT * FROM Win32_Share").unwrap().len(), 3);
    let _ = std::fs::remove_file(&dir);
    let mut p = params(url.clone());
    p.insecure = true;
    let s = Locator::new().connect_server(&p).unwrap();
    assert!(s.get_object("Win32_Share.Name=\"ADMIN$\"").is_ok());
    let to = srv.requests().last().unwrap().parsed().to.unwrap();
    assert_eq!(to, url);
}

/// ASSOCIATORS OF goes as the association filter Windows documents for
/// WinRM (`winrm enumerate wmicimv2/* -dialect:association`).
#[test]
fn associators_use_the_association_filter() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    let _ = instances(
        &s,
        "ASSOCIATORS OF {Win32_Share.Name=\"public\"} WHERE AssocClass = Win32_ConnectionShare",
    )
    .unwrap();
    let reqs = srv.requests();
    let e = reqs
        .iter()
        .find(|r| {
            r.parsed()
                .action
                .unwrap_or_default()
                .ends_with("/Enumerate")
        })
        .unwrap();
    let p = e.parsed();
    assert_eq!(
        p.resource_uri.as_deref(),
        Some("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*")
    );
    assert_eq!(
        p.filter_dialect.as_deref(),
        Some("http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter")
    );
    let doc = roxmltree::Document::parse(&e.body).unwrap();
    let b = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd";
    let assoc = doc
        .descendants()
        .find(|n| n.has_tag_name((b, "AssociatedInstances")))
        .expect("b:AssociatedInstances");
    let class = assoc
        .descendants()
        .find(|n| n.has_tag_name((b, "AssociationClassName")))
        .unwrap();
    assert_eq!(class.text(), Some("Win32_ConnectionShare"));
    assert_eq!(
        p.selectors,
        [("Name".to_owned(), "public".to_owned())],
        "the source object's keys"
    );
}

#[test]
fn a_method_call_is_an_invoke_of_the_class_resource_uri() {
    let srv = Replay::start(windows(None));
    let s = connect(&srv).unwrap();
    let params = vec![
        (
            openwmi_cim::Name::new("CommandLine"),
            Some(Value::String("notepad.exe <a&b>".into())),
        ),
        (openwmi_cim::Name::new("CurrentDirectory"), None),
    ];
    let out = s.invoke_method("Win32_Process", "Create", &params).unwrap();
    // No class definition from this server: values as the markers say.
    assert_eq!(out.return_value, Some(Value::String("0".into())));
    assert_eq!(
        out.out_params,
        vec![(
            openwmi_cim::Name::new("ProcessId"),
            Some(Value::String("4242".into()))
        )]
    );
    let reqs = srv.requests();
    let call = reqs
        .iter()
        .find(|r| r.parsed().action.is_some_and(|a| a.ends_with("/Create")))
        .unwrap();
    let p = call.parsed();
    let uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process";
    assert_eq!(p.resource_uri.as_deref(), Some(uri));
    assert_eq!(p.action, Some(format!("{uri}/Create")));
    assert_eq!(p.body_element, Some(format!("{uri}|Create_INPUT")));
    assert!(p.selectors.is_empty(), "a static method has no selectors");
    assert!(
        call.body
            .contains("<p0:CommandLine>notepad.exe &lt;a&amp;b&gt;</p0:CommandLine>"),
        "{}",
        call.body
    );
    assert!(call
        .body
        .contains("<p0:CurrentDirectory xsi:nil=\"true\"/>"));
    for r in &reqs {
        check_common(r, &srv.url());
    }

    // An instance method: the keys as selectors; a fault is an error.
    let e = s
        .invoke_method("Win32_Share.Name=\"x\"", "Delete", &[])
        .unwrap_err();
    assert_eq!(e.status, WbemStatus::NotFound, "{e}");
    let reqs = srv.requests();
    let p = reqs.last().unwrap().parsed();
    assert_eq!(p.selectors, [("Name".to_owned(), "x".to_owned())]);
    assert!(p.action.unwrap().ends_with("/Win32_Share/Delete"));

    // A name that is no CIM name is refused before anything is sent.
    let before = srv.requests().len();
    let e = s
        .invoke_method("Win32_Process", "Cre ate", &[])
        .unwrap_err();
    assert_eq!(e.status, WbemStatus::InvalidParameter, "{e}");
    assert_eq!(srv.requests().len(), before);
}
