//! Deterministic names: one request file gives one execution name, one job name per
//! (dataset group, part), and one set of work keys, however often it is delivered.

use sha2::{Digest, Sha256};

/// The identity of one request: a hash of where it is, what it holds and which upload it was
/// (bucket, key, ETag, and the object's version ID or, in a bucket without versioning, the
/// event's sequencer).
///
/// A redelivered S3 event carries the same upload and names the same request, so it starts
/// nothing new. The same file uploaded again is a new upload (a new version) and a new request:
/// the users it lists may have come back since the first one was erased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

impl TryFrom<String> for RequestId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        RequestId::parse(&s).ok_or_else(|| "a request ID is 32 lowercase hex digits".to_string())
    }
}

impl std::str::FromStr for RequestId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        RequestId::try_from(s.to_string())
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> String {
        id.0
    }
}

impl RequestId {
    /// Derives the request ID from the uploaded object's bucket, key and ETag.
    pub fn derive(bucket: &str, key: &str, etag: &str) -> Self {
        Self::hash(&[bucket, key, etag.trim_matches('"')])
    }

    /// Derives the request ID of one upload: [`RequestId::derive`] with the object's version ID
    /// (or the event's sequencer) when there is one.
    pub fn for_upload(bucket: &str, key: &str, etag: &str, upload: Option<&str>) -> Self {
        match upload.filter(|u| !u.is_empty() && *u != "null") {
            Some(u) => Self::hash(&[bucket, key, etag.trim_matches('"'), u]),
            None => Self::derive(bucket, key, etag),
        }
    }

    fn hash(parts: &[&str]) -> Self {
        let mut h = Sha256::new();
        for part in parts {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        RequestId(hex::encode(&h.finalize()[..16]))
    }

    /// Parses an ID handed back by the state machine (32 lowercase hex digits).
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| RequestId(s.to_string()))
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Step Functions execution name (at most 80 characters, no forbidden characters).
    pub fn execution_name(&self) -> String {
        format!("erasure-{}", self.0)
    }

    /// The Personalize job name for one part of this request in one dataset group.
    ///
    /// Job names are unique per account and Region, so the dataset group is part of the name;
    /// the result matches `^[a-zA-Z0-9][a-zA-Z0-9\-_]*` and stays under 63 characters.
    pub fn job_name(&self, dataset_group_arn: &str, part: u32) -> String {
        let dsg = hex::encode(&Sha256::digest(dataset_group_arn.as_bytes())[..4]);
        format!("erasure-{}-{}-p{:03}", self.0, dsg, part)
    }

    /// The folder every work object of this request lives under.
    pub fn work_folder(&self, work_prefix: &str) -> String {
        format!("{work_prefix}{}/", self.0)
    }

    /// The key of normalised part `part` that Personalize reads.
    pub fn part_key(&self, work_prefix: &str, part: u32) -> String {
        format!(
            "{}personalize/part-{part:03}.csv",
            self.work_folder(work_prefix)
        )
    }

    /// The key of Pinpoint shard `shard`.
    pub fn shard_key(&self, work_prefix: &str, shard: u32) -> String {
        format!(
            "{}pinpoint/shard-{shard:05}.csv",
            self.work_folder(work_prefix)
        )
    }

    /// The key of the job manifest the deletion jobs map reads (one job spec per dataset group
    /// and part).
    pub fn job_manifest_key(&self, work_prefix: &str) -> String {
        format!("{}personalize/jobs.json", self.work_folder(work_prefix))
    }

    /// Where the ResultWriter of map `map` (`jobs` or `shards`) exports its children's results.
    pub fn results_prefix(&self, work_prefix: &str, map: &str) -> String {
        format!("{}results/{map}", self.work_folder(work_prefix))
    }

    /// The key of the shard manifest the Pinpoint map reads.
    pub fn manifest_key(&self, work_prefix: &str) -> String {
        format!("{}pinpoint/manifest.json", self.work_folder(work_prefix))
    }

    /// The request's models record: the check before its deletion jobs and the retraining after
    /// them, per dataset group (no user ID: ARNs, states and S3 locations).
    pub fn models_key(&self, work_prefix: &str) -> String {
        format!("{}personalize/models.json", self.work_folder(work_prefix))
    }

    /// The plan's Personalize record (a preview's models step writes it).
    pub fn models_plan_key(&self, work_prefix: &str) -> String {
        format!("{}personalize/plan.json", self.work_folder(work_prefix))
    }

    /// Preparation's output, kept so a stopped execution can still be accounted for.
    pub fn prepared_key(&self, work_prefix: &str) -> String {
        format!("{}prepared.json", self.work_folder(work_prefix))
    }

    /// How far the erase step got with one shard (positions and counts, no IDs): a retry resumes there.
    pub fn shard_progress_key(&self, work_prefix: &str, shard: u32) -> String {
        format!(
            "{}pinpoint/progress/shard-{shard:05}.json",
            self.work_folder(work_prefix)
        )
    }

    /// Where the erase step lists one shard's failed users of one destination. The folder is
    /// the first version's (`pinpoint/failed/`, which the erase role may write); a Customer
    /// Profiles domain's lists go one level down, under `customerProfiles/` (a Pinpoint
    /// application ID is 32 hex digits, never that name).
    pub fn failed_users_key(
        &self,
        work_prefix: &str,
        kind: crate::payload::TargetKind,
        target_id: &str,
        shard: u32,
    ) -> String {
        let sub = match kind {
            crate::payload::TargetKind::Pinpoint => String::new(),
            other => format!("{other}/"),
        };
        format!(
            "{}pinpoint/failed/{sub}{target_id}/shard-{shard:05}.csv",
            self.work_folder(work_prefix)
        )
    }

    /// The key of the receipt.
    pub fn receipt_key(&self, receipt_prefix: &str) -> String {
        format!("{receipt_prefix}{}.json", self.execution_name())
    }

    /// The receipt of one execution of the request: `receipts/<execution name>.json`, so an
    /// execution started again (a redrive, named `<execution name>-…`) keeps the first receipt.
    /// Any other name gets the request's own key.
    pub fn receipt_key_for(&self, receipt_prefix: &str, execution: &str) -> String {
        let own = self.execution_name();
        let valid = execution.len() <= 80
            && execution
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid && execution.starts_with(&own) {
            format!("{receipt_prefix}{execution}.json")
        } else {
            self.receipt_key(receipt_prefix)
        }
    }

    /// The pointer to the latest plan receipt of a file with this SHA-256:
    /// `receipts/plans/<sha256>.json`. A request of the same bytes names that plan.
    pub fn plan_pointer_key(receipt_prefix: &str, sha256: &str) -> String {
        format!("{receipt_prefix}plans/{sha256}.json")
    }

    /// When a request of these bytes was first received: `receipts/received/<sha256>.json`,
    /// written once (a conditional write), so a re-upload keeps the first time.
    pub fn received_key(receipt_prefix: &str, sha256: &str) -> String {
        format!("{receipt_prefix}received/{sha256}.json")
    }

    /// The keyed hashes of the request's users, kept beside the receipt.
    pub fn user_index_key(&self, receipt_prefix: &str) -> String {
        format!("{receipt_prefix}{}.users.txt", self.execution_name())
    }

    /// The keyed hashes of users whose erasure failed, with application and reason.
    pub fn failed_users_evidence_key(&self, receipt_prefix: &str) -> String {
        format!("{receipt_prefix}{}.failed.csv", self.execution_name())
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_job_name(n: &str) -> bool {
        (1..=63).contains(&n.len())
            && n.as_bytes()[0].is_ascii_alphanumeric()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn an_execution_started_again_gets_its_own_receipt_and_no_other_name_escapes() {
        let id = RequestId::derive("b", "requests/x.csv", "abc");
        let own = id.execution_name();
        assert_eq!(
            id.receipt_key_for("receipts/", &own),
            id.receipt_key("receipts/")
        );
        assert_eq!(
            id.receipt_key_for("receipts/", &format!("{own}-retry-1")),
            format!("receipts/{own}-retry-1.json")
        );
        for other in ["", "someone-else", "../x", &format!("{own}/../../x")] {
            assert_eq!(
                id.receipt_key_for("receipts/", other),
                id.receipt_key("receipts/")
            );
        }
    }

    #[test]
    fn same_object_same_names_and_etag_quotes_do_not_matter() {
        let a = RequestId::derive("b", "requests/x.csv", "\"abc\"");
        let b = RequestId::derive("b", "requests/x.csv", "abc");
        assert_eq!(a, b);
        assert_eq!(a.execution_name(), b.execution_name());
        assert_eq!(a.job_name("arn:g", 0), b.job_name("arn:g", 0));
    }

    #[test]
    fn different_content_key_or_bucket_differ() {
        let a = RequestId::derive("b", "requests/x.csv", "abc");
        assert_ne!(a, RequestId::derive("b", "requests/x.csv", "abd"));
        assert_ne!(a, RequestId::derive("b", "requests/y.csv", "abc"));
        assert_ne!(a, RequestId::derive("c", "requests/x.csv", "abc"));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_ne!(
            RequestId::derive("ab", "c", "e"),
            RequestId::derive("a", "bc", "e")
        );
    }

    #[test]
    fn a_new_upload_of_the_same_file_is_a_new_request_and_a_redelivery_is_not() {
        let first = RequestId::for_upload("b", "requests/x.csv", "abc", Some("v1"));
        assert_eq!(
            first,
            RequestId::for_upload("b", "requests/x.csv", "\"abc\"", Some("v1")),
            "the same event delivered again"
        );
        assert_ne!(
            first,
            RequestId::for_upload("b", "requests/x.csv", "abc", Some("v2")),
            "the same bytes uploaded again"
        );
        // No version (and no sequencer): the object's own identity, as before.
        for none in [None, Some(""), Some("null")] {
            assert_eq!(
                RequestId::for_upload("b", "requests/x.csv", "abc", none),
                RequestId::derive("b", "requests/x.csv", "abc")
            );
        }
    }

    #[test]
    fn names_fit_the_service_rules() {
        let id = RequestId::derive("bucket", "requests/über file.csv", "etag");
        let exec = id.execution_name();
        assert!(exec.len() <= 80);
        assert!(!exec
            .chars()
            .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)));
        for part in [0, 7, 999] {
            let n = id.job_name("arn:aws:personalize:us-east-1:1:dataset-group/g", part);
            assert!(valid_job_name(&n), "{n}");
        }
        assert_ne!(id.job_name("arn:g1", 0), id.job_name("arn:g2", 0));
        assert_ne!(id.job_name("arn:g1", 0), id.job_name("arn:g1", 1));
    }

    #[test]
    fn work_keys_stay_under_the_work_prefix() {
        let id = RequestId::derive("b", "k", "e");
        for k in [
            id.part_key("work/", 1),
            id.shard_key("work/", 2),
            id.manifest_key("work/"),
            id.job_manifest_key("work/"),
            id.results_prefix("work/", "jobs"),
            id.failed_users_key("work/", crate::payload::TargetKind::Pinpoint, "app", 3),
            id.failed_users_key(
                "work/",
                crate::payload::TargetKind::CustomerProfiles,
                "d",
                3,
            ),
        ] {
            assert!(k.starts_with("work/"), "{k}");
            assert!(!k.ends_with(".csv") || k.contains(id.as_str()));
        }
        assert!(id.receipt_key("receipts/").starts_with("receipts/erasure-"));
    }

    #[test]
    fn parse_round_trips() {
        let id = RequestId::derive("b", "k", "e");
        assert_eq!(RequestId::parse(id.as_str()), Some(id));
        assert_eq!(RequestId::parse("nothex"), None);
    }

    /// Payloads carry the ID as a string; a malformed one is refused where it is read, so no
    /// handler parses it again.
    #[test]
    fn a_payload_with_a_malformed_request_id_does_not_read() {
        let id = RequestId::derive("b", "k", "e");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.as_str()));
        assert_eq!(serde_json::from_str::<RequestId>(&json).unwrap(), id);
        let err = serde_json::from_str::<RequestId>("\"ABC\"").unwrap_err();
        assert!(err.to_string().contains("32 lowercase hex digits"));
    }
}
