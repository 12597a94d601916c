//! What can be wrong with a row or a file, and the counts a request reports.

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
