//! CIM-XML indications (DSP1054): in root/interop, `CIM_IndicationFilter`
//! (a WQL event query), `CIM_ListenerDestinationCIMXML` (a listener's URL)
//! and `CIM_IndicationSubscription` (a filter's events go to a
//! destination), made with CreateInstance and removed with DeleteInstance,
//! and `CIM_IndicationService` with its retry settings.
//!
//! A subscription belongs to the user who made it: only they, the
//! administrators (root, the group openwmi-admins) and the local caller
//! see and remove it, its filter's query is checked with
//! their rights when it is made, and the event poller checks their rights
//! again before every delivery. Filters, destinations and subscriptions are
//! kept in the state directory and come back after a restart. A destination
//! is a place the server connects to: `https://` anywhere, `http://` only
//! on the loopback unless configured. Each destination has its own queue
//! and thread ([`delivery`]), so requests never wait on a listener.

mod config;
pub mod delivery;
mod store;

pub use config::{DestinationPattern, IndicationsSection};
pub use delivery::{DeliveryPolicy, Destination};
pub use openwmi_cimom::events::SubscriptionLimits;
pub use store::Store;

use delivery::indication_xml;
use openwmi_cim::{CimDateTime, CimError, CimStatus, Class, Instance, ObjectPath, Value};
use openwmi_cimom::events::{Change, EventQuery};
use openwmi_cimom::interop::INTEROP_NAMESPACE;
use openwmi_cimom::{
    CreateRequest, DeleteRequest, EnumerateRequest, EventPoller, EventSink, InstanceProvider,
    InstanceStream, ObjectManager, ObjectManagerBuilder, OperationContext, Subscription,
};
use openwmi_client::export::ListenerUrl;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub const FILTER_CLASS: &str = "CIM_IndicationFilter";
pub const DESTINATION_CLASS: &str = "CIM_ListenerDestinationCIMXML";
pub const SUBSCRIPTION_CLASS: &str = "CIM_IndicationSubscription";
pub const SERVICE_CLASS: &str = "CIM_IndicationService";
const SYSTEM_CLASS: &str = "CIM_ComputerSystem";

/// The settings of the indication service.
#[derive(Clone, Debug)]
pub struct IndicationConfig {
    /// Where filters, destinations and subscriptions are kept; `None`:
    /// nowhere (they last as long as the process).
    pub state_file: Option<PathBuf>,
    pub delivery: DeliveryPolicy,
    /// Destinations accepted besides `https://` anywhere and `http://` on
    /// the loopback.
    pub allowed_destinations: Vec<DestinationPattern>,
    /// The most filters, destinations and subscriptions (each) one user may
    /// have, and all users together.
    pub limits: SubscriptionLimits,
}

impl Default for IndicationConfig {
    fn default() -> Self {
        IndicationConfig::from_section(IndicationsSection::default(), None)
    }
}

impl IndicationConfig {
    /// The settings of the `[indications]` table, kept in `state_file`.
    pub fn from_section(section: IndicationsSection, state_file: Option<PathBuf>) -> Self {
        IndicationConfig {
            state_file,
            delivery: section.delivery(),
            limits: section.limits(),
            allowed_destinations: section.allowed_destinations,
        }
    }
}

/// The indication service: the provider of the four classes, the
/// subscriptions that are live, and the destinations' queues.
#[derive(Clone)]
pub struct Indications {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Indications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indications").finish_non_exhaustive()
    }
}

struct Inner {
    host: String,
    config: IndicationConfig,
    engine: OnceLock<(ObjectManager, EventPoller)>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    store: Store,
    destinations: HashMap<String, Arc<Destination>>,
    active: HashMap<(String, String), Subscription>,
    /// Per destination, its count of indications given up at the last look.
    gave_up_seen: HashMap<String, u64>,
}

fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

impl Indications {
    /// Reads the kept store (an unreadable one is an error: nothing is
    /// thrown away) and registers the classes' provider in root/interop.
    pub fn install(
        builder: &mut ObjectManagerBuilder,
        config: IndicationConfig,
    ) -> Result<Indications, String> {
        let store = match &config.state_file {
            Some(p) => Store::load(p)?,
            None => Store::default(),
        };
        let ind = Indications {
            inner: Arc::new(Inner {
                host: builder.host().to_owned(),
                config,
                engine: OnceLock::new(),
                state: Mutex::new(State {
                    store,
                    ..State::default()
                }),
            }),
        };
        for class in [
            FILTER_CLASS,
            DESTINATION_CLASS,
            SUBSCRIPTION_CLASS,
            SERVICE_CLASS,
        ] {
            builder.register(INTEROP_NAMESPACE, class, Arc::new(ind.clone()));
        }
        Ok(ind)
    }

    /// Starts delivering: called once with the built object manager; the
    /// kept subscriptions come back (one that cannot is logged and kept).
    pub fn start(&self, om: ObjectManager) {
        let poller = EventPoller::new(om.clone());
        if self.inner.engine.set((om, poller)).is_err() {
            return;
        }
        self.start_housekeeping();
        let mut st = self.lock();
        let st = &mut *st;
        for d in st.store.destinations.clone() {
            match self.check_destination(&d.url) {
                Ok(url) => {
                    let dest = Destination::start(&d.name, url, self.inner.config.delivery.clone());
                    st.destinations.insert(key(&d.name), dest);
                }
                Err(e) => eprintln!("openwmi: destination {}: {}", d.name, e.description),
            }
        }
        for s in st.store.subscriptions.clone() {
            if s.state == store::STATE_DISABLED {
                continue;
            }
            if let Err(e) = self.activate(st, &s) {
                eprintln!(
                    "openwmi: subscription of {} to {} not active: {}",
                    s.handler, s.filter, e.description
                );
            }
        }
    }

    /// The event poller once started, for other front-ends (WS-Eventing)
    /// to share its snapshots: one read per class for every subscriber.
    pub fn event_poller(&self) -> Option<EventPoller> {
        self.inner.engine.get().map(|(_, p)| p.clone())
    }

    /// How many subscriptions are live.
    pub fn active_subscriptions(&self) -> usize {
        self.lock().active.len()
    }

    /// Ends the subscriptions whose SubscriptionDuration ran out, and
    /// applies OnFatalErrorPolicy to those whose listener is gone for good
    /// (an indication given up after every retry since the last look).
    /// The service's own thread calls it every second.
    pub fn housekeeping(&self) {
        let now = unix_now();
        let mut st = self.lock();
        let st = &mut *st;
        let mut changed = false;
        let mut fatal: Vec<String> = Vec::new();
        for (name, d) in &st.destinations {
            let seen = st.gave_up_seen.entry(name.clone()).or_insert(0);
            let now_given_up = d.gave_up();
            if now_given_up > *seen {
                *seen = now_given_up;
                fatal.push(name.clone());
            }
        }
        let mut kept = Vec::with_capacity(st.store.subscriptions.len());
        for mut s in std::mem::take(&mut st.store.subscriptions) {
            let id = (key(&s.filter), key(&s.handler));
            if s.remaining(now) == Some(0) {
                eprintln!(
                    "openwmi: subscription of {} to {} ended: its SubscriptionDuration ran out",
                    s.handler, s.filter
                );
                st.active.remove(&id);
                changed = true;
                continue;
            }
            if fatal.contains(&id.1) {
                match s.on_fatal_error {
                    store::FATAL_REMOVE => {
                        eprintln!(
                            "openwmi: subscription of {} to {} removed: its listener is gone \
                             (OnFatalErrorPolicy Remove)",
                            s.handler, s.filter
                        );
                        st.active.remove(&id);
                        changed = true;
                        continue;
                    }
                    store::FATAL_DISABLE if s.state != store::STATE_DISABLED => {
                        eprintln!(
                            "openwmi: subscription of {} to {} disabled: its listener is gone \
                             (OnFatalErrorPolicy Disable)",
                            s.handler, s.filter
                        );
                        s.state = store::STATE_DISABLED;
                        st.active.remove(&id);
                        changed = true;
                    }
                    _ => {}
                }
            }
            kept.push(s);
        }
        st.store.subscriptions = kept;
        if changed {
            if let Err(e) = self.save(&st.store) {
                eprintln!("openwmi: {}", e.description);
            }
        }
    }

    /// Runs [`Indications::housekeeping`] every second while the service lives.
    fn start_housekeeping(&self) {
        let weak = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("indication housekeeping".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                let Some(inner) = weak.upgrade() else { return };
                Indications { inner }.housekeeping();
            });
        if let Err(e) = spawned {
            eprintln!("openwmi: cannot start the indication housekeeping: {e}");
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn engine(&self) -> Result<&(ObjectManager, EventPoller), CimError> {
        self.inner
            .engine
            .get()
            .ok_or_else(|| CimError::failed("the indication service is not started"))
    }

    fn save(&self, store: &Store) -> Result<(), CimError> {
        match &self.inner.config.state_file {
            Some(p) => store
                .save(p)
                .map_err(|e| CimError::failed(format!("cannot keep the subscriptions: {e}"))),
            None => Ok(()),
        }
    }

    /// Refuses destinations the server must not connect to.
    fn check_destination(&self, url: &str) -> Result<ListenerUrl, CimError> {
        let u = ListenerUrl::parse(url).map_err(CimError::invalid_parameter)?;
        if u.https {
            return Ok(u);
        }
        let loopback = u.host.eq_ignore_ascii_case("localhost")
            || u.host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback());
        let allowed = self
            .inner
            .config
            .allowed_destinations
            .iter()
            .any(|p| p.allows(&u));
        if loopback || allowed {
            Ok(u)
        } else {
            Err(CimError::access_denied(format!(
                "destination {url}: plain http:// is accepted on the loopback only \
                 (or where the server's [indications] allowed_destinations says); use https://"
            )))
        }
    }

    fn check_limits(&self, owned: usize, total: usize, what: &str) -> Result<(), CimError> {
        self.inner.config.limits.check(owned, total, what)
    }

    fn activate(&self, st: &mut State, s: &store::SubscriptionRecord) -> Result<(), CimError> {
        let (om, poller) = self.engine()?;
        let filter = st
            .store
            .filters
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&s.filter))
            .ok_or_else(|| CimError::not_found(format!("no filter {}", s.filter)))?
            .clone();
        let dest = st
            .destinations
            .get(&key(&s.handler))
            .ok_or_else(|| CimError::not_found(format!("no destination {}", s.handler)))?
            .clone();
        let ctx = Arc::new(match &s.owner {
            Some(u) => OperationContext::for_user(u.as_str(), s.groups.clone()),
            None => OperationContext::local(),
        });
        let query =
            EventQuery::compile(om, &ctx, &filter.namespace, &filter.language, &filter.query)?;
        let sink = Arc::new(IndicationSink {
            destination: dest,
            filter: filter.name.clone(),
        });
        let handle = poller.subscribe(query, ctx, sink)?;
        st.active.insert((key(&s.filter), key(&s.handler)), handle);
        Ok(())
    }

    fn system_keys(&self, inst: &mut Instance, class: &str, name: &str) {
        set(inst, "SystemCreationClassName", Value::from(SYSTEM_CLASS));
        set(inst, "SystemName", Value::from(self.inner.host.as_str()));
        set(inst, "CreationClassName", Value::from(class));
        set(inst, "Name", Value::from(name));
    }

    /// The path a subscription's Filter and Handler hold: namespace, no
    /// host, so that it equals the path of the filter or destination a
    /// client enumerated (pywbem compares them to find a subscription).
    fn full_path(&self, class: &Class, inst: &Instance) -> ObjectPath {
        ObjectPath {
            host: None,
            namespace: Some(INTEROP_NAMESPACE.to_owned()),
            ..inst.path(class)
        }
    }

    fn filter_instance(&self, class: &Class, f: &store::FilterRecord) -> Instance {
        let mut i = Instance::of_class(class);
        self.system_keys(&mut i, FILTER_CLASS, &f.name);
        set(&mut i, "Query", Value::from(f.query.as_str()));
        set(&mut i, "QueryLanguage", Value::from(f.language.as_str()));
        set(&mut i, "SourceNamespace", Value::from(f.namespace.as_str()));
        set(
            &mut i,
            "SourceNamespaces",
            Value::Array(vec![Value::from(f.namespace.as_str())]),
        );
        set(
            &mut i,
            "IndividualSubscriptionSupported",
            Value::Boolean(true),
        );
        i
    }

    fn destination_instance(&self, class: &Class, d: &store::DestinationRecord) -> Instance {
        let mut i = Instance::of_class(class);
        self.system_keys(&mut i, DESTINATION_CLASS, &d.name);
        set(&mut i, "Destination", Value::from(d.url.as_str()));
        set(&mut i, "Protocol", Value::UInt16(2));
        if let Some(p) = d.persistence {
            set(&mut i, "PersistenceType", Value::UInt16(p));
        }
        i
    }
}

/// Sets a property the class has; the others are left out (the classes
/// here are openwmi's own, so that only happens to a misspelt name).
fn set(inst: &mut Instance, name: &str, value: Value) {
    let _ = inst.set(name, Some(value));
}

fn string_prop(inst: &Instance, name: &str) -> Option<String> {
    match inst.value(name) {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn name_key(path: &ObjectPath) -> Option<String> {
    match path.key("Name") {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn reference(inst: &Instance, name: &str) -> Option<ObjectPath> {
    match inst.value(name) {
        Some(Value::Reference(p)) => Some((**p).clone()),
        Some(Value::String(s)) => ObjectPath::parse(s).ok(),
        _ => None,
    }
}

fn ref_key(path: &ObjectPath, name: &str) -> Option<ObjectPath> {
    match path.key(name) {
        Some(Value::Reference(p)) => Some((**p).clone()),
        Some(Value::String(s)) => ObjectPath::parse(s).ok(),
        _ => None,
    }
}

/// Whether the caller may see and remove what `owner` made: the owner, the
/// local caller, and the administrators (root and the group
/// openwmi-admins, who see to every user's subscriptions, as on Windows
/// the Administrators see every permanent subscription).
fn visible(owner: &Option<String>, ctx: &OperationContext) -> bool {
    match ctx.user.as_deref() {
        None => true,
        Some(u) => owner.as_deref() == Some(u) || is_admin(u, &ctx.groups),
    }
}

fn is_admin(user: &str, groups: &[String]) -> bool {
    user == openwmi_access::ADMIN_USER || groups.iter().any(|g| g == openwmi_access::ADMIN_GROUP)
}

fn owner_of(ctx: &OperationContext) -> Option<String> {
    ctx.user.as_deref().map(str::to_owned)
}

impl InstanceProvider for Indications {
    fn name(&self) -> &str {
        "openwmi-indications"
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let class = req.class;
        let st = self.lock();
        let mut out: Vec<Instance> = Vec::new();
        if class.name.is(FILTER_CLASS) {
            for f in st
                .store
                .filters
                .iter()
                .filter(|f| visible(&f.owner, req.ctx))
            {
                out.push(self.filter_instance(class, f));
            }
        } else if class.name.is(DESTINATION_CLASS) {
            for d in st
                .store
                .destinations
                .iter()
                .filter(|d| visible(&d.owner, req.ctx))
            {
                out.push(self.destination_instance(class, d));
            }
        } else if class.name.is(SUBSCRIPTION_CLASS) {
            let (Some(fc), Some(dc)) = (
                req.classes.class(FILTER_CLASS),
                req.classes.class(DESTINATION_CLASS),
            ) else {
                return Ok(Box::new(std::iter::empty()));
            };
            for s in st
                .store
                .subscriptions
                .iter()
                .filter(|s| visible(&s.owner, req.ctx))
            {
                let (Some(f), Some(d)) = (
                    st.store
                        .filters
                        .iter()
                        .find(|f| f.name.eq_ignore_ascii_case(&s.filter)),
                    st.store
                        .destinations
                        .iter()
                        .find(|d| d.name.eq_ignore_ascii_case(&s.handler)),
                ) else {
                    continue;
                };
                let fpath = self.full_path(&fc, &self.filter_instance(&fc, f));
                let dpath = self.full_path(&dc, &self.destination_instance(&dc, d));
                let mut i = Instance::of_class(class);
                set(&mut i, "Filter", Value::Reference(Box::new(fpath)));
                set(&mut i, "Handler", Value::Reference(Box::new(dpath)));
                let active = st.active.contains_key(&(key(&s.filter), key(&s.handler)));
                let state = match (s.state, active) {
                    (store::STATE_DISABLED, _) => store::STATE_DISABLED,
                    (_, true) => store::STATE_ENABLED,
                    (_, false) => store::STATE_ENABLED_DEGRADED,
                };
                set(&mut i, "SubscriptionState", Value::UInt16(state));
                set(
                    &mut i,
                    "OnFatalErrorPolicy",
                    Value::UInt16(s.on_fatal_error),
                );
                if let Some(d) = s.duration {
                    set(&mut i, "SubscriptionDuration", Value::UInt64(d));
                }
                if let Some(r) = s.remaining(unix_now()) {
                    set(&mut i, "SubscriptionTimeRemaining", Value::UInt64(r));
                }
                set(&mut i, "RepeatNotificationPolicy", Value::UInt16(2));
                if let Ok(t) = s.started.parse::<CimDateTime>() {
                    set(&mut i, "SubscriptionStartTime", Value::DateTime(t));
                }
                out.push(i);
            }
        } else if class.name.is(SERVICE_CLASS) {
            let mut i = Instance::of_class(class);
            self.system_keys(&mut i, SERVICE_CLASS, "openwmi:indications");
            let p = &self.inner.config.delivery;
            set(&mut i, "FilterCreationEnabled", Value::Boolean(true));
            set(
                &mut i,
                "DeliveryRetryAttempts",
                Value::UInt16(p.retry_attempts),
            );
            set(
                &mut i,
                "DeliveryRetryInterval",
                Value::UInt32(u32::try_from(p.retry_interval.as_secs()).unwrap_or(u32::MAX)),
            );
            set(&mut i, "SubscriptionRemovalAction", Value::UInt16(4));
            set(
                &mut i,
                "ElementName",
                Value::from("openwmi indication service"),
            );
            set(
                &mut i,
                "Started",
                Value::Boolean(self.inner.engine.get().is_some()),
            );
            out.push(i);
        }
        Ok(Box::new(out.into_iter().map(|i| Ok(Arc::new(i)))))
    }

    fn create(&self, req: &CreateRequest<'_>) -> Result<ObjectPath, CimError> {
        let class = req.class;
        let new = req.instance;
        let owner = owner_of(req.ctx);
        let mut st = self.lock();
        let st = &mut *st;
        if class.name.is(FILTER_CLASS) {
            let (om, _) = self.engine()?;
            let name = string_prop(new, "Name")
                .ok_or_else(|| CimError::invalid_parameter("the filter needs a Name"))?;
            let query = string_prop(new, "Query")
                .ok_or_else(|| CimError::invalid_parameter("the filter needs a Query"))?;
            let language = string_prop(new, "QueryLanguage")
                .ok_or_else(|| CimError::invalid_parameter("the filter needs a QueryLanguage"))?;
            let namespace = match new.value("SourceNamespaces") {
                Some(Value::Array(a)) => a.iter().find_map(|v| match v {
                    Value::String(s) => Some(s.to_string()),
                    _ => None,
                }),
                _ => None,
            }
            .or_else(|| string_prop(new, "SourceNamespace"))
            .unwrap_or_else(|| "root/cimv2".to_owned());
            // Checked with the maker's rights, with Windows' errors.
            EventQuery::compile(om, req.ctx, &namespace, &language, &query)?;
            if st
                .store
                .filters
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(&name))
            {
                return Err(CimError::new(
                    CimStatus::AlreadyExists,
                    format!("a filter {name} exists"),
                ));
            }
            let owned = st.store.filters.iter().filter(|f| f.owner == owner).count();
            self.check_limits(owned, st.store.filters.len(), "filters")?;
            let rec = store::FilterRecord {
                name,
                query,
                language,
                namespace,
                owner,
            };
            let inst = self.filter_instance(class, &rec);
            st.store.filters.push(rec);
            if let Err(e) = self.save(&st.store) {
                st.store.filters.pop();
                return Err(e);
            }
            return Ok(inst.path(class));
        }
        if class.name.is(DESTINATION_CLASS) {
            self.engine()?;
            let name = string_prop(new, "Name")
                .ok_or_else(|| CimError::invalid_parameter("the destination needs a Name"))?;
            let url = string_prop(new, "Destination").ok_or_else(|| {
                CimError::invalid_parameter("the destination needs a Destination URL")
            })?;
            if let Some(Value::UInt16(p)) = new.value("Protocol") {
                if *p != 2 {
                    return Err(CimError::not_supported(format!(
                        "protocol {p}: openwmi delivers CIM-XML (2) only"
                    )));
                }
            }
            let parsed = self.check_destination(&url)?;
            if st
                .store
                .destinations
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(&name))
            {
                return Err(CimError::new(
                    CimStatus::AlreadyExists,
                    format!("a destination {name} exists"),
                ));
            }
            let owned = st
                .store
                .destinations
                .iter()
                .filter(|d| d.owner == owner)
                .count();
            self.check_limits(owned, st.store.destinations.len(), "destinations")?;
            let persistence = match new.value("PersistenceType") {
                Some(Value::UInt16(p)) => Some(*p),
                _ => None,
            };
            let rec = store::DestinationRecord {
                name: name.clone(),
                url,
                persistence,
                owner,
            };
            let inst = self.destination_instance(class, &rec);
            st.store.destinations.push(rec);
            if let Err(e) = self.save(&st.store) {
                st.store.destinations.pop();
                return Err(e);
            }
            let dest = Destination::start(&name, parsed, self.inner.config.delivery.clone());
            st.destinations.insert(key(&name), dest);
            return Ok(inst.path(class));
        }
        if class.name.is(SUBSCRIPTION_CLASS) {
            self.engine()?;
            let (Some(fpath), Some(hpath)) = (reference(new, "Filter"), reference(new, "Handler"))
            else {
                return Err(CimError::invalid_parameter(
                    "a subscription needs Filter and Handler references",
                ));
            };
            let (Some(fname), Some(hname)) = (name_key(&fpath), name_key(&hpath)) else {
                return Err(CimError::invalid_parameter(
                    "Filter and Handler must name a filter and a destination (their Name key)",
                ));
            };
            let filter = st
                .store
                .filters
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(&fname) && visible(&f.owner, req.ctx));
            let dest = st
                .store
                .destinations
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(&hname) && visible(&d.owner, req.ctx));
            let (Some(filter), Some(dest)) = (filter, dest) else {
                return Err(CimError::not_found(format!(
                    "no filter {fname} or no destination {hname} of yours"
                )));
            };
            let (fname, hname) = (filter.name.clone(), dest.name.clone());
            if st.store.subscriptions.iter().any(|s| {
                s.filter.eq_ignore_ascii_case(&fname) && s.handler.eq_ignore_ascii_case(&hname)
            }) {
                return Err(CimError::new(
                    CimStatus::AlreadyExists,
                    format!("{hname} is subscribed to {fname} already"),
                ));
            }
            let owned = st
                .store
                .subscriptions
                .iter()
                .filter(|s| s.owner == owner)
                .count();
            self.check_limits(owned, st.store.subscriptions.len(), "subscriptions")?;
            let duration = match uint_prop(new, "SubscriptionDuration")? {
                Some(0) => {
                    return Err(CimError::invalid_parameter(
                        "SubscriptionDuration is seconds, at least 1 (NULL: until removed)",
                    ))
                }
                d => d,
            };
            let state = match uint_prop(new, "SubscriptionState")? {
                None | Some(0) | Some(2) => store::STATE_ENABLED,
                Some(4) => store::STATE_DISABLED,
                Some(v) => {
                    return Err(CimError::invalid_parameter(format!(
                        "SubscriptionState {v}: a subscription is made 2 (Enabled) or 4 (Disabled)"
                    )))
                }
            };
            let on_fatal_error = match uint_prop(new, "OnFatalErrorPolicy")? {
                None | Some(0) => store::FATAL_IGNORE,
                Some(v @ 2..=4) => v as u16,
                Some(v) => {
                    return Err(CimError::invalid_parameter(format!(
                        "OnFatalErrorPolicy {v}: give 2 (Ignore), 3 (Disable) or 4 (Remove)"
                    )))
                }
            };
            let rec = store::SubscriptionRecord {
                filter: fname,
                handler: hname,
                owner,
                groups: req.ctx.groups.to_vec(),
                started: now().to_string(),
                started_unix: unix_now(),
                duration,
                state,
                on_fatal_error,
            };
            if rec.state != store::STATE_DISABLED {
                self.activate(st, &rec)?;
            }
            st.store.subscriptions.push(rec.clone());
            if let Err(e) = self.save(&st.store) {
                st.store.subscriptions.pop();
                st.active.remove(&(key(&rec.filter), key(&rec.handler)));
                return Err(e);
            }
            let (Some(fc), Some(dc)) = (
                req.classes.class(FILTER_CLASS),
                req.classes.class(DESTINATION_CLASS),
            ) else {
                return Err(CimError::failed("the interop classes are missing"));
            };
            let f = st.store.filters.iter().find(|f| f.name == rec.filter);
            let d = st.store.destinations.iter().find(|d| d.name == rec.handler);
            let (Some(f), Some(d)) = (f, d) else {
                return Err(CimError::failed("the subscription lost its filter"));
            };
            let mut i = Instance::of_class(class);
            let fp = self.full_path(&fc, &self.filter_instance(&fc, f));
            let dp = self.full_path(&dc, &self.destination_instance(&dc, d));
            set(&mut i, "Filter", Value::Reference(Box::new(fp)));
            set(&mut i, "Handler", Value::Reference(Box::new(dp)));
            return Ok(i.path(class));
        }
        Err(CimError::not_supported(format!(
            "instances of {} are not created",
            class.name
        )))
    }

    fn delete(&self, req: &DeleteRequest<'_>) -> Result<(), CimError> {
        let class = req.class;
        let mut st = self.lock();
        let st = &mut *st;
        let not_found = || CimError::not_found(format!("no instance {}", req.path));
        if class.name.is(SUBSCRIPTION_CLASS) {
            let (Some(f), Some(h)) = (ref_key(req.path, "Filter"), ref_key(req.path, "Handler"))
            else {
                return Err(not_found());
            };
            let (Some(fname), Some(hname)) = (name_key(&f), name_key(&h)) else {
                return Err(not_found());
            };
            let at = st.store.subscriptions.iter().position(|s| {
                s.filter.eq_ignore_ascii_case(&fname)
                    && s.handler.eq_ignore_ascii_case(&hname)
                    && visible(&s.owner, req.ctx)
            });
            let Some(at) = at else {
                return Err(not_found());
            };
            let rec = st.store.subscriptions.remove(at);
            st.active.remove(&(key(&rec.filter), key(&rec.handler)));
            return self.save(&st.store);
        }
        let Some(name) = name_key(req.path) else {
            return Err(not_found());
        };
        let in_use = |st: &State, filter: bool| {
            st.store.subscriptions.iter().any(|s| {
                let n = if filter { &s.filter } else { &s.handler };
                n.eq_ignore_ascii_case(&name)
            })
        };
        if class.name.is(FILTER_CLASS) {
            let at = st
                .store
                .filters
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(&name) && visible(&f.owner, req.ctx))
                .ok_or_else(not_found)?;
            if in_use(st, true) {
                return Err(CimError::failed(format!(
                    "filter {name} has subscriptions: remove them first"
                )));
            }
            st.store.filters.remove(at);
            return self.save(&st.store);
        }
        if class.name.is(DESTINATION_CLASS) {
            let at = st
                .store
                .destinations
                .iter()
                .position(|d| d.name.eq_ignore_ascii_case(&name) && visible(&d.owner, req.ctx))
                .ok_or_else(not_found)?;
            if in_use(st, false) {
                return Err(CimError::failed(format!(
                    "destination {name} has subscriptions: remove them first"
                )));
            }
            st.store.destinations.remove(at);
            if let Some(d) = st.destinations.remove(&key(&name)) {
                d.stop();
            }
            // A destination made again under this name counts from zero.
            st.gave_up_seen.remove(&key(&name));
            return self.save(&st.store);
        }
        Err(CimError::not_supported(format!(
            "instances of {} are not deleted",
            class.name
        )))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An unsigned integer property as given (any integer type, or its
/// decimal text); a negative or non-numeric value is a bad parameter.
fn uint_prop(inst: &Instance, name: &str) -> Result<Option<u64>, CimError> {
    let bad = || CimError::invalid_parameter(format!("{name} must be an unsigned integer"));
    let v = match inst.value(name) {
        None => return Ok(None),
        Some(v) => v,
    };
    let n = match v {
        Value::UInt8(n) => u64::from(*n),
        Value::UInt16(n) => u64::from(*n),
        Value::UInt32(n) => u64::from(*n),
        Value::UInt64(n) => *n,
        Value::SInt8(n) => u64::try_from(*n).map_err(|_| bad())?,
        Value::SInt16(n) => u64::try_from(*n).map_err(|_| bad())?,
        Value::SInt32(n) => u64::try_from(*n).map_err(|_| bad())?,
        Value::SInt64(n) => u64::try_from(*n).map_err(|_| bad())?,
        Value::String(t) => t.trim().parse().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    Ok(Some(n))
}

fn now() -> CimDateTime {
    CimDateTime::from_system_time(std::time::SystemTime::now(), 0)
}

/// Hands a subscription's events to its destination's queue.
struct IndicationSink {
    destination: Arc<Destination>,
    filter: String,
}

impl EventSink for IndicationSink {
    fn deliver(&self, event: Instance) -> bool {
        self.destination.enqueue(|context, number| {
            indication_xml(None, &event, 0, &self.filter, context, number)
        });
        true
    }

    fn deliver_change(&self, change: &Change, time_created: u64, row: Instance) -> bool {
        self.destination.enqueue(|context, number| {
            indication_xml(
                Some(change),
                &row,
                time_created,
                &self.filter,
                context,
                number,
            )
        });
        true
    }

    fn failed(&self, error: &CimError) -> bool {
        eprintln!(
            "openwmi: filter {} for listener {}: {error}",
            self.filter, self.destination.name
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(allowed: &[&str]) -> Indications {
        let repo = openwmi_cimom::bundled::bundled_repository().unwrap();
        let mut b = ObjectManagerBuilder::new(repo, "HOST");
        Indications::install(
            &mut b,
            IndicationConfig {
                allowed_destinations: allowed
                    .iter()
                    .map(|s| DestinationPattern::try_from(s.to_string()).unwrap())
                    .collect(),
                ..IndicationConfig::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn destinations_https_anywhere_http_on_the_loopback_or_allowed() {
        let s = service(&[
            "listener.example",
            "10.9.0.0/16",
            "http://far.example:5990/in",
        ]);
        for ok in [
            "https://far.example:5989/x",
            "http://127.0.0.1:5000",
            "http://127.9.9.9:5000",
            "http://[::1]:5000",
            "http://localhost:5000",
            "http://LISTENER.example:5000",
            "http://10.9.8.7:5000",
            "http://far.example:5990/in/x",
        ] {
            assert!(s.check_destination(ok).is_ok(), "{ok}");
        }
        for (bad, status) in [
            ("http://10.0.0.1:5000", CimStatus::AccessDenied),
            ("http://far.example", CimStatus::AccessDenied),
            ("http://far.example:5990/inx", CimStatus::AccessDenied),
            ("http://10.10.0.1:5000", CimStatus::AccessDenied),
            ("ftp://127.0.0.1", CimStatus::InvalidParameter),
            ("http://user:pw@127.0.0.1", CimStatus::InvalidParameter),
        ] {
            assert_eq!(
                s.check_destination(bad).unwrap_err().status,
                status,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_store_reads_back_what_it_kept() {
        let dir = std::env::temp_dir().join(format!("openwmi-ind-{}", std::process::id()));
        let path = dir.join("subscriptions.json");
        assert_eq!(Store::load(&path).unwrap(), Store::default());
        let store = Store {
            filters: vec![store::FilterRecord {
                name: "f".into(),
                query: "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Share'".into(),
                language: "WQL".into(),
                namespace: "root/cimv2".into(),
                owner: Some("alice".into()),
            }],
            ..Store::default()
        };
        store.save(&path).unwrap();
        assert_eq!(Store::load(&path).unwrap(), store);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not json").unwrap();
        assert!(Store::load(&path).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_store_kept_before_durations_and_policies_reads_as_enabled_and_ignore() {
        let text = r#"{"filters": [], "destinations": [], "subscriptions": [
            {"filter": "f", "handler": "d", "owner": "alice", "groups": [],
             "started": "20260101000000.000000+000"}]}"#;
        let store: Store = serde_json::from_str(text).unwrap();
        let s = &store.subscriptions[0];
        assert_eq!(s.state, store::STATE_ENABLED);
        assert_eq!(s.on_fatal_error, store::FATAL_IGNORE);
        assert_eq!((s.duration, s.remaining(0)), (None, None));
    }

    #[test]
    fn limits_per_user_and_in_total() {
        let mut s = service(&[]);
        Arc::get_mut(&mut s.inner).unwrap().config.limits.per_user = 2;
        assert!(s.check_limits(1, 10, "filters").is_ok());
        let e = s.check_limits(2, 10, "filters").unwrap_err();
        assert_eq!(e.status, CimStatus::ServerLimitsExceeded);
        let e = s.check_limits(0, 1024, "filters").unwrap_err();
        assert_eq!(e.status, CimStatus::ServerLimitsExceeded);
    }
}
