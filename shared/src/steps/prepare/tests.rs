//! Preparation on the in-memory store: what it writes for an accepted request (parts, shards,
//! manifests, the user index, its own copy), what a rejected one leaves (nothing), and the
//! edges of the split.

use super::*;
use crate::memory::MemoryStore;
use crate::naming::RequestId;
use crate::payload::RequestObject;
use crate::payload::ShardSpec;
use crate::request_csv::read_all;

const BUCKET: &str = "b";
const GROUPS: [&str; 2] = ["arn:dsg/one", "arn:dsg/two"];

fn id() -> RequestId {
    RequestId::parse(&"0".repeat(32)).expect("a valid request ID")
}

fn cfg(shard_users: u64, max_part_bytes: u64) -> PrepareConfig {
    PrepareConfig {
        uploader_role_arns: Vec::new(),
        work_prefix: "work/".into(),
        receipt_prefix: "receipts/".into(),
        max_request_bytes: 1 << 20,
        max_request_users: 10_000,
        limits: SplitLimits {
            max_part_bytes,
            shard_users,
        },
        policy: BadRowPolicy::RejectFile,
        dataset_group_arns: GROUPS.iter().map(|g| g.to_string()).collect(),
        regime: crate::legal_clock::Regime::Gdpr,
        shard_concurrency: 4,
    }
}

fn csv_of(users: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut s = "USER_ID\n".to_string();
    for u in users {
        s.push_str(&u);
        s.push('\n');
    }
    s.into_bytes()
}

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("prep-user-{i:04}")).collect()
}

/// The request uploaded as `key` with this body, and the execution input naming it.
fn upload(store: &MemoryStore, key: &str, body: Vec<u8>) -> ExecutionInput {
    let size = body.len() as u64;
    let version = store.insert(BUCKET, key, body);
    ExecutionInput {
        request: RequestObject {
            mode: Default::default(),
            uploader: None,
            bucket: BUCKET.into(),
            key: key.into(),
            version_id: Some(version),
            etag: "etag".into(),
            size,
            request_id: "0".repeat(32).parse().unwrap(),
            sha256: None,
        },
        execution: Some(crate::payload::ExecutionFacts {
            name: "exec-1".into(),
            start_time: String::new(),
        }),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(store: &MemoryStore, key: &str) -> T {
    serde_json::from_slice(&store.get_now(BUCKET, key).expect("the object")).expect("JSON")
}

fn ids_in(store: &MemoryStore, key: &str) -> Vec<String> {
    let body = store.get_now(BUCKET, key).expect("the object");
    read_all(&body, BadRowPolicy::RejectFile).ids
}

fn work_folder() -> String {
    id().work_folder("work/")
}

#[tokio::test]
async fn an_accepted_request_writes_its_parts_shards_and_manifests() {
    let store = MemoryStore::default();
    let mut listed = users(25);
    listed.push("prep-user-0003".into()); // a duplicate
    let input = upload(&store, "requests/a.csv", csv_of(listed));
    let p = handle(&cfg(10, 1 << 20), &store, None, input)
        .await
        .unwrap();
    assert_eq!(p.verdict, Verdict::Accepted);
    assert_eq!((p.stats.valid_users, p.stats.duplicates), (25, 1));
    assert!(p.request.sha256.is_some());

    // One part (it fits), erased in each dataset group.
    let jobs: Vec<JobSpec> = read_json(&store, &id().job_manifest_key("work/"));
    assert_eq!(jobs.len(), 2);
    assert_eq!(p.jobs.as_ref().map(|j| j.count), Some(2));
    let part_key = id().part_key("work/", jobs[0].part);
    assert_eq!(jobs[0].data_location, format!("s3://{BUCKET}/{part_key}"));
    assert_eq!(ids_in(&store, &part_key), users(25));

    // Three shards of 10, 10 and 5, each naming this execution; together every user once.
    let shards: Vec<ShardSpec> = read_json(&store, &id().manifest_key("work/"));
    let sizes: Vec<u64> = shards.iter().map(|s| s.users).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert!(shards
        .iter()
        .all(|s| s.execution.as_deref() == Some("exec-1")));
    let all: Vec<String> = shards.iter().flat_map(|s| ids_in(&store, &s.key)).collect();
    assert_eq!(all, users(25));

    // Its own copy, for a receipt written after an execution ended early.
    let copy: Prepared = read_json(&store, &id().prepared_key("work/"));
    assert_eq!(copy, p);
    // Nothing written outside the work folder without a hasher, and without a start time
    // (neither an upload time nor an execution start) no clock to open.
    assert!(store.keys_under(BUCKET, "receipts/").is_empty());
}

#[tokio::test]
async fn an_accepted_request_is_on_the_legal_clock_and_a_plan_or_rejected_file_is_not() {
    let start = |input: &mut ExecutionInput| {
        if let Some(e) = input.execution.as_mut() {
            e.start_time = "2026-12-01T09:30:00Z".into();
        }
    };
    let store = MemoryStore::default();
    let mut input = upload(&store, "requests/a.csv", csv_of(users(3)));
    start(&mut input);
    let p = handle(&cfg(10, 1 << 20), &store, None, input)
        .await
        .unwrap();
    let sha = p.request.sha256.clone().expect("hashed");
    let open: crate::open_requests::OpenRequest =
        read_json(&store, &crate::open_requests::key("receipts/", &sha));
    assert_eq!(open.received_at, "2026-12-01T09:30:00Z");
    assert_eq!((open.request_id, open.last_outcome), (id(), None));
    // Its deadline under the deployment's regime (GDPR here): one calendar month.
    let due = open.respond_by.map(|r| (r.regime, r.due));
    assert_eq!(due, Some(("GDPR".into(), "2027-01-01".into())));

    let store = MemoryStore::default();
    let mut plan = upload(&store, "plans/a.csv", csv_of(users(3)));
    plan.request.mode = crate::payload::Mode::Plan;
    start(&mut plan);
    handle(&cfg(10, 1 << 20), &store, None, plan).await.unwrap();
    let mut bad = upload(
        &store,
        "requests/b.csv",
        b"USER_ID\nok\n\"unterminated\n".to_vec(),
    );
    start(&mut bad);
    let p = handle(&cfg(10, 1 << 20), &store, None, bad).await.unwrap();
    assert_eq!(p.verdict, Verdict::Rejected);
    assert!(store.keys_under(BUCKET, "receipts/").is_empty());
}

#[tokio::test]
async fn shards_split_at_exactly_the_configured_size() {
    for (n, expected) in [(1usize, vec![1u64]), (10, vec![10]), (11, vec![10, 1])] {
        let store = MemoryStore::default();
        let input = upload(&store, "requests/a.csv", csv_of(users(n)));
        let p = handle(&cfg(10, 1 << 20), &store, None, input)
            .await
            .unwrap();
        let shards: Vec<ShardSpec> = read_json(&store, &id().manifest_key("work/"));
        let sizes: Vec<u64> = shards.iter().map(|s| s.users).collect();
        assert_eq!(sizes, expected, "{n} users");
        assert_eq!(
            p.shards.as_ref().map(|s| s.map.count),
            Some(expected.len() as u64)
        );
    }
}

#[tokio::test]
async fn parts_stay_within_the_byte_limit_and_every_part_is_a_job_per_group() {
    let store = MemoryStore::default();
    store.set_chunk_bytes(100);
    let input = upload(&store, "requests/a.csv", csv_of(users(200)));
    // Each row is 15 bytes: 200 users need several parts of at most 512 bytes.
    let p = handle(&cfg(1000, 512), &store, None, input).await.unwrap();
    let jobs: Vec<JobSpec> = read_json(&store, &id().job_manifest_key("work/"));
    let parts = jobs.len() / GROUPS.len();
    assert!(parts > 5, "{parts} parts");
    assert_eq!(p.jobs.as_ref().map(|j| j.count), Some(jobs.len() as u64));
    let mut seen = Vec::new();
    for job in jobs.iter().filter(|j| j.dataset_group_arn == GROUPS[0]) {
        let key = id().part_key("work/", job.part);
        let body = store.get_now(BUCKET, &key).expect("the part");
        assert!(
            body.len() <= 512,
            "part {} is {} bytes",
            job.part,
            body.len()
        );
        let ids = ids_in(&store, &key);
        assert_eq!(ids.len() as u64, job.users);
        seen.extend(ids);
    }
    assert_eq!(seen, users(200), "every user in exactly one part, in order");
}

#[tokio::test]
async fn a_bad_row_rejects_the_file_and_leaves_nothing_behind() {
    let store = MemoryStore::default();
    store.set_chunk_bytes(64);
    let mut body = csv_of(users(100));
    body.extend_from_slice(b"\"unterminated\n");
    let input = upload(&store, "requests/a.csv", body);
    // Small shards: some were written before the bad row was read.
    let p = handle(&cfg(5, 1 << 20), &store, None, input).await.unwrap();
    assert_eq!(p.verdict, Verdict::Rejected);
    assert!(p.reason_code.is_some());
    assert!(p.jobs.is_none() && p.shards.is_none());
    assert!(
        store.calls("PutObject") > 0,
        "shards were written on the way"
    );
    assert_eq!(store.versions_under(BUCKET, &work_folder()), 0);
}

#[tokio::test]
async fn a_file_that_is_not_csv_or_too_large_is_rejected_unread() {
    let store = MemoryStore::default();
    let input = upload(&store, "requests/a.xlsx", csv_of(users(3)));
    let p = handle(&cfg(10, 1 << 20), &store, None, input)
        .await
        .unwrap();
    assert_eq!(p.reason_code.as_deref(), Some("NOT_CSV"));

    let mut input = upload(&store, "requests/b.csv", csv_of(users(3)));
    input.request.size = (1 << 20) + 1;
    let p = handle(&cfg(10, 1 << 20), &store, None, input)
        .await
        .unwrap();
    assert_eq!(p.reason_code.as_deref(), Some("TOO_LARGE"));
    assert_eq!(store.calls("GetObject"), 0);
}

/// The event said small, the object is larger (or grew): the bytes read decide.
#[tokio::test]
async fn a_file_larger_than_its_event_said_is_rejected_and_its_work_removed() {
    let store = MemoryStore::default();
    store.set_chunk_bytes(1000);
    let mut input = upload(&store, "requests/a.csv", csv_of(users(100)));
    input.request.size = 10;
    let mut c = cfg(5, 1 << 20);
    c.max_request_bytes = 1200;
    let p = handle(&c, &store, None, input).await.unwrap();
    assert_eq!(p.reason_code.as_deref(), Some("TOO_LARGE"));
    assert_eq!(store.versions_under(BUCKET, &work_folder()), 0);
}

#[tokio::test]
async fn the_user_index_holds_one_keyed_hash_per_user_and_no_id() {
    let store = MemoryStore::default();
    let hasher = UserHasher::new(&[7u8; 32]).unwrap();
    let input = upload(&store, "requests/a.csv", csv_of(users(30)));
    let p = handle(&cfg(10, 1 << 20), &store, Some(&hasher), input)
        .await
        .unwrap();
    let ix = p.user_index.expect("a user index");
    assert_eq!(ix.rows, 30);
    let body = store.get_now(BUCKET, &ix.key).expect("the index");
    assert_eq!(ix.sha256, hex::encode(Sha256::digest(&body)));
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], hasher.hash("prep-user-0000"));
    assert_eq!(lines.len(), 30);
    assert!(!text.contains("prep-user"));
}

#[tokio::test]
async fn a_store_failure_fails_the_step_for_a_retry_that_writes_the_same_objects() {
    let store = MemoryStore::default();
    let input = upload(&store, "requests/a.csv", csv_of(users(25)));
    store.fail_next("PutObject", 1);
    let err = handle(&cfg(10, 1 << 20), &store, None, input.clone())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let p = handle(&cfg(10, 1 << 20), &store, None, input)
        .await
        .unwrap();
    assert_eq!(p.verdict, Verdict::Accepted);
    let shards: Vec<ShardSpec> = read_json(&store, &id().manifest_key("work/"));
    assert_eq!(shards.len(), 3);
    let keys = store.keys_under(BUCKET, &work_folder());
    // 1 part, 3 shards, 2 manifests, the prepared copy: the same keys whatever the attempt.
    assert_eq!(keys.len(), 7, "{keys:?}");
}

#[tokio::test]
async fn a_request_replaced_since_its_upload_is_not_read() {
    let store = MemoryStore::default();
    let mut input = upload(&store, "requests/a.csv", csv_of(users(3)));
    input.request.version_id = Some("v-gone".into());
    let err = handle(&cfg(10, 1 << 20), &store, None, input)
        .await
        .unwrap_err();
    assert!(matches!(err, ErasureError::NotFound(_)));
    assert_eq!(store.versions_under(BUCKET, &work_folder()), 0);
}
