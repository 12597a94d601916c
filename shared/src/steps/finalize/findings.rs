//! What the erasure steps did, gathered for the receipt from where they recorded it: the job and
//! shard manifests, the maps' result files (when the maps finished), Personalize itself (each
//! job by its deterministic name) and each shard's progress object. Nothing comes from a state
//! payload, so the finalize step's input stays the same size whatever the request.

use std::collections::HashMap;

use futures::StreamExt;

use crate::clock::epoch_rfc3339;
use crate::error::ErasureError;
use crate::map_results::{parse_result_file, ChildResult, ResultManifest};
use crate::naming::RequestId;
use crate::payload::{
    CaughtError, JobItem, JobRef, JobSpec, JobStatus, MapRunOutput, Prepared, ShardItem, ShardSpec,
};
use crate::ports::{DeletionJobs, ObjectStore};
use crate::receipt::models::{GroupModels, ModelsRecord, ModelsStatus, RetrainMode};
use crate::receipt::Findings;
use crate::shard_progress;

/// Progress objects read at once.
const PROGRESS_READS: usize = 32;

/// Where the steps recorded what they did, and which of them ran.
pub struct Scope<'a> {
    /// The work prefix (`work/`).
    pub work_prefix: &'a str,
    /// Whether any destination (Pinpoint application, Customer Profiles domain) is configured:
    /// without one, the shards record nothing and their progress objects are not read.
    pub destinations: bool,
    /// A preview: no deletion job ran; the models step wrote the plan's record instead.
    pub plan: bool,
}

/// Gathers what the steps did for an accepted request. `results` are the two maps' outputs
/// (`[jobs, shards]`) when the Parallel state finished; without them (the execution was stopped,
/// timed out, or failed before), a shard without a finished progress record shows what it had
/// recorded, where with them it counts as failed (`ShardNotFinished`), never as done.
pub async fn gather(
    store: &impl ObjectStore,
    deletion_jobs: &impl DeletionJobs,
    id: &RequestId,
    scope: &Scope<'_>,
    prepared: &Prepared,
    results: Option<&[MapRunOutput]>,
) -> Result<Findings, ErasureError> {
    let mut found = Findings::default();
    let maps = results.unwrap_or_default();
    if let Some(jobs) = prepared.jobs.as_ref().filter(|_| scope.plan) {
        let key = id.models_plan_key(scope.work_prefix);
        found.personalize_plan = Some(match store.get(&jobs.manifest.bucket, &key).await {
            Ok(body) => serde_json::from_slice(&body)
                .map_err(|e| ErasureError::Invalid(format!("plan record {key}: {e}")))?,
            Err(ErasureError::NotFound(_)) => {
                not_planned(&prepared.jobs, store, maps.first()).await?
            }
            Err(e) => return Err(e),
        });
    } else if let Some(plan) = &prepared.jobs {
        let specs: Vec<JobSpec> =
            read_json(store, &plan.manifest.bucket, &plan.manifest.key).await?;
        let exported = match maps.first() {
            Some(out) => read_results(store, out, true).await?,
            None => Vec::new(),
        };
        let mut groups: Vec<String> = Vec::new();
        for s in &specs {
            if !groups.contains(&s.dataset_group_arn) {
                groups.push(s.dataset_group_arn.clone());
            }
        }
        found.jobs = jobs(deletion_jobs, id, specs, &exported).await?;
        let key = id.models_key(scope.work_prefix);
        let record = crate::steps::models::read_record(store, &plan.manifest.bucket, &key).await?;
        let error = maps.first().and_then(|m| m.models_error.as_ref());
        found.models = models(record, &groups, error);
    }
    if let Some(plan) = prepared.shards.as_ref().filter(|_| scope.destinations) {
        let specs: Vec<ShardSpec> =
            read_json(store, &plan.map.manifest.bucket, &plan.map.manifest.key).await?;
        let exported = match maps.get(1) {
            Some(out) => read_results(store, out, false).await?,
            None => Vec::new(),
        };
        found.shards = shards(
            store,
            id,
            scope.work_prefix,
            specs,
            &exported,
            maps.len() > 1,
        )
        .await?;
    }
    Ok(found)
}

/// A plan whose models step wrote nothing (it failed after its retries, or the execution
/// ended first): every group of the job manifest, with why it was not read.
async fn not_planned(
    jobs: &Option<crate::payload::MapPlan>,
    store: &impl ObjectStore,
    out: Option<&MapRunOutput>,
) -> Result<crate::receipt::plan::PersonalizePlan, ErasureError> {
    use crate::receipt::plan::{GroupPlan, PersonalizePlan};
    let Some(plan) = jobs else {
        return Ok(PersonalizePlan::default());
    };
    let specs: Vec<JobSpec> = read_json(store, &plan.manifest.bucket, &plan.manifest.key).await?;
    let why = match out.and_then(|m| m.models_error.as_ref()) {
        Some(e) => format!("the plan's models step failed: {}: {}", e.error, e.cause),
        None => "the plan's models step did not run".to_string(),
    };
    let mut groups: Vec<GroupPlan> = Vec::new();
    for s in &specs {
        match groups
            .iter_mut()
            .find(|g| g.dataset_group_arn == s.dataset_group_arn)
        {
            Some(g) => {
                g.deletion_jobs += 1;
                g.users += s.users;
            }
            None => groups.push(GroupPlan {
                dataset_group_arn: s.dataset_group_arn.clone(),
                deletion_jobs: 1,
                users: s.users,
                error: Some(why.clone()),
                ..GroupPlan::default()
            }),
        }
    }
    Ok(PersonalizePlan {
        groups,
        latest_end: None,
    })
}

/// Every dataset group's models as the models step recorded them; a group it never reached,
/// or left unfinished (the execution ended first), says so.
fn models(
    mut record: ModelsRecord,
    groups: &[String],
    error: Option<&CaughtError>,
) -> Vec<GroupModels> {
    let cause = error
        .map(|e| format!(" ({}: {})", e.error, e.cause))
        .unwrap_or_default();
    groups
        .iter()
        .map(|arn| {
            let at = record.groups.iter().position(|g| &g.dataset_group_arn == arn);
            let mut g = match at {
                Some(i) => record.groups.swap_remove(i),
                None => {
                    let mut fresh = ModelsRecord::default();
                    let g = fresh.group(arn, RetrainMode::Full);
                    g.status = ModelsStatus::NotStarted;
                    g.reason = Some(format!(
                        "the workflow ended before the models step reached this dataset group{cause}"
                    ));
                    return g.clone();
                }
            };
            if g.status == ModelsStatus::InProgress {
                let pending = if g.jobs_completed_at.is_none() {
                    "the workflow ended before the retraining started"
                } else {
                    "the workflow ended before the retraining finished"
                };
                g.reason = Some(format!("{pending}{cause}"));
            }
            g
        })
        .collect()
}

/// Every job of the manifest: its last check from the child's output; for a child that failed
/// or never reported, the job as Personalize knows it (looked up by its deterministic name), with
/// the child's error when the job did not end.
async fn jobs(
    deletion_jobs: &impl DeletionJobs,
    id: &RequestId,
    specs: Vec<JobSpec>,
    exported: &[ChildResult],
) -> Result<Vec<JobItem>, ErasureError> {
    let mut reported: HashMap<(String, u32), JobItem> = HashMap::new();
    let mut failed: HashMap<(String, u32), CaughtError> = HashMap::new();
    for child in exported {
        let Some(spec) = child.item::<JobSpec>() else {
            continue;
        };
        let key = (spec.dataset_group_arn.clone(), spec.part);
        match child.output::<JobItem>() {
            Some(item) if child.status == "SUCCEEDED" => {
                reported.insert(key, item);
            }
            _ => {
                failed.insert(
                    key,
                    CaughtError {
                        error: child.error_name(),
                        cause: child.cause.clone().unwrap_or_default(),
                    },
                );
            }
        }
    }
    let mut names_by_group: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut items = Vec::with_capacity(specs.len());
    for spec in specs {
        let key = (spec.dataset_group_arn.clone(), spec.part);
        if let Some(item) = reported.remove(&key) {
            items.push(item);
            continue;
        }
        if !names_by_group.contains_key(&spec.dataset_group_arn) {
            let names = deletion_jobs.by_name(&spec.dataset_group_arn).await?;
            names_by_group.insert(spec.dataset_group_arn.clone(), names);
        }
        let name = id.job_name(&spec.dataset_group_arn, spec.part);
        let arn = names_by_group
            .get(&spec.dataset_group_arn)
            .and_then(|n| n.get(&name))
            .cloned();
        let mut item = JobItem {
            spec,
            job: None,
            check: None,
            error: failed.remove(&key),
        };
        if let Some(arn) = arn {
            let d = deletion_jobs.describe(&arn).await?;
            let ended = d.state.ended();
            if ended {
                // The job's own end is what counts, whatever happened to the child watching it.
                item.error = None;
            }
            item.check = Some(JobStatus {
                done: ended,
                status: d.state,
                num_deleted: d.num_deleted,
                failure_reason: d.failure_reason,
                created_at: d.created_epoch.map(epoch_rfc3339),
                updated_at: d.updated_epoch.map(epoch_rfc3339),
                next_poll_seconds: 0,
                polls: 0,
            });
            item.job = Some(JobRef {
                job_arn: arn,
                job_name: name,
                reused: true,
                next_poll_seconds: 0,
            });
        }
        items.push(item);
    }
    Ok(items)
}

/// Every shard of the manifest: the error of a child that failed; else the counts its progress
/// object records.
async fn shards(
    store: &impl ObjectStore,
    id: &RequestId,
    work_prefix: &str,
    specs: Vec<ShardSpec>,
    exported: &[ChildResult],
    maps_finished: bool,
) -> Result<Vec<ShardItem>, ErasureError> {
    let errors: HashMap<u32, CaughtError> = exported
        .iter()
        .filter_map(|c| {
            #[derive(serde::Deserialize)]
            struct Index {
                index: u32,
            }
            let index = c.item::<Index>()?.index;
            Some((
                index,
                CaughtError {
                    error: c.error_name(),
                    cause: c.cause.clone().unwrap_or_default(),
                },
            ))
        })
        .collect();
    let recorded: Vec<Result<ShardItem, ErasureError>> = futures::stream::iter(specs)
        .map(|spec| {
            let error = errors.get(&spec.index).cloned();
            async move {
                if let Some(error) = error {
                    return Ok(ShardItem {
                        index: spec.index,
                        users: spec.users,
                        targets: Vec::new(),
                        error: Some(error),
                    });
                }
                let result = shard_progress::recorded(store, id, work_prefix, &spec).await?;
                let (applications, error) = match result {
                    Some(r) if r.complete || !maps_finished => (r.targets, None),
                    _ if !maps_finished => (Vec::new(), None),
                    _ => (
                        Vec::new(),
                        Some(CaughtError {
                            error: "ShardNotFinished".into(),
                            cause: "the shard's progress record does not say it finished".into(),
                        }),
                    ),
                };
                Ok(ShardItem {
                    index: spec.index,
                    users: spec.users,
                    targets: applications,
                    error,
                })
            }
        })
        .buffered(PROGRESS_READS)
        .collect()
        .await;
    recorded.into_iter().collect()
}

/// The children a map's ResultWriter exported: all of them, or only those that did not succeed
/// (a shard's counts are in its progress object; its child's output adds nothing).
async fn read_results(
    store: &impl ObjectStore,
    out: &MapRunOutput,
    with_succeeded: bool,
) -> Result<Vec<ChildResult>, ErasureError> {
    let Some(details) = &out.result_writer_details else {
        return Ok(Vec::new());
    };
    let manifest: ResultManifest = read_json(store, &details.bucket, &details.key).await?;
    let bucket = if manifest.destination_bucket.is_empty() {
        details.bucket.clone()
    } else {
        manifest.destination_bucket.clone()
    };
    let files = &manifest.result_files;
    let wanted = files
        .failed
        .iter()
        .chain(files.succeeded.iter().filter(|_| with_succeeded));
    let mut children = Vec::new();
    for file in wanted {
        let bytes = store.get(&bucket, &file.key).await?;
        let mut parsed = parse_result_file(&bytes).map_err(|_| {
            ErasureError::Invalid(format!("the map result file {} is unreadable", file.key))
        })?;
        children.append(&mut parsed);
    }
    Ok(children)
}

async fn read_json<T: serde::de::DeserializeOwned>(
    store: &impl ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<T, ErasureError> {
    let bytes = store.get(bucket, key).await?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ErasureError::Invalid(format!("the workflow's object {key} is unreadable")))
}
