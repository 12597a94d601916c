//! The narrow interfaces the steps run against: an object store (S3), Personalize's data
//! deletion jobs, Step Functions executions, and an erasure target (a Pinpoint application; a
//! Customer Profiles domain next). `aws/` implements them with the SDK clients, `memory/` in
//! memory for the steps' unit tests. Nothing here names an AWS type.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use futures::Stream;

use crate::error::ErasureError;

/// The bytes of an object as they arrive.
pub type Chunks = Pin<Box<dyn Stream<Item = Result<Vec<u8>, ErasureError>> + Send>>;

/// A request object opened for reading: exactly the uploaded version.
pub struct Opened {
    /// Its bytes, in the chunks the store sends.
    pub body: Chunks,
    /// Its size in bytes.
    pub size: u64,
    /// Its ETag (without quotes).
    pub etag: String,
}

/// Object Lock retention put on what is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// GOVERNANCE or COMPLIANCE.
    pub mode: LockMode,
    /// Until when.
    pub until: SystemTime,
}

/// S3 Object Lock's retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Users with s3:BypassGovernanceRetention may shorten it.
    Governance,
    /// Nobody may shorten it.
    Compliance,
}

impl LockMode {
    /// As S3 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }
}

/// One version of an object (or a delete marker), as a versioned listing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    /// The key.
    pub key: String,
    /// Its version ID (None in a bucket without versioning).
    pub version_id: Option<String>,
}

/// A version a batch delete could not delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The key.
    pub key: String,
    /// The store's error code (e.g. AccessDenied).
    pub code: String,
}

/// What the workflow needs of S3: exact reads, writes (multipart for large ones), locks, and
/// deletes of every version.
pub trait ObjectStore: Sync {
    /// Opens the request object: the given version when there is one, else only if its ETag
    /// still matches (a file replaced since upload is a different request).
    fn open_request(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        etag: &str,
    ) -> impl Future<Output = Result<Opened, ErasureError>> + Send;

    /// The current version of an object the workflow wrote (`NotFound` when there is none).
    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, ErasureError>> + Send;

    /// The current version of an object with its ETag (without quotes); `None` when there is
    /// none.
    fn get_tagged(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<(Vec<u8>, String)>, ErasureError>> + Send;

    /// Writes a small JSON record only if it is as the caller last saw it: absent (`expected`
    /// `None`: If-None-Match `*`) or at this ETag (If-Match). `Ok(false)`: someone else wrote it
    /// first ("Add preconditions to S3 operations with conditional requests", S3 User Guide:
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html; a failed
    /// condition answers 412 Precondition Failed, a concurrent conditional write 409).
    fn put_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<bool, ErasureError>> + Send;

    /// Writes an object, locked when `lock` is given.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        lock: Option<Lock>,
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;

    /// Puts a retention on the current version of an object already written.
    fn lock(
        &self,
        bucket: &str,
        key: &str,
        lock: Lock,
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;

    /// Deletes one version for good (the object, without a version); gone already is fine.
    fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;

    /// The first `max` versions and delete markers under a prefix.
    fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<VersionRef>, ErasureError>> + Send;

    /// The keys of the first `max` current objects under a prefix (ListObjectsV2: objects behind
    /// a delete marker are not listed).
    fn list_keys(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, ErasureError>> + Send;

    /// Deletes these versions in one request; returns those it could not delete.
    fn delete_versions(
        &self,
        bucket: &str,
        versions: Vec<VersionRef>,
    ) -> impl Future<Output = Result<Vec<Refused>, ErasureError>> + Send;

    /// Starts a multipart upload; returns its upload ID.
    fn start_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<String, ErasureError>> + Send;

    /// Uploads part `number` (from 1); returns its ETag.
    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, ErasureError>> + Send;

    /// Completes a multipart upload from its parts' (number, ETag).
    fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<(i32, String)>,
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;

    /// Abandons a multipart upload (best effort: the lifecycle rule aborts what this cannot).
    fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;
}

/// A data deletion job to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Deterministic job name.
    pub name: String,
    /// Dataset group.
    pub dataset_group_arn: String,
    /// `s3://` location of the user list.
    pub data_location: String,
    /// Role Personalize assumes to read it.
    pub role_arn: String,
    /// Tags (key, value).
    pub tags: Vec<(String, String)>,
}

/// What creating a job gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// A new job (its ARN).
    New(String),
    /// A job with this name exists already (an earlier attempt made it).
    NameTaken,
}

/// A job as the workflow needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDescription {
    /// Its state.
    pub state: crate::payload::JobState,
    /// Records deleted.
    pub num_deleted: Option<i64>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Creation time, seconds since the epoch.
    pub created_epoch: Option<i64>,
    /// Last update, seconds since the epoch.
    pub updated_epoch: Option<i64>,
}

/// Personalize's data deletion jobs.
pub trait DeletionJobs: Sync {
    /// CreateDataDeletionJob.
    fn create(&self, job: &NewJob) -> impl Future<Output = Result<Created, ErasureError>> + Send;

    /// Every job of a dataset group, name to ARN (all pages).
    fn by_name(
        &self,
        dataset_group_arn: &str,
    ) -> impl Future<Output = Result<HashMap<String, String>, ErasureError>> + Send;

    /// DescribeDataDeletionJob.
    fn describe(
        &self,
        job_arn: &str,
    ) -> impl Future<Output = Result<JobDescription, ErasureError>> + Send;
}

/// Whether StartExecution started something new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new execution (its ARN).
    Started(String),
    /// An execution with this name exists already (running with the same input, or any earlier one).
    Duplicate,
}

/// Step Functions executions of the workflow.
pub trait Executions: Sync {
    /// StartExecution with a deterministic name.
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<Start, ErasureError>> + Send;
}

/// IAM roles, read to tell who uploaded a request: a role session's S3 event names the role
/// only by its unique RoleId (`AROA…`).
pub trait Roles: Sync {
    /// The RoleId of the role with this ARN (iam:GetRole), or None when no such role exists.
    fn role_id(
        &self,
        role_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, ErasureError>> + Send;
}

pub use crate::payload::TargetKind;

/// What erasing one user in one destination did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    /// Their data was deleted: how many items (endpoints, profiles).
    Deleted(u64),
    /// The destination held nothing of them.
    NothingThere,
    /// This many items were deleted, but the verifying read found the person again (re-created
    /// meanwhile): reported as a failure, never as erased.
    Reappeared(u64),
}

/// What a destination holds of one user, read without changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// This many items (endpoints, profiles) would be erased.
    Items(u64),
    /// Nothing of theirs is there.
    Nothing,
}

/// One place a person's data is erased from: a Pinpoint application, a Customer Profiles
/// domain. The shard loop (`steps::erase`) runs every target the same way: checkpoints, resume,
/// hand-back near the deadline, retries, the users an earlier execution failed.
///
/// A target paces its own calls: each operation it makes has its own quota (Pinpoint's
/// DeleteUserEndpoints; Customer Profiles' SearchProfiles and DeleteProfile each have one), so it
/// holds one limiter per operation and slows the one that was throttled. A target that can check
/// its work (search again after deleting) does so inside [`ErasureTarget::erase`], before it
/// answers: `Deleted` then means verified gone, and a user still found is an error like any other.
pub trait ErasureTarget: Sync {
    /// What kind of destination this is (receipts have one section per kind).
    fn kind(&self) -> TargetKind;

    /// Which destination (the application ID, the domain name): with the kind, receipts and
    /// progress key on it.
    fn id(&self) -> &str;

    /// Whether the destination can be used at all. A retryable error ends the invocation (Step
    /// Functions retries it); any other fails every user of the shard in it, with
    /// [`ErasureTarget::unusable`]'s reason.
    fn check(&self) -> impl Future<Output = Result<(), ErasureError>> + Send;

    /// Why a destination whose check failed with `error` cannot be used, for the receipt.
    fn unusable(&self, error: &ErasureError) -> &'static str;

    /// One attempt at erasing one user. `Throttled` means the service's quota answered: the
    /// target has already slowed its own pace, and the loop tries the user again for as long as
    /// the invocation has time.
    fn erase(&self, user: &str) -> impl Future<Output = Result<Erased, ErasureError>> + Send;

    /// What erasing `user` would delete, read-only: a preview changes nothing.
    fn preview(&self, user: &str) -> impl Future<Output = Result<Holding, ErasureError>> + Send;
}

/// A borrowed target is a target (the erase step takes a slice of them).
impl<T: ErasureTarget> ErasureTarget for &T {
    fn kind(&self) -> TargetKind {
        (**self).kind()
    }

    fn id(&self) -> &str {
        (**self).id()
    }

    fn check(&self) -> impl Future<Output = Result<(), ErasureError>> + Send {
        (**self).check()
    }

    fn unusable(&self, error: &ErasureError) -> &'static str {
        (**self).unusable(error)
    }

    fn erase(&self, user: &str) -> impl Future<Output = Result<Erased, ErasureError>> + Send {
        (**self).erase(user)
    }

    fn preview(&self, user: &str) -> impl Future<Output = Result<Holding, ErasureError>> + Send {
        (**self).preview(user)
    }
}

mod models;
pub use models::*;
