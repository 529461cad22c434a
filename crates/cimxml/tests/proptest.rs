//! Bounded property tests: arbitrary bytes never panic the decoders, and
//! random instances round trip through the writer and decode_response.

use openwmi_cim::{
    CimDateTime, CimType, Instance, InstanceProperty, KeyBinding, Keys, Name, ObjectPath, TypeDecl,
    Value,
};
use openwmi_cimxml::{
    decode_request, decode_response, encode_request, GetInstance, InstanceOptions, Limits,
    Operation, ResponseWriter, ReturnItem,
};
use proptest::prelude::*;

const GOOD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"GetInstance\"><LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"cimv2\"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME=\"InstanceName\"><INSTANCENAME CLASSNAME=\"Win32_Share\"><KEYBINDING NAME=\"Name\"><KEYVALUE VALUETYPE=\"string\" TYPE=\"string\">a&amp;b</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME=\"PropertyList\"><VALUE.ARRAY><VALUE>Name</VALUE></VALUE.ARRAY></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>";

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

/// Text made of characters XML 1.0 can carry (others are replaced on write).
fn xml_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range(' ', '~'),
            1 => Just('\t'),
            1 => Just('\n'),
            1 => Just('\r'),
            1 => prop::char::range('\u{A0}', '\u{D7FF}'),
            1 => prop::char::range('\u{10000}', '\u{10FFFF}'),
        ],
        0..24,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn simple_path() -> impl Strategy<Value = ObjectPath> {
    (
        ident(),
        ident(),
        xml_text(),
        prop::option::of("[a-z]{1,5}(/[a-z]{1,5}){0,2}"),
    )
        .prop_map(|(class, key, value, ns)| ObjectPath {
            host: None,
            namespace: ns,
            class: Name::new(&class),
            keys: Keys::Bindings(vec![KeyBinding {
                name: Name::new(&key),
                value: Value::String(value.into()),
            }]),
        })
}

fn scalar(ty: CimType) -> BoxedStrategy<Value> {
    match ty {
        CimType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        CimType::String => xml_text().prop_map(|s| Value::String(s.into())).boxed(),
        CimType::Char16 => prop::char::range(' ', '\u{D7FF}')
            .prop_map(Value::Char16)
            .boxed(),
        CimType::UInt8 => any::<u8>().prop_map(Value::UInt8).boxed(),
        CimType::SInt8 => any::<i8>().prop_map(Value::SInt8).boxed(),
        CimType::UInt16 => any::<u16>().prop_map(Value::UInt16).boxed(),
        CimType::SInt16 => any::<i16>().prop_map(Value::SInt16).boxed(),
        CimType::UInt32 => any::<u32>().prop_map(Value::UInt32).boxed(),
        CimType::SInt32 => any::<i32>().prop_map(Value::SInt32).boxed(),
        CimType::UInt64 => any::<u64>().prop_map(Value::UInt64).boxed(),
        CimType::SInt64 => any::<i64>().prop_map(Value::SInt64).boxed(),
        CimType::Real32 => any::<f32>()
            .prop_filter("NaN never equals itself", |v| !v.is_nan())
            .prop_map(Value::Real32)
            .boxed(),
        CimType::Real64 => any::<f64>()
            .prop_filter("NaN never equals itself", |v| !v.is_nan())
            .prop_map(Value::Real64)
            .boxed(),
        CimType::DateTime => (0i64..4_000_000_000, 0u32..1_000_000, -720i16..720)
            .prop_map(|(s, us, off)| Value::DateTime(CimDateTime::from_unix(s, us, off)))
            .boxed(),
        CimType::Reference => simple_path()
            .prop_map(|p| Value::Reference(Box::new(p)))
            .boxed(),
    }
}

fn property() -> impl Strategy<Value = InstanceProperty> {
    (ident(), prop::sample::select(CimType::ALL.to_vec()), 0u8..4).prop_flat_map(
        |(name, ty, shape)| {
            let name = Name::new(&name);
            let value: BoxedStrategy<(TypeDecl, Option<Value>)> = match (shape, ty) {
                (0, _) => Just((
                    if ty == CimType::Reference {
                        TypeDecl::reference("CIM_X")
                    } else {
                        TypeDecl::scalar(ty)
                    },
                    None,
                ))
                .boxed(),
                (1, CimType::Reference) | (2, _) | (3, CimType::Reference) => scalar(ty)
                    .prop_map(move |v| {
                        let decl = if ty == CimType::Reference {
                            TypeDecl::reference("CIM_X")
                        } else {
                            TypeDecl::scalar(ty)
                        };
                        (decl, Some(v))
                    })
                    .boxed(),
                _ => prop::collection::vec(scalar(ty), 0..5)
                    .prop_map(move |v| (TypeDecl::array(ty), Some(Value::Array(v))))
                    .boxed(),
            };
            value.prop_map(move |(ty, value)| InstanceProperty {
                name: name.clone(),
                ty,
                value,
            })
        },
    )
}

fn instance() -> impl Strategy<Value = Instance> {
    (ident(), prop::collection::vec(property(), 0..8)).prop_map(|(c, properties)| Instance {
        class_name: Name::new(&c),
        properties,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_request(&bytes, &Limits::request());
        let _ = decode_response(&bytes, &Limits::default());
    }

    #[test]
    fn mutated_requests_never_panic(at in 0usize..GOOD.len(), len in 0usize..8, with in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut bytes = GOOD.as_bytes().to_vec();
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, with);
        if let Err(e) = decode_request(&bytes, &Limits::request()) {
            // Every failure is either a protocol error or a CIM error with a body.
            prop_assert!(e.http_cim_error_header().is_some() || e.error_response().is_some() || e.http_status() == 413);
            let _ = e.to_string();
        }
    }

}

proptest! {
    // Instances are the costly cases: fewer of them keep the run short.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn instances_round_trip(inst in instance(), path in simple_path()) {
        let mut w = ResponseWriter::begin("1", "EnumerateInstances");
        w.named_instance(&path, &inst);
        w.instance(&inst);
        let body = w.end();
        let rsp = decode_response(body.as_bytes(), &Limits::default()).unwrap();
        let items = rsp.result.unwrap().items;
        let mut relative = path.clone();
        relative.namespace = None;
        prop_assert_eq!(&items[0], &ReturnItem::Instance { path: Some(relative), instance: inst.clone() });
        prop_assert_eq!(&items[1], &ReturnItem::Instance { path: None, instance: inst });
    }

    #[test]
    fn instance_names_round_trip_through_requests(mut path in simple_path(), ns in "[a-z]{1,5}(/[a-z]{1,5}){0,2}") {
        path.namespace = None;
        let op = Operation::GetInstance(GetInstance {
            instance_name: path,
            local_only: false,
            include_qualifiers: false,
            options: InstanceOptions::default(),
        });
        let req = decode_request(encode_request("1", &ns, &op).as_bytes(), &Limits::request()).unwrap();
        prop_assert_eq!(req.namespace, ns);
        prop_assert_eq!(req.operation, op);
    }
}
