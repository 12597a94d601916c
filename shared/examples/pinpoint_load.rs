//! A load generator for the benchmark: deletes the endpoints of `COUNT` users named
//! `PREFIX0..PREFIX{COUNT-1}` in one Pinpoint application as fast as the endpoint answers, with
//! `CONCURRENCY` calls in flight, through the same client the erase function builds (no SDK
//! retries, the same timeouts). `make bench` points it at the local emulation to measure how many
//! DeleteUserEndpoints calls per second the emulation itself sustains.
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:PORT cargo run --release -p erasure-shared \
//!     --example pinpoint_load -- APP_ID PREFIX COUNT CONCURRENCY
//! ```
//! Prints one JSON line: calls, seconds, calls per second, answers by outcome.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::stream::{self, StreamExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [app, prefix, count, concurrency] = args.as_slice() else {
        eprintln!("usage: pinpoint_load APP_ID PREFIX COUNT CONCURRENCY");
        std::process::exit(2);
    };
    let count: u64 = count.parse()?;
    let concurrency: usize = concurrency.parse()?;
    let conf = erasure::aws::load_config().await;
    let client = erasure::aws::pinpoint_client(&conf);
    let started = Instant::now();
    let outcomes = stream::iter(0..count)
        .map(|i| {
            let call = client
                .delete_user_endpoints()
                .application_id(app)
                .user_id(format!("{prefix}{i}"));
            async move {
                match call.send().await {
                    Ok(_) => "ok".to_string(),
                    Err(e) => match e.raw_response() {
                        Some(raw) => format!("http_{}", raw.status().as_u16()),
                        None => "no_response".to_string(),
                    },
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .fold(BTreeMap::new(), |mut seen, outcome| async move {
            *seen.entry(outcome).or_insert(0u64) += 1;
            seen
        })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "calls": count,
            "seconds": seconds,
            "callsPerSecond": count as f64 / seconds,
            "outcomes": outcomes,
        })
    );
    Ok(())
}
