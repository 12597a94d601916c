//! Fuzzes the request reader: any bytes, in any chunking, must not panic, must give the same
//! result whole or chunked, must give exactly the same result (IDs, counts, line numbers,
//! verdict) on the fast path for plain lines as on the general path alone, and with the
//! duplicate checks on a second thread (the pipeline) as on one, and must only ever yield
//! valid, distinct IDs.
#![no_main]

use erasure::request_csv::{ReadAll, read_all, BadRowPolicy, RequestReader, MAX_ID_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, bytes)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    for policy in [BadRowPolicy::RejectFile, BadRowPolicy::SkipRow] {
        let ReadAll { ids: whole, stats: whole_stats, verdict: whole_verdict, .. } = read_all(bytes, policy);
        let mut ids = Vec::new();
        let mut r = RequestReader::new(policy);
        for c in bytes.chunks(chunk) {
            r.push(c, &mut |id| ids.push(id.to_string()));
        }
        let (stats, verdict) = r.finish(&mut |id| ids.push(id.to_string()));
        if whole_verdict.is_ok() {
            assert_eq!(&ids, &whole, "chunking changed the IDs");
        }
        let mut general_ids = Vec::new();
        let mut g = RequestReader::new(policy).general_path_only();
        for c in bytes.chunks(chunk) {
            g.push(c, &mut |id| general_ids.push(id.to_string()));
        }
        let (general_stats, general_verdict) = g.finish(&mut |id| general_ids.push(id.to_string()));
        assert_eq!(&general_ids, &ids, "the fast path changed the IDs");
        assert_eq!(&general_stats, &stats, "the fast path changed the counts");
        assert_eq!(&general_verdict, &verdict, "the fast path changed the verdict");
        let mut pipelined_ids = Vec::new();
        let mut p = RequestReader::new(policy).pipelined_in_batches_of(chunk % 7 + 1);
        for c in bytes.chunks(chunk) {
            p.push(c, &mut |id| pipelined_ids.push(id.to_string()));
        }
        let (pipelined_stats, pipelined_verdict) = p.finish(&mut |id| pipelined_ids.push(id.to_string()));
        assert_eq!(&pipelined_ids, &ids, "the pipeline changed the IDs");
        assert_eq!(&pipelined_stats, &stats, "the pipeline changed the counts");
        assert_eq!(&pipelined_verdict, &verdict, "the pipeline changed the verdict");
        assert_eq!(verdict.is_ok(), whole_verdict.is_ok(), "chunking changed the verdict");
        if verdict.is_ok() {
            assert_eq!(stats, whole_stats);
        }
        let mut seen = std::collections::HashSet::new();
        for id in &whole {
            assert!(!id.trim().is_empty());
            assert_eq!(id.trim(), id);
            assert!(id.chars().count() <= MAX_ID_CHARS);
            assert!(!id.chars().any(char::is_control));
            assert!(seen.insert(id.clone()), "an ID came out twice");
        }
    }
});
