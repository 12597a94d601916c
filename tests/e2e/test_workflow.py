"""The whole erasure workflow on the local emulation: real ASL in moto's engine, real function
binaries under cargo lambda watch, the project's Personalize and Pinpoint emulation."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from tests.harness import BUCKET, wait_for
from tests.helpers import (assert_only_listed_erased, bucket_left, calls, csv_of, deploy, lookup, seed,
                           user_hash)

pytestmark = pytest.mark.timeout(600)


def test_happy_path_erases_exactly_the_listed_users_and_writes_a_receipt(env):
    dsgs, apps = deploy(env, shard_users=50)
    listed = {f"user-{i:04d}": 1 + i % 3 for i in range(120)}
    seed(env, dsgs, apps, listed)
    body = b"\xef\xbb\xbfUSER_ID\r\n" + b"".join(f" {u} \r\n".encode() for u in listed) + b"user-0001\r\n\r\n"
    env.upload("requests/happy.csv", body)

    result = env.wait_for_execution()
    assert result["status"] == "SUCCEEDED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED" and "reason" not in receipt
    req = receipt["request"]
    assert (req["bucket"], req["key"]) == (BUCKET, "requests/happy.csv")
    assert (req["rows"], req["validUsers"], req["duplicates"], req["rejectedRows"]) == (121, 120, 1, 0)
    assert req["etag"] and req.get("versionId")
    [job] = receipt["personalize"]
    assert job["status"] == "COMPLETED" and job["jobArn"] and job["datasetGroupArn"] == dsgs[0]
    assert job["numDeleted"] == 3 * 120
    [pp] = receipt["pinpoint"]
    assert pp == {
        "applicationId": apps[0],
        "usersProcessed": 120,
        "endpointsDeleted": sum(listed.values()),
        "usersWithoutEndpoints": 0,
        "failedUsers": 0,
    }
    assert receipt["startedAt"] and receipt["finishedAt"] >= receipt["startedAt"][:19]
    assert_only_listed_erased(env, dsgs, apps, listed)
    # No user ID in the receipt.
    text = json.dumps(receipt)
    assert not any(u in text for u in listed)
    # 3 shards of at most 50 users were erased.
    assert len(calls(env, "GetApp")) == 3
    assert len(env.executions()) == 1
    # What was asked: the exact bytes, by SHA-256.
    assert req["sha256"] == hashlib.sha256(body).hexdigest()
    # Evidence: every valid user's keyed hash, in order, and nothing else.
    ev = receipt["evidence"]
    assert ev["hashAlgorithm"] == "HMAC-SHA256-128" and ev["shardUsers"] == 50
    assert ev["userIndex"]["rows"] == 120 and "failedUsers" not in ev
    index = env.evidence(receipt, "userIndex")
    assert hashlib.sha256(index).hexdigest() == ev["userIndex"]["sha256"]
    assert index.decode().splitlines() == [user_hash(u) for u in listed]
    assert not any(u.encode() in index for u in listed)
    # Completed, so the request's copies of user IDs are gone, every version of them: only the
    # receipt and its evidence are left in the bucket.
    assert receipt["purge"]["requestObject"] == "DELETED" and receipt["purge"]["workObjectsDeleted"] >= 5
    versions = env.client("s3").list_object_versions(Bucket=BUCKET)
    left = bucket_left(env)  # and the pacing leases' traces, which hold no user ID
    receipt_key = f"receipts/{result['name']}.json"
    assert left == [receipt_key, receipt_key, f"receipts/{result['name']}.users.txt"]
    # Beside them, when these bytes were first received: the legal clock's start.
    sha = receipt["request"]["sha256"]
    first = json.loads(env.client("s3").get_object(Bucket=BUCKET, Key=f"receipts/received/{sha}.json")["Body"].read())
    assert first["receivedAt"] == receipt["receivedAt"] and receipt["respondBy"]["regime"] == "GDPR"
    # On the legal clock from preparation until COMPLETED: opened, then closed (a delete marker).
    open_key = f"receipts/open/{sha}.json"
    assert [v["Key"] for v in versions["Versions"]].count(open_key) == 1
    assert [m["IsLatest"] for m in versions.get("DeleteMarkers", []) if m["Key"] == open_key] == [True]
    # The receipt was written before the purge (so the record never depends on it), then again
    # with what the purge deleted: the earlier version says the purge was pending.
    [first] = [v for v in versions["Versions"] if v["Key"] == receipt_key and not v["IsLatest"]]
    earlier = json.loads(env.client("s3").get_object(Bucket=BUCKET, Key=receipt_key, VersionId=first["VersionId"])["Body"].read())
    assert earlier["purge"]["requestObject"] == "PENDING" and earlier["outcome"] == "COMPLETED"
    # The functions log JSON lines that carry the execution name, and CloudWatch metrics (EMF).
    lines = [json.loads(l) for l in (env.log_dir / "functions.log").read_text().splitlines()
             if l.startswith("{")]
    mine = {l.get("fields", {}).get("message") for l in lines
            if l.get("span", {}).get("execution") == result["name"]}
    assert {"request prepared", "deletion job checked", "shard erased in application", "receipt written"} <= mine
    emf = [l for l in lines if "_aws" in l]
    assert sum(l.get("JobsCompleted", 0) for l in emf) >= 1
    assert sum(l.get("EndpointsDeleted", 0) for l in emf) >= sum(listed.values())


def s3_event(key: str, put: dict, size: int) -> dict:
    """The S3 event of one upload, as S3 delivers it (again) to the trigger."""
    return {"Records": [{
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-22T10:00:00.000Z",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "s3": {"bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
               "object": {"key": key, "eTag": put["ETag"].strip('"'), "size": size,
                          "versionId": put.get("VersionId")}},
    }]}


def test_the_same_file_uploaded_again_is_erased_again_and_a_redelivered_event_is_not(env):
    """The team sends the same list again after the first request ended (the users came back):
    a new upload (a new version) is a new request, erased again with new jobs and its own
    receipt. A redelivered event of either upload starts nothing."""
    dsgs, apps = deploy(env, groups=2)
    listed = {"dup-a": 1, "dup-b": 2}
    seed(env, dsgs, apps, listed)
    body = csv_of(listed)
    first = env.upload("requests/twice.csv", body)
    one = env.wait_for_execution()
    assert one["status"] == "SUCCEEDED"
    assert_only_listed_erased(env, dsgs, apps, listed)

    for d in dsgs:  # the users came back (the bystanders never left)
        env.seed_records(d, {u: 3 for u in listed})
    for a in apps:
        env.seed_endpoints(a, listed)
    second = env.upload("requests/twice.csv", body)
    wait_for("a second execution", lambda: len(env.executions()) == 2, timeout=60)
    two = env.wait_for_execution(name=next(e["name"] for e in env.executions() if e["name"] != one["name"]))
    assert two["status"] == "SUCCEEDED", two
    assert two["name"] != one["name"]
    receipts = [env.receipt(one["name"]), env.receipt(two["name"])]
    assert [r["outcome"] for r in receipts] == ["COMPLETED", "COMPLETED"]
    assert [r["request"]["versionId"] for r in receipts] == [first["VersionId"], second["VersionId"]]
    assert receipts[0]["request"]["sha256"] == receipts[1]["request"]["sha256"]
    assert_only_listed_erased(env, dsgs, apps, listed)
    # One job per dataset group for each upload: four, all distinct.
    creates = [c for c in calls(env, "CreateDataDeletionJob") if c["status"] == 200]
    assert sorted(c["datasetGroupArn"] for c in creates) == sorted(dsgs * 2)
    assert len({p["jobArn"] for r in receipts for p in r["personalize"]}) == 4

    # Either upload's event delivered again, straight to the trigger: a duplicate each time.
    for put in (first, second):
        out = env.client("lambda").invoke(FunctionName="start-erasure",
                                          Payload=json.dumps(s3_event("requests/twice.csv", put, len(body))).encode())
        summary = json.loads(out["Payload"].read())
        assert summary["started"] == 0 and summary["duplicates"] == 1, summary
    assert len(env.executions()) == 2


def test_a_wrong_header_is_rejected_and_nothing_is_deleted(env):
    dsgs, apps = deploy(env)
    listed = {"rej-a": 2, "rej-b": 1}
    seed(env, dsgs, apps, listed)
    env.upload("requests/bad-header.csv", ("EMAIL\n" + "".join(f"{u}\n" for u in listed)).encode())

    result = env.wait_for_execution()
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "REJECTED"
    assert "header must be USER_ID" in receipt["reason"]
    assert receipt["request"]["rejectionCode"] == "WRONG_HEADER"
    assert receipt["personalize"] == [] and receipt["pinpoint"][0]["usersProcessed"] == 0
    assert calls(env, "CreateDataDeletionJob") == [] and calls(env, "DeleteUserEndpoints") == []
    assert {u: len(v) for u, v in env.endpoints(apps[0]).items() if u in listed} == listed
    assert all(env.records(dsgs[0])[u] == 3 for u in listed)
    listing = env.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="work/")
    assert listing.get("KeyCount", 0) == 0, "a rejected request left work objects behind"


def test_a_failed_deletion_job_fails_the_request_with_its_reason(env):
    dsgs, apps = deploy(env)
    listed = {"fail-a": 1}
    seed(env, dsgs, apps, listed)
    reason = "Simulated: the dataset group's data could not be read"
    env.control("POST", "faults", {"rules": [{"service": "personalize", "fail_job": {"reason": reason}}]})
    env.upload("requests/job-fails.csv", csv_of(listed))

    result = env.wait_for_execution()
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "FAILED"
    [job] = receipt["personalize"]
    assert job["status"] == "FAILED" and job["failureReason"] == reason
    assert reason in receipt["reason"]
    # Pinpoint still ran: the user's endpoints are gone, the Personalize records are not.
    assert not env.endpoints(apps[0]).get("fail-a")
    assert env.records(dsgs[0])["fail-a"] == 3


def test_two_dataset_groups_and_two_pinpoint_applications(env):
    dsgs, apps = deploy(env, groups=2, apps=2)
    listed = {"multi-a": 1, "multi-b": 2, "multi-c": 1}
    seed(env, dsgs, apps, listed)
    env.upload("requests/multi.csv", csv_of(listed))

    result = env.wait_for_execution()
    assert result["status"] == "SUCCEEDED"
    receipt = env.receipt(result["name"])
    assert sorted(p["datasetGroupArn"] for p in receipt["personalize"]) == sorted(dsgs)
    assert all(p["status"] == "COMPLETED" and p["numDeleted"] == 9 for p in receipt["personalize"])
    assert len({p["jobArn"] for p in receipt["personalize"]}) == 2
    assert [p["applicationId"] for p in receipt["pinpoint"]] == apps
    assert all(p["endpointsDeleted"] == 4 and p["failedUsers"] == 0 for p in receipt["pinpoint"])
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_every_object_under_the_request_prefix_ends_in_a_receipt_and_nothing_else_starts(env):
    """S3's suffix filter is case-sensitive, so the notification takes every object under the
    prefix: users.CSV is erased like any CSV file, notes.txt gets a REJECTED receipt (NOT_CSV,
    never read) and is purged. Objects elsewhere, and an empty folder placeholder, start nothing."""
    dsgs, apps = deploy(env)
    listed = {"upper-case-1": 1, "upper-case-2": 1}
    seed(env, dsgs, apps, listed)
    env.upload("requests/UPPER.CSV", csv_of(listed))
    env.upload("requests/notes.txt", b"USER_ID\nnot-a-request-user\n")
    env.upload("work/elsewhere.csv", b"USER_ID\nx\n")
    env.upload("receipts/x.csv", b"USER_ID\nx\n")
    env.client("s3").put_object(Bucket=BUCKET, Key="requests/folder/", Body=b"")
    wait_for("two executions", lambda: len(env.executions()) == 2, timeout=60)
    wait_for("both to end", lambda: all(e["status"] != "RUNNING" for e in env.executions()), timeout=300)
    time.sleep(2)
    by_key = {}
    for e in env.executions():
        r = env.receipt(e["name"])
        by_key[r["request"]["key"]] = (e["status"], r)
    assert set(by_key) == {"requests/UPPER.CSV", "requests/notes.txt"}, "something else started"
    status, upper = by_key["requests/UPPER.CSV"]
    assert (status, upper["outcome"], upper["request"]["validUsers"]) == ("SUCCEEDED", "COMPLETED", 2)
    assert_only_listed_erased(env, dsgs, apps, listed)
    status, notes = by_key["requests/notes.txt"]
    assert (status, notes["outcome"], notes["request"]["rejectionCode"]) == ("FAILED", "REJECTED", "NOT_CSV")
    assert "does not end in .csv" in notes["reason"]
    assert "sha256" not in notes["request"], "a file that is not a request is never read"
    assert notes["purge"]["requestObject"] == "DELETED"
    versions = env.client("s3").list_object_versions(Bucket=BUCKET, Prefix="requests/notes.txt")
    assert not versions.get("Versions"), "the rejected upload is purged like a rejected file"


def test_limit_exceeded_on_create_is_retried_by_the_state_machine(env):
    dsgs, apps = deploy(env)
    listed = {"quota-a": 1}
    seed(env, dsgs, apps, listed)
    # Three answers exhaust the SDK's own 3 attempts; the function then fails with the typed
    # error LimitExceeded, which the state machine retries after its backoff.
    env.control("POST", "faults", {"rules": [
        {"service": "personalize", "operation": "CreateDataDeletionJob", "error": "LimitExceededException", "times": 3},
    ]})
    env.upload("requests/quota.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "SUCCEEDED"
    # The job's child execution of the deletion jobs map retried it (its history is its own).
    errors = [e["lambdaFunctionFailedEventDetails"]["error"] for e in env.child_events(result["executionArn"])
              if e["type"] == "LambdaFunctionFailed"]
    assert errors == ["LimitExceeded"]
    statuses = [c["status"] for c in calls(env, "CreateDataDeletionJob")]
    assert statuses == [400, 400, 400, 200]
    assert env.receipt(result["name"])["personalize"][0]["status"] == "COMPLETED"
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_pinpoint_throttling_is_retried_inside_the_function_and_nobody_is_lost(env):
    dsgs, apps = deploy(env, shard_users=20)
    listed = {f"thr-{i:03d}": 1 for i in range(60)}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "TooManyRequestsException", "probability": 0.3},
    ]})
    env.upload("requests/throttled.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "SUCCEEDED"
    [pp] = env.receipt(result["name"])["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (60, 60, 0)
    throttled = [c for c in calls(env, "DeleteUserEndpoints") if c["status"] == 429]
    assert throttled, "the fault never fired"
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_a_refused_application_lists_its_users_as_failed_and_the_other_is_still_erased(env):
    dsgs, apps = deploy(env, apps=2)
    listed = {"refused-a": 1, "refused-b": 2}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "ForbiddenException",
         "match": {"applicationId": apps[1]}},
    ]})
    env.upload("requests/refused.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "PARTIAL"
    ok, refused = receipt["pinpoint"]
    assert (ok["applicationId"], ok["failedUsers"], ok["endpointsDeleted"]) == (apps[0], 0, 3)
    assert (refused["applicationId"], refused["failedUsers"]) == (apps[1], 2)
    assert refused["failureReasons"] == {"access denied": 2}
    assert "could not be deleted" in receipt["reason"] and apps[1] in receipt["reason"]
    # The failed users are listed in the request's own work folder, not in the receipt.
    [key] = refused["failedUsersKeys"]
    body = env.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert sorted(body.splitlines()[1:]) == ["refused-a,access denied", "refused-b,access denied"]
    assert not any(u in json.dumps(receipt) for u in listed)
    # The receipt's evidence names them by keyed hash only.
    failed = env.evidence(receipt, "failedUsers").decode().splitlines()
    assert failed[0] == "USER_HASH,TARGET_KIND,TARGET_ID,REASON"
    assert sorted(failed[1:]) == sorted(f'{user_hash(u)},pinpoint,{apps[1]},"access denied"' for u in listed)
    # Not completed: the request file and work objects stay for a retry (the lifecycle expires them).
    assert receipt["purge"] == {"requestObject": "KEPT", "workObjectsDeleted": 0}
    env.client("s3").head_object(Bucket=BUCKET, Key="requests/refused.csv")
    # An operator with the key asks about both users and one who was never in the request.
    answer = lookup(env, receipt, ["refused-a", "nobody-at-all"])
    assert answer.returncode == 1, answer.stderr
    out = answer.stdout
    assert "input line 1: IN THIS REQUEST" in out and "input line 2: NOT IN THIS REQUEST" in out
    assert f"pinpoint {apps[1]}: FAILED: access denied" in out
    assert f"pinpoint {apps[0]}: ERASED" in out and "COMPLETED (job arn:" in out
    assert "refused-a" not in out and "nobody-at-all" not in out
    assert lookup(env, receipt, ["refused-b"]).returncode == 0
    assert not any(env.endpoints(apps[0]).get(u) for u in listed)
    assert {u: len(env.endpoints(apps[1]).get(u, [])) for u in listed} == listed
