//! A cheap hash for the loop's own small keys (socket keys, VRIDs), which the loop looks up
//! for every packet: std's SipHash cost about 550 instructions per received advert for two
//! lookups (callgrind, docs/halabd.md "Seventh change"), this a few dozen. The keys come
//! from the configuration and the host, and a packet's VRID only selects among them (a
//! lookup never inserts), so nobody outside can fill a map with colliding keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map with [`KeyHasher`].
pub(super) type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// Multiply-rotate hashing of the key's words (rustc's FxHash).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct KeyHasher(u64);

/// FxHash's multiplier (an odd constant with well mixed bits).
const SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick the bucket, the least mixed: rotate
        // the well mixed high bits down (as rustc-hash 2 does).
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    /// Input: the keys of 64 interfaces x 2 uses x 255 VRIDs. Output: distinct hashes, and
    /// keys spread over the low bits hashbrown picks buckets with (no bucket of 256 holds
    /// more than four times its share).
    #[test]
    fn socket_and_vrid_keys_spread() {
        let build = BuildHasherDefault::<KeyHasher>::default();
        let mut hashes = HashSet::new();
        let mut buckets = [0usize; 256];
        let mut keys = 0;
        for ifindex in 1u32..=64 {
            for multicast in [false, true] {
                for vrid in 1u8..=255 {
                    let hash = build.hash_one(((ifindex, multicast), vrid));
                    hashes.insert(hash);
                    buckets[(hash & 0xff) as usize] += 1;
                    keys += 1;
                }
            }
        }
        assert_eq!(hashes.len(), keys);
        let share = keys / buckets.len();
        assert!(buckets.iter().all(|&n| n <= 4 * share), "{buckets:?}");
    }
}
