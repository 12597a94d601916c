//! Personalize's data deletion jobs as the workflow's [`DeletionJobs`]: create, list by name,
//! describe. Finding the job an earlier attempt made is the create step's rule, not this file's.

use std::collections::HashMap;

use aws_sdk_personalize::types::{DataSource, Tag};
use aws_sdk_personalize::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::payload::JobState;
use crate::ports::{Created, DeletionJobs, JobDescription, NewJob};

/// A Personalize client as the workflow's deletion jobs.
#[derive(Clone)]
pub struct PersonalizeJobs {
    client: Client,
}

impl PersonalizeJobs {
    /// Wraps a client (built once, in main).
    pub fn new(client: Client) -> Self {
        PersonalizeJobs { client }
    }
}

impl DeletionJobs for PersonalizeJobs {
    async fn create(&self, job: &NewJob) -> Result<Created, ErasureError> {
        let mut tags = Vec::with_capacity(job.tags.len());
        for (k, v) in &job.tags {
            let tag = Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| ErasureError::Invalid(format!("tag {k}: {e}")))?;
            tags.push(tag);
        }
        let source = DataSource::builder()
            .data_location(&job.data_location)
            .build();
        let result = self
            .client
            .create_data_deletion_job()
            .job_name(&job.name)
            .dataset_group_arn(&job.dataset_group_arn)
            .data_source(source)
            .role_arn(&job.role_arn)
            .set_tags(Some(tags))
            .send()
            .await;
        match result {
            Ok(out) => match out.data_deletion_job_arn() {
                Some(arn) => Ok(Created::New(arn.to_string())),
                None => Err(ErasureError::Service(
                    "CreateDataDeletionJob returned no job ARN".into(),
                )),
            },
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) =>
            {
                Ok(Created::NameTaken)
            }
            Err(err) => Err(from_sdk("CreateDataDeletionJob", &err, true)),
        }
    }

    async fn by_name(
        &self,
        dataset_group_arn: &str,
    ) -> Result<HashMap<String, String>, ErasureError> {
        let mut found = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_data_deletion_jobs()
                .dataset_group_arn(dataset_group_arn)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| from_sdk("ListDataDeletionJobs", &e, true))?;
            for j in page.data_deletion_jobs() {
                if let (Some(name), Some(arn)) = (j.job_name(), j.data_deletion_job_arn()) {
                    found
                        .entry(name.to_string())
                        .or_insert_with(|| arn.to_string());
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(found),
            }
        }
    }

    async fn describe(&self, job_arn: &str) -> Result<JobDescription, ErasureError> {
        let out = self
            .client
            .describe_data_deletion_job()
            .data_deletion_job_arn(job_arn)
            .send()
            .await
            .map_err(|e| from_sdk("DescribeDataDeletionJob", &e, true))?;
        let job = out.data_deletion_job().ok_or_else(|| {
            ErasureError::Service("DescribeDataDeletionJob returned no job".into())
        })?;
        Ok(JobDescription {
            state: JobState::from_service(job.status().unwrap_or("UNKNOWN")),
            num_deleted: job.num_deleted().map(i64::from),
            failure_reason: job.failure_reason().map(String::from),
            created_epoch: job.creation_date_time().map(|t| t.secs()),
            updated_epoch: job.last_updated_date_time().map(|t| t.secs()),
        })
    }
}

#[cfg(test)]
#[path = "personalize_tests.rs"]
mod tests;
