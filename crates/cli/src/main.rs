//! `openwmi`: the one binary. It only glues the crates together: parse the
//! command line, build the object manager (or connect to a remote one), run
//! the operation, print the result.

mod args;
mod classfmt;
mod local;
mod remote;
mod serve;

use args::{ClassFormat, Cli, Command, InstanceOutput, OutputFormat, SummaryFormat};
use clap::Parser;
use openwmi_cim::{CimError, CimStatus, Keys, ObjectPath};
use openwmi_cimom::{ClassOptions, Object, OperationContext, QueryResult};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

/// A failure to report: a WBEM error (printed with its name and code) or a
/// plain message (usage-level problems such as an unreadable file).
#[derive(Debug)]
pub enum Failure {
    Cim(CimError),
    Message(String),
    /// Lines already worded as errors (the MOF compiler's `file:line:col: error: ...`).
    Lines(String),
}

impl From<CimError> for Failure {
    fn from(e: CimError) -> Self {
        Failure::Cim(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Message(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(Failure::Cim(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Message(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Lines(m)) => {
            eprintln!("{m}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Mof(a) => local::compile_mof(&a),
        Command::Serve(a) => serve::run(&cli.global, *a),
        Command::Passwd(a) => serve::passwd(&a),
        Command::Class(a) => {
            if a.remote.is_remote_request() {
                return remote::class(&a, &cli.global);
            }
            let om = local::build_manager(&cli.global)?;
            let ctx = OperationContext::local();
            let opts = ClassOptions {
                local_only: a.local_only,
                ..ClassOptions::default()
            };
            let class = om.get_class(&ctx, &a.ns.namespace, &a.class, &opts)?;
            let text = match a.output {
                ClassFormat::Mof => openwmi_mof::class_to_mof(&class, !a.local_only),
                ClassFormat::Json => classfmt::class_to_json(&class),
            };
            print_text(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Classes(a) => {
            if a.remote.is_remote_request() {
                return remote::classes(&a, &cli.global);
            }
            let om = local::build_manager(&cli.global)?;
            let ctx = OperationContext::local();
            let names =
                om.enumerate_class_names(&ctx, &a.ns.namespace, a.superclass.as_deref(), a.deep)?;
            let mut out = std::io::stdout().lock();
            match a.output {
                SummaryFormat::Text => {
                    for n in names {
                        writeln!(out, "{n}")?;
                    }
                }
                SummaryFormat::Json => {
                    let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                    writeln!(out, "{}", serde_json::to_string(&list).unwrap_or_default())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Query(a) => {
            if a.remote.is_remote_request() {
                return remote::query(&a, &cli.global);
            }
            let om = local::build_manager(&cli.global)?;
            let ctx = Arc::new(OperationContext::local());
            let result = om.exec_query(&ctx, &a.ns.namespace, &a.language, &a.wql)?;
            print_query_result(&a.out, result)
        }
        Command::Get(a) => {
            if a.remote.is_remote_request() {
                return remote::get(&a, &cli.global);
            }
            let om = local::build_manager(&cli.global)?;
            let ctx = OperationContext::local();
            let path = ObjectPath::parse(&a.path).map_err(openwmi_cimom::errors::path_error)?;
            let namespace = path
                .namespace
                .clone()
                .unwrap_or_else(|| a.ns.namespace.clone());
            if matches!(path.keys, Keys::Class) {
                let class = om.get_class(
                    &ctx,
                    &namespace,
                    path.class.as_str(),
                    &ClassOptions::default(),
                )?;
                print_text(&openwmi_mof::class_to_mof(&class, true))?;
                return Ok(ExitCode::SUCCESS);
            }
            let iwp = om.get_instance(&ctx, &namespace, &path, None)?;
            print_instances(&a.out, std::iter::once(Ok(iwp)))
        }
    }
}

fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn print_query_result(out: &InstanceOutput, result: QueryResult) -> Result<ExitCode, Failure> {
    match result {
        QueryResult::Instances(it) => print_instances(out, it),
        QueryResult::Objects(objects) => {
            let mut classes = Vec::new();
            let mut instances = Vec::new();
            for o in objects {
                match o {
                    Object::Class(c) => classes.push(c),
                    Object::Instance(i) => instances.push(Ok(i)),
                }
            }
            if !classes.is_empty() {
                let mut text = String::new();
                for c in &classes {
                    text.push_str(&openwmi_mof::class_to_mof(c, false));
                    text.push('\n');
                }
                print_text(&text)?;
            }
            if !instances.is_empty() || classes.is_empty() {
                return print_instances(out, instances.into_iter());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Streams instances to stdout in the chosen format. An error from the
/// source stops the output and is reported after what was already printed.
pub fn print_instances(
    out: &InstanceOutput,
    items: impl Iterator<Item = Result<openwmi_cimom::InstanceWithPath, CimError>>,
) -> Result<ExitCode, Failure> {
    let stdout = std::io::stdout();
    let format = out.output.unwrap_or(if stdout.is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::List
    });
    let mut w = std::io::BufWriter::new(stdout.lock());
    let mut f = local::formatter(format, &out.delimiter);
    f.begin(&mut w)?;
    let mut failure = None;
    for item in items {
        match item {
            Ok(iwp) => {
                f.row(
                    &mut w,
                    &openwmi_output::Row {
                        instance: &iwp.instance,
                        path: Some(&iwp.path),
                        host: None,
                    },
                )?;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    f.end(&mut w)?;
    w.flush()?;
    match failure {
        Some(e) => Err(Failure::Cim(e)),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// A CimError for a command-line problem that WMI reports as a bad parameter.
pub fn invalid_parameter(msg: impl Into<String>) -> Failure {
    Failure::Cim(CimError::new(CimStatus::InvalidParameter, msg))
}
