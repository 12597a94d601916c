//! The receipt: the audit record of one request, and the rules that decide its outcome.
//! It holds counts, line numbers, ARNs and S3 keys, never a user ID.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::payload::{EvidenceFile, FinalizeInput, JobItem, ShardItem, Verdict};
use crate::request_csv::RowRejection;

/// The version of the receipt's layout.
pub const SCHEMA_VERSION: &str = "2";

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Every job completed and every user's endpoints are gone.
    Completed,
    /// Every Personalize job completed, but some users' endpoints could not be deleted.
    Partial,
    /// A Personalize job did not complete, nothing succeeded, or the workflow broke.
    Failed,
    /// The request file was invalid; nothing was deleted.
    Rejected,
    /// An operator stopped the execution; the receipt says what was done up to then.
    Aborted,
}

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSection {
    /// Bucket of the request file.
    pub bucket: String,
    /// Key of the request file.
    pub key: String,
    /// Version read, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag read.
    pub etag: String,
    /// SHA-256 of the bytes read (absent when the file was never read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Data rows.
    pub rows: u64,
    /// Distinct valid users.
    pub valid_users: u64,
    /// Repeated IDs.
    pub duplicates: u64,
    /// Rejected rows.
    pub rejected_rows: u64,
    /// The first rejected rows, by line and reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<RowRejection>,
    /// The file-level rejection code, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_code: Option<String>,
}

/// One Personalize deletion job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalizeEntry {
    /// Dataset group erased from.
    pub dataset_group_arn: String,
    /// Request part the job read.
    pub part: u32,
    /// Users in that part.
    pub users: u64,
    /// Deterministic job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Job ARN (absent when the job could not be created).
    pub job_arn: Option<String>,
    /// COMPLETED, FAILED, WAIT_EXCEEDED, or NOT_CREATED.
    pub status: String,
    /// Records deleted.
    pub num_deleted: Option<i64>,
    /// Why the job failed.
    pub failure_reason: Option<String>,
    /// Job creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Job's last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// One Pinpoint application, summed over shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinpointEntry {
    /// The application.
    pub application_id: String,
    /// Users handled.
    pub users_processed: u64,
    /// Endpoints deleted.
    pub endpoints_deleted: u64,
    /// Users with no endpoint there.
    pub users_without_endpoints: u64,
    /// Users whose endpoints could not be deleted.
    pub failed_users: u64,
    /// Failures by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, u64>,
    /// S3 objects listing the failed users (the request's own work objects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_users_keys: Vec<String>,
}

/// The audit record of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// Layout version.
    pub schema_version: String,
    /// The request's ID.
    pub request_id: String,
    /// The Step Functions execution.
    pub execution_name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, when not COMPLETED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was asked.
    pub request: RequestSection,
    /// Every deletion job.
    pub personalize: Vec<PersonalizeEntry>,
    /// Every Pinpoint application.
    pub pinpoint: Vec<PinpointEntry>,
    /// Keyed hashes that let an operator with the key answer "was user X in this request, and
    /// what happened to them?" (absent when no key is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// What the workflow deleted of the request's own copies of user IDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<Purge>,
    /// When the workflow started.
    pub started_at: String,
    /// When the receipt was written.
    pub finished_at: String,
}

/// The receipt's per-user evidence: keyed hashes only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// How user IDs are hashed (see `user_hash`).
    pub hash_algorithm: String,
    /// Users per Pinpoint shard: user N of the index was in shard N / shardUsers.
    pub shard_users: u64,
    /// Every valid user's hash, one per line, in the order of the parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_index: Option<EvidenceFile>,
    /// `USER_HASH,APPLICATION_ID,REASON` for every user whose endpoints could not be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_users: Option<EvidenceFile>,
}

/// What happened to the request's copies of user IDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purge {
    /// DELETED (the uploaded version, for good), KEPT (so the request can be retried; the
    /// bucket's lifecycle rule removes it after the retention period) or NOT_DELETED (the delete
    /// failed; `incomplete` says why, and the lifecycle rule removes it).
    pub request_object: String,
    /// Object versions deleted under the request's work folder.
    pub work_objects_deleted: u64,
    /// Why the purge did not finish (its time ran out, a delete was refused), when it did not:
    /// what is left is expired by the bucket's lifecycle rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// What the finalize step found the erasure steps did: every deletion job (one per dataset
/// group and part) and every Pinpoint shard, from the maps' result files, Personalize and the
/// shards' progress objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Every deletion job of the request, in the order of the job manifest.
    pub jobs: Vec<JobItem>,
    /// Every shard, in the order of the shard manifest.
    pub shards: Vec<ShardItem>,
}

impl Receipt {
    /// Builds the receipt from what the workflow reached (`found`: what the erasure steps did,
    /// when they ran), deciding the outcome.
    pub fn build(
        input: &FinalizeInput,
        found: Option<&Findings>,
        application_ids: &[String],
        finished_at: String,
    ) -> Receipt {
        let req = &input.request;
        let prepared = input.prepared.as_ref();
        let stats = prepared.map(|p| p.stats.clone()).unwrap_or_default();
        let read = prepared.map(|p| &p.request).unwrap_or(req);
        let request = RequestSection {
            bucket: read.bucket.clone(),
            key: read.key.clone(),
            version_id: read.version_id.clone(),
            etag: read.etag.clone(),
            sha256: read.sha256.clone(),
            rows: stats.rows,
            valid_users: stats.valid_users,
            duplicates: stats.duplicates,
            rejected_rows: stats.rejected_rows,
            rejections: stats.rejections.clone(),
            rejection_code: prepared.and_then(|p| p.reason_code.clone()),
        };
        let (jobs, shards) = match found {
            Some(f) => (f.jobs.as_slice(), f.shards.as_slice()),
            None => (&[][..], &[][..]),
        };
        let personalize: Vec<PersonalizeEntry> = jobs.iter().map(personalize_entry).collect();
        let pinpoint = pinpoint_entries(shards, application_ids);
        let (outcome, reason) = decide(input, found.is_some(), &personalize, &pinpoint);
        Receipt {
            schema_version: SCHEMA_VERSION.into(),
            request_id: req.request_id.clone(),
            execution_name: input.execution.name.clone(),
            outcome,
            reason,
            request,
            personalize,
            pinpoint,
            evidence: None,
            purge: None,
            started_at: input.execution.start_time.clone(),
            finished_at,
        }
    }
}

fn personalize_entry(item: &JobItem) -> PersonalizeEntry {
    let status = match (&item.check, &item.job) {
        (Some(c), _) if item.error.is_none() => c.status.clone(),
        (_, None) => "NOT_CREATED".into(),
        _ => "UNKNOWN".into(),
    };
    let failure_reason = match (&item.error, &item.check) {
        (Some(e), _) => Some(format!("{}: {}", e.error, e.cause)),
        (None, Some(c)) => c.failure_reason.clone(),
        (None, None) => Some("the job's status was never checked".into()),
    };
    PersonalizeEntry {
        dataset_group_arn: item.spec.dataset_group_arn.clone(),
        part: item.spec.part,
        users: item.spec.users,
        job_name: item.job.as_ref().map(|j| j.job_name.clone()),
        job_arn: item.job.as_ref().map(|j| j.job_arn.clone()),
        status,
        num_deleted: item.check.as_ref().and_then(|c| c.num_deleted),
        failure_reason,
        created_at: item.check.as_ref().and_then(|c| c.created_at.clone()),
        updated_at: item.check.as_ref().and_then(|c| c.updated_at.clone()),
    }
}

fn pinpoint_entries(shards: &[ShardItem], application_ids: &[String]) -> Vec<PinpointEntry> {
    let mut by_app: BTreeMap<&str, PinpointEntry> = BTreeMap::new();
    let mut order: Vec<&str> = application_ids.iter().map(String::as_str).collect();
    for s in shards {
        for a in &s.applications {
            if !order.contains(&a.application_id.as_str()) {
                order.push(&a.application_id);
            }
        }
    }
    for app in &order {
        by_app.insert(
            app,
            PinpointEntry {
                application_id: app.to_string(),
                ..Default::default()
            },
        );
    }
    for s in shards {
        if let Some(err) = &s.error {
            // The whole shard failed after its retries: every user in it counts as failed everywhere.
            for app in &order {
                if let Some(e) = by_app.get_mut(app) {
                    e.users_processed += s.users;
                    e.failed_users += s.users;
                    *e.failure_reasons
                        .entry(format!("shard failed: {}", err.error))
                        .or_default() += s.users;
                }
            }
            continue;
        }
        for a in &s.applications {
            if let Some(e) = by_app.get_mut(a.application_id.as_str()) {
                e.users_processed += a.users_processed;
                e.endpoints_deleted += a.endpoints_deleted;
                e.users_without_endpoints += a.users_without_endpoints;
                e.failed_users += a.failed_users;
                for (r, n) in &a.failure_reasons {
                    *e.failure_reasons.entry(r.clone()).or_default() += n;
                }
                e.failed_users_keys.extend(a.failed_users_key.clone());
            }
        }
    }
    order.iter().filter_map(|a| by_app.remove(a)).collect()
}

fn decide(
    input: &FinalizeInput,
    found: bool,
    personalize: &[PersonalizeEntry],
    pinpoint: &[PinpointEntry],
) -> (Outcome, Option<String>) {
    let Some(prepared) = &input.prepared else {
        let why = input
            .error
            .as_ref()
            .map(|e| {
                format!(
                    "the request could not be prepared: {}: {}",
                    e.error, e.cause
                )
            })
            .unwrap_or_else(|| "the request was never prepared".into());
        return (Outcome::Failed, Some(why));
    };
    if prepared.verdict == Verdict::Rejected {
        let why = prepared
            .reason
            .clone()
            .unwrap_or_else(|| "the request file was rejected".into());
        return (Outcome::Rejected, Some(why));
    }
    let broke = input
        .error
        .as_ref()
        .map(|e| format!("the erasure steps failed: {}: {}", e.error, e.cause));
    if !found {
        let why = broke.unwrap_or_else(|| "the erasure steps never ran".into());
        return (Outcome::Failed, Some(why));
    }
    let mut reasons = Vec::new();
    reasons.extend(broke.clone());
    let failed_jobs: Vec<&PersonalizeEntry> = personalize
        .iter()
        .filter(|p| p.status != "COMPLETED")
        .collect();
    let expected_jobs = prepared.jobs.as_ref().map_or(0, |j| j.count as usize);
    if personalize.len() != expected_jobs {
        reasons.push(format!(
            "{} of {expected_jobs} Personalize deletion jobs reported back",
            personalize.len()
        ));
    }
    if let Some(first) = failed_jobs.first() {
        reasons.push(format!(
            "{} of {} Personalize deletion jobs did not complete (first: {} part {}: {}{})",
            failed_jobs.len(),
            personalize.len(),
            first.dataset_group_arn,
            first.part,
            first.status,
            first
                .failure_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    let valid = prepared.stats.valid_users;
    let mut pinpoint_failed = 0u64;
    let mut pinpoint_total = 0u64;
    for p in pinpoint {
        pinpoint_total += valid;
        pinpoint_failed += p.failed_users;
        if p.users_processed != valid {
            reasons.push(format!(
                "Pinpoint application {} handled {} of {valid} users",
                p.application_id, p.users_processed
            ));
            pinpoint_failed += valid.saturating_sub(p.users_processed);
        }
        if p.failed_users > 0 {
            let why: Vec<String> = p
                .failure_reasons
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            reasons.push(format!(
                "{} users' endpoints could not be deleted in Pinpoint application {} ({})",
                p.failed_users,
                p.application_id,
                why.join(", ")
            ));
        }
    }
    if reasons.is_empty() {
        return (Outcome::Completed, None);
    }
    let nothing_in_pinpoint = pinpoint_total > 0 && pinpoint_failed >= pinpoint_total;
    let outcome = if broke.is_some()
        || !failed_jobs.is_empty()
        || personalize.len() != expected_jobs
        || nothing_in_pinpoint
    {
        Outcome::Failed
    } else {
        Outcome::Partial
    };
    (outcome, Some(reasons.join("; ")))
}

#[cfg(test)]
mod tests {
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
            request_id: "0123456789abcdef0123456789abcdef".into(),
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
            reason: (verdict == Verdict::Rejected)
                .then(|| "line 1: the header must be USER_ID".into()),
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

    fn job(status: &str, reason: Option<&str>) -> JobItem {
        JobItem {
            spec: spec("g0"),
            job: Some(JobRef {
                job_arn: "arn:job".into(),
                job_name: "n".into(),
                reused: false,
                next_poll_seconds: 1,
            }),
            check: Some(JobStatus {
                status: status.into(),
                num_deleted: (status == "COMPLETED").then_some(7),
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

    #[test]
    fn all_done_is_completed() {
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(vec![job("COMPLETED", None)], vec![shard("a", 3, 0)])),
            &["a".into()],
            "t1".into(),
        );
        assert_eq!(r.outcome, Outcome::Completed);
        assert_eq!(r.reason, None);
        assert_eq!(r.personalize[0].num_deleted, Some(7));
        assert_eq!(r.pinpoint[0].endpoints_deleted, 2);
        assert_eq!(r.request.duplicates, 1);
    }

    #[test]
    fn a_written_receipt_reads_back_the_same() {
        let mut r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(vec![job("COMPLETED", None)], vec![shard("a", 3, 0)])),
            &["a".into()],
            "t1".into(),
        );
        r.purge = Some(Purge {
            request_object: "DELETED".into(),
            work_objects_deleted: 4,
            incomplete: Some("time ran out".into()),
        });
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Receipt>(&text).unwrap(), r);
    }

    #[test]
    fn a_failed_job_fails_the_request_with_its_reason() {
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(
                vec![job("FAILED", Some("bad csv"))],
                vec![shard("a", 3, 0)],
            )),
            &["a".into()],
            "t1".into(),
        );
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(r.reason.unwrap().contains("bad csv"));
        assert_eq!(r.personalize[0].failure_reason.as_deref(), Some("bad csv"));
    }

    #[test]
    fn some_pinpoint_failures_are_partial_and_all_are_failed() {
        let ok_jobs = vec![job("COMPLETED", None)];
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(ok_jobs.clone(), vec![shard("a", 3, 1)])),
            &["a".into()],
            "t1".into(),
        );
        assert_eq!(r.outcome, Outcome::Partial);
        assert_eq!(r.pinpoint[0].failed_users, 1);
        let mut all_failed = shard("a", 3, 2);
        all_failed.applications[0].failed_users = 3;
        all_failed.applications[0].users_without_endpoints = 0;
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(ok_jobs, vec![all_failed])),
            &["a".into()],
            "t1".into(),
        );
        assert_eq!(r.outcome, Outcome::Failed);
    }

    #[test]
    fn a_missing_shard_or_app_is_never_silently_complete() {
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(vec![job("COMPLETED", None)], vec![])),
            &["a".into()],
            "t1".into(),
        );
        assert_ne!(r.outcome, Outcome::Completed);
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 2))),
            Some(&found(vec![job("COMPLETED", None)], vec![shard("a", 3, 0)])),
            &["a".into()],
            "t1".into(),
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
        let r = Receipt::build(
            &input(Some(prepared(Verdict::Accepted, 1))),
            Some(&found(vec![job("COMPLETED", None)], vec![bad])),
            &["a".into(), "b".into()],
            "t1".into(),
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
            Some(&found(vec![job("COMPLETED", None)], vec![shard("a", 3, 0)])),
            &["a".into()],
            "t1".into(),
        );
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(r.reason.unwrap().contains("States.ItemReaderFailed"));
        assert_eq!(r.personalize[0].status, "COMPLETED");
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
}
