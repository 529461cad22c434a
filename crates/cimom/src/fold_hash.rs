//! A fast hash for the object manager's own indexes, whose keys no client
//! chooses: the addresses of stored instances (`stored.rs`) and the paths
//! of static MOF instances (`statics.rs`). A client's request is only looked
//! up, never inserted, so it cannot lengthen a chain, and SipHash's
//! protection buys nothing there; its cost showed on every request (a
//! GetInstance spent about 2,200 instructions hashing its path).
//!
//! Each word is mixed in with one wide multiplication whose two halves are
//! folded together: the table picks buckets by the hash's low bits and tags
//! them by its top seven, and the low bits of a plain product depend only on
//! the low bits of the input (instances allocated 256 bytes apart fell into
//! 64 of 1024 buckets; regression tests below).

use std::hash::{BuildHasherDefault, Hasher};

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct FoldHasher(u64);

/// Makes [`FoldHasher`]s for a `HashMap`.
pub(crate) type BuildFoldHasher = BuildHasherDefault<FoldHasher>;

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

fn fold(x: u64) -> u64 {
    let product = u128::from(x) * u128::from(MULTIPLIER);
    (product as u64) ^ ((product >> 64) as u64)
}

impl FoldHasher {
    fn mix(&mut self, word: u64) {
        self.0 = fold(self.0 ^ word);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length in the top byte (a short word's own bytes leave it
            // zero): "a\0" and "a" differ.
            self.mix(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    /// How many of 1024 buckets `hashes` fall into, and how many of the
    /// 128 tags (the top seven bits) they use.
    fn spread(hashes: impl Iterator<Item = u64> + Clone) -> (usize, usize) {
        let buckets: HashSet<u64> = hashes.clone().map(|h| h & 1023).collect();
        let tags: HashSet<u64> = hashes.map(|h| h >> 57).collect();
        (buckets.len(), tags.len())
    }

    #[test]
    fn addresses_spread_over_the_buckets() {
        let hasher = BuildFoldHasher::default();
        for stride in [16usize, 48, 256, 4096] {
            let (buckets, tags) =
                spread((0..1000usize).map(|i| hasher.hash_one(0x5555_0000_0000 + i * stride)));
            // Random placement fills about 632 of 1024.
            assert!(buckets > 550, "stride {stride}: {buckets} buckets");
            assert!(tags > 100, "stride {stride}: {tags} tags");
        }
    }

    #[test]
    fn paths_that_differ_in_one_character_spread_over_the_buckets() {
        let hasher = BuildFoldHasher::default();
        let families: [fn(usize) -> String; 3] = [
            |i| format!("share{i:06}"),
            |i| format!("{i:04}share"),
            |i| format!("a-rather-long-prefix-past-several-words-{i}-and-a-suffix"),
        ];
        for name in families {
            let (buckets, tags) = spread((0..1000).map(|i| {
                let path =
                    openwmi_cim::ObjectPath::parse(&format!("Test_Share.Name=\"{}\"", name(i)))
                        .unwrap();
                hasher.hash_one(&path)
            }));
            assert!(buckets > 550, "{}: {buckets} buckets", name(0));
            assert!(tags > 100, "{}: {tags} tags", name(0));
        }
    }

    #[test]
    fn short_tails_of_different_lengths_differ() {
        let hasher = BuildFoldHasher::default();
        let hash = |bytes: &[u8]| {
            let mut h = hasher.build_hasher();
            h.write(bytes);
            h.finish()
        };
        assert_ne!(hash(b"a"), hash(b"a\0"));
        assert_ne!(hash(b"12345678a"), hash(b"12345678a\0"));
    }
}
