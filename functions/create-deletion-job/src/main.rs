//! Creates (or finds) the Personalize data deletion job for one dataset group and part.

use erasure::aws::{load_config, PersonalizeClient, PersonalizeJobs};
use erasure::payload::JobSpec;
use erasure::steps::create_job::{handle, CreateJobConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = CreateJobConfig::from_env()?;
    let jobs = PersonalizeJobs::new(PersonalizeClient::new(&load_config().await));
    run(service_fn(|ev: LambdaEvent<JobSpec>| {
        let span = request_span(&ev.payload);
        handle(&cfg, &jobs, ev.payload).instrument(span)
    }))
    .await
}
