//! Busy polling: a worker thread about to sleep first watches the server's
//! sockets for a moment, so that a client's next request finds it awake.
//!
//! Why: a sleeping thread on an idle CPU is woken by an interrupt, and on a
//! virtual machine whose idle CPUs halt (no guest halt polling, as on
//! Firecracker) that wake-up costs the hypervisor a round trip: on the
//! 2-core test machine it was most of a small request's time at one
//! connection (GetInstance: ~100 us of CPU and ~150 us of latency per
//! request, of which the server's own work is ~35 us). A client that sends
//! its next request within the window costs no wake-up at all.
//!
//! What it costs: at most one window of CPU each time a worker runs out of
//! work after answering a request (by default 100 us, so 0.01% of a CPU for
//! a client asking once a second), and never when nothing was answered since
//! the last poll, so idle connections and timers never cause polling. One
//! thread polls at a time. `busy_poll_us = 0` turns it off.
//!
//! How: tokio offers no polling before it parks, but it calls a hook first
//! (`on_thread_park`). The hook waits on an epoll set of its own that holds
//! the listening sockets and every open connection (level-triggered
//! readability, so data the runtime has not read yet ends the wait at once)
//! with a zero timeout, until something is readable or the window is over;
//! the worker then parks and its own epoll wait returns at once. Between
//! two checks it yields the CPU rather than spin: a client woken by the
//! answer just sent is often queued on this very CPU, and a spinning poll
//! made it wait for the whole window (a client driving several connections
//! from one thread then ran in turns with the server instead of beside it).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::event::epoll;

/// The sockets to watch and the window to watch them for. Shared by the
/// runtime's park hook and the accept loops (`Arc`).
#[derive(Debug)]
pub struct BusyPoll {
    sockets: OwnedFd,
    window: Duration,
    /// Requests answered so far, and how many of them the last poll saw.
    answered: AtomicU64,
    polled_at: AtomicU64,
    /// One thread polls at a time: on a small machine a second would take
    /// the CPU the client needs to send its next request.
    polling: AtomicBool,
}

impl BusyPoll {
    /// A busy poller with a window of `window`.
    pub fn new(window: Duration) -> std::io::Result<BusyPoll> {
        let sockets = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        Ok(BusyPoll {
            sockets,
            window,
            answered: AtomicU64::new(0),
            polled_at: AtomicU64::new(0),
            polling: AtomicBool::new(false),
        })
    }

    /// Adds a socket (a listener or a connection) to the watched set. It
    /// leaves the set by itself when closed. A failure only means this
    /// socket is not polled for: logged, not returned.
    pub fn watch(&self, socket: impl AsFd) {
        if let Err(e) = epoll::add(
            &self.sockets,
            socket,
            epoll::EventData::new_u64(0),
            epoll::EventFlags::IN,
        ) {
            tracing::debug!(error = %e, "busy polling: cannot watch a socket");
        }
    }

    /// Counts an answered request: the next park may poll.
    pub fn answered(&self) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// The park hook: polls the sockets for up to the window when a request
    /// was answered since the last poll and no other thread is polling.
    pub fn before_park(&self) {
        let answered = self.answered.load(Ordering::Relaxed);
        if self.window.is_zero() || self.polled_at.load(Ordering::Relaxed) == answered {
            return;
        }
        if self.polling.swap(true, Ordering::Acquire) {
            return;
        }
        self.polled_at.store(answered, Ordering::Relaxed);
        // Tasks woken from other threads (the blocking pool: password
        // checks, blocking providers) wait in the runtime's global queue.
        let runtime = tokio::runtime::Handle::try_current().ok();
        let woken = || {
            runtime
                .as_ref()
                .is_some_and(|r| r.metrics().global_queue_depth() > 0)
        };
        let start = Instant::now();
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut ready = [epoll::Event {
            flags: epoll::EventFlags::empty(),
            data: epoll::EventData::new_u64(0),
        }];
        // Until something is readable (or the set cannot be waited on:
        // then park as usual), a task was woken from another thread, or
        // the window is over.
        while let Ok(0) = epoll::wait(&self.sockets, &mut ready[..], Some(&zero)) {
            if woken() || start.elapsed() >= self.window {
                break;
            }
            // Not a spin: the client this thread just answered is often
            // woken on this very CPU (a loopback socket's wake-up is a
            // "sync" one: the scheduler expects the waker to sleep now), and
            // it cannot send its next request while the poll holds the CPU.
            // Yielding lets it run at once; with nothing else runnable here
            // it returns at once.
            std::thread::yield_now();
        }
        self.polling.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn polls_for_the_window_only_after_an_answer() {
        // Margins wide enough for a loaded CI machine: a poll that does not
        // happen returns at once, one that does lasts the whole 300 ms.
        let window = Duration::from_millis(300);
        let poll = BusyPoll::new(window).unwrap();
        let (_client, server) = pair();
        poll.watch(&server);
        // Nothing answered yet: no polling at all.
        let t = Instant::now();
        poll.before_park();
        assert!(t.elapsed() < window / 2, "{:?}", t.elapsed());
        // One answer, nothing readable: one whole window, then none again.
        poll.answered();
        let t = Instant::now();
        poll.before_park();
        assert!(t.elapsed() >= window, "{:?}", t.elapsed());
        let t = Instant::now();
        poll.before_park();
        assert!(t.elapsed() < window / 2, "{:?}", t.elapsed());
    }

    #[test]
    fn a_readable_socket_ends_the_poll_at_once() {
        let poll = BusyPoll::new(Duration::from_secs(5)).unwrap();
        let (mut client, server) = pair();
        poll.watch(&server);
        client.write_all(b"POST /cimom HTTP/1.1\r\n").unwrap();
        poll.answered();
        let t = Instant::now();
        poll.before_park();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }

    /// A task woken from another thread (here the blocking pool) ends the
    /// poll: an answer computed there is not held back for the window.
    #[test]
    fn a_task_woken_from_another_thread_ends_the_poll() {
        let poll = std::sync::Arc::new(BusyPoll::new(Duration::from_secs(5)).unwrap());
        let (_client, server) = pair();
        poll.watch(&server);
        let hook = std::sync::Arc::clone(&poll);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_park(move || hook.before_park())
            .build()
            .unwrap();
        let t = Instant::now();
        runtime.block_on(async {
            tokio::spawn(async move {
                poll.answered();
                tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)))
                    .await
                    .unwrap();
            })
            .await
            .unwrap();
        });
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn a_zero_window_never_polls() {
        let poll = BusyPoll::new(Duration::ZERO).unwrap();
        poll.answered();
        let t = Instant::now();
        poll.before_park();
        assert!(t.elapsed() < Duration::from_millis(100));
    }
}
