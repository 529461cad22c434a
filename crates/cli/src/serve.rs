//! `openwmi serve` and `openwmi passwd`.

use crate::args::{GlobalOptions, PasswdArgs};
use crate::Failure;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The options of `serve`. The provider options (`--mof`, `--smb-conf`,
/// `--smbstatus`, `--mountinfo`, `--fstab`) are the global ones.
#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// TOML configuration file holding any of these options; options given
    /// on the command line override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (repeatable). Default 127.0.0.1:5989.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// Serve plain HTTP (loopback addresses only unless --allow-insecure).
    #[arg(long)]
    pub http: bool,
    /// Allow plain HTTP on non-loopback addresses.
    #[arg(long)]
    pub allow_insecure: bool,
    /// PEM certificate chain (with --tls-key). Default: a self-signed
    /// certificate made once and kept in the state directory.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Directory for generated state (the self-signed certificate).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Authentication: basic (default) or none (loopback only).
    #[arg(long, value_enum)]
    pub auth: Option<openwmi_server::AuthMode>,
    /// Password file (see `openwmi passwd`).
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,
    /// Check logins against the machine's accounts through PAM
    /// (default: when no --users-file is given).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub pam: Option<bool>,
    /// PAM service name (default openwmi; PAM falls back to `other`).
    #[arg(long, value_name = "NAME")]
    pub pam_service: Option<String>,
}

impl ServeArgs {
    /// The server configuration: the file, then these options, then the
    /// global provider options.
    pub fn config(self, g: &GlobalOptions) -> Result<openwmi_server::ServerConfig, Failure> {
        let args = openwmi_server::ServeArgs {
            config: self.config,
            listen: self.listen,
            http: self.http,
            allow_insecure: self.allow_insecure,
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            state_dir: self.state_dir,
            auth: self.auth,
            users_file: self.users_file,
            pam: self.pam,
            pam_service: self.pam_service,
            mof: g.mof.clone(),
            smb_conf: g.smb_conf.clone(),
            smbstatus: g.smbstatus.clone(),
            mountinfo: g.mountinfo.clone(),
            fstab: g.fstab.clone(),
        };
        args.into_config()
            .map_err(|e| Failure::Message(e.to_string()))
    }
}

pub fn run(g: &GlobalOptions, a: ServeArgs) -> Result<ExitCode, Failure> {
    let config = a.config(g)?;
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
