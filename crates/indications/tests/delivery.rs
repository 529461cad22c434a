//! Delivery to a listener on loopback: in order, consecutive sequence
//! numbers, queued while the listener is down and delivered once it is
//! back (no duplicates), given up after the retries, the oldest dropped
//! when the queue is full.

use openwmi_client::export::ListenerUrl;
use openwmi_indications::delivery::{export_message, indication_xml, DeliveryPolicy};
use openwmi_indications::Destination;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A listener that answers 200 to each POST and keeps the bodies.
struct Listener {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn serve(listener: TcpListener, bodies: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let bodies = bodies.clone();
            std::thread::spawn(move || handle(conn, bodies));
        }
    });
}

fn handle(conn: TcpStream, bodies: Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut length = 0usize;
        let mut export = false;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            export |= lower == "cimexport: methodrequest";
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(export, "no CIMExport header");
        bodies
            .lock()
            .unwrap()
            .push(String::from_utf8(body).unwrap());
        let answer = "<CIM><MESSAGE><SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\"/></SIMPLEEXPRSP></MESSAGE></CIM>";
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nCIMExport: MethodResponse\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
    }
}

impl Listener {
    fn start(port: u16) -> Listener {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = l.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        serve(l, bodies.clone());
        Listener { port, bodies }
    }
    fn numbers(&self) -> Vec<i64> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                let at = b.find("NAME=\"SequenceNumber\"").unwrap();
                let v = &b[at..];
                let start = v.find("<VALUE>").unwrap() + 7;
                let end = v.find("</VALUE>").unwrap();
                v[start..end].parse().unwrap()
            })
            .collect()
    }
    fn wait(&self, n: usize) -> Vec<i64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.bodies.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n}",
                self.bodies.lock().unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.numbers()
    }
}

fn policy() -> DeliveryPolicy {
    DeliveryPolicy {
        retry_attempts: 3,
        retry_interval: Duration::from_millis(200),
        queue_limit: 5,
        timeout: Duration::from_secs(5),
        insecure_tls: false,
        ca_file: None,
    }
}

fn event(d: &Destination, n: usize) {
    let row = openwmi_cim::Instance {
        class_name: "__AggregateEvent".into(),
        properties: vec![],
    }
    .with_property(n);
    d.enqueue(|ctx, number| indication_xml(None, &row, 0, "f", ctx, number));
}

trait WithProperty {
    fn with_property(self, n: usize) -> Self;
}

impl WithProperty for openwmi_cim::Instance {
    fn with_property(mut self, n: usize) -> Self {
        self.properties.push(openwmi_cim::InstanceProperty {
            name: "NumberOfEvents".into(),
            ty: openwmi_cim::TypeDecl::scalar(openwmi_cim::CimType::UInt32),
            value: Some(openwmi_cim::Value::UInt32(n as u32)),
        });
        self
    }
}

fn url(port: u16) -> ListenerUrl {
    ListenerUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap()
}

#[test]
fn in_order_with_consecutive_numbers() {
    let l = Listener::start(0);
    let d = Destination::start("d", url(l.port), policy());
    for n in 0..4 {
        event(&d, n);
    }
    assert_eq!(l.wait(4), [0, 1, 2, 3]);
    let bodies = l.bodies.lock().unwrap();
    assert!(bodies[0].contains("<EXPMETHODCALL NAME=\"ExportIndication\">"));
    assert!(bodies[0].contains("NAME=\"SequenceContext\""));
    assert!(
        bodies[0].contains("<PROPERTY NAME=\"NumberOfEvents\" TYPE=\"uint32\"><VALUE>0</VALUE>")
    );
    drop(bodies);
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.delivered() < 4 {
        assert!(Instant::now() < deadline, "delivered {}", d.delivered());
        std::thread::sleep(Duration::from_millis(10));
    }
    d.stop();
}

#[test]
fn a_listener_down_then_up_gets_the_queue_in_order_once() {
    // A port that is free now and taken by the listener later.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = Destination::start(
        "d",
        url(port),
        DeliveryPolicy {
            retry_attempts: 10,
            ..policy()
        },
    );
    for n in 0..3 {
        event(&d, n);
    }
    std::thread::sleep(Duration::from_millis(500));
    let l = Listener::start(port);
    assert_eq!(l.wait(3), [0, 1, 2]);
    event(&d, 3);
    assert_eq!(l.wait(4), [0, 1, 2, 3]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(l.numbers().len(), 4, "a duplicate arrived");
    assert_eq!(d.dropped(), 0);
    d.stop();
}

#[test]
fn a_listener_gone_for_good_is_given_up_and_the_queue_is_bounded() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = Destination::start(
        "gone",
        url(port),
        DeliveryPolicy {
            retry_attempts: 1,
            retry_interval: Duration::from_millis(50),
            ..policy()
        },
    );
    for n in 0..20 {
        event(&d, n);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.dropped() < 20 {
        assert!(Instant::now() < deadline, "dropped {}", d.dropped());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(d.delivered(), 0);
    d.stop();
}

#[test]
fn the_export_message_holds_the_indication() {
    let m = export_message(7, "<INSTANCE CLASSNAME=\"X\"></INSTANCE>");
    assert!(m.starts_with("<?xml"));
    assert!(m.contains("<MESSAGE ID=\"7\" PROTOCOLVERSION=\"1.0\"><SIMPLEEXPREQ>"));
    assert!(m.contains("<EXPPARAMVALUE NAME=\"NewIndication\"><INSTANCE CLASSNAME=\"X\">"));
}

#[test]
fn an_indication_decodes_with_its_embedded_instances() {
    use openwmi_cim::{CimType, InstanceProperty, Name, ObjectPath, TypeDecl, Value};
    use openwmi_cimom::events::{Change, EventKind};
    use openwmi_cimom::InstanceWithPath;
    let target = openwmi_cim::Instance {
        class_name: Name::new("Win32_ServerConnection"),
        properties: vec![InstanceProperty {
            name: Name::new("ShareName"),
            ty: TypeDecl::scalar(CimType::String),
            value: Some(Value::from("pub<&>\"lic")),
        }],
    };
    let change = Change {
        kind: EventKind::Modification,
        target: InstanceWithPath {
            path: Arc::new(ObjectPath::parse("Win32_ServerConnection.ShareName=\"x\"").unwrap()),
            instance: Arc::new(target.clone()),
        },
        previous: Some(Arc::new(target.clone())),
    };
    let row = openwmi_cim::Instance {
        class_name: Name::new("__InstanceModificationEvent"),
        properties: vec![],
    };
    let xml = indication_xml(Some(&change), &row, 42, "f1", "ctx", 7);
    let body = export_message(3, &xml);
    let limits = openwmi_cimxml::Limits::request();
    let ind = openwmi_cimxml::decode_export_indication(body.as_bytes(), &limits).unwrap();
    assert_eq!(ind.message_id, "3");
    let i = &ind.indication;
    assert_eq!(i.class_name.as_str(), "__InstanceModificationEvent");
    assert_eq!(i.value("SequenceNumber"), Some(&Value::SInt64(7)));
    assert_eq!(i.value("SequenceContext"), Some(&Value::from("ctx")));
    assert_eq!(i.value("TIME_CREATED"), Some(&Value::UInt64(42)));
    for p in ["TargetInstance", "PreviousInstance"] {
        let Some(Value::String(embedded)) = i.value(p) else {
            panic!("{p}: {i:?}");
        };
        let inner = openwmi_cimxml::decode_embedded_instance(embedded, &limits).unwrap();
        assert_eq!(inner, target);
    }
}
