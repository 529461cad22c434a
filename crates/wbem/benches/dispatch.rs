//! The server's per-request work without the network: `cargo bench -p openwmi-wbem`.
//! Answers the requests of `scripts/bench-server` (1000 Test_Share instances
//! loaded from MOF) through the dispatcher in process, draining streamed
//! bodies, and prints microseconds per request. Unlike requests/s over
//! loopback, the figure stays put when the machine is busy elsewhere, so it
//! is the one to compare before and after a change to the hot path.
//! The plain cases walk the instances each time (no answer cache, as
//! `--answer-cache-kib 0`); the `kept` cases answer from the answer cache
//! (`answers.rs`), as `openwmi serve` does by default for static instances.
//! `cargo bench -p openwmi-wbem -- ExecQuery` runs only the cases whose name
//! contains one of the words given (for a profiler).

use openwmi_cimom::ObjectManagerBuilder;
use openwmi_service::{AuthenticatedUser, Body, BodyPart};
use openwmi_wbem::{CimHandler, CimRequest, Dispatcher, EnumContexts};
use std::time::{Duration, Instant};

const INSTANCES: usize = 1000;

fn test_share_mof() -> String {
    let mut mof = String::from(
        "Qualifier Key : boolean = false, Scope(property, reference), \
         Flavor(DisableOverride, ToSubclass);\n\
         class Test_Share { [Key] string Name; string Path; uint32 MaximumAllowed; \
         uint32 Type; string Caption; };\n",
    );
    for i in 0..INSTANCES {
        mof.push_str(&format!(
            "instance of Test_Share {{ Name = \"share{i:06}\"; Path = \"/srv/share{i:06}\"; \
             MaximumAllowed = {}; Type = {}; Caption = \"Test share number {i}\"; }};\n",
            i % 10,
            i % 4
        ));
    }
    mof
}

fn imethodcall(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"{method}\">\
         <LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"test\"/></LOCALNAMESPACEPATH>\
         {params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    )
}

fn request(method: &str, body: &str) -> CimRequest {
    CimRequest {
        user: AuthenticatedUser {
            name: "bench".into(),
            uid: None,
            groups: Default::default(),
        },
        peer: "127.0.0.1:1".parse().unwrap(),
        tls: false,
        cim_method: Some(method.into()),
        cim_object: Some("root/test".into()),
        m_post: false,
        headers: http::HeaderMap::new(),
        body: body.to_owned().into(),
    }
}

fn data_len(part: &BodyPart) -> usize {
    match part {
        BodyPart::Data(d) | BodyPart::Last(d) => d.len(),
        BodyPart::Trailers(_) => 0,
    }
}

/// Answers one request and returns the size of the whole body.
async fn answer(d: &Dispatcher, method: &str, body: &str) -> usize {
    let response = d.handle(request(method, body)).await;
    assert_eq!(response.status, 200);
    match response.body {
        Body::Full(b) => b.len(),
        Body::Parts(parts) => parts.iter().map(|p| p.len()).sum(),
        Body::Chunks(parts) => parts.map(|p| data_len(&p)).sum(),
        Body::Stream(mut rx) => {
            let mut n = 0;
            while let Some(p) = rx.recv().await {
                n += data_len(&p);
            }
            n
        }
    }
}

fn main() {
    let repo = openwmi_mof::repository_from_str("root/test", "shares.mof", &test_share_mof())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let om = ObjectManagerBuilder::new(repo, "bench").build();
    let walking = Dispatcher::with_answer_budget(om.clone(), EnumContexts::default(), 0);
    let kept = Dispatcher::new(om);
    let requests = [
        (
            "GetInstance",
            imethodcall(
                "GetInstance",
                "<IPARAMVALUE NAME=\"InstanceName\"><INSTANCENAME CLASSNAME=\"Test_Share\">\
                 <KEYBINDING NAME=\"Name\"><KEYVALUE VALUETYPE=\"string\">share000500</KEYVALUE>\
                 </KEYBINDING></INSTANCENAME></IPARAMVALUE>",
            ),
        ),
        (
            "EnumerateInstanceNames",
            imethodcall(
                "EnumerateInstanceNames",
                "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Test_Share\"/></IPARAMVALUE>",
            ),
        ),
        (
            "EnumerateInstances",
            imethodcall(
                "EnumerateInstances",
                "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Test_Share\"/></IPARAMVALUE>",
            ),
        ),
        (
            "ExecQuery",
            imethodcall(
                "ExecQuery",
                "<IPARAMVALUE NAME=\"QueryLanguage\"><VALUE>WQL</VALUE></IPARAMVALUE>\
                 <IPARAMVALUE NAME=\"Query\"><VALUE>SELECT * FROM Test_Share WHERE \
                 MaximumAllowed &lt; 3</VALUE></IPARAMVALUE>",
            ),
        ),
    ];
    let mut cases: Vec<(String, &str, &str, &Dispatcher)> = requests
        .iter()
        .map(|(method, body)| (method.to_string(), *method, body.as_str(), &walking))
        .collect();
    cases.extend(
        requests
            .iter()
            .filter(|(method, _)| *method != "GetInstance")
            .map(|(method, body)| (format!("{method} kept"), *method, body.as_str(), &kept)),
    );
    // cargo passes `--bench`; any other argument picks cases by name.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        for (name, method, body, dispatcher) in &cases {
            if !wanted.is_empty() && !wanted.iter().any(|w| name.contains(w.as_str())) {
                continue;
            }
            let size = answer(dispatcher, method, body).await;
            // Runs of ~0.1 s; the best of fifteen is the figure (the others
            // carry whatever else the machine was doing: on a shared VM one
            // run can take twice as long as the next).
            let mut best = Duration::MAX;
            let mut per_run = 0u32;
            for _ in 0..15 {
                let start = Instant::now();
                let mut n = 0u32;
                while start.elapsed() < Duration::from_millis(100) {
                    std::hint::black_box(answer(dispatcher, method, body).await);
                    n += 1;
                }
                best = best.min(start.elapsed() / n);
                per_run = n;
            }
            println!(
                "{name:28} {:>9.1} us/request  ({size} bytes, {per_run} requests per run)",
                best.as_secs_f64() * 1e6
            );
        }
    });
}
