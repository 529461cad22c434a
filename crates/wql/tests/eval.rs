//! Evaluation: every operator and type, NULL, LIKE, ISA, __CLASS, constants on
//! the left, and the compiled Filter agreeing with `evaluate`.

use openwmi_cim::{
    CimType, Class, Instance, InstanceProperty, Name, Namespace, ObjectPath, PropertyDecl,
    Qualifier, TypeDecl, Value,
};
use openwmi_wql::{
    evaluate, key_equalities, parse, referenced_properties, ClassHierarchy, Expr, Filter,
    NoHierarchy, Query,
};

fn namespace() -> Namespace {
    let mut ns = Namespace::new("root/test");
    ns.add_class(Class::new("Base_Share", None)).unwrap();
    let mut c = Class::new("Test_Share", Some(Name::new("Base_Share")));
    let mut name = PropertyDecl::new("Name", TypeDecl::scalar(CimType::String));
    name.qualifiers
        .push(Qualifier::new("Key", Some(Value::Boolean(true))));
    c.properties.push(name);
    for (n, t) in [
        ("Path", TypeDecl::scalar(CimType::String)),
        ("MaximumAllowed", TypeDecl::scalar(CimType::UInt32)),
        ("Type", TypeDecl::scalar(CimType::UInt32)),
        ("Caption", TypeDecl::scalar(CimType::String)),
        ("Size", TypeDecl::scalar(CimType::UInt64)),
        ("Delta", TypeDecl::scalar(CimType::SInt32)),
        ("Ratio", TypeDecl::scalar(CimType::Real64)),
        ("Enabled", TypeDecl::scalar(CimType::Boolean)),
        ("Created", TypeDecl::scalar(CimType::DateTime)),
        ("Letter", TypeDecl::scalar(CimType::Char16)),
        ("Tags", TypeDecl::array(CimType::String)),
        ("Owner", TypeDecl::reference("Test_Owner")),
    ] {
        c.properties.push(PropertyDecl::new(n, t));
    }
    ns.add_class(c).unwrap();
    ns.add_class(Class::new("Special_Share", Some(Name::new("Test_Share"))))
        .unwrap();
    ns.add_class(Class::new("Test_Owner", None)).unwrap();
    ns.add_class(Class::new("Admin_Owner", Some(Name::new("Test_Owner"))))
        .unwrap();
    ns
}

fn share(ns: &Namespace) -> Instance {
    let class = ns.class("Test_Share").unwrap();
    Instance::of_class(&class)
        .with("Name", Value::from("ShareOne"))
        .with("Path", Value::from("C:\\Shares\\one"))
        .with("MaximumAllowed", Value::UInt32(2))
        .with("Type", Value::UInt32(0))
        .with("Size", Value::UInt64(u64::MAX))
        .with("Delta", Value::SInt32(-5))
        .with("Ratio", Value::Real64(0.5))
        .with("Enabled", Value::Boolean(true))
        .with(
            "Created",
            Value::DateTime("20240102030405.000000+060".parse().unwrap()),
        )
        .with("Letter", Value::Char16('q'))
        .with(
            "Tags",
            Value::Array(vec![Value::from("a"), Value::from("b")]),
        )
        .with(
            "Owner",
            Value::from(ObjectPath::parse("Admin_Owner.Id=\"root\"").unwrap()),
        )
}

fn condition(text: &str) -> Expr {
    match parse(&format!("SELECT * FROM Test_Share WHERE {text}")) {
        Ok(Query::Select(s)) => s.condition.unwrap(),
        other => panic!("{text:?}: {other:?}"),
    }
}

/// Evaluates `text` on `inst` four ways that must agree: interpreted, compiled
/// for the class, compiled for the class against an instance whose properties
/// are in another order (lookup by name), and after a print/parse round trip.
fn eval_on(inst: &Instance, text: &str, h: &dyn ClassHierarchy, ns: &Namespace) -> bool {
    let expr = condition(text);
    let class = ns.class("Test_Share").unwrap();
    let interpreted = evaluate(&expr, inst, h);
    let filter = Filter::compile(&expr, &class);
    assert_eq!(filter.matches(inst, h), interpreted, "compiled {text:?}");
    let mut shuffled = inst.clone();
    shuffled.properties.reverse();
    shuffled.properties = shuffled
        .properties
        .into_iter()
        .map(|p| InstanceProperty {
            name: Name::new(&p.name.as_str().to_ascii_uppercase()),
            ..p
        })
        .collect();
    assert_eq!(
        filter.matches(&shuffled, h),
        interpreted,
        "shuffled {text:?}"
    );
    let reparsed = condition(&expr.to_string());
    assert_eq!(
        evaluate(&reparsed, inst, h),
        interpreted,
        "reparsed {text:?}"
    );
    interpreted
}

#[test]
fn operators_by_type() {
    let ns = namespace();
    let inst = share(&ns);
    let cases: &[(&str, bool)] = &[
        // Strings: case-insensitive, ordered.
        ("Name = 'shareone'", true),
        ("Name = 'SHAREONE'", true),
        ("Name = 'ShareOn'", false),
        ("Name <> 'shareone'", false),
        ("Name != 'other'", true),
        ("Name < 'sharetwo'", true),
        ("Name <= 'SHAREONE'", true),
        ("Name > 'SHAREONE'", false),
        ("Name >= 'a'", true),
        ("Path = \"c:\\\\shares\\\\ONE\"", true),
        // Integers, incl. uint64 max and negative constants.
        ("MaximumAllowed = 2", true),
        ("MaximumAllowed <> 2", false),
        ("MaximumAllowed < 3", true),
        ("MaximumAllowed <= 2", true),
        ("MaximumAllowed > 2", false),
        ("MaximumAllowed >= 3", false),
        ("MaximumAllowed > -1", true),
        ("MaximumAllowed = 0x2", true),
        ("MaximumAllowed = 2.0", true),
        ("MaximumAllowed < 2.5", true),
        ("MaximumAllowed = '2'", true),
        ("MaximumAllowed = 'two'", false),
        ("MaximumAllowed <> 'two'", false),
        ("Size = 18446744073709551615", true),
        ("Size > -1", true),
        ("Size > -9223372036854775808", true),
        ("Size < 0", false),
        ("Size = 0xFFFFFFFFFFFFFFFF", true),
        ("Delta = -5", true),
        ("Delta < 0", true),
        ("Delta > -6", true),
        ("Delta < 18446744073709551615", true),
        // Reals.
        ("Ratio = 0.5", true),
        ("Ratio < 1", true),
        ("Ratio > 0", true),
        ("Ratio = 5e-1", true),
        ("Ratio >= '0.5'", true),
        // Booleans.
        ("Enabled = TRUE", true),
        ("Enabled = false", false),
        ("Enabled <> FALSE", true),
        ("Enabled > FALSE", true),
        ("Enabled = 1", true),
        ("Enabled = 'true'", true),
        // Datetimes: by instant, whatever the offset.
        ("Created = '20240102020405.000000+000'", true),
        ("Created = '20240102030405.000000+060'", true),
        ("Created < '20240102030405.000000+000'", true),
        ("Created > '20230101000000.000000+000'", true),
        ("Created > 'yesterday'", false),
        ("Created <> 'yesterday'", false),
        ("Created = 20240102020405", false),
        // Char16.
        ("Letter = 'Q'", true),
        ("Letter = 'qq'", false),
        ("Letter = 113", true),
        ("Letter < 'r'", true),
        // References: compared as paths.
        ("Owner = 'admin_owner.id=\"root\"'", true),
        ("Owner = 'Admin_Owner.Id=\"ROOT\"'", true),
        ("Owner <> 'Admin_Owner.Id=\"other\"'", true),
        ("Owner = 'Admin_Owner.Id=\"other\"'", false),
        ("Owner < 'Admin_Owner.Id=\"zzz\"'", false),
        ("Owner = 'not a path'", false),
        // Arrays are never comparable.
        ("Tags = 'a'", false),
        ("Tags <> 'a'", false),
        ("Tags LIKE '%'", false),
        ("Tags IS NULL", false),
        // Constants on the left.
        ("3 > MaximumAllowed", true),
        ("2 >= MaximumAllowed", true),
        ("2 < MaximumAllowed", false),
        ("'shareone' = Name", true),
        ("-6 < Delta", true),
        ("TRUE = Enabled", true),
        // NULL.
        ("Caption IS NULL", true),
        ("Caption IS NOT NULL", false),
        ("Name IS NULL", false),
        ("Name IS NOT NULL", true),
        ("Caption = NULL", false),
        ("Caption <> NULL", false),
        ("Caption <> 'x'", false),
        ("Caption = 'x'", false),
        ("Name = NULL", false),
        ("Name <> NULL", false),
        ("NULL = Name", false),
        ("NOT Caption = 'x'", true),
        ("Caption LIKE '%'", false),
        ("NoSuchProperty IS NULL", true),
        ("NoSuchProperty = 1", false),
        // Cross-type conversions.
        ("Name = 3", false),
        ("Name = TRUE", false),
        ("Enabled = 'maybe'", false),
        // __CLASS.
        ("__CLASS = 'test_share'", true),
        ("__class = 'Base_Share'", false),
        ("__CLASS <> 'Other'", true),
        ("__CLASS LIKE 'test%'", true),
        ("__CLASS IS NULL", false),
        ("'TEST_SHARE' = __CLASS", true),
        // Logic.
        ("MaximumAllowed < 3 AND Name LIKE 'share%'", true),
        ("MaximumAllowed < 2 AND Name LIKE 'share%'", false),
        ("MaximumAllowed < 2 OR Name LIKE 'share%'", true),
        ("MaximumAllowed < 2 OR Name LIKE 'x%'", false),
        ("NOT MaximumAllowed < 2", true),
        ("NOT NOT MaximumAllowed < 2", false),
        ("NOT (MaximumAllowed < 2 OR Type = 0)", false),
        (
            "(Type = 1 OR Type = 0) AND (Name = 'x' OR Enabled = TRUE)",
            true,
        ),
        ("Type = 1 OR Type = 0 AND Name = 'x'", false),
        ("(Type = 1 OR Type = 0) AND Name = 'x'", false),
        ("Type = 0 OR Type = 1 AND Name = 'x'", true),
    ];
    for &(text, expected) in cases {
        assert_eq!(eval_on(&inst, text, &ns, &ns), expected, "{text:?}");
    }
}

#[test]
fn like_classes() {
    let ns = namespace();
    let inst = share(&ns);
    let cases: &[(&str, bool)] = &[
        ("Name LIKE 'share%'", true),
        ("Name LIKE 'SHARE%'", true),
        ("Name LIKE 'ShareOne'", true),
        ("Name LIKE 'Share'", false),
        ("Name LIKE '%one'", true),
        ("Name LIKE '%are%'", true),
        ("Name LIKE 'Share_ne'", true),
        ("Name LIKE 'Share__ne'", false),
        ("Name LIKE '[r-t]hare%'", true),
        ("Name LIKE '[a-f]hare%'", false),
        ("Name LIKE '[^a-f]hare%'", true),
        ("Name LIKE '[^r-t]hare%'", false),
        ("Name LIKE '[xsy]%'", true),
        ("Name LIKE '[xy]%'", false),
        ("Name LIKE '%'", true),
        ("Name NOT LIKE 'x%'", true),
        ("Path LIKE 'C:\\\\%'", true),
        ("Letter LIKE 'Q'", true),
        ("MaximumAllowed LIKE '2'", false),
    ];
    for &(text, expected) in cases {
        assert_eq!(eval_on(&inst, text, &ns, &ns), expected, "{text:?}");
    }
}

#[test]
fn isa_uses_the_hierarchy() {
    let ns = namespace();
    let inst = share(&ns);
    let cases: &[(&str, bool)] = &[
        ("__this ISA 'Test_Share'", true),
        ("__this ISA 'base_share'", true),
        ("__this ISA 'Special_Share'", false),
        ("__this ISA 'Test_Owner'", false),
        ("__this ISA Base_Share", true),
        ("Owner ISA 'Test_Owner'", true),
        ("Owner ISA 'Admin_Owner'", true),
        ("Owner ISA 'Test_Share'", false),
        ("Name ISA 'Test_Share'", false),
        ("Caption ISA 'Test_Share'", false),
        ("NOT __this ISA 'Special_Share'", true),
        ("__this IS NULL", false),
        ("__this IS NOT NULL", true),
    ];
    for &(text, expected) in cases {
        assert_eq!(eval_on(&inst, text, &ns, &ns), expected, "{text:?}");
    }
    // Without a hierarchy only the class itself matches.
    assert!(evaluate(
        &condition("__this ISA 'TEST_SHARE'"),
        &inst,
        &NoHierarchy
    ));
    assert!(!evaluate(
        &condition("__this ISA 'Base_Share'"),
        &inst,
        &NoHierarchy
    ));
    // A subclass instance is a Base_Share and a Test_Share.
    let mut special = inst.clone();
    special.class_name = Name::new("Special_Share");
    assert!(evaluate(
        &condition("__this ISA 'Base_Share'"),
        &special,
        &ns
    ));
    assert!(evaluate(
        &condition("__CLASS = 'special_share'"),
        &special,
        &ns
    ));
}

#[test]
fn referenced_properties_and_key_equalities() {
    let e = condition(
        "Name = 'a' AND (Type = 1 OR name LIKE 'x%') AND __CLASS = 'C' AND NOT Size IS NULL AND __this ISA 'C' AND Owner ISA 'O'",
    );
    let names: Vec<String> = referenced_properties(&e)
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, ["Name", "Type", "Size", "Owner"]);

    let e = condition("Name = 'a' AND Type = 3 AND Delta = -2 AND Size = 18446744073709551615 AND Ratio = 0.5 AND Enabled = TRUE AND Caption = NULL AND __CLASS = 'C' AND Path <> 'x' AND (Type = 4 OR Type = 5) AND 'b' = Path");
    let eqs = key_equalities(&e);
    let expected: Vec<(Name, Value)> = vec![
        (Name::new("Name"), Value::from("a")),
        (Name::new("Type"), Value::SInt64(3)),
        (Name::new("Delta"), Value::SInt64(-2)),
        (Name::new("Size"), Value::UInt64(u64::MAX)),
        (Name::new("Ratio"), Value::Real64(0.5)),
        (Name::new("Enabled"), Value::Boolean(true)),
        (Name::new("Path"), Value::from("b")),
    ];
    assert_eq!(eqs, expected);
    assert_eq!(
        key_equalities(&condition("Name = 'x'")),
        vec![(Name::new("Name"), Value::from("x"))]
    );
    assert!(key_equalities(&condition("Name = 'x' OR Name = 'y'")).is_empty());
    assert!(key_equalities(&condition("NOT Name = 'x'")).is_empty());
}

#[test]
fn filter_falls_back_for_other_layouts_and_types() {
    let ns = namespace();
    let class = ns.class("Test_Share").unwrap();
    // An instance from elsewhere whose MaximumAllowed is a string and which
    // lacks most properties: the filter must not rely on the class layout.
    let odd = Instance {
        class_name: Name::new("Test_Share"),
        properties: vec![InstanceProperty {
            name: Name::new("MaximumAllowed"),
            ty: TypeDecl::scalar(CimType::String),
            value: Some(Value::from("2")),
        }],
    };
    for (text, expected) in [
        ("MaximumAllowed = '2'", true),
        ("MaximumAllowed = 2", true),
        // Compared as the string it is: the constant becomes "3", and "2" < "3".
        ("MaximumAllowed < 3", true),
        ("MaximumAllowed < 10", false),
        ("Name IS NULL", true),
        ("Name = 'x'", false),
    ] {
        let e = condition(text);
        let f = Filter::compile(&e, &class);
        assert_eq!(evaluate(&e, &odd, &ns), expected, "{text:?}");
        assert_eq!(f.matches(&odd, &ns), expected, "compiled {text:?}");
    }
}

#[test]
fn unknown_properties_are_invalid_queries() {
    use openwmi_wql::ErrorKind;
    let ns = namespace();
    let class = ns.class("Test_Share").unwrap();
    let select = |t: &str| match parse(t).unwrap() {
        Query::Select(s) => s,
        _ => panic!(),
    };
    select("SELECT name, __PATH FROM Test_Share WHERE maximumallowed < 3 AND __this ISA 'X' OR __CLASS = 'Y'")
        .check_properties(&class)
        .unwrap();
    for (text, bad) in [
        ("SELECT Name, Bogus FROM Test_Share", "Bogus"),
        (
            "SELECT * FROM Test_Share WHERE Name = 'x' AND (Type = 1 OR Nope IS NULL)",
            "Nope",
        ),
        ("SELECT * FROM Test_Share WHERE NOT Foo LIKE 'x'", "Foo"),
    ] {
        let err = select(text).check_properties(&class).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownProperty);
        assert_eq!(err.offset(), text.find(bad).unwrap(), "{text}");
        assert_eq!(err.status(), openwmi_cim::CimStatus::InvalidQuery);
    }
}

#[test]
fn wql_date_literals() {
    use openwmi_wql::{check_constants, ErrorKind};
    let ns = namespace();
    let class = ns.class("Test_Share").unwrap();
    // Created is 2024-01-02 03:04:05 at UTC+01:00, that is 02:04:05 UTC.
    let mut inst = share(&ns);
    let h = NoHierarchy;
    for (text, want) in [
        ("Created > 'January 1, 2024'", true),
        ("Created > \"January 2, 2024\"", true),
        ("Created < 'January 3, 2024'", true),
        ("Created < 'Jan 2 2024'", false),
        ("Created >= '1/2/2024'", true),
        ("Created > '1/3/2024'", false),
        ("Created < '2024-01-03'", true),
        ("Created > '2024-01-02'", true),
        ("Created = '2024-01-02 2:04:05'", true),
        ("Created = '2024-01-02 2:04:05 AM'", true),
        ("Created <> '2024-01-02 2:04:06'", true),
        ("Created > '02.01.2024'", false),
        ("Created < '2 January, 2024 3 AM'", true),
        ("Created > '20240101'", true),
        ("Created = '20240102030405.000000+060'", true),
        ("'December 31, 2023' < Created", true),
        ("Created IS NOT NULL AND Created < 'Feb 2024'", true),
    ] {
        check_constants(&condition(text), &class).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(eval_on(&inst, text, &h, &ns), want, "{text}");
    }

    // Something that is no date is an error, not a silent false.
    for text in [
        "Created > 'yesterday'",
        "Created = 'not a date'",
        "Created <> ''",
        "Name = 'x' AND NOT (Created < '2/30/2024')",
        "Created > 3",
        "Created = TRUE",
        "Type = 0 OR 'soon' < Created",
    ] {
        let err = check_constants(&condition(text), &class).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDate, "{text}");
        assert_eq!(err.status(), openwmi_cim::CimStatus::InvalidQuery);
        assert_eq!(
            err.status().to_wbem(),
            openwmi_cim::WbemStatus::InvalidQuery
        );
        let select = match parse(&format!("SELECT * FROM Test_Share WHERE {text}")).unwrap() {
            Query::Select(s) => s,
            _ => unreachable!(),
        };
        assert_eq!(select.check_properties(&class).unwrap_err(), err, "{text}");
    }
    let text = "Created > 'yesterday'";
    let err = check_constants(&condition(text), &class).unwrap_err();
    let full = format!("SELECT * FROM Test_Share WHERE {text}");
    assert_eq!(
        err.offset(),
        "Created > ".len() + "SELECT * FROM Test_Share WHERE ".len()
    );
    assert!(err.to_string().contains("no date"), "{full}: {err}");

    // NULL, strings compared with string properties, and a NULL datetime stay fine.
    for text in ["Created = NULL", "Name = 'yesterday'", "Created IS NULL"] {
        check_constants(&condition(text), &class).unwrap();
    }
    inst.properties.retain(|p| !p.name.is("Created"));
    assert!(!eval_on(&inst, "Created < 'Jan 1 2100'", &h, &ns));
}
