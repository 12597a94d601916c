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

/// Where a table's slots live: its own vector, or a range of the set's slab (see
/// [`FingerprintSet::reserve`]).
enum Slots {
    Own(Vec<u128>),
    Slab(std::ops::Range<usize>),
}

/// One open-addressing table; 0 marks an empty slot (a fingerprint of 0 is stored as 1).
struct Table {
    slots: Slots,
    len: usize,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            slots: Slots::Own(Vec::new()),
            len: 0,
        }
    }
}

impl Table {
    /// The table's slots, wherever they live.
    fn slots<'a>(&'a self, slab: &'a Slab) -> &'a [u128] {
        match &self.slots {
            Slots::Own(v) => v,
            Slots::Slab(r) => &slab.slots()[r.clone()],
        }
    }

    fn capacity(&self) -> usize {
        match &self.slots {
            Slots::Own(v) => v.len(),
            Slots::Slab(r) => r.len(),
        }
    }

    fn insert(&mut self, f: u128, slab: &mut Slab) -> bool {
        if (self.len + 1) * 100 > self.capacity() * 85 {
            self.resize((self.capacity() + self.capacity() / 2).max(16), slab);
        }
        let slots = match &mut self.slots {
            Slots::Own(v) => &mut v[..],
            Slots::Slab(r) => &mut slab.slots_mut()[r.clone()],
        };
        let cap = slots.len();
        let mut i = slot_of(f, cap);
        loop {
            let s = slots[i];
            if s == f {
                return false;
            }
            if s == 0 {
                slots[i] = f;
                self.len += 1;
                return true;
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    /// Moves the table into `cap` slots of its own (a slab range it leaves is given back).
    fn resize(&mut self, cap: usize, slab: &mut Slab) {
        let mut new = vec![0; cap];
        place_all(self.slots(slab), &mut new);
        if let Slots::Slab(r) = std::mem::replace(&mut self.slots, Slots::Own(new)) {
            slab.release(r);
        }
    }
}

/// Puts every fingerprint of `old` into the empty table `new`.
fn place_all(old: &[u128], new: &mut [u128]) {
    let cap = new.len();
    for &f in old.iter().filter(|&&f| f != 0) {
        let mut i = slot_of(f, cap);
        while new[i] != 0 {
            i += 1;
            if i == cap {
                i = 0;
            }
        }
        new[i] = f;
    }
}

/// Maps the low 64 bits (uniform) onto 0..cap without a division.
fn slot_of(f: u128, cap: usize) -> usize {
    ((u128::from(f as u64) * cap as u128) >> 64) as usize
}

/// The set of IDs seen so far, by fingerprint.
pub struct FingerprintSet {
    tables: Vec<Table>,
    slab: Slab,
    len: u64,
    seed: u64,
}

impl Default for FingerprintSet {
    fn default() -> Self {
        FingerprintSet {
            tables: (0..256).map(|_| Table::default()).collect(),
            slab: Slab::default(),
            len: 0,
            // std's RandomState draws its keys from the operating system's random source.
            seed: std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64),
        }
    }
}

/// How a set fingerprints IDs (its seed), apart from the set: a reader can fingerprint its
/// lines on one thread while the set itself is filled on another (request_csv's pipeline).
#[derive(Debug, Clone, Copy)]
pub struct Fingerprinter {
    seed: u64,
}

impl Fingerprinter {
    /// The fingerprint of an ID's bytes (never 0: 0 marks an empty slot).
    #[inline]
    pub fn fingerprint(&self, id: &[u8]) -> u128 {
        xxhash_rust::xxh3::xxh3_128_with_seed(id, self.seed).max(1)
    }
}

/// How many inserts ahead [`FingerprintSet::insert_batch`] asks for a slot: enough misses in
/// flight to cover memory's latency.
const PREFETCH_AHEAD: usize = 16;

impl FingerprintSet {
    /// Adds an ID; true when it was not there yet.
    pub fn insert(&mut self, id: &str) -> bool {
        self.insert_fingerprint(self.fingerprint(id.as_bytes()))
    }

    /// The fingerprint of an ID's bytes under this set's seed (never 0: 0 marks an empty slot).
    pub fn fingerprint(&self, id: &[u8]) -> u128 {
        self.fingerprinter().fingerprint(id)
    }

    /// This set's fingerprint function, to use apart from the set.
    pub fn fingerprinter(&self) -> Fingerprinter {
        Fingerprinter { seed: self.seed }
    }

    /// Adds every fingerprint of `batch` in order, as [`FingerprintSet::insert_fingerprint`]
    /// one by one would, and sets to 0 each one that was already there (a fingerprint is never
    /// 0): what is left non-zero is new. Each slot is asked for a few inserts ahead, so that
    /// the batch's cache misses overlap instead of queueing.
    pub fn insert_batch(&mut self, batch: &mut [u128]) {
        for &f in batch.iter().take(PREFETCH_AHEAD) {
            self.prefetch(f);
        }
        for i in 0..batch.len() {
            if let Some(&ahead) = batch.get(i + PREFETCH_AHEAD) {
                self.prefetch(ahead);
            }
            if !self.insert_fingerprint(batch[i]) {
                batch[i] = 0;
            }
        }
    }

    /// Adds a fingerprint made by [`FingerprintSet::fingerprint`]; true when it was not there yet.
    pub fn insert_fingerprint(&mut self, f: u128) -> bool {
        let fresh = self.tables[(f >> 120) as usize].insert(f.max(1), &mut self.slab);
        self.len += u64::from(fresh);
        fresh
    }

    /// Makes room for `users` distinct IDs in all, at most 80 % full, so that a set whose size
    /// is known in advance (from the file's size) is never rehashed: 20 bytes an ID.
    ///
    /// The tables then live side by side in one slab of memory (see [`Slab`]). With
    /// `huge_pages`, the kernel is asked to back it with 2 MiB pages: each insert lands on a
    /// random slot of tens of megabytes, and with 4 KiB pages it misses the TLB as well as the
    /// cache; with huge pages the whole slab is a few TLB entries, and the prefetches of a batch
    /// are not held up by page walks. But a huge page is resident as soon as one of its slots
    /// is touched: the caller asks for them only when the IDs seen so far are mostly distinct
    /// (the slab will be touched all over anyway), not for a file of few users repeated, whose
    /// memory stays with its distinct users. Called once, before the tables fill (later calls
    /// only grow small tables).
    pub fn reserve(&mut self, users: u64, huge_pages: bool) {
        let per_table = usize::try_from(users / 256).unwrap_or(usize::MAX / 2);
        let cap = per_table.saturating_add(per_table / 4).max(16);
        let small = self.tables.iter().all(|t| t.capacity() < cap);
        if small && self.slab.is_empty() {
            if let Some(mut slab) = cap.checked_mul(256).and_then(|n| Slab::new(n, huge_pages)) {
                for (i, t) in self.tables.iter_mut().enumerate() {
                    let r = i * cap..(i + 1) * cap;
                    place_all(t.slots(&self.slab), &mut slab.slots_mut()[r.clone()]);
                    t.slots = Slots::Slab(r);
                }
                self.slab = slab;
                return;
            }
        }
        for t in &mut self.tables {
            if t.capacity() < cap {
                t.resize(cap, &mut self.slab);
            }
        }
    }

    /// Asks the processor to start loading the slot where `f` would go; a hint, nothing more.
    pub fn prefetch(&self, f: u128) {
        let slots = self.tables[(f >> 120) as usize].slots(&self.slab);
        if let Some(slot) = slots.get(slot_of(f.max(1), slots.len())) {
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

    /// Bytes held by the tables (a table that left the slab no longer counts its range).
    pub fn heap_bytes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| match &t.slots {
                Slots::Own(v) => v.capacity() * 16,
                Slots::Slab(r) => r.len() * 16,
            })
            .sum()
    }
}

/// Zeroed slots for all the tables at once, in memory of its own.
///
/// On Linux an anonymous mapping aligned to 2 MiB, marked `MADV_HUGEPAGE` when asked for huge
/// pages (`MADV_NOHUGEPAGE` otherwise): where the kernel allows transparent huge pages (its
/// `madvise` mode, the usual default, or `always`), the slab is then backed by 2 MiB pages as
/// it is first touched; where it does not, the advice is ignored and the slab is ordinary
/// memory. Elsewhere, a vector.
#[derive(Default)]
struct Slab {
    #[cfg(target_os = "linux")]
    map: Option<huge::Mapping>,
    #[cfg(not(target_os = "linux"))]
    map: Vec<u128>,
}

#[cfg(target_os = "linux")]
impl Slab {
    fn new(slots: usize, huge_pages: bool) -> Option<Slab> {
        huge::Mapping::new(slots, huge_pages).map(|m| Slab { map: Some(m) })
    }
    fn is_empty(&self) -> bool {
        self.map.is_none()
    }
    fn slots(&self) -> &[u128] {
        self.map.as_ref().map_or(&[], |m| m.slots())
    }
    fn slots_mut(&mut self) -> &mut [u128] {
        self.map.as_mut().map_or(&mut [], |m| m.slots_mut())
    }
    /// Gives a range no table uses any more back to the system.
    fn release(&mut self, r: std::ops::Range<usize>) {
        if let Some(m) = &mut self.map {
            m.release(r);
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl Slab {
    fn new(slots: usize, _huge_pages: bool) -> Option<Slab> {
        Some(Slab {
            map: vec![0; slots],
        })
    }
    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    fn slots(&self) -> &[u128] {
        &self.map
    }
    fn slots_mut(&mut self) -> &mut [u128] {
        &mut self.map
    }
    fn release(&mut self, _r: std::ops::Range<usize>) {}
}

#[cfg(target_os = "linux")]
mod huge {
    use std::ptr::NonNull;

    const HUGE_PAGE: usize = 2 << 20;
    const PAGE: usize = 4096;

    /// An anonymous private mapping holding `len` zeroed `u128`s from a 2 MiB boundary.
    pub(super) struct Mapping {
        /// Start of the whole mapping (what `munmap` is given back).
        base: NonNull<libc::c_void>,
        /// Its length in bytes.
        map_len: usize,
        /// The first slot: the first 2 MiB boundary inside the mapping.
        slots: NonNull<u128>,
        len: usize,
    }

    // SAFETY: the mapping is owned by this value alone (no other pointer to it escapes but
    // through borrows of `self`), like a `Vec<u128>`'s buffer.
    unsafe impl Send for Mapping {}
    // SAFETY: as above; shared access only reads.
    unsafe impl Sync for Mapping {}

    impl Mapping {
        pub(super) fn new(len: usize, huge_pages: bool) -> Option<Mapping> {
            let bytes = len.checked_mul(16)?.checked_next_multiple_of(PAGE)?;
            let map_len = bytes.checked_add(HUGE_PAGE)?;
            // SAFETY: a new anonymous private mapping at an address the kernel chooses: it
            // aliases no memory of the program. Its result is checked below.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return None;
            }
            let base = NonNull::new(base)?;
            let skip = (HUGE_PAGE - base.as_ptr() as usize % HUGE_PAGE) % HUGE_PAGE;
            // SAFETY: `skip` < 2 MiB and `skip + bytes` <= `map_len`: the pointer stays inside
            // the mapping, and it is 2 MiB-aligned, so aligned for `u128`.
            let slots = unsafe { base.byte_add(skip) }.cast::<u128>();
            let advice = if huge_pages {
                libc::MADV_HUGEPAGE
            } else {
                // Even where THP's mode is `always`: a slab touched here and there stays small.
                libc::MADV_NOHUGEPAGE
            };
            // SAFETY: the range is inside the mapping just made. The advice only changes how
            // the kernel backs it (huge pages or not); an error (no THP) is harmless.
            unsafe {
                libc::madvise(slots.as_ptr().cast(), bytes, advice);
            }
            Some(Mapping {
                base,
                map_len,
                slots,
                len,
            })
        }

        pub(super) fn slots(&self) -> &[u128] {
            // SAFETY: `len` u128s from `slots` lie inside the mapping, readable and writable,
            // zeroed by the kernel (anonymous memory) or written since; u128 has no invalid
            // bit pattern; the borrow of `self` keeps the mapping alive and unaliased.
            unsafe { std::slice::from_raw_parts(self.slots.as_ptr(), self.len) }
        }

        pub(super) fn slots_mut(&mut self) -> &mut [u128] {
            // SAFETY: as in `slots`, and `&mut self` makes this borrow the only one.
            unsafe { std::slice::from_raw_parts_mut(self.slots.as_ptr(), self.len) }
        }

        /// Hands the whole pages inside the slots `r` back to the system: they read as zeros
        /// if touched again (nothing will touch them: no table lives there any more).
        pub(super) fn release(&mut self, r: std::ops::Range<usize>) {
            let r = &mut self.slots_mut()[r];
            let start = r.as_mut_ptr() as usize;
            let end = start + std::mem::size_of_val(r);
            let first = start.next_multiple_of(PAGE);
            let last = end - end % PAGE;
            if last > first {
                // SAFETY: whole pages inside this mapping, of slots no table uses (the caller
                // gave the range up); MADV_DONTNEED on private anonymous memory only drops
                // their contents, which read as zeros afterwards.
                unsafe {
                    libc::madvise(
                        first as *mut libc::c_void,
                        last - first,
                        libc::MADV_DONTNEED,
                    );
                }
            }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, unmapped once: no borrow of it outlives `self`.
            unsafe {
                libc::munmap(self.base.as_ptr(), self.map_len);
            }
        }
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

    /// Reserved tables live in the slab; those that outgrow it move out (their range given
    /// back) and keep every fingerprint.
    #[test]
    fn reserved_tables_outgrow_the_slab_and_keep_every_id() {
        let mut s = FingerprintSet::default();
        for i in 0..1_000u32 {
            assert!(s.insert(&format!("early-{i}")));
        }
        s.reserve(100_000, true);
        assert!(!s.slab.is_empty());
        assert_eq!(
            s.heap_bytes(),
            256 * (100_000 / 256 + 100_000 / 256 / 4) * 16
        );
        for i in 0..300_000u32 {
            assert!(s.insert(&format!("user-{i}")));
        }
        assert!(s.tables.iter().all(|t| matches!(t.slots, Slots::Own(_))));
        for i in 0..1_000u32 {
            assert!(!s.insert(&format!("early-{i}")));
        }
        for i in 0..300_000u32 {
            assert!(!s.insert(&format!("user-{i}")));
        }
        assert_eq!(s.len(), 301_000);
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
