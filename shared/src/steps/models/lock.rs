//! One erasure-driven training per solution at a time, across every execution: a small record
//! per solution under `<work>training/`, taken and updated with S3 conditional writes
//! (If-None-Match / If-Match). It guards only the moment of starting a training: from then on
//! the solution's versions in Personalize say what is in flight, and every request reads them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ErasureError;
use crate::naming::RequestId;
use crate::ports::ObjectStore;

/// How long a claim without a version holds: longer than one invocation may run (15 minutes),
/// so a claim is only taken over from an invocation that can no longer be running.
pub const CLAIM_SECONDS: i64 = 960;

/// The key of a solution's training record.
pub fn lock_key(work_prefix: &str, solution_arn: &str) -> String {
    let h = hex::encode(&Sha256::digest(solution_arn.as_bytes())[..16]);
    format!("{work_prefix}training/{h}.json")
}

/// A solution's training record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// The solution.
    pub solution_arn: String,
    /// The request that claimed it last.
    pub request_id: String,
    /// When, seconds since the epoch.
    pub claimed_epoch: i64,
    /// The version that request started; once set, the claim is released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    /// True when the claimer found it had nothing to start after all.
    #[serde(default)]
    pub released: bool,
}

impl Claim {
    fn free_for(&self, id: &RequestId, now: i64) -> bool {
        self.released
            || self.version_arn.is_some()
            || self.request_id == id.as_str()
            || now - self.claimed_epoch > CLAIM_SECONDS
    }
}

/// A claim this request holds.
pub struct Held {
    key: String,
    claim: Claim,
}

fn body(claim: &Claim) -> Result<Vec<u8>, ErasureError> {
    serde_json::to_vec(claim).map_err(|e| ErasureError::Invalid(format!("training claim: {e}")))
}

/// Claims the right to start a training of `solution_arn`; `None` when another request holds it.
pub async fn claim(
    store: &impl ObjectStore,
    bucket: &str,
    work_prefix: &str,
    solution_arn: &str,
    id: &RequestId,
    now: i64,
) -> Result<Option<Held>, ErasureError> {
    let key = lock_key(work_prefix, solution_arn);
    let expected = match store.get_tagged(bucket, &key).await? {
        None => None,
        Some((bytes, etag)) => {
            // An unreadable record is taken over: it guards nothing.
            let held: Option<Claim> = serde_json::from_slice(&bytes).ok();
            if held.is_some_and(|c| !c.free_for(id, now)) {
                return Ok(None);
            }
            Some(etag)
        }
    };
    let claim = Claim {
        solution_arn: solution_arn.to_string(),
        request_id: id.as_str().to_string(),
        claimed_epoch: now,
        version_arn: None,
        released: false,
    };
    let taken = store
        .put_if(bucket, &key, body(&claim)?, expected.as_deref())
        .await?;
    Ok(taken.then_some(Held { key, claim }))
}

impl Held {
    /// Releases the claim, naming the version started (or none).
    pub async fn release(
        mut self,
        store: &impl ObjectStore,
        bucket: &str,
        version_arn: Option<&str>,
    ) -> Result<(), ErasureError> {
        self.claim.version_arn = version_arn.map(String::from);
        self.claim.released = version_arn.is_none();
        let current = store.get_tagged(bucket, &self.key).await?;
        let Some((bytes, etag)) = current else {
            return Ok(());
        };
        let mine = serde_json::from_slice::<Claim>(&bytes)
            .is_ok_and(|c| c.request_id == self.claim.request_id && c.version_arn.is_none());
        if mine {
            // Losing this race is harmless: the version is in Personalize's list either way.
            store
                .put_if(bucket, &self.key, body(&self.claim)?, Some(&etag))
                .await?;
        }
        Ok(())
    }
}
