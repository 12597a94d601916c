//! `erasure validate FILE`: what the workflow would do with a request file, before it is uploaded.
//! Exit code 0: accepted; 1: rejected; 2: usage or I/O error.
//! `erasure lookup`: whether a user was in a request and what happened to them (see lookup.rs).
//! `erasure retry`: a request that did not complete, started again from its receipt (retry.rs).
//! `erasure receipt`: a receipt as a person reads it, as text, markdown or HTML (receipt.rs).
//! `erasure status`: where a request stands, read from AWS without a user ID (status.rs).

mod lookup;
mod receipt;
mod retry;
mod status;

use std::io::Read;
use std::process::ExitCode;

use erasure::limits;
use erasure::request_csv::{BadRowPolicy, FileProblem, RequestReader};
use erasure::split::{Finished, SplitLimits, Splitter};

const USAGE: &str = "usage: erasure validate FILE [--policy reject-file|skip-row] [--max-part-bytes N] [--shard-users N] [--max-request-bytes N] [--max-users N]

Checks a request file with exactly the rules the erasure workflow applies, and prints its rows,
valid users, duplicates, rejected rows (by line and reason, never the ID), the parts and shards
it would produce, and a verdict. Exit code 0: accepted; 1: rejected; 2: usage or I/O error.

       erasure lookup --receipt R.json --users R.users.txt [--failed R.failed.csv] --key-file KEY < ids
       erasure retry --receipt R.json|s3://BUCKET/receipts/R.json [--state-machine-arn ARN]
       erasure receipt R.json|s3://BUCKET/receipts/R.json [--format text|markdown|html]
       erasure status REQUEST|--list [--watch [SECONDS]] [--format text|json]
(erasure lookup --help, erasure retry --help, erasure receipt --help, erasure status --help for more)";

struct Options {
    file: String,
    policy: BadRowPolicy,
    limits: SplitLimits,
    max_request_bytes: u64,
    max_users: u64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("validate") => {}
        Some("-h" | "--help") | None => return Err(String::new()),
        Some(other) => return Err(format!("unknown command {other:?}")),
    }
    let mut o = Options {
        file: String::new(),
        policy: BadRowPolicy::RejectFile,
        limits: SplitLimits {
            max_part_bytes: limits::DEFAULT_MAX_PART_BYTES,
            shard_users: limits::DEFAULT_SHARD_USERS,
        },
        max_request_bytes: limits::DEFAULT_MAX_REQUEST_BYTES,
        max_users: limits::DEFAULT_MAX_REQUEST_USERS,
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: {v:?} is not a number"))
        };
        match a.as_str() {
            "--policy" => o.policy = value("--policy")?.parse()?,
            "--max-part-bytes" => o.limits.max_part_bytes = number(a, value(a)?)?,
            "--shard-users" => o.limits.shard_users = number(a, value(a)?)?.max(1),
            "--max-request-bytes" => o.max_request_bytes = number(a, value(a)?)?,
            "--max-users" => o.max_users = number(a, value(a)?)?.max(1),
            f if !f.starts_with("--") && o.file.is_empty() => o.file = f.to_string(),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if o.file.is_empty() {
        return Err("validate needs a FILE".into());
    }
    // As preparation does: shards grow so that no request has more than limits::MAX_SHARDS.
    o.limits.shard_users = limits::shard_users(o.limits.shard_users, o.max_users);
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("lookup") => return ExitCode::from(lookup::run(&args[1..])),
        Some("retry") => return ExitCode::from(retry::run(&args[1..])),
        Some("receipt") => return ExitCode::from(receipt::run(&args[1..])),
        Some("status") => return ExitCode::from(status::run(&args[1..])),
        _ => {}
    }
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("erasure: {e}\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match validate(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("erasure: {}: {e}", opts.file);
            ExitCode::from(2)
        }
    }
}

#[derive(Default)]
struct Produced {
    parts: Vec<(u64, u64)>,
    shards: u64,
}

impl Produced {
    fn take(&mut self, ready: Vec<Finished>) {
        for f in ready {
            match f {
                Finished::PartEnd { users, bytes, .. } => self.parts.push((bytes, users)),
                Finished::PartChunk { .. } => {}
                Finished::Shard { .. } => self.shards += 1,
            }
        }
    }
}

fn validate(o: &Options) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(&o.file)?;
    let size = file.metadata()?.len();
    println!("file:           {} ({size} bytes)", o.file);
    if size > o.max_request_bytes {
        let p = FileProblem::TooLarge {
            size,
            limit: o.max_request_bytes,
        };
        println!("verdict:        REJECTED ({}): {p}", p.code());
        return Ok(false);
    }
    // Duplicates checked on a second thread when the file is large and there are two cores.
    let mut reader = RequestReader::with_max_users(o.policy, o.max_users).pipelined();
    reader.expect_bytes(size);
    // The split is reported, not written: counted without building the parts' bytes.
    let mut splitter = Splitter::counting(o.limits);
    let mut produced = Produced::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 || reader.problem().is_some() {
            break;
        }
        reader.push(&buf[..n], &mut |id| splitter.add(id));
        produced.take(splitter.take_ready());
    }
    let (stats, verdict) = reader.finish(&mut |id| splitter.add(id));
    produced.take(splitter.finish());
    println!("rows:           {}", stats.rows);
    println!("valid users:    {}", stats.valid_users);
    println!("duplicates:     {}", stats.duplicates);
    println!("blank lines:    {}", stats.blank_lines);
    println!("rejected rows:  {}", stats.rejected_rows);
    for r in &stats.rejections {
        println!("  line {}: {}", r.line, r.problem.describe());
    }
    if stats.rejected_rows > stats.rejections.len() as u64 {
        println!(
            "  ... and {} more",
            stats.rejected_rows - stats.rejections.len() as u64
        );
    }
    match verdict {
        Ok(()) => {
            println!(
                "parts:          {} (one Personalize deletion job each, per dataset group; at most {} bytes)",
                produced.parts.len(),
                o.limits.max_part_bytes
            );
            for (i, (bytes, users)) in produced.parts.iter().enumerate() {
                println!("  part {i}: {users} users, {bytes} bytes");
            }
            println!(
                "shards:         {} (of up to {} users, for Pinpoint)",
                produced.shards, o.limits.shard_users
            );
            let policy = match o.policy {
                BadRowPolicy::RejectFile => "",
                BadRowPolicy::SkipRow => " (bad rows skipped by policy)",
            };
            println!(
                "verdict:        ACCEPTED{policy}: {} users would be erased",
                stats.valid_users
            );
            Ok(true)
        }
        Err(p) => {
            println!(
                "verdict:        REJECTED ({}): {p}; nothing would be erased",
                p.code()
            );
            Ok(false)
        }
    }
}
