//! The providers of openwmi's root\cimv2 classes, and their registration.
//!
//! The data crates (`openwmi-samba`, `openwmi-mounts`) know nothing of the
//! object manager; this crate adapts them to [`openwmi_cimom::InstanceProvider`].

mod host;
mod mounts;
mod msft_smb;
mod samba;

pub use host::{host_name, netbios_or_host, short_host_name};

pub use mounts::NetworkConnectionProvider;
pub use msft_smb::{
    share_status, SmbClientProvider, SmbProvider, Win32ShareProvider, SMB_CLIENT_CLASSES,
    SMB_SERVER_CLASSES,
};
pub use samba::{SessionProvider, SESSION_CLASSES};

use openwmi_cimom::ObjectManagerBuilder;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the providers read from (the `--smb-conf`, `--smbstatus`,
/// `--testparm`, `--mountinfo`, `--fstab` options); `None` means the default.
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    pub smb_conf: Option<PathBuf>,
    pub smbstatus: Option<PathBuf>,
    pub testparm: Option<PathBuf>,
    pub mountinfo: Option<PathBuf>,
    pub fstab: Option<PathBuf>,
    /// How old a Samba snapshot may be (default 1 s).
    pub freshness: Option<Duration>,
    /// How long smbstatus/testparm may run (default 10 s).
    pub timeout: Option<Duration>,
    /// The most bytes a data source program may print (default
    /// [`openwmi_samba::source::DEFAULT_MAX_OUTPUT`]).
    pub max_output: Option<usize>,
}

/// Registers the live-data providers in root/cimv2 (if the builder's
/// repository has it). Returns the Samba source they read, for readers
/// that must share its snapshots (`/metrics`).
pub fn register(builder: &mut ObjectManagerBuilder, opts: &ProviderOptions) -> Arc<SambaSource> {
    let ns_name = openwmi_cimom::bundled::CIMV2_NAMESPACE;
    let host = builder.host().to_owned();
    let mut source = SambaSource::new();
    if let Some(p) = &opts.smbstatus {
        source = source.with_smbstatus(p);
    }
    if let Some(p) = &opts.testparm {
        source = source.with_testparm(p);
    }
    if let Some(p) = &opts.smb_conf {
        source = source.with_smb_conf(p);
    }
    if let Some(d) = opts.freshness {
        source = source.with_freshness(d);
    }
    if let Some(d) = opts.timeout {
        source = source.with_timeout(d);
    }
    if let Some(n) = opts.max_output {
        source = source.with_max_output(n);
    }
    let mut control = openwmi_samba::manage::SambaControl::new();
    if let Some(p) = &opts.smb_conf {
        control = control.with_smb_conf(p);
    }
    if let Some(d) = opts.timeout {
        control = control.with_timeout(d);
    }
    let source = Arc::new(source);
    let session = builder
        .repository_mut()
        .namespace(ns_name)
        .and_then(|ns| SessionProvider::new(Arc::clone(&source), &host, ns));
    if let Some(p) = session {
        let p = Arc::new(p);
        for class in SESSION_CLASSES {
            builder.register(ns_name, class, p.clone());
        }
        // The SMB management classes share the Samba snapshot; Win32_Share
        // gets its methods from the same place.
        let smb = Arc::new(SmbProvider::new(p.clone(), control, &host));
        builder.register(
            ns_name,
            "Win32_Share",
            Arc::new(Win32ShareProvider {
                samba: p,
                smb: smb.clone(),
            }),
        );
        let smb_ns = openwmi_cimom::bundled::SMB_NAMESPACE;
        if builder.repository_mut().namespace(smb_ns).is_some() {
            for class in SMB_SERVER_CLASSES {
                builder.register(smb_ns, class, smb.clone());
            }
        }
    }
    let mut paths = openwmi_mounts::Paths::default();
    if let Some(p) = &opts.mountinfo {
        paths.mountinfo = p.clone();
    }
    if let Some(p) = &opts.fstab {
        paths.fstab = p.clone();
    }
    builder.register(
        ns_name,
        "Win32_NetworkConnection",
        Arc::new(NetworkConnectionProvider::new(paths.clone())),
    );
    let smb_ns = openwmi_cimom::bundled::SMB_NAMESPACE;
    if builder.repository_mut().namespace(smb_ns).is_some() {
        let client = Arc::new(SmbClientProvider::new(paths));
        for class in SMB_CLIENT_CLASSES {
            builder.register(smb_ns, class, client.clone());
        }
    }
    source
}

use openwmi_samba::SambaSource;
