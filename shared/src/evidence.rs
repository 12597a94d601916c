//! The receipt's evidence files and the answer to "was user X in request R, and what happened
//! to them?", from the receipt, its files and the hash key; no AWS types, used by the
//! finalize step (to write) and the `erasure lookup` command (to read).

use crate::receipt::Receipt;
use crate::user_hash::UserHasher;

/// The header of the failed-users evidence file.
pub const FAILED_HEADER: &str = "USER_HASH,APPLICATION_ID,REASON";

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
pub fn failed_evidence_line(user_hash: &str, application_id: &str, reason: &str) -> String {
    format!(
        "{user_hash},{application_id},\"{}\"\n",
        reason.replace('"', "\"\"")
    )
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
    /// Per Pinpoint application: what happened (ERASED, FAILED: reason, or NOT REPORTED).
    pub pinpoint: Vec<(String, String)>,
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
            pinpoint: vec![],
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
    let failures: Vec<(String, String)> = failed
        .unwrap_or("")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (h, rest) = l.split_once(',')?;
            let (app, reason) = rest.split_once(',')?;
            (h == hash).then(|| {
                let reason = reason.trim_matches('"').replace("\"\"", "\"");
                (app.to_string(), reason)
            })
        })
        .collect();
    let valid = receipt.request.valid_users;
    let pinpoint = receipt
        .pinpoint
        .iter()
        .map(|a| {
            let what = match failures.iter().find(|(app, _)| *app == a.application_id) {
                Some((_, reason)) => format!("FAILED: {reason}"),
                None if a.users_processed == valid => {
                    "ERASED (endpoints deleted, or none existed)".to_string()
                }
                None => "NOT REPORTED (the application did not report every shard)".to_string(),
            };
            (a.application_id.clone(), what)
        })
        .collect();
    Finding {
        position: Some(pos + 1),
        part,
        shard: (shard_users > 0).then(|| pos / shard_users),
        personalize,
        pinpoint,
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
            failed_evidence_line("h", "app", "denied (x, \"y\")"),
            "h,app,\"denied (x, \"\"y\"\")\"\n"
        );
    }
}
