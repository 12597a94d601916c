//! The payloads' shapes: the sample events read, the largest state fits.

use super::*;
use crate::request_csv::RequestStats;

/// The sample events in events/ (for `sam local invoke -e` and `cargo lambda invoke`) must
/// stay readable by the functions they are for.
#[cfg(feature = "aws")]
#[test]
fn sample_events_match_the_handlers_inputs() {
    let s3: aws_lambda_events::s3::S3Event =
        serde_json::from_str(include_str!("../../../events/s3-put.json")).expect("s3-put.json");
    assert_eq!(s3.records.len(), 1);
    let _: ExecutionInput =
        serde_json::from_str(include_str!("../../../events/prepare-request.json")).unwrap();
    let _: JobSpec =
        serde_json::from_str(include_str!("../../../events/create-deletion-job.json")).unwrap();
    let item: JobItem =
        serde_json::from_str(include_str!("../../../events/check-deletion-job.json")).unwrap();
    assert!(item.job.is_some());
    let _: ShardSpec = serde_json::from_str(include_str!(
        "../../../events/erase-pinpoint-endpoints.json"
    ))
    .unwrap();
    let pre: ModelsInput = serde_json::from_str(include_str!(
        "../../../events/personalize-models-preflight.json"
    ))
    .unwrap();
    assert!(matches!(pre, ModelsInput::Preflight { .. }));
    let retrain: ModelsInput = serde_json::from_str(include_str!(
        "../../../events/personalize-models-retrain.json"
    ))
    .unwrap();
    assert!(matches!(
        retrain,
        ModelsInput::Retrain { jobs: Some(_), .. }
    ));
    let fin: FinalizeInput =
        serde_json::from_str(include_str!("../../../events/finalize-erasure.json")).unwrap();
    let results = fin.results.expect("results");
    assert!(results.iter().all(|r| r.result_writer_details.is_some()));
    assert_eq!(results.len(), 2);
    assert!(fin.prepared.and_then(|p| p.jobs).is_some());
    // The finalize function tells its two inputs apart by their shape.
    let workflow: FinalizeEvent =
        serde_json::from_str(include_str!("../../../events/finalize-erasure.json")).unwrap();
    assert!(matches!(workflow, FinalizeEvent::Workflow(_)));
    let ended: FinalizeEvent =
        serde_json::from_str(include_str!("../../../events/finalize-status-change.json")).unwrap();
    let FinalizeEvent::StatusChange(ended) = ended else {
        panic!("a status-change event")
    };
    let input: ExecutionInput =
        serde_json::from_str(ended.detail.input.as_deref().unwrap_or("")).unwrap();
    assert_eq!(ended.detail.name, input.request.request_id.execution_name());
}

#[test]
fn preparation_output_reads_back_as_written() {
    let fin: FinalizeInput =
        serde_json::from_str(include_str!("../../../events/finalize-erasure.json")).unwrap();
    let prepared = fin.prepared.unwrap();
    let text = serde_json::to_vec(&prepared).unwrap();
    let back: Prepared = serde_json::from_slice(&text).unwrap();
    assert_eq!(back, prepared);
}

#[test]
fn a_caught_error_item_still_reads() {
    let item: ShardItem = serde_json::from_str(
        r#"{"requestId":"x","bucket":"b","key":"k","index":3,"users":9,"error":{"Error":"States.Timeout","Cause":"c"}}"#,
    )
    .unwrap();
    assert_eq!(
        (item.index, item.users, item.error.unwrap().error.as_str()),
        (3, 9, "States.Timeout")
    );
}

/// The parent execution's state at its largest, as the Outcome? state receives it: the
/// execution input, preparation's output, both maps' outputs, a caught error with the longest
/// cause Step Functions keeps (32,768 characters, each escaped to 6 bytes), and finalize's
/// output, with every string at the longest AWS allows and every count at u64::MAX. It must
/// stay under the 256 KiB payload cap whatever the request (docs/LIMITS.md quotes this figure).
#[test]
fn the_largest_parent_state_fits_the_payload_cap_and_is_the_documented_figure() {
    use crate::limits::{MAX_OUTPUT_REASON_CHARS, STATE_PAYLOAD_BYTES};
    use crate::request_csv::{RowProblem, RowRejection, MAX_LISTED_REJECTIONS};
    let id = "f".repeat(32);
    // S3 keys are at most 1,024 bytes; a quote is escaped to two.
    let key = format!("requests/{}", "\"".repeat(1015));
    // The longest uploader kept: a principal ID and a session name at their caps.
    let uploader = Uploader {
        unique_id: "A".repeat(MAX_PRINCIPAL_CHARS),
        kind: PrincipalKind::RoleSession,
        session_name: Some("s".repeat(MAX_PRINCIPAL_CHARS)),
        uploaded_at: Some("2026-12-02T10:00:00.000Z".into()),
    };
    let request = RequestObject {
        mode: Default::default(),
        uploader: Some(uploader.clone()),
        bucket: "b".repeat(63),
        key,
        version_id: Some("v".repeat(1024)),
        etag: format!("{}-10000", "e".repeat(32)),
        size: u64::MAX,
        request_id: id.parse().unwrap(),
        sha256: Some("s".repeat(64)),
    };
    let s3ref = |k: &str| S3Ref {
        bucket: "b".repeat(63),
        key: format!("work/{id}/{k}"),
    };
    let plan = |k: &str| MapPlan {
        manifest: s3ref(k),
        results: ResultsLocation {
            bucket: "b".repeat(63),
            prefix: format!("work/{id}/results/{k}"),
        },
        count: u64::MAX,
    };
    let stats = RequestStats {
        rows: u64::MAX,
        valid_users: u64::MAX,
        duplicates: u64::MAX,
        rejected_rows: u64::MAX,
        blank_lines: u64::MAX,
        rejections: vec![
            RowRejection {
                line: u64::MAX,
                problem: RowProblem::MalformedQuoting,
            };
            MAX_LISTED_REJECTIONS
        ],
    };
    let prepared = Prepared {
        received_at: uploader.uploaded_at.clone(),
        // RequestUploaderPrincipalArns' pattern: a role path and name of at most 512 characters.
        ordered_by: Some(OrderedBy {
            unique_id: uploader.unique_id.clone(),
            kind: uploader.kind,
            role_arn: Some(format!(
                "arn:aws-iso-b:iam::123456789012:role/{}",
                "r".repeat(512)
            )),
            session_name: uploader.session_name.clone(),
            uploaded_at: uploader.uploaded_at.clone(),
            object_version: Some("v".repeat(1024)),
            allowed: Some(true),
        }),
        verdict: Verdict::Accepted,
        reason_code: Some("TOO_MANY_USERS".into()),
        reason: Some("r".repeat(400)),
        stats,
        request: request.clone(),
        jobs: Some(plan("personalize/jobs.json")),
        shards: Some(ShardPlan {
            map: plan("pinpoint/manifest.json"),
            concurrency: u32::MAX,
            users_per_shard: u64::MAX,
        }),
        user_index: Some(EvidenceFile {
            bucket: "b".repeat(63),
            key: format!("receipts/erasure-{id}.users.txt"),
            rows: u64::MAX,
            sha256: "s".repeat(64),
        }),
    };
    let map_run = |label: &str| MapRunOutput {
        map_run_arn: Some(format!(
            "arn:aws-us-gov:states:us-gov-west-1:123456789012:mapRun:erasure-{}/{label}:{}",
            "u".repeat(36),
            "u".repeat(36)
        )),
        result_writer_details: Some(ResultWriterDetails {
            bucket: "b".repeat(63),
            key: format!("work/{id}/results/{label}/{}/manifest.json", "u".repeat(36)),
        }),
        models_error: None,
    };
    // Step Functions keeps an error name of up to 256 characters and a cause of up to 32,768
    // (HistoryEvent details, Step Functions API reference); control characters are escaped
    // to six bytes each (\u0001).
    let error = CaughtError {
        error: "\u{1}".repeat(256),
        cause: "\u{1}".repeat(32_768),
    };
    let state = serde_json::json!({
        "request": request,
        "execution": ExecutionFacts { name: format!("erasure-{id}-{}", "r".repeat(39)), start_time: "2026-12-01T00:00:00.000Z".into() },
        "prepared": prepared,
        "results": [map_run("DeletionJobs"), map_run("Shards")],
        "error": error,
        "receipt": FinalizeOutput {
            outcome: Outcome::Failed,
            reason: Some(format!("{}…", "\u{1}".repeat(MAX_OUTPUT_REASON_CHARS))),
            receipt: S3Ref { bucket: "b".repeat(63), key: format!("receipts/erasure-{id}-{}.json", "r".repeat(39)) },
        },
    });
    // The other way an error travels: the Personalize branch caught the models step's error,
    // so the Parallel state succeeded (no `error`) and the jobs map's output carries it.
    let mut caught = state.clone();
    caught["error"] = serde_json::Value::Null;
    caught["results"][0]["modelsError"] = serde_json::to_value(&error).unwrap();
    let bytes = serde_json::to_vec(&state)
        .unwrap()
        .len()
        .max(serde_json::to_vec(&caught).unwrap().len());
    assert!(
        bytes < STATE_PAYLOAD_BYTES,
        "{bytes} bytes: over the 256 KiB cap"
    );
    let documented = format!("| parent execution's state, worst case | {bytes} bytes |");
    assert!(
        include_str!("../../../docs/LIMITS.md").contains(&documented),
        "docs/LIMITS.md must quote this figure: {documented}"
    );
}

#[test]
fn an_outcome_is_named_as_the_receipt_serialises_it() {
    use crate::payload::Outcome;
    for o in [
        Outcome::Completed,
        Outcome::Partial,
        Outcome::Failed,
        Outcome::Rejected,
        Outcome::Aborted,
        Outcome::Planned,
    ] {
        assert_eq!(serde_json::to_value(o).expect("serialised"), o.as_str());
    }
}
