//! Validates and normalises a request file, writing the parts and shards the erasure reads.

use erasure::aws::iam::IamRoles;
use erasure::aws::{load_config, s3_client, ssm, S3Store};
use erasure::payload::ExecutionInput;
use erasure::steps::prepare::{handle_with_key, PrepareConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = PrepareConfig::from_env()?;
    let conf = load_config().await;
    let store = S3Store::new(s3_client(&conf));
    // Asked only when the deployment names its uploader roles (UPLOADER_ROLE_ARNS).
    let roles = IamRoles::from_conf(&conf);
    // Read beside the first request's opening of its object, not before asking for work.
    let hasher = ssm::UserHasherLoad::start(&conf);
    run(service_fn(|ev: LambdaEvent<ExecutionInput>| {
        let span = request_span(&ev.payload);
        handle_with_key(&cfg, &store, &roles, hasher.get(), ev.payload).instrument(span)
    }))
    .await
}
