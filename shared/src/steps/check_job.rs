//! Checking a deletion job's status, and deciding when to look again.

use crate::aws::personalize;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
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

/// Describes the item's job. A job still running after `max_wait_seconds`, or after
/// [`limits::MAX_JOB_POLLS`] checks, is given up on (`WAIT_EXCEEDED`): each check adds events to
/// the job's child execution, whose history holds at most 25,000.
pub async fn handle(
    cfg: &CheckJobConfig,
    client: &aws_sdk_personalize::Client,
    item: JobItem,
) -> Result<JobStatus, ErasureError> {
    let job = item
        .job
        .ok_or_else(|| ErasureError::Invalid("the item has no job to check".into()))?;
    let polls = item.check.as_ref().map_or(0, |c| c.polls).saturating_add(1);
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
    } else if !done && polls >= limits::MAX_JOB_POLLS {
        (
            "WAIT_EXCEEDED".to_string(),
            Some(format!(
                "the job was still {} after {polls} status checks, the most one job gets",
                d.status
            )),
            true,
        )
    } else {
        let reason = d
            .failure_reason
            .clone()
            .map(|r| limits::truncate_chars(r, limits::MAX_FAILURE_REASON_CHARS));
        (d.status.clone(), reason, done)
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
        next_poll_seconds: limits::poll_interval(cfg.poll_seconds, cfg.max_wait_seconds),
        done,
        polls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{JobRef, JobSpec};
    use aws_sdk_personalize::operation::describe_data_deletion_job::DescribeDataDeletionJobOutput;
    use aws_sdk_personalize::types::DataDeletionJob;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn item(polls: Option<u32>) -> JobItem {
        JobItem {
            spec: JobSpec {
                request_id: "0".repeat(32),
                dataset_group_arn: "arn:aws:personalize:us-east-1:1:dataset-group/g".into(),
                part: 0,
                data_location: "s3://b/k".into(),
                users: 1,
            },
            job: Some(JobRef {
                job_arn: "arn:job".into(),
                job_name: "n".into(),
                reused: false,
                next_poll_seconds: 1,
            }),
            check: polls.map(|polls| JobStatus {
                status: "IN_PROGRESS".into(),
                num_deleted: None,
                failure_reason: None,
                created_at: None,
                updated_at: None,
                next_poll_seconds: 1,
                done: false,
                polls,
            }),
            error: None,
        }
    }

    fn in_progress() -> aws_sdk_personalize::Client {
        let rule = mock!(aws_sdk_personalize::Client::describe_data_deletion_job)
            .sequence()
            .output(|| {
                DescribeDataDeletionJobOutput::builder()
                    .data_deletion_job(
                        DataDeletionJob::builder()
                            .status("IN_PROGRESS")
                            .creation_date_time(
                                aws_sdk_personalize::primitives::DateTime::from_secs(
                                    time::OffsetDateTime::now_utc().unix_timestamp(),
                                ),
                            )
                            .build(),
                    )
                    .build()
            })
            .repeatedly()
            .build();
        mock_client!(aws_sdk_personalize, RuleMode::Sequential, [&rule])
    }

    #[tokio::test]
    async fn checks_are_counted_and_a_job_is_given_up_after_the_most_checks() {
        let cfg = CheckJobConfig {
            poll_seconds: 1,
            max_wait_seconds: 172_800,
        };
        let client = in_progress();
        let first = handle(&cfg, &client, item(None)).await.unwrap();
        assert_eq!(
            (first.polls, first.done, first.status.as_str()),
            (1, false, "IN_PROGRESS")
        );
        // The interval spreads 2 days over at most MAX_JOB_POLLS checks, whatever was configured.
        assert_eq!(
            first.next_poll_seconds,
            172_800u64.div_ceil(limits::MAX_JOB_POLLS as u64)
        );
        let next = handle(&cfg, &client, item(Some(first.polls)))
            .await
            .unwrap();
        assert_eq!(next.polls, 2);
        let last = handle(&cfg, &client, item(Some(limits::MAX_JOB_POLLS - 1)))
            .await
            .unwrap();
        assert_eq!((last.done, last.status.as_str()), (true, "WAIT_EXCEEDED"));
        assert!(last
            .failure_reason
            .unwrap()
            .contains(&format!("after {} status checks", limits::MAX_JOB_POLLS)));
    }
}
