//! Things kept per stored instance (the `Arc`s a provider hands out
//! unchanged, [`InstanceProvider::stored_instances`]), found by the
//! instance's address.
//!
//! [`InstanceProvider::stored_instances`]: crate::InstanceProvider::stored_instances

use openwmi_cim::Instance;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

/// Hashes an address with one wide multiplication: the keys are our own heap
/// addresses, not chosen by a client, so SipHash's protection buys nothing
/// and its cost showed on every instance of an enumeration. The product's
/// two halves are folded together because the table picks buckets by the
/// hash's low bits, and the low bits of a plain product depend only on the
/// low bits of the address: instances allocated 256 bytes apart (any power
/// of two from 256 up) fell into 64 of 1024 buckets (regression test
/// `addresses_spread_over_the_buckets`). The MOF-loaded instances of the
/// benchmark lie 64 bytes apart, where the plain product spread well too,
/// so the benchmarks do not move; the fold is for the strides they miss.
#[derive(Debug, Default)]
struct AddressHasher(u64);

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

fn fold(x: u64) -> u64 {
    let product = u128::from(x) * u128::from(MULTIPLIER);
    (product as u64) ^ ((product >> 64) as u64)
}

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = fold(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = fold(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A value made once for each stored instance, on first use. The map holds
/// the instance's `Arc` too, so no other instance can come to live at its
/// address while the entry exists.
#[derive(Debug)]
pub struct PerStoredInstance<T> {
    by_address: HashMap<usize, Slot<T>, BuildHasherDefault<AddressHasher>>,
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
    fn addresses_spread_over_the_buckets() {
        use std::hash::BuildHasher;
        let hasher = BuildHasherDefault::<AddressHasher>::default();
        for stride in [16usize, 48, 256, 4096] {
            let buckets: std::collections::HashSet<u64> = (0..1000usize)
                .map(|i| hasher.hash_one(0x5555_0000_0000 + i * stride) & 1023)
                .collect();
            // Random placement fills about 632 of 1024.
            assert!(
                buckets.len() > 550,
                "stride {stride}: {} buckets",
                buckets.len()
            );
            // hashbrown's tag is the top 7 bits: they must vary too.
            let tags: std::collections::HashSet<u64> = (0..1000usize)
                .map(|i| hasher.hash_one(0x5555_0000_0000 + i * stride) >> 57)
                .collect();
            assert!(tags.len() > 100, "stride {stride}: {} tags", tags.len());
        }
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
