//! Intrinsic instance events (`__InstanceCreationEvent`,
//! `__InstanceDeletionEvent`, `__InstanceModificationEvent`, and
//! `__InstanceOperationEvent` for all three) made by polling, as WMI makes
//! them for classes without an event provider (`WITHIN n`).
//!
//! The pure parts live here: checking an event query against the schema
//! ([`EventQuery::compile`], with Windows' errors), comparing two snapshots
//! of a class by instance path ([`diff`]: a changed property value is a
//! modification, as on Windows), the event as a condition sees it
//! ([`Event::object`]: `TargetInstance.Name` is a property of its own,
//! `TargetInstance` the target's path so that `ISA` works), and
//! `GROUP WITHIN` windows ([`Aggregator`]). The poller that takes the
//! snapshots on a clock is in [`crate::poller`].

use crate::context::OperationContext;
use crate::errors::wql_error;
use crate::manager::{InstanceWithPath, ObjectManager};
use openwmi_cim::{
    CimError, CimType, Instance, InstanceProperty, Name, Namespace, ObjectPath, TypeDecl, Value,
    WbemStatus,
};
use openwmi_wql::{Expr, ExprKind, GroupWithin, Ident, Projection, Query};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const OPERATION_EVENT: &str = "__InstanceOperationEvent";
pub const CREATION_EVENT: &str = "__InstanceCreationEvent";
pub const DELETION_EVENT: &str = "__InstanceDeletionEvent";
pub const MODIFICATION_EVENT: &str = "__InstanceModificationEvent";
pub const AGGREGATE_EVENT: &str = "__AggregateEvent";
const EVENT_ROOT: &str = "__Event";

/// The shortest polling interval (`WITHIN`) accepted: each poll of a Samba
/// class runs smbstatus, so a shorter one would cost more than it tells.
pub const MIN_WITHIN: Duration = Duration::from_secs(1);
/// The longest `WITHIN` or `GROUP WITHIN` accepted (a day).
pub const MAX_WITHIN: Duration = Duration::from_secs(86_400);

/// What happened to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Creation,
    Deletion,
    Modification,
}

impl EventKind {
    /// The event class WMI reports it as.
    pub fn class_name(self) -> &'static str {
        match self {
            EventKind::Creation => CREATION_EVENT,
            EventKind::Deletion => DELETION_EVENT,
            EventKind::Modification => MODIFICATION_EVENT,
        }
    }
}

/// How many subscriptions the server keeps: per user and all users
/// together. CIM-XML counts filters, destinations and subscriptions each
/// against these; WS-Eventing its subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionLimits {
    pub per_user: usize,
    pub total: usize,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        SubscriptionLimits {
            per_user: 128,
            total: 1024,
        }
    }
}

impl SubscriptionLimits {
    /// Whether one more `what` may be made by a user who has `owned` of
    /// them, with `total` on the server: CIM_ERR_SERVER_LIMITS_EXCEEDED
    /// (WBEM_E_QUOTA_VIOLATION) when not.
    pub fn check(&self, owned: usize, total: usize, what: &str) -> Result<(), CimError> {
        if owned >= self.per_user {
            return Err(CimError::new(
                openwmi_cim::CimStatus::ServerLimitsExceeded,
                format!("a user may have {} {what} at most", self.per_user),
            ));
        }
        if total >= self.total {
            return Err(CimError::new(
                openwmi_cim::CimStatus::ServerLimitsExceeded,
                format!("the server keeps {} {what} at most", self.total),
            ));
        }
        Ok(())
    }
}

/// A change between two snapshots of a class.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub kind: EventKind,
    /// The new instance (creation, modification) or the one gone (deletion).
    pub target: InstanceWithPath,
    /// The instance before a modification.
    pub previous: Option<Arc<Instance>>,
}

/// The changes from `before` to `after`, compared by instance path:
/// creations and modifications in `after`'s order, then deletions in
/// `before`'s. An instance is modified when any property value differs
/// (WMI's rule; a counter such as ActiveTime makes one every poll).
pub fn diff(before: &[InstanceWithPath], after: &[InstanceWithPath]) -> Vec<Change> {
    let old: HashMap<&ObjectPath, &InstanceWithPath> =
        before.iter().map(|i| (&*i.path, i)).collect();
    let new: HashMap<&ObjectPath, ()> = after.iter().map(|i| (&*i.path, ())).collect();
    let mut out = Vec::new();
    for a in after {
        match old.get(&*a.path) {
            None => out.push(Change {
                kind: EventKind::Creation,
                target: a.clone(),
                previous: None,
            }),
            Some(b) if !Arc::ptr_eq(&b.instance, &a.instance) && !same_values(b, a) => {
                out.push(Change {
                    kind: EventKind::Modification,
                    target: a.clone(),
                    previous: Some(b.instance.clone()),
                })
            }
            Some(_) => {}
        }
    }
    for b in before {
        if !new.contains_key(&*b.path) {
            out.push(Change {
                kind: EventKind::Deletion,
                target: b.clone(),
                previous: None,
            });
        }
    }
    out
}

fn same_values(a: &InstanceWithPath, b: &InstanceWithPath) -> bool {
    let (a, b) = (&a.instance, &b.instance);
    a.class_name == b.class_name
        && a.properties.len() == b.properties.len()
        && a.properties
            .iter()
            .zip(&b.properties)
            .all(|(x, y)| x.name == y.name && x.value == y.value)
}

/// Windows' TIME_CREATED: 100-nanosecond intervals since 1601-01-01 UTC.
pub fn time_created(since_unix_epoch: Duration) -> u64 {
    const EPOCH_1601_TO_1970: u64 = 116_444_736_000_000_000;
    EPOCH_1601_TO_1970 + (since_unix_epoch.as_nanos() / 100) as u64
}

/// An intrinsic instance event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub change: Change,
    pub time_created: u64,
}

impl Event {
    /// The event as a condition and a printer see it: an instance of the
    /// event class with `TIME_CREATED`, `TargetInstance` (the target's path,
    /// so that `TargetInstance ISA "C"` asks about its class) and each
    /// property of the target as `TargetInstance.Name` (with `__CLASS`,
    /// `__PATH`, `__RELPATH`); the same for `PreviousInstance` on a
    /// modification.
    pub fn object(&self) -> Instance {
        let c = &self.change;
        let mut props = vec![InstanceProperty {
            name: Name::new("TIME_CREATED"),
            ty: TypeDecl::scalar(CimType::UInt64),
            value: Some(Value::UInt64(self.time_created)),
        }];
        embed(
            &mut props,
            "TargetInstance",
            &c.target.path,
            &c.target.instance,
        );
        if let Some(p) = &c.previous {
            embed(&mut props, "PreviousInstance", &c.target.path, p);
        }
        Instance {
            class_name: Name::new(c.kind.class_name()),
            properties: props,
        }
    }
}

fn embed(out: &mut Vec<InstanceProperty>, name: &str, path: &ObjectPath, inst: &Instance) {
    let string = |s: String| Some(Value::String(s.into()));
    let rel = ObjectPath {
        host: None,
        namespace: None,
        ..path.clone()
    };
    out.push(InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::reference(inst.class_name.clone()),
        value: Some(Value::Reference(Box::new(path.clone()))),
    });
    for (sys, value) in [
        ("__CLASS", string(inst.class_name.to_string())),
        ("__PATH", string(path.to_string())),
        ("__RELPATH", string(rel.to_string())),
    ] {
        out.push(InstanceProperty {
            name: Name::new(&format!("{name}.{sys}")),
            ty: TypeDecl::scalar(CimType::String),
            value,
        });
    }
    for p in &inst.properties {
        out.push(InstanceProperty {
            name: Name::new(&format!("{name}.{}", p.name)),
            ty: p.ty.clone(),
            value: p.value.clone(),
        });
    }
}

/// A checked event query: what to poll, how often, and what to report.
#[derive(Clone, Debug)]
pub struct EventQuery {
    /// The namespace as given.
    pub namespace: String,
    /// The canonical text of the query.
    pub text: String,
    /// The class in FROM (`__InstanceCreationEvent`, ...).
    pub event_class: Name,
    /// The class in `TargetInstance ISA "C"`: what is polled (with its subclasses).
    pub target_class: Name,
    /// WITHIN: how often the target class is polled.
    pub interval: Duration,
    pub projection: Projection,
    pub condition: Option<Expr>,
    pub group: Option<GroupWithin>,
    kinds: Vec<EventKind>,
}

fn invalid(what: impl Into<String>) -> CimError {
    CimError::invalid_query(what)
}

/// The error ExecQuery gives for an event query: it has no instances to
/// return, events are received by subscribing (`openwmi watch`, an indication
/// subscription).
pub fn exec_query_refusal() -> CimError {
    invalid(
        "an event query (WITHIN, GROUP WITHIN) is not a data query: subscribe to it \
         (openwmi watch, or an indication subscription) instead of running it",
    )
}

fn seconds(s: f64, clause: &str) -> Result<Duration, CimError> {
    let d = Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX);
    if d > MAX_WITHIN {
        return Err(invalid(format!(
            "{clause} {s} is longer than the longest interval accepted, {} seconds",
            MAX_WITHIN.as_secs()
        )));
    }
    Ok(d)
}

/// The class a condition's `TargetInstance ISA "C"` names: the condition
/// itself or a term of its top-level AND.
fn isa_target(cond: &Expr) -> Option<&Ident> {
    let terms = match &cond.kind {
        ExprKind::And(t) => t.as_slice(),
        _ => std::slice::from_ref(cond),
    };
    terms.iter().find_map(|t| match &t.kind {
        ExprKind::Isa { property, class } if property.is("TargetInstance") => Some(class),
        _ => None,
    })
}

impl EventQuery {
    /// Checks an event query as WMI does before accepting a subscription.
    /// Errors, in the order they are checked:
    /// - a language other than WQL: CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED;
    ///   text that is no WQL, or no SELECT: CIM_ERR_INVALID_QUERY;
    /// - the namespace: CIM_ERR_INVALID_NAMESPACE, or ACCESS_DENIED;
    /// - a FROM class that does not exist: CIM_ERR_INVALID_CLASS
    ///   (WBEM_E_INVALID_CLASS); one that is no event class:
    ///   CIM_ERR_INVALID_CLASS carrying Windows' WBEM_E_NOT_EVENT_CLASS
    ///   (0x80041059);
    /// - no `TargetInstance ISA "C"`: CIM_ERR_INVALID_QUERY (the set of
    ///   classes to poll cannot be told); an ISA class that does not exist:
    ///   CIM_ERR_INVALID_CLASS;
    /// - no WITHIN: CIM_ERR_INVALID_QUERY carrying Windows'
    ///   WBEMESS_E_REGISTRATION_TOO_PRECISE (0x80042002, "a WITHIN clause
    ///   was not used"), as no event provider serves the classes openwmi
    ///   polls; a WITHIN below [`MIN_WITHIN`]: CIM_ERR_INVALID_QUERY;
    /// - a property that neither the event class nor the target class has:
    ///   CIM_ERR_INVALID_QUERY (WBEM_E_INVALID_QUERY);
    /// - the caller may not read the target class: CIM_ERR_ACCESS_DENIED.
    pub fn compile(
        om: &ObjectManager,
        ctx: &OperationContext,
        namespace: &str,
        language: &str,
        text: &str,
    ) -> Result<EventQuery, CimError> {
        openwmi_wql::check_language(language).map_err(wql_error)?;
        let query = openwmi_wql::parse(text).map_err(wql_error)?;
        let Query::Select(sel) = query else {
            return Err(invalid(
                "an event query is a SELECT: SELECT * FROM __InstanceCreationEvent WITHIN 10 \
                 WHERE TargetInstance ISA \"Win32_ServerConnection\"",
            ));
        };
        let ns = om.namespace(ctx, namespace)?;
        let event_class = om.class_in(ns, sel.from.name.as_str())?;
        let from = event_class.name.clone();
        if !ns.is_subclass_of(from.as_str(), EVENT_ROOT) {
            return Err(CimError::invalid_class(format!(
                "{from} is not an event class: an event query \
                 selects from __InstanceCreationEvent, __InstanceDeletionEvent, \
                 __InstanceModificationEvent or __InstanceOperationEvent"
            ))
            .with_wbem(WbemStatus::NotEventClass));
        }
        let kinds: Vec<EventKind> = [
            EventKind::Creation,
            EventKind::Deletion,
            EventKind::Modification,
        ]
        .into_iter()
        .filter(|k| ns.is_subclass_of(k.class_name(), from.as_str()))
        .collect();
        if kinds.is_empty() || !ns.is_subclass_of(from.as_str(), OPERATION_EVENT) {
            return Err(invalid(format!(
                "no event provider serves {from}: openwmi makes the intrinsic instance \
                 events (__InstanceCreationEvent, __InstanceDeletionEvent, \
                 __InstanceModificationEvent, __InstanceOperationEvent)"
            )));
        }
        let Some(isa) = sel.condition.as_ref().and_then(isa_target) else {
            return Err(invalid(
                "the query must say which class it watches: WHERE TargetInstance ISA \
                 \"Class\" (alone or in an AND)",
            ));
        };
        let target = om.class_in(ns, isa.name.as_str())?;
        let Some(within) = &sel.within else {
            return Err(invalid(format!(
                "a WITHIN clause is needed: no event \
                 provider serves {}, so its instances are polled every WITHIN seconds",
                target.name
            ))
            .with_wbem(WbemStatus::RegistrationTooPrecise));
        };
        let interval = seconds(within.seconds(), "WITHIN")?;
        if interval < MIN_WITHIN {
            return Err(invalid(format!(
                "WITHIN {} is below the shortest polling interval, {} second",
                within,
                MIN_WITHIN.as_secs()
            )));
        }
        if let Some(g) = &sel.group {
            let w = seconds(g.within.seconds(), "GROUP WITHIN")?;
            if w < interval {
                return Err(invalid(format!(
                    "GROUP WITHIN {} is shorter than WITHIN {within}",
                    g.within
                )));
            }
        }
        let check = |p: &Ident| check_property(ns, &from, &kinds, &target.name, p);
        if let Projection::Properties(props) = &sel.projection {
            props.iter().try_for_each(check)?;
        }
        if let Some(cond) = &sel.condition {
            let mut first_err = None;
            cond.visit_properties(&mut |p| {
                if first_err.is_none() {
                    first_err = check(p).err();
                }
            });
            if let Some(e) = first_err {
                return Err(e);
            }
        }
        if let Some(g) = &sel.group {
            g.by.iter().try_for_each(check)?;
            if let Some(h) = &g.having {
                let mut first_err = None;
                h.visit_properties(&mut |p| {
                    if first_err.is_none()
                        && !p.is("NumberOfEvents")
                        && !p.name.as_str().starts_with("__")
                    {
                        first_err = Some(invalid(format!(
                            "HAVING may test NumberOfEvents only, not {}",
                            p.name
                        )));
                    }
                });
                if let Some(e) = first_err {
                    return Err(e);
                }
            }
        }
        om.check_instance_access(ctx, ns.name(), target.name.as_str())?;
        Ok(EventQuery {
            namespace: namespace.to_owned(),
            text: sel.to_string(),
            event_class: from,
            target_class: target.name.clone(),
            interval,
            projection: sel.projection.clone(),
            condition: sel.condition.clone(),
            group: sel.group.clone(),
            kinds,
        })
    }

    /// `SELECT *`: every property of the event.
    pub fn selects_all(&self) -> bool {
        matches!(self.projection, Projection::All)
    }

    /// Whether the query reports `kind` at all (from its FROM class).
    pub fn wants(&self, kind: EventKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Whether `event` (made by [`Event::object`]) passes the query.
    pub fn matches(&self, kind: EventKind, event: &Instance, ns: &Namespace) -> bool {
        self.wants(kind)
            && self
                .condition
                .as_ref()
                .is_none_or(|c| openwmi_wql::evaluate(c, event, ns))
    }

    /// The event with only the properties the SELECT list names.
    pub fn project(&self, mut event: Instance) -> Instance {
        if let Projection::Properties(props) = &self.projection {
            let names: Vec<Name> = props.iter().map(|p| p.name.clone()).collect();
            event.retain_properties(&names);
        }
        event
    }
}

/// Whether `p` is a property an event query may name: one of the event
/// class (`TIME_CREATED`, `TargetInstance`, ...), a system property, or a
/// member of `TargetInstance` (or `PreviousInstance`, when the query
/// reports modifications: NULL on its other events) that the target class
/// has.
fn check_property(
    ns: &Namespace,
    event: &Name,
    kinds: &[EventKind],
    target: &Name,
    p: &Ident,
) -> Result<(), CimError> {
    let unknown = |what: String| invalid(format!("{what} (WBEM_E_INVALID_QUERY)"));
    let Some(event_class) = ns.class(event.as_str()) else {
        return Err(unknown(format!("no class {event}")));
    };
    match p.member() {
        None => {
            if p.name.as_str().starts_with("__") || event_class.property(p.name.as_str()).is_some()
            {
                Ok(())
            } else {
                Err(unknown(format!("class {event} has no property {}", p.name)))
            }
        }
        Some((object, member)) => {
            let embedded_in = |class: &str| {
                ns.class(class).is_some_and(|c| {
                    c.property(object)
                        .is_some_and(|d| d.qualifiers.iter().any(|q| q.name.is("EmbeddedObject")))
                })
            };
            let embedded =
                embedded_in(event.as_str()) || kinds.iter().any(|k| embedded_in(k.class_name()));
            if !embedded {
                return Err(unknown(format!(
                    "{object} is not an embedded object of {event}"
                )));
            }
            let has = member.starts_with("__")
                || ns
                    .class(target.as_str())
                    .is_some_and(|c| c.property(member).is_some());
            if has {
                Ok(())
            } else {
                Err(unknown(format!("class {target} has no property {member}")))
            }
        }
    }
}

/// The `GROUP WITHIN` window of one subscription: counts the events that
/// passed the query, per distinct BY values, and when the window closes
/// makes one `__AggregateEvent` per group that passes HAVING.
#[derive(Debug)]
pub struct Aggregator {
    group: GroupWithin,
    window: Duration,
    /// Per distinct BY values, in order of first event: the count and the
    /// first event (the representative).
    groups: Vec<(Vec<Option<Value>>, u32, Instance)>,
}

impl Aggregator {
    pub fn new(group: &GroupWithin) -> Aggregator {
        Aggregator {
            group: group.clone(),
            window: Duration::try_from_secs_f64(group.within.seconds()).unwrap_or(MAX_WITHIN),
            groups: Vec::new(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Counts an event (as [`Event::object`] makes it).
    pub fn add(&mut self, event: &Instance) {
        let key: Vec<Option<Value>> = self
            .group
            .by
            .iter()
            .map(|p| event.value(p.name.as_str()).cloned())
            .collect();
        match self.groups.iter_mut().find(|(k, _, _)| same_key(k, &key)) {
            Some(g) => g.1 = g.1.saturating_add(1),
            None => self.groups.push((key, 1, event.clone())),
        }
    }

    /// Closes the window: the aggregate events (NumberOfEvents, the BY
    /// properties under their names, Representative as the path of the
    /// first event's target), and starts the next.
    pub fn close(&mut self, ns: &Namespace) -> Vec<Instance> {
        let mut out = Vec::new();
        for (key, count, first) in self.groups.drain(..) {
            let mut props = vec![InstanceProperty {
                name: Name::new("NumberOfEvents"),
                ty: TypeDecl::scalar(CimType::UInt32),
                value: Some(Value::UInt32(count)),
            }];
            if let Some(t) = first.property("TargetInstance") {
                props.push(InstanceProperty {
                    name: Name::new("Representative"),
                    ty: t.ty.clone(),
                    value: t.value.clone(),
                });
            }
            for (p, v) in self.group.by.iter().zip(key) {
                let ty = first
                    .property(p.name.as_str())
                    .map_or(TypeDecl::scalar(CimType::String), |q| q.ty.clone());
                props.push(InstanceProperty {
                    name: p.name.clone(),
                    ty,
                    value: v,
                });
            }
            let agg = Instance {
                class_name: Name::new(AGGREGATE_EVENT),
                properties: props,
            };
            let pass = self
                .group
                .having
                .as_ref()
                .is_none_or(|h| openwmi_wql::evaluate(h, &agg, ns));
            if pass {
                out.push(agg);
            }
        }
        out
    }
}

/// BY values compare as WQL compares strings: without case.
fn same_key(a: &[Option<Value>], b: &[Option<Value>]) -> bool {
    a.iter().zip(b).all(|(x, y)| match (x, y) {
        (Some(Value::String(x)), Some(Value::String(y))) => x.eq_ignore_ascii_case(y),
        _ => x == y,
    })
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
