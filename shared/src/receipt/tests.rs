//! The outcome rules and the receipt's shape.

use super::*;
use crate::payload::*;
use crate::request_csv::RequestStats;

fn request() -> RequestObject {
    RequestObject {
        mode: Default::default(),
        uploader: None,
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
        ordered_by: None,
        received_at: None,
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
    Findings {
        jobs,
        shards,
        models: Vec::new(),
        personalize_plan: None,
    }
}

fn shard(app: &str, processed: u64, failed: u64) -> ShardItem {
    shard_in(TargetKind::Pinpoint, app, processed, failed)
}

fn shard_in(kind: TargetKind, id: &str, processed: u64, failed: u64) -> ShardItem {
    ShardItem {
        index: 0,
        users: 3,
        targets: vec![TargetShardResult {
            kind,
            target_id: id.into(),
            users_processed: processed,
            items_deleted: 2,
            users_without_items: processed - failed - 1,
            failed_users: failed,
            reappeared: 0,
            failure_reasons: if failed > 0 {
                [("Forbidden".to_string(), failed)].into()
            } else {
                BTreeMap::new()
            },
            failed_users_key: (failed > 0).then(|| "work/x/failed.csv".into()),
            unusable: None,
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
    Receipt::build(
        &input(Some(prepared(Verdict::Accepted, parts))),
        Some(&found(jobs, shards)),
        &deployment(apps, &[]),
        "t1".into(),
    )
}

fn deployment(apps: &[&str], domains: &[&str]) -> Deployment {
    Deployment {
        application_ids: apps.iter().map(|a| a.to_string()).collect(),
        domain_names: domains.iter().map(|d| d.to_string()).collect(),
        search_key: (!domains.is_empty()).then(|| "_account".into()),
        account: Some("123456789012".into()),
        region: Some("eu-west-1".into()),
    }
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
    all_failed.targets[0].failed_users = 3;
    all_failed.targets[0].users_without_items = 0;
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
        targets: vec![],
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
        &deployment(&["a"], &[]),
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
        &Deployment::default(),
        "t1".into(),
    );
    assert_eq!(r.outcome, Outcome::Rejected);
    assert!(r.reason.unwrap().contains("header"));
    let mut i = input(None);
    i.error = Some(CaughtError {
        error: "NotFound".into(),
        cause: "request object is gone".into(),
    });
    let r = Receipt::build(&i, None, &Deployment::default(), "t1".into());
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.reason.unwrap().contains("NotFound"));
}

fn both(shards: Vec<ShardItem>) -> Receipt {
    Receipt::build(
        &input(Some(prepared(Verdict::Accepted, 1))),
        Some(&found(vec![job(JobState::Completed, None)], shards)),
        &deployment(&["a"], &["d1"]),
        "t1".into(),
    )
}

#[test]
fn a_domain_has_its_own_section_with_the_key_searched_and_the_place_erased_in() {
    let mut d = shard_in(TargetKind::CustomerProfiles, "d1", 3, 0);
    d.targets.extend(shard("a", 3, 0).targets);
    let r = both(vec![d]);
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.schema_version, "3");
    let [p] = r.customer_profiles.as_slice() else {
        panic!("one domain")
    };
    assert_eq!(
        (
            p.domain_name.as_str(),
            p.search_key.as_str(),
            p.profiles_deleted,
            p.users_without_profile,
            p.verified_absent
        ),
        ("d1", "_account", 2, 2, 3)
    );
    assert_eq!(r.pinpoint.len(), 1, "the application keeps its own section");
    assert_eq!(r.account.as_deref(), Some("123456789012"));
    assert_eq!(r.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn a_denied_domain_is_partial_and_names_the_domain() {
    let mut d = shard_in(TargetKind::CustomerProfiles, "d1", 3, 2);
    d.targets.extend(shard("a", 3, 0).targets);
    let r = both(vec![d]);
    assert_eq!(r.outcome, Outcome::Partial);
    let why = r.reason.expect("a reason");
    assert!(
        why.contains("2 users' profiles could not be deleted in Customer Profiles domain d1"),
        "{why}"
    );
    assert_eq!(r.customer_profiles[0].verified_absent, 1);
}

#[test]
fn a_configured_domain_that_reported_nothing_is_never_complete() {
    let r = both(vec![shard("a", 3, 0)]);
    assert_eq!(r.outcome, Outcome::Partial);
    assert!(r
        .reason
        .expect("a reason")
        .contains("Customer Profiles domain d1 handled 0 of 3 users"));
}

#[test]
fn nobody_erased_in_any_destination_is_failed() {
    let mut d = shard_in(TargetKind::CustomerProfiles, "d1", 3, 2);
    let mut a = shard("a", 3, 2);
    for t in [&mut d.targets[0], &mut a.targets[0]] {
        (t.failed_users, t.users_without_items) = (3, 0);
    }
    d.targets.extend(a.targets);
    assert_eq!(both(vec![d]).outcome, Outcome::Failed);
}

#[test]
fn a_version_2_receipt_still_reads() {
    let mut r = accepted(
        1,
        vec![job(JobState::Completed, None)],
        vec![shard("a", 3, 0)],
        &["a"],
    );
    r.schema_version = "2".into();
    r.account = None;
    r.region = None;
    let mut v2 = serde_json::to_value(&r).expect("JSON");
    let obj = v2.as_object_mut().expect("an object");
    obj.remove("customerProfiles");
    let read: Receipt = serde_json::from_value(v2).expect("a version 2 receipt reads");
    assert!(read.customer_profiles.is_empty());
    assert_eq!(read.pinpoint, r.pinpoint);
}

#[test]
fn an_unusable_application_is_one_sentence_naming_why() {
    let why = "access denied (missing permission, or unreachable since Pinpoint's end of support on 2026-10-30)";
    let mut s = shard_in(TargetKind::CustomerProfiles, "d1", 3, 0);
    let mut a = shard("a", 3, 2);
    a.targets[0].failed_users = 3;
    a.targets[0].users_without_items = 0;
    a.targets[0].failure_reasons = [(why.to_string(), 3)].into();
    a.targets[0].unusable = Some(why.into());
    s.targets.extend(a.targets);
    let r = both(vec![s]);
    assert_eq!(r.outcome, Outcome::Partial, "the domain erased everyone");
    assert_eq!(r.pinpoint[0].unusable.as_deref(), Some(why));
    let reason = r.reason.expect("a reason");
    assert_eq!(
        reason,
        format!("Pinpoint application a could not be used: {why}; 3 users' endpoints there were not deleted")
    );
}

#[test]
fn a_groups_models_read_as_one_line_for_a_person() {
    use super::models::*;
    let mut record = ModelsRecord::default();
    let g = record.group("arn:g", RetrainMode::Full);
    g.status = ModelsStatus::Retrained;
    g.retraining.push(Retraining {
        solution_arn: "arn:s".into(),
        solution_version_arn: Some("arn:s/v2".into()),
        training_mode: "FULL".into(),
        status: "ACTIVE".into(),
        joined: true,
        training_hours: Some(Hours(1.5)),
        trained_at: Some("2026-12-01T14:02:31Z".into()),
        failure_reason: None,
        waiting_for: None,
        campaigns: vec![CampaignEntry {
            campaign_arn: "arn:c".into(),
            status: "ACTIVE".into(),
            solution_version_arn: Some("arn:s/v2".into()),
            failure_reason: None,
        }],
    });
    assert_eq!(
        g.summary(),
        "RETRAINED after the deletion: arn:s/v2 joined (1 campaign(s) on it)"
    );
    g.status = ModelsStatus::Failed;
    g.reason = Some("not retrained: arn:s: InsufficientData".into());
    assert_eq!(
        g.summary(),
        "NOT RETRAINED: not retrained: arn:s: InsufficientData"
    );
    g.status = ModelsStatus::NothingToRetrain;
    g.recommenders.push(RecommenderEntry {
        recommender_arn: "arn:r".into(),
        status: "ACTIVE".into(),
        retrained_by: Some("2026-12-08T10:00:00Z".into()),
    });
    assert_eq!(
        g.summary(),
        "NO CUSTOM MODEL: its recommenders are retrained by AWS by 2026-12-08T10:00:00Z"
    );
    // A receipt written before retraining existed still reads, without models.
    let old = serde_json::to_value(accepted(
        1,
        vec![job(JobState::Completed, None)],
        vec![],
        &[],
    ))
    .unwrap();
    let mut old = old.as_object().unwrap().clone();
    old.remove("personalizeModels");
    let back: Receipt = serde_json::from_value(serde_json::Value::Object(old)).unwrap();
    assert!(back.personalize_models.is_empty());
}
