//! A Personalize deletion job as the jobs map's children pass it on.

use serde::{Deserialize, Serialize};

use super::JobSpec;

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

/// Where a data deletion job stands: Personalize's four states, and the workflow's own three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// Waiting to run (Personalize).
    Pending,
    /// Running (Personalize).
    InProgress,
    /// Done: the users' records are deleted (Personalize).
    Completed,
    /// Ended without deleting (Personalize; `failureReason` says why).
    Failed,
    /// Still running when the workflow stopped waiting.
    WaitExceeded,
    /// Never created (the create step failed for good).
    NotCreated,
    /// A state this workflow does not know, or a job whose state was never seen.
    #[serde(other)]
    Unknown,
}

impl JobState {
    /// Reads Personalize's status string (anything unknown is [`JobState::Unknown`]).
    pub fn from_service(status: &str) -> Self {
        match status {
            "PENDING" => Self::Pending,
            "IN_PROGRESS" => Self::InProgress,
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            _ => Self::Unknown,
        }
    }

    /// Whether the job ended (COMPLETED or FAILED): its state will not change any more.
    pub fn ended(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// As receipts spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::WaitExceeded => "WAIT_EXCEEDED",
            Self::NotCreated => "NOT_CREATED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deletion job's status, as the check step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// PENDING, IN_PROGRESS, COMPLETED, FAILED, or WAIT_EXCEEDED when the workflow gave up waiting.
    pub status: JobState,
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
