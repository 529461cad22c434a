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
    // Each password check allocates argon2's 19 MiB: it must go back when
    // done (on a C library other than glibc this changes nothing).
    openwmi_malloc::return_large_blocks(openwmi_malloc::SERVER_MMAP_THRESHOLD);
    let runtime =
        openwmi_server::ServerRuntime::new(&config).map_err(|e| Failure::Message(e.to_string()))?;
    let busy_poll = runtime.busy_poll();
    let answer_cache_bytes = config.answer_cache_bytes();
    runtime.block_on(async move {
        // Compiling the schema and the --mof files overlaps with binding and
        // with the first logins (an argon2 check is tens of milliseconds):
        // the port accepts at once, requests wait for the object manager.
        let building = tokio::task::spawn_blocking(move || {
            let mut builder = crate::local::build_builder(&providers)?;
            builder.access_policy(policy);
            Ok::<_, Failure>(openwmi_wbem::Dispatcher::with_answer_budget(
                builder.build(),
                openwmi_wbem::EnumContexts::default(),
                answer_cache_bytes,
            ))
        });
        let server = openwmi_server::Server::bind(config)
            .await
            .map_err(|e| Failure::Message(e.to_string()))?
            .with_busy_poll(busy_poll);
        let banner = server.banner();
        let handler = WhenReady::default();
        let run = server.run(Arc::new(handler.clone()), shutdown_signal());
        tokio::pin!(run);
        let dispatcher = tokio::select! {
            built = building => built.map_err(|e| Failure::Message(format!("loading: {e}")))??,
            ended = &mut run => {
                // Shut down (a signal) before the object manager was ready.
                ended.map_err(|e| Failure::Message(e.to_string()))?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        handler.set(dispatcher);
        // Up means answering: the banner comes once requests get answers.
        for line in banner {
            println!("{line}");
        }
        run.await.map_err(|e| Failure::Message(e.to_string()))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The server's handler from the start: answers once the dispatcher is
/// set, and until then makes requests wait (their logins are checked
/// meanwhile).
#[derive(Clone, Default)]
struct WhenReady(Arc<ReadyState>);

#[derive(Default)]
struct ReadyState {
    dispatcher: std::sync::OnceLock<openwmi_wbem::Dispatcher>,
    ready: tokio::sync::Notify,
}

impl WhenReady {
    fn set(&self, d: openwmi_wbem::Dispatcher) {
        let _ = self.0.dispatcher.set(d);
        self.0.ready.notify_waiters();
    }
}

impl openwmi_server::CimHandler for WhenReady {
    fn handle(
        &self,
        req: openwmi_server::CimRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = openwmi_server::CimResponse> + Send>>
    {
        if let Some(d) = self.0.dispatcher.get() {
            return d.handle(req);
        }
        let state = Arc::clone(&self.0);
        Box::pin(async move {
            loop {
                // Registered before the check, so a `set` in between is not missed.
                let notified = state.ready.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(d) = state.dispatcher.get() {
                    return d.handle(req).await;
                }
                notified.await;
            }
        })
    }
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
