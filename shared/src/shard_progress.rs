//! How far a shard got, kept in its progress object (`work/<id>/pinpoint/progress/shard-N.json`,
//! for every kind of destination despite the folder's name):
//! user positions and counts per destination, never a user ID. The erase step writes it at every
//! checkpoint; a retried or handed-back invocation resumes from it; the finalize step reads the
//! counts from it.

use serde::{Deserialize, Serialize};

use crate::error::ErasureError;
use crate::naming::RequestId;
use crate::payload::{ShardResult, ShardSpec, TargetKind, TargetShardResult, REAPPEARED_REASON};
use crate::ports::ObjectStore;

/// A shard's progress.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardProgress {
    /// One entry per destination (the field keeps its first name: objects written by an earlier
    /// version still read).
    #[serde(rename = "applications")]
    pub targets: Vec<TargetProgress>,
    /// Every destination is done.
    pub complete: bool,
    /// The execution that last worked on the shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// Times the shard was handed back unfinished (bounded by `limits::MAX_SHARD_HANDBACKS`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handbacks: u32,
    /// How the shard's last invocation paced each API at its last checkpoint (what `erasure
    /// status` shows as the configured rate and throttling). Rates, counts: no user ID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pacing: Vec<QuotaUse>,
}

/// One API's quota as a shard's invocation used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUse {
    /// The API (`DeleteUserEndpoints`, `SearchProfiles`, `DeleteProfile`).
    pub api: String,
    /// The account's quota as configured, requests per second.
    pub account_rate: f64,
    /// This invocation's share of it (less the headroom, divided among the holders).
    pub share: f64,
    /// The rate it paced at (below the share after throttling, until it climbs back).
    pub current_rate: f64,
    /// Invocations sharing the quota at the checkpoint.
    pub holders: u32,
    /// Throttled answers the shard met, over all its invocations.
    pub throttled: u64,
}

impl Eq for QuotaUse {}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A shard's progress in one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetProgress {
    /// The counts so far (and the destination's ID).
    pub result: TargetShardResult,
    /// Users of the shard handled so far, in order (a retry starts here).
    pub done: u64,
    /// Positions in the shard of users that failed, with why.
    pub failed: Vec<(u64, String)>,
    /// Positions past `done` of users already handled (and counted) by an invocation that
    /// handed the shard back at an earlier user still throttled: not asked again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ahead: Vec<u64>,
    /// Positions of users a new execution tries again (an earlier one recorded them as failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<u64>,
}

impl TargetProgress {
    /// Nothing done yet in destination `id` of kind `kind`.
    pub fn new(kind: TargetKind, id: &str) -> Self {
        TargetProgress {
            result: TargetShardResult {
                kind,
                target_id: id.to_string(),
                ..Default::default()
            },
            done: 0,
            failed: Vec::new(),
            ahead: Vec::new(),
            retry: Vec::new(),
        }
    }

    /// The destination's ID.
    pub fn id(&self) -> &str {
        &self.result.target_id
    }

    /// The destination's kind.
    pub fn kind(&self) -> TargetKind {
        self.result.kind
    }

    /// Whether this is destination `id` of kind `kind`.
    pub fn is(&self, kind: TargetKind, id: &str) -> bool {
        self.result.is(kind, id)
    }

    /// Whether every user of a shard of `users` is handled here.
    pub fn finished(&self, users: usize) -> bool {
        self.done as usize >= users && self.retry.is_empty()
    }
}

impl ShardProgress {
    /// Users handled so far in all destinations (for the log of a resumed shard).
    pub fn handled(&self) -> u64 {
        self.targets.iter().map(|t| t.done).sum()
    }

    /// Users a new execution is to try again.
    pub fn to_retry(&self) -> usize {
        self.targets.iter().map(|t| t.retry.len()).sum()
    }

    /// A new execution of the request (a retry): it has a history of its own, so its own
    /// hand-back rounds, and it tries again the users an earlier one recorded as failed.
    pub fn start_again(&mut self, execution: Option<String>) {
        self.handbacks = 0;
        if self.targets.iter().any(|t| !t.failed.is_empty()) {
            for t in &mut self.targets {
                let failed = std::mem::take(&mut t.failed);
                t.retry.extend(failed.into_iter().map(|(i, _)| i));
                t.result.failure_reasons.clear();
                t.result.failed_users_key = None;
                t.result.unusable = None;
            }
            self.complete = false;
        }
        self.execution = execution;
    }

    /// What the shard did so far, as a result.
    pub fn result(&self, shard: &ShardSpec, complete: bool) -> ShardResult {
        ShardResult {
            index: shard.index,
            users: shard.users,
            targets: self
                .targets
                .iter()
                .map(|t| {
                    let mut r = t.result.clone();
                    r.users_processed = t.done;
                    // Users waiting for their retry have not been erased: failed until then.
                    r.failed_users = (t.failed.len() + t.retry.len()) as u64;
                    r.reappeared = t
                        .failed
                        .iter()
                        .filter(|(_, why)| why == REAPPEARED_REASON)
                        .count() as u64;
                    r
                })
                .collect(),
            complete,
        }
    }
}

/// The shard's progress object, if it has one.
pub async fn load(
    store: &impl ObjectStore,
    id: &RequestId,
    work_prefix: &str,
    shard: &ShardSpec,
) -> Result<Option<ShardProgress>, ErasureError> {
    let key = id.shard_progress_key(work_prefix, shard.index);
    match store.get(&shard.bucket, &key).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            ErasureError::Invalid(format!(
                "shard {}'s progress object is unreadable",
                shard.index
            ))
        }),
        Err(ErasureError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the shard's progress object.
pub async fn save(
    store: &impl ObjectStore,
    id: &RequestId,
    work_prefix: &str,
    shard: &ShardSpec,
    progress: &ShardProgress,
) -> Result<(), ErasureError> {
    let key = id.shard_progress_key(work_prefix, shard.index);
    let body = serde_json::to_vec(progress).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    store
        .put(&shard.bucket, &key, body, "application/json", None)
        .await
}

/// What a shard's progress object records, as a result (None: no record yet).
pub async fn recorded(
    store: &impl ObjectStore,
    id: &RequestId,
    work_prefix: &str,
    shard: &ShardSpec,
) -> Result<Option<ShardResult>, ErasureError> {
    Ok(load(store, id, work_prefix, shard)
        .await?
        .map(|p| p.result(shard, p.complete)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_written_before_the_rename_still_reads() {
        let old = r#"{"applications":[{"result":{"applicationId":"a","usersProcessed":3,
            "endpointsDeleted":2,"usersWithoutEndpoints":1,"failedUsers":0},"done":3,"failed":[]}],
            "complete":true}"#;
        let p: ShardProgress = serde_json::from_str(old).unwrap();
        assert_eq!(
            (p.targets[0].id(), p.targets[0].done, p.complete),
            ("a", 3, true)
        );
        assert!(serde_json::to_string(&p)
            .unwrap()
            .contains("\"applications\""));
    }

    #[test]
    fn starting_again_retries_the_failed_and_resets_the_rounds() {
        let mut p = ShardProgress {
            targets: vec![TargetProgress::new(TargetKind::Pinpoint, "a")],
            complete: true,
            execution: Some("first".into()),
            handbacks: 7,
            pacing: Vec::new(),
        };
        p.targets[0].done = 4;
        p.targets[0].failed = vec![(1, "access denied".into()), (3, "access denied".into())];
        p.start_again(Some("second".into()));
        assert_eq!(p.targets[0].retry, [1, 3]);
        assert!(p.targets[0].failed.is_empty() && !p.complete && p.handbacks == 0);
        assert_eq!(p.execution.as_deref(), Some("second"));
        // Until their retry, they count as failed.
        let spec = ShardSpec {
            mode: Default::default(),
            request_id: "0".repeat(32).parse().unwrap(),
            bucket: "b".into(),
            key: "k".into(),
            index: 0,
            users: 4,
            execution: None,
        };
        assert_eq!(p.result(&spec, false).targets[0].failed_users, 2);
    }
}
