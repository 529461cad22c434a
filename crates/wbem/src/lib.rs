//! The CIM-XML dispatcher: the [`openwmi_server::CimHandler`] that answers
//! DSP0200 operations from an [`ObjectManager`].
//!
//! The server (transport, TLS, authentication, limits) hands over an
//! authenticated request; this crate decodes it with `openwmi-cimxml`, checks
//! the `CIMMethod`/`CIMObject` headers, runs the operation on a blocking
//! thread (providers spawn processes), and answers with the whole response,
//! or streams it in chunks once it grows large.

mod context_values;
mod contexts;
mod dispatch;

pub use contexts::{EnumContexts, PullKind};

use bytes::Bytes;
use dispatch::{Dispatch, Outcome, Sink};
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

    /// Handles one request body on the calling (blocking) thread; the
    /// response goes to `sink` if it streams.
    fn answer(&self, req: CimRequest, sink: &mut dyn Sink) -> Result<Outcome, CimResponse> {
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
            ctx,
            user: req.user.name,
        };
        Ok(d.run(&request, sink))
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

/// Sends chunks to the HTTP body; the first chunk also tells the waiting
/// handler that the response streams.
struct ChannelSink {
    start: Option<oneshot::Sender<Start>>,
    tx: Option<mpsc::Sender<Bytes>>,
}

enum Start {
    Streaming(mpsc::Receiver<Bytes>),
    Done(Result<Outcome, CimResponse>),
}

impl Sink for ChannelSink {
    fn send(&mut self, chunk: String) -> bool {
        if let Some(start) = self.start.take() {
            // One chunk queued: the writer stays at most one chunk ahead of
            // the network, so a slow client costs little memory.
            let (tx, rx) = mpsc::channel(1);
            self.tx = Some(tx);
            if start.send(Start::Streaming(rx)).is_err() {
                return false;
            }
        }
        match &self.tx {
            Some(tx) => tx.blocking_send(Bytes::from(chunk)).is_ok(),
            None => false,
        }
    }
}

/// Collects what an operation streams, for the inline path (whose
/// operations answer whole; this only guards against a surprise).
struct BufferSink(Vec<String>);

impl Sink for BufferSink {
    fn send(&mut self, chunk: String) -> bool {
        self.0.push(chunk);
        true
    }
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

impl Dispatcher {
    /// Answers on the current worker thread, which `block_in_place` hands
    /// over the worker's other tasks: no thread hop on the request's path
    /// (two fewer wake-ups than spawn_blocking, which matters for small
    /// operations), and a provider may still block.
    fn answer_in_place(&self, req: CimRequest) -> CimResponse {
        let mut sink = BufferSink(Vec::new());
        let outcome = tokio::task::block_in_place(|| {
            // As on the blocking pool, a panicking provider costs its request
            // only, not the connection's task.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(req, &mut sink)))
        });
        match outcome {
            Ok(Ok(Outcome::Full(body))) => CimResponse::ok(body),
            Ok(Ok(Outcome::Streamed)) => CimResponse::ok(sink.0.concat()),
            Ok(Err(resp)) => resp,
            Err(_) => {
                CimResponse::protocol_error(StatusCode::INTERNAL_SERVER_ERROR, "request-not-valid")
            }
        }
    }
}

impl CimHandler for Dispatcher {
    fn handle(&self, req: CimRequest) -> Pin<Box<dyn Future<Output = CimResponse> + Send>> {
        let this = self.clone();
        let in_place = !may_stream(req.cim_method.as_deref())
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if in_place {
            return Box::pin(async move { this.answer_in_place(req) });
        }
        Box::pin(async move {
            let (start_tx, start_rx) = oneshot::channel();
            let worker = tokio::task::spawn_blocking(move || {
                let mut sink = ChannelSink {
                    start: Some(start_tx),
                    tx: None,
                };
                let outcome = this.answer(req, &mut sink);
                if let Some(start) = sink.start.take() {
                    let _ = start.send(Start::Done(outcome));
                }
            });
            match start_rx.await {
                Ok(Start::Streaming(rx)) => CimResponse::streamed(rx),
                Ok(Start::Done(Ok(Outcome::Full(body)))) => CimResponse::ok(body),
                Ok(Start::Done(Ok(Outcome::Streamed))) => CimResponse::ok(Bytes::new()),
                Ok(Start::Done(Err(resp))) => resp,
                Err(_) => {
                    // The worker died without answering (a panic in a provider).
                    let _ = worker.await;
                    CimResponse::protocol_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "request-not-valid",
                    )
                }
            }
        })
    }
}
