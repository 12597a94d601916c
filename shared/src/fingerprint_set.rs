//! A set of 128-bit fingerprints for de-duplicating user IDs in bounded memory.
//!
//! 16 bytes an ID instead of the ID itself, in open-addressing tables (linear probing) that
//! grow by half when 85 % full, so the set costs 19 to 28 bytes an ID. It is split 256 ways by
//! the fingerprint's top byte, so a resize copies 1/256 of the set, never all of it: 3 million
//! IDs take about 70 MB.
//!
//! The fingerprint is XXH3-128 with a seed drawn at random for each set (each process): fast
//! (a few nanoseconds for an ID, where two SipHash passes took about 40) and seeded so that no
//! file can be written in advance to make two IDs collide. A collision would merge two distinct
//! IDs into one and leave the second unerased: for n distinct IDs its probability is at most
//! n²/2^129 (for the 25 million users a request may hold, below 10^-24), far below the chance
//! of a memory error in the machine. Each insert costs one cache miss into tables far larger
//! than the cache; [`FingerprintSet::prefetch`] lets a caller that knows the next fingerprints
//! ask for their slots early, so that the misses of a batch overlap instead of queueing.

use std::hash::BuildHasher;

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
        self.resize((self.slots.len() + self.slots.len() / 2).max(16));
    }

    fn resize(&mut self, cap: usize) {
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
    seed: u64,
}

impl Default for FingerprintSet {
    fn default() -> Self {
        FingerprintSet {
            tables: (0..256).map(|_| Table::default()).collect(),
            len: 0,
            // std's RandomState draws its keys from the operating system's random source.
            seed: std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64),
        }
    }
}

impl FingerprintSet {
    /// Adds an ID; true when it was not there yet.
    pub fn insert(&mut self, id: &str) -> bool {
        self.insert_fingerprint(self.fingerprint(id.as_bytes()))
    }

    /// The fingerprint of an ID's bytes under this set's seed (never 0: 0 marks an empty slot).
    pub fn fingerprint(&self, id: &[u8]) -> u128 {
        xxhash_rust::xxh3::xxh3_128_with_seed(id, self.seed).max(1)
    }

    /// Adds a fingerprint made by [`FingerprintSet::fingerprint`]; true when it was not there yet.
    pub fn insert_fingerprint(&mut self, f: u128) -> bool {
        let fresh = self.tables[(f >> 120) as usize].insert(f.max(1));
        self.len += u64::from(fresh);
        fresh
    }

    /// Makes room for `users` distinct IDs in all, at most 80 % full, so that a set whose size
    /// is known in advance (from the file's size) is never rehashed: 20 bytes an ID.
    pub fn reserve(&mut self, users: u64) {
        let per_table = usize::try_from(users / 256).unwrap_or(usize::MAX / 2);
        let cap = per_table.saturating_add(per_table / 4).max(16);
        for t in &mut self.tables {
            if t.slots.len() < cap {
                t.resize(cap);
            }
        }
    }

    /// Asks the processor to start loading the slot where `f` would go; a hint, nothing more.
    pub fn prefetch(&self, f: u128) {
        let t = &self.tables[(f >> 120) as usize];
        if let Some(slot) = t.slots.get(slot_of(f.max(1), t.slots.len())) {
            prefetch_read(slot);
        }
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

/// Starts loading the cache line holding `p`.
#[inline(always)]
fn prefetch_read<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint to the cache; it reads a valid reference's address and
    // has no effect the program can observe.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((p as *const T).cast());
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above; PRFM never faults and writes no register or memory.
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) p as *const T, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
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
