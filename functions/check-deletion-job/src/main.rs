//! Reports a Personalize data deletion job's status for the polling loop.

use erasure::aws::{load_config, PersonalizeClient, PersonalizeJobs};
use erasure::payload::JobItem;
use erasure::steps::check_job::{handle, CheckJobConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = CheckJobConfig::from_env()?;
    let jobs = PersonalizeJobs::new(PersonalizeClient::new(&load_config().await));
    run(service_fn(|ev: LambdaEvent<JobItem>| {
        let span = request_span(&ev.payload);
        handle(&cfg, &jobs, ev.payload).instrument(span)
    }))
    .await
}
