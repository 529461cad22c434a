//! SIGHUP: `openwmi serve` reads its configuration file again and puts the
//! new `[permissions]` in place for the next operation, without dropping a
//! connection. (The users file needs no signal: the transport checks its
//! stamp on every login it remembers.) A file that no longer parses keeps
//! the permissions in force, and says why in the log.

use openwmi_cim::CimError;
use openwmi_cimom::{AccessPolicy, OperationContext};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The policy in force, replaceable while requests use it.
pub struct ReloadablePolicy(RwLock<Arc<dyn AccessPolicy>>);

impl std::fmt::Debug for ReloadablePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReloadablePolicy")
    }
}

impl ReloadablePolicy {
    pub fn new(policy: Arc<dyn AccessPolicy>) -> Self {
        ReloadablePolicy(RwLock::new(policy))
    }

    fn current(&self) -> Arc<dyn AccessPolicy> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn replace(&self, policy: Arc<dyn AccessPolicy>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = policy;
    }
}

impl AccessPolicy for ReloadablePolicy {
    fn check_namespace(&self, ctx: &OperationContext, namespace: &str) -> Result<(), CimError> {
        self.current().check_namespace(ctx, namespace)
    }

    fn check_class(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
    ) -> Result<(), CimError> {
        self.current().check_class(ctx, namespace, class)
    }

    fn check_method(
        &self,
        ctx: &OperationContext,
        namespace: &str,
        class: &str,
        method: &str,
    ) -> Result<(), CimError> {
        self.current().check_method(ctx, namespace, class, method)
    }
}

/// Reads `config` again and installs its permissions; the error says why not.
pub fn reload(config: &Option<PathBuf>, policy: &ReloadablePolicy) -> Result<(), String> {
    let Some(path) = config else {
        // Without a file the permissions are the defaults: nothing changes.
        return Ok(());
    };
    let table = crate::serve::permissions_of(path).map_err(|f| match f {
        crate::Failure::Cim(e) => e.to_string(),
        crate::Failure::Message(m) | crate::Failure::Lines(m) => m,
    })?;
    let new = openwmi_access::policy_from_config(&table)
        .map_err(|e| format!("{}: [permissions]: {e}", path.display()))?;
    policy.replace(new);
    Ok(())
}

/// Waits for SIGHUP and reloads, for as long as the server runs.
pub async fn on_sighup(config: Option<PathBuf>, policy: Arc<ReloadablePolicy>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        crate::systemd::notify("RELOADING=1");
        let config = config.clone();
        let p = Arc::clone(&policy);
        let result = tokio::task::spawn_blocking(move || reload(&config, &p)).await;
        match result {
            Ok(Ok(())) => tracing::info!("SIGHUP: configuration reloaded"),
            Ok(Err(why)) => {
                tracing::error!(error = %why, "SIGHUP: configuration not reloaded; keeping the one in force")
            }
            Err(_) => tracing::error!("SIGHUP: reloading failed"),
        }
        crate::systemd::notify("READY=1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Everything;

    impl AccessPolicy for Everything {
        fn check_namespace(&self, _: &OperationContext, _: &str) -> Result<(), CimError> {
            Ok(())
        }
        fn check_class(&self, _: &OperationContext, _: &str, _: &str) -> Result<(), CimError> {
            Ok(())
        }
        fn check_method(
            &self,
            _: &OperationContext,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<(), CimError> {
            Ok(())
        }
    }

    #[test]
    fn regression_the_reloadable_policy_passes_method_checks_on() {
        let policy = ReloadablePolicy::new(Arc::new(Everything));
        let mut ctx = OperationContext::local();
        ctx.user = Some("alice".into());
        policy
            .check_method(&ctx, "root/cimv2", "Win32_Share", "Create")
            .expect("the wrapped policy allows it");
    }
}
