//! Destinations: several in one shard, of several kinds (a Pinpoint application beside a
//! Customer Profiles domain), one that cannot be used, one added later, a preview, a person who
//! comes back after deletion, and the pacing lease.

use super::*;
use crate::payload::REAPPEARED_REASON;
use crate::rate_limit::RateLimiter;

fn domain_with(name: &str, users: usize, profiles: u64) -> FakeTarget {
    let t = FakeTarget::of_kind(TargetKind::CustomerProfiles, name);
    for i in 0..users {
        t.holds(&user(i), profiles);
    }
    t
}

/// The first invocation dies at the failure the store has scripted (a retryable error, which
/// Step Functions retries); the second resumes and finishes.
async fn crash_then_resume(
    store: &MemoryStore,
    targets: &[&FakeTarget],
    spec: ShardSpec,
) -> ShardResult {
    let err = run(store, targets, None, spec.clone()).await.unwrap_err();
    assert!(err.is_retryable());
    run(store, targets, None, spec).await.unwrap()
}

#[tokio::test]
async fn an_application_and_a_domain_of_the_same_name_are_kept_apart() {
    let (store, spec) = shard_of(120, None);
    let app = target_with("same", 120, 1);
    let domain = domain_with("same", 120, 2);
    domain.holds(&user(5), 0);
    domain.always(
        &user(9),
        Behaviour::Fail(ErasureError::Forbidden("denied".into())),
    );
    let out = run(&store, &[&app, &domain], None, spec).await.unwrap();
    let [a, d] = out.targets.as_slice() else {
        panic!("two destinations")
    };
    assert_eq!(
        (a.kind, a.items_deleted, a.failed_users),
        (TargetKind::Pinpoint, 120, 0)
    );
    assert_eq!(
        (
            d.kind,
            d.items_deleted,
            d.users_without_items,
            d.failed_users
        ),
        (TargetKind::CustomerProfiles, 118 * 2, 1, 1)
    );
    // The failed list is the domain's own, not the application's.
    let list = failed_list_of(&store, TargetKind::CustomerProfiles, "same");
    assert_eq!(list, format!("USER_ID,REASON\n{},access denied\n", user(9)));
    let app_list = id().failed_users_key("work/", TargetKind::Pinpoint, "same", 3);
    assert!(store.get_now(BUCKET, &app_list).is_none());
}

#[tokio::test]
async fn a_profile_that_comes_back_is_counted_deleted_and_its_user_reported() {
    let (store, spec) = shard_of(10, Some("exec-1"));
    let domain = domain_with("d1", 10, 2);
    domain.comes_back(&user(4), 1);
    let out = run(&store, &[&domain], None, spec.clone()).await.unwrap();
    let d = &out.targets[0];
    assert_eq!(
        (d.items_deleted, d.failed_users, d.reappeared),
        (20, 1, 1),
        "its deleted profiles count, the user does not count as erased"
    );
    assert_eq!(d.failure_reasons.get(REAPPEARED_REASON), Some(&1));
    let list = failed_list_of(&store, TargetKind::CustomerProfiles, "d1");
    assert_eq!(
        list,
        format!("USER_ID,REASON\n{},{REAPPEARED_REASON}\n", user(4))
    );
    // A new execution asks again (the integration may have stopped re-creating the person).
    let retry = ShardSpec {
        execution: Some("exec-2".into()),
        ..spec
    };
    let d2 = domain_with("d1", 0, 0);
    d2.holds(&user(4), 1);
    let again = run(&store, &[&d2], None, retry).await.unwrap();
    let d = &again.targets[0];
    assert_eq!((d.failed_users, d.reappeared), (0, 0));
    assert_eq!(d2.total_calls(), 1, "only the reported user is asked again");
}

#[tokio::test]
async fn a_crash_mid_shard_resumes_without_counting_anyone_twice_in_either_destination() {
    let (store, spec) = shard_of(250, None);
    let app = target_with("app", 250, 1);
    let domain = domain_with("d1", 250, 3);
    // Three checkpoints in the application, then the domain's first: the next one (its second
    // batch's) is lost, as when the function dies before writing it.
    store.fail_after("PutObject", 4, 1);
    let out = crash_then_resume(&store, &[&app, &domain], spec).await;
    let [a, d] = out.targets.as_slice() else {
        panic!("two destinations")
    };
    assert_eq!((a.users_processed, a.items_deleted), (250, 250));
    // The domain's redone batch finds nobody (deleted before the crash): no profile counted twice.
    assert_eq!(d.users_processed, 250);
    assert_eq!((d.items_deleted, d.users_without_items), (450, 100));
    assert!((0..250).all(|i| app.deletions(&user(i)) == 1 && domain.deletions(&user(i)) == 1));
}

#[tokio::test(start_paused = true)]
async fn the_shard_holds_a_lease_while_it_runs_and_shares_the_quota_with_the_others() {
    let (store, spec) = shard_of(150, None);
    let t = target_with("app", 150, 1);
    let limiter = RateLimiter::for_api("DeleteUserEndpoints", 100.0);
    // Throttles met by an earlier invocation in this environment are not the shard's.
    limiter.throttled().await;
    let budget = Budget::new(vec![(&limiter, 100.0)], 0.2);
    // Another request's shard is erasing at the same time.
    let until = SystemTime::now() + Duration::from_secs(600);
    let other_id: RequestId = "f".repeat(32).parse().expect("an ID");
    let other = crate::pacing::lease_key("work/", until, &other_id, 0);
    store.insert(BUCKET, &other, Vec::new());
    let out = handle(&cfg(), &store, &[&t], &budget, None, spec)
        .await
        .unwrap();
    assert!(out.complete);
    assert_eq!(limiter.ceiling().await, 40.0, "half of 80 % of the quota");
    // The progress object says how the quota was used (what `erasure status` shows).
    let pacing = progress(&store).pacing;
    let [q] = pacing.as_slice() else {
        panic!("one API paced: {pacing:?}")
    };
    assert_eq!(
        (
            q.api.as_str(),
            q.account_rate,
            q.share,
            q.holders,
            q.throttled
        ),
        ("DeleteUserEndpoints", 100.0, 40.0, 2, 0)
    );
    // Its own lease is gone; the other's stays.
    assert_eq!(store.keys_under(BUCKET, "work/pacing/"), vec![other]);
}

#[tokio::test]
async fn an_unusable_destination_lists_its_users_and_the_others_go_on() {
    let (store, spec) = shard_of(3, None);
    let gone = target_with("gone", 3, 1);
    gone.unusable_with(ErasureError::NotFound("no such application".into()));
    let ok = target_with("ok", 3, 1);
    let out = run(&store, &[&gone, &ok], None, spec).await.unwrap();
    assert!(out.complete);
    let [a, b] = out.targets.as_slice() else {
        panic!("two destinations")
    };
    assert_eq!((a.target_id.as_str(), a.failed_users), ("gone", 3));
    assert_eq!(a.failure_reasons.get("destination not found"), Some(&3));
    assert_eq!(a.unusable.as_deref(), Some("destination not found"));
    assert_eq!(b.unusable, None);
    assert_eq!(gone.total_calls(), 0);
    assert_eq!((b.target_id.as_str(), b.items_deleted), ("ok", 3));
    assert_eq!(failed_list(&store, "gone").lines().count(), 4);
}

#[tokio::test]
async fn a_destination_check_that_may_pass_later_fails_the_invocation_for_a_retry() {
    let (store, spec) = shard_of(3, None);
    let t = target_with("app", 3, 1);
    t.unusable_with(ErasureError::Throttled("slow down".into()));
    let err = run(&store, &[&t], None, spec).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(t.total_calls(), 0);
}

/// A shard handed back MAX_SHARD_HANDBACKS times stops: its remaining users are listed as failed
/// with the reason (in the failed list and the counts), none is dropped, and no destination is
/// called, so its child execution's history stays bounded.
/// A destination added to the configuration after the shard was erased elsewhere is erased
/// too; the one already done is not asked again.
#[tokio::test]
async fn a_destination_added_later_is_erased_and_the_done_one_is_not_asked_again() {
    let (store, spec) = shard_of(3, None);
    let first = target_with("first", 3, 1);
    let mut out = run(&store, &[&first], deadline_now(), spec.clone())
        .await
        .unwrap();
    assert!(out.complete);
    // Make the progress look unfinished for the added one: an earlier run that handed back.
    let mut p = progress(&store);
    p.complete = false;
    store.insert(
        BUCKET,
        &id().shard_progress_key("work/", 3),
        serde_json::to_vec(&p).unwrap(),
    );
    let second = target_with("second", 3, 5);
    out = run(&store, &[&first, &second], None, spec).await.unwrap();
    assert_eq!(first.total_calls(), 3);
    assert_eq!(second.total_calls(), 3);
    let ids: Vec<_> = out.targets.iter().map(|a| a.target_id.as_str()).collect();
    assert_eq!(ids, ["first", "second"]);
    assert_eq!(out.targets[1].items_deleted, 15);
}

/// A destination answers what it holds without changing it (the preview a team runs first).
#[tokio::test]
async fn a_preview_reads_without_erasing() {
    use crate::ports::Holding;
    let t = target_with("app", 2, 3);
    t.holds(&user(1), 0);
    let targets = [&t];
    assert_eq!(
        targets[0].preview(&user(0)).await.unwrap(),
        Holding::Items(3)
    );
    assert_eq!(
        targets[0].preview(&user(1)).await.unwrap(),
        Holding::Nothing
    );
    assert_eq!((t.left(&user(0)), t.total_calls()), (3, 0));
}

#[tokio::test]
async fn a_crash_after_a_destination_finished_with_failures_keeps_them_listed() {
    let (store, spec) = shard_of(150, None);
    let app = target_with("app", 150, 1);
    app.always(
        &user(7),
        Behaviour::Fail(ErasureError::Forbidden("denied".into())),
    );
    let domain = domain_with("d1", 150, 1);
    // The application's two checkpoints and its failed list are written; the next write (the
    // record of that list, or before it was made, the domain's first checkpoint) is lost: the
    // function dies with the list written but not recorded.
    store.fail_after("PutObject", 3, 1);
    let out = crash_then_resume(&store, &[&app, &domain], spec).await;
    let a = &out.targets[0];
    assert_eq!(a.failed_users, 1);
    assert_eq!(a.failure_reasons.get("access denied"), Some(&1));
    let key = a
        .failed_users_key
        .as_deref()
        .expect("the failed list is recorded");
    let list = String::from_utf8(store.get_now(BUCKET, key).expect("the list")).expect("utf-8");
    assert_eq!(list, format!("USER_ID,REASON\n{},access denied\n", user(7)));
}

/// A shard of a plan goes through the same loop, but only reads: every user's items are
/// counted, and every destination still holds all of them afterwards.
#[tokio::test]
async fn a_plan_shard_counts_every_users_items_and_erases_nothing() {
    let (store, mut spec) = shard_of(230, None);
    spec.mode = crate::payload::Mode::Plan;
    let first = target_with("first", 230, 2);
    for i in (0..230).step_by(3) {
        first.holds(&user(i), 0);
    }
    let second = target_with("second", 100, 1);
    let out = run(&store, &[&first, &second], None, spec).await.unwrap();
    assert!(out.complete);
    let without = (0..230).step_by(3).count() as u64;
    assert_eq!(out.targets[0].items_deleted, 2 * (230 - without));
    assert_eq!(out.targets[0].users_without_items, without);
    assert_eq!(out.targets[1].items_deleted, 100);
    assert_eq!(out.targets[1].users_without_items, 130);
    assert_eq!((first.total_calls(), second.total_calls()), (0, 0));
    assert_eq!((first.left(&user(1)), second.left(&user(99))), (2, 1));
}
