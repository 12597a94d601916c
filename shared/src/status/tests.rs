use super::*;
use crate::naming::RequestId;
use crate::payload::{Mode, TargetShardResult};
use crate::shard_progress::TargetProgress;

const T0: i64 = 1_800_000_000;

fn id() -> RequestId {
    "0123456789abcdef0123456789abcdef".parse().expect("an ID")
}

fn ev(kind: &str, at: i64, state: &str) -> Event {
    Event {
        kind: kind.into(),
        at: T0 + at,
        state: Some(state.into()),
        output: None,
    }
}

fn shard(index: u32, users: u64) -> ShardSpec {
    ShardSpec {
        request_id: id(),
        bucket: "b".into(),
        key: format!("work/x/pinpoint/shard-{index:05}.csv"),
        index,
        users,
        mode: Mode::Erase,
        execution: None,
    }
}

fn progress(done: u64, deleted: u64, failed: u64, complete: bool, throttled: u64) -> ShardProgress {
    let mut t = TargetProgress::new(TargetKind::CustomerProfiles, "crm");
    t.done = done;
    t.result = TargetShardResult {
        items_deleted: deleted,
        ..t.result
    };
    t.failed = (0..failed)
        .map(|i| (i, "access denied".to_string()))
        .collect();
    ShardProgress {
        targets: vec![t],
        complete,
        execution: None,
        handbacks: 0,
        pacing: vec![QuotaUse {
            api: "SearchProfiles".into(),
            account_rate: 100.0,
            share: 40.0,
            current_rate: if throttled > 0 { 20.0 } else { 40.0 },
            holders: 2,
            throttled,
        }],
    }
}

fn running(events: Vec<Event>, now: i64) -> Sources {
    Sources {
        execution: Some(Execution {
            name: id().execution_name(),
            arn: "arn:aws:states:eu-west-1:1:execution:sm:x".into(),
            status: "RUNNING".into(),
            started: T0,
            stopped: None,
        }),
        events,
        now: T0 + now,
        ..Default::default()
    }
}

#[test]
fn the_running_states_are_those_entered_and_not_exited() {
    let events = vec![
        ev("TaskStateEntered", 0, "PrepareRequest"),
        ev("TaskStateExited", 5, "PrepareRequest"),
        ev("ParallelStateEntered", 5, "Erase"),
        ev("MapStateEntered", 6, "DeletionJobs"),
        ev("MapStateEntered", 6, "Shards"),
        ev("MapStateExited", 50, "Shards"),
    ];
    let names: Vec<String> = running_states(&events)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(names, ["Erase", "DeletionJobs"]);
}

#[test]
fn a_running_request_sums_its_shards_and_estimates_the_time_left_from_the_rate_so_far() {
    let mut src = running(
        vec![
            ev("ParallelStateEntered", 0, "Erase"),
            ev("MapStateEntered", 10, "Shards"),
        ],
        110,
    );
    src.shards = Some(vec![shard(0, 100), shard(1, 100), shard(2, 50)]);
    // Shard 0 is done (2 failed), shard 1 is a fifth of the way; shard 2 has not started.
    src.progress = vec![
        (0, progress(100, 130, 2, true, 3), None),
        (1, progress(20, 25, 0, false, 1), None),
    ];
    let s = summarize(&src).expect("a status");
    let [t] = s.targets.as_slice() else {
        panic!("one destination: {:?}", s.targets)
    };
    assert_eq!(
        (t.done, t.total, t.items_deleted, t.failed),
        (120, 250, 155, 2)
    );
    // 120 users in 100 s: 1.2/s, so 130 left take 109 s.
    assert_eq!((t.users_per_second, t.eta_seconds), (Some(1.2), Some(109)));
    assert_eq!(s.shards, Some((1, 3)));
    // The pacing of the shard still working; the throttles of all of them.
    let [p] = s.pacing.as_slice() else {
        panic!("one API")
    };
    assert_eq!(
        (p.api.as_str(), p.configured, p.current, p.throttled),
        ("SearchProfiles", 80.0, 20.0, 4)
    );
    assert!(
        s.waiting_for
            .iter()
            .any(|w| w == "Customer Profiles domain crm: 120 of 250 users handled"),
        "{:?}",
        s.waiting_for
    );
    assert!(s.waiting_for.iter().any(
        |w| w.starts_with("throttling: SearchProfiles answered \"too many requests\" 4 times")
    ));
    assert!(!s.ended());
}

#[test]
fn a_job_not_ended_is_what_the_personalize_branch_waits_for() {
    let mut src = running(vec![ev("MapStateEntered", 0, "DeletionJobs")], 600);
    let spec = |part| JobSpec {
        request_id: id(),
        dataset_group_arn: "arn:aws:personalize:eu-west-1:1:dataset-group/shop".into(),
        part,
        data_location: format!("s3://b/work/x/personalize/part-{part:03}.csv"),
        users: 10,
    };
    src.jobs = vec![
        JobSeen {
            spec: spec(0),
            name: "erasure-x-p000".into(),
            state: Some(JobState::Completed),
            created: Some(T0),
            num_deleted: Some(30),
        },
        JobSeen {
            spec: spec(1),
            name: "erasure-x-p001".into(),
            state: Some(JobState::Pending),
            created: Some(T0 + 120),
            num_deleted: None,
        },
    ];
    let s = summarize(&src).expect("a status");
    let [g] = s.personalize.as_slice() else {
        panic!("one group")
    };
    assert_eq!((g.jobs_ended, g.jobs_total), (1, 2));
    assert_eq!(g.jobs[0].records_deleted, Some(30));
    assert_eq!(
        s.waiting_for,
        ["Personalize deletion job erasure-x-p001 (10 users): PENDING, created 8 min ago"]
    );
}

#[test]
fn an_ended_request_waits_for_nothing_and_carries_its_receipt() {
    let mut src = running(vec![ev("TaskStateEntered", 0, "PrepareRequest")], 60);
    if let Some(e) = src.execution.as_mut() {
        e.status = "SUCCEEDED".into();
        e.stopped = Some(T0 + 50);
    }
    let receipt: Receipt = serde_json::from_value(serde_json::json!({
        "schemaVersion": "1", "requestId": id().as_str(), "executionName": id().execution_name(),
        "outcome": "COMPLETED", "startedAt": "2027-01-15T08:00:00Z", "finishedAt": "2027-01-15T08:00:50Z",
        "request": {"bucket": "b", "key": "requests/a.csv", "etag": "e", "rows": 4, "validUsers": 4,
                    "duplicates": 0, "rejectedRows": 0, "rejections": []},
        "personalize": [{"datasetGroupArn": "arn:g", "part": 0, "users": 4, "jobName": "erasure-x-p000",
                         "status": "COMPLETED", "numDeleted": 12}],
        "pinpoint": [{"applicationId": "app", "usersProcessed": 4, "endpointsDeleted": 7,
                      "usersWithoutEndpoints": 1, "failedUsers": 0}]
    }))
    .expect("a receipt");
    src.receipt = Some((Box::new(receipt), "s3://b/receipts/erasure-x.json".into()));
    let s = summarize(&src).expect("a status");
    assert!(s.ended() && s.waiting_for.is_empty());
    assert_eq!(s.outcome, Some(Outcome::Completed));
    assert_eq!(s.days_left, None, "a COMPLETED request is off the clock");
    // The counts are the receipt's (the work objects are gone once it is written).
    let [t] = s.targets.as_slice() else {
        panic!("one destination")
    };
    assert_eq!(
        (t.done, t.total, t.items_deleted, t.users_without_items),
        (4, 4, 7, 1)
    );
    assert_eq!(s.personalize[0].jobs[0].records_deleted, Some(12));
    assert_eq!(
        (s.personalize[0].jobs_ended, s.personalize[0].jobs_total),
        (1, 1)
    );
}

#[test]
fn the_prepared_output_is_read_from_the_prepare_steps_exit() {
    let out = serde_json::json!({"request": {}, "prepared": {
        "verdict": "ACCEPTED", "stats": {"rows": 3, "validUsers": 3, "duplicates": 0, "rejectedRows": 0, "blankLines": 0, "rejections": []},
        "request": {"bucket": "b", "key": "requests/a.csv", "etag": "e", "size": 10,
                    "requestId": id().as_str()}}});
    let mut e = ev("TaskStateExited", 3, "PrepareRequest");
    e.output = Some(out.to_string());
    let p = prepared(&[e]);
    assert_eq!(p.map(|p| p.stats.valid_users), Some(3));
}

#[test]
fn days_are_counted_to_the_due_date_in_utc() {
    // T0 is 2027-01-15.
    assert_eq!(days_until("2027-01-15", T0), Some(0));
    assert_eq!(days_until("2027-02-15", T0), Some(31));
    assert_eq!(days_until("2027-01-10", T0), Some(-5));
    assert_eq!(days_until("soon", T0), None);
}

#[test]
fn the_list_shows_days_left_only_for_requests_on_the_clock() {
    let exec = |name: String, status: &str| Execution {
        name,
        arn: String::new(),
        status: status.into(),
        started: T0 - 7200,
        stopped: None,
    };
    let other: RequestId = "f".repeat(32).parse().expect("an ID");
    let executions = [
        exec(format!("{}-retry-1", id().execution_name()), "RUNNING"),
        exec(other.execution_name(), "SUCCEEDED"),
    ];
    let open = [OpenRequest {
        request_sha256: "a".repeat(64),
        received_at: "2027-01-10T09:00:00Z".into(),
        request_id: id(),
        last_outcome: Some(Outcome::Partial),
        last_receipt: None,
        respond_by: crate::legal_clock::respond_by(
            crate::legal_clock::Regime::Gdpr,
            time::macros::date!(2027 - 01 - 10),
        ),
    }];
    let rows = list(
        &executions,
        &[(other.execution_name(), Outcome::Completed)],
        &open,
        T0,
    );
    assert_eq!(rows[0].due.as_deref(), Some("2027-02-10"));
    assert_eq!((rows[0].days_left, rows[0].age_seconds), (Some(26), 7200));
    assert_eq!(
        (rows[1].outcome, rows[1].days_left),
        (Some(Outcome::Completed), None)
    );
}
