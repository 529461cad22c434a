//! Times `SELECT * FROM Win32_ServerConnection` in process, split into its
//! parts: smbstatus alone (through `SambaSource`), the first query on a
//! fresh object manager (smbstatus + testparm + mapping), and the second
//! query within the freshness window (cached snapshot + mapping only).
//!
//! Usage: query_timing SMB_CONF [REPEATS]   (prints one line per figure)

use openwmi_cimom::{ObjectManagerBuilder, OperationContext, QueryResult};
use openwmi_providers::ProviderOptions;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let conf = PathBuf::from(args.next().expect("usage: query_timing SMB_CONF [REPEATS]"));
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let wql = "SELECT * FROM Win32_ServerConnection";
    let opts = ProviderOptions {
        smb_conf: Some(conf.clone()),
        freshness: Some(Duration::from_secs(600)),
        ..ProviderOptions::default()
    };
    let repo = openwmi_cimom::bundled::bundled_repository().expect("bundled schema");

    // The in-process parts of a first query: parsing smbstatus's JSON.
    let out = std::process::Command::new("smbstatus")
        .args(["--json", "-s"])
        .arg(&conf)
        .output()
        .expect("smbstatus");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parse = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        let st = openwmi_samba::smbstatus::parse(&text).expect("parse");
        parse.push(t.elapsed());
        std::hint::black_box(st);
    }

    let (mut alone, mut first, mut second, mut rows) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..repeats {
        let source = openwmi_samba::SambaSource::new()
            .with_smb_conf(&conf)
            .with_freshness(Duration::ZERO);
        let t = Instant::now();
        let status = source.status().expect("smbstatus");
        alone.push(t.elapsed());
        assert!(!status.tcons.is_empty());

        let mut b = ObjectManagerBuilder::new(repo.clone(), "BENCH");
        openwmi_providers::register(&mut b, &opts);
        let om = b.build();
        let run = || {
            let ctx = Arc::new(OperationContext::local());
            let t = Instant::now();
            let n = match om
                .exec_query(&ctx, "root/cimv2", "WQL", wql)
                .expect("query")
            {
                QueryResult::Instances(it) => {
                    it.collect::<Result<Vec<_>, _>>().expect("rows").len()
                }
                QueryResult::Objects(o) => o.len(),
            };
            (t.elapsed(), n)
        };
        let (d1, n) = run();
        first.push(d1);
        for _ in 0..20 {
            second.push(run().0);
        }
        rows = n;
    }
    println!("instances: {rows}; smbstatus JSON: {} bytes", text.len());
    println!(
        "parsing the JSON (median of {repeats}): {}",
        ms(median(parse))
    );
    let fastest = second.iter().min().copied().unwrap_or_default();
    println!(
        "smbstatus via SambaSource (median of {repeats}): {}",
        ms(median(alone))
    );
    println!(
        "first query, in process (median of {repeats}): {}",
        ms(median(first))
    );
    let n = second.len();
    println!(
        "later queries within freshness (median of {n}): {} (fastest {})",
        ms(median(second)),
        ms(fastest)
    );
}
