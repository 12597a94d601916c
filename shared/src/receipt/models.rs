//! The receipt's account of a dataset group's models: what ran on the group before and during
//! the deletion, what was retrained after it, and what this workflow cannot erase. The models
//! step writes it (as the request's `personalize/models.json` work object) and the finalize step
//! puts it in the receipt as it is.

use serde::{Deserialize, Serialize};

/// A kind of Personalize job or training that uses a dataset group's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivityKind {
    /// A dataset import job (reads S3, writes the datasets).
    DatasetImport,
    /// A solution version being trained.
    Training,
    /// A batch inference job (reads S3, writes recommendations to S3).
    BatchInference,
    /// A batch segment job (reads S3, writes segments to S3).
    BatchSegment,
    /// A dataset export job (writes the datasets to S3).
    DatasetExport,
}

/// Whether the models of a dataset group are retrained after the deletion
/// (`RetrainAfterDeletion`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrainMode {
    /// A new FULL solution version of every solution, and every campaign moved to it.
    #[default]
    Full,
    /// No training: the receipt says the models were not retrained.
    None,
}

impl std::str::FromStr for RetrainMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "full" => Ok(Self::Full),
            "none" => Ok(Self::None),
            other => Err(format!("{other:?} is not full or none")),
        }
    }
}

/// Where the models of a dataset group stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModelsStatus {
    /// Every solution has a version trained after the deletion, every campaign serves it.
    Retrained,
    /// Nothing to retrain: no custom solution (recommenders retrain by themselves).
    NothingToRetrain,
    /// Not retrained, by configuration (`RetrainAfterDeletion=none`).
    NotRetrained,
    /// Not retrained because a deletion job did not complete.
    NotStarted,
    /// Retraining is under way (a receipt written before it ended).
    InProgress,
    /// A training or a campaign update failed or was given up on.
    Failed,
}

/// A training hour count as Personalize reports it (a float); compared by its bits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hours(pub f64);

impl Eq for Hours {}

/// One job or training that used the group, as the receipt names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    /// What it is.
    pub kind: ActivityKind,
    /// Its ARN.
    pub arn: String,
    /// Its status when seen.
    pub status: String,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// What the check before the deletion jobs found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    /// `wait` or `proceed` (`QuiescePolicy`).
    pub policy: String,
    /// When the group was first checked.
    pub checked_at: String,
    /// Seconds waited for the group to be quiet.
    pub waited_seconds: u64,
    /// What was running on the group at the first check (imports, trainings, batch jobs).
    #[serde(default)]
    pub found: Vec<ActivityEntry>,
    /// What was still running when the deletion went ahead (empty when the group was quiet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub still_running: Vec<ActivityEntry>,
    /// Why the deletion went ahead: `QUIET`, `POLICY_PROCEED`, `MAX_WAIT_REACHED`, or
    /// `NOT_CHECKED` (the check itself failed: `error` says why).
    pub proceeded: String,
    /// Why the group could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A campaign of a retrained solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignEntry {
    /// The campaign.
    pub campaign_arn: String,
    /// `ACTIVE` (serves the retrained version or a later full one), `UPDATING`, `WAITING`
    /// (another update is under way), `CREATE FAILED`, or `SYNCS_WITH_LATEST` (it follows the
    /// solution's newest version by itself).
    pub status: String,
    /// The version it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_version_arn: Option<String>,
    /// Why its update failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// The retraining of one solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retraining {
    /// The solution.
    pub solution_arn: String,
    /// The version trained after the deletion (absent while waiting to start one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution_version_arn: Option<String>,
    /// Always FULL: a completely new model.
    pub training_mode: String,
    /// `WAITING` (for a training that started before this request's deletion ended),
    /// Personalize's status of the version (`CREATE PENDING`, `CREATE IN_PROGRESS`, `ACTIVE`,
    /// `CREATE FAILED`, ...), or `WAIT_EXCEEDED`.
    pub status: String,
    /// True when the version was started by another request (or by the team) after this
    /// request's deletion had ended, so it serves this one too.
    #[serde(default)]
    pub joined: bool,
    /// Training hours billed for the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_hours: Option<Hours>,
    /// When its training ended (the version's move to ACTIVE, Personalize's
    /// `lastUpdatedDateTime`), once ACTIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_at: Option<String>,
    /// Why the training failed or was given up on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// What the step waits for, while it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// The solution's campaigns.
    #[serde(default)]
    pub campaigns: Vec<CampaignEntry>,
}

/// A recommender: AWS retrains it fully every 7 days; nothing here can start that sooner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommenderEntry {
    /// The recommender.
    pub recommender_arn: String,
    /// Its status.
    pub status: String,
    /// By when its weekly full retraining will have dropped the users (7 days after the
    /// deletion completed), when it is ACTIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrained_by: Option<String>,
}

/// An S3 location that may still hold the users, which this workflow does not erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Residue {
    /// `s3://` location.
    pub location: String,
    /// The kind of job that read or wrote it.
    pub kind: ActivityKind,
    /// That job.
    pub job_arn: String,
}

/// One dataset group's models, before and after the deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupModels {
    /// The dataset group.
    pub dataset_group_arn: String,
    /// `full` or `none`.
    pub retrain_after_deletion: RetrainMode,
    /// Where its models stand.
    pub status: ModelsStatus,
    /// Why, in words, when not RETRAINED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the group's last deletion job ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs_completed_at: Option<String>,
    /// The check before the deletion jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<Preflight>,
    /// Event trackers: PutEvents keeps feeding the group; their producers must stop sending the
    /// users' events (README, "Personalize models").
    #[serde(default)]
    pub event_trackers: Vec<String>,
    /// Imports, trainings and batch jobs that started while a deletion job ran.
    #[serde(default)]
    pub concurrent_activity: Vec<ActivityEntry>,
    /// The retraining of every solution of the group.
    #[serde(default)]
    pub retraining: Vec<Retraining>,
    /// The recommenders of the group.
    #[serde(default)]
    pub recommenders: Vec<RecommenderEntry>,
    /// S3 locations the group's jobs read or wrote.
    #[serde(default)]
    pub residue: Vec<Residue>,
    /// Jobs whose locations were not read (beyond the most a survey describes).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub residue_not_described: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The request's models record (`work/<id>/personalize/models.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsRecord {
    /// One entry per dataset group.
    pub groups: Vec<GroupModels>,
    /// Checks made after the jobs so far (each adds events to the execution's history).
    #[serde(default)]
    pub polls: u32,
    /// Checks made before the jobs so far.
    #[serde(default)]
    pub preflight_polls: u32,
    /// Whether the retraining step has finished.
    #[serde(default)]
    pub done: bool,
}

impl ModelsRecord {
    /// The entry of a group, made when missing.
    pub fn group(&mut self, arn: &str, mode: RetrainMode) -> &mut GroupModels {
        if let Some(i) = self.groups.iter().position(|g| g.dataset_group_arn == arn) {
            return &mut self.groups[i];
        }
        self.groups.push(GroupModels {
            dataset_group_arn: arn.to_string(),
            retrain_after_deletion: mode,
            status: ModelsStatus::InProgress,
            reason: None,
            jobs_completed_at: None,
            preflight: None,
            event_trackers: Vec::new(),
            concurrent_activity: Vec::new(),
            retraining: Vec::new(),
            recommenders: Vec::new(),
            residue: Vec::new(),
            residue_not_described: 0,
        });
        let last = self.groups.len() - 1;
        &mut self.groups[last]
    }
}

impl GroupModels {
    /// One line for a person asking about one user: where the group's models stand.
    pub fn summary(&self) -> String {
        let why = self.reason.as_deref().unwrap_or("no reason recorded");
        match self.status {
            ModelsStatus::Retrained => {
                let versions: Vec<String> = self
                    .retraining
                    .iter()
                    .map(|r| {
                        let moved = r
                            .campaigns
                            .iter()
                            .filter(|c| matches!(c.status.as_str(), "ACTIVE" | "SYNCS_WITH_LATEST"))
                            .count();
                        format!(
                            "{} {} ({moved} campaign(s) on it)",
                            r.solution_version_arn.as_deref().unwrap_or("?"),
                            if r.joined { "joined" } else { "trained" }
                        )
                    })
                    .collect();
                format!("RETRAINED after the deletion: {}", versions.join("; "))
            }
            ModelsStatus::NothingToRetrain => {
                let by: Vec<&str> = self
                    .recommenders
                    .iter()
                    .filter_map(|r| r.retrained_by.as_deref())
                    .collect();
                match by.iter().max() {
                    Some(last) => {
                        format!("NO CUSTOM MODEL: its recommenders are retrained by AWS by {last}")
                    }
                    None => "NO CUSTOM MODEL to retrain".into(),
                }
            }
            ModelsStatus::NotRetrained => format!("NOT RETRAINED (by configuration): {why}"),
            ModelsStatus::NotStarted | ModelsStatus::InProgress | ModelsStatus::Failed => {
                format!("NOT RETRAINED: {why}")
            }
        }
    }
}
