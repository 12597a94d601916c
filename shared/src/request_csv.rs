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

use crate::fingerprint_set::FingerprintSet;

/// The header the file must start with (Personalize's deletion job reads the same column).
pub const HEADER: &str = "USER_ID";
/// Personalize's limit on a USER_ID, in characters.
pub const MAX_ID_CHARS: usize = 256;
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

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

/// Why a single row was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowProblem {
    /// A quoted value that is empty once blanks are trimmed.
    EmptyAfterTrim,
    /// More than 256 characters.
    TooLong,
    /// A control character (tab, newline inside quotes, NUL, ...).
    ControlCharacter,
    /// A quote in the middle of an unquoted value, or text after a closing quote.
    MalformedQuoting,
}

impl RowProblem {
    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::EmptyAfterTrim => "the value is empty after trimming blanks",
            Self::TooLong => "the ID is longer than 256 characters",
            Self::ControlCharacter => "the ID contains a control character",
            Self::MalformedQuoting => "the value's quoting is malformed",
        }
    }
}

/// One rejected row: where and why, never what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowRejection {
    /// 1-based line number where the row starts.
    pub line: u64,
    /// Why it was rejected.
    pub problem: RowProblem,
}

/// Why a whole file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileProblem {
    /// Nothing but blank lines (or nothing at all).
    #[error("the file is empty: it has no USER_ID header")]
    Empty,
    /// The first non-blank line is not `USER_ID`.
    #[error("line {line}: the header must be USER_ID")]
    WrongHeader {
        /// Line of the header.
        line: u64,
    },
    /// A row (or the header) has more than one column.
    #[error("line {line}: more than one column (the file must have only USER_ID)")]
    ExtraColumns {
        /// First line with extra columns.
        line: u64,
    },
    /// Bytes that are not UTF-8.
    #[error("line {line}: the file is not valid UTF-8")]
    InvalidUtf8 {
        /// First line with invalid bytes.
        line: u64,
    },
    /// A quote opened and never closed.
    #[error("line {line}: a quoted value is never closed")]
    UnterminatedQuote {
        /// Line where the quote opened.
        line: u64,
    },
    /// No valid user ID at all.
    #[error("the file holds no valid user ID")]
    NoIds,
    /// Bad rows under the reject-file policy.
    #[error("{count} row(s) rejected, first at line {first_line}: {first_problem}")]
    BadRows {
        /// How many rows were bad.
        count: u64,
        /// The first bad row's line.
        first_line: u64,
        /// The first bad row's reason.
        first_problem: String,
    },
    /// Above the configured size limit.
    #[error("the file has {size} bytes, above the limit of {limit}")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// More distinct users than the configured limit (preparation's memory holds that many).
    #[error("the file lists more than {limit} distinct users, the limit of one request (MaxRequestUsers); split it into several files")]
    TooManyUsers {
        /// The configured limit.
        limit: u64,
    },
    /// The object's name does not end in `.csv` (any case): it is not taken for a request file.
    #[error("the object's name does not end in .csv; only CSV files are read as requests (nothing was read)")]
    NotCsv,
}

impl FileProblem {
    /// A short stable code for the receipt and metrics (e.g. `WRONG_HEADER`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "EMPTY",
            Self::WrongHeader { .. } => "WRONG_HEADER",
            Self::ExtraColumns { .. } => "EXTRA_COLUMNS",
            Self::InvalidUtf8 { .. } => "INVALID_UTF8",
            Self::UnterminatedQuote { .. } => "UNTERMINATED_QUOTE",
            Self::NoIds => "NO_IDS",
            Self::BadRows { .. } => "BAD_ROWS",
            Self::TooLarge { .. } => "TOO_LARGE",
            Self::TooManyUsers { .. } => "TOO_MANY_USERS",
            Self::NotCsv => "NOT_CSV",
        }
    }
}

/// The counts of a request, as the receipt reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStats {
    /// Data rows (blank lines and the header excluded).
    pub rows: u64,
    /// Distinct valid user IDs.
    pub valid_users: u64,
    /// Valid rows that repeated an earlier ID.
    pub duplicates: u64,
    /// Rows rejected for a reason.
    pub rejected_rows: u64,
    /// Blank lines skipped.
    pub blank_lines: u64,
    /// The first rejected rows, by line.
    pub rejections: Vec<RowRejection>,
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
    seen: FingerprintSet,
    stats: RequestStats,
    fatal: Option<FileProblem>,
    first_bad: Option<RowRejection>,
}

impl RequestReader {
    /// A reader applying `policy` to bad rows, with no limit on the number of users.
    pub fn new(policy: BadRowPolicy) -> Self {
        Self::with_max_users(policy, u64::MAX)
    }

    /// A reader that rejects the file (`TOO_MANY_USERS`) once it holds more than `max_users`
    /// distinct users: the memory of duplicate detection grows with them, and this bounds it.
    pub fn with_max_users(policy: BadRowPolicy, max_users: u64) -> Self {
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
            seen: FingerprintSet::default(),
            stats: RequestStats::default(),
            fatal: None,
            first_bad: None,
        }
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
        for &b in chunk {
            if self.fatal.is_some() {
                return;
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
    }

    /// Ends the file: the final verdict and the counts.
    pub fn finish(
        mut self,
        on_id: &mut dyn FnMut(&str),
    ) -> (RequestStats, Result<(), FileProblem>) {
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
        let Ok(text) = std::str::from_utf8(&self.field) else {
            self.fatal = Some(FileProblem::InvalidUtf8 { line });
            return;
        };
        if !self.seen_header {
            if text.trim().eq_ignore_ascii_case(HEADER) && !self.malformed {
                self.seen_header = true;
            } else {
                self.fatal = Some(FileProblem::WrongHeader { line });
                return;
            }
            self.reset_record();
            return;
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
            }
            None => {
                if self.seen.insert(id) {
                    if self.stats.valid_users >= self.max_users {
                        self.fatal = Some(FileProblem::TooManyUsers {
                            limit: self.max_users,
                        });
                        return;
                    }
                    self.stats.valid_users += 1;
                    on_id(id);
                } else {
                    self.stats.duplicates += 1;
                }
            }
        }
        self.reset_record();
    }
}

/// Encodes one ID as a CSV line (quoted only when it must be), newline included.
pub fn encode_line(id: &str, out: &mut Vec<u8>) {
    if id.contains([',', '"']) || id.starts_with(' ') {
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

/// Reads a whole file held in memory (for the CLI, tests and small inputs).
pub fn read_all(
    bytes: &[u8],
    policy: BadRowPolicy,
) -> (Vec<String>, RequestStats, Result<(), FileProblem>) {
    let mut ids = Vec::new();
    let mut r = RequestReader::new(policy);
    r.push(bytes, &mut |id| ids.push(id.to_string()));
    let (stats, verdict) = r.finish(&mut |id| ids.push(id.to_string()));
    (ids, stats, verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> (Vec<String>, RequestStats) {
        let (ids, stats, verdict) = read_all(input.as_bytes(), BadRowPolicy::RejectFile);
        assert_eq!(verdict, Ok(()), "input {input:?}");
        (ids, stats)
    }

    fn rejected(input: &[u8]) -> FileProblem {
        read_all(input, BadRowPolicy::RejectFile)
            .2
            .expect_err("should be rejected")
    }

    #[test]
    fn plain_file() {
        let (ids, s) = ok("USER_ID\nu1\nu2\n");
        assert_eq!(ids, ["u1", "u2"]);
        assert_eq!(
            (s.rows, s.valid_users, s.duplicates, s.rejected_rows),
            (2, 2, 0, 0)
        );
    }

    #[test]
    fn bom_crlf_quotes_blanks_duplicates_and_no_final_newline() {
        let (ids, s) = ok(
            "\u{feff} user_id \r\n\r\n  u1  \r\n\"u,2\"\r\n\"say \"\"hi\"\"\"\r\n   \r\nu1\r\nlast",
        );
        assert_eq!(ids, ["u1", "u,2", "say \"hi\"", "last"]);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.rows, 5);
        assert_eq!(s.blank_lines, 2);
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let input = b"\xef\xbb\xbfUSER_ID\r\n\"a\"\"b\"\r\nc\r\n\"d,e\"\r\n";
        let (whole, _, _) = read_all(input, BadRowPolicy::RejectFile);
        for split in 1..input.len() {
            let mut ids = Vec::new();
            let mut r = RequestReader::new(BadRowPolicy::RejectFile);
            r.push(&input[..split], &mut |id| ids.push(id.to_string()));
            r.push(&input[split..], &mut |id| ids.push(id.to_string()));
            let (_, v) = r.finish(&mut |id| ids.push(id.to_string()));
            assert_eq!(v, Ok(()));
            assert_eq!(ids, whole, "split at {split}");
        }
    }

    #[test]
    fn file_level_rejections() {
        assert_eq!(rejected(b""), FileProblem::Empty);
        assert_eq!(rejected(b"\n\n"), FileProblem::Empty);
        assert_eq!(
            rejected(b"USERID\nu1\n"),
            FileProblem::WrongHeader { line: 1 }
        );
        assert_eq!(rejected(b"u1\nu2\n"), FileProblem::WrongHeader { line: 1 });
        assert_eq!(
            rejected(b"USER_ID,NAME\nu1,x\n"),
            FileProblem::ExtraColumns { line: 1 }
        );
        assert_eq!(
            rejected(b"USER_ID\nu1\nu2,x\n"),
            FileProblem::ExtraColumns { line: 3 }
        );
        assert_eq!(
            rejected(b"USER_ID\nu1\n\xff\xfe\n"),
            FileProblem::InvalidUtf8 { line: 3 }
        );
        assert_eq!(
            rejected(b"USER_ID\n\"u1\n"),
            FileProblem::UnterminatedQuote { line: 2 }
        );
        assert_eq!(rejected(b"USER_ID\n\n"), FileProblem::NoIds);
    }

    #[test]
    fn bad_rows_reject_the_file_by_default_and_never_echo_the_id() {
        let long = "x".repeat(257);
        let input = format!("USER_ID\nok\n{long}\n\"\"\n\"a\tb\"\nab\"c\n");
        let p = rejected(input.as_bytes());
        match &p {
            FileProblem::BadRows {
                count, first_line, ..
            } => {
                assert_eq!((*count, *first_line), (4, 3));
            }
            other => panic!("{other:?}"),
        }
        assert!(!p.to_string().contains("xxx"));
        let (ids, stats, verdict) = read_all(input.as_bytes(), BadRowPolicy::SkipRow);
        assert_eq!(verdict, Ok(()));
        assert_eq!(ids, ["ok"]);
        let problems: Vec<_> = stats
            .rejections
            .iter()
            .map(|r| (r.line, r.problem))
            .collect();
        assert_eq!(
            problems,
            [
                (3, RowProblem::TooLong),
                (4, RowProblem::EmptyAfterTrim),
                (5, RowProblem::ControlCharacter),
                (6, RowProblem::MalformedQuoting)
            ]
        );
    }

    #[test]
    fn ids_of_exactly_256_characters_pass_and_are_counted_in_characters() {
        let id = "é".repeat(256);
        let (ids, _) = ok(&format!("USER_ID\n{id}\n"));
        assert_eq!(ids, [id]);
    }

    #[test]
    fn newline_inside_quotes_is_a_control_character_and_lines_stay_right() {
        let (_, stats, _) = read_all(b"USER_ID\n\"a\nb\"\nc\n\"\"\n", BadRowPolicy::SkipRow);
        let lines: Vec<_> = stats
            .rejections
            .iter()
            .map(|r| (r.line, r.problem))
            .collect();
        assert_eq!(
            lines,
            [
                (2, RowProblem::ControlCharacter),
                (5, RowProblem::EmptyAfterTrim)
            ]
        );
    }

    #[test]
    fn encoding_round_trips() {
        for id in ["plain", "a,b", "q\"uote", " lead", "ünï"] {
            let mut out = b"USER_ID\n".to_vec();
            encode_line(id, &mut out);
            let (ids, _) = ok(std::str::from_utf8(&out).unwrap());
            assert_eq!(ids, [id.trim()]);
        }
    }

    #[test]
    fn more_distinct_users_than_the_limit_reject_the_file_but_duplicates_do_not_count() {
        let read = |input: &str, limit: u64| {
            let mut r = RequestReader::with_max_users(BadRowPolicy::RejectFile, limit);
            let mut handed = 0u64;
            r.push(input.as_bytes(), &mut |_| handed += 1);
            let (stats, verdict) = r.finish(&mut |_| handed += 1);
            (stats.valid_users, handed, verdict)
        };
        assert_eq!(read("USER_ID\na\nb\na\nb\n", 2), (2, 2, Ok(())));
        let (users, handed, verdict) = read("USER_ID\na\nb\nc\nd\n", 2);
        assert_eq!(
            (users, handed),
            (2, 2),
            "nobody past the limit is handed on"
        );
        let problem = verdict.unwrap_err();
        assert_eq!(problem.code(), "TOO_MANY_USERS");
        assert!(problem.to_string().contains("more than 2 distinct users"));
    }
}
