//! Acceptance test: the complete DMTF CIM Schema 2.49 compiles with no
//! errors to exactly 1631 classes and 70 qualifier declarations (the counts
//! pywbem reports). The schema is fetched by scripts/fetch-cim-schema on
//! first use; if it cannot be fetched the test fails.

use openwmi_cim::Repository;
use openwmi_mof::{class_to_mof, Compiler, Options};
use std::path::{Path, PathBuf};
use std::process::Command;

fn schema_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/cim-schema-2.49");
    if dir.join("cim_schema_2.49.0.mof").is_file() {
        return dir;
    }
    let out = Command::new("bash")
        .arg(root.join("scripts/fetch-cim-schema"))
        .arg(&dir)
        .output()
        .expect("run scripts/fetch-cim-schema");
    assert!(
        out.status.success(),
        "scripts/fetch-cim-schema failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("cim_schema_2.49.0.mof").is_file());
    dir
}

#[test]
fn compiles_the_cim_schema_2_49() {
    let dir = schema_dir();
    let mut repo = Repository::new();
    let mut compiler = Compiler::new(Options::default());
    let summary = match compiler.compile_file(&mut repo, &dir.join("cim_schema_2.49.0.mof")) {
        Ok(s) => s,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("{} errors:\n{}", errors.len(), text.join("\n"));
        }
    };
    assert_eq!(summary.classes, 1631);
    assert_eq!(summary.qualifiers, 70);
    assert_eq!(summary.instances, 0);
    let ns = repo.namespace("root/cimv2").unwrap();
    assert_eq!(ns.class_count(), 1631);
    assert_eq!(ns.qualifier_decls().count(), 70);

    let cs = ns.class("CIM_ComputerSystem").unwrap();
    assert!(cs.property("Name").unwrap().is_key());
    assert_eq!(
        ns.derivation("CIM_ComputerSystem")[0].as_str(),
        "CIM_System"
    );
    let printed = class_to_mof(&cs, true);
    assert!(
        printed.contains("// inherited from CIM_ManagedElement"),
        "{printed}"
    );

    // Every class prints and reads back to an equal class.
    let mut again = Repository::new();
    let mut decls = String::new();
    for d in ns.qualifier_decls() {
        decls.push_str(&openwmi_mof::qualifier_decl_to_mof(d));
    }
    let mut text = decls;
    for c in ns.classes() {
        text.push_str(&class_to_mof(&c, false));
    }
    let s2 = Compiler::new(Options::default())
        .compile_str(&mut again, "reprinted.mof", &text)
        .unwrap_or_else(|e| panic!("{}", e[0]));
    assert_eq!(s2.classes, 1631);
    let ns2 = again.namespace("root/cimv2").unwrap();
    for c in ns.classes() {
        let c2 = ns2.class(c.name.as_str()).unwrap();
        assert_eq!(*c, *c2, "class {} differs after printing", c.name);
    }
}
