//! Where a command runs: ConnectServer to each target (this machine's `-n`
//! namespace without `-r`; the `-r` resources and `--hosts` lines with them),
//! the command's job on each [`Services`] handle, several hosts at once, and
//! what the job produces handed to one sink on the calling thread.

use crate::args::{GlobalOptions, RemoteArgs};
use crate::failure::{invalid_parameter, Failure};
use openwmi_client::{ConnectParams, Locator, Resource, Services, WbemError};
use openwmi_client::{DEFAULT_MAX_WAIT, WBEM_FLAG_CONNECT_USE_MAX_WAIT};
use std::io::{BufRead, IsTerminal};
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
/// `-n` namespace; `root` alone is the local namespace `root`.
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
        // `https://host:5986/wsman`: the namespace goes after `/wsman/`.
        let (with_ns, wsman) = openwmi_client::wsman::split_wsman_url(target, "");
        if wsman && with_ns.ends_with('/') {
            return format!("{}/{}", target.trim_end_matches('/'), ns.replace('\\', "/"));
        }
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
    // A word with a separator is a local namespace (`root\cimv2`), and so
    // is `root` alone, where every namespace starts (as strNetworkResource
    // takes it); any other word is a host name (`\\root` is the host).
    if target.contains(['\\', '/']) || target.eq_ignore_ascii_case("root") {
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
            return Err(invalid_parameter(format!(
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
        protocol: r.protocol.map(|p| match p {
            crate::args::ProtocolArg::Cimxml => openwmi_client::Protocol::CimXml,
            crate::args::ProtocolArg::Wsman => openwmi_client::Protocol::WsMan,
        }),
        ..ConnectParams::default()
    })
}

/// A local resource given with `-r` (`root\cimv2`) runs in-process, built
/// from the global options (`--mof`, `--smb-conf`, ...) of this invocation
/// when a connection asks for it, so a remote-only run never builds one.
fn lazy_locator(global: &GlobalOptions) -> Locator {
    let global = global.clone();
    Locator::with_local_factory(move || {
        crate::local::build_manager(&global).map_err(|f| match f {
            Failure::Cim(e) => WbemError::from(e),
            Failure::Message(m) | Failure::Lines(m) => WbemError::failed(m),
        })
    })
}

/// A run against one or many hosts.
pub struct Run {
    locator: Locator,
    targets: Vec<String>,
    multi: bool,
    params: ConnectParams,
    concurrency: usize,
}

impl Run {
    pub fn new(r: &RemoteArgs, namespace: &str, global: &GlobalOptions) -> Result<Run, Failure> {
        if !r.is_remote_request() {
            return Run::this_machine(namespace, global);
        }
        let targets = targets(r, namespace)?;
        let multi = targets.len() > 1 || r.hosts.is_some();
        if r.concurrency == 0 {
            return Err(invalid_parameter("--concurrency must be at least 1"));
        }
        Ok(Run {
            locator: lazy_locator(global),
            params: connect_params(r, multi)?,
            targets,
            multi,
            concurrency: r.concurrency,
        })
    }

    /// The `-n` namespace of this machine. The object manager is built
    /// first, so that its failure (a `--mof` file's errors) is reported as
    /// itself. No connection option is read: they are for `-r`, and a
    /// password in OPENWMI_PASSWORD would make a local connection fail
    /// with WBEM_E_LOCAL_CREDENTIALS.
    fn this_machine(namespace: &str, global: &GlobalOptions) -> Result<Run, Failure> {
        let om = crate::local::build_manager(global)?;
        // `-n` takes the spellings the object manager takes (`/root/cimv2/`).
        let resource =
            openwmi_cim::normalize_namespace(namespace).unwrap_or_else(|_| namespace.to_owned());
        Ok(Run {
            locator: Locator::with_local(om),
            targets: vec![resource],
            multi: false,
            params: ConnectParams::default(),
            concurrency: 1,
        })
    }

    /// Connects to every target (at most `concurrency` at once) and runs
    /// `job`, handing what it sends to `sink` on this thread as it comes.
    /// A failing host stops a single-host run with its error; with several
    /// hosts it is reported as `HOST: error: ...` on stderr, the others go on,
    /// and the exit status is 1.
    pub fn execute<T, J, S>(&self, job: J, mut sink: S) -> Result<ExitCode, Failure>
    where
        T: Send,
        J: Fn(&Services, &dyn Fn(T) -> bool) -> Result<(), WbemError> + Sync,
        S: FnMut(Option<&str>, T) -> Result<(), Failure>,
    {
        let locator = &self.locator;
        if !self.multi {
            let mut p = self.params.clone();
            p.resource = self.targets[0].clone();
            let services = locator.connect_server(&p).map_err(failure)?;
            services.set_timeout(p.max_wait);
            // One host: print on this thread as results arrive.
            let pending = std::cell::RefCell::new(Ok(()));
            let sink = std::cell::RefCell::new(&mut sink);
            let send = |o: T| match (sink.borrow_mut())(None, o) {
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
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<T, Option<WbemError>>)>(256);
        let workers = self.concurrency.min(self.targets.len());
        let progress = std::io::stderr().is_terminal();
        let mut failed = 0usize;
        let mut done = 0usize;
        let mut sink_error = None;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, job) = (&next, &job);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = self.targets.get(i) else {
                        return;
                    };
                    let mut p = self.params.clone();
                    p.resource = target.clone();
                    let result = locator.connect_server(&p).and_then(|s| {
                        s.set_timeout(Some(p.max_wait.unwrap_or(DEFAULT_MAX_WAIT)));
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
        assert_eq!(with_namespace("root", ns), "root");
        assert_eq!(with_namespace("ROOT", ns), "ROOT");
        assert_eq!(with_namespace("\\\\root", ns), "\\\\root\\root\\cimv2");
        assert_eq!(with_namespace("rooted", ns), "\\\\rooted\\root\\cimv2");
        assert_eq!(with_namespace("https://h:1", ns), "https://h:1/root/cimv2");
        assert_eq!(
            with_namespace("[::1]:5988", ns),
            "\\\\[::1]:5988\\root\\cimv2"
        );
        assert_eq!(bar(1, 2, 0).len(), bar(2, 2, 1).len());
        assert_eq!(
            with_namespace("https://h:5986/wsman", ns),
            "https://h:5986/wsman/root/cimv2"
        );
        assert_eq!(
            with_namespace("http://h:5985/wsman/", "root\\standardcimv2"),
            "http://h:5985/wsman/root/standardcimv2"
        );
        assert_eq!(
            with_namespace("https://h:5986/wsman/root/x", ns),
            "https://h:5986/wsman/root/x"
        );
    }
}
