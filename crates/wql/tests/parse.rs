//! Parsing, canonical printing, error positions and statuses.

use openwmi_cim::{CimStatus, WbemStatus};
use openwmi_wql::{
    check_language, parse, CompareOp, ErrorKind, ExprKind, Literal, Projection, Query, MAX_DEPTH,
    MAX_QUERY_LEN,
};

/// Parses, checks the canonical text, and that it reads back as the same tree.
fn canon(text: &str) -> String {
    let q = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let printed = q.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("reparse {printed:?}: {e}"));
    assert_eq!(again, q, "{text:?} -> {printed:?}");
    assert_eq!(again.to_string(), printed);
    printed
}

#[test]
fn canonical_printing() {
    let cases: &[(&str, &str)] = &[
        ("select * from Win32_Share", "SELECT * FROM Win32_Share"),
        ("SeLeCt Name,Path , Type FROM win32_share", "SELECT Name, Path, Type FROM win32_share"),
        ("select * from C where A = 1", "SELECT * FROM C WHERE A = 1"),
        ("select * from C where A <> 1", "SELECT * FROM C WHERE A <> 1"),
        ("select * from C where A != 1", "SELECT * FROM C WHERE A <> 1"),
        ("select * from C where A<1", "SELECT * FROM C WHERE A < 1"),
        ("select * from C where A<=1", "SELECT * FROM C WHERE A <= 1"),
        ("select * from C where A>1", "SELECT * FROM C WHERE A > 1"),
        ("select * from C where A>=1", "SELECT * FROM C WHERE A >= 1"),
        ("select * from C where 3 > MaximumAllowed", "SELECT * FROM C WHERE MaximumAllowed < 3"),
        ("select * from C where 3 >= M", "SELECT * FROM C WHERE M <= 3"),
        ("select * from C where 3 < M", "SELECT * FROM C WHERE M > 3"),
        ("select * from C where 3 <= M", "SELECT * FROM C WHERE M >= 3"),
        ("select * from C where 'x' = M", "SELECT * FROM C WHERE M = \"x\""),
        ("select * from C where 3 <> M", "SELECT * FROM C WHERE M <> 3"),
        ("select * from C where A = 0x1f", "SELECT * FROM C WHERE A = 31"),
        ("select * from C where A = -0x10", "SELECT * FROM C WHERE A = -16"),
        ("select * from C where A = -5", "SELECT * FROM C WHERE A = -5"),
        ("select * from C where A = 2.5", "SELECT * FROM C WHERE A = 2.5"),
        ("select * from C where A = 1e3", "SELECT * FROM C WHERE A = 1000.0"),
        ("select * from C where A = -1.5E-3", "SELECT * FROM C WHERE A = -0.0015"),
        ("select * from C where A = true", "SELECT * FROM C WHERE A = TRUE"),
        ("select * from C where A = False", "SELECT * FROM C WHERE A = FALSE"),
        ("select * from C where A = null", "SELECT * FROM C WHERE A = NULL"),
        ("select * from C where A is null", "SELECT * FROM C WHERE A IS NULL"),
        ("select * from C where A is not null", "SELECT * FROM C WHERE A IS NOT NULL"),
        (r#"select * from C where A = 'it''s'"#, "unused"),
        (r#"select * from C where A = 'say "hi"'"#, r#"SELECT * FROM C WHERE A = "say \"hi\"""#),
        (r#"select * from C where A = "C:\\Windows""#, r#"SELECT * FROM C WHERE A = "C:\\Windows""#),
        (r#"select * from C where A = 'a\'b'"#, r#"SELECT * FROM C WHERE A = "a'b""#),
        ("select * from C where A = \"tab\\there\"", "SELECT * FROM C WHERE A = \"tab\\there\""),
        ("select * from C where A like 'share%'", "SELECT * FROM C WHERE A LIKE \"share%\""),
        ("select * from C where A not like 'x_'", "SELECT * FROM C WHERE NOT A LIKE \"x_\""),
        ("select * from C where not A like '[^a-f]%'", "SELECT * FROM C WHERE NOT A LIKE \"[^a-f]%\""),
        ("select * from __InstanceCreationEvent where TargetInstance isa 'Win32_Share'",
         "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA \"Win32_Share\""),
        ("select * from meta_class where __this isa Win32_Share",
         "SELECT * FROM meta_class WHERE __this ISA \"Win32_Share\""),
        ("select * from meta_class where __CLASS = \"Win32_Share\"",
         "SELECT * FROM meta_class WHERE __CLASS = \"Win32_Share\""),
        ("select * from C where a=1 and b=2 and c=3", "SELECT * FROM C WHERE a = 1 AND b = 2 AND c = 3"),
        ("select * from C where a=1 or b=2 and c=3", "SELECT * FROM C WHERE a = 1 OR b = 2 AND c = 3"),
        ("select * from C where (a=1 or b=2) and c=3", "SELECT * FROM C WHERE (a = 1 OR b = 2) AND c = 3"),
        ("select * from C where ((a=1))", "SELECT * FROM C WHERE a = 1"),
        ("select * from C where (a=1 and b=2) and c=3", "SELECT * FROM C WHERE (a = 1 AND b = 2) AND c = 3"),
        ("select * from C where not a=1 and b=2", "SELECT * FROM C WHERE NOT a = 1 AND b = 2"),
        ("select * from C where not (a=1 and b=2)", "SELECT * FROM C WHERE NOT (a = 1 AND b = 2)"),
        ("select * from C where not not a=1", "SELECT * FROM C WHERE NOT NOT a = 1"),
        ("select * from C where a=1 or not (b=2 or c=3)", "SELECT * FROM C WHERE a = 1 OR NOT (b = 2 OR c = 3)"),
        ("  select\t*\nfrom C  ", "SELECT * FROM C"),
        ("associators of {Win32_Share.Name=\"x\"}", "ASSOCIATORS OF {Win32_Share.Name=\"x\"}"),
        ("ASSOCIATORS OF {Win32_Share.Name=\"a}b\"} where resultclass = Win32_Directory",
         "ASSOCIATORS OF {Win32_Share.Name=\"a}b\"} WHERE ResultClass = Win32_Directory"),
        ("associators of {\\\\.\\root\\cimv2:Win32_Share.Name=\"x\"} where Role=Dependent ResultRole=Antecedent AssocClass=A RequiredQualifier=Q RequiredAssocQualifier=R KeysOnly",
         "ASSOCIATORS OF {\\\\.\\root\\cimv2:Win32_Share.Name=\"x\"} WHERE AssocClass = A ResultRole = Antecedent Role = Dependent RequiredQualifier = Q RequiredAssocQualifier = R KeysOnly"),
        ("associators of {Adapter} where schemaonly", "ASSOCIATORS OF {Adapter} WHERE SchemaOnly"),
        ("associators of {C.K=1} where ClassDefsOnly AssocClass=A", "ASSOCIATORS OF {C.K=1} WHERE AssocClass = A ClassDefsOnly"),
        ("references of {Win32_Share.Name=\"x\"}", "REFERENCES OF {Win32_Share.Name=\"x\"}"),
        ("references of { Win32_Share.Name=\"x\" } where role = Dependent resultclass=Win32_ConnectionShare requiredqualifier=Q keysonly",
         "REFERENCES OF {Win32_Share.Name=\"x\"} WHERE ResultClass = Win32_ConnectionShare Role = Dependent RequiredQualifier = Q KeysOnly"),
        ("references of {C=@} where classdefsonly", "REFERENCES OF {C=@} WHERE ClassDefsOnly"),
    ];
    for &(text, expected) in cases {
        if expected == "unused" {
            // '' is not an escape in WQL: the string ends, and a second one follows.
            assert!(parse(text).is_err());
            continue;
        }
        assert_eq!(canon(text), expected, "{text:?}");
    }
}

#[test]
fn tree_shapes() {
    let q = parse("SELECT a, B FROM Test WHERE 3 > MaximumAllowed").unwrap();
    let Query::Select(s) = q else { panic!() };
    let Projection::Properties(props) = &s.projection else {
        panic!()
    };
    assert_eq!(props.len(), 2);
    assert!(props[1].is("b"));
    assert_eq!((props[1].span.start, props[1].span.end), (10, 11));
    assert!(s.from.is("TEST"));
    let cond = s.condition.as_ref().unwrap();
    match &cond.kind {
        ExprKind::Compare {
            property,
            op,
            value,
            value_span,
        } => {
            assert!(property.is("maximumallowed"));
            assert_eq!(*op, CompareOp::Lt);
            assert_eq!(*value, Literal::Integer(3));
            assert_eq!(value_span.start, 28);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((cond.span.start, cond.span.end), (28, 46));
    assert!(!s.is_schema_query());
    let Query::Select(s) = parse("select * from META_CLASS where __this isa 'C'").unwrap() else {
        panic!()
    };
    assert!(s.is_schema_query());

    let big = parse("select * from C where a = 18446744073709551615 or b = -9223372036854775808")
        .unwrap();
    assert!(big.to_string().contains("18446744073709551615"));
    assert!(big.to_string().contains("-9223372036854775808"));
}

#[test]
fn association_queries_parse_clauses() {
    let Query::Associators(a) = parse(
        "ASSOCIATORS OF {Win32_Share.Name=\"C$\"} WHERE AssocClass = Win32_ConnectionShare ResultClass=Win32_ServerConnection ResultRole=Dependent Role=Antecedent RequiredQualifier=Key RequiredAssocQualifier=Association",
    )
    .unwrap() else {
        panic!()
    };
    assert!(a.object.class.is("win32_share"));
    assert_eq!(a.object.key("Name").and_then(|v| v.as_str()), Some("C$"));
    assert!(a.assoc_class.as_ref().unwrap().is("Win32_ConnectionShare"));
    assert!(a
        .result_class
        .as_ref()
        .unwrap()
        .is("Win32_ServerConnection"));
    assert!(a.result_role.as_ref().unwrap().is("Dependent"));
    assert!(a.role.as_ref().unwrap().is("Antecedent"));
    assert!(a.required_qualifier.as_ref().unwrap().is("Key"));
    assert!(a
        .required_assoc_qualifier
        .as_ref()
        .unwrap()
        .is("Association"));
    assert!(!a.class_defs_only && !a.keys_only && !a.schema_only);
    assert_eq!(a.object_span.start, 16);

    let Query::References(r) =
        parse("references of {Win32_Share.Name=\"C$\"} where ClassDefsOnly Role=Dependent")
            .unwrap()
    else {
        panic!()
    };
    assert!(r.class_defs_only && !r.keys_only && !r.schema_only);
    assert!(r.role.as_ref().unwrap().is("dependent"));
    assert!(r.result_class.is_none());
}

#[test]
fn invalid_association_queries() {
    use ErrorKind::*;
    let p = "{Win32_Share.Name=\"x\"}";
    let cases: Vec<(String, ErrorKind)> = vec![
        // Windows' combination rules.
        (
            format!("associators of {p} where ClassDefsOnly ResultClass=C"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where ResultClass=C ClassDefsOnly"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where ClassDefsOnly ResultClass=C"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where KeysOnly ClassDefsOnly"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where ClassDefsOnly KeysOnly"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where SchemaOnly ClassDefsOnly"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where ClassDefsOnly SchemaOnly"),
            InvalidAssocQuery,
        ),
        // Each clause at most once.
        (
            format!("associators of {p} where AssocClass=A AssocClass=B"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where ResultClass=A resultclass=A"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where ResultRole=A ResultRole=B"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where Role=A Role=B"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where RequiredQualifier=A RequiredQualifier=B"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where RequiredAssocQualifier=A RequiredAssocQualifier=B"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where KeysOnly KeysOnly"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where ClassDefsOnly ClassDefsOnly"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where SchemaOnly SchemaOnly"),
            InvalidAssocQuery,
        ),
        // Unknown clauses, and clauses only ASSOCIATORS OF has.
        (
            format!("associators of {p} where Color=Red"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where AssocClass=A"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where ResultRole=A"),
            InvalidAssocQuery,
        ),
        (
            format!("references of {p} where RequiredAssocQualifier=A"),
            InvalidAssocQuery,
        ),
        // Spaces, not AND; '=' only; a name after '='.
        (
            format!("associators of {p} where AssocClass=A and Role=R"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where AssocClass<>A"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where AssocClass A"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where AssocClass='A'"),
            InvalidAssocQuery,
        ),
        (
            format!("associators of {p} where AssocClass="),
            InvalidAssocQuery,
        ),
        (format!("associators of {p} where"), InvalidAssocQuery),
        (
            format!("associators of {p} where (KeysOnly)"),
            InvalidAssocQuery,
        ),
        // Shape of the statement.
        (format!("associators {p}"), Syntax),
        ("associators of Win32_Share".to_string(), Syntax),
        ("associators of {Win32_Share".to_string(), Syntax),
        ("associators of {}".to_string(), InvalidObjectPath),
        (
            "associators of {Win32_Share.Name=}".to_string(),
            InvalidObjectPath,
        ),
        (format!("associators of {p} KeysOnly"), Syntax),
    ];
    for (text, kind) in cases {
        let err = parse(&text).expect_err(&text);
        assert_eq!(err.kind(), kind, "{text:?}: {err}");
        assert_eq!(err.status(), CimStatus::InvalidQuery, "{text:?}");
        assert_eq!(err.status().to_wbem(), WbemStatus::InvalidQuery);
    }
}

#[test]
fn association_errors_point_at_the_clause() {
    let text = "associators of {C.K=1} where Role=A Color=Red";
    let err = parse(text).unwrap_err();
    assert_eq!(err.offset(), text.find("Color").unwrap());
    assert!(
        err.to_string()
            .contains("Color is not a clause of ASSOCIATORS OF"),
        "{err}"
    );
    let text = "associators of {C.K=1} where ResultClass=X ClassDefsOnly";
    let err = parse(text).unwrap_err();
    assert_eq!(err.offset(), text.find("ClassDefsOnly").unwrap());
}

#[test]
fn syntax_errors_say_what_and_where() {
    let cases: &[(&str, usize, &str)] = &[
        ("SELECT * WHERE", 9, "expected FROM after select list"),
        ("SELECT *", 8, "expected FROM after select list"),
        ("", 0, "expected SELECT"),
        ("DELETE FROM C", 0, "expected SELECT"),
        (
            "SELECT FROM C",
            7,
            "expected a property name or * after SELECT",
        ),
        ("SELECT a, FROM C", 10, "expected a property name after ','"),
        ("SELECT * FROM", 13, "expected a class name after FROM"),
        (
            "SELECT * FROM C WHERE",
            21,
            "expected a condition after WHERE",
        ),
        (
            "SELECT * FROM C WHERE a",
            23,
            "expected a comparison operator, IS, LIKE or ISA",
        ),
        ("SELECT * FROM C WHERE a =", 25, "expected a constant"),
        ("SELECT * FROM C WHERE a = b", 26, "expected a constant"),
        (
            "SELECT * FROM C WHERE 1 = 2",
            26,
            "expected a property name",
        ),
        ("SELECT * FROM C WHERE (a = 1", 28, "expected ')'"),
        ("SELECT * FROM C WHERE a = 1)", 27, "expected end of query"),
        (
            "SELECT * FROM C WHERE a = 1 b = 2",
            28,
            "expected end of query",
        ),
        ("SELECT * FROM C WHERE a IS 1", 27, "expected NULL after IS"),
        (
            "SELECT * FROM C WHERE a IS NOT x",
            31,
            "expected NULL after IS NOT",
        ),
        (
            "SELECT * FROM C WHERE a LIKE 3",
            29,
            "expected a string pattern after LIKE",
        ),
        ("SELECT * FROM C WHERE a LIKE '[ab'", 29, "unterminated '['"),
        (
            "SELECT * FROM C WHERE a NOT = 1",
            28,
            "expected LIKE after NOT",
        ),
        (
            "SELECT * FROM C WHERE a ISA 3",
            28,
            "expected a class name after ISA",
        ),
        ("SELECT * FROM C WHERE a = 'abc", 26, "unterminated string"),
        (
            "SELECT * FROM C WHERE a = 99999999999999999999",
            26,
            "out of range",
        ),
        ("SELECT * FROM C WHERE and = 1", 22, "expected a condition"),
        (
            "SELECT * FROM C WHERE a = 1 AND",
            31,
            "expected a condition",
        ),
        (
            "SELECT * FROM C WHERE a = 1 ;",
            28,
            "unexpected character ';'",
        ),
        ("SELECT a b FROM C", 9, "expected FROM after select list"),
    ];
    for &(text, offset, message) in cases {
        let err = parse(text).expect_err(text);
        assert_eq!(err.kind(), ErrorKind::Syntax, "{text:?}: {err}");
        assert_eq!(err.offset(), offset, "{text:?}: {err}");
        assert!(err.message().contains(message), "{text:?}: {err}");
        assert!(
            err.to_string().ends_with(&format!("at offset {offset}")),
            "{err}"
        );
        assert_eq!(err.status(), CimStatus::InvalidQuery);
    }
    assert_eq!(
        parse("SELECT * WHERE").unwrap_err().to_string(),
        "expected FROM after select list at offset 9"
    );
}

#[test]
fn limits() {
    let ok = format!(
        "SELECT * FROM C WHERE {}a = 1{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    parse(&ok).unwrap();
    let deep = format!(
        "SELECT * FROM C WHERE {}a = 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let err = parse(&deep).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooDeep);
    assert_eq!(err.offset(), 22 + MAX_DEPTH);
    assert_eq!(err.status(), CimStatus::InvalidQuery);
    let nots = format!("SELECT * FROM C WHERE {}a = 1", "NOT ".repeat(10_000));
    assert_eq!(parse(&nots).unwrap_err().kind(), ErrorKind::TooDeep);
    let parens = format!("SELECT * FROM C WHERE {}", "(".repeat(60_000));
    assert_eq!(parse(&parens).unwrap_err().kind(), ErrorKind::TooDeep);

    // Long flat conditions are fine: AND/OR chains do not nest.
    let terms: Vec<String> = (0..2000).map(|i| format!("P = {i}")).collect();
    let long = format!("SELECT * FROM C WHERE {}", terms.join(" OR "));
    assert!(long.len() < MAX_QUERY_LEN);
    let q = parse(&long).unwrap();
    assert_eq!(parse(&q.to_string()).unwrap(), q);

    let too_long = format!(
        "SELECT * FROM C WHERE a = \"{}\"",
        "x".repeat(MAX_QUERY_LEN)
    );
    let err = parse(&too_long).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLong);
    assert_eq!(err.status(), CimStatus::InvalidQuery);
}

#[test]
fn languages() {
    check_language("WQL").unwrap();
    check_language("wql").unwrap();
    for lang in ["CQL", "DMTF:CQL", "SQL", "", "WQL "] {
        let err = check_language(lang).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedLanguage);
        assert_eq!(err.status(), CimStatus::QueryLanguageNotSupported);
        assert_eq!(err.status().to_wbem(), WbemStatus::InvalidQueryType);
        assert_eq!(err.status().to_wbem().code(), 0x8004_1018);
    }
    assert_eq!(
        parse("select").unwrap_err().status().to_wbem().code(),
        0x8004_1017
    );
}

#[test]
fn keywords_ignore_case_and_identifiers_keep_it() {
    let a =
        parse("SELECT Name FROM Win32_Share WHERE Name LIKE 'a%' AND NOT Type IS NULL").unwrap();
    let b =
        parse("select name from WIN32_SHARE where NAME like 'a%' and not TYPE is null").unwrap();
    assert_eq!(a, b);
    assert_eq!(
        b.to_string(),
        "SELECT name FROM WIN32_SHARE WHERE NAME LIKE \"a%\" AND NOT TYPE IS NULL"
    );
    // String constants are not identifiers: their case is kept (and compared
    // without case only when evaluated).
    assert_ne!(
        parse("select * from C where a = 'X'").unwrap(),
        parse("select * from C where a = 'x'").unwrap()
    );
}

#[test]
fn single_quoted_key_values_in_paths() {
    // Microsoft's samples quote key values with '; the canonical text uses ".
    let cases: &[(&str, &str)] = &[
        (
            "ASSOCIATORS OF {Win32_Share.Name='public'}",
            r#"ASSOCIATORS OF {Win32_Share.Name="public"}"#,
        ),
        (
            "references of {Win32_LogicalDisk.DeviceID='C:'} where ResultClass = Win32_X",
            r#"REFERENCES OF {Win32_LogicalDisk.DeviceID="C:"} WHERE ResultClass = Win32_X"#,
        ),
        (
            r"ASSOCIATORS OF {\\.\root\cimv2:Win32_Share='a}b'}",
            r#"ASSOCIATORS OF {\\.\root\cimv2:Win32_Share="a}b"}"#,
        ),
        (
            r#"ASSOCIATORS OF {C.A='say "hi"',B="it's"}"#,
            r#"ASSOCIATORS OF {C.A="say \"hi\"",B="it's"}"#,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(canon(text), *want, "{text}");
    }
    let single = parse("ASSOCIATORS OF {Win32_Share.Name='public'}").unwrap();
    let double = parse(r#"ASSOCIATORS OF {Win32_Share.Name="public"}"#).unwrap();
    let (Query::Associators(s), Query::Associators(d)) = (single, double) else {
        panic!("not associators");
    };
    assert_eq!(s.object, d.object);

    // An unclosed single quote is still an invalid path.
    let e = parse("ASSOCIATORS OF {Win32_Share.Name='public}").unwrap_err();
    assert_eq!(e.status(), CimStatus::InvalidQuery);
}

#[test]
fn reserved_words_are_not_names() {
    // Windows: `SELECT * FROM WHERE` is WBEM_E_INVALID_QUERY, a syntax
    // error, not a query of a class named WHERE.
    let texts = [
        "SELECT * FROM WHERE",
        "select * from where",
        "SELECT * FROM From",
        "SELECT * FROM Select WHERE A = 1",
        "SELECT * FROM Group",
        "SELECT * FROM having",
        "SELECT * FROM Within",
        "SELECT * FROM KeysOnly",
        "SELECT * FROM Of",
        "SELECT * FROM Associators",
        "SELECT * FROM References",
        "SELECT * FROM NULL",
        "SELECT * FROM TRUE",
        "SELECT Where FROM C",
        "SELECT Name, Group FROM C",
        "SELECT * FROM C WHERE Group = 1",
        "SELECT * FROM C WHERE Within IS NULL",
        "SELECT * FROM C WHERE 1 = Having",
        "SELECT * FROM meta_class WHERE __this ISA Where",
        "ASSOCIATORS OF {C.A=1} WHERE ResultClass = Select",
        "REFERENCES OF {C.A=1} WHERE Role = Of",
    ];
    for text in texts {
        let e = parse(text).expect_err(text);
        assert_eq!(e.status(), CimStatus::InvalidQuery, "{text}");
        assert_eq!(e.status().to_wbem(), WbemStatus::InvalidQuery, "{text}");
    }
    let e = parse("SELECT * FROM WHERE").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.offset(), 14);
    assert!(e.message().contains("keyword WHERE"), "{e}");
    // Names that only contain a keyword, or differ from one, stay names.
    for text in [
        "SELECT * FROM Wheres",
        "SELECT * FROM Win32_Group",
        "SELECT Selected, FromDate FROM Within_X WHERE Order = 1",
        "SELECT * FROM C WHERE __CLASS = \"C\"",
    ] {
        canon(text);
    }
    assert!(openwmi_wql::is_reserved_word("within"));
    assert!(!openwmi_wql::is_reserved_word("__CLASS"));
}
