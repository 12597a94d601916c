//! Who ordered a request: the uploader from the S3 event, matched against the deployment's
//! named uploader roles (`RequestUploaderPrincipalArns`) by RoleId, never by a session string.

use crate::error::ErasureError;
use crate::payload::{OrderedBy, PrincipalKind, RequestObject};
use crate::ports::Roles;

/// The rejection code of a request uploaded by someone the deployment does not name.
pub const UPLOADER_NOT_ALLOWED: &str = "UPLOADER_NOT_ALLOWED";

/// Who ordered the request. With named roles, the uploader must be a session of one of them:
/// `allowed` says whether it is, and `role_arn` which. Without named roles nothing is looked up
/// (no IAM call) and `allowed` is absent. None when the event named no uploader and no roles
/// are named.
pub async fn ordered_by(
    named: &[String],
    roles: &impl Roles,
    request: &RequestObject,
) -> Result<Option<OrderedBy>, ErasureError> {
    let Some(up) = &request.uploader else {
        if named.is_empty() {
            return Ok(None);
        }
        // With named roles, an upload whose identity is unknown is not one of theirs.
        return Ok(Some(OrderedBy {
            unique_id: String::new(),
            kind: PrincipalKind::Other,
            role_arn: None,
            session_name: None,
            uploaded_at: None,
            object_version: request.version_id.clone(),
            allowed: Some(false),
        }));
    };
    let mut found = OrderedBy {
        unique_id: up.unique_id.clone(),
        kind: up.kind,
        role_arn: None,
        session_name: up.session_name.clone(),
        uploaded_at: up.uploaded_at.clone(),
        object_version: request.version_id.clone(),
        allowed: None,
    };
    if named.is_empty() {
        return Ok(Some(found));
    }
    found.allowed = Some(false);
    if up.kind == PrincipalKind::RoleSession {
        for arn in named {
            if roles.role_id(arn).await?.as_deref() == Some(up.unique_id.as_str()) {
                found.role_arn = Some(arn.clone());
                found.allowed = Some(true);
                break;
            }
        }
    }
    Ok(Some(found))
}

/// Why a request by this uploader is refused, for the receipt.
pub fn refusal(by: &OrderedBy) -> String {
    let who = if by.unique_id.is_empty() {
        "an uploader the S3 event did not name".to_string()
    } else {
        format!("{} ({:?})", by.unique_id, by.kind)
    };
    format!(
        "the file was uploaded by {who}, which is not a session of a role named in \
         RequestUploaderPrincipalArns: nothing was read or erased"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryRoles;
    use crate::naming::RequestId;
    use crate::payload::Uploader;

    const OFFICER: &str = "arn:aws:iam::123456789012:role/privacy/Officer";
    const OTHER: &str = "arn:aws:iam::123456789012:role/Other";

    fn request(principal: Option<&str>, keep: bool) -> RequestObject {
        RequestObject {
            bucket: "b".into(),
            key: "requests/a.csv".into(),
            version_id: Some("v1".into()),
            etag: "e".into(),
            size: 1,
            request_id: RequestId::derive("b", "requests/a.csv", "e"),
            sha256: None,
            mode: Default::default(),
            uploader: principal
                .map(|p| Uploader::from_event(p, Some("2026-12-02T10:00:00.000Z"), keep)),
        }
    }

    #[test]
    fn principal_ids_are_read_as_iam_writes_them_and_the_session_is_dropped_unless_kept() {
        let role = Uploader::from_event("AWS:AROAEXAMPLE1:jane.doe@example.com", None, false);
        assert_eq!(
            (role.kind, role.unique_id.as_str(), role.session_name),
            (PrincipalKind::RoleSession, "AROAEXAMPLE1", None)
        );
        let kept = Uploader::from_event("AWS:AROAEXAMPLE1:jane", None, true);
        assert_eq!(kept.session_name.as_deref(), Some("jane"));
        let user = Uploader::from_event("AWS:AIDAEXAMPLE2", None, true);
        assert_eq!(
            (user.kind, user.unique_id.as_str(), user.session_name),
            (PrincipalKind::IamUser, "AIDAEXAMPLE2", None)
        );
        let root = Uploader::from_event("123456789012", None, true);
        assert_eq!(
            (root.kind, root.unique_id.as_str()),
            (PrincipalKind::Other, "123456789012")
        );
        let odd = Uploader::from_event("AWS:EMULATOR", None, false);
        assert_eq!(
            (odd.kind, odd.unique_id.as_str()),
            (PrincipalKind::Other, "EMULATOR")
        );
    }

    #[tokio::test]
    async fn without_named_roles_the_uploader_is_recorded_and_iam_is_not_asked() {
        let roles = MemoryRoles::with(&[(OFFICER, "AROAEXAMPLE1")]);
        let by = ordered_by(&[], &roles, &request(Some("AWS:AROAEXAMPLE1:jane"), false))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by.unique_id, "AROAEXAMPLE1");
        assert_eq!((by.role_arn, by.allowed), (None, None));
        assert_eq!(by.object_version.as_deref(), Some("v1"));
        assert_eq!(by.uploaded_at.as_deref(), Some("2026-12-02T10:00:00.000Z"));
        assert_eq!(roles.calls(), 0);
        assert_eq!(
            ordered_by(&[], &roles, &request(None, false))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_named_role_is_matched_by_its_role_id_not_by_the_session_string() {
        let roles = MemoryRoles::with(&[(OFFICER, "AROAEXAMPLE1"), (OTHER, "AROAEXAMPLE9")]);
        let named = vec![OTHER.to_string(), OFFICER.to_string()];
        let by = ordered_by(&named, &roles, &request(Some("AWS:AROAEXAMPLE1:s"), true))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by.role_arn.as_deref(), Some(OFFICER));
        assert_eq!(by.allowed, Some(true));
        assert_eq!(by.session_name.as_deref(), Some("s"));
        // A session whose name spells a named role's ARN is still not that role.
        let spoof = format!("AWS:AROAEXAMPLE5:{OFFICER}");
        let by = ordered_by(&named, &roles, &request(Some(&spoof), true))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((by.role_arn, by.allowed), (None, Some(false)));
        // An IAM user, or an upload the event did not attribute, is not a named role.
        for p in [Some("AWS:AIDAEXAMPLE1"), None] {
            let by = ordered_by(&named, &roles, &request(p, false))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(by.allowed, Some(false));
            assert!(refusal(&by).contains("RequestUploaderPrincipalArns"));
        }
        // A named role deleted since: no match, refused.
        let gone = MemoryRoles::default();
        let by = ordered_by(&named, &gone, &request(Some("AWS:AROAEXAMPLE1:s"), false))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by.allowed, Some(false));
    }
}
