//! The ceiling for `openwmi serve` on this machine: a server on the same
//! runtime (`ServerRuntime` with the default configuration: one worker,
//! busy polling), hyper and socket options that does no work at all: it
//! reads each request and answers a fixed body. Whatever it
//! cannot do, no CIM server on this machine can. `scripts/bench-server`
//! drives it with wrk next to the real server.
//!
//! Usage: `fixed_answer PORT BYTES [CHUNK]`: answers BYTES bytes, whole
//! (`Content-Length`) or, with CHUNK, in chunks of CHUNK bytes (chunked
//! transfer, as `openwmi serve` streams answers above 64 KiB).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};

/// The answer: all at once, or in `chunk`-sized frames.
struct Answer {
    rest: Bytes,
    chunk: Option<usize>,
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.chunk.unwrap_or(usize::MAX).min(self.rest.len());
        let part = self.rest.split_to(n);
        Poll::Ready(Some(Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.chunk {
            None => SizeHint::with_exact(self.rest.len() as u64),
            Some(_) => SizeHint::default(),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let (Some(port), Some(size)) = (number(0), number(1)) else {
        eprintln!("usage: fixed_answer PORT BYTES [CHUNK]");
        return ExitCode::from(2);
    };
    let Ok(port) = u16::try_from(port) else {
        eprintln!("fixed_answer: {port} is not a port");
        return ExitCode::from(2);
    };
    let chunk = number(2).filter(|&c| c > 0);
    let body = Bytes::from(vec![b'x'; size]);
    let runtime = match openwmi_server::ServerRuntime::new(&openwmi_server::ServerConfig::default())
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fixed_answer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let busy_poll = runtime.busy_poll();
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fixed_answer: 127.0.0.1:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(busy_poll) = &busy_poll {
            busy_poll.watch(&listener);
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            if let Some(busy_poll) = &busy_poll {
                busy_poll.watch(&stream);
            }
            let body = body.clone();
            let busy_poll = busy_poll.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let rest = body.clone();
                    let busy_poll = busy_poll.clone();
                    async move {
                        let _ = request.into_body().collect().await;
                        if let Some(busy_poll) = busy_poll {
                            busy_poll.answered();
                        }
                        Ok::<_, Infallible>(Response::new(Answer { rest, chunk }))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
