//! Creating one deletion job per (dataset group, part), idempotently: a retry that meets the
//! name an earlier attempt took finds that job instead of making a second one.

use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::payload::{JobRef, JobSpec};
use crate::ports::{Created, DeletionJobs, NewJob};

/// Settings of job creation.
#[derive(Debug, Clone)]
pub struct CreateJobConfig {
    /// The role Personalize assumes to read the user list.
    pub role_arn: String,
    /// Seconds before the first status check.
    pub poll_seconds: u64,
}

impl CreateJobConfig {
    /// Reads PERSONALIZE_ROLE_ARN and POLL_INTERVAL_SECONDS.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(CreateJobConfig {
            role_arn: config::required("PERSONALIZE_ROLE_ARN")?,
            poll_seconds: config::number("POLL_INTERVAL_SECONDS", limits::DEFAULT_POLL_SECONDS)?,
        })
    }
}

/// Creates the job for `spec`, or finds the one an earlier attempt made.
pub async fn handle(
    cfg: &CreateJobConfig,
    jobs: &impl DeletionJobs,
    spec: JobSpec,
) -> Result<JobRef, ErasureError> {
    let id = spec.request_id.clone();
    if !spec.data_location.starts_with("s3://") {
        return Err(ErasureError::Invalid(
            "the job spec's data location is not an s3:// path".into(),
        ));
    }
    let name = id.job_name(&spec.dataset_group_arn, spec.part);
    let job = NewJob {
        name: name.clone(),
        dataset_group_arn: spec.dataset_group_arn.clone(),
        data_location: spec.data_location.clone(),
        role_arn: cfg.role_arn.clone(),
        tags: vec![
            ("erasure-request".to_string(), id.to_string()),
            ("erasure-part".to_string(), spec.part.to_string()),
        ],
    };
    let (arn, reused) = match jobs.create(&job).await? {
        Created::New(arn) => (arn, false),
        // Job names are unique per account and Region: the name is this request's.
        Created::NameTaken => match jobs.by_name(&spec.dataset_group_arn).await?.remove(&name) {
            Some(arn) => (arn, true),
            None => {
                return Err(ErasureError::Service(format!(
                    "job name {name} is taken, but no such job exists in dataset group {}",
                    spec.dataset_group_arn
                )))
            }
        },
    };
    if reused {
        tracing::info!(job_name = %name, "deletion job already existed; reusing it");
    } else {
        tracing::info!(job_name = %name, users = spec.users, "deletion job created");
    }
    Ok(JobRef {
        job_arn: arn,
        job_name: name,
        reused,
        next_poll_seconds: cfg.poll_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryJobs;

    fn cfg() -> CreateJobConfig {
        CreateJobConfig {
            role_arn: "arn:aws:iam::1:role/personalize".into(),
            poll_seconds: 300,
        }
    }

    fn spec(part: u32) -> JobSpec {
        JobSpec {
            request_id: "3f1c2a9b8e7d6c5b4a3928170615f4e3".parse().unwrap(),
            dataset_group_arn: "arn:aws:personalize:us-east-1:1:dataset-group/g".into(),
            part,
            data_location: format!("s3://b/work/x/personalize/part-{part:03}.csv"),
            users: 5,
        }
    }

    #[tokio::test]
    async fn one_job_per_part_with_its_role_tags_and_location() {
        let jobs = MemoryJobs::default();
        let made = handle(&cfg(), &jobs, spec(1)).await.unwrap();
        assert!(!made.reused && made.next_poll_seconds == 300);
        let [job] = jobs.created().try_into().unwrap();
        assert_eq!(job.name, made.job_name);
        assert_eq!(job.role_arn, "arn:aws:iam::1:role/personalize");
        assert_eq!(job.data_location, "s3://b/work/x/personalize/part-001.csv");
        assert!(job.tags.contains(&("erasure-part".into(), "1".into())));
    }

    #[tokio::test]
    async fn a_retry_finds_the_job_an_earlier_attempt_made_and_makes_no_second() {
        let jobs = MemoryJobs::default();
        let first = handle(&cfg(), &jobs, spec(0)).await.unwrap();
        let again = handle(&cfg(), &jobs, spec(0)).await.unwrap();
        assert!(again.reused);
        assert_eq!(again.job_arn, first.job_arn);
        assert_eq!(jobs.created().len(), 1);
    }

    #[tokio::test]
    async fn quota_errors_reach_the_state_machine_typed_and_a_bad_spec_is_invalid() {
        let jobs = MemoryJobs::default();
        jobs.fail_next(
            "CreateDataDeletionJob",
            vec![ErasureError::LimitExceeded("5 pending".into())],
        );
        let err = handle(&cfg(), &jobs, spec(0)).await.unwrap_err();
        assert_eq!(err.name(), "LimitExceeded");
        let mut bad = spec(0);
        bad.data_location = "work/x.csv".into();
        assert_eq!(
            handle(&cfg(), &jobs, bad).await.unwrap_err().name(),
            "Invalid"
        );
    }
}
