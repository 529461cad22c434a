//! The event poller over a provider whose instances change: events reach
//! every subscription, one snapshot per poll is shared by all of them, the
//! subscriber's permissions are checked, and the poll thread ends with the
//! last subscription.

use openwmi_cim::{CimError, CimStatus, Instance, Value};
use openwmi_cimom::bundled::bundled_repository;
use openwmi_cimom::events::EventQuery;
use openwmi_cimom::{
    AccessPolicy, EnumerateRequest, EventPoller, EventSink, InstanceProvider, InstanceStream,
    ObjectManager, ObjectManagerBuilder, OperationContext,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Connections {
    now: Mutex<Vec<Arc<Instance>>>,
    calls: AtomicU64,
    failing: AtomicBool,
}

impl InstanceProvider for Connections {
    fn name(&self) -> &str {
        "test"
    }
    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(CimError::failed("smbstatus failed"));
        }
        assert_eq!(req.class.name.as_str(), "Win32_ServerConnection");
        let v = self.now.lock().unwrap().clone();
        Ok(Box::new(v.into_iter().map(Ok)))
    }
}

/// Everyone may read everything but `eve`, who may not read Win32_ServerConnection
/// while `deny` is set.
struct Policy {
    deny: Arc<AtomicBool>,
}

impl AccessPolicy for Policy {
    fn check_namespace(&self, _: &OperationContext, _: &str) -> Result<(), CimError> {
        Ok(())
    }
    fn check_class(&self, ctx: &OperationContext, _: &str, class: &str) -> Result<(), CimError> {
        if ctx.user.as_deref() == Some("eve")
            && class.eq_ignore_ascii_case("Win32_ServerConnection")
            && self.deny.load(Ordering::SeqCst)
        {
            return Err(CimError::access_denied("eve may not read sessions"));
        }
        Ok(())
    }
    fn check_method(
        &self,
        ctx: &OperationContext,
        _: &str,
        class: &str,
        method: &str,
    ) -> Result<(), CimError> {
        openwmi_cimom::local_caller_only(ctx, class, method)
    }
}

struct Channel(Mutex<Sender<Result<Instance, CimStatus>>>);

impl EventSink for Channel {
    fn deliver(&self, event: Instance) -> bool {
        self.0.lock().unwrap().send(Ok(event)).is_ok()
    }
    fn failed(&self, error: &CimError) -> bool {
        self.0.lock().unwrap().send(Err(error.status)).is_ok()
    }
}

fn sink() -> (Arc<Channel>, Receiver<Result<Instance, CimStatus>>) {
    let (tx, rx) = channel();
    (Arc::new(Channel(Mutex::new(tx))), rx)
}

fn setup() -> (ObjectManager, Arc<Connections>, Arc<AtomicBool>) {
    let provider = Arc::new(Connections::default());
    let deny = Arc::new(AtomicBool::new(true));
    let mut b = ObjectManagerBuilder::new(bundled_repository().unwrap(), "HOST");
    b.register("root/cimv2", "Win32_ServerConnection", provider.clone());
    b.access_policy(Arc::new(Policy { deny: deny.clone() }));
    (b.build(), provider, deny)
}

fn connection(om: &ObjectManager, user: &str, files: u32) -> Arc<Instance> {
    let ns = om.repository().namespace("root/cimv2").unwrap();
    let class = ns.class("Win32_ServerConnection").unwrap();
    Arc::new(
        Instance::of_class(&class)
            .with("ComputerName", Value::from("10.0.0.5"))
            .with("ShareName", Value::from("public"))
            .with("UserName", Value::from(user))
            .with("NumberOfFiles", Value::UInt32(files)),
    )
}

fn query(om: &ObjectManager, ctx: &OperationContext, text: &str, ms: u64) -> EventQuery {
    let mut q = EventQuery::compile(om, ctx, "root/cimv2", "WQL", text).unwrap();
    // Shorter than WITHIN allows, to keep the test short.
    q.interval = Duration::from_millis(ms);
    q
}

fn next(rx: &Receiver<Result<Instance, CimStatus>>) -> Result<Instance, CimStatus> {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("an event within 20 s")
}

fn value(i: &Instance, p: &str) -> Value {
    i.value(p)
        .cloned()
        .unwrap_or_else(|| panic!("no {p}: {i:?}"))
}

#[test]
fn subscriptions_share_snapshots_and_see_every_change() {
    let (om, provider, deny) = setup();
    let poller = EventPoller::new(om.clone());
    let local = Arc::new(OperationContext::local());
    let all = query(
        &om,
        &local,
        "SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA \
         'Win32_ServerConnection'",
        40,
    );
    let created = query(
        &om,
        &local,
        "SELECT TargetInstance.UserName FROM __InstanceCreationEvent WITHIN 2 WHERE \
         TargetInstance ISA 'Win32_ServerConnection' AND TargetInstance.UserName <> 'skip'",
        80,
    );
    let (s1, rx1) = sink();
    let (s2, rx2) = sink();
    let sub1 = poller.subscribe(all, local.clone(), s1).unwrap();
    let sub2 = poller.subscribe(created, local.clone(), s2).unwrap();
    assert_eq!(poller.polled_classes(), 1);

    provider
        .now
        .lock()
        .unwrap()
        .push(connection(&om, "alice", 0));
    let e = next(&rx1).unwrap();
    assert_eq!(e.class_name.as_str(), "__InstanceCreationEvent");
    assert_eq!(value(&e, "TargetInstance.UserName"), Value::from("alice"));
    let e = next(&rx2).unwrap();
    assert_eq!(e.properties.len(), 1, "{e:?}");
    assert_eq!(value(&e, "TargetInstance.UserName"), Value::from("alice"));

    provider.now.lock().unwrap()[0] = connection(&om, "alice", 3);
    let e = next(&rx1).unwrap();
    assert_eq!(e.class_name.as_str(), "__InstanceModificationEvent");
    assert_eq!(value(&e, "TargetInstance.NumberOfFiles"), Value::UInt32(3));
    assert_eq!(
        value(&e, "PreviousInstance.NumberOfFiles"),
        Value::UInt32(0)
    );

    // A failing source is reported and makes no deletion.
    provider.failing.store(true, Ordering::SeqCst);
    assert_eq!(next(&rx1), Err(CimStatus::Failed));
    provider.failing.store(false, Ordering::SeqCst);

    provider
        .now
        .lock()
        .unwrap()
        .push(connection(&om, "skip", 0));
    provider.now.lock().unwrap().remove(0);
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        if let Ok(e) = next(&rx1) {
            kinds.push(e.class_name.to_string());
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        ["__InstanceCreationEvent", "__InstanceDeletionEvent"]
    );
    // The second subscription filtered the creation of "skip" and never
    // sees deletions or modifications.
    assert!(rx2
        .recv_timeout(Duration::from_millis(300))
        .map_or(true, |r| r.is_err()));

    // One snapshot per poll, whatever the number of subscriptions.
    assert_eq!(
        provider.calls.load(Ordering::SeqCst),
        poller.snapshots_taken()
    );

    // A subscriber without the right gets refused; losing it later gets an
    // error, once, and no events.
    let eve = Arc::new(OperationContext::for_user("eve", Vec::<String>::new()));
    let (s3, _rx3) = sink();
    let q = query(
        &om,
        &local,
        "SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA \
         'Win32_ServerConnection'",
        40,
    );
    let e = poller.subscribe(q.clone(), eve.clone(), s3).unwrap_err();
    assert_eq!(e.status, CimStatus::AccessDenied);
    deny.store(false, Ordering::SeqCst);
    let (s4, rx4) = sink();
    let sub4 = poller.subscribe(q, eve, s4).unwrap();
    deny.store(true, Ordering::SeqCst);
    provider.now.lock().unwrap().push(connection(&om, "bob", 0));
    assert_eq!(next(&rx4), Err(CimStatus::AccessDenied));
    assert!(rx4.recv_timeout(Duration::from_millis(300)).is_err());
    assert!(next(&rx1).is_ok());

    drop((sub1, sub2, sub4));
    for _ in 0..200 {
        if poller.polled_classes() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the poll thread did not end with its last subscription");
}
