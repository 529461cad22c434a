//! The object manager end to end over a MOF with classes, static instances
//! and association instances.

use openwmi_cim::{CimStatus, Name, ObjectPath, Value};
use openwmi_cimom::{
    AssocFilter, ClassOptions, EnumOptions, Object, ObjectManager, ObjectManagerBuilder,
    OperationContext, QueryResult, RefFilter,
};
use std::sync::Arc;

const TEST_MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(Restricted);
Qualifier Description : string = null, Scope(any), Flavor(Translatable);
Qualifier Special : boolean = false, Scope(class, association), Flavor(Restricted);

[Abstract] class T_Element { string Caption; };
class T_Person : T_Element { [Key] string Name; uint32 Age; datetime Born; };
class T_Employee : T_Person { string Title; };
[Special] class T_Company : T_Element { [Key] string Id; boolean Public; };
[Association] class T_WorksFor { [Key] T_Person REF Employee; [Key] T_Company REF Employer; };
[Association, Special] class T_Owns { [Key] T_Person REF Owner; [Key] T_Company REF Owned; };

instance of T_Person as $alice { Name = "alice"; Age = 30; Born = "19960101000000.000000+000"; };
instance of T_Employee as $bob { Name = "bob"; Age = 40; Title = "engineer"; };
instance of T_Person as $carol { Name = "Carol"; };
instance of T_Company as $acme { Id = "acme"; Public = true; };
instance of T_Company as $initech { Id = "initech"; Public = false; };
instance of T_WorksFor { Employee = $alice; Employer = $acme; };
instance of T_WorksFor { Employee = $bob; Employer = $acme; };
instance of T_WorksFor { Employee = $bob; Employer = $initech; };
instance of T_Owns { Owner = $alice; Owned = $initech; };
"#;

fn builder() -> ObjectManagerBuilder {
    let repo = openwmi_mof::repository_from_str("root/test", "test.mof", TEST_MOF)
        .unwrap_or_else(|e| panic!("{e:?}"));
    ObjectManagerBuilder::new(repo, "TESTHOST")
}

fn manager() -> ObjectManager {
    builder().build()
}

fn ctx() -> Arc<OperationContext> {
    Arc::new(OperationContext::local())
}

fn path(s: &str) -> ObjectPath {
    ObjectPath::parse(s).unwrap()
}

fn names(objects: &[Object], prop: &str) -> Vec<String> {
    let mut v: Vec<String> = objects
        .iter()
        .map(|o| match o {
            Object::Instance(i) => i
                .instance
                .value(prop)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            Object::Class(c) => c.name.to_string(),
        })
        .collect();
    v.sort();
    v
}

fn query(om: &ObjectManager, q: &str) -> Result<Vec<Object>, openwmi_cim::CimError> {
    match om.exec_query(&ctx(), "root/test", "WQL", q)? {
        QueryResult::Instances(it) => it.map(|r| r.map(Object::Instance)).collect(),
        QueryResult::Objects(o) => Ok(o),
    }
}

#[test]
fn enumerate_is_deep_by_default_and_shallow_on_request() {
    let om = manager();
    let all: Vec<_> = om
        .enumerate_instances(&ctx(), "root\\test", "T_Person", &EnumOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 3);
    let shallow: Vec<_> = om
        .enumerate_instances(
            &ctx(),
            "ROOT/Test",
            "t_person",
            &EnumOptions {
                deep: false,
                ..Default::default()
            },
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(shallow.len(), 2);
    // Full paths carry host and namespace.
    let p = &all[0].path;
    assert_eq!(p.host.as_deref(), Some("TESTHOST"));
    assert_eq!(p.namespace.as_deref(), Some("root/test"));
}

#[test]
fn deep_inheritance_false_keeps_only_the_requested_class_properties() {
    let om = manager();
    let insts: Vec<_> = om
        .enumerate_instances(
            &ctx(),
            "root/test",
            "T_Person",
            &EnumOptions {
                deep: true,
                deep_inheritance: false,
                property_list: None,
            },
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let bob = insts
        .iter()
        .find(|i| i.instance.class_name.is("T_Employee"))
        .unwrap();
    assert!(bob.instance.property("Title").is_none());
    assert!(bob.instance.property("Age").is_some());
}

#[test]
fn property_lists_trim_but_paths_stay_whole() {
    let om = manager();
    let insts: Vec<_> = om
        .enumerate_instances(
            &ctx(),
            "root/test",
            "T_Company",
            &EnumOptions {
                property_list: Some(vec![Name::new("Public")]),
                ..Default::default()
            },
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(insts[0].instance.properties.len(), 1);
    assert!(insts[0].path.key("Id").is_some());
}

#[test]
fn get_instance_by_full_relative_and_single_key_paths() {
    let om = manager();
    let c = OperationContext::local();
    for p in [
        r#"T_Person.Name="alice""#,
        r#"T_Person="ALICE""#,
        r#"\\TESTHOST\root\test:T_Person.Name="alice""#,
        r#"//TESTHOST/root/test:T_Person.Name="alice""#,
    ] {
        let i = om.get_instance(&c, "root/test", &path(p), None).unwrap();
        assert_eq!(i.instance.value("Age"), Some(&Value::UInt32(30)), "{p}");
    }
    let e = om
        .get_instance(&c, "root/test", &path(r#"T_Person.Name="nobody""#), None)
        .unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);
    let e = om
        .get_instance(&c, "root/test", &path(r#"T_Nope.Name="x""#), None)
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
    let e = om
        .get_instance(&c, "root/nope", &path(r#"T_Person.Name="x""#), None)
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidNamespace);
    let e = om
        .get_instance(&c, "root/test", &path(r#"T_Person.Age=3"#), None)
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidParameter);
}

#[test]
fn get_instance_checks_the_keys_of_a_path_it_takes_as_it_is() {
    let om = manager();
    let c = OperationContext::local();
    // Reference keys given as strings are read as paths.
    let p = r#"T_WorksFor.Employee="T_Person.Name=\"alice\"",Employer="T_Company.Id=\"acme\"""#;
    let got = om.get_instance(&c, "root/test", &path(p), None).unwrap();
    assert_eq!(got.path.class.as_str(), "T_WorksFor");
    // A relative path with named keys is used without a copy: the checks
    // must still be the same.
    for (p, why) in [
        (
            r#"T_WorksFor.Employee="T_Person.Name=\"alice\"""#,
            "lacks key Employer",
        ),
        (r#"T_Person.Name="alice",Age=30"#, "Age is not a key"),
        (r#"T_Person.Nom="alice""#, "lacks key Name"),
        ("T_Person", "names a class"),
        ("T_Person=@", "is not a singleton"),
        (r#"T_WorksFor="x""#, "has 2 keys"),
    ] {
        let e = om
            .get_instance(&c, "root/test", &path(p), None)
            .unwrap_err();
        assert_eq!(e.status, CimStatus::InvalidParameter, "{p}");
        assert!(e.description.contains(why), "{p}: {}", e.description);
    }
}

#[test]
fn association_instances_are_reachable_by_get_instance() {
    let om = manager();
    let c = OperationContext::local();
    let refs = om
        .reference_names(
            &c,
            "root/test",
            &path(r#"T_Person.Name="alice""#),
            &RefFilter::default(),
        )
        .unwrap();
    assert_eq!(refs.len(), 2);
    for r in refs {
        let got = om.get_instance(&c, "root/test", &r, None).unwrap();
        assert_eq!(*got.path, r);
    }
}

#[test]
fn associators_in_both_directions() {
    let om = manager();
    let c = OperationContext::local();
    let of_bob = om
        .associators(
            &c,
            "root/test",
            &path(r#"T_Employee.Name="bob""#),
            &AssocFilter::default(),
        )
        .unwrap();
    assert_eq!(names(&of_bob, "Id"), ["acme", "initech"]);
    let of_acme = om
        .associators(
            &c,
            "root/test",
            &path(r#"T_Company.Id="acme""#),
            &AssocFilter::default(),
        )
        .unwrap();
    assert_eq!(names(&of_acme, "Name"), ["alice", "bob"]);
}

#[test]
fn associator_filters() {
    let om = manager();
    let c = OperationContext::local();
    let alice = path(r#"T_Person.Name="alice""#);
    let by_assoc = om
        .associators(
            &c,
            "root/test",
            &alice,
            &AssocFilter {
                assoc_class: Some(Name::new("T_Owns")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(names(&by_assoc, "Id"), ["initech"]);
    let wrong_role = om
        .associators(
            &c,
            "root/test",
            &alice,
            &AssocFilter {
                role: Some(Name::new("Employer")),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(wrong_role.is_empty());
    let result_role = om
        .associators(
            &c,
            "root/test",
            &alice,
            &AssocFilter {
                result_role: Some(Name::new("Employer")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(names(&result_role, "Id"), ["acme"]);
    let result_class = om
        .associators(
            &c,
            "root/test",
            &path(r#"T_Company.Id="acme""#),
            &AssocFilter {
                result_class: Some(Name::new("T_Employee")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(names(&result_class, "Name"), ["bob"]);
    let required = om
        .associators(
            &c,
            "root/test",
            &alice,
            &AssocFilter {
                required_assoc_qualifier: Some(Name::new("Special")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(names(&required, "Id"), ["initech"]);
}

#[test]
fn references_and_their_filters() {
    let om = manager();
    let c = OperationContext::local();
    let refs = om
        .references(
            &c,
            "root/test",
            &path(r#"T_Company.Id="acme""#),
            &RefFilter::default(),
        )
        .unwrap();
    assert_eq!(refs.len(), 2);
    let owns = om
        .references(
            &c,
            "root/test",
            &path(r#"T_Company.Id="initech""#),
            &RefFilter {
                result_class: Some(Name::new("T_Owns")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(owns.len(), 1);
    let by_role = om
        .references(
            &c,
            "root/test",
            &path(r#"T_Company.Id="initech""#),
            &RefFilter {
                role: Some(Name::new("Owned")),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(by_role.len(), 1);
}

#[test]
fn wql_association_queries() {
    let om = manager();
    let r = query(
        &om,
        r#"ASSOCIATORS OF {T_Company.Id="acme"} WHERE ResultClass=T_Employee"#,
    )
    .unwrap();
    assert_eq!(names(&r, "Name"), ["bob"]);
    let r = query(
        &om,
        r#"ASSOCIATORS OF {T_Company.Id="acme"} WHERE ClassDefsOnly"#,
    )
    .unwrap();
    assert_eq!(names(&r, ""), ["T_Employee", "T_Person"]);
    let r = query(
        &om,
        r#"REFERENCES OF {T_Person.Name="alice"} WHERE ResultClass=T_Owns"#,
    )
    .unwrap();
    assert_eq!(r.len(), 1);
    let r = query(
        &om,
        r#"REFERENCES OF {T_Person.Name="alice"} WHERE KeysOnly"#,
    )
    .unwrap();
    assert_eq!(r.len(), 2);
    let r = query(
        &om,
        r#"ASSOCIATORS OF {T_Person.Name="alice"} WHERE KeysOnly"#,
    )
    .unwrap();
    for o in &r {
        let Object::Instance(i) = o else { panic!() };
        assert_eq!(i.instance.properties.len(), 1, "{i:?}");
    }
    let e = query(&om, r#"ASSOCIATORS OF {T_Person.Name="nobody"}"#).unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);
    let e = query(
        &om,
        r#"ASSOCIATORS OF {T_Person.Name="alice"} WHERE AssocClass=T_Nope"#,
    )
    .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
}

#[test]
fn schema_level_associators_of_a_class() {
    let om = manager();
    let r = query(&om, r#"ASSOCIATORS OF {T_Company} WHERE SchemaOnly"#).unwrap();
    assert_eq!(names(&r, ""), ["T_Person"]);
    let r = query(&om, r#"REFERENCES OF {T_Company} WHERE SchemaOnly"#).unwrap();
    assert_eq!(names(&r, ""), ["T_Owns", "T_WorksFor"]);
}

#[test]
fn select_where_and_projection() {
    let om = manager();
    let r = query(&om, "SELECT * FROM T_Person WHERE Age > 35").unwrap();
    assert_eq!(names(&r, "Name"), ["bob"]);
    let r = query(&om, "SELECT * FROM T_Person WHERE name = 'CAROL'").unwrap();
    assert_eq!(names(&r, "Name"), ["Carol"]);
    let r = query(&om, "SELECT * FROM T_Person WHERE Age IS NULL").unwrap();
    assert_eq!(names(&r, "Name"), ["Carol"]);
    let r = query(&om, "SELECT * FROM T_Person WHERE __CLASS = 'T_Employee'").unwrap();
    assert_eq!(names(&r, "Name"), ["bob"]);
    let r = query(
        &om,
        "SELECT * FROM T_Person WHERE Born < '20000101000000.000000+000'",
    )
    .unwrap();
    assert_eq!(names(&r, "Name"), ["alice"]);
    let r = query(&om, "SELECT Name FROM T_Person WHERE Age < 35").unwrap();
    let Object::Instance(i) = &r[0] else { panic!() };
    assert_eq!(i.instance.properties.len(), 1);
    let r = query(&om, "SELECT * FROM T_Element").unwrap();
    assert_eq!(r.len(), 5);
}

#[test]
fn system_properties_can_be_selected() {
    let om = manager();
    let r = query(&om, r#"SELECT __PATH, __RELPATH, __CLASS, __SUPERCLASS, __DYNASTY, __NAMESPACE, __SERVER, __GENUS, __DERIVATION, __PROPERTY_COUNT, Name FROM T_Employee"#).unwrap();
    let Object::Instance(i) = &r[0] else { panic!() };
    let v = |n: &str| i.instance.value(n).cloned();
    assert_eq!(
        v("__PATH"),
        Some(Value::String(
            r#"\\TESTHOST\root\test:T_Employee.Name="bob""#.into()
        ))
    );
    assert_eq!(
        v("__RELPATH"),
        Some(Value::String(r#"T_Employee.Name="bob""#.into()))
    );
    assert_eq!(v("__CLASS"), Some(Value::String("T_Employee".into())));
    assert_eq!(v("__SUPERCLASS"), Some(Value::String("T_Person".into())));
    assert_eq!(v("__DYNASTY"), Some(Value::String("T_Element".into())));
    assert_eq!(v("__NAMESPACE"), Some(Value::String("root\\test".into())));
    assert_eq!(v("__SERVER"), Some(Value::String("TESTHOST".into())));
    assert_eq!(v("__GENUS"), Some(Value::SInt32(2)));
    assert_eq!(
        v("__DERIVATION"),
        Some(Value::Array(vec![
            Value::String("T_Person".into()),
            Value::String("T_Element".into())
        ]))
    );
    assert_eq!(v("__PROPERTY_COUNT"), Some(Value::SInt32(5)));
    assert_eq!(v("Name"), Some(Value::String("bob".into())));
}

#[test]
fn system_properties_in_where_clauses() {
    let om = manager();
    let r = query(
        &om,
        r#"SELECT * FROM T_Person WHERE __RELPATH = 'T_Person.Name="alice"'"#,
    )
    .unwrap();
    assert_eq!(names(&r, "Name"), ["alice"]);
    let r = query(
        &om,
        "SELECT * FROM T_Person WHERE __GENUS = 2 AND __SERVER = 'testhost'",
    )
    .unwrap();
    assert_eq!(r.len(), 3);
    let Object::Instance(i) = &r[0] else { panic!() };
    assert!(
        i.instance.property("__GENUS").is_none(),
        "only the checking saw it"
    );
    let r = query(
        &om,
        "SELECT Name FROM T_Person WHERE __SERVER <> 'zz' AND Age > 35",
    )
    .unwrap();
    assert_eq!(names(&r, "Name"), ["bob"]);
}

#[test]
fn schema_queries() {
    let om = manager();
    let r = query(
        &om,
        r#"SELECT * FROM meta_class WHERE __this ISA "T_Person""#,
    )
    .unwrap();
    assert_eq!(names(&r, ""), ["T_Employee", "T_Person"]);
    let r = query(
        &om,
        r#"SELECT * FROM meta_class WHERE __CLASS = "T_Company""#,
    )
    .unwrap();
    assert_eq!(names(&r, ""), ["T_Company"]);
}

#[test]
fn schema_queries_on_system_properties() {
    let om = manager();
    let q = |w: &str| {
        let r = query(&om, &format!("SELECT * FROM meta_class WHERE {w}"))
            .unwrap_or_else(|e| panic!("{w}: {e}"));
        names(&r, "")
    };
    assert_eq!(
        q(r#"__SUPERCLASS = "T_Element""#),
        ["T_Company", "T_Person"]
    );
    assert_eq!(q(r#"__SUPERCLASS = 't_person'"#), ["T_Employee"]);
    assert_eq!(
        q("__SUPERCLASS IS NULL"),
        ["T_Element", "T_Owns", "T_WorksFor"]
    );
    assert_eq!(
        q(r#"__DYNASTY = "T_Element""#),
        ["T_Company", "T_Element", "T_Employee", "T_Person"]
    );
    assert_eq!(q(r#"__RELPATH = "T_Owns""#), ["T_Owns"]);
    assert_eq!(
        q(r#"__PATH = "\\\\TESTHOST\\root\\test:T_Person""#),
        ["T_Person"]
    );
    assert_eq!(
        q(r#"__NAMESPACE = "root\\test" AND __CLASS LIKE "T_E%""#),
        ["T_Element", "T_Employee"]
    );
    assert_eq!(
        q(r#"__SERVER = "testhost" AND __CLASS = "T_Company""#),
        ["T_Company"]
    );
    assert_eq!(q("__GENUS = 1").len(), 6);
    assert!(q("__GENUS = 2").is_empty());
    assert_eq!(q("__PROPERTY_COUNT = 5"), ["T_Employee"]);
    assert_eq!(
        q(r#"__this ISA "T_Person" AND __PROPERTY_COUNT < 5"#),
        ["T_Person"]
    );
    let ns = om.repository().namespace("root/test").unwrap();
    let class = ns.class("T_Employee").unwrap();
    let props = openwmi_cimom::class_system_properties(ns, &class, "TESTHOST");
    let v = |n: &str| props.iter().find(|(k, _)| *k == n).unwrap().1.clone();
    assert_eq!(
        v("__DERIVATION"),
        Some(Value::Array(vec![
            Value::String("T_Person".into()),
            Value::String("T_Element".into())
        ]))
    );
    assert_eq!(
        v("__PATH"),
        Some(Value::String(r"\\TESTHOST\root\test:T_Employee".into()))
    );
    assert_eq!(v("__NAMESPACE"), Some(Value::String(r"root\test".into())));
}

#[test]
fn query_errors_have_the_wmi_codes() {
    let om = manager();
    let e = query(&om, "SELECT * FROM T_Nope").unwrap_err();
    assert_eq!(e.status.to_wbem().code(), 0x8004_1010);
    let e = query(&om, "SELECT * FORM T_Person").unwrap_err();
    assert_eq!(e.status.to_wbem().code(), 0x8004_1017);
    let e = query(&om, "SELECT Nope FROM T_Person").unwrap_err();
    assert_eq!(e.status.to_wbem().code(), 0x8004_1017);
    let e = om
        .exec_query(&ctx(), "root/test", "CQL", "SELECT * FROM T_Person")
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.status.to_wbem().code(), 0x8004_1018);
    let e = om
        .exec_query(&ctx(), "root/nope", "WQL", "SELECT * FROM T_Person")
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.status.to_wbem().code(), 0x8004_100E);
}

#[test]
fn classes_and_qualifiers() {
    let om = manager();
    let c = OperationContext::local();
    let emp = om
        .get_class(&c, "root/test", "t_employee", &ClassOptions::default())
        .unwrap();
    assert!(emp.property("Name").unwrap().propagated);
    let local = om
        .get_class(
            &c,
            "root/test",
            "T_Employee",
            &ClassOptions {
                local_only: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(local.properties.len(), 1);
    let roots = om
        .enumerate_class_names(&c, "root/test", None, false)
        .unwrap();
    assert!(roots.contains(&Name::new("T_Element")));
    assert!(!roots.contains(&Name::new("T_Person")));
    let deep = om
        .enumerate_class_names(&c, "root/test", Some("T_Element"), true)
        .unwrap();
    assert_eq!(deep.len(), 3);
    assert_eq!(
        om.get_class(&c, "root/test", "T_Nope", &ClassOptions::default())
            .unwrap_err()
            .status,
        CimStatus::NotFound
    );
    assert!(om.get_qualifier(&c, "root/test", "key").is_ok());
    assert_eq!(
        om.get_qualifier(&c, "root/test", "Nope")
            .unwrap_err()
            .status,
        CimStatus::NotFound
    );
    assert_eq!(om.enumerate_qualifiers(&c, "root/test").unwrap().len(), 5);
}

/// A provider that says nothing about blocking, as a live-data provider would.
struct LiveProvider;

impl openwmi_cimom::InstanceProvider for LiveProvider {
    fn name(&self) -> &str {
        "live"
    }
    fn enumerate(
        &self,
        _req: &openwmi_cimom::EnumerateRequest<'_>,
    ) -> Result<openwmi_cimom::InstanceStream, openwmi_cim::CimError> {
        Ok(Box::new(std::iter::empty()))
    }
}

#[test]
fn only_namespaces_with_a_provider_that_may_block_are_said_to_block() {
    // Static instances only: answered where the request arrives.
    let om = manager();
    assert!(!om.may_block("root/test"));
    assert!(!om.may_block("ROOT\\Test"));
    assert!(!om.may_block("root/nowhere"));

    let mut builder = builder();
    builder.register("root/test", "T_Company", Arc::new(LiveProvider));
    let om = builder.build();
    assert!(om.may_block("root/test"));
    assert!(om.may_block("root\\TEST"));
    assert!(om.may_block("/root/test/"));
    assert!(!om.may_block("root//test"));
    assert!(!om.may_block("root/tes"));

    // Registered under another spelling: the same namespace.
    let mut other = self::builder();
    other.register("ROOT\\Test", "T_Company", Arc::new(LiveProvider));
    let om = other.build();
    assert!(om.may_block("root/test"));
}

/// Hands out the given instances whatever the request's WHERE clause, and
/// says whether it filtered as `claims_filtered` says.
struct Unfiltered {
    instances: Vec<Arc<openwmi_cim::Instance>>,
    claims_filtered: bool,
}

impl openwmi_cimom::InstanceProvider for Unfiltered {
    fn name(&self) -> &str {
        "unfiltered"
    }
    fn capabilities(&self) -> openwmi_cimom::ProviderCapabilities {
        openwmi_cimom::ProviderCapabilities {
            applies_filter: self.claims_filtered,
            ..Default::default()
        }
    }
    fn enumerate(
        &self,
        _req: &openwmi_cimom::EnumerateRequest<'_>,
    ) -> Result<openwmi_cimom::InstanceStream, openwmi_cim::CimError> {
        Ok(Box::new(self.instances.clone().into_iter().map(Ok)))
    }
}

#[test]
fn a_where_clause_is_tested_once_by_whoever_says_they_test_it() {
    const Q: &str = "SELECT * FROM T_Company WHERE Public = TRUE";
    // The repository provider filters at the source (and says so).
    let om = manager();
    assert_eq!(names(&query(&om, Q).unwrap(), "Id"), ["acme"]);

    let companies: Vec<_> = om
        .enumerate_instances(&ctx(), "root/test", "T_Company", &EnumOptions::default())
        .unwrap()
        .map(|r| r.unwrap().instance)
        .collect();
    assert_eq!(companies.len(), 2);
    let with = |claims_filtered| {
        let mut builder = builder();
        builder.register(
            "root/test",
            "T_Company",
            Arc::new(Unfiltered {
                instances: companies.clone(),
                claims_filtered,
            }),
        );
        builder.build()
    };
    // A provider that ignores the clause: the object manager tests it.
    assert_eq!(names(&query(&with(false), Q).unwrap(), "Id"), ["acme"]);
    // One that says it tested it is believed: the clause is not tested twice.
    assert_eq!(
        names(&query(&with(true), Q).unwrap(), "Id"),
        ["acme", "initech"]
    );
}

#[test]
fn stored_instances_keep_one_path_and_copies_get_their_own() {
    let om = manager();
    let enumerate = |opts: &EnumOptions| -> Vec<_> {
        om.enumerate_instances(&ctx(), "root/test", "T_Company", opts)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let (first, second) = (
        enumerate(&EnumOptions::default()),
        enumerate(&EnumOptions::default()),
    );
    assert_eq!(first.len(), 2);
    for (a, b) in first.iter().zip(&second) {
        assert!(Arc::ptr_eq(&a.path, &b.path), "{}", a.path);
        assert_eq!(a.path.host.as_deref(), Some("TESTHOST"));
        assert_eq!(a.path.namespace.as_deref(), Some("root/test"));
    }
    let got = om
        .get_instance(&ctx(), "root/test", &path(r#"T_Company.Id="acme""#), None)
        .unwrap();
    let same = first
        .iter()
        .find(|i| i.path.to_string().contains("acme"))
        .unwrap();
    assert!(Arc::ptr_eq(&got.path, &same.path));
    // Trimmed to a property list: a copy of the instance, the same path.
    let trimmed = enumerate(&EnumOptions {
        property_list: Some(vec![Name::new("Public")]),
        ..EnumOptions::default()
    });
    for (a, b) in first.iter().zip(&trimmed) {
        assert_eq!(a.path, b.path);
        assert!(!Arc::ptr_eq(&a.instance, &b.instance));
    }
}

/// A stored instance's path is made once and handed out again, whatever
/// spelling of the namespace or operation reaches it, with the namespace's
/// own name and the instance's own class.
#[test]
fn stored_instance_paths_are_shared_between_operations() {
    let om = manager();
    let alice = |spelling: &str, class: &str| {
        om.enumerate_instances(&ctx(), spelling, class, &EnumOptions::default())
            .unwrap()
            .map(Result::unwrap)
            .find(|i| i.instance.value("Name") == Some(&Value::String("alice".into())))
            .unwrap()
            .path
    };
    let first = alice("root/test", "T_Person");
    assert_eq!(first.namespace.as_deref(), Some("root/test"));
    assert_eq!(first.class.as_str(), "T_Person");
    for (spelling, class) in [("ROOT\\Test", "T_Person"), ("root/test", "T_Element")] {
        let again = alice(spelling, class);
        assert!(Arc::ptr_eq(&first, &again), "{spelling} {class}: {again}");
    }
    let got = om
        .get_instance(&ctx(), "Root/Test", &path(r#"T_Person.Name="alice""#), None)
        .unwrap();
    assert!(Arc::ptr_eq(&first, &got.path));
}

#[test]
fn get_class_of_a_missing_class_is_not_found() {
    let om = manager();
    let c = OperationContext::local();
    let e = om
        .get_class(&c, "root/test", "T_Nope", &ClassOptions::default())
        .unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);
    assert_eq!(e.status.to_wbem().code(), 0x8004_1002);
    // Enumerations and queries of a missing class stay INVALID_CLASS.
    let e = om
        .enumerate_classes(
            &c,
            "root/test",
            Some("T_Nope"),
            false,
            &ClassOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
    let e = om
        .enumerate_class_names(&c, "root/test", Some("T_Nope"), true)
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
    let e = om
        .enumerate_instances(&ctx(), "root/test", "T_Nope", &EnumOptions::default())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
    let e = query(&om, "SELECT * FROM T_Nope").unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidClass);
    // A missing namespace is still that.
    let e = om
        .get_class(&c, "root/nope", "T_Person", &ClassOptions::default())
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidNamespace);
}
