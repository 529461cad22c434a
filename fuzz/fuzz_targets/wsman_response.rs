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
