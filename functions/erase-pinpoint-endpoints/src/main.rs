//! Deletes every Pinpoint endpoint of every user in one shard, in every configured application.

use erasure::aws::{load_config, pinpoint_client, s3_client, PinpointApp, S3Store};
use erasure::deadline::invocation_deadline;
use erasure::payload::ShardSpec;
use erasure::rate_limit::RateLimiter;
use erasure::steps::erase::{handle, EraseConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = EraseConfig::from_env()?;
    let conf = load_config().await;
    let (store, pinpoint) = (S3Store::new(s3_client(&conf)), pinpoint_client(&conf));
    // One limiter per execution environment, kept across invocations and shared by every
    // application (the quota is the account's).
    let limiter = RateLimiter::new(cfg.rate_per_second);
    let targets: Vec<PinpointApp> = cfg
        .application_ids
        .iter()
        .map(|id| PinpointApp::new(&pinpoint, id, &limiter))
        .collect();
    run(service_fn(|ev: LambdaEvent<ShardSpec>| {
        let span = request_span(&ev.payload);
        let deadline = invocation_deadline(
            ev.context.deadline(),
            std::time::SystemTime::now(),
            cfg.function_timeout,
        );
        handle(&cfg, &store, &targets, Some(deadline), ev.payload).instrument(span)
    }))
    .await
}
