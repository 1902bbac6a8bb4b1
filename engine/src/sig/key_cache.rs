//! A bounded, concurrent cache of decompressed public keys.
//!
//! Accounts reuse their keys, and decompressing a key costs a field exponentiation (about as much as
//! a fifth of a whole batched verification), so a hit saves real work. Keys that do not decode are
//! cached too (as `None`), so a flood of one bad key costs one decompression. Eviction is
//! quick_cache's CLOCK-Pro: a scan of one-off keys does not flush the hot accounts.
//!
//! Admission goes through a doorkeeper (as in TinyLFU): a key is inserted only on its second miss
//! within a window, so a stream of one-off keys costs one bit each instead of a cache insertion.
//! A reused key pays one extra decompression before it is cached.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use curve25519_dalek::edwards::EdwardsPoint;
use quick_cache::sync::Cache;
use rand::RngCore;

use super::zip215;

/// Default capacity: 2¹⁴ keys × ~200 bytes ≈ 3 MiB, which holds the hot accounts of the workloads
/// we model (Zipf over 10,000 accounts) and stays inside the last-level cache. Measured on the
/// development machine: a 2¹⁷-key cache cost ~8% more time on all-distinct keys (page faults and
/// growth of a 26 MiB table) and bought nothing on the skewed workload.
pub const DEFAULT_KEY_CACHE_CAPACITY: usize = 1 << 14;

/// Doorkeeper size in bits: 2¹⁶ bits (8 KiB) keeps false positives low for the ~2¹⁵ first
/// sightings it holds before it is reset.
const DOORKEEPER_BITS: usize = 1 << 16;

/// What [`KeyCache::lookup`] found.
#[derive(Clone, Copy, Debug)]
pub enum Lookup {
    /// The cached decoding (`None`: the bytes are not a point).
    Hit(Option<EdwardsPoint>),
    /// Not cached; `admit`: insert the decoding once made.
    Miss { admit: bool },
}

pub struct KeyCache {
    inner: Cache<[u8; 32], Option<EdwardsPoint>>,
    doorkeeper: Doorkeeper,
}

impl KeyCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Cache::new(capacity.max(1)),
            doorkeeper: Doorkeeper::new(),
        }
    }

    /// The decompressed key, from the cache or decompressed now (and then cached).
    pub fn get_or_decompress(&self, pk: &[u8; 32]) -> Option<EdwardsPoint> {
        match self.lookup(pk) {
            Lookup::Hit(point) => point,
            Lookup::Miss { admit } => {
                let point = zip215::decompress(pk);
                if admit {
                    self.insert(pk, point);
                }
                point
            }
        }
    }

    /// The cached decoding of `pk`, or a miss saying whether the caller should [`insert`] the
    /// decoding it makes (the doorkeeper admits a key on its second miss). For callers that decode
    /// many missed keys together; [`get_or_decompress`] does both steps for one key.
    ///
    /// [`insert`]: Self::insert
    /// [`get_or_decompress`]: Self::get_or_decompress
    pub fn lookup(&self, pk: &[u8; 32]) -> Lookup {
        // A key the doorkeeper has not seen since its last reset is (almost always) not cached:
        // skip the lookup. A key cached before a reset just costs one extra decompression.
        if !self.doorkeeper.seen_before(pk) {
            return Lookup::Miss { admit: false };
        }
        match self.inner.get(pk) {
            Some(hit) => Lookup::Hit(hit),
            None => Lookup::Miss { admit: true },
        }
    }

    /// Caches the decoding of `pk` (`None`: not a point). Must be what `pk` decodes to.
    pub fn insert(&self, pk: &[u8; 32], point: Option<EdwardsPoint>) {
        self.inner.insert(*pk, point);
    }

    /// Forgets every key (benchmarks use it to model a stream of never-repeating keys).
    pub fn clear(&self) {
        self.inner.clear();
        self.doorkeeper.reset();
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(DEFAULT_KEY_CACHE_CAPACITY)
    }
}

/// One bit per hashed key, set on a key's first miss; reset when half the bits are set.
struct Doorkeeper {
    bits: Vec<AtomicU64>,
    set: AtomicUsize,
    /// Per-process secret, so that nobody can aim keys at chosen bits.
    seed: u64,
}

impl Doorkeeper {
    fn new() -> Self {
        Self {
            bits: (0..DOORKEEPER_BITS / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
            set: AtomicUsize::new(0),
            seed: rand::rng().next_u64() | 1,
        }
    }

    /// Whether `pk` was marked since the last reset; marks it.
    fn seen_before(&self, pk: &[u8; 32]) -> bool {
        let word = u64::from_le_bytes(pk[..8].try_into().expect("8 bytes"))
            ^ u64::from_le_bytes(pk[24..].try_into().expect("8 bytes"));
        let bit = (word ^ self.seed).wrapping_mul(self.seed) >> (64 - DOORKEEPER_BITS.ilog2());
        let bit = bit as usize;
        let mask = 1u64 << (bit % 64);
        let word = &self.bits[bit / 64];
        // Read before writing: hot keys find their bit set and never write the shared line.
        if word.load(Ordering::Relaxed) & mask != 0 {
            return true;
        }
        let before = word.fetch_or(mask, Ordering::Relaxed);
        if before & mask != 0 {
            return true;
        }
        if self.set.fetch_add(1, Ordering::Relaxed) + 1 >= DOORKEEPER_BITS / 2 {
            self.reset();
        }
        false
    }

    fn reset(&self) {
        for w in &self.bits {
            w.store(0, Ordering::Relaxed);
        }
        self.set.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::scalar::Scalar;

    fn key(i: u64) -> [u8; 32] {
        (ED25519_BASEPOINT_POINT * Scalar::from(i + 1))
            .compress()
            .to_bytes()
    }

    #[test]
    fn a_key_is_cached_on_its_second_sighting() {
        let cache = KeyCache::new(64);
        let k = key(1);
        let expected = zip215::decompress(&k);
        assert_eq!(cache.get_or_decompress(&k), expected);
        assert!(cache.is_empty(), "one-off keys are not inserted");
        assert_eq!(cache.get_or_decompress(&k), expected);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get_or_decompress(&k), expected);
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn undecodable_keys_are_cached_as_none() {
        let cache = KeyCache::new(64);
        // y = 2 is not the y-coordinate of a curve point.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        assert_eq!(zip215::decompress(&bad), None);
        for _ in 0..3 {
            assert_eq!(cache.get_or_decompress(&bad), None);
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_doorkeeper_resets_when_half_full() {
        let cache = KeyCache::new(16);
        for i in 0..(DOORKEEPER_BITS as u64) {
            let k = key(i);
            assert_eq!(cache.get_or_decompress(&k), zip215::decompress(&k));
        }
        assert!(cache.doorkeeper.set.load(Ordering::Relaxed) < DOORKEEPER_BITS / 2);
    }
}
