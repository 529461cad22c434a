//! The `openwmi` CLI's remote options against `openwmi serve`: `-r` with
//! `--password-stdin` and `OPENWMI_PASSWORD`, WBEM error lines and exit
//! codes, TLS options, and the multi-host query with one host down.

mod common;

use common::{closed_port, openwmi_bin, Server, TempDir, PASSWORD, USER};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn openwmi(args: &[&str], stdin: Option<&str>, env_password: Option<&str>) -> Output {
    let mut cmd = Command::new(openwmi_bin());
    cmd.args(args)
        .env_remove("OPENWMI_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = env_password {
        cmd.env("OPENWMI_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    // csv ends its lines with CRLF (RFC 4180).
    String::from_utf8_lossy(b).replace("\r\n", "\n")
}

#[test]
fn single_host_with_password_stdin_and_env() {
    let srv = Server::start(false);
    let r = srv.resource("root/test");
    let o = openwmi(
        &[
            "query",
            "--http",
            "-U",
            USER,
            "--password-stdin",
            "-r",
            &r,
            "-o",
            "csv",
            "SELECT Name, Size FROM Test_Item WHERE Size < 3",
        ],
        Some(&format!("{PASSWORD}\n")),
        None,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Name,Size\na,1\nb,2\n");
    let o = openwmi(
        &[
            "get",
            "--http",
            "-U",
            USER,
            "-r",
            &r,
            "-o",
            "json",
            "Test_Item.Name=\"b\"",
        ],
        None,
        Some(PASSWORD),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["Size"], 2);
    assert!(v[0]["__PATH"]
        .as_str()
        .unwrap()
        .contains("Test_Item.Name=\"b\""));
    let o = openwmi(
        &[
            "classes",
            "--http",
            "-U",
            USER,
            "-r",
            &r,
            "--deep",
            "Test_Item",
        ],
        None,
        Some(PASSWORD),
    );
    assert_eq!(text(&o.stdout), "Test_Sub\n", "{}", text(&o.stderr));
    let o = openwmi(
        &["class", "--http", "-U", USER, "-r", &r, "Test_Sub"],
        None,
        Some(PASSWORD),
    );
    assert!(
        text(&o.stdout).contains("class Test_Sub : Test_Item"),
        "{}",
        text(&o.stdout)
    );
    // A bare host gets -n; the association query goes through too.
    let bare = format!("127.0.0.1:{}", srv.port);
    let o = openwmi(
        &[
            "query",
            "--http",
            "-U",
            USER,
            "-r",
            &bare,
            "-n",
            "root/test",
            "-o",
            "csv",
            "ASSOCIATORS OF {Test_Item.Name=\"a\"}",
        ],
        None,
        Some(PASSWORD),
    );
    assert_eq!(text(&o.stdout), "Name,Size\nb,2\n", "{}", text(&o.stderr));
}

fn assert_error(o: &Output, line_start: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.starts_with(line_start), "{err}");
}

#[test]
fn error_lines_and_exit_codes() {
    let srv = Server::start(false);
    let r = srv.resource("root/test");
    let o = openwmi(
        &[
            "query",
            "--http",
            "-U",
            USER,
            "-r",
            &r,
            "SELECT * FROM Test_Item",
        ],
        None,
        Some("wrong"),
    );
    assert_error(&o, "error: WBEM_E_ACCESS_DENIED (0x80041003): ");
    let o = openwmi(
        &[
            "query",
            "--http",
            "-U",
            USER,
            "-r",
            &srv.resource("root/nosuch"),
            "SELECT * FROM Test_Item",
        ],
        None,
        Some(PASSWORD),
    );
    assert_error(&o, "error: WBEM_E_INVALID_NAMESPACE (0x8004100E): ");
    let down = format!("\\\\127.0.0.1:{}\\root\\test", closed_port());
    let o = openwmi(
        &[
            "query",
            "--http",
            "-U",
            USER,
            "-r",
            &down,
            "SELECT * FROM Test_Item",
        ],
        None,
        Some(PASSWORD),
    );
    assert_error(&o, "error: WBEM_E_TRANSPORT_FAILURE (0x80041015): ");
    let o = openwmi(&["classes", "-r", "root\\cimv2", "-U", "alice"], None, None);
    assert_error(&o, "error: WBEM_E_LOCAL_CREDENTIALS (0x80041064): ");
    let o = openwmi(&["classes", "-r", "\\\\host\\", "-U", "alice"], None, None);
    assert_error(&o, "error: WBEM_E_INVALID_PARAMETER (0x80041008): ");
    let o = openwmi(
        &[
            "classes", "--http", "-r", &r, "-U", USER, "--locale", "german",
        ],
        None,
        Some(PASSWORD),
    );
    assert_error(&o, "error: WBEM_E_INVALID_PARAMETER (0x80041008): ");
    let o = openwmi(
        &[
            "classes",
            "--http",
            "-r",
            &r,
            "-U",
            USER,
            "--authority",
            "Foo:bar",
        ],
        None,
        Some(PASSWORD),
    );
    assert_error(&o, "error: WBEM_E_INVALID_PARAMETER (0x80041008): ");
    let o = openwmi(
        &[
            "query",
            "--http",
            "-U",
            USER,
            "-r",
            &r,
            "SELECT * FROM Nope_Class",
        ],
        None,
        Some(PASSWORD),
    );
    assert_error(&o, "error: WBEM_E_INVALID_CLASS (0x80041010): ");
}

#[test]
fn local_resource_runs_in_process() {
    let dir = TempDir::new();
    let mof = dir.path().join("t.mof");
    std::fs::write(&mof, common::MOF).unwrap();
    let m = format!("root/test={}", mof.display());
    let o = openwmi(
        &[
            "query",
            "--mof",
            &m,
            "-r",
            "\\\\.\\root\\test",
            "-o",
            "csv",
            "SELECT * FROM Test_Sub",
        ],
        None,
        None,
    );
    assert_eq!(
        text(&o.stdout),
        "Name,Size,Extra\nc,3,x\n",
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn tls_options() {
    let srv = Server::start(true);
    let r = srv.resource("root/test");
    let q = [
        "query",
        "-U",
        USER,
        "-r",
        &r,
        "-o",
        "csv",
        "SELECT * FROM Test_Sub",
    ];
    let o = openwmi(&q, None, Some(PASSWORD));
    assert_error(&o, "error: WBEM_E_TRANSPORT_FAILURE (0x80041015): ");
    assert!(text(&o.stderr).contains("TLS"), "{}", text(&o.stderr));
    let cert = srv.cert().display().to_string();
    let mut with_ca = q.to_vec();
    with_ca.extend(["--ca-cert", &cert]);
    let o = openwmi(&with_ca, None, Some(PASSWORD));
    assert_eq!(
        text(&o.stdout),
        "Name,Size,Extra\nc,3,x\n",
        "{}",
        text(&o.stderr)
    );
    let mut insecure = q.to_vec();
    insecure.push("--insecure");
    let o = openwmi(&insecure, None, Some(PASSWORD));
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn multi_host_with_one_down() {
    let a = Server::start(false);
    let b = Server::start(false);
    let down = closed_port();
    let dir = TempDir::new();
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        format!(
            "# test hosts\n127.0.0.1:{}\n\n\\\\127.0.0.1:{}\\root\\test  # full resource\n",
            a.port, b.port
        ),
    )
    .unwrap();
    let down_r = format!("127.0.0.1:{down}");
    let hosts_s = hosts.display().to_string();
    let args = [
        "query",
        "--http",
        "-U",
        USER,
        "-n",
        "root/test",
        "--hosts",
        &hosts_s,
        "-r",
        &down_r,
        "--concurrency",
        "2",
        "-o",
        "json",
        "SELECT * FROM Test_Item",
    ];
    let o = openwmi(&args, None, Some(PASSWORD));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut tagged: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["Host"].as_str().unwrap_or("?").to_owned(),
                r["Name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    tagged.sort();
    let (ha, hb) = (
        format!("127.0.0.1:{}", a.port),
        format!("127.0.0.1:{}", b.port),
    );
    let mut want: Vec<(String, String)> = [&ha, &hb]
        .iter()
        .flat_map(|h| ["a", "b", "c"].map(|n| (h.to_string(), n.to_owned())))
        .collect();
    want.sort();
    assert_eq!(tagged, want, "{rows}");
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!(
            "127.0.0.1:{down}: error: WBEM_E_TRANSPORT_FAILURE (0x80041015): "
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // All hosts up: exit 0; csv carries the Node column.
    let args = [
        "query",
        "--http",
        "-U",
        USER,
        "-n",
        "root/test",
        "--hosts",
        &hosts_s,
        "-o",
        "csv",
        "SELECT Name FROM Test_Item WHERE Name = 'a'",
    ];
    let o = openwmi(&args, None, Some(PASSWORD));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!("{ha},a")) && out.contains(&format!("{hb},a")),
        "{out}"
    );
}

#[test]
fn remote_output_is_the_local_output() {
    let srv = Server::start(false);
    let dir = TempDir::new();
    let mof = dir.path().join("t.mof");
    std::fs::write(&mof, common::MOF).unwrap();
    let m = format!("root/test={}", mof.display());
    let r = srv.resource("root/test");
    for wql in [
        "SELECT * FROM Test_Item",
        "SELECT Name FROM Test_Item WHERE Size > 1",
        "SELECT * FROM Test_Item WHERE Size > 100",
    ] {
        for format in ["list", "csv", "mof", "wmic", "table", "json"] {
            let local = openwmi(
                &["query", "--mof", &m, "-n", "root/test", "-o", format, wql],
                None,
                None,
            );
            let remote = openwmi(
                &["query", "--http", "-U", USER, "-r", &r, "-o", format, wql],
                None,
                Some(PASSWORD),
            );
            assert!(remote.status.success(), "{}", text(&remote.stderr));
            let (l, mut rm) = (text(&local.stdout), text(&remote.stdout));
            if format == "json" {
                // Paths the server sends carry its name (as local ones do);
                // paths the client rebuilds (OpenQueryInstances returns none)
                // carry the address it connected to.
                let local_host = openwmi_providers::host_name(None);
                rm = rm.replace(&format!("127.0.0.1:{}", srv.port), &local_host);
            }
            assert_eq!(l, rm, "{format}: {wql}");
        }
    }
    // Classes, text answers and empty ones go through the same printer too.
    for args in [
        &[
            "query",
            "-o",
            "json",
            "SELECT * FROM meta_class WHERE __CLASS LIKE 'Test_%'",
        ][..],
        &["query", "-o", "csv", "ASSOCIATORS OF {Test_Item}"],
        &[
            "query",
            "-o",
            "json",
            "ASSOCIATORS OF {Test_Item.Name=\"b\"}",
        ],
        &["get", "Test_Sub"],
        &["get", "-o", "list", "Test_Sub.Name=\"c\""],
        &["class", "Test_Sub"],
        &["class", "-o", "json", "--local-only", "Test_Sub"],
        &["classes", "--deep"],
        &["classes", "-o", "json", "Test_Item"],
        &["classes", "Test_Sub"],
    ] {
        let mut local = vec![args[0], "--mof", &m, "-n", "root/test"];
        local.extend(&args[1..]);
        let local = openwmi(&local, None, None);
        assert!(local.status.success(), "{args:?}: {}", text(&local.stderr));
        let mut remote = vec![args[0], "--http", "-U", USER, "-r", &r];
        remote.extend(&args[1..]);
        let remote = openwmi(&remote, None, Some(PASSWORD));
        assert!(
            remote.status.success(),
            "{args:?}: {}",
            text(&remote.stderr)
        );
        assert_eq!(text(&local.stdout), text(&remote.stdout), "{args:?}");
    }
}
