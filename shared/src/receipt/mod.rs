//! The receipt: the audit record of one request, and the rules that decide its outcome.
//! It holds counts, line numbers, ARNs and S3 keys, never a user ID.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod models;
pub mod plan;
mod rules;
use rules::{decide, personalize_entry, pinpoint_entries, profiles_entries};

use crate::naming::RequestId;
use crate::payload::{
    EvidenceFile, FinalizeInput, JobItem, JobState, Mode, OrderedBy, ShardItem, Verdict,
};
use crate::request_csv::RowRejection;

/// The version of the receipt's layout (shared/schema/receipt.v3.schema.json). Version 2
/// receipts (no Customer Profiles, no account or Region) still read: the fields added since
/// default to empty. Later additions are optional fields of version 3.
pub const SCHEMA_VERSION: &str = "3";

/// What the deployment erases from and where, as configured: a configured destination that
/// reported nothing still gets its entry (and fails the outcome).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    /// The Pinpoint applications.
    pub application_ids: Vec<String>,
    /// The Customer Profiles domains.
    pub domain_names: Vec<String>,
    /// The key searched in every domain.
    pub search_key: Option<String>,
    /// The AWS account erased in.
    pub account: Option<String>,
    /// The AWS Region erased in.
    pub region: Option<String>,
}

pub use crate::payload::Outcome;

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSection {
    /// Bucket of the request file.
    pub bucket: String,
    /// Key of the request file.
    pub key: String,
    /// Version read, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag read.
    pub etag: String,
    /// SHA-256 of the bytes read (absent when the file was never read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Data rows.
    pub rows: u64,
    /// Distinct valid users.
    pub valid_users: u64,
    /// Repeated IDs.
    pub duplicates: u64,
    /// Rejected rows.
    pub rejected_rows: u64,
    /// The first rejected rows, by line and reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<RowRejection>,
    /// The file-level rejection code, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_code: Option<String>,
}

/// One Personalize deletion job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalizeEntry {
    /// Dataset group erased from.
    pub dataset_group_arn: String,
    /// Request part the job read.
    pub part: u32,
    /// Users in that part.
    pub users: u64,
    /// Deterministic job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Job ARN (absent when the job could not be created).
    pub job_arn: Option<String>,
    /// COMPLETED, FAILED, WAIT_EXCEEDED, NOT_CREATED, or UNKNOWN (the job's state was not seen).
    pub status: JobState,
    /// Records deleted.
    pub num_deleted: Option<i64>,
    /// Why the job failed.
    pub failure_reason: Option<String>,
    /// Job creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Job's last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// One Pinpoint application, summed over shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinpointEntry {
    /// The application.
    pub application_id: String,
    /// Users handled.
    pub users_processed: u64,
    /// Endpoints deleted.
    pub endpoints_deleted: u64,
    /// Users with no endpoint there.
    pub users_without_endpoints: u64,
    /// Users whose endpoints could not be deleted.
    pub failed_users: u64,
    /// Failures by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, u64>,
    /// S3 objects listing the failed users (the request's own work objects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_users_keys: Vec<String>,
    /// Why the destination could not be used at all, when it could not (its users are failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

/// One Customer Profiles domain, summed over shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProfilesEntry {
    /// The domain.
    pub domain_name: String,
    /// The key searched for each user ID (e.g. `_account`).
    pub search_key: String,
    /// Users handled.
    pub users_processed: u64,
    /// Profiles deleted (a person may have several).
    pub profiles_deleted: u64,
    /// Users the search found no profile for.
    pub users_without_profile: u64,
    /// Users whose profiles could not be deleted, or came back after deletion.
    pub failed_users: u64,
    /// Users a search after the deletes (or the first search) found without any profile.
    pub verified_absent: u64,
    /// Users whose profiles were deleted and then found again (counted among the failed).
    #[serde(default)]
    pub reappeared: u64,
    /// Failures by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, u64>,
    /// S3 objects listing the failed users (the request's own work objects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_users_keys: Vec<String>,
    /// Why the destination could not be used at all, when it could not (its users are failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

/// The audit record of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// Layout version.
    pub schema_version: String,
    /// The request's ID.
    pub request_id: RequestId,
    /// The Step Functions execution.
    pub execution_name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, when not COMPLETED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was asked.
    pub request: RequestSection,
    /// Every deletion job.
    pub personalize: Vec<PersonalizeEntry>,
    /// Every Pinpoint application.
    pub pinpoint: Vec<PinpointEntry>,
    /// Every Customer Profiles domain (absent from version 2 receipts).
    #[serde(default)]
    pub customer_profiles: Vec<CustomerProfilesEntry>,
    /// Every dataset group's models: what ran on it before and during the deletion, what was
    /// retrained after it, and the S3 locations this workflow does not erase (absent from
    /// receipts written before retraining was added).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub personalize_models: Vec<models::GroupModels>,
    /// The AWS account erased in (absent from version 2 receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The AWS Region erased in (absent from version 2 receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Keyed hashes that let an operator with the key answer "was user X in this request, and
    /// what happened to them?" (absent when no key is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// What the workflow deleted of the request's own copies of user IDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<Purge>,
    /// Who ordered the request: the uploader's IAM unique ID (and role ARN, when the role is a
    /// named uploader), the upload's time and the object's version (absent from receipts
    /// written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered_by: Option<OrderedBy>,
    /// A preview's findings: what erasing the same file would touch (outcome PLANNED only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<plan::Plan>,
    /// The plan receipt of the same file (same SHA-256) made before this erasure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preceded_by: Option<PrecededBy>,
    /// When the request was received: the first upload of these bytes (the legal clock's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// By when the law the deployment keeps (`LegalDeadline`) says the request must be answered
    /// (absent for a plan, or without a regime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_by: Option<crate::legal_clock::RespondBy>,
    /// When the workflow started.
    pub started_at: String,
    /// When the receipt was written.
    pub finished_at: String,
}

/// The plan that preceded a request: the plan receipt of a file with the same SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrecededBy {
    /// The plan receipt's key (in the same bucket).
    pub plan_receipt: String,
    /// The plan's execution.
    pub execution_name: String,
    /// When the plan receipt was written.
    pub planned_at: String,
    /// The SHA-256 both files share.
    pub request_sha256: String,
}

/// The receipt's per-user evidence: keyed hashes only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// How user IDs are hashed (see `user_hash`).
    pub hash_algorithm: String,
    /// Users per shard: user N of the index was in shard N / shardUsers.
    pub shard_users: u64,
    /// Every valid user's hash, one per line, in the order of the parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_index: Option<EvidenceFile>,
    /// `USER_HASH,TARGET_KIND,TARGET_ID,REASON` for every user whose data could not be erased
    /// in a destination (version 2: `USER_HASH,APPLICATION_ID,REASON`, Pinpoint only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_users: Option<EvidenceFile>,
}

/// What became of the request file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PurgeAction {
    /// Deleted for good (the uploaded version).
    Deleted,
    /// Kept so the request can be retried; the bucket's lifecycle rule removes it after the
    /// retention period.
    Kept,
    /// The delete failed (`incomplete` says why); the lifecycle rule removes it.
    NotDeleted,
    /// This version of the receipt was written before the purge; a later one says what it did.
    Pending,
}

/// What happened to the request's copies of user IDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purge {
    /// What became of the uploaded version of the request file.
    pub request_object: PurgeAction,
    /// Object versions deleted under the request's work folder.
    pub work_objects_deleted: u64,
    /// Why the purge did not finish (its time ran out, a delete was refused), when it did not:
    /// what is left is expired by the bucket's lifecycle rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// What the finalize step found the erasure steps did: every deletion job (one per dataset
/// group and part) and every shard, from the maps' result files, Personalize and the
/// shards' progress objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Every deletion job of the request, in the order of the job manifest.
    pub jobs: Vec<JobItem>,
    /// Every shard, in the order of the shard manifest.
    pub shards: Vec<ShardItem>,
    /// Every dataset group's models: the check before the jobs, the retraining after them.
    pub models: Vec<models::GroupModels>,
    /// A preview's models step: what the deletion jobs and the retraining would touch.
    pub personalize_plan: Option<plan::PersonalizePlan>,
}

impl Receipt {
    /// Builds the receipt from what the workflow reached (`found`: what the erasure steps did,
    /// when they ran), deciding the outcome.
    pub fn build(
        input: &FinalizeInput,
        found: Option<&Findings>,
        deployment: &Deployment,
        finished_at: String,
    ) -> Receipt {
        let req = &input.request;
        let prepared = input.prepared.as_ref();
        let stats = prepared.map(|p| p.stats.clone()).unwrap_or_default();
        let read = prepared.map(|p| &p.request).unwrap_or(req);
        let request = RequestSection {
            bucket: read.bucket.clone(),
            key: read.key.clone(),
            version_id: read.version_id.clone(),
            etag: read.etag.clone(),
            sha256: read.sha256.clone(),
            rows: stats.rows,
            valid_users: stats.valid_users,
            duplicates: stats.duplicates,
            rejected_rows: stats.rejected_rows,
            rejections: stats.rejections.clone(),
            rejection_code: prepared.and_then(|p| p.reason_code.clone()),
        };
        let (jobs, shards, groups) = match found {
            Some(f) => (f.jobs.as_slice(), f.shards.as_slice(), f.models.as_slice()),
            None => (&[][..], &[][..], &[][..]),
        };
        let personalize: Vec<PersonalizeEntry> = jobs.iter().map(personalize_entry).collect();
        let pinpoint = pinpoint_entries(shards, &deployment.application_ids);
        let customer_profiles = profiles_entries(
            shards,
            &deployment.domain_names,
            deployment.search_key.as_deref().unwrap_or(""),
        );
        let ordered_by = prepared.and_then(|p| p.ordered_by.clone()).or_else(|| {
            req.uploader.as_ref().map(|u| OrderedBy {
                unique_id: u.unique_id.clone(),
                kind: u.kind,
                role_arn: None,
                session_name: u.session_name.clone(),
                uploaded_at: u.uploaded_at.clone(),
                object_version: req.version_id.clone(),
                allowed: None,
            })
        });
        let planning = req.mode == Mode::Plan
            && prepared.is_some_and(|p| p.verdict == Verdict::Accepted)
            && found.is_some()
            && input.error.is_none();
        if planning {
            // A preview: the shards' counts are what erasing would delete, named so here; no
            // deletion job ran, and no entry says anything was deleted.
            let plan = plan::Plan {
                personalize: found
                    .and_then(|f| f.personalize_plan.clone())
                    .map(|p| p.groups)
                    .unwrap_or_default(),
                pinpoint: pinpoint.iter().map(plan::PinpointPlan::from).collect(),
                customer_profiles: customer_profiles
                    .iter()
                    .map(plan::ProfilesPlan::from)
                    .collect(),
                latest_end: found
                    .and_then(|f| f.personalize_plan.as_ref())
                    .and_then(|p| p.latest_end.clone()),
                request_sha256: read.sha256.clone(),
            };
            return Receipt {
                schema_version: SCHEMA_VERSION.into(),
                request_id: req.request_id.clone(),
                execution_name: input.execution.name.clone(),
                outcome: Outcome::Planned,
                reason: plan::shortfalls(&plan),
                request,
                personalize: Vec::new(),
                pinpoint: Vec::new(),
                customer_profiles: Vec::new(),
                personalize_models: Vec::new(),
                account: deployment.account.clone(),
                region: deployment.region.clone(),
                evidence: None,
                purge: None,
                ordered_by,
                plan: Some(plan),
                preceded_by: None,
                received_at: None,
                respond_by: None,
                started_at: input.execution.start_time.clone(),
                finished_at,
            };
        }
        let (outcome, reason) = decide(
            input,
            found.is_some(),
            &personalize,
            &pinpoint,
            &customer_profiles,
            groups,
        );
        Receipt {
            schema_version: SCHEMA_VERSION.into(),
            request_id: req.request_id.clone(),
            execution_name: input.execution.name.clone(),
            outcome,
            reason,
            request,
            personalize,
            pinpoint,
            customer_profiles,
            personalize_models: groups.to_vec(),
            account: deployment.account.clone(),
            region: deployment.region.clone(),
            evidence: None,
            purge: None,
            ordered_by,
            plan: None,
            preceded_by: None,
            received_at: prepared
                .and_then(|p| p.received_at.clone())
                .or_else(|| req.uploader.as_ref().and_then(|u| u.uploaded_at.clone())),
            respond_by: None,
            started_at: input.execution.start_time.clone(),
            finished_at,
        }
    }
}

#[cfg(test)]
mod tests;
