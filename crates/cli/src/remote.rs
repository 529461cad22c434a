//! The ConnectServer parameters of `query`, `get`, `class` and `classes`.

use clap::Args;
use std::path::PathBuf;

/// Where to connect. Without `-r` (or with a local resource such as
/// `root\cimv2` or `\\.\root\cimv2`) the command runs in-process.
#[derive(Debug, Args, Clone, Default)]
pub struct RemoteArgs {
    /// The namespace resource, local or remote: `root\cimv2`, `\\.\root\cimv2`,
    /// `\\HOST\root\cimv2`, `//HOST:5989/root/cimv2`, `\\[::1]\root\cimv2`,
    /// `https://HOST/root/cimv2`; a bare `HOST` or `\\HOST` gets the -n namespace.
    /// Repeat to run the same request on several hosts at once.
    #[arg(short = 'r', long = "resource", value_name = "RESOURCE")]
    pub resource: Vec<String>,
    /// A file of resources or host names, one per line (# comments), for a
    /// multi-host run: every result row is tagged with its host, a failing
    /// host is reported as `HOST: error: WBEM_...` without stopping the
    /// others, and the exit status is 0 only if every host succeeded (1 if
    /// any failed). A multi-host run bounds each connection to 120 s unless
    /// --max-wait says otherwise.
    #[arg(long = "hosts", value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// The user: `user`, `DOMAIN\user` or `user@domain` (sent with HTTP Basic).
    #[arg(short = 'U', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Read the password from the first line of standard input
    /// (otherwise from the OPENWMI_PASSWORD environment variable).
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// `Kerberos:PRINCIPAL` or `NTLMDOMAIN:DOMAIN`.
    #[arg(long = "authority", value_name = "AUTHORITY")]
    pub authority: Option<String>,
    /// The locale, `MS_409` style (hexadecimal LCID).
    #[arg(long = "locale", value_name = "MS_xxx")]
    pub locale: Option<String>,
    /// Give up connecting after this many seconds (WBEM_FLAG_CONNECT_USE_MAX_WAIT,
    /// whose default bound is 120); also bounds each request after that.
    /// Without it a single-host connection waits as long as it takes.
    #[arg(long = "max-wait", value_name = "SECONDS")]
    pub max_wait: Option<f64>,
    /// Use plain HTTP (port 5988) instead of HTTPS.
    #[arg(long = "http")]
    pub http: bool,
    /// Trust this CA (PEM) for the server's certificate.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long = "insecure")]
    pub insecure: bool,
    /// How many hosts to query at once in a multi-host run.
    #[arg(long = "concurrency", value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
}

impl RemoteArgs {
    /// True when this invocation asks for anything beyond the local machine's in-process manager.
    pub fn is_remote_request(&self) -> bool {
        !self.resource.is_empty() || self.hosts.is_some()
    }
}

use crate::args::{ClassArgs, ClassFormat, ClassesArgs, GetArgs, InstanceOutput, OutputFormat};
use crate::args::{QueryArgs, SummaryFormat};
use crate::Failure;
use openwmi_cim::{Class, Instance, ObjectPath};
use openwmi_cimom::ClassOptions;
use openwmi_client::{
    ConnectParams, Locator, Resource, Services, WbemError, WbemObject,
    WBEM_FLAG_CONNECT_USE_MAX_WAIT,
};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A WBEM failure as the CLI reports it: with a CIM status it is a
/// `Failure::Cim` (same text); WBEM-only codes (WBEM_E_TRANSPORT_FAILURE,
/// WBEM_E_LOCAL_CREDENTIALS) print the same `NAME (0x...): why` form.
fn failure(e: WbemError) -> Failure {
    match e.to_cim_error() {
        Some(c) if c.wbem() == e.status => Failure::Cim(c),
        _ => Failure::Message(e.to_string()),
    }
}

/// The resources to connect to: `-r` values, then `--hosts` lines. A bare
/// host (`srv`, `srv:5988`, `[::1]`) or `\\srv` without a namespace gets the
/// `-n` namespace.
fn targets(r: &RemoteArgs, namespace: &str) -> Result<Vec<String>, Failure> {
    let mut out: Vec<String> = r
        .resource
        .iter()
        .map(|x| with_namespace(x, namespace))
        .collect();
    if let Some(file) = &r.hosts {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::Message(format!("{}: {e}", file.display())))?;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.is_empty() {
                out.push(with_namespace(line, namespace));
            }
        }
        if out.is_empty() {
            return Err(Failure::Message(format!("{}: no hosts", file.display())));
        }
    }
    Ok(out)
}

fn with_namespace(target: &str, namespace: &str) -> String {
    let ns = namespace.replace('/', "\\");
    let lower = target.to_ascii_lowercase();
    let url = lower.starts_with("http://") || lower.starts_with("https://");
    if url {
        let after = target.find("//").map_or(0, |i| i + 2);
        if !target[after..].contains('/') {
            return format!("{target}/{}", ns.replace('\\', "/"));
        }
        return target.to_owned();
    }
    if let Some(rest) = target
        .strip_prefix("\\\\")
        .or_else(|| target.strip_prefix("//"))
    {
        if !rest.contains(['\\', '/']) {
            return format!("\\\\{rest}\\{ns}");
        }
        return target.to_owned();
    }
    // A word with a separator is a local namespace (`root\cimv2`); one
    // without is a host name.
    if target.contains(['\\', '/']) {
        target.to_owned()
    } else {
        format!("\\\\{target}\\{ns}")
    }
}

fn password(r: &RemoteArgs) -> Result<Option<String>, Failure> {
    if r.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        while line.ends_with(['\n', '\r']) {
            line.pop();
        }
        return Ok(Some(line));
    }
    Ok(std::env::var("OPENWMI_PASSWORD").ok())
}

fn connect_params(r: &RemoteArgs, multi: bool) -> Result<ConnectParams, Failure> {
    let max_wait = match r.max_wait {
        Some(s) if !(s.is_finite() && s > 0.0 && s < 1e9) => {
            return Err(crate::invalid_parameter(format!(
                "--max-wait {s}: expected a positive number of seconds"
            )))
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    Ok(ConnectParams {
        resource: String::new(),
        user: r.user.clone(),
        password: password(r)?,
        locale: r.locale.clone(),
        security_flags: if max_wait.is_some() || multi {
            WBEM_FLAG_CONNECT_USE_MAX_WAIT
        } else {
            0
        },
        authority: r.authority.clone(),
        http: r.http,
        ca_cert: r.ca_cert.clone(),
        insecure: r.insecure,
        max_wait,
        ..ConnectParams::default()
    })
}

/// A local resource (`-r root\cimv2`) runs in-process, built from the
/// global options (`--mof`, `--smb-conf`, ...) of this invocation.
fn locator(global: &crate::args::GlobalOptions) -> Locator {
    let global = global.clone();
    Locator::with_local_factory(move || {
        crate::local::build_manager(&global).map_err(|f| match f {
            Failure::Cim(e) => WbemError::from(e),
            Failure::Message(m) | Failure::Lines(m) => WbemError::failed(m),
        })
    })
}

/// What one host produced, sent to the printing thread.
enum Output {
    Object(WbemObject),
    Text(String),
}

/// A run against one or many hosts.
struct Run {
    global: crate::args::GlobalOptions,
    targets: Vec<String>,
    multi: bool,
    params: ConnectParams,
    concurrency: usize,
}

impl Run {
    fn new(
        r: &RemoteArgs,
        namespace: &str,
        global: &crate::args::GlobalOptions,
    ) -> Result<Run, Failure> {
        let targets = targets(r, namespace)?;
        let multi = targets.len() > 1 || r.hosts.is_some();
        if r.concurrency == 0 {
            return Err(crate::invalid_parameter("--concurrency must be at least 1"));
        }
        Ok(Run {
            global: global.clone(),
            params: connect_params(r, multi)?,
            targets,
            multi,
            concurrency: r.concurrency,
        })
    }

    /// Connects to every target (at most `concurrency` at once) and runs
    /// `job`, handing what it sends to `sink` on this thread as it comes.
    fn execute<J, S>(&self, job: J, mut sink: S) -> Result<ExitCode, Failure>
    where
        J: Fn(&Services, &dyn Fn(Output) -> bool) -> Result<(), WbemError> + Sync,
        S: FnMut(Option<&str>, Output) -> Result<(), Failure>,
    {
        let locator = locator(&self.global);
        if !self.multi {
            let mut p = self.params.clone();
            p.resource = self.targets[0].clone();
            let services = locator.connect_server(&p).map_err(failure)?;
            services.set_timeout(p.max_wait);
            // One host: print on this thread as results arrive.
            let pending = std::cell::RefCell::new(Ok(()));
            let sink = std::cell::RefCell::new(&mut sink);
            let send = |o: Output| match (sink.borrow_mut())(None, o) {
                Ok(()) => true,
                Err(e) => {
                    *pending.borrow_mut() = Err(e);
                    false
                }
            };
            let result = job(&services, &send);
            pending.into_inner()?;
            result.map_err(failure)?;
            return Ok(ExitCode::SUCCESS);
        }
        let labels: Vec<String> = self.targets.iter().map(|t| label(t)).collect();
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<Output, Option<WbemError>>)>(256);
        let workers = self.concurrency.min(self.targets.len());
        let progress = std::io::stderr().is_terminal();
        let mut failed = 0usize;
        let mut done = 0usize;
        let mut sink_error = None;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, job, locator) = (&next, &job, &locator);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = self.targets.get(i) else {
                        return;
                    };
                    let mut p = self.params.clone();
                    p.resource = target.clone();
                    let result = locator.connect_server(&p).and_then(|s| {
                        s.set_timeout(Some(p.max_wait.unwrap_or(openwmi_client::DEFAULT_MAX_WAIT)));
                        job(&s, &|o| tx.send((i, Ok(o))).is_ok())
                    });
                    if tx.send((i, Err(result.err()))).is_err() {
                        return;
                    }
                });
            }
            drop(tx);
            for (i, msg) in rx {
                let host = labels[i].as_str();
                match msg {
                    Ok(o) => {
                        if sink_error.is_none() {
                            if let Err(e) = sink(Some(host), o) {
                                sink_error = Some(e);
                            }
                        }
                    }
                    Err(result) => {
                        done += 1;
                        if progress {
                            eprint!("\r\x1b[2K");
                        }
                        if let Some(e) = result {
                            failed += 1;
                            eprintln!("{host}: error: {e}");
                        }
                        if progress && done < self.targets.len() {
                            eprint!("{}", bar(done, self.targets.len(), failed));
                        }
                    }
                }
            }
        });
        if let Some(e) = sink_error {
            return Err(e);
        }
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

fn bar(done: usize, total: usize, failed: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    format!(
        "[{}{}] {done}/{total} hosts, {failed} failed",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    )
}

/// The host a row is tagged with: as the resource names it.
fn label(target: &str) -> String {
    match Resource::parse(target) {
        Ok(Resource { host: Some(h), .. }) => h.to_string(),
        Ok(Resource { host: None, .. }) => crate::local::host_name(),
        Err(_) => target.to_owned(),
    }
}

/// Prints instance rows (and, after them, any classes as MOF). Nothing is
/// printed before the first row, so a failed connection prints no empty
/// table or `[]`.
struct RowPrinter {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    formatter: Box<dyn openwmi_output::Formatter>,
    classes: Vec<String>,
    started: bool,
}

impl RowPrinter {
    fn new(o: &InstanceOutput) -> Result<RowPrinter, Failure> {
        let stdout = std::io::stdout();
        let format = o.output.unwrap_or(if stdout.is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::List
        });
        let out = std::io::BufWriter::new(stdout.lock());
        let formatter = crate::local::formatter(format, &o.delimiter);
        Ok(RowPrinter {
            out,
            formatter,
            classes: Vec::new(),
            started: false,
        })
    }

    fn begin(&mut self) -> Result<(), Failure> {
        if !self.started {
            self.started = true;
            self.formatter.begin(&mut self.out)?;
        }
        Ok(())
    }

    fn object(&mut self, host: Option<&str>, o: Output) -> Result<(), Failure> {
        match o {
            Output::Object(WbemObject::Instance { path, instance }) => {
                self.row(host, path.as_ref(), &instance)?
            }
            Output::Object(WbemObject::Class(c)) => {
                let mut text = String::new();
                if let Some(h) = host {
                    text.push_str(&format!("// {h}\n"));
                }
                text.push_str(&openwmi_mof::class_to_mof(&c, false));
                self.classes.push(text);
            }
            Output::Text(t) => self.classes.push(t),
        }
        Ok(())
    }

    fn row(
        &mut self,
        host: Option<&str>,
        path: Option<&ObjectPath>,
        i: &Instance,
    ) -> Result<(), Failure> {
        self.begin()?;
        self.formatter.row(
            &mut self.out,
            &openwmi_output::Row {
                instance: i,
                path,
                host,
            },
        )?;
        Ok(())
    }

    /// Ends the output; an empty result set is still printed (`[]`, a
    /// header...) when the run succeeded and printed no class.
    fn finish(mut self, succeeded: bool) -> Result<(), Failure> {
        if succeeded && self.classes.is_empty() {
            self.begin()?;
        }
        if self.started {
            self.formatter.end(&mut self.out)?;
        }
        for c in &self.classes {
            self.out.write_all(c.as_bytes())?;
            if !c.ends_with('\n') {
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Runs a job whose results are rows, printing them whatever happens.
fn run_rows<J>(run: &Run, out: &InstanceOutput, job: J) -> Result<ExitCode, Failure>
where
    J: Fn(&Services, &dyn Fn(Output) -> bool) -> Result<(), WbemError> + Sync,
{
    let mut printer = RowPrinter::new(out)?;
    let result = run.execute(job, |host, o| printer.object(host, o));
    printer.finish(matches!(result, Ok(ExitCode::SUCCESS)))?;
    result
}

pub fn query(a: &QueryArgs, g: &crate::args::GlobalOptions) -> Result<ExitCode, Failure> {
    if !a.language.eq_ignore_ascii_case("WQL") {
        return Err(Failure::Cim(openwmi_cim::CimError::new(
            openwmi_cim::CimStatus::QueryLanguageNotSupported,
            format!("query language {} is not supported; use WQL", a.language),
        )));
    }
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_rows(&run, &a.out, |s, send| {
        for o in s.exec_query(&a.wql)? {
            if !send(Output::Object(o?)) {
                break;
            }
        }
        Ok(())
    })
}

pub fn get(a: &GetArgs, g: &crate::args::GlobalOptions) -> Result<ExitCode, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_rows(&run, &a.out, |s, send| {
        match s.get_object(&a.path)? {
            WbemObject::Class(c) => send(Output::Text(openwmi_mof::class_to_mof(&c, true))),
            o => send(Output::Object(o)),
        };
        Ok(())
    })
}

/// Prints text blocks; with several hosts each block is headed `== HOST ==`.
fn run_text<J>(run: &Run, job: J) -> Result<ExitCode, Failure>
where
    J: Fn(&Services) -> Result<String, WbemError> + Sync,
{
    let mut out = std::io::stdout().lock();
    run.execute(
        |s, send| {
            send(Output::Text(job(s)?));
            Ok(())
        },
        |host, o| {
            if let Output::Text(t) = o {
                if let Some(h) = host {
                    writeln!(out, "== {h} ==")?;
                }
                out.write_all(t.as_bytes())?;
                if !t.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            Ok(())
        },
    )
}

pub fn class(a: &ClassArgs, g: &crate::args::GlobalOptions) -> Result<ExitCode, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_text(&run, |s| {
        let opts = ClassOptions {
            local_only: a.local_only,
            ..ClassOptions::default()
        };
        let class: Class = s.get_class(&a.class, &opts)?;
        Ok(match a.output {
            ClassFormat::Mof => openwmi_mof::class_to_mof(&class, !a.local_only),
            ClassFormat::Json => crate::classfmt::class_to_json(&class),
        })
    })
}

pub fn classes(a: &ClassesArgs, g: &crate::args::GlobalOptions) -> Result<ExitCode, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_text(&run, |s| {
        let names = s.class_names(a.superclass.as_deref(), a.deep)?;
        Ok(match a.output {
            SummaryFormat::Text => names.iter().map(|n| format!("{n}\n")).collect(),
            SummaryFormat::Json => {
                let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                serde_json::to_string(&list).unwrap_or_default()
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_added_to_bare_hosts() {
        let ns = "root\\cimv2";
        assert_eq!(with_namespace("srv", ns), "\\\\srv\\root\\cimv2");
        assert_eq!(with_namespace("srv:5988", ns), "\\\\srv:5988\\root\\cimv2");
        assert_eq!(with_namespace("\\\\srv", ns), "\\\\srv\\root\\cimv2");
        assert_eq!(with_namespace("//srv", ns), "\\\\srv\\root\\cimv2");
        assert_eq!(with_namespace("\\\\srv\\root\\x", ns), "\\\\srv\\root\\x");
        assert_eq!(with_namespace("root/cimv2", ns), "root/cimv2");
        assert_eq!(with_namespace("https://h:1", ns), "https://h:1/root/cimv2");
        assert_eq!(
            with_namespace("[::1]:5988", ns),
            "\\\\[::1]:5988\\root\\cimv2"
        );
        assert_eq!(bar(1, 2, 0).len(), bar(2, 2, 1).len());
    }
}
