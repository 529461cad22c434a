//! Object paths: every accepted form, malformed input, printing, equality.

use openwmi_cim::path::{MAX_PATH_LEN, MAX_REFERENCE_DEPTH};
use openwmi_cim::{CimDateTime, Error, KeyBinding, Keys, Name, ObjectPath, Value};
use proptest::prelude::*;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

fn p(s: &str) -> ObjectPath {
    ObjectPath::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn hash_of<T: Hash>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Parse -> print -> parse gives the same value, and printing again the same text.
fn assert_round_trip(path: &ObjectPath) {
    let text = path.to_string();
    let again = ObjectPath::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(&again, path, "{text}");
    assert_eq!(hash_of(&again), hash_of(path), "{text}");
    assert_eq!(again.to_string(), text);
    let uri = path.to_uri_string();
    let from_uri = ObjectPath::parse(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(&from_uri, path, "{uri}");
    assert_eq!(from_uri.to_uri_string(), uri);
}

#[test]
fn every_form_parses_to_its_parts() {
    type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a str, &'a str);
    // input, host, namespace, class, canonical WMI text
    let table: &[Row] = &[
        (
            r#"\\HOST\root\cimv2:Win32_Share.Name="public""#,
            Some("HOST"),
            Some("root/cimv2"),
            "Win32_Share",
            r#"\\HOST\root\cimv2:Win32_Share.Name="public""#,
        ),
        (
            r#"\\.\root\cimv2:Win32_Share.Name="public""#,
            Some("."),
            Some("root/cimv2"),
            "Win32_Share",
            r#"\\.\root\cimv2:Win32_Share.Name="public""#,
        ),
        (
            r#"Win32_Share.Name="public""#,
            None,
            None,
            "Win32_Share",
            r#"Win32_Share.Name="public""#,
        ),
        (
            r#"root\cimv2:Win32_Share.Name="public""#,
            None,
            Some("root/cimv2"),
            "Win32_Share",
            r#"root\cimv2:Win32_Share.Name="public""#,
        ),
        (
            r#"Win32_Share="public""#,
            None,
            None,
            "Win32_Share",
            r#"Win32_Share="public""#,
        ),
        (
            "Win32_WMISetting=@",
            None,
            None,
            "Win32_WMISetting",
            "Win32_WMISetting=@",
        ),
        ("Win32_Share", None, None, "Win32_Share", "Win32_Share"),
        (
            "root:__NAMESPACE",
            None,
            Some("root"),
            "__NAMESPACE",
            r"root:__NAMESPACE",
        ),
        (
            r#"//HOST/root/cimv2:Win32_Share.Name="v""#,
            Some("HOST"),
            Some("root/cimv2"),
            "Win32_Share",
            r#"\\HOST\root\cimv2:Win32_Share.Name="v""#,
        ),
        (
            r#"/root/cimv2:Win32_Share.Name="v""#,
            None,
            Some("root/cimv2"),
            "Win32_Share",
            r#"root\cimv2:Win32_Share.Name="v""#,
        ),
        (
            r#"https://host.example.com:5989/root/cimv2:Win32_Share.Name="v""#,
            Some("host.example.com:5989"),
            Some("root/cimv2"),
            "Win32_Share",
            r#"\\host.example.com:5989\root\cimv2:Win32_Share.Name="v""#,
        ),
        (
            "http://10.0.0.5/root/cimv2:CIM_Foo.K=1",
            Some("10.0.0.5"),
            Some("root/cimv2"),
            "CIM_Foo",
            r"\\10.0.0.5\root\cimv2:CIM_Foo.K=1",
        ),
        (
            "https://[::1]:5989/root/interop:CIM_Namespace",
            Some("[::1]:5989"),
            Some("root/interop"),
            "CIM_Namespace",
            r"\\[::1]:5989\root\interop:CIM_Namespace",
        ),
        (
            "//[fe80::1%25eth0]/root:C",
            Some("[fe80::1%25eth0]"),
            Some("root"),
            "C",
            r"\\[fe80::1%25eth0]\root:C",
        ),
        // pywbem writes a path without namespace as `/:Class`.
        ("/:CIM_Foo.K=TRUE", None, None, "CIM_Foo", "CIM_Foo.K=TRUE"),
        ("//h/:CIM_Foo", Some("h"), None, "CIM_Foo", r"\\h\:CIM_Foo"),
        ("ÄClass.Ö=1", None, None, "ÄClass", "ÄClass.Ö=1"),
    ];
    for (input, host, ns, class, canonical) in table {
        let path = p(input);
        assert_eq!(path.host.as_deref(), *host, "{input}");
        assert_eq!(path.namespace.as_deref(), *ns, "{input}");
        assert_eq!(path.class.as_str(), *class, "{input}");
        assert_eq!(path.to_string(), *canonical, "{input}");
        assert_round_trip(&path);
    }
}

#[test]
fn key_values_of_every_kind() {
    let path = p(concat!(
        r#"C.S="a \"b\" \\c \'d",U=42,N=-7,R=1.5,E=-2.5e-3,Z=0,T=true,F=FALSE,"#,
        r#"Big=18446744073709551615,Small=-9223372036854775808,X=1e300"#
    ));
    assert_eq!(path.key("s"), Some(&Value::String(r#"a "b" \c 'd"#.into())));
    assert_eq!(path.key("U"), Some(&Value::UInt64(42)));
    assert_eq!(path.key("N"), Some(&Value::SInt64(-7)));
    assert_eq!(path.key("R"), Some(&Value::Real64(1.5)));
    assert_eq!(path.key("E"), Some(&Value::Real64(-2.5e-3)));
    assert_eq!(path.key("T"), Some(&Value::Boolean(true)));
    assert_eq!(path.key("F"), Some(&Value::Boolean(false)));
    assert_eq!(path.key("Big"), Some(&Value::UInt64(u64::MAX)));
    assert_eq!(path.key("Small"), Some(&Value::SInt64(i64::MIN)));
    assert_eq!(path.key("missing"), None);
    assert_eq!(
        path.to_string(),
        concat!(
            r#"C.S="a \"b\" \\c 'd",U=42,N=-7,R=1.5,E=-0.0025,Z=0,T=TRUE,F=FALSE,"#,
            r#"Big=18446744073709551615,Small=-9223372036854775808,X=1e300"#
        )
    );
    assert_round_trip(&path);
}

#[test]
fn reference_keys_stay_strings_and_compare_as_paths() {
    let text = concat!(
        r#"\\H\root\cimv2:Win32_ConnectionShare."#,
        r#"Antecedent="\\\\H\\root\\cimv2:Win32_Share.Name=\"pub\"","#,
        r#"Dependent="\\\\H\\root\\cimv2:Win32_ServerConnection.ComputerName=\"10.0.0.5\",ShareName=\"pub\",UserName=\"alice\"""#
    );
    let path = p(text);
    assert_eq!(path.to_string(), text);
    assert_round_trip(&path);
    let share = p(r#"\\H\root\cimv2:Win32_Share.Name="pub""#);
    let ante = &path.bindings()[0];
    assert_eq!(
        ante.value,
        Value::String(r#"\\H\root\cimv2:Win32_Share.Name="pub""#.into())
    );
    assert_eq!(ante.as_path(), Some(share.clone()));
    // Built from references, printed the same, equal to the parsed one.
    let conn = p(
        r#"\\H\root\cimv2:Win32_ServerConnection.ComputerName="10.0.0.5",ShareName="pub",UserName="alice""#,
    );
    let built = ObjectPath::instance(
        "Win32_ConnectionShare",
        vec![
            KeyBinding::new("Antecedent", share.clone()),
            KeyBinding::new("Dependent", conn),
        ],
    )
    .with_host("H")
    .with_namespace(r"root\cimv2");
    assert_eq!(built.to_string(), text);
    assert_eq!(built, path);
    assert_eq!(hash_of(&built), hash_of(&path));
    // A reference equals a string spelling the same path differently.
    let respelled = p(concat!(
        r#"//h/ROOT/CIMV2:win32_connectionshare."#,
        r#"Dependent="//h/root/cimv2:Win32_ServerConnection.UserName=\"ALICE\",ShareName=\"pub\",ComputerName=\"10.0.0.5\"","#,
        r#"Antecedent="\\\\h\\root\\cimv2:Win32_Share.Name=\"PUB\"""#
    ));
    assert_eq!(respelled, built);
    assert_eq!(hash_of(&respelled), hash_of(&built));
    // The URI form nests URIs.
    assert_eq!(
        ObjectPath::instance("A", vec![KeyBinding::new("R", share.relative())]).to_uri_string(),
        r#"A.R="Win32_Share.Name=\"pub\"""#
    );
    assert_eq!(
        ObjectPath::instance("A", vec![KeyBinding::new("R", share)]).to_uri_string(),
        r#"A.R="//H/root/cimv2:Win32_Share.Name=\"pub\"""#
    );
}

#[test]
fn malformed_paths_report_the_byte_offset() {
    let table: &[(&str, usize)] = &[
        ("", 0),
        ("9Class", 0),
        (".K=1", 0),
        (r"\\", 2),
        (r"\\HOST", 6),
        (r"\\HOST:root", 6),
        (r"\\HOST\root\cimv2", 17),
        (r"\\HOST\root\\cimv2:C", 12),
        (r"\\HOST\root\cimv2:", 18),
        ("https://h:99999/root:C", 10),
        ("https://[/root:C", 9),
        ("https://[::1/root:C", 12),
        ("root/:C", 5),
        ("C.", 2),
        ("C.K", 3),
        ("C.K=", 4),
        ("C.K=1,", 6),
        ("C.K=1 ", 5),
        ("C.K=1,K=2", 6),
        ("C.K=1,k=2", 6),
        ("C.K=abc", 4),
        ("C.K=@", 4),
        ("C=@x", 3),
        ("C=1,K=2", 3),
        (r#"C.K="abc"#, 8),
        (r#"C.K="a\nb""#, 6),
        (r#"C.K="a\"#, 6),
        ("C.K=1.", 6),
        ("C.K=1e", 6),
        ("C.K=-", 5),
        ("C.K=18446744073709551616", 4),
        ("C.K=-9223372036854775809", 4),
        ("C.K=1e999", 4),
        ("C K=1", 1),
        ("C.K=1x", 5),
        ("C.K=\"é\"x", 8),
        ("C:1x", 2),
    ];
    for (s, pos) in table {
        match ObjectPath::parse(s) {
            Err(Error::Path { pos: got, message }) => {
                assert_eq!(got, *pos, "{s:?}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{s:?}: expected a path error, got {other:?}"),
        }
    }
    let e = ObjectPath::parse("C.K=").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid object path at offset 4: expected a key value (a quoted string, a number, TRUE or FALSE), found the end"
    );
}

#[test]
fn length_and_nesting_limits() {
    let long = format!("C.K=\"{}\"", "x".repeat(MAX_PATH_LEN));
    assert!(matches!(
        ObjectPath::parse(&long),
        Err(Error::Path { pos, .. }) if pos == MAX_PATH_LEN
    ));
    // Nest references: each level is the previous path as a quoted key value.
    let nested_with = |depth: usize, leaf: Value| {
        let mut path = ObjectPath::instance("Leaf", vec![KeyBinding::new("K", leaf)]);
        for _ in 0..depth {
            path = ObjectPath::instance("Assoc", vec![KeyBinding::new("R", path)]);
        }
        path
    };
    let nested = |depth: usize| nested_with(depth, Value::UInt64(1));
    let ok = nested(MAX_REFERENCE_DEPTH);
    let text = ok.to_string();
    assert!(text.len() < MAX_PATH_LEN, "{}", text.len());
    let parsed = p(&text);
    assert_eq!(parsed, ok);
    let deep = nested(MAX_REFERENCE_DEPTH + 1).to_string();
    match ObjectPath::parse(&deep) {
        Err(Error::Path { pos, message }) => {
            assert_eq!(pos, 8, "{message}");
            assert!(message.contains("nested"), "{message}");
        }
        other => panic!("expected the nesting error, got {other:?}"),
    }
    // At the deepest level, strings that are not paths are fine.
    for leaf in ["10.0.0.5", "a:b c", "x = 1", "Word."] {
        let text = nested_with(MAX_REFERENCE_DEPTH, Value::from(leaf)).to_string();
        let parsed = p(&text);
        assert_eq!(parsed.to_string(), text);
    }
    let text = nested_with(MAX_REFERENCE_DEPTH, Value::from("ns:Deeper.K=1")).to_string();
    assert!(ObjectPath::parse(&text).is_err());
    // Hand-built paths nested past the limit still compare without recursing forever.
    let a = nested(40);
    let b = nested(40);
    assert_eq!(a, b);
    assert_eq!(hash_of(&a), hash_of(&b));
}

#[test]
fn equality_is_case_insensitive_order_free_and_numeric() {
    let equal: &[(&str, &str)] = &[
        (
            r#"\\HOST\ROOT\CIMV2:WIN32_SHARE.NAME="PUBLIC""#,
            r#"\\host\root\cimv2:Win32_Share.Name="public""#,
        ),
        (
            r#"\\h\root\cimv2:C.A=1,B="x""#,
            r#"//H/root/cimv2:c.b="X",a=1"#,
        ),
        ("C.K=5", "C.K=5.0"),
        ("C.K=-0.0", "C.K=0"),
        ("C.K=TRUE", "C.K=true"),
        ("C.K=1.5", "C.K=15e-1"),
        ("root:C", "/root:C"),
        ("C", ":C"),
        (r#"C.K="ÄÖ""#, r#"C.K="äö""#),
        // KELVIN SIGN lowercases to an ASCII k: hashes must not split on ASCII.
        ("C.K=\"\u{212A}elvin\"", r#"C.K="kelvin""#),
        (
            r#"C.K="a long value that is longer than one run of the hasher's buffer, ÄÖ""#,
            r#"C.K="A LONG VALUE THAT IS LONGER THAN ONE RUN OF THE HASHER'S BUFFER, äö""#,
        ),
        // ASCII text is hashed byte by byte, other text by character: the
        // same bytes either way, however the runs are cut.
        (
            "C.K=\"\u{212A}elvin: a long value that is longer than one run of the hasher's buffer\"",
            r#"C.K="KELVIN: A LONG VALUE THAT IS LONGER THAN ONE RUN OF THE HASHER'S BUFFER""#,
        ),
    ];
    for (a, b) in equal {
        let (x, y) = (p(a), p(b));
        assert_eq!(x, y, "{a} == {b}");
        assert_eq!(hash_of(&x), hash_of(&y), "{a} / {b}");
    }
    let unequal: &[(&str, &str)] = &[
        ("C.K=1", "C.K=2"),
        ("C.K=1", r#"C.K="1""#),
        ("C.K=TRUE", "C.K=1"),
        ("C.A=1", "C.B=1"),
        ("C.A=1", "C.A=1,B=2"),
        ("C.K=1", "D.K=1"),
        ("C", "C=@"),
        (r#"C="x""#, r#"C.Name="x""#),
        (r"\\.\root:C", r"\\localhost\root:C"),
        (r"\\h\root:C", "root:C"),
        ("root:C", "root/a:C"),
        ("root:C", "C"),
        ("C.K=1.5", "C.K=1.25"),
    ];
    for (a, b) in unequal {
        assert_ne!(p(a), p(b), "{a} != {b}");
    }
    // Integer widths do not matter; a real with an integral value equals the integer.
    let k = |v: Value| ObjectPath::instance("C", vec![KeyBinding::new("K", v)]);
    assert_eq!(k(Value::UInt8(7)), k(Value::SInt64(7)));
    assert_eq!(hash_of(&k(Value::UInt8(7))), hash_of(&k(Value::SInt64(7))));
    assert_eq!(k(Value::Real32(0.1)), p("C.K=0.1"));
    assert_eq!(hash_of(&k(Value::Real32(0.1))), hash_of(&p("C.K=0.1")));
    // A datetime key and its text.
    let d: CimDateTime = "20261121123456.000000+000".parse().unwrap();
    assert_eq!(
        k(Value::DateTime(d)),
        p(r#"C.K="20261121123456.000000+000""#)
    );
    assert_eq!(
        hash_of(&k(Value::DateTime(d))),
        hash_of(&p(r#"C.K="20261121123456.000000+000""#))
    );
    // A class-path reference and a bare word.
    assert_eq!(
        k(Value::Reference(Box::new(ObjectPath::class_path("Foo")))),
        k(Value::String("foo".into()))
    );
    let mut set = HashSet::new();
    set.insert(p(r#"\\H\root\cimv2:C.A=1,B="x""#));
    assert!(set.contains(&p(r#"//h/ROOT/CIMV2:c.b="X",a=1"#)));
    // Keys and key bindings compare the same way.
    assert_eq!(p(r#"C.A=1,B="x""#).keys, p(r#"C.B="X",A=1"#).keys);
    assert_eq!(KeyBinding::new("a", 1u32), KeyBinding::new("A", 1u64));
    assert_eq!(Keys::Bindings(vec![]), Keys::Class);
}

#[test]
fn helpers() {
    let mut single = p(r#"Win32_Share="public""#);
    assert_eq!(single.key(""), Some(&Value::String("public".into())));
    assert!(single.resolve_single_key(&Name::new("Name")));
    assert!(!single.resolve_single_key(&Name::new("Name")));
    assert_eq!(single, p(r#"Win32_Share.Name="public""#));
    assert_eq!(single.to_string(), r#"Win32_Share.Name="public""#);

    let full = p(r#"\\H\root\cimv2:C.B=2,A=1"#);
    assert_eq!(full.relative().to_string(), "C.B=2,A=1");
    let mut sorted = full.clone();
    sorted.sort_keys();
    assert_eq!(sorted.to_string(), r#"\\H\root\cimv2:C.A=1,B=2"#);
    assert_eq!(sorted, full);
    assert!(full.is_instance() && p("C=@").is_instance());
    assert!(!p("C").is_instance());

    let class = ObjectPath::class_path("Win32_Share").with_namespace("/root/cimv2/");
    assert_eq!(class.namespace.as_deref(), Some("root/cimv2"));
    assert_eq!(class.to_string(), r"root\cimv2:Win32_Share");
    assert_eq!(class.to_uri_string(), "/root/cimv2:Win32_Share");
    assert_eq!(ObjectPath::singleton("S").to_string(), "S=@");

    for (host, local) in [
        (None, true),
        (Some("."), true),
        (Some("LocalHost"), true),
        (Some("localhost:5989"), true),
        (Some("127.0.0.1"), true),
        (Some("[::1]:5989"), true),
        (Some("fileserver"), false),
        (Some("10.0.0.5"), false),
    ] {
        let mut path = ObjectPath::class_path("C");
        path.host = host.map(str::to_owned);
        assert_eq!(path.is_local_host(), local, "{host:?}");
    }
    assert_eq!("C.K=1".parse::<ObjectPath>().unwrap(), p("C.K=1"));
}

// ---------------------------------------------------------------- proptest

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,8}"
}

fn leaf_value() -> BoxedStrategy<Value> {
    prop_oneof![
        "\\PC{0,12}".prop_map(|s| Value::String(s.into())),
        "[\"\\\\'a-z:.=,]{0,8}".prop_map(|s| Value::String(s.into())),
        any::<u64>().prop_map(Value::UInt64),
        any::<i64>().prop_map(Value::SInt64),
        any::<u8>().prop_map(Value::UInt8),
        any::<bool>().prop_map(Value::Boolean),
        (-1e12f64..1e12).prop_map(Value::Real64),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Real64),
    ]
    .boxed()
}

fn path_strategy() -> impl Strategy<Value = ObjectPath> {
    let leaf = path_of(leaf_value());
    leaf.prop_recursive(2, 8, 3, |inner| {
        path_of(
            prop_oneof![
                3 => leaf_value(),
                1 => inner.prop_map(Value::from),
            ]
            .boxed(),
        )
    })
}

fn path_of(value: BoxedStrategy<Value>) -> impl Strategy<Value = ObjectPath> {
    let host = prop_oneof![
        Just(None),
        Just(Some(".".to_owned())),
        "[a-z][a-z0-9-]{0,6}(\\.[a-z]{1,4}){0,2}(:[0-9]{1,4})?".prop_map(Some),
        Just(Some("[::1]:5989".to_owned())),
    ];
    let namespace = prop_oneof![
        Just(None),
        proptest::collection::vec(ident(), 1..3).prop_map(|v| Some(v.join("/"))),
    ];
    let keys = prop_oneof![
        1 => Just(Keys::Class),
        1 => Just(Keys::Singleton),
        1 => value.clone().prop_map(|v| Keys::Bindings(vec![KeyBinding { name: Name::new(""), value: v }])),
        4 => proptest::collection::btree_map(ident().prop_map(|s| s.to_ascii_lowercase()), value, 1..4)
            .prop_map(|m| Keys::Bindings(m.into_iter().map(|(k, v)| KeyBinding::new(k.as_str(), v)).collect())),
    ];
    (host, namespace, ident(), keys).prop_map(|(host, namespace, class, keys)| {
        // A host needs a namespace in the WMI form.
        let namespace = if host.is_some() && namespace.is_none() {
            Some("root".to_owned())
        } else {
            namespace
        };
        ObjectPath {
            host,
            namespace,
            class: Name::from(class),
            keys,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_paths_round_trip(path in path_strategy()) {
        let text = path.to_string();
        let again = ObjectPath::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&again, &path, "{}", text);
        prop_assert_eq!(hash_of(&again), hash_of(&path));
        prop_assert_eq!(again.to_string(), text.clone());
        let uri = path.to_uri_string();
        let from_uri = ObjectPath::parse(&uri).map_err(|e| TestCaseError::fail(format!("{uri}: {e}")))?;
        prop_assert_eq!(&from_uri, &path, "{}", uri);
        prop_assert_eq!(from_uri.to_uri_string(), uri);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
        if let Ok(path) = ObjectPath::parse(&s) {
            let again = ObjectPath::parse(&path.to_string()).unwrap();
            prop_assert_eq!(&again, &path);
        }
    }

    #[test]
    fn path_like_text_never_panics(s in "[\\\\/.:=,\"@a-zA-Z0-9 \\[\\]%-]{0,40}") {
        if let Ok(path) = ObjectPath::parse(&s) {
            let text = path.to_string();
            let again = ObjectPath::parse(&text).unwrap();
            prop_assert_eq!(&again, &path, "{}", text);
            prop_assert_eq!(hash_of(&again), hash_of(&path));
            prop_assert_eq!(again.to_string(), text);
        }
    }
}
