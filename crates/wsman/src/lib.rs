//! The WS-Management front-end of openwmi (DSP0226, the CIM binding
//! DSP0227, the WS-CIM mapping DSP0230 and Microsoft's profile MS-WSMV):
//! what PowerShell's CIM cmdlets, `winrm`, pywinrm, pypsrp and `wsl` speak.
//!
//! A second front-end on the same object manager, permissions, limits,
//! authentication and enumeration contexts as CIM-XML, not a second
//! server: the transport (`openwmi-server`) authenticates and routes
//! `POST /wsman` to the [`WsMan`] service; the request is decoded
//! (`envelope.rs`, pure, with limits), planned into the protocol-neutral
//! [`openwmi_operation::Operation`] (`plan.rs`, resource URIs in
//! `resource.rs`), run on the CIM-XML dispatcher's object manager
//! (`engine.rs`) and written in DSP0230's encoding (`encode.rs`); every
//! failure is a SOAP fault (`fault.rs`) with Windows' `f:WSManFault` detail.
//!
//! Operations: Identify (also unauthenticated, when configured, for a
//! request sent with `WSMANIDENTIFY: unauthenticated`), WS-Transfer Get,
//! WS-Enumeration Enumerate / Pull / Release (GetStatus and Renew answer
//! `wsa:ActionNotSupported`), with WQL, selector and association filters,
//! and Invoke (action `<ResourceURI>/<Method>`, an extrinsic method);
//! WS-Eventing Subscribe (pull delivery, WQL event queries) / Renew /
//! GetStatus / Unsubscribe, with events taken by Pull (`eventing.rs`).

mod cache;
mod classdef;
mod encode;
mod engine;
pub mod envelope;
pub mod eventing;
pub mod fault;
pub mod ns;
pub mod plan;
pub mod resource;
mod stats;
mod writer;
mod xml;

pub use engine::MAX_ENVELOPE;
pub use envelope::{decode, Limits};
pub use eventing::{Eventing, EventingLimits};
pub use fault::{Fault, FaultKind};

use bytes::Bytes;
use engine::{Call, Engine};
use http::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode, Uri};
use openwmi_service::{Request, RequestHead, Response, Service, Unauthenticated};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The WS-Management part of `openwmi serve`'s configuration: in the file,
/// the key `wsman_identify_unauthenticated` (and the option
/// `--wsman-identify-unauthenticated`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WsManConfig {
    /// Answer an Identify sent without credentials and with the HTTP header
    /// `WSMANIDENTIFY: unauthenticated` (what `Test-WSMan` sends), naming
    /// no product version and no security profiles (MS-WSMV 3.1.4.1.23).
    /// Every other request still needs credentials. Default false.
    pub wsman_identify_unauthenticated: bool,
}

/// The paths the service is routed at (OMI's client posts to `/wsman/`).
pub const PATHS: [&str; 2] = ["/wsman", "/wsman/"];

/// The HTTP header of an unauthenticated Identify.
const WSMANIDENTIFY: HeaderName = HeaderName::from_static("wsmanidentify");

/// Time an operation gets when the request names none.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest time an operation gets, below the transport's request cap.
const MAX_OPERATION_TIMEOUT: Duration = Duration::from_secs(240);

struct State {
    engine: OnceLock<Engine>,
    ready: tokio::sync::Notify,
    config: WsManConfig,
    limits: Limits,
    eventing: Eventing,
}

/// The WS-Management service. Cheap to clone.
#[derive(Clone)]
pub struct WsMan {
    state: Arc<State>,
}

impl std::fmt::Debug for WsMan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsMan")
            .field("config", &self.state.config)
            .field("ready", &self.state.engine.get().is_some())
            .finish_non_exhaustive()
    }
}

impl WsMan {
    /// Answers from `dispatcher`'s object manager and contexts.
    pub fn new(dispatcher: openwmi_wbem::Dispatcher, config: WsManConfig) -> WsMan {
        let w = WsMan::pending(config);
        w.set_dispatcher(dispatcher);
        w
    }

    /// A service whose requests wait until [`WsMan::set_dispatcher`] (the
    /// server listens while the providers still load).
    pub fn pending(config: WsManConfig) -> WsMan {
        WsMan {
            state: Arc::new(State {
                engine: OnceLock::new(),
                ready: tokio::sync::Notify::new(),
                config,
                limits: Limits::default(),
                eventing: Eventing::new(EventingLimits::default()),
            }),
        }
    }

    /// Its WS-Eventing subscriptions (to share an `EventPoller`, to count).
    pub fn eventing(&self) -> &Eventing {
        &self.state.eventing
    }

    pub fn set_dispatcher(&self, dispatcher: openwmi_wbem::Dispatcher) {
        let _ = self.state.engine.set(Engine::new(dispatcher));
        self.state.ready.notify_waiters();
    }
}

impl State {
    async fn engine(&self) -> &Engine {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(e) = self.engine.get() {
                return e;
            }
            notified.await;
        }
    }
}

fn is_soap(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/soap+xml")
}

impl Service for WsMan {
    fn check(&self, head: &mut RequestHead) -> Result<(), Response> {
        if head.method != Method::POST {
            return Err(Response::empty(StatusCode::METHOD_NOT_ALLOWED)
                .with_header(ALLOW, HeaderValue::from_static("POST")));
        }
        let content_type = head
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_soap(content_type) {
            return Err(Response::empty(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        Ok(())
    }

    fn admits_unauthenticated(&self, method: &Method, _uri: &Uri, headers: &HeaderMap) -> bool {
        self.state.config.wsman_identify_unauthenticated
            && *method == Method::POST
            && headers
                .get(WSMANIDENTIFY)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("unauthenticated"))
    }

    fn call(&self, request: Request) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let engine = state.engine().await;
            answer(engine, &state.limits, &state.eventing, request).await
        })
    }
}

/// The answer's bytes in the request's encoding, and its Content-Type.
fn encoded(text: String, encoding: envelope::Encoding) -> (Bytes, &'static str) {
    use envelope::Encoding;
    match encoding {
        Encoding::Utf8 => (Bytes::from(text), "application/soap+xml;charset=UTF-8"),
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let le = encoding == Encoding::Utf16Le;
            let mut out = Vec::with_capacity(text.len() * 2 + 2);
            out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
            for unit in text.encode_utf16() {
                out.extend_from_slice(&if le {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                });
            }
            (Bytes::from(out), "application/soap+xml;charset=UTF-16")
        }
    }
}

fn soap(status: StatusCode, text: String, encoding: envelope::Encoding) -> Response {
    let (body, content_type) = encoded(text, encoding);
    let mut r =
        Response::ok(body).with_header(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.status = status;
    r
}

fn fault_response(
    fault: &Fault,
    message_id: Option<&str>,
    encoding: envelope::Encoding,
    machine: &str,
) -> Response {
    soap(
        StatusCode::INTERNAL_SERVER_ERROR,
        fault.envelope(message_id, machine),
        encoding,
    )
}

fn unauthorized() -> Response {
    Response::empty(StatusCode::UNAUTHORIZED).with_header(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"openwmi\""),
    )
}

async fn answer(
    engine: &Engine,
    limits: &Limits,
    eventing: &Eventing,
    request: Request,
) -> Response {
    let started = Instant::now();
    let Request { head, body } = request;
    let unauthenticated = head.extensions.get::<Unauthenticated>().is_some();
    let machine = engine.machine();
    let content_type = head.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let env = match envelope::decode(&body, content_type, limits) {
        Ok(e) => e,
        // Let through for an Identify only: anything else learns nothing.
        Err(_) if unauthenticated => return unauthorized(),
        Err(r) => {
            stats::record(stats::OTHER, Some(&r.fault), started);
            return fault_response(&r.fault, r.message_id.as_deref(), r.encoding, machine);
        }
    };
    let message_id = env.headers.message_id.clone();
    let fault = |f: &Fault| fault_response(f, message_id.as_deref(), env.encoding, machine);
    if eventing::claims(&env) {
        if unauthenticated {
            return unauthorized();
        }
        let timeout = env
            .headers
            .operation_timeout
            .unwrap_or(DEFAULT_OPERATION_TIMEOUT)
            .min(MAX_OPERATION_TIMEOUT);
        let caller = eventing::Caller {
            user: &head.user,
            message_id: message_id.as_deref(),
            max_envelope: eventing::max_envelope(&env),
            deadline: Instant::now() + timeout,
        };
        let operation = stats::eventing_operation(&env);
        return match eventing.answer(engine, &env, caller).await {
            Ok(text) => {
                stats::record(operation, None, started);
                soap(StatusCode::OK, text, env.encoding)
            }
            Err(f) => {
                stats::record(operation, Some(&f), started);
                fault(&f)
            }
        };
    }
    let plan = match plan::plan(&env) {
        Ok(p) => p,
        Err(_) if unauthenticated => return unauthorized(),
        Err(f) => {
            stats::record(stats::OTHER, Some(&f), started);
            return fault(&f);
        }
    };
    let operation = stats::operation(&plan);
    if unauthenticated && plan != plan::Plan::Identify {
        return unauthorized();
    }
    let mut timeout = env
        .headers
        .operation_timeout
        .unwrap_or(DEFAULT_OPERATION_TIMEOUT)
        .min(MAX_OPERATION_TIMEOUT);
    if let plan::Plan::Pull {
        max_time: Some(t), ..
    } = &plan
    {
        timeout = timeout.min(*t);
    }
    let mut max_envelope = env
        .headers
        .max_envelope_size
        .map_or(MAX_ENVELOPE, |m| (m as usize).min(MAX_ENVELOPE));
    if env.encoding != envelope::Encoding::Utf8 {
        max_envelope /= 2;
    }
    let call = Call {
        user: Arc::clone(&head.user.name),
        groups: Arc::clone(&head.user.groups),
        client: Some(head.peer),
        message_id: message_id.clone(),
        max_envelope,
        deadline: Instant::now() + timeout,
        tls: head.tls,
        unauthenticated,
        precise_arrays: env.headers.uses_precise_arrays(),
    };
    let outcome = if engine.may_block(&plan) {
        let engine = engine.clone();
        let worker = tokio::task::spawn_blocking(move || catching(|| engine.run(&plan, &call)));
        // Twice the time: the enumeration stops adding items at the
        // deadline; this catches a provider that does not answer at all.
        match tokio::time::timeout(timeout + timeout / 2 + Duration::from_secs(1), worker).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(internal()),
            Err(_) => Err(Fault::new(
                FaultKind::TimedOut,
                format!(
                    "the operation did not finish within its OperationTimeout of {} s \
                     (a data source is slow or hangs)",
                    timeout.as_secs_f64()
                ),
            )),
        }
    } else {
        catching(|| engine.run(&plan, &call))
    };
    stats::record(operation, outcome.as_ref().err(), started);
    match outcome {
        Ok(text) => soap(StatusCode::OK, text, env.encoding),
        Err(f) => fault(&f),
    }
}

fn internal() -> Fault {
    Fault::new(
        FaultKind::InternalError,
        "the operation failed unexpectedly",
    )
}

/// A panicking provider costs its request only.
fn catching(f: impl FnOnce() -> Result<String, Fault>) -> Result<String, Fault> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| Err(internal()))
}
