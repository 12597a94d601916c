//! Where one running (or ended) request stands, for `erasure status`: put together from what an
//! operator may read without reading a user ID — the execution's description and history, the
//! shard manifest and the shards' progress objects (counts and positions), the job manifest
//! (keys and counts), Personalize's own word on each deletion job, the models record, the
//! open-request record and the receipt. No AWS type here: the command line fetches, this reads.
//!
//! Step Functions relied on: a Distributed Map's child executions keep their own histories
//! (the parent's history shows the map state, not the children: "Distributed map state",
//! https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html), so a shard's
//! progress is read from its progress object, not from the history.

use serde::Serialize;

use crate::legal_clock::RespondBy;
use crate::open_requests::OpenRequest;
use crate::payload::{JobSpec, JobState, Outcome, Prepared, ShardSpec, TargetKind};
use crate::receipt::models::ModelsRecord;
use crate::receipt::Receipt;
use crate::shard_progress::{QuotaUse, ShardProgress};

/// One event of an execution's history, as read here.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Step Functions' event type (`TaskStateEntered`, `MapStateExited`, ...).
    pub kind: String,
    /// Seconds since the epoch.
    pub at: i64,
    /// The state's name (state entered and exited events).
    pub state: Option<String>,
    /// The state's output (state exited events).
    pub output: Option<String>,
}

/// The execution as DescribeExecution gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Its name (`erasure-<request ID>`, or a retry's).
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: String,
    /// When it started, seconds since the epoch.
    pub started: i64,
    /// When it stopped.
    pub stopped: Option<i64>,
}

/// A deletion job: its place in the job manifest and what Personalize says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSeen {
    /// Its place in the manifest.
    pub spec: JobSpec,
    /// Its name.
    pub name: String,
    /// Personalize's state (None: not created yet).
    pub state: Option<JobState>,
    /// Created, seconds since the epoch.
    pub created: Option<i64>,
    /// Records deleted (once completed).
    pub num_deleted: Option<i64>,
}

/// Everything read about one request.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// DescribeExecution.
    pub execution: Option<Execution>,
    /// GetExecutionHistory, oldest first.
    pub events: Vec<Event>,
    /// The shard manifest (None: not written yet, or purged after the receipt).
    pub shards: Option<Vec<ShardSpec>>,
    /// The progress objects read: (shard index, progress, last modified).
    pub progress: Vec<(u32, ShardProgress, Option<i64>)>,
    /// The deletion jobs.
    pub jobs: Vec<JobSeen>,
    /// The models record.
    pub models: Option<ModelsRecord>,
    /// The open-request record.
    pub open: Option<OpenRequest>,
    /// The receipt and its location, once written: what was done, in its final counts (the
    /// work objects are purged once it is written).
    pub receipt: Option<(Box<Receipt>, String)>,
    /// Now, seconds since the epoch.
    pub now: i64,
}

/// One destination's erasure so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// `PINPOINT` or `CUSTOMER_PROFILES`.
    pub kind: TargetKind,
    /// The application ID or domain name.
    pub id: String,
    /// Users handled (erased, found without data, or failed).
    pub done: u64,
    /// Users to handle.
    pub total: u64,
    /// Endpoints or profiles deleted.
    pub items_deleted: u64,
    /// Users found without data.
    pub users_without_items: u64,
    /// Users failed so far.
    pub failed: u64,
    /// Users handled per second since the shards began (None before any progress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_per_second: Option<f64>,
    /// Seconds left at that rate (None when done or without a rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
}

/// One API's pacing, over every shard's latest record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PacingStatus {
    /// The API.
    pub api: String,
    /// The account's quota as configured, requests per second.
    pub account_rate: f64,
    /// What the running shards may use together (the quota less the headroom).
    pub configured: f64,
    /// What they paced at, together, at their last checkpoints.
    pub current: f64,
    /// Throttled answers met, over all shards.
    pub throttled: u64,
}

/// One deletion job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// Its name.
    pub name: String,
    /// Part of the request it deletes.
    pub part: u32,
    /// Users in that part.
    pub users: u64,
    /// Personalize's state, or `NOT_CREATED` yet.
    pub state: String,
    /// Records deleted, once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_deleted: Option<i64>,
    /// Minutes since it was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_minutes: Option<i64>,
}

/// One dataset group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    /// The dataset group.
    pub dataset_group_arn: String,
    /// Jobs ended (completed or failed).
    pub jobs_ended: u64,
    /// Jobs in all.
    pub jobs_total: u64,
    /// Each job.
    pub jobs: Vec<JobStatus>,
    /// Each retraining: (solution, status).
    pub retraining: Vec<(String, String)>,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The execution's name.
    pub execution_name: String,
    /// Its ARN.
    pub execution_arn: String,
    /// Step Functions' status.
    pub status: String,
    /// Seconds since the epoch.
    pub started_at: i64,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<i64>,
    /// A preview (`PLAN`) or an erasure (`ERASE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Valid users in the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// When the request was received (the legal clock's start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// Its deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub respond_by: Option<RespondBy>,
    /// Days from today to the deadline (negative once past).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// The states running now (the parent's: a map state while its children run).
    pub running_states: Vec<String>,
    /// What it waits for, in words.
    pub waiting_for: Vec<String>,
    /// Pinpoint applications and Customer Profiles domains.
    pub targets: Vec<TargetStatus>,
    /// The APIs' pacing.
    pub pacing: Vec<PacingStatus>,
    /// Shards finished, of all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<(u64, u64)>,
    /// Personalize dataset groups.
    pub personalize: Vec<GroupStatus>,
    /// The receipt's outcome, once written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The receipt's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

impl Status {
    /// Whether the execution has ended.
    pub fn ended(&self) -> bool {
        self.status != "RUNNING"
    }
}

/// What a state does, in words, while it runs.
fn doing(state: &str) -> Option<&'static str> {
    Some(match state {
        "PrepareRequest" => "reading and checking the request file",
        "CheckDatasetGroups" | "WaitForQuiet" => {
            "the dataset groups to be quiet (no import, training or batch job running on them)"
        }
        "PlanModels" => "reading the dataset groups' jobs, solutions and campaigns (a preview)",
        "FinalizeErasure" => "writing the receipt",
        _ => return None,
    })
}

/// The states entered and not yet exited, in the order entered.
pub fn running_states(events: &[Event]) -> Vec<(String, i64)> {
    let mut open: Vec<(String, i64)> = Vec::new();
    for e in events {
        let Some(state) = &e.state else { continue };
        if e.kind.ends_with("StateEntered") {
            open.retain(|(s, _)| s != state);
            open.push((state.clone(), e.at));
        } else if e.kind.ends_with("StateExited") {
            open.retain(|(s, _)| s != state);
        }
    }
    open
}

/// The prepare step's output, from its exit event (`$.prepared`).
pub fn prepared(events: &[Event]) -> Option<Prepared> {
    events
        .iter()
        .rev()
        .filter(|e| e.kind == "TaskStateExited" && e.state.as_deref() == Some("PrepareRequest"))
        .find_map(|e| {
            let v: serde_json::Value = serde_json::from_str(e.output.as_deref()?).ok()?;
            serde_json::from_value(v.get("prepared")?.clone()).ok()
        })
}

/// When a state was first entered, and when last exited.
fn span(events: &[Event], state: &str) -> (Option<i64>, Option<i64>) {
    let mine = || events.iter().filter(|e| e.state.as_deref() == Some(state));
    (
        mine()
            .find(|e| e.kind.ends_with("StateEntered"))
            .map(|e| e.at),
        mine()
            .filter(|e| e.kind.ends_with("StateExited"))
            .map(|e| e.at)
            .next_back(),
    )
}

/// Puts the status together.
pub fn summarize(src: &Sources) -> Option<Status> {
    let exec = src.execution.as_ref()?;
    let prepared = prepared(&src.events);
    let running = running_states(&src.events);
    let end = exec.stopped.unwrap_or(src.now);
    let mut waiting_for: Vec<String> = Vec::new();
    if exec.status == "RUNNING" {
        for (state, _) in &running {
            if let Some(d) = doing(state) {
                waiting_for.push(d.to_string());
            }
        }
    }

    // Pinpoint and Customer Profiles: the shards' progress objects, summed per destination.
    let (shards_from, shards_to) = span(&src.events, "Shards");
    let elapsed = shards_from.map(|from| (shards_to.unwrap_or(end) - from).max(1));
    let mut targets: Vec<TargetStatus> = Vec::new();
    let total_users = src
        .shards
        .as_ref()
        .map(|s| s.iter().map(|x| x.users).sum::<u64>())
        .or(prepared.as_ref().map(|p| p.stats.valid_users));
    for (_, p, _) in &src.progress {
        for t in &p.targets {
            let i = match targets
                .iter()
                .position(|x| x.kind == t.kind() && x.id == t.id())
            {
                Some(i) => i,
                None => {
                    targets.push(TargetStatus {
                        kind: t.kind(),
                        id: t.id().to_string(),
                        done: 0,
                        total: total_users.unwrap_or(0),
                        items_deleted: 0,
                        users_without_items: 0,
                        failed: 0,
                        users_per_second: None,
                        eta_seconds: None,
                    });
                    targets.len() - 1
                }
            };
            let x = &mut targets[i];
            x.done += t.done + t.ahead.len() as u64;
            x.items_deleted += t.result.items_deleted;
            x.users_without_items += t.result.users_without_items;
            x.failed += (t.failed.len() + t.retry.len()) as u64;
        }
    }
    for x in &mut targets {
        if let Some(secs) = elapsed.filter(|_| x.done > 0) {
            let rate = x.done as f64 / secs as f64;
            x.users_per_second = Some((rate * 10.0).round() / 10.0);
            if x.done < x.total && exec.status == "RUNNING" {
                x.eta_seconds = Some(((x.total - x.done) as f64 / rate).ceil() as u64);
            }
        }
    }
    // Each API's pacing, from the shards still working (or, once all are done, all).
    let working: Vec<&ShardProgress> = src
        .progress
        .iter()
        .filter(|(_, p, _)| !p.complete)
        .map(|(_, p, _)| p)
        .collect();
    let all: Vec<&ShardProgress> = src.progress.iter().map(|(_, p, _)| p).collect();
    let pacing = pacing_of(if working.is_empty() { &all } else { &working }, &all);
    let shards_total = src.shards.as_ref().map(|s| s.len() as u64).or(prepared
        .as_ref()
        .and_then(|p| p.shards.as_ref())
        .map(|s| s.map.count));
    let shards_done = src.progress.iter().filter(|(_, p, _)| p.complete).count() as u64;
    if running.iter().any(|(s, _)| s == "Shards") {
        for t in targets.iter().filter(|t| t.done < t.total) {
            waiting_for.push(format!(
                "{} {}: {} of {} users handled",
                target_label(t.kind),
                t.id,
                t.done,
                t.total
            ));
        }
        for p in pacing.iter().filter(|p| p.throttled > 0) {
            waiting_for.push(format!(
                "throttling: {} answered \"too many requests\" {} times (paced at {:.1}/s of the {:.1}/s allowed)",
                p.api, p.throttled, p.current, p.configured
            ));
        }
        if src.progress.is_empty() {
            waiting_for.push("the first shard to record its progress".into());
        }
    }

    // Personalize: each job, and each retraining.
    let mut personalize: Vec<GroupStatus> = Vec::new();
    for j in &src.jobs {
        let g = match personalize
            .iter()
            .position(|g| g.dataset_group_arn == j.spec.dataset_group_arn)
        {
            Some(i) => &mut personalize[i],
            None => {
                personalize.push(GroupStatus {
                    dataset_group_arn: j.spec.dataset_group_arn.clone(),
                    jobs_ended: 0,
                    jobs_total: 0,
                    jobs: Vec::new(),
                    retraining: Vec::new(),
                });
                personalize.last_mut()?
            }
        };
        g.jobs_total += 1;
        let state = j.state.map_or("NOT_CREATED".to_string(), |s| s.to_string());
        if matches!(j.state, Some(JobState::Completed | JobState::Failed)) {
            g.jobs_ended += 1;
        }
        g.jobs.push(JobStatus {
            name: j.name.clone(),
            part: j.spec.part,
            users: j.spec.users,
            state,
            records_deleted: j.num_deleted,
            age_minutes: j.created.map(|c| (src.now - c).max(0) / 60),
        });
    }
    if let Some(m) = &src.models {
        for mg in &m.groups {
            if let Some(g) = personalize
                .iter_mut()
                .find(|g| g.dataset_group_arn == mg.dataset_group_arn)
            {
                g.retraining = mg
                    .retraining
                    .iter()
                    .map(|r| (r.solution_arn.clone(), r.status.clone()))
                    .collect();
            }
        }
    }
    if running.iter().any(|(s, _)| s == "DeletionJobs") {
        for g in &personalize {
            for j in g
                .jobs
                .iter()
                .filter(|j| !matches!(j.state.as_str(), "COMPLETED" | "FAILED"))
            {
                let age = j
                    .age_minutes
                    .map_or(String::new(), |m| format!(", created {m} min ago"));
                waiting_for.push(format!(
                    "Personalize deletion job {} ({} users): {}{age}",
                    j.name, j.users, j.state
                ));
            }
        }
    }
    if running
        .iter()
        .any(|(s, _)| s == "RetrainModels" || s == "WaitForTraining")
    {
        if let Some(m) = &src.models {
            for g in &m.groups {
                for r in g.retraining.iter().filter(|r| r.status != "ACTIVE") {
                    let why = r
                        .waiting_for
                        .as_deref()
                        .map_or(String::new(), |w| format!(" ({w})"));
                    waiting_for.push(format!(
                        "training of solution {}: {}{why}",
                        short(&r.solution_arn),
                        r.status
                    ));
                }
            }
        }
    }
    if running
        .iter()
        .any(|(s, _)| s == "CheckDatasetGroups" || s == "WaitForQuiet")
    {
        if let Some(m) = &src.models {
            for g in &m.groups {
                for a in g.preflight.iter().flat_map(|p| &p.found) {
                    waiting_for.push(format!(
                        "{} {} on dataset group {}: {}",
                        activity_label(a.kind),
                        short(&a.arn),
                        short(&g.dataset_group_arn),
                        a.status
                    ));
                }
            }
        }
    }

    if let Some((r, _)) = &src.receipt {
        from_receipt(r, &mut targets, &mut personalize);
    }
    let received_at = src
        .receipt
        .as_ref()
        .and_then(|(r, _)| r.received_at.clone())
        .or(src.open.as_ref().map(|o| o.received_at.clone()))
        .or(prepared.as_ref().and_then(|p| p.received_at.clone()));
    let respond_by = src
        .receipt
        .as_ref()
        .and_then(|(r, _)| r.respond_by.clone())
        .or(src.open.as_ref().and_then(|o| o.respond_by.clone()));
    // A COMPLETED request (or a plan) is off the clock: no days left to count.
    let answered = src
        .receipt
        .as_ref()
        .is_some_and(|(r, _)| matches!(r.outcome, Outcome::Completed | Outcome::Planned));
    let days_left = respond_by
        .as_ref()
        .filter(|_| !answered)
        .and_then(|r| days_until(&r.due, src.now));
    Some(Status {
        execution_name: exec.name.clone(),
        execution_arn: exec.arn.clone(),
        status: exec.status.clone(),
        started_at: exec.started,
        stopped_at: exec.stopped,
        mode: prepared
            .as_ref()
            .map(|p| format!("{:?}", p.request.mode).to_uppercase()),
        users: prepared
            .as_ref()
            .map(|p| p.stats.valid_users)
            .or(src.receipt.as_ref().map(|(r, _)| r.request.valid_users)),
        received_at,
        respond_by,
        days_left,
        running_states: running.into_iter().map(|(s, _)| s).collect(),
        waiting_for,
        targets,
        pacing,
        // Once the receipt is written the progress objects are purged: its counts stand alone.
        shards: shards_total
            .filter(|_| src.receipt.is_none())
            .map(|t| (shards_done.min(t), t)),
        personalize,
        outcome: src.receipt.as_ref().map(|(r, _)| r.outcome),
        receipt: src.receipt.as_ref().map(|(_, k)| k.clone()),
    })
}

/// A written receipt's counts replace what the work objects said (the receipt is what was
/// done; the work objects are purged once it is written).
fn from_receipt(r: &Receipt, targets: &mut Vec<TargetStatus>, groups: &mut Vec<GroupStatus>) {
    let keep = |t: &[TargetStatus], kind: TargetKind, id: &str| {
        t.iter()
            .find(|x| x.kind == kind && x.id == id)
            .map(|x| x.users_per_second)
            .unwrap_or(None)
    };
    let mut out: Vec<TargetStatus> = Vec::new();
    for p in &r.pinpoint {
        out.push(TargetStatus {
            kind: TargetKind::Pinpoint,
            id: p.application_id.clone(),
            done: p.users_processed,
            total: r.request.valid_users.max(p.users_processed),
            items_deleted: p.endpoints_deleted,
            users_without_items: p.users_without_endpoints,
            failed: p.failed_users,
            users_per_second: keep(targets, TargetKind::Pinpoint, &p.application_id),
            eta_seconds: None,
        });
    }
    for c in &r.customer_profiles {
        out.push(TargetStatus {
            kind: TargetKind::CustomerProfiles,
            id: c.domain_name.clone(),
            done: c.users_processed,
            total: r.request.valid_users.max(c.users_processed),
            items_deleted: c.profiles_deleted,
            users_without_items: c.users_without_profile,
            failed: c.failed_users,
            users_per_second: keep(targets, TargetKind::CustomerProfiles, &c.domain_name),
            eta_seconds: None,
        });
    }
    *targets = out;
    let mut out: Vec<GroupStatus> = Vec::new();
    for e in &r.personalize {
        let i = match out
            .iter()
            .position(|g| g.dataset_group_arn == e.dataset_group_arn)
        {
            Some(i) => i,
            None => {
                out.push(GroupStatus {
                    dataset_group_arn: e.dataset_group_arn.clone(),
                    jobs_ended: 0,
                    jobs_total: 0,
                    jobs: Vec::new(),
                    retraining: r
                        .personalize_models
                        .iter()
                        .filter(|m| m.dataset_group_arn == e.dataset_group_arn)
                        .flat_map(|m| &m.retraining)
                        .map(|t| (t.solution_arn.clone(), t.status.clone()))
                        .collect(),
                });
                out.len() - 1
            }
        };
        let g = &mut out[i];
        g.jobs_total += 1;
        if matches!(e.status, JobState::Completed | JobState::Failed) {
            g.jobs_ended += 1;
        }
        g.jobs.push(JobStatus {
            name: e.job_name.clone().unwrap_or_default(),
            part: e.part,
            users: e.users,
            state: e.status.to_string(),
            records_deleted: e.num_deleted,
            age_minutes: None,
        });
    }
    *groups = out;
}

/// Each API's pacing: the share and current rate summed over `now` (the shards working, each
/// with its own share), the throttles over `all`.
fn pacing_of(now: &[&ShardProgress], all: &[&ShardProgress]) -> Vec<PacingStatus> {
    let mut out: Vec<PacingStatus> = Vec::new();
    let mut add = |q: &QuotaUse, current: bool| {
        let i = match out.iter().position(|p| p.api == q.api) {
            Some(i) => i,
            None => {
                out.push(PacingStatus {
                    api: q.api.clone(),
                    account_rate: q.account_rate,
                    configured: q.share * f64::from(q.holders.max(1)),
                    current: 0.0,
                    throttled: 0,
                });
                out.len() - 1
            }
        };
        if current {
            out[i].current += q.current_rate;
        } else {
            out[i].throttled += q.throttled;
        }
    };
    for p in now {
        for q in &p.pacing {
            add(q, true);
        }
    }
    for p in all {
        for q in &p.pacing {
            add(q, false);
        }
    }
    for p in &mut out {
        p.current = (p.current * 10.0).round() / 10.0;
        p.configured = (p.configured * 10.0).round() / 10.0;
    }
    out
}

/// A destination kind, in words.
pub fn target_label(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Pinpoint => "Pinpoint application",
        TargetKind::CustomerProfiles => "Customer Profiles domain",
    }
}

/// A kind of Personalize activity, in words.
fn activity_label(kind: crate::receipt::models::ActivityKind) -> &'static str {
    use crate::receipt::models::ActivityKind as K;
    match kind {
        K::DatasetImport => "dataset import job",
        K::Training => "training",
        K::BatchInference => "batch inference job",
        K::BatchSegment => "batch segment job",
        K::DatasetExport => "dataset export job",
    }
}

/// The last part of an ARN.
pub fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Days from `now`'s date to `due` (YYYY-MM-DD).
pub fn days_until(due: &str, now: i64) -> Option<i64> {
    let due = time::Date::parse(due, &time::format_description::well_known::Iso8601::DATE).ok()?;
    let today = time::OffsetDateTime::from_unix_timestamp(now).ok()?.date();
    Some((due - today).whole_days())
}

/// One line of `erasure status --list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The execution's name.
    pub execution_name: String,
    /// Step Functions' status.
    pub status: String,
    /// The receipt's outcome, once written (or the open record's latest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Seconds since the epoch.
    pub started_at: i64,
    /// Seconds since it started.
    pub age_seconds: i64,
    /// The deadline's day, while the request is not COMPLETED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Days left to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
}

/// The list: each execution with its receipt's outcome (when read) and, while its request is
/// on the legal clock (an open record), the days left.
pub fn list(
    executions: &[Execution],
    outcomes: &[(String, Outcome)],
    open: &[OpenRequest],
    now: i64,
) -> Vec<Listed> {
    executions
        .iter()
        .map(|e| {
            let record = open
                .iter()
                .find(|o| e.name.starts_with(&o.request_id.execution_name()));
            // A record written before it carried the deadline shows none (its regime is not
            // known here).
            let due = record
                .and_then(|o| o.respond_by.as_ref())
                .map(|r| r.due.clone());
            let outcome = outcomes.iter().find(|(n, _)| *n == e.name).map(|(_, o)| *o);
            Listed {
                execution_name: e.name.clone(),
                status: e.status.clone(),
                outcome,
                started_at: e.started,
                age_seconds: (now - e.started).max(0),
                days_left: due.as_deref().and_then(|d| days_until(d, now)),
                due,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
