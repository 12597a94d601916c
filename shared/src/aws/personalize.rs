//! Personalize data deletion jobs: create (finding the one an earlier attempt made), describe.

use aws_sdk_personalize::types::{DataSource, Tag};
use aws_sdk_personalize::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;

/// A job as the workflow needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDescription {
    /// PENDING, IN_PROGRESS, COMPLETED or FAILED.
    pub status: String,
    /// Records deleted.
    pub num_deleted: Option<i64>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Creation time, seconds since the epoch.
    pub created_epoch: Option<i64>,
    /// Last update, seconds since the epoch.
    pub updated_epoch: Option<i64>,
}

/// What to create.
pub struct NewJob<'a> {
    /// Deterministic job name.
    pub name: &'a str,
    /// Dataset group.
    pub dataset_group_arn: &'a str,
    /// `s3://` location of the user list.
    pub data_location: &'a str,
    /// Role Personalize assumes to read it.
    pub role_arn: &'a str,
    /// Tags (key, value).
    pub tags: &'a [(String, String)],
}

/// Creates the job, or finds the one with the same name an earlier attempt made.
/// Returns the job ARN and whether it already existed.
pub async fn create_or_find(
    client: &Client,
    job: &NewJob<'_>,
) -> Result<(String, bool), ErasureError> {
    let mut tags = Vec::with_capacity(job.tags.len());
    for (k, v) in job.tags {
        let tag = Tag::builder()
            .tag_key(k)
            .tag_value(v)
            .build()
            .map_err(|e| ErasureError::Invalid(format!("tag {k}: {e}")))?;
        tags.push(tag);
    }
    let source = DataSource::builder()
        .data_location(job.data_location)
        .build();
    let result = client
        .create_data_deletion_job()
        .job_name(job.name)
        .dataset_group_arn(job.dataset_group_arn)
        .data_source(source)
        .role_arn(job.role_arn)
        .set_tags(Some(tags))
        .send()
        .await;
    match result {
        Ok(out) => match out.data_deletion_job_arn() {
            Some(arn) => Ok((arn.to_string(), false)),
            None => Err(ErasureError::Service(
                "CreateDataDeletionJob returned no job ARN".into(),
            )),
        },
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            match find_by_name(client, job.dataset_group_arn, job.name).await? {
                Some(arn) => Ok((arn, true)),
                None => Err(ErasureError::Service(format!(
                    "job name {} is taken, but no such job exists in dataset group {}",
                    job.name, job.dataset_group_arn
                ))),
            }
        }
        Err(err) => Err(from_sdk("CreateDataDeletionJob", &err, true)),
    }
}

/// Finds a job of a dataset group by name (ListDataDeletionJobs, all pages).
pub async fn find_by_name(
    client: &Client,
    dataset_group_arn: &str,
    name: &str,
) -> Result<Option<String>, ErasureError> {
    Ok(jobs_by_name(client, dataset_group_arn).await?.remove(name))
}

/// Every data deletion job of a dataset group, by name (ListDataDeletionJobs, all pages): one
/// listing serves all the request's jobs in that group.
pub async fn jobs_by_name(
    client: &Client,
    dataset_group_arn: &str,
) -> Result<std::collections::HashMap<String, String>, ErasureError> {
    let mut found = std::collections::HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
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

/// Describes a job.
pub async fn describe(client: &Client, job_arn: &str) -> Result<JobDescription, ErasureError> {
    let out = client
        .describe_data_deletion_job()
        .data_deletion_job_arn(job_arn)
        .send()
        .await
        .map_err(|e| from_sdk("DescribeDataDeletionJob", &e, true))?;
    let job = out
        .data_deletion_job()
        .ok_or_else(|| ErasureError::Service("DescribeDataDeletionJob returned no job".into()))?;
    Ok(JobDescription {
        status: job.status().unwrap_or("UNKNOWN").to_string(),
        num_deleted: job.num_deleted().map(i64::from),
        failure_reason: job.failure_reason().map(String::from),
        created_epoch: job.creation_date_time().map(|t| t.secs()),
        updated_epoch: job.last_updated_date_time().map(|t| t.secs()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_personalize::operation::create_data_deletion_job::{
        CreateDataDeletionJobError, CreateDataDeletionJobOutput,
    };
    use aws_sdk_personalize::operation::describe_data_deletion_job::DescribeDataDeletionJobOutput;
    use aws_sdk_personalize::operation::list_data_deletion_jobs::ListDataDeletionJobsOutput;
    use aws_sdk_personalize::types::error::ResourceAlreadyExistsException;
    use aws_sdk_personalize::types::{DataDeletionJob, DataDeletionJobSummary};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn job<'a>(tags: &'a [(String, String)]) -> NewJob<'a> {
        NewJob {
            name: "erasure-abc-12345678-p000",
            dataset_group_arn: "arn:aws:personalize:us-east-1:1:dataset-group/g",
            data_location: "s3://b/work/abc/personalize/part-000.csv",
            role_arn: "arn:aws:iam::1:role/r",
            tags,
        }
    }

    #[tokio::test]
    async fn creates_a_job_with_name_role_and_tags() {
        let rule = mock!(Client::create_data_deletion_job)
            .match_requests(|r| {
                r.job_name() == Some("erasure-abc-12345678-p000")
                    && r.role_arn() == Some("arn:aws:iam::1:role/r")
                    && r.data_source().and_then(|d| d.data_location())
                        == Some("s3://b/work/abc/personalize/part-000.csv")
                    && r.tags().len() == 1
            })
            .then_output(|| {
                CreateDataDeletionJobOutput::builder()
                    .data_deletion_job_arn("arn:job/1")
                    .build()
            });
        let client = mock_client!(aws_sdk_personalize, [&rule]);
        let tags = [("erasure-request".to_string(), "abc".to_string())];
        assert_eq!(
            create_or_find(&client, &job(&tags)).await.unwrap(),
            ("arn:job/1".into(), false)
        );
    }

    #[tokio::test]
    async fn a_reused_name_finds_the_existing_job_across_pages() {
        let create = mock!(Client::create_data_deletion_job).then_error(|| {
            CreateDataDeletionJobError::ResourceAlreadyExistsException(
                ResourceAlreadyExistsException::builder()
                    .message("exists")
                    .build(),
            )
        });
        let page1 = mock!(Client::list_data_deletion_jobs)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| {
                ListDataDeletionJobsOutput::builder()
                    .data_deletion_jobs(
                        DataDeletionJobSummary::builder()
                            .job_name("other")
                            .data_deletion_job_arn("arn:job/0")
                            .build(),
                    )
                    .next_token("t2")
                    .build()
            });
        let page2 = mock!(Client::list_data_deletion_jobs)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(|| {
                ListDataDeletionJobsOutput::builder()
                    .data_deletion_jobs(
                        DataDeletionJobSummary::builder()
                            .job_name("erasure-abc-12345678-p000")
                            .data_deletion_job_arn("arn:job/7")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(
            aws_sdk_personalize,
            RuleMode::MatchAny,
            [&create, &page1, &page2]
        );
        assert_eq!(
            create_or_find(&client, &job(&[])).await.unwrap(),
            ("arn:job/7".into(), true)
        );
    }

    /// An awsJson1_1 error as Personalize sends it, parsed by the real deserializer.
    fn wire_error(status: u16, code: &str) -> Option<String> {
        let _ = status;
        Some(format!(
            r#"{{"__type":"{code}","message":"{code} for test"}}"#
        ))
    }

    #[tokio::test]
    async fn limit_exceeded_and_in_use_are_typed_retryable_errors() {
        for (code, name) in [
            ("LimitExceededException", "LimitExceeded"),
            ("ResourceInUseException", "ResourceInUse"),
            ("ResourceNotFoundException", "NotFound"),
            ("InvalidInputException", "Invalid"),
        ] {
            let rule = mock!(Client::create_data_deletion_job)
                .sequence()
                .http_status(400, wire_error(400, code))
                .repeatedly()
                .build();
            let client = mock_client!(aws_sdk_personalize, RuleMode::Sequential, [&rule]);
            let err = create_or_find(&client, &job(&[])).await.unwrap_err();
            assert_eq!(err.name(), name, "{code}: {err}");
            assert_eq!(
                err.is_retryable(),
                matches!(name, "LimitExceeded" | "ResourceInUse")
            );
        }
    }

    #[tokio::test]
    async fn the_modeled_already_exists_error_from_the_wire_is_recognised() {
        let create = mock!(Client::create_data_deletion_job)
            .sequence()
            .http_status(400, wire_error(400, "ResourceAlreadyExistsException"))
            .build();
        let list = mock!(Client::list_data_deletion_jobs).then_output(|| {
            ListDataDeletionJobsOutput::builder()
                .data_deletion_jobs(
                    DataDeletionJobSummary::builder()
                        .job_name("erasure-abc-12345678-p000")
                        .data_deletion_job_arn("arn:job/9")
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_personalize, RuleMode::MatchAny, [&create, &list]);
        assert_eq!(
            create_or_find(&client, &job(&[])).await.unwrap(),
            ("arn:job/9".into(), true)
        );
    }

    #[tokio::test]
    async fn server_errors_are_retried_by_the_client_then_reported_as_transient() {
        let rule = mock!(Client::describe_data_deletion_job)
            .sequence()
            .http_status(503, None)
            .times(2)
            .output(|| {
                DescribeDataDeletionJobOutput::builder()
                    .data_deletion_job(
                        DataDeletionJob::builder()
                            .status("COMPLETED")
                            .num_deleted(12)
                            .build(),
                    )
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_personalize, RuleMode::Sequential, [&rule], |c| c
            .retry_config(
                aws_sdk_personalize::config::retry::RetryConfig::standard().with_max_attempts(3)
            ));
        let d = describe(&client, "arn:job/1").await.unwrap();
        assert_eq!((d.status.as_str(), d.num_deleted), ("COMPLETED", Some(12)));
        assert_eq!(rule.num_calls(), 3);

        let always = mock!(Client::describe_data_deletion_job)
            .sequence()
            .http_status(500, None)
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_personalize, RuleMode::Sequential, [&always]);
        assert_eq!(
            describe(&client, "arn:job/1").await.unwrap_err().name(),
            "Transient"
        );
    }
}
