//! The erase step's settings, from the function's environment (the template sets every one).

use std::time::Duration;

use crate::config;
use crate::error::ConfigError;
use crate::limits;

/// Where and how Customer Profiles domains are erased.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilesConfig {
    /// The domains (at least one).
    pub domain_names: Vec<String>,
    /// The search key whose value is the request's user ID (e.g. `_account`, or a custom key).
    pub search_key: String,
    /// The account's SearchProfiles quota, requests per second.
    pub search_rate: f64,
    /// The account's DeleteProfile quota, requests per second.
    pub delete_rate: f64,
}

/// Settings of the erase step.
#[derive(Debug, Clone)]
pub struct EraseConfig {
    /// Pinpoint applications to erase from (may be empty).
    pub application_ids: Vec<String>,
    /// The account's DeleteUserEndpoints quota, requests per second.
    pub pinpoint_rate: f64,
    /// Customer Profiles domains to erase from (None: none configured).
    pub profiles: Option<ProfilesConfig>,
    /// Share of every quota left to live traffic (0 to 0.9).
    pub headroom: f64,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Attempts per user and destination before the user is recorded as failed.
    pub max_attempts: u32,
    /// Where progress objects, failed-user lists and pacing leases go.
    pub work_prefix: String,
    /// How close to the invocation's deadline the step stops and hands the rest back.
    pub handback_margin: Duration,
    /// The function's timeout: the deadline when the runtime reports none that is usable.
    pub function_timeout: Duration,
}

impl EraseConfig {
    /// Reads PINPOINT_APPLICATION_IDS, PINPOINT_ACCOUNT_RATE_PER_SECOND,
    /// CUSTOMER_PROFILES_DOMAIN_NAMES, CUSTOMER_PROFILES_SEARCH_KEY (required when a domain is
    /// set: there is no safe default, a wrong key would report every person as without profile),
    /// CUSTOMER_PROFILES_SEARCH_RATE_PER_SECOND, CUSTOMER_PROFILES_DELETE_RATE_PER_SECOND,
    /// PACING_HEADROOM, PINPOINT_CONCURRENCY, PINPOINT_MAX_ATTEMPTS, WORK_PREFIX,
    /// PINPOINT_HANDBACK_SECONDS and FUNCTION_TIMEOUT_SECONDS.
    pub fn from_env() -> Result<Self, ConfigError> {
        let domain_names = config::optional_list("CUSTOMER_PROFILES_DOMAIN_NAMES");
        let profiles = if domain_names.is_empty() {
            None
        } else {
            let search_key = config::or_default("CUSTOMER_PROFILES_SEARCH_KEY", "");
            if search_key.is_empty() {
                return Err(ConfigError {
                    name: "CUSTOMER_PROFILES_SEARCH_KEY",
                    problem: "is required when CUSTOMER_PROFILES_DOMAIN_NAMES lists a domain (the key whose value is the request's user ID, e.g. _account)".into(),
                });
            }
            Some(ProfilesConfig {
                domain_names,
                search_key,
                search_rate: config::positive(
                    "CUSTOMER_PROFILES_SEARCH_RATE_PER_SECOND",
                    limits::DEFAULT_PROFILES_SEARCH_REQUESTS_PER_SECOND,
                )?,
                delete_rate: config::positive(
                    "CUSTOMER_PROFILES_DELETE_RATE_PER_SECOND",
                    limits::DEFAULT_PROFILES_DELETE_REQUESTS_PER_SECOND,
                )?,
            })
        };
        let headroom: f64 = config::number("PACING_HEADROOM", limits::DEFAULT_PACING_HEADROOM)?;
        if !(0.0..=0.9).contains(&headroom) {
            return Err(ConfigError {
                name: "PACING_HEADROOM",
                problem: "must be between 0 and 0.9 (the share of each quota left to live traffic)"
                    .into(),
            });
        }
        Ok(EraseConfig {
            application_ids: config::optional_list("PINPOINT_APPLICATION_IDS"),
            pinpoint_rate: config::positive(
                "PINPOINT_ACCOUNT_RATE_PER_SECOND",
                limits::DEFAULT_PINPOINT_REQUESTS_PER_SECOND,
            )?,
            profiles,
            headroom,
            concurrency: config::number("PINPOINT_CONCURRENCY", limits::DEFAULT_ERASE_CONCURRENCY)?
                .max(1),
            max_attempts: config::number(
                "PINPOINT_MAX_ATTEMPTS",
                limits::DEFAULT_ERASE_MAX_ATTEMPTS,
            )?
            .max(1),
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            handback_margin: Duration::from_secs(config::number(
                "PINPOINT_HANDBACK_SECONDS",
                limits::DEFAULT_HANDBACK_SECONDS,
            )?),
            function_timeout: Duration::from_secs(config::number(
                "FUNCTION_TIMEOUT_SECONDS",
                limits::DEFAULT_FUNCTION_TIMEOUT_SECONDS,
            )?),
        })
    }
}
