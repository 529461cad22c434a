//! A server that knows only the classic operations (CIM_ERR_NOT_SUPPORTED
//! for Open*/Pull*): the client falls back to ExecQuery / EnumerateInstances.

use openwmi_cim::{CimError, CimType, Instance, InstanceProperty, KeyBinding, Keys, Name};
use openwmi_cim::{ObjectPath, TypeDecl, Value};
use openwmi_cimxml::ResponseWriter;
use openwmi_client::{ConnectParams, Locator, WbemObject};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

fn item(name: &str) -> (ObjectPath, Instance) {
    let path = ObjectPath {
        host: Some("OLDSRV".into()),
        namespace: Some("root/cimv2".into()),
        class: Name::new("Old_Item"),
        keys: Keys::Bindings(vec![KeyBinding::new("Name", name)]),
    };
    let inst = Instance {
        class_name: Name::new("Old_Item"),
        properties: vec![InstanceProperty {
            name: Name::new("Name"),
            ty: TypeDecl::scalar(CimType::String),
            value: Some(Value::String(name.into())),
        }],
    };
    (path, inst)
}

fn answer(method: &str) -> String {
    match method {
        "EnumerateClassNames" => openwmi_cimxml::empty_response("1", method),
        "ExecQuery" | "EnumerateInstances" => {
            let mut w = ResponseWriter::begin("1", method);
            for n in ["x", "y"] {
                let (p, i) = item(n);
                if method == "ExecQuery" {
                    w.object_with_path(&p, &i);
                } else {
                    w.named_instance(&p, &i);
                }
            }
            w.end()
        }
        _ => openwmi_cimxml::error_response(
            "1",
            method,
            true,
            &CimError::not_supported(format!("{method} is not supported")),
        ),
    }
}

fn classic_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
                let text = String::from_utf8_lossy(&got).into_owned();
                let Some(end) = text.find("</CIM>\n") else {
                    continue;
                };
                let method = text
                    .lines()
                    .find_map(|l| l.strip_prefix("CIMMethod: "))
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                got.drain(..end + 7);
                log.lock().unwrap().push(method.clone());
                let body = answer(&method);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nCIMOperation: MethodResponse\r\n\r\n{body}",
                    body.len()
                );
            }
        }
    });
    (port, seen)
}

#[test]
fn open_operations_fall_back_to_classic_ones() {
    let (port, seen) = classic_server();
    let mut p = ConnectParams::new(format!("\\\\127.0.0.1:{port}\\root\\cimv2"));
    p.http = true;
    let s = Locator::new().connect_server(&p).unwrap();
    let rows: Vec<WbemObject> = s
        .exec_query("SELECT * FROM Old_Item WHERE Name <> 'z'")
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    let shallow: Vec<WbemObject> = s
        .create_instance_enum("Old_Item", false)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(shallow.len(), 2);
    match &shallow[0] {
        WbemObject::Instance { path, .. } => {
            assert!(path
                .as_ref()
                .unwrap()
                .to_string()
                .contains("Old_Item.Name=\"x\""))
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "EnumerateClassNames",
            "OpenQueryInstances",
            "ExecQuery",
            "OpenEnumerateInstances",
            "EnumerateInstances"
        ]
    );
}
