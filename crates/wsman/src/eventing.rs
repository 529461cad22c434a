//! WS-Eventing on `/wsman` as Windows' WinRM serves WMI event queries
//! (DSP0226 section 10, MS-WSMV): `Subscribe` with the pull delivery mode
//! (`http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull`) and a WQL event
//! filter, then `wsen:Pull` on the enumeration context the SubscribeResponse
//! gives, `Renew`, `GetStatus`, `Unsubscribe` (also `wsen:Release` of the
//! context), and expiry.
//!
//! A subscription is one [`EventPoller`] subscription (the poller the
//! server shares with CIM-XML indications when it is given one: one
//! snapshot per class for everybody) whose sink queues the events, at most
//! [`EventingLimits::max_queued`] (the oldest dropped first). A Pull takes
//! what is queued, or waits for it up to its OperationTimeout (and MaxTime)
//! and then answers `wsman:TimedOut`, as Windows does; the wait is a tokio
//! wait, so an idle Pull holds no thread. Events are written as instances
//! of their event class (`__InstanceCreationEvent`, ...) with
//! `TargetInstance` and `PreviousInstance` embedded (DSP0230: the property
//! element carries `xsi:type="<Class>_Type"` and the instance's properties),
//! in the resource URI form the Subscribe used.
//!
//! A subscription belongs to the user who made it: another user's Pull gets
//! `wsen:InvalidEnumerationContext`, as for a foreign enumeration, and
//! their Renew, GetStatus or Unsubscribe `e:UnableToRenew` /
//! `e:InvalidMessage`, as for an unknown one. The owner's read permission
//! on the watched class is checked again at every Pull (and by the poller
//! at every poll). Subscriptions are limited per user and in total
//! (`wsman:QuotaLimit`); `e:Expires` is a duration (a date-time gets
//! `e:UnsupportedExpirationType`, as on Windows), [`DEFAULT_EXPIRES`] when
//! absent and at most [`MAX_EXPIRES`] (a longer one is granted shortened,
//! as WS-Eventing allows; the answer says which). Nothing is kept across a
//! restart: a WS-Eventing subscription lives in its client's session.

use crate::encode;
use crate::engine::{Engine, MAX_ENVELOPE};
use crate::envelope::{self, Body, Encoding, Envelope, FilterContent, FilterSpec};
use crate::fault::{Fault, FaultKind};
use crate::ns;
use crate::resource::{self, UriForm};
use crate::writer::{envelope_head, message_id, ENVELOPE_TAIL};
use crate::xml;
use openwmi_cim::{CimError, Instance, InstanceProperty, Value};
use openwmi_cimom::events::EventQuery;
use openwmi_cimom::{EventPoller, EventSink, OperationContext, Subscription};
use openwmi_service::AuthenticatedUser;
use roxmltree::Node;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

/// `e:Expires` when the Subscribe gives none.
pub const DEFAULT_EXPIRES: Duration = Duration::from_secs(600);
/// The longest `e:Expires` granted (a day); a Renew grants it again.
pub const MAX_EXPIRES: Duration = Duration::from_secs(86_400);

/// What ends a WS-Eventing context token, telling it from an enumeration's.
const CONTEXT_SUFFIX: &str = "-ev";

/// Room kept in a PullResponse for what follows the items.
const ENVELOPE_RESERVE: usize = 512;

/// Bounds on WS-Eventing subscriptions. Plain values for now: the
/// `[indications]` section of the configuration will set them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventingLimits {
    /// Live subscriptions one user may hold.
    pub max_per_user: usize,
    /// Live subscriptions of all users together.
    pub max_total: usize,
    /// Events kept for a subscription between Pulls; the oldest go first.
    pub max_queued: usize,
    /// `e:Expires` when none is asked.
    pub default_expires: Duration,
    /// The longest `e:Expires` granted.
    pub max_expires: Duration,
}

impl Default for EventingLimits {
    fn default() -> Self {
        EventingLimits {
            max_per_user: 32,
            max_total: 512,
            max_queued: 1000,
            default_expires: DEFAULT_EXPIRES,
            max_expires: MAX_EXPIRES,
        }
    }
}

// ---------------------------------------------------------------------------
// Decoding (pure).

/// `e:Expires` as sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Expires {
    Duration(Duration),
    /// Anything else (an xs:dateTime): Windows takes durations only.
    Other(String),
}

/// `e:Subscribe`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SubscribeBody {
    /// `e:Delivery/@Mode`; `None` when left out (WS-Eventing's push).
    pub delivery_mode: Option<String>,
    pub expires: Option<Expires>,
    /// `wsman:Filter` (or `e:Filter`).
    pub filter: Option<FilterSpec>,
    /// An `e:EndTo` (where to say that a subscription ended): not served.
    pub end_to: bool,
    /// `wsman:SendBookmarks` or `wsman:Bookmark`: not served.
    pub bookmarks: bool,
}

/// The body of a WS-Eventing request.
#[derive(Clone, Debug, PartialEq)]
pub enum EventingBody {
    Subscribe(Box<SubscribeBody>),
    Renew { expires: Option<Expires> },
    GetStatus,
    Unsubscribe,
}

fn read_expires(n: Node<'_, '_>) -> Result<Expires, Fault> {
    let t = envelope::text_of(n);
    if !t.starts_with('P') {
        return Ok(Expires::Other(t));
    }
    envelope::parse_duration(&t)
        .map(Expires::Duration)
        .ok_or_else(|| {
            Fault::new(
                FaultKind::InvalidExpirationTime,
                format!("{} {t:?} is not an xs:duration", envelope::where_(n)),
            )
        })
}

/// Reads `e:Subscribe`, `e:Renew`, `e:GetStatus` or `e:Unsubscribe`.
pub(crate) fn read_body(node: Node<'_, '_>) -> Result<EventingBody, Fault> {
    let expires = || {
        envelope::child(node, ns::WSE, "Expires")
            .map(read_expires)
            .transpose()
    };
    Ok(match node.tag_name().name() {
        "Subscribe" => {
            let mut b = SubscribeBody {
                expires: expires()?,
                ..SubscribeBody::default()
            };
            for n in envelope::elements(node) {
                match (n.tag_name().namespace().unwrap_or(""), n.tag_name().name()) {
                    (ns::WSE, "Delivery") => {
                        b.delivery_mode = n.attribute("Mode").map(|m| m.trim().to_owned());
                    }
                    (ns::WSE, "EndTo") => b.end_to = true,
                    (ns::WSMAN | ns::WSE, "Filter") => {
                        if b.filter.is_some() {
                            return Err(Fault::new(
                                FaultKind::InvalidMessage,
                                format!("{} is given twice", envelope::where_(n)),
                            ));
                        }
                        b.filter = Some(envelope::read_filter(n)?);
                    }
                    (ns::WSMAN, "SendBookmarks" | "Bookmark") => b.bookmarks = true,
                    _ => {}
                }
            }
            EventingBody::Subscribe(Box::new(b))
        }
        "Renew" => EventingBody::Renew {
            expires: expires()?,
        },
        "GetStatus" => EventingBody::GetStatus,
        _ => EventingBody::Unsubscribe,
    })
}

/// Whether WS-Eventing answers this request: its four actions, and a Pull
/// or Release of a subscription's context.
pub fn claims(env: &Envelope) -> bool {
    match env.headers.action.as_deref().unwrap_or("") {
        ns::ACTION_SUBSCRIBE
        | ns::ACTION_EVENTING_RENEW
        | ns::ACTION_EVENTING_GET_STATUS
        | ns::ACTION_UNSUBSCRIBE => true,
        ns::ACTION_PULL => matches!(&env.body, Body::Pull(p) if is_event_context(&p.context)),
        ns::ACTION_RELEASE => {
            matches!(&env.body, Body::Release { context } if is_event_context(context))
        }
        _ => false,
    }
}

fn is_event_context(token: &str) -> bool {
    token.trim().ends_with(CONTEXT_SUFFIX)
}

/// `PT600.000S`.
fn duration_text(d: Duration) -> String {
    format!("PT{}.{:03}S", d.as_secs(), d.subsec_millis())
}

// ---------------------------------------------------------------------------
// The subscriptions.

/// What the poller hands a subscription and its Pulls take.
#[derive(Default)]
struct Queue {
    events: VecDeque<Instance>,
    /// Events dropped because the queue was full.
    dropped: u64,
    /// The last failed poll, told once to the next Pull that finds no event.
    failure: Option<CimError>,
    /// Unsubscribed or expired: waiting Pulls end.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: tokio::sync::Notify,
    max_queued: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_waiters();
    }
}

struct Sink(Arc<Shared>);

impl EventSink for Sink {
    fn deliver(&self, event: Instance) -> bool {
        let mut q = self.0.lock();
        if q.closed {
            return false;
        }
        if q.events.len() >= self.0.max_queued.max(1) {
            q.events.pop_front();
            q.dropped += 1;
        }
        q.events.push_back(event);
        drop(q);
        self.0.wake.notify_waiters();
        true
    }

    fn failed(&self, error: &CimError) -> bool {
        let mut q = self.0.lock();
        q.failure = Some(error.clone());
        let open = !q.closed;
        drop(q);
        self.0.wake.notify_waiters();
        open
    }
}

struct Sub {
    identifier: String,
    context: String,
    owner: Arc<str>,
    groups: Arc<[String]>,
    namespace: String,
    form: UriForm,
    target_class: String,
    shared: Arc<Shared>,
    expires_at: Mutex<Instant>,
    /// The poller's subscription: dropped with this, which ends it.
    _poll: Subscription,
}

impl Sub {
    fn expires_at(&self) -> Instant {
        *self.expires_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn context(&self) -> OperationContext {
        OperationContext::for_user(Arc::clone(&self.owner), Arc::clone(&self.groups))
    }
}

struct Inner {
    limits: Mutex<EventingLimits>,
    poller: OnceLock<EventPoller>,
    /// By context token.
    subs: Mutex<HashMap<String, Arc<Sub>>>,
    sweeper: OnceLock<()>,
}

impl Inner {
    fn limits(&self) -> EventingLimits {
        self.limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Sub>>> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the subscriptions whose time is up.
    fn sweep(&self) {
        let now = Instant::now();
        let gone: Vec<Arc<Sub>> = {
            let mut subs = self.lock();
            let expired: Vec<String> = subs
                .iter()
                .filter(|(_, s)| s.expires_at() <= now)
                .map(|(k, _)| k.clone())
                .collect();
            expired.iter().filter_map(|k| subs.remove(k)).collect()
        };
        for s in gone {
            s.shared.close();
        }
    }
}

/// The WS-Eventing subscriptions of a [`crate::WsMan`] service. Cheap to clone.
#[derive(Clone)]
pub struct Eventing {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Eventing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eventing")
            .field("limits", &self.inner.limits())
            .field("subscriptions", &self.inner.lock().len())
            .finish()
    }
}

/// What a request of the user asks of the subscriptions.
pub(crate) struct Caller<'a> {
    pub user: &'a AuthenticatedUser,
    pub message_id: Option<&'a str>,
    /// Characters the answer may have.
    pub max_envelope: usize,
    /// When a Pull that found nothing answers `wsman:TimedOut`.
    pub deadline: Instant,
}

fn invalid_context(token: &str) -> Fault {
    Fault::new(
        FaultKind::InvalidEnumerationContext,
        format!(
            "no subscription has the enumeration context {token:?} (unsubscribed, expired \
             or another user's)"
        ),
    )
}

fn required_message_id(id: Option<&str>) -> Result<(), Fault> {
    if id.is_none_or(str::is_empty) {
        return Err(Fault::new(
            FaultKind::MessageInformationHeaderRequired,
            "the request has no wsa:MessageID",
        ));
    }
    Ok(())
}

impl Eventing {
    pub fn new(limits: EventingLimits) -> Eventing {
        Eventing {
            inner: Arc::new(Inner {
                limits: Mutex::new(limits),
                poller: OnceLock::new(),
                subs: Mutex::default(),
                sweeper: OnceLock::new(),
            }),
        }
    }

    /// Sets the limits (from the configuration): they bound the
    /// subscriptions made from now on and the expirations granted.
    pub fn set_limits(&self, limits: EventingLimits) {
        *self.inner.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// Polls with `poller` (the one CIM-XML indications use) instead of a
    /// poller of its own; only before the first subscription.
    pub fn set_poller(&self, poller: EventPoller) {
        let _ = self.inner.poller.set(poller);
    }

    /// How many WS-Eventing subscriptions are live.
    pub fn subscriptions(&self) -> usize {
        self.inner.lock().len()
    }

    fn poller(&self, engine: &Engine) -> EventPoller {
        self.inner
            .poller
            .get_or_init(|| EventPoller::new(engine.object_manager().clone()))
            .clone()
    }

    /// Starts the task that ends expired subscriptions (once, from within
    /// the runtime; it ends with the service).
    fn start_sweeper(&self) {
        self.inner.sweeper.get_or_init(|| {
            let weak: Weak<Inner> = Arc::downgrade(&self.inner);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let Some(inner) = weak.upgrade() else { return };
                        inner.sweep();
                    }
                });
            }
        });
    }

    /// Answers a request [`claims`] took.
    pub(crate) async fn answer(
        &self,
        engine: &Engine,
        env: &Envelope,
        caller: Caller<'_>,
    ) -> Result<String, Fault> {
        required_message_id(caller.message_id)?;
        self.start_sweeper();
        self.inner.sweep();
        match (&env.body, env.headers.action.as_deref().unwrap_or("")) {
            (Body::Eventing(EventingBody::Subscribe(b)), ns::ACTION_SUBSCRIBE) => {
                self.subscribe(engine, env, (**b).clone(), &caller).await
            }
            (Body::Eventing(EventingBody::Renew { expires }), ns::ACTION_EVENTING_RENEW) => {
                self.renew(env, expires.as_ref(), &caller)
            }
            (Body::Eventing(EventingBody::GetStatus), ns::ACTION_EVENTING_GET_STATUS) => {
                self.get_status(env, &caller)
            }
            (Body::Eventing(EventingBody::Unsubscribe), ns::ACTION_UNSUBSCRIBE) => {
                let sub = self.by_identifier(env, caller.user, FaultKind::InvalidMessage)?;
                self.remove(&sub.context);
                Ok(empty_answer(
                    ns::ACTION_UNSUBSCRIBE_RESPONSE,
                    caller.message_id,
                ))
            }
            (Body::Release { context }, ns::ACTION_RELEASE) => {
                let sub = self.by_context(context, caller.user)?;
                self.remove(&sub.context);
                Ok(empty_answer(ns::ACTION_RELEASE_RESPONSE, caller.message_id))
            }
            (Body::Pull(p), ns::ACTION_PULL) => {
                let mut caller = caller;
                if let Some(t) = p.max_time {
                    caller.deadline = caller.deadline.min(Instant::now() + t);
                }
                let max = p.max_characters.map_or(usize::MAX, |c| c as usize);
                caller.max_envelope = caller.max_envelope.min(max);
                self.pull(engine, &p.context, p.max_elements.unwrap_or(1), &caller)
                    .await
            }
            (body, action) => Err(Fault::new(
                FaultKind::SchemaValidationError,
                format!("the body does not fit the action {action} ({body:?})"),
            )),
        }
    }

    fn remove(&self, context: &str) {
        let gone = self.inner.lock().remove(context);
        if let Some(s) = gone {
            s.shared.close();
        }
    }

    fn by_context(&self, token: &str, user: &AuthenticatedUser) -> Result<Arc<Sub>, Fault> {
        let found = self.inner.lock().get(token.trim()).cloned();
        match found {
            Some(s) if *s.owner == *user.name && s.expires_at() > Instant::now() => Ok(s),
            _ => Err(invalid_context(token)),
        }
    }

    /// The subscription the `e:Identifier` header names, if the caller's.
    fn by_identifier(
        &self,
        env: &Envelope,
        user: &AuthenticatedUser,
        unknown: FaultKind,
    ) -> Result<Arc<Sub>, Fault> {
        let Some(id) = env.headers.identifier.as_deref().filter(|i| !i.is_empty()) else {
            return Err(Fault::new(
                unknown,
                "the request names no subscription: the header e:Identifier of the \
                 SubscribeResponse's SubscriptionManager is missing",
            ));
        };
        let now = Instant::now();
        self.inner
            .lock()
            .values()
            .find(|s| s.identifier == id && *s.owner == *user.name && s.expires_at() > now)
            .cloned()
            .ok_or_else(|| {
                Fault::new(
                    unknown,
                    format!("no subscription {id:?} (unsubscribed, expired or another user's)"),
                )
            })
    }

    fn granted(&self, expires: Option<&Expires>) -> Result<Duration, Fault> {
        let limits = &self.inner.limits();
        match expires {
            None => Ok(limits.default_expires.min(limits.max_expires)),
            Some(Expires::Other(t)) => Err(Fault::new(
                FaultKind::UnsupportedExpirationType,
                format!("e:Expires {t:?}: give the expiration time as a duration (PT600S)"),
            )),
            Some(Expires::Duration(d)) if d.is_zero() => Err(Fault::new(
                FaultKind::InvalidExpirationTime,
                "e:Expires is zero: give a duration such as PT600S",
            )),
            Some(Expires::Duration(d)) => Ok((*d).min(limits.max_expires)),
        }
    }

    async fn subscribe(
        &self,
        engine: &Engine,
        env: &Envelope,
        body: SubscribeBody,
        caller: &Caller<'_>,
    ) -> Result<String, Fault> {
        let uri = env.headers.resource_uri.clone().ok_or_else(|| {
            Fault::new(
                FaultKind::DestinationUnreachable,
                "the request has no wsman:ResourceURI",
            )
            .with_detail("InvalidResourceURI")
        })?;
        let r = resource::resolve(&uri, &env.headers.selectors)?;
        match body.delivery_mode.as_deref() {
            Some(ns::DELIVERY_PULL) => {}
            other => {
                return Err(Fault::new(
                    FaultKind::DeliveryModeRequestedUnavailable,
                    format!(
                        "the delivery mode {:?} is not served: openwmi delivers events by \
                         pull only ({})",
                        other.unwrap_or("push (no e:Delivery Mode)"),
                        ns::DELIVERY_PULL
                    ),
                ))
            }
        }
        if body.end_to {
            return Err(Fault::new(
                FaultKind::UnsupportedFeature,
                "e:EndTo is not served: a Pull on an ended subscription gets \
                 wsen:InvalidEnumerationContext",
            )
            .with_detail("AddressingMode"));
        }
        if body.bookmarks {
            return Err(Fault::new(
                FaultKind::UnsupportedFeature,
                "bookmarks are not served: events are made by polling and not kept",
            )
            .with_detail("Bookmarks"));
        }
        let query = match &body.filter {
            None => {
                return Err(Fault::new(
                    FaultKind::CannotProcessFilter,
                    "a Subscribe needs a WQL event query in wsman:Filter (SELECT * FROM \
                     __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Class')",
                ))
            }
            Some(f) => {
                let dialect = f.dialect.as_deref().unwrap_or(ns::DIALECT_WQL);
                if dialect != ns::DIALECT_WQL {
                    return Err(Fault::new(
                        FaultKind::FilterDialectRequestedUnavailable,
                        format!("the filter dialect {dialect:?} is not served for events (WQL)"),
                    ));
                }
                match &f.content {
                    FilterContent::Text(t) if !t.is_empty() => t.clone(),
                    _ => {
                        return Err(Fault::new(
                            FaultKind::CannotProcessFilter,
                            "the WQL filter holds no query text",
                        ))
                    }
                }
            }
        };
        let granted = self.granted(body.expires.as_ref())?;
        let user = caller.user;
        self.check_quota(user)?;
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            max_queued: self.inner.limits().max_queued,
        });
        let ctx = Arc::new(OperationContext::for_user(
            Arc::clone(&user.name),
            Arc::clone(&user.groups),
        ));
        let poller = self.poller(engine);
        let om = engine.object_manager().clone();
        let namespace = r.namespace.clone();
        let sink = Arc::new(Sink(Arc::clone(&shared)));
        // The first subscription to a class reads it (smbstatus): off the runtime.
        let started = tokio::task::spawn_blocking(move || {
            let q = EventQuery::compile(&om, &ctx, &namespace, "WQL", &query)?;
            let target = q.target_class.to_string();
            poller.subscribe(q, ctx, sink).map(|s| (s, target))
        })
        .await;
        let (poll, target_class) = match started {
            Ok(r) => r.map_err(Fault::from_cim)?,
            Err(_) => {
                return Err(Fault::new(
                    FaultKind::EventSourceUnableToProcess,
                    "the subscription failed unexpectedly",
                ))
            }
        };
        let sub = Arc::new(Sub {
            identifier: message_id(),
            context: format!("{}{CONTEXT_SUFFIX}", message_id()),
            owner: Arc::clone(&user.name),
            groups: Arc::clone(&user.groups),
            namespace: r.namespace,
            form: r.form,
            target_class,
            shared,
            expires_at: Mutex::new(Instant::now() + granted),
            _poll: poll,
        });
        {
            let mut subs = self.inner.lock();
            // Counted again: others may have subscribed meanwhile.
            quota(&self.inner.limits(), &subs, user)?;
            subs.insert(sub.context.clone(), Arc::clone(&sub));
        }
        let address = env
            .headers
            .to
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(ns::ANONYMOUS);
        let mut out = String::with_capacity(2048);
        envelope_head(
            &mut out,
            ns::ACTION_SUBSCRIBE_RESPONSE,
            caller.message_id,
            None,
        );
        out.push_str("<s:Body><e:SubscribeResponse xmlns:e=\"");
        out.push_str(ns::WSE);
        out.push_str("\"><e:SubscriptionManager><a:Address>");
        xml::text(&mut out, address);
        out.push_str("</a:Address><a:ReferenceParameters><w:ResourceURI>");
        xml::text(&mut out, &uri);
        out.push_str("</w:ResourceURI><e:Identifier>");
        xml::text(&mut out, &sub.identifier);
        out.push_str("</e:Identifier></a:ReferenceParameters></e:SubscriptionManager>");
        xml::element(&mut out, "e:Expires", &duration_text(granted));
        xml::element(&mut out, "n:EnumerationContext", &sub.context);
        out.push_str("</e:SubscribeResponse>");
        out.push_str(ENVELOPE_TAIL);
        Ok(out)
    }

    fn check_quota(&self, user: &AuthenticatedUser) -> Result<(), Fault> {
        let limits = self.inner.limits();
        quota(&limits, &self.inner.lock(), user)
    }

    fn renew(
        &self,
        env: &Envelope,
        expires: Option<&Expires>,
        caller: &Caller<'_>,
    ) -> Result<String, Fault> {
        let sub = self.by_identifier(env, caller.user, FaultKind::UnableToRenew)?;
        let granted = self.granted(expires)?;
        *sub.expires_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now() + granted;
        Ok(expires_answer(
            ns::ACTION_EVENTING_RENEW_RESPONSE,
            "e:RenewResponse",
            granted,
            caller.message_id,
        ))
    }

    fn get_status(&self, env: &Envelope, caller: &Caller<'_>) -> Result<String, Fault> {
        let sub = self.by_identifier(env, caller.user, FaultKind::InvalidMessage)?;
        let left = sub.expires_at().saturating_duration_since(Instant::now());
        Ok(expires_answer(
            ns::ACTION_EVENTING_GET_STATUS_RESPONSE,
            "e:GetStatusResponse",
            left,
            caller.message_id,
        ))
    }

    async fn pull(
        &self,
        engine: &Engine,
        token: &str,
        max_elements: u32,
        caller: &Caller<'_>,
    ) -> Result<String, Fault> {
        let sub = self.by_context(token, caller.user)?;
        let om = engine.object_manager();
        loop {
            let woken = sub.shared.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if sub.expires_at() <= Instant::now() || sub.shared.lock().closed {
                return Err(invalid_context(token));
            }
            // The owner may have lost the right since the Subscribe.
            if let Err(e) =
                om.check_instance_access(&sub.context(), &sub.namespace, &sub.target_class)
            {
                sub.shared.lock().events.clear();
                return Err(Fault::from_cim(e));
            }
            if let Some(answer) = take_events(&sub, max_elements, caller)? {
                return Ok(answer);
            }
            let failure = sub.shared.lock().failure.take();
            if let Some(e) = failure {
                return Err(Fault::from_cim(e));
            }
            let now = Instant::now();
            if now >= caller.deadline {
                return Err(Fault::new(
                    FaultKind::TimedOut,
                    "no event arrived within the OperationTimeout; the subscription \
                     goes on: Pull again",
                ));
            }
            // Woken by an event, an Unsubscribe, or the deadline (then answered above).
            let until = tokio::time::Instant::from_std(caller.deadline);
            let _ = tokio::time::timeout_at(until, woken).await;
        }
    }
}

fn quota(
    limits: &EventingLimits,
    subs: &HashMap<String, Arc<Sub>>,
    user: &AuthenticatedUser,
) -> Result<(), Fault> {
    if subs.len() >= limits.max_total {
        return Err(Fault::new(
            FaultKind::QuotaLimit,
            format!(
                "the server holds {} WS-Eventing subscriptions, its limit: unsubscribe \
                 some or wait for them to expire",
                limits.max_total
            ),
        ));
    }
    let mine = subs.values().filter(|s| *s.owner == *user.name).count();
    if mine >= limits.max_per_user {
        return Err(Fault::new(
            FaultKind::QuotaLimit,
            format!(
                "user {} holds {mine} WS-Eventing subscriptions, the limit per user: \
                 unsubscribe some or wait for them to expire",
                user.name
            ),
        ));
    }
    Ok(())
}

/// The PullResponse with the queued events that fit, or `None` when none
/// is queued.
fn take_events(sub: &Sub, max_elements: u32, caller: &Caller<'_>) -> Result<Option<String>, Fault> {
    let mut q = sub.shared.lock();
    if q.events.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(8192);
    envelope_head(&mut out, ns::ACTION_PULL_RESPONSE, caller.message_id, None);
    out.push_str("<s:Body><n:PullResponse>");
    xml::element(&mut out, "n:EnumerationContext", &sub.context);
    out.push_str("<n:Items>");
    let budget = caller
        .max_envelope
        .saturating_sub(out.len() + ENVELOPE_RESERVE);
    let mut items = String::new();
    let mut taken = 0u32;
    while taken < max_elements.max(1) {
        let Some(ev) = q.events.front() else { break };
        let mut one = String::with_capacity(2048);
        write_event(&mut one, ev, &sub.namespace, sub.form, &sub.target_class);
        if items.len() + one.len() > budget {
            if taken == 0 {
                q.events.pop_front();
                return Err(Fault::new(
                    FaultKind::EncodingLimit,
                    format!(
                        "an event of {} characters does not fit the MaxEnvelopeSize; it is \
                         dropped",
                        one.len()
                    ),
                )
                .with_detail("MaxEnvelopeSize"));
            }
            break;
        }
        q.events.pop_front();
        items.push_str(&one);
        taken += 1;
    }
    drop(q);
    out.push_str(&items);
    out.push_str("</n:Items></n:PullResponse>");
    out.push_str(ENVELOPE_TAIL);
    Ok(Some(out))
}

fn empty_answer(action: &str, relates_to: Option<&str>) -> String {
    let mut out = String::with_capacity(1024);
    envelope_head(&mut out, action, relates_to, None);
    out.push_str("<s:Body>");
    out.push_str(ENVELOPE_TAIL);
    out
}

fn expires_answer(action: &str, element: &str, d: Duration, relates_to: Option<&str>) -> String {
    let mut out = String::with_capacity(1024);
    envelope_head(&mut out, action, relates_to, None);
    out.push_str("<s:Body><");
    out.push_str(element);
    out.push_str(" xmlns:e=\"");
    out.push_str(ns::WSE);
    out.push_str("\">");
    xml::element(&mut out, "e:Expires", &duration_text(d));
    out.push_str("</");
    out.push_str(element);
    out.push('>');
    out.push_str(ENVELOPE_TAIL);
    out
}

/// The objects an event row embeds (`TargetInstance.Name` members).
const EMBEDDED: [&str; 2] = ["TargetInstance", "PreviousInstance"];

/// Writes an event row (as the poller makes it: `TargetInstance.Name`
/// members) as its event class's instance, `TargetInstance` and
/// `PreviousInstance` as embedded instances of their class (DSP0230: the
/// property element typed `<Class>_Type`, the instance's properties in
/// its class's namespace inside).
pub(crate) fn write_event(
    out: &mut String,
    row: &Instance,
    namespace: &str,
    form: UriForm,
    target_class: &str,
) {
    let class = row.class_name.as_str();
    out.push_str("<p:");
    out.push_str(class);
    crate::encode::typed_as(out, "p", &form.class_uri(namespace, class), class);
    let members = |object: &str| -> Vec<&InstanceProperty> {
        row.properties
            .iter()
            .filter(|p| {
                p.name
                    .as_str()
                    .split_once('.')
                    .is_some_and(|(o, _)| o.eq_ignore_ascii_case(object))
            })
            .collect()
    };
    let mut written_embedded = [false; 2];
    for p in &row.properties {
        let name = p.name.as_str();
        let object = name.split_once('.').map_or(name, |(o, _)| o);
        let Some(which) = EMBEDDED.iter().position(|e| e.eq_ignore_ascii_case(object)) else {
            encode::named(out, name, p.value.as_ref(), namespace, form);
            continue;
        };
        let inside = members(EMBEDDED[which]);
        if inside.is_empty() {
            // Only the reference was selected: written as one.
            encode::named(out, name, p.value.as_ref(), namespace, form);
            continue;
        }
        if std::mem::replace(&mut written_embedded[which], true) {
            continue;
        }
        let embedded_class = inside
            .iter()
            .find(|m| m.name.as_str().ends_with(".__CLASS"))
            .and_then(|m| match &m.value {
                Some(Value::String(s)) => Some(s.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| target_class.to_owned());
        write_embedded(
            out,
            EMBEDDED[which],
            &embedded_class,
            &inside,
            namespace,
            form,
        );
    }
    out.push_str("</p:");
    out.push_str(class);
    out.push('>');
}

fn write_embedded(
    out: &mut String,
    property: &str,
    class: &str,
    members: &[&InstanceProperty],
    namespace: &str,
    form: UriForm,
) {
    out.push_str("<p:");
    out.push_str(property);
    crate::encode::typed_as(out, "q", &form.class_uri(namespace, class), class);
    let mut inner = String::with_capacity(1024);
    for m in members {
        let Some((_, member)) = m.name.as_str().split_once('.') else {
            continue;
        };
        if member.starts_with("__") {
            continue;
        }
        encode::named(&mut inner, member, m.value.as_ref(), namespace, form);
    }
    // `encode` writes the properties with the class prefix `p`; inside the
    // embedded instance they belong to its own class's namespace. Text and
    // attribute values are escaped, so `<p:` only ever starts a tag.
    out.push_str(&inner.replace("<p:", "<q:").replace("</p:", "</q:"));
    out.push_str("</p:");
    out.push_str(property);
    out.push('>');
}

/// The answer's size bound for `env` (as for the other operations).
pub(crate) fn max_envelope(env: &Envelope) -> usize {
    let max = env
        .headers
        .max_envelope_size
        .map_or(MAX_ENVELOPE, |m| (m as usize).min(MAX_ENVELOPE));
    if env.encoding == Encoding::Utf8 {
        max
    } else {
        max / 2
    }
}

#[cfg(test)]
#[path = "eventing/tests.rs"]
mod tests;
