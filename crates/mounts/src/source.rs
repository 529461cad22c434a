//! The edge: reads the mount table and fstab from disk.

use crate::error::Error;
use crate::fstab::{self, FstabEntry};
use crate::mountinfo::{self, MountEntry};
use crate::MAX_INPUT_BYTES;
use openwmi_cim::{Class, Instance};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Told of every reading of the mount table and fstab ([`load`]), whoever
/// asked for it: how long it took and whether it gave an answer.
pub type ReadObserver = fn(source: &'static str, took: Duration, ok: bool);

static READ_OBSERVER: OnceLock<ReadObserver> = OnceLock::new();

/// Sets the process's [`ReadObserver`] (the first one set stays); it is
/// told the source `mounts`.
pub fn observe_reads(observer: ReadObserver) {
    let _ = READ_OBSERVER.set(observer);
}

/// Where to read from (`--mountinfo`, `--fstab`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub mountinfo: PathBuf,
    pub fstab: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            fstab: PathBuf::from("/etc/fstab"),
        }
    }
}

/// Reads and parses the mount table.
pub fn read_mounts(path: &Path) -> Result<Vec<MountEntry>, Error> {
    let text = read_limited(path)?.ok_or_else(|| Error::Io {
        path: path.display().to_string(),
        message: "no such file".to_owned(),
    })?;
    mountinfo::parse(&text)
}

/// Reads and parses fstab, skipping malformed lines as mount(8) does (they
/// come back as warnings). A missing file is an empty fstab: containers
/// often have none.
pub fn read_fstab(path: &Path) -> Result<(Vec<FstabEntry>, Vec<Error>), Error> {
    match read_limited(path)? {
        Some(text) => Ok(fstab::parse_lenient(&text)),
        None => Ok((Vec::new(), Vec::new())),
    }
}

/// What [`load`] read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub mounts: Vec<MountEntry>,
    pub fstab: Vec<FstabEntry>,
    /// fstab lines that were skipped, for the caller to log.
    pub warnings: Vec<Error>,
}

/// Reads both files.
pub fn load(paths: &Paths) -> Result<Loaded, Error> {
    let started = Instant::now();
    let loaded = read_mounts(&paths.mountinfo).and_then(|mounts| {
        let (fstab, warnings) = read_fstab(&paths.fstab)?;
        Ok(Loaded {
            mounts,
            fstab,
            warnings,
        })
    });
    if let Some(observer) = READ_OBSERVER.get() {
        observer("mounts", started.elapsed(), loaded.is_ok());
    }
    loaded
}

/// Reads both files and builds the `Win32_NetworkConnection` instances of
/// `class`; also returns the fstab warnings.
pub fn network_connections(
    paths: &Paths,
    class: &Class,
) -> Result<(Vec<Instance>, Vec<Error>), Error> {
    let loaded = load(paths)?;
    Ok((
        crate::map::network_connections(&loaded.mounts, &loaded.fstab, class),
        loaded.warnings,
    ))
}

/// Reads at most [`MAX_INPUT_BYTES`]; `None` when the file does not exist.
/// Files in /proc report a size of 0, so the limit is applied while reading.
fn read_limited(path: &Path) -> Result<Option<String>, Error> {
    let io_err = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let mut buf = Vec::new();
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io_err)?;
    if buf.len() > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            file: if path.ends_with("fstab") {
                "fstab"
            } else {
                "mountinfo"
            },
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fstab_is_empty_missing_mountinfo_is_an_error() {
        let nowhere = Path::new("/nonexistent/openwmi/fstab");
        assert_eq!(read_fstab(nowhere).unwrap(), (vec![], vec![]));
        let err = read_mounts(Path::new("/nonexistent/openwmi/mountinfo")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }

    #[test]
    fn reads_fixture_files() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let loaded = load(&Paths {
            mountinfo: dir.join("mountinfo"),
            fstab: dir.join("fstab"),
        })
        .unwrap();
        assert_eq!(loaded.mounts.len(), 8);
        assert_eq!(loaded.fstab.len(), 6);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn too_large_files_are_refused() {
        // /dev/zero never ends: the limit must stop the read.
        let err = read_mounts(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn reads_this_process_mount_table() {
        if Path::new("/proc/self/mountinfo").exists() {
            let loaded = load(&Paths {
                fstab: PathBuf::from("/nonexistent"),
                ..Paths::default()
            })
            .unwrap();
            assert!(!loaded.mounts.is_empty());
            assert!(loaded.fstab.is_empty() && loaded.warnings.is_empty());
        }
    }
}
