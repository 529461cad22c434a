//! The CIM-XML front-end of openwmi: DSP0200 operations answered from an
//! [`ObjectManager`].
//!
//! The transport (`openwmi-server`: TLS, authentication, limits) hands an
//! authenticated request to the [`CimXml`] service (an
//! [`openwmi_service::Service`]), which applies DSP0200's HTTP rules
//! (`http_mapping.rs`) and passes the CIM request to the [`Dispatcher`]; it
//! decodes the body with `openwmi-cimxml`, checks the `CIMMethod`/`CIMObject`
//! headers against it, runs the operation and answers with the whole
//! response, or streams it in chunks once it grows large. Nothing here knows
//! hyper, TLS or PAM. A request's size is bounded once, by the transport
//! before it holds the body (`limits.max_body_bytes`); the decoder bounds
//! only its structure (`openwmi_cimxml::Limits::request`).
//!
//! Where it runs: a namespace whose providers never block (static instances,
//! interop) is answered on the connection's task, chunks made as the
//! connection sends them: no thread hand-over, which on a small machine is
//! most of a small request's cost. Elsewhere (providers spawn processes) it
//! runs on a thread that may block: `block_in_place` for answers that come
//! whole, the blocking pool with a channel for those that may stream.

mod answers;
mod contexts;
mod dispatch;
mod encoded;
mod http_mapping;
mod stats;
#[cfg(test)]
mod testing;

pub use contexts::{
    EnumContexts, Pending, PullKind, DEFAULT_ENUMERATIONS_PER_USER, MAX_OPEN_ENUMERATIONS,
};
pub use http_mapping::{protocol_error, CimHandler, CimRequest, CimXml};
pub use stats::{operation_counts, OperationCount, OPERATIONS};

use bytes::Bytes;
use dispatch::{Dispatch, Outcome};
use http::{HeaderMap, StatusCode};
use openwmi_cim::CimError;
use openwmi_cimom::{ObjectManager, OperationContext};
use openwmi_service::{Body, BodyPart, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

struct Shared {
    om: ObjectManager,
    contexts: EnumContexts,
    encoded: Arc<encoded::EncodedInstances>,
    answers: answers::Answers,
    limits: openwmi_cimxml::Limits,
}

/// The default of [`DispatcherConfig::answer_cache_kib`].
pub const DEFAULT_ANSWER_CACHE_KIB: u64 = 4 * 1024;

/// Largest answer cache accepted: 1 GiB.
const MAX_ANSWER_CACHE_KIB: u64 = 1 << 20;

/// The dispatcher's settings: in `openwmi serve`'s configuration file, the
/// keys `answer_cache_kib` and `max_enumerations_per_user` (and the options
/// `--answer-cache-kib`, `--max-enumerations-per-user`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherConfig {
    /// KiB of whole answers to enumerations and queries of instances that
    /// never change (static MOF instances) kept and handed out again to
    /// the requests that ask the same; 0 keeps none. Default 4096.
    pub answer_cache_kib: u64,
    /// Pull enumerations one user may hold open at once, of the server's
    /// [`MAX_OPEN_ENUMERATIONS`]; one more Open* fails with
    /// CIM_ERR_SERVER_LIMITS_EXCEEDED. Default
    /// [`DEFAULT_ENUMERATIONS_PER_USER`].
    pub max_enumerations_per_user: usize,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            answer_cache_kib: DEFAULT_ANSWER_CACHE_KIB,
            max_enumerations_per_user: DEFAULT_ENUMERATIONS_PER_USER,
        }
    }
}

impl DispatcherConfig {
    /// `answer_cache_kib` in bytes.
    pub fn answer_cache_bytes(&self) -> usize {
        // At most 1 GiB once validated: fits a usize wherever openwmi builds.
        usize::try_from(self.answer_cache_kib.saturating_mul(1024)).unwrap_or(usize::MAX)
    }

    /// The server's enumeration contexts, with this quota per user.
    pub fn enum_contexts(&self) -> EnumContexts {
        EnumContexts::default().with_user_quota(self.max_enumerations_per_user)
    }

    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.answer_cache_kib > MAX_ANSWER_CACHE_KIB {
            return Err(format!(
                "answer_cache_kib must be at most {MAX_ANSWER_CACHE_KIB}, not {}",
                self.answer_cache_kib
            ));
        }
        if !(1..=MAX_OPEN_ENUMERATIONS).contains(&self.max_enumerations_per_user) {
            return Err(format!(
                "max_enumerations_per_user must be from 1 to {MAX_OPEN_ENUMERATIONS}, not {}",
                self.max_enumerations_per_user
            ));
        }
        Ok(())
    }
}

/// Answers CIM-XML requests from an object manager. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub fn new(om: ObjectManager) -> Self {
        Dispatcher::with_config(om, &DispatcherConfig::default())
    }

    pub fn with_contexts(om: ObjectManager, contexts: EnumContexts) -> Self {
        let budget = DispatcherConfig::default().answer_cache_bytes();
        Dispatcher::with_answer_budget(om, contexts, budget)
    }

    pub fn with_config(om: ObjectManager, config: &DispatcherConfig) -> Self {
        Dispatcher::with_answer_budget(om, config.enum_contexts(), config.answer_cache_bytes())
    }

    /// Keeps at most `budget_bytes` of whole answers to enumerations and
    /// queries of instances that never change, and hands them out again to
    /// the requests that ask the same (`answers.rs`); 0 keeps none, so every
    /// request walks the instances.
    pub fn with_answer_budget(
        om: ObjectManager,
        contexts: EnumContexts,
        budget_bytes: usize,
    ) -> Self {
        Dispatcher {
            shared: Arc::new(Shared {
                encoded: Arc::new(encoded::EncodedInstances::new(&om)),
                answers: answers::Answers::new(budget_bytes),
                om,
                contexts,
                limits: openwmi_cimxml::Limits::request(),
            }),
        }
    }

    /// The object manager it answers from, for another front-end on the
    /// same objects, permissions and limits (WS-Management).
    pub fn object_manager(&self) -> &ObjectManager {
        &self.shared.om
    }

    /// Its enumeration contexts, which another front-end shares: one quota
    /// per user over both protocols.
    pub fn contexts(&self) -> &EnumContexts {
        &self.shared.contexts
    }

    /// Open enumeration contexts (for tests and statistics).
    pub fn open_enumerations(&self) -> usize {
        self.shared.contexts.len()
    }

    /// Handles one request body on the calling thread.
    fn answer(&self, req: CimRequest) -> Result<Outcome, Response> {
        let started = std::time::Instant::now();
        let request = match openwmi_cimxml::decode_request(&req.body, &self.shared.limits) {
            Ok(r) => r,
            Err(e) => return Err(decode_error(&e)),
        };
        if let Err(e) = openwmi_cimxml::check_decoded_headers(
            req.cim_method.as_deref(),
            req.cim_object.as_deref(),
            &request,
        ) {
            return Err(decode_error(&e));
        }
        let mut op_ctx =
            OperationContext::for_user(Arc::clone(&req.user.name), Arc::clone(&req.user.groups));
        op_ctx.client = Some(req.peer);
        if let Some(h) = req
            .headers
            .get(openwmi_cimxml::context::HEADER)
            .and_then(|v| v.to_str().ok())
        {
            op_ctx.values = openwmi_cimxml::context::decode(h);
        }
        let ctx = Arc::new(op_ctx);
        let d = Dispatch {
            om: &self.shared.om,
            contexts: &self.shared.contexts,
            encoded: &self.shared.encoded,
            answers: &self.shared.answers,
            ctx,
            user: req.user.name,
        };
        Ok(d.run(&request, started))
    }
}

/// A protocol error (400 + CIMError header, 413) or a CIM error found while
/// decoding (200 + ERROR).
fn decode_error(e: &openwmi_cimxml::DecodeError) -> Response {
    if let Some(body) = e.error_response() {
        return Response::ok(body);
    }
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    match e.http_cim_error_header() {
        Some(h) => protocol_error(status, h),
        None => Response {
            status,
            headers: Vec::new(),
            body: Body::Full(Bytes::new()),
        },
    }
}

/// What the blocking thread tells the waiting handler first.
enum Start {
    Streaming(mpsc::Receiver<BodyPart>),
    Done(Response),
}

/// Operations whose answer may stream: they run on the blocking pool so the
/// connection task can send chunks while the enumeration goes on.
fn may_stream(cim_method: Option<&str>) -> bool {
    match cim_method {
        Some(m) => ["EnumerateInstances", "EnumerateInstanceNames", "ExecQuery"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(m)),
        None => true,
    }
}

/// A panicking provider costs its request only, not the connection's task
/// (nor, on the blocking pool, the thread).
fn catching<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

fn internal_error() -> Response {
    protocol_error(StatusCode::INTERNAL_SERVER_ERROR, "request-not-valid")
}

/// The body parts of a streamed answer: its chunks, then, for a client that
/// sent `TE: trailers`, the status in DSP0200's `CIMStatusCode` and
/// `CIMStatusCodeDescription` trailers (0 when complete). A chunk that
/// panics ends the body (cuts the document) with CIM_ERR_FAILED.
struct BodyParts {
    chunks: Option<Box<dispatch::Chunks>>,
    trailers: bool,
}

/// The response header announcing the trailers ([`BodyParts`]).
const TRAILER_FIELDS: &str = "CIMStatusCode, CIMStatusCodeDescription";

impl BodyParts {
    fn new(chunks: Box<dispatch::Chunks>, trailers: bool) -> Self {
        BodyParts {
            chunks: Some(chunks),
            trailers,
        }
    }

    fn response(self) -> Response {
        let trailers = self.trailers;
        announce_trailers(Response::chunked(Box::new(self)), trailers)
    }
}

fn announce_trailers(mut response: Response, trailers: bool) -> Response {
    if trailers {
        response.headers.push((
            http::header::TRAILER,
            http::HeaderValue::from_static(TRAILER_FIELDS),
        ));
    }
    response
}

fn status_trailers(failure: Option<&CimError>) -> HeaderMap {
    let mut fields = HeaderMap::new();
    let code = failure.map_or(0, |e| e.status.code());
    fields.insert("cimstatuscode", http::HeaderValue::from(code));
    if let Some(e) = failure {
        let text = openwmi_cim::percent::encode(&e.description, false);
        if let Ok(v) = http::HeaderValue::from_str(&text) {
            fields.insert("cimstatuscodedescription", v);
        }
    }
    fields
}

impl Iterator for BodyParts {
    type Item = BodyPart;

    fn next(&mut self) -> Option<BodyPart> {
        let chunks = self.chunks.as_mut()?;
        let failure = match catching(|| chunks.next()) {
            Some(Some(chunk)) if chunks.finished() && !self.trailers => {
                self.chunks = None;
                return Some(BodyPart::Last(Bytes::from(chunk)));
            }
            Some(Some(chunk)) => return Some(BodyPart::Data(Bytes::from(chunk))),
            Some(None) => chunks.failure().cloned(),
            None => Some(CimError::failed("the answer failed half way")),
        };
        self.chunks = None;
        self.trailers
            .then(|| BodyPart::Trailers(status_trailers(failure.as_ref())))
    }
}

/// Whether the client takes trailers (`TE: trailers`). Not offered to M-POST
/// requests, whose CIM headers carry a prefix that trailers would not.
fn wants_trailers(req: &CimRequest) -> bool {
    !req.m_post
        && req
            .headers
            .get_all(http::header::TE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|name| name.trim().eq_ignore_ascii_case("trailers"))
            })
}

impl Dispatcher {
    /// Whether the request may reach a provider that blocks. Decided on the
    /// `CIMObject` header, which the decoder then checks against the body;
    /// without it, assume so.
    fn may_block(&self, req: &CimRequest) -> bool {
        match req.cim_object.as_deref() {
            Some(ns) => self.shared.om.may_block(ns),
            None => true,
        }
    }

    /// Answers on the connection's task: only for providers that never block.
    fn answer_here(&self, req: CimRequest) -> Response {
        let trailers = wants_trailers(&req);
        match catching(|| self.answer(req)) {
            Some(Ok(Outcome::Full(body))) => Response::ok(body),
            Some(Ok(Outcome::Chunks(chunks))) => BodyParts::new(chunks, trailers).response(),
            Some(Ok(Outcome::Kept { head, rest })) => Response::ok_parts(vec![head, rest]),
            Some(Err(resp)) => resp,
            None => internal_error(),
        }
    }

    /// Answers on the current worker thread, which `block_in_place` hands
    /// over the worker's other tasks: no thread hop on the request's path
    /// (two fewer wake-ups than spawn_blocking), and a provider may block.
    fn answer_in_place(&self, req: CimRequest) -> Response {
        tokio::task::block_in_place(|| {
            catching(|| match self.answer(req) {
                Ok(Outcome::Full(body)) => Response::ok(body),
                // Not expected here (only may_stream operations stream), but whole is correct.
                Ok(Outcome::Chunks(chunks)) => Response::ok(chunks.collect::<String>()),
                Ok(Outcome::Kept { head, rest }) => Response::ok_parts(vec![head, rest]),
                Err(resp) => resp,
            })
        })
        .unwrap_or_else(internal_error)
    }

    /// Runs on the blocking pool; a streamed answer goes through a channel
    /// of one chunk, so the writer stays at most one chunk ahead of the
    /// network and a slow client costs little memory.
    async fn answer_on_pool(&self, req: CimRequest) -> Response {
        let this = self.clone();
        let trailers = wants_trailers(&req);
        let (start_tx, start_rx) = oneshot::channel();
        let worker = tokio::task::spawn_blocking(move || {
            let chunks = match catching(|| this.answer(req)) {
                Some(Ok(Outcome::Chunks(chunks))) => chunks,
                Some(Ok(Outcome::Kept { head, rest })) => {
                    let _ = start_tx.send(Start::Done(Response::ok_parts(vec![head, rest])));
                    return;
                }
                Some(Ok(Outcome::Full(body))) => {
                    let _ = start_tx.send(Start::Done(Response::ok(body)));
                    return;
                }
                Some(Err(resp)) => {
                    let _ = start_tx.send(Start::Done(resp));
                    return;
                }
                None => return,
            };
            let (tx, rx) = mpsc::channel(1);
            if start_tx.send(Start::Streaming(rx)).is_err() {
                return;
            }
            for part in BodyParts::new(chunks, trailers) {
                if tx.blocking_send(part).is_err() {
                    return;
                }
            }
        });
        match start_rx.await {
            Ok(Start::Streaming(rx)) => announce_trailers(Response::streamed(rx), trailers),
            Ok(Start::Done(resp)) => resp,
            Err(_) => {
                // The worker died without answering (a panic in a provider).
                let _ = worker.await;
                internal_error()
            }
        }
    }
}

impl CimHandler for Dispatcher {
    fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        let this = self.clone();
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if !self.may_block(&req) {
            return Box::pin(async move { this.answer_here(req) });
        }
        if multi_thread && !may_stream(req.cim_method.as_deref()) {
            return Box::pin(async move { this.answer_in_place(req) });
        }
        Box::pin(async move { this.answer_on_pool(req).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{answer, answer_as, call};
    use openwmi_cim::Instance;
    use openwmi_cimom::{EnumerateRequest, InstanceProvider, InstanceStream, ObjectManagerBuilder};

    /// 1500 instances, then (with `fails`) an error: a source that breaks
    /// after the answer has started to stream.
    struct HalfWay {
        blocks: bool,
        fails: bool,
    }

    impl InstanceProvider for HalfWay {
        fn name(&self) -> &str {
            "halfway"
        }
        fn capabilities(&self) -> openwmi_cimom::ProviderCapabilities {
            openwmi_cimom::ProviderCapabilities {
                may_block: self.blocks,
                ..openwmi_cimom::ProviderCapabilities::NONE
            }
        }
        fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
            let class = Arc::clone(req.class);
            let fails = self.fails;
            Ok(Box::new((0..1501).filter_map(move |i| match i {
                1500 if fails => Some(Err(CimError::failed("smbd went away: 100% gone"))),
                1500 => None,
                _ => Some(Ok(Arc::new(
                    Instance::of_class(&class).with("Name", Some(format!("share{i:05}").into())),
                ))),
            })))
        }
    }

    fn dispatcher(blocks: bool, fails: bool) -> Dispatcher {
        let repo = openwmi_mof::repository_from_str(
            "root/test",
            "t.mof",
            "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride);\n\
             class T_Share { [Key] string Name; };",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let mut builder = ObjectManagerBuilder::new(repo, "testhost");
        builder.register("root/test", "T_Share", Arc::new(HalfWay { blocks, fails }));
        Dispatcher::new(builder.build())
    }

    const ENUMERATE: &str =
        "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"T_Share\"/></IPARAMVALUE>";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_after_streaming_began_goes_in_the_cimstatuscode_trailer() {
        let body = call("EnumerateInstances", ENUMERATE);
        // On the connection's task (never blocks) and on the blocking pool.
        for blocks in [false, true] {
            let d = dispatcher(blocks, true);
            let (text, trailers, headers) = answer(
                &d,
                "EnumerateInstances",
                "root/test",
                &body,
                &[("te", "trailers")],
            )
            .await;
            assert!(text.len() > dispatch::STREAM_THRESHOLD, "blocks={blocks}");
            assert!(!text.ends_with("</CIM>"), "the document is cut");
            let announced = headers
                .iter()
                .find(|(n, _)| n == http::header::TRAILER)
                .map(|(_, v)| v.to_str().unwrap().to_owned());
            assert_eq!(announced.as_deref(), Some(TRAILER_FIELDS));
            let trailers = trailers.expect("trailers");
            assert_eq!(trailers["cimstatuscode"], "1");
            assert_eq!(
                trailers["cimstatuscodedescription"],
                "smbd%20went%20away%3A%20100%25%20gone"
            );

            // A client that did not ask gets the cut document only.
            let (text, trailers, headers) =
                answer(&d, "EnumerateInstances", "root/test", &body, &[]).await;
            assert!(!text.ends_with("</CIM>"));
            assert!(trailers.is_none());
            assert!(headers.iter().all(|(n, _)| n != http::header::TRAILER));
        }
    }

    /// An OpenEnumerateInstances of T_Share (MaxObjectCount 0) as `user`:
    /// whether it left an enumeration open, else the answer.
    async fn open_as(d: &Dispatcher, user: &str) -> Result<(), String> {
        let body = call("OpenEnumerateInstances", ENUMERATE);
        let (text, _, _) =
            answer_as(d, user, "OpenEnumerateInstances", "root/test", &body, &[]).await;
        if text.contains("<ERROR") || !text.contains("EnumerationContext") {
            return Err(text);
        }
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_user_cannot_hold_every_pull_enumeration() {
        let d = dispatcher(false, false);
        let mut opened = 0;
        let refusal = loop {
            match open_as(&d, "mallory").await {
                Ok(()) => opened += 1,
                Err(text) => break text,
            }
            assert!(opened <= 1024, "nothing refused");
        };
        assert!(refusal.contains("CODE=\"27\""), "{refusal}");
        assert!(opened < 1024, "one user held all {opened} enumerations");
        assert_eq!(d.open_enumerations(), opened);
        // Another user still opens enumerations.
        for _ in 0..3 {
            open_as(&d, "alice").await.unwrap();
        }
        assert_eq!(d.open_enumerations(), opened + 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_enumerations_per_user_are_configured() {
        let repo = openwmi_mof::repository_from_str(
            "root/test",
            "t.mof",
            "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride);\n\
             class T_Share { [Key] string Name; };",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let mut builder = ObjectManagerBuilder::new(repo, "testhost");
        let source = HalfWay {
            blocks: false,
            fails: false,
        };
        builder.register("root/test", "T_Share", Arc::new(source));
        let config = DispatcherConfig {
            max_enumerations_per_user: 3,
            ..DispatcherConfig::default()
        };
        config.validate().unwrap();
        let d = Dispatcher::with_config(builder.build(), &config);
        for _ in 0..3 {
            open_as(&d, "mallory").await.unwrap();
        }
        let refusal = open_as(&d, "mallory").await.unwrap_err();
        assert!(refusal.contains("CODE=\"27\""), "{refusal}");
        assert!(refusal.contains("at most 3"), "{refusal}");
        open_as(&d, "alice").await.unwrap();

        for n in [0, MAX_OPEN_ENUMERATIONS + 1] {
            let config = DispatcherConfig {
                max_enumerations_per_user: n,
                ..DispatcherConfig::default()
            };
            let err = config.validate().unwrap_err();
            assert_eq!(
                err,
                format!("max_enumerations_per_user must be from 1 to 1024, not {n}")
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_complete_streamed_answer_has_status_0_in_the_trailer() {
        let body = call("EnumerateInstances", ENUMERATE);
        for blocks in [false, true] {
            let d = dispatcher(blocks, false);
            let (text, trailers, _) = answer(
                &d,
                "EnumerateInstances",
                "root/test",
                &body,
                &[("te", "deflate, trailers;q=1")],
            )
            .await;
            assert!(
                text.ends_with("</CIM>\n") || text.ends_with("</CIM>"),
                "{blocks}"
            );
            let trailers = trailers.expect("trailers");
            assert_eq!(trailers["cimstatuscode"], "0");
            assert!(trailers.get("cimstatuscodedescription").is_none());
        }
    }
}
