//! The SessionProvider: Win32_ServerConnection, Win32_ServerSession,
//! Win32_Share, Win32_ConnectionShare and Win32_SessionConnection from Samba.

use openwmi_cim::{CimError, Class, Instance, Namespace};
use openwmi_cimom::{
    EnumerateRequest, InstanceProvider, InstanceStream, OperationContext, ProviderCapabilities,
};
use openwmi_samba::{SambaError, SambaSource, Share, SmbConf, Status};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The classes this provider serves, in the order they are registered.
pub const SESSION_CLASSES: [&str; 5] = [
    "Win32_ServerConnection",
    "Win32_ServerSession",
    "Win32_Share",
    "Win32_ConnectionShare",
    "Win32_SessionConnection",
];

/// Serves the Samba classes of one namespace.
pub struct SessionProvider {
    source: Arc<SambaSource>,
    host: String,
    namespace: String,
    connection: Arc<Class>,
    session: Arc<Class>,
}

impl std::fmt::Debug for SessionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProvider")
            .field("host", &self.host)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// What smbstatus said, once per operation.
struct StatusSnapshot(Arc<Status>);
/// What the configuration says, once per operation.
struct ConfSnapshot(Arc<SmbConf>, Arc<Vec<Share>>);
/// The shares served now (configuration and connections), once per operation.
struct SharesSnapshot(Arc<Vec<Share>>);

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A failing Samba is WBEM_E_FAILED for the Samba classes, with the reason.
fn failed(e: SambaError) -> CimError {
    match e {
        SambaError::TooLarge {
            what: "smbstatus output",
            ..
        } => CimError::failed(format!("{e} (set by --source-max-output)")),
        e => CimError::failed(e.to_string()),
    }
}

impl SessionProvider {
    /// `None` when `ns` lacks the classes (a namespace without the bundled schema).
    pub fn new(source: Arc<SambaSource>, host: &str, ns: &Namespace) -> Option<Self> {
        Some(SessionProvider {
            source,
            host: host.to_owned(),
            namespace: ns.name().to_owned(),
            connection: ns.class("Win32_ServerConnection")?,
            session: ns.class("Win32_ServerSession")?,
        })
    }

    pub(crate) fn status(&self, ctx: &OperationContext) -> Result<Arc<Status>, CimError> {
        Ok(ctx
            .snapshot(|| {
                self.source
                    .status()
                    .map(|s| Arc::new(StatusSnapshot(s)))
                    .map_err(failed)
            })?
            .0
            .clone())
    }

    fn conf(&self, ctx: &OperationContext) -> Result<Arc<SmbConf>, CimError> {
        Ok(self.conf_and_shares(ctx)?.0)
    }

    /// The configuration and the shares it serves, from one reading.
    fn conf_and_shares(
        &self,
        ctx: &OperationContext,
    ) -> Result<(Arc<SmbConf>, Arc<Vec<Share>>), CimError> {
        let snap = ctx.snapshot(|| {
            self.source
                .configuration()
                .map(|(c, s)| Arc::new(ConfSnapshot(c, s)))
                .map_err(failed)
        })?;
        Ok((snap.0.clone(), snap.1.clone()))
    }

    /// The shares clients can connect to now: the configuration's
    /// (smb.conf, printcap printers, usershares) and the home and printer
    /// shares Samba added for the sessions and tree connects smbstatus
    /// reports. smbstatus is asked only when `[homes]` or `[printers]` can
    /// add shares; when it fails (not root, smbd stopped) the
    /// configuration's shares alone: no session is then known to add any.
    pub(crate) fn served(&self, ctx: &OperationContext) -> Result<Arc<Vec<Share>>, CimError> {
        Ok(ctx
            .snapshot(|| {
                let (conf, conf_shares) = self.conf_and_shares(ctx)?;
                let load_printers = conf.globals.load_printers;
                let status =
                    openwmi_samba::served::depends_on_connections(&conf_shares, load_printers)
                        .then(|| self.status(ctx).ok())
                        .flatten();
                let home_dir = |user: &str| self.source.home_dir(user);
                Ok(Arc::new(SharesSnapshot(Arc::new(
                    openwmi_samba::served::served_shares(
                        &conf_shares,
                        load_printers,
                        status.as_deref(),
                        &conf.globals.guest_account,
                        &home_dir,
                    ),
                ))))
            })?
            .0
            .clone())
    }

    /// Both readings, with testparm running beside smbstatus: the classes
    /// that need both then cost one program run of wall time, not two.
    fn status_and_conf(
        &self,
        ctx: &OperationContext,
    ) -> Result<(Arc<Status>, Arc<SmbConf>), CimError> {
        if self.source.status_is_fresh() || self.source.conf_is_fresh() {
            // At most one program to run: nothing to overlap.
            return Ok((self.status(ctx)?, self.conf(ctx)?));
        }
        let status = std::thread::scope(|s| {
            // Fills the source's cache (single flight, so a concurrent
            // reader shares it); the conf snapshot below then reads it.
            let warm = s.spawn(|| drop(self.source.smb_conf()));
            let status = self.status(ctx);
            let _ = warm.join();
            status
        })?;
        Ok((status, self.conf(ctx)?))
    }

    fn instances(&self, class: &Class, ctx: &OperationContext) -> Result<Vec<Instance>, CimError> {
        let now = unix_now();
        let name = class.name.as_str();
        Ok(if name.eq_ignore_ascii_case("Win32_Share") {
            openwmi_samba::map::shares(&self.served(ctx)?, class)
        } else if name.eq_ignore_ascii_case("Win32_ServerConnection") {
            let (status, _) = self.status_and_conf(ctx)?;
            openwmi_samba::server_connections(&status, &self.served(ctx)?, class, now)
        } else if name.eq_ignore_ascii_case("Win32_ServerSession") {
            let (status, conf) = self.status_and_conf(ctx)?;
            openwmi_samba::server_sessions(&status, &conf.globals.guest_account, class, now)
        } else if name.eq_ignore_ascii_case("Win32_ConnectionShare") {
            let status = self.status(ctx)?;
            openwmi_samba::connection_shares(
                &self.host,
                &self.namespace,
                &status,
                &self.connection,
                class,
            )
        } else if name.eq_ignore_ascii_case("Win32_SessionConnection") {
            let status = self.status(ctx)?;
            openwmi_samba::session_connections(
                &self.host,
                &self.namespace,
                &status,
                &self.session,
                &self.connection,
                class,
            )
        } else {
            Vec::new()
        })
    }
}

impl InstanceProvider for SessionProvider {
    fn name(&self) -> &str {
        "SessionProvider"
    }

    /// No promise: answers come from smbstatus (a child process) and
    /// smb.conf, and change with every session.
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::NONE
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        // The classes with an instance per connection or session are built
        // as they are sent, not all before the first: a busy server has
        // tens of thousands.
        let name = req.class.name.as_str();
        if name.eq_ignore_ascii_case("Win32_ServerConnection") {
            let (status, _) = self.status_and_conf(req.ctx)?;
            let shares = self.served(req.ctx)?;
            let all = openwmi_samba::ServerConnections::new(
                status,
                shares,
                Arc::clone(req.class),
                unix_now(),
            );
            return Ok(Box::new(all.map(|i| Ok(Arc::new(i)))));
        }
        if name.eq_ignore_ascii_case("Win32_ServerSession") {
            let (status, conf) = self.status_and_conf(req.ctx)?;
            let all = openwmi_samba::ServerSessions::new(
                status,
                &conf.globals.guest_account,
                Arc::clone(req.class),
                unix_now(),
            );
            return Ok(Box::new(all.map(|i| Ok(Arc::new(i)))));
        }
        let insts = self.instances(req.class, req.ctx)?;
        Ok(Box::new(insts.into_iter().map(|i| Ok(Arc::new(i)))))
    }
}
