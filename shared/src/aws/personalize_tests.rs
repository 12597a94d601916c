//! The Personalize adapter against the real SDK client (aws-smithy-mocks): requests, wire-format
//! errors, pagination, retries.

use super::*;
use aws_sdk_personalize::operation::create_data_deletion_job::{
    CreateDataDeletionJobError, CreateDataDeletionJobOutput,
};
use aws_sdk_personalize::operation::describe_data_deletion_job::DescribeDataDeletionJobOutput;
use aws_sdk_personalize::operation::list_data_deletion_jobs::ListDataDeletionJobsOutput;
use aws_sdk_personalize::types::error::ResourceAlreadyExistsException;
use aws_sdk_personalize::types::{DataDeletionJob, DataDeletionJobSummary};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

/// The production client's retries (3 attempts, see `load_config`), with a 1 ms first backoff:
/// the retries are exercised, in milliseconds.
fn fast_retries(c: aws_sdk_personalize::config::Builder) -> aws_sdk_personalize::config::Builder {
    c.retry_config(
        aws_sdk_personalize::config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(std::time::Duration::from_millis(1)),
    )
}

fn job(tags: Vec<(String, String)>) -> NewJob {
    NewJob {
        name: "erasure-abc-12345678-p000".into(),
        dataset_group_arn: "arn:aws:personalize:us-east-1:1:dataset-group/g".into(),
        data_location: "s3://b/work/abc/personalize/part-000.csv".into(),
        role_arn: "arn:aws:iam::1:role/r".into(),
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
    let jobs = PersonalizeJobs::new(mock_client!(aws_sdk_personalize, [&rule]));
    let tags = vec![("erasure-request".to_string(), "abc".to_string())];
    assert_eq!(
        jobs.create(&job(tags)).await.unwrap(),
        Created::New("arn:job/1".into())
    );
}

#[tokio::test]
async fn a_taken_name_is_reported_and_the_listing_reads_every_page() {
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
    let jobs = PersonalizeJobs::new(mock_client!(
        aws_sdk_personalize,
        RuleMode::MatchAny,
        [&create, &page1, &page2]
    ));
    assert_eq!(jobs.create(&job(vec![])).await.unwrap(), Created::NameTaken);
    let names = jobs
        .by_name("arn:aws:personalize:us-east-1:1:dataset-group/g")
        .await
        .unwrap();
    assert_eq!(
        names.get("erasure-abc-12345678-p000").map(String::as_str),
        Some("arn:job/7")
    );
    assert_eq!(names.len(), 2);
}

/// An awsJson1_1 error as Personalize sends it, parsed by the real deserializer.
fn wire_error(code: &str) -> Option<String> {
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
            .http_status(400, wire_error(code))
            .repeatedly()
            .build();
        let jobs = PersonalizeJobs::new(mock_client!(
            aws_sdk_personalize,
            RuleMode::Sequential,
            [&rule],
            fast_retries
        ));
        let err = jobs.create(&job(vec![])).await.unwrap_err();
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
        .http_status(400, wire_error("ResourceAlreadyExistsException"))
        .build();
    let jobs = PersonalizeJobs::new(mock_client!(
        aws_sdk_personalize,
        RuleMode::Sequential,
        [&create],
        fast_retries
    ));
    assert_eq!(jobs.create(&job(vec![])).await.unwrap(), Created::NameTaken);
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
    let client = mock_client!(
        aws_sdk_personalize,
        RuleMode::Sequential,
        [&rule],
        fast_retries
    );
    let d = PersonalizeJobs::new(client)
        .describe("arn:job/1")
        .await
        .unwrap();
    assert_eq!((d.state, d.num_deleted), (JobState::Completed, Some(12)));
    assert_eq!(rule.num_calls(), 3);

    let always = mock!(Client::describe_data_deletion_job)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let jobs = PersonalizeJobs::new(mock_client!(
        aws_sdk_personalize,
        RuleMode::Sequential,
        [&always],
        fast_retries
    ));
    assert_eq!(
        jobs.describe("arn:job/1").await.unwrap_err().name(),
        "Transient"
    );
}
