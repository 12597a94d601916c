//! Erases every user of one shard in every configured destination: the Pinpoint applications
//! (DeleteUserEndpoints) and the Customer Profiles domains (SearchProfiles, DeleteProfile).

use erasure::aws::{
    customer_profiles_client, load_config, pinpoint_client, s3_client, Destination, PinpointApp,
    ProfilesDomain, ProfilesPacing, S3Store,
};
use erasure::deadline::invocation_deadline;
use erasure::pacing::Budget;
use erasure::payload::ShardSpec;
use erasure::rate_limit::RateLimiter;
use erasure::steps::erase::{handle, EraseConfig};
use erasure::telemetry::{request_span, Instrument};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    erasure::telemetry::init();
    let cfg = EraseConfig::from_env()?;
    let conf = load_config().await;
    let store = S3Store::new(s3_client(&conf));
    let (pinpoint, profiles) = (pinpoint_client(&conf), customer_profiles_client(&conf));
    // One limiter per API and execution environment, kept across invocations and shared by
    // every application or domain (the quotas are the account's). Their ceilings are this
    // invocation's share of the budget, refreshed from the pacing leases.
    let pinpoint_limiter = RateLimiter::for_api("DeleteUserEndpoints", cfg.pinpoint_rate);
    let pacing = cfg.profiles.as_ref().map(|p| ProfilesPacing {
        search: RateLimiter::for_api("SearchProfiles", p.search_rate),
        delete: RateLimiter::for_api("DeleteProfile", p.delete_rate),
    });
    let mut quotas = Vec::new();
    if !cfg.application_ids.is_empty() {
        quotas.push((&pinpoint_limiter, cfg.pinpoint_rate));
    }
    let mut targets: Vec<Destination> = cfg
        .application_ids
        .iter()
        .map(|id| Destination::Pinpoint(PinpointApp::new(&pinpoint, id, &pinpoint_limiter)))
        .collect();
    if let (Some(p), Some(pace)) = (&cfg.profiles, &pacing) {
        quotas.push((&pace.search, p.search_rate));
        quotas.push((&pace.delete, p.delete_rate));
        targets.extend(p.domain_names.iter().map(|d| {
            Destination::Profiles(ProfilesDomain::new(&profiles, d, &p.search_key, pace))
        }));
    }
    let budget = Budget::new(quotas, cfg.headroom);
    run(service_fn(|ev: LambdaEvent<ShardSpec>| {
        let span = request_span(&ev.payload);
        let deadline = invocation_deadline(
            ev.context.deadline(),
            std::time::SystemTime::now(),
            cfg.function_timeout,
        );
        handle(&cfg, &store, &targets, &budget, Some(deadline), ev.payload).instrument(span)
    }))
    .await
}
