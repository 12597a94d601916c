//! The outcome rules and the receipt's shape.

use super::*;
use crate::payload::*;
use crate::request_csv::RequestStats;

fn request() -> RequestObject {
    RequestObject {
        sha256: None,
        bucket: "b".into(),
        key: "requests/r.csv".into(),
        version_id: None,
        etag: "e".into(),
        size: 10,
        request_id: "0123456789abcdef0123456789abcdef".parse().unwrap(),
    }
}

fn spec(dsg: &str) -> JobSpec {
    JobSpec {
        request_id: request().request_id,
        dataset_group_arn: dsg.into(),
        part: 0,
        data_location: "s3://b/work/x/personalize/part-000.csv".into(),
        users: 3,
    }
}

fn prepared(verdict: Verdict, jobs: usize) -> Prepared {
    Prepared {
        verdict,
        reason_code: None,
        reason: (verdict == Verdict::Rejected).then(|| "line 1: the header must be USER_ID".into()),
        stats: RequestStats {
            rows: 4,
            valid_users: 3,
            duplicates: 1,
            ..Default::default()
        },
        request: request(),
        jobs: (verdict == Verdict::Accepted).then(|| plan("jobs", jobs as u64)),
        shards: (verdict == Verdict::Accepted).then(|| ShardPlan {
            map: plan("shards", 1),
            concurrency: 4,
            users_per_shard: 50,
        }),
        user_index: None,
    }
}

fn plan(what: &str, count: u64) -> MapPlan {
    MapPlan {
        manifest: S3Ref {
            bucket: "b".into(),
            key: format!("work/x/{what}.json"),
        },
        results: ResultsLocation {
            bucket: "b".into(),
            prefix: format!("work/x/results/{what}"),
        },
        count,
    }
}

fn job(status: JobState, reason: Option<&str>) -> JobItem {
    JobItem {
        spec: spec("g0"),
        job: Some(JobRef {
            job_arn: "arn:job".into(),
            job_name: "n".into(),
            reused: false,
            next_poll_seconds: 1,
        }),
        check: Some(JobStatus {
            status,
            num_deleted: (status == JobState::Completed).then_some(7),
            failure_reason: reason.map(String::from),
            created_at: None,
            updated_at: None,
            next_poll_seconds: 1,
            done: true,
            polls: 1,
        }),
        error: None,
    }
}

fn found(jobs: Vec<JobItem>, shards: Vec<ShardItem>) -> Findings {
    Findings { jobs, shards }
}

fn shard(app: &str, processed: u64, failed: u64) -> ShardItem {
    ShardItem {
        index: 0,
        users: 3,
        applications: vec![AppShardResult {
            application_id: app.into(),
            users_processed: processed,
            endpoints_deleted: 2,
            users_without_endpoints: processed - failed - 1,
            failed_users: failed,
            failure_reasons: if failed > 0 {
                [("Forbidden".to_string(), failed)].into()
            } else {
                BTreeMap::new()
            },
            failed_users_key: (failed > 0).then(|| "work/x/failed.csv".into()),
        }],
        error: None,
    }
}

fn input(prepared: Option<Prepared>) -> FinalizeInput {
    FinalizeInput {
        request: request(),
        prepared,
        results: None,
        error: None,
        execution: ExecutionFacts {
            name: "erasure-x".into(),
            start_time: "t0".into(),
        },
    }
}

/// The receipt of an accepted request of `parts` jobs, with what the steps did.
fn accepted(parts: usize, jobs: Vec<JobItem>, shards: Vec<ShardItem>, apps: &[&str]) -> Receipt {
    let apps: Vec<String> = apps.iter().map(|a| a.to_string()).collect();
    Receipt::build(
        &input(Some(prepared(Verdict::Accepted, parts))),
        Some(&found(jobs, shards)),
        &apps,
        "t1".into(),
    )
}

#[test]
fn all_done_is_completed() {
    let r = accepted(
        1,
        vec![job(JobState::Completed, None)],
        vec![shard("a", 3, 0)],
        &["a"],
    );
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.reason, None);
    assert_eq!(r.personalize[0].num_deleted, Some(7));
    assert_eq!(r.pinpoint[0].endpoints_deleted, 2);
    assert_eq!(r.request.duplicates, 1);
}

#[test]
fn a_written_receipt_reads_back_the_same() {
    let mut r = accepted(
        1,
        vec![job(JobState::Completed, None)],
        vec![shard("a", 3, 0)],
        &["a"],
    );
    r.purge = Some(Purge {
        request_object: PurgeAction::Deleted,
        work_objects_deleted: 4,
        incomplete: Some("time ran out".into()),
    });
    let text = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<Receipt>(&text).unwrap(), r);
}

#[test]
fn a_failed_job_fails_the_request_with_its_reason() {
    let r = accepted(
        1,
        vec![job(JobState::Failed, Some("bad csv"))],
        vec![shard("a", 3, 0)],
        &["a"],
    );
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.reason.unwrap().contains("bad csv"));
    assert_eq!(r.personalize[0].failure_reason.as_deref(), Some("bad csv"));
}

#[test]
fn some_pinpoint_failures_are_partial_and_all_are_failed() {
    let ok_jobs = vec![job(JobState::Completed, None)];
    let r = accepted(1, ok_jobs.clone(), vec![shard("a", 3, 1)], &["a"]);
    assert_eq!(r.outcome, Outcome::Partial);
    assert_eq!(r.pinpoint[0].failed_users, 1);
    let mut all_failed = shard("a", 3, 2);
    all_failed.applications[0].failed_users = 3;
    all_failed.applications[0].users_without_endpoints = 0;
    let r = accepted(1, ok_jobs, vec![all_failed], &["a"]);
    assert_eq!(r.outcome, Outcome::Failed);
}

#[test]
fn a_missing_shard_or_app_is_never_silently_complete() {
    let r = accepted(1, vec![job(JobState::Completed, None)], vec![], &["a"]);
    assert_ne!(r.outcome, Outcome::Completed);
    let r = accepted(
        2,
        vec![job(JobState::Completed, None)],
        vec![shard("a", 3, 0)],
        &["a"],
    );
    assert_eq!(r.outcome, Outcome::Failed);
}

#[test]
fn a_failed_shard_counts_its_users_as_failed_in_every_app() {
    let bad = ShardItem {
        index: 1,
        users: 3,
        applications: vec![],
        error: Some(CaughtError {
            error: "States.Timeout".into(),
            cause: "".into(),
        }),
    };
    let r = accepted(
        1,
        vec![job(JobState::Completed, None)],
        vec![bad],
        &["a", "b"],
    );
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.pinpoint.iter().all(|p| p.failed_users == 3));
}

#[test]
fn a_workflow_error_after_the_steps_ran_fails_the_request_and_keeps_what_they_did() {
    let mut i = input(Some(prepared(Verdict::Accepted, 1)));
    i.error = Some(CaughtError {
        error: "States.ItemReaderFailed".into(),
        cause: "the manifest could not be read".into(),
    });
    let r = Receipt::build(
        &i,
        Some(&found(
            vec![job(JobState::Completed, None)],
            vec![shard("a", 3, 0)],
        )),
        &["a".into()],
        "t1".into(),
    );
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.reason.unwrap().contains("States.ItemReaderFailed"));
    assert_eq!(r.personalize[0].status, JobState::Completed);
    assert_eq!(r.pinpoint[0].users_processed, 3);
}

#[test]
fn rejection_and_early_failure() {
    let r = Receipt::build(
        &input(Some(prepared(Verdict::Rejected, 0))),
        None,
        &[],
        "t1".into(),
    );
    assert_eq!(r.outcome, Outcome::Rejected);
    assert!(r.reason.unwrap().contains("header"));
    let mut i = input(None);
    i.error = Some(CaughtError {
        error: "NotFound".into(),
        cause: "request object is gone".into(),
    });
    let r = Receipt::build(&i, None, &[], "t1".into());
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.reason.unwrap().contains("NotFound"));
}
