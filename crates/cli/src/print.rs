//! The one printer of `query`, `get`, `class` and `classes`, whatever the
//! host (this machine or others) and however many: what a command's job
//! produces on a host arrives here as an [`Output`], tagged with the host
//! in a multi-host run.

use crate::args::{InstanceOutput, OutputFormat};
use crate::failure::Failure;
use openwmi_client::WbemObject;
use std::io::{BufWriter, IsTerminal, StdoutLock, Write};

/// What a job hands to the printer.
#[derive(Debug)]
pub enum Output {
    /// The result stream is open: with one host, its result set is printed
    /// (an empty one included) even if the stream fails before its first row.
    Opened,
    /// A query's result: an instance is a row; a class is printed as MOF
    /// after the rows.
    Object(WbemObject),
    /// Text printed as it is after the rows (`get` of a class).
    After(String),
    /// A whole answer (`class`, `classes`), printed as it comes; with
    /// several hosts under a `== HOST ==` heading.
    Text(String),
}

/// Instance rows (in the `-o` format), text answers, and classes after the
/// rows. The first row starts the result set, so a failed connection or
/// operation prints no empty table or `[]`.
pub struct Printer {
    out: BufWriter<StdoutLock<'static>>,
    /// `None` for the commands that print text only.
    rows: Option<Rows>,
    /// What goes after the rows: classes as MOF, `get`'s class.
    after: Vec<String>,
    opened: bool,
}

struct Rows {
    formatter: Box<dyn openwmi_output::Formatter>,
    started: bool,
}

impl Printer {
    /// For results that are instance rows, in the format `o` asks for.
    pub fn rows(o: &InstanceOutput) -> Printer {
        let stdout = std::io::stdout();
        let format = o.output.unwrap_or(if stdout.is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::List
        });
        Printer {
            out: BufWriter::new(stdout.lock()),
            rows: Some(Rows {
                formatter: formatter(format, &o.delimiter),
                started: false,
            }),
            after: Vec::new(),
            opened: false,
        }
    }

    /// For results that are text.
    pub fn text() -> Printer {
        Printer {
            out: BufWriter::new(std::io::stdout().lock()),
            rows: None,
            after: Vec::new(),
            opened: false,
        }
    }

    fn begin(&mut self) -> Result<(), Failure> {
        if let Some(r) = &mut self.rows {
            if !r.started {
                r.started = true;
                r.formatter.begin(&mut self.out)?;
            }
        }
        Ok(())
    }

    /// Prints (or keeps for the end) what `host` produced; `host` is `None`
    /// when the run has one host.
    pub fn put(&mut self, host: Option<&str>, o: Output) -> Result<(), Failure> {
        match o {
            // With several hosts an empty result set waits for all of them
            // to succeed (`finish`).
            Output::Opened => self.opened |= host.is_none(),
            Output::Object(WbemObject::Instance { path, instance }) => {
                self.begin()?;
                if let Some(r) = &mut self.rows {
                    r.formatter.row(
                        &mut self.out,
                        &openwmi_output::Row {
                            instance: &instance,
                            path: path.as_ref(),
                            host,
                        },
                    )?;
                }
            }
            Output::Object(WbemObject::Class(c)) => {
                let mof = openwmi_mof::class_to_mof(&c, false);
                // A blank line between classes; with several hosts, the
                // `// HOST` line that names each one.
                self.after.push(match host {
                    Some(h) => format!("// {h}\n{mof}"),
                    None => format!("{mof}\n"),
                });
            }
            Output::After(t) => self.after.push(t),
            Output::Text(t) => {
                if let Some(h) = host {
                    writeln!(self.out, "== {h} ==")?;
                }
                self.out.write_all(t.as_bytes())?;
                // An empty answer prints nothing, but under a host's
                // heading it keeps its (empty) line.
                if !t.ends_with('\n') && (host.is_some() || !t.is_empty()) {
                    self.out.write_all(b"\n")?;
                }
                self.out.flush()?;
            }
        }
        Ok(())
    }

    /// Ends the output. A result set with no rows is still printed (`[]`, a
    /// header...) when the run succeeded and printed no class, or when the
    /// one host's stream opened before it failed.
    pub fn finish(mut self, succeeded: bool) -> Result<(), Failure> {
        if (succeeded || self.opened) && self.after.is_empty() {
            self.begin()?;
        }
        if let Some(r) = &mut self.rows {
            if r.started {
                r.formatter.end(&mut self.out)?;
            }
        }
        for t in &self.after {
            self.out.write_all(t.as_bytes())?;
            if !t.ends_with('\n') {
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

/// The formatter for `-o FORMAT`.
fn formatter(format: OutputFormat, delimiter: &str) -> Box<dyn openwmi_output::Formatter> {
    let f = match format {
        OutputFormat::Table => openwmi_output::Format::Table,
        OutputFormat::List => openwmi_output::Format::List,
        OutputFormat::Json => openwmi_output::Format::Json,
        OutputFormat::Csv => openwmi_output::Format::Csv,
        OutputFormat::Mof => openwmi_output::Format::Mof,
        OutputFormat::Wmic => openwmi_output::Format::Wmic,
    };
    let width = if std::io::stdout().is_terminal() {
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
            delimiter: delimiter.to_owned(),
        },
    )
}
