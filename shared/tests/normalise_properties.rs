//! Properties of the request rules: normalising never drops or invents a valid ID, whatever
//! the quoting, blanks, line ends or duplicates; and normalising the normalised copy changes nothing.

use erasure::request_csv::{read_all, BadRowPolicy, ReadAll};
use erasure::split::{assemble_parts, SplitLimits, Splitter};
use proptest::prelude::*;

/// A valid ID: no control characters, not blank, at most 256 characters once trimmed.
fn id() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,40}"
        .prop_map(|s| s.trim().to_string())
        .prop_filter("not blank", |s| !s.is_empty() && !s.starts_with('\u{feff}'))
}

/// How a person might have written one row holding `id`.
fn row(id: String) -> impl Strategy<Value = String> {
    (any::<bool>(), "[ \t]{0,2}", "[ \t]{0,2}").prop_map(move |(quote, before, after)| {
        let must_quote = id.contains([',', '"']) || id.starts_with('"');
        if quote || must_quote {
            format!("{before}\"{}\"{after}", id.replace('"', "\"\""))
        } else {
            format!("{before}{id}{after}")
        }
    })
}

fn file() -> impl Strategy<Value = (Vec<String>, Vec<u8>)> {
    prop::collection::vec(id(), 1..40)
        .prop_flat_map(|ids| {
            // Repeat some IDs to make duplicates, in a shuffled order.
            let with_dups = prop::collection::vec(prop::sample::select(ids.clone()), 0..10)
                .prop_map(move |extra| ids.iter().cloned().chain(extra).collect::<Vec<_>>())
                .prop_shuffle();
            (
                with_dups,
                any::<bool>(),
                prop::sample::select(vec!["\n", "\r\n", "\r"]),
                0..3usize,
            )
        })
        .prop_flat_map(|(ids, bom, eol, blanks)| {
            let rows: Vec<_> = ids.iter().cloned().map(row).collect();
            (Just(ids), rows, Just(bom), Just(eol), Just(blanks))
        })
        .prop_map(|(ids, rows, bom, eol, blanks)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            text.push_str("USER_ID");
            text.push_str(eol);
            for (i, r) in rows.iter().enumerate() {
                text.push_str(r);
                text.push_str(eol);
                if i % 7 == 0 {
                    for _ in 0..blanks {
                        text.push_str(eol);
                    }
                }
            }
            let mut distinct = Vec::new();
            for id in ids {
                if !distinct.contains(&id) {
                    distinct.push(id);
                }
            }
            (distinct, text.into_bytes())
        })
}

fn normalised(ids: &[String], max_part_bytes: u64) -> Vec<Vec<u8>> {
    let mut s = Splitter::new(SplitLimits {
        max_part_bytes,
        shard_users: 1_000_000,
    });
    for id in ids {
        s.add(id);
    }
    assemble_parts(&s.finish())
        .into_iter()
        .map(|(_, body, _)| body)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn never_drops_or_invents_a_valid_id((distinct, bytes) in file()) {
        let ReadAll { ids, stats, verdict, .. } = read_all(&bytes, BadRowPolicy::RejectFile);
        prop_assert_eq!(verdict, Ok(()));
        prop_assert_eq!(&ids, &distinct);
        prop_assert_eq!(stats.valid_users as usize, distinct.len());
        prop_assert_eq!(stats.rows, stats.valid_users + stats.duplicates);
    }

    #[test]
    fn normalising_is_idempotent_and_parts_lose_nothing((distinct, bytes) in file(), max_part in 64u64..4096) {
        let ReadAll { ids, .. } = read_all(&bytes, BadRowPolicy::RejectFile);
        let parts = normalised(&ids, max_part);
        let mut again = Vec::new();
        for p in &parts {
            let ReadAll { ids: part_ids, verdict, .. } = read_all(p, BadRowPolicy::RejectFile);
            prop_assert_eq!(verdict, Ok(()));
            // Re-normalising a part gives the same bytes.
            prop_assert_eq!(&normalised(&part_ids, u64::MAX)[0], p);
            again.extend(part_ids);
        }
        prop_assert_eq!(again, distinct);
    }

    #[test]
    fn chunking_never_changes_the_result((_, bytes) in file(), chunk in 1usize..64) {
        let ReadAll { ids: whole, .. } = read_all(&bytes, BadRowPolicy::RejectFile);
        let mut ids = Vec::new();
        let mut r = erasure::request_csv::RequestReader::new(BadRowPolicy::RejectFile);
        for c in bytes.chunks(chunk) {
            r.push(c, &mut |id| ids.push(id.to_string()));
        }
        let (_, verdict) = r.finish(&mut |id| ids.push(id.to_string()));
        prop_assert_eq!(verdict, Ok(()));
        prop_assert_eq!(ids, whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_yield_a_blank_or_overlong_id(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let ReadAll { ids, .. } = read_all(&bytes, BadRowPolicy::SkipRow);
        for id in ids {
            prop_assert!(!id.trim().is_empty() && id.chars().count() <= 256 && !id.chars().any(char::is_control));
        }
    }
}

/// Reads `bytes` in chunks of `chunk`, on the fast path or the general path alone, on one
/// thread or (`pipelined`: batches of that many rows) with the duplicate checks on a second.
fn read_with(
    bytes: &[u8],
    policy: BadRowPolicy,
    max_users: u64,
    chunk: usize,
    general_only: bool,
) -> ReadAll {
    read_with_pipeline(bytes, policy, max_users, chunk, general_only, None)
}

fn read_with_pipeline(
    bytes: &[u8],
    policy: BadRowPolicy,
    max_users: u64,
    chunk: usize,
    general_only: bool,
    pipelined: Option<usize>,
) -> ReadAll {
    let mut r = erasure::request_csv::RequestReader::with_max_users(policy, max_users);
    if general_only {
        r = r.general_path_only();
    }
    if let Some(batch_rows) = pipelined {
        r = r.pipelined_in_batches_of(batch_rows);
    }
    let mut ids = Vec::new();
    for c in bytes.chunks(chunk.max(1)) {
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
}

/// One line of a request as people write them, good or bad: plain IDs (the fast path's),
/// and every kind the general path must take (quotes, blanks, commas, non-ASCII, control
/// characters, lengths around the limit, lone CRs).
fn any_line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z0-9@._-]{1,12}",
        2 => prop::sample::select(vec!["u1", "u2", "dup", "DUP"]).prop_map(String::from),
        1 => Just(String::new()),
        1 => "[ \t]{1,3}",
        1 => "[ \t]{0,2}[a-z]{1,5}[ \t]{0,2}",
        1 => "\"[a-z,\" ]{0,6}\"",
        1 => "[a-z]{0,3}\"[a-z]{0,3}",
        1 => "[a-z]{1,3},[a-z]{0,3}",
        1 => "[a-zé€\u{85}\u{a0}]{1,5}",
        1 => "[a-z]{0,2}[\u{0}-\u{1f}\u{7f}][a-z]{0,2}",
        1 => (254usize..259).prop_map(|n| "x".repeat(n)),
        1 => Just("USER_ID".to_string()),
    ]
}

fn messy_file() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::sample::select(vec!["USER_ID", " user_id ", "\"USER_ID\"", "ID", ""]),
        prop::collection::vec(
            (any_line(), prop::sample::select(vec!["\n", "\r\n", "\r"])),
            0..60,
        ),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(bom, header, lines, junk)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            out.extend_from_slice(header.as_bytes());
            out.push(b'\n');
            for (line, eol) in lines {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(eol.as_bytes());
            }
            if let Some(junk) = junk {
                out.extend_from_slice(&junk);
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The fast path for plain lines and the general path give the same IDs, counts, line
    /// numbers, rejection reasons and verdict on every input, whatever the chunking, the
    /// policy and the user limit (`TOO_MANY_USERS` on the same line); and so do both with the
    /// duplicate checks on a second thread (the pipeline), in batches of any size, stopping
    /// for the limit as it must.
    #[test]
    fn fast_and_general_paths_agree(
        bytes in prop_oneof![3 => messy_file(), 1 => prop::collection::vec(any::<u8>(), 0..300)],
        chunk in prop_oneof![Just(1usize << 20), 1usize..40],
        max_users in prop_oneof![Just(u64::MAX), 0u64..12],
        skip in any::<bool>(),
        batch_rows in prop_oneof![1usize..6, Just(8192usize)],
    ) {
        let policy = if skip { BadRowPolicy::SkipRow } else { BadRowPolicy::RejectFile };
        let general = read_with(&bytes, policy, max_users, 1 << 20, true);
        let fast = read_with(&bytes, policy, max_users, chunk, false);
        prop_assert_eq!(&fast, &general);
        let general_chunked = read_with(&bytes, policy, max_users, chunk, true);
        prop_assert_eq!(&general_chunked, &general);
        let pipelined = read_with_pipeline(&bytes, policy, max_users, chunk, false, Some(batch_rows));
        prop_assert_eq!(&pipelined, &general);
        let general_pipelined = read_with_pipeline(&bytes, policy, max_users, chunk, true, Some(batch_rows));
        prop_assert_eq!(&general_pipelined, &general);
    }
}
