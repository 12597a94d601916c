//! A set of 128-bit fingerprints for de-duplicating user IDs in bounded memory.
//!
//! 16 bytes an ID instead of the ID itself. The set is split 256 ways by the fingerprint's top
//! byte, so no single table ever doubles the whole set at once: at 4 million IDs one table of
//! 2^23 buckets would need 142 MB at its peak resize, the split tables about half that.
//! A collision (about 2^-80 at that size) would merge two IDs into one.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Fingerprints are already uniform: hashing them again is wasted work.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

type Table = HashSet<u128, BuildHasherDefault<Identity>>;

/// The set of IDs seen so far, by fingerprint.
pub struct FingerprintSet {
    tables: Vec<Table>,
    len: u64,
}

impl Default for FingerprintSet {
    fn default() -> Self {
        FingerprintSet {
            tables: (0..256).map(|_| Table::default()).collect(),
            len: 0,
        }
    }
}

impl FingerprintSet {
    /// Adds an ID; true when it was not there yet.
    pub fn insert(&mut self, id: &str) -> bool {
        let f = fingerprint(id);
        let fresh = self.tables[(f >> 120) as usize].insert(f);
        self.len += u64::from(fresh);
        fresh
    }

    /// Distinct IDs seen.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Two independent 64-bit SipHashes of the ID (keyed differently), as one 128-bit fingerprint.
fn fingerprint(id: &str) -> u128 {
    let mut a = std::collections::hash_map::DefaultHasher::new();
    0u8.hash(&mut a);
    id.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    1u8.hash(&mut b);
    id.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_new_from_seen() {
        let mut s = FingerprintSet::default();
        assert!(s.insert("a"));
        assert!(s.insert("b"));
        assert!(!s.insert("a"));
        assert!(s.insert("A"));
        assert_eq!(s.len(), 3);
        for i in 0..10_000 {
            assert!(s.insert(&format!("user-{i}")));
        }
        for i in 0..10_000 {
            assert!(!s.insert(&format!("user-{i}")));
        }
        assert_eq!(s.len(), 10_003);
    }
}
