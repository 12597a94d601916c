//! The request file rules: a streaming, one-column CSV reader that validates and normalises
//! user IDs without ever echoing one in a message.
//!
//! Accepted: UTF-8 with or without BOM; LF, CRLF or CR line ends; a header `USER_ID` (case and
//! surrounding blanks tolerated); RFC 4180 quoting; blank lines (empty or whitespace only);
//! surrounding whitespace (trimmed); duplicate IDs (counted, kept once); no final newline.
//! Rejected (whole file): no header, a different header, more than one column, invalid UTF-8,
//! an unterminated quote, no valid ID. Rejected rows (by line number): empty after trim, over
//! 256 characters, control characters, malformed quoting; under the default policy a bad row
//! rejects the whole file, because a typo'd ID is a user who asked to be forgotten and was not.

use crate::fingerprint_set::{FingerprintSet, Fingerprinter};

mod fast;
mod pipeline;
mod problems;
use pipeline::{Pipeline, Pipelining};
pub use problems::{FileProblem, RequestStats, RowProblem, RowRejection};

/// The header the file must start with (Personalize's deletion job reads the same column).
pub const HEADER: &str = "USER_ID";
/// Personalize's limit on a USER_ID, in characters.
pub const MAX_ID_CHARS: usize = 256;
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Lines read before the duplicate tables are sized (their average length tells the users a
/// file of its size holds), and before a second thread is considered.
const SAMPLE_ROWS: u64 = 20_000;

/// How many rejected rows a result lists by line (the count is always complete).
pub const MAX_LISTED_REJECTIONS: usize = 100;

/// What a bad row does to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadRowPolicy {
    /// Any bad row rejects the whole file (the default).
    RejectFile,
    /// Bad rows are reported and skipped; the rest of the file is erased.
    SkipRow,
}

impl std::str::FromStr for BadRowPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reject-file" => Ok(Self::RejectFile),
            "skip-row" => Ok(Self::SkipRow),
            other => Err(format!(
                "unknown bad-row policy {other:?} (reject-file or skip-row)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
    AfterQuoted,
}

/// A streaming reader: feed it chunks with [`RequestReader::push`], then call [`RequestReader::finish`].
/// Each valid, first-seen ID is handed to the callback exactly once, trimmed.
pub struct RequestReader {
    policy: BadRowPolicy,
    max_users: u64,
    lex: Lex,
    at_start: bool,
    head: Vec<u8>,
    skip_lf: bool,
    line: u64,
    record_line: u64,
    field: Vec<u8>,
    fields: u32,
    quoted: bool,
    malformed: bool,
    seen_header: bool,
    /// The IDs seen so far. While the pipeline runs, the worker thread holds the set and this
    /// is an empty stand-in (see pipeline.rs).
    seen: FingerprintSet,
    /// The set's fingerprint function, kept here: lines are fingerprinted on this thread
    /// wherever the set is.
    hasher: Fingerprinter,
    stats: RequestStats,
    fatal: Option<FileProblem>,
    first_bad: Option<RowRejection>,
    /// Plain lines read by the fast path whose duplicate check is still to come (see fast.rs).
    pending: Vec<fast::Pending>,
    /// Whether plain lines may take the fast path (always, but for tests that compare).
    fast_path: bool,
    /// Set when the byte-by-byte path ends a record, so that the fast path can take over.
    ended: bool,
    /// The file's size when known, and the bytes read so far: the duplicate tables are sized
    /// once from the first lines' average length (see [`RequestReader::expect_bytes`]).
    expected_bytes: Option<u64>,
    bytes_read: u64,
    /// Whether the duplicate checks may move to a second thread, and the pipeline when they have.
    pipelining: Pipelining,
    pipeline: Option<Pipeline>,
}

impl RequestReader {
    /// A reader applying `policy` to bad rows, with no limit on the number of users.
    pub fn new(policy: BadRowPolicy) -> Self {
        Self::with_max_users(policy, u64::MAX)
    }

    /// A reader that rejects the file (`TOO_MANY_USERS`) once it holds more than `max_users`
    /// distinct users: the memory of duplicate detection grows with them, and this bounds it.
    pub fn with_max_users(policy: BadRowPolicy, max_users: u64) -> Self {
        let seen = FingerprintSet::default();
        RequestReader {
            policy,
            max_users,
            lex: Lex::FieldStart,
            at_start: true,
            head: Vec::with_capacity(3),
            skip_lf: false,
            line: 1,
            record_line: 1,
            field: Vec::with_capacity(MAX_ID_CHARS * 4),
            fields: 1,
            quoted: false,
            malformed: false,
            seen_header: false,
            hasher: seen.fingerprinter(),
            seen,
            stats: RequestStats::default(),
            fatal: None,
            first_bad: None,
            pending: Vec::new(),
            fast_path: true,
            ended: false,
            expected_bytes: None,
            bytes_read: 0,
            pipelining: Pipelining::Off,
            pipeline: None,
        }
    }

    /// Tells the reader the file's size: after its first lines it sizes the duplicate tables
    /// for the users the file can hold at their average length (at most the user limit), so
    /// that they are not rehashed as they fill. Changes no result; only speed and memory.
    pub fn expect_bytes(&mut self, size: u64) {
        self.expected_bytes = Some(size);
    }

    /// Sizes the duplicate tables once enough lines tell the average line's length.
    fn size_tables(&mut self) {
        let Some(size) = self.expected_bytes else {
            return;
        };
        if self.pipeline.is_some() {
            // The set is at the worker (it started before the sample was read: tests only);
            // sized, if at all, once it is back.
            return;
        }
        let lines = self.stats.rows + self.stats.blank_lines;
        if lines < SAMPLE_ROWS || self.bytes_read == 0 {
            return;
        }
        self.expected_bytes = None;
        let users = (u128::from(size) * u128::from(self.stats.rows) / u128::from(self.bytes_read))
            .min(u128::from(self.max_users));
        // Huge pages only when most of the sample's rows are distinct users (see
        // `FingerprintSet::reserve`): a file of a few users repeated keeps small memory.
        let mostly_distinct = self.stats.valid_users.saturating_mul(2) >= self.stats.rows;
        self.seen
            .reserve(u64::try_from(users).unwrap_or(u64::MAX), mostly_distinct);
    }

    /// The same reader with the fast path for plain lines turned off: every byte goes through
    /// the general (quoting-aware) path. For tests and the fuzz target, which check that both
    /// paths give the same IDs, counts, line numbers and verdict on every input.
    pub fn general_path_only(mut self) -> Self {
        self.fast_path = false;
        self
    }

    /// The file-level problem found so far, if any: once set, reading can stop.
    pub fn problem(&self) -> Option<&FileProblem> {
        self.fatal.as_ref()
    }

    /// Feeds the next chunk of the file.
    pub fn push(&mut self, mut chunk: &[u8], on_id: &mut dyn FnMut(&str)) {
        if self.at_start {
            // A UTF-8 BOM is dropped, even when it arrives split across chunks.
            while let (Some(&b), Some(&want)) = (chunk.first(), BOM.get(self.head.len())) {
                if b != want {
                    break;
                }
                self.head.push(b);
                chunk = &chunk[1..];
            }
            if self.head.len() == BOM.len() {
                self.head.clear();
                self.at_start = false;
            } else if chunk.is_empty() {
                return;
            } else {
                // Not a BOM after all: what was held back is data.
                self.at_start = false;
                let head = std::mem::take(&mut self.head);
                self.feed(&head, on_id);
            }
        }
        self.feed(chunk, on_id);
    }

    fn feed(&mut self, chunk: &[u8], on_id: &mut dyn FnMut(&str)) {
        self.maybe_start_pipeline();
        let mut pos = 0;
        let mut next_newline = None;
        while pos < chunk.len() && self.fatal.is_none() {
            if self.fast_path && self.at_record_start() && self.seen_header {
                pos = self.fast_lines(chunk, pos, &mut next_newline, on_id);
                if pos == chunk.len() || self.fatal.is_some() {
                    break;
                }
            }
            // The general path keeps the order of events: the fast path's pending lines are
            // settled before it can end a record of its own.
            self.settle_pending(chunk, on_id);
            pos = self.general(chunk, pos, on_id);
        }
        self.settle_pending(chunk, on_id);
        self.bytes_read += chunk.len() as u64;
        self.size_tables();
    }

    /// At the start of a record, with nothing of it read yet.
    fn at_record_start(&self) -> bool {
        self.lex == Lex::FieldStart && self.fields == 1 && self.field.is_empty()
    }

    /// The general path: reads bytes from `pos` one at a time, up to the end of the record (or
    /// of the chunk, or a file-level problem), and returns where it stopped.
    fn general(&mut self, chunk: &[u8], pos: usize, on_id: &mut dyn FnMut(&str)) -> usize {
        self.ended = false;
        for (i, &b) in chunk.iter().enumerate().skip(pos) {
            if self.fatal.is_some() {
                return chunk.len();
            }
            if std::mem::take(&mut self.ended) {
                return i;
            }
            if self.skip_lf {
                self.skip_lf = false;
                if b == b'\n' {
                    continue;
                }
            }
            match self.lex {
                Lex::FieldStart | Lex::Unquoted => match b {
                    b'"' if self.lex == Lex::FieldStart
                        && self.field.iter().all(|c| *c == b' ' || *c == b'\t') =>
                    {
                        // Blanks before an opening quote are tolerated and dropped.
                        self.field.clear();
                        self.quoted = true;
                        self.lex = Lex::Quoted;
                    }
                    b'"' => {
                        self.malformed = true;
                        self.field.push(b);
                        self.lex = Lex::Unquoted;
                    }
                    b',' => self.next_field(),
                    b'\n' => self.end_record(on_id),
                    b'\r' => {
                        self.end_record(on_id);
                        self.skip_lf = true;
                    }
                    b' ' | b'\t' if self.lex == Lex::FieldStart => self.field.push(b),
                    _ => {
                        self.field.push(b);
                        self.lex = Lex::Unquoted;
                    }
                },
                Lex::Quoted => match b {
                    b'"' => self.lex = Lex::QuoteInQuoted,
                    _ => {
                        if b == b'\n' {
                            self.line += 1;
                        }
                        self.field.push(b);
                    }
                },
                Lex::QuoteInQuoted => match b {
                    b'"' => {
                        self.field.push(b'"');
                        self.lex = Lex::Quoted;
                    }
                    b',' => self.next_field(),
                    b'\n' => self.end_record(on_id),
                    b'\r' => {
                        self.end_record(on_id);
                        self.skip_lf = true;
                    }
                    b' ' | b'\t' => self.lex = Lex::AfterQuoted,
                    _ => {
                        self.malformed = true;
                        self.lex = Lex::AfterQuoted;
                    }
                },
                Lex::AfterQuoted => match b {
                    b',' => self.next_field(),
                    b'\n' => self.end_record(on_id),
                    b'\r' => {
                        self.end_record(on_id);
                        self.skip_lf = true;
                    }
                    b' ' | b'\t' => {}
                    _ => self.malformed = true,
                },
            }
        }
        chunk.len()
    }

    /// Ends the file: the final verdict and the counts.
    pub fn finish(
        mut self,
        on_id: &mut dyn FnMut(&str),
    ) -> (RequestStats, Result<(), FileProblem>) {
        // The rows still queued for the worker are settled first, in file order.
        self.stop_pipeline(on_id);
        if self.fatal.is_none() {
            match self.lex {
                Lex::Quoted => {
                    self.fatal = Some(FileProblem::UnterminatedQuote {
                        line: self.record_line,
                    });
                }
                Lex::FieldStart if self.fields == 1 && self.field.is_empty() => {}
                _ => self.end_record(on_id),
            }
        }
        let verdict = if let Some(p) = self.fatal.take() {
            Err(p)
        } else if !self.seen_header {
            Err(FileProblem::Empty)
        } else if self.stats.rejected_rows > 0 && self.policy == BadRowPolicy::RejectFile {
            let first = self.first_bad.unwrap_or(RowRejection {
                line: 0,
                problem: RowProblem::EmptyAfterTrim,
            });
            Err(FileProblem::BadRows {
                count: self.stats.rejected_rows,
                first_line: first.line,
                first_problem: first.problem.describe().to_string(),
            })
        } else if self.stats.valid_users == 0 {
            Err(FileProblem::NoIds)
        } else {
            Ok(())
        };
        (self.stats, verdict)
    }

    fn next_field(&mut self) {
        self.fields += 1;
        self.field.clear();
        self.lex = Lex::FieldStart;
    }

    fn reset_record(&mut self) {
        self.ended = true;
        self.field.clear();
        self.fields = 1;
        self.quoted = false;
        self.malformed = false;
        self.lex = Lex::FieldStart;
        self.line += 1;
        self.record_line = self.line;
    }

    fn end_record(&mut self, on_id: &mut dyn FnMut(&str)) {
        let line = self.record_line;
        let blank =
            self.fields == 1 && !self.quoted && self.field.iter().all(|b| b.is_ascii_whitespace());
        if blank {
            self.stats.blank_lines += 1;
            self.reset_record();
            return;
        }
        if self.fields > 1 {
            self.fatal = Some(FileProblem::ExtraColumns { line });
            return;
        }
        // Taken out for the row's checks (which need `self` mutably), then put back to keep
        // its allocation.
        let field = std::mem::take(&mut self.field);
        let done = self.end_row(&field, line, on_id);
        self.field = field;
        if done {
            self.reset_record();
        }
    }

    /// The header or a data row, read whole; false when it ended the file (a file-level problem).
    fn end_row(&mut self, field: &[u8], line: u64, on_id: &mut dyn FnMut(&str)) -> bool {
        let Ok(text) = std::str::from_utf8(field) else {
            self.fatal = Some(FileProblem::InvalidUtf8 { line });
            return false;
        };
        if !self.seen_header {
            if text.trim().eq_ignore_ascii_case(HEADER) && !self.malformed {
                self.seen_header = true;
                return true;
            }
            self.fatal = Some(FileProblem::WrongHeader { line });
            return false;
        }
        self.stats.rows += 1;
        let id = text.trim();
        let problem = if self.malformed {
            Some(RowProblem::MalformedQuoting)
        } else if id.is_empty() {
            Some(RowProblem::EmptyAfterTrim)
        } else if id.chars().any(char::is_control) {
            Some(RowProblem::ControlCharacter)
        } else if id.chars().count() > MAX_ID_CHARS {
            Some(RowProblem::TooLong)
        } else {
            None
        };
        match problem {
            Some(problem) => {
                let r = RowRejection { line, problem };
                self.stats.rejected_rows += 1;
                self.first_bad.get_or_insert(r);
                if self.stats.rejections.len() < MAX_LISTED_REJECTIONS {
                    self.stats.rejections.push(r);
                }
                true
            }
            None => {
                let f = self.hasher.fingerprint(id.as_bytes());
                self.queue(f, id, on_id)
            }
        }
    }

    /// The duplicate check of one valid ID, in file order: counts it as a duplicate, or hands
    /// it on as a new user; false when it is one user over the limit (`TOO_MANY_USERS`).
    fn settle(&mut self, f: u128, id: &str, on_id: &mut dyn FnMut(&str)) -> bool {
        let fresh = self.seen.insert_fingerprint(f);
        self.account(fresh, id, on_id)
    }

    /// The outcome of one valid ID's duplicate check (`fresh`: not seen before), in file
    /// order; false when it is one user over the limit (`TOO_MANY_USERS`).
    fn account(&mut self, fresh: bool, id: &str, on_id: &mut dyn FnMut(&str)) -> bool {
        if !fresh {
            self.stats.duplicates += 1;
            return true;
        }
        if self.stats.valid_users >= self.max_users {
            self.fatal = Some(FileProblem::TooManyUsers {
                limit: self.max_users,
            });
            return false;
        }
        self.stats.valid_users += 1;
        on_id(id);
        true
    }
}

/// Whether an ID must be quoted in a CSV line.
fn needs_quotes(id: &str) -> bool {
    id.starts_with(' ') || any_quote_or_comma(id.as_bytes())
}

/// Whether `bytes` hold a quote or a comma. Read in whole blocks of 16 bytes (one vector
/// compare each, no early exit, no byte-by-byte tail, the last block overlapping the one
/// before): IDs are short, and a branch a byte costs more than reading them all.
fn any_quote_or_comma(bytes: &[u8]) -> bool {
    fn any(bytes: &[u8]) -> bool {
        bytes
            .iter()
            .fold(false, |found, &b| found | (b == b',') | (b == b'"'))
    }
    let Some(last) = bytes.len().checked_sub(16) else {
        return any(bytes);
    };
    let block = |b: &[u8]| {
        let b: &[u8; 16] = b.try_into().unwrap_or(&[b','; 16]);
        any(b)
    };
    bytes
        .chunks_exact(16)
        .fold(false, |found, b| found | block(b))
        | block(&bytes[last..])
}

/// The length of [`encode_line`]'s output for an ID, newline included.
pub fn encoded_len(id: &str) -> u64 {
    let quoting = if needs_quotes(id) {
        2 + id.bytes().filter(|&b| b == b'"').count()
    } else {
        0
    };
    (id.len() + quoting + 1) as u64
}

/// Encodes one ID as a CSV line (quoted only when it must be), newline included.
pub fn encode_line(id: &str, out: &mut Vec<u8>) {
    if needs_quotes(id) {
        out.push(b'"');
        for b in id.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(id.as_bytes());
    }
    out.push(b'\n');
}

/// A whole file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAll {
    /// The valid, distinct IDs, in order.
    pub ids: Vec<String>,
    /// The counts.
    pub stats: RequestStats,
    /// Accepted, or why not.
    pub verdict: Result<(), FileProblem>,
}

/// Reads a whole file held in memory (a shard, the CLI's tests, small inputs).
pub fn read_all(bytes: &[u8], policy: BadRowPolicy) -> ReadAll {
    let mut ids = Vec::new();
    let mut r = RequestReader::new(policy);
    r.push(bytes, &mut |id| ids.push(id.to_string()));
    let (stats, verdict) = r.finish(&mut |id| ids.push(id.to_string()));
    ReadAll {
        ids,
        stats,
        verdict,
    }
}

#[cfg(test)]
mod tests;
