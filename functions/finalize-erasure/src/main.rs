//! Decides the request's outcome and writes its receipt. Invoked by the state machine with what
//! the workflow reached, or by EventBridge when an execution ended (stopped, timed out, failed)
//! before it got here.

use erasure::aws::{load_config, s3_client, ssm, PersonalizeClient, PersonalizeJobs, S3Store};
use erasure::deadline::invocation_deadline;
use erasure::steps::finalize::{dispatch, FinalizeConfig, Services};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = FinalizeConfig::from_env()?;
    let conf = load_config().await;
    let store = S3Store::new(s3_client(&conf));
    let jobs = PersonalizeJobs::new(PersonalizeClient::new(&conf));
    let services = Services {
        store: &store,
        jobs: &jobs,
    };
    // Read while the function asks for its first request, not before (see ssm.rs).
    let hasher = ssm::UserHasherLoad::start(&conf);
    let (cfg, services, hasher) = (&cfg, &services, &hasher);
    run(service_fn(
        |ev: LambdaEvent<serde_json::Value>| async move {
            let deadline = invocation_deadline(
                ev.context.deadline(),
                std::time::SystemTime::now(),
                cfg.function_timeout,
            );
            // The key is waited for only once the receipt is built (see ssm.rs).
            dispatch(cfg, services, hasher.get(), Some(deadline), ev.payload).await
        },
    ))
    .await
}
