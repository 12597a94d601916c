"""S3's side of a request: awkward keys, empty objects, versions, and the pending-jobs quota."""

from __future__ import annotations

import json

import pytest

from tests.harness import AppConfig, Stack, wait_for

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def deployed(env: Stack):
    dsg = env.dataset_group("edges")
    app = env.pinpoint_app("edges")
    return env, dsg, app


def ended(stack: Stack, n: int):
    wait_for(f"{n} executions", lambda: len(stack.executions()) >= n, timeout=120)
    wait_for("every execution to end", lambda: all(e["status"] != "RUNNING" for e in stack.executions()),
             timeout=300, interval=1)
    return {e["name"]: stack.receipt(e["name"]) for e in stack.executions()}


def test_keys_with_spaces_unicode_plus_and_percent_reach_the_workflow_intact(deployed):
    stack, dsg, app = deployed
    stack.deploy(AppConfig(dataset_group_arns=[dsg], application_ids=[app]))
    stack.seed_endpoints(app, {"k1": 1})
    key = "requests/ticket 42 – Jürgen+50% (copy).csv"
    stack.upload(key, b"USER_ID\nk1\n")
    [receipt] = ended(stack, 1).values()
    assert receipt["outcome"] == "COMPLETED"
    assert receipt["request"]["key"] == key


def test_an_empty_object_is_rejected_visibly(deployed):
    stack, dsg, app = deployed
    stack.deploy(AppConfig(dataset_group_arns=[dsg], application_ids=[app]))
    stack.upload("requests/empty.csv", b"")
    [receipt] = ended(stack, 1).values()
    assert receipt["outcome"] == "REJECTED" and receipt["request"]["rejectionCode"] == "EMPTY"


def test_each_version_is_read_exactly_as_uploaded(deployed):
    stack, dsg, app = deployed
    stack.deploy(AppConfig(dataset_group_arns=[dsg], application_ids=[app]))
    stack.seed_endpoints(app, {"v1-a": 1, "v2-a": 1, "v2-b": 1})
    first = stack.upload("requests/versions.csv", b"USER_ID\nv1-a\n")
    second = stack.upload("requests/versions.csv", b"USER_ID\nv2-a\nv2-b\n")
    receipts = ended(stack, 2)
    by_version = {r["request"]["versionId"]: r for r in receipts.values()}
    assert set(by_version) == {first["VersionId"], second["VersionId"]}
    assert by_version[first["VersionId"]]["request"]["validUsers"] == 1
    assert by_version[second["VersionId"]]["request"]["validUsers"] == 2
    assert all(r["outcome"] == "COMPLETED" for r in receipts.values())
    assert stack.endpoints(app) == {}


def test_many_parts_never_exceed_the_pending_jobs_quota(deployed):
    stack, dsg, app = deployed
    # Parts of 2 users (8 header bytes + 2 × 13): 10 jobs in one dataset group; the quota is 5 pending.
    stack.control("POST", "personalize/config", {"pending_seconds": 2, "in_progress_seconds": 1})
    stack.deploy(AppConfig(dataset_group_arns=[dsg], application_ids=[app], max_part_bytes=40))
    users = [f"part-user-{i:02d}" for i in range(20)]
    stack.seed_records(dsg, {u: 1 for u in users})
    stack.upload("requests/many-parts.csv", ("USER_ID\n" + "".join(f"{u}\n" for u in users)).encode())
    [receipt] = ended(stack, 1).values()
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    assert len(receipt["personalize"]) == 10
    assert sum(p["numDeleted"] for p in receipt["personalize"]) == 20
    creates = [c for c in stack.control("GET", "calls") if c["operation"] == "CreateDataDeletionJob"]
    assert [c["status"] for c in creates] == [200] * 10, "the quota was discovered by failing"
    assert stack.records(dsg) == {}


def test_a_request_larger_than_a_part_is_split_and_written_in_multipart_pieces(deployed):
    """20 MB of IDs with 12 MB parts: two parts, each uploaded to S3 in 8 MiB multipart pieces
    (the prepare function never holds a whole part), and together exactly the distinct IDs."""
    stack, dsg, app = deployed
    stack.deploy(AppConfig(dataset_group_arns=[dsg], application_ids=[app],
                           max_part_bytes=12_000_000, shard_users=200_000, max_request_users=1_000_000))
    ids = [f"big-user-{i:09d}-{'x' * 8}" for i in range(650_000)]
    body = ("USER_ID\n" + "\n".join(ids) + "\n" + ids[7] + "\n").encode()
    key = "requests/big.csv"
    s3 = stack.client("s3")
    # The trigger off, so that only this direct invocation prepares the file (under the request
    # prefix, where the prepare function's role may read it).
    s3.put_bucket_notification_configuration(Bucket="erasure-requests", NotificationConfiguration={})
    s3.put_object(Bucket="erasure-requests", Key=key, Body=body)
    head = s3.head_object(Bucket="erasure-requests", Key=key)
    request_id = "fedcba9876543210fedcba9876543210"
    prepared = stack.invoke("prepare-request", {"request": {
        "bucket": "erasure-requests", "key": key, "versionId": head["VersionId"],
        "etag": head["ETag"].strip('"'), "size": head["ContentLength"], "requestId": request_id}})
    assert prepared["verdict"] == "ACCEPTED"
    assert prepared["stats"]["validUsers"] == 650_000
    assert prepared["stats"]["duplicates"] == 1
    # The job list is in S3 (the jobs map reads it), not in the state payload.
    manifest = prepared["jobs"]["manifest"]
    jobs = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
    assert prepared["jobs"]["count"] == 2 and "personalizeJobs" not in prepared
    assert [j["part"] for j in jobs] == [0, 1]
    assert sum(j["users"] for j in jobs) == 650_000
    seen = []
    for j in jobs:
        part_key = j["dataLocation"].split("erasure-requests/", 1)[1]
        obj = s3.get_object(Bucket="erasure-requests", Key=part_key)
        data = obj["Body"].read()
        assert len(data) <= 12_000_000
        # A multipart object's ETag ends in -<pieces>: the first part (12 MB) took two pieces.
        if j["part"] == 0:
            assert obj["ETag"].strip('"').endswith("-2"), obj["ETag"]
        lines = data.decode().split("\n")
        assert lines[0] == "USER_ID" and lines[-1] == ""
        seen.extend(lines[1:-1])
    assert seen == ids
