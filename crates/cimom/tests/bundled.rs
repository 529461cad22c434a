//! The schema compiled into the binary is complete and carries the seeds' qualifiers.

use openwmi_cim::{Name, Value};
use openwmi_cimom::bundled::bundled_repository;
use openwmi_cimom::{EnumOptions, ObjectManagerBuilder, OperationContext};
use std::sync::Arc;

#[test]
fn bundled_schema_compiles_with_every_class_and_namespace() {
    let repo = bundled_repository().unwrap_or_else(|e| panic!("{e:?}"));
    for ns in ["root", "root/cimv2", "root\\interop"] {
        assert!(repo.namespace(ns).is_some(), "{ns}");
    }
    let ns = repo.namespace("root\\cimv2").unwrap();
    for c in [
        "CIM_ManagedSystemElement",
        "CIM_LogicalElement",
        "CIM_Dependency",
        "Win32_ServerConnection",
        "Win32_ServerSession",
        "Win32_Share",
        "Win32_NetworkConnection",
        "Win32_ConnectionShare",
        "Win32_SessionConnection",
    ] {
        assert!(ns.has_class(c), "{c}");
    }
}

#[test]
fn bundled_classes_carry_the_seed_qualifiers() {
    let repo = bundled_repository().unwrap();
    let ns = repo.namespace("root/cimv2").unwrap();
    let sc = ns.class("Win32_ServerConnection").unwrap();
    assert!(sc.has_qualifier("Dynamic"));
    assert!(sc.has_qualifier("AMENDMENT"));
    assert_eq!(
        sc.qualifier("Provider").and_then(|q| q.value.clone()),
        Some(Value::String("SessionProvider".into()))
    );
    let keys: Vec<String> = sc.key_properties().map(|p| p.name.to_string()).collect();
    assert_eq!(keys.len(), 3);
    for k in ["ComputerName", "ShareName", "UserName"] {
        assert!(keys.iter().any(|x| x.eq_ignore_ascii_case(k)), "{k}");
    }
    let active = sc.property("ActiveTime").unwrap();
    assert_eq!(
        active.qualifier("Units").and_then(|q| q.value.clone()),
        Some(Value::String("seconds".into()))
    );
    let caption = sc.property("Caption").unwrap();
    assert!(caption.propagated, "Caption is inherited");
    assert_eq!(
        caption.qualifier("MaxLen").and_then(|q| q.value.clone()),
        Some(Value::UInt32(64))
    );
    let nc = ns.class("Win32_NetworkConnection").unwrap();
    assert_eq!(
        nc.qualifier("UUID").and_then(|q| q.value.clone()),
        Some(Value::String(
            "{8502C4CD-5FBB-11D2-AAC1-006008C78BC7}".into()
        ))
    );
    assert_eq!(
        nc.qualifier("Provider").and_then(|q| q.value.clone()),
        Some(Value::String("CIMWin32".into()))
    );
    let name = nc.property("Name").unwrap();
    assert!(name.is_key());
    assert!(name.qualifier("Override").is_some());
    assert!(name.qualifier("MappingStrings").is_some());
    assert!(nc
        .property("Comment")
        .unwrap()
        .qualifier("MappingStrings")
        .is_some());
    assert!(nc
        .property("ConnectionState")
        .unwrap()
        .qualifier("MaxLen")
        .is_some());
    assert!(nc
        .property("InstallDate")
        .unwrap()
        .qualifier("DisplayName")
        .is_some());
    let cs = ns.class("Win32_ConnectionShare").unwrap();
    assert!(cs.is_association());
    let ante = cs.property("Antecedent").unwrap();
    assert!(ante.is_key());
    assert!(ante.qualifier("Override").is_some());
    assert_eq!(ante.ty.ref_class, Some(Name::new("Win32_Share")));
    assert!(ns.class("CIM_ManagedSystemElement").unwrap().is_abstract());
    for q in [
        "Key",
        "MaxLen",
        "Units",
        "Override",
        "MappingStrings",
        "DisplayName",
        "Schema",
        "Dynamic",
        "Provider",
        "UUID",
        "AMENDMENT",
    ] {
        assert!(ns.qualifier_decl(q).is_some(), "qualifier {q} declared");
    }
}

#[test]
fn interop_lists_every_namespace_and_the_object_manager() {
    let repo = bundled_repository().unwrap();
    let mut b = ObjectManagerBuilder::new(repo, "H");
    b.with_interop("openwmi", "0.1.0");
    let om = b.build();
    let ctx = Arc::new(OperationContext::local());
    let nss: Vec<String> = om
        .enumerate_instances(
            &ctx,
            "root/interop",
            "CIM_Namespace",
            &EnumOptions::default(),
        )
        .unwrap()
        .map(|r| r.unwrap().instance.value("Name").unwrap().to_string())
        .collect();
    assert_eq!(
        nss,
        [
            "root",
            "root/cimv2",
            "root/default",
            "root/interop",
            "root/Microsoft/Windows/SMB"
        ]
    );
    let oms: Vec<_> = om
        .enumerate_instances(
            &ctx,
            "root/interop",
            "CIM_ObjectManager",
            &EnumOptions::default(),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(oms.len(), 1);
    assert_eq!(
        oms[0].instance.value("ElementName"),
        Some(&Value::String("openwmi".into()))
    );
}

#[test]
fn root_default_namespace_exists() {
    let repo = bundled_repository().unwrap();
    let ns = repo.namespace("root\\default").expect("root\\default");
    assert_eq!(ns.class_count(), 0);
    assert!(ns.qualifier_decl("Key").is_some());
}

#[test]
fn every_namespace_starts_with_the_standard_qualifiers() {
    let repo = bundled_repository().unwrap();
    for name in ["root", "root/cimv2", "root/default", "root/interop"] {
        let ns = repo.namespace(name).unwrap();
        for q in [
            "Key",
            "Description",
            "MaxLen",
            "Units",
            "ValueMap",
            "Values",
            "Required",
            "In",
            "Out",
            "ModelCorrespondence",
            "Deprecated",
            "Provider",
            "Dynamic",
        ] {
            assert!(ns.qualifier_decl(q).is_some(), "{name}: {q}");
        }
    }
    // The bundled schema's own declarations win where they differ.
    let cimv2 = repo.namespace("root/cimv2").unwrap();
    let mapping = cimv2.qualifier_decl("MappingStrings").unwrap();
    assert!(!mapping.scope.intersects(openwmi_cim::Scope::QUALIFIER));
}

#[test]
fn interop_registers_the_profiles_openwmi_implements() {
    use openwmi_cimom::{AssocFilter, ClassOptions};
    let repo = bundled_repository().unwrap();
    let mut b = ObjectManagerBuilder::new(repo, "H");
    b.with_interop("openwmi", "0.1.0");
    let om = b.build();
    let ctx = Arc::new(OperationContext::local());
    let profiles: Vec<_> = om
        .enumerate_instances(
            &ctx,
            "root/interop",
            "CIM_RegisteredProfile",
            &EnumOptions::default(),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    let v = |n: &str| p.instance.value(n).cloned();
    assert_eq!(v("RegisteredOrganization"), Some(Value::UInt16(2)));
    assert_eq!(
        v("RegisteredName"),
        Some(Value::String("Profile Registration".into()))
    );
    assert_eq!(v("RegisteredVersion"), Some(Value::String("1.1.0".into())));
    // Its central instance: the object manager, through the association.
    let central = om
        .associator_names(
            &ctx,
            "root/interop",
            &p.path,
            &AssocFilter {
                assoc_class: Some(Name::new("CIM_ElementConformsToProfile")),
                result_role: Some(Name::new("ManagedElement")),
                ..AssocFilter::default()
            },
        )
        .unwrap();
    assert_eq!(central.len(), 1);
    assert!(central[0].class.is("CIM_ObjectManager"), "{}", central[0]);
    assert_eq!(central[0].host.as_deref(), Some("H"));
    let om_inst = om
        .get_instance(&ctx, "root/interop", &central[0], None)
        .unwrap();
    assert!(om_inst.instance.value("Name").is_some());
    // Every value-mapped property of the interop classes can be mapped.
    let ns = om.repository().namespace("root/interop").unwrap();
    for c in ns.classes() {
        for prop in &c.properties {
            if let Some(vm) = prop.qualifier("ValueMap") {
                let values = prop
                    .qualifier("Values")
                    .unwrap_or_else(|| panic!("{}.{} has no Values", c.name, prop.name));
                let len = |v: &Option<Value>| match v {
                    Some(Value::Array(a)) => a.len(),
                    other => panic!("{other:?}"),
                };
                assert_eq!(
                    len(&vm.value),
                    len(&values.value),
                    "{}.{}",
                    c.name,
                    prop.name
                );
            }
        }
    }
    let class = om
        .get_class(
            &ctx,
            "root/interop",
            "CIM_RegisteredProfile",
            &ClassOptions::default(),
        )
        .unwrap();
    assert!(class
        .property("RegisteredOrganization")
        .unwrap()
        .qualifier("Values")
        .is_some());
}
