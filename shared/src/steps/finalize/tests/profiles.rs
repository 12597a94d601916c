//! Finalisation with a Customer Profiles domain beside the Pinpoint application: its own receipt
//! section, and failures that say which kind of destination they were in.

use super::*;
use crate::evidence::{failures_of, FAILED_HEADER};
use crate::payload::{TargetKind, REAPPEARED_REASON};

#[tokio::test]
async fn a_domain_gets_its_section_and_its_failures_name_their_kind() {
    let w = World::with_users(12).with_profiles();
    let domain = w.profiles.as_ref().expect("a domain");
    for i in 0..12 {
        domain.holds(&user(i), 2);
    }
    domain.always(
        &user(3),
        Behaviour::Fail(ErasureError::Forbidden("denied".into())),
    );
    domain.comes_back(&user(5), 1);
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Partial);
    let r = w.receipt(&out);
    assert_eq!(r.schema_version, "3");
    assert_eq!(
        (r.account.as_deref(), r.region.as_deref()),
        (Some("123456789012"), Some("eu-west-1"))
    );
    let [p] = r.customer_profiles.as_slice() else {
        panic!("one domain")
    };
    assert_eq!(
        (
            p.domain_name.as_str(),
            p.search_key.as_str(),
            p.users_processed,
            p.profiles_deleted,
            p.failed_users,
            p.reappeared,
            p.verified_absent
        ),
        ("d1", "_account", 12, 11 * 2, 2, 1, 10)
    );
    assert_eq!(p.failure_reasons.get(REAPPEARED_REASON), Some(&1));
    assert_eq!(
        r.pinpoint[0].failed_users, 0,
        "the application is untouched by it"
    );

    let failed = r
        .evidence
        .as_ref()
        .and_then(|e| e.failed_users.clone())
        .expect("a failed-users file");
    let text =
        String::from_utf8(w.store.get_now(BUCKET, &failed.key).expect("the file")).expect("utf-8");
    assert!(text.starts_with(FAILED_HEADER));
    assert_eq!(
        failures_of(&text, &hasher().hash(&user(5))),
        vec![(
            TargetKind::CustomerProfiles,
            "d1".to_string(),
            REAPPEARED_REASON.to_string()
        )]
    );
    assert_eq!(failures_of(&text, &hasher().hash(&user(3))).len(), 1);
    assert!(!w.receipt_objects().contains("final-user"), "hashes only");
}
