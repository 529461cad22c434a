//! Encodings of the instances that never change (static MOF instances),
//! made once per way of writing them (resource URI form and enumeration
//! mode) and copied afterwards, as CIM-XML keeps its own
//! (`openwmi_wbem`'s `encoded.rs`): for static instances the encoding is
//! most of an enumeration's work. An encoding is used only for the very
//! stored `Arc` it was made from (`PerStoredInstance`), so a changed or
//! trimmed instance is always written afresh, byte-identical (tested).

use openwmi_cimom::{InstanceWithPath, ObjectManager, PerStoredInstance};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Most bytes of encodings kept; past it, instances are encoded every time.
const BUDGET_BYTES: usize = 32 << 20;

/// The ways of writing an item: 3 URI forms x 3 enumeration modes x
/// with or without `UsePreciseArrays`.
const WAYS: usize = 18;

#[derive(Default)]
struct Ways([OnceLock<Box<str>>; WAYS]);

pub struct Encodings {
    by_instance: PerStoredInstance<Ways>,
    used_bytes: AtomicUsize,
}

impl std::fmt::Debug for Encodings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encodings")
            .field("used_bytes", &self.used_bytes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Encodings {
    pub fn new(om: &ObjectManager) -> Encodings {
        Encodings {
            by_instance: PerStoredInstance::new(om.stored_instances()),
            used_bytes: AtomicUsize::new(0),
        }
    }

    /// Bytes of encodings kept.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used_bytes.load(Ordering::Relaxed)
    }

    /// The encoding of `i` written the `way`-th way by `write`: kept when
    /// `i` is a stored instance handed out as stored, else written into
    /// `scratch`.
    pub fn get<'a>(
        &'a self,
        scratch: &'a mut String,
        i: &InstanceWithPath,
        way: usize,
        write: impl FnOnce(&mut String),
    ) -> &'a str {
        // The path is the object manager's, built from the instance and its
        // own class: the same every time.
        if way < WAYS && i.path.class == i.instance.class_name {
            if let Some(ways) = self.by_instance.get_or_init(&i.instance, Ways::default) {
                let cell = &ways.0[way];
                if let Some(kept) = cell.get() {
                    return kept;
                }
                if self.used_bytes.load(Ordering::Relaxed) < BUDGET_BYTES {
                    return cell.get_or_init(|| {
                        let mut s = String::new();
                        write(&mut s);
                        self.used_bytes.fetch_add(s.len(), Ordering::Relaxed);
                        s.into_boxed_str()
                    });
                }
            }
        }
        scratch.clear();
        write(scratch);
        scratch
    }
}
