//! The models step: before a request's deletion jobs, wait until nothing imports or trains on
//! its dataset groups; after them, retrain every solution and move its campaigns to the new
//! version, so the users are gone from the models as well as the datasets. What AWS asks is in
//! "Deleting users" (Personalize developer guide,
//! https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html): "make sure no jobs
//! that use your datasets are in progress, such as training jobs, batch jobs, or bulk or
//! individual import operations", and "After a job completes ... create a new solution version
//! and, if necessary, update your campaign".
//!
//! Everything the step learns is kept in the request's models record (`models.json`), which the
//! finalize step puts in the receipt as it is.

mod lock;
mod plan;
mod preflight;
mod retrain;
#[cfg(test)]
mod tests;

use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::payload::{ModelsInput, ModelsStep};
use crate::ports::{DeletionJobs, Models, ObjectStore};
use crate::receipt::models::{ModelsRecord, RetrainMode};

pub use lock::lock_key;
pub use retrain::{choose, Choice};

/// What to do when something runs on a dataset group before its deletion job (`QuiescePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuiescePolicy {
    /// Wait until nothing runs, at most the configured time, then go ahead and record it.
    Wait,
    /// Go ahead at once and record what ran.
    Proceed,
}

impl QuiescePolicy {
    /// As the parameter and the receipt spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wait => "wait",
            Self::Proceed => "proceed",
        }
    }
}

/// Settings of the models step.
#[derive(Debug, Clone)]
pub struct ModelsConfig {
    /// The work prefix (`work/`).
    pub work_prefix: String,
    /// The dataset groups erased from.
    pub dataset_group_arns: Vec<String>,
    /// `QuiescePolicy`.
    pub quiesce: QuiescePolicy,
    /// Longest wait for a quiet dataset group, in seconds.
    pub quiesce_max_wait_seconds: u64,
    /// Seconds between checks while waiting for a quiet group.
    pub quiesce_poll_seconds: u64,
    /// `RetrainAfterDeletion`.
    pub retrain: RetrainMode,
    /// Seconds between checks of a training or campaign update.
    pub poll_seconds: u64,
    /// Longest wait for the retraining, from the end of the deletion, in seconds.
    pub max_wait_seconds: u64,
    /// Longest wait for a deletion job (`MaxJobWaitSeconds`): a plan's latest end counts it.
    pub max_job_wait_seconds: u64,
}

impl ModelsConfig {
    /// Reads WORK_PREFIX, DATASET_GROUP_ARNS, QUIESCE_POLICY (wait), QUIESCE_MAX_WAIT_SECONDS
    /// (6 hours), QUIESCE_POLL_SECONDS (300), RETRAIN_AFTER_DELETION (full),
    /// MODEL_POLL_SECONDS (600), MAX_MODEL_WAIT_SECONDS (2 days) and MAX_JOB_WAIT_SECONDS
    /// (2 days).
    pub fn from_env() -> Result<Self, ConfigError> {
        let quiesce = match config::or_default("QUIESCE_POLICY", "wait").trim() {
            "wait" => QuiescePolicy::Wait,
            "proceed" => QuiescePolicy::Proceed,
            other => {
                return Err(ConfigError {
                    name: "QUIESCE_POLICY",
                    problem: format!("{other:?} is not wait or proceed"),
                })
            }
        };
        let retrain = config::or_default("RETRAIN_AFTER_DELETION", "full")
            .parse()
            .map_err(|problem| ConfigError {
                name: "RETRAIN_AFTER_DELETION",
                problem,
            })?;
        Ok(ModelsConfig {
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            dataset_group_arns: config::list("DATASET_GROUP_ARNS")?,
            quiesce,
            quiesce_max_wait_seconds: config::number(
                "QUIESCE_MAX_WAIT_SECONDS",
                limits::DEFAULT_QUIESCE_MAX_WAIT_SECONDS,
            )?,
            quiesce_poll_seconds: config::number(
                "QUIESCE_POLL_SECONDS",
                limits::DEFAULT_QUIESCE_POLL_SECONDS,
            )?,
            retrain,
            poll_seconds: config::number("MODEL_POLL_SECONDS", limits::DEFAULT_MODEL_POLL_SECONDS)?,
            max_wait_seconds: config::number(
                "MAX_MODEL_WAIT_SECONDS",
                limits::DEFAULT_MAX_MODEL_WAIT_SECONDS,
            )?,
            max_job_wait_seconds: config::number(
                "MAX_JOB_WAIT_SECONDS",
                limits::DEFAULT_MAX_JOB_WAIT_SECONDS,
            )?,
        })
    }
}

/// Runs one action of the models step.
pub async fn handle(
    cfg: &ModelsConfig,
    store: &impl ObjectStore,
    jobs: &impl DeletionJobs,
    models: &impl Models,
    input: ModelsInput,
) -> Result<ModelsStep, ErasureError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match input {
        ModelsInput::Preflight { request } => {
            preflight::run(cfg, store, models, &request, now).await
        }
        ModelsInput::Retrain {
            request,
            jobs: plan,
        } => retrain::run(cfg, store, jobs, models, &request, plan.as_ref(), now).await,
        ModelsInput::Plan {
            request,
            jobs: manifest,
        } => plan::run(cfg, store, models, &request, manifest.as_ref(), now).await,
    }
}

/// Reads the request's models record (empty when none was written yet).
pub async fn read_record(
    store: &impl ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<ModelsRecord, ErasureError> {
    match store.get(bucket, key).await {
        Ok(body) => serde_json::from_slice(&body)
            .map_err(|e| ErasureError::Invalid(format!("models record {key}: {e}"))),
        Err(ErasureError::NotFound(_)) => Ok(ModelsRecord::default()),
        Err(e) => Err(e),
    }
}

async fn write_record(
    store: &impl ObjectStore,
    bucket: &str,
    key: &str,
    record: &ModelsRecord,
) -> Result<(), ErasureError> {
    let body = serde_json::to_vec(record)
        .map_err(|e| ErasureError::Invalid(format!("models record: {e}")))?;
    store.put(bucket, key, body, "application/json", None).await
}

/// An entry for one job or training, as the receipt names it.
fn entry(a: &crate::ports::Activity) -> crate::receipt::models::ActivityEntry {
    crate::receipt::models::ActivityEntry {
        kind: a.kind,
        arn: a.arn.clone(),
        status: a.status.clone(),
        created_at: a.created_epoch.map(crate::clock::epoch_rfc3339),
    }
}
