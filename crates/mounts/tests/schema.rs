//! The bundled schema (crates/cimom/schema) compiles and carries the
//! qualifiers the reference pages list.

use openwmi_cim::{CimType, Class, Repository, Value};
use openwmi_mof::{Compiler, Options};
use std::path::Path;
use std::sync::Arc;

fn classes() -> Repository {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../cimom/schema/openwmi.mof");
    let mut repo = Repository::new();
    let summary = Compiler::new(Options::default())
        .compile_file(&mut repo, Path::new(path))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(summary.classes, 9);
    repo
}

fn class(repo: &Repository, name: &str) -> Arc<Class> {
    repo.namespace("root/cimv2")
        .unwrap()
        .class(name)
        .unwrap_or_else(|| panic!("no class {name}"))
}

fn qstr(q: Option<&openwmi_cim::Qualifier>) -> Option<&str> {
    q.and_then(|q| q.value.as_ref()).and_then(Value::as_str)
}

#[test]
fn hierarchy_keys_and_providers() {
    let repo = classes();
    let mse = class(&repo, "CIM_ManagedSystemElement");
    assert!(mse.is_abstract());
    assert_eq!(
        mse.property("Caption")
            .unwrap()
            .qualifier("MaxLen")
            .unwrap()
            .value,
        Some(Value::UInt32(64))
    );
    assert_eq!(
        mse.property("InstallDate").unwrap().ty.base,
        CimType::DateTime
    );
    assert!(class(&repo, "CIM_LogicalElement").is_abstract());
    let dep = class(&repo, "CIM_Dependency");
    assert!(dep.is_abstract() && dep.is_association());

    for (name, provider, keys) in [
        (
            "Win32_ServerConnection",
            "SessionProvider",
            &["ComputerName", "ShareName", "UserName"][..],
        ),
        (
            "Win32_ServerSession",
            "SessionProvider",
            &["ComputerName", "UserName"][..],
        ),
        ("Win32_Share", "CIMWin32", &["Name"][..]),
        ("Win32_NetworkConnection", "CIMWin32", &["Name"][..]),
        (
            "Win32_ConnectionShare",
            "SessionProvider",
            &["Antecedent", "Dependent"][..],
        ),
        (
            "Win32_SessionConnection",
            "SessionProvider",
            &["Antecedent", "Dependent"][..],
        ),
    ] {
        let c = class(&repo, name);
        assert!(!c.is_abstract(), "{name}");
        assert!(c.has_qualifier("Dynamic"), "{name}");
        assert!(c.has_qualifier("AMENDMENT"), "{name}");
        assert_eq!(qstr(c.qualifier("Provider")), Some(provider), "{name}");
        let k: Vec<_> = c.key_properties().map(|p| p.name.to_string()).collect();
        assert_eq!(k, keys, "{name}");
        // Inherited from CIM_ManagedSystemElement.
        assert!(
            c.property("Caption").is_some() || c.is_association(),
            "{name}"
        );
    }
}

#[test]
fn network_connection_qualifiers() {
    let repo = classes();
    let c = class(&repo, "Win32_NetworkConnection");
    assert_eq!(
        qstr(c.qualifier("UUID")),
        Some("{8502C4CD-5FBB-11D2-AAC1-006008C78BC7}")
    );
    assert_eq!(c.properties.len(), 17);
    let name = c.property("Name").unwrap();
    assert!(name.is_key());
    assert_eq!(qstr(name.qualifier("Override")), Some("Name"));
    assert_eq!(
        qstr(c.property("AccessMask").unwrap().qualifier("Schema")),
        Some("Win32")
    );
    assert_eq!(
        c.property("ConnectionState")
            .unwrap()
            .qualifier("MaxLen")
            .unwrap()
            .value,
        Some(Value::UInt32(20))
    );
    assert_eq!(
        qstr(c.property("Caption").unwrap().qualifier("DisplayName")),
        Some("Caption")
    );
    assert_eq!(c.property("Persistent").unwrap().ty.base, CimType::Boolean);
    let ms = c
        .property("Comment")
        .unwrap()
        .qualifier("MappingStrings")
        .unwrap();
    assert_eq!(
        ms.value,
        Some(Value::Array(vec![Value::String(
            "Win32API|Windows Networking Structures|NETRESOURCE|lpComment".into()
        )]))
    );
}

#[test]
fn server_connection_share_and_associations() {
    let repo = classes();
    let sc = class(&repo, "Win32_ServerConnection");
    assert_eq!(
        qstr(sc.property("ActiveTime").unwrap().qualifier("Units")),
        Some("seconds")
    );
    let share = class(&repo, "Win32_Share");
    let ty = share.property("Type").unwrap();
    assert_eq!(ty.ty.base, CimType::UInt32);
    let vm = ty.qualifier("ValueMap").unwrap().value.as_ref().unwrap();
    assert!(matches!(vm, Value::Array(v) if v.len() == 8 && v[7] == Value::from("2147483651")));
    assert!(share
        .property("AccessMask")
        .unwrap()
        .qualifier("Deprecated")
        .is_some());

    let cs = class(&repo, "Win32_ConnectionShare");
    let ante = cs.property("Antecedent").unwrap();
    assert_eq!(ante.ty.ref_class.as_ref().unwrap().as_str(), "Win32_Share");
    assert_eq!(qstr(ante.qualifier("Override")), Some("Antecedent"));
    assert_eq!(
        cs.property("Dependent")
            .unwrap()
            .ty
            .ref_class
            .as_ref()
            .unwrap()
            .as_str(),
        "Win32_ServerConnection"
    );
    let sess = class(&repo, "Win32_SessionConnection");
    assert_eq!(
        sess.property("Antecedent")
            .unwrap()
            .ty
            .ref_class
            .as_ref()
            .unwrap()
            .as_str(),
        "Win32_ServerSession"
    );
}
