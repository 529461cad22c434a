//! Per-connection bookkeeping: what the connection is doing and when it last
//! moved, so that idle connections and clients that dribble a request head
//! byte by byte are closed without affecting anybody else; and the
//! connection slots each client address holds.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Whether the client has sent anything yet.
    heard: AtomicBool,
    /// Told of each answered request.
    busy_poll: Option<Arc<BusyPoll>>,
}

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    Idle,
    SlowHead,
    /// Nothing received since the connection was accepted.
    Silent,
}

/// The timeouts the watchdog applies to a connection between requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// From accepting the connection to its first byte.
    pub first_byte: Duration,
    /// From the first byte of a request head to its end.
    pub head: Duration,
    /// Between requests.
    pub idle: Duration,
}

impl Activity {
    pub fn new(busy_poll: Option<Arc<BusyPoll>>) -> Self {
        Activity {
            base: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(0),
            inflight: AtomicUsize::new(0),
            heard: AtomicBool::new(false),
            busy_poll,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        self.heard.store(true, Ordering::Relaxed);
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
    pub fn expired(&self, timeouts: &Timeouts) -> Option<Expired> {
        if self.inflight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now_ms();
        if !self.heard.load(Ordering::Relaxed) {
            return (u128::from(now) > timeouts.first_byte.as_millis()).then_some(Expired::Silent);
        }
        let head_started = self.head_started_ms.load(Ordering::Acquire);
        if head_started != 0 {
            let elapsed = now.saturating_sub(head_started - 1);
            return (u128::from(elapsed) > timeouts.head.as_millis()).then_some(Expired::SlowHead);
        }
        let idle = now.saturating_sub(self.last_io_ms.load(Ordering::Relaxed));
        (u128::from(idle) > timeouts.idle.as_millis()).then_some(Expired::Idle)
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

/// The part of an address that names one client: an IPv4 address, or the
/// first `ipv6_prefix_len` bits of an IPv6 one (IPv4-mapped IPv6 addresses
/// count as the IPv4 address they carry).
pub(crate) fn client_of(addr: IpAddr, ipv6_prefix_len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u32::from(ipv6_prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
}

/// Connection slots held per client (see [`client_of`]), each at most
/// `per_client`.
#[derive(Debug)]
pub(crate) struct ClientSlots {
    per_client: usize,
    ipv6_prefix_len: u8,
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl ClientSlots {
    pub fn new(per_client: usize, ipv6_prefix_len: u8) -> Arc<Self> {
        Arc::new(ClientSlots {
            per_client,
            ipv6_prefix_len,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a connection from `peer`, unless its client holds all
    /// it may.
    pub fn try_take(self: &Arc<Self>, peer: IpAddr) -> Option<ClientSlot> {
        let client = client_of(peer, self.ipv6_prefix_len);
        let mut held = self.held.lock().unwrap();
        let count = held.entry(client).or_insert(0);
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            slots: Arc::clone(self),
            client,
        })
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

/// One connection's slot of its client, given back when dropped.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    slots: Arc<ClientSlots>,
    client: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap();
        if let Some(count) = held.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts(first_byte: u64, head: u64, idle: u64) -> Timeouts {
        Timeouts {
            first_byte: Duration::from_secs(first_byte),
            head: Duration::from_secs(head),
            idle: Duration::from_secs(idle),
        }
    }

    #[test]
    fn inflight_requests_never_expire() {
        let activity = Arc::new(Activity::new(None));
        activity.on_read();
        let guard = activity.request_started();
        assert_eq!(activity.expired(&timeouts(0, 0, 0)), None);
        drop(guard);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(activity.expired(&timeouts(0, 9, 0)), Some(Expired::Idle));
        activity.on_read();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            activity.expired(&timeouts(0, 0, 9)),
            Some(Expired::SlowHead)
        );
        assert_eq!(activity.expired(&timeouts(0, 9, 0)), None);
    }

    #[test]
    fn a_connection_that_sent_nothing_expires_after_the_first_byte_timeout() {
        let activity = Arc::new(Activity::new(None));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(activity.expired(&timeouts(9, 9, 0)), None);
        assert_eq!(activity.expired(&timeouts(0, 9, 9)), Some(Expired::Silent));
        activity.on_read();
        assert_eq!(activity.expired(&timeouts(0, 9, 9)), None);
    }

    #[test]
    fn ipv6_clients_are_their_prefix() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(v6("2001:db8::1"), 64), v6("2001:db8::"));
        assert_eq!(
            client_of(v6("2001:db8:0:0:ffff:1:2:3"), 64),
            client_of(v6("2001:db8::9"), 64)
        );
        assert_ne!(
            client_of(v6("2001:db8:0:1::1"), 64),
            client_of(v6("2001:db8::1"), 64)
        );
        assert_eq!(client_of(v6("2001:db8::1"), 128), v6("2001:db8::1"));
        assert_eq!(client_of(v6("2001:db8::1"), 0), v6("::"));
        assert_eq!(client_of(v6("2001:db8::1"), 48), v6("2001:db8::"));
        assert_eq!(client_of(v6("2001:db8:1:2::1"), 48), v6("2001:db8:1::"));
        assert_eq!(client_of(v6("::ffff:10.1.2.3"), 64), v6("10.1.2.3"));
        assert_eq!(client_of(v6("10.1.2.3"), 0), v6("10.1.2.3"));
    }

    #[test]
    fn each_client_holds_at_most_its_share_of_slots() {
        let slots = ClientSlots::new(2, 64);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.1".parse().unwrap();
        let first = slots.try_take(a).unwrap();
        let second = slots.try_take(a).unwrap();
        assert!(slots.try_take(a).is_none());
        let other = slots.try_take(b).unwrap();
        drop(first);
        let third = slots.try_take(a).unwrap();
        drop((second, third, other));
        assert_eq!(slots.clients(), 0);
    }
}
