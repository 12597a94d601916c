//! A Pinpoint shard's result as the shards map's children report it.

use serde::{Deserialize, Serialize};

use super::CaughtError;

/// What one shard did in one Pinpoint application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppShardResult {
    /// The Pinpoint application.
    pub application_id: String,
    /// Users handled (erased, without endpoints, or failed).
    pub users_processed: u64,
    /// Endpoints deleted.
    pub endpoints_deleted: u64,
    /// Users who had no endpoint in this application.
    pub users_without_endpoints: u64,
    /// Users whose endpoints could not be deleted.
    pub failed_users: u64,
    /// Failures by reason (counts only).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failure_reasons: std::collections::BTreeMap<String, u64>,
    /// The S3 object listing the failed users (inside the request's work folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_users_key: Option<String>,
}

/// What the Pinpoint step returns for one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardResult {
    /// The shard.
    pub index: u32,
    /// Users in the shard.
    pub users: u64,
    /// One entry per configured application.
    pub applications: Vec<AppShardResult>,
    /// False when the step stopped before its deadline and the workflow must call it again.
    #[serde(default = "yes")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

/// One element of the Pinpoint map's result: a shard's result, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardItem {
    /// The shard.
    #[serde(default)]
    pub index: u32,
    /// Users in the shard.
    #[serde(default)]
    pub users: u64,
    /// Per-application results, when the shard ran.
    #[serde(default)]
    pub applications: Vec<AppShardResult>,
    /// What went wrong, if the step failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}
