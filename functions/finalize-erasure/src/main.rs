//! Decides the request's outcome and writes its receipt.

use erasure::aws::{load_config, s3_client};
use erasure::steps::finalize::{handle, FinalizeConfig};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = FinalizeConfig::from_env()?;
    let s3 = s3_client(&load_config().await);
    run(service_fn(|ev: LambdaEvent<_>| {
        handle(&cfg, &s3, ev.payload)
    }))
    .await
}
