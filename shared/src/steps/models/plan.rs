//! The models step of a preview: for every dataset group, the deletion jobs a real request
//! would create, what runs on the group now (what the erasure would wait for), and the
//! solutions and campaigns it would retrain, with the training hours of each solution's newest
//! ACTIVE version as the estimate. List and Describe calls only: nothing is created, tagged or
//! updated.

use super::{entry, ModelsConfig, QuiescePolicy};
use crate::error::ErasureError;
use crate::payload::{JobSpec, MapPlan, ModelsStep, RequestObject};
use crate::ports::{running, Models, ObjectStore};
use crate::receipt::models::{Hours, RetrainMode};
use crate::receipt::plan::{GroupPlan, PersonalizePlan, SolutionPlan};

/// Reads every group and writes the request's `personalize/plan.json`. An error that may pass
/// (throttling, a service error) is returned for Step Functions to retry; any other is recorded
/// in the group's entry, and the plan goes on.
pub async fn run(
    cfg: &ModelsConfig,
    store: &impl ObjectStore,
    models: &impl Models,
    request: &RequestObject,
    jobs: Option<&MapPlan>,
    now: i64,
) -> Result<ModelsStep, ErasureError> {
    let specs: Vec<JobSpec> = match jobs {
        Some(p) => {
            let body = store.get(&p.manifest.bucket, &p.manifest.key).await?;
            serde_json::from_slice(&body)
                .map_err(|e| ErasureError::Invalid(format!("job manifest: {e}")))?
        }
        None => Vec::new(),
    };
    let mut plan = PersonalizePlan::default();
    let mut something_runs = false;
    for group in &cfg.dataset_group_arns {
        let mine = specs.iter().filter(|s| &s.dataset_group_arn == group);
        let mut g = GroupPlan {
            dataset_group_arn: group.clone(),
            deletion_jobs: mine.clone().count() as u64,
            users: mine.map(|s| s.users).sum(),
            retrain_after_deletion: cfg.retrain,
            ..GroupPlan::default()
        };
        match read_group(cfg, models, &mut g).await {
            Ok(()) => {}
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => g.error = Some(e.to_string()),
        }
        something_runs |= !g.running_now.is_empty();
        plan.groups.push(g);
    }
    let quiet_wait = match cfg.quiesce {
        QuiescePolicy::Wait if something_runs => cfg.quiesce_max_wait_seconds,
        _ => 0,
    };
    let retrain_wait = match cfg.retrain {
        RetrainMode::Full => cfg.max_wait_seconds,
        RetrainMode::None => 0,
    };
    if !cfg.dataset_group_arns.is_empty() {
        let end = now.saturating_add((quiet_wait + cfg.max_job_wait_seconds + retrain_wait) as i64);
        plan.latest_end = Some(crate::clock::epoch_rfc3339(end));
    }
    let body =
        serde_json::to_vec(&plan).map_err(|e| ErasureError::Invalid(format!("plan: {e}")))?;
    let key = request.request_id.models_plan_key(&cfg.work_prefix);
    store
        .put(&request.bucket, &key, body, "application/json", None)
        .await?;
    Ok(ModelsStep {
        done: true,
        next_poll_seconds: 0,
    })
}

async fn read_group(
    cfg: &ModelsConfig,
    models: &impl Models,
    g: &mut GroupPlan,
) -> Result<(), ErasureError> {
    let survey = models.survey(&g.dataset_group_arn, false).await?;
    g.running_now = survey
        .activities
        .iter()
        .filter(|a| running(&a.status))
        .map(entry)
        .collect();
    g.event_trackers = survey.event_trackers.clone();
    g.recommenders = survey.recommenders.iter().map(|r| r.arn.clone()).collect();
    let mut total = 0.0;
    let mut any_hours = false;
    for solution in &survey.solutions {
        let mut s = SolutionPlan {
            solution_arn: solution.clone(),
            ..SolutionPlan::default()
        };
        let versions = models.versions(solution).await?;
        let last = versions
            .iter()
            .filter(|v| v.status == "ACTIVE")
            .max_by_key(|v| v.created_epoch.unwrap_or(i64::MIN));
        if let Some(v) = last {
            let described = models.version(&v.arn).await?;
            s.last_version_arn = Some(v.arn.clone());
            if let Some(h) = described.training_hours {
                total += h;
                any_hours = true;
                s.last_training_hours = Some(Hours(h));
            }
        }
        s.campaigns = models
            .campaigns(solution)
            .await?
            .into_iter()
            .map(|c| c.arn)
            .collect();
        g.solutions.push(s);
    }
    if any_hours && cfg.retrain == RetrainMode::Full {
        g.estimated_training_hours = Some(Hours(total));
    }
    Ok(())
}
