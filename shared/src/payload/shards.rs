//! A shard's result as the shards map's children report it: per destination (a Pinpoint
//! application, a Customer Profiles domain), counts only.

use serde::{Deserialize, Serialize};

use super::CaughtError;

/// The kinds of destination a person's data is erased from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    /// An Amazon Pinpoint application (DeleteUserEndpoints). Results written before destinations
    /// had kinds are Pinpoint's.
    #[default]
    Pinpoint,
    /// An Amazon Connect Customer Profiles domain (SearchProfiles, DeleteProfile).
    CustomerProfiles,
}

impl TargetKind {
    /// As receipts and evidence files name it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Pinpoint => "pinpoint",
            TargetKind::CustomerProfiles => "customerProfiles",
        }
    }

    /// What one item of this destination is called, in the plural.
    pub fn items(self) -> &'static str {
        match self {
            TargetKind::Pinpoint => "endpoints",
            TargetKind::CustomerProfiles => "profiles",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one shard did in one destination. The wire names are the first version's (Pinpoint
/// only), so progress objects written before an upgrade still read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetShardResult {
    /// The kind of destination.
    #[serde(default)]
    pub kind: TargetKind,
    /// The destination: the Pinpoint application ID, the Customer Profiles domain name.
    #[serde(rename = "applicationId")]
    pub target_id: String,
    /// Users handled (erased, without data there, or failed).
    pub users_processed: u64,
    /// Items deleted (endpoints, profiles).
    #[serde(rename = "endpointsDeleted")]
    pub items_deleted: u64,
    /// Users who had nothing in this destination.
    #[serde(rename = "usersWithoutEndpoints")]
    pub users_without_items: u64,
    /// Users whose data could not be erased (or came back after it was).
    pub failed_users: u64,
    /// Users whose data was deleted and then found again (counted among the failed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reappeared: u64,
    /// Failures by reason (counts only).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failure_reasons: std::collections::BTreeMap<String, u64>,
    /// The S3 object listing the failed users (inside the request's work folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_users_key: Option<String>,
    /// Why the destination could not be used at all (its check failed: missing, denied, or an
    /// account whose Pinpoint resources ended with Pinpoint's end of support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

/// The reason recorded for a user whose data was deleted and then found again (an object type
/// with AllowProfileCreation re-created the profile from newly ingested data).
pub const REAPPEARED_REASON: &str =
    "deleted, then found again (re-created after deletion, e.g. by an integration)";

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TargetShardResult {
    /// Whether this result is destination `id` of kind `kind`.
    pub fn is(&self, kind: TargetKind, id: &str) -> bool {
        self.kind == kind && self.target_id == id
    }
}

/// What the erase step returns for one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardResult {
    /// The shard.
    pub index: u32,
    /// Users in the shard.
    pub users: u64,
    /// One entry per configured destination (the field keeps its first name).
    #[serde(rename = "applications")]
    pub targets: Vec<TargetShardResult>,
    /// False when the step stopped before its deadline and the workflow must call it again.
    #[serde(default = "yes")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

/// One element of the shards map's result: a shard's result, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardItem {
    /// The shard.
    #[serde(default)]
    pub index: u32,
    /// Users in the shard.
    #[serde(default)]
    pub users: u64,
    /// Per-destination results, when the shard ran (the field keeps its first name).
    #[serde(default, rename = "applications")]
    pub targets: Vec<TargetShardResult>,
    /// What went wrong, if the step failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}
