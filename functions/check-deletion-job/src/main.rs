//! Reports a Personalize data deletion job's status for the polling loop.

use erasure::aws::{load_config, PersonalizeClient};
use erasure::steps::check_job::{handle, CheckJobConfig};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = CheckJobConfig::from_env()?;
    let personalize = PersonalizeClient::new(&load_config().await);
    run(service_fn(|ev: LambdaEvent<_>| {
        handle(&cfg, &personalize, ev.payload)
    }))
    .await
}
