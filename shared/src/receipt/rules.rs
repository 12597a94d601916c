//! The rules of the receipt: each job's and destination's entry, and the outcome.

use super::models::{ActivityKind, GroupModels, ModelsStatus};
use std::collections::BTreeMap;

use super::{CustomerProfilesEntry, Outcome, PersonalizeEntry, PinpointEntry};
use crate::payload::{
    FinalizeInput, JobItem, JobState, ShardItem, TargetKind, TargetShardResult, Verdict,
};

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

/// Each destination of one kind: its counts summed over every shard, with the keys of every
/// shard's failed-users list, in the configured order (a destination a shard reported but the
/// configuration no longer lists comes after).
fn totals(
    shards: &[ShardItem],
    kind: TargetKind,
    configured: &[String],
) -> Vec<(TargetShardResult, Vec<String>)> {
    let mut order: Vec<&str> = configured.iter().map(String::as_str).collect();
    for s in shards {
        for a in s.targets.iter().filter(|a| a.kind == kind) {
            if !order.contains(&a.target_id.as_str()) {
                order.push(&a.target_id);
            }
        }
    }
    let mut by_id: BTreeMap<&str, (TargetShardResult, Vec<String>)> = order
        .iter()
        .map(|id| {
            let empty = TargetShardResult {
                kind,
                target_id: id.to_string(),
                ..Default::default()
            };
            (*id, (empty, Vec::new()))
        })
        .collect();
    for s in shards {
        if let Some(err) = &s.error {
            // The whole shard failed after its retries: every user in it counts as failed everywhere.
            for (e, _) in by_id.values_mut() {
                e.users_processed += s.users;
                e.failed_users += s.users;
                *e.failure_reasons
                    .entry(format!("shard failed: {}", err.error))
                    .or_default() += s.users;
            }
            continue;
        }
        for a in s.targets.iter().filter(|a| a.kind == kind) {
            if let Some((e, keys)) = by_id.get_mut(a.target_id.as_str()) {
                e.users_processed += a.users_processed;
                e.items_deleted += a.items_deleted;
                e.users_without_items += a.users_without_items;
                e.failed_users += a.failed_users;
                e.reappeared += a.reappeared;
                for (r, n) in &a.failure_reasons {
                    *e.failure_reasons.entry(r.clone()).or_default() += n;
                }
                keys.extend(a.failed_users_key.clone());
                if e.unusable.is_none() {
                    e.unusable.clone_from(&a.unusable);
                }
            }
        }
    }
    order.iter().filter_map(|id| by_id.remove(id)).collect()
}

pub(super) fn pinpoint_entries(
    shards: &[ShardItem],
    application_ids: &[String],
) -> Vec<PinpointEntry> {
    totals(shards, TargetKind::Pinpoint, application_ids)
        .into_iter()
        .map(|(e, failed_users_keys)| PinpointEntry {
            failed_users_keys,
            application_id: e.target_id,
            users_processed: e.users_processed,
            endpoints_deleted: e.items_deleted,
            users_without_endpoints: e.users_without_items,
            failed_users: e.failed_users,
            failure_reasons: e.failure_reasons,
            unusable: e.unusable,
        })
        .collect()
}

pub(super) fn profiles_entries(
    shards: &[ShardItem],
    domain_names: &[String],
    search_key: &str,
) -> Vec<CustomerProfilesEntry> {
    totals(shards, TargetKind::CustomerProfiles, domain_names)
        .into_iter()
        .map(|(e, failed_users_keys)| CustomerProfilesEntry {
            failed_users_keys,
            domain_name: e.target_id,
            search_key: search_key.to_string(),
            users_processed: e.users_processed,
            profiles_deleted: e.items_deleted,
            users_without_profile: e.users_without_items,
            failed_users: e.failed_users,
            verified_absent: e.users_processed.saturating_sub(e.failed_users),
            reappeared: e.reappeared,
            failure_reasons: e.failure_reasons,
            unusable: e.unusable,
        })
        .collect()
}

/// What the outcome rules need of one destination's entry.
struct Reach<'a> {
    what: String,
    items: &'static str,
    users_processed: u64,
    failed_users: u64,
    failure_reasons: &'a BTreeMap<String, u64>,
    unusable: Option<&'a str>,
}

pub(super) fn decide(
    input: &FinalizeInput,
    found: bool,
    personalize: &[PersonalizeEntry],
    pinpoint: &[PinpointEntry],
    profiles: &[CustomerProfilesEntry],
    models: &[GroupModels],
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
    let reaches = pinpoint
        .iter()
        .map(|p| Reach {
            what: format!("Pinpoint application {}", p.application_id),
            items: "endpoints",
            users_processed: p.users_processed,
            failed_users: p.failed_users,
            failure_reasons: &p.failure_reasons,
            unusable: p.unusable.as_deref(),
        })
        .chain(profiles.iter().map(|p| Reach {
            what: format!("Customer Profiles domain {}", p.domain_name),
            items: "profiles",
            users_processed: p.users_processed,
            failed_users: p.failed_users,
            failure_reasons: &p.failure_reasons,
            unusable: p.unusable.as_deref(),
        }));
    let mut failed_anywhere = 0u64;
    let mut total = 0u64;
    for p in reaches {
        total += valid;
        failed_anywhere += p.failed_users;
        if p.users_processed != valid {
            reasons.push(format!(
                "{} handled {} of {valid} users",
                p.what, p.users_processed
            ));
            failed_anywhere += valid.saturating_sub(p.users_processed);
        }
        if let (Some(why), true) = (p.unusable, p.failed_users > 0) {
            // One sentence for the destination, not a count per reason.
            reasons.push(format!(
                "{} could not be used: {why}; {} users' {} there were not deleted",
                p.what, p.failed_users, p.items
            ));
        } else if p.failed_users > 0 {
            let why: Vec<String> = p
                .failure_reasons
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            reasons.push(format!(
                "{} users' {} could not be deleted in {} ({})",
                p.failed_users,
                p.items,
                p.what,
                why.join(", ")
            ));
        }
    }
    reasons.extend(models_reasons(models, &failed_jobs));
    if reasons.is_empty() {
        return (Outcome::Completed, None);
    }
    // Nobody erased in any destination: the request failed (not a partial success).
    let nothing_erased = total > 0 && failed_anywhere >= total;
    let outcome = if broke.is_some()
        || !failed_jobs.is_empty()
        || personalize.len() != expected_jobs
        || nothing_erased
    {
        Outcome::Failed
    } else {
        Outcome::Partial
    };
    (outcome, Some(reasons.join("; ")))
}

/// Why a dataset group's models keep the request from COMPLETED: a retraining that failed or
/// did not finish (when retraining is on), or an import that ran while the deletion job did
/// ("If any training or import occurs, we can't guarantee that the users' data will be deleted
/// from models", "Deleting users", https://docs.aws.amazon.com/personalize/latest/dg/delete-records.html).
/// A group whose deletion job failed is already accounted for by the jobs.
fn models_reasons(models: &[GroupModels], failed_jobs: &[&PersonalizeEntry]) -> Vec<String> {
    let mut reasons = Vec::new();
    for g in models {
        let job_failed = failed_jobs
            .iter()
            .any(|j| j.dataset_group_arn == g.dataset_group_arn);
        let why = g.reason.as_deref().unwrap_or("no reason recorded");
        match g.status {
            ModelsStatus::Failed | ModelsStatus::InProgress => reasons.push(format!(
                "the models of dataset group {} were not retrained: {why}",
                g.dataset_group_arn
            )),
            ModelsStatus::NotStarted if !job_failed => reasons.push(format!(
                "the models of dataset group {} were not retrained: {why}",
                g.dataset_group_arn
            )),
            _ => {}
        }
        let imports = g
            .concurrent_activity
            .iter()
            .chain(g.preflight.iter().flat_map(|p| p.still_running.iter()))
            .filter(|a| a.kind == ActivityKind::DatasetImport)
            .count();
        if imports > 0 {
            reasons.push(format!(
                "{imports} dataset import job(s) ran on dataset group {} while its deletion \
                 job did: deletion from its data and models is not guaranteed; run the request \
                 again",
                g.dataset_group_arn
            ));
        }
    }
    reasons
}
