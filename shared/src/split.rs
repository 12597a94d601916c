//! Splitting the normalised IDs into Personalize parts (by size) and Pinpoint shards (by count).

use crate::request_csv::{encode_line, HEADER};

/// How the normalised request is cut up.
#[derive(Debug, Clone, Copy)]
pub struct SplitLimits {
    /// Largest part Personalize reads in one job, in bytes (header included).
    pub max_part_bytes: u64,
    /// Users per Pinpoint shard.
    pub shard_users: u64,
}

/// A finished output object, ready to upload.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// Part `index` of the Personalize input.
    Part {
        /// 0-based part number.
        index: u32,
        /// CSV bytes with the header.
        body: Vec<u8>,
        /// Users in it.
        users: u64,
    },
    /// Shard `index` of the Pinpoint work.
    Shard {
        /// 0-based shard number.
        index: u32,
        /// CSV bytes with the header.
        body: Vec<u8>,
        /// Users in it.
        users: u64,
    },
}

/// Accumulates IDs and hands back parts and shards as they fill.
pub struct Splitter {
    limits: SplitLimits,
    part: Vec<u8>,
    part_users: u64,
    part_index: u32,
    shard: Vec<u8>,
    shard_users: u64,
    shard_index: u32,
    line: Vec<u8>,
    ready: Vec<Finished>,
}

fn with_header(capacity: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(capacity);
    v.extend_from_slice(HEADER.as_bytes());
    v.push(b'\n');
    v
}

impl Splitter {
    /// A splitter with the given limits (a part always holds at least one ID).
    pub fn new(limits: SplitLimits) -> Self {
        Splitter {
            limits,
            part: with_header(64 * 1024),
            part_users: 0,
            part_index: 0,
            shard: with_header(64 * 1024),
            shard_users: 0,
            shard_index: 0,
            line: Vec::with_capacity(600),
            ready: Vec::new(),
        }
    }

    /// Adds one normalised ID.
    pub fn add(&mut self, id: &str) {
        self.line.clear();
        encode_line(id, &mut self.line);
        if self.part_users > 0
            && (self.part.len() + self.line.len()) as u64 > self.limits.max_part_bytes
        {
            self.close_part();
        }
        self.part.extend_from_slice(&self.line);
        self.part_users += 1;
        self.shard.extend_from_slice(&self.line);
        self.shard_users += 1;
        if self.shard_users >= self.limits.shard_users {
            self.close_shard();
        }
    }

    /// Takes the objects finished so far.
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
        let body = std::mem::replace(&mut self.part, with_header(64 * 1024));
        self.ready.push(Finished::Part {
            index: self.part_index,
            body,
            users: self.part_users,
        });
        self.part_index += 1;
        self.part_users = 0;
    }

    fn close_shard(&mut self) {
        let body = std::mem::replace(&mut self.shard, with_header(64 * 1024));
        self.ready.push(Finished::Shard {
            index: self.shard_index,
            body,
            users: self.shard_users,
        });
        self.shard_index += 1;
        self.shard_users = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(ids: &[&str], max_part_bytes: u64, shard_users: u64) -> Vec<Finished> {
        let mut s = Splitter::new(SplitLimits {
            max_part_bytes,
            shard_users,
        });
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
        for f in &out {
            if let Finished::Part { body, .. } = f {
                assert!(body.len() <= 100);
                let text = std::str::from_utf8(body).unwrap();
                assert!(text.starts_with("USER_ID\n"));
                seen.extend(text.lines().skip(1).map(String::from));
            }
        }
        assert_eq!(seen, ids);
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
        let parts = out
            .iter()
            .filter(|f| matches!(f, Finished::Part { .. }))
            .count();
        assert_eq!(parts, 1);
    }
}
