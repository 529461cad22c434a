//! Win32_NetworkConnection (provider "CIMWin32" on Windows): network file
//! systems mounted here, and those fstab remembers.

use openwmi_cim::CimError;
use openwmi_cimom::{EnumerateRequest, InstanceProvider, InstanceStream, ProviderCapabilities};
use openwmi_mounts::Paths;
use std::sync::Arc;

/// Reads the mount table and fstab once per operation.
#[derive(Debug, Clone, Default)]
pub struct NetworkConnectionProvider {
    paths: Paths,
}

/// One operation's view of the mounts.
struct MountSnapshot(openwmi_mounts::source::Loaded);

impl NetworkConnectionProvider {
    pub fn new(paths: Paths) -> Self {
        NetworkConnectionProvider { paths }
    }
}

impl InstanceProvider for NetworkConnectionProvider {
    fn name(&self) -> &str {
        "CIMWin32"
    }

    /// No promise: answers are read from the mount table and fstab files
    /// on each request, and change with every mount.
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::NONE
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let snap = req.ctx.snapshot(|| {
            // Skipped fstab lines (warnings) do not fail the class: the
            // mounted entries are still right.
            let loaded = openwmi_mounts::source::load(&self.paths)
                .map_err(|e| CimError::failed(format!("reading mounts: {e}")))?;
            Ok(Arc::new(MountSnapshot(loaded)))
        })?;
        let insts = openwmi_mounts::network_connections(&snap.0.mounts, &snap.0.fstab, req.class);
        Ok(Box::new(insts.into_iter().map(|i| Ok(Arc::new(i)))))
    }
}
