//! Bounded property tests: generated trees print and parse back equal;
//! arbitrary text never panics the parser.

use openwmi_cim::{Name, ObjectPath};
use openwmi_wql::{
    is_reserved_word, parse, AssociatorsOf, CompareOp, Expr, ExprKind, Ident, LikePattern, Literal,
    Projection, Query, ReferencesOf, Select, Span,
};
use openwmi_wql::{GroupWithin, Interval};
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = Ident> {
    "[A-Za-z_][A-Za-z0-9_]{0,8}"
        .prop_filter("reserved word", |s| !is_reserved_word(s))
        .prop_map(|s| Ident::new(Name::new(&s), Span::default()))
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Boolean),
        (i64::MIN as i128..=u64::MAX as i128).prop_map(Literal::Integer),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Literal::Real),
        any::<String>().prop_map(Literal::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    let e = |kind| Expr::new(kind, Span::default());
    prop_oneof![
        (ident(), op(), literal()).prop_map(move |(property, op, value)| e(ExprKind::Compare {
            property,
            op,
            value,
            value_span: Span::default(),
        })),
        (ident(), any::<bool>())
            .prop_map(move |(property, negated)| e(ExprKind::IsNull { property, negated })),
        (ident(), "([a-z%_ ]|\\[\\^?[a-c](-[d-f])?\\]|[\\\\\"'é])*").prop_filter_map(
            "valid pattern",
            move |(property, p)| LikePattern::new(&p).ok().map(|pattern| e(ExprKind::Like {
                property,
                pattern,
                pattern_span: Span::default(),
            }))
        ),
        (ident(), ident()).prop_map(move |(property, class)| e(ExprKind::Isa { property, class })),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        let e = |kind| Expr::new(kind, Span::default());
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(move |v| e(ExprKind::And(v))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(move |v| e(ExprKind::Or(v))),
            inner.prop_map(move |x| e(ExprKind::Not(Box::new(x)))),
        ]
    })
}

/// A property name, or a member of an embedded object (`A.B`).
fn member() -> impl Strategy<Value = Ident> {
    (ident(), prop::option::of(ident())).prop_map(|(a, b)| match b {
        Some(b) => Ident::new(
            Name::new(&format!("{}.{}", a.name, b.name)),
            Span::default(),
        ),
        None => a,
    })
}

fn interval() -> impl Strategy<Value = Interval> {
    prop_oneof![
        (1i128..=100_000).prop_map(Literal::Integer),
        (1e-3f64..1e6).prop_map(Literal::Real),
    ]
    .prop_map(|value| Interval {
        value,
        span: Span::default(),
    })
}

fn group() -> impl Strategy<Value = GroupWithin> {
    (
        interval(),
        prop::collection::vec(member(), 0..3),
        prop::option::of(expr()),
    )
        .prop_map(|(within, by, having)| GroupWithin {
            within,
            by,
            having,
            span: Span::default(),
        })
}

fn event_select() -> impl Strategy<Value = Query> {
    (
        prop_oneof![
            Just(Projection::All),
            prop::collection::vec(member(), 1..4).prop_map(Projection::Properties)
        ],
        ident(),
        prop::option::of(interval()),
        prop::option::of(expr()),
        prop::option::of(group()),
    )
        .prop_map(|(projection, from, within, condition, group)| {
            Query::Select(Select {
                projection,
                from,
                within,
                condition,
                group,
                span: Span::default(),
            })
        })
}

fn select() -> impl Strategy<Value = Query> {
    (
        prop_oneof![
            Just(Projection::All),
            prop::collection::vec(ident(), 1..4).prop_map(Projection::Properties)
        ],
        ident(),
        prop::option::of(expr()),
    )
        .prop_map(|(projection, from, condition)| {
            Query::Select(Select {
                projection,
                from,
                within: None,
                condition,
                group: None,
                span: Span::default(),
            })
        })
}

fn path() -> impl Strategy<Value = ObjectPath> {
    ("[A-Za-z][A-Za-z0-9_]{0,8}", prop::option::of("[ -~]{0,8}")).prop_map(|(class, key)| {
        let text = match key {
            Some(k) => {
                let esc = k.replace('\\', "\\\\").replace('"', "\\\"");
                format!("{class}.Name=\"{esc}\"")
            }
            None => class,
        };
        ObjectPath::parse(&text).unwrap()
    })
}

fn association() -> impl Strategy<Value = Query> {
    let opt = || prop::option::of(ident());
    (
        path(),
        any::<bool>(),
        (opt(), opt(), opt(), opt(), opt(), opt()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(object, assoc, (ac, rc, rr, role, rq, raq), (cd, ko, so))| {
                // Respect Windows' rules: ClassDefsOnly excludes ResultClass, KeysOnly, SchemaOnly.
                let rc = if cd { None } else { rc };
                let (ko, so) = if cd { (false, false) } else { (ko, so) };
                let span = Span::default();
                if assoc {
                    Query::Associators(AssociatorsOf {
                        object,
                        object_span: span,
                        assoc_class: ac,
                        result_class: rc,
                        result_role: rr,
                        role,
                        required_qualifier: rq,
                        required_assoc_qualifier: raq,
                        class_defs_only: cd,
                        keys_only: ko,
                        schema_only: so,
                        span,
                    })
                } else {
                    Query::References(ReferencesOf {
                        object,
                        object_span: span,
                        result_class: rc,
                        role,
                        required_qualifier: rq,
                        class_defs_only: cd,
                        keys_only: ko,
                        schema_only: so,
                        span,
                    })
                }
            },
        )
}

const WORDS: &[&str] = &[
    "SELECT",
    "select",
    "*",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "LIKE",
    "ISA",
    "TRUE",
    "(",
    ")",
    ",",
    "=",
    "<>",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "Name",
    "__this",
    "__CLASS",
    "'a%'",
    "\"x\\\"\"",
    "3",
    "-7",
    "0x1F",
    "2.5e3",
    "ASSOCIATORS",
    "REFERENCES",
    "OF",
    "{C.K=1}",
    "{",
    "}",
    "AssocClass",
    "ResultClass",
    "ClassDefsOnly",
    "KeysOnly",
    "SchemaOnly",
    "Role",
    "'[a-",
    "\"",
    "'",
    "\\",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn event_select_round_trips(q in event_select()) {
        let printed = q.to_string();
        let back = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        prop_assert_eq!(&back, &q);
        prop_assert_eq!(back.to_string(), printed);
    }

    #[test]
    fn select_round_trips(q in select()) {
        let printed = q.to_string();
        let back = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(&back, &q, "{}", printed);
        prop_assert_eq!(back.to_string(), printed);
    }

    #[test]
    fn association_round_trips(q in association()) {
        let printed = q.to_string();
        let back = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(&back, &q, "{}", printed);
        prop_assert_eq!(back.to_string(), printed);
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn token_soup_never_panics_and_round_trips(words in prop::collection::vec(prop::sample::select(WORDS), 0..16)) {
        let text = words.join(" ");
        if let Ok(q) = parse(&text) {
            let printed = q.to_string();
            let back = parse(&printed).map_err(|e| TestCaseError::fail(format!("{text:?} -> {printed:?}: {e}")))?;
            prop_assert_eq!(back, q);
        }
    }
}
