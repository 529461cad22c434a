//! ConnectServer's arguments through `openwmi -r` as Windows takes them
//! (issue 22, items 11 to 14): the locale, the domain given twice, what is
//! a local connection, and WBEM_E_OUT_OF_MEMORY. Everything here runs
//! without a server, or against a closed port or a one-answer fake server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_openwmi");

fn openwmi(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("OPENWMI_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert!(o.status.success(), "stderr: {}", stderr(o));
}

#[track_caller]
fn assert_error(o: &Output, prefix: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    assert!(stderr(o).starts_with(prefix), "stderr: {}", stderr(o));
}

/// A port nothing listens on: a connection that gets that far fails with
/// WBEM_E_TRANSPORT_FAILURE, which shows the parameters were accepted.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

const INVALID_PARAMETER: &str = "error: WBEM_E_INVALID_PARAMETER (0x80041008): ";
const LOCAL_CREDENTIALS: &str = "error: WBEM_E_LOCAL_CREDENTIALS (0x80041064): ";
const TRANSPORT_FAILURE: &str = "error: WBEM_E_TRANSPORT_FAILURE (0x80041015): ";

#[test]
fn locale_empty_means_default_and_ms_prefix_in_any_case() {
    for locale in ["", "ms_409", "Ms_407", "MS_409"] {
        let o = openwmi(&["classes", "-r", "root\\cimv2", "--locale", locale]);
        assert_ok(&o);
        assert!(
            stdout(&o).lines().any(|l| l == "CIM_ManagedSystemElement"),
            "{locale:?}"
        );
    }
    for locale in ["german", "ms409", "MS_", "MS_40g"] {
        let o = openwmi(&["classes", "-r", "root\\cimv2", "--locale", locale]);
        assert_error(&o, INVALID_PARAMETER);
    }
}

#[test]
fn domain_given_twice_only_as_windows_rejects_it() {
    let r = format!("\\\\127.0.0.1:{}\\root\\cimv2", closed_port());
    let run = |user: &str, authority: &str| {
        openwmi(&[
            "classes",
            "--http",
            "-r",
            &r,
            "-U",
            user,
            "--authority",
            authority,
        ])
    };
    assert_error(&run("D\\u", "NTLMDOMAIN:E"), INVALID_PARAMETER);
    assert_error(&run("D\\u", "ntlmdomain:D"), INVALID_PARAMETER);
    // Accepted: the connection is tried (and fails on the closed port).
    for (user, authority) in [
        ("D\\u", "Kerberos:x"),
        ("D\\u", "NTLMDOMAIN:"),
        ("u@d", "NTLMDOMAIN:D"),
        ("u@d", "Kerberos:x"),
        ("u", "NTLMDOMAIN:D"),
    ] {
        assert_error(&run(user, authority), TRANSPORT_FAILURE);
    }
}

#[test]
fn localhost_and_own_name_are_local_connections() {
    let mut resources = vec![
        "localhost".to_owned(),
        "\\\\localhost\\root\\cimv2".to_owned(),
        "//LocalHost/root/cimv2".to_owned(),
        "\\\\127.0.0.1\\root\\cimv2".to_owned(),
        "\\\\.\\root\\cimv2".to_owned(),
    ];
    let me = host_name();
    if !me.is_empty() {
        resources.push(me.clone());
        resources.push(format!("\\\\{me}\\root\\cimv2"));
        resources.push(format!("\\\\{}\\root\\cimv2", me.to_uppercase()));
    }
    for r in &resources {
        // In-process: answered without any server.
        let o = openwmi(&["classes", "-r", r]);
        assert_ok(&o);
        assert!(
            stdout(&o).lines().any(|l| l == "CIM_ManagedSystemElement"),
            "{r}"
        );
        let o = openwmi(&["classes", "-r", r, "-U", "alice"]);
        assert_error(&o, LOCAL_CREDENTIALS);
    }
    // A port names a network endpoint, even on this machine.
    let r = format!("\\\\localhost:{}\\root\\cimv2", closed_port());
    assert_error(
        &openwmi(&["classes", "--http", "-r", &r]),
        TRANSPORT_FAILURE,
    );
}

#[test]
fn authority_alone_is_not_local_credentials() {
    for authority in ["NTLMDOMAIN:D", "Kerberos:host/x"] {
        let o = openwmi(&[
            "classes",
            "-r",
            "\\\\localhost\\root\\cimv2",
            "--authority",
            authority,
        ]);
        assert_ok(&o);
    }
}

#[test]
fn resource_root_is_the_local_namespace() {
    for r in ["root", "ROOT"] {
        let o = openwmi(&["classes", "-r", r]);
        assert_ok(&o);
        let o = openwmi(&["classes", "-r", r, "-U", "alice"]);
        assert_error(&o, LOCAL_CREDENTIALS);
    }
    // `\\root` is still a host of that name.
    let o = openwmi(&["classes", "-r", "\\\\root", "--max-wait", "5"]);
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    assert!(!stderr(&o).contains("LOCAL_CREDENTIALS"));
}

/// Answers each request with an `EnumerateClassNames` response naming one
/// class whose name is `name_len` bytes long.
fn class_name_server(name_len: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&got).contains("</CIM>") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
                 <CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"1\" PROTOCOLVERSION=\"1.0\">\
                 <SIMPLERSP><IMETHODRESPONSE NAME=\"EnumerateClassNames\"><IRETURNVALUE>\
                 <CLASSNAME NAME=\"{}\"/></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n",
                "C".repeat(name_len)
            );
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=\"utf-8\"\r\n\
                 CIMOperation: MethodResponse\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
    });
    port
}

#[test]
fn out_of_memory_when_a_response_exceeds_the_client_bound() {
    let port = class_name_server(8);
    let r = format!("127.0.0.1:{port}");
    let o = openwmi(&["classes", "--http", "-r", &r]);
    assert_ok(&o);
    assert_eq!(stdout(&o).trim(), "CCCCCCCC");
    // Over the client's bound on one attribute (64 KiB).
    let port = class_name_server(64 * 1024 + 1);
    let r = format!("127.0.0.1:{port}");
    let o = openwmi(&["classes", "--http", "-r", &r]);
    assert_error(&o, "error: WBEM_E_OUT_OF_MEMORY (0x80041006): ");
}
