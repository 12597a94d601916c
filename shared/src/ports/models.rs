//! Personalize's models and everything else that reads or trains on a dataset group: what the
//! workflow checks before a deletion job (nothing may import or train meanwhile) and retrains
//! after it ("Deleting users", Personalize developer guide:
//! https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html).

use std::future::Future;

use crate::error::ErasureError;

pub use crate::receipt::models::ActivityKind;

/// One job or training of a dataset group, as its List call (and, for its S3 locations, its
/// Describe call) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// What it is.
    pub kind: ActivityKind,
    /// Its ARN.
    pub arn: String,
    /// Personalize's status (`CREATE PENDING`, `CREATE IN_PROGRESS`, `ACTIVE`, ...).
    pub status: String,
    /// When it was created, seconds since the epoch.
    pub created_epoch: Option<i64>,
    /// For a training: its trainingMode (FULL, UPDATE, AUTOTRAIN).
    pub training_mode: Option<String>,
    /// The S3 locations it read or wrote (filled only when a survey asks for them).
    pub locations: Vec<String>,
}

/// Whether a Personalize status means the resource is still being created or updated. Every
/// resource this workflow reads spells its transient states this way: `CREATE PENDING`,
/// `CREATE IN_PROGRESS`, `CREATE STOPPING` (solution versions), `UPDATE PENDING`,
/// `UPDATE IN_PROGRESS` (API reference: SolutionVersion, DatasetImportJob, BatchInferenceJob,
/// CampaignUpdateSummary "status" fields).
pub fn running(status: &str) -> bool {
    status.contains("PENDING") || status.contains("IN_PROGRESS") || status.contains("STOPPING")
}

/// A recommender of a domain dataset group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommenderInfo {
    /// Its ARN.
    pub arn: String,
    /// Its status (ACTIVE, ...).
    pub status: String,
}

/// What a dataset group holds and runs, read with List and Describe calls only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    /// Every import, training, batch and export job found.
    pub activities: Vec<Activity>,
    /// The event trackers (PutEvents feeds the group's interactions; nothing here can pause it).
    pub event_trackers: Vec<String>,
    /// The custom solutions.
    pub solutions: Vec<String>,
    /// The recommenders (domain dataset groups).
    pub recommenders: Vec<RecommenderInfo>,
    /// Jobs whose S3 locations were not read (more than a survey describes per kind).
    pub not_described: u64,
}

/// One solution version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    /// Its ARN.
    pub arn: String,
    /// Its status.
    pub status: String,
    /// FULL, UPDATE or AUTOTRAIN.
    pub training_mode: Option<String>,
    /// When it was created (its training cannot have started earlier), seconds since the epoch.
    pub created_epoch: Option<i64>,
    /// Training hours billed (Describe only, once ACTIVE).
    pub training_hours: Option<f64>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// When Personalize last updated it (`lastUpdatedDateTime`, Describe only), seconds since
    /// the epoch: for an ACTIVE version, its move to ACTIVE, the end of its training.
    pub updated_epoch: Option<i64>,
}

/// A campaign's latest update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignUpdate {
    /// The version it moves the campaign to.
    pub solution_version_arn: Option<String>,
    /// Its status.
    pub status: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
}

/// A campaign of a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignInfo {
    /// Its ARN.
    pub arn: String,
    /// The version it serves.
    pub solution_version_arn: Option<String>,
    /// Whether it follows the solution's latest version by itself
    /// (campaignConfig.syncWithLatestSolutionVersion).
    pub syncs_with_latest: bool,
    /// Its latest update, if any.
    pub update: Option<CampaignUpdate>,
}

/// Personalize's models and the jobs around them.
pub trait Models: Sync {
    /// Everything that uses the dataset group: its datasets' import and export jobs, its
    /// solutions and their versions, the batch jobs of those versions, its event trackers and
    /// recommenders. With `locations`, each job's Describe call is read for its S3 locations.
    fn survey(
        &self,
        dataset_group_arn: &str,
        locations: bool,
    ) -> impl Future<Output = Result<Survey, ErasureError>> + Send;

    /// Every version of a solution (ListSolutionVersions, all pages).
    fn versions(
        &self,
        solution_arn: &str,
    ) -> impl Future<Output = Result<Vec<VersionInfo>, ErasureError>> + Send;

    /// One version (DescribeSolutionVersion: with its training hours).
    fn version(
        &self,
        solution_version_arn: &str,
    ) -> impl Future<Output = Result<VersionInfo, ErasureError>> + Send;

    /// Starts a full retraining (CreateSolutionVersion, trainingMode FULL) with these tags;
    /// returns the new version's ARN.
    fn train(
        &self,
        solution_arn: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<String, ErasureError>> + Send;

    /// Adds tags to a resource (TagResource).
    fn tag(
        &self,
        arn: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;

    /// The campaigns of a solution (ListCampaigns, then DescribeCampaign each).
    fn campaigns(
        &self,
        solution_arn: &str,
    ) -> impl Future<Output = Result<Vec<CampaignInfo>, ErasureError>> + Send;

    /// Moves a campaign to a version (UpdateCampaign).
    fn update_campaign(
        &self,
        campaign_arn: &str,
        solution_version_arn: &str,
    ) -> impl Future<Output = Result<(), ErasureError>> + Send;
}
