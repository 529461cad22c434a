//! Every kind of response the writer produces, and every request the
//! encoder produces, is valid against the DMTF DTD DSP0203 2.4.0, checked
//! with `xmllint --noout --dtdvalid`.
//!
//! The DTD ships in the pywbem 1.9.1 source package; when it is not yet in
//! the target directory this test fetches it with `pip download`. It fails
//! (never skips) when the DTD cannot be had or xmllint is missing.

mod common;

use common::*;
use openwmi_cim::{CimError, Value};
use openwmi_cimxml::{
    empty_response, encode_request, error_response, ClassOptions, ResponseWriter,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const DTD_NAME: &str = "DSP0203_2.4.0.dtd";

fn work_dir() -> PathBuf {
    // <target>/debug/deps/dtd-HASH -> <target>/cimxml-dtd
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("test executable lives in <target>/<profile>/deps")
        .to_path_buf();
    target.join("cimxml-dtd")
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn fetch_dtd(dir: &Path) -> Result<PathBuf, String> {
    let dtd = dir.join(DTD_NAME);
    if dtd.is_file() {
        return Ok(dtd);
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let tarball = dir.join("pywbem-1.9.1.tar.gz");
    if !tarball.is_file() {
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "pywbem==1.9.1",
                "-d",
            ])
            .arg(dir))?;
    }
    let member = format!("pywbem-1.9.1/tests/dtd/{DTD_NAME}");
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .arg(&member))?;
    std::fs::rename(dir.join(&member), &dtd).map_err(|e| e.to_string())?;
    Ok(dtd)
}

fn dtd() -> &'static Path {
    static DTD: OnceLock<PathBuf> = OnceLock::new();
    DTD.get_or_init(|| {
        if let Err(e) = run(Command::new("xmllint").arg("--version")) {
            panic!("xmllint is required (Debian: apt-get install libxml2-utils): {e}");
        }
        fetch_dtd(&work_dir())
            .unwrap_or_else(|e| panic!("cannot fetch {DTD_NAME} from the pywbem 1.9.1 sdist: {e}"))
    })
}

fn validate(name: &str, doc: &str) {
    let dtd = dtd();
    let file = work_dir().join(format!("{name}.xml"));
    std::fs::write(&file, doc).unwrap();
    if let Err(e) = run(Command::new("xmllint")
        .arg("--noout")
        .arg("--dtdvalid")
        .arg(dtd)
        .arg(&file))
    {
        panic!("{name} is not valid against {DTD_NAME}:\n{e}\n{doc}");
    }
}

#[test]
fn responses_are_valid() {
    let inst = rich_instance();
    let path = full_path(connection_path());
    let class = rich_class();

    let mut w = ResponseWriter::begin("1", "GetInstance");
    w.instance(&inst);
    validate("rsp-instance", &w.end());

    let mut w = ResponseWriter::begin("1", "EnumerateInstances");
    w.named_instance(&connection_path(), &inst);
    w.named_instance(&share_path(), &inst);
    validate("rsp-named-instance", &w.end());

    let mut w = ResponseWriter::begin("1", "EnumerateInstanceNames");
    w.instance_name(&connection_path());
    w.instance_name(&share_path());
    validate("rsp-instance-names", &w.end());

    let mut w = ResponseWriter::begin("1", "ExecQuery");
    w.object_with_path(&path, &inst);
    w.object_with_path(&share_path(), &inst);
    validate("rsp-object-with-path", &w.end());

    let mut w = ResponseWriter::begin("1", "Associators");
    w.class_with_path(
        &full_path(class_path("Win32_Share")),
        &class,
        &ClassOptions::default(),
    );
    validate("rsp-class-with-path", &w.end());

    let mut w = ResponseWriter::begin("1", "AssociatorNames");
    w.object_path(&path);
    w.object_path(&class_path("Win32_Share"));
    validate("rsp-object-paths", &w.end());

    let mut w = ResponseWriter::begin("1", "GetClass");
    w.class(&class, &ClassOptions::default());
    validate("rsp-class", &w.end());

    let mut w = ResponseWriter::begin("1", "EnumerateClasses");
    w.class(
        &class,
        &ClassOptions {
            local_only: true,
            include_qualifiers: false,
            include_class_origin: false,
            property_list: None,
        },
    );
    w.class(&class, &ClassOptions::default());
    validate("rsp-classes", &w.end());

    let mut w = ResponseWriter::begin("1", "EnumerateClassNames");
    w.class_name("Win32_Share");
    w.class_name("CIM_Share");
    validate("rsp-class-names", &w.end());

    let mut w = ResponseWriter::begin("1", "EnumerateQualifiers");
    for d in qualifier_decls() {
        w.qualifier_decl(&d);
    }
    validate("rsp-qualifier-decls", &w.end());

    let mut w = ResponseWriter::begin("1", "OpenEnumerateInstances");
    w.instance_with_path(&path, &inst);
    validate("rsp-pull-instances", &w.end_pull(false, Some("ctx-1")));

    let mut w = ResponseWriter::begin("1", "PullInstancePaths");
    w.instance_path(&path);
    validate("rsp-pull-paths", &w.end_pull(true, None));

    let w = ResponseWriter::begin("1", "OpenQueryInstances");
    validate("rsp-pull-empty", &w.end_pull(true, Some("")));

    let mut w = ResponseWriter::begin("1", "EnumerationCount");
    w.value(&Value::UInt64(12));
    validate("rsp-value", &w.end());

    validate(
        "rsp-error",
        &error_response(
            "1",
            "GetClass",
            true,
            &CimError::invalid_class("no \"x\" <here>\n"),
        ),
    );
    validate(
        "rsp-method-error",
        &error_response("1", "Create", false, &CimError::not_supported("no")),
    );
    validate("rsp-empty", &empty_response("1", "CloseEnumeration"));
}

#[test]
fn requests_are_valid() {
    for (i, op) in all_operations().iter().enumerate() {
        validate(
            &format!("req-{i:02}-{}", op.method_name()),
            &encode_request("1001", "root/cimv2", op),
        );
    }
}
