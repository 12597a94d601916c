//! A Pinpoint application as an [`ErasureTarget`]: DeleteUserEndpoints for each user, paced by
//! the function's limiter (the account's quota), GetApp as the check. Service messages are never
//! kept here: Pinpoint's paths carry the user ID.

use aws_sdk_pinpoint::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::ports::{Erased, ErasureTarget, Holding, TargetKind};
use crate::rate_limit::RateLimiter;

/// One Pinpoint application, erased through a shared client and limiter.
pub struct PinpointApp<'a> {
    client: &'a Client,
    application_id: String,
    limiter: &'a RateLimiter,
}

impl<'a> PinpointApp<'a> {
    /// The application `application_id`, paced by `limiter` (one per execution environment:
    /// DeleteUserEndpoints' quota is the account's, whatever the application).
    pub fn new(client: &'a Client, application_id: &str, limiter: &'a RateLimiter) -> Self {
        PinpointApp {
            client,
            application_id: application_id.to_string(),
            limiter,
        }
    }
}

impl ErasureTarget for PinpointApp<'_> {
    fn kind(&self) -> TargetKind {
        TargetKind::Pinpoint
    }

    fn id(&self) -> &str {
        &self.application_id
    }

    /// GetApp: tells "no such application" (which DeleteUserEndpoints would report as a user
    /// without endpoints) and "access denied" apart before any user is counted.
    async fn check(&self) -> Result<(), ErasureError> {
        self.client
            .get_app()
            .application_id(&self.application_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("GetApp", &e, true))
    }

    fn unusable(&self, error: &ErasureError) -> &'static str {
        match error {
            // What a retired account answers is not documented: both say where Pinpoint stands.
            ErasureError::NotFound(_) => {
                "application not found (deleted, or unreachable since Pinpoint's end of support on 2026-10-30)"
            }
            ErasureError::Forbidden(_) => {
                "access denied (missing permission, or unreachable since Pinpoint's end of support on 2026-10-30)"
            }
            _ => "application check failed",
        }
    }

    /// GetUserEndpoints: the endpoints DeleteUserEndpoints would delete (NotFound: none). Paced
    /// by the same limiter: GetUserEndpoints has a quota of its own, but the preview is meant for
    /// before an erasure, not beside one.
    async fn preview(&self, user: &str) -> Result<Holding, ErasureError> {
        self.limiter.acquire().await;
        match self
            .client
            .get_user_endpoints()
            .application_id(&self.application_id)
            .user_id(user)
            .send()
            .await
        {
            Ok(out) => Ok(
                match out.endpoints_response().map_or(0, |r| r.item().len()) {
                    0 => Holding::Nothing,
                    n => Holding::Items(n as u64),
                },
            ),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(Holding::Nothing)
            }
            Err(err) => Err(from_sdk("GetUserEndpoints", &err, false)),
        }
    }

    /// DeleteUserEndpoints for one user: NotFound means the user has no endpoint here.
    async fn erase(&self, user: &str) -> Result<Erased, ErasureError> {
        self.limiter.acquire().await;
        let result = match self
            .client
            .delete_user_endpoints()
            .application_id(&self.application_id)
            .user_id(user)
            .send()
            .await
        {
            Ok(out) => Ok(Erased::Deleted(
                out.endpoints_response()
                    .map(|r| r.item().len() as u64)
                    .unwrap_or(0),
            )),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(Erased::NothingThere)
            }
            Err(err) => Err(from_sdk("DeleteUserEndpoints", &err, false)),
        };
        match &result {
            Err(ErasureError::Throttled(_)) => self.limiter.throttled().await,
            Ok(_) => self.limiter.succeeded().await,
            Err(_) => {}
        }
        result
    }
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

    async fn delete_user_endpoints(
        client: &Client,
        app: &str,
        user: &str,
    ) -> Result<Erased, ErasureError> {
        let limiter = RateLimiter::new(1_000.0);
        PinpointApp::new(client, app, &limiter).erase(user).await
    }

    /// As `pinpoint_client` builds it: the erasure loop retries, not the SDK.
    fn no_retries(c: aws_sdk_pinpoint::config::Builder) -> aws_sdk_pinpoint::config::Builder {
        c.retry_config(aws_sdk_pinpoint::config::retry::RetryConfig::disabled())
    }

    fn two_endpoints() -> EndpointsResponse {
        EndpointsResponse::builder()
            .item(EndpointResponse::builder().id("e1").build())
            .item(EndpointResponse::builder().id("e2").build())
            .build()
    }

    #[tokio::test]
    async fn deleted_endpoints_are_counted() {
        let rule = mock!(Client::delete_user_endpoints)
            .match_requests(|r| r.application_id() == Some("app") && r.user_id() == Some("u1"))
            .then_output(|| {
                DeleteUserEndpointsOutput::builder()
                    .endpoints_response(two_endpoints())
                    .build()
            });
        let client = mock_client!(aws_sdk_pinpoint, [&rule]);
        assert_eq!(
            delete_user_endpoints(&client, "app", "u1").await,
            Ok(Erased::Deleted(2))
        );
    }

    /// The preview reads (GetUserEndpoints) and deletes nothing: no DeleteUserEndpoints rule
    /// exists, so a delete would fail the test.
    #[tokio::test]
    async fn a_preview_counts_the_endpoints_without_deleting() {
        use aws_sdk_pinpoint::operation::get_user_endpoints::{
            GetUserEndpointsError, GetUserEndpointsOutput,
        };
        let found = mock!(Client::get_user_endpoints)
            .match_requests(|r| r.user_id() == Some("u1"))
            .then_output(|| {
                GetUserEndpointsOutput::builder()
                    .endpoints_response(two_endpoints())
                    .build()
            });
        let none = mock!(Client::get_user_endpoints)
            .match_requests(|r| r.user_id() == Some("u2"))
            .then_error(|| {
                GetUserEndpointsError::NotFoundException(NotFoundException::builder().build())
            });
        let client = mock_client!(aws_sdk_pinpoint, RuleMode::MatchAny, [&found, &none]);
        let limiter = RateLimiter::new(1_000.0);
        let app = PinpointApp::new(&client, "app", &limiter);
        assert_eq!(app.preview("u1").await.unwrap(), Holding::Items(2));
        assert_eq!(app.preview("u2").await.unwrap(), Holding::Nothing);
    }

    #[tokio::test]
    async fn not_found_means_no_endpoints() {
        let rule = mock!(Client::delete_user_endpoints).then_error(|| {
            DeleteUserEndpointsError::NotFoundException(NotFoundException::builder().build())
        });
        let client = mock_client!(aws_sdk_pinpoint, [&rule]);
        assert_eq!(
            delete_user_endpoints(&client, "app", "u1").await,
            Ok(Erased::NothingThere)
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
            let client = mock_client!(aws_sdk_pinpoint, RuleMode::Sequential, [&rule], no_retries);
            match delete_user_endpoints(&client, "app", "u1").await {
                Err(e) => {
                    assert_eq!(e.name(), name, "{code}: {e}");
                    assert!(!e.to_string().contains("u1"), "{e}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        let not_found = wire(404, "NotFoundException");
        let client = mock_client!(
            aws_sdk_pinpoint,
            RuleMode::Sequential,
            [&not_found],
            no_retries
        );
        assert_eq!(
            delete_user_endpoints(&client, "app", "u1").await,
            Ok(Erased::NothingThere)
        );
    }

    #[tokio::test]
    async fn a_bare_429_is_throttling() {
        let rule = mock!(Client::delete_user_endpoints)
            .sequence()
            .http_status(429, None)
            .build();
        let client = mock_client!(aws_sdk_pinpoint, RuleMode::Sequential, [&rule], no_retries);
        match delete_user_endpoints(&client, "app", "u1").await {
            Err(e) => assert_eq!(e.name(), "Throttled"),
            other => panic!("{other:?}"),
        }
    }
}
