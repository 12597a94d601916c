//! Personalize's models in memory: dataset groups with their jobs and solutions, solution
//! versions that train when a test says so, campaigns that move when a test says so, on a clock
//! the test sets. Calls are counted and fail on request.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::error::ErasureError;
use crate::ports::{
    running, Activity, CampaignInfo, CampaignUpdate, Models, RecommenderInfo, Survey, VersionInfo,
};

#[derive(Default)]
struct State {
    groups: HashMap<String, Survey>,
    /// solution -> versions, oldest first.
    versions: HashMap<String, Vec<VersionInfo>>,
    /// solution -> campaigns.
    campaigns: HashMap<String, Vec<CampaignInfo>>,
    /// solution -> the reason every later training fails.
    failing_trainings: HashMap<String, String>,
    tags: HashMap<String, Vec<(String, String)>>,
    now: i64,
    next: u64,
    calls: HashMap<&'static str, u64>,
    failing: HashMap<&'static str, VecDeque<ErasureError>>,
}

/// Personalize's models in memory.
#[derive(Default)]
pub struct MemoryModels {
    state: Mutex<State>,
}

impl MemoryModels {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }

    fn call(&self, op: &'static str) -> Result<(), ErasureError> {
        self.with(|s| {
            *s.calls.entry(op).or_default() += 1;
            match s.failing.get_mut(op).and_then(VecDeque::pop_front) {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    /// Sets the clock (seconds since the epoch) new versions are created at.
    pub fn set_now(&self, now: i64) {
        self.with(|s| s.now = now);
    }

    /// A dataset group (made when missing).
    pub fn group(&self, group: &str) {
        self.with(|s| {
            s.groups.entry(group.to_string()).or_default();
        });
    }

    /// A solution of a group, with one ACTIVE FULL version created at `created`; returns the
    /// version's ARN.
    pub fn solution(&self, group: &str, solution: &str, created: i64) -> String {
        self.with(|s| {
            s.groups
                .entry(group.to_string())
                .or_default()
                .solutions
                .push(solution.to_string());
            let arn = format!("{solution}/initial");
            s.versions
                .entry(solution.to_string())
                .or_default()
                .push(VersionInfo {
                    arn: arn.clone(),
                    status: "ACTIVE".into(),
                    training_mode: Some("FULL".into()),
                    created_epoch: Some(created),
                    training_hours: Some(1.0),
                    failure_reason: None,
                    updated_epoch: Some(created),
                });
            arn
        })
    }

    /// Adds a version of a solution as it stands.
    pub fn add_version(&self, solution: &str, v: VersionInfo) {
        self.with(|s| s.versions.entry(solution.to_string()).or_default().push(v));
    }

    /// A campaign serving `version` of `solution`.
    pub fn campaign(&self, solution: &str, campaign: &str, version: &str, syncs: bool) {
        self.with(|s| {
            s.campaigns
                .entry(solution.to_string())
                .or_default()
                .push(CampaignInfo {
                    arn: campaign.to_string(),
                    solution_version_arn: Some(version.to_string()),
                    syncs_with_latest: syncs,
                    update: None,
                })
        });
    }

    /// A job (import, batch, export) of a group.
    pub fn activity(&self, group: &str, a: Activity) {
        self.with(|s| {
            s.groups
                .entry(group.to_string())
                .or_default()
                .activities
                .push(a)
        });
    }

    /// An event tracker of a group.
    pub fn event_tracker(&self, group: &str, arn: &str) {
        self.with(|s| {
            s.groups
                .entry(group.to_string())
                .or_default()
                .event_trackers
                .push(arn.to_string())
        });
    }

    /// A recommender of a group.
    pub fn recommender(&self, group: &str, arn: &str, status: &str) {
        self.with(|s| {
            s.groups
                .entry(group.to_string())
                .or_default()
                .recommenders
                .push(RecommenderInfo {
                    arn: arn.to_string(),
                    status: status.to_string(),
                })
        });
    }

    /// Every later training of `solution` fails with `reason`.
    pub fn fail_trainings(&self, solution: &str, reason: &str) {
        self.with(|s| {
            s.failing_trainings
                .insert(solution.to_string(), reason.to_string())
        });
    }

    /// Ends every running training (ACTIVE after 1.5 hours, or CREATE FAILED) and every running
    /// job of every group (ACTIVE); campaigns that sync with the latest version follow.
    pub fn finish_trainings(&self) {
        self.with(|s| {
            let failing = s.failing_trainings.clone();
            let now = s.now;
            for (solution, versions) in s.versions.iter_mut() {
                for v in versions.iter_mut().filter(|v| running(&v.status)) {
                    match failing.get(solution) {
                        Some(reason) => {
                            v.status = "CREATE FAILED".into();
                            v.failure_reason = Some(reason.clone());
                            v.updated_epoch = Some(now);
                        }
                        None => {
                            v.status = "ACTIVE".into();
                            v.training_hours = Some(1.5);
                            v.updated_epoch = Some(now);
                        }
                    }
                }
            }
            for g in s.groups.values_mut() {
                for a in g.activities.iter_mut().filter(|a| running(&a.status)) {
                    a.status = "ACTIVE".into();
                }
            }
            let newest: HashMap<String, String> = s
                .versions
                .iter()
                .filter_map(|(sol, vs)| {
                    vs.iter()
                        .rev()
                        .find(|v| v.status == "ACTIVE")
                        .map(|v| (sol.clone(), v.arn.clone()))
                })
                .collect();
            for (sol, cs) in s.campaigns.iter_mut() {
                for c in cs.iter_mut().filter(|c| c.syncs_with_latest) {
                    c.solution_version_arn = newest.get(sol).cloned();
                }
            }
        });
    }

    /// Ends every running campaign update: ACTIVE, the campaign serves its version.
    pub fn finish_updates(&self) {
        self.with(|s| {
            for c in s.campaigns.values_mut().flatten() {
                if let Some(u) = c.update.as_mut().filter(|u| running(&u.status)) {
                    u.status = "ACTIVE".into();
                    c.solution_version_arn = u.solution_version_arn.clone();
                }
            }
        });
    }

    /// The next calls of `op` fail with these errors, in order.
    pub fn fail_next(&self, op: &'static str, errors: Vec<ErasureError>) {
        self.with(|s| s.failing.entry(op).or_default().extend(errors));
    }

    /// Calls made of one operation (Survey, ListSolutionVersions, DescribeSolutionVersion,
    /// CreateSolutionVersion, TagResource, ListCampaigns, UpdateCampaign).
    pub fn calls(&self, op: &str) -> u64 {
        self.with(|s| s.calls.get(op).copied().unwrap_or(0))
    }

    /// The versions of a solution, oldest first.
    pub fn versions_of(&self, solution: &str) -> Vec<VersionInfo> {
        self.with(|s| s.versions.get(solution).cloned().unwrap_or_default())
    }

    /// The tags of a resource.
    pub fn tags_of(&self, arn: &str) -> Vec<(String, String)> {
        self.with(|s| s.tags.get(arn).cloned().unwrap_or_default())
    }

    /// The version a campaign serves.
    pub fn serving(&self, campaign: &str) -> Option<String> {
        self.with(|s| {
            s.campaigns
                .values()
                .flatten()
                .find(|c| c.arn == campaign)
                .and_then(|c| c.solution_version_arn.clone())
        })
    }
}

impl Models for MemoryModels {
    async fn survey(&self, group: &str, _locations: bool) -> Result<Survey, ErasureError> {
        self.call("Survey")?;
        self.with(|s| {
            let mut survey = s.groups.get(group).cloned().ok_or_else(|| {
                ErasureError::NotFound(format!("ListDatasets: no dataset group {group}"))
            })?;
            for solution in survey.solutions.clone() {
                for v in s.versions.get(&solution).into_iter().flatten() {
                    survey.activities.push(Activity {
                        kind: crate::ports::ActivityKind::Training,
                        arn: v.arn.clone(),
                        status: v.status.clone(),
                        created_epoch: v.created_epoch,
                        training_mode: v.training_mode.clone(),
                        locations: Vec::new(),
                    });
                }
            }
            Ok(survey)
        })
    }

    async fn versions(&self, solution: &str) -> Result<Vec<VersionInfo>, ErasureError> {
        self.call("ListSolutionVersions")?;
        Ok(self.versions_of(solution))
    }

    async fn version(&self, arn: &str) -> Result<VersionInfo, ErasureError> {
        self.call("DescribeSolutionVersion")?;
        self.with(|s| {
            s.versions
                .values()
                .flatten()
                .find(|v| v.arn == arn)
                .cloned()
                .ok_or_else(|| ErasureError::NotFound(format!("no solution version {arn}")))
        })
    }

    async fn train(
        &self,
        solution: &str,
        tags: &[(String, String)],
    ) -> Result<String, ErasureError> {
        self.call("CreateSolutionVersion")?;
        Ok(self.with(|s| {
            s.next += 1;
            let arn = format!("{solution}/v{:04}", s.next);
            let now = s.now;
            s.versions
                .entry(solution.to_string())
                .or_default()
                .push(VersionInfo {
                    arn: arn.clone(),
                    status: "CREATE PENDING".into(),
                    training_mode: Some("FULL".into()),
                    created_epoch: Some(now),
                    training_hours: None,
                    failure_reason: None,
                    updated_epoch: Some(now),
                });
            s.tags.insert(arn.clone(), tags.to_vec());
            arn
        }))
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), ErasureError> {
        self.call("TagResource")?;
        self.with(|s| {
            s.tags
                .entry(arn.to_string())
                .or_default()
                .extend(tags.iter().cloned())
        });
        Ok(())
    }

    async fn campaigns(&self, solution: &str) -> Result<Vec<CampaignInfo>, ErasureError> {
        self.call("ListCampaigns")?;
        Ok(self.with(|s| s.campaigns.get(solution).cloned().unwrap_or_default()))
    }

    async fn update_campaign(&self, campaign: &str, version: &str) -> Result<(), ErasureError> {
        self.call("UpdateCampaign")?;
        self.with(|s| {
            let c = s
                .campaigns
                .values_mut()
                .flatten()
                .find(|c| c.arn == campaign)
                .ok_or_else(|| ErasureError::NotFound(format!("no campaign {campaign}")))?;
            if c.update.as_ref().is_some_and(|u| running(&u.status)) {
                return Err(ErasureError::ResourceInUse(format!(
                    "campaign {campaign} is being updated"
                )));
            }
            c.update = Some(CampaignUpdate {
                solution_version_arn: Some(version.to_string()),
                status: "CREATE PENDING".into(),
                failure_reason: None,
            });
            Ok(())
        })
    }
}
