use super::*;
use crate::bundled::bundled_repository;
use crate::manager::ObjectManagerBuilder;
use openwmi_cim::{CimStatus, WbemStatus};

fn om() -> ObjectManager {
    ObjectManagerBuilder::new(bundled_repository().unwrap(), "HOST").build()
}

fn compile(text: &str) -> Result<EventQuery, CimError> {
    EventQuery::compile(&om(), &OperationContext::local(), "root/cimv2", "WQL", text)
}

fn conn(share: &str, user: &str, files: u32) -> InstanceWithPath {
    let om = om();
    let ns = om.repository().namespace("root/cimv2").unwrap();
    let class = ns.class("Win32_ServerConnection").unwrap();
    let inst = Instance::of_class(&class)
        .with("ComputerName", Value::from("10.0.0.5"))
        .with("ShareName", Value::from(share))
        .with("UserName", Value::from(user))
        .with("NumberOfFiles", Value::UInt32(files));
    InstanceWithPath {
        path: Arc::new(om.instance_path("root/cimv2", &class, &inst)),
        instance: Arc::new(inst),
    }
}

const WATCH: &str = "SELECT * FROM __InstanceOperationEvent WITHIN 2 \
                     WHERE TargetInstance ISA 'Win32_ServerConnection'";

#[test]
fn diff_finds_creations_deletions_and_modifications_by_path() {
    let a = conn("public", "alice", 0);
    let b = conn("data", "bob", 1);
    let b2 = conn("data", "bob", 2);
    let c = conn("public", "carol", 0);
    let changes = diff(&[a.clone(), b.clone()], &[b2.clone(), c.clone()]);
    let kinds: Vec<(EventKind, &str)> = changes
        .iter()
        .map(|ch| {
            let user = match ch.target.instance.value("UserName") {
                Some(Value::String(s)) => s.as_ref(),
                _ => "",
            };
            (ch.kind, user)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Modification, "bob"),
            (EventKind::Creation, "carol"),
            (EventKind::Deletion, "alice"),
        ]
    );
    assert_eq!(changes[0].previous.as_deref(), Some(&*b.instance));
    // Nothing changed: no events, whether the instances are shared or copies.
    assert!(diff(&[a.clone(), b.clone()], &[a.clone(), b.clone()]).is_empty());
    assert!(diff(std::slice::from_ref(&a), &[conn("public", "alice", 0)]).is_empty());
    assert!(diff(&[], &[]).is_empty());
}

#[test]
fn the_event_object_names_members_and_answers_isa() {
    let ev = Event {
        change: Change {
            kind: EventKind::Modification,
            target: conn("data", "bob", 2),
            previous: Some(conn("data", "bob", 1).instance),
        },
        time_created: 42,
    };
    let obj = ev.object();
    assert_eq!(obj.class_name.as_str(), MODIFICATION_EVENT);
    assert_eq!(obj.value("TIME_CREATED"), Some(&Value::UInt64(42)));
    assert_eq!(
        obj.value("TargetInstance.NumberOfFiles"),
        Some(&Value::UInt32(2))
    );
    assert_eq!(
        obj.value("PreviousInstance.NumberOfFiles"),
        Some(&Value::UInt32(1))
    );
    assert_eq!(
        obj.value("targetinstance.__CLASS"),
        Some(&Value::from("Win32_ServerConnection"))
    );
    let om = om();
    let ns = om.repository().namespace("root/cimv2").unwrap();
    for (text, expected) in [
        (WATCH, true),
        ("SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA 'CIM_LogicalElement' AND TargetInstance.NumberOfFiles > PreviousInstance.NumberOfFiles", false),
        ("SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection' AND TargetInstance.NumberOfFiles > 1 AND PreviousInstance.NumberOfFiles = 1", true),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection'", false),
        ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection' AND __CLASS = '__InstanceModificationEvent'", true),
        ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection' AND __CLASS = '__InstanceDeletionEvent'", false),
        ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection' AND TargetInstance.__CLASS = 'win32_serverconnection'", true),
        ("SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection' AND TargetInstance.ShareName LIKE 'pub%'", false),
    ] {
        if text.contains("> PreviousInstance") {
            // Properties do not compare with properties in WQL.
            assert!(compile(text).is_err());
            continue;
        }
        let q = compile(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(q.matches(EventKind::Modification, &obj, ns), expected, "{text}");
    }
    let q = compile(
        "SELECT TargetInstance.ShareName, TIME_CREATED FROM __InstanceModificationEvent \
         WITHIN 1 WHERE TargetInstance ISA 'Win32_ServerConnection'",
    )
    .unwrap();
    let row = q.project(obj);
    let names: Vec<&str> = row.properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["TIME_CREATED", "TargetInstance.ShareName"]);
}

#[test]
fn bad_event_queries_get_windows_errors() {
    for (text, status) in [
        // The FROM class does not exist: WBEM_E_INVALID_CLASS.
        ("SELECT * FROM __NoSuchEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidClass),
        // Not an event class (WBEM_E_NOT_EVENT_CLASS on Windows).
        ("SELECT * FROM Win32_Share WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidClass),
        // The ISA class does not exist.
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Nope'", CimStatus::InvalidClass),
        // No WITHIN on a polled class (WBEMESS_E_REGISTRATION_TOO_PRECISE).
        ("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidQuery),
        // Below the shortest interval.
        ("SELECT * FROM __InstanceCreationEvent WITHIN 0.5 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidQuery),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 100000 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidQuery),
        // No class to watch.
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5", CimStatus::InvalidQuery),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' OR TIME_CREATED > 0", CimStatus::InvalidQuery),
        // Unknown properties, of the event or of the target.
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' AND TargetInstance.Nope = 1", CimStatus::InvalidQuery),
        ("SELECT Nope FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidQuery),
        // A creation has no PreviousInstance.
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' AND PreviousInstance.Name = 'x'", CimStatus::InvalidQuery),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' AND TIME_CREATED.X = 1", CimStatus::InvalidQuery),
        // GROUP: BY and HAVING check their names too.
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' GROUP WITHIN 60 BY TargetInstance.Nope", CimStatus::InvalidQuery),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' GROUP WITHIN 60 HAVING Name = 1", CimStatus::InvalidQuery),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share' GROUP WITHIN 2", CimStatus::InvalidQuery),
        // Only the intrinsic instance events are made.
        ("SELECT * FROM __AggregateEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidClass),
        ("SELECT * FROM __Event WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'", CimStatus::InvalidQuery),
        ("ASSOCIATORS OF {Win32_Share.Name=\"x\"}", CimStatus::InvalidQuery),
        ("SELECT * FROM", CimStatus::InvalidQuery),
    ] {
        let e = compile(text).map(|q| q.text).unwrap_err();
        assert_eq!(e.status, status, "{text}: {e:?}");
    }
    // Windows' own codes, carried for WMI's clients; CIM-XML sees the status.
    for (text, status, wbem) in [
        ("SELECT * FROM Win32_Share WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'",
         CimStatus::InvalidClass, WbemStatus::NotEventClass),
        ("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Share'",
         CimStatus::InvalidQuery, WbemStatus::RegistrationTooPrecise),
        ("SELECT * FROM __NoSuchEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Share'",
         CimStatus::InvalidClass, WbemStatus::InvalidClass),
        ("SELECT * FROM __InstanceCreationEvent WITHIN 0.5 WHERE TargetInstance ISA 'Win32_Share'",
         CimStatus::InvalidQuery, WbemStatus::InvalidQuery),
    ] {
        let e = compile(text).map(|q| q.text).unwrap_err();
        assert_eq!((e.status, e.wbem()), (status, wbem), "{text}: {e:?}");
    }
    let e = EventQuery::compile(
        &om(),
        &OperationContext::local(),
        "root/cimv2",
        "CQL",
        WATCH,
    )
    .unwrap_err();
    assert_eq!(e.status.to_wbem(), WbemStatus::InvalidQueryType);
    let e = EventQuery::compile(&om(), &OperationContext::local(), "root/nope", "WQL", WATCH)
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidNamespace);
    // WITHIN may follow the condition; the canonical text puts it first.
    let q = compile(
        "select * from __InstanceCreationEvent where TargetInstance isa 'Win32_Share' within 3",
    )
    .unwrap();
    assert_eq!(q.interval, Duration::from_secs(3));
    assert_eq!(q.target_class.as_str(), "Win32_Share");
    assert_eq!(
        q.text,
        "SELECT * FROM __InstanceCreationEvent WITHIN 3 WHERE TargetInstance ISA \"Win32_Share\""
    );
    assert!(q.wants(EventKind::Creation) && !q.wants(EventKind::Deletion));
}

#[test]
fn exec_query_refuses_event_queries() {
    let om = om();
    let e = om
        .exec_query(
            &Arc::new(OperationContext::local()),
            "root/cimv2",
            "WQL",
            WATCH,
        )
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidQuery);
}

#[test]
fn group_within_counts_per_by_value_and_applies_having() {
    let q = compile(
        "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA \
         'Win32_ServerConnection' GROUP WITHIN 10 BY TargetInstance.ShareName \
         HAVING NumberOfEvents > 1",
    )
    .unwrap();
    let om = om();
    let ns = om.repository().namespace("root/cimv2").unwrap();
    let mut agg = Aggregator::new(q.group.as_ref().unwrap());
    assert_eq!(agg.window(), Duration::from_secs(10));
    for (share, user) in [
        ("public", "a"),
        ("DATA", "b"),
        ("Public", "c"),
        ("public", "d"),
    ] {
        let ev = Event {
            change: Change {
                kind: EventKind::Creation,
                target: conn(share, user, 0),
                previous: None,
            },
            time_created: 1,
        };
        agg.add(&ev.object());
    }
    let out = agg.close(ns);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].class_name.as_str(), AGGREGATE_EVENT);
    assert_eq!(out[0].value("NumberOfEvents"), Some(&Value::UInt32(3)));
    assert_eq!(
        out[0].value("TargetInstance.ShareName"),
        Some(&Value::from("public"))
    );
    assert!(matches!(
        out[0].value("Representative"),
        Some(Value::Reference(_))
    ));
    // The next window starts empty.
    assert!(agg.close(ns).is_empty());
}

#[test]
fn time_created_counts_from_1601() {
    assert_eq!(time_created(Duration::ZERO), 116_444_736_000_000_000);
    assert_eq!(
        time_created(Duration::from_secs(1)),
        116_444_736_000_000_000 + 10_000_000
    );
}

#[test]
fn event_queries_work_in_every_namespace_with_classes() {
    let om = om();
    let ctx = OperationContext::local();
    for (ns, class) in [
        ("root/Microsoft/Windows/SMB", "MSFT_SmbSession"),
        ("root/interop", "CIM_IndicationFilter"),
    ] {
        let q = EventQuery::compile(
            &om,
            &ctx,
            ns,
            "WQL",
            &format!(
                "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA '{class}'"
            ),
        )
        .unwrap();
        assert_eq!(q.target_class.as_str(), class);
    }
    // The empty namespaces stay empty.
    for ns in ["root", "root/default"] {
        assert!(om
            .repository()
            .namespace(ns)
            .unwrap()
            .class("__Event")
            .is_none());
    }
    // A namespace made later (a --mof file) gets them when asked.
    let mut repo = bundled_repository().unwrap();
    openwmi_mof::Compiler::new(openwmi_mof::Options {
        default_namespace: "root/test".into(),
        standard_qualifiers: true,
        ..openwmi_mof::Options::default()
    })
    .compile_str(&mut repo, "t.mof", "class T_Thing { [Key] string Name; };")
    .unwrap();
    assert!(repo
        .namespace("root/test")
        .unwrap()
        .class("__Event")
        .is_none());
    crate::bundled::add_event_classes(&mut repo).unwrap();
    assert!(repo
        .namespace("root/test")
        .unwrap()
        .class("__InstanceCreationEvent")
        .is_some());
}
