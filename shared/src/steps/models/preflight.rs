//! Before any deletion job: is anything importing, training or running a batch job on the
//! dataset groups? With `QuiescePolicy=wait` the step answers "not yet" until nothing runs (at
//! most `QuiesceMaxWaitSeconds`); with `proceed`, it records what runs and goes ahead. Either
//! way the receipt says what was found and why the deletion went ahead. A group that cannot be
//! checked (a permission missing, say) is recorded as such: erasing comes first.

use super::{entry, read_record, write_record, ModelsConfig, QuiescePolicy};
use crate::clock::epoch_rfc3339;
use crate::error::ErasureError;
use crate::payload::{ModelsStep, RequestObject};
use crate::ports::{running, Activity, ActivityKind, Models, ObjectStore};
use crate::receipt::models::Preflight;

/// Whether a running job or training is one AWS asks to have finished before a deletion job:
/// "training jobs, batch jobs, or bulk or individual import operations" (an export only reads).
pub fn must_be_quiet(a: &Activity) -> bool {
    a.kind != ActivityKind::DatasetExport && running(&a.status)
}

pub(super) async fn run(
    cfg: &ModelsConfig,
    store: &impl ObjectStore,
    models: &impl Models,
    request: &RequestObject,
    now: i64,
) -> Result<ModelsStep, ErasureError> {
    let key = request.request_id.models_key(&cfg.work_prefix);
    let mut record = read_record(store, &request.bucket, &key).await?;
    record.preflight_polls = record.preflight_polls.saturating_add(1);
    let out_of_checks = record.preflight_polls >= crate::limits::MAX_MODEL_POLLS;
    let mut waiting = false;
    for group in &cfg.dataset_group_arns {
        let g = record.group(group, cfg.retrain);
        if g.preflight
            .as_ref()
            .is_some_and(|p| p.proceeded != "WAITING")
        {
            continue;
        }
        let survey = match models.survey(group, false).await {
            Ok(s) => s,
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "dataset group not checked before its deletion job");
                g.preflight = Some(Preflight {
                    policy: cfg.quiesce.as_str().into(),
                    checked_at: epoch_rfc3339(now),
                    proceeded: "NOT_CHECKED".into(),
                    error: Some(e.to_string()),
                    ..Preflight::default()
                });
                continue;
            }
        };
        g.event_trackers = survey.event_trackers.clone();
        let busy: Vec<_> = survey
            .activities
            .iter()
            .filter(|a| must_be_quiet(a))
            .map(entry)
            .collect();
        let mut p = g.preflight.take().unwrap_or_else(|| Preflight {
            policy: cfg.quiesce.as_str().into(),
            checked_at: epoch_rfc3339(now),
            found: busy.clone(),
            ..Preflight::default()
        });
        let first = checked_epoch(&p).unwrap_or(now);
        p.waited_seconds = (now - first).max(0) as u64;
        p.proceeded = if busy.is_empty() {
            "QUIET"
        } else if cfg.quiesce == QuiescePolicy::Proceed {
            "POLICY_PROCEED"
        } else if p.waited_seconds >= cfg.quiesce_max_wait_seconds || out_of_checks {
            "MAX_WAIT_REACHED"
        } else {
            waiting = true;
            "WAITING"
        }
        .into();
        if p.proceeded != "WAITING" {
            p.still_running = busy;
        }
        tracing::info!(
            running = p.still_running.len(),
            proceeded = %p.proceeded,
            "dataset group checked before its deletion jobs"
        );
        g.preflight = Some(p);
    }
    write_record(store, &request.bucket, &key, &record).await?;
    Ok(ModelsStep {
        done: !waiting,
        next_poll_seconds: cfg
            .quiesce_poll_seconds
            .max(cfg.quiesce_max_wait_seconds / u64::from(crate::limits::MAX_MODEL_POLLS)),
    })
}

/// When the group was first checked (the record keeps it as RFC 3339).
fn checked_epoch(p: &Preflight) -> Option<i64> {
    time::OffsetDateTime::parse(
        &p.checked_at,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
    .map(|t| t.unix_timestamp())
}
