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

/// Where a Distributed Map's ResultWriter exports its child executions' results
/// (`<prefix>/<map run UUID>/manifest.json` and the result files it lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsLocation {
    /// Bucket.
    pub bucket: String,
    /// Key prefix, without a trailing `/` (Step Functions adds one).
    pub prefix: String,
}

/// One Distributed Map of the workflow: the manifest (a JSON array in S3) its ItemReader reads,
/// and where its ResultWriter writes. Neither the items nor the results travel in a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapPlan {
    /// The items, one per child execution.
    pub manifest: S3Ref,
    /// Where the children's results go.
    pub results: ResultsLocation,
    /// How many items the manifest holds.
    pub count: u64,
}

/// The Pinpoint map's plan: its items are [`ShardSpec`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardPlan {
    /// Manifest, results and count.
    #[serde(flatten)]
    pub map: MapPlan,
    /// Shards erased at once (the map's MaxConcurrencyPath).
    pub concurrency: u32,
    /// Users per shard (user N of the normalised list is in shard N / usersPerShard).
    pub users_per_shard: u64,
}

/// What preparation hands the rest of the workflow: small and of bounded size whatever the
/// request (the job and shard lists are in S3, read by the maps' ItemReaders).
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
    /// The deletion jobs: one [`JobSpec`] per (dataset group, part). Absent when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<MapPlan>,
    /// The Pinpoint shards. Absent when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardPlan>,
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
    /// Checks made so far (bounded by `limits::MAX_JOB_POLLS`).
    #[serde(default)]
    pub polls: u32,
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
    /// `[deletion jobs map, Pinpoint map]` outputs from the Parallel state, if it ran: where each
    /// map's ResultWriter put its children's results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<MapRunOutput>>,
    /// The error that ended the workflow early, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
    /// Execution name and start time.
    #[serde(default)]
    pub execution: ExecutionFacts,
}

/// A Distributed Map's output when it has a ResultWriter ("ResultWriter (Map)", Step Functions
/// developer guide): the map run, and the manifest of the result files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapRunOutput {
    /// The map run.
    #[serde(rename = "MapRunArn", default, skip_serializing_if = "Option::is_none")]
    pub map_run_arn: Option<String>,
    /// The manifest.json the ResultWriter wrote.
    #[serde(
        rename = "ResultWriterDetails",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub result_writer_details: Option<ResultWriterDetails>,
}

/// Where a ResultWriter's manifest is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultWriterDetails {
    /// Bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// Key of manifest.json.
    #[serde(rename = "Key")]
    pub key: String,
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
    /// The error a FAILED execution ended with (e.g. `States.DataLimitExceeded`).
    #[serde(default)]
    pub error: Option<String>,
    /// Its cause.
    #[serde(default)]
    pub cause: Option<String>,
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
        let results = fin.results.expect("results");
        assert!(results.iter().all(|r| r.result_writer_details.is_some()));
        assert_eq!(results.len(), 2);
        assert!(fin.prepared.and_then(|p| p.jobs).is_some());
    }

    #[test]
    fn preparation_output_reads_back_as_written() {
        let fin: FinalizeInput =
            serde_json::from_str(include_str!("../../events/finalize-erasure.json")).unwrap();
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
        let request = RequestObject {
            bucket: "b".repeat(63),
            key,
            version_id: Some("v".repeat(1024)),
            etag: format!("{}-10000", "e".repeat(32)),
            size: u64::MAX,
            request_id: id.clone(),
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
                outcome: crate::receipt::Outcome::Failed,
                reason: Some(format!("{}…", "\u{1}".repeat(MAX_OUTPUT_REASON_CHARS))),
                receipt: S3Ref { bucket: "b".repeat(63), key: format!("receipts/erasure-{id}-{}.json", "r".repeat(39)) },
            },
        });
        let bytes = serde_json::to_vec(&state).unwrap().len();
        assert!(
            bytes < STATE_PAYLOAD_BYTES,
            "{bytes} bytes: over the 256 KiB cap"
        );
        let documented = format!("| parent execution's state, worst case | {bytes} bytes |");
        assert!(
            include_str!("../../docs/LIMITS.md").contains(&documented),
            "docs/LIMITS.md must quote this figure: {documented}"
        );
    }
}
