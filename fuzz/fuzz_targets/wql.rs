#![no_main]
//! WQL parser: never panics; whatever parses prints canonical text that
//! parses back to the same tree and prints the same again. A WHERE clause is
//! then evaluated (a remote caller controls it) on instances of every type,
//! interpreted and compiled, which must agree and not panic. Its string
//! constants are read as dates (`parse_date`), and the check of the
//! constants compared with datetimes (`check_constants`) rejects exactly
//! the conditions comparing `Created` with something that is no date.
//! Event queries: every interval is positive and finite, and a HAVING
//! condition evaluates like any other.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::{
    CimType, Class, Instance, Name, Namespace, ObjectPath, PropertyDecl, Qualifier, TypeDecl, Value,
};
use openwmi_wql::{
    check_constants, evaluate, parse_date, ErrorKind, Expr, ExprKind, Filter, Literal, Query,
};
use std::sync::OnceLock;

struct Fixture {
    ns: Namespace,
    instances: Vec<Instance>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut ns = Namespace::new("root/fuzz");
        ns.add_class(Class::new("Base_Share", None)).unwrap();
        let mut c = Class::new("Test_Share", Some(Name::new("Base_Share")));
        let mut name = PropertyDecl::new("Name", TypeDecl::scalar(CimType::String));
        name.qualifiers
            .push(Qualifier::new("Key", Some(Value::Boolean(true))));
        c.properties.push(name);
        for (n, t) in [
            ("MaximumAllowed", TypeDecl::scalar(CimType::UInt32)),
            ("Size", TypeDecl::scalar(CimType::UInt64)),
            ("Delta", TypeDecl::scalar(CimType::SInt64)),
            ("Ratio", TypeDecl::scalar(CimType::Real64)),
            ("Enabled", TypeDecl::scalar(CimType::Boolean)),
            ("Created", TypeDecl::scalar(CimType::DateTime)),
            ("Letter", TypeDecl::scalar(CimType::Char16)),
            ("Tags", TypeDecl::array(CimType::String)),
            ("Owner", TypeDecl::reference("Base_Share")),
        ] {
            c.properties.push(PropertyDecl::new(n, t));
        }
        ns.add_class(c).unwrap();
        let class = ns.class("Test_Share").unwrap();
        let full = Instance::of_class(&class)
            .with("Name", Value::from("Ünï%_[x]"))
            .with("MaximumAllowed", Value::UInt32(u32::MAX))
            .with("Size", Value::UInt64(u64::MAX))
            .with("Delta", Value::SInt64(i64::MIN))
            .with("Ratio", Value::Real64(-0.0))
            .with("Enabled", Value::Boolean(true))
            .with(
                "Created",
                Value::DateTime("20240229235959.999999-999".parse().unwrap()),
            )
            .with("Letter", Value::Char16('ß'))
            .with(
                "Tags",
                Value::Array(vec![Value::from("a"), Value::from("")]),
            )
            .with(
                "Owner",
                Value::from(ObjectPath::parse("Base_Share.Name=\"x\"").unwrap()),
            );
        let nulls = Instance::of_class(&class);
        Fixture {
            ns,
            instances: vec![full, nulls],
        }
    })
}

/// Reads every string constant of `expr` as a date; returns whether some
/// comparison with the datetime property `Created` has a constant that is
/// neither NULL nor a date.
fn has_bad_date(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::And(ts) | ExprKind::Or(ts) => {
            ts.iter().map(has_bad_date).fold(false, |a, b| a | b)
        }
        ExprKind::Not(e) => has_bad_date(e),
        ExprKind::Compare {
            property, value, ..
        } => {
            let is_date = match value {
                Literal::Null => true,
                Literal::String(s) => match parse_date(s) {
                    Some(d) => {
                        assert_eq!(parse_date(&d.to_string()), Some(d), "{s:?}");
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            property.is("Created") && !is_date
        }
        ExprKind::IsNull { .. } | ExprKind::Like { .. } | ExprKind::Isa { .. } => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(query) = openwmi_wql::parse(text) {
        let printed = query.to_string();
        let again = match openwmi_wql::parse(&printed) {
            Ok(q) => q,
            Err(e) => panic!("{text:?} printed as {printed:?}, which fails: {e}"),
        };
        assert_eq!(again, query, "{printed:?}");
        assert_eq!(again.to_string(), printed);
        if let Query::Select(sel) = &query {
            let positive = |s: f64| s > 0.0 && s.is_finite();
            if let Some(w) = &sel.within {
                assert!(positive(w.seconds()), "{printed:?}");
            }
            if let Some(g) = &sel.group {
                assert!(positive(g.within.seconds()), "{printed:?}");
                if let Some(h) = &g.having {
                    let f = fixture();
                    let class = f.ns.class("Test_Share").unwrap();
                    let filter = Filter::compile(h, &class);
                    for inst in &f.instances {
                        assert_eq!(filter.matches(inst, &f.ns), evaluate(h, inst, &f.ns));
                    }
                }
            }
            if let Some(cond) = &sel.condition {
                let f = fixture();
                let class = f.ns.class("Test_Share").unwrap();
                match check_constants(cond, &class) {
                    Ok(()) => assert!(!has_bad_date(cond), "{printed:?}"),
                    Err(e) => {
                        assert!(has_bad_date(cond), "{printed:?}: {e}");
                        assert_eq!(e.kind(), ErrorKind::InvalidDate);
                    }
                }
                let _ = sel.check_properties(&class).map_err(|e| e.to_string());
                let filter = Filter::compile(cond, &class);
                for inst in &f.instances {
                    let interpreted = evaluate(cond, inst, &f.ns);
                    assert_eq!(filter.matches(inst, &f.ns), interpreted, "{printed:?}");
                }
            }
        }
    }
});
