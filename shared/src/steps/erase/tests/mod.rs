//! The shard loop on the in-memory store and destinations: what is erased, what is left, what a
//! retry, a hand-back or a new execution does, and that the loop knows no Pinpoint.

use std::time::Duration;

use super::*;
use crate::memory::{Behaviour, FakeTarget, MemoryStore};

mod kinds;

const BUCKET: &str = "b";

fn id() -> RequestId {
    RequestId::parse(&"0".repeat(32)).expect("a valid request ID")
}

fn user(i: usize) -> String {
    format!("shard-user-{i}")
}

fn cfg() -> EraseConfig {
    EraseConfig {
        application_ids: vec!["app".into()],
        pinpoint_rate: 100.0,
        profiles: None,
        headroom: 0.0,
        concurrency: 4,
        max_attempts: 3,
        work_prefix: "work/".into(),
        handback_margin: Duration::from_secs(30),
        function_timeout: Duration::from_secs(900),
    }
}

/// The erase step with the tests' settings and no quota to share.
async fn run(
    store: &MemoryStore,
    targets: &[&FakeTarget],
    deadline: Option<SystemTime>,
    spec: ShardSpec,
) -> Result<ShardResult, ErasureError> {
    handle(&cfg(), store, targets, &no_budget(), deadline, spec).await
}

/// No quota to share: no pacing lease (the pacing tests give one).
fn no_budget() -> Budget<'static> {
    Budget::new(vec![], 0.0)
}

/// A store holding shard 3 of `users` users, and its spec.
fn shard_of(users: usize, execution: Option<&str>) -> (MemoryStore, ShardSpec) {
    let store = MemoryStore::default();
    let key = id().shard_key("work/", 3);
    let csv = (0..users).fold("USER_ID\n".to_string(), |mut s, i| {
        s.push_str(&user(i));
        s.push('\n');
        s
    });
    store.insert(BUCKET, &key, csv.into_bytes());
    let spec = ShardSpec {
        mode: Default::default(),
        request_id: "0".repeat(32).parse().unwrap(),
        bucket: BUCKET.into(),
        key,
        index: 3,
        users: users as u64,
        execution: execution.map(String::from),
    };
    (store, spec)
}

/// A destination where every user holds `items` items.
fn target_with(name: &str, users: usize, items: u64) -> FakeTarget {
    let t = FakeTarget::new(name);
    for i in 0..users {
        t.holds(&user(i), items);
    }
    t
}

fn progress(store: &MemoryStore) -> ShardProgress {
    let key = id().shard_progress_key("work/", 3);
    let bytes = store.get_now(BUCKET, &key).expect("a progress object");
    serde_json::from_slice(&bytes).expect("a readable progress object")
}

fn failed_list(store: &MemoryStore, target: &str) -> String {
    failed_list_of(store, TargetKind::Pinpoint, target)
}

fn failed_list_of(store: &MemoryStore, kind: TargetKind, target: &str) -> String {
    let key = id().failed_users_key("work/", kind, target, 3);
    String::from_utf8(store.get_now(BUCKET, &key).expect("a failed list")).expect("utf-8")
}

/// A deadline the loop sees as near from the start.
fn deadline_now() -> Option<SystemTime> {
    Some(SystemTime::now())
}

#[test]
fn backoff_is_bounded() {
    for attempt in 0..20 {
        assert!(backoff(attempt) <= Duration::from_millis(10_000));
    }
    assert!(backoff(1) <= Duration::from_millis(200));
}

#[tokio::test]
async fn every_user_is_erased_once_and_counted() {
    let (store, spec) = shard_of(250, None);
    let t = target_with("app", 250, 2);
    t.holds(&user(7), 0); // one user without data
    let out = run(&store, &[&t], None, spec).await.unwrap();
    assert!(out.complete);
    let [app] = out.targets.as_slice() else {
        panic!("one destination")
    };
    assert_eq!(app.target_id, "app");
    assert_eq!(
        (
            app.users_processed,
            app.items_deleted,
            app.users_without_items,
            app.failed_users
        ),
        (250, 249 * 2, 1, 0)
    );
    assert!((0..250).all(|i| t.left(&user(i)) == 0 && t.calls(&user(i)) == 1));
    assert!(app.failed_users_key.is_none());
    assert!(progress(&store).complete);
    // One progress record per checkpoint, and the last one.
    assert_eq!(store.calls("PutObject"), 3 + 1);
}

#[tokio::test]
async fn no_destination_means_complete_without_any_call() {
    let (store, spec) = shard_of(5, None);
    let none: [&FakeTarget; 0] = [];
    let out = run(&store, &none, None, spec).await.unwrap();
    assert!(out.complete && out.targets.is_empty());
    assert_eq!(store.calls("GetObject") + store.calls("PutObject"), 0);
}

/// An invocation that stops after a checkpoint (here: its deadline is near, so it hands back):
/// the next starts at the recorded position, so the users before it are not asked again and the
/// counts are not doubled.
#[tokio::test]
async fn the_next_invocation_resumes_at_the_last_checkpoint() {
    let (store, spec) = shard_of(250, None);
    let t = target_with("app", 250, 1);
    let first = run(&store, &[&t], deadline_now(), spec.clone())
        .await
        .unwrap();
    assert!(!first.complete, "handed back after one checkpoint");
    assert_eq!(first.targets[0].users_processed, CHECKPOINT_USERS as u64);
    let calls_before = t.total_calls();
    let out = run(&store, &[&t], None, spec).await.unwrap();
    assert!(out.complete);
    assert_eq!(calls_before, CHECKPOINT_USERS as u64);
    assert_eq!(t.total_calls(), 250, "nobody asked twice");
    let app = &out.targets[0];
    assert_eq!((app.users_processed, app.items_deleted), (250, 250));
}

#[tokio::test]
async fn a_failed_checkpoint_write_fails_the_invocation_and_the_retry_redoes_only_that_batch() {
    let (store, spec) = shard_of(250, None);
    let t = target_with("app", 250, 1);
    store.fail_next("PutObject", 1);
    let err = run(&store, &[&t], None, spec.clone()).await.unwrap_err();
    assert!(err.is_retryable(), "Step Functions retries it: {err:?}");
    assert_eq!(t.total_calls(), CHECKPOINT_USERS as u64);
    let out = run(&store, &[&t], None, spec).await.unwrap();
    // The first batch's users are asked again (their deletes were not recorded), and find
    // nothing: deleted once, counted once as without data.
    assert!(out.complete);
    let app = &out.targets[0];
    assert_eq!(app.users_processed, 250);
    assert_eq!(app.items_deleted, 150);
    assert_eq!(app.users_without_items, 100);
    assert!((0..250).all(|i| t.deletions(&user(i)) == 1 && t.left(&user(i)) == 0));
}

/// Throttling is never a user's failure: still throttled at the deadline, the shard is handed
/// back at that user, the users after it already handled are not asked again, and the next
/// invocation erases the throttled one.
#[tokio::test(start_paused = true)]
async fn a_user_throttled_at_the_deadline_is_handed_back_not_failed() {
    let (store, spec) = shard_of(150, None);
    let t = target_with("app", 150, 1);
    t.script(&user(5), vec![Behaviour::Throttle]);
    let first = run(&store, &[&t], deadline_now(), spec.clone())
        .await
        .unwrap();
    assert!(!first.complete);
    let app = &first.targets[0];
    assert_eq!((app.users_processed, app.failed_users), (5, 0));
    let p = progress(&store);
    assert_eq!(p.handbacks, 1);
    assert_eq!(p.targets[0].ahead.len(), CHECKPOINT_USERS - 6);
    let out = run(&store, &[&t], None, spec).await.unwrap();
    assert!(out.complete);
    let app = &out.targets[0];
    assert_eq!(
        (app.users_processed, app.items_deleted, app.failed_users),
        (150, 150, 0)
    );
    assert_eq!(t.calls(&user(5)), 2, "throttled once, then erased");
    assert!(
        (6..150).all(|i| t.calls(&user(i)) == 1),
        "nobody asked twice"
    );
    assert!(progress(&store).targets[0].ahead.is_empty());
}

#[tokio::test(start_paused = true)]
async fn throttling_without_a_deadline_waits_and_erases() {
    let (store, spec) = shard_of(3, None);
    let t = target_with("app", 3, 1);
    t.script(&user(1), vec![Behaviour::Throttle; 20]);
    let out = run(&store, &[&t], None, spec).await.unwrap();
    let app = &out.targets[0];
    assert_eq!((app.items_deleted, app.failed_users), (3, 0));
    assert_eq!(t.calls(&user(1)), 21);
}

#[tokio::test(start_paused = true)]
async fn errors_are_retried_then_the_user_is_listed_with_why() {
    let (store, spec) = shard_of(4, None);
    let t = target_with("app", 4, 1);
    // Transient twice then fine; transient every time; refused at once.
    t.script(
        &user(0),
        vec![Behaviour::Fail(ErasureError::Transient("503".into())); 2],
    );
    t.always(
        &user(1),
        Behaviour::Fail(ErasureError::Transient("503".into())),
    );
    t.always(
        &user(2),
        Behaviour::Fail(ErasureError::Forbidden("no".into())),
    );
    let out = run(&store, &[&t], None, spec).await.unwrap();
    let app = &out.targets[0];
    assert_eq!(
        (app.users_processed, app.items_deleted, app.failed_users),
        (4, 2, 2)
    );
    assert_eq!(t.calls(&user(0)), 3);
    assert_eq!(t.calls(&user(1)), 3, "max_attempts");
    assert_eq!(t.calls(&user(2)), 1, "not retried");
    assert_eq!(
        app.failure_reasons.get("service errors after retries"),
        Some(&1)
    );
    assert_eq!(app.failure_reasons.get("access denied"), Some(&1));
    let list = failed_list(&store, "app");
    assert_eq!(
        list,
        format!(
            "USER_ID,REASON\n{},service errors after retries\n{},access denied\n",
            user(1),
            user(2)
        )
    );
    assert_eq!(
        t.left(&user(1)) + t.left(&user(2)),
        2,
        "left where they were"
    );
}

/// A new execution of the same request (a redrive, a re-upload) tries again only the users the
/// earlier one recorded as failed; the same execution retried returns what it recorded.
#[tokio::test]
async fn a_new_execution_retries_only_the_failed_users() {
    let (store, spec) = shard_of(120, Some("first"));
    let t = target_with("app", 120, 1);
    t.script(
        &user(3),
        vec![Behaviour::Fail(ErasureError::Forbidden("no".into()))],
    );
    t.script(
        &user(110),
        vec![Behaviour::Fail(ErasureError::Forbidden("no".into()))],
    );
    let first = run(&store, &[&t], None, spec.clone()).await.unwrap();
    assert_eq!(first.targets[0].failed_users, 2);
    let again = run(&store, &[&t], None, spec.clone()).await.unwrap();
    assert_eq!(again, first, "the same execution gets its recorded result");
    assert_eq!(t.total_calls(), 120);

    let second = ShardSpec {
        execution: Some("second".into()),
        ..spec
    };
    let out = run(&store, &[&t], None, second).await.unwrap();
    assert!(out.complete);
    assert_eq!(t.total_calls(), 122, "only the two failed users");
    let app = &out.targets[0];
    assert_eq!(
        (app.users_processed, app.items_deleted, app.failed_users),
        (120, 120, 0)
    );
    assert!(app.failed_users_key.is_none(), "no stale failed list");
    assert!(app.failure_reasons.is_empty());
}

#[tokio::test]
async fn a_shard_handed_back_too_often_lists_its_remaining_users_as_failed() {
    let (store, spec) = shard_of(250, None);
    let mut p = ShardProgress {
        targets: vec![TargetProgress::new(TargetKind::Pinpoint, "app")],
        handbacks: limits::MAX_SHARD_HANDBACKS,
        ..Default::default()
    };
    p.targets[0].done = 100;
    p.targets[0].result.items_deleted = 100;
    store.insert(
        BUCKET,
        &id().shard_progress_key("work/", 3),
        serde_json::to_vec(&p).unwrap(),
    );
    let t = target_with("app", 250, 1);
    let out = run(&store, &[&t], None, spec).await.unwrap();
    assert!(out.complete);
    let app = &out.targets[0];
    assert_eq!((app.users_processed, app.failed_users), (250, 150));
    assert_eq!(app.failure_reasons.get(HANDBACKS_SPENT), Some(&150));
    assert_eq!(t.total_calls(), 0);
    let list = failed_list(&store, "app");
    assert_eq!(
        list.lines().count(),
        151,
        "header and every user not erased"
    );
    assert!(list.contains(&format!("{},", user(100))) && list.contains(&format!("{},", user(249))));
    assert!(
        !list.contains(&format!("{},", user(99))),
        "users already erased are not failed"
    );
}

#[tokio::test]
async fn a_shard_that_does_not_hold_its_users_is_refused() {
    let (store, mut spec) = shard_of(3, None);
    spec.users = 4;
    let t = target_with("app", 3, 1);
    let err = run(&store, &[&t], None, spec).await.unwrap_err();
    assert!(matches!(err, ErasureError::Invalid(_)));
    assert_eq!(t.total_calls(), 0);
}
