//! The schema compiled into the binary: root\cimv2 (the CIM core and Win32
//! classes openwmi serves), root/interop, and the empty root and
//! root/default namespaces.

use crate::interop::{
    InteropProvider, CONFORMS_CLASS, INTEROP_MOF, INTEROP_NAMESPACE, PROFILE_CLASS,
};
use crate::manager::ObjectManagerBuilder;
use openwmi_cim::Repository;
use openwmi_mof::{Compiler, MemoryLoader, Options};
use std::sync::Arc;

pub const CIMV2_NAMESPACE: &str = "root/cimv2";
pub const DEFAULT_NAMESPACE: &str = "root/default";
/// The SMB management classes (MSFT_SmbShare, MSFT_SmbSession, ...).
pub const SMB_NAMESPACE: &str = "root/Microsoft/Windows/SMB";
const SMB_MOF: &str = include_str!("../schema/smb.mof");

const CIMV2_FILES: [(&str, &str); 3] = [
    ("openwmi.mof", include_str!("../schema/openwmi.mof")),
    ("qualifiers.mof", include_str!("../schema/qualifiers.mof")),
    ("cimv2.mof", include_str!("../schema/cimv2.mof")),
];

/// WMI's intrinsic event classes, compiled into every namespace that has
/// classes of its own (root/cimv2, the SMB namespace, root/interop, the
/// namespaces `--mof` files make), after the rest: as on Windows, where
/// every namespace has them, an event query works in the namespace of the
/// classes it watches.
const EVENTS_MOF: &str = include_str!("../schema/events.mof");
const EVENT_ROOT: &str = "__Event";

/// A repository holding the bundled schema. Compiling it takes well under a
/// millisecond; a failure is a bug in the bundled MOF, caught by the tests.
pub fn bundled_repository() -> Result<Repository, Vec<openwmi_mof::Error>> {
    let mut repo = Repository::new();
    let mut loader = MemoryLoader::new();
    for (name, text) in CIMV2_FILES {
        loader = loader.with(name, text);
    }
    // Every namespace starts with the standard qualifier declarations, as
    // on Windows; the bundled MOF declares its own on top where it differs.
    let options = |namespace: &str| Options {
        default_namespace: namespace.into(),
        standard_qualifiers: true,
        ..Options::default()
    };
    let mut cimv2 = Compiler::with_loader(options(CIMV2_NAMESPACE), Box::new(loader));
    cimv2.compile_file(&mut repo, std::path::Path::new("openwmi.mof"))?;
    let mut interop =
        Compiler::with_loader(options(INTEROP_NAMESPACE), Box::new(MemoryLoader::new()));
    interop.compile_str(&mut repo, "interop.mof", INTEROP_MOF)?;
    Compiler::with_loader(options(SMB_NAMESPACE), Box::new(MemoryLoader::new()))
        .compile_str(&mut repo, "smb.mof", SMB_MOF)?;
    add_event_classes(&mut repo)?;
    // `root`, and `root\default`, which Windows has and ConnectServer's
    // documentation names: empty but for the qualifier declarations.
    for ns in ["root", DEFAULT_NAMESPACE] {
        Compiler::with_loader(options(ns), Box::new(MemoryLoader::new())).compile_str(
            &mut repo,
            "<bundled>",
            "",
        )?;
    }
    Ok(repo)
}

/// Adds the intrinsic event classes to every namespace that has classes of
/// its own and no `__Event` yet; call again after loading more MOF (a
/// namespace that has them is left as it is).
pub fn add_event_classes(repo: &mut Repository) -> Result<(), Vec<openwmi_mof::Error>> {
    let missing: Vec<String> = repo
        .namespaces()
        .filter(|ns| {
            ns.class(EVENT_ROOT).is_none()
                && ns.classes().any(|c| !c.name.as_str().starts_with("__"))
        })
        .map(|ns| ns.name().to_owned())
        .collect();
    for ns in missing {
        let options = Options {
            default_namespace: ns.clone(),
            standard_qualifiers: true,
            ..Options::default()
        };
        Compiler::with_loader(options, Box::new(MemoryLoader::new())).compile_str(
            repo,
            "events.mof",
            EVENTS_MOF,
        )?;
    }
    Ok(())
}

impl ObjectManagerBuilder {
    /// Registers the interop provider (CIM_Namespace for every namespace the
    /// repository holds now, CIM_ObjectManager, the registered profiles);
    /// call after loading all MOF.
    pub fn with_interop(&mut self, brand: &str, version: &str) -> &mut Self {
        let namespaces: Vec<String> = self
            .repository_mut()
            .namespaces()
            .map(|n| n.name().to_owned())
            .collect();
        let host = self.host().to_owned();
        let p = Arc::new(InteropProvider::new(&host, namespaces, brand, version));
        self.register(INTEROP_NAMESPACE, "CIM_Namespace", p.clone());
        self.register(INTEROP_NAMESPACE, "CIM_ObjectManager", p.clone());
        self.register(INTEROP_NAMESPACE, PROFILE_CLASS, p.clone());
        self.register(INTEROP_NAMESPACE, CONFORMS_CLASS, p);
        self
    }
}
