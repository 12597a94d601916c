//! A Customer Profiles domain as an [`ErasureTarget`]: SearchProfiles on the configured key
//! (every page), DeleteProfile for each profile found, then SearchProfiles again to verify that
//! none is left. Each operation has its own limiter: Connect sets API limits "for each API
//! separately" (https://docs.aws.amazon.com/connect/latest/APIReference/best-practices-connect-apis.html).
//! Service messages are never kept: the search carries the user ID.
//!
//! API facts relied on (Customer Profiles API Reference):
//! - SearchProfiles (POST /domains/{DomainName}/profiles/search): KeyName + Values, MaxResults
//!   1–100, NextToken while more remain; a value can match several profiles
//!   (https://docs.aws.amazon.com/customerprofiles/latest/APIReference/API_SearchProfiles.html).
//! - DeleteProfile (POST /domains/{DomainName}/profiles/delete): "Deletes the standard customer
//!   profile and all data pertaining to the profile"; ResourceNotFoundException (404) when it is
//!   gone already (https://docs.aws.amazon.com/customerprofiles/latest/APIReference/API_DeleteProfile.html).
//! - GetDomain (GET /domains/{DomainName}): the check; 404 for no such domain
//!   (https://docs.aws.amazon.com/customerprofiles/latest/APIReference/API_GetDomain.html).
//! - An object type with AllowProfileCreation "creates a new standard profile" for an ingested
//!   object that matches none: a deleted person can come back, so the verifying search is not a
//!   formality (https://docs.aws.amazon.com/customerprofiles/latest/APIReference/API_PutProfileObjectType.html).
//! - Default quotas: 100 TPS each for SearchProfiles and DeleteProfile, no burst documented
//!   ("Customer Profiles API throttling quotas",
//!   https://docs.aws.amazon.com/connect/latest/adminguide/amazon-connect-service-limits.html).

use aws_sdk_customerprofiles::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::ports::{Erased, ErasureTarget, Holding, TargetKind};
use crate::rate_limit::RateLimiter;

/// SearchProfiles' largest page (MaxResults 1–100).
pub const SEARCH_PAGE: i32 = 100;

/// Delete-then-search rounds before a person still found is reported as re-created.
const VERIFY_ROUNDS: usize = 2;

/// Throttled answers one call absorbs (slowing down each time) once the user's profiles are
/// being deleted (each DeleteProfile, the verifying SearchProfiles), before the attempt ends as
/// throttled and the loop asks again.
const THROTTLED_TRIES: u32 = 20;

/// The limiters of the domain's two operations (one per execution environment: the quotas are
/// the account's, whatever the domain).
pub struct ProfilesPacing {
    /// SearchProfiles.
    pub search: RateLimiter,
    /// DeleteProfile.
    pub delete: RateLimiter,
}

/// One Customer Profiles domain, searched on one key.
pub struct ProfilesDomain<'a> {
    client: &'a Client,
    domain: String,
    key: String,
    pacing: &'a ProfilesPacing,
    /// Profiles deleted by an attempt that then ended in an error (throttled, a 5xx), per user:
    /// the user's next attempt finds them gone, so it adds them to its own count. In memory
    /// only, emptied by that next attempt.
    carried: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl<'a> ProfilesDomain<'a> {
    /// The domain `domain`, where a person's profiles carry their user ID under `key`.
    pub fn new(client: &'a Client, domain: &str, key: &str, pacing: &'a ProfilesPacing) -> Self {
        ProfilesDomain {
            client,
            domain: domain.to_string(),
            key: key.to_string(),
            pacing,
            carried: Default::default(),
        }
    }

    /// `find`, absorbing up to `THROTTLED_TRIES` throttled answers (slowing down each time).
    async fn find_patiently(&self, user: &str) -> Result<Vec<String>, ErasureError> {
        let mut throttled = 0;
        loop {
            match self.find(user).await {
                Err(ErasureError::Throttled(why)) => {
                    throttled += 1;
                    if throttled >= THROTTLED_TRIES {
                        return Err(ErasureError::Throttled(why));
                    }
                }
                other => return other,
            }
        }
    }

    /// Every profile ID the key's value finds, all pages.
    async fn find(&self, user: &str) -> Result<Vec<String>, ErasureError> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.pacing.search.acquire().await;
            let out = match self
                .client
                .search_profiles()
                .domain_name(&self.domain)
                .key_name(&self.key)
                .values(user)
                .max_results(SEARCH_PAGE)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => {
                    self.pacing.search.succeeded().await;
                    out
                }
                Err(err) => {
                    let e = from_sdk("SearchProfiles", &err, false);
                    if let ErasureError::Throttled(_) = e {
                        self.pacing.search.throttled().await;
                    }
                    return Err(e);
                }
            };
            ids.extend(
                out.items()
                    .iter()
                    .filter_map(|p| p.profile_id().map(str::to_string)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Deletes one profile: true when this call deleted it, false when it was gone already.
    async fn delete(&self, profile_id: &str) -> Result<bool, ErasureError> {
        let mut throttled = 0;
        loop {
            self.pacing.delete.acquire().await;
            match self
                .client
                .delete_profile()
                .domain_name(&self.domain)
                .profile_id(profile_id)
                .send()
                .await
            {
                Ok(_) => {
                    self.pacing.delete.succeeded().await;
                    return Ok(true);
                }
                Err(err) => match from_sdk("DeleteProfile", &err, false) {
                    ErasureError::NotFound(_) => return Ok(false),
                    ErasureError::Throttled(why) => {
                        self.pacing.delete.throttled().await;
                        throttled += 1;
                        if throttled >= THROTTLED_TRIES {
                            return Err(ErasureError::Throttled(why));
                        }
                    }
                    e => return Err(e),
                },
            }
        }
    }
}

impl ErasureTarget for ProfilesDomain<'_> {
    fn kind(&self) -> TargetKind {
        TargetKind::CustomerProfiles
    }

    fn id(&self) -> &str {
        &self.domain
    }

    /// GetDomain: "no such domain" and "access denied" are told apart before any user is
    /// counted (a search in a missing domain would also answer 404, which is not "no profile").
    async fn check(&self) -> Result<(), ErasureError> {
        self.client
            .get_domain()
            .domain_name(&self.domain)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("GetDomain", &e, true))
    }

    fn unusable(&self, error: &ErasureError) -> &'static str {
        match error {
            ErasureError::NotFound(_) => "domain not found",
            ErasureError::Forbidden(_) => "access denied to the domain",
            _ => "domain check failed",
        }
    }

    async fn preview(&self, user: &str) -> Result<Holding, ErasureError> {
        Ok(match self.find(user).await?.len() {
            0 => Holding::Nothing,
            n => Holding::Items(n as u64),
        })
    }

    /// Search, delete each profile found, search again. A profile found by the second search
    /// was created meanwhile (an ingest racing the erasure, or an integration re-creating the
    /// person): it is deleted too and searched for once more; still there, the user is
    /// reported as `Reappeared`, never as erased. Profiles an earlier attempt deleted before it
    /// failed count here.
    async fn erase(&self, user: &str) -> Result<Erased, ErasureError> {
        let before = self
            .carried
            .lock()
            .map(|mut c| c.remove(user).unwrap_or(0))
            .unwrap_or(0);
        let mut deleted = before;
        let result = self.erase_counting(user, &mut deleted).await;
        if result.is_err() && deleted > 0 {
            if let Ok(mut c) = self.carried.lock() {
                c.insert(user.to_string(), deleted);
            }
        }
        result
    }
}

impl ProfilesDomain<'_> {
    /// One attempt; `deleted` counts the profiles deleted, even when the attempt then fails.
    async fn erase_counting(&self, user: &str, deleted: &mut u64) -> Result<Erased, ErasureError> {
        let mut found = self.find(user).await?;
        if found.is_empty() {
            return Ok(match *deleted {
                0 => Erased::NothingThere,
                n => Erased::Deleted(n), // deleted by an earlier attempt, verified gone now
            });
        }
        for _ in 0..VERIFY_ROUNDS {
            for id in &found {
                if self.delete(id).await? {
                    *deleted += 1;
                }
            }
            found = self.find_patiently(user).await?;
            if found.is_empty() {
                return Ok(Erased::Deleted(*deleted));
            }
        }
        tracing::warn!(domain = %self.domain, again = found.len(), "profiles re-created after deletion; the user is reported, not counted as erased");
        Ok(Erased::Reappeared(*deleted))
    }
}

#[cfg(test)]
#[path = "customer_profiles_tests.rs"]
mod tests;
