//! Validates and normalises a request file, writing the parts and shards the erasure reads.

use erasure::aws::{load_config, s3_client, ssm, S3Store};
use erasure::payload::ExecutionInput;
use erasure::steps::prepare::{handle, PrepareConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = PrepareConfig::from_env()?;
    let conf = load_config().await;
    let store = S3Store::new(s3_client(&conf));
    let hasher = ssm::user_hasher(&conf).await?;
    run(service_fn(|ev: LambdaEvent<ExecutionInput>| {
        let span = request_span(&ev.payload);
        handle(&cfg, &store, hasher.as_ref(), ev.payload).instrument(span)
    }))
    .await
}
