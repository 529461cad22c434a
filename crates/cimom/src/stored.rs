//! Things kept per stored instance (the `Arc`s a provider hands out
//! unchanged, [`InstanceProvider::stored_instances`]), found by the
//! instance's address.
//!
//! [`InstanceProvider::stored_instances`]: crate::InstanceProvider::stored_instances

use crate::fold_hash::BuildFoldHasher;
use openwmi_cim::Instance;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A value made once for each stored instance, on first use. The map holds
/// the instance's `Arc` too, so no other instance can come to live at its
/// address while the entry exists.
#[derive(Debug)]
pub struct PerStoredInstance<T> {
    /// Addresses are ours, not a client's: a fast hash (`fold_hash.rs`).
    by_address: HashMap<usize, Slot<T>, BuildFoldHasher>,
}

#[derive(Debug)]
struct Slot<T> {
    stored: Arc<Instance>,
    value: OnceLock<T>,
}

impl<T> PerStoredInstance<T> {
    pub fn new<'a>(stored: impl IntoIterator<Item = &'a Arc<Instance>>) -> Self {
        let by_address = stored
            .into_iter()
            .map(|i| {
                let slot = Slot {
                    stored: Arc::clone(i),
                    value: OnceLock::new(),
                };
                (Arc::as_ptr(i) as usize, slot)
            })
            .collect();
        PerStoredInstance { by_address }
    }

    /// An empty map: every lookup misses.
    pub fn empty() -> Self {
        PerStoredInstance {
            by_address: HashMap::default(),
        }
    }

    /// The value for `instance` if it is one of the stored `Arc`s (not a
    /// copy), made with `make` the first time.
    pub fn get_or_init(&self, instance: &Arc<Instance>, make: impl FnOnce() -> T) -> Option<&T> {
        let slot = self.by_address.get(&(Arc::as_ptr(instance) as usize))?;
        if !Arc::ptr_eq(&slot.stored, instance) {
            return None;
        }
        Some(slot.value.get_or_init(make))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openwmi_cim::Name;
    use std::cell::Cell;

    fn instance(class: &str) -> Arc<Instance> {
        Arc::new(Instance {
            class_name: Name::new(class),
            properties: Vec::new(),
        })
    }

    #[test]
    fn a_value_is_made_once_and_only_for_the_stored_arcs() {
        let stored = [instance("A"), instance("B")];
        let map = PerStoredInstance::new(&stored);
        let made = Cell::new(0);
        let make = |v: &'static str| {
            made.set(made.get() + 1);
            v
        };
        assert_eq!(map.get_or_init(&stored[0], || make("a")), Some(&"a"));
        assert_eq!(map.get_or_init(&stored[0], || make("again")), Some(&"a"));
        assert_eq!(map.get_or_init(&stored[1], || make("b")), Some(&"b"));
        assert_eq!(made.get(), 2);
        // An equal instance at another address (a copy) is not stored.
        let copy = Arc::new((*stored[0]).clone());
        assert_eq!(map.get_or_init(&copy, || make("copy")), None);
        assert_eq!(
            PerStoredInstance::empty().get_or_init(&stored[0], || 1),
            None
        );
        assert_eq!(made.get(), 2);
    }
}
