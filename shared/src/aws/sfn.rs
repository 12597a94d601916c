//! Step Functions as the workflow's [`Executions`]: start one execution per request, a repeat
//! being a duplicate.

use aws_sdk_sfn::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::ports::{Executions, Start};

/// A Step Functions client as the workflow's executions.
#[derive(Clone)]
pub struct SfnExecutions {
    client: Client,
}

impl SfnExecutions {
    /// Wraps a client (built once, in main).
    pub fn new(client: Client) -> Self {
        SfnExecutions { client }
    }
}

impl Executions for SfnExecutions {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<Start, ErasureError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(Start::Started(out.execution_arn().to_string())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(Start::Duplicate)
            }
            Err(err) => Err(from_sdk("StartExecution", &err, true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
    use aws_sdk_sfn::types::error::{ExecutionAlreadyExists, StateMachineDoesNotExist};
    use aws_smithy_mocks::{mock, mock_client};

    async fn start(client: &Client) -> Result<Start, ErasureError> {
        SfnExecutions::new(client.clone())
            .start("arn:sm", "erasure-x", "{}")
            .await
    }

    #[tokio::test]
    async fn a_new_name_starts_an_execution() {
        let rule = mock!(Client::start_execution)
            .match_requests(|r| r.name() == Some("erasure-x") && r.input() == Some("{}"))
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:exec")
                    .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_sfn, [&rule]);
        assert_eq!(
            start(&client).await.unwrap(),
            Start::Started("arn:exec".into())
        );
    }

    #[tokio::test]
    async fn an_existing_name_is_a_duplicate_not_an_error() {
        let rule = mock!(Client::start_execution).then_error(|| {
            StartExecutionError::ExecutionAlreadyExists(ExecutionAlreadyExists::builder().build())
        });
        let client = mock_client!(aws_sdk_sfn, [&rule]);
        assert_eq!(start(&client).await.unwrap(), Start::Duplicate);
    }

    #[tokio::test]
    async fn a_missing_state_machine_is_not_found() {
        let rule = mock!(Client::start_execution).then_error(|| {
            StartExecutionError::StateMachineDoesNotExist(
                StateMachineDoesNotExist::builder().build(),
            )
        });
        let client = mock_client!(aws_sdk_sfn, [&rule]);
        // A modeled error without wire metadata has no code: it must still not pass as success.
        assert!(SfnExecutions::new(client.clone())
            .start("arn:sm", "erasure-x", "{}")
            .await
            .is_err());
        let wire = mock!(Client::start_execution)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"StateMachineDoesNotExist","message":"no such machine"}"#.into()),
            )
            .build();
        let client = mock_client!(aws_sdk_sfn, aws_smithy_mocks::RuleMode::Sequential, [&wire]);
        let err = SfnExecutions::new(client.clone())
            .start("arn:sm", "erasure-x", "{}")
            .await
            .unwrap_err();
        assert_eq!(err.name(), "ServiceError");
        assert!(err.to_string().contains("no such machine"));
    }
}
