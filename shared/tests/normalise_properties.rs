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
