//! Bounded property tests: the compiler never panics on MOF-ish noise or on
//! mutations of valid MOF, and generated class declarations survive
//! print -> compile unchanged.

use openwmi_cim::Repository;
use openwmi_mof::{class_to_mof, Compiler, Options};
use proptest::prelude::*;

const QUALS: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
Qualifier MaxLen : uint32 = null, Scope(property, method, parameter);
Qualifier Values : string[], Scope(property, method, parameter);
Qualifier In : boolean = true, Scope(parameter);
"#;

const VALID: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
[Description("x" "y\n")] class Ex_A { [Key] string Id = "a\x41"; uint8 N[] = {1, 0x2, 03, 1b};
  real64 R = -1.5E3; char16 C = '\''; uint32 M([In] string P, Ex_A REF Q[]); };
#pragma namespace("root/x")
instance of Ex_A as $a { Id = "z"; };
"#;

fn compile(text: &str) {
    let mut repo = Repository::new();
    let _ = Compiler::new(Options::default()).compile_str(&mut repo, "p.mof", text);
}

fn fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "class",
        "instance",
        "of",
        "as",
        "$a",
        "Qualifier",
        "REF",
        "Ex_A",
        ":",
        ";",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ",",
        "=",
        "\"s\"",
        "'c'",
        "0x1F",
        "-12",
        "1.5",
        "TRUE",
        "NULL",
        "uint8",
        "string",
        "Key",
        "Description",
        "Scope",
        "Flavor",
        "#pragma",
        "include",
        "namespace",
        "\"root/x\"",
        "/*",
        "*/",
        "//",
        "\n",
        " ",
        "\\",
        "\"\\x",
        "[]",
        "[3]",
    ])
    .prop_map(str::to_owned)
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,8}"
}

fn prop_decl() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just(("uint8".to_owned(), "7".to_owned())),
        Just(("sint64".to_owned(), "-9223372036854775808".to_owned())),
        Just(("real64".to_owned(), "0.25".to_owned())),
        Just(("boolean".to_owned(), "FALSE".to_owned())),
        "[ -~]{0,12}".prop_map(|s| {
            let esc = s.replace('\\', "\\\\").replace('"', "\\\"");
            ("string".to_owned(), format!("\"{esc}\""))
        }),
        Just(("char16".to_owned(), "'\\x7'".to_owned())),
    ];
    (scalar, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |((ty, value), with_default, array, key)| {
            let quals = if key {
                "[Key, MaxLen(4)] "
            } else {
                "[Description(\"d\")] "
            };
            match (array, with_default) {
                (true, true) => format!("{quals}{ty} {{name}}[] = {{{value}, {value}}};"),
                (true, false) => format!("{quals}{ty} {{name}}[4];"),
                (false, true) => format!("{quals}{ty} {{name}} = {value};"),
                (false, false) => format!("{quals}{ty} {{name}};"),
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_fragments_never_panic(parts in prop::collection::vec(fragment(), 0..40)) {
        compile(&parts.join(" "));
    }

    #[test]
    fn mutated_valid_mof_never_panics(
        cut in 0usize..VALID.len(),
        len in 0usize..8,
        insert in fragment(),
    ) {
        let mut text = VALID.to_owned();
        let mut start = cut;
        while !text.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        text.replace_range(start..end, &insert);
        compile(&text);
        compile(&text[..start]);
    }

    #[test]
    fn generated_classes_round_trip(
        name in ident(),
        props in prop::collection::vec((ident(), prop_decl()), 0..6),
    ) {
        let mut body = String::new();
        let mut seen = std::collections::HashSet::new();
        for (i, (pname, decl)) in props.iter().enumerate() {
            let pname = format!("{pname}{i}");
            if seen.insert(pname.to_ascii_lowercase()) {
                body.push_str(&decl.replace("{name}", &pname));
                body.push('\n');
            }
        }
        let class_name = format!("Ex_{name}");
        let text = format!("{QUALS}[Description(\"c\")] class {class_name} {{\n{body}}};\n");
        let mut repo = Repository::new();
        Compiler::new(Options::default())
            .compile_str(&mut repo, "gen.mof", &text)
            .map_err(|e| TestCaseError::fail(format!("{}\n{text}", e[0])))?;
        let class = repo.namespace("root/cimv2").unwrap().class(&class_name).unwrap();
        let printed = class_to_mof(&class, false);
        let mut again = Repository::new();
        Compiler::new(Options::default())
            .compile_str(&mut again, "printed.mof", &format!("{QUALS}{printed}"))
            .map_err(|e| TestCaseError::fail(format!("{}\n{printed}", e[0])))?;
        let class2 = again.namespace("root/cimv2").unwrap().class(&class_name).unwrap();
        prop_assert_eq!(&*class, &*class2);
    }
}
