//! The indication service through the object manager: who sees and
//! removes what (owners, administrators), SubscriptionDuration,
//! SubscriptionState Disabled, and OnFatalErrorPolicy when a listener is
//! gone for good.

use openwmi_cim::{CimError, CimStatus, Instance, ObjectPath, Value};
use openwmi_cimom::bundled::bundled_repository;
use openwmi_cimom::{
    EnumOptions, EnumerateRequest, InstanceProvider, InstanceStream, ObjectManager,
    ObjectManagerBuilder, OperationContext,
};
use openwmi_indications::{DeliveryPolicy, IndicationConfig, Indications};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const INTEROP: &str = "root/interop";
const QUERY: &str =
    "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Share'";

/// Win32_Share instances a test adds to.
#[derive(Default)]
struct Shares(Mutex<Vec<Arc<Instance>>>);

impl InstanceProvider for Shares {
    fn name(&self) -> &str {
        "test shares"
    }
    fn enumerate(&self, _: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let v = self.0.lock().unwrap().clone();
        Ok(Box::new(v.into_iter().map(Ok)))
    }
}

struct Service {
    om: ObjectManager,
    ind: Indications,
    shares: Arc<Shares>,
}

fn service(delivery: DeliveryPolicy) -> Service {
    let repo = bundled_repository().unwrap();
    let mut b = ObjectManagerBuilder::new(repo, "HOST");
    let shares = Arc::new(Shares::default());
    b.register("root/cimv2", "Win32_Share", shares.clone());
    let ind = Indications::install(
        &mut b,
        IndicationConfig {
            delivery,
            ..IndicationConfig::default()
        },
    )
    .unwrap();
    let om = b.build();
    ind.start(om.clone());
    Service { om, ind, shares }
}

fn user(name: &str, groups: &[&str]) -> OperationContext {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    OperationContext::for_user(name, groups)
}

impl Service {
    fn new_instance(&self, class: &str) -> Instance {
        let c = self
            .om
            .repository()
            .namespace(INTEROP)
            .unwrap()
            .class(class)
            .unwrap();
        Instance::of_class(&c)
    }

    fn filter(&self, ctx: &OperationContext, name: &str) -> ObjectPath {
        let mut i = self.new_instance("CIM_IndicationFilter");
        i.set("Name", Some(Value::from(name))).unwrap();
        i.set("Query", Some(Value::from(QUERY))).unwrap();
        i.set("QueryLanguage", Some(Value::from("WQL"))).unwrap();
        self.om.create_instance(ctx, INTEROP, &i).unwrap()
    }

    fn destination(&self, ctx: &OperationContext, name: &str, url: &str) -> ObjectPath {
        let mut i = self.new_instance("CIM_ListenerDestinationCIMXML");
        i.set("Name", Some(Value::from(name))).unwrap();
        i.set("Destination", Some(Value::from(url))).unwrap();
        self.om.create_instance(ctx, INTEROP, &i).unwrap()
    }

    fn subscribe(
        &self,
        ctx: &OperationContext,
        filter: &ObjectPath,
        dest: &ObjectPath,
        props: &[(&str, Value)],
    ) -> Result<ObjectPath, CimError> {
        let mut i = self.new_instance("CIM_IndicationSubscription");
        i.set("Filter", Some(Value::Reference(Box::new(filter.clone()))))
            .unwrap();
        i.set("Handler", Some(Value::Reference(Box::new(dest.clone()))))
            .unwrap();
        for (k, v) in props {
            i.set(k, Some(v.clone())).unwrap();
        }
        self.om.create_instance(ctx, INTEROP, &i)
    }

    fn list(&self, ctx: &OperationContext, class: &str) -> Vec<Arc<Instance>> {
        self.om
            .enumerate_instances(
                &Arc::new(ctx.clone_for_test()),
                INTEROP,
                class,
                &EnumOptions::default(),
            )
            .unwrap()
            .map(|i| i.unwrap().instance)
            .collect()
    }

    fn names(&self, ctx: &OperationContext, class: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .list(ctx, class)
            .iter()
            .map(|i| match i.value("Name") {
                Some(Value::String(s)) => s.to_string(),
                _ => String::new(),
            })
            .collect();
        v.sort();
        v
    }

    fn add_share(&self, name: &str) {
        let c = self
            .om
            .repository()
            .namespace("root/cimv2")
            .unwrap()
            .class("Win32_Share")
            .unwrap();
        let mut i = Instance::of_class(&c);
        i.set("Name", Some(Value::from(name))).unwrap();
        self.shares.0.lock().unwrap().push(Arc::new(i));
    }
}

trait CloneForTest {
    fn clone_for_test(&self) -> OperationContext;
}

impl CloneForTest for OperationContext {
    fn clone_for_test(&self) -> OperationContext {
        match self.user.as_deref() {
            Some(u) => OperationContext::for_user(u, self.groups.to_vec()),
            None => OperationContext::local(),
        }
    }
}

fn u16_prop(i: &Instance, name: &str) -> Option<u16> {
    match i.value(name) {
        Some(Value::UInt16(v)) => Some(*v),
        _ => None,
    }
}

fn u64_prop(i: &Instance, name: &str) -> Option<u64> {
    match i.value(name) {
        Some(Value::UInt64(v)) => Some(*v),
        _ => None,
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn administrators_see_and_remove_every_users_subscriptions() {
    let s = service(DeliveryPolicy::default());
    let (alice, bob) = (user("alice", &[]), user("bob", &["staff"]));
    let fa = s.filter(&alice, "fa");
    let da = s.destination(&alice, "da", "http://127.0.0.1:9");
    s.subscribe(&alice, &fa, &da, &[]).unwrap();
    let fb = s.filter(&bob, "fb");
    let db = s.destination(&bob, "db", "http://127.0.0.1:9");
    let sb = s.subscribe(&bob, &fb, &db, &[]).unwrap();

    // Others: only their own.
    assert_eq!(s.names(&alice, "CIM_IndicationFilter"), ["fa"]);
    assert_eq!(s.names(&bob, "CIM_ListenerDestinationCIMXML"), ["db"]);
    assert_eq!(s.list(&bob, "CIM_IndicationSubscription").len(), 1);
    let e = s.om.delete_instance(&alice, INTEROP, &sb).unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);
    let e = s.om.get_instance(&alice, INTEROP, &fb, None).unwrap_err();
    assert_eq!(e.status, CimStatus::NotFound);

    // root and the group openwmi-admins: everyone's.
    let root = user("root", &[]);
    let admin = user("carol", &["staff", "openwmi-admins"]);
    for a in [&root, &admin] {
        assert_eq!(s.names(a, "CIM_IndicationFilter"), ["fa", "fb"]);
        assert_eq!(s.names(a, "CIM_ListenerDestinationCIMXML"), ["da", "db"]);
        assert_eq!(s.list(a, "CIM_IndicationSubscription").len(), 2);
        s.om.get_instance(a, INTEROP, &fb, None).unwrap();
    }
    s.om.delete_instance(&admin, INTEROP, &sb).unwrap();
    s.om.delete_instance(&admin, INTEROP, &fb).unwrap();
    s.om.delete_instance(&root, INTEROP, &db).unwrap();
    assert!(s.names(&bob, "CIM_IndicationFilter").is_empty());
    assert_eq!(s.names(&admin, "CIM_IndicationFilter"), ["fa"]);
    assert_eq!(s.ind.active_subscriptions(), 1);
}

#[test]
fn a_subscription_ends_when_its_duration_runs_out() {
    let s = service(DeliveryPolicy::default());
    let alice = user("alice", &[]);
    let f = s.filter(&alice, "f");
    let d = s.destination(&alice, "d", "http://127.0.0.1:9");
    let e = s
        .subscribe(
            &alice,
            &f,
            &d,
            &[("SubscriptionDuration", Value::UInt64(0))],
        )
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidParameter);
    s.subscribe(
        &alice,
        &f,
        &d,
        &[("SubscriptionDuration", Value::UInt64(2))],
    )
    .unwrap();
    let [sub] = &s.list(&alice, "CIM_IndicationSubscription")[..] else {
        panic!("one subscription")
    };
    assert_eq!(u64_prop(sub, "SubscriptionDuration"), Some(2));
    assert!(u64_prop(sub, "SubscriptionTimeRemaining").is_some_and(|r| r <= 2));
    assert!(sub.value("SubscriptionStartTime").is_some());
    assert_eq!(u16_prop(sub, "SubscriptionState"), Some(2));
    wait_for("the subscription to end", || {
        s.list(&alice, "CIM_IndicationSubscription").is_empty()
    });
    assert_eq!(s.ind.active_subscriptions(), 0);
    // The filter and the destination stay.
    assert_eq!(s.names(&alice, "CIM_IndicationFilter"), ["f"]);
}

#[test]
fn a_disabled_subscription_delivers_nothing() {
    let s = service(DeliveryPolicy::default());
    let alice = user("alice", &[]);
    let f = s.filter(&alice, "f");
    let d = s.destination(&alice, "d", "http://127.0.0.1:9");
    let e = s
        .subscribe(&alice, &f, &d, &[("SubscriptionState", Value::UInt16(3))])
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidParameter);
    let e = s
        .subscribe(&alice, &f, &d, &[("OnFatalErrorPolicy", Value::UInt16(1))])
        .unwrap_err();
    assert_eq!(e.status, CimStatus::InvalidParameter);
    s.subscribe(&alice, &f, &d, &[("SubscriptionState", Value::UInt16(4))])
        .unwrap();
    assert_eq!(s.ind.active_subscriptions(), 0);
    let [sub] = &s.list(&alice, "CIM_IndicationSubscription")[..] else {
        panic!("one subscription")
    };
    assert_eq!(u16_prop(sub, "SubscriptionState"), Some(4));
    // The default policy: 2 (Ignore).
    assert_eq!(u16_prop(sub, "OnFatalErrorPolicy"), Some(2));
}

#[test]
fn on_fatal_error_policy_ignore_disable_remove() {
    // A port nothing listens on: every delivery fails at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = service(DeliveryPolicy {
        retry_attempts: 0,
        retry_interval: Duration::from_millis(10),
        ..DeliveryPolicy::default()
    });
    let alice = user("alice", &[]);
    let d = s.destination(&alice, "gone", &format!("http://127.0.0.1:{port}"));
    for (name, policy) in [("ignore", 2u16), ("disable", 3), ("remove", 4)] {
        let f = s.filter(&alice, name);
        s.subscribe(
            &alice,
            &f,
            &d,
            &[("OnFatalErrorPolicy", Value::UInt16(policy))],
        )
        .unwrap();
    }
    assert_eq!(s.ind.active_subscriptions(), 3);
    s.add_share("new");
    wait_for("the policies to apply", || {
        s.list(&alice, "CIM_IndicationSubscription").len() == 2 && s.ind.active_subscriptions() == 1
    });
    let subs = s.list(&alice, "CIM_IndicationSubscription");
    let mut states: Vec<(u16, u16)> = subs
        .iter()
        .map(|i| {
            (
                u16_prop(i, "OnFatalErrorPolicy").unwrap(),
                u16_prop(i, "SubscriptionState").unwrap(),
            )
        })
        .collect();
    states.sort();
    // Ignore: still enabled; Disable: disabled; Remove: gone.
    assert_eq!(states, [(2, 2), (3, 4)]);
}
