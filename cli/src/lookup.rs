//! `erasure lookup`: "was user X in request R, and what happened to them?", answered from the
//! receipt, its evidence files and the hash key. User IDs are read from standard input (one per
//! line) so they never land in shell history or a process list, and are never printed.

use std::io::BufRead;

use erasure::evidence::lookup;
use erasure::receipt::Receipt;
use erasure::user_hash::UserHasher;
use sha2::{Digest, Sha256};

pub const USAGE: &str = "usage: erasure lookup --receipt RECEIPT.json --users RECEIPT.users.txt [--failed RECEIPT.failed.csv] --key-file KEY < user-ids

Reads user IDs from standard input, one per line, and for each says whether it was in the
request and what happened to it in every Personalize deletion job, Pinpoint application and
Customer Profiles domain (receipts of schema 2 and 3).
The files are the receipt and its evidence files (aws s3 cp them from receipts/); KEY holds
the deployment's user hash key (the SSM parameter's value). Exit code 0: every user was in
the request; 1: some were not; 2: usage or I/O error, or files that do not match the receipt.";

#[derive(Default)]
struct Options {
    receipt: String,
    users: String,
    failed: Option<String>,
    key_file: String,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it
            .next()
            .cloned()
            .ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--receipt" => o.receipt = v,
            "--users" => o.users = v,
            "--failed" => o.failed = Some(v),
            "--key-file" => o.key_file = v,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if o.receipt.is_empty() || o.users.is_empty() || o.key_file.is_empty() {
        return Err("lookup needs --receipt, --users and --key-file".into());
    }
    Ok(o)
}

fn read_checked(path: &str, expected: Option<&str>) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if let Some(sha) = expected {
        let got = hex::encode(Sha256::digest(&bytes));
        if got != sha {
            return Err(format!(
                "{path}: SHA-256 {got} does not match the receipt's {sha}: not this receipt's file"
            ));
        }
    }
    String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8"))
}

/// Runs the command; the exit code.
pub fn run(args: &[String]) -> u8 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("erasure: {e}\n\n{USAGE}");
            return 2;
        }
    };
    match answer(&o) {
        Ok(all_found) => u8::from(!all_found),
        Err(e) => {
            eprintln!("erasure: {e}");
            2
        }
    }
}

fn answer(o: &Options) -> Result<bool, String> {
    let receipt: Receipt = serde_json::from_str(&read_checked(&o.receipt, None)?)
        .map_err(|e| format!("{}: not a receipt: {e}", o.receipt))?;
    let evidence = receipt
        .evidence
        .as_ref()
        .ok_or("the receipt has no evidence (no hash key was configured for this request)")?;
    let index_ref = evidence
        .user_index
        .as_ref()
        .ok_or("the receipt lists no user index")?;
    let index = read_checked(&o.users, Some(&index_ref.sha256))?;
    let failed = match (&o.failed, &evidence.failed_users) {
        (Some(path), Some(f)) => Some(read_checked(path, Some(&f.sha256))?),
        (None, Some(f)) => {
            return Err(format!(
                "the receipt lists {} failed users: pass --failed with {}",
                f.rows, f.key
            ))
        }
        (Some(path), None) => Some(read_checked(path, None)?),
        (None, None) => None,
    };
    let key = std::fs::read(&o.key_file).map_err(|e| format!("{}: {e}", o.key_file))?;
    let key = String::from_utf8_lossy(&key);
    let hasher = UserHasher::new(key.trim().as_bytes())?;

    println!(
        "request {} ({}), outcome {}",
        receipt.request_id,
        receipt.request.key,
        serde_json::to_value(receipt.outcome)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    );
    if let Some(by) = &receipt.ordered_by {
        println!("{}", erasure::receipt::plan::ordered_by_line(by));
    }
    if let Some(p) = &receipt.preceded_by {
        println!(
            "preceded by the plan {} (planned at {})",
            p.plan_receipt, p.planned_at
        );
    }
    if let Some(plan) = &receipt.plan {
        println!(
            "this is a plan: nothing was erased; per user, only whether they were in the file"
        );
        for line in erasure::receipt::plan::plan_lines(plan) {
            println!("{line}");
        }
    }
    let mut all_found = true;
    let stdin = std::io::stdin();
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| format!("standard input: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let f = lookup(&receipt, &hasher, &line, &index, failed.as_deref());
        let Some(position) = f.position else {
            println!("user on input line {}: NOT IN THIS REQUEST", n + 1);
            all_found = false;
            continue;
        };
        println!(
            "user on input line {}: IN THIS REQUEST (user {position} of {}; part {}; shard {})",
            n + 1,
            index_ref.rows,
            f.part.map(|p| p.to_string()).unwrap_or("?".into()),
            f.shard.map(|s| s.to_string()).unwrap_or("?".into())
        );
        for (dsg, status, arn) in &f.personalize {
            println!(
                "  personalize {dsg}: {status} (job {})",
                arn.as_deref().unwrap_or("not created")
            );
        }
        for (dsg, what) in &f.models {
            println!("  personalize models {dsg}: {what}");
        }
        for (app, what) in &f.pinpoint {
            println!("  pinpoint {app}: {what}");
        }
        for (domain, what) in &f.customer_profiles {
            println!("  customer profiles {domain}: {what}");
        }
    }
    Ok(all_found)
}
