//! Event queries: WITHIN, members of embedded objects, GROUP WITHIN.

use openwmi_wql::{parse, ErrorKind, ExprKind, Literal, Query, Select};

fn select(text: &str) -> Select {
    match parse(text).unwrap_or_else(|e| panic!("{text}: {e}")) {
        Query::Select(s) => s,
        q => panic!("{text}: not a select: {q:?}"),
    }
}

/// Parses, prints, and checks that the print is `canonical` and reads back
/// as the same tree.
fn round_trip(text: &str, canonical: &str) {
    let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let printed = q.to_string();
    assert_eq!(printed, canonical, "{text}");
    let again = parse(&printed).unwrap();
    assert_eq!(again, q);
    assert_eq!(again.to_string(), printed);
}

#[test]
fn event_queries_print_canonically_and_read_back() {
    for (text, canonical) in [
        (
            "select * from __InstanceCreationEvent within 10 where TargetInstance isa 'Win32_ServerConnection'",
            "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA \"Win32_ServerConnection\"",
        ),
        (
            "SELECT * FROM __InstanceModificationEvent WITHIN 0.5 WHERE TargetInstance ISA 'Win32_ServerConnection' AND TargetInstance.NumberOfFiles <> PreviousInstance.NumberOfFiles",
            "",
        ),
        (
            "SELECT * FROM __InstanceModificationEvent WITHIN 0.5 WHERE TargetInstance ISA 'Win32_ServerConnection' AND TargetInstance.NumberOfFiles > 0 AND PreviousInstance.NumberOfFiles = 0",
            "SELECT * FROM __InstanceModificationEvent WITHIN 0.5 WHERE TargetInstance ISA \"Win32_ServerConnection\" AND TargetInstance.NumberOfFiles > 0 AND PreviousInstance.NumberOfFiles = 0",
        ),
        (
            "SELECT TargetInstance.ShareName, TIME_CREATED FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Win32_ServerConnection' AND __CLASS = '__InstanceDeletionEvent' WITHIN 5",
            "SELECT TargetInstance.ShareName, TIME_CREATED FROM __InstanceOperationEvent WITHIN 5 WHERE TargetInstance ISA \"Win32_ServerConnection\" AND __CLASS = \"__InstanceDeletionEvent\"",
        ),
        (
            "select * from __InstanceCreationEvent within 1 where TargetInstance isa \"Win32_ServerConnection\" group within 600 by TargetInstance.ShareName, TargetInstance.UserName having NumberOfEvents > 2",
            "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA \"Win32_ServerConnection\" GROUP WITHIN 600 BY TargetInstance.ShareName, TargetInstance.UserName HAVING NumberOfEvents > 2",
        ),
        (
            "SELECT * FROM __InstanceCreationEvent GROUP WITHIN 60",
            "SELECT * FROM __InstanceCreationEvent GROUP WITHIN 60",
        ),
        (
            "SELECT * FROM __InstanceDeletionEvent WITHIN 2 WHERE TargetInstance.ShareName LIKE 'pub%' OR NOT TargetInstance.UserName IS NULL",
            "SELECT * FROM __InstanceDeletionEvent WITHIN 2 WHERE TargetInstance.ShareName LIKE \"pub%\" OR NOT TargetInstance.UserName IS NULL",
        ),
    ] {
        if canonical.is_empty() {
            // Comparing two properties is no WQL: only constants compare.
            let e = parse(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Syntax, "{text}");
            continue;
        }
        round_trip(text, canonical);
    }
}

#[test]
fn the_tree_holds_interval_members_and_groups() {
    let s = select(
        "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_Share' \
         AND TargetInstance.Name = 'x' GROUP WITHIN 30 BY TargetInstance.Path HAVING NumberOfEvents >= 3",
    );
    assert!(s.is_event_query());
    assert_eq!(s.within.as_ref().unwrap().seconds(), 10.0);
    let ExprKind::And(terms) = &s.condition.as_ref().unwrap().kind else {
        panic!("not an AND");
    };
    let ExprKind::Compare {
        property, value, ..
    } = &terms[1].kind
    else {
        panic!("not a comparison");
    };
    assert_eq!(property.member(), Some(("TargetInstance", "Name")));
    assert_eq!(*value, Literal::String("x".into()));
    let g = s.group.as_ref().unwrap();
    assert_eq!(g.within.seconds(), 30.0);
    assert_eq!(g.by.len(), 1);
    assert_eq!(g.by[0].member(), Some(("TargetInstance", "Path")));
    assert!(g.having.is_some());
    // Spans: the member's span covers both parts; the select covers GROUP.
    let text = "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance.Name = 'x'";
    let s = select(text);
    let ExprKind::Compare { property, .. } = &s.condition.as_ref().unwrap().kind else {
        panic!();
    };
    assert_eq!(
        &text[property.span.start..property.span.end],
        "TargetInstance.Name"
    );
    assert_eq!(s.span.end, text.len());
    assert!(!select("SELECT * FROM Win32_Share").is_event_query());
}

#[test]
fn bad_event_queries_say_what_and_where() {
    // Each error points at the text after the last '|' of the pattern.
    for pattern in [
        "SELECT * FROM __InstanceCreationEvent WITHIN|",
        "SELECT * FROM __InstanceCreationEvent WITHIN |0",
        "SELECT * FROM __InstanceCreationEvent WITHIN |-5",
        "SELECT * FROM __InstanceCreationEvent WITHIN |'x'",
        "SELECT * FROM __InstanceCreationEvent WITHIN 5 |WITHIN 5",
        "SELECT * FROM __InstanceCreationEvent GROUP |BY TargetInstance.Name",
        "SELECT * FROM __InstanceCreationEvent GROUP WITHIN 5 BY|",
        "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance|. Name = 1",
        "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance |.Name = 1",
        "SELECT * FROM a|.b",
    ] {
        let at = pattern.find('|').unwrap();
        let text = pattern.replace('|', "");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Syntax, "{text}: {e}");
        assert_eq!(e.offset(), at, "{text}: {e}");
    }
}

#[test]
fn a_data_query_naming_members_is_refused_by_the_property_check() {
    use openwmi_cim::{CimType, Class, PropertyDecl, TypeDecl};
    let mut c = Class::new("Win32_Share", None);
    c.properties
        .push(PropertyDecl::new("Name", TypeDecl::scalar(CimType::String)));
    let s = select("SELECT * FROM Win32_Share WHERE Name.Length = 1");
    let e = s.check_properties(&c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownProperty);
}
