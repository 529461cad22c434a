//! The I/O edge: runs `smbstatus` and `testparm` (or reads smb.conf), with
//! a timeout, and caches what they said for a short time.
//!
//! Every call of [`SambaSource::status`] that arrives while a run is in
//! flight waits for that run and shares its result (single flight), and a
//! result younger than the freshness is reused, so a burst of WQL queries
//! costs one `smbstatus` run. Errors are shared and cached the same way.
//!
//! A stopped smbd leaves smbstatus answering exactly as an idle one does
//! (exit 0, empty sections: it drops the records of dead processes), so an
//! empty answer is trusted only while the pid file in smbd's `pid
//! directory` names a live process called `smbd` ([`smbd_running`]);
//! otherwise the answer is [`Error::NotRunning`].

use crate::error::Error;
use crate::smbconf::{Document, Share, SmbConf};
use crate::smbstatus::{self, SambaVersion, Status};
use std::ffi::OsString;
use std::io::{ErrorKind, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The smb.conf read when none is configured and testparm is missing.
pub const DEFAULT_SMB_CONF: &str = "/etc/samba/smb.conf";
/// How deep `include` lines may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Where smbd writes its pid file when smb.conf sets no `pid directory`
/// (Debian's and the upstream build's default).
pub const DEFAULT_PID_DIRECTORY: &str = "/run/samba";
/// The most output read from `testparm`, `net` and `lpstat` (their parsers'
/// limit), unless [`SambaSource::with_max_output`] sets less.
const MAX_TESTPARM_OUTPUT: usize = crate::smbconf::MAX_INPUT_BYTES;
/// The most output read from a data source by default (smbstatus for
/// tens of thousands of connections).
pub const DEFAULT_MAX_OUTPUT: usize = smbstatus::MAX_INPUT_BYTES;

/// Told of every read of a data source, whoever asked for it (a CIM
/// request or a scrape): the source (`smbstatus`, `testparm`, `smb_conf`,
/// `net`, `lpstat`, `getent`), how long it took and whether it gave an
/// answer. Reads shared through the cache are not reads.
pub type ReadObserver = fn(source: &'static str, took: Duration, ok: bool);

static READ_OBSERVER: OnceLock<ReadObserver> = OnceLock::new();

/// Sets the process's [`ReadObserver`] (the first one set stays).
pub fn observe_reads(observer: ReadObserver) {
    let _ = READ_OBSERVER.set(observer);
}

fn note_read(source: &'static str, started: Instant, ok: bool) {
    if let Some(observer) = READ_OBSERVER.get() {
        observer(source, started.elapsed(), ok);
    }
}

/// Sessions + tree connects + opens from which a dropped snapshot's memory
/// is given back to the system.
const LARGE_SNAPSHOT: usize = 2000;

fn entries(s: &Status) -> usize {
    s.sessions.len() + s.tcons.len() + s.open_files.iter().map(|f| f.opens.len()).sum::<usize>()
}

/// Where Samba's state comes from, and how long a reading stays good.
#[derive(Debug)]
pub struct SambaSource {
    smbstatus: PathBuf,
    testparm: PathBuf,
    net: PathBuf,
    lpstat: PathBuf,
    /// testparm was configured explicitly: always ask it.
    testparm_chosen: bool,
    smb_conf: Option<PathBuf>,
    timeout: Duration,
    max_output: usize,
    freshness: Duration,
    status_flight: SingleFlight<Status>,
    conf_flight: SingleFlight<ConfData>,
}

#[derive(Debug)]
struct ConfData {
    conf: Arc<SmbConf>,
    shares: Arc<Vec<Share>>,
}

impl Default for SambaSource {
    fn default() -> Self {
        SambaSource::new()
    }
}

impl SambaSource {
    /// `smbstatus` and `testparm` from PATH, Samba's default smb.conf, a
    /// 10 s timeout and 1 s freshness.
    pub fn new() -> SambaSource {
        SambaSource {
            smbstatus: PathBuf::from("smbstatus"),
            testparm: PathBuf::from("testparm"),
            net: PathBuf::from("net"),
            lpstat: PathBuf::from("lpstat"),
            testparm_chosen: false,
            smb_conf: None,
            timeout: Duration::from_secs(10),
            max_output: DEFAULT_MAX_OUTPUT,
            freshness: Duration::from_secs(1),
            status_flight: SingleFlight {
                large: |s| entries(s) >= LARGE_SNAPSHOT,
                ..SingleFlight::default()
            },
            conf_flight: SingleFlight::default(),
        }
    }

    /// The smbstatus program to run.
    pub fn with_smbstatus(mut self, program: impl Into<PathBuf>) -> Self {
        self.smbstatus = program.into();
        self
    }

    /// The testparm program to run.
    pub fn with_testparm(mut self, program: impl Into<PathBuf>) -> Self {
        self.testparm = program.into();
        self.testparm_chosen = true;
        self
    }

    /// The `net` program that lists usershares (`net usershare info`).
    pub fn with_net(mut self, program: impl Into<PathBuf>) -> Self {
        self.net = program.into();
        self
    }

    /// The CUPS `lpstat` program that lists printers (`lpstat -e`).
    pub fn with_lpstat(mut self, program: impl Into<PathBuf>) -> Self {
        self.lpstat = program.into();
        self
    }

    /// The smb.conf to use (`smbstatus -s FILE`, `testparm -s FILE`).
    pub fn with_smb_conf(mut self, path: impl Into<PathBuf>) -> Self {
        self.smb_conf = Some(path.into());
        self
    }

    /// How long a program may run before it is killed.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most bytes a program may print; beyond it the program is killed
    /// and its reading fails, naming the limit. testparm, net and lpstat
    /// stay within their parsers' smaller limit whatever this says.
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// How long a result is reused.
    pub fn with_freshness(mut self, freshness: Duration) -> Self {
        self.freshness = freshness;
        self
    }

    /// The current sessions, tree connects and open files
    /// (`smbstatus --json [-s FILE]`).
    pub fn status(&self) -> Result<Arc<Status>, Error> {
        let status = self.status_flight.get(self.freshness, || {
            let started = Instant::now();
            let status = self.run_smbstatus();
            note_read("smbstatus", started, status.is_ok());
            status
        });
        // A large snapshot leaves its memory free but mapped, scattered
        // through the heaps, once the last request holding it is done: give
        // it back then (checked here, as the next reading comes).
        if self.status_flight.reap_dropped() {
            openwmi_malloc::release_free_memory();
        }
        status
    }

    /// Whether [`SambaSource::status`] would answer from its cache now
    /// (a result younger than the freshness, or a run in flight to share).
    pub fn status_is_fresh(&self) -> bool {
        self.status_flight.is_fresh(self.freshness)
    }

    /// Whether [`SambaSource::smb_conf`] would answer from its cache now.
    pub fn conf_is_fresh(&self) -> bool {
        self.conf_flight.is_fresh(self.freshness)
    }

    /// The shares the configuration serves: smb.conf's (read in place when
    /// it is self-contained, else `testparm -s [FILE]`, see `read_conf`),
    /// the printcap's printers through `[printers]`, and the usershares
    /// (`net usershare info --long`) when enabled. Home shares appear with
    /// sessions: see [`crate::served::served_shares`].
    pub fn shares(&self) -> Result<Arc<Vec<Share>>, Error> {
        Ok(self.conf()?.shares.clone())
    }

    /// The home directory of `user`, as smbd would find it: `/etc/passwd`,
    /// else `getent passwd USER` (NSS: LDAP, winbind, ...).
    pub fn home_dir(&self, user: &str) -> Option<String> {
        if user.is_empty() || user.starts_with('-') {
            return None;
        }
        if let Some(h) = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|t| crate::served::passwd_home(&t, user))
        {
            return Some(h);
        }
        let started = Instant::now();
        let out = run(
            Path::new("getent"),
            &[OsString::from("passwd"), OsString::from(user)],
            self.timeout,
            self.max_output.min(64 * 1024),
        );
        // getent exits 2 for a user it does not know: an answer too.
        let answered = out
            .as_ref()
            .is_ok_and(|o| o.status.success() || o.status.code() == Some(2));
        note_read("getent", started, answered);
        let out = out.ok()?;
        out.status.success().then_some(())?;
        crate::served::passwd_home(&String::from_utf8_lossy(&out.stdout), user)
    }

    /// The configuration and the shares it serves ([`SambaSource::shares`]),
    /// from one reading.
    pub fn configuration(&self) -> Result<(Arc<SmbConf>, Arc<Vec<Share>>), Error> {
        let c = self.conf()?;
        Ok((c.conf.clone(), c.shares.clone()))
    }

    /// The whole configuration reading (globals and shares).
    pub fn smb_conf(&self) -> Result<Arc<SmbConf>, Error> {
        Ok(self.conf()?.conf.clone())
    }

    /// The Samba version (`smbstatus --version`), not cached.
    pub fn version(&self) -> Result<SambaVersion, Error> {
        let name = display(&self.smbstatus);
        let out = run(
            &self.smbstatus,
            &[OsString::from("--version")],
            self.timeout,
            self.max_output.min(4096),
        )?;
        if !out.status.success() {
            return Err(exited(&name, &out));
        }
        smbstatus::parse_version(&String::from_utf8_lossy(&out.stdout)).map_err(|e| Error::Output {
            program: name,
            error: Box::new(e),
        })
    }

    fn conf(&self) -> Result<Arc<ConfData>, Error> {
        self.conf_flight.get(self.freshness, || {
            let conf = self.read_conf()?;
            let printers = self.printers(&conf);
            let usershares = self.usershares(&conf);
            Ok(ConfData {
                shares: Arc::new(crate::served::configured_shares(
                    &conf.shares,
                    conf.globals.load_printers,
                    &printers,
                    &usershares,
                )),
                conf: Arc::new(conf),
            })
        })
    }

    /// The usershares, when `usershare max shares` enables them. Decision:
    /// a listing that fails (`net` missing, the usershare directory
    /// unreadable for this user) adds none rather than failing Win32_Share.
    fn usershares(&self, conf: &SmbConf) -> Vec<Share> {
        if conf.globals.usershare_max_shares == 0 {
            return Vec::new();
        }
        let mut args: Vec<OsString> = ["usershare", "info", "--long"]
            .into_iter()
            .map(OsString::from)
            .collect();
        if let Some(f) = &self.smb_conf {
            args.push(OsString::from("-s"));
            args.push(f.clone().into_os_string());
        }
        let started = Instant::now();
        let out = run(&self.net, &args, self.timeout, self.small_output());
        note_read(
            "net",
            started,
            out.as_ref().is_ok_and(|o| o.status.success()),
        );
        match out {
            Ok(out) if out.status.success() => {
                crate::served::parse_usershare_info(&String::from_utf8_lossy(&out.stdout))
            }
            _ => Vec::new(),
        }
    }

    /// The printers `[printers]` serves, when it exists and `load printers`
    /// is on: from CUPS (`lpstat -e`) when Samba prints through CUPS (its
    /// default) or the printcap is `cups`/`lpstat`, else from the printcap
    /// file. Decision: an unreadable source adds none; tree connects to
    /// printers still make their shares appear (`served_shares`).
    fn printers(&self, conf: &SmbConf) -> Vec<crate::served::Printer> {
        let g = &conf.globals;
        let has_printers = conf
            .shares
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case("printers"));
        if !g.load_printers || !has_printers {
            return Vec::new();
        }
        let printing = g.printing.as_deref().unwrap_or("cups").to_ascii_lowercase();
        let via_cups = matches!(printing.as_str(), "cups" | "iprint");
        let name = g
            .printcap_name
            .clone()
            .unwrap_or_else(|| if via_cups { "cups" } else { "/etc/printcap" }.to_string());
        if via_cups || name.eq_ignore_ascii_case("cups") || name.eq_ignore_ascii_case("lpstat") {
            let started = Instant::now();
            let out = run(
                &self.lpstat,
                &[OsString::from("-e")],
                self.timeout,
                self.small_output(),
            );
            note_read(
                "lpstat",
                started,
                out.as_ref().is_ok_and(|o| o.status.success()),
            );
            return match out {
                Ok(out) if out.status.success() => {
                    crate::served::parse_lpstat_destinations(&String::from_utf8_lossy(&out.stdout))
                }
                _ => Vec::new(),
            };
        }
        match std::fs::read(&name) {
            Ok(bytes) if bytes.len() <= crate::smbconf::MAX_INPUT_BYTES => {
                crate::served::parse_printcap(&String::from_utf8_lossy(&bytes))
            }
            _ => Vec::new(),
        }
    }

    fn read_conf(&self) -> Result<SmbConf, Error> {
        // Decision: smb.conf read in place says what testparm's dump says
        // when it uses nothing only Samba's loader evaluates (per-client or
        // registry includes, `copy`, `config file`, registry shares), and
        // costs no process. Otherwise, or when a testparm was configured
        // explicitly, testparm answers. Without --smb-conf the file is
        // Samba's packaged default, /etc/samba/smb.conf.
        if !self.testparm_chosen {
            let path = self
                .smb_conf
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_SMB_CONF));
            let started = Instant::now();
            let conf = load_smb_conf(path);
            note_read("smb_conf", started, conf.is_ok());
            if let Ok(conf) = conf {
                if conf.includes.is_empty() && !conf.needs_samba_loader {
                    return Ok(conf);
                }
            }
        }
        let name = display(&self.testparm);
        let mut args = vec![OsString::from("-s")];
        if let Some(f) = &self.smb_conf {
            args.push(f.clone().into_os_string());
        }
        let started = Instant::now();
        let conf = match run(&self.testparm, &args, self.timeout, self.small_output())
            .map_err(|e| output_named(e, "testparm output"))
        {
            // testparm also exits 1 for problems of the host (a missing
            // state directory) after loading the file fine; the dump is then
            // still the configuration.
            Ok(out) if out.status.success() || loaded_ok(&out) => {
                crate::smbconf::parse(&String::from_utf8_lossy(&out.stdout)).map_err(|e| {
                    Error::Output {
                        program: name,
                        error: Box::new(e),
                    }
                })
            }
            Ok(out) => Err(Error::Exited {
                program: name,
                code: out.status.code(),
                stderr: testparm_complaint(&out),
            }),
            // Without testparm, read the file the way smbd would.
            Err(Error::NotFound { .. }) => {
                let started = Instant::now();
                let conf = load_smb_conf(
                    self.smb_conf
                        .as_deref()
                        .unwrap_or(Path::new(DEFAULT_SMB_CONF)),
                );
                note_read("smb_conf", started, conf.is_ok());
                return conf;
            }
            Err(e) => Err(e),
        };
        note_read("testparm", started, conf.is_ok());
        conf
    }

    fn run_smbstatus(&self) -> Result<Status, Error> {
        let name = display(&self.smbstatus);
        // -B adds the byte-range locks to the same document (and run).
        let mut args = vec![OsString::from("--json"), OsString::from("-B")];
        if let Some(f) = &self.smb_conf {
            // smbstatus falls back to built-in paths for a missing file and
            // exits 0 with an empty (and partial) answer.
            if let Err(e) = std::fs::metadata(f) {
                return Err(Error::Io {
                    path: f.display().to_string(),
                    message: e.to_string(),
                });
            }
            args.push(OsString::from("-s"));
            args.push(f.clone().into_os_string());
        }
        let mut out = run_with(&self.smbstatus, &args, self.timeout, self.max_output, true)
            .map_err(|e| {
                output_named(
                    named_role(e, &self.smbstatus, "smbstatus"),
                    "smbstatus output",
                )
            })?;
        let spooled = out.spooled.take();
        if !out.status.success() {
            if let Some(file) = &spooled {
                out.stdout = read_spool(file, 64 * 1024).unwrap_or_default();
            }
            return Err(self.explain_failure(&name, &out));
        }
        // The same fallback for the default smb.conf: "Can't load FILE - run
        // testparm to debug it" on stderr, exit status 0.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(line) = stderr.lines().find(|l| l.starts_with("Can't load ")) {
            let path = line["Can't load ".len()..]
                .split(" - ")
                .next()
                .unwrap_or_default();
            return Err(Error::Io {
                path: path.to_string(),
                message: format!("{name}: {}", line.trim()),
            });
        }
        // No locking.tdb yet: smbstatus says so and leaves out `open_files`.
        let no_locking_db = stderr.contains("locking.tdb not initialised");
        let parsed = match &spooled {
            // Straight from the file: the text is never in memory as a whole.
            Some(file) => {
                read_spooled_status(file, self.max_output, !no_locking_db).map_err(|e| {
                    Error::Spawn {
                        program: name.clone(),
                        message: format!("reading its output: {e}"),
                    }
                })?
            }
            None => {
                let text = String::from_utf8_lossy(&out.stdout);
                (
                    smbstatus::parse_inner(&text, !no_locking_db),
                    text.trim_start().starts_with('{'),
                )
            }
        };
        let (parsed, looks_like_json) = parsed;
        let status = parsed.map_err(|e| {
            // A release without --json may print its text table and exit 0.
            if !looks_like_json {
                if let Some(old) = self.old_version() {
                    return old;
                }
            }
            Error::Output {
                program: name.clone(),
                error: Box::new(e),
            }
        })?;
        // smbstatus drops the records of dead smbd processes, so a stopped
        // smbd answers exactly like an idle one (exit 0, empty sections).
        // Only a non-empty answer proves smbd runs; check an empty one.
        if status.sessions.is_empty() && status.tcons.is_empty() {
            smbd_running(&self.pid_directory(), self.smb_conf.as_deref())?;
        }
        Ok(status)
    }

    /// smbd's `pid directory`: from the configuration reading (shared with
    /// the shares), else from smb.conf itself, else the default.
    fn pid_directory(&self) -> PathBuf {
        let configured = match self.smb_conf() {
            Ok(conf) => conf.globals.pid_directory.clone(),
            Err(_) => load_smb_conf(
                self.smb_conf
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_SMB_CONF)),
            )
            .ok()
            .and_then(|c| c.globals.pid_directory),
        };
        configured
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PID_DIRECTORY))
    }

    /// The limit of programs whose parsers accept less than smbstatus's.
    fn small_output(&self) -> usize {
        self.max_output.min(MAX_TESTPARM_OUTPUT)
    }

    /// The most precise error for a failed smbstatus run.
    fn explain_failure(&self, name: &str, out: &Output) -> Error {
        let all = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let lower = all.to_lowercase();
        // Samba 4.17 as non-root: exit 1, "smbstatus only works as root!"
        // on stderr, and a JSON document cut after `smb_conf` on stdout.
        if refused_for_non_root(&lower, effective_uid()) {
            return Error::NeedsRoot {
                program: name.to_string(),
                detail: first_line(&out.stderr, &out.stdout),
            };
        }
        if let Some(old) = self.old_version() {
            return old;
        }
        if lower.contains("json")
            && (lower.contains("unknown option") || lower.contains("bad option"))
        {
            return Error::NoJsonOutput {
                version: "older than 4.17".to_string(),
            };
        }
        exited(name, out)
    }

    /// `Some(NoJsonOutput)` when `smbstatus --version` names a release
    /// before 4.17.
    fn old_version(&self) -> Option<Error> {
        let v = self.version().ok()?;
        (!v.has_json()).then_some(Error::NoJsonOutput { version: v.text })
    }
}

/// Reads an smb.conf and the files its `include` lines name, in place, as
/// smbd does. Decisions: a relative include is taken relative to the
/// including file's directory (smbd uses its working directory, `/`); an
/// include that does not exist is skipped (smbd logs and goes on); includes
/// with `%` substitutions (per-client files) and `include = registry` are
/// left in [`SmbConf::includes`]; a cycle or nesting deeper than
/// [`MAX_INCLUDE_DEPTH`] is an error.
pub fn load_smb_conf(path: &Path) -> Result<SmbConf, Error> {
    let mut items = Vec::new();
    let mut stack = Vec::new();
    let mut unresolved = Vec::new();
    expand(path, None, &mut stack, &mut items, &mut unresolved)?;
    let mut conf = SmbConf::from_document(&Document { items })?;
    conf.includes = unresolved;
    Ok(conf)
}

fn expand(
    path: &Path,
    from: Option<(&str, usize)>,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<crate::smbconf::Item>,
    unresolved: &mut Vec<crate::smbconf::Include>,
) -> Result<(), Error> {
    let include_error = |message: String| match from {
        Some((file, line)) => Error::SmbConf {
            file: file.to_string(),
            line,
            message,
        },
        None => Error::Io {
            path: path.display().to_string(),
            message,
        },
    };
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if stack.contains(&canonical) {
        let chain: Vec<String> = stack
            .iter()
            .chain(std::iter::once(&canonical))
            .map(|p| p.display().to_string())
            .collect();
        return Err(include_error(format!(
            "include cycle: {}",
            chain.join(" -> ")
        )));
    }
    if stack.len() >= MAX_INCLUDE_DEPTH {
        return Err(include_error(format!(
            "includes nest deeper than {MAX_INCLUDE_DEPTH} files"
        )));
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            return Err(Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    let name: Arc<str> = Arc::from(path.display().to_string());
    let doc = Document::parse(&text, Some(name.clone()))?;
    stack.push(canonical);
    for item in doc.items {
        let include = match &item.kind {
            crate::smbconf::ItemKind::Param { key, value }
                if crate::smbconf::normalize_key(key) == "include" =>
            {
                Some(value.clone())
            }
            _ => None,
        };
        let Some(target) = include else {
            out.push(item);
            continue;
        };
        if target.contains('%') || target.eq_ignore_ascii_case("registry") || target.is_empty() {
            unresolved.push(crate::smbconf::Include {
                path: target,
                line: item.line,
                file: item.file.clone(),
            });
            continue;
        }
        let mut target_path = PathBuf::from(&target);
        if target_path.is_relative() {
            if let Some(dir) = path.parent() {
                target_path = dir.join(target_path);
            }
        }
        if !target_path.exists() {
            continue;
        }
        expand(
            &target_path,
            Some((&name, item.line)),
            stack,
            out,
            unresolved,
        )?;
    }
    stack.pop();
    Ok(())
}

/// Checks that the pid file smbd keeps in `pid_dir` names a live smbd
/// process. smbd names the file `smbd.pid`; releases that add the name of a
/// non-default configuration file write `smbd-<file name>.pid`.
pub fn smbd_running(pid_dir: &Path, smb_conf: Option<&Path>) -> Result<(), Error> {
    let mut candidates = vec![pid_dir.join("smbd.pid")];
    if let Some(name) = smb_conf.and_then(Path::file_name) {
        let mut file = OsString::from("smbd-");
        file.push(name);
        file.push(".pid");
        candidates.push(pid_dir.join(file));
    }
    let mut findings = Vec::new();
    for file in &candidates {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => {
                findings.push(format!("cannot read {}: {e}", file.display()));
                continue;
            }
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            findings.push(format!("{} holds no pid", file.display()));
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() == "smbd" {
            return Ok(());
        }
        findings.push(format!(
            "{} names pid {pid}, which is not a running smbd",
            file.display()
        ));
    }
    if findings.is_empty() {
        findings.push(format!("no smbd.pid in {}", pid_dir.display()));
    }
    Err(Error::NotRunning {
        detail: findings.join("; "),
    })
}

/// Whether a failure's message (lower case) shows smbstatus refusing a
/// process that is not root. Its own message says so whoever runs it; a
/// bare "permission denied" counts only when this process is not root.
fn refused_for_non_root(message: &str, euid: u32) -> bool {
    let not_root = euid != 0;
    message.contains("only works as root")
        || not_root
            && [
                "only works as root",
                "permission denied",
                "access_denied",
                "access denied",
            ]
            .iter()
            .any(|w| message.contains(w))
}

/// Whether testparm loaded the configuration and printed it.
fn loaded_ok(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stderr).contains("Loaded services file OK.")
        && out.stdout.iter().any(|b| !b.is_ascii_whitespace())
}

/// The line of testparm's stderr that says what is wrong (not its
/// `Load smb config files from ...` banner).
fn testparm_complaint(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.to_lowercase().contains("error"))
        .or_else(|| {
            lines
                .iter()
                .find(|l| !l.starts_with("Load smb config files"))
        })
        .map(|l| l.chars().take(200).collect())
        .unwrap_or_else(|| first_line(&out.stderr, &out.stdout))
}

/// A missing program configured under another name (`--smbstatus
/// /opt/x`) is named by its role too: "smbstatus (/opt/x) not found".
fn named_role(e: Error, program: &Path, role: &str) -> Error {
    match e {
        Error::NotFound { program: shown } if program.file_name() != Some(role.as_ref()) => {
            Error::NotFound {
                program: format!("{role} ({shown})"),
            }
        }
        e => e,
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The effective uid of this process.
fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn first_line(primary: &[u8], fallback: &[u8]) -> String {
    let pick = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(200).collect::<String>())
    };
    pick(primary).or_else(|| pick(fallback)).unwrap_or_default()
}

fn exited(program: &str, out: &Output) -> Error {
    Error::Exited {
        program: program.to_string(),
        code: out.status.code(),
        stderr: first_line(&out.stderr, &out.stdout),
    }
}

#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    /// With `keep_file`, the spool file holding stdout (then empty),
    /// positioned at its start.
    spooled: Option<std::fs::File>,
}

/// Reads a pipe to its end (at most `limit` + 1 bytes) on its own thread.
fn reader(mut pipe: impl Read + Send + 'static, limit: usize) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.by_ref().take(limit as u64 + 1).read_to_end(&mut buf);
        // Drain the rest so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        let _ = tx.send(buf);
    });
    rx
}

/// Runs a program without a shell, with `LC_ALL=C` (so its messages can be
/// recognised), and kills it (and its process group) after `timeout`.
pub(crate) fn run(
    program: &Path,
    args: &[OsString],
    timeout: Duration,
    limit: usize,
) -> Result<Output, Error> {
    run_with(program, args, timeout, limit, false)
}

/// [`run`]; with `keep_file` the output stays in its spool file (when it
/// went to one) for the caller to read as a stream.
fn run_with(
    program: &Path,
    args: &[OsString],
    timeout: Duration,
    limit: usize,
    keep_file: bool,
) -> Result<Output, Error> {
    let name = display(program);
    // smbstatus writes its whole answer at once, hundreds of kilobytes for a
    // busy server. Into a pipe it stalls whenever the pipe is full until this
    // process is scheduled to read; an unlinked temporary file takes it at
    // full speed, as /dev/null would. A pipe is the fallback.
    let spool = spool_file();
    let stdout_to = spool
        .as_ref()
        .and_then(|f| f.try_clone().ok())
        .map_or_else(Stdio::piped, Stdio::from);
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(stdout_to)
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::NotFound {
                program: name.clone(),
            },
            _ => Error::Spawn {
                program: name.clone(),
                message: e.to_string(),
            },
        })?;
    let Some(stderr) = child.stderr.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::Spawn {
            program: name,
            message: "no pipes to the child".to_string(),
        });
    };
    let out_rx = child.stdout.take().map(|pipe| reader(pipe, limit));
    let err_rx = reader(stderr, 64 * 1024);
    let deadline = Instant::now() + timeout;
    // The end of the output (stdout's pipe, else stderr's) is the moment the
    // program finishes: wait for that event rather than polling its status.
    let ended = match (&out_rx, &spool) {
        (Some(rx), _) => rx.recv_timeout(timeout),
        (None, Some(file)) => loop {
            // A runaway program must not fill the disk: watch the size.
            let left = deadline.saturating_duration_since(Instant::now());
            match err_rx.recv_timeout(left.min(Duration::from_millis(50))) {
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {
                    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                    if size > limit as u64 {
                        kill_group(&mut child);
                        return Err(Error::TooLarge {
                            what: "program output",
                            size: usize::try_from(size).unwrap_or(usize::MAX),
                            limit,
                        });
                    }
                }
                other => break other,
            }
        },
        (None, None) => err_rx.recv_timeout(timeout),
    };
    let mut early = match ended {
        Ok(bytes) => Some(bytes),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            kill_group(&mut child);
            return Err(Error::TimedOut {
                program: name,
                after: timeout,
            });
        }
        // The reader thread is gone without an answer (it cannot panic in
        // practice); fall back to waiting for the exit status.
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
    };
    let mut pause = Duration::from_micros(100);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                return Err(Error::Spawn {
                    program: name,
                    message: e.to_string(),
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(&mut child);
            return Err(Error::TimedOut {
                program: name,
                after: timeout,
            });
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let stdout = match (&out_rx, &spool) {
        (Some(_), _) => early.take().unwrap_or_default(),
        (None, Some(file)) if keep_file => {
            use std::io::{Seek, SeekFrom};
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            if size > limit as u64 {
                return Err(Error::TooLarge {
                    what: "program output",
                    size: usize::try_from(size).unwrap_or(usize::MAX),
                    limit,
                });
            }
            let mut f: &std::fs::File = file;
            f.seek(SeekFrom::Start(0)).map_err(|e| Error::Spawn {
                program: name.clone(),
                message: format!("reading its output: {e}"),
            })?;
            Vec::new()
        }
        (None, Some(file)) => read_spool(file, limit).map_err(|e| Error::Spawn {
            program: name.clone(),
            message: format!("reading its output: {e}"),
        })?,
        (None, None) => Vec::new(),
    };
    let stderr = match (&out_rx, early) {
        (None, Some(bytes)) => bytes,
        // A grandchild may still hold stderr open: wait only briefly.
        _ => err_rx
            .recv_timeout(Duration::from_millis(200))
            .unwrap_or_default(),
    };
    if stdout.len() > limit {
        return Err(Error::TooLarge {
            what: "program output",
            size: stdout.len(),
            limit,
        });
    }
    let spooled = if keep_file && out_rx.is_none() {
        spool
    } else {
        None
    };
    Ok(Output {
        status,
        stdout,
        stderr,
        spooled,
    })
}

/// The size of output from which it is parsed as a stream. Parsing text in
/// memory is faster, and below this its copy costs little.
const STREAM_ABOVE: usize = 4 << 20;

/// Parses smbstatus's output from its spool file (as a stream when large);
/// and whether the output starts like a JSON document.
fn read_spooled_status(
    file: &std::fs::File,
    limit: usize,
    open_files_required: bool,
) -> std::io::Result<(Result<Status, Error>, bool)> {
    use std::io::{BufReader, Seek, SeekFrom};
    if file.metadata()?.len() <= STREAM_ABOVE as u64 {
        let text = read_spool(file, limit)?;
        let looks_like_json = text.trim_ascii_start().starts_with(b"{");
        return Ok((
            smbstatus::parse_inner(&String::from_utf8_lossy(&text), open_files_required),
            looks_like_json,
        ));
    }
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    let parsed = smbstatus::parse_reader(
        BufReader::with_capacity(64 * 1024, f.take(limit as u64)),
        open_files_required,
    );
    let Err(e) = parsed else {
        return Ok((parsed, true));
    };
    // The failure path may hold the text: it is rare and bounded.
    let text = read_spool(file, limit)?;
    let looks_like_json = text.trim_ascii_start().starts_with(b"{");
    let parsed = match (e, std::str::from_utf8(&text)) {
        // A stream stops at invalid UTF-8; the text in memory had it
        // replaced and read on, as it always was.
        (Error::Json { .. }, Err(_)) => {
            smbstatus::parse_inner(&String::from_utf8_lossy(&text), open_files_required)
        }
        (e, _) => Err(e),
    };
    Ok((parsed, looks_like_json))
}

/// Names whose output was too large (`run` knows only "program output").
fn output_named(e: Error, what: &'static str) -> Error {
    match e {
        Error::TooLarge { size, limit, .. } => Error::TooLarge { what, size, limit },
        e => e,
    }
}

/// An anonymous temporary file (created 0600, unlinked at once) for a
/// program's output; `None` when the temporary directory is unusable.
fn spool_file() -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..4 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!(
            ".openwmi-out-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        // create_new is O_EXCL: never an existing file or a planted symlink.
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => {
                let _ = std::fs::remove_file(&path);
                return Some(file);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(_) => return None,
        }
    }
    None
}

/// What the program wrote into the spool file (at most `limit` + 1 bytes).
fn read_spool(mut file: &std::fs::File, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Kills the child and, best effort, the process group it leads (spawned
/// with `process_group(0)`), so that a wrapper script's children go too.
fn kill_group(child: &mut std::process::Child) {
    use rustix::process::{kill_process_group, Pid, Signal};
    let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
}

/// Single-flight cache of one value.
#[derive(Debug)]
struct SingleFlight<T> {
    state: Mutex<FlightState<T>>,
    done: Condvar,
    /// Values replaced by a newer run, until the last holder drops them.
    retired: Mutex<Vec<std::sync::Weak<T>>>,
    /// Which values are worth watching until they are dropped.
    large: fn(&T) -> bool,
}

#[derive(Debug)]
struct FlightState<T> {
    last: Option<(Instant, Result<Arc<T>, Error>)>,
    running: bool,
    generation: u64,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            state: Mutex::new(FlightState {
                last: None,
                running: false,
                generation: 0,
            }),
            done: Condvar::new(),
            retired: Mutex::new(Vec::new()),
            large: |_| false,
        }
    }
}

/// Clears the running flag if the run unwinds, so waiters do not hang.
struct RunningGuard<'a, T> {
    flight: &'a SingleFlight<T>,
    armed: bool,
}

impl<T> Drop for RunningGuard<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.flight.lock();
            st.running = false;
            st.generation += 1;
            drop(st);
            self.flight.done.notify_all();
        }
    }
}

impl<T> SingleFlight<T> {
    fn lock(&self) -> MutexGuard<'_, FlightState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_fresh(&self, freshness: Duration) -> bool {
        let st = self.lock();
        st.running
            || st
                .last
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < freshness)
    }

    fn get(
        &self,
        freshness: Duration,
        run: impl FnOnce() -> Result<T, Error>,
    ) -> Result<Arc<T>, Error> {
        let mut st = self.lock();
        loop {
            if let Some((at, result)) = &st.last {
                if at.elapsed() < freshness {
                    return result.clone();
                }
            }
            if !st.running {
                break;
            }
            let generation = st.generation;
            while st.running && st.generation == generation {
                st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            // Share the result of the run we waited for, however old the
            // freshness rule would call it.
            if st.generation != generation {
                if let Some((_, result)) = &st.last {
                    return result.clone();
                }
            }
        }
        st.running = true;
        // Nobody is handed the stale value any more (callers wait for this
        // run): let it go before the run rather than after, so that a
        // large snapshot is not held beside the one being read.
        let stale = st.last.take();
        drop(st);
        if let Some((_, Ok(old))) = stale.filter(|(_, r)| r.as_ref().is_ok_and(|v| (self.large)(v)))
        {
            self.retired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Arc::downgrade(&old));
        }
        let mut guard = RunningGuard {
            flight: self,
            armed: true,
        };
        let result = run().map(Arc::new);
        let mut st = self.lock();
        st.last = Some((Instant::now(), result.clone()));
        st.running = false;
        st.generation += 1;
        guard.armed = false;
        drop(st);
        self.done.notify_all();
        result
    }

    /// Forgets the retired values nobody holds any more; whether there
    /// were any.
    fn reap_dropped(&self) -> bool {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        let before = retired.len();
        retired.retain(|w| w.strong_count() > 0);
        retired.len() < before
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
