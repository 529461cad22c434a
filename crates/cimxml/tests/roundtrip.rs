//! decode_request(encode_request(op)) == op for every operation, and what
//! the response writer writes decodes back to the same objects.

mod common;

use common::*;
use openwmi_cim::{CimError, CimStatus, Keys, Value};
use openwmi_cimxml::{
    decode_request, decode_response, empty_response, encode_request, error_response, ClassFlags,
    ClassOptions, EnumerateClassNames, EnumerateClasses, EnumerateInstances, GetClass, GetInstance,
    InstanceOptions, Limits, OpenEnumerateInstances, Operation, Reply, ResponseWriter, ReturnItem,
};

#[test]
fn every_operation_round_trips() {
    let ops = all_operations();
    assert!(ops.len() >= 28);
    for op in ops {
        let body = encode_request("42", "root/cimv2", &op);
        let req = decode_request(body.as_bytes(), &Limits::request())
            .unwrap_or_else(|e| panic!("{op:?}\n{body}\n{e}"));
        assert_eq!(req.message_id, "42");
        assert_eq!(req.namespace, "root/cimv2");
        assert_eq!(req.operation, op, "\n{body}");
        assert_eq!(req.method_name(), op.method_name());
    }
}

#[test]
fn defaults_follow_dsp0200() {
    let body = |inner: &str| {
        format!(
            "<?xml version=\"1.0\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ>{inner}</SIMPLEREQ></MESSAGE></CIM>"
        )
    };
    let call = |name: &str, params: &str| {
        body(&format!(
            "<IMETHODCALL NAME=\"{name}\"><LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/></LOCALNAMESPACEPATH>{params}</IMETHODCALL>"
        ))
    };
    let cls = "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"X\"/></IPARAMVALUE>";
    let op = |name: &str, params: &str| {
        decode_request(call(name, params).as_bytes(), &Limits::request())
            .unwrap()
            .operation
    };
    assert_eq!(
        op("GetClass", cls),
        Operation::GetClass(GetClass {
            class_name: n("X"),
            flags: ClassFlags {
                local_only: true,
                include_qualifiers: true,
                include_class_origin: false,
            },
            property_list: None
        })
    );
    assert_eq!(
        op("EnumerateInstances", cls),
        Operation::EnumerateInstances(EnumerateInstances {
            class_name: n("X"),
            local_only: true,
            deep_inheritance: true,
            include_qualifiers: false,
            options: InstanceOptions {
                include_class_origin: false,
                property_list: None
            }
        })
    );
    assert_eq!(
        op("EnumerateClasses", ""),
        Operation::EnumerateClasses(EnumerateClasses {
            class_name: None,
            deep_inheritance: false,
            flags: ClassFlags {
                local_only: true,
                include_qualifiers: true,
                include_class_origin: false,
            },
        })
    );
    // A NULL parameter (IPARAMVALUE without a value) takes the default too.
    assert_eq!(
        op(
            "EnumerateClassNames",
            "<IPARAMVALUE NAME=\"ClassName\"/><IPARAMVALUE NAME=\"DeepInheritance\"/>"
        ),
        Operation::EnumerateClassNames(EnumerateClassNames {
            class_name: None,
            deep_inheritance: false
        })
    );
    match op("OpenEnumerateInstances", cls) {
        Operation::OpenEnumerateInstances(OpenEnumerateInstances {
            deep_inheritance,
            options,
            filter,
            open,
            ..
        }) => {
            assert!(deep_inheritance && !options.include_class_origin && filter.is_none());
            assert_eq!(open, Default::default());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        op("ModifyInstance", ""),
        Operation::Unsupported("ModifyInstance".into())
    );
}

#[test]
fn bad_parameters_are_cim_errors_not_protocol_errors() {
    let ns = "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/></LOCALNAMESPACEPATH>";
    let call = |name: &str, params: &str| {
        format!(
            "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"77\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"{name}\">{ns}{params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
        )
    };
    for (name, params) in [
        ("GetClass", ""),
        ("GetClass", "<IPARAMVALUE NAME=\"ClassName\"><VALUE>X</VALUE></IPARAMVALUE>"),
        (
            "EnumerateInstances",
            "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"X\"/></IPARAMVALUE><IPARAMVALUE NAME=\"LocalOnly\"><VALUE>maybe</VALUE></IPARAMVALUE>",
        ),
        (
            "EnumerateInstances",
            "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"X\"/></IPARAMVALUE><IPARAMVALUE NAME=\"Bogus\"><VALUE>1</VALUE></IPARAMVALUE>",
        ),
        (
            "EnumerateInstances",
            "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"X\"/></IPARAMVALUE><IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Y\"/></IPARAMVALUE>",
        ),
        ("PullInstances", "<IPARAMVALUE NAME=\"EnumerationContext\"><VALUE>c</VALUE></IPARAMVALUE>"),
        (
            "PullInstances",
            "<IPARAMVALUE NAME=\"EnumerationContext\"><VALUE>c</VALUE></IPARAMVALUE><IPARAMVALUE NAME=\"MaxObjectCount\"><VALUE>-1</VALUE></IPARAMVALUE>",
        ),
        (
            "GetInstance",
            "<IPARAMVALUE NAME=\"InstanceName\"><INSTANCENAME CLASSNAME=\"X\"><KEYBINDING NAME=\"K\"><KEYVALUE VALUETYPE=\"numeric\" TYPE=\"uint8\">300</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>",
        ),
        (
            "OpenEnumerateInstances",
            "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"X\"/></IPARAMVALUE><IPARAMVALUE NAME=\"FilterQuery\"><VALUE>q</VALUE></IPARAMVALUE>",
        ),
    ] {
        let err = decode_request(call(name, params).as_bytes(), &Limits::request()).unwrap_err();
        assert_eq!(err.cim_status(), Some(CimStatus::InvalidParameter), "{name} {params}: {err}");
        assert_eq!(err.http_status(), 200);
        assert_eq!(err.http_cim_error_header(), None);
        let body = err.error_response().unwrap();
        let rsp = decode_response(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(rsp.message_id, "77");
        assert_eq!(rsp.method_name, name);
        assert_eq!(rsp.result.unwrap_err().status, CimStatus::InvalidParameter);
    }
}

fn decode(body: &str) -> Reply {
    let rsp = decode_response(body.as_bytes(), &Limits::default())
        .unwrap_or_else(|e| panic!("{e}\n{body}"));
    rsp.result.unwrap()
}

#[test]
fn instances_round_trip_through_the_writer() {
    let inst = rich_instance();
    let path = full_path(connection_path());
    let mut w = ResponseWriter::begin("9", "EnumerateInstances").with_origin("h", "root/x");
    w.instance(&inst);
    w.named_instance(&connection_path(), &inst);
    let mut body = w.take();
    w.object_with_path(&path, &inst);
    w.instance_with_path(&path, &inst);
    // Missing host and namespace come from with_origin.
    w.instance_with_path(&share_path(), &inst);
    body.push_str(&w.end());
    let reply = decode(&body);
    let expected = vec![
        ReturnItem::Instance {
            path: None,
            instance: inst.clone(),
        },
        ReturnItem::Instance {
            path: Some(connection_path()),
            instance: inst.clone(),
        },
        ReturnItem::Instance {
            path: Some(path.clone()),
            instance: inst.clone(),
        },
        ReturnItem::Instance {
            path: Some(path),
            instance: inst.clone(),
        },
        ReturnItem::Instance {
            path: Some(share_path().with_host("h").with_namespace("root/x")),
            instance: inst,
        },
    ];
    assert_eq!(reply.items.len(), expected.len());
    for (got, want) in reply.items.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    assert_eq!(reply.end_of_sequence, None);
}

#[test]
fn paths_classes_qualifiers_and_values_round_trip() {
    let mut w = ResponseWriter::begin("1", "X");
    w.instance_name(&connection_path());
    w.instance_path(&full_path(share_path()));
    w.object_path(&full_path(share_path()));
    w.object_path(&full_path(class_path("Win32_Share")));
    w.class_name("Win32_Share");
    w.value(&Value::String("v".into()));
    let body = w.end();
    let reply = decode(&body);
    assert_eq!(
        reply.items,
        vec![
            ReturnItem::Path(connection_path()),
            ReturnItem::Path(full_path(share_path())),
            ReturnItem::Path(full_path(share_path())),
            ReturnItem::Path(full_path(class_path("Win32_Share"))),
            ReturnItem::ClassName(n("Win32_Share")),
            ReturnItem::Value(Value::String("v".into())),
        ]
    );

    let class = rich_class();
    let mut w = ResponseWriter::begin("1", "GetClass");
    w.class(&class, &ClassOptions::default());
    w.class_with_path(
        &full_path(class_path("Win32_Share")),
        &class,
        &ClassOptions::default(),
    );
    let reply = decode(&w.end());
    assert_eq!(
        reply.items,
        vec![
            ReturnItem::Class {
                path: None,
                class: class.clone()
            },
            ReturnItem::Class {
                path: Some(full_path(class_path("Win32_Share"))),
                class: class.clone()
            },
        ]
    );

    // LocalOnly drops propagated members; no qualifiers, no class origins.
    let mut w = ResponseWriter::begin("1", "GetClass");
    w.class(
        &class,
        &ClassOptions {
            local_only: true,
            include_qualifiers: false,
            include_class_origin: false,
            property_list: None,
        },
    );
    let body = w.end();
    assert!(
        !body.contains("QUALIFIER") && !body.contains("CLASSORIGIN"),
        "{body}"
    );
    let ReturnItem::Class { class: got, .. } = &decode(&body).items[0] else {
        panic!()
    };
    assert_eq!(got.properties.len(), 3);
    assert!(got.property("Caption").is_none());

    let decls = qualifier_decls();
    let mut w = ResponseWriter::begin("1", "EnumerateQualifiers");
    for d in &decls {
        w.qualifier_decl(d);
    }
    let reply = decode(&w.end());
    let got: Vec<_> = reply
        .items
        .into_iter()
        .map(|i| match i {
            ReturnItem::QualifierDecl(d) => d,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, decls);
}

#[test]
fn pull_tail_errors_and_empty_responses() {
    let mut w = ResponseWriter::begin("5", "OpenEnumerateInstancePaths");
    w.instance_path(&full_path(share_path()));
    let reply = decode(&w.end_pull(false, Some("ctx&1")));
    assert_eq!(reply.items.len(), 1);
    assert_eq!(reply.end_of_sequence, Some(false));
    assert_eq!(reply.enumeration_context.as_deref(), Some("ctx&1"));

    let w = ResponseWriter::begin("5", "PullInstancesWithPath");
    let reply = decode(&w.end_pull(true, None));
    assert!(reply.items.is_empty());
    assert_eq!(reply.end_of_sequence, Some(true));
    assert_eq!(reply.enumeration_context, None);

    let body = error_response(
        "6",
        "GetInstance",
        true,
        &CimError::not_found("no <such> \"share\""),
    );
    let rsp = decode_response(body.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(rsp.message_id, "6");
    assert_eq!(rsp.result, Err(CimError::not_found("no <such> \"share\"")));
    let body = error_response("6", "Create", false, &CimError::not_supported("x"));
    assert!(body.contains("<METHODRESPONSE NAME=\"Create\"><ERROR CODE=\"7\""));

    let body = empty_response("8", "CloseEnumeration");
    let rsp = decode_response(body.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(rsp.result, Ok(Reply::default()));
}

#[test]
fn keys_of_every_kind_round_trip() {
    let path = connection_path();
    let Keys::Bindings(b) = &path.keys else {
        panic!()
    };
    assert!(matches!(b[3].value, Value::Reference(_)));
    let op = Operation::GetInstance(GetInstance {
        instance_name: path,
        local_only: false,
        include_qualifiers: false,
        options: InstanceOptions::default(),
    });
    let body = encode_request("1", "root/cimv2", &op);
    assert!(body.contains("<KEYVALUE VALUETYPE=\"numeric\" TYPE=\"uint32\">42</KEYVALUE>"));
    assert!(body.contains("<KEYVALUE VALUETYPE=\"boolean\" TYPE=\"boolean\">FALSE</KEYVALUE>"));
    assert_eq!(
        decode_request(body.as_bytes(), &Limits::request())
            .unwrap()
            .operation,
        op
    );
}
