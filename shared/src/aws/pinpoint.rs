//! Pinpoint: delete every endpoint of one user, and check an application is reachable.
//! Service messages are never kept here: Pinpoint's paths carry the user ID.

use aws_sdk_pinpoint::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;

/// What happened to one user in one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserErasure {
    /// Their endpoints were deleted (how many).
    Deleted(u64),
    /// They had no endpoint (NotFound).
    NoEndpoints,
    /// The call failed; the error says whether a retry may help.
    Failed(ErasureError),
}

/// DeleteUserEndpoints for one user.
pub async fn delete_user_endpoints(
    client: &Client,
    application_id: &str,
    user_id: &str,
) -> UserErasure {
    match client
        .delete_user_endpoints()
        .application_id(application_id)
        .user_id(user_id)
        .send()
        .await
    {
        Ok(out) => UserErasure::Deleted(
            out.endpoints_response()
                .map(|r| r.item().len() as u64)
                .unwrap_or(0),
        ),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            UserErasure::NoEndpoints
        }
        Err(err) => UserErasure::Failed(from_sdk("DeleteUserEndpoints", &err, false)),
    }
}

/// GetApp: tells "no such application" (which DeleteUserEndpoints would report as a user
/// without endpoints) and "access denied" apart before any user is counted.
pub async fn check_application(client: &Client, application_id: &str) -> Result<(), ErasureError> {
    client
        .get_app()
        .application_id(application_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| from_sdk("GetApp", &e, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_pinpoint::operation::delete_user_endpoints::{
        DeleteUserEndpointsError, DeleteUserEndpointsOutput,
    };
    use aws_sdk_pinpoint::types::error::NotFoundException;
    use aws_sdk_pinpoint::types::{EndpointResponse, EndpointsResponse};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[tokio::test]
    async fn deleted_endpoints_are_counted() {
        let rule = mock!(Client::delete_user_endpoints)
            .match_requests(|r| r.application_id() == Some("app") && r.user_id() == Some("u1"))
            .then_output(|| {
                DeleteUserEndpointsOutput::builder()
                    .endpoints_response(
                        EndpointsResponse::builder()
                            .item(EndpointResponse::builder().id("e1").build())
                            .item(EndpointResponse::builder().id("e2").build())
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_pinpoint, [&rule]);
        assert_eq!(
            delete_user_endpoints(&client, "app", "u1").await,
            UserErasure::Deleted(2)
        );
    }

    #[tokio::test]
    async fn not_found_means_no_endpoints() {
        let rule = mock!(Client::delete_user_endpoints).then_error(|| {
            DeleteUserEndpointsError::NotFoundException(NotFoundException::builder().build())
        });
        let client = mock_client!(aws_sdk_pinpoint, [&rule]);
        assert_eq!(
            delete_user_endpoints(&client, "app", "u1").await,
            UserErasure::NoEndpoints
        );
    }

    /// A restJson1 error as Pinpoint sends it (type in a header, message in the body).
    fn wire(status: u16, code: &'static str) -> aws_smithy_mocks::Rule {
        mock!(Client::delete_user_endpoints)
            .sequence()
            .http_response(move || {
                let body = r#"{"Message":"user u1 was refused","RequestID":"r-1"}"#;
                let mut resp = aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
                    aws_smithy_types::body::SdkBody::from(body),
                );
                resp.headers_mut().insert("x-amzn-ErrorType", code);
                resp.headers_mut()
                    .insert("content-type", "application/json");
                resp
            })
            .repeatedly()
            .build()
    }

    #[tokio::test]
    async fn wire_errors_are_typed_and_never_carry_the_message() {
        for (status, code, name) in [
            (429, "TooManyRequestsException", "Throttled"),
            (403, "ForbiddenException", "Forbidden"),
            (500, "InternalServerErrorException", "Transient"),
            (400, "BadRequestException", "Invalid"),
        ] {
            let rule = wire(status, code);
            let client = mock_client!(aws_sdk_pinpoint, RuleMode::Sequential, [&rule]);
            match delete_user_endpoints(&client, "app", "u1").await {
                UserErasure::Failed(e) => {
                    assert_eq!(e.name(), name, "{code}: {e}");
                    assert!(!e.to_string().contains("u1"), "{e}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        let not_found = wire(404, "NotFoundException");
        let client = mock_client!(aws_sdk_pinpoint, RuleMode::Sequential, [&not_found]);
        assert_eq!(
            delete_user_endpoints(&client, "app", "u1").await,
            UserErasure::NoEndpoints
        );
    }

    #[tokio::test]
    async fn a_bare_429_is_throttling() {
        let rule = mock!(Client::delete_user_endpoints)
            .sequence()
            .http_status(429, None)
            .build();
        let client = mock_client!(aws_sdk_pinpoint, RuleMode::Sequential, [&rule]);
        match delete_user_endpoints(&client, "app", "u1").await {
            UserErasure::Failed(e) => assert_eq!(e.name(), "Throttled"),
            other => panic!("{other:?}"),
        }
    }
}
