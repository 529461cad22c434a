//! The `openwmi` command as users and scripts run it: subcommands, output
//! formats, `--mof` loading, and the WBEM error line with its exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_openwmi");

const SHARES_MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
class Test_Share
{
    [Key] string Name;
    string Path;
    uint32 MaximumAllowed;
    boolean Browsable;
    string Tags[];
    datetime Created;
};
class Test_Host { [Key] string Name; };
[Association] class Test_HostShare { [Key] Test_Host REF Host; [Key] Test_Share REF Share; };

instance of Test_Share as $a { Name = "share1"; Path = "/srv/one"; MaximumAllowed = 2; Browsable = true; Tags = {"x", "y"}; Created = "20261121120000.000000+000"; };
instance of Test_Share as $b { Name = "share2"; Path = "C:\\data \"quoted\""; MaximumAllowed = 5; Browsable = false; };
instance of Test_Share as $c { Name = "other"; };
instance of Test_Host as $h { Name = "h1"; };
instance of Test_HostShare { Host = $h; Share = $a; };
instance of Test_HostShare { Host = $h; Share = $b; };
"#;

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "openwmi-cli-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        // Keep the live providers away from this machine's real Samba and mounts.
        .args([
            "--smbstatus",
            "/nonexistent/smbstatus",
            "--testparm",
            "/nonexistent/testparm",
        ])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?} failed: {}", stderr(&o));
    stdout(&o)
}

/// The command fails with exit code 1 and one stderr line naming the WBEM error.
fn fails_with(args: &[&str], wbem: &str) -> String {
    let o = run(args);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("error: {wbem}")),
        "{args:?}: expected {wbem}, got {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

fn with_shares() -> (Dir, String) {
    let d = Dir::new("shares");
    let f = d.file("shares.mof", SHARES_MOF);
    let arg = format!("root/test={}", f.display());
    (d, arg)
}

#[test]
fn class_prints_mof_with_qualifiers_and_marks_inherited_properties() {
    let out = ok(&["class", "Win32_ServerConnection"]);
    assert!(out.contains("class Win32_ServerConnection : CIM_LogicalElement"));
    assert!(out.contains("Provider(\"SessionProvider\")"));
    assert!(out.contains("AMENDMENT"));
    assert!(out.contains("// inherited from CIM_ManagedSystemElement"));
    assert!(out.contains("Units(\"seconds\")"));
    let local = ok(&[
        "class",
        "--local-only",
        "-n",
        "root/cimv2",
        "Win32_ServerConnection",
    ]);
    assert!(!local.contains("inherited"));
}

#[test]
fn class_as_json() {
    let out = ok(&["class", "-o", "json", "Win32_NetworkConnection"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], "Win32_NetworkConnection");
    assert_eq!(v["superclass"], "CIM_LogicalElement");
    assert_eq!(v["qualifiers"]["Provider"], "CIMWin32");
    let props = v["properties"].as_array().unwrap();
    let name = props.iter().find(|p| p["name"] == "Name").unwrap();
    assert_eq!(name["qualifiers"]["Key"], true);
    let caption = props.iter().find(|p| p["name"] == "Caption").unwrap();
    assert_eq!(caption["inherited"], true);
}

#[test]
fn classes_lists_roots_subclasses_and_descendants() {
    let roots = ok(&["classes"]);
    assert_eq!(
        roots.lines().collect::<Vec<_>>(),
        ["CIM_ManagedSystemElement", "CIM_Dependency"]
    );
    let deep = ok(&["classes", "--deep", "CIM_ManagedSystemElement"]);
    assert!(deep.contains("Win32_Share") && deep.contains("CIM_LogicalElement"));
    let direct = ok(&["classes", "CIM_ManagedSystemElement"]);
    assert_eq!(direct.trim(), "CIM_LogicalElement");
    let json = ok(&[
        "classes",
        "-o",
        "json",
        "-n",
        "root\\cimv2",
        "CIM_Dependency",
    ]);
    let v: Vec<String> = serde_json::from_str(&json).unwrap();
    assert_eq!(v, ["Win32_ConnectionShare", "Win32_SessionConnection"]);
    fails_with(
        &["classes", "Nope_Class"],
        "WBEM_E_INVALID_CLASS (0x80041010)",
    );
    fails_with(
        &["classes", "-n", "root/nope"],
        "WBEM_E_INVALID_NAMESPACE (0x8004100E)",
    );
}

#[test]
fn unknown_class_prints_the_wbem_error_line() {
    let err = fails_with(
        &["query", "SELECT * FROM Win32_Foo"],
        "WBEM_E_INVALID_CLASS (0x80041010)",
    );
    assert_eq!(
        err.trim(),
        "error: WBEM_E_INVALID_CLASS (0x80041010): no class Win32_Foo in root\\cimv2"
    );
}

#[test]
fn get_class_of_a_missing_class_is_not_found() {
    // `openwmi class` is GetObject of a class: WBEM_E_NOT_FOUND, as Windows.
    let err = fails_with(&["class", "Win32_Foo"], "WBEM_E_NOT_FOUND (0x80041002)");
    assert_eq!(
        err.trim(),
        "error: WBEM_E_NOT_FOUND (0x80041002): no class Win32_Foo in root\\cimv2"
    );
    fails_with(&["get", "Win32_Foo"], "WBEM_E_NOT_FOUND (0x80041002)");
    fails_with(
        &["classes", "Win32_Foo"],
        "WBEM_E_INVALID_CLASS (0x80041010)",
    );
}

#[test]
fn new_namespace_starts_with_the_standard_qualifiers() {
    let d = Dir::new("stdquals");
    let f = d.file(
        "extra.mof",
        "class My_Class { [Key, Description(\"a thing\"), MaxLen(20)] string Name;\n\
         [Units(\"bytes\")] uint64 Size; };\n\
         instance of My_Class { Name = \"one\"; Size = 3; };\n",
    );
    for ns in ["root/test", "root/default", "root/cimv2"] {
        let arg = format!("{ns}={}", f.display());
        let out = ok(&[
            "--mof",
            &arg,
            "query",
            "-n",
            ns,
            "-o",
            "csv",
            "SELECT Name FROM My_Class",
        ]);
        assert!(out.contains("one"), "{ns}: {out}");
    }
    let out = ok(&["mof", f.to_str().unwrap()]);
    assert_eq!(
        out.trim(),
        "1 classes, 0 qualifier declarations, 1 instances"
    );
    // root\default exists, empty, as on Windows.
    let out = ok(&["classes", "-n", "root\\default"]);
    assert!(out.trim().is_empty(), "{out}");
}

#[test]
fn mof_summarises_and_reports_errors_with_positions() {
    let d = Dir::new("mof");
    let good = d.file("good.mof", SHARES_MOF);
    let out = ok(&["mof", good.to_str().unwrap()]);
    assert_eq!(
        out.trim(),
        "3 classes, 2 qualifier declarations, 6 instances"
    );
    let json = ok(&["mof", "-o", "json", good.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"classes": 3, "qualifiers": 2, "instances": 6})
    );

    let bad = d.file("bad.mof", "class A {\n  string X\n};\n");
    let o = run(&["mof", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bad.mof:3:1"), "{err}");
    assert!(err.contains("expected"), "{err}");

    // Includes through -I.
    let inc = Dir::new("inc");
    inc.file("part.mof", "class Part { string P; };");
    let top = d.file(
        "top.mof",
        "#pragma include(\"part.mof\")\nclass Whole : Part { };\n",
    );
    let out = ok(&["mof", "-I", inc.0.to_str().unwrap(), top.to_str().unwrap()]);
    assert_eq!(
        out.trim(),
        "2 classes, 0 qualifier declarations, 0 instances"
    );
}

#[test]
fn mof_option_loads_a_namespace_before_or_after_the_subcommand() {
    let (_d, arg) = with_shares();
    let before = ok(&[
        "--mof",
        &arg,
        "query",
        "-n",
        "root/test",
        "-o",
        "json",
        "SELECT * FROM Test_Share",
    ]);
    let after = ok(&[
        "query",
        "-n",
        "root/test",
        "-o",
        "json",
        "SELECT * FROM Test_Share",
        "--mof",
        &arg,
    ]);
    assert_eq!(before, after);
    let v: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[test]
fn query_json_has_properties_and_system_properties() {
    let (_d, arg) = with_shares();
    let out = ok(&[
        "--mof",
        &arg,
        "query",
        "-n",
        "root/test",
        "-o",
        "json",
        "SELECT * FROM Test_Share WHERE MaximumAllowed < 3 AND Name LIKE 'share%'",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["Name"], "share1");
    assert_eq!(r["MaximumAllowed"], 2);
    assert_eq!(r["Browsable"], true);
    assert_eq!(r["Tags"], serde_json::json!(["x", "y"]));
    assert_eq!(r["Created"], "20261121120000.000000+000");
    assert_eq!(r["__CLASS"], "Test_Share");
    assert_eq!(r["__NAMESPACE"], "root\\test");
    assert!(r["__PATH"]
        .as_str()
        .unwrap()
        .ends_with(":Test_Share.Name=\"share1\""));
}

#[test]
fn query_formats() {
    let (_d, arg) = with_shares();
    let q = "SELECT Name, MaximumAllowed, Browsable FROM Test_Share WHERE Name <> 'other'";
    let base = ["--mof", &arg, "query", "-n", "root/test"];
    let fmt = |f: &str| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend(["-o", f, q]);
        ok(&a)
    };
    let wmic = fmt("wmic");
    let lines: Vec<&str> = wmic.lines().collect();
    assert_eq!(lines[0], "CLASS: Test_Share");
    assert_eq!(lines[1], "Browsable|MaximumAllowed|Name");
    assert!(lines.contains(&"True|2|share1"), "{wmic}");
    assert!(lines.contains(&"False|5|share2"), "{wmic}");

    let list = fmt("list");
    assert!(list.contains("Name=share1\n"));
    assert!(list.contains("\n\n"), "a blank line between instances");

    let csv = fmt("csv");
    assert!(csv.lines().next().unwrap().contains("Name"));
    assert_eq!(csv.lines().count(), 3);

    let mof = fmt("mof");
    assert!(mof.contains("instance of Test_Share"));
    assert!(mof.contains("Name = \"share1\";"));

    let table = fmt("table");
    assert!(table.lines().next().unwrap().contains("Name"));

    let mut a: Vec<&str> = base.to_vec();
    a.extend(["-o", "wmic", "--delimiter", ";", q]);
    assert!(ok(&a).contains("True;2;share1"));
}

#[test]
fn escapes_survive_the_round_trip() {
    let (_d, arg) = with_shares();
    let out = ok(&[
        "--mof",
        &arg,
        "get",
        "-n",
        "root/test",
        "-o",
        "json",
        "Test_Share.Name=\"share2\"",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["Path"], "C:\\data \"quoted\"");
}

#[test]
fn get_by_path_forms() {
    let (_d, arg) = with_shares();
    for p in [
        "Test_Share.Name=\"share1\"",
        "Test_Share=\"SHARE1\"",
        "\\\\.\\root\\test:Test_Share.Name=\"share1\"",
        "//./root/test:Test_Share.Name=\"share1\"",
    ] {
        let out = ok(&["--mof", &arg, "get", "-n", "root/test", "-o", "list", p]);
        assert!(out.contains("Path=/srv/one"), "{p}: {out}");
    }
    fails_with(
        &[
            "--mof",
            &arg,
            "get",
            "-n",
            "root/test",
            "Test_Share.Name=\"nope\"",
        ],
        "WBEM_E_NOT_FOUND (0x80041002)",
    );
    fails_with(
        &["get", "Win32_Share.Name=\"unterminated"],
        "WBEM_E_INVALID_PARAMETER (0x80041008)",
    );
}

#[test]
fn association_queries_from_the_cli() {
    let (_d, arg) = with_shares();
    let out = ok(&[
        "--mof",
        &arg,
        "query",
        "-n",
        "root/test",
        "-o",
        "json",
        "ASSOCIATORS OF {Test_Host.Name=\"h1\"} WHERE AssocClass=Test_HostShare",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["share1", "share2"]);
    let out = ok(&[
        "--mof",
        &arg,
        "query",
        "-n",
        "root/test",
        "-o",
        "json",
        "REFERENCES OF {Test_Share.Name=\"share1\"}",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["__CLASS"], "Test_HostShare");
    fails_with(
        &[
            "--mof",
            &arg,
            "query",
            "-n",
            "root/test",
            "ASSOCIATORS OF {Test_Host.Name=\"h1\"} WHERE ClassDefsOnly ResultClass=Test_Share",
        ],
        "WBEM_E_INVALID_QUERY (0x80041017)",
    );
}

#[test]
fn query_errors_carry_wmi_codes() {
    fails_with(
        &["query", "SELECT * FROM Win32_Foo"],
        "WBEM_E_INVALID_CLASS (0x80041010)",
    );
    let e = fails_with(
        &["query", "SELECT * FRM Win32_Share"],
        "WBEM_E_INVALID_QUERY (0x80041017)",
    );
    assert!(e.contains("offset"), "{e}");
    fails_with(
        &["query", "--language", "CQL", "SELECT * FROM Win32_Share"],
        "WBEM_E_INVALID_QUERY_TYPE (0x80041018)",
    );
    fails_with(
        &["query", "-n", "root\\nope", "SELECT * FROM Win32_Share"],
        "WBEM_E_INVALID_NAMESPACE (0x8004100E)",
    );
}

#[test]
fn a_failing_data_source_fails_its_classes_only() {
    // smbstatus and testparm point at nothing: the Samba classes fail with the
    // reason, the other classes keep working.
    let e = fails_with(
        &["query", "SELECT * FROM Win32_ServerConnection"],
        "WBEM_E_FAILED (0x80041001)",
    );
    assert!(e.contains("not found"), "{e}");
    let d = Dir::new("mounts");
    let mi = d.file(
        "mountinfo",
        "36 25 0:32 / /mnt/share rw,relatime - cifs //srv/share rw,username=bob\n",
    );
    let fstab = d.file("fstab", "");
    let out = ok(&[
        "--mountinfo",
        mi.to_str().unwrap(),
        "--fstab",
        fstab.to_str().unwrap(),
        "query",
        "-o",
        "json",
        "SELECT * FROM Win32_NetworkConnection",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["RemoteName"], "\\\\srv\\share");
    assert_eq!(v[0]["Name"], "\\\\srv\\share (/mnt/share)");
}

#[test]
fn help_teaches() {
    let out = ok(&["--help"]);
    for s in [
        "query",
        "get",
        "class",
        "classes",
        "mof",
        "serve",
        "passwd",
        "Exit codes",
    ] {
        assert!(out.contains(s), "{s}");
    }
    for sub in ["query", "get", "class", "classes", "mof", "serve", "passwd"] {
        let h = ok(&[sub, "--help"]);
        assert!(h.contains("Usage"), "{sub}");
    }
}

#[test]
fn regression_freshness_out_of_range_is_an_error_not_a_panic() {
    for v in ["1e30", "-1", "NaN"] {
        let arg = format!("--freshness={v}");
        let o = run(&[&arg, "classes"]);
        assert_eq!(o.status.code(), Some(1), "{v}");
        let err = stderr(&o);
        assert!(err.starts_with("error: --freshness"), "{v}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn regression_mof_errors_are_not_prefixed_twice() {
    let d = Dir::new("twice");
    let bad = d.file("bad.mof", "class A : Missing { };\n");
    let o = run(&["--mof", &format!("root/x={}", bad.display()), "classes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with(&bad.display().to_string()), "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
}

#[test]
fn connection_options_are_not_read_without_a_resource() {
    // Without -r or --hosts the command runs on this machine: a password in
    // the environment, -U or --locale must not turn that into a failed
    // (local) ConnectServer.
    let o = Command::new(BIN)
        .env("OPENWMI_PASSWORD", "secret")
        .args(["--testparm", "/nonexistent/testparm", "classes"])
        .args(["-U", "alice", "--locale", "german", "--concurrency", "0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).lines().any(|l| l == "CIM_Dependency"));
}

#[test]
fn a_source_failing_before_its_first_row_still_ends_the_result_set() {
    let o = run(&[
        "query",
        "-o",
        "json",
        "SELECT * FROM Win32_ServerConnection",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "[]\n");
    assert!(stderr(&o).starts_with("error: WBEM_E_FAILED (0x80041001)"));
}
