//! The receipt's evidence files and the answer to "was user X in request R, and what happened
//! to them?", from the receipt, its files and the hash key; no AWS types, used by the
//! finalize step (to write) and the `erasure lookup` command (to read).

use crate::payload::TargetKind;
use crate::receipt::Receipt;
use crate::user_hash::UserHasher;

/// The header of the failed-users evidence file (receipt schema 3).
pub const FAILED_HEADER: &str = "USER_HASH,TARGET_KIND,TARGET_ID,REASON";

/// The header of a version 2 receipt's failed-users file (Pinpoint applications only).
pub const FAILED_HEADER_V2: &str = "USER_HASH,APPLICATION_ID,REASON";

/// Splits a line of the erase step's failed list (`USER_ID,REASON`, the ID quoted as in a request
/// file when it needs it) into the ID and the reason.
pub fn split_failed_line(line: &str) -> Option<(String, &str)> {
    if let Some(rest) = line.strip_prefix('"') {
        let mut id = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if rest[i + 1..].starts_with('"') {
                    id.push('"');
                    chars.next();
                } else {
                    return rest[i + 1..].strip_prefix(',').map(|reason| (id, reason));
                }
            } else {
                id.push(c);
            }
        }
        None
    } else {
        line.split_once(',')
            .map(|(id, reason)| (id.to_string(), reason))
    }
}

/// One line of the failed-users evidence file (the reason is always quoted: it has commas).
pub fn failed_evidence_line(
    user_hash: &str,
    kind: TargetKind,
    target_id: &str,
    reason: &str,
) -> String {
    format!(
        "{user_hash},{kind},{target_id},\"{}\"\n",
        reason.replace('"', "\"\"")
    )
}

/// The failures the evidence file lists for one user hash: (kind, destination, reason). Reads
/// both layouts (a version 2 file has no kind column: every line is Pinpoint's).
pub fn failures_of(failed: &str, hash: &str) -> Vec<(TargetKind, String, String)> {
    let mut lines = failed.lines();
    let v2 = lines.next().is_some_and(|h| h.trim() == FAILED_HEADER_V2);
    lines
        .filter_map(|l| {
            let (h, rest) = l.split_once(',')?;
            if h != hash {
                return None;
            }
            let (kind, rest) = if v2 {
                (TargetKind::Pinpoint, rest)
            } else {
                let (kind, rest) = rest.split_once(',')?;
                let kind = match kind {
                    "customerProfiles" => TargetKind::CustomerProfiles,
                    _ => TargetKind::Pinpoint,
                };
                (kind, rest)
            };
            let (id, reason) = rest.split_once(',')?;
            let reason = reason.trim_matches('"').replace("\"\"", "\"");
            Some((kind, id.to_string(), reason))
        })
        .collect()
}

/// What the evidence says about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based position in the normalised list, when the user was in the request.
    pub position: Option<u64>,
    /// The part (deletion job input) the user was in.
    pub part: Option<u32>,
    /// The Pinpoint shard the user was in.
    pub shard: Option<u64>,
    /// Per deletion job of that part: dataset group, status, job ARN.
    pub personalize: Vec<(String, String, Option<String>)>,
    /// Per dataset group: where its models stand (retrained after the deletion, or why not).
    pub models: Vec<(String, String)>,
    /// Per Pinpoint application: what happened (ERASED, FAILED: reason, or NOT REPORTED).
    pub pinpoint: Vec<(String, String)>,
    /// Per Customer Profiles domain: what happened (ERASED, FAILED: reason, or NOT REPORTED).
    pub customer_profiles: Vec<(String, String)>,
}

/// Looks a user up: `index` is the user-index file's text, `failed` the failed-users file's.
pub fn lookup(
    receipt: &Receipt,
    hasher: &UserHasher,
    user_id: &str,
    index: &str,
    failed: Option<&str>,
) -> Finding {
    let hash = hasher.hash(user_id.trim());
    let position = index
        .lines()
        .position(|l| l.trim() == hash)
        .map(|p| p as u64);
    let Some(pos) = position else {
        return Finding {
            position: None,
            part: None,
            shard: None,
            personalize: vec![],
            models: vec![],
            pinpoint: vec![],
            customer_profiles: vec![],
        };
    };
    // Parts in order, each counted once (the same part is one job per dataset group).
    let mut parts: Vec<(u32, u64)> = Vec::new();
    for p in &receipt.personalize {
        if !parts.iter().any(|(n, _)| *n == p.part) {
            parts.push((p.part, p.users));
        }
    }
    parts.sort();
    let mut start = 0;
    let mut part = None;
    for (n, users) in parts {
        if pos < start + users {
            part = Some(n);
            break;
        }
        start += users;
    }
    let personalize = receipt
        .personalize
        .iter()
        .filter(|p| Some(p.part) == part)
        .map(|p| {
            (
                p.dataset_group_arn.clone(),
                p.status.to_string(),
                p.job_arn.clone(),
            )
        })
        .collect();
    let shard_users = receipt
        .evidence
        .as_ref()
        .map(|e| e.shard_users)
        .unwrap_or(0);
    let failures = failures_of(failed.unwrap_or(""), &hash);
    let valid = receipt.request.valid_users;
    let what = |kind: TargetKind, id: &str, processed: u64, erased: &str| -> String {
        match failures.iter().find(|(k, t, _)| *k == kind && t == id) {
            Some((_, _, reason)) => format!("FAILED: {reason}"),
            None if processed == valid => erased.to_string(),
            None => "NOT REPORTED (the destination did not report every shard)".to_string(),
        }
    };
    let pinpoint = receipt
        .pinpoint
        .iter()
        .map(|a| {
            let w = what(
                TargetKind::Pinpoint,
                &a.application_id,
                a.users_processed,
                "ERASED (endpoints deleted, or none existed)",
            );
            (a.application_id.clone(), w)
        })
        .collect();
    let customer_profiles = receipt
        .customer_profiles
        .iter()
        .map(|d| {
            let w = what(
                TargetKind::CustomerProfiles,
                &d.domain_name,
                d.users_processed,
                "ERASED (profiles deleted and none found after, or none existed)",
            );
            (d.domain_name.clone(), w)
        })
        .collect();
    let models = receipt
        .personalize_models
        .iter()
        .map(|g| (g.dataset_group_arn.clone(), g.summary()))
        .collect();
    Finding {
        position: Some(pos + 1),
        part,
        shard: (shard_users > 0).then(|| pos / shard_users),
        personalize,
        models,
        pinpoint,
        customer_profiles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_lines_split_with_quotes_and_commas() {
        assert_eq!(
            split_failed_line("u1,access denied (a, b)"),
            Some(("u1".into(), "access denied (a, b)"))
        );
        assert_eq!(
            split_failed_line("\"a,\"\"b\",throttled"),
            Some(("a,\"b".into(), "throttled"))
        );
        assert_eq!(split_failed_line("\"open"), None);
        assert_eq!(split_failed_line("no-reason"), None);
    }

    #[test]
    fn evidence_lines_quote_the_reason() {
        assert_eq!(
            failed_evidence_line("h", TargetKind::Pinpoint, "app", "denied (x, \"y\")"),
            "h,pinpoint,app,\"denied (x, \"\"y\"\")\"\n"
        );
    }

    #[test]
    fn failures_read_from_both_layouts() {
        let v3 = format!(
            "{FAILED_HEADER}\n{}{}{}",
            failed_evidence_line("h1", TargetKind::Pinpoint, "app", "access denied"),
            failed_evidence_line("h1", TargetKind::CustomerProfiles, "d1", "a, b"),
            failed_evidence_line("h2", TargetKind::CustomerProfiles, "d1", "other user"),
        );
        assert_eq!(
            failures_of(&v3, "h1"),
            vec![
                (TargetKind::Pinpoint, "app".into(), "access denied".into()),
                (TargetKind::CustomerProfiles, "d1".into(), "a, b".into()),
            ]
        );
        let v2 = format!("{FAILED_HEADER_V2}\nh1,app,\"throttled\"\n");
        assert_eq!(
            failures_of(&v2, "h1"),
            vec![(TargetKind::Pinpoint, "app".into(), "throttled".into())]
        );
    }
}
