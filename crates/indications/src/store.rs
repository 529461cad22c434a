//! What survives a restart: the filters, destinations and subscriptions,
//! each with its owner, kept as JSON in the state directory (written to a
//! temporary file, then renamed, mode 0600).

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    pub filters: Vec<FilterRecord>,
    pub destinations: Vec<DestinationRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterRecord {
    pub name: String,
    pub query: String,
    pub language: String,
    /// The namespace the query runs in.
    pub namespace: String,
    /// The user who made it; `None` for the local caller.
    pub owner: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DestinationRecord {
    pub name: String,
    pub url: String,
    pub persistence: Option<u16>,
    pub owner: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// The filter's Name.
    pub filter: String,
    /// The destination's Name.
    pub handler: String,
    pub owner: Option<String>,
    /// The owner's groups when it was made, for the permission checks made
    /// at every delivery.
    pub groups: Vec<String>,
    /// CIM datetime of its creation.
    pub started: String,
    /// Its creation in seconds since 1970, for SubscriptionDuration.
    #[serde(default)]
    pub started_unix: u64,
    /// SubscriptionDuration: seconds it lasts; `None`: until removed.
    #[serde(default)]
    pub duration: Option<u64>,
    /// SubscriptionState: 2 Enabled, 4 Disabled (delivers nothing).
    #[serde(default = "enabled")]
    pub state: u16,
    /// OnFatalErrorPolicy: 2 Ignore, 3 Disable, 4 Remove.
    #[serde(default = "ignore")]
    pub on_fatal_error: u16,
}

pub const STATE_ENABLED: u16 = 2;
pub const STATE_ENABLED_DEGRADED: u16 = 3;
pub const STATE_DISABLED: u16 = 4;
pub const FATAL_IGNORE: u16 = 2;
pub const FATAL_DISABLE: u16 = 3;
pub const FATAL_REMOVE: u16 = 4;

fn enabled() -> u16 {
    STATE_ENABLED
}

fn ignore() -> u16 {
    FATAL_IGNORE
}

impl SubscriptionRecord {
    /// Seconds left of its SubscriptionDuration at `now` (seconds since
    /// 1970); `None` when it has none.
    pub fn remaining(&self, now: u64) -> Option<u64> {
        self.duration
            .map(|d| self.started_unix.saturating_add(d).saturating_sub(now))
    }
}

impl Store {
    /// The store kept in `path`; an empty one when there is no file yet.
    pub fn load(path: &Path) -> Result<Store, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a subscription store: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = open_private(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}
