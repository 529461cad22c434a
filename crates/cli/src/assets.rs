//! `openwmi generate-assets DIR` (hidden): the man pages and the shell
//! completions, made from the clap definitions themselves so they never
//! drift from `--help`. A subcommand rather than a build script: the
//! definitions span this crate and `openwmi-server` (`ServeArgs`), which a
//! build script could only see by building them twice. The Debian package
//! runs it once at packaging time (scripts/build-deb).

use crate::args::Cli;
use crate::failure::Failure;
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct AssetsArgs {
    /// Where `man/` and `completions/` are written (created if missing).
    pub dir: PathBuf,
}

pub fn run(a: &AssetsArgs) -> Result<ExitCode, Failure> {
    let man = a.dir.join("man");
    let completions = a.dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    let cmd = Cli::command();
    write_man(&man, &cmd, "openwmi")?;
    for (shell, file) in [
        (Shell::Bash, "openwmi"),
        (Shell::Zsh, "_openwmi"),
        (Shell::Fish, "openwmi.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "openwmi", &mut out);
        std::fs::write(completions.join(file), out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `openwmi.1`, and `openwmi-SUB.1` for each visible subcommand.
fn write_man(dir: &Path, cmd: &clap::Command, name: &str) -> Result<(), Failure> {
    // clap names are 'static; this command runs once and exits.
    let static_name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let bin_name: &'static str = Box::leak(name.replace('-', " ").into_boxed_str());
    let cmd = cmd.clone().name(static_name).bin_name(bin_name);
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    std::fs::write(dir.join(format!("{name}.1")), out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man(dir, sub, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(())
}
