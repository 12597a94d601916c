//! The small JSON documents that travel between the steps (never user IDs: those stay in S3).

use serde::{Deserialize, Serialize};

use crate::request_csv::RequestStats;

/// The uploaded request object, as the trigger saw it (the execution input's `request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestObject {
    /// Bucket of the request file.
    pub bucket: String,
    /// Decoded object key.
    pub key: String,
    /// The uploaded version, when the bucket is versioned: the workflow reads exactly it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag of the uploaded object (without quotes).
    pub etag: String,
    /// Size in bytes from the event.
    #[serde(default)]
    pub size: u64,
    /// The request ID derived from bucket, key and ETag.
    pub request_id: String,
    /// SHA-256 of the bytes read (set by preparation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The execution input the trigger starts the workflow with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    /// The request file.
    pub request: RequestObject,
    /// The execution's name and start (added by the state machine's first state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionFacts>,
}

/// Accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The file is valid: erase its users.
    Accepted,
    /// The file is rejected: erase nothing.
    Rejected,
}

/// An S3 object written by the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Ref {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

/// One Personalize deletion job to run: one part of the request in one dataset group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// The request this job belongs to.
    pub request_id: String,
    /// The dataset group to erase from.
    pub dataset_group_arn: String,
    /// 0-based part number.
    pub part: u32,
    /// `s3://bucket/key` of the part.
    pub data_location: String,
    /// Users in the part.
    pub users: u64,
}

/// One Pinpoint shard to erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardSpec {
    /// The request this shard belongs to.
    pub request_id: String,
    /// Bucket of the shard.
    pub bucket: String,
    /// Key of the shard.
    pub key: String,
    /// 0-based shard number.
    pub index: u32,
    /// Users in the shard.
    pub users: u64,
    /// The execution that prepared the manifest: an execution started again for the same
    /// request (a redrive) retries the users an earlier one recorded as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

/// What preparation hands the rest of the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prepared {
    /// Accepted or rejected.
    pub verdict: Verdict,
    /// Machine-readable rejection code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Why the file was rejected, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request's counts.
    pub stats: RequestStats,
    /// The ETag and version actually read.
    pub request: RequestObject,
    /// One entry per (dataset group, part).
    pub personalize_jobs: Vec<JobSpec>,
    /// One entry per Pinpoint shard in the copy kept in S3 (`prepared.json`); empty in the
    /// state machine's payload, where the map reads the shards from `manifest`.
    #[serde(default)]
    pub pinpoint_shards: Vec<ShardSpec>,
    /// Pinpoint shards in the manifest.
    #[serde(default)]
    pub shard_count: u64,
    /// Shards erased at once (the Pinpoint map's MaxConcurrencyPath).
    #[serde(default = "four")]
    pub shard_concurrency: u32,
    /// The shard manifest (a JSON array of the shards) in S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<S3Ref>,
    /// Users per Pinpoint shard (user N of the normalised list is in shard N / shardUsers).
    #[serde(default)]
    pub shard_users: u64,
    /// The keyed hashes of every valid user, in normalised order (when a hash key is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_index: Option<EvidenceFile>,
}

/// A receipt's companion file: keyed hashes only, never a user ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceFile {
    /// Bucket.
    pub bucket: String,
    /// Key (under the receipt prefix, kept with the receipt).
    pub key: String,
    /// Data lines in it.
    pub rows: u64,
    /// SHA-256 of the object's bytes, so a copy can be checked against the receipt.
    pub sha256: String,
}

/// A deletion job that exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRef {
    /// Its ARN.
    pub job_arn: String,
    /// Its deterministic name.
    pub job_name: String,
    /// True when a retry found the job an earlier attempt made.
    pub reused: bool,
    /// Seconds to wait before the first status check.
    pub next_poll_seconds: u64,
}

/// A deletion job's status, as the check step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// PENDING, IN_PROGRESS, COMPLETED, FAILED, or WAIT_EXCEEDED when the workflow gave up waiting.
    pub status: String,
    /// Records deleted (when COMPLETED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_deleted: Option<i64>,
    /// Why the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// When the job was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the job last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Seconds until the next check.
    pub next_poll_seconds: u64,
    /// Whether the job has ended (the loop stops).
    pub done: bool,
}

/// The error Step Functions caught (`Error` and `Cause` as the service names them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The error name, e.g. `LimitExceeded` or `States.Timeout`.
    #[serde(rename = "Error", default)]
    pub error: String,
    /// The message.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The input of the check step inside the Personalize map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobItem {
    /// What the job is for.
    #[serde(flatten)]
    pub spec: JobSpec,
    /// The job, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRef>,
    /// The last status seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<JobStatus>,
    /// What went wrong, if a step failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

/// What one shard did in one Pinpoint application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppShardResult {
    /// The Pinpoint application.
    pub application_id: String,
    /// Users handled (erased, without endpoints, or failed).
    pub users_processed: u64,
    /// Endpoints deleted.
    pub endpoints_deleted: u64,
    /// Users who had no endpoint in this application.
    pub users_without_endpoints: u64,
    /// Users whose endpoints could not be deleted.
    pub failed_users: u64,
    /// Failures by reason (counts only).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failure_reasons: std::collections::BTreeMap<String, u64>,
    /// The S3 object listing the failed users (inside the request's work folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_users_key: Option<String>,
}

/// What the Pinpoint step returns for one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardResult {
    /// The shard.
    pub index: u32,
    /// Users in the shard.
    pub users: u64,
    /// One entry per configured application.
    pub applications: Vec<AppShardResult>,
    /// False when the step stopped before its deadline and the workflow must call it again.
    #[serde(default = "yes")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

fn four() -> u32 {
    4
}

/// One element of the Pinpoint map's result: a shard's result, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardItem {
    /// The shard.
    #[serde(default)]
    pub index: u32,
    /// Users in the shard.
    #[serde(default)]
    pub users: u64,
    /// Per-application results, when the shard ran.
    #[serde(default)]
    pub applications: Vec<AppShardResult>,
    /// What went wrong, if the step failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

/// Execution facts from the Step Functions context object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionFacts {
    /// The execution name.
    #[serde(default)]
    pub name: String,
    /// When it started (RFC 3339).
    #[serde(default)]
    pub start_time: String,
}

/// Everything finalisation gets: whatever the workflow reached before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeInput {
    /// The request file.
    pub request: RequestObject,
    /// Preparation's output, if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared: Option<Prepared>,
    /// `[personalize items, pinpoint shard items]` from the Parallel state, if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<(Vec<JobItem>, Vec<ShardItem>)>,
    /// The error that ended the workflow early, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
    /// Execution name and start time.
    #[serde(default)]
    pub execution: ExecutionFacts,
}

/// What finalisation hands back to the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeOutput {
    /// The outcome (COMPLETED, PARTIAL, FAILED or REJECTED).
    pub outcome: crate::receipt::Outcome,
    /// Why, when not COMPLETED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the receipt is.
    pub receipt: S3Ref,
}

/// EventBridge's "Step Functions Execution Status Change" event (the parts used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChangeEvent {
    /// Always "Step Functions Execution Status Change".
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// The execution.
    pub detail: StatusChangeDetail,
}

/// The execution whose status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChangeDetail {
    /// Its ARN.
    pub execution_arn: String,
    /// Its name.
    pub name: String,
    /// ABORTED, TIMED_OUT, FAILED, SUCCEEDED, RUNNING.
    pub status: String,
    /// Start, epoch milliseconds.
    #[serde(default)]
    pub start_date: Option<i64>,
    /// End, epoch milliseconds.
    #[serde(default)]
    pub stop_date: Option<i64>,
    /// The execution input, as a JSON string.
    #[serde(default)]
    pub input: Option<String>,
}

/// A step's input that belongs to one request (so its logs can carry the execution name).
pub trait ForRequest {
    /// The request ID (32 hex digits).
    fn request_id(&self) -> &str;
}

impl ForRequest for ExecutionInput {
    fn request_id(&self) -> &str {
        &self.request.request_id
    }
}

impl ForRequest for JobItem {
    fn request_id(&self) -> &str {
        &self.spec.request_id
    }
}

impl ForRequest for JobSpec {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl ForRequest for ShardSpec {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl ForRequest for FinalizeInput {
    fn request_id(&self) -> &str {
        &self.request.request_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample events in events/ (for `sam local invoke -e` and `cargo lambda invoke`) must
    /// stay readable by the functions they are for.
    #[cfg(feature = "aws")]
    #[test]
    fn sample_events_match_the_handlers_inputs() {
        let s3: aws_lambda_events::s3::S3Event =
            serde_json::from_str(include_str!("../../events/s3-put.json")).expect("s3-put.json");
        assert_eq!(s3.records.len(), 1);
        let _: ExecutionInput =
            serde_json::from_str(include_str!("../../events/prepare-request.json")).unwrap();
        let _: JobSpec =
            serde_json::from_str(include_str!("../../events/create-deletion-job.json")).unwrap();
        let item: JobItem =
            serde_json::from_str(include_str!("../../events/check-deletion-job.json")).unwrap();
        assert!(item.job.is_some());
        let _: ShardSpec =
            serde_json::from_str(include_str!("../../events/erase-pinpoint-endpoints.json"))
                .unwrap();
        let fin: FinalizeInput =
            serde_json::from_str(include_str!("../../events/finalize-erasure.json")).unwrap();
        let (jobs, shards) = fin.results.expect("results");
        assert_eq!((jobs.len(), shards.len()), (1, 1));
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
}
