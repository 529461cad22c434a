//! `openwmi query/get/class/classes -r https://HOST:5986/wsman` (or
//! `--protocol wsman`) against Windows-shaped WS-Management answers: output
//! formats, error lines, exit codes and multi-host runs as over CIM-XML.

#[path = "../../client/tests/wsman_replay/mod.rs"]
mod wsman_replay;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use wsman_replay::{windows, Replay, PASSWORD, USER};

fn openwmi(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openwmi"));
    cmd.args(args)
        .env("OPENWMI_PASSWORD", PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.env_remove("OPENWMI_PASSWORD");
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\n")
}

#[test]
fn query_over_wsman_in_every_format() {
    let srv = Replay::start(windows(None));
    let url = srv.url();
    let o = openwmi(
        &[
            "query",
            "-r",
            &url,
            "-U",
            USER,
            "-o",
            "json",
            "SELECT * FROM Win32_Share",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["Name"], "ADMIN$");
    assert_eq!(rows[0]["__CLASS"], "Win32_Share");
    assert_eq!(rows[0]["__NAMESPACE"], "root\\cimv2");
    assert!(rows[0]["__PATH"]
        .as_str()
        .unwrap()
        .ends_with("root\\cimv2:Win32_Share.Name=\"ADMIN$\""));
    assert!(rows[0]["AccessMask"].is_null());
    for format in ["table", "list", "csv", "mof", "wmic"] {
        let o = openwmi(
            &[
                "query",
                "-r",
                &url,
                "-U",
                USER,
                "-o",
                format,
                "SELECT * FROM Win32_Share",
            ],
            None,
        );
        assert!(o.status.success(), "{format}: {}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("C$"),
            "{format}: {}",
            text(&o.stdout)
        );
    }
    // --password-stdin, and --protocol wsman with a WMI-style resource.
    let o = openwmi(
        &[
            "get",
            "--http",
            "--protocol",
            "wsman",
            "-r",
            &format!("\\\\127.0.0.1:{}", srv.port),
            "-U",
            USER,
            "--password-stdin",
            "-o",
            "csv",
            "Win32_Share.Name=\"ADMIN$\"",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("C:\\Windows"),
        "{}",
        text(&o.stdout)
    );
    let get = srv
        .requests()
        .into_iter()
        .map(|r| r.parsed())
        .find(|p| {
            p.action.as_deref().is_some_and(|a| a.ends_with("/Get"))
                && !p.selectors.is_empty()
                && p.selectors[0].0 == "Name"
        })
        .unwrap();
    assert_eq!(
        get.resource_uri.as_deref(),
        Some("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Share")
    );
}

#[test]
fn errors_and_exit_codes() {
    let srv = Replay::start(windows(None));
    let url = srv.url();
    let o = openwmi(
        &["get", "-r", &url, "-U", USER, "Win32_Share.Name=\"nosuch\""],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("WBEM_E_NOT_FOUND (0x80041002)"), "{err}");
    assert!(err.contains("2150858752"), "{err}");
    let o = openwmi(
        &["query", "-r", &url, "-U", USER, "SELECT * FROM Win32_Nope"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("WBEM_E_INVALID_CLASS (0x80041010)"),
        "{}",
        text(&o.stderr)
    );
    let o = openwmi(
        &[
            "query",
            "-r",
            &url,
            "-U",
            USER,
            "--password-stdin",
            "SELECT * FROM Win32_Share",
        ],
        Some("wrong\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("WBEM_E_ACCESS_DENIED (0x80041003)"),
        "{}",
        text(&o.stderr)
    );
    let o = openwmi(
        &[
            "query",
            "-r",
            &url,
            "--protocol",
            "soap",
            "SELECT * FROM Win32_Share",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bad --protocol is a usage error"
    );
}

#[test]
fn several_hosts_over_wsman() {
    let up = Replay::start(windows(None));
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = l.local_addr().unwrap().port();
    drop(l);
    let o = openwmi(
        &[
            "query",
            "-r",
            &up.url(),
            "-r",
            &format!("http://127.0.0.1:{down}/wsman"),
            "-U",
            USER,
            "-o",
            "csv",
            "SELECT Name FROM Win32_Share",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert_eq!(
        out.matches(&format!("127.0.0.1:{}", up.port)).count(),
        3,
        "{out}"
    );
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!(
            "127.0.0.1:{down}: error: WBEM_E_TRANSPORT_FAILURE"
        )),
        "{err}"
    );
}

#[test]
fn class_and_classes_over_wsman() {
    let class = "<CLASS NAME=\"Win32_Share\" SUPERCLASS=\"CIM_LogicalElement\">\
        <PROPERTY NAME=\"Name\" TYPE=\"string\"><QUALIFIER NAME=\"key\" TYPE=\"boolean\"><VALUE>true</VALUE></QUALIFIER></PROPERTY>\
        <PROPERTY NAME=\"Type\" TYPE=\"uint32\"/></CLASS>";
    let srv = Replay::start(windows(Some(class.into())));
    let url = srv.url();
    let o = openwmi(&["class", "-r", &url, "-U", USER, "Win32_Share"], None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mof = text(&o.stdout);
    assert!(
        mof.contains("class Win32_Share : CIM_LogicalElement"),
        "{mof}"
    );
    assert!(mof.contains("uint32 Type;"), "{mof}");
    let o = openwmi(
        &[
            "classes",
            "-r",
            &url,
            "-U",
            USER,
            "--deep",
            "CIM_LogicalElement",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "Win32_Share");
    // Typed by the class: Type is a number in JSON.
    let o = openwmi(
        &[
            "query",
            "-r",
            &url,
            "-U",
            USER,
            "-o",
            "json",
            "SELECT * FROM Win32_Share",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["Type"], 2147483648u64);
}

#[test]
fn call_over_wsman_is_an_invoke() {
    let srv = Replay::start(windows(None));
    let url = srv.url();
    let o = openwmi(
        &[
            "call",
            "-r",
            &url,
            "-U",
            USER,
            "-o",
            "json",
            "Win32_Process",
            "Create",
            "CommandLine=notepad.exe",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("\"ProcessId\""), "{out}");
    assert!(out.contains("\"ReturnValue\""), "{out}");
    let invoke = srv
        .requests()
        .iter()
        .map(|r| r.parsed())
        .find(|p| p.action.as_deref().is_some_and(|a| a.ends_with("/Create")))
        .unwrap();
    assert_eq!(
        invoke.body_element.as_deref(),
        Some("http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process|Create_INPUT")
    );
    // A fault is an error line and exit code 1, as over CIM-XML.
    let o = openwmi(
        &[
            "call",
            "-r",
            &url,
            "-U",
            USER,
            "Win32_Share.Name=\"x\"",
            "Delete",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("WBEM_E_NOT_FOUND"),
        "{}",
        text(&o.stderr)
    );
}
