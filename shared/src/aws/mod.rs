//! Thin adapters over the AWS SDK clients: they turn SDK results into the domain's types and
//! typed errors, so the rules stay free of AWS types.

pub mod customer_profiles;
pub mod destination;
pub mod errors;
pub mod iam;
pub mod personalize;
pub mod personalize_models;
pub mod pinpoint;
pub mod s3;
pub mod sfn;
pub mod ssm;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the shared SDK configuration once, in main (region, credentials, endpoint overrides).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

/// An S3 client; `S3_FORCE_PATH_STYLE=true` is for local emulations that cannot do virtual hosts.
pub fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = std::env::var("S3_FORCE_PATH_STYLE")
        .map(|v| v == "true")
        .unwrap_or(false);
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    )
}

/// How long one call of an erasure target may take: `PINPOINT_CALL_TIMEOUT_MS` (default 5000).
/// A latency spike becomes a retried `Transient` error instead of a shard stuck until the
/// function's own timeout.
fn target_call_timeout() -> aws_config::timeout::TimeoutConfig {
    let timeout_ms = std::env::var("PINPOINT_CALL_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(5_000);
    aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_millis(timeout_ms))
        .build()
}

/// A Pinpoint client without SDK-level retries: the erasure loop retries itself, so that its rate
/// limiter sees every throttling answer and slows down.
pub fn pinpoint_client(conf: &SdkConfig) -> aws_sdk_pinpoint::Client {
    aws_sdk_pinpoint::Client::from_conf(
        aws_sdk_pinpoint::config::Builder::from(conf)
            .retry_config(RetryConfig::disabled())
            .timeout_config(target_call_timeout())
            .build(),
    )
}

/// A Customer Profiles client, without SDK-level retries for the same reason as Pinpoint's.
pub fn customer_profiles_client(conf: &SdkConfig) -> aws_sdk_customerprofiles::Client {
    aws_sdk_customerprofiles::Client::from_conf(
        aws_sdk_customerprofiles::config::Builder::from(conf)
            .retry_config(RetryConfig::disabled())
            .timeout_config(target_call_timeout())
            .build(),
    )
}

pub use aws_sdk_personalize::Client as PersonalizeClient;
pub use aws_sdk_sfn::Client as SfnClient;
pub use customer_profiles::{ProfilesDomain, ProfilesPacing};
pub use destination::Destination;
pub use personalize::PersonalizeJobs;
pub use personalize_models::PersonalizeModels;
pub use pinpoint::PinpointApp;
pub use s3::S3Store;
pub use sfn::SfnExecutions;
