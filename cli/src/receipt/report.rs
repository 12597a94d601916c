//! The receipt as a person reads it, before any format: the summary's sentences, what to do
//! next, notes, the request's details and one table per destination. Every value comes from a
//! typed field of the receipt.

use std::collections::BTreeMap;

use erasure::payload::JobState;
use erasure::receipt::models::{GroupModels, ModelsStatus, RetrainMode};
use erasure::receipt::plan::{ordered_by_line, Plan};
use erasure::receipt::{
    CustomerProfilesEntry, Outcome, PersonalizeEntry, PinpointEntry, PurgeAction, Receipt,
};
use serde::Serialize;

/// One table: a destination's entries (or a plan's, or the rejected rows), one row each, in
/// the receipt's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// A stable name (the receipt's section): HTML tables carry it as their id.
    pub id: &'static str,
    /// The heading.
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    /// Right-aligned (a count) or not, per column.
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

/// What to do next, when the outcome is not COMPLETED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStep {
    /// What went wrong, one sentence each.
    pub problems: Vec<String>,
    /// What to do, ending with ":" when commands follow.
    pub advice: String,
    /// Commands to run, in order.
    pub commands: Vec<String>,
    /// A remark after the commands.
    pub after: Option<String>,
}

/// The whole account of one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcome: &'static str,
    pub title: String,
    /// The summary paragraph's sentences.
    pub summary: Vec<String>,
    pub next: Option<NextStep>,
    /// Worth knowing: what was done with the request file, what this workflow does not erase.
    pub notes: Vec<String>,
    /// The request's identifiers, as label and value.
    pub details: Vec<(&'static str, String)>,
    pub tables: Vec<Table>,
}

/// `1,234,567`.
pub fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 user`, `1,500 users`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", num(n), if n == 1 { one } else { many })
}

/// `a`, `a and b`, `a, b and c`.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The date of an RFC 3339 time (`2026-12-01`), or the text as it is.
pub fn date(ts: &str) -> &str {
    match ts.get(..10) {
        Some(d) if ts.as_bytes().get(10) == Some(&b'T') => d,
        _ => ts,
    }
}

/// Training hours as Personalize gives them, without float noise (`1.5`, `3.75`, `2`).
pub fn hours(h: f64) -> String {
    let s = format!("{:.2}", h);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A word for a POSIX shell: as it is when it holds nothing the shell reads, else in single
/// quotes (a file name like `a<b>&"c".csv` must not become a redirection).
pub fn sh_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn sentence(s: &str) -> String {
    let s = capitalize(s.trim());
    if s.ends_with('.') {
        s
    } else {
        format!("{s}.")
    }
}

/// A serde enum's name as the receipt spells it (`RETRAINED`, `CONTROL_CHARACTER`).
fn code<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn opt(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

fn reasons_cell(r: &BTreeMap<String, u64>) -> String {
    if r.is_empty() {
        return "-".into();
    }
    r.iter()
        .map(|(why, n)| format!("{why}: {}", num(*n)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `access denied` when every failure had that reason, else `2 access denied, 1 throttled`.
fn reasons_words(r: &BTreeMap<String, u64>, failed: u64) -> String {
    match r.iter().collect::<Vec<_>>().as_slice() {
        [] => "no reason recorded".into(),
        [(why, n)] if **n == failed => (*why).clone(),
        many => many
            .iter()
            .map(|(why, n)| format!("{} {why}", num(**n)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The distinct dataset groups of the jobs, in order.
fn groups(jobs: &[PersonalizeEntry]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for j in jobs {
        if !out.contains(&j.dataset_group_arn.as_str()) {
            out.push(&j.dataset_group_arn);
        }
    }
    out
}

fn models_word(g: &GroupModels) -> String {
    match g.status {
        ModelsStatus::Retrained => "models retrained".into(),
        ModelsStatus::NothingToRetrain => {
            match g
                .recommenders
                .iter()
                .filter_map(|r| r.retrained_by.as_deref())
                .max()
            {
                Some(by) => format!(
                    "no custom model; recommenders retrained by AWS by {}",
                    date(by)
                ),
                None => "no custom model to retrain".into(),
            }
        }
        ModelsStatus::NotRetrained => "models not retrained as configured".into(),
        ModelsStatus::NotStarted => "models not retrained".into(),
        ModelsStatus::InProgress => "models still retraining".into(),
        ModelsStatus::Failed => "models' retraining failed".into(),
    }
}

/// When the last retraining of these groups ended (its version's move to ACTIVE), as "at 14:02
/// UTC", with the date when it is not `day` (the receipt's).
fn retrained_when(models: &[GroupModels], day: &str) -> Option<String> {
    let last = models
        .iter()
        .flat_map(|g| &g.retraining)
        .filter_map(|r| r.trained_at.as_deref())
        .max()?;
    let clock = last.get(11..16).filter(|_| last.len() >= 16)?;
    Some(match date(last) {
        d if d == day => format!("at {clock} UTC"),
        d => format!("at {clock} UTC on {d}"),
    })
}

/// The models of every group in a few words: one phrase when they agree. Retrained models say
/// when the last training ended (README: "models retrained at 14:02 UTC").
fn models_phrase(models: &[GroupModels], day: &str) -> Option<String> {
    let mut by: Vec<(String, u64)> = Vec::new();
    for g in models {
        let w = models_word(g);
        match by.iter_mut().find(|(x, _)| *x == w) {
            Some((_, n)) => *n += 1,
            None => by.push((w, 1)),
        }
    }
    match by.as_slice() {
        [] => None,
        [(w, _)] if models.iter().all(|g| g.status == ModelsStatus::Retrained) => {
            Some(match retrained_when(models, day) {
                Some(when) => format!("{w} {when}"),
                None => w.clone(),
            })
        }
        [(w, _)] => Some(w.clone()),
        many => Some(
            many.iter()
                .map(|(w, n)| format!("{w} in {}", count(*n, "group", "groups")))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

fn personalize_phrase(r: &Receipt) -> Option<String> {
    if r.personalize.is_empty() {
        return None;
    }
    let n = groups(&r.personalize).len() as u64;
    let mut parts = Vec::new();
    let reported: Vec<i64> = r.personalize.iter().filter_map(|j| j.num_deleted).collect();
    if reported.is_empty() {
        parts.push("no records reported deleted".to_string());
    } else {
        let records = reported.iter().map(|n| (*n).max(0) as u64).sum();
        parts.push(count(records, "record", "records"));
    }
    let open: Vec<&PersonalizeEntry> = r
        .personalize
        .iter()
        .filter(|j| j.status != JobState::Completed)
        .collect();
    if !open.is_empty() {
        let mut statuses: Vec<&str> = open.iter().map(|j| j.status.as_str()).collect();
        statuses.dedup();
        parts.push(format!(
            "{} of {} not completed ({})",
            num(open.len() as u64),
            count(r.personalize.len() as u64, "deletion job", "deletion jobs"),
            statuses.join(", ")
        ));
    }
    parts.extend(models_phrase(&r.personalize_models, date(&r.finished_at)));
    Some(format!(
        "{} ({})",
        count(n, "Personalize dataset group", "Personalize dataset groups"),
        parts.join("; ")
    ))
}

fn failed_part(failed: u64, unusable: Option<&str>, n_targets: usize) -> Option<String> {
    match (failed, unusable) {
        (0, _) => None,
        (_, Some(why)) if n_targets == 1 => Some(format!("could not be used: {why}")),
        (f, _) => Some(format!("{} failed", count(f, "user", "users"))),
    }
}

fn pinpoint_phrase(entries: &[PinpointEntry]) -> Option<String> {
    if entries.is_empty() {
        return None;
    }
    let sum = |f: fn(&PinpointEntry) -> u64| entries.iter().map(f).sum::<u64>();
    let mut parts = vec![count(sum(|e| e.endpoints_deleted), "endpoint", "endpoints")];
    let none = sum(|e| e.users_without_endpoints);
    if none > 0 {
        parts.push(format!("{} none", count(none, "user had", "users had")));
    }
    let unusable = entries.iter().find_map(|e| e.unusable.as_deref());
    parts.extend(failed_part(
        sum(|e| e.failed_users),
        unusable,
        entries.len(),
    ));
    Some(format!(
        "{} ({})",
        count(
            entries.len() as u64,
            "Pinpoint application",
            "Pinpoint applications"
        ),
        parts.join("; ")
    ))
}

fn profiles_phrase(entries: &[CustomerProfilesEntry]) -> Option<String> {
    if entries.is_empty() {
        return None;
    }
    let sum = |f: fn(&CustomerProfilesEntry) -> u64| entries.iter().map(f).sum::<u64>();
    let mut parts = vec![count(sum(|e| e.profiles_deleted), "profile", "profiles")];
    let none = sum(|e| e.users_without_profile);
    if none > 0 {
        parts.push(format!("{} none", count(none, "user had", "users had")));
    }
    let unusable = entries.iter().find_map(|e| e.unusable.as_deref());
    parts.extend(failed_part(
        sum(|e| e.failed_users),
        unusable,
        entries.len(),
    ));
    let back = sum(|e| e.reappeared);
    if back > 0 {
        parts.push(format!(
            "{} back",
            count(back, "user's profiles came", "users' profiles came")
        ));
    }
    Some(format!(
        "{} ({})",
        count(
            entries.len() as u64,
            "Customer Profiles domain",
            "Customer Profiles domains"
        ),
        parts.join("; ")
    ))
}

/// Every destination the receipt reports on, in a few words each.
fn reach(r: &Receipt) -> String {
    let parts: Vec<String> = [
        personalize_phrase(r),
        pinpoint_phrase(&r.pinpoint),
        profiles_phrase(&r.customer_profiles),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "no destination".into()
    } else {
        list(&parts)
    }
}

fn nothing_recorded_deleted(r: &Receipt) -> bool {
    r.personalize
        .iter()
        .all(|j| j.num_deleted.unwrap_or(0) <= 0)
        && r.pinpoint.iter().all(|e| e.endpoints_deleted == 0)
        && r.customer_profiles.iter().all(|e| e.profiles_deleted == 0)
}

fn plan_phrases(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if !plan.personalize.is_empty() {
        let jobs = plan.personalize.iter().map(|g| g.deletion_jobs).sum();
        let mut parts = vec![count(jobs, "deletion job", "deletion jobs")];
        let retrained: Vec<_> = plan
            .personalize
            .iter()
            .filter(|g| g.retrain_after_deletion == RetrainMode::Full)
            .collect();
        let solutions: u64 = retrained.iter().map(|g| g.solutions.len() as u64).sum();
        if solutions > 0 {
            let mut s = count(solutions, "solution to retrain", "solutions to retrain");
            let est: Vec<f64> = retrained
                .iter()
                .filter_map(|g| g.estimated_training_hours.map(|h| h.0))
                .collect();
            if !est.is_empty() {
                let h: f64 = est.iter().sum();
                s.push_str(&format!(
                    ", about {} training {}",
                    hours(h),
                    if h == 1.0 { "hour" } else { "hours" }
                ));
            }
            parts.push(s);
        }
        if plan
            .personalize
            .iter()
            .any(|g| g.retrain_after_deletion == RetrainMode::None)
        {
            parts.push("models not retrained as configured".into());
        }
        let running: u64 = plan
            .personalize
            .iter()
            .map(|g| g.running_now.len() as u64)
            .sum();
        if running > 0 {
            parts.push(format!(
                "{} now would be waited for",
                count(running, "job running", "jobs running")
            ));
        }
        let unread = plan
            .personalize
            .iter()
            .filter(|g| g.error.is_some())
            .count() as u64;
        if unread > 0 {
            parts.push(format!("{} could not be read", num(unread)));
        }
        out.push(format!(
            "{} ({})",
            count(
                plan.personalize.len() as u64,
                "Personalize dataset group",
                "Personalize dataset groups"
            ),
            parts.join("; ")
        ));
    }
    if !plan.pinpoint.is_empty() {
        let with: u64 = plan.pinpoint.iter().map(|p| p.users_with_endpoints).sum();
        let endpoints: u64 = plan.pinpoint.iter().map(|p| p.endpoints).sum();
        let mut parts = vec![
            format!("{} endpoints", count(with, "user with", "users with")),
            count(endpoints, "endpoint", "endpoints"),
        ];
        let unchecked: u64 = plan.pinpoint.iter().map(|p| p.users_not_checked).sum();
        if unchecked > 0 {
            parts.push(format!("{} not checked", count(unchecked, "user", "users")));
        }
        out.push(format!(
            "{} ({})",
            count(
                plan.pinpoint.len() as u64,
                "Pinpoint application",
                "Pinpoint applications"
            ),
            parts.join("; ")
        ));
    }
    if !plan.customer_profiles.is_empty() {
        let with: u64 = plan
            .customer_profiles
            .iter()
            .map(|p| p.users_with_profiles)
            .sum();
        let profiles: u64 = plan.customer_profiles.iter().map(|p| p.profiles).sum();
        let mut parts = vec![
            format!("{} profiles", count(with, "user with", "users with")),
            count(profiles, "profile", "profiles"),
        ];
        let unchecked: u64 = plan
            .customer_profiles
            .iter()
            .map(|p| p.users_not_checked)
            .sum();
        if unchecked > 0 {
            parts.push(format!("{} not checked", count(unchecked, "user", "users")));
        }
        out.push(format!(
            "{} ({})",
            count(
                plan.customer_profiles.len() as u64,
                "Customer Profiles domain",
                "Customer Profiles domains"
            ),
            parts.join("; ")
        ));
    }
    out
}

fn request_counts(r: &Receipt) -> String {
    let q = &r.request;
    let mut parts = vec![count(q.rows, "row", "rows")];
    if q.duplicates > 0 {
        parts.push(count(q.duplicates, "duplicate", "duplicates"));
    }
    if q.rejected_rows > 0 {
        parts.push(count(q.rejected_rows, "rejected row", "rejected rows"));
    }
    format!("The request file was {} ({}).", q.key, parts.join(", "))
}

fn row_problems(r: &Receipt) -> Option<String> {
    let q = &r.request;
    if q.rejections.is_empty() {
        return None;
    }
    const SHOWN: usize = 10;
    let mut lines: Vec<String> = q
        .rejections
        .iter()
        .take(SHOWN)
        .map(|x| format!("line {} ({})", num(x.line), x.problem.describe()))
        .collect();
    let more = q.rejected_rows.saturating_sub(lines.len() as u64);
    if more > 0 {
        lines.push(count(more, "more row", "more rows"));
    }
    Some(format!(
        "{} rejected: {}.",
        count(q.rejected_rows, "row was", "rows were"),
        list(&lines)
    ))
}

fn summary(r: &Receipt) -> Vec<String> {
    let n = r.request.valid_users;
    let users = count(n, "user", "users");
    let were = if n == 1 { "was" } else { "were" };
    let on = date(&r.finished_at);
    let mut s = Vec::new();
    match r.outcome {
        Outcome::Completed => {
            s.push(format!("{users} {were} erased on {on} from {}.", reach(r)));
            s.push("Nothing failed.".into());
        }
        Outcome::Partial => {
            s.push(format!(
                "{users} {were} to be erased on {on}; the erasure was only partly done (PARTIAL)."
            ));
            s.push(format!("Erased from {}.", reach(r)));
        }
        Outcome::Failed => {
            s.push(format!(
                "{users} {were} to be erased on {on}, and the erasure FAILED."
            ));
            if r.personalize.is_empty() && r.pinpoint.is_empty() && r.customer_profiles.is_empty() {
                s.push(sentence(
                    r.reason.as_deref().unwrap_or("no reason recorded"),
                ));
            } else {
                s.push(format!("Recorded before it ended: {}.", reach(r)));
            }
            if nothing_recorded_deleted(r) {
                s.push("No deletion was recorded.".into());
            }
        }
        Outcome::Aborted => {
            s.push(format!(
                "{users} {were} to be erased on {on}; an operator stopped the erasure before it ended (ABORTED)."
            ));
            s.push(format!("Done up to then: {}.", reach(r)));
            if nothing_recorded_deleted(r) {
                s.push("No deletion was recorded.".into());
            }
        }
        Outcome::Rejected => {
            let why = r.reason.as_deref().unwrap_or("no reason recorded");
            let code = r
                .request
                .rejection_code
                .as_deref()
                .map(|c| format!(" (code {c})"))
                .unwrap_or_default();
            s.push(format!(
                "The request file {} was rejected on {on}, and nothing was deleted: {}{code}.",
                r.request.key,
                why.trim_end_matches('.')
            ));
            s.extend(row_problems(r));
        }
        Outcome::Planned => {
            s.push(format!(
                "This is a preview made on {on}: nothing was deleted."
            ));
            let phrases = r.plan.as_ref().map(plan_phrases).unwrap_or_default();
            let touch = if phrases.is_empty() {
                "no destination".to_string()
            } else {
                list(&phrases)
            };
            s.push(format!(
                "Erasing the {users} of {} would touch {touch}.",
                r.request.key
            ));
            if let Some(end) = r.plan.as_ref().and_then(|p| p.latest_end.as_deref()) {
                s.push(format!(
                    "Uploaded under the request prefix when the plan was made, the erasure would have ended by {end} at the latest."
                ));
            }
            if let Some(why) = &r.reason {
                s.push(sentence(why));
            }
        }
    }
    if !matches!(r.outcome, Outcome::Rejected) {
        s.push(request_counts(r));
    }
    if let Some(by) = &r.ordered_by {
        s.push(sentence(&ordered_by_line(by)));
    }
    if let Some(p) = &r.preceded_by {
        s.push(format!(
            "It was previewed first: the plan {} of {}.",
            p.plan_receipt, p.planned_at
        ));
    }
    if let (Some(at), Some(due)) = (&r.received_at, &r.respond_by) {
        s.push(format!(
            "Received {}; under {} it must be answered by {} (extendable to {}).",
            at.get(..10).unwrap_or(at),
            due.regime,
            due.due,
            due.extendable_to
        ));
    }
    s
}

/// What a failure's words call for: `fix the access`, ... (None: nothing specific).
fn hint(words: &str) -> Option<&'static str> {
    let w = words.to_lowercase();
    if [
        "access denied",
        "accessdenied",
        "forbidden",
        "not authorized",
    ]
    .iter()
    .any(|k| w.contains(k))
    {
        Some("fix the access")
    } else if w.contains("not found") || w.contains("does not exist") {
        Some("make sure the destination exists (or take it out of the deployment's configuration)")
    } else if w.contains("throttl")
        || w.contains("too many requests")
        || w.contains("rate exceeded")
    {
        Some("wait for the throttling to pass")
    } else {
        None
    }
}

/// What a failure calls for: its specific hint, else `fix the cause`.
fn cause(words: &str) -> Option<&'static str> {
    hint(words).or(Some("fix the cause"))
}

fn job_problem(j: &PersonalizeEntry) -> (String, Option<&'static str>) {
    let what = format!(
        "The Personalize deletion job of dataset group {}, part {} ({})",
        j.dataset_group_arn,
        j.part,
        count(j.users, "user", "users")
    );
    let why = j.failure_reason.as_deref().unwrap_or("no reason recorded");
    match j.status {
        JobState::WaitExceeded => (
            format!("{what} was still running when the workflow stopped waiting."),
            Some("wait for the job to end (a retry finds it by its name)"),
        ),
        JobState::NotCreated => (format!("{what} could not be created: {why}."), cause(why)),
        JobState::Pending | JobState::InProgress => (
            format!(
                "{what} had not ended ({}) when the erasure stopped.",
                j.status
            ),
            None,
        ),
        JobState::Unknown => (format!("{what} was never seen to end: {why}."), cause(why)),
        _ => (format!("{what} {}: {why}.", j.status), cause(why)),
    }
}

/// What went wrong, one sentence each, with what each calls for.
fn problems(r: &Receipt) -> Vec<(String, Vec<&'static str>)> {
    let mut out = Vec::new();
    if r.outcome == Outcome::Aborted {
        out.push((
            "An operator stopped the execution before it ended.".to_string(),
            vec![],
        ));
    }
    const SHOWN: usize = 5;
    let open: Vec<&PersonalizeEntry> = r
        .personalize
        .iter()
        .filter(|j| j.status != JobState::Completed)
        .collect();
    out.extend(open.iter().take(SHOWN).map(|j| {
        let (p, h) = job_problem(j);
        (p, h.into_iter().collect())
    }));
    if open.len() > SHOWN {
        out.push((
            format!(
                "{} did not complete either (see the table).",
                count(
                    (open.len() - SHOWN) as u64,
                    "more deletion job",
                    "more deletion jobs"
                )
            ),
            vec![],
        ));
    }
    let valid = r.request.valid_users;
    let targets = r
        .pinpoint
        .iter()
        .map(|e| {
            (
                format!("Pinpoint application {}", e.application_id),
                "endpoints",
                e.users_processed,
                e.failed_users,
                &e.failure_reasons,
                e.unusable.as_deref(),
                0,
            )
        })
        .chain(r.customer_profiles.iter().map(|e| {
            (
                format!("Customer Profiles domain {}", e.domain_name),
                "profiles",
                e.users_processed,
                e.failed_users,
                &e.failure_reasons,
                e.unusable.as_deref(),
                e.reappeared,
            )
        }));
    for (what, items, processed, failed, reasons, unusable, back) in targets {
        if let (Some(why), true) = (unusable, failed > 0) {
            out.push((
                format!(
                    "{what} could not be used ({why}): the {items} of {} there were not deleted.",
                    count(failed, "user", "users")
                ),
                cause(why).into_iter().collect(),
            ));
        } else if failed > 0 {
            let words = reasons_words(reasons, failed);
            // What each reason calls for (a reason of its own for each).
            let mut hints: Vec<&'static str> =
                reasons.keys().filter_map(|why| cause(why)).collect();
            if hints.is_empty() {
                hints.extend(cause(&words));
            }
            out.push((
                format!(
                    "{} could not be erased from {what} ({words}).",
                    count(failed, "user", "users")
                ),
                hints,
            ));
        }
        if back > 0 {
            out.push((
                format!(
                    "Of those, {} {} came back after deletion.",
                    count(back, "user's", "users'"),
                    items
                ),
                vec!["find what creates them again (an integration or import) and stop it"],
            ));
        }
        if processed < valid {
            out.push((
                format!(
                    "{what} handled only {} of {}.",
                    num(processed),
                    count(valid, "user", "users")
                ),
                vec![],
            ));
        }
    }
    for g in &r.personalize_models {
        let job_failed = open
            .iter()
            .any(|j| j.dataset_group_arn == g.dataset_group_arn);
        let why = g.reason.as_deref().unwrap_or("no reason recorded");
        let not_retrained = match g.status {
            ModelsStatus::Failed | ModelsStatus::InProgress => true,
            ModelsStatus::NotStarted => !job_failed,
            _ => false,
        };
        if not_retrained {
            out.push((
                format!(
                    "The models of dataset group {} were not retrained: {}.",
                    g.dataset_group_arn,
                    why.trim_end_matches('.')
                ),
                cause(why).into_iter().collect(),
            ));
        }
        let imports = g
            .concurrent_activity
            .iter()
            .chain(g.preflight.iter().flat_map(|p| p.still_running.iter()))
            .filter(|a| code(&a.kind) == "DATASET_IMPORT")
            .count() as u64;
        if imports > 0 {
            out.push((
                format!(
                    "{} on dataset group {} while its deletion job did: deletion from its data and models is not guaranteed.",
                    count(imports, "dataset import job ran", "dataset import jobs ran"),
                    g.dataset_group_arn
                ),
                vec!["let the imports end"],
            ));
        }
    }
    out
}

fn next_step(r: &Receipt, location: &str) -> Option<NextStep> {
    match r.outcome {
        Outcome::Completed => None,
        Outcome::Partial | Outcome::Failed | Outcome::Aborted => {
            let found = problems(r);
            let mut hints: Vec<&str> = Vec::new();
            for h in found.iter().flat_map(|(_, h)| h.iter().copied()) {
                if !hints.contains(&h) {
                    hints.push(h);
                }
            }
            let mut problems: Vec<String> = found.into_iter().map(|(p, _)| p).collect();
            let only_aborted = r.outcome == Outcome::Aborted && problems.len() == 1;
            if problems.is_empty() || only_aborted {
                if let Some(why) = &r.reason {
                    problems.push(format!("The receipt says: {}.", why.trim_end_matches('.')));
                }
            }
            let advice = if !hints.is_empty() {
                format!("{}, then run:", capitalize(&hints.join("; ")))
            } else if r.outcome == Outcome::Aborted {
                "To finish the erasure, run:".to_string()
            } else {
                "Fix the cause, then run:".to_string()
            };
            Some(NextStep {
                problems,
                advice,
                commands: vec![format!("erasure retry --receipt {}", sh_quote(location))],
                after: Some(
                    "The retry starts the request again under a new execution name: users already erased are not asked again, users recorded as failed are tried again, and it writes its own receipt. It needs the stack's StateMachineArn (ERASURE_STATE_MACHINE_ARN or --state-machine-arn); see erasure retry --help."
                        .into(),
                ),
            })
        }
        Outcome::Rejected => {
            let uploader = r.request.rejection_code.as_deref() == Some("UPLOADER_NOT_ALLOWED");
            let name = r.request.key.rsplit('/').next().unwrap_or(&r.request.key);
            let dir = r
                .request
                .key
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default();
            if uploader {
                Some(NextStep {
                    problems: vec![],
                    advice: "Have one of the deployment's named uploader roles (RequestUploaderPrincipalArns) upload the file again; there is nothing to retry.".into(),
                    commands: vec![],
                    after: None,
                })
            } else {
                Some(NextStep {
                    problems: vec![],
                    advice: "Fix the file, check it, and upload it again under the request prefix; there is nothing to retry:".into(),
                    commands: vec![
                        format!("erasure validate {}", sh_quote(name)),
                        format!(
                            "aws s3 cp {} {}",
                            sh_quote(name),
                            sh_quote(&format!("s3://{}/{dir}{name}", r.request.bucket))
                        ),
                    ],
                    after: None,
                })
            }
        }
        Outcome::Planned => {
            let name = r.request.key.rsplit('/').next().unwrap_or(&r.request.key);
            let sha = r
                .plan
                .as_ref()
                .and_then(|p| p.request_sha256.as_deref())
                .or(r.request.sha256.as_deref())
                .map(|s| format!(" (SHA-256 {s})"))
                .unwrap_or_default();
            Some(NextStep {
                problems: vec![],
                advice: format!(
                    "Nothing was deleted. To erase these users, upload the same file{sha} under the request prefix (requests/ by default):"
                ),
                commands: vec![format!(
                    "aws s3 cp {} {}",
                    sh_quote(name),
                    sh_quote(&format!("s3://{}/requests/{name}", r.request.bucket))
                )],
                after: Some("Its receipt will name this plan (precededBy).".into()),
            })
        }
    }
}

fn notes(r: &Receipt) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &r.purge {
        let work = count(p.work_objects_deleted, "work object", "work objects");
        out.push(match p.request_object {
            PurgeAction::Deleted => {
                format!("The uploaded request file was deleted afterwards, with {work}.")
            }
            PurgeAction::Kept => "The request file and its work objects are kept so the request can be retried; the bucket's lifecycle rule expires them.".into(),
            PurgeAction::NotDeleted => format!(
                "The request file could not be deleted ({}); the bucket's lifecycle rule expires it.",
                p.incomplete.as_deref().unwrap_or("no reason recorded")
            ),
            PurgeAction::Pending => "The request file had not been purged yet when this receipt was written; a later version of the receipt says what was deleted.".into(),
        });
        if let (Some(why), PurgeAction::Deleted) = (&p.incomplete, p.request_object) {
            out.push(format!(
                "The purge of the work objects did not finish ({why}); the bucket's lifecycle rule expires what is left."
            ));
        }
    }
    let trackers: Vec<&str> = r
        .personalize_models
        .iter()
        .flat_map(|g| g.event_trackers.iter().map(String::as_str))
        .chain(
            r.plan
                .iter()
                .flat_map(|p| p.personalize.iter())
                .flat_map(|g| g.event_trackers.iter().map(String::as_str)),
        )
        .collect();
    if !trackers.is_empty() {
        out.push(format!(
            "{} the dataset groups: their producers must stop sending these users' events, or the users come back ({}).",
            count(trackers.len() as u64, "event tracker feeds", "event trackers feed"),
            trackers.join(", ")
        ));
    }
    let residue: u64 = r
        .personalize_models
        .iter()
        .map(|g| g.residue.len() as u64 + g.residue_not_described)
        .sum();
    if residue > 0 {
        out.push(format!(
            "{} that Personalize jobs read or wrote may still hold these users; this workflow does not erase them (the receipt's personalizeModels residue lists them).",
            count(residue, "S3 location", "S3 locations")
        ));
    }
    out
}

fn details(r: &Receipt, location: &str) -> Vec<(&'static str, String)> {
    let q = &r.request;
    let mut d = vec![
        ("Outcome", code(&r.outcome)),
        ("Request ID", r.request_id.to_string()),
        ("Execution", r.execution_name.clone()),
        ("Request file", format!("s3://{}/{}", q.bucket, q.key)),
    ];
    if let Some(v) = &q.version_id {
        d.push(("Version read", v.clone()));
    }
    d.push(("ETag", q.etag.clone()));
    if let Some(s) = &q.sha256 {
        d.push(("SHA-256", s.clone()));
    }
    d.push((
        "Users",
        format!(
            "{} valid of {} ({}, {} rejected)",
            num(q.valid_users),
            count(q.rows, "row", "rows"),
            count(q.duplicates, "duplicate", "duplicates"),
            num(q.rejected_rows)
        ),
    ));
    if let Some(a) = &r.account {
        d.push(("Account", a.clone()));
    }
    if let Some(g) = &r.region {
        d.push(("Region", g.clone()));
    }
    if let Some(at) = &r.received_at {
        d.push(("Received", at.clone()));
    }
    if let Some(due) = &r.respond_by {
        d.push((
            "Respond by",
            format!(
                "{} ({}; extendable to {})",
                due.due, due.regime, due.extendable_to
            ),
        ));
    }
    d.push(("Started", r.started_at.clone()));
    d.push(("Finished", r.finished_at.clone()));
    d.push(("Receipt", location.to_string()));
    if let Some(e) = &r.evidence {
        if let Some(f) = &e.user_index {
            d.push((
                "User index",
                format!(
                    "s3://{}/{} ({}, SHA-256 {})",
                    f.bucket,
                    f.key,
                    count(f.rows, "hash", "hashes"),
                    f.sha256
                ),
            ));
        }
        if let Some(f) = &e.failed_users {
            d.push((
                "Failed users",
                format!(
                    "s3://{}/{} ({}, SHA-256 {})",
                    f.bucket,
                    f.key,
                    count(f.rows, "row", "rows"),
                    f.sha256
                ),
            ));
        }
    }
    d
}

fn tables(r: &Receipt) -> Vec<Table> {
    let mut t = Vec::new();
    if !r.request.rejections.is_empty() {
        t.push(Table {
            id: "rejections",
            title: "Rejected rows",
            headers: vec!["Line", "Problem", "Meaning"],
            numeric: vec![true, false, false],
            rows: r
                .request
                .rejections
                .iter()
                .map(|x| {
                    vec![
                        num(x.line),
                        code(&x.problem),
                        x.problem.describe().to_string(),
                    ]
                })
                .collect(),
        });
    }
    if !r.personalize.is_empty() {
        t.push(Table {
            id: "personalize",
            title: "Personalize deletion jobs",
            headers: vec![
                "Dataset group",
                "Part",
                "Users",
                "Status",
                "Records deleted",
                "Job",
                "Failure reason",
            ],
            numeric: vec![false, true, true, false, true, false, false],
            rows: r
                .personalize
                .iter()
                .map(|j| {
                    vec![
                        j.dataset_group_arn.clone(),
                        num(u64::from(j.part)),
                        num(j.users),
                        j.status.to_string(),
                        j.num_deleted
                            .map(|n| if n < 0 { n.to_string() } else { num(n as u64) })
                            .unwrap_or_else(|| "-".into()),
                        // The name is short and unique in the account and Region (the
                        // ARN is its prefix and it).
                        j.job_name
                            .clone()
                            .or_else(|| j.job_arn.clone())
                            .unwrap_or_else(|| "not created".into()),
                        opt(j.failure_reason.as_deref()),
                    ]
                })
                .collect(),
        });
    }
    if !r.personalize_models.is_empty() {
        t.push(Table {
            id: "personalizeModels",
            title: "Personalize models (retraining)",
            headers: vec![
                "Dataset group",
                "Retrain",
                "Status",
                "Solutions retrained",
                "Campaigns moved",
                "Recommenders",
                "Event trackers",
                "Residue locations",
                "Reason",
            ],
            numeric: vec![false, false, false, false, false, true, true, true, false],
            rows: r
                .personalize_models
                .iter()
                .map(|g| {
                    let trained = g.retraining.iter().filter(|x| x.status == "ACTIVE").count();
                    let campaigns: Vec<_> =
                        g.retraining.iter().flat_map(|x| &x.campaigns).collect();
                    let moved = campaigns
                        .iter()
                        .filter(|c| matches!(c.status.as_str(), "ACTIVE" | "SYNCS_WITH_LATEST"))
                        .count();
                    vec![
                        g.dataset_group_arn.clone(),
                        code(&g.retrain_after_deletion),
                        code(&g.status),
                        format!(
                            "{} of {}",
                            num(trained as u64),
                            num(g.retraining.len() as u64)
                        ),
                        format!("{} of {}", num(moved as u64), num(campaigns.len() as u64)),
                        num(g.recommenders.len() as u64),
                        num(g.event_trackers.len() as u64),
                        num(g.residue.len() as u64 + g.residue_not_described),
                        opt(g.reason.as_deref()),
                    ]
                })
                .collect(),
        });
    }
    if !r.pinpoint.is_empty() {
        t.push(Table {
            id: "pinpoint",
            title: "Pinpoint applications",
            headers: vec![
                "Application",
                "Users",
                "Endpoints deleted",
                "Users without endpoints",
                "Failed users",
                "Failure reasons",
                "Unusable",
            ],
            numeric: vec![false, true, true, true, true, false, false],
            rows: r
                .pinpoint
                .iter()
                .map(|e| {
                    vec![
                        e.application_id.clone(),
                        num(e.users_processed),
                        num(e.endpoints_deleted),
                        num(e.users_without_endpoints),
                        num(e.failed_users),
                        reasons_cell(&e.failure_reasons),
                        opt(e.unusable.as_deref()),
                    ]
                })
                .collect(),
        });
    }
    if !r.customer_profiles.is_empty() {
        t.push(Table {
            id: "customerProfiles",
            title: "Customer Profiles domains",
            headers: vec![
                "Domain",
                "Search key",
                "Users",
                "Profiles deleted",
                "Users without profile",
                "Failed users",
                "Verified absent",
                "Reappeared",
                "Failure reasons",
                "Unusable",
            ],
            numeric: vec![
                false, false, true, true, true, true, true, true, false, false,
            ],
            rows: r
                .customer_profiles
                .iter()
                .map(|e| {
                    vec![
                        e.domain_name.clone(),
                        opt(Some(&e.search_key)),
                        num(e.users_processed),
                        num(e.profiles_deleted),
                        num(e.users_without_profile),
                        num(e.failed_users),
                        num(e.verified_absent),
                        num(e.reappeared),
                        reasons_cell(&e.failure_reasons),
                        opt(e.unusable.as_deref()),
                    ]
                })
                .collect(),
        });
    }
    if let Some(plan) = &r.plan {
        if !plan.personalize.is_empty() {
            t.push(Table {
                id: "planPersonalize",
                title: "Plan: Personalize dataset groups",
                headers: vec![
                    "Dataset group",
                    "Deletion jobs",
                    "Users",
                    "Retrain",
                    "Solutions",
                    "Campaigns",
                    "Est. training hours",
                    "Running now",
                    "Event trackers",
                    "Error",
                ],
                numeric: vec![
                    false, true, true, false, true, true, true, true, true, false,
                ],
                rows: plan
                    .personalize
                    .iter()
                    .map(|g| {
                        vec![
                            g.dataset_group_arn.clone(),
                            num(g.deletion_jobs),
                            num(g.users),
                            code(&g.retrain_after_deletion),
                            num(g.solutions.len() as u64),
                            num(g.solutions.iter().map(|s| s.campaigns.len() as u64).sum()),
                            g.estimated_training_hours
                                .map(|h| hours(h.0))
                                .unwrap_or_else(|| "-".into()),
                            num(g.running_now.len() as u64),
                            num(g.event_trackers.len() as u64),
                            opt(g.error.as_deref()),
                        ]
                    })
                    .collect(),
            });
        }
        if !plan.pinpoint.is_empty() {
            t.push(Table {
                id: "planPinpoint",
                title: "Plan: Pinpoint applications",
                headers: vec![
                    "Application",
                    "Users checked",
                    "Users with endpoints",
                    "Endpoints",
                    "Users not checked",
                    "Failure reasons",
                    "Unusable",
                ],
                numeric: vec![false, true, true, true, true, false, false],
                rows: plan
                    .pinpoint
                    .iter()
                    .map(|p| {
                        vec![
                            p.application_id.clone(),
                            num(p.users_checked),
                            num(p.users_with_endpoints),
                            num(p.endpoints),
                            num(p.users_not_checked),
                            reasons_cell(&p.failure_reasons),
                            opt(p.unusable.as_deref()),
                        ]
                    })
                    .collect(),
            });
        }
        if !plan.customer_profiles.is_empty() {
            t.push(Table {
                id: "planCustomerProfiles",
                title: "Plan: Customer Profiles domains",
                headers: vec![
                    "Domain",
                    "Search key",
                    "Users checked",
                    "Users with profiles",
                    "Profiles",
                    "Users not checked",
                    "Failure reasons",
                    "Unusable",
                ],
                numeric: vec![false, false, true, true, true, true, false, false],
                rows: plan
                    .customer_profiles
                    .iter()
                    .map(|p| {
                        vec![
                            p.domain_name.clone(),
                            opt(Some(&p.search_key)),
                            num(p.users_checked),
                            num(p.users_with_profiles),
                            num(p.profiles),
                            num(p.users_not_checked),
                            reasons_cell(&p.failure_reasons),
                            opt(p.unusable.as_deref()),
                        ]
                    })
                    .collect(),
            });
        }
    }
    t
}

impl Report {
    /// The report of a receipt found at `location` (its `s3://` address, for the retry command).
    pub fn of(r: &Receipt, location: &str) -> Report {
        let outcome = match r.outcome {
            Outcome::Completed => "COMPLETED",
            Outcome::Partial => "PARTIAL",
            Outcome::Failed => "FAILED",
            Outcome::Rejected => "REJECTED",
            Outcome::Aborted => "ABORTED",
            Outcome::Planned => "PLANNED",
        };
        let title = if r.outcome == Outcome::Planned {
            format!("Erasure plan (a preview): {}", r.request.key)
        } else {
            format!("Erasure receipt: {outcome}, {}", r.request.key)
        };
        Report {
            outcome,
            title,
            summary: summary(r),
            next: next_step(r, location),
            notes: notes(r),
            details: details(r, location),
            tables: tables(r),
        }
    }
}
