//! Checking a deletion job's status, and deciding when to look again.

use crate::clock::{epoch_rfc3339, now_rfc3339};
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::payload::{JobItem, JobState, JobStatus};
use crate::ports::DeletionJobs;

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
            poll_seconds: config::number("POLL_INTERVAL_SECONDS", limits::DEFAULT_POLL_SECONDS)?,
            max_wait_seconds: config::number(
                "MAX_JOB_WAIT_SECONDS",
                limits::DEFAULT_MAX_JOB_WAIT_SECONDS,
            )?,
        })
    }
}

/// Describes the item's job. A job still running after `max_wait_seconds`, or after
/// [`limits::MAX_JOB_POLLS`] checks, is given up on (`WAIT_EXCEEDED`): each check adds events to
/// the job's child execution, whose history holds at most 25,000.
pub async fn handle(
    cfg: &CheckJobConfig,
    jobs: &impl DeletionJobs,
    item: JobItem,
) -> Result<JobStatus, ErasureError> {
    let job = item
        .job
        .ok_or_else(|| ErasureError::Invalid("the item has no job to check".into()))?;
    let polls = item.check.as_ref().map_or(0, |c| c.polls).saturating_add(1);
    let d = jobs.describe(&job.job_arn).await?;
    let done = d.state.ended();
    let waited = d
        .created_epoch
        .map(|c| time::OffsetDateTime::now_utc().unix_timestamp() - c)
        .unwrap_or(0);
    let (status, failure_reason, done) = if !done && waited > cfg.max_wait_seconds as i64 {
        (
            JobState::WaitExceeded,
            Some(format!(
                "the job was still {} after {waited} s; the workflow stopped waiting after {} s",
                d.state, cfg.max_wait_seconds
            )),
            true,
        )
    } else if !done && polls >= limits::MAX_JOB_POLLS {
        (
            JobState::WaitExceeded,
            Some(format!(
                "the job was still {} after {polls} status checks, the most one job gets",
                d.state
            )),
            true,
        )
    } else {
        let reason = d
            .failure_reason
            .clone()
            .map(|r| limits::truncate_chars(r, limits::MAX_FAILURE_REASON_CHARS));
        (d.state, reason, done)
    };
    tracing::info!(job_name = %job.job_name, status = %status, "deletion job checked");
    if done {
        use crate::metrics::{emit, names};
        let metric = if status == JobState::Completed {
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
    use crate::memory::MemoryJobs;
    use crate::payload::{JobRef, JobSpec};
    use crate::ports::{Created, NewJob};

    fn cfg() -> CheckJobConfig {
        CheckJobConfig {
            poll_seconds: 1,
            max_wait_seconds: 172_800,
        }
    }

    async fn job(jobs: &MemoryJobs) -> JobRef {
        let Created::New(arn) = jobs
            .create(&NewJob {
                name: "j".into(),
                dataset_group_arn: "arn:g".into(),
                data_location: "s3://b/k".into(),
                role_arn: "arn:r".into(),
                tags: vec![],
            })
            .await
            .unwrap()
        else {
            panic!("created")
        };
        JobRef {
            job_arn: arn,
            job_name: "j".into(),
            reused: false,
            next_poll_seconds: 1,
        }
    }

    fn item(job: &JobRef, check: Option<JobStatus>) -> JobItem {
        JobItem {
            spec: JobSpec {
                request_id: "0".repeat(32).parse().unwrap(),
                dataset_group_arn: "arn:g".into(),
                part: 0,
                data_location: "s3://b/k".into(),
                users: 1,
            },
            job: Some(job.clone()),
            check,
            error: None,
        }
    }

    #[tokio::test]
    async fn a_job_is_followed_until_it_ends_with_its_counts() {
        let jobs = MemoryJobs::default();
        let j = job(&jobs).await;
        let mut last = None;
        let mut seen = Vec::new();
        loop {
            let status = handle(&cfg(), &jobs, item(&j, last.clone())).await.unwrap();
            seen.push(status.status);
            if status.done {
                assert_eq!(status.num_deleted, Some(3));
                assert_eq!(status.polls, 3);
                break;
            }
            last = Some(status);
        }
        assert_eq!(
            seen,
            [JobState::Pending, JobState::InProgress, JobState::Completed]
        );
    }

    #[tokio::test]
    async fn a_failed_job_ends_the_loop_with_its_reason() {
        let jobs = MemoryJobs::default();
        jobs.script(&[JobState::Failed]);
        let j = job(&jobs).await;
        let status = handle(&cfg(), &jobs, item(&j, None)).await.unwrap();
        assert!(status.done);
        assert_eq!(status.status, JobState::Failed);
        assert!(status.failure_reason.is_some());
    }

    #[tokio::test]
    async fn checks_are_counted_and_a_job_is_given_up_after_the_most_checks() {
        let jobs = MemoryJobs::default();
        jobs.script(&[JobState::InProgress]);
        let j = job(&jobs).await;
        let first = handle(&cfg(), &jobs, item(&j, None)).await.unwrap();
        assert_eq!((first.polls, first.done), (1, false));
        // The interval spreads 2 days over at most MAX_JOB_POLLS checks, whatever was configured.
        assert_eq!(
            first.next_poll_seconds,
            172_800u64.div_ceil(limits::MAX_JOB_POLLS as u64)
        );
        let mut before_last = first.clone();
        before_last.polls = limits::MAX_JOB_POLLS - 1;
        let last = handle(&cfg(), &jobs, item(&j, Some(before_last)))
            .await
            .unwrap();
        assert_eq!((last.done, last.status), (true, JobState::WaitExceeded));
        assert!(last
            .failure_reason
            .unwrap()
            .contains(&format!("after {} status checks", limits::MAX_JOB_POLLS)));
    }

    #[tokio::test]
    async fn an_item_without_a_job_is_invalid_and_a_describe_error_is_typed() {
        let jobs = MemoryJobs::default();
        let j = job(&jobs).await;
        let mut no_job = item(&j, None);
        no_job.job = None;
        assert_eq!(
            handle(&cfg(), &jobs, no_job).await.unwrap_err().name(),
            "Invalid"
        );
        jobs.fail_next(
            "DescribeDataDeletionJob",
            vec![ErasureError::Throttled("slow down".into())],
        );
        assert_eq!(
            handle(&cfg(), &jobs, item(&j, None))
                .await
                .unwrap_err()
                .name(),
            "Throttled"
        );
    }
}
