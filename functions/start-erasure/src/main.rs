//! S3 trigger: starts one erasure workflow per uploaded request file.

use erasure::aws::{load_config, SfnClient, SfnExecutions};
use erasure::steps::start::{handle, StartConfig};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = StartConfig::from_env()?;
    let executions = SfnExecutions::new(SfnClient::new(&load_config().await));
    run(service_fn(|ev: LambdaEvent<_>| {
        handle(&cfg, &executions, ev.payload)
    }))
    .await
}
