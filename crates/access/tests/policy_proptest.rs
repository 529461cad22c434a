//! Bounded property tests of the `[permissions]` reader: any table is
//! answered without panicking, a valid policy prints to TOML that reads back
//! to the same policy, and the class check never lets through a caller the
//! namespace check refuses.

use openwmi_access::{PermissionPolicy, Right};
use openwmi_cimom::{AccessPolicy, OperationContext};
use proptest::prelude::*;
use toml::Value;

fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just("root".to_string()),
        Just("alice".to_string()),
        Just("openwmi-admins".to_string()),
        Just("ünï\"co\\de".to_string()),
        "[a-z][a-z0-9_.-]{0,8}",
    ]
}

fn namespaces() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just("root".to_string()),
        Just("root/cimv2".to_string()),
        Just(r"ROOT\CIMv2".to_string()),
        Just("root/interop".to_string()),
        "[a-z]{1,5}(/[a-z]{1,5}){0,2}",
    ]
}

fn rights() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(vec!["read", "sessions", "READ"], 1..=3)
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn strings(v: Vec<String>) -> Value {
    Value::Array(v.into_iter().map(Value::String).collect())
}

/// A valid grant table.
fn grant() -> impl Strategy<Value = Value> {
    (
        namespaces(),
        proptest::collection::vec(names(), 0..3),
        proptest::collection::vec(names().prop_filter("not *", |g| g != "*"), 0..3),
        rights(),
    )
        .prop_filter("someone", |(_, u, g, _)| !u.is_empty() || !g.is_empty())
        .prop_map(|(ns, users, groups, rights)| {
            let mut t = toml::Table::new();
            t.insert("namespace".into(), Value::String(ns));
            if !users.is_empty() {
                t.insert("users".into(), strings(users));
            }
            if !groups.is_empty() {
                t.insert("groups".into(), strings(groups));
            }
            t.insert("rights".into(), strings(rights));
            Value::Table(t)
        })
}

fn valid_table() -> impl Strategy<Value = toml::Table> {
    (
        proptest::option::of(proptest::collection::vec(grant(), 0..4)),
        proptest::option::of(proptest::collection::vec(
            "[A-Za-z_][A-Za-z0-9_]{0,12}",
            0..3,
        )),
    )
        .prop_map(|(grants, classes)| {
            let mut t = toml::Table::new();
            if let Some(g) = grants {
                t.insert("grant".into(), Value::Array(g));
            }
            if let Some(c) = classes {
                t.insert("session_classes".into(), strings(c));
            }
            t
        })
}

/// Any TOML value tree, with the keys the reader knows among others.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        names().prop_map(Value::String),
        namespaces().prop_map(Value::String),
        any::<i64>().prop_map(Value::Integer),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("namespace".to_string()),
                    Just("users".to_string()),
                    Just("groups".to_string()),
                    Just("rights".to_string()),
                    Just("grant".to_string()),
                    Just("session_classes".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..4,
            )
            .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

fn permissions_of(text: &str) -> toml::Table {
    let whole: toml::Table = text.parse().unwrap();
    match whole.get("permissions") {
        Some(Value::Table(t)) => t.clone(),
        _ => toml::Table::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_table_is_answered(value in any_value()) {
        if let Value::Table(t) = value {
            let _ = PermissionPolicy::from_toml_table(&t);
        }
    }

    #[test]
    fn printed_policy_reads_back(table in valid_table()) {
        let policy = PermissionPolicy::from_toml_table(&table).unwrap();
        let printed = policy.to_string();
        let again = PermissionPolicy::from_toml_table(&permissions_of(&printed)).unwrap();
        prop_assert_eq!(&again, &policy, "{}", printed);
        prop_assert_eq!(again.to_string(), printed);
    }

    #[test]
    fn class_check_implies_namespace_check(
        table in valid_table(),
        user in names(),
        groups in proptest::collection::vec(names(), 0..3),
        ns in namespaces().prop_filter("a namespace", |n| n != "*"),
        class in prop_oneof![Just("Win32_ServerConnection"), Just("Win32_Share"), Just("CIM_Namespace")],
    ) {
        let policy = PermissionPolicy::from_toml_table(&table).unwrap();
        let ctx = OperationContext::for_user(user.clone(), groups.clone());
        if policy.check_class(&ctx, &ns, class).is_ok() {
            prop_assert!(policy.check_namespace(&ctx, &ns).is_ok());
        }
        if policy.check_namespace(&ctx, &ns).is_ok() && !policy.is_session_class(class) {
            prop_assert!(policy.check_class(&ctx, &ns, class).is_ok());
        }
        if policy.allows(&user, &groups, &ns, Right::Read) {
            prop_assert!(policy.check_namespace(&ctx, &ns).is_ok());
        }
        prop_assert!(policy.check_class(&OperationContext::local(), &ns, class).is_ok());
    }
}
