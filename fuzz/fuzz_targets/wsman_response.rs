#![no_main]
use libfuzzer_sys::fuzz_target;
use openwmi_client::wsman::response::{epr_to_path, read_response, to_instance, Item, Limits, Response};

// Arbitrary bytes through the client's WS-Management reader and on into the
// CIM model: errors are fine, panics are not.
fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_depth: 32,
        max_nodes: 100_000,
        ..Limits::default()
    };
    let _ = openwmi_client::wsman::events::read_subscribe_response(data, "host");
    let items = match read_response(data, &limits) {
        Ok(Response::Batch(b)) => b.items,
        Ok(Response::Object(i)) => vec![i],
        Ok(_) => return,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for item in items {
        match item {
            Item::Instance { instance, epr } => {
                let _ = to_instance(&instance, None, Some("host:5986"));
                // Typed too: base64 octet strings, arrays and embedded
                // instances read against a declared class.
                let _ = to_instance(&instance, Some(&typing_class(&instance.class_name)), None);
                if let Some(e) = epr {
                    let _ = epr_to_path(&e, None, None).map(|p| p.to_string());
                }
            }
            Item::Epr(e) => {
                let _ = epr_to_path(&e, Some("h"), None);
            }
            Item::Class(_) => {}
        }
    }
});

/// A class declaring, for any property the fuzzer names, one of each shape.
fn typing_class(name: &str) -> openwmi_cim::Class {
    use openwmi_cim::{CimType, Class, PropertyDecl, Qualifier, TypeDecl, Value};
    let mut c = Class::new(name, None);
    let mut data = PropertyDecl::new("Data", TypeDecl::array(CimType::UInt8));
    data.qualifiers
        .push(Qualifier::new("OctetString", Some(Value::Boolean(true))));
    c.properties.push(data);
    c.properties
        .push(PropertyDecl::new("Tags", TypeDecl::array(CimType::UInt32)));
    c.properties
        .push(PropertyDecl::new("When", TypeDecl::scalar(CimType::DateTime)));
    c.properties
        .push(PropertyDecl::new("Inner", TypeDecl::scalar(CimType::String)));
    c
}
