//! The request as the trigger saw it, and what preparation plans for it.

use serde::{Deserialize, Serialize};

use crate::naming::RequestId;
use crate::request_csv::RequestStats;

use super::ExecutionFacts;

/// The uploaded request object, as the trigger saw it (the execution input's `request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestObject {
    /// Bucket of the request file.
    pub bucket: String,
    /// Decoded object key.
    pub key: String,
    /// The uploaded version, when the bucket is versioned: the workflow reads exactly it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag of the uploaded object (without quotes).
    pub etag: String,
    /// Size in bytes from the event.
    #[serde(default)]
    pub size: u64,
    /// The request ID derived from bucket, key and ETag.
    pub request_id: RequestId,
    /// SHA-256 of the bytes read (set by preparation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Erase, or only preview (a file uploaded under the plan prefix). Always written, so the
    /// state machine's Choice can read it; an input without it (from before previews) erases.
    #[serde(default)]
    pub mode: Mode,
    /// Who uploaded the file and when, from the S3 event (absent in events without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader: Option<Uploader>,
}

/// What a request does with its users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// Erase them (a file under the request prefix).
    #[default]
    Erase,
    /// Read-only: count what erasing them would touch, and write a plan receipt (a file under
    /// the plan prefix).
    Plan,
}

/// The kind of IAM identity that uploaded a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrincipalKind {
    /// A role session (`AWS:AROA…:<session name>`).
    RoleSession,
    /// An IAM user (`AWS:AIDA…`).
    IamUser,
    /// Anything else (an account's root user, a service, an unrecognised form).
    Other,
}

/// The uploader of a request object, as S3's event notification gives it: the IAM unique ID
/// of the identity (`userIdentity.principalId`) and the event's time. No IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uploader {
    /// The identity's unique ID: a role's RoleId (`AROA…`), a user's UserId (`AIDA…`), or the
    /// principal ID as given for any other kind.
    pub unique_id: String,
    /// What kind of identity it is.
    pub kind: PrincipalKind,
    /// The role session's name, only when the deployment keeps it
    /// (`RecordUploaderSessionName=keep`): it often carries a person's user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// When the object was uploaded (the event's `eventTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
}

/// The most characters of a principal ID kept (the payload's bound counts them; a role
/// session's is at most 21 + 1 + 64: RoleId, colon, RoleSessionName of at most 64).
pub const MAX_PRINCIPAL_CHARS: usize = 128;

impl Uploader {
    /// Reads an S3 event's `userIdentity.principalId`. For a role session it is
    /// `AWS:<RoleId>:<session name>`, for an IAM user `AWS:<UserId>` (IAM, "Unique
    /// identifiers", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids,
    /// and the `aws:userid` values in "AWS global condition context keys",
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-userid).
    /// The session name is kept only when `keep_session` says so.
    pub fn from_event(principal_id: &str, event_time: Option<&str>, keep_session: bool) -> Self {
        let id = principal_id.trim();
        let id = id.strip_prefix("AWS:").unwrap_or(id);
        let (unique, session) = match id.split_once(':') {
            Some((u, s)) => (u, Some(s)),
            None => (id, None),
        };
        let kind = if unique.starts_with("AROA") && session.is_some() {
            PrincipalKind::RoleSession
        } else if unique.starts_with("AIDA") && session.is_none() {
            PrincipalKind::IamUser
        } else {
            PrincipalKind::Other
        };
        let unique_id = match kind {
            PrincipalKind::Other => id.chars().take(MAX_PRINCIPAL_CHARS).collect(),
            _ => unique.to_string(),
        };
        Uploader {
            unique_id,
            kind,
            session_name: session
                .filter(|_| keep_session && kind == PrincipalKind::RoleSession)
                .map(|s| s.chars().take(MAX_PRINCIPAL_CHARS).collect()),
            uploaded_at: event_time.map(str::to_string),
        }
    }
}

/// Who ordered a request, as the receipt records it: the uploader, resolved to the role's ARN
/// when the role is one of the deployment's named uploaders, and the object's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedBy {
    /// The identity's unique ID (RoleId `AROA…`, UserId `AIDA…`, or the principal ID as given).
    pub unique_id: String,
    /// What kind of identity it is.
    pub kind: PrincipalKind,
    /// The role's ARN, when the role is one of `RequestUploaderPrincipalArns` (found by
    /// comparing RoleIds from iam:GetRole, never by the session string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The session name, when the deployment keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// When the object was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
    /// The uploaded object's version, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_version: Option<String>,
    /// Whether the uploader is one of the named uploaders: absent when none are named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
}

/// The execution input the trigger starts the workflow with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    /// The request file.
    pub request: RequestObject,
    /// The execution's name and start (added by the state machine's first state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionFacts>,
}

/// Accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The file is valid: erase its users.
    Accepted,
    /// The file is rejected: erase nothing.
    Rejected,
}

/// An S3 object written by the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Ref {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

/// One Personalize deletion job to run: one part of the request in one dataset group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// The request this job belongs to.
    pub request_id: RequestId,
    /// The dataset group to erase from.
    pub dataset_group_arn: String,
    /// 0-based part number.
    pub part: u32,
    /// `s3://bucket/key` of the part.
    pub data_location: String,
    /// Users in the part.
    pub users: u64,
}

/// One Pinpoint shard to erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardSpec {
    /// The request this shard belongs to.
    pub request_id: RequestId,
    /// Bucket of the shard.
    pub bucket: String,
    /// Key of the shard.
    pub key: String,
    /// 0-based shard number.
    pub index: u32,
    /// Users in the shard.
    pub users: u64,
    /// Erase the users, or only count what they hold (a plan).
    #[serde(default, skip_serializing_if = "is_erase")]
    pub mode: Mode,
    /// The execution that prepared the manifest: an execution started again for the same
    /// request (a redrive) retries the users an earlier one recorded as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

fn is_erase(m: &Mode) -> bool {
    *m == Mode::Erase
}

/// Where a Distributed Map's ResultWriter exports its child executions' results
/// (`<prefix>/<map run UUID>/manifest.json` and the result files it lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsLocation {
    /// Bucket.
    pub bucket: String,
    /// Key prefix, without a trailing `/` (Step Functions adds one).
    pub prefix: String,
}

/// One Distributed Map of the workflow: the manifest (a JSON array in S3) its ItemReader reads,
/// and where its ResultWriter writes. Neither the items nor the results travel in a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapPlan {
    /// The items, one per child execution.
    pub manifest: S3Ref,
    /// Where the children's results go.
    pub results: ResultsLocation,
    /// How many items the manifest holds.
    pub count: u64,
}

/// The Pinpoint map's plan: its items are [`ShardSpec`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardPlan {
    /// Manifest, results and count.
    #[serde(flatten)]
    pub map: MapPlan,
    /// Shards erased at once (the map's MaxConcurrencyPath).
    pub concurrency: u32,
    /// Users per shard (user N of the normalised list is in shard N / usersPerShard).
    pub users_per_shard: u64,
}

/// What preparation hands the rest of the workflow: small and of bounded size whatever the
/// request (the job and shard lists are in S3, read by the maps' ItemReaders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prepared {
    /// Accepted or rejected.
    pub verdict: Verdict,
    /// Machine-readable rejection code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Why the file was rejected, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request's counts.
    pub stats: RequestStats,
    /// The ETag and version actually read.
    pub request: RequestObject,
    /// The deletion jobs: one [`JobSpec`] per (dataset group, part). Absent when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<MapPlan>,
    /// The Pinpoint shards. Absent when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardPlan>,
    /// The keyed hashes of every valid user, in normalised order (when a hash key is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_index: Option<EvidenceFile>,
    /// Who ordered the request (when the event said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered_by: Option<OrderedBy>,
    /// When the request was first received: the upload time of the first upload of these bytes
    /// (a re-upload or a retry keeps it), the legal clock's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
}

/// A receipt's companion file: keyed hashes only, never a user ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceFile {
    /// Bucket.
    pub bucket: String,
    /// Key (under the receipt prefix, kept with the receipt).
    pub key: String,
    /// Data lines in it.
    pub rows: u64,
    /// SHA-256 of the object's bytes, so a copy can be checked against the receipt.
    pub sha256: String,
}
