//! Scheduled (EventBridge): counts the requests not COMPLETED and those near their legal
//! deadline, as metrics the template's `RequestsNearDeadlineAlarm` watches. The event's content
//! is not read: every run looks at the whole bucket.

use erasure::aws::{load_config, s3_client, S3Store};
use erasure::steps::watch_deadlines::{handle, today_utc, WatchConfig};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = WatchConfig::from_env()?;
    let store = S3Store::new(s3_client(&load_config().await));
    let (cfg, store) = (&cfg, &store);
    run(service_fn(|_: LambdaEvent<serde_json::Value>| async move {
        handle(cfg, store, today_utc()).await
    }))
    .await
}
