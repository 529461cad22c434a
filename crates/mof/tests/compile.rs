//! Compiling small MOF texts: what is accepted, and each kind of error with
//! its file, line and column.

use openwmi_cim::{ArrayKind, CimType, Keys, Repository, Value};
use openwmi_mof::{
    class_to_mof, instance_to_mof, qualifier_decl_to_mof, Compiler, Error, ErrorKind, MemoryLoader,
    Options,
};

const QUALS: &str = r#"
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(EnableOverride, Restricted);
Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier MaxLen : uint32 = null, Scope(property, method, parameter);
Qualifier Values : string[], Scope(property, method, parameter), Flavor(EnableOverride, ToSubclass, Translatable);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier Override : string = null, Scope(property, reference, method), Flavor(EnableOverride, Restricted);
Qualifier Version : string = null, Scope(class, association, indication), Flavor(EnableOverride, Restricted, Translatable);
Qualifier Indication : boolean = false, Scope(class, indication), Flavor(DisableOverride, ToSubclass);
"#;

fn compile(text: &str) -> Result<(Repository, openwmi_mof::Summary), Vec<Error>> {
    let mut repo = Repository::new();
    let full = format!("{QUALS}{text}");
    let s = Compiler::new(Options::default()).compile_str(&mut repo, "test.mof", &full)?;
    Ok((repo, s))
}

/// The one error of a bad text, with its line counted from the start of `text`.
fn error(text: &str) -> (ErrorKind, u32, u32, String) {
    let errs = match compile(text) {
        Ok(_) => panic!("compiled without error:\n{text}"),
        Err(e) => e,
    };
    let e = &errs[0];
    let qual_lines = QUALS.matches('\n').count() as u32;
    assert_eq!(e.file, "test.mof");
    (e.kind, e.line - qual_lines, e.column, e.message.clone())
}

const BASE: &str = r#"
[Abstract, Description("The base" " class.")]
class Ex_Base {
    [Key, MaxLen(16)] string Name;
    uint8 Small = 200;
    sint16 Signed = -0x10;
    real32 Ratio = 1.5;
    boolean Flag = TRUE;
    char16 Letter = '\x41';
    datetime When = "20240101120000.000000+000";
    uint32 Codes[] = {1, 0x2, 010, 11b};
    string Fixed[3] = {"a", "b"};
    [Description("Does it.")]
    uint32 Do([In, Values {"a", "b"}] string Mode, [In(false), Out] uint32 Results[]);
};
"#;

#[test]
fn compiles_classes_with_every_kind_of_member() {
    let (repo, summary) = compile(BASE).unwrap();
    assert_eq!(summary.classes, 1);
    assert_eq!(summary.qualifiers, 11);
    let ns = repo.namespace("root/cimv2").unwrap();
    let c = ns.class("EX_BASE").unwrap();
    assert_eq!(
        c.qualifier("Description").unwrap().value,
        Some(Value::String("The base class.".into()))
    );
    assert!(c.property("Name").unwrap().is_key());
    assert_eq!(
        c.property("Small").unwrap().default,
        Some(Value::UInt8(200))
    );
    assert_eq!(
        c.property("Signed").unwrap().default,
        Some(Value::SInt16(-16))
    );
    assert_eq!(
        c.property("Ratio").unwrap().default,
        Some(Value::Real32(1.5))
    );
    assert_eq!(
        c.property("Letter").unwrap().default,
        Some(Value::Char16('A'))
    );
    assert_eq!(
        c.property("Codes").unwrap().default,
        Some(Value::Array(vec![
            Value::UInt32(1),
            Value::UInt32(2),
            Value::UInt32(8),
            Value::UInt32(3)
        ]))
    );
    assert_eq!(c.property("Fixed").unwrap().ty.array, ArrayKind::Fixed(3));
    let m = c.method("do").unwrap();
    assert_eq!(m.return_type, CimType::UInt32);
    assert_eq!(m.parameters.len(), 2);
    assert!(m.parameters[1].ty.is_array());
    let flags = m.parameters[1].qualifiers.iter().map(|q| q.value.clone());
    assert_eq!(
        flags.collect::<Vec<_>>(),
        [Some(Value::Boolean(false)), Some(Value::Boolean(true))]
    );
    // Abstract is Restricted: not propagated; Description is.
    let (repo, _) = compile(&format!(
        "{BASE}class Ex_Sub : Ex_Base {{ string Extra; }};"
    ))
    .unwrap();
    let sub = repo
        .namespace("root/cimv2")
        .unwrap()
        .class("Ex_Sub")
        .unwrap();
    assert!(!sub.is_abstract());
    assert!(sub.qualifier("Description").unwrap().propagated);
    let text = class_to_mof(&sub, true);
    assert!(text.contains("// inherited from Ex_Base"), "{text}");
    assert!(!class_to_mof(&sub, false).contains("Small"));
}

#[test]
fn keywords_are_case_insensitive_and_comments_ignored() {
    let text = r#"
        #PRAGMA Locale("en_US")
        #pragma someVendorThing("x", 3)
        /* block
           comment */
        [ABSTRACT] CLASS Ex_A { // trailing
            [key] STRING id; BOOLEAN b = true; };
        INSTANCE OF Ex_A { ID = "1"; B = False; };
    "#;
    let (_, s) = compile(text).unwrap();
    assert_eq!((s.classes, s.instances), (1, 1));
}

#[test]
fn instances_with_aliases_and_associations() {
    let text = r#"
        class Ex_Item { [Key] string Id; uint16 Size; };
        [Association] class Ex_Link { [Key] Ex_Item REF A; [Key] Ex_Item REF B; };
        instance of Ex_Item as $first { Id = "one"; Size = 1; };
        instance of Ex_Item as $second { Id = "two\t\"q\""; };
        instance of Ex_Link { A = $first; B = $second; };
        instance of Ex_Link { A = "Ex_Item.Id=\"x\""; B = "//host/root/cimv2:Ex_Item.Id=\"y\""; };
    "#;
    let (repo, s) = compile(text).unwrap();
    assert_eq!((s.classes, s.instances), (2, 4));
    assert!(
        matches!(ns_value(&repo, 3, "B"), Some(Value::Reference(p)) if p.host.as_deref() == Some("host"))
    );
    let ns = repo.namespace("root/cimv2").unwrap();
    let link = &ns.instances()[2];
    match link.value("A") {
        Some(Value::Reference(p)) => {
            assert_eq!(p.class.as_str(), "Ex_Item");
            assert!(
                matches!(&p.keys, Keys::Bindings(b) if b[0].value == Value::String("one".into()))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(ns.class("Ex_Link").unwrap().is_association());
    let printed = instance_to_mof(&ns.instances()[1]);
    assert_eq!(
        printed,
        "instance of Ex_Item\n{\n    Id = \"two\\t\\\"q\\\"\";\n};\n"
    );
}

fn ns_value(repo: &Repository, i: usize, prop: &str) -> Option<Value> {
    repo.namespace("root/cimv2").unwrap().instances()[i]
        .value(prop)
        .cloned()
}

#[test]
fn namespace_pragma_switches_namespace() {
    let text = r#"
        class Ex_A { string X; };
        #pragma namespace("root/other")
        Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
        class Ex_A { [Key] string X; };
        #pragma namespace("\\\\.\\root\\cimv2")
        class Ex_B : Ex_A { };
    "#;
    let (repo, s) = compile(text).unwrap();
    assert_eq!(s.classes, 3);
    assert!(repo.namespace("root/other").unwrap().has_class("Ex_A"));
    assert!(repo.namespace("root/cimv2").unwrap().has_class("Ex_B"));
}

#[test]
fn includes_resolve_through_the_loader() {
    let loader = MemoryLoader::new()
        .with(
            "top.mof",
            "#pragma include(\"quals.mof\")\n#pragma include (\"a.mof\")\n",
        )
        .with("quals.mof", QUALS)
        .with("a.mof", "class Ex_A { [Key] string Name; };\n");
    let mut c = Compiler::with_loader(Options::default(), Box::new(loader));
    let mut repo = Repository::new();
    let s = c
        .compile_file(&mut repo, std::path::Path::new("top.mof"))
        .unwrap();
    assert_eq!((s.classes, s.qualifiers), (1, 11));
}

#[test]
fn include_cycles_are_errors_naming_the_chain() {
    let loader = MemoryLoader::new()
        .with("top.mof", "#pragma include(\"a.mof\")\n")
        .with("a.mof", "\n#pragma include(\"b.mof\")\n")
        .with("b.mof", "#pragma include(\"a.mof\")\n");
    let mut c = Compiler::with_loader(Options::default(), Box::new(loader));
    let errs = c
        .compile_file(&mut Repository::new(), std::path::Path::new("top.mof"))
        .unwrap_err();
    assert_eq!(errs.len(), 1);
    let e = &errs[0];
    assert_eq!(e.kind, ErrorKind::IncludeCycle);
    assert_eq!((e.file.as_str(), e.line, e.column), ("b.mof", 1, 17));
    assert!(
        e.message.contains("a.mof -> b.mof -> a.mof"),
        "{}",
        e.message
    );
    assert_eq!(e.to_string(), format!("b.mof:1:17: error: {}", e.message));
}

#[test]
fn include_depth_is_limited() {
    let mut loader = MemoryLoader::new();
    for i in 0..10 {
        let name = if i == 0 {
            "top.mof".to_owned()
        } else {
            format!("f{i}.mof")
        };
        loader = loader.with(&name, &format!("#pragma include(\"f{}.mof\")", i + 1));
    }
    let opts = Options {
        max_include_depth: 4,
        ..Options::default()
    };
    let mut c = Compiler::with_loader(opts, Box::new(loader));
    let errs = c
        .compile_file(&mut Repository::new(), std::path::Path::new("top.mof"))
        .unwrap_err();
    assert_eq!(errs[0].kind, ErrorKind::Limit, "{}", errs[0]);
}

#[test]
fn missing_include_is_an_io_error() {
    let (kind, line, col, msg) = error("#pragma include(\"nope/none.mof\")");
    assert_eq!((kind, line, col), (ErrorKind::Io, 1, 17));
    assert!(msg.contains("nope/none.mof"));
}

#[test]
fn truncated_input_is_a_syntax_error() {
    let (kind, line, col, msg) = error("class Ex_A {\n    string Name");
    assert_eq!((kind, line, col), (ErrorKind::Syntax, 2, 16));
    assert_eq!(
        msg,
        "expected ';' after property declaration, found end of file"
    );

    let (kind, line, col, msg) = error("class Ex_A {\n    string Name\n};");
    assert_eq!((kind, line, col), (ErrorKind::Syntax, 3, 1));
    assert_eq!(msg, "expected ';' after property declaration, found '}'");

    let (kind, _, _, msg) = error("class Ex_A { [Description(\"abc ] string X; };");
    assert_eq!(kind, ErrorKind::Syntax);
    assert!(msg.contains("unterminated string"), "{msg}");

    let (kind, _, _, _) = error("class Ex_A { string X; } /* open");
    assert_eq!(kind, ErrorKind::Syntax);
}

#[test]
fn unknown_qualifier() {
    let (kind, line, col, msg) = error("class Ex_A {\n  [Key, Colour(\"red\")] string X; };");
    assert_eq!((kind, line, col), (ErrorKind::UnknownQualifier, 2, 9));
    assert_eq!(msg, "qualifier Colour is not declared");
}

#[test]
fn qualifier_type_and_scope_are_checked() {
    let (kind, line, col, _) = error("class Ex_A { [MaxLen(\"long\")] string X; };");
    assert_eq!((kind, line, col), (ErrorKind::TypeMismatch, 1, 22));
    let (kind, _, _, msg) = error("class Ex_A { [MaxLen(-1)] string X; };");
    assert_eq!(kind, ErrorKind::TypeMismatch);
    assert!(msg.contains("out of range"), "{msg}");
    let (kind, _, _, _) = error("class Ex_A { [Values(\"a\")] string X; };");
    assert_eq!(kind, ErrorKind::TypeMismatch);
    let (kind, _, _, _) = error("class Ex_A { [MaxLen] string X; };");
    assert_eq!(kind, ErrorKind::TypeMismatch);
    let (kind, line, col, msg) = error("\n[Key] class Ex_A { string X; };");
    assert_eq!((kind, line, col), (ErrorKind::QualifierScope, 2, 2));
    assert!(msg.contains("may not be used on a class"), "{msg}");
    let (kind, _, _, _) = error("class Ex_A { [Abstract] string X; };");
    assert_eq!(kind, ErrorKind::QualifierScope);
    let (kind, _, _, _) = error("class Ex_A { [Key, Key] string X; };");
    assert_eq!(kind, ErrorKind::DuplicateQualifier);
    let (kind, _, _, _) = error("Qualifier Key : uint8 = 3, Scope(property), Flavor(ToSubclass);");
    assert_eq!(kind, ErrorKind::DuplicateQualifier);
}

#[test]
fn property_type_mismatch() {
    let (kind, line, col, msg) = error("class Ex_A {\n  uint8 Small = 256; };");
    assert_eq!((kind, line, col), (ErrorKind::TypeMismatch, 2, 17));
    assert_eq!(
        msg,
        "value 256 is out of range for property Small of type uint8"
    );
    for bad in [
        "class Ex_A { string S = 1; };",
        "class Ex_A { uint32 S = \"1\"; };",
        "class Ex_A { boolean S = 0; };",
        "class Ex_A { uint32 S[] = 1; };",
        "class Ex_A { uint32 S = {1}; };",
        "class Ex_A { sint8 S = -129; };",
        "class Ex_A { uint64 S = 18446744073709551616; };",
        "class Ex_A { string S[2] = {\"a\", \"b\", \"c\"}; };",
        "class Ex_A { datetime S = \"yesterday\"; };",
        "class Ex_A { char16 S = \"x\"; };",
        "class Ex_A { real32 S = 1.0E300; };",
    ] {
        let (kind, _, _, _) = error(bad);
        assert_eq!(kind, ErrorKind::TypeMismatch, "{bad}");
    }
    let (kind, line, col, msg) = error(&format!(
        "{BASE}class Ex_B : Ex_Base {{\n [Override(\"Smal\")] uint8 Small; }};"
    ));
    let base_lines = BASE.matches('\n').count() as u32;
    assert_eq!((kind, line - base_lines, col), (ErrorKind::Model, 2, 27));
    assert!(msg.contains("overrides Smal"), "{msg}");
    let (kind, _, _, _) = error("class Ex_A { [Override(\"X\")] uint8 X(); };");
    assert_eq!(kind, ErrorKind::Model);
    compile(&format!(
        "{BASE}class Ex_B : Ex_Base {{ [Override(\"Small\")] uint8 Small = 3; }};"
    ))
    .unwrap();
    let (kind, _, _, _) = error("class Ex_A : Ex_Base { string Small; };");
    assert_eq!(kind, ErrorKind::MissingSuperclass);
    let (kind, _, _, _) = error(&format!("{BASE}class Ex_B : Ex_Base {{ string Small; }};"));
    assert_eq!(kind, ErrorKind::Model);
}

#[test]
fn duplicate_class() {
    let (kind, line, col, msg) = error("class Ex_A { };\n\nclass Ex_a { };");
    assert_eq!((kind, line, col), (ErrorKind::DuplicateClass, 3, 7));
    assert_eq!(msg, "class Ex_a is already defined in namespace root/cimv2");
}

#[test]
fn missing_superclass() {
    let (kind, line, col, msg) = error("class Ex_A : Ex_Nope { };");
    assert_eq!((kind, line, col), (ErrorKind::MissingSuperclass, 1, 14));
    assert_eq!(msg, "superclass Ex_Nope of class Ex_A is not defined");
}

#[test]
fn instance_errors() {
    let classes = "class Ex_I { [Key] string Id; uint8 N; Ex_I REF Other; };\n";
    let (kind, line, col, _) = error(&format!(
        "{classes}instance of Ex_I {{ Id = \"a\"; Colour = 1; }};"
    ));
    assert_eq!((kind, line, col), (ErrorKind::UnknownProperty, 2, 30));
    let (kind, _, _, _) = error(&format!(
        "{classes}instance of Ex_I {{ Id = \"a\"; N = 300; }};"
    ));
    assert_eq!(kind, ErrorKind::TypeMismatch);
    let (kind, _, _, _) = error("instance of Ex_Nope { Id = \"a\"; };");
    assert_eq!(kind, ErrorKind::UnknownClass);
    let (kind, _, _, _) = error(&format!(
        "{classes}instance of Ex_I {{ Id = \"a\"; Other = $later; }};"
    ));
    assert_eq!(kind, ErrorKind::TypeMismatch);
    let (kind, _, _, _) = error(&format!(
        "{classes}instance of Ex_I {{ Id = \"a\"; Other = \"::\"; }};"
    ));
    assert_eq!(kind, ErrorKind::TypeMismatch);
    let (kind, _, _, _) = error(&format!("{classes}instance of Ex_I {{ N = 1; }};"));
    assert_eq!(kind, ErrorKind::Model);
    let (kind, _, _, _) = error(&format!(
        "{classes}instance of Ex_I as $a {{ Id = \"a\"; }};\ninstance of Ex_I as $a {{ Id = \"b\"; }};"
    ));
    assert_eq!(kind, ErrorKind::Alias);
    let (kind, _, _, _) = error(&format!(
        "{classes}instance of Ex_I {{ Id = \"a\"; }};\ninstance of Ex_I {{ Id = \"a\"; }};"
    ));
    assert_eq!(kind, ErrorKind::Model);
}

#[test]
fn several_semantic_errors_are_collected() {
    let errs = compile(
        "class Ex_A : Nope1 { };\nclass Ex_B : Nope2 { };\nclass Ex_C { [Zap] string X; };",
    )
    .unwrap_err();
    let kinds: Vec<ErrorKind> = errs.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::MissingSuperclass,
            ErrorKind::MissingSuperclass,
            ErrorKind::UnknownQualifier
        ]
    );
    let opts = Options {
        max_errors: 2,
        ..Options::default()
    };
    let errs = Compiler::new(opts)
        .compile_str(
            &mut Repository::new(),
            "x.mof",
            "class A : N1 {}; class B : N2 {}; class C : N3 {};",
        )
        .unwrap_err();
    assert_eq!(errs.last().unwrap().kind, ErrorKind::Limit);
    assert_eq!(errs.len(), 3);
}

#[test]
fn a_failed_compile_leaves_the_repository_unchanged() {
    let mut repo = Repository::new();
    let mut c = Compiler::new(Options::default());
    c.compile_str(&mut repo, "a.mof", QUALS).unwrap();
    let errs = c
        .compile_str(
            &mut repo,
            "b.mof",
            "class Ex_Good { };\nclass Ex_Bad : Nope { };",
        )
        .unwrap_err();
    assert_eq!(errs.len(), 1);
    let ns = repo.namespace("root/cimv2").unwrap();
    assert!(!ns.has_class("Ex_Good"));
    assert_eq!(ns.qualifier_decls().count(), 11);
    let s = c
        .compile_str(&mut repo, "c.mof", "class Ex_Good { };")
        .unwrap();
    assert_eq!((s.classes, s.qualifiers), (1, 0));
}

#[test]
fn file_size_limit() {
    let opts = Options {
        max_file_size: 10,
        ..Options::default()
    };
    let errs = Compiler::new(opts)
        .compile_str(&mut Repository::new(), "big.mof", "class Ex_A { };")
        .unwrap_err();
    assert_eq!(errs[0].kind, ErrorKind::Limit);
}

#[test]
fn columns_count_characters() {
    let (_, line, col, _) = error("// héllo\n/* ü */ class Ex_Ü { string X = 1; };");
    assert_eq!((line, col), (2, 33));
}

#[test]
fn printed_classes_and_declarations_read_back_equal() {
    let (repo, _) = compile(&format!(
        "{BASE}[Association] class Ex_L {{ [Key] Ex_Base REF A; [Key, Description(\"b\")] Ex_Base REF B = NULL; }};"
    ))
    .unwrap();
    let ns = repo.namespace("root/cimv2").unwrap();
    let mut text = String::new();
    for d in ns.qualifier_decls() {
        text.push_str(&qualifier_decl_to_mof(d));
    }
    for c in ns.classes() {
        text.push_str(&class_to_mof(&c, false));
    }
    let mut again = Repository::new();
    Compiler::new(Options::default())
        .compile_str(&mut again, "again.mof", &text)
        .unwrap_or_else(|e| panic!("{}\n{text}", e[0]));
    let ns2 = again.namespace("root/cimv2").unwrap();
    for c in ns.classes() {
        assert_eq!(*c, *ns2.class(c.name.as_str()).unwrap(), "{text}");
    }
    for d in ns.qualifier_decls() {
        assert_eq!(Some(d), ns2.qualifier_decl(d.name.as_str()));
    }
}

#[test]
fn file_system_includes_look_beside_the_file_then_in_include_dirs() {
    let root = std::env::temp_dir().join(format!("openwmi-mof-test-{}", std::process::id()));
    let main_dir = root.join("main");
    let inc_dir = root.join("inc");
    std::fs::create_dir_all(main_dir.join("sub")).unwrap();
    std::fs::create_dir_all(&inc_dir).unwrap();
    std::fs::write(
        main_dir.join("top.mof"),
        "#pragma include(\"sub/quals.mof\")\n#pragma include(\"lib.mof\")\n",
    )
    .unwrap();
    std::fs::write(
        main_dir.join("sub/quals.mof"),
        format!("{QUALS}\n#pragma include(\"sibling.mof\")\n"),
    )
    .unwrap();
    std::fs::write(main_dir.join("sub/sibling.mof"), "class Ex_S { };\n").unwrap();
    std::fs::write(
        inc_dir.join("lib.mof"),
        "class Ex_L : Ex_S { [Key] string K; };\n",
    )
    .unwrap();

    let opts = Options {
        include_dirs: vec![inc_dir.clone()],
        ..Options::default()
    };
    let mut repo = Repository::new();
    let s = Compiler::new(opts)
        .compile_file(&mut repo, &main_dir.join("top.mof"))
        .unwrap_or_else(|e| panic!("{}", e[0]));
    assert_eq!(s.classes, 2);

    let errs = Compiler::new(Options::default())
        .compile_file(&mut Repository::new(), &main_dir.join("top.mof"))
        .unwrap_err();
    assert_eq!(errs[0].kind, ErrorKind::Io);
    assert!(errs[0].file.ends_with("top.mof"), "{}", errs[0]);
    assert_eq!(errs[0].line, 2);

    let errs = Compiler::new(Options::default())
        .compile_file(&mut Repository::new(), &root.join("missing.mof"))
        .unwrap_err();
    assert_eq!((errs[0].kind, errs[0].line), (ErrorKind::Io, 0));
    let _ = std::fs::remove_dir_all(&root);
}

fn with_standard(namespace: &str) -> Options {
    Options {
        default_namespace: namespace.to_owned(),
        standard_qualifiers: true,
        ..Options::default()
    }
}

#[test]
fn new_namespace_starts_with_the_standard_qualifiers() {
    let mof =
        "class My_Class { [Key, Description(\"x\"), MaxLen(10), Units(\"bytes\")] string Name;\n\
               [ValueMap {\"0\", \"1\"}, Values {\"Off\", \"On\"}] uint16 State; };\n\
               instance of My_Class { Name = \"a\"; State = 1; };";
    let mut repo = Repository::new();
    let s = Compiler::new(with_standard("root/test"))
        .compile_str(&mut repo, "extra.mof", mof)
        .unwrap_or_else(|e| panic!("{e:?}"));
    // The seeded declarations are the namespace's, not the file's.
    assert_eq!((s.classes, s.qualifiers, s.instances), (1, 0, 1));
    let ns = repo.namespace("root/test").unwrap();
    for q in [
        "Key",
        "Description",
        "MaxLen",
        "Units",
        "ValueMap",
        "Values",
        "Abstract",
        "Association",
        "Override",
        "MappingStrings",
        "Dynamic",
        "Provider",
        "In",
        "Out",
        "Deprecated",
        "ModelCorrespondence",
        "EmbeddedInstance",
        "Required",
        "Static",
    ] {
        assert!(ns.qualifier_decl(q).is_some(), "{q}");
    }
    let key = ns.qualifier_decl("key").unwrap();
    assert!(!key.flavor.overridable && key.flavor.to_subclass);
    // Without the option the compiler stays strict.
    let e = Compiler::new(Options {
        default_namespace: "root/test".into(),
        ..Options::default()
    })
    .compile_str(&mut Repository::new(), "extra.mof", mof)
    .unwrap_err();
    assert!(
        e[0].message.contains("qualifier Key is not declared"),
        "{e:?}"
    );
    // `#pragma namespace` to another new namespace seeds it as well.
    let mut repo = Repository::new();
    Compiler::new(with_standard("root/a"))
        .compile_str(
            &mut repo,
            "two.mof",
            "#pragma namespace(\"root/b\")\nclass B_C { [Key] string K; };",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(repo
        .namespace("root/a")
        .unwrap()
        .qualifier_decl("Key")
        .is_some());
    assert!(repo
        .namespace("root/b")
        .unwrap()
        .qualifier_decl("Key")
        .is_some());
}

#[test]
fn standard_qualifiers_may_be_redeclared_in_a_seeded_namespace() {
    // A file written for a strict compiler declares what it uses, its own way.
    let mof =
        "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride, ToSubclass);\n\
               Qualifier Description : string = null, Scope(any), Flavor(Translatable);\n\
               class My_Class { [Key, Description(\"d\")] string Name; };";
    let mut repo = Repository::new();
    let s = Compiler::new(with_standard("root/test"))
        .compile_str(&mut repo, "own.mof", mof)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((s.classes, s.qualifiers), (1, 2));
    let key = repo
        .namespace("root/test")
        .unwrap()
        .qualifier_decl("Key")
        .unwrap()
        .clone();
    assert!(!key.scope.intersects(openwmi_cim::Scope::REFERENCE));
    // Once redeclared, it is the namespace's own: a third version is an error.
    let e = Compiler::new(with_standard("root/test"))
        .compile_str(
            &mut repo,
            "again.mof",
            "Qualifier Key : uint8 = 3, Scope(property), Flavor(ToSubclass);",
        )
        .unwrap_err();
    assert_eq!(e[0].kind, ErrorKind::DuplicateQualifier);
    // A namespace that already has content is not seeded.
    let mut repo = Repository::new();
    Compiler::new(Options {
        default_namespace: "root/x".into(),
        ..Options::default()
    })
    .compile_str(&mut repo, "q.mof", QUALS)
    .unwrap();
    let e = Compiler::new(with_standard("root/x"))
        .compile_str(
            &mut repo,
            "u.mof",
            "class U_C { [Units(\"s\")] uint32 T; };",
        )
        .unwrap_err();
    assert!(
        e[0].message.contains("qualifier Units is not declared"),
        "{e:?}"
    );
}

#[test]
fn standard_qualifier_declarations_compile() {
    let mut repo = Repository::new();
    let s = Compiler::new(Options {
        default_namespace: "root".into(),
        ..Options::default()
    })
    .compile_str(&mut repo, "std.mof", openwmi_mof::STANDARD_QUALIFIERS)
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(s.qualifiers >= 80, "{s:?}");
}
