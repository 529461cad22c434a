//! Object paths and WQL written as Windows users write them (issue 22,
//! items 1, 3 and 4): single-quoted key values, date constants in the
//! documented formats, and keywords that are not names.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_openwmi");

const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
class Test_Share { [Key] string Name; string Path; datetime Created; };
class Test_Host { [Key] string Name; };
[Association] class Test_HostShare { [Key] Test_Host REF Host; [Key] Test_Share REF Share; };

instance of Test_Share as $a { Name = "share1"; Path = "/srv/one"; Created = "20261121120000.000000+000"; };
instance of Test_Share as $b { Name = "it's"; Path = "/srv/quote"; Created = "19320121000000.000000+000"; };
instance of Test_Host as $h { Name = "h1"; };
instance of Test_HostShare { Host = $h; Share = $a; };
instance of Test_HostShare { Host = $h; Share = $b; };
"#;

const SMB_CONF: &str =
    "[global]\n  workgroup = WG\n[public]\n  path = /srv/public\n  comment = Public files\n";

/// A directory with the MOF and an smb.conf, removed on drop.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "openwmi-windows-paths-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("test.mof"), MOF).unwrap();
        std::fs::write(dir.join("smb.conf"), SMB_CONF).unwrap();
        Fixture { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mof = format!("root/test={}", self.dir.join("test.mof").display());
        Command::new(BIN)
            // Keep the live providers away from this machine's Samba.
            .args(["--smbstatus", "/nonexistent/smbstatus"])
            .args(["--testparm", "/nonexistent/testparm"])
            .arg("--smb-conf")
            .arg(self.dir.join("smb.conf"))
            .args(["--mof", &mof])
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Fails with exit code 1 and one line naming the WBEM error.
    fn fails_with(&self, args: &[&str], wbem: &str) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("error: {wbem}")),
            "{args:?}: expected {wbem}, got {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const INVALID_QUERY: &str = "WBEM_E_INVALID_QUERY (0x80041017)";

fn names(v: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn single_quoted_key_values_in_paths() {
    let f = Fixture::new();
    // Microsoft's own sample form, against the live Win32_Share provider.
    let out = f.ok(&["get", "-o", "list", "Win32_Share.Name='public'"]);
    assert!(out.contains("Path=/srv/public"), "{out}");
    let v = f.json(&["get", r"\\.\root\cimv2:Win32_Share.Name='public'"]);
    let path = v[0]["__PATH"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(path.ends_with(r#":Win32_Share.Name="public""#), "{path}");

    for p in [
        "Test_Share.Name='share1'",
        "Test_Share='share1'",
        r"\\.\root\test:Test_Share.Name='share1'",
        "//./root/test:Test_Share.Name='share1'",
    ] {
        let v = f.json(&["get", "-n", "root/test", p]);
        assert_eq!(v[0]["Path"], "/srv/one", "{p}: {v}");
        // Printed in the canonical, double-quoted form.
        let path = v[0]["__PATH"].as_str().unwrap();
        assert!(
            path.ends_with(r#":Test_Share.Name="share1""#),
            "{p}: {path}"
        );
    }
    // Each quote inside the other.
    let v = f.json(&["get", "-n", "root/test", r#"Test_Share.Name="it's""#]);
    assert_eq!(v[0]["Path"], "/srv/quote");
    let v = f.json(&["get", "-n", "root/test", r"Test_Share.Name='it\'s'"]);
    assert_eq!(v[0]["Path"], "/srv/quote");

    // WQL association queries.
    let v = f.json(&[
        "query",
        "-n",
        "root/test",
        "ASSOCIATORS OF {Test_Host.Name='h1'} WHERE AssocClass = Test_HostShare",
    ]);
    assert_eq!(names(&v), ["it's", "share1"]);
    let v = f.json(&[
        "query",
        "-n",
        "root/test",
        "REFERENCES OF {Test_Share.Name='share1'}",
    ]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["__CLASS"], "Test_HostShare");
    let share = v[0]["Share"].as_str().unwrap();
    assert!(share.ends_with(r#"Test_Share.Name="share1""#), "{share}");

    // A reference key compared in WHERE, its path single-quoted inside.
    let v = f.json(&[
        "query",
        "-n",
        "root/test",
        r#"SELECT * FROM Test_HostShare WHERE Share = "Test_Share.Name='share1'""#,
    ]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");

    // An unclosed quote stays an invalid path.
    f.fails_with(
        &["get", "Win32_Share.Name='public"],
        "WBEM_E_INVALID_PARAMETER (0x80041008)",
    );
    f.fails_with(
        &[
            "query",
            "-n",
            "root/test",
            "ASSOCIATORS OF {Test_Host.Name='h1}",
        ],
        INVALID_QUERY,
    );
}

#[test]
fn wql_date_literals() {
    let f = Fixture::new();
    let q = |cond: &str| {
        names(&f.json(&[
            "query",
            "-n",
            "root/test",
            &format!("SELECT Name FROM Test_Share WHERE {cond}"),
        ]))
    };
    for cond in [
        "Created > 'November 20, 2026'",
        "Created > 'Nov 20 2026'",
        "Created > '11/20/2026'",
        "Created > '2026-11-20'",
        "Created >= '2026-11-21 12:00'",
        "Created > '20261120'",
        "Created > '20261120000000.000000+000'",
    ] {
        assert_eq!(q(cond), ["share1"], "{cond}");
    }
    assert_eq!(q("Created = 'January 21, 1932'"), ["it's"]);
    assert_eq!(q("Created < '1/22/1932'"), ["it's"]);
    assert_eq!(q("Created < '21 Jan32'"), Vec::<String>::new());

    // No date at all: an invalid query, not an empty result.
    for cond in [
        "Created > 'yesterday'",
        "Created = 'share1'",
        "Created < '2/30/2026'",
        "Created > 5",
    ] {
        let e = f.fails_with(
            &[
                "query",
                "-n",
                "root/test",
                &format!("SELECT * FROM Test_Share WHERE {cond}"),
            ],
            INVALID_QUERY,
        );
        assert!(e.contains("no date"), "{e}");
    }
}

#[test]
fn reserved_words_are_not_names() {
    let f = Fixture::new();
    for text in [
        "SELECT * FROM WHERE",
        "select * from where",
        "SELECT * FROM Select",
        "SELECT * FROM Group",
        "SELECT Where FROM Win32_Share",
        "SELECT * FROM Win32_Share WHERE Within = 1",
    ] {
        let e = f.fails_with(&["query", text], INVALID_QUERY);
        assert!(e.contains("offset"), "{e}");
    }
    // A class merely containing a keyword is a class like any other.
    f.fails_with(
        &["query", "SELECT * FROM Wheres"],
        "WBEM_E_INVALID_CLASS (0x80041010)",
    );
}

/// The same through the client and CIM-XML: `openwmi serve` on loopback.
#[test]
fn single_quoted_key_values_in_paths_remote() {
    let srv = common::Server::start(false);
    let r = srv.resource("root/test");
    let remote = |args: &[&str]| {
        let o = Command::new(common::openwmi_bin())
            .arg(args[0])
            .args(["--http", "-U", common::USER, "-r", &r])
            .args(&args[1..])
            .env("OPENWMI_PASSWORD", common::PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let v = remote(&["get", "-o", "json", "Test_Item.Name='a'"]);
    assert_eq!(v[0]["Size"], 1, "{v}");
    let path = v[0]["__PATH"].as_str().unwrap();
    assert!(path.ends_with(r#":Test_Item.Name="a""#), "{path}");
    let v = remote(&[
        "query",
        "-o",
        "json",
        "ASSOCIATORS OF {Test_Item.Name='a'} WHERE AssocClass = Test_Link",
    ]);
    assert_eq!(names(&v), ["b"]);
    let v = remote(&[
        "query",
        "-o",
        "json",
        "SELECT * FROM Test_Link WHERE Left = \"Test_Item.Name='a'\"",
    ]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
}
