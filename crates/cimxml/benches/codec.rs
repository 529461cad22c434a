//! Micro-benchmark: `cargo bench -p openwmi-cimxml`. Prints figures; no
//! framework, so it builds with the workspace's dependencies only.

use openwmi_cim::{
    CimType, Instance, InstanceProperty, KeyBinding, Keys, Name, ObjectPath, TypeDecl, Value,
};
use openwmi_cimxml::{decode_request, decode_response, Limits, ResponseWriter};
use std::hint::black_box;
use std::time::Instant;

fn share(i: usize) -> (ObjectPath, Instance) {
    let p = |n: &str, t: CimType, v: Value| InstanceProperty {
        name: Name::new(n),
        ty: TypeDecl::scalar(t),
        value: Some(v),
    };
    let name = format!("share{i}");
    let inst = Instance {
        class_name: Name::new("Win32_Share"),
        properties: vec![
            p("Name", CimType::String, Value::String(name.clone().into())),
            p(
                "Path",
                CimType::String,
                Value::String(format!("/srv/samba/{name} & <co>").into()),
            ),
            p(
                "Caption",
                CimType::String,
                Value::String("Samba share".into()),
            ),
            p(
                "Description",
                CimType::String,
                Value::String("A share exported by smbd".into()),
            ),
            p("Type", CimType::UInt32, Value::UInt32(0)),
            p("MaximumAllowed", CimType::UInt32, Value::UInt32(100)),
            p("AllowMaximum", CimType::Boolean, Value::Boolean(true)),
            p("Status", CimType::String, Value::String("OK".into())),
        ],
    };
    let path = ObjectPath {
        host: Some("server1".into()),
        namespace: Some("root/cimv2".into()),
        class: Name::new("Win32_Share"),
        keys: Keys::Bindings(vec![KeyBinding {
            name: Name::new("Name"),
            value: Value::String(name.into()),
        }]),
    };
    (path, inst)
}

/// The best of five rounds of `iters / 5` calls: this machine's neighbours
/// make single rounds vary twofold, the best round varies little.
fn time<T>(label: &str, iters: u32, units: f64, unit: &str, mut f: impl FnMut() -> T) {
    for _ in 0..3 {
        black_box(f());
    }
    let per_round = (iters / 5).max(1);
    let per = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                black_box(f());
            }
            t.elapsed().as_secs_f64() / f64::from(per_round)
        })
        .fold(f64::INFINITY, f64::min);
    println!(
        "{label:<44} {:>10.1} us/iter {:>12.0} {unit}/s",
        per * 1e6,
        units / per
    );
}

fn main() {
    let shares: Vec<_> = (0..1000).map(share).collect();
    let mut body = String::new();
    time(
        "encode 1000 instances (VALUE.NAMEDINSTANCE)",
        50,
        1000.0,
        "instances",
        || {
            let mut w = ResponseWriter::begin("1001", "EnumerateInstances");
            for (p, i) in &shares {
                w.named_instance(p, i);
            }
            body = w.end();
            body.len()
        },
    );
    println!("  response size: {} bytes", body.len());
    let bytes = body.as_bytes().to_vec();
    time(
        "decode that response (1000 instances)",
        20,
        1000.0,
        "instances",
        || decode_response(&bytes, &Limits::default()).unwrap(),
    );
    let req = include_bytes!("../tests/data/pywbem/07-GetInstance.xml");
    time(
        "decode a pywbem GetInstance request",
        20_000,
        req.len() as f64,
        "bytes",
        || decode_request(req, &Limits::request()).unwrap(),
    );
    let req = include_bytes!("../tests/data/pywbem/20-OpenEnumerateInstances.xml");
    time(
        "decode a pywbem OpenEnumerateInstances",
        20_000,
        req.len() as f64,
        "bytes",
        || decode_request(req, &Limits::request()).unwrap(),
    );
}
