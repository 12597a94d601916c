//! Checks the dataset groups before the deletion jobs (nothing may import or train meanwhile)
//! and retrains their solutions after them (a new FULL version, campaigns moved to it).

use erasure::aws::{
    load_config, s3_client, PersonalizeClient, PersonalizeJobs, PersonalizeModels, S3Store,
};
use erasure::payload::ModelsInput;
use erasure::steps::models::{handle, ModelsConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = ModelsConfig::from_env()?;
    let conf = load_config().await;
    let store = S3Store::new(s3_client(&conf));
    let personalize = PersonalizeClient::new(&conf);
    let jobs = PersonalizeJobs::new(personalize.clone());
    let models = PersonalizeModels::new(personalize);
    run(service_fn(|ev: LambdaEvent<ModelsInput>| {
        let span = request_span(&ev.payload);
        handle(&cfg, &store, &jobs, &models, ev.payload).instrument(span)
    }))
    .await
}
