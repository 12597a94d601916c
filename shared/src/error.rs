//! Typed errors whose names Step Functions can match in Retry and Catch.

/// An error a step hands back to Step Functions; its variant name becomes the `Error` the state machine sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErasureError {
    /// The service throttled us beyond what the in-function retries absorb; retry later.
    #[error("throttled: {0}")]
    Throttled(String),
    /// A transient failure (network, timeout, 5xx); retry later.
    #[error("transient failure: {0}")]
    Transient(String),
    /// A service quota is reached (e.g. 5 pending deletion jobs per dataset group); retry with a long backoff.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The resource is busy (e.g. the dataset group is being updated); retry later.
    #[error("resource in use: {0}")]
    ResourceInUse(String),
    /// The input or configuration is wrong; retrying cannot help.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A resource the step needs does not exist (dataset group, bucket, request object).
    #[error("not found: {0}")]
    NotFound(String),
    /// Access is denied; retrying cannot help until the deployment is fixed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Anything else the service reported; not retried.
    #[error("service error: {0}")]
    Service(String),
}

impl ErasureError {
    /// The stable name Step Functions matches in `ErrorEquals`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Throttled(_) => "Throttled",
            Self::Transient(_) => "Transient",
            Self::LimitExceeded(_) => "LimitExceeded",
            Self::ResourceInUse(_) => "ResourceInUse",
            Self::Invalid(_) => "Invalid",
            Self::NotFound(_) => "NotFound",
            Self::Forbidden(_) => "Forbidden",
            Self::Service(_) => "ServiceError",
        }
    }

    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled(_)
                | Self::Transient(_)
                | Self::LimitExceeded(_)
                | Self::ResourceInUse(_)
        )
    }
}

#[cfg(feature = "aws")]
impl From<ErasureError> for lambda_runtime::Diagnostic {
    fn from(e: ErasureError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// A missing or malformed setting, reported at start with its name.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "aws")]
    #[test]
    fn diagnostic_carries_the_variant_name() {
        use lambda_runtime::Diagnostic;
        let d: Diagnostic = ErasureError::LimitExceeded("5 pending".into()).into();
        assert_eq!(d.error_type, "LimitExceeded");
        assert!(d.error_message.contains("5 pending"));
        let d: Diagnostic = ErasureError::Service("x".into()).into();
        assert_eq!(d.error_type, "ServiceError");
    }

    #[test]
    fn only_transient_kinds_are_retryable() {
        assert!(ErasureError::Throttled(String::new()).is_retryable());
        assert!(!ErasureError::Invalid(String::new()).is_retryable());
        assert!(!ErasureError::Forbidden(String::new()).is_retryable());
    }
}
