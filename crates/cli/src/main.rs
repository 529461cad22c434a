//! `openwmi`: the one binary. It only glues the crates together: parse the
//! command line, connect to this machine or others, run the operation,
//! print the result.
//!
//! Modules depend one way: `args` (the command line) <- `commands` (a job
//! per subcommand) -> `hosts` (ConnectServer, one host or many) and `print`
//! (the one printer); `local` builds this machine's object manager and
//! compiles MOF; `serve` runs the server.

mod args;
mod assets;
mod audit;
mod call;
mod check;
mod classfmt;
mod commands;
mod failure;
mod hosts;
mod local;
mod metrics;
mod print;
mod reload;
mod serve;
mod systemd;
mod watch;
mod watch_remote;

use args::{Cli, Command};
use clap::Parser;
use failure::Failure;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let words: Vec<std::ffi::OsString> = std::env::args_os().collect();
            if e.use_stderr() && check::invoked(&words) {
                return check::usage_error(&e);
            }
            e.exit()
        }
    };
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
        Command::Class(a) => commands::class(&a, &cli.global),
        Command::Classes(a) => commands::classes(&a, &cli.global),
        Command::Query(a) => commands::query(&a, &cli.global),
        Command::Get(a) => commands::get(&a, &cli.global),
        Command::Call(a) => call::call(&a, &cli.global),
        Command::Watch(a) => watch::watch(&a, &cli.global),
        Command::Check(a) => Ok(check::run(*a, &cli.global)),
        Command::GenerateAssets(a) => assets::run(&a),
    }
}
