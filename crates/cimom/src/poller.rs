//! The poller behind event subscriptions: one snapshot of a class per
//! interval, shared by every subscription that watches the class (the
//! shortest WITHIN among them sets the interval), compared with the last
//! one ([`crate::events::diff`]), and the events that pass each
//! subscription's query handed to its [`EventSink`].
//!
//! A snapshot is taken as the local caller; each subscriber's own
//! permissions on the class are checked again at every delivery, so a
//! subscriber who lost a right gets an error instead of events. A failed
//! snapshot is reported to the subscribers and changes nothing: the next
//! good one is compared with the last good one, so a source that fails for
//! a while makes no false deletions.
//!
//! One thread per watched class; it ends with the last subscription.

use crate::context::OperationContext;
use crate::events::{diff, time_created, Aggregator, Change, Event, EventQuery};
use crate::manager::{EnumOptions, InstanceWithPath, ObjectManager};
use openwmi_cim::{CimError, Instance, Name};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

/// Where a subscription's events go.
pub trait EventSink: Send + Sync {
    /// An event that passed the query, with the properties its SELECT list
    /// names. `false` ends the subscription (the receiver is gone).
    fn deliver(&self, event: Instance) -> bool;
    /// An intrinsic event with its change (the target instance as its
    /// provider gave it) and TIME_CREATED, for sinks that encode embedded
    /// objects; `row` is what [`EventSink::deliver`] would get, which the
    /// default hands it.
    fn deliver_change(&self, change: &Change, time_created: u64, row: Instance) -> bool {
        let _ = (change, time_created);
        self.deliver(row)
    }
    /// A poll failed, or the subscriber may no longer read the class; the
    /// subscription stays. `false` ends it.
    fn failed(&self, error: &CimError) -> bool {
        let _ = error;
        true
    }
}

/// The classes being polled, by (namespace, class), both lower case.
type Groups = HashMap<(String, String), Arc<Group>>;

/// The event subscriptions of one object manager.
#[derive(Clone)]
pub struct EventPoller {
    om: ObjectManager,
    groups: Arc<Mutex<Groups>>,
    next_id: Arc<AtomicU64>,
    /// Snapshots taken, all classes together (for tests and benchmarks).
    snapshots: Arc<AtomicU64>,
}

impl std::fmt::Debug for EventPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPoller").finish_non_exhaustive()
    }
}

/// A live subscription; dropping it ends it.
pub struct Subscription {
    id: u64,
    group: Arc<Group>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut st = self.group.lock();
        st.subs.retain(|s| s.id != self.id);
        self.group.wake.notify_all();
    }
}

struct Group {
    namespace: String,
    class: Name,
    state: Mutex<GroupState>,
    wake: Condvar,
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct GroupState {
    subs: Vec<Sub>,
    /// The last good snapshot.
    snapshot: Vec<InstanceWithPath>,
}

struct Sub {
    id: u64,
    query: Arc<EventQuery>,
    ctx: Arc<OperationContext>,
    sink: Arc<dyn EventSink>,
    /// GROUP WITHIN: the window and when it closes.
    aggregator: Option<(Aggregator, Instant)>,
    /// Access was refused at the last poll (reported once, until it returns).
    denied: bool,
}

impl EventPoller {
    pub fn new(om: ObjectManager) -> EventPoller {
        EventPoller {
            om,
            groups: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            snapshots: Arc::default(),
        }
    }

    /// How many snapshots the poller has taken so far.
    pub fn snapshots_taken(&self) -> u64 {
        self.snapshots.load(Ordering::Relaxed)
    }

    /// How many classes are being polled now.
    pub fn polled_classes(&self) -> usize {
        self.lock_groups().len()
    }

    fn lock_groups(&self) -> MutexGuard<'_, Groups> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes `sink` to `query` for the caller of `ctx`. The first
    /// subscription to a class takes its first snapshot now (its failure is
    /// this call's error); events are the changes after it.
    pub fn subscribe(
        &self,
        query: EventQuery,
        ctx: Arc<OperationContext>,
        sink: Arc<dyn EventSink>,
    ) -> Result<Subscription, CimError> {
        self.om
            .check_instance_access(&ctx, &query.namespace, query.target_class.as_str())?;
        let ns = self
            .om
            .repository()
            .namespace(&query.namespace)
            .ok_or_else(|| CimError::invalid_namespace(query.namespace.clone()))?;
        let key = (
            ns.name().to_ascii_lowercase(),
            query.target_class.as_str().to_ascii_lowercase(),
        );
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let aggregator = query.group.as_ref().map(|g| {
            let a = Aggregator::new(g);
            let until = Instant::now() + a.window();
            (a, until)
        });
        let sub = Sub {
            id,
            query: Arc::new(query),
            ctx,
            sink,
            aggregator,
            denied: false,
        };
        let mut groups = self.lock_groups();
        if let Some(g) = groups.get(&key) {
            g.lock().subs.push(sub);
            g.wake.notify_all();
            return Ok(Subscription {
                id,
                group: g.clone(),
            });
        }
        let group = Arc::new(Group {
            namespace: ns.name().to_owned(),
            class: sub.query.target_class.clone(),
            state: Mutex::new(GroupState {
                subs: Vec::new(),
                snapshot: Vec::new(),
            }),
            wake: Condvar::new(),
        });
        let first = self.snapshot(&group)?;
        {
            let mut st = group.lock();
            st.snapshot = first;
            st.subs.push(sub);
        }
        groups.insert(key.clone(), group.clone());
        drop(groups);
        let poller = self.clone();
        let g = group.clone();
        let k = key.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("poll {}", group.class))
            .spawn(move || poller.run(k, g));
        if let Err(e) = spawned {
            self.lock_groups().remove(&key);
            return Err(CimError::failed(format!("cannot start the poller: {e}")));
        }
        Ok(Subscription { id, group })
    }

    fn snapshot(&self, g: &Group) -> Result<Vec<InstanceWithPath>, CimError> {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        let ctx = Arc::new(OperationContext::local());
        self.om
            .enumerate_instances(
                &ctx,
                &g.namespace,
                g.class.as_str(),
                &EnumOptions::default(),
            )?
            .collect()
    }

    /// The thread of one class: wait for the next poll (the shortest
    /// interval of the subscriptions, re-read when they change), poll, hand
    /// out; end with the last subscription.
    fn run(&self, key: (String, String), g: Arc<Group>) {
        let mut last = Instant::now();
        loop {
            {
                let mut st = g.lock();
                while let Some(interval) = st.subs.iter().map(|s| s.query.interval).min() {
                    let due = last + interval;
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    st = g
                        .wake
                        .wait_timeout(st, due - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                if st.subs.is_empty() {
                    drop(st);
                    let mut groups = self.lock_groups();
                    // A subscription may have come in meanwhile (under the map lock).
                    if g.lock().subs.is_empty() {
                        groups.remove(&key);
                        return;
                    }
                    continue;
                }
            }
            let taken = self.snapshot(&g);
            // The interval counts from the end of a read: a source that keeps
            // its data for as long as the interval (Samba's freshness) then
            // reads afresh at every poll instead of every other one.
            last = Instant::now();
            let since_epoch = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            self.hand_out(&g, taken, time_created(since_epoch));
        }
    }

    fn hand_out(&self, g: &Group, taken: Result<Vec<InstanceWithPath>, CimError>, time: u64) {
        let mut st = g.lock();
        let st = &mut *st;
        let snapshot = match taken {
            Ok(s) => s,
            Err(e) => {
                st.subs.retain(|s| s.sink.failed(&e));
                return;
            }
        };
        let changes = diff(&st.snapshot, &snapshot);
        st.snapshot = snapshot;
        let Some(ns) = self.om.repository().namespace(&g.namespace) else {
            return;
        };
        let events: Vec<(Event, Instance)> = changes
            .into_iter()
            .map(|change| {
                let ev = Event {
                    change,
                    time_created: time,
                };
                let object = ev.object();
                (ev, object)
            })
            .collect();
        let now = Instant::now();
        st.subs.retain_mut(|sub| {
            if let Err(e) = self
                .om
                .check_instance_access(&sub.ctx, &g.namespace, g.class.as_str())
            {
                let first = !sub.denied;
                sub.denied = true;
                return !first || sub.sink.failed(&e);
            }
            sub.denied = false;
            for (event, object) in &events {
                if !sub.query.matches(event.change.kind, object, ns) {
                    continue;
                }
                match &mut sub.aggregator {
                    Some((a, _)) => a.add(object),
                    None => {
                        let row = sub.query.project(object.clone());
                        if !sub.sink.deliver_change(&event.change, time, row) {
                            return false;
                        }
                    }
                }
            }
            if let Some((a, until)) = &mut sub.aggregator {
                if now >= *until {
                    *until = now + a.window();
                    for agg in a.close(ns) {
                        if !sub.sink.deliver(agg) {
                            return false;
                        }
                    }
                }
            }
            true
        });
    }
}
