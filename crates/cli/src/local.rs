//! This machine's object manager, built from the bundled schema, `--mof`
//! files and the live-data providers; and `openwmi mof`.

use crate::args::{GlobalOptions, MofArgs, SummaryFormat};
use crate::failure::Failure;
use openwmi_cim::Repository;
use openwmi_cimom::{ObjectManager, ObjectManagerBuilder};
use openwmi_mof::{Compiler, Options};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub const BRAND: &str = "openwmi";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This machine's name, as paths carry it (`\\HOST\root\cimv2:...`):
/// Samba's NetBIOS name, else the upper-cased short host name.
pub fn host_name() -> String {
    openwmi_providers::host_name(None)
}

/// Splits `NAMESPACE=FILE`.
pub fn parse_mof_arg(arg: &str) -> Result<(String, PathBuf), Failure> {
    match arg.split_once('=') {
        Some((ns, file)) if !ns.is_empty() && !file.is_empty() => {
            Ok((ns.to_owned(), PathBuf::from(file)))
        }
        _ => Err(Failure::Message(format!(
            "--mof expects NAMESPACE=FILE, e.g. root/test=shares.mof (got {arg:?})"
        ))),
    }
}

/// Compiles `file` into `repo`, declarations going to `namespace` until a
/// `#pragma namespace` says otherwise.
pub fn load_mof(
    repo: &mut Repository,
    namespace: &str,
    file: &Path,
    include: &[PathBuf],
) -> Result<openwmi_mof::Summary, Failure> {
    let mut compiler = Compiler::new(Options {
        default_namespace: namespace.to_owned(),
        include_dirs: include.to_vec(),
        // A namespace the file creates starts with the standard qualifiers,
        // as on Windows, so they need no declaration.
        standard_qualifiers: true,
        ..Options::default()
    });
    compiler.compile_file(repo, file).map_err(mof_errors)
}

/// MOF errors print as the compiler words them: `file:line:column: error: ...`.
fn mof_errors(errors: Vec<openwmi_mof::Error>) -> Failure {
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    Failure::Lines(text.join("\n"))
}

/// A number of seconds from the command line; negative, NaN or absurd
/// values are refused rather than turned into a panic.
fn seconds(option: &str, s: Option<f64>) -> Result<Option<Duration>, Failure> {
    match s {
        None => Ok(None),
        Some(v) => Duration::try_from_secs_f64(v)
            .ok()
            .filter(|d| d.as_secs() <= 86_400)
            .map(Some)
            .ok_or_else(|| {
                Failure::Message(format!("{option} {v}: give seconds between 0 and 86400"))
            }),
    }
}

/// A size in MiB, from 1 MiB to 4 GiB.
fn mebibytes(option: &str, n: Option<u64>) -> Result<Option<usize>, Failure> {
    match n {
        None => Ok(None),
        Some(v) => (1..=4096)
            .contains(&v)
            .then(|| usize::try_from(v << 20).ok())
            .flatten()
            .map(Some)
            .ok_or_else(|| Failure::Message(format!("{option} {v}: give MiB between 1 and 4096"))),
    }
}

pub fn provider_options(g: &GlobalOptions) -> Result<openwmi_providers::ProviderOptions, Failure> {
    Ok(openwmi_providers::ProviderOptions {
        smb_conf: g.smb_conf.clone(),
        smbstatus: g.smbstatus.clone(),
        testparm: g.testparm.clone(),
        mountinfo: g.mountinfo.clone(),
        fstab: g.fstab.clone(),
        freshness: seconds("--freshness", g.freshness)?,
        timeout: seconds("--source-timeout", g.source_timeout)?,
        max_output: mebibytes("--source-max-output", g.source_max_output)?,
    })
}

/// The bundled schema, the `--mof` files on top, and the providers.
pub fn build_builder(g: &GlobalOptions) -> Result<ObjectManagerBuilder, Failure> {
    Ok(build_builder_sharing(g)?.0)
}

/// [`build_builder`], and the Samba source its providers read.
pub fn build_builder_sharing(
    g: &GlobalOptions,
) -> Result<
    (
        ObjectManagerBuilder,
        std::sync::Arc<openwmi_samba::SambaSource>,
    ),
    Failure,
> {
    let mut repo = openwmi_cimom::bundled::bundled_repository().map_err(mof_errors)?;
    for arg in &g.mof {
        let (ns, file) = parse_mof_arg(arg)?;
        load_mof(&mut repo, &ns, &file, &[])?;
    }
    // A namespace the --mof files made gets the event classes too.
    openwmi_cimom::bundled::add_event_classes(&mut repo).map_err(mof_errors)?;
    let mut b =
        ObjectManagerBuilder::new(repo, openwmi_providers::host_name(g.smb_conf.as_deref()));
    let samba = openwmi_providers::register(&mut b, &provider_options(g)?);
    b.method_audit(std::sync::Arc::new(crate::audit::JournalAudit));
    b.with_interop(BRAND, VERSION);
    Ok((b, samba))
}

pub fn build_manager(g: &GlobalOptions) -> Result<ObjectManager, Failure> {
    Ok(build_builder(g)?.build())
}

/// `openwmi mof`: compile, print the summary (or the errors, exit 1).
pub fn compile_mof(a: &MofArgs) -> Result<ExitCode, Failure> {
    let mut repo = if a.with_schema {
        openwmi_cimom::bundled::bundled_repository().map_err(mof_errors)?
    } else {
        Repository::new()
    };
    let mut total = openwmi_mof::Summary::default();
    let mut errors: Vec<openwmi_mof::Error> = Vec::new();
    for f in &a.files {
        let mut compiler = Compiler::new(Options {
            default_namespace: a.namespace.clone(),
            include_dirs: a.include.clone(),
            standard_qualifiers: true,
            ..Options::default()
        });
        match compiler.compile_file(&mut repo, f) {
            Ok(s) => {
                total.classes += s.classes;
                total.qualifiers += s.qualifiers;
                total.instances += s.instances;
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!(
            "error: {} error{} in {} file{}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            a.files.len(),
            if a.files.len() == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(1));
    }
    match a.output {
        SummaryFormat::Text => println!(
            "{} classes, {} qualifier declarations, {} instances",
            total.classes, total.qualifiers, total.instances
        ),
        SummaryFormat::Json => println!(
            "{}",
            serde_json::json!({
                "classes": total.classes,
                "qualifiers": total.qualifiers,
                "instances": total.instances,
            })
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod source_max_output_tests {
    use super::*;

    #[test]
    fn source_max_output_is_mebibytes_within_bounds() {
        assert_eq!(mebibytes("--source-max-output", None).unwrap(), None);
        assert_eq!(
            mebibytes("--source-max-output", Some(2)).unwrap(),
            Some(2 << 20)
        );
        for bad in [0, 4097, u64::MAX] {
            let Err(Failure::Message(m)) = mebibytes("--source-max-output", Some(bad)) else {
                panic!("{bad} accepted");
            };
            assert!(m.starts_with("--source-max-output"), "{m}");
        }
    }
}
