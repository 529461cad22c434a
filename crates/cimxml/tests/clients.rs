//! The exact request bodies pywbem 1.9.1 and sblim wbemcli 1.6.3 send,
//! captured with tests/data/capture_server.py (pywbem driven by
//! tests/data/pywbem/capture_client.py; wbemcli by its ei, ein, gi, gc, ecn,
//! ai, ain, ri, rin and ec verbs), decoded, and checked against the
//! CIMMethod/CIMObject headers they came with.

use openwmi_cim::{Keys, Name, Value};
use openwmi_cimxml::{
    check_headers, decode_request, AssocParams, Associators, ClassFlags, EnumContext,
    EnumerateInstances, ExecQuery, GetClass, GetInstance, InstanceOptions, Limits,
    OpenEnumerateInstances, OpenQueryInstances, Operation, Pull, Request,
};
use std::path::PathBuf;

fn data_dir(client: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(client)
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Decodes every capture of `client`, checks its headers, returns them by file stem.
fn decode_all(client: &str) -> Vec<(String, Request)> {
    let mut files: Vec<_> = std::fs::read_dir(data_dir(client))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "captures missing for {client}");
    files
        .into_iter()
        .map(|p| {
            let body = std::fs::read(&p).unwrap();
            let req = decode_request(&body, &Limits::request())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let headers = std::fs::read_to_string(p.with_extension("headers")).unwrap();
            check_headers(
                header(&headers, "CIMMethod"),
                header(&headers, "CIMObject"),
                &req,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, req)
        })
        .collect()
}

fn find<'a>(all: &'a [(String, Request)], stem: &str) -> &'a Request {
    &all.iter().find(|(s, _)| s == stem).unwrap().1
}

#[test]
fn pywbem_requests_decode() {
    let all = decode_all("pywbem");
    assert_eq!(all.len(), 33);
    for (stem, req) in &all {
        assert_eq!(req.message_id, "1001", "{stem}");
        assert_eq!(req.protocol_version, "1.0");
        let expected_method = stem.split_once('-').unwrap().1;
        assert_eq!(req.method_name(), expected_method, "{stem}");
        if stem != "10-EnumerateInstanceNames" {
            assert_eq!(req.namespace, "root/cimv2", "{stem}");
        }
        // Every operation pywbem sent is one openwmi decodes.
        assert!(
            !matches!(req.operation, Operation::Unsupported(_)),
            "{stem}: {:?}",
            req.operation
        );
    }

    assert_eq!(
        find(&all, "00-GetClass").operation,
        Operation::GetClass(GetClass {
            class_name: Name::new("Win32_Share"),
            flags: ClassFlags {
                local_only: true,
                include_qualifiers: true,
                include_class_origin: false,
            },
            property_list: None,
        })
    );
    assert_eq!(
        find(&all, "01-GetClass").operation,
        Operation::GetClass(GetClass {
            class_name: Name::new("Win32_Share"),
            flags: ClassFlags {
                local_only: false,
                include_qualifiers: true,
                include_class_origin: true,
            },
            property_list: Some(vec![Name::new("Name"), Name::new("Path")]),
        })
    );
    match &find(&all, "07-GetInstance").operation {
        Operation::GetInstance(GetInstance {
            instance_name,
            local_only,
            options,
            ..
        }) => {
            assert!(!local_only);
            assert_eq!(
                options.property_list.as_deref(),
                Some(&[Name::new("Name")][..])
            );
            assert_eq!(instance_name.class.as_str(), "Win32_ServerConnection");
            let Keys::Bindings(b) = &instance_name.keys else {
                panic!("{instance_name:?}")
            };
            assert_eq!(b.len(), 5);
            assert_eq!(b[0].value, Value::String("pub".into()));
            assert_eq!(b[3].name.as_str(), "Num");
            assert_eq!(b[3].value, Value::UInt32(3));
            assert_eq!(b[4].value, Value::Boolean(true));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        find(&all, "09-EnumerateInstances").operation,
        Operation::EnumerateInstances(EnumerateInstances {
            class_name: Name::new("Win32_Share"),
            local_only: false,
            deep_inheritance: false,
            include_qualifiers: false,
            options: InstanceOptions {
                include_class_origin: true,
                property_list: Some(vec![]),
            },
        })
    );
    assert_eq!(
        find(&all, "10-EnumerateInstanceNames").namespace,
        "root/interop"
    );
    assert_eq!(
        find(&all, "11-ExecQuery").operation,
        Operation::ExecQuery(ExecQuery {
            query_language: "WQL".into(),
            query: "SELECT * FROM Win32_Share WHERE Name = \"a<b>&c\"".into(),
        })
    );
    match &find(&all, "12-Associators").operation {
        Operation::Associators(Associators {
            assoc:
                AssocParams {
                    assoc_class,
                    result_class,
                    role,
                    result_role,
                },
            ..
        }) => {
            assert_eq!(
                assoc_class.as_ref().unwrap().as_str(),
                "Win32_ConnectionShare"
            );
            assert_eq!(
                result_class.as_ref().unwrap().as_str(),
                "Win32_ServerConnection"
            );
            assert_eq!(role.as_ref().unwrap().as_str(), "Antecedent");
            assert_eq!(result_role.as_ref().unwrap().as_str(), "Dependent");
        }
        other => panic!("{other:?}"),
    }
    match &find(&all, "13-Associators").operation {
        Operation::Associators(Associators { object_name, .. }) => {
            assert_eq!(object_name.keys, Keys::Class)
        }
        other => panic!("{other:?}"),
    }
    match &find(&all, "20-OpenEnumerateInstances").operation {
        Operation::OpenEnumerateInstances(OpenEnumerateInstances { filter, open, .. }) => {
            let f = filter.as_ref().unwrap();
            assert_eq!(f.query_language, "DMTF:FQL");
            assert_eq!(f.query, "Name = \"x\"");
            assert_eq!(open.operation_timeout, Some(30));
            assert_eq!(open.max_object_count, 10);
        }
        other => panic!("{other:?}"),
    }
    match &find(&all, "26-OpenQueryInstances").operation {
        Operation::OpenQueryInstances(OpenQueryInstances { filter, open, .. }) => {
            assert_eq!(filter.query, "SELECT * FROM Win32_Share");
            assert_eq!(open.max_object_count, 100);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        find(&all, "27-PullInstancesWithPath").operation,
        Operation::PullInstancesWithPath(Pull {
            enumeration_context: "ctx-1".into(),
            max_object_count: 100
        })
    );
    assert_eq!(
        find(&all, "30-CloseEnumeration").operation,
        Operation::CloseEnumeration(EnumContext {
            enumeration_context: "ctx-4".into()
        })
    );
    match &find(&all, "31-Create").operation {
        Operation::InvokeMethod {
            target,
            method,
            params,
        } => {
            assert_eq!(target.class.as_str(), "Win32_Share");
            assert_eq!(target.keys, Keys::Class);
            assert_eq!(method.as_str(), "Create");
            assert_eq!(params.len(), 3);
            assert_eq!(params[2].1, Some(Value::UInt32(0)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wbemcli_requests_decode() {
    let all = decode_all("wbemcli");
    assert_eq!(all.len(), 10);
    for (stem, req) in &all {
        assert_eq!(req.message_id, "4711", "{stem}");
        assert_eq!(req.namespace, "root/cimv2", "{stem}");
        assert!(
            !matches!(req.operation, Operation::Unsupported(_)),
            "{stem}"
        );
    }
    match &find(&all, "02-GetInstance").operation {
        Operation::GetInstance(GetInstance {
            instance_name,
            local_only,
            include_qualifiers,
            options,
        }) => {
            assert!(!local_only && !include_qualifiers && options.include_class_origin);
            assert!(options.property_list.is_none());
            // wbemcli sends KEYVALUE without TYPE: VALUETYPE="string" decides.
            assert_eq!(
                instance_name.keys,
                Keys::Bindings(vec![openwmi_cim::KeyBinding {
                    name: Name::new("Name"),
                    value: Value::String("public".into())
                }])
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_mismatches_are_refused() {
    let body = std::fs::read(data_dir("wbemcli").join("02-GetInstance.xml")).unwrap();
    let req = decode_request(&body, &Limits::request()).unwrap();
    assert!(check_headers(Some("GetInstance"), Some("root%2Fcimv2"), &req).is_ok());
    assert!(check_headers(Some("getinstance"), Some("/root/cimv2/"), &req).is_ok());
    for (m, o) in [
        (Some("EnumerateInstances"), Some("root/cimv2")),
        (None, Some("root/cimv2")),
        (Some("GetInstance"), Some("root/interop")),
        (Some("GetInstance"), None),
        (Some("GetInstance"), Some("root%2")),
    ] {
        let e = check_headers(m, o, &req).unwrap_err();
        assert_eq!(
            e.http_cim_error_header(),
            Some("header-mismatch"),
            "{m:?} {o:?}"
        );
        assert_eq!(e.http_status(), 400);
    }
    let body = std::fs::read(data_dir("pywbem").join("31-Create.xml")).unwrap();
    let req = decode_request(&body, &Limits::request()).unwrap();
    assert!(check_headers(Some("Create"), Some("root/cimv2:Win32_Share"), &req).is_ok());
    assert!(check_headers(Some("Create"), Some("root/cimv2:Win32_Other"), &req).is_err());
}

#[test]
fn regression_decoded_headers_are_not_decoded_again() {
    let body = std::fs::read(data_dir("pywbem").join("31-Create.xml")).unwrap();
    let req = decode_request(&body, &Limits::request()).unwrap();
    // A server hands over `root/cimv2:Win32_Share.Name="50%"` already decoded;
    // decoding it again would fail on the lone '%'.
    let object = "root/cimv2:Win32_Share.Name=\"50%\"";
    assert!(openwmi_cimxml::check_decoded_headers(Some("Create"), Some(object), &req).is_ok());
    assert!(check_headers(Some("Create"), Some(object), &req).is_err());
}
