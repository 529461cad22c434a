//! `openwmi watch -r RESOURCE --listener ADDRESS:PORT`: the same watch on
//! another machine running `openwmi serve`, over CIM-XML indications. A
//! listener opens on ADDRESS:PORT; a destination (that URL), a filter (the
//! query) and a subscription are made in the server's root/interop for this
//! run, and removed at exit (Ctrl-C, SIGTERM, --count, --timeout, an
//! error). Each ExportIndication the server sends is printed as the local
//! watch prints an event: TargetInstance and PreviousInstance, embedded
//! instances on the wire, become `TargetInstance.Name` columns.
//!
//! Over WS-Management (`-r https://host:5986/wsman`, or `--protocol
//! wsman`) nothing is opened here: a WS-Eventing subscription with pull
//! delivery is made for the run, pulled in a loop and unsubscribed at exit
//! (Ctrl-C, SIGTERM, --count, --timeout, an error). With several hosts
//! (`--hosts`, or `-r` given more than once) each is watched at once and
//! its events are tagged with it.

use crate::args::{GlobalOptions, OutputFormat, WatchArgs};
use crate::failure::{invalid_parameter, Failure};
use crate::hosts::Run;
use crate::watch::{output_format, stop_on_signal, with_class_column, EventPrinter, Message};
use openwmi_cim::{CimType, Instance, InstanceProperty, Name, ObjectPath, TypeDecl, Value};
use openwmi_cimxml::Limits;
use openwmi_client::{Services, WbemError};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const INTEROP: &str = "root/interop";
/// The largest request the listener reads.
const MAX_BODY: usize = 16 << 20;

pub fn watch_remote(
    a: &WatchArgs,
    g: &GlobalOptions,
    deadline: Option<Instant>,
) -> Result<ExitCode, Failure> {
    if over_wsman(a) {
        return watch_wsman(a, g, deadline);
    }
    if a.remote.resource.len() > 1 || a.remote.hosts.is_some() {
        return Err(invalid_parameter(
            "watch takes one -r resource over CIM-XML (several over WS-Management)",
        ));
    }
    let Some(listen) = &a.listener else {
        return Err(invalid_parameter(
            "watch -r needs --listener ADDRESS:PORT: where the server delivers the events \
             (an address of this machine the server reaches; the server takes plain http \
             destinations on the loopback, others only where its configuration allows)",
        ));
    };
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| invalid_parameter(format!("--listener {listen}: give ADDRESS:PORT")))?;
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    let (tx, rx) = channel();
    stop_on_signal(tx.clone());
    let rx = Mutex::new(rx);
    let format = output_format(a);
    let mut printer = EventPrinter::new(format, &a.out.delimiter);
    let mut out = std::io::stdout().lock();
    let result = run.execute(
        |s: &Services, send: &dyn Fn(Instance) -> bool| {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            subscribe_and_print(s, send, a, addr, &tx, &rx, deadline)
        },
        |_, ev: Instance| {
            let row = if format != OutputFormat::Json {
                with_class_column(ev)
            } else {
                ev
            };
            printer.print(&mut out, &row)?;
            out.flush()?;
            Ok(())
        },
    );
    printer.finish(&mut out)?;
    out.flush()?;
    result
}

fn string(name: &str, v: &str) -> InstanceProperty {
    InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::scalar(CimType::String),
        value: Some(Value::String(v.into())),
    }
}

fn uint16(name: &str, v: u16) -> InstanceProperty {
    InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::scalar(CimType::UInt16),
        value: Some(Value::UInt16(v)),
    }
}

fn reference(name: &str, class: &str, p: &ObjectPath) -> InstanceProperty {
    InstanceProperty {
        name: Name::new(name),
        ty: TypeDecl::reference(class),
        value: Some(Value::Reference(Box::new(ObjectPath {
            host: None,
            namespace: Some(INTEROP.to_owned()),
            ..p.clone()
        }))),
    }
}

/// What this run made on the server, removed (last made first) when dropped.
struct Made<'a> {
    services: &'a Services,
    paths: Vec<ObjectPath>,
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        while let Some(p) = self.paths.pop() {
            if let Err(e) = self.services.delete_instance(Some(INTEROP), &p) {
                eprintln!("warning: could not remove {} from the server: {e}", p.class);
            }
        }
    }
}

fn subscribe_and_print(
    s: &Services,
    send: &dyn Fn(Instance) -> bool,
    a: &WatchArgs,
    addr: SocketAddr,
    tx: &Sender<Message>,
    rx: &Receiver<Message>,
    deadline: Option<Instant>,
) -> Result<(), WbemError> {
    let listener = TcpListener::bind(addr).map_err(|e| {
        WbemError::invalid_parameter(format!("--listener {addr}: cannot listen there: {e}"))
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let url = format!("http://{bound}");
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let tag = format!(
        "openwmi-watch:{}:{}.{:09}",
        std::process::id(),
        since.as_secs(),
        since.subsec_nanos()
    );
    let mut made = Made {
        services: s,
        paths: Vec::new(),
    };
    let dest = Instance {
        class_name: Name::new("CIM_ListenerDestinationCIMXML"),
        properties: vec![
            string("Name", &tag),
            string("Destination", &url),
            uint16("PersistenceType", 3),
            uint16("Protocol", 2),
        ],
    };
    let dpath = s.create_instance(Some(INTEROP), &dest)?;
    made.paths.push(dpath.clone());
    let filter = Instance {
        class_name: Name::new("CIM_IndicationFilter"),
        properties: vec![
            string("Name", &tag),
            string("Query", &a.wql),
            string("QueryLanguage", &a.language),
            InstanceProperty {
                name: Name::new("SourceNamespaces"),
                ty: TypeDecl::array(CimType::String),
                value: Some(Value::Array(vec![Value::String(s.namespace().into())])),
            },
        ],
    };
    let fpath = s.create_instance(Some(INTEROP), &filter)?;
    made.paths.push(fpath.clone());
    let sub = Instance {
        class_name: Name::new("CIM_IndicationSubscription"),
        properties: vec![
            reference("Filter", "CIM_IndicationFilter", &fpath),
            reference("Handler", "CIM_ListenerDestinationCIMXML", &dpath),
        ],
    };
    let spath = s.create_instance(Some(INTEROP), &sub)?;
    made.paths.push(spath);
    let events = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("listener".into())
        .spawn(move || accept(listener, events));
    if let Err(e) = spawned {
        return Err(WbemError::failed(format!("cannot start the listener: {e}")));
    }
    eprintln!(
        "watching: {} on the server, delivered to {url} (Ctrl-C stops)",
        a.wql
    );
    let mut printed = 0u64;
    loop {
        let message = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        match message {
            Ok(Message::Event(ev)) => {
                if !send(ev) {
                    break;
                }
                printed += 1;
                if a.count.is_some_and(|n| printed >= n) {
                    break;
                }
            }
            Ok(Message::Failed(e)) => eprintln!("warning: {e}"),
            Ok(Message::Stop) | Err(_) => break,
        }
    }
    drop(made);
    Ok(())
}

fn accept(listener: TcpListener, events: Sender<Message>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let events = events.clone();
        let _ = std::thread::Builder::new()
            .name("listener conn".into())
            .spawn(move || serve(conn, &events));
    }
}

/// Answers the export requests of one connection (HTTP/1.1, kept alive).
fn serve(conn: TcpStream, events: &Sender<Message>) {
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut out = write_half;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length: Option<usize> = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                if n.trim().eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                }
            }
        }
        let Some(length) = length.filter(|l| *l <= MAX_BODY) else {
            let _ = out.write_all(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = match openwmi_cimxml::decode_export_indication(&body, &Limits::request()) {
            Ok(ind) => {
                let _ = events.send(Message::Event(row(&ind.indication)));
                let text = openwmi_cimxml::export_response(&ind.message_id);
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=\"utf-8\"\r\n\
                     CIMExport: MethodResponse\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )
            }
            Err(_) => "HTTP/1.1 400 Bad Request\r\nCIMError: request-not-valid\r\n\
                       Content-Length: 0\r\n\r\n"
                .to_owned(),
        };
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// An indication as the local watch prints an event.
fn row(ind: &Instance) -> Instance {
    let mut props = Vec::new();
    for p in &ind.properties {
        let name = p.name.as_str();
        if ["SequenceContext", "SequenceNumber", "IndicationFilterName"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        let embedded = match &p.value {
            Some(Value::String(xml))
                if name.eq_ignore_ascii_case("TargetInstance")
                    || name.eq_ignore_ascii_case("PreviousInstance") =>
            {
                openwmi_cimxml::decode_embedded_instance(xml, &Limits::request()).ok()
            }
            _ => None,
        };
        match embedded {
            Some(inst) => {
                props.push(InstanceProperty {
                    name: Name::new(&format!("{name}.__CLASS")),
                    ty: TypeDecl::scalar(CimType::String),
                    value: Some(Value::String(inst.class_name.as_str().into())),
                });
                for q in inst.properties {
                    props.push(InstanceProperty {
                        name: Name::new(&format!("{name}.{}", q.name)),
                        ..q
                    });
                }
            }
            None => props.push(p.clone()),
        }
    }
    Instance {
        class_name: ind.class_name.clone(),
        properties: props,
    }
}

/// Whether the watch goes over WS-Management: asked, or a `/wsman` URL.
fn over_wsman(a: &WatchArgs) -> bool {
    a.remote.protocol == Some(crate::args::ProtocolArg::Wsman)
        || a.remote
            .resource
            .iter()
            .any(|r| openwmi_client::wsman::split_wsman_url(r, "root/cimv2").1)
}

/// The longest one Pull waits: how soon a stop (Ctrl-C, --count reached
/// on another host) is noticed between events.
const PULL_WAIT: Duration = Duration::from_secs(2);

fn watch_wsman(
    a: &WatchArgs,
    g: &GlobalOptions,
    deadline: Option<Instant>,
) -> Result<ExitCode, Failure> {
    if a.listener.is_some() {
        return Err(invalid_parameter(
            "--listener is for CIM-XML: over WS-Management the events come back on the \
             Pulls, nothing is opened here",
        ));
    }
    let mut remote = a.remote.clone();
    // Every host is watched at once: none waits for another to end.
    remote.concurrency = remote.concurrency.max(hosts_in(&remote)?);
    let run = Run::new(&remote, &a.ns.namespace, g)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = channel();
    stop_on_signal(tx);
    {
        let stop = Arc::clone(&stop);
        // The signal thread's message, as a flag every host's loop reads.
        let _ = std::thread::Builder::new()
            .name("stop".into())
            .spawn(move || {
                if let Ok(Message::Stop) = rx.recv() {
                    stop.store(true, Ordering::Relaxed);
                }
            });
    }
    let format = output_format(a);
    let mut printer = EventPrinter::new(format, &a.out.delimiter);
    let mut out = std::io::stdout().lock();
    let mut printed = 0u64;
    let result = run.execute(
        |s: &Services, send: &dyn Fn(Instance) -> bool| pull_events(s, send, a, &stop, deadline),
        |host, ev: Instance| {
            if a.count.is_some_and(|n| printed >= n) {
                return Ok(());
            }
            let row = if format != OutputFormat::Json {
                with_class_column(ev)
            } else {
                ev
            };
            printer.print_from(&mut out, &row, host)?;
            out.flush()?;
            printed += 1;
            if a.count.is_some_and(|n| printed >= n) {
                stop.store(true, Ordering::Relaxed);
            }
            Ok(())
        },
    );
    printer.finish(&mut out)?;
    out.flush()?;
    result
}

/// How many hosts `remote` names (`--hosts` counts as many).
fn hosts_in(remote: &crate::args::RemoteArgs) -> Result<usize, Failure> {
    let listed = match &remote.hosts {
        Some(f) => std::fs::read_to_string(f)
            .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
            .unwrap_or(1),
        None => 0,
    };
    Ok((remote.resource.len() + listed).max(1))
}

/// One host: subscribe, pull until stopped, unsubscribe.
fn pull_events(
    s: &Services,
    send: &dyn Fn(Instance) -> bool,
    a: &WatchArgs,
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<(), WbemError> {
    let mut sub = s.subscribe_events(&a.wql)?;
    eprintln!(
        "watching: {} on {} over WS-Management (Ctrl-C stops)",
        a.wql,
        s.host().unwrap_or("this machine")
    );
    let mut sent = 0u64;
    let outcome = loop {
        if stop.load(Ordering::Relaxed) || a.count.is_some_and(|n| sent >= n) {
            break Ok(());
        }
        let wait = match deadline {
            None => PULL_WAIT,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break Ok(());
                }
                left.min(PULL_WAIT)
            }
        };
        match sub.pull(wait) {
            Ok(events) => {
                for ev in events {
                    if !send(ev) {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    sent += 1;
                }
            }
            Err(e) => {
                // Ctrl-C interrupts a Pull waiting on its socket (EINTR) a
                // moment before the signal thread raises the flag.
                let until = Instant::now() + Duration::from_millis(500);
                while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if stop.load(Ordering::Relaxed) {
                    break Ok(());
                }
                break Err(e);
            }
        }
    };
    if let Err(e) = sub.unsubscribe() {
        eprintln!("warning: could not unsubscribe: {e}");
    }
    outcome
}
