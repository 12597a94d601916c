//! Log set-up: JSON lines when Lambda's log format is JSON, plain text otherwise.

/// Installs the global tracing subscriber once, in main.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|v| v.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| {
            tracing_subscriber::EnvFilter::try_new("info,aws_config=warn,aws_smithy_runtime=warn")
        })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .without_time();
    if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

pub use tracing::Instrument;

/// The span one invocation runs in: every log line of it carries the request's execution name
/// (`erasure-<request ID>`), so a request can be followed across functions.
pub fn request_span(input: &impl crate::payload::ForRequest) -> tracing::Span {
    let execution = input.request_id().execution_name();
    tracing::info_span!("request", execution = %execution)
}
