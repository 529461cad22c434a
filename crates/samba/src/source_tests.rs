//! Tests with fake `smbstatus` / `testparm` scripts for the states no real
//! server can be put in on demand (hangs, garbage, old releases).

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};

const CAPTURE_4_17: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/smbstatus-4.17.json"
);

/// A fresh directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "openwmi-samba-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn source(program: &Path) -> SambaSource {
    SambaSource::new()
        .with_smbstatus(program)
        .with_timeout(Duration::from_secs(5))
}

fn runs(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn runs_smbstatus_json_with_the_configured_smb_conf() {
    let d = temp_dir("ok");
    let args = d.join("args");
    let p = script(
        &d,
        "smbstatus",
        &format!("echo \"$@\" > {}\ncat {CAPTURE_4_17}", args.display()),
    );
    let conf = d.join("other.conf");
    std::fs::write(&conf, "[global]\n").unwrap();
    let src = source(&p).with_smb_conf(&conf);
    let st = src.status().unwrap();
    assert_eq!(st.sessions.len(), 2);
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        format!("--json -B -s {}", conf.display())
    );
}

#[test]
fn not_found() {
    let src = source(Path::new("/nonexistent/dir/smbstatus"));
    let e = src.status().unwrap_err();
    assert_eq!(e.to_string(), "/nonexistent/dir/smbstatus not found");
    let e = SambaSource::new()
        .with_smbstatus("openwmi-no-such-smbstatus")
        .status()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "smbstatus (openwmi-no-such-smbstatus) not found"
    );
    let e = source(Path::new("/nonexistent")).status().unwrap_err();
    assert_eq!(e.to_string(), "smbstatus (/nonexistent) not found");
}

#[test]
fn exit_status_and_first_stderr_line() {
    let d = temp_dir("exit");
    let p = script(
        &d,
        "smbstatus",
        "echo '' >&2\necho 'Failed to open sessionid.tdb' >&2\necho 'more' >&2\nexit 1",
    );
    let e = source(&p).status().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{} exited 1: Failed to open sessionid.tdb", p.display())
    );
    assert!(matches!(e, Error::Exited { code: Some(1), .. }));
}

#[test]
fn a_hung_child_is_killed() {
    let d = temp_dir("hang");
    // The shell's child `sleep` holds the pipes too: the whole group must go.
    let p = script(&d, "smbstatus", "echo started\nsleep 30\necho never");
    let src = source(&p).with_timeout(Duration::from_millis(300));
    let t0 = Instant::now();
    let e = src.status().unwrap_err();
    let took = t0.elapsed();
    assert_eq!(
        e.to_string(),
        format!("{} timed out after 0.3 s", p.display())
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // The default timeout prints as whole seconds.
    assert_eq!(SambaSource::new().timeout, Duration::from_secs(10));
    let msg = Error::TimedOut {
        program: "smbstatus".into(),
        after: Duration::from_secs(10),
    }
    .to_string();
    assert_eq!(msg, "smbstatus timed out after 10 s");
}

#[test]
fn garbage_and_truncated_output() {
    let d = temp_dir("garbage");
    let p = script(&d, "smbstatus", "echo 'this is not json'");
    let e = source(&p).status().unwrap_err();
    assert!(
        matches!(&e, Error::Output { error, .. } if matches!(**error, Error::Json { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("malformed JSON at line 1"), "{e}");
    let p = script(&d, "smbstatus2", &format!("head -c 700 {CAPTURE_4_17}"));
    let e = source(&p).status().unwrap_err();
    assert!(e.to_string().contains("EOF while parsing"), "{e}");
    let p = script(&d, "smbstatus3", "true");
    assert!(source(&p).status().is_err(), "empty output is an error");
}

#[test]
fn old_samba_without_json() {
    let d = temp_dir("old");
    let p = script(
        &d,
        "smbstatus",
        "if [ \"$1\" = --version ]; then echo 'Version 4.15.13-Ubuntu'; exit 0; fi\n\
         echo 'smbstatus: --json: unknown option' >&2\nexit 1",
    );
    let e = source(&p).status().unwrap_err();
    assert_eq!(
        e.to_string(),
        "Samba 4.15.13-Ubuntu has no JSON output (smbstatus --json needs Samba 4.17 or later)"
    );
    // Without a usable --version the option error alone tells.
    let p = script(
        &d,
        "smbstatus2",
        "echo 'smbstatus: --json: unknown option' >&2\nexit 1",
    );
    assert!(matches!(
        source(&p).status().unwrap_err(),
        Error::NoJsonOutput { .. }
    ));
    // GNU true answers --version with its own version.
    let e = source(Path::new("/bin/true")).version().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/bin/true output: not a Samba version: "),
        "{e}"
    );
}

#[test]
fn non_root_refusal_is_recognised() {
    assert!(refused_for_non_root("smbstatus only works as root!", 1000));
    assert!(refused_for_non_root(
        "failed to open /var/lib/samba/lock/smbxsrv_session_global.tdb: permission denied",
        65534
    ));
    assert!(!refused_for_non_root("permission denied", 0));
    assert!(refused_for_non_root("smbstatus only works as root!", 0));
    assert!(!refused_for_non_root("something else", 1000));
    // The kernel's own account of this process agrees.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(effective_uid(), euid);
}

#[test]
fn single_flight_shares_one_run() {
    let d = temp_dir("flight");
    let log = d.join("runs");
    let p = script(
        &d,
        "smbstatus",
        &format!(
            "echo run >> {}\nsleep 0.3\ncat {CAPTURE_4_17}",
            log.display()
        ),
    );
    let src = Arc::new(source(&p).with_freshness(Duration::from_millis(200)));
    let results: Vec<Arc<Status>> = thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| src.status().unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(runs(&log), 1);
    assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
    // Fresh: reused.
    let again = src.status().unwrap();
    assert!(Arc::ptr_eq(&again, &results[0]));
    assert_eq!(runs(&log), 1);
    // Stale: run again.
    thread::sleep(Duration::from_millis(250));
    let third = src.status().unwrap();
    assert_eq!(runs(&log), 2);
    assert!(!Arc::ptr_eq(&third, &results[0]));
}

#[test]
fn single_flight_shares_errors_too() {
    let d = temp_dir("flight-err");
    let log = d.join("runs");
    let p = script(
        &d,
        "smbstatus",
        &format!(
            "if [ \"$1\" = --version ]; then exit 1; fi\necho run >> {}\nsleep 0.2\necho boom >&2\nexit 3",
            log.display()
        ),
    );
    let src = source(&p).with_freshness(Duration::ZERO);
    let errors: Vec<Error> = thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| src.status().unwrap_err()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(runs(&log), 1);
    for e in &errors {
        assert_eq!(e.to_string(), format!("{} exited 3: boom", p.display()));
    }
    // Freshness zero: the next call runs again.
    let _ = src.status();
    assert_eq!(runs(&log), 2);
}

#[test]
fn shares_from_testparm() {
    let d = temp_dir("testparm");
    let args = d.join("args");
    let tp = script(
        &d,
        "testparm",
        &format!(
            "echo \"$@\" > {}\necho 'Load smb config files from x' >&2\n\
             printf '# Global parameters\\n[global]\\n\\tguest account = gast\\n\\n[public]\\n\\tpath = /srv/p\\n'",
            args.display()
        ),
    );
    let src = SambaSource::new()
        .with_testparm(&tp)
        .with_smb_conf("/etc/x.conf");
    let shares = src.shares().unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0].path, "/srv/p");
    assert_eq!(src.smb_conf().unwrap().globals.guest_account, "gast");
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        "-s /etc/x.conf"
    );
    // Cached: the same Arc.
    assert!(Arc::ptr_eq(&shares, &src.shares().unwrap()));

    let bad = script(
        &d,
        "testparm-bad",
        "echo 'Error loading services.' >&2\nexit 1",
    );
    let e = SambaSource::new().with_testparm(&bad).shares().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{} exited 1: Error loading services.", bad.display())
    );
}

#[test]
fn testparm_complaining_about_the_host_still_gives_shares() {
    // Real testparm 4.17 output for a configuration whose state directories
    // are gone: exit 1, the dump on stdout.
    let d = temp_dir("testparm-host");
    std::fs::write(
        d.join("err"),
        "Load smb config files from x\nLoaded services file OK.\n\n\
         ERROR: state directory /tmp/ow/state does not exist\n\nServer role: ROLE_STANDALONE\n",
    )
    .unwrap();
    let tp = script(
        &d,
        "testparm",
        &format!(
            "cat {}\ncat {} >&2\nexit 1",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/testparm-s.txt"),
            d.join("err").display()
        ),
    );
    let shares = SambaSource::new().with_testparm(&tp).shares().unwrap();
    assert_eq!(shares.len(), 3);
    // Without the dump it is an error, with the line that says why.
    let tp = script(
        &d,
        "testparm2",
        &format!("cat {} >&2\nexit 1", d.join("err").display()),
    );
    let e = SambaSource::new().with_testparm(&tp).shares().unwrap_err();
    assert!(
        e.to_string()
            .ends_with("exited 1: ERROR: state directory /tmp/ow/state does not exist"),
        "{e}"
    );
}

#[test]
fn without_testparm_smb_conf_is_read_with_includes() {
    let d = temp_dir("includes");
    std::fs::write(
        d.join("smb.conf"),
        "[global]\n include = extra.conf\n include = /nonexistent/skipped.conf\n include = /etc/samba/%m.conf\n[a]\n path = /a\n",
    )
    .unwrap();
    std::fs::write(
        d.join("extra.conf"),
        "guest account = g\n[b]\n path = /b\n include = deeper.conf\n",
    )
    .unwrap();
    std::fs::write(d.join("deeper.conf"), "[c]\n path = /c\n").unwrap();
    let src = SambaSource::new()
        .with_testparm(d.join("no-testparm"))
        .with_smb_conf(d.join("smb.conf"));
    let conf = src.smb_conf().unwrap();
    let names: Vec<_> = conf.shares.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["b", "c", "a"]);
    assert_eq!(conf.globals.guest_account, "g");
    assert_eq!(
        conf.includes.len(),
        1,
        "the %m include is reported, not followed"
    );
    assert_eq!(conf.includes[0].path, "/etc/samba/%m.conf");
}

#[test]
fn include_cycles_and_depth() {
    let d = temp_dir("cycle");
    std::fs::write(d.join("a.conf"), "[a]\ninclude = b.conf\n").unwrap();
    std::fs::write(d.join("b.conf"), "[b]\n\ninclude = a.conf\n").unwrap();
    let e = load_smb_conf(&d.join("a.conf")).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("b.conf line 3: include cycle:"), "{text}");
    assert!(text.ends_with("a.conf"), "{text}");

    for i in 0..20 {
        std::fs::write(
            d.join(format!("n{i}.conf")),
            format!("include = n{}.conf\n", i + 1),
        )
        .unwrap();
    }
    let e = load_smb_conf(&d.join("n0.conf")).unwrap_err();
    assert!(
        e.to_string().contains("includes nest deeper than 16 files"),
        "{e}"
    );

    let e = load_smb_conf(&d.join("missing.conf")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}

/// Replays a capture of the infra harness (`tests/data/*.txt`): exit status,
/// stdout and stderr of a real smbstatus run.
fn replay(dir: &Path, capture: &str) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(capture),
    )
    .unwrap();
    // Only the first command of the capture (the --json one).
    let section = text.split("\n$ ").next().unwrap();
    let code: i32 = section
        .lines()
        .find_map(|l| l.strip_prefix("exit status: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stdout = section.split("--- stdout").nth(1).unwrap();
    let stdout = stdout.split_once('\n').unwrap().1;
    let (stdout, stderr) = stdout.split_once("--- stderr").unwrap();
    let stderr = stderr.split_once('\n').unwrap().1;
    std::fs::write(dir.join("out"), stdout).unwrap();
    std::fs::write(dir.join("err"), stderr).unwrap();
    script(
        dir,
        "smbstatus",
        &format!(
            "if [ \"$1\" = --version ]; then echo 'Version 4.17.12-Debian'; exit 0; fi\ncat {}\ncat {} >&2\nexit {code}",
            dir.join("out").display(),
            dir.join("err").display()
        ),
    )
}

#[test]
fn real_non_root_behaviour() {
    let d = temp_dir("nonroot");
    let p = replay(&d, "smbstatus-nonroot.txt");
    let e = source(&p).status().unwrap_err();
    assert!(matches!(e, Error::NeedsRoot { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "{} needs root to see other users' connections (smbstatus only works as root!)",
            p.display()
        )
    );
}

#[test]
fn real_missing_configuration() {
    let d = temp_dir("missing-conf");
    let p = replay(&d, "smbstatus-missing-conf.txt");
    // Configured but missing: checked before running.
    let e = source(&p)
        .with_smb_conf(d.join("nope.conf"))
        .status()
        .unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, .. } if path.ends_with("nope.conf")),
        "{e:?}"
    );
    // The default one missing: smbstatus's own complaint, despite exit 0.
    let e = source(&p).status().unwrap_err();
    let Error::Io { path, message } = &e else {
        panic!("{e:?}")
    };
    assert!(
        path.starts_with("/tmp/ow-smb-") && path.ends_with("/smb.conf"),
        "{e}"
    );
    assert_eq!(
        message,
        &format!(
            "{}: Can't load {path} - run testparm to debug it",
            p.display()
        )
    );
}

/// A process whose comm is `smbd` (a copy of sleep(1)), its pid file, and
/// an smb.conf whose `pid directory` holds it. The process ends on drop.
struct FakeSmbd {
    child: std::process::Child,
    conf: PathBuf,
    pid_dir: PathBuf,
}

impl FakeSmbd {
    fn start(dir: &Path) -> FakeSmbd {
        let pid_dir = dir.join("pid");
        std::fs::create_dir_all(&pid_dir).unwrap();
        let program = dir.join("smbd");
        std::fs::copy("/bin/sleep", &program).unwrap();
        let child = Command::new(&program).arg("600").spawn().unwrap();
        std::fs::write(pid_dir.join("smbd.pid"), format!("{}\n", child.id())).unwrap();
        let conf = dir.join("smb.conf");
        std::fs::write(
            &conf,
            format!("[global]\n  pid directory = {}\n", pid_dir.display()),
        )
        .unwrap();
        FakeSmbd {
            child,
            conf,
            pid_dir,
        }
    }
}

impl Drop for FakeSmbd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A source that reads the pid directory from smb.conf itself.
fn source_with_conf(program: &Path, conf: &Path) -> SambaSource {
    source(program)
        .with_smb_conf(conf)
        .with_testparm("/nonexistent/testparm")
}

#[test]
fn real_no_smbd_is_not_an_empty_answer() {
    // smbstatus's answer when smbd stopped is the idle answer; the pid file
    // tells them apart.
    let d = temp_dir("no-smbd");
    let p = replay(&d, "smbstatus-no-smbd.txt");
    let pid_dir = d.join("pid");
    std::fs::create_dir_all(&pid_dir).unwrap();
    let conf = d.join("smb.conf");
    std::fs::write(
        &conf,
        format!("[global]\n\tpid directory = {}\n", pid_dir.display()),
    )
    .unwrap();
    let e = source_with_conf(&p, &conf).status().unwrap_err();
    assert!(matches!(e, Error::NotRunning { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("smbd is not running (no smbd.pid in {})", pid_dir.display())
    );
    // A stale pid file (smbd killed) names a process that is gone or is not smbd.
    std::fs::write(
        pid_dir.join("smbd.pid"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let e = source_with_conf(&p, &conf).status().unwrap_err();
    assert!(e.to_string().contains("which is not a running smbd"), "{e}");
    std::fs::write(pid_dir.join("smbd.pid"), "garbage").unwrap();
    let e = source_with_conf(&p, &conf).status().unwrap_err();
    assert!(e.to_string().contains("holds no pid"), "{e}");
}

#[test]
fn an_idle_smbd_is_an_empty_answer() {
    let d = temp_dir("idle");
    let smbd = FakeSmbd::start(&d);
    let p = replay(&d, "smbstatus-no-smbd.txt");
    let st = source_with_conf(&p, &smbd.conf).status().unwrap();
    assert!(st.sessions.is_empty() && st.tcons.is_empty() && st.open_files.is_empty());
    // The file name with the configuration's name, as some releases write it.
    std::fs::rename(
        smbd.pid_dir.join("smbd.pid"),
        smbd.pid_dir.join("smbd-smb.conf.pid"),
    )
    .unwrap();
    assert!(smbd_running(&smbd.pid_dir, Some(&smbd.conf)).is_ok());
    assert!(smbd_running(&smbd.pid_dir, None).is_err());
}

#[test]
fn no_locking_database_yet() {
    // Captured from a real Samba 4.17 as root, before any client connected.
    let d = temp_dir("no-locking");
    let p = script(
        &d,
        "smbstatus",
        "echo '{\"timestamp\": \"2026-11-21T14:05:12.917224+0000\", \"version\": \"4.17.12-Debian\", \"smb_conf\": \"/etc/samba/smb.conf\", \"sessions\": {}, \"tcons\": {}}'\n\
         echo '/run/samba/locking.tdb not initialised' >&2\n\
         echo 'This is normal if an SMB client has never connected to your server.' >&2",
    );
    let smbd = FakeSmbd::start(&d);
    let st = source_with_conf(&p, &smbd.conf).status().unwrap();
    assert!(st.open_files.is_empty());
    // Without that message a missing section is an error.
    let p = script(
        &d,
        "smbstatus2",
        "echo '{\"version\": \"4.17.12-Debian\", \"sessions\": {}, \"tcons\": {}}'",
    );
    let e = source(&p).status().unwrap_err();
    assert!(
        e.to_string()
            .ends_with("at $: missing required field \"open_files\""),
        "{e}"
    );
}

#[test]
fn runaway_output_is_stopped_at_the_limit() {
    let d = temp_dir("runaway");
    let p = script(&d, "smbstatus", "exec yes 0123456789abcdef");
    let started = Instant::now();
    let e = source(&p).status().unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { limit, .. } if limit == smbstatus::MAX_INPUT_BYTES),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4), "{e}");
}

#[test]
fn output_and_stderr_both_arrive() {
    let d = temp_dir("both");
    let p = script(
        &d,
        "prog",
        "head -c 300000 /dev/zero | tr '\\0' x; echo; echo to-stderr >&2; exit 3",
    );
    let out = run(&p, &[], Duration::from_secs(5), 1 << 20).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout.len(), 300_001);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-stderr\n");
}

#[test]
fn a_self_contained_smb_conf_is_read_without_testparm() {
    let d = temp_dir("direct");
    let log = d.join("testparm-runs");
    let tp = script(
        &d,
        "testparm",
        &format!(
            "echo run >> {}\nprintf '[global]\\n[from-testparm]\\n\\tpath = /t\\n'",
            log.display()
        ),
    );
    let conf = d.join("smb.conf");
    std::fs::write(&conf, "[global]\n guest account = g\n[a]\n path = /a\n").unwrap();
    // No testparm configured: smb.conf itself.
    let src = SambaSource::new().with_smb_conf(&conf);
    let c = src.smb_conf().unwrap();
    assert_eq!(c.shares[0].name, "a");
    assert_eq!(c.globals.guest_account, "g");
    // What only Samba's loader evaluates goes to testparm (here the fake
    // one, found on PATH would be the real one): configured explicitly ...
    let src = SambaSource::new().with_smb_conf(&conf).with_testparm(&tp);
    assert_eq!(src.smb_conf().unwrap().shares[0].name, "from-testparm");
    assert_eq!(runs(&log), 1);
    // ... or because the file needs it.
    for extra in [
        "[b]\n copy = a\n",
        "[global]\n include = /etc/samba/%m.conf\n",
    ] {
        std::fs::write(&conf, format!("[a]\n path = /a\n{extra}")).unwrap();
        let mut src = SambaSource::new().with_smb_conf(&conf).with_testparm(&tp);
        src.testparm_chosen = false;
        assert_eq!(src.smb_conf().unwrap().shares[0].name, "from-testparm");
    }
    assert_eq!(runs(&log), 3);
}

#[test]
fn usershares_and_printers_join_the_shares() {
    let d = temp_dir("served");
    let args = d.join("net-args");
    let net = script(
        &d,
        "net",
        &format!(
            "echo \"$@\" > {}\nprintf '[ushare]\\npath=/srv/u\\ncomment=Mine\\nusershare_acl=S-1-1-0:F,\\nguest_ok=n\\n\\n'",
            args.display()
        ),
    );
    let printcap = d.join("printcap");
    std::fs::write(&printcap, "laser|Laser printer:lp=/dev/null:\nink:\n").unwrap();
    let conf = d.join("smb.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\n usershare max shares = 5\n printing = bsd\n printcap name = {}\n\
             [public]\n path = /srv/p\n[printers]\n path = /var/spool/samba\n",
            printcap.display()
        ),
    )
    .unwrap();
    let src = SambaSource::new()
        .with_net(&net)
        .with_lpstat("/nonexistent/lpstat")
        .with_smb_conf(&conf);
    let names: Vec<(String, bool)> = src
        .shares()
        .unwrap()
        .iter()
        .map(|s| (s.name.clone(), s.printable))
        .collect();
    assert_eq!(
        names,
        [
            ("public".to_string(), false),
            ("printers".to_string(), true),
            ("laser".to_string(), true),
            ("ink".to_string(), true),
            ("ushare".to_string(), false),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        format!("usershare info --long -s {}", conf.display())
    );

    // Usershares off, load printers off, and a failing `net`: none of them.
    std::fs::write(
        &conf,
        "[global]\n load printers = no\n usershare max shares = 0\n[printers]\n",
    )
    .unwrap();
    let failing = script(&d, "net-fails", "exit 255");
    let src = SambaSource::new().with_net(&failing).with_smb_conf(&conf);
    assert_eq!(src.shares().unwrap().len(), 1);
    std::fs::write(&conf, "[global]\n usershare max shares = 3\n").unwrap();
    let src = SambaSource::new().with_net(&failing).with_smb_conf(&conf);
    assert!(src.shares().unwrap().is_empty());
}

#[test]
fn home_dir_from_passwd() {
    let src = SambaSource::new();
    assert_eq!(src.home_dir("root").as_deref(), Some("/root"));
    assert_eq!(src.home_dir("no-such-user-openwmi"), None);
    assert_eq!(src.home_dir("-x"), None);
    assert_eq!(src.home_dir(""), None);
}

#[test]
fn output_beyond_the_configured_limit_fails_naming_it() {
    let d = temp_dir("limit");
    // Valid JSON, padded past the limit with trailing blanks.
    let p = script(
        &d,
        "smbstatus",
        &format!("cat {CAPTURE_4_17}\nhead -c 8000 /dev/zero | tr '\\0' ' '"),
    );
    let e = source(&p).with_max_output(4096).status().unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                what: "smbstatus output",
                limit: 4096,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("more than the limit of 4096"), "{e}");
    // Within the limit the same output is a snapshot.
    let st = source(&p).with_max_output(64 * 1024).status().unwrap();
    assert_eq!(st.sessions.len(), 2);
    // testparm's output is bounded by the same option.
    let t = script(
        &d,
        "testparm",
        "echo '[global]'\nhead -c 8000 /dev/zero | tr '\\0' '#'",
    );
    let e = SambaSource::new()
        .with_testparm(&t)
        .with_max_output(4096)
        .shares()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                what: "testparm output",
                limit: 4096,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_spooled_snapshot_reads_as_the_text_did() {
    let text = std::fs::read_to_string(CAPTURE_4_17).unwrap();
    let d = temp_dir("stream");
    let mut bad = text.replace("\"tester\"", "\"te\u{1}ster\"").into_bytes();
    for b in bad.iter_mut().filter(|b| **b == 1) {
        *b = 0xff;
    }
    let bad_file = d.join("bad.json");
    std::fs::write(&bad_file, &bad).unwrap();
    // Small output is read whole; blanks past STREAM_ABOVE make it a stream.
    for pad in [0, STREAM_ABOVE + 1] {
        let blanks = format!("head -c {pad} /dev/zero | tr '\\0' ' '");
        let p = script(&d, "smbstatus", &format!("cat {CAPTURE_4_17}\n{blanks}"));
        let st = source(&p).status().unwrap();
        assert_eq!(*st, smbstatus::parse(&text).unwrap(), "pad {pad}");
        // Invalid UTF-8 is replaced, as in the text read whole.
        let p = script(
            &d,
            "smbstatus2",
            &format!("cat {}\n{blanks}", bad_file.display()),
        );
        let st = source(&p).status().unwrap();
        assert_eq!(st.sessions[0].username, "te\u{fffd}ster", "pad {pad}");
        // Malformed output names the place, as before.
        let p = script(
            &d,
            "smbstatus3",
            &format!("head -c 700 {CAPTURE_4_17}\n{blanks}"),
        );
        let e = source(&p).status().unwrap_err();
        assert!(
            matches!(&e, Error::Output { error, .. } if matches!(**error, Error::Json { line: 1, .. })),
            "pad {pad}: {e:?}"
        );
    }
}

#[test]
fn a_dropped_large_snapshot_is_noticed_once() {
    let flight: SingleFlight<Vec<u8>> = SingleFlight {
        large: |v| v.len() >= 10,
        ..SingleFlight::default()
    };
    let big = flight.get(Duration::ZERO, || Ok(vec![0; 10])).unwrap();
    let _small = flight.get(Duration::ZERO, || Ok(vec![0; 1])).unwrap();
    // Replaced but still held by a request: not yet.
    assert!(!flight.reap_dropped());
    drop(big);
    assert!(flight.reap_dropped());
    assert!(!flight.reap_dropped());
    // A small value replaced is not watched.
    drop(_small);
    let _ = flight.get(Duration::ZERO, || Ok(vec![0; 1])).unwrap();
    assert!(!flight.reap_dropped());
}

/// A refresh read the new snapshot while the stale one was still cached:
/// two large snapshots at once at the peak. Now the stale one goes when
/// the run starts (it is only kept while a request still holds it).
#[test]
fn regression_a_stale_value_is_let_go_before_the_refresh_runs() {
    let flight: SingleFlight<Vec<u8>> = SingleFlight::default();
    let first = flight.get(Duration::ZERO, || Ok(vec![1; 10])).unwrap();
    let watch = Arc::downgrade(&first);
    drop(first);
    let second = flight
        .get(Duration::ZERO, || {
            assert_eq!(watch.strong_count(), 0, "the stale value is still held");
            Ok(vec![2; 10])
        })
        .unwrap();
    // A fresh value is still shared, not read again.
    let fresh = flight
        .get(Duration::from_secs(3600), || -> Result<Vec<u8>, Error> {
            unreachable!("read again")
        })
        .unwrap();
    assert!(Arc::ptr_eq(&fresh, &second));
}
