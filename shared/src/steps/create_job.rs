//! Creating one deletion job per (dataset group, part), idempotently.

use crate::aws::personalize::{self, NewJob};
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::naming::RequestId;
use crate::payload::{JobRef, JobSpec};

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
            poll_seconds: config::number("POLL_INTERVAL_SECONDS", 300)?,
        })
    }
}

/// Creates the job for `spec`, or finds the one an earlier attempt made.
pub async fn handle(
    cfg: &CreateJobConfig,
    client: &aws_sdk_personalize::Client,
    spec: JobSpec,
) -> Result<JobRef, ErasureError> {
    let id = RequestId::parse(&spec.request_id)
        .ok_or_else(|| ErasureError::Invalid("the job spec has a malformed request ID".into()))?;
    if !spec.data_location.starts_with("s3://") {
        return Err(ErasureError::Invalid(
            "the job spec's data location is not an s3:// path".into(),
        ));
    }
    let name = id.job_name(&spec.dataset_group_arn, spec.part);
    let tags = [
        ("erasure-request".to_string(), id.to_string()),
        ("erasure-part".to_string(), spec.part.to_string()),
    ];
    let job = NewJob {
        name: &name,
        dataset_group_arn: &spec.dataset_group_arn,
        data_location: &spec.data_location,
        role_arn: &cfg.role_arn,
        tags: &tags,
    };
    let (arn, reused) = personalize::create_or_find(client, &job).await?;
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
