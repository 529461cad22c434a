//! The hash of the object manager's own indexes, whose keys no client
//! chooses: the addresses of stored instances (`stored.rs`) and the paths
//! of static MOF instances (`statics.rs`). A client's request is only looked
//! up, never inserted, so it cannot lengthen a chain, and SipHash's
//! protection buys nothing there while its cost shows on every GetInstance.
//!
//! foldhash mixes each word with a folded wide multiplication: the table
//! picks buckets by the hash's low bits and tags them by its top seven, and
//! both must depend on every input bit (instances allocated a power of two
//! apart must not share buckets; regression tests below). The fixed seed
//! keeps iteration order and instruction counts the same from run to run.

/// Makes foldhash hashers for a `HashMap`.
pub(crate) type BuildFoldHasher = foldhash::fast::FixedState;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, Hasher};

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
