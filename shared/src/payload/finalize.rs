//! What the finalize step reads and returns.

use serde::{Deserialize, Serialize};

use super::{CaughtError, Prepared, RequestObject, S3Ref};

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
    /// The error the models step (the retraining after the deletion jobs) ended with, when it
    /// failed after its retries (the Personalize branch catches it so the other branch goes on).
    #[serde(
        rename = "modelsError",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub models_error: Option<CaughtError>,
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
    /// A preview (a file under the plan prefix): only read-only calls were made, nothing was
    /// deleted, and the receipt's `plan` says what erasing the same file would touch.
    Planned,
}

impl Outcome {
    /// As receipts name it (`COMPLETED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "COMPLETED",
            Outcome::Partial => "PARTIAL",
            Outcome::Failed => "FAILED",
            Outcome::Rejected => "REJECTED",
            Outcome::Aborted => "ABORTED",
            Outcome::Planned => "PLANNED",
        }
    }
}

/// What finalisation hands back to the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeOutput {
    /// The outcome (COMPLETED, PARTIAL, FAILED or REJECTED).
    pub outcome: Outcome,
    /// Why, when not COMPLETED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the receipt is.
    pub receipt: S3Ref,
}

/// What the finalize function is invoked with, told apart by shape (only EventBridge's event has
/// `detail-type` and `detail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum FinalizeEvent {
    /// EventBridge: an execution ended (stopped, timed out, failed) before the finalize state.
    StatusChange(StatusChangeEvent),
    /// The state machine's finalize state.
    Workflow(Box<FinalizeInput>),
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
