//! Per-connection bookkeeping: what the connection is doing and when it last
//! moved, so that idle connections and clients that dribble a request head
//! byte by byte are closed without affecting anybody else; the connection
//! slots each client address holds; and, when every slot is taken, which
//! open connection gives its slot to a newcomer.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::BusyPoll;

#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    last_io_ms: AtomicU64,
    /// 0: no request head in progress; else 1 + ms when its first byte came.
    head_started_ms: AtomicU64,
    inflight: AtomicUsize,
    /// Whether the client has sent anything since `silent_since_ms`.
    heard: AtomicBool,
    /// When the connection was accepted, or its TLS handshake ended: the
    /// first-byte timeout runs from here.
    silent_since_ms: AtomicU64,
    /// Whether a request on this connection passed authentication.
    authenticated: AtomicBool,
    /// Set once the connection was chosen to give up its slot.
    evicted: AtomicBool,
    eviction: Notify,
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
            silent_since_ms: AtomicU64::new(0),
            authenticated: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            eviction: Notify::new(),
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

    /// The TLS handshake began: the client is heard, no request head yet.
    pub fn handshake_started(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        self.heard.store(true, Ordering::Relaxed);
    }

    /// The TLS handshake is over: the client has the first-byte timeout
    /// again for its first request, as a plain connection has from accept.
    pub fn handshake_done(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        self.silent_since_ms.store(now, Ordering::Relaxed);
        self.heard.store(false, Ordering::Relaxed);
    }

    /// A request on this connection passed authentication.
    pub fn authenticated(&self) {
        self.authenticated.store(true, Ordering::Relaxed);
    }

    /// Where this connection stands in the line to give up its slot, first
    /// first: `None` if it never does (it has authenticated, is serving a
    /// request, or was already chosen). Silent connections come before ones
    /// that have sent something, and the longest quiet before the others.
    fn eviction_rank(&self) -> Option<(bool, Instant)> {
        if self.authenticated.load(Ordering::Relaxed)
            || self.inflight.load(Ordering::Acquire) > 0
            || self.evicted.load(Ordering::Relaxed)
        {
            return None;
        }
        let heard = self.heard.load(Ordering::Relaxed);
        let quiet_since = if heard {
            self.last_io_ms.load(Ordering::Relaxed)
        } else {
            self.silent_since_ms.load(Ordering::Relaxed)
        };
        Some((heard, self.base + Duration::from_millis(quiet_since)))
    }

    /// Completes once the connection was chosen to give up its slot.
    pub async fn evicted(&self) {
        self.eviction.notified().await;
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
            let silent = now.saturating_sub(self.silent_since_ms.load(Ordering::Relaxed));
            return (u128::from(silent) > timeouts.first_byte.as_millis())
                .then_some(Expired::Silent);
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

/// The open connections that hold a slot, so that when every slot is taken
/// a newcomer can have the slot of one that has not proven anything.
///
/// Why: per-address shares alone let a few addresses together take every
/// slot with connections that never send a byte (until the first-byte
/// timeout, and again as often as they reconnect). A connection that has
/// authenticated, or is serving a request, is never chosen; of the others
/// the one silent longest goes first, then the one quiet longest among
/// those that sent something without authenticating (a slow request head,
/// or a refused request kept open). A flood then only displaces itself,
/// while an authenticated client keeps its connections and a new client's
/// connection, which speaks at once, is last in line.
#[derive(Debug, Default)]
pub(crate) struct OpenConnections {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl OpenConnections {
    pub fn new() -> Arc<Self> {
        Arc::new(OpenConnections::default())
    }

    /// Counts `activity`'s connection among the open ones until the
    /// returned guard is dropped.
    pub fn register(self: &Arc<Self>, activity: Arc<Activity>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open.lock().unwrap().insert(id, activity);
        Registered {
            connections: Arc::clone(self),
            id,
        }
    }

    /// Chooses the open connection first in line to give up its slot and
    /// tells it to close; false if none may.
    pub fn evict_one(&self) -> bool {
        let open = self.open.lock().unwrap();
        let chosen = open
            .values()
            .filter_map(|a| a.eviction_rank().map(|rank| (rank, a)))
            .min_by_key(|(rank, _)| *rank);
        match chosen {
            Some((_, activity)) => {
                activity.evicted.store(true, Ordering::Relaxed);
                activity.eviction.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One connection's place among the [`OpenConnections`], left when dropped.
#[derive(Debug)]
pub(crate) struct Registered {
    connections: Arc<OpenConnections>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.connections.open.lock().unwrap().remove(&self.id);
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
    fn a_tls_handshake_restarts_the_first_byte_timeout() {
        let activity = Arc::new(Activity::new(None));
        activity.handshake_started();
        std::thread::sleep(Duration::from_millis(30));
        activity.handshake_done();
        let first_byte = Timeouts {
            first_byte: Duration::from_millis(20),
            head: Duration::from_secs(9),
            idle: Duration::from_secs(9),
        };
        assert_eq!(activity.expired(&first_byte), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(activity.expired(&first_byte), Some(Expired::Silent));
    }

    #[test]
    fn the_slot_given_up_is_the_longest_silent_unauthenticated_ones() {
        let connections = OpenConnections::new();
        let open = |connections: &Arc<OpenConnections>| {
            let activity = Arc::new(Activity::new(None));
            let registered = connections.register(Arc::clone(&activity));
            std::thread::sleep(Duration::from_millis(3));
            (activity, registered)
        };
        let (authenticated, _a) = open(&connections);
        authenticated.on_read();
        authenticated.authenticated();
        let (busy, _b) = open(&connections);
        busy.on_read();
        let request = busy.request_started();
        let (spoke, _c) = open(&connections);
        spoke.on_read();
        let (silent_old, _d) = open(&connections);
        let (silent_new, _e) = open(&connections);
        let evicted = |a: &Activity| a.evicted.load(Ordering::Relaxed);

        assert!(connections.evict_one());
        assert!(evicted(&silent_old) && !evicted(&silent_new));
        assert!(connections.evict_one());
        assert!(evicted(&silent_new) && !evicted(&spoke));
        assert!(connections.evict_one());
        assert!(evicted(&spoke));
        // Only an authenticated connection and one serving a request are left.
        assert!(!connections.evict_one());
        assert!(!evicted(&authenticated) && !evicted(&busy));
        drop(request);
        assert!(connections.evict_one());
        assert!(evicted(&busy) && !evicted(&authenticated));
    }

    #[test]
    fn a_closed_connection_leaves_the_open_ones() {
        let connections = OpenConnections::new();
        let activity = Arc::new(Activity::new(None));
        let registered = connections.register(Arc::clone(&activity));
        drop(registered);
        assert!(!connections.evict_one());
        assert!(!activity.evicted.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn the_chosen_connection_is_told() {
        let connections = OpenConnections::new();
        let activity = Arc::new(Activity::new(None));
        let _registered = connections.register(Arc::clone(&activity));
        assert!(connections.evict_one());
        // Told before it waits: the notice is kept.
        tokio::time::timeout(Duration::from_secs(5), activity.evicted())
            .await
            .unwrap();
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
