//! `openwmi watch QUERY`: subscribes to a WQL event query on this machine
//! (with `-r`, on a server: `watch_remote.rs`) and prints each event as it happens, in the `-o` format, until Ctrl-C,
//! `--count` events or `--timeout` seconds.
//!
//! Each event is a row: `__CLASS` (the event class), `TIME_CREATED`,
//! `TargetInstance` (the target's path), its properties as
//! `TargetInstance.Name`, and `PreviousInstance.*` on a modification (or
//! the properties the SELECT list names). `table` and `list` print a block
//! per event, `json` one object per line (JSON lines), `csv` a header when
//! the columns change, then a line per event. Output is flushed after every
//! event, so a pipe sees it at once. Once the first snapshot is taken, a
//! `watching: QUERY` line goes to stderr: changes after it are reported.

use crate::args::{GlobalOptions, OutputFormat, WatchArgs};
use crate::failure::Failure;
use openwmi_cim::{CimError, Instance, InstanceProperty, Name, TypeDecl, Value};
use openwmi_cimom::events::EventQuery;
use openwmi_cimom::{EventPoller, EventSink, OperationContext};
use openwmi_output::{Formatter, Row};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the subscription and the signal watcher tell the printing loop.
pub(crate) enum Message {
    Event(Instance),
    Failed(CimError),
    Stop,
}

struct Channel(Mutex<Sender<Message>>);

impl Channel {
    fn send(&self, m: Message) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(m)
            .is_ok()
    }
}

impl EventSink for Channel {
    fn deliver(&self, event: Instance) -> bool {
        self.send(Message::Event(event))
    }
    fn failed(&self, error: &CimError) -> bool {
        self.send(Message::Failed(error.clone()))
    }
}

pub fn watch(a: &WatchArgs, g: &GlobalOptions) -> Result<ExitCode, Failure> {
    let deadline = match a.timeout {
        None => None,
        Some(s) => Some(
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| d.as_secs() <= 31_536_000)
                .ok_or_else(|| {
                    Failure::Message(format!(
                        "--timeout {s}: give seconds between 0 and 31536000"
                    ))
                })?,
        ),
    }
    .map(|d| Instant::now() + d);
    if a.count == Some(0) {
        return Ok(ExitCode::SUCCESS);
    }
    if a.remote.is_remote_request() {
        return crate::watch_remote::watch_remote(a, g, deadline);
    }
    let om = crate::local::build_manager(g)?;
    let ctx = Arc::new(OperationContext::local());
    let query = EventQuery::compile(&om, &ctx, &a.ns.namespace, &a.language, &a.wql)?;
    let select_all = query.selects_all();
    let announce = format!(
        "watching: {} (every {} s; Ctrl-C stops)",
        query.text,
        query.interval.as_secs_f64()
    );
    let (tx, rx) = channel();
    let sink = Arc::new(Channel(Mutex::new(tx.clone())));
    let poller = EventPoller::new(om);
    let subscription = poller.subscribe(query, ctx, sink)?;
    stop_on_signal(tx);
    // After the first snapshot: what changes from now on is reported.
    eprintln!("{announce}");
    let result = print_events(a, &rx, deadline, select_all);
    drop(subscription);
    result
}

/// Sends `Stop` on Ctrl-C or SIGTERM, so that the loop ends cleanly (the
/// output flushed, the subscription dropped) and the exit status is 0.
pub(crate) fn stop_on_signal(tx: Sender<Message>) {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                let term = async {
                    match term.as_mut() {
                        Some(t) => {
                            t.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term => {}
                }
            });
            let _ = tx.send(Message::Stop);
        });
    // Without the thread, Ctrl-C ends the process the default way.
    drop(spawned);
}

fn print_events(
    a: &WatchArgs,
    rx: &Receiver<Message>,
    deadline: Option<Instant>,
    select_all: bool,
) -> Result<ExitCode, Failure> {
    let format = output_format(a);
    let mut out = std::io::stdout().lock();
    let mut printer = EventPrinter::new(format, &a.out.delimiter);
    let mut printed: u64 = 0;
    loop {
        let message = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        match message {
            Ok(Message::Event(ev)) => {
                let row = if select_all && format != OutputFormat::Json {
                    with_class_column(ev)
                } else {
                    ev
                };
                printer.print(&mut out, &row)?;
                out.flush()?;
                printed += 1;
                if a.count.is_some_and(|n| printed >= n) {
                    break;
                }
            }
            Ok(Message::Failed(e)) => {
                eprintln!("warning: {e}");
            }
            Ok(Message::Stop) | Err(RecvTimeoutError::Timeout) => break,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Failure::Cim(CimError::failed("the subscription ended")))
            }
        }
    }
    printer.finish(&mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn output_format(a: &WatchArgs) -> OutputFormat {
    a.out.output.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::List
    })
}

/// The event class as the first column, for the formats that print no
/// class of their own.
pub(crate) fn with_class_column(mut ev: Instance) -> Instance {
    let class = InstanceProperty {
        name: Name::new("__CLASS"),
        ty: TypeDecl::scalar(openwmi_cim::CimType::String),
        value: Some(Value::String(ev.class_name.as_str().into())),
    };
    ev.properties.insert(0, class);
    ev
}

/// Prints events one at a time in a result format made for whole sets.
pub(crate) struct EventPrinter {
    format: OutputFormat,
    delimiter: String,
    /// csv keeps one formatter (a header when the columns change).
    stream: Option<Box<dyn Formatter>>,
}

impl EventPrinter {
    pub(crate) fn new(format: OutputFormat, delimiter: &str) -> EventPrinter {
        EventPrinter {
            format,
            delimiter: delimiter.to_owned(),
            stream: None,
        }
    }

    fn formatter(&self) -> Box<dyn Formatter> {
        let f = match self.format {
            OutputFormat::Table => openwmi_output::Format::Table,
            OutputFormat::List => openwmi_output::Format::List,
            OutputFormat::Json => openwmi_output::Format::Json,
            OutputFormat::Csv => openwmi_output::Format::Csv,
            OutputFormat::Mof => openwmi_output::Format::Mof,
            OutputFormat::Wmic => openwmi_output::Format::Wmic,
        };
        let width = if self.format == OutputFormat::Table && std::io::stdout().is_terminal() {
            terminal_size::terminal_size()
                .map(|(w, _)| w.0 as usize)
                .unwrap_or(120)
        } else {
            0
        };
        openwmi_output::formatter(
            f,
            &openwmi_output::Options {
                width,
                delimiter: self.delimiter.clone(),
            },
        )
    }

    pub(crate) fn print(&mut self, out: &mut dyn Write, ev: &Instance) -> Result<(), Failure> {
        self.print_from(out, ev, None)
    }

    /// Prints an event of `host` (tagged as other commands tag a
    /// multi-host run's rows), or of the one host when `None`.
    pub(crate) fn print_from(
        &mut self,
        out: &mut dyn Write,
        ev: &Instance,
        host: Option<&str>,
    ) -> Result<(), Failure> {
        let row = Row {
            instance: ev,
            path: None,
            host,
        };
        match self.format {
            OutputFormat::Csv => {
                if self.stream.is_none() {
                    let mut f = self.formatter();
                    f.begin(out)?;
                    self.stream = Some(f);
                }
                if let Some(f) = &mut self.stream {
                    f.row(out, &row)?;
                }
            }
            OutputFormat::Json => {
                let mut buf = Vec::new();
                let mut f = self.formatter();
                f.begin(&mut buf)?;
                f.row(&mut buf, &row)?;
                f.end(&mut buf)?;
                // One object per line: the array's brackets dropped.
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim().trim_start_matches('[').trim_end_matches(']');
                writeln!(out, "{}", line.trim())?;
            }
            _ => {
                let mut f = self.formatter();
                f.begin(out)?;
                f.row(out, &row)?;
                f.end(out)?;
                if matches!(
                    self.format,
                    OutputFormat::Table | OutputFormat::List | OutputFormat::Wmic
                ) {
                    writeln!(out)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self, out: &mut dyn Write) -> Result<(), Failure> {
        if let Some(f) = &mut self.stream {
            f.end(out)?;
        }
        Ok(())
    }
}
