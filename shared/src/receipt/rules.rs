//! The rules of the receipt: each job's and destination's entry, and the outcome.

use std::collections::BTreeMap;

use super::{Outcome, PersonalizeEntry, PinpointEntry};
use crate::payload::{FinalizeInput, JobItem, JobState, ShardItem, Verdict};

pub(super) fn personalize_entry(item: &JobItem) -> PersonalizeEntry {
    let status = match (&item.check, &item.job) {
        (Some(c), _) if item.error.is_none() => c.status,
        (_, None) => JobState::NotCreated,
        _ => JobState::Unknown,
    };
    let failure_reason = match (&item.error, &item.check) {
        (Some(e), _) => Some(format!("{}: {}", e.error, e.cause)),
        (None, Some(c)) => c.failure_reason.clone(),
        (None, None) => Some("the job's status was never checked".into()),
    };
    PersonalizeEntry {
        dataset_group_arn: item.spec.dataset_group_arn.clone(),
        part: item.spec.part,
        users: item.spec.users,
        job_name: item.job.as_ref().map(|j| j.job_name.clone()),
        job_arn: item.job.as_ref().map(|j| j.job_arn.clone()),
        status,
        num_deleted: item.check.as_ref().and_then(|c| c.num_deleted),
        failure_reason,
        created_at: item.check.as_ref().and_then(|c| c.created_at.clone()),
        updated_at: item.check.as_ref().and_then(|c| c.updated_at.clone()),
    }
}

pub(super) fn pinpoint_entries(
    shards: &[ShardItem],
    application_ids: &[String],
) -> Vec<PinpointEntry> {
    let mut by_app: BTreeMap<&str, PinpointEntry> = BTreeMap::new();
    let mut order: Vec<&str> = application_ids.iter().map(String::as_str).collect();
    for s in shards {
        for a in &s.applications {
            if !order.contains(&a.application_id.as_str()) {
                order.push(&a.application_id);
            }
        }
    }
    for app in &order {
        by_app.insert(
            app,
            PinpointEntry {
                application_id: app.to_string(),
                ..Default::default()
            },
        );
    }
    for s in shards {
        if let Some(err) = &s.error {
            // The whole shard failed after its retries: every user in it counts as failed everywhere.
            for app in &order {
                if let Some(e) = by_app.get_mut(app) {
                    e.users_processed += s.users;
                    e.failed_users += s.users;
                    *e.failure_reasons
                        .entry(format!("shard failed: {}", err.error))
                        .or_default() += s.users;
                }
            }
            continue;
        }
        for a in &s.applications {
            if let Some(e) = by_app.get_mut(a.application_id.as_str()) {
                e.users_processed += a.users_processed;
                e.endpoints_deleted += a.endpoints_deleted;
                e.users_without_endpoints += a.users_without_endpoints;
                e.failed_users += a.failed_users;
                for (r, n) in &a.failure_reasons {
                    *e.failure_reasons.entry(r.clone()).or_default() += n;
                }
                e.failed_users_keys.extend(a.failed_users_key.clone());
            }
        }
    }
    order.iter().filter_map(|a| by_app.remove(a)).collect()
}

pub(super) fn decide(
    input: &FinalizeInput,
    found: bool,
    personalize: &[PersonalizeEntry],
    pinpoint: &[PinpointEntry],
) -> (Outcome, Option<String>) {
    let Some(prepared) = &input.prepared else {
        let why = input
            .error
            .as_ref()
            .map(|e| {
                format!(
                    "the request could not be prepared: {}: {}",
                    e.error, e.cause
                )
            })
            .unwrap_or_else(|| "the request was never prepared".into());
        return (Outcome::Failed, Some(why));
    };
    if prepared.verdict == Verdict::Rejected {
        let why = prepared
            .reason
            .clone()
            .unwrap_or_else(|| "the request file was rejected".into());
        return (Outcome::Rejected, Some(why));
    }
    let broke = input
        .error
        .as_ref()
        .map(|e| format!("the erasure steps failed: {}: {}", e.error, e.cause));
    if !found {
        let why = broke.unwrap_or_else(|| "the erasure steps never ran".into());
        return (Outcome::Failed, Some(why));
    }
    let mut reasons = Vec::new();
    reasons.extend(broke.clone());
    let failed_jobs: Vec<&PersonalizeEntry> = personalize
        .iter()
        .filter(|p| p.status != JobState::Completed)
        .collect();
    let expected_jobs = prepared.jobs.as_ref().map_or(0, |j| j.count as usize);
    if personalize.len() != expected_jobs {
        reasons.push(format!(
            "{} of {expected_jobs} Personalize deletion jobs reported back",
            personalize.len()
        ));
    }
    if let Some(first) = failed_jobs.first() {
        reasons.push(format!(
            "{} of {} Personalize deletion jobs did not complete (first: {} part {}: {}{})",
            failed_jobs.len(),
            personalize.len(),
            first.dataset_group_arn,
            first.part,
            first.status,
            first
                .failure_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    let valid = prepared.stats.valid_users;
    let mut pinpoint_failed = 0u64;
    let mut pinpoint_total = 0u64;
    for p in pinpoint {
        pinpoint_total += valid;
        pinpoint_failed += p.failed_users;
        if p.users_processed != valid {
            reasons.push(format!(
                "Pinpoint application {} handled {} of {valid} users",
                p.application_id, p.users_processed
            ));
            pinpoint_failed += valid.saturating_sub(p.users_processed);
        }
        if p.failed_users > 0 {
            let why: Vec<String> = p
                .failure_reasons
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            reasons.push(format!(
                "{} users' endpoints could not be deleted in Pinpoint application {} ({})",
                p.failed_users,
                p.application_id,
                why.join(", ")
            ));
        }
    }
    if reasons.is_empty() {
        return (Outcome::Completed, None);
    }
    let nothing_in_pinpoint = pinpoint_total > 0 && pinpoint_failed >= pinpoint_total;
    let outcome = if broke.is_some()
        || !failed_jobs.is_empty()
        || personalize.len() != expected_jobs
        || nothing_in_pinpoint
    {
        Outcome::Failed
    } else {
        Outcome::Partial
    };
    (outcome, Some(reasons.join("; ")))
}
