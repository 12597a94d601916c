//! Splitting the normalised IDs into Personalize parts (by size) and Pinpoint shards (by count).

use crate::request_csv::{encode_line, encoded_len, HEADER};

/// How the normalised request is cut up.
#[derive(Debug, Clone, Copy)]
pub struct SplitLimits {
    /// Largest part Personalize reads in one job, in bytes (header included).
    pub max_part_bytes: u64,
    /// Users per Pinpoint shard.
    pub shard_users: u64,
}

/// How many bytes of a part are handed out at a time: a part of 50 MB is uploaded in pieces
/// of this size (S3 multipart), so it is never held whole in memory. At least 5 MiB, S3's
/// smallest multipart piece but the last.
pub const PART_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Output ready to upload, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// The next bytes of part `index` (the first piece starts with the header). Pieces of one
    /// part come in order; all but the last are exactly the chunk size.
    PartChunk {
        /// 0-based part number.
        index: u32,
        /// CSV bytes.
        body: Vec<u8>,
    },
    /// Part `index` is complete: every piece of it came before this.
    PartEnd {
        /// 0-based part number.
        index: u32,
        /// Users in it.
        users: u64,
        /// Its size in bytes, header included.
        bytes: u64,
    },
    /// Shard `index` of the Pinpoint work, whole (shards are small).
    Shard {
        /// 0-based shard number.
        index: u32,
        /// CSV bytes with the header.
        body: Vec<u8>,
        /// Users in it.
        users: u64,
    },
}

/// Accumulates IDs and hands back parts (in pieces) and shards as they fill.
pub struct Splitter {
    limits: SplitLimits,
    chunk_bytes: usize,
    part: Vec<u8>,
    part_bytes: u64,
    part_users: u64,
    part_index: u32,
    shard: Vec<u8>,
    shard_users: u64,
    shard_index: u32,
    line: Vec<u8>,
    ready: Vec<Finished>,
    /// Counts only: parts and shards are reported with empty bodies (see [`Splitter::counting`]).
    count_only: bool,
}

/// The header line every part and shard starts with ([`HEADER`] and a newline).
const HEADER_LINE: &[u8] = b"USER_ID\n";

fn header() -> Vec<u8> {
    let mut v = Vec::with_capacity(64 * 1024);
    v.extend_from_slice(HEADER.as_bytes());
    v.push(b'\n');
    v
}

impl Splitter {
    /// A splitter with the given limits (a part always holds at least one ID).
    pub fn new(limits: SplitLimits) -> Self {
        Self::with_chunk_bytes(limits, PART_CHUNK_BYTES)
    }

    /// A splitter that hands parts out in pieces of `chunk_bytes`.
    pub fn with_chunk_bytes(limits: SplitLimits, chunk_bytes: usize) -> Self {
        Splitter {
            limits,
            chunk_bytes: chunk_bytes.max(1),
            part_bytes: HEADER_LINE.len() as u64,
            part: Vec::with_capacity(64 * 1024),
            part_users: 0,
            part_index: 0,
            shard: header(),
            shard_users: 0,
            shard_index: 0,
            line: Vec::with_capacity(600),
            ready: Vec::new(),
            count_only: false,
        }
    }

    /// A splitter that only counts: the same parts (bytes, users) and shards (users), every
    /// body left empty. For `erasure validate`, which reports the split and uploads nothing.
    pub fn counting(limits: SplitLimits) -> Self {
        let mut s = Self::new(limits);
        s.count_only = true;
        s.shard = Vec::new();
        s
    }

    /// Adds one normalised ID.
    pub fn add(&mut self, id: &str) {
        if self.count_only {
            let line = encoded_len(id);
            if self.part_users > 0 && self.part_bytes + line > self.limits.max_part_bytes {
                self.close_part();
            }
            self.part_users += 1;
            self.part_bytes += line;
            self.shard_users += 1;
            if self.shard_users >= self.limits.shard_users {
                self.close_shard();
            }
            return;
        }
        self.line.clear();
        encode_line(id, &mut self.line);
        let line = self.line.len() as u64;
        if self.part_users > 0 && self.part_bytes + line > self.limits.max_part_bytes {
            self.close_part();
        }
        if self.part_users == 0 {
            self.push_part_bytes(HEADER_LINE);
        }
        let encoded = std::mem::take(&mut self.line);
        self.push_part_bytes(&encoded);
        self.line = encoded;
        self.part_users += 1;
        self.part_bytes += line;
        self.shard.extend_from_slice(&self.line);
        self.shard_users += 1;
        if self.shard_users >= self.limits.shard_users {
            self.close_shard();
        }
    }

    /// Appends the current line to the part, handing out every full piece.
    fn push_part_bytes(&mut self, mut rest: &[u8]) {
        while !rest.is_empty() {
            let room = self.chunk_bytes - self.part.len();
            let take = room.min(rest.len());
            self.part.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.part.len() == self.chunk_bytes {
                let body = std::mem::replace(&mut self.part, Vec::with_capacity(64 * 1024));
                self.ready.push(Finished::PartChunk {
                    index: self.part_index,
                    body,
                });
            }
        }
    }

    /// Takes the output finished so far.
    pub fn take_ready(&mut self) -> Vec<Finished> {
        std::mem::take(&mut self.ready)
    }

    /// Closes the last part and shard; returns everything not yet taken.
    pub fn finish(mut self) -> Vec<Finished> {
        if self.part_users > 0 {
            self.close_part();
        }
        if self.shard_users > 0 {
            self.close_shard();
        }
        self.ready
    }

    fn close_part(&mut self) {
        let body = std::mem::replace(&mut self.part, Vec::with_capacity(64 * 1024));
        if !body.is_empty() {
            self.ready.push(Finished::PartChunk {
                index: self.part_index,
                body,
            });
        }
        self.ready.push(Finished::PartEnd {
            index: self.part_index,
            users: self.part_users,
            bytes: self.part_bytes,
        });
        self.part_index += 1;
        self.part_users = 0;
        self.part_bytes = HEADER_LINE.len() as u64;
    }

    fn close_shard(&mut self) {
        let next = if self.count_only {
            Vec::new()
        } else {
            header()
        };
        let body = std::mem::replace(&mut self.shard, next);
        self.ready.push(Finished::Shard {
            index: self.shard_index,
            body,
            users: self.shard_users,
        });
        self.shard_index += 1;
        self.shard_users = 0;
    }
}

/// Joins the pieces of each part back together: (index, bytes, users) in order. For tests and
/// the CLI's report.
pub fn assemble_parts(out: &[Finished]) -> Vec<(u32, Vec<u8>, u64)> {
    let mut parts: Vec<(u32, Vec<u8>, u64)> = Vec::new();
    let mut current = Vec::new();
    for f in out {
        match f {
            Finished::PartChunk { body, .. } => current.extend_from_slice(body),
            Finished::PartEnd { index, users, .. } => {
                parts.push((*index, std::mem::take(&mut current), *users))
            }
            Finished::Shard { .. } => {}
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(ids: &[&str], max_part_bytes: u64, shard_users: u64) -> Vec<Finished> {
        split_chunked(ids, max_part_bytes, shard_users, PART_CHUNK_BYTES)
    }

    fn split_chunked(
        ids: &[&str],
        max_part_bytes: u64,
        shard_users: u64,
        chunk: usize,
    ) -> Vec<Finished> {
        let mut s = Splitter::with_chunk_bytes(
            SplitLimits {
                max_part_bytes,
                shard_users,
            },
            chunk,
        );
        let mut out = Vec::new();
        for id in ids {
            s.add(id);
            out.extend(s.take_ready());
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn parts_stay_under_the_byte_limit_and_keep_every_id() {
        let ids: Vec<String> = (0..100).map(|i| format!("user-{i:04}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let out = split(&refs, 100, 1000);
        let mut seen = Vec::new();
        for (_, body, users) in assemble_parts(&out) {
            assert!(body.len() <= 100);
            let text = std::str::from_utf8(&body).unwrap();
            assert!(text.starts_with("USER_ID\n"));
            assert_eq!(text.lines().count() as u64, users + 1);
            seen.extend(text.lines().skip(1).map(String::from));
        }
        assert_eq!(seen, ids);
    }

    #[test]
    fn counting_reports_the_same_parts_and_shards_without_bodies() {
        let ids: Vec<String> = (0..500)
            .map(|i| match i % 4 {
                0 => format!("user-{i}"),
                1 => format!("a,b{i}"),
                2 => format!("say \"{i}\""),
                _ => format!("é{i}"),
            })
            .collect();
        let limits = SplitLimits {
            max_part_bytes: 700,
            shard_users: 37,
        };
        let (mut full, mut counted) = (Splitter::new(limits), Splitter::counting(limits));
        for id in &ids {
            full.add(id);
            counted.add(id);
        }
        let summary = |out: Vec<Finished>| -> Vec<(u8, u32, u64, u64)> {
            out.into_iter()
                .filter_map(|f| match f {
                    Finished::PartEnd {
                        index,
                        users,
                        bytes,
                    } => Some((0, index, users, bytes)),
                    Finished::Shard { index, users, .. } => Some((1, index, users, 0)),
                    Finished::PartChunk { .. } => None,
                })
                .collect()
        };
        let counted = counted.finish();
        assert!(counted.iter().all(|f| match f {
            Finished::Shard { body, .. } | Finished::PartChunk { body, .. } => body.is_empty(),
            Finished::PartEnd { .. } => true,
        }));
        assert_eq!(summary(counted), summary(full.finish()));
    }

    #[test]
    fn the_header_line_is_the_header() {
        assert_eq!(HEADER_LINE, format!("{HEADER}\n").as_bytes());
    }

    #[test]
    fn shards_hold_the_configured_count() {
        let out = split(&["a", "b", "c", "d", "e"], 1 << 20, 2);
        let shards: Vec<u64> = out
            .iter()
            .filter_map(|f| match f {
                Finished::Shard { users, .. } => Some(*users),
                _ => None,
            })
            .collect();
        assert_eq!(shards, [2, 2, 1]);
        assert_eq!(assemble_parts(&out).len(), 1);
    }

    #[test]
    fn parts_come_in_pieces_of_the_chunk_size_and_join_back_exactly() {
        let ids: Vec<String> = (0..500).map(|i| format!("user-{i:04}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let whole = assemble_parts(&split(&refs, 2_000, 1000));
        for chunk in [1, 7, 64, 1_000] {
            let out = split_chunked(&refs, 2_000, 1000, chunk);
            let mut ended = std::collections::HashSet::new();
            for f in &out {
                match f {
                    Finished::PartChunk { index, body } => {
                        assert!(!ended.contains(index), "a piece after its part ended");
                        assert!(body.len() <= chunk);
                    }
                    Finished::PartEnd { index, bytes, .. } => {
                        assert!(ended.insert(*index));
                        assert!(*bytes <= 2_000);
                    }
                    Finished::Shard { .. } => {}
                }
            }
            let pieces: Vec<&Finished> = out
                .iter()
                .filter(|f| matches!(f, Finished::PartChunk { .. }))
                .collect();
            // Every piece but each part's last is full.
            for pair in pieces.windows(2) {
                if let (
                    Finished::PartChunk { index: a, body },
                    Finished::PartChunk { index: b, .. },
                ) = (pair[0], pair[1])
                {
                    if a == b {
                        assert_eq!(body.len(), chunk);
                    }
                }
            }
            assert_eq!(assemble_parts(&out), whole, "chunk size {chunk}");
        }
        let bytes: u64 = whole.iter().map(|(_, b, _)| b.len() as u64).sum();
        let expected: u64 =
            ids.iter().map(|i| i.len() as u64 + 1).sum::<u64>() + 8 * whole.len() as u64;
        assert_eq!(bytes, expected);
    }
}
