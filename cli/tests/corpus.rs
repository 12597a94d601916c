//! Every file of tests/corpus through the `erasure validate` binary: the verdict, the exit code,
//! the rejection code and the counts its manifest expects; and no ID ever echoed.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

fn field(out: &str, name: &str) -> Option<u64> {
    out.lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn every_corpus_file_gets_its_expected_verdict() {
    let manifest: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("manifest.json")).unwrap())
            .unwrap();
    assert!(
        manifest.len() >= 40,
        "the corpus has {} files",
        manifest.len()
    );
    let mut failures = Vec::new();
    for case in &manifest {
        let file = case["file"].as_str().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_erasure"))
            .arg("validate")
            .arg(corpus().join(file))
            .output()
            .expect("run erasure");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let verdict = stdout
            .lines()
            .find(|l| l.starts_with("verdict:"))
            .unwrap_or("")
            .to_string();
        let code = out.status.code();
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("{file}: {what}\n{stdout}"));
            }
        };
        match case["verdict"].as_str().unwrap() {
            "ACCEPTED" => {
                check(code == Some(0), format!("exit code {code:?}, expected 0"));
                check(verdict.contains("ACCEPTED"), format!("verdict {verdict:?}"));
                for (key, label) in [
                    ("validUsers", "valid users"),
                    ("duplicates", "duplicates"),
                    ("blankLines", "blank lines"),
                ] {
                    if let Some(want) = case[key].as_u64() {
                        check(
                            field(&stdout, label) == Some(want),
                            format!("{label}: expected {want}"),
                        );
                    }
                }
            }
            _ => {
                let want = case["code"].as_str().unwrap();
                check(code == Some(1), format!("exit code {code:?}, expected 1"));
                check(
                    verdict.contains(&format!("REJECTED ({want})")),
                    format!("verdict {verdict:?}, expected {want}"),
                );
                if let Some(line) = case["line"].as_u64() {
                    check(
                        verdict.contains(&format!("first at line {line}")),
                        format!("first bad line {line}"),
                    );
                }
                if let Some(n) = case["rejectedRows"].as_u64() {
                    check(
                        field(&stdout, "rejected rows") == Some(n),
                        format!("rejected rows {n}"),
                    );
                }
            }
        }
        // Rejections name lines and reasons, never the ID (these IDs are long or distinctive).
        for secret in ["LLLLLLLLLL", "smith, john", "ann@example.com", "u\t1"] {
            if verdict.contains(secret)
                || stdout
                    .lines()
                    .filter(|l| l.starts_with("  line"))
                    .any(|l| l.contains(secret))
            {
                failures.push(format!("{file}: an ID was echoed"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let exit_code = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_erasure"))
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(exit_code(&[]), Some(2));
    assert_eq!(exit_code(&["frobnicate"]), Some(2));
    assert_eq!(exit_code(&["validate", "/nonexistent/x.csv"]), Some(2));
    assert_eq!(
        exit_code(&["validate", "a.csv", "--policy", "maybe"]),
        Some(2)
    );
}

#[test]
fn skip_row_policy_accepts_the_good_rows_and_the_size_limit_rejects() {
    let bin = env!("CARGO_BIN_EXE_erasure");
    let f = corpus().join("id-too-long.csv");
    let out = Command::new(bin)
        .args(["validate"])
        .arg(&f)
        .args(["--policy", "skip-row"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("line 3: the ID is longer than 256 characters"));
    let out = Command::new(bin)
        .args(["validate"])
        .arg(corpus().join("plain.csv"))
        .args(["--max-request-bytes", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("REJECTED (TOO_LARGE)"));
}

#[test]
fn parts_split_by_size() {
    let out = Command::new(env!("CARGO_BIN_EXE_erasure"))
        .arg("validate")
        .arg(corpus().join("many-users.csv"))
        .args(["--max-part-bytes", "10000", "--shard-users", "1000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 2500 IDs of 11 bytes a line: 8 header bytes + 908 lines per part.
    assert!(stdout.contains("parts:          3"), "{stdout}");
    assert!(stdout.contains("shards:         3"), "{stdout}");
}
