//! A set of 128-bit fingerprints for de-duplicating user IDs in bounded memory.
//!
//! 16 bytes an ID instead of the ID itself, in open-addressing tables (linear probing) that
//! grow by half when 85 % full, so the set costs 19 to 28 bytes an ID. It is split 256 ways by
//! the fingerprint's top byte, so a resize copies 1/256 of the set, never all of it: 3 million
//! IDs take about 70 MB. A collision (about 2^-85 at that size) would merge two IDs into one.

use std::hash::{Hash, Hasher};

/// One open-addressing table; 0 marks an empty slot (a fingerprint of 0 is stored as 1).
#[derive(Default)]
struct Table {
    slots: Vec<u128>,
    len: usize,
}

impl Table {
    fn insert(&mut self, f: u128) -> bool {
        if (self.len + 1) * 100 > self.slots.len() * 85 {
            self.grow();
        }
        let cap = self.slots.len();
        let mut i = slot_of(f, cap);
        loop {
            let s = self.slots[i];
            if s == f {
                return false;
            }
            if s == 0 {
                self.slots[i] = f;
                self.len += 1;
                return true;
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() + self.slots.len() / 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        for f in old.into_iter().filter(|&f| f != 0) {
            let mut i = slot_of(f, cap);
            while self.slots[i] != 0 {
                i += 1;
                if i == cap {
                    i = 0;
                }
            }
            self.slots[i] = f;
        }
    }
}

/// Maps the low 64 bits (uniform) onto 0..cap without a division.
fn slot_of(f: u128, cap: usize) -> usize {
    ((u128::from(f as u64) * cap as u128) >> 64) as usize
}

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
        let f = fingerprint(id).max(1);
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

    /// Bytes held by the tables.
    pub fn heap_bytes(&self) -> usize {
        self.tables.iter().map(|t| t.slots.capacity() * 16).sum()
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

    #[test]
    fn a_million_ids_cost_under_30_bytes_each() {
        let mut s = FingerprintSet::default();
        for i in 0..1_000_000u32 {
            assert!(s.insert(&i.to_string()));
        }
        assert!(!s.insert("999999"));
        assert_eq!(s.len(), 1_000_000);
        assert!(s.heap_bytes() < 30_000_000, "{} bytes", s.heap_bytes());
    }

    /// The bound docs/LIMITS.md sizes the prepare function with: at every size, the tables hold
    /// at most `FINGERPRINT_BYTES_PER_USER` bytes a user, plus their 16 starting slots each.
    #[test]
    fn the_tables_never_exceed_the_documented_bytes_per_user() {
        use crate::limits::FINGERPRINT_BYTES_PER_USER;
        let floor = 256 * 16 * 16;
        let mut s = FingerprintSet::default();
        let mut worst = 0f64;
        for i in 0..400_000u32 {
            s.insert(&format!("u{i}"));
            let n = s.len();
            assert!(
                s.heap_bytes() as u64 <= FINGERPRINT_BYTES_PER_USER * n + floor,
                "{} bytes for {n} users",
                s.heap_bytes()
            );
            if n > 100_000 {
                worst = worst.max(s.heap_bytes() as f64 / n as f64);
            }
        }
        assert!(
            worst > 24.0,
            "the worst case was reached ({worst:.1} bytes a user)"
        );
    }
}
