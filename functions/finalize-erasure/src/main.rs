//! Decides the request's outcome and writes its receipt. Invoked by the state machine with what
//! the workflow reached, or by EventBridge when an execution was stopped or timed out before it
//! got here.

use erasure::aws::{load_config, s3_client, ssm, PersonalizeClient};
use erasure::steps::finalize::{dispatch, FinalizeConfig};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = FinalizeConfig::from_env()?;
    let conf = load_config().await;
    let s3 = s3_client(&conf);
    let personalize = PersonalizeClient::new(&conf);
    let hasher = ssm::user_hasher(&conf).await?;
    run(service_fn(|ev: LambdaEvent<_>| {
        dispatch(&cfg, &s3, &personalize, hasher.as_ref(), ev.payload)
    }))
    .await
}
