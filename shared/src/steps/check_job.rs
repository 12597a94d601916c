//! Checking a deletion job's status, and deciding when to look again.

use crate::aws::personalize;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::payload::{JobItem, JobStatus};
use crate::steps::{epoch_rfc3339, now_rfc3339};

/// Settings of the status check.
#[derive(Debug, Clone)]
pub struct CheckJobConfig {
    /// Seconds between checks.
    pub poll_seconds: u64,
    /// After this many seconds from the job's creation, stop waiting and report WAIT_EXCEEDED.
    pub max_wait_seconds: u64,
}

impl CheckJobConfig {
    /// Reads POLL_INTERVAL_SECONDS (default 300) and MAX_JOB_WAIT_SECONDS (default 2 days).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(CheckJobConfig {
            poll_seconds: config::number("POLL_INTERVAL_SECONDS", 300)?,
            max_wait_seconds: config::number("MAX_JOB_WAIT_SECONDS", 172_800)?,
        })
    }
}

/// Describes the item's job.
pub async fn handle(
    cfg: &CheckJobConfig,
    client: &aws_sdk_personalize::Client,
    item: JobItem,
) -> Result<JobStatus, ErasureError> {
    let job = item
        .job
        .ok_or_else(|| ErasureError::Invalid("the item has no job to check".into()))?;
    let d = personalize::describe(client, &job.job_arn).await?;
    let done = matches!(d.status.as_str(), "COMPLETED" | "FAILED");
    let waited = d
        .created_epoch
        .map(|c| time::OffsetDateTime::now_utc().unix_timestamp() - c)
        .unwrap_or(0);
    let (status, failure_reason, done) = if !done && waited > cfg.max_wait_seconds as i64 {
        (
            "WAIT_EXCEEDED".to_string(),
            Some(format!(
                "the job was still {} after {waited} s; the workflow stopped waiting after {} s",
                d.status, cfg.max_wait_seconds
            )),
            true,
        )
    } else {
        (d.status.clone(), d.failure_reason.clone(), done)
    };
    tracing::info!(job_name = %job.job_name, status = %status, "deletion job checked");
    if done {
        use crate::metrics::{emit, names};
        let metric = if status == "COMPLETED" {
            names::JOBS_COMPLETED
        } else {
            names::JOBS_FAILED
        };
        emit(&[(metric, 1)]);
    }
    Ok(JobStatus {
        status,
        num_deleted: d.num_deleted,
        failure_reason,
        created_at: d.created_epoch.map(epoch_rfc3339),
        updated_at: Some(
            d.updated_epoch
                .map(epoch_rfc3339)
                .unwrap_or_else(now_rfc3339),
        ),
        next_poll_seconds: cfg.poll_seconds,
        done,
    })
}
