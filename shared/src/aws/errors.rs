//! One mapping from SDK errors to the workflow's typed errors, shared by every adapter.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::ErasureError;

/// Maps an error code (as the service names it) to a typed error.
pub fn from_code(code: Option<&str>, detail: String) -> ErasureError {
    match code {
        Some("LimitExceededException") => ErasureError::LimitExceeded(detail),
        Some("ResourceInUseException") => ErasureError::ResourceInUse(detail),
        Some(
            "ResourceNotFoundException"
            | "NotFoundException"
            | "NoSuchKey"
            | "NoSuchBucket"
            | "NoSuchVersion"
            | "NotFound"
            | "PreconditionFailed",
        ) => ErasureError::NotFound(detail),
        Some(
            "InvalidInputException"
            | "BadRequestException"
            | "ValidationException"
            | "InvalidRequest",
        ) => ErasureError::Invalid(detail),
        Some(
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "SlowDown"
            | "RequestLimitExceeded"
            | "ProvisionedThroughputExceededException",
        ) => ErasureError::Throttled(detail),
        Some(
            "AccessDeniedException"
            | "AccessDenied"
            | "ForbiddenException"
            | "UnrecognizedClientException"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch",
        ) => ErasureError::Forbidden(detail),
        Some(
            "InternalServerErrorException"
            | "InternalServerException"
            | "InternalServerError"
            | "InternalError"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "RequestTimeout",
        ) => ErasureError::Transient(detail),
        // No code at all means the response could not be parsed (typically a bare 5xx).
        None => ErasureError::Transient(detail),
        Some(_) => ErasureError::Service(detail),
    }
}

/// Maps an SDK error of operation `op`. `with_message` is false where the service's message
/// could echo a user ID (Pinpoint paths carry them): then only the code is kept.
pub fn from_sdk<E>(op: &str, err: &SdkError<E, HttpResponse>, with_message: bool) -> ErasureError
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ConstructionFailure(_) => {
            ErasureError::Invalid(format!("{op}: the request could not be built"))
        }
        SdkError::TimeoutError(_) => ErasureError::Transient(format!("{op}: timed out")),
        SdkError::DispatchFailure(_) => {
            ErasureError::Transient(format!("{op}: the request could not be sent"))
        }
        SdkError::ResponseError(_) => {
            ErasureError::Transient(format!("{op}: the response could not be read"))
        }
        SdkError::ServiceError(se) => {
            let e = se.err();
            let status = se.raw().status().as_u16();
            // A body without an error code (e.g. a bare 429 or 503) is classified by its status.
            let code = e.code().or(match status {
                429 => Some("TooManyRequestsException"),
                403 => Some("ForbiddenException"),
                404 => Some("NotFoundException"),
                _ => None,
            });
            let detail = match (with_message, e.message()) {
                (true, Some(m)) => format!("{op}: {}: {m}", code.unwrap_or("unknown error")),
                _ => format!("{op}: {}", code.unwrap_or("unknown error")),
            };
            from_code(code, detail)
        }
        _ => ErasureError::Transient(format!("{op}: unexpected SDK failure")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_names_the_state_machine_matches() {
        let name = |c: Option<&str>| from_code(c, String::new()).name();
        assert_eq!(name(Some("LimitExceededException")), "LimitExceeded");
        assert_eq!(name(Some("TooManyRequestsException")), "Throttled");
        assert_eq!(name(Some("ThrottlingException")), "Throttled");
        assert_eq!(name(Some("ResourceInUseException")), "ResourceInUse");
        assert_eq!(name(Some("ForbiddenException")), "Forbidden");
        assert_eq!(name(Some("NoSuchKey")), "NotFound");
        assert_eq!(name(Some("InternalServerErrorException")), "Transient");
        assert_eq!(name(Some("InternalServerException")), "Transient");
        assert_eq!(name(None), "Transient");
        assert_eq!(name(Some("SomethingNew")), "ServiceError");
    }
}
