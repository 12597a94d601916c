//! `erasure receipt`: a receipt as a person reads it. A summary paragraph (what was erased, from
//! where, by whose order, what failed), what to do next when something did, then one table per
//! destination; as plain text, GitHub markdown or a self-contained HTML document to file with a
//! privacy case. Only the typed receipt's fields are printed (receipts hold no user ID, and a
//! field this version does not know is never echoed).

mod render;
mod report;
mod source;

pub use source::read_with;
#[cfg(test)]
mod tests;

use erasure::receipt::{Outcome, Receipt};

pub const USAGE: &str = "usage: erasure receipt RECEIPT.json|s3://BUCKET/receipts/NAME.json [--format text|markdown|html]

Prints a receipt as a person reads it: a summary (how many users were erased, when, from which
Personalize dataset groups, Pinpoint applications and Customer Profiles domains, who ordered it),
what to do next when something failed (with the erasure retry command), then one table per
destination. A PLANNED receipt (a preview) reads as what erasing would touch. Receipts of
schema 2 and 3. An s3:// receipt is read with the usual AWS credential chain.

  --format text      aligned plain text for the terminal (the default)
  --format markdown  GitHub markdown: one table per destination
  --format html      a self-contained HTML document, one <table> per destination

Exit code: 0: the outcome is COMPLETED; 3: PLANNED (a preview: nothing was erased);
1: any other outcome (PARTIAL, FAILED, REJECTED, ABORTED); 2: usage error, or a receipt that
could not be read or is not a receipt.";

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "markdown" | "md" => Ok(Self::Markdown),
            "html" => Ok(Self::Html),
            other => Err(format!("--format: {other:?} is not text, markdown or html")),
        }
    }
}

struct Options {
    receipt: String,
    format: Format,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut receipt = None;
    let mut format = Format::Text;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--format" => {
                format = it.next().ok_or("--format needs a value")?.parse()?;
            }
            f if f.starts_with("--format=") => format = f["--format=".len()..].parse()?,
            "--receipt" => receipt = Some(it.next().ok_or("--receipt needs a value")?.clone()),
            f if !f.starts_with('-') && receipt.is_none() => receipt = Some(f.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Options {
        receipt: receipt.ok_or("receipt needs a RECEIPT.json or s3://BUCKET/KEY")?,
        format,
    })
}

/// The exit code of a receipt's outcome (see USAGE).
pub fn exit_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Completed => 0,
        Outcome::Planned => 3,
        Outcome::Partial | Outcome::Failed | Outcome::Rejected | Outcome::Aborted => 1,
    }
}

/// Runs the command; the exit code.
pub fn run(args: &[String]) -> u8 {
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{USAGE}");
        return 2;
    }
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("erasure receipt: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let bytes = match source::read(&opts.receipt) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("erasure receipt: {e}");
            return 2;
        }
    };
    let receipt: Receipt = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "erasure receipt: {}: not an erasure receipt ({e})",
                opts.receipt
            );
            return 2;
        }
    };
    let location = source::receipt_uri(&opts.receipt, &receipt);
    let report = report::Report::of(&receipt, &location);
    let out = match opts.format {
        Format::Text => render::text(&report),
        Format::Markdown => render::markdown(&report),
        Format::Html => render::html(&report),
    };
    print!("{out}");
    exit_code(receipt.outcome)
}
