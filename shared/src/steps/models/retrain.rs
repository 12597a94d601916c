//! After the deletion jobs of a dataset group completed: retrain every solution (a new FULL
//! version) and move every campaign to it, so no model still serves what was trained on the
//! users' data. One training per solution at a time across every request: a request whose
//! deletion ended before a training *started* joins that training (the version was trained
//! without its users); a later one waits for it to end and starts the next.

use std::collections::HashMap;

use super::lock;
use super::{entry, read_record, write_record, ModelsConfig};
use crate::clock::epoch_rfc3339;
use crate::error::ErasureError;
use crate::limits;
use crate::naming::RequestId;
use crate::payload::{JobSpec, JobState, MapPlan, ModelsStep, RequestObject};
use crate::ports::{
    running, ActivityKind, CampaignInfo, DeletionJobs, Models, ObjectStore, VersionInfo,
};
use crate::receipt::models::{
    CampaignEntry, GroupModels, Hours, ModelsStatus, RecommenderEntry, Residue, RetrainMode,
    Retraining,
};

/// "Amazon Personalize automatically retrains the models backing your recommenders every 7 days.
/// This is a full retraining" ("Domain recommenders in Amazon Personalize",
/// https://docs.aws.amazon.com/personalize/latest/dg/creating-recommenders.html).
const RECOMMENDER_RETRAIN_SECONDS: i64 = 7 * 24 * 3600;

/// What a request does about one solution, given its versions and when the request's deletion
/// ended (`completed`, seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// This version serves the request: a FULL training created after the deletion ended,
    /// running or ACTIVE. The newest such one is chosen.
    Join(String),
    /// A training is in flight that started before the deletion ended (or is not FULL): wait
    /// for it to end.
    Wait(String),
    /// Nothing serves and nothing is in flight: start a training.
    Train,
}

/// The rule (pure, over the solution's versions as Personalize lists them).
pub fn choose(versions: &[VersionInfo], completed: i64) -> Choice {
    let serves = |v: &&VersionInfo| {
        v.training_mode.as_deref() == Some("FULL")
            && v.created_epoch.is_some_and(|c| c > completed)
            && (running(&v.status) || v.status == "ACTIVE")
    };
    if let Some(v) = versions
        .iter()
        .filter(serves)
        .max_by_key(|v| v.created_epoch)
    {
        return Choice::Join(v.arn.clone());
    }
    if let Some(v) = versions.iter().find(|v| running(&v.status)) {
        return Choice::Wait(v.arn.clone());
    }
    Choice::Train
}

/// The tag a version gets for each request it serves.
fn request_tag(id: &RequestId) -> (String, String) {
    (format!("erasure-request:{}", id.as_str()), "served".into())
}

fn failed(status: &str) -> bool {
    matches!(
        status,
        "CREATE FAILED" | "CREATE STOPPED" | "WAIT_EXCEEDED" | "NOT_STARTED"
    )
}

/// Whether a solution's retraining will not change any more.
fn settled(r: &Retraining) -> bool {
    failed(&r.status)
        || (r.status == "ACTIVE"
            && !r.campaigns.is_empty()
            && r.campaigns.iter().all(|c| campaign_settled(&c.status)))
        || (r.status == "ACTIVE" && r.campaigns.is_empty() && r.waiting_for.is_none())
}

fn campaign_settled(status: &str) -> bool {
    matches!(status, "ACTIVE" | "SYNCS_WITH_LATEST" | "CREATE FAILED")
}

/// When the group's jobs ended: `Some((first created, last ended))` when every job COMPLETED.
async fn jobs_of_group(
    jobs: &impl DeletionJobs,
    id: &RequestId,
    group: &str,
    specs: &[JobSpec],
) -> Result<Result<(i64, i64), String>, ErasureError> {
    let mine: Vec<&JobSpec> = specs
        .iter()
        .filter(|s| s.dataset_group_arn == group)
        .collect();
    if mine.is_empty() {
        return Ok(Err(
            "no deletion job was planned for this dataset group".into()
        ));
    }
    let names = jobs.by_name(group).await?;
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for spec in mine {
        let name = id.job_name(group, spec.part);
        let Some(arn) = names.get(&name) else {
            return Ok(Err(format!("deletion job {name} was never created")));
        };
        let d = jobs.describe(arn).await?;
        if d.state != JobState::Completed {
            return Ok(Err(format!("deletion job {name} ended {}", d.state)));
        }
        first = first.min(d.created_epoch.unwrap_or(i64::MAX));
        last = last.max(d.updated_epoch.unwrap_or(i64::MIN));
    }
    Ok(Ok((first, last)))
}

/// The first look after the jobs: what ran meanwhile, what may still hold the users, the
/// recommenders, and one retraining entry per solution.
async fn first_look(
    cfg: &ModelsConfig,
    models: &impl Models,
    g: &mut GroupModels,
    (first, last): (i64, i64),
) -> Result<(), ErasureError> {
    g.jobs_completed_at = Some(epoch_rfc3339(last));
    let survey = match models.survey(&g.dataset_group_arn, true).await {
        Ok(s) => s,
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            g.status = ModelsStatus::Failed;
            g.reason = Some(format!("the dataset group's models could not be read: {e}"));
            return Ok(());
        }
    };
    g.event_trackers = survey.event_trackers.clone();
    g.concurrent_activity = survey
        .activities
        .iter()
        .filter(|a| a.kind != ActivityKind::DatasetExport)
        .filter(|a| a.created_epoch.is_some_and(|c| c >= first && c <= last))
        .map(entry)
        .collect();
    let mut seen = std::collections::HashSet::new();
    g.residue = survey
        .activities
        .iter()
        .flat_map(|a| {
            a.locations.iter().map(move |l| Residue {
                location: l.clone(),
                kind: a.kind,
                job_arn: a.arn.clone(),
            })
        })
        .filter(|r| seen.insert(r.location.clone()))
        .collect();
    g.residue_not_described = survey.not_described;
    g.recommenders = survey
        .recommenders
        .iter()
        .map(|r| RecommenderEntry {
            recommender_arn: r.arn.clone(),
            status: r.status.clone(),
            retrained_by: (r.status == "ACTIVE")
                .then(|| epoch_rfc3339(last + RECOMMENDER_RETRAIN_SECONDS)),
        })
        .collect();
    if cfg.retrain == RetrainMode::None {
        g.status = ModelsStatus::NotRetrained;
        g.reason = Some(
            "RetrainAfterDeletion is none: the models were not retrained, and until they are, \
             those trained before the deletion may still reflect the users"
                .into(),
        );
        return Ok(());
    }
    if survey.solutions.is_empty() {
        g.status = ModelsStatus::NothingToRetrain;
        g.reason = Some(if g.recommenders.is_empty() {
            "the dataset group has no custom solution to retrain".into()
        } else {
            "the dataset group has no custom solution; its recommenders are retrained by AWS \
             every 7 days (see retrainedBy)"
                .into()
        });
        return Ok(());
    }
    g.retraining = survey
        .solutions
        .iter()
        .map(|s| Retraining {
            solution_arn: s.clone(),
            solution_version_arn: None,
            training_mode: "FULL".into(),
            status: "WAITING".into(),
            joined: false,
            training_hours: None,
            trained_at: None,
            failure_reason: None,
            waiting_for: None,
            campaigns: Vec::new(),
        })
        .collect();
    Ok(())
}

/// Everything one look needs to move a solution on.
struct Look<'a, S, M> {
    cfg: &'a ModelsConfig,
    store: &'a S,
    models: &'a M,
    bucket: &'a str,
    id: &'a RequestId,
    completed: i64,
    now: i64,
}

impl<S: ObjectStore, M: Models> Look<'_, S, M> {
    async fn start(&self, r: &mut Retraining) -> Result<(), ErasureError> {
        let versions = self.models.versions(&r.solution_arn).await?;
        let mut choice = choose(&versions, self.completed);
        let mut held = None;
        if choice == Choice::Train {
            held = lock::claim(
                self.store,
                self.bucket,
                &self.cfg.work_prefix,
                &r.solution_arn,
                self.id,
                self.now,
            )
            .await?;
            if held.is_none() {
                r.waiting_for =
                    Some("another request is starting a training of this solution".into());
                return Ok(());
            }
            // Look again under the claim: a training may have started since the first look.
            choice = choose(
                &self.models.versions(&r.solution_arn).await?,
                self.completed,
            );
        }
        let started = match &choice {
            Choice::Train => match self
                .models
                .train(&r.solution_arn, &[request_tag(self.id)])
                .await
            {
                Ok(arn) => Some(arn),
                Err(e) if e.is_retryable() => {
                    r.waiting_for = Some(format!("CreateSolutionVersion: {e}"));
                    None
                }
                Err(e) => {
                    r.status = "NOT_STARTED".into();
                    r.failure_reason = Some(format!("the training could not be started: {e}"));
                    None
                }
            },
            _ => None,
        };
        if let Some(h) = held {
            h.release(self.store, self.bucket, started.as_deref())
                .await?;
        }
        match choice {
            Choice::Train => {
                if let Some(arn) = started {
                    tracing::info!("retraining started after the deletion");
                    r.solution_version_arn = Some(arn);
                    r.status = "CREATE PENDING".into();
                    r.waiting_for = None;
                }
            }
            Choice::Join(arn) => {
                if let Err(e) = self.models.tag(&arn, &[request_tag(self.id)]).await {
                    if e.is_retryable() {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, "the joined version could not be tagged");
                }
                tracing::info!("joined a training that started after the deletion ended");
                r.solution_version_arn = Some(arn);
                r.joined = true;
                r.status = "CREATE PENDING".into();
                r.waiting_for = None;
            }
            Choice::Wait(arn) => {
                r.waiting_for = Some(format!(
                    "{arn}, a training that started before this request's deletion ended"
                ));
            }
        }
        Ok(())
    }

    async fn campaigns(
        &self,
        r: &mut Retraining,
        version: &VersionInfo,
    ) -> Result<(), ErasureError> {
        let found = self.models.campaigns(&r.solution_arn).await?;
        let mut versions: Option<HashMap<String, VersionInfo>> = None;
        let mut out = Vec::with_capacity(found.len());
        for c in found {
            let before = r
                .campaigns
                .iter()
                .find(|e| e.campaign_arn == c.arn)
                .cloned();
            if let Some(b) = before.filter(|b| campaign_settled(&b.status)) {
                out.push(b);
                continue;
            }
            let serves_later = match c.solution_version_arn.as_deref() {
                Some(current) if current != version.arn && !c.syncs_with_latest => {
                    if versions.is_none() {
                        let list = self.models.versions(&r.solution_arn).await?;
                        versions = Some(list.into_iter().map(|v| (v.arn.clone(), v)).collect());
                    }
                    versions
                        .as_ref()
                        .and_then(|m| m.get(current))
                        .is_some_and(|v| {
                            v.training_mode.as_deref() == Some("FULL")
                                && v.status == "ACTIVE"
                                && v.created_epoch >= version.created_epoch
                        })
                }
                _ => false,
            };
            out.push(self.campaign(c, &version.arn, serves_later).await?);
        }
        r.campaigns = out;
        r.waiting_for = None;
        Ok(())
    }

    async fn campaign(
        &self,
        c: CampaignInfo,
        version: &str,
        serves_later: bool,
    ) -> Result<CampaignEntry, ErasureError> {
        let mut e = CampaignEntry {
            campaign_arn: c.arn.clone(),
            status: String::new(),
            solution_version_arn: c.solution_version_arn.clone(),
            failure_reason: None,
        };
        let update = c.update.as_ref();
        let update_running = update.is_some_and(|u| running(&u.status));
        let update_is_ours =
            update.is_some_and(|u| u.solution_version_arn.as_deref() == Some(version));
        e.status = if c.syncs_with_latest {
            // "syncWithLatestSolutionVersion: Whether the campaign automatically updates to use
            // the latest solution version (trained model) of a solution" (CampaignConfig, API
            // reference): AWS moves it; nothing to call.
            "SYNCS_WITH_LATEST".into()
        } else if (serves_later || c.solution_version_arn.as_deref() == Some(version))
            && !update_running
        {
            // It serves the retrained version, or a later full one.
            "ACTIVE".into()
        } else if update_running {
            if update_is_ours {
                "UPDATING"
            } else {
                "WAITING"
            }
            .into()
        } else if update_is_ours && update.is_some_and(|u| u.status.contains("FAILED")) {
            e.failure_reason = update.and_then(|u| u.failure_reason.clone());
            "CREATE FAILED".into()
        } else {
            match self.models.update_campaign(&c.arn, version).await {
                Ok(()) => "UPDATING".into(),
                Err(ErasureError::ResourceInUse(_)) => "WAITING".into(),
                Err(err) if err.is_retryable() => return Err(err),
                Err(err) => {
                    e.failure_reason = Some(format!("UpdateCampaign: {err}"));
                    "CREATE FAILED".into()
                }
            }
        };
        Ok(e)
    }

    /// Moves one solution's retraining on by one look.
    async fn advance(&self, r: &mut Retraining) -> Result<(), ErasureError> {
        if r.solution_version_arn.is_none() {
            self.start(r).await?;
        }
        let Some(arn) = r.solution_version_arn.clone() else {
            return Ok(());
        };
        let v = self.models.version(&arn).await?;
        r.status = v.status.clone();
        r.training_hours = v.training_hours.map(Hours);
        if v.status == "ACTIVE" {
            r.trained_at = v.updated_epoch.map(crate::clock::epoch_rfc3339);
            self.campaigns(r, &v).await?;
        } else if failed(&v.status) || v.status.contains("FAILED") {
            r.failure_reason = Some(
                v.failure_reason
                    .clone()
                    .unwrap_or_else(|| format!("the training ended {}", v.status)),
            );
        }
        Ok(())
    }
}

/// The group's status once every solution settled.
fn conclude(g: &mut GroupModels) {
    if !g.retraining.iter().all(settled) {
        return;
    }
    let mut problems = Vec::new();
    for r in &g.retraining {
        if r.status != "ACTIVE" {
            problems.push(format!(
                "{}: {}",
                r.solution_arn,
                r.failure_reason.as_deref().unwrap_or(&r.status)
            ));
        }
        for c in r.campaigns.iter().filter(|c| c.status == "CREATE FAILED") {
            problems.push(format!(
                "campaign {}: {}",
                c.campaign_arn,
                c.failure_reason.as_deref().unwrap_or("update failed")
            ));
        }
    }
    if problems.is_empty() {
        g.status = ModelsStatus::Retrained;
        g.reason = None;
    } else {
        g.status = ModelsStatus::Failed;
        g.reason = Some(format!("not retrained: {}", problems.join("; ")));
    }
}

pub(super) async fn run(
    cfg: &ModelsConfig,
    store: &impl ObjectStore,
    jobs: &impl DeletionJobs,
    models: &impl Models,
    request: &RequestObject,
    plan: Option<&MapPlan>,
    now: i64,
) -> Result<ModelsStep, ErasureError> {
    let id = &request.request_id;
    let key = id.models_key(&cfg.work_prefix);
    let mut record = read_record(store, &request.bucket, &key).await?;
    let next = ModelsStep {
        done: true,
        next_poll_seconds: cfg
            .poll_seconds
            .max(cfg.max_wait_seconds / u64::from(limits::MAX_MODEL_POLLS)),
    };
    if record.done {
        return Ok(next);
    }
    record.polls = record.polls.saturating_add(1);
    let specs: Vec<JobSpec> = match plan {
        Some(p) => {
            let body = store.get(&p.manifest.bucket, &p.manifest.key).await?;
            serde_json::from_slice(&body)
                .map_err(|e| ErasureError::Invalid(format!("job manifest: {e}")))?
        }
        None => Vec::new(),
    };
    for group in &cfg.dataset_group_arns {
        let g = record.group(group, cfg.retrain);
        if g.jobs_completed_at.is_none() && g.status == ModelsStatus::InProgress {
            match jobs_of_group(jobs, id, group, &specs).await? {
                Ok(window) => first_look(cfg, models, g, window).await?,
                Err(why) => {
                    g.status = ModelsStatus::NotStarted;
                    g.reason = Some(format!(
                        "{why}: the models were not retrained, and may still reflect the users"
                    ));
                }
            }
        }
        if g.status != ModelsStatus::InProgress {
            continue;
        }
        let Some(completed) = g
            .jobs_completed_at
            .as_deref()
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| t.unix_timestamp())
        else {
            continue;
        };
        let look = Look {
            cfg,
            store,
            models,
            bucket: &request.bucket,
            id,
            completed,
            now,
        };
        let out_of_time = now - completed > cfg.max_wait_seconds as i64;
        for r in g.retraining.iter_mut().filter(|r| !settled(r)) {
            look.advance(r).await?;
            if !settled(r) && out_of_time {
                r.status = "WAIT_EXCEEDED".into();
                r.failure_reason = Some(format!(
                    "still {} after the workflow's wait ({} s from the deletion's end)",
                    r.waiting_for
                        .as_deref()
                        .unwrap_or("not ACTIVE with every campaign moved"),
                    now - completed
                ));
            }
        }
        conclude(g);
    }
    let polls = record.polls;
    let unsettled = record
        .groups
        .iter()
        .any(|g| g.status == ModelsStatus::InProgress);
    if unsettled && polls >= limits::MAX_MODEL_POLLS {
        for g in record
            .groups
            .iter_mut()
            .filter(|g| g.status == ModelsStatus::InProgress)
        {
            for r in g.retraining.iter_mut().filter(|r| !settled(r)) {
                r.status = "WAIT_EXCEEDED".into();
                r.failure_reason = Some(format!(
                    "still not settled after {polls} checks, the most the workflow makes"
                ));
            }
            conclude(g);
        }
    }
    record.done = record
        .groups
        .iter()
        .all(|g| g.status != ModelsStatus::InProgress);
    write_record(store, &request.bucket, &key, &record).await?;
    Ok(ModelsStep {
        done: record.done,
        ..next
    })
}
