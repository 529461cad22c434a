//! `openwmi check`: a monitoring plugin (Nagios, Icinga, Naemon, Checkmk's
//! classic checks). It counts the instances of a WQL query, or tests a
//! numeric property of each, against `-w`/`-c` ranges, and answers as the
//! plugin guidelines ask: one status line `OPENWMI OK - ...` with the
//! performance data after `|`, and the exit code 0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN. Whatever keeps it from measuring (a host that
//! does not answer, a refused login, a failed query, the timeout, a wrong
//! command line) is UNKNOWN with the reason, a WBEM error by its name.
//!
//! The judging and wording are `openwmi-check`'s (pure); this module
//! connects, runs the query and times the whole.

use crate::args::{GlobalOptions, NamespaceArg, RemoteArgs};
use crate::failure::Failure;
use crate::hosts::Run;
use openwmi_check::{status_line, PerfDatum, Status, Thresholds};
use openwmi_cim::Value;
use openwmi_client::WbemObject;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

/// The service name of the status line.
const SERVICE: &str = "OPENWMI";

pub const AFTER_HELP: &str = "\
Ranges (-w, -c), as the monitoring plugins read them:
  10       alert if the value is below 0 or above 10
  10:      alert if below 10
  ~:10     alert if above 10
  10:20    alert if below 10 or above 20
  @10:20   alert if between 10 and 20, inclusive

Examples:
  openwmi check --count \"SELECT * FROM Win32_ServerConnection WHERE ShareName='public'\" -w 50 -c 100
  openwmi check -r fileserver -U monitor --password-stdin \\
      --count \"SELECT * FROM Win32_ServerSession\" -c 1:
  openwmi check --query \"SELECT * FROM Win32_Share\" --property MaximumAllowed -w 10:

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not measure: the
status line names the WBEM error, a timeout, or a wrong option).";

/// The command line of `check`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct CheckArgs {
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Count the instances this WQL query returns, and judge the count.
    #[arg(
        long = "count",
        value_name = "WQL",
        conflicts_with = "query",
        required_unless_present = "query"
    )]
    pub count: Option<String>,
    /// Judge PROPERTY of each instance this WQL query returns (the worst
    /// instance decides), with --property.
    #[arg(long = "query", value_name = "WQL", requires = "property")]
    pub query: Option<String>,
    /// The numeric (or boolean, as 1/0) property --query judges.
    #[arg(long = "property", value_name = "NAME", requires = "query")]
    pub property: Option<String>,
    /// WARNING when the value is outside this range (see below).
    #[arg(
        short = 'w',
        long = "warning",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub warning: Option<String>,
    /// CRITICAL when the value is outside this range (see below).
    #[arg(
        short = 'c',
        long = "critical",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub critical: Option<String>,
    /// UNKNOWN when no answer came within this many seconds, whatever it
    /// waits for (the connection, the login, smbstatus, the query).
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = 10.0
    )]
    pub timeout: f64,
    /// The label of the count in the performance data.
    #[arg(long = "label", value_name = "LABEL", default_value = "instances")]
    pub label: String,
}

/// Whether this command line runs `check` (its usage errors are UNKNOWN,
/// exit 3, not clap's 2, which a monitoring system would read as CRITICAL).
pub fn invoked(args: &[OsString]) -> bool {
    // The first word that is no option and no option's value: the
    // global options that take a value are all written `--name VALUE`.
    let mut words = args.iter().skip(1);
    while let Some(w) = words.next() {
        let Some(w) = w.to_str() else { return false };
        if w.starts_with("--") {
            if !w.contains('=') && GLOBAL_VALUE_OPTIONS.contains(&w) {
                words.next();
            }
            continue;
        }
        return w == "check";
    }
    false
}

const GLOBAL_VALUE_OPTIONS: &[&str] = &[
    "--mof",
    "--smb-conf",
    "--smbstatus",
    "--testparm",
    "--mountinfo",
    "--fstab",
    "--freshness",
    "--source-timeout",
    "--source-max-output",
];

/// A usage error of `check`, worded as a status line.
pub fn usage_error(e: &clap::Error) -> ExitCode {
    // clap's message up to its usage lines, on one line.
    let text = e.to_string();
    let words: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .flat_map(str::split_whitespace)
        .collect();
    let message = words.join(" ");
    unknown(message.trim_start_matches("error: "))
}

fn unknown(message: &str) -> ExitCode {
    println!(
        "{}",
        status_line(
            SERVICE,
            Status::Unknown,
            message,
            &Thresholds::default(),
            &[]
        )
    );
    ExitCode::from(Status::Unknown.exit_code())
}

pub fn run(a: CheckArgs, g: &GlobalOptions) -> ExitCode {
    let thresholds = match Thresholds::parse(a.warning.as_deref(), a.critical.as_deref()) {
        Ok(t) => t,
        Err(e) => return unknown(&e),
    };
    if !(a.timeout.is_finite() && a.timeout > 0.0 && a.timeout < 1e9) {
        return unknown(&format!(
            "--timeout {}: expected a positive number of seconds",
            a.timeout
        ));
    }
    if a.remote.hosts.is_some() || a.remote.resource.len() > 1 {
        return unknown("a check tests one host: give at most one -r and no --hosts");
    }
    let timeout = Duration::from_secs_f64(a.timeout);
    let (tx, rx) = mpsc::channel();
    let global = g.clone();
    // The check runs on a thread of its own so that the timeout holds
    // whatever it waits for (a connection, smbstatus, a slow answer).
    std::thread::spawn(move || {
        let _ = tx.send(measure(&a, &global, &thresholds));
    });
    let (status, line) = match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(_) => (
            Status::Unknown,
            status_line(
                SERVICE,
                Status::Unknown,
                &format!(
                    "no answer within {} seconds",
                    openwmi_check::number(timeout.as_secs_f64())
                ),
                &Thresholds::default(),
                &[],
            ),
        ),
    };
    println!("{line}");
    ExitCode::from(status.exit_code())
}

/// What one instance of a `--query` check measured.
struct Measured {
    label: String,
    value: Result<f64, String>,
}

fn measure(a: &CheckArgs, g: &GlobalOptions, t: &Thresholds) -> (Status, String) {
    match collect(a, g) {
        Err(f) => {
            let why = match f {
                Failure::Cim(e) => e.to_string(),
                Failure::Message(m) | Failure::Lines(m) => m,
            };
            (
                Status::Unknown,
                status_line(SERVICE, Status::Unknown, &why, &Thresholds::default(), &[]),
            )
        }
        Ok(Collected::Count(n)) => {
            let value = n as f64;
            let status = t.status(value);
            let noun = if n == 1 { "instance" } else { "instances" };
            let perf = PerfDatum {
                label: a.label.clone(),
                value,
                uom: "",
                min: Some(0.0),
                max: None,
            };
            let line = status_line(SERVICE, status, &format!("{n} {noun}"), t, &[perf]);
            (status, line)
        }
        Ok(Collected::Values(list)) => judge_values(a.property.as_deref().unwrap_or(""), list, t),
    }
}

fn judge_values(property: &str, list: Vec<Measured>, t: &Thresholds) -> (Status, String) {
    let mut status = Status::Ok;
    let mut alerts: Vec<String> = Vec::new();
    let mut perf = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for m in &list {
        match &m.value {
            Ok(v) => {
                let s = t.status(*v);
                status = status.worst(s);
                if s != Status::Ok {
                    alerts.push(format!(
                        "{} {}={}",
                        s.word(),
                        m.label,
                        openwmi_check::number(*v)
                    ));
                }
                perf.push(PerfDatum {
                    label: m.label.clone(),
                    value: *v,
                    uom: "",
                    min: None,
                    max: None,
                });
            }
            Err(why) => problems.push(format!("{}: {why}", m.label)),
        }
    }
    let n = list.len();
    let noun = if n == 1 { "instance" } else { "instances" };
    let mut message = if alerts.is_empty() {
        format!("{property} of {n} {noun} within the thresholds")
    } else {
        format!("{property} of {n} {noun}: {}", alerts.join(", "))
    };
    // A value that cannot be judged makes the whole check UNKNOWN: a
    // monitoring system must not read it as fine.
    if !problems.is_empty() {
        status = Status::Unknown;
        message = format!("{message}; cannot judge {}", problems.join(", "));
    }
    (status, status_line(SERVICE, status, &message, t, &perf))
}

enum Collected {
    Count(u64),
    Values(Vec<Measured>),
}

fn collect(a: &CheckArgs, g: &GlobalOptions) -> Result<Collected, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    let wql = a.count.as_deref().or(a.query.as_deref()).unwrap_or("");
    let mut objects: Vec<WbemObject> = Vec::new();
    let mut count = 0u64;
    let counting = a.count.is_some();
    run.execute(
        |s, send| {
            for o in s.exec_query(wql)? {
                if !send(o?) {
                    break;
                }
            }
            Ok(())
        },
        |_, o: WbemObject| {
            count += 1;
            if !counting {
                objects.push(o);
            }
            Ok(())
        },
    )?;
    if counting {
        return Ok(Collected::Count(count));
    }
    let property = a.property.as_deref().unwrap_or("");
    let mut list = Vec::new();
    for (i, o) in objects.into_iter().enumerate() {
        let WbemObject::Instance { path, instance } = o else {
            continue;
        };
        let label = path
            .as_ref()
            .map(|p| {
                p.bindings()
                    .iter()
                    .map(|b| b.value.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| format!("{}#{}", instance.class_name, i + 1));
        let value = match instance.property(property) {
            None => Err(format!("no property {property}")),
            Some(p) => numeric(p.value.as_ref()),
        };
        list.push(Measured { label, value });
    }
    Ok(Collected::Values(list))
}

/// A property's value as a number: integers and reals as they are,
/// booleans 1/0, a string that holds a number (uint64 as some providers
/// send it); NULL and anything else cannot be judged.
fn numeric(v: Option<&Value>) -> Result<f64, String> {
    match v {
        None => Err("NULL".to_owned()),
        Some(Value::Boolean(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("{s:?} is not a number")),
        Some(v) => v.as_f64().ok_or_else(|| format!("{v} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn check_is_found_after_global_options() {
        assert!(invoked(&os(&["openwmi", "check", "--count", "x"])));
        assert!(invoked(&os(&["openwmi", "--smb-conf", "/x", "check"])));
        assert!(invoked(&os(&["openwmi", "--smb-conf=/x", "check"])));
        assert!(!invoked(&os(&["openwmi", "query", "check"])));
        assert!(!invoked(&os(&["openwmi", "--mof", "check", "query"])));
        assert!(!invoked(&os(&["openwmi"])));
    }

    #[test]
    fn values_are_judged_and_the_worst_decides() {
        let t = Thresholds::parse(Some("10:"), Some("5:")).unwrap();
        let m = |label: &str, v: f64| Measured {
            label: label.into(),
            value: Ok(v),
        };
        let (s, line) = judge_values("Free", vec![m("a", 20.0), m("b", 7.0)], &t);
        assert_eq!(s, Status::Warning);
        assert_eq!(
            line,
            "OPENWMI WARNING - Free of 2 instances: WARNING b=7 | a=20;10:;5: b=7;10:;5:"
        );
        let (s, _) = judge_values("Free", vec![m("a", 20.0), m("b", 1.0)], &t);
        assert_eq!(s, Status::Critical);
        let (s, line) = judge_values("Free", vec![], &t);
        assert_eq!(
            (s, line.as_str()),
            (
                Status::Ok,
                "OPENWMI OK - Free of 0 instances within the thresholds"
            )
        );
        let bad = Measured {
            label: "c".into(),
            value: Err("NULL".into()),
        };
        let (s, line) = judge_values("Free", vec![m("a", 1.0), bad], &t);
        assert_eq!(s, Status::Unknown);
        assert!(line.contains("cannot judge c: NULL"), "{line}");
    }

    #[test]
    fn numbers_of_values() {
        assert_eq!(numeric(Some(&Value::UInt64(7))), Ok(7.0));
        assert_eq!(numeric(Some(&Value::Boolean(true))), Ok(1.0));
        assert_eq!(numeric(Some(&Value::from("12"))), Ok(12.0));
        assert!(numeric(Some(&Value::from("x"))).is_err());
        assert!(numeric(Some(&Value::from("NaN"))).is_err());
        assert!(numeric(None).is_err());
    }
}
