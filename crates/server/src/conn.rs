//! Per-connection bookkeeping: what the connection is doing and when it last
//! moved, so that idle connections and clients that dribble a request head
//! byte by byte are closed without affecting anybody else.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::BusyPoll;

#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    last_io_ms: AtomicU64,
    /// 0: no request head in progress; else 1 + ms when its first byte came.
    head_started_ms: AtomicU64,
    inflight: AtomicUsize,
    /// Told of each answered request.
    busy_poll: Option<Arc<BusyPoll>>,
}

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    Idle,
    SlowHead,
}

impl Activity {
    pub fn new(busy_poll: Option<Arc<BusyPoll>>) -> Self {
        Activity {
            base: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(0),
            inflight: AtomicUsize::new(0),
            busy_poll,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.inflight.load(Ordering::Acquire) == 0 {
            let _ = self.head_started_ms.compare_exchange(
                0,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    fn on_write(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    pub fn request_started(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::AcqRel);
        self.head_started_ms.store(0, Ordering::Release);
        InflightGuard(Arc::clone(self))
    }

    /// Whether the connection should be closed now. While a request is in
    /// progress the request's own timeouts apply instead.
    pub fn expired(&self, head_timeout: Duration, idle_timeout: Duration) -> Option<Expired> {
        if self.inflight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now_ms();
        let head_started = self.head_started_ms.load(Ordering::Acquire);
        if head_started != 0 {
            let elapsed = now.saturating_sub(head_started - 1);
            return (u128::from(elapsed) > head_timeout.as_millis()).then_some(Expired::SlowHead);
        }
        let idle = now.saturating_sub(self.last_io_ms.load(Ordering::Relaxed));
        (u128::from(idle) > idle_timeout.as_millis()).then_some(Expired::Idle)
    }
}

/// Marks a request in progress until dropped (with the response body).
#[derive(Debug)]
pub(crate) struct InflightGuard(Arc<Activity>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.on_write();
        self.0.inflight.fetch_sub(1, Ordering::AcqRel);
        if let Some(busy_poll) = &self.0.busy_poll {
            busy_poll.answered();
        }
    }
}

/// A stream that reports its traffic to an [`Activity`].
pub(crate) struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Tracked { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflight_requests_never_expire() {
        let activity = Arc::new(Activity::new(None));
        let guard = activity.request_started();
        assert_eq!(activity.expired(Duration::ZERO, Duration::ZERO), None);
        drop(guard);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            activity.expired(Duration::from_secs(9), Duration::ZERO),
            Some(Expired::Idle)
        );
        activity.on_read();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            activity.expired(Duration::ZERO, Duration::from_secs(9)),
            Some(Expired::SlowHead)
        );
        assert_eq!(
            activity.expired(Duration::from_secs(9), Duration::ZERO),
            None
        );
    }
}
