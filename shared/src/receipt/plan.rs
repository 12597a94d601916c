//! The plan receipt's account: what erasing the same file would touch, read without changing
//! anything. Counts, ARNs and estimates only, never a user ID.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::models::{ActivityEntry, Hours, RetrainMode};
use super::{CustomerProfilesEntry, PinpointEntry};

/// What erasing the request's users would touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Every dataset group: the deletion jobs that would be created and the models retrained.
    #[serde(default)]
    pub personalize: Vec<GroupPlan>,
    /// Every Pinpoint application: the users with endpoints, and how many endpoints.
    #[serde(default)]
    pub pinpoint: Vec<PinpointPlan>,
    /// Every Customer Profiles domain: the users with profiles, and how many profiles.
    #[serde(default)]
    pub customer_profiles: Vec<ProfilesPlan>,
    /// The latest the workflow would end if the file were uploaded under the request prefix
    /// when the plan was made: the longest quiet-group wait (when something runs now), the
    /// longest deletion-job wait, and the longest retraining wait, after now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_end: Option<String>,
    /// The file to upload under the request prefix to run this plan: its SHA-256 ties the two
    /// (the real receipt names this plan as `precededBy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sha256: Option<String>,
}

/// One dataset group, as it stands now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    /// The dataset group.
    pub dataset_group_arn: String,
    /// Deletion jobs that would be created in it: one per part.
    pub deletion_jobs: u64,
    /// Users the jobs would list.
    pub users: u64,
    /// Whether the models would be retrained (`RetrainAfterDeletion`).
    pub retrain_after_deletion: RetrainMode,
    /// Every custom solution: the version a retraining would replace, and its campaigns.
    #[serde(default)]
    pub solutions: Vec<SolutionPlan>,
    /// Recommenders (they retrain by themselves, within 7 days).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommenders: Vec<String>,
    /// Imports, trainings and batch jobs running now: with QuiescePolicy=wait the erasure would
    /// wait for them before its jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_now: Vec<ActivityEntry>,
    /// Event trackers feeding the group (new events for the users would come back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_trackers: Vec<String>,
    /// The sum of the solutions' last training hours: the estimate of the retraining's cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_training_hours: Option<Hours>,
    /// Why the group could not be read, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One solution that would be retrained.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SolutionPlan {
    /// The solution.
    pub solution_arn: String,
    /// Its newest ACTIVE version (what a retraining's estimate is taken from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_version_arn: Option<String>,
    /// That version's training hours: the estimate of a new FULL training's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_training_hours: Option<Hours>,
    /// The campaigns that would be moved to the new version.
    #[serde(default)]
    pub campaigns: Vec<String>,
}

/// One Pinpoint application, as GetUserEndpoints answered for each user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinpointPlan {
    /// The application.
    pub application_id: String,
    /// Users asked about.
    pub users_checked: u64,
    /// Users with at least one endpoint.
    pub users_with_endpoints: u64,
    /// Endpoints that erasing would delete.
    pub endpoints: u64,
    /// Users who could not be checked (the counts are lower bounds when not 0).
    pub users_not_checked: u64,
    /// Why, by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, u64>,
    /// Why the application could not be read at all, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

/// One Customer Profiles domain, as SearchProfiles answered for each user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfilesPlan {
    /// The domain.
    pub domain_name: String,
    /// The key searched for each user ID.
    pub search_key: String,
    /// Users searched for.
    pub users_checked: u64,
    /// Users with at least one profile.
    pub users_with_profiles: u64,
    /// Profiles that erasing would delete.
    pub profiles: u64,
    /// Users who could not be checked (the counts are lower bounds when not 0).
    pub users_not_checked: u64,
    /// Why, by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_reasons: BTreeMap<String, u64>,
    /// Why the domain could not be read at all, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

impl From<&PinpointEntry> for PinpointPlan {
    /// The shard loop counts a plan's answers as it counts an erasure's: what it would delete
    /// as deleted. Here they get the names a plan means.
    fn from(e: &PinpointEntry) -> Self {
        PinpointPlan {
            application_id: e.application_id.clone(),
            users_checked: e.users_processed,
            users_with_endpoints: e
                .users_processed
                .saturating_sub(e.users_without_endpoints + e.failed_users),
            endpoints: e.endpoints_deleted,
            users_not_checked: e.failed_users,
            failure_reasons: e.failure_reasons.clone(),
            unusable: e.unusable.clone(),
        }
    }
}

impl From<&CustomerProfilesEntry> for ProfilesPlan {
    fn from(e: &CustomerProfilesEntry) -> Self {
        ProfilesPlan {
            domain_name: e.domain_name.clone(),
            search_key: e.search_key.clone(),
            users_checked: e.users_processed,
            users_with_profiles: e
                .users_processed
                .saturating_sub(e.users_without_profile + e.failed_users),
            profiles: e.profiles_deleted,
            users_not_checked: e.failed_users,
            failure_reasons: e.failure_reasons.clone(),
            unusable: e.unusable.clone(),
        }
    }
}

/// The plan's models record: what the models step's `plan` action found per dataset group
/// (the request's `personalize/plan.json` work object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalizePlan {
    /// One entry per dataset group.
    pub groups: Vec<GroupPlan>,
    /// See [`Plan::latest_end`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_end: Option<String>,
}

/// Why a plan's counts are not complete, for the receipt's reason (None when they are).
pub fn shortfalls(plan: &Plan) -> Option<String> {
    let mut why = Vec::new();
    for p in &plan.pinpoint {
        if p.users_not_checked > 0 {
            why.push(format!(
                "{} user(s) could not be checked in Pinpoint application {}",
                p.users_not_checked, p.application_id
            ));
        }
    }
    for p in &plan.customer_profiles {
        if p.users_not_checked > 0 {
            why.push(format!(
                "{} user(s) could not be checked in Customer Profiles domain {}",
                p.users_not_checked, p.domain_name
            ));
        }
    }
    for g in &plan.personalize {
        if let Some(e) = &g.error {
            why.push(format!(
                "dataset group {} could not be read: {e}",
                g.dataset_group_arn
            ));
        }
    }
    (!why.is_empty()).then(|| {
        format!(
            "{}; the plan's counts are lower bounds (nothing was deleted)",
            why.join("; ")
        )
    })
}

/// Who ordered a request, for people: `ordered by <role ARN or unique ID> (<kind>…) at <time>,
/// object version <v>`.
pub fn ordered_by_line(by: &crate::payload::OrderedBy) -> String {
    use crate::payload::PrincipalKind;
    let who = match (&by.role_arn, by.kind) {
        (Some(arn), _) => format!("role {arn} (RoleId {})", by.unique_id),
        (None, PrincipalKind::RoleSession) => {
            format!("a session of the role with RoleId {}", by.unique_id)
        }
        (None, PrincipalKind::IamUser) => format!("the IAM user with UserId {}", by.unique_id),
        (None, PrincipalKind::Other) if by.unique_id.is_empty() => {
            "an uploader the S3 event did not name".into()
        }
        (None, PrincipalKind::Other) => format!("principal {}", by.unique_id),
    };
    let mut line = format!("ordered by {who}");
    if let Some(s) = &by.session_name {
        line.push_str(&format!(", session {s}"));
    }
    if let Some(t) = &by.uploaded_at {
        line.push_str(&format!(", uploaded at {t}"));
    }
    if let Some(v) = &by.object_version {
        line.push_str(&format!(", object version {v}"));
    }
    match by.allowed {
        Some(true) => line.push_str("; a named uploader"),
        Some(false) => line.push_str("; NOT a named uploader (the request was refused)"),
        None => {}
    }
    line
}

/// The plan's totals, for people: one line per destination.
pub fn plan_lines(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for g in &plan.personalize {
        let mut l = format!(
            "plan personalize {}: {} deletion job(s) for {} user(s)",
            g.dataset_group_arn, g.deletion_jobs, g.users
        );
        let campaigns: usize = g.solutions.iter().map(|s| s.campaigns.len()).sum();
        if g.retrain_after_deletion == RetrainMode::Full && !g.solutions.is_empty() {
            l.push_str(&format!(
                ", then {} solution(s) retrained and {campaigns} campaign(s) moved",
                g.solutions.len()
            ));
            if let Some(h) = g.estimated_training_hours {
                l.push_str(&format!(" (about {} training hours)", h.0));
            }
        }
        if !g.running_now.is_empty() {
            l.push_str(&format!(
                "; {} job(s) running now would be waited for",
                g.running_now.len()
            ));
        }
        if let Some(e) = &g.error {
            l.push_str(&format!("; NOT READ: {e}"));
        }
        out.push(l);
    }
    for p in &plan.pinpoint {
        out.push(format!(
            "plan pinpoint {}: {} of {} user(s) have endpoints, {} endpoint(s) would be deleted{}",
            p.application_id,
            p.users_with_endpoints,
            p.users_checked,
            p.endpoints,
            not_checked(p.users_not_checked)
        ));
    }
    for p in &plan.customer_profiles {
        out.push(format!(
            "plan customer profiles {}: {} of {} user(s) have profiles, {} profile(s) would be deleted{}",
            p.domain_name,
            p.users_with_profiles,
            p.users_checked,
            p.profiles,
            not_checked(p.users_not_checked)
        ));
    }
    if let Some(end) = &plan.latest_end {
        out.push(format!(
            "plan: if uploaded now, the erasure would end by {end} at the latest"
        ));
    }
    out
}

fn not_checked(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} user(s) could not be checked)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{OrderedBy, PrincipalKind};

    #[test]
    fn a_plan_reads_as_counts_per_destination() {
        let plan = Plan {
            personalize: vec![GroupPlan {
                dataset_group_arn: "dsg".into(),
                deletion_jobs: 2,
                users: 500,
                retrain_after_deletion: RetrainMode::Full,
                solutions: vec![SolutionPlan {
                    solution_arn: "sol".into(),
                    campaigns: vec!["c".into()],
                    last_training_hours: Some(Hours(1.5)),
                    ..SolutionPlan::default()
                }],
                estimated_training_hours: Some(Hours(1.5)),
                ..GroupPlan::default()
            }],
            pinpoint: vec![PinpointPlan::from(&PinpointEntry {
                application_id: "app".into(),
                users_processed: 500,
                endpoints_deleted: 998,
                users_without_endpoints: 1,
                failed_users: 2,
                ..PinpointEntry::default()
            })],
            ..Plan::default()
        };
        assert_eq!(plan.pinpoint[0].users_with_endpoints, 497);
        let lines = plan_lines(&plan);
        assert_eq!(
            lines[0],
            "plan personalize dsg: 2 deletion job(s) for 500 user(s), then 1 solution(s) retrained and 1 campaign(s) moved (about 1.5 training hours)"
        );
        assert_eq!(
            lines[1],
            "plan pinpoint app: 497 of 500 user(s) have endpoints, 998 endpoint(s) would be deleted (2 user(s) could not be checked)"
        );
        assert!(shortfalls(&plan)
            .unwrap()
            .contains("2 user(s) could not be checked"));
    }

    #[test]
    fn the_orderer_reads_by_role_when_known() {
        let mut by = OrderedBy {
            unique_id: "AROAEXAMPLE1".into(),
            kind: PrincipalKind::RoleSession,
            role_arn: Some("arn:aws:iam::123456789012:role/Officer".into()),
            session_name: None,
            uploaded_at: Some("2026-12-02T10:00:00.000Z".into()),
            object_version: Some("v1".into()),
            allowed: Some(true),
        };
        assert_eq!(
            ordered_by_line(&by),
            "ordered by role arn:aws:iam::123456789012:role/Officer (RoleId AROAEXAMPLE1), uploaded at 2026-12-02T10:00:00.000Z, object version v1; a named uploader"
        );
        by.role_arn = None;
        by.allowed = None;
        assert!(ordered_by_line(&by)
            .starts_with("ordered by a session of the role with RoleId AROAEXAMPLE1"));
    }
}
