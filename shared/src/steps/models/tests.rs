//! The models step on the in-memory ports: the check before the deletion jobs, and the
//! retraining after them, with two requests sharing one solution.

use super::*;
use crate::memory::{MemoryJobs, MemoryModels, MemoryStore};
use crate::naming::RequestId;
use crate::payload::{JobSpec, JobState, MapPlan, RequestObject, ResultsLocation, S3Ref};
use crate::ports::{Activity, ActivityKind, DeletionJobs, NewJob, VersionInfo};
use crate::receipt::models::{ModelsRecord, ModelsStatus};

const BUCKET: &str = "bucket";
const GROUP: &str = "arn:aws:personalize:us-east-1:123456789012:dataset-group/shop";
const SOLUTION: &str = "arn:aws:personalize:us-east-1:123456789012:solution/shop-recs";
const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/shop";

fn cfg() -> ModelsConfig {
    ModelsConfig {
        work_prefix: "work/".into(),
        dataset_group_arns: vec![GROUP.into()],
        quiesce: QuiescePolicy::Wait,
        quiesce_max_wait_seconds: 3600,
        quiesce_poll_seconds: 60,
        retrain: RetrainMode::Full,
        poll_seconds: 60,
        max_wait_seconds: 172_800,
        max_job_wait_seconds: 172_800,
    }
}

fn request(name: &str) -> RequestObject {
    let id = RequestId::derive(BUCKET, name, "etag");
    RequestObject {
        mode: Default::default(),
        uploader: None,
        bucket: BUCKET.into(),
        key: name.into(),
        version_id: None,
        etag: "etag".into(),
        size: 10,
        request_id: id,
        sha256: None,
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The request's deletion job, created and COMPLETED (it ends one second after its creation,
/// at about `now()`); returns the jobs' plan.
async fn completed_job(store: &MemoryStore, jobs: &MemoryJobs, req: &RequestObject) -> MapPlan {
    let id = &req.request_id;
    jobs.script(&[JobState::Completed]);
    jobs.create(&NewJob {
        name: id.job_name(GROUP, 0),
        dataset_group_arn: GROUP.into(),
        data_location: "s3://bucket/part".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        tags: vec![],
    })
    .await
    .unwrap();
    let spec = JobSpec {
        request_id: id.clone(),
        dataset_group_arn: GROUP.into(),
        part: 0,
        data_location: "s3://bucket/part".into(),
        users: 3,
    };
    let key = id.job_manifest_key("work/");
    store
        .put(
            BUCKET,
            &key,
            serde_json::to_vec(&[spec]).unwrap(),
            "application/json",
            None,
        )
        .await
        .unwrap();
    MapPlan {
        manifest: S3Ref {
            bucket: BUCKET.into(),
            key,
        },
        results: ResultsLocation {
            bucket: BUCKET.into(),
            prefix: "r".into(),
        },
        count: 1,
    }
}

/// One request whose deletion job completed (at about `now()`), with its stores.
struct After {
    store: MemoryStore,
    jobs: MemoryJobs,
    models: MemoryModels,
    req: RequestObject,
    plan: MapPlan,
    t: i64,
}

impl After {
    async fn new(name: &str) -> After {
        let (store, jobs, models) = (
            MemoryStore::default(),
            MemoryJobs::default(),
            MemoryModels::default(),
        );
        let req = request(name);
        let plan = completed_job(&store, &jobs, &req).await;
        After {
            store,
            jobs,
            models,
            req,
            plan,
            t: now(),
        }
    }
}

async fn record(store: &MemoryStore, req: &RequestObject) -> ModelsRecord {
    read_record(store, BUCKET, &req.request_id.models_key("work/"))
        .await
        .unwrap()
}

fn import(status: &str, created: i64) -> Activity {
    Activity {
        kind: ActivityKind::DatasetImport,
        arn: format!("arn:aws:personalize:us-east-1:123456789012:dataset-import-job/i{created}"),
        status: status.into(),
        created_epoch: Some(created),
        training_mode: None,
        locations: vec!["s3://team-data/interactions.csv".into()],
    }
}

fn version(arn: &str, status: &str, mode: &str, created: i64) -> VersionInfo {
    VersionInfo {
        arn: arn.into(),
        status: status.into(),
        training_mode: Some(mode.into()),
        created_epoch: Some(created),
        training_hours: None,
        failure_reason: None,
        updated_epoch: Some(created),
    }
}

async fn preflight(
    cfg: &ModelsConfig,
    store: &MemoryStore,
    models: &MemoryModels,
    req: &RequestObject,
    at: i64,
) -> crate::payload::ModelsStep {
    super::preflight::run(cfg, store, models, req, at)
        .await
        .unwrap()
}

async fn retrain(
    cfg: &ModelsConfig,
    store: &MemoryStore,
    jobs: &MemoryJobs,
    models: &MemoryModels,
    req: &RequestObject,
    plan: &MapPlan,
    at: i64,
) -> crate::payload::ModelsStep {
    super::retrain::run(cfg, store, jobs, models, req, Some(plan), at)
        .await
        .unwrap()
}

// --- the rule ---------------------------------------------------------------------------------

#[test]
fn a_full_training_created_after_the_deletion_serves_it_and_an_earlier_one_is_waited_for() {
    let earlier = version("v-early", "CREATE IN_PROGRESS", "FULL", 90);
    let later = version("v-late", "CREATE IN_PROGRESS", "FULL", 110);
    assert_eq!(
        choose(std::slice::from_ref(&earlier), 100),
        Choice::Wait("v-early".into())
    );
    assert_eq!(
        choose(&[earlier, later], 100),
        Choice::Join("v-late".into())
    );
    // An ACTIVE full version trained after the deletion serves too: no new training.
    let done = version("v-done", "ACTIVE", "FULL", 120);
    assert_eq!(choose(&[done], 100), Choice::Join("v-done".into()));
    // An UPDATE training is not a full retraining, even if it started later.
    let update = version("v-upd", "CREATE IN_PROGRESS", "UPDATE", 130);
    assert_eq!(choose(&[update], 100), Choice::Wait("v-upd".into()));
    // A failed one serves nobody; nothing in flight: train.
    let failed = version("v-f", "CREATE FAILED", "FULL", 130);
    assert_eq!(choose(&[failed], 100), Choice::Train);
    // Created in the very second the deletion ended: it may have read the data before the end.
    assert_eq!(
        choose(&[version("v-same", "ACTIVE", "FULL", 100)], 100),
        Choice::Train
    );
}

// --- before the jobs --------------------------------------------------------------------------

#[tokio::test]
async fn an_import_in_progress_is_waited_for_and_recorded_then_the_deletion_goes_ahead() {
    let (store, models, req) = (
        MemoryStore::default(),
        MemoryModels::default(),
        request("a.csv"),
    );
    models.activity(GROUP, import("CREATE IN_PROGRESS", 1000));
    models.event_tracker(
        GROUP,
        "arn:aws:personalize:us-east-1:123456789012:event-tracker/t",
    );
    let first = preflight(&cfg(), &store, &models, &req, 2000).await;
    assert!(!first.done, "an import runs: wait");
    assert_eq!(first.next_poll_seconds, 60);
    models.finish_trainings();
    let second = preflight(&cfg(), &store, &models, &req, 2600).await;
    assert!(second.done);
    let g = &record(&store, &req).await.groups[0];
    let p = g.preflight.as_ref().unwrap();
    assert_eq!(p.proceeded, "QUIET");
    assert_eq!(p.waited_seconds, 600);
    assert_eq!(p.found.len(), 1, "what ran at the first check is kept");
    assert_eq!(p.found[0].kind, ActivityKind::DatasetImport);
    assert!(p.still_running.is_empty());
    assert_eq!(g.event_trackers.len(), 1, "event trackers are named");
    // Checked again after it went ahead, nothing changes.
    assert!(preflight(&cfg(), &store, &models, &req, 9000).await.done);
    assert_eq!(models.calls("Survey"), 2);
}

#[tokio::test]
async fn proceed_records_what_runs_and_a_wait_that_runs_out_goes_ahead_anyway() {
    let (store, models) = (MemoryStore::default(), MemoryModels::default());
    models.activity(GROUP, import("CREATE IN_PROGRESS", 1000));
    let proceed = ModelsConfig {
        quiesce: QuiescePolicy::Proceed,
        ..cfg()
    };
    let req = request("p.csv");
    assert!(preflight(&proceed, &store, &models, &req, 2000).await.done);
    let p = record(&store, &req).await.groups[0]
        .preflight
        .clone()
        .unwrap();
    assert_eq!(
        (p.proceeded.as_str(), p.still_running.len()),
        ("POLICY_PROCEED", 1)
    );

    let req = request("w.csv");
    assert!(!preflight(&cfg(), &store, &models, &req, 2000).await.done);
    assert!(
        preflight(&cfg(), &store, &models, &req, 2000 + 3600)
            .await
            .done
    );
    let p = record(&store, &req).await.groups[0]
        .preflight
        .clone()
        .unwrap();
    assert_eq!(p.proceeded, "MAX_WAIT_REACHED");
    assert_eq!(p.waited_seconds, 3600);
    assert_eq!(p.still_running.len(), 1);
}

#[tokio::test]
async fn a_group_that_cannot_be_checked_is_recorded_and_does_not_hold_up_the_deletion() {
    let (store, models, req) = (
        MemoryStore::default(),
        MemoryModels::default(),
        request("f.csv"),
    );
    models.group(GROUP);
    models.fail_next(
        "Survey",
        vec![ErasureError::Forbidden("ListDatasets: AccessDenied".into())],
    );
    assert!(preflight(&cfg(), &store, &models, &req, 1).await.done);
    let p = record(&store, &req).await.groups[0]
        .preflight
        .clone()
        .unwrap();
    assert_eq!(p.proceeded, "NOT_CHECKED");
    assert!(p.error.unwrap().contains("AccessDenied"));
    // A throttled check is for Step Functions to retry.
    let req = request("t.csv");
    models.fail_next("Survey", vec![ErasureError::Throttled("slow down".into())]);
    let err = super::preflight::run(&cfg(), &store, &models, &req, 1)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Throttled");
}

// --- after the jobs ---------------------------------------------------------------------------

#[tokio::test]
async fn the_solution_is_retrained_and_its_campaign_moved_to_the_new_version() {
    let w = After::new("r.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    let initial = models.solution(GROUP, SOLUTION, t - 86_400);
    models.campaign(SOLUTION, CAMPAIGN, &initial, false);
    models.set_now(t + 10);

    let step = retrain(&cfg(), store, jobs, models, req, plan, t + 10).await;
    assert!(!step.done);
    assert_eq!(models.calls("CreateSolutionVersion"), 1);
    let new = models.versions_of(SOLUTION).last().unwrap().arn.clone();
    assert!(models
        .tags_of(&new)
        .iter()
        .any(|(k, _)| k.ends_with(req.request_id.as_str())));

    models.finish_trainings();
    assert!(
        !retrain(&cfg(), store, jobs, models, req, plan, t + 20)
            .await
            .done
    );
    assert_eq!(models.calls("UpdateCampaign"), 1);
    models.finish_updates();
    assert!(
        retrain(&cfg(), store, jobs, models, req, plan, t + 30)
            .await
            .done
    );

    assert_eq!(models.serving(CAMPAIGN).as_deref(), Some(new.as_str()));
    let g = &record(store, req).await.groups[0];
    assert_eq!(g.status, ModelsStatus::Retrained);
    let r = &g.retraining[0];
    assert_eq!((r.status.as_str(), r.joined), ("ACTIVE", false));
    assert_eq!(r.solution_version_arn.as_deref(), Some(new.as_str()));
    assert_eq!(r.training_hours.map(|h| h.0), Some(1.5));
    assert_eq!(r.campaigns[0].status, "ACTIVE");
    // Done is done: nothing is called again.
    assert!(
        retrain(&cfg(), store, jobs, models, req, plan, t + 40)
            .await
            .done
    );
    assert_eq!(models.calls("CreateSolutionVersion"), 1);
}

#[tokio::test]
async fn overlapping_requests_share_a_training_only_when_it_started_after_their_deletion() {
    let (store, jobs, models) = (
        MemoryStore::default(),
        MemoryJobs::default(),
        MemoryModels::default(),
    );
    let (a, b) = (request("a.csv"), request("b.csv"));
    let plan_a = completed_job(&store, &jobs, &a).await;
    let plan_b = completed_job(&store, &jobs, &b).await;
    let t = now();
    models.solution(GROUP, SOLUTION, t - 86_400);
    // A starts a training after both deletions ended: B joins it, with no training of its own.
    models.set_now(t + 10);
    retrain(&cfg(), &store, &jobs, &models, &a, &plan_a, t + 10).await;
    retrain(&cfg(), &store, &jobs, &models, &b, &plan_b, t + 11).await;
    assert_eq!(models.calls("CreateSolutionVersion"), 1);
    let shared = models.versions_of(SOLUTION).last().unwrap().arn.clone();
    let rb = record(&store, &b).await.groups[0].retraining[0].clone();
    assert!(rb.joined);
    assert_eq!(rb.solution_version_arn.as_deref(), Some(shared.as_str()));
    assert!(models
        .tags_of(&shared)
        .iter()
        .any(|(k, _)| k.ends_with(b.request_id.as_str())));

    // Both end with the same version serving the campaign, moved once.
    models.campaign(SOLUTION, CAMPAIGN, &format!("{SOLUTION}/initial"), false);
    models.finish_trainings();
    retrain(&cfg(), &store, &jobs, &models, &a, &plan_a, t + 20).await;
    retrain(&cfg(), &store, &jobs, &models, &b, &plan_b, t + 21).await;
    models.finish_updates();
    assert!(
        retrain(&cfg(), &store, &jobs, &models, &a, &plan_a, t + 30)
            .await
            .done
    );
    assert!(
        retrain(&cfg(), &store, &jobs, &models, &b, &plan_b, t + 31)
            .await
            .done
    );
    assert_eq!(
        models.calls("UpdateCampaign"),
        1,
        "B found A's update under way, then done"
    );
    for req in [&a, &b] {
        let g = &record(&store, req).await.groups[0];
        assert_eq!(g.status, ModelsStatus::Retrained);
        assert_eq!(
            g.retraining[0].campaigns[0].solution_version_arn.as_deref(),
            Some(shared.as_str())
        );
    }
}

#[tokio::test]
async fn a_request_whose_deletion_ended_after_a_training_started_waits_for_the_next_one() {
    let w = After::new("late.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    models.solution(GROUP, SOLUTION, t - 86_400);
    // Another request's training started before this deletion ended.
    models.add_version(
        SOLUTION,
        version(
            &format!("{SOLUTION}/other"),
            "CREATE IN_PROGRESS",
            "FULL",
            t - 5,
        ),
    );
    models.set_now(t + 100);
    assert!(
        !retrain(&cfg(), store, jobs, models, req, plan, t + 100)
            .await
            .done
    );
    assert_eq!(
        models.calls("CreateSolutionVersion"),
        0,
        "at most one training in flight"
    );
    let r = record(store, req).await.groups[0].retraining[0].clone();
    assert_eq!(r.status, "WAITING");
    assert!(r.waiting_for.unwrap().contains("/other"));

    models.finish_trainings();
    retrain(&cfg(), store, jobs, models, req, plan, t + 200).await;
    assert_eq!(
        models.calls("CreateSolutionVersion"),
        1,
        "then the next one starts"
    );
    let r = record(store, req).await.groups[0].retraining[0].clone();
    assert!(!r.joined);
    assert_ne!(
        r.solution_version_arn.as_deref(),
        Some(format!("{SOLUTION}/other").as_str())
    );
}

#[tokio::test]
async fn another_requests_fresh_claim_makes_it_wait_and_a_stale_one_is_taken_over() {
    let w = After::new("claim.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    models.solution(GROUP, SOLUTION, t - 86_400);
    let other = RequestId::derive(BUCKET, "other.csv", "e");
    let held = lock::claim(store, BUCKET, "work/", SOLUTION, &other, t + 5)
        .await
        .unwrap();
    assert!(held.is_some());
    retrain(&cfg(), store, jobs, models, req, plan, t + 10).await;
    assert_eq!(models.calls("CreateSolutionVersion"), 0);
    let r = record(store, req).await.groups[0].retraining[0].clone();
    assert!(r.waiting_for.unwrap().contains("another request"));
    // The other invocation cannot still be running after CLAIM_SECONDS.
    retrain(
        &cfg(),
        store,
        jobs,
        models,
        req,
        plan,
        t + 10 + lock::CLAIM_SECONDS,
    )
    .await;
    assert_eq!(models.calls("CreateSolutionVersion"), 1);
}

#[tokio::test]
async fn a_failed_training_fails_the_groups_models_with_its_reason() {
    let w = After::new("fail.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    let other = format!("{SOLUTION}-2");
    models.solution(GROUP, SOLUTION, t - 86_400);
    models.solution(GROUP, &other, t - 86_400);
    models.fail_trainings(&other, "Insufficient data");
    models.set_now(t + 10);
    retrain(&cfg(), store, jobs, models, req, plan, t + 10).await;
    models.finish_trainings();
    assert!(
        retrain(&cfg(), store, jobs, models, req, plan, t + 20)
            .await
            .done
    );
    let g = &record(store, req).await.groups[0];
    assert_eq!(g.status, ModelsStatus::Failed);
    assert!(g.reason.as_deref().unwrap().contains("Insufficient data"));
    let statuses: Vec<_> = g.retraining.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["ACTIVE", "CREATE FAILED"]);
}

#[tokio::test]
async fn no_retraining_by_choice_still_records_residue_recommenders_and_concurrent_imports() {
    let w = After::new("none.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    models.solution(GROUP, SOLUTION, t - 86_400);
    models.activity(GROUP, import("ACTIVE", t - 86_400));
    models.activity(GROUP, import("ACTIVE", t)); // during the job
    models.recommender(
        GROUP,
        "arn:aws:personalize:us-east-1:123456789012:recommender/r",
        "ACTIVE",
    );
    let none = ModelsConfig {
        retrain: RetrainMode::None,
        ..cfg()
    };
    assert!(
        retrain(&none, store, jobs, models, req, plan, t + 10)
            .await
            .done
    );
    assert_eq!(models.calls("CreateSolutionVersion"), 0);
    let g = &record(store, req).await.groups[0];
    assert_eq!(g.status, ModelsStatus::NotRetrained);
    assert!(g.reason.as_deref().unwrap().contains("not retrained"));
    assert_eq!(
        g.concurrent_activity.len(),
        1,
        "the import created while the job ran"
    );
    assert_eq!(g.residue.len(), 1, "one location, listed once");
    assert_eq!(g.residue[0].location, "s3://team-data/interactions.csv");
    let completed = g.jobs_completed_at.clone().unwrap();
    let by = g.recommenders[0].retrained_by.clone().unwrap();
    assert!(by > completed, "retrained by a week after the deletion");
}

#[tokio::test]
async fn a_campaign_that_follows_the_latest_version_is_not_updated_and_says_so() {
    let w = After::new("sync.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    let initial = models.solution(GROUP, SOLUTION, t - 86_400);
    models.campaign(SOLUTION, CAMPAIGN, &initial, true);
    models.set_now(t + 10);
    retrain(&cfg(), store, jobs, models, req, plan, t + 10).await;
    models.finish_trainings();
    assert!(
        retrain(&cfg(), store, jobs, models, req, plan, t + 20)
            .await
            .done
    );
    assert_eq!(models.calls("UpdateCampaign"), 0);
    let g = &record(store, req).await.groups[0];
    assert_eq!(g.status, ModelsStatus::Retrained);
    assert_eq!(g.retraining[0].campaigns[0].status, "SYNCS_WITH_LATEST");
}

#[tokio::test]
async fn a_failed_deletion_job_means_no_retraining_and_a_reason() {
    let w = After::new("jobfail.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    w.jobs.script(&[JobState::Failed]);
    models.solution(GROUP, SOLUTION, 1);
    assert!(
        retrain(&cfg(), store, jobs, models, req, plan, now())
            .await
            .done
    );
    let g = &record(store, req).await.groups[0];
    assert_eq!(g.status, ModelsStatus::NotStarted);
    assert!(g.reason.as_deref().unwrap().contains("FAILED"));
    assert_eq!(models.calls("CreateSolutionVersion"), 0);
}

#[tokio::test]
async fn a_training_still_running_after_the_wait_is_given_up_on() {
    let w = After::new("slow.csv").await;
    let (store, jobs, models, req, plan) = (&w.store, &w.jobs, &w.models, &w.req, &w.plan);
    let t = w.t;
    models.solution(GROUP, SOLUTION, t - 86_400);
    models.set_now(t + 10);
    retrain(&cfg(), store, jobs, models, req, plan, t + 10).await;
    let step = retrain(&cfg(), store, jobs, models, req, plan, t + 172_900).await;
    assert!(step.done);
    let g = &record(store, req).await.groups[0];
    assert_eq!(g.status, ModelsStatus::Failed);
    assert_eq!(g.retraining[0].status, "WAIT_EXCEEDED");
}

/// A preview's models step: the jobs a request would create, what runs now, and the solutions
/// and campaigns it would retrain with their last training hours; nothing created or changed.
#[tokio::test]
async fn a_plan_reads_the_group_and_changes_nothing() {
    let a = After::new("plans/a.csv").await;
    let first = a.models.solution(GROUP, SOLUTION, a.t - 86_400);
    a.models.campaign(SOLUTION, CAMPAIGN, &first, false);
    a.models.add_version(
        SOLUTION,
        VersionInfo {
            arn: format!("{SOLUTION}/newer"),
            status: "ACTIVE".into(),
            training_mode: Some("FULL".into()),
            created_epoch: Some(a.t - 3600),
            training_hours: Some(2.5),
            failure_reason: None,
            updated_epoch: Some(a.t - 3600),
        },
    );
    a.models.activity(
        GROUP,
        Activity {
            kind: ActivityKind::DatasetImport,
            arn: "arn:aws:personalize:us-east-1:123456789012:dataset-import-job/nightly".into(),
            status: "CREATE IN_PROGRESS".into(),
            created_epoch: Some(a.t - 60),
            training_mode: None,
            locations: vec![],
        },
    );
    let input = ModelsInput::Plan {
        request: a.req.clone(),
        jobs: Some(a.plan.clone()),
    };
    let step = handle(&cfg(), &a.store, &a.jobs, &a.models, input)
        .await
        .unwrap();
    assert!(step.done);
    let key = a.req.request_id.models_plan_key("work/");
    let plan: crate::receipt::plan::PersonalizePlan =
        serde_json::from_slice(&a.store.get_now(BUCKET, &key).unwrap()).unwrap();
    let [g] = plan.groups.as_slice() else {
        panic!("one group")
    };
    assert_eq!((g.deletion_jobs, g.users), (1, 3));
    assert_eq!(
        g.running_now.len(),
        1,
        "the import the erasure would wait for"
    );
    let [s] = g.solutions.as_slice() else {
        panic!("one solution")
    };
    assert_eq!(
        s.last_version_arn.as_deref(),
        Some(&*format!("{SOLUTION}/newer"))
    );
    assert_eq!(s.last_training_hours.map(|h| h.0), Some(2.5));
    assert_eq!(s.campaigns, [CAMPAIGN]);
    assert_eq!(g.estimated_training_hours.map(|h| h.0), Some(2.5));
    // Something runs and the policy waits: the latest end counts the quiet wait, the job wait
    // and the retraining wait.
    let expected = crate::clock::epoch_rfc3339(a.t + 3600 + 172_800 + 172_800);
    let got = plan.latest_end.unwrap();
    assert!(got[..15] == expected[..15], "{got} vs {expected}");
    for op in ["CreateSolutionVersion", "TagResource", "UpdateCampaign"] {
        assert_eq!(a.models.calls(op), 0, "{op}");
    }
    assert!(
        a.store
            .get_now(BUCKET, &a.req.request_id.models_key("work/"))
            .is_none(),
        "no models record of a real run"
    );
}
