//! Delivery to one listener: a bounded queue and a thread that POSTs each
//! indication (`ExportIndication`, DSP0200) in order, retrying with a
//! doubling wait, so that request handling never waits on a listener.
//!
//! Each indication carries `SequenceContext` (one per destination and
//! server run) and `SequenceNumber` (0, 1, 2, ... given when it is queued,
//! DSP1054), so that a listener sees a gap where indications were lost (the
//! oldest are dropped when the queue is full, and one is dropped after its
//! last retry) and a repeat where one came twice. An indication is taken
//! off the queue only once delivered or given up: a listener down for a
//! while gets the queued ones in order when it is back.

use openwmi_cim::Instance;
use openwmi_cimom::events::Change;
use openwmi_cimxml::{escape_attr, escape_text, write_instance};
use openwmi_client::export::{ExportClient, ListenerUrl};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// How deliveries are retried and bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Retries after the first attempt (CIM_IndicationService.DeliveryRetryAttempts).
    pub retry_attempts: u16,
    /// The wait before the first retry; each next one waits twice as long
    /// (CIM_IndicationService.DeliveryRetryInterval).
    pub retry_interval: Duration,
    /// The most indications queued per destination; beyond it the oldest
    /// is dropped (counted and logged).
    pub queue_limit: usize,
    /// How long one POST may take.
    pub timeout: Duration,
    /// Do not check an https listener's certificate.
    pub insecure_tls: bool,
    /// CA certificates (PEM) trusted for https listeners besides the
    /// system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            retry_attempts: 3,
            retry_interval: Duration::from_secs(2),
            queue_limit: 1000,
            timeout: Duration::from_secs(10),
            insecure_tls: false,
            ca_file: None,
        }
    }
}

/// The indication instance of an intrinsic event: the event class with
/// `TIME_CREATED`, `TargetInstance` (and `PreviousInstance`) as embedded
/// instances, the filter's name, and the sequence properties.
pub fn indication_xml(
    change: Option<&Change>,
    row: &Instance,
    time_created: u64,
    filter_name: &str,
    context: &str,
    number: i64,
) -> String {
    let mut out = String::new();
    out.push_str("<INSTANCE CLASSNAME=\"");
    escape_attr(&mut out, row.class_name.as_str());
    out.push_str("\">");
    let scalar = |out: &mut String, name: &str, ty: &str, value: &str| {
        out.push_str("<PROPERTY NAME=\"");
        escape_attr(out, name);
        out.push_str("\" TYPE=\"");
        out.push_str(ty);
        out.push_str("\"><VALUE>");
        escape_text(out, value);
        out.push_str("</VALUE></PROPERTY>");
    };
    match change {
        Some(c) => {
            scalar(
                &mut out,
                "TIME_CREATED",
                "uint64",
                &time_created.to_string(),
            );
            let embedded = |out: &mut String, name: &str, inst: &Instance| {
                let mut xml = String::new();
                write_instance(&mut xml, inst);
                out.push_str("<PROPERTY NAME=\"");
                out.push_str(name);
                out.push_str("\" TYPE=\"string\" EmbeddedObject=\"instance\"><VALUE>");
                escape_text(out, &xml);
                out.push_str("</VALUE></PROPERTY>");
            };
            embedded(&mut out, "TargetInstance", &c.target.instance);
            if let Some(p) = &c.previous {
                embedded(&mut out, "PreviousInstance", p);
            }
        }
        None => {
            // An aggregate event: its own properties, as they are.
            let mut xml = String::new();
            write_instance(&mut xml, row);
            if let (Some(start), Some(end)) = (xml.find('>'), xml.rfind("</INSTANCE>")) {
                out.push_str(&xml[start + 1..end]);
            }
        }
    }
    scalar(&mut out, "IndicationFilterName", "string", filter_name);
    scalar(&mut out, "SequenceContext", "string", context);
    scalar(&mut out, "SequenceNumber", "sint64", &number.to_string());
    out.push_str("</INSTANCE>");
    out
}

/// A whole ExportIndication request message around an indication.
pub fn export_message(id: u64, indication: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"{id}\" PROTOCOLVERSION=\"1.0\"><SIMPLEEXPREQ>\
         <EXPMETHODCALL NAME=\"ExportIndication\"><EXPPARAMVALUE NAME=\"NewIndication\">\
         {indication}</EXPPARAMVALUE></EXPMETHODCALL></SIMPLEEXPREQ></MESSAGE></CIM>"
    )
}

/// One listener and its queue.
#[derive(Debug)]
pub struct Destination {
    pub url: ListenerUrl,
    pub name: String,
    policy: DeliveryPolicy,
    state: Mutex<Queue>,
    wake: Condvar,
    /// Indications given up (queue full, retries exhausted).
    dropped: AtomicU64,
    /// Indications delivered.
    delivered: AtomicU64,
    /// Indications given up after the last retry: the listener is gone
    /// for good (the subscriptions' OnFatalErrorPolicy applies).
    gave_up: AtomicU64,
}

#[derive(Debug)]
struct Queue {
    context: String,
    next_number: i64,
    pending: VecDeque<String>,
    stopped: bool,
}

static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);

impl Destination {
    /// A destination whose thread runs until [`Destination::stop`].
    pub fn start(name: &str, url: ListenerUrl, policy: DeliveryPolicy) -> Arc<Destination> {
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let d = Arc::new(Destination {
            url,
            name: name.to_owned(),
            policy,
            state: Mutex::new(Queue {
                context: format!(
                    "openwmi:{}:{}.{:09}:{name}",
                    std::process::id(),
                    started.as_secs(),
                    started.subsec_nanos()
                ),
                next_number: 0,
                pending: VecDeque::new(),
                stopped: false,
            }),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
        });
        let runner = d.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("deliver {name}"))
            .spawn(move || runner.run());
        if let Err(e) = spawned {
            eprintln!("openwmi: cannot start delivery to {name}: {e}");
        }
        d
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an indication made by `make(context, number)`.
    pub fn enqueue(&self, make: impl FnOnce(&str, i64) -> String) {
        let mut q = self.lock();
        if q.stopped {
            return;
        }
        let number = q.next_number;
        q.next_number += 1;
        let indication = make(&q.context, number);
        q.pending.push_back(indication);
        while q.pending.len() > self.policy.queue_limit {
            q.pending.pop_front();
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            eprintln!(
                "openwmi: listener {} ({}:{}) is behind: dropped its oldest queued indication ({n} dropped so far)",
                self.name, self.url.host, self.url.port
            );
        }
        self.wake.notify_all();
    }

    /// Ends the thread; queued indications are given up.
    pub fn stop(&self) {
        self.lock().stopped = true;
        self.wake.notify_all();
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// How many indications were given up after every retry failed.
    pub fn gave_up(&self) -> u64 {
        self.gave_up.load(Ordering::Relaxed)
    }

    /// Waits up to `d` unless stopped meanwhile; false once stopped.
    fn pause(&self, d: Duration) -> bool {
        let q = self.lock();
        if q.stopped {
            return false;
        }
        let (q, _) = self
            .wake
            .wait_timeout_while(q, d, |q| !q.stopped)
            .unwrap_or_else(|p| p.into_inner());
        !q.stopped
    }

    fn run(self: Arc<Self>) {
        let mut client: Option<ExportClient> = None;
        loop {
            let front = {
                let mut q = self.lock();
                while q.pending.is_empty() && !q.stopped {
                    q = self.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                if q.stopped {
                    return;
                }
                q.pending.front().cloned()
            };
            let Some(indication) = front else { continue };
            let body = export_message(NEXT_MESSAGE.fetch_add(1, Ordering::Relaxed), &indication);
            let mut wait = self.policy.retry_interval;
            let mut last_error = String::new();
            let mut sent = false;
            for attempt in 0..=u32::from(self.policy.retry_attempts) {
                if attempt > 0 {
                    if !self.pause(wait) {
                        return;
                    }
                    wait = wait.saturating_mul(2);
                }
                let c = match client.as_mut() {
                    Some(c) => c,
                    None => match ExportClient::trusting(
                        self.url.clone(),
                        self.policy.ca_file.as_deref(),
                        self.policy.insecure_tls,
                    ) {
                        Ok(c) => client.insert(c),
                        Err(e) => {
                            last_error = e.to_string();
                            continue;
                        }
                    },
                };
                match c.export("ExportIndication", &body, self.policy.timeout) {
                    Ok(()) => {
                        sent = true;
                        break;
                    }
                    Err(e) => {
                        // A fresh connection for the next attempt.
                        client = None;
                        last_error = e;
                    }
                }
            }
            let mut q = self.lock();
            // The front is still this indication unless the queue overflowed
            // meanwhile and dropped it.
            if q.pending.front() == Some(&indication) {
                q.pending.pop_front();
            }
            drop(q);
            if sent {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            } else {
                self.gave_up.fetch_add(1, Ordering::Relaxed);
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "openwmi: gave up delivering an indication to listener {} ({}:{}) after {} retries: {last_error} ({n} dropped so far)",
                    self.name, self.url.host, self.url.port, self.policy.retry_attempts
                );
            }
        }
    }
}
