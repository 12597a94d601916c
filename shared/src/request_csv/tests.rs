//! The request file's rules, case by case.

use super::*;

fn ok(input: &str) -> (Vec<String>, RequestStats) {
    let ReadAll {
        ids,
        stats,
        verdict,
        ..
    } = read_all(input.as_bytes(), BadRowPolicy::RejectFile);
    assert_eq!(verdict, Ok(()), "input {input:?}");
    (ids, stats)
}

fn rejected(input: &[u8]) -> FileProblem {
    read_all(input, BadRowPolicy::RejectFile)
        .verdict
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
    let (ids, s) =
        ok("\u{feff} user_id \r\n\r\n  u1  \r\n\"u,2\"\r\n\"say \"\"hi\"\"\"\r\n   \r\nu1\r\nlast");
    assert_eq!(ids, ["u1", "u,2", "say \"hi\"", "last"]);
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.rows, 5);
    assert_eq!(s.blank_lines, 2);
}

#[test]
fn chunk_boundaries_do_not_matter() {
    let input = b"\xef\xbb\xbfUSER_ID\r\n\"a\"\"b\"\r\nc\r\n\"d,e\"\r\n";
    let ReadAll { ids: whole, .. } = read_all(input, BadRowPolicy::RejectFile);
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
    let ReadAll {
        ids,
        stats,
        verdict,
        ..
    } = read_all(input.as_bytes(), BadRowPolicy::SkipRow);
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
    let ReadAll { stats, .. } = read_all(b"USER_ID\n\"a\nb\"\nc\n\"\"\n", BadRowPolicy::SkipRow);
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

/// A large file mixing everything (plain IDs, duplicates, quoted and padded IDs, blanks, bad
/// rows, CRLF), read on one thread and with the duplicate checks on a second (as `erasure
/// validate` reads it, and in small batches), whole and in chunks, under user limits that fall
/// before, on and after the file's users: the same IDs, counts, line numbers and verdicts.
#[test]
fn the_pipeline_changes_no_result_on_a_large_file() {
    let mut text = String::from("USER_ID\r\n");
    let mut distinct = 0u64;
    for i in 0..60_000u64 {
        match i % 97 {
            0 => text.push_str("\r\n"),
            1 => text.push_str(&format!("\"quoted,{i}\"\r\n")),
            2 => text.push_str(&format!("  padded-{i}\t\r\n")),
            3 if i % 3 == 0 => text.push_str("bad\"row\r\n"),
            4 => text.push_str(&format!("user-{}\r\n", i / 2)),
            _ => text.push_str(&format!("user-{i}\r\n")),
        }
        if i % 5 == 0 {
            text.push_str(&format!("user-{}\r\n", i / 3));
        }
        distinct += 1;
    }
    let bytes = text.as_bytes();
    let read = |policy, limit, chunk: usize, how: u8| {
        let mut r = RequestReader::with_max_users(policy, limit);
        r.expect_bytes(bytes.len() as u64);
        r = match how {
            0 => r,
            1 => r.pipelined(),
            2 => r.pipelined_in_batches_of(super::pipeline::BATCH_ROWS),
            _ => r.pipelined_in_batches_of(7),
        };
        let mut ids = Vec::new();
        for c in bytes.chunks(chunk) {
            r.push(c, &mut |id| ids.push(id.to_string()));
            if r.problem().is_some() {
                break;
            }
        }
        let (stats, verdict) = r.finish(&mut |id| ids.push(id.to_string()));
        ReadAll {
            ids,
            stats,
            verdict,
        }
    };
    let users = read(BadRowPolicy::SkipRow, u64::MAX, 1 << 20, 0)
        .stats
        .valid_users;
    assert!(users > 40_000 && users <= distinct, "{users} users");
    for policy in [BadRowPolicy::SkipRow, BadRowPolicy::RejectFile] {
        for limit in [u64::MAX, users, users - 1, 45_000, 33_000, 1_000] {
            let one_thread = read(policy, limit, 1 << 20, 0);
            for chunk in [1 << 20, 4093] {
                for how in 1..4 {
                    let pipelined = read(policy, limit, chunk, how);
                    assert_eq!(
                        pipelined, one_thread,
                        "{policy:?}, limit {limit}, chunk {chunk}, mode {how}"
                    );
                }
            }
        }
    }
}

/// A reader dropped before `finish` (its caller gave up) ends its worker: nothing hangs.
#[test]
fn a_reader_dropped_midway_ends_its_worker() {
    let mut text = String::from("USER_ID\n");
    for i in 0..50_000 {
        text.push_str(&format!("user-{i}\n"));
    }
    for cut in [10, 30_000, text.len() / 2] {
        let mut r = RequestReader::new(BadRowPolicy::RejectFile).pipelined_in_batches_of(100);
        let mut handed = 0u64;
        r.push(&text.as_bytes()[..cut], &mut |_| handed += 1);
        drop(r);
        assert!(handed <= 50_000);
    }
}
