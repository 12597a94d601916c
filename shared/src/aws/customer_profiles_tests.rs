//! The Customer Profiles target against the real SDK client (aws-smithy-mocks): every page of
//! the search, each profile deleted, the verifying search, a profile that comes back, throttling
//! that slows the one operation throttled, wire errors typed without the service's message.

use super::*;
use aws_sdk_customerprofiles::operation::delete_profile::DeleteProfileOutput;
use aws_sdk_customerprofiles::operation::get_domain::GetDomainOutput;
use aws_sdk_customerprofiles::operation::search_profiles::SearchProfilesOutput;
use aws_sdk_customerprofiles::types::Profile;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

/// As `customer_profiles_client` builds it: the erasure loop retries, not the SDK.
fn no_retries(
    c: aws_sdk_customerprofiles::config::Builder,
) -> aws_sdk_customerprofiles::config::Builder {
    c.retry_config(aws_sdk_customerprofiles::config::retry::RetryConfig::disabled())
}

/// A client answering from these rules, in any order.
fn client_of(rules: &[&Rule]) -> Client {
    mock_client!(
        aws_sdk_customerprofiles,
        RuleMode::MatchAny,
        rules.iter().copied(),
        no_retries
    )
}

fn pacing() -> ProfilesPacing {
    ProfilesPacing {
        search: RateLimiter::new(1_000.0),
        delete: RateLimiter::new(1_000.0),
    }
}

fn page(ids: &[&str], next: Option<&str>) -> SearchProfilesOutput {
    SearchProfilesOutput::builder()
        .set_items(Some(
            ids.iter()
                .map(|id| Profile::builder().profile_id(*id).build())
                .collect(),
        ))
        .set_next_token(next.map(String::from))
        .build()
}

fn search(pages: Vec<SearchProfilesOutput>) -> Rule {
    let mut rule = mock!(Client::search_profiles)
        .match_requests(|r| {
            r.domain_name() == Some("d1")
                && r.key_name() == Some("_account")
                && r.values() == ["u1".to_string()]
                && r.max_results() == Some(SEARCH_PAGE)
        })
        .sequence();
    for p in pages {
        rule = rule.output(move || p.clone());
    }
    rule.build()
}

fn deletes(ok: usize) -> Rule {
    let rule = mock!(Client::delete_profile)
        .match_requests(|r| r.domain_name() == Some("d1") && r.profile_id().is_some())
        .sequence()
        .output(|| DeleteProfileOutput::builder().message("deleted").build());
    if ok > 1 {
        rule.times(ok).build()
    } else {
        rule.build()
    }
}

fn wire_error(status: u16, code: &'static str) -> aws_smithy_runtime_api::http::Response {
    let body = r#"{"Message":"value u1 was refused"}"#;
    let mut resp = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("a status"),
        aws_smithy_types::body::SdkBody::from(body),
    );
    resp.headers_mut().insert("x-amzn-ErrorType", code);
    resp.headers_mut()
        .insert("content-type", "application/json");
    resp
}

#[tokio::test]
async fn every_page_is_searched_every_profile_deleted_and_none_found_after() {
    let s = search(vec![
        page(&["p1", "p2"], Some("t1")),
        page(&["p3"], None),
        page(&[], None), // the verifying search
    ]);
    let d = deletes(3);
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(domain.erase("u1").await, Ok(Erased::Deleted(3)));
    assert_eq!((s.num_calls(), d.num_calls()), (3, 3));
    assert_eq!(domain.kind(), TargetKind::CustomerProfiles);
    assert_eq!(domain.id(), "d1");
}

#[tokio::test]
async fn no_profile_is_nothing_there_and_nothing_is_deleted() {
    let s = search(vec![page(&[], None), page(&[], None)]);
    let d = deletes(0);
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(domain.erase("u1").await, Ok(Erased::NothingThere));
    assert_eq!(d.num_calls(), 0);
    assert_eq!(domain.preview("u1").await, Ok(Holding::Nothing));
}

#[tokio::test]
async fn a_profile_gone_already_is_not_counted() {
    let s = search(vec![page(&["p1", "p2"], None), page(&[], None)]);
    let d = mock!(Client::delete_profile)
        .sequence()
        .output(|| DeleteProfileOutput::builder().build())
        .http_response(|| wire_error(404, "ResourceNotFoundException"))
        .build();
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(domain.erase("u1").await, Ok(Erased::Deleted(1)));
}

#[tokio::test]
async fn a_profile_still_found_after_two_rounds_is_reported_as_reappeared() {
    let s = search(vec![
        page(&["p1"], None),
        page(&["p9"], None),  // re-created meanwhile: deleted too
        page(&["p10"], None), // and again: reported
    ]);
    let d = deletes(2);
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(domain.erase("u1").await, Ok(Erased::Reappeared(2)));
}

#[tokio::test]
async fn a_throttled_delete_slows_deletes_only_and_is_retried_in_place() {
    let s = search(vec![page(&["p1"], None), page(&[], None)]);
    let d = mock!(Client::delete_profile)
        .sequence()
        .http_response(|| wire_error(429, "ThrottlingException"))
        .output(|| DeleteProfileOutput::builder().build())
        .build();
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(domain.erase("u1").await, Ok(Erased::Deleted(1)));
    let slowed = pace.delete.rate().await;
    assert!(
        slowed < 600.0,
        "halved, then one success crept back: {slowed}"
    );
    assert_eq!(pace.search.rate().await, 1_000.0);
}

#[tokio::test]
async fn a_throttled_search_slows_searches_and_is_the_loops_to_retry() {
    let s = mock!(Client::search_profiles)
        .sequence()
        .http_response(|| wire_error(429, "ThrottlingException"))
        .build();
    let client = client_of(&[&s]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    match domain.erase("u1").await {
        Err(e) => assert_eq!(e.name(), "Throttled"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pace.search.rate().await, 500.0);
}

#[tokio::test]
async fn wire_errors_are_typed_and_never_carry_the_message() {
    for (status, code, name) in [
        (403, "AccessDeniedException", "Forbidden"),
        (500, "InternalServerException", "Transient"),
        (400, "BadRequestException", "Invalid"),
        (404, "ResourceNotFoundException", "NotFound"),
    ] {
        let s = mock!(Client::search_profiles)
            .sequence()
            .http_response(move || wire_error(status, code))
            .repeatedly()
            .build();
        let client = client_of(&[&s]);
        let pace = pacing();
        let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
        match domain.erase("u1").await {
            Err(e) => {
                assert_eq!(e.name(), name, "{code}: {e}");
                assert!(!e.to_string().contains("u1"), "{e}");
            }
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_check_tells_a_missing_domain_from_a_denied_one() {
    let ok = mock!(Client::get_domain)
        .match_requests(|r| r.domain_name() == Some("d1"))
        .then_output(|| {
            GetDomainOutput::builder()
                .domain_name("d1")
                .created_at(aws_smithy_types::DateTime::from_secs(0))
                .last_updated_at(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .expect("a domain")
        });
    let client = client_of(&[&ok]);
    let pace = pacing();
    assert_eq!(
        ProfilesDomain::new(&client, "d1", "_account", &pace)
            .check()
            .await,
        Ok(())
    );
    for (status, code, why) in [
        (404, "ResourceNotFoundException", "domain not found"),
        (403, "AccessDeniedException", "access denied to the domain"),
    ] {
        let rule = mock!(Client::get_domain)
            .sequence()
            .http_response(move || wire_error(status, code))
            .build();
        let client = client_of(&[&rule]);
        let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
        let err = domain.check().await.expect_err("unusable");
        assert_eq!(domain.unusable(&err), why);
    }
}

#[tokio::test]
async fn a_throttled_verifying_search_is_retried_in_place_and_the_count_kept() {
    let s = mock!(Client::search_profiles)
        .sequence()
        .output(|| page(&["p1", "p2"], None))
        .http_response(|| wire_error(429, "ThrottlingException"))
        .output(|| page(&[], None))
        .build();
    let d = deletes(2);
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(domain.erase("u1").await, Ok(Erased::Deleted(2)));
}

#[tokio::test]
async fn profiles_deleted_by_an_attempt_that_failed_count_in_the_next() {
    let s = mock!(Client::search_profiles)
        .sequence()
        .output(|| page(&["p1", "p2"], None))
        .http_response(|| wire_error(500, "InternalServerException")) // the verifying search
        .output(|| page(&[], None)) // the next attempt: both gone
        .build();
    let d = deletes(2);
    let client = client_of(&[&s, &d]);
    let pace = pacing();
    let domain = ProfilesDomain::new(&client, "d1", "_account", &pace);
    assert_eq!(
        domain.erase("u1").await.map_err(|e| e.name()),
        Err("Transient")
    );
    assert_eq!(
        domain.erase("u1").await,
        Ok(Erased::Deleted(2)),
        "counted once, by the attempt that verified them gone"
    );
}
