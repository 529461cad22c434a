//! The CIM-XML dispatcher: the [`openwmi_server::CimHandler`] that answers
//! DSP0200 operations from an [`ObjectManager`].
//!
//! The server (transport, TLS, authentication, limits) hands over an
//! authenticated request; this crate decodes it with `openwmi-cimxml`, checks
//! the `CIMMethod`/`CIMObject` headers, runs the operation and answers with
//! the whole response, or streams it in chunks once it grows large.
//!
//! Where it runs: a namespace whose providers never block (static instances,
//! interop) is answered on the connection's task, chunks made as the
//! connection sends them: no thread hand-over, which on a small machine is
//! most of a small request's cost. Elsewhere (providers spawn processes) it
//! runs on a thread that may block: `block_in_place` for answers that come
//! whole, the blocking pool with a channel for those that may stream.

mod context_values;
mod contexts;
mod dispatch;
mod encoded;

pub use contexts::{EnumContexts, PullKind};

use bytes::Bytes;
use dispatch::{Dispatch, Outcome};
use http::StatusCode;
use openwmi_cimom::{ObjectManager, OperationContext};
use openwmi_server::{CimHandler, CimRequest, CimResponse};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

struct Shared {
    om: ObjectManager,
    contexts: EnumContexts,
    encoded: Arc<encoded::EncodedInstances>,
    limits: openwmi_cimxml::Limits,
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
        Dispatcher::with_contexts(om, EnumContexts::default())
    }

    pub fn with_contexts(om: ObjectManager, contexts: EnumContexts) -> Self {
        Dispatcher {
            shared: Arc::new(Shared {
                encoded: Arc::new(encoded::EncodedInstances::new(&om)),
                om,
                contexts,
                limits: openwmi_cimxml::Limits::request(),
            }),
        }
    }

    /// Open enumeration contexts (for tests and statistics).
    pub fn open_enumerations(&self) -> usize {
        self.shared.contexts.len()
    }

    /// Handles one request body on the calling thread.
    fn answer(&self, req: CimRequest) -> Result<Outcome, CimResponse> {
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
        let mut op_ctx = OperationContext::for_user(req.user.name.clone(), req.user.groups.clone());
        if let Some(h) = req
            .headers
            .get(context_values::CONTEXT_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            op_ctx.values = context_values::parse(h);
        }
        let ctx = Arc::new(op_ctx);
        let d = Dispatch {
            om: &self.shared.om,
            contexts: &self.shared.contexts,
            encoded: &self.shared.encoded,
            ctx,
            user: req.user.name,
        };
        Ok(d.run(&request))
    }
}

/// A protocol error (400 + CIMError header, 413) or a CIM error found while
/// decoding (200 + ERROR).
fn decode_error(e: &openwmi_cimxml::DecodeError) -> CimResponse {
    if let Some(body) = e.error_response() {
        return CimResponse::ok(body);
    }
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    match e.http_cim_error_header() {
        Some(h) => CimResponse::protocol_error(status, h),
        None => CimResponse {
            status,
            headers: Vec::new(),
            body: openwmi_server::CimResponseBody::Full(Bytes::new()),
        },
    }
}

/// What the blocking thread tells the waiting handler first.
enum Start {
    Streaming(mpsc::Receiver<Bytes>),
    Done(CimResponse),
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

fn internal_error() -> CimResponse {
    CimResponse::protocol_error(StatusCode::INTERNAL_SERVER_ERROR, "request-not-valid")
}

/// Ends the body (cuts the document) if making a chunk panics.
struct CatchingChunks(Option<dispatch::Chunks>);

impl Iterator for CatchingChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let chunks = self.0.as_mut()?;
        match catching(|| chunks.next()) {
            Some(Some(chunk)) => Some(Bytes::from(chunk)),
            Some(None) | None => {
                self.0 = None;
                None
            }
        }
    }
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
    fn answer_here(&self, req: CimRequest) -> CimResponse {
        match catching(|| self.answer(req)) {
            Some(Ok(Outcome::Full(body))) => CimResponse::ok(body),
            Some(Ok(Outcome::Chunks(chunks))) => {
                CimResponse::chunked(Box::new(CatchingChunks(Some(chunks))))
            }
            Some(Err(resp)) => resp,
            None => internal_error(),
        }
    }

    /// Answers on the current worker thread, which `block_in_place` hands
    /// over the worker's other tasks: no thread hop on the request's path
    /// (two fewer wake-ups than spawn_blocking), and a provider may block.
    fn answer_in_place(&self, req: CimRequest) -> CimResponse {
        let outcome = tokio::task::block_in_place(|| {
            catching(|| match self.answer(req) {
                // Not expected here (only may_stream operations stream), but whole is correct.
                Ok(Outcome::Chunks(chunks)) => Ok(Outcome::Full(chunks.collect())),
                other => other,
            })
        });
        match outcome {
            Some(Ok(Outcome::Full(body))) => CimResponse::ok(body),
            Some(Ok(Outcome::Chunks(_))) | None => internal_error(),
            Some(Err(resp)) => resp,
        }
    }

    /// Runs on the blocking pool; a streamed answer goes through a channel
    /// of one chunk, so the writer stays at most one chunk ahead of the
    /// network and a slow client costs little memory.
    async fn answer_on_pool(&self, req: CimRequest) -> CimResponse {
        let this = self.clone();
        let (start_tx, start_rx) = oneshot::channel();
        let worker = tokio::task::spawn_blocking(move || {
            let chunks = match catching(|| this.answer(req)) {
                Some(Ok(Outcome::Chunks(chunks))) => chunks,
                Some(Ok(Outcome::Full(body))) => {
                    let _ = start_tx.send(Start::Done(CimResponse::ok(body)));
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
            for chunk in CatchingChunks(Some(chunks)) {
                if tx.blocking_send(chunk).is_err() {
                    return;
                }
            }
        });
        match start_rx.await {
            Ok(Start::Streaming(rx)) => CimResponse::streamed(rx),
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
    fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = CimResponse> + Send>> {
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
