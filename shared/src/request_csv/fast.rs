//! The fast path for plain lines: almost every line of a real request is an unquoted ID of
//! printable ASCII, and such a line needs none of the general path's work (no quoting, no
//! trimming, no UTF-8 or control-character check, a length in bytes that is its length in
//! characters). Its end is found with `memchr`, the line is checked in one pass the compiler
//! vectorises, and its duplicate check is put off to the end of the chunk, where the
//! fingerprints of a whole batch are known: each slot is asked for ahead of its insert
//! ([`FingerprintSet::prefetch`]), so the batch's cache misses overlap instead of queueing.
//!
//! Any other line (a quote, a comma, a blank, a tab, a CR alone, a byte outside printable
//! ASCII, over 256 bytes, the header, a line cut by the chunk's end) goes to the general path,
//! which decides exactly as before. The results are the same whichever path reads a line:
//! the proptest `fast_and_general_paths_agree` and the fuzz target check it on every input.
//!
//! [`FingerprintSet::prefetch`]: crate::fingerprint_set::FingerprintSet::prefetch

use super::{RequestReader, MAX_ID_CHARS};

/// A plain line read, its duplicate check still to come: its fingerprint and where it lies in
/// the chunk being read (pending lines never outlive their chunk).
pub(super) struct Pending {
    fingerprint: u128,
    start: usize,
    end: usize,
}

/// Pending lines settled at once at most (32 bytes each: the batch stays in the L2 cache).
const BATCH: usize = 8192;
/// How many inserts ahead a slot is asked for: enough misses in flight to cover memory's latency.
const PREFETCH_AHEAD: usize = 16;

/// A valid ID needing no normalisation: printable ASCII (so valid UTF-8, no control
/// character, nothing to trim), no quote, no comma, at most 256 bytes, not empty.
fn plain(line: &[u8]) -> bool {
    if line.is_empty() || line.len() > MAX_ID_CHARS {
        return false;
    }
    // Whole blocks of 16 bytes (one vector compare each, no early exit, no byte-by-byte
    // tail): a line of 16 bytes or more is checked block by block, its last block overlapping
    // the one before; a shorter one byte by byte.
    let Some(last) = line.len().checked_sub(16) else {
        return line.iter().fold(true, |ok, &b| ok & plain_byte(b));
    };
    let block = |b: &[u8]| {
        let b: &[u8; 16] = b.try_into().unwrap_or(&[b'"'; 16]);
        b.iter().fold(true, |ok, &b| ok & plain_byte(b))
    };
    line.chunks_exact(16).fold(true, |ok, b| ok & block(b)) & block(&line[last..])
}

/// Printable ASCII but a quote or a comma.
#[inline(always)]
fn plain_byte(b: u8) -> bool {
    (b.wrapping_sub(0x21) < 0x5e) & (b != b'"') & (b != b',')
}

impl RequestReader {
    /// Reads the plain and empty lines from `pos`, up to the first line that is neither (or
    /// the chunk's last, unfinished line), and returns where it stopped. `next_newline`
    /// remembers the newline found last, so that a file whose lines end in CR alone is not
    /// searched to the chunk's end again for each of its lines.
    pub(super) fn fast_lines(
        &mut self,
        chunk: &[u8],
        mut pos: usize,
        next_newline: &mut Option<usize>,
        on_id: &mut dyn FnMut(&str),
    ) -> usize {
        if self.skip_lf {
            // The LF of a CRLF whose CR ended the general path's record.
            self.skip_lf = false;
            if chunk.get(pos) == Some(&b'\n') {
                pos += 1;
            }
        }
        while pos < chunk.len() {
            let newline = match *next_newline {
                Some(n) if n >= pos => n,
                _ => {
                    let n = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i);
                    *next_newline = Some(n);
                    n
                }
            };
            if newline == chunk.len() {
                return pos;
            }
            let line = &chunk[pos..newline];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.stats.blank_lines += 1;
            } else if plain(line) {
                self.stats.rows += 1;
                if self.pipeline.is_some() {
                    let fingerprint = self.hasher.fingerprint(line);
                    debug_assert!(line.is_ascii());
                    // SAFETY: `plain` found every byte of the line printable ASCII
                    // (0x21..=0x7e), and ASCII is valid UTF-8.
                    let id = unsafe { std::str::from_utf8_unchecked(line) };
                    if !self.queue(fingerprint, id, on_id) {
                        return chunk.len();
                    }
                    self.line += 1;
                    self.record_line = self.line;
                    pos = newline + 1;
                    continue;
                }
                let start = pos;
                let end = pos + line.len();
                // A batch that could hold more new users than the limit allows is settled
                // first: `TOO_MANY_USERS` then falls on the very line it falls on in the
                // general path, with the same counts.
                let room = self.max_users.saturating_sub(self.stats.valid_users);
                if self.pending.len() >= BATCH || self.pending.len() as u64 >= room {
                    self.settle_pending(chunk, on_id);
                    if self.fatal.is_some() {
                        return chunk.len();
                    }
                }
                let fingerprint = self.hasher.fingerprint(line);
                self.pending.push(Pending {
                    fingerprint,
                    start,
                    end,
                });
                if self.stats.valid_users >= self.max_users {
                    // No room at all: this line is decided now.
                    self.settle_pending(chunk, on_id);
                    if self.fatal.is_some() {
                        return chunk.len();
                    }
                }
            } else {
                return pos;
            }
            self.line += 1;
            self.record_line = self.line;
            pos = newline + 1;
        }
        pos
    }

    /// Settles the pending lines in file order, asking for each slot a few inserts ahead.
    pub(super) fn settle_pending(&mut self, chunk: &[u8], on_id: &mut dyn FnMut(&str)) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for p in pending.iter().take(PREFETCH_AHEAD) {
            self.seen.prefetch(p.fingerprint);
        }
        for (i, p) in pending.iter().enumerate() {
            if let Some(ahead) = pending.get(i + PREFETCH_AHEAD) {
                self.seen.prefetch(ahead.fingerprint);
            }
            let bytes = &chunk[p.start..p.end];
            debug_assert!(bytes.is_ascii());
            // SAFETY: `fast_lines` queued this span only after `plain` found every byte of it
            // printable ASCII (0x21..=0x7e), and ASCII is valid UTF-8; `chunk` is the chunk it
            // was read from (pending lines never outlive their chunk).
            let id = unsafe { std::str::from_utf8_unchecked(bytes) };
            if !self.settle(p.fingerprint, id, on_id) {
                break;
            }
        }
        self.pending = pending;
        self.pending.clear();
    }
}
