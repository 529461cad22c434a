//! `openwmi serve` and `openwmi passwd`.

use crate::args::{GlobalOptions, PasswdArgs};
use crate::Failure;
use std::process::ExitCode;
use std::sync::Arc;

/// The server configuration: the file, then the `serve` options, then the
/// global provider options.
fn config(
    g: &GlobalOptions,
    a: openwmi_server::ServeArgs,
) -> Result<openwmi_server::ServerConfig, Failure> {
    let inputs = openwmi_server::ProviderInputs {
        mof: g.mof.clone(),
        smb_conf: g.smb_conf.clone(),
        smbstatus: g.smbstatus.clone(),
        mountinfo: g.mountinfo.clone(),
        fstab: g.fstab.clone(),
    };
    a.into_config(inputs)
        .map_err(|e| Failure::Message(e.to_string()))
}

pub fn run(g: &GlobalOptions, a: openwmi_server::ServeArgs) -> Result<ExitCode, Failure> {
    let config = config(g, a)?;
    // The configuration file may name the provider inputs too.
    let providers = GlobalOptions {
        mof: config.mof.clone(),
        smb_conf: config.smb_conf.clone(),
        smbstatus: config.smbstatus.clone(),
        mountinfo: config.mountinfo.clone(),
        fstab: config.fstab.clone(),
        ..g.clone()
    };
    let policy = openwmi_access::policy_from_config(&config.permissions.table)
        .map_err(|e| Failure::Message(format!("[permissions]: {e}")))?;
    let mut builder = crate::local::build_builder(&providers)?;
    builder.access_policy(policy);
    let om = builder.build();
    let dispatcher = Arc::new(openwmi_wbem::Dispatcher::new(om));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(openwmi_server::serve(config, dispatcher, shutdown_signal()))
        .map_err(|e| Failure::Message(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    eprintln!("shutting down");
}

pub fn passwd(a: &PasswdArgs) -> Result<ExitCode, Failure> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Failure::Message(
            "no password on standard input (give it as one line)".into(),
        ));
    }
    let groups = (!a.groups.is_empty()).then_some(a.groups.as_slice());
    openwmi_server::set_user(&a.users_file, &a.user, password, groups)
        .map_err(|e| Failure::Message(e.to_string()))?;
    eprintln!("password for {} set in {}", a.user, a.users_file.display());
    Ok(ExitCode::SUCCESS)
}
