//! Deletes every Pinpoint endpoint of every user in one shard, in every configured application.

use erasure::aws::{load_config, pinpoint_client, s3_client};
use erasure::payload::ShardSpec;
use erasure::rate_limit::RateLimiter;
use erasure::steps::erase::{handle, invocation_deadline, EraseConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = EraseConfig::from_env()?;
    let conf = load_config().await;
    let (s3, pinpoint) = (s3_client(&conf), pinpoint_client(&conf));
    // One limiter per execution environment, kept across invocations.
    let limiter = RateLimiter::new(cfg.rate_per_second);
    run(service_fn(|ev: LambdaEvent<ShardSpec>| {
        let span = request_span(&ev.payload);
        handle(
            &cfg,
            &s3,
            &pinpoint,
            &limiter,
            Some(invocation_deadline(
                ev.context.deadline(),
                std::time::SystemTime::now(),
                cfg.function_timeout,
            )),
            ev.payload,
        )
        .instrument(span)
    }))
    .await
}
