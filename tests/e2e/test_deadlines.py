"""Issue 19's legal clock through the whole workflow: a request not COMPLETED stays on record
(receipts/open/<sha256>.json) with its latest outcome; the deadline watcher (the scheduled
watch-deadlines function, invoked here as its schedule would) counts it, and names it once its
respondBy date is near or past; the request's retry COMPLETES it and closes the record, and the
watcher then counts nothing open. The alarm on the watcher's metric is in template.yaml
(RequestsNearDeadlineAlarm), checked by cfn-lint and tests/cfn."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.harness import BUCKET
from tests.helpers import csv_of, deploy, seed

pytestmark = pytest.mark.timeout(600)

# What EventBridge sends on a schedule ("Amazon EventBridge events": Scheduled Event); the
# watcher does not read it.
SCHEDULED = {"version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": "123456789012", "time": "2026-12-02T10:00:00Z",
             "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/hourly"],
             "detail": {}}


def open_record(env, sha: str) -> dict | None:
    s3 = env.client("s3")
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=f"receipts/open/{sha}.json")["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def test_a_request_not_completed_is_watched_until_its_retry_completes_it(env):
    dsgs, apps = deploy(env, shard_users=5)
    listed = {f"clock-user-{i:02d}": 1 for i in range(8)}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [{"service": "pinpoint", "operation": "DeleteUserEndpoints",
                                              "error": "ForbiddenException", "times": 3}]})
    body = csv_of(listed)
    sha = hashlib.sha256(body).hexdigest()
    env.upload("requests/clock.csv", body)
    first = env.wait_for_execution(timeout=300)
    receipt = env.receipt(first["name"])
    assert receipt["outcome"] == "PARTIAL"

    # On record: when it was received (the receipt's receivedAt), its deadline (what `erasure
    # status --list` shows), its latest outcome and receipt.
    record = open_record(env, sha)
    assert record == {"requestSha256": sha, "receivedAt": receipt["receivedAt"],
                      "requestId": receipt["requestId"], "lastOutcome": "PARTIAL",
                      "lastReceipt": f"receipts/{first['name']}.json", "respondBy": receipt["respondBy"]}
    assert "clock-user" not in json.dumps(record)

    # Received today: a GDPR month away, more than the default 7 days: open, not near.
    watch = env.invoke("watch-deadlines", SCHEDULED)
    assert (watch["open"], watch["nearDeadline"], watch["pastDue"], watch["near"]) == (1, 0, 0, [])

    # The same record, received 40 days ago: past its due date, and named.
    record["receivedAt"] = "2026-10-01T09:00:00Z"
    env.client("s3").put_object(Bucket=BUCKET, Key=f"receipts/open/{sha}.json", Body=json.dumps(record).encode())
    watch = env.invoke("watch-deadlines", SCHEDULED)
    assert (watch["open"], watch["nearDeadline"], watch["pastDue"]) == (1, 1, 1)
    [near] = watch["near"]
    # 1 October 2026 + one month = Sunday 1 November → Monday 2 November (Regulation 1182/71).
    assert near["requestSha256"] == sha and near["due"] == "2026-11-02" and near["daysLeft"] < 0
    assert (near["lastOutcome"], near["lastReceipt"]) == ("PARTIAL", f"receipts/{first['name']}.json")

    # The retry (what `erasure retry` starts: the same input under a new name) completes it and
    # closes the record: a delete marker over its versions, nothing current.
    name = f"{first['name']}-retry-1"
    env.client("stepfunctions").start_execution(stateMachineArn=env.state_machine_arn, name=name,
                                                input=first["input"])
    env.wait_for_execution(timeout=300, name=name)
    assert env.receipt(name)["outcome"] == "COMPLETED"
    assert open_record(env, sha) is None
    versions = env.client("s3").list_object_versions(Bucket=BUCKET, Prefix="receipts/open/")
    assert [m["Key"] for m in versions.get("DeleteMarkers", []) if m["IsLatest"]] == [f"receipts/open/{sha}.json"]
    watch = env.invoke("watch-deadlines", SCHEDULED)
    assert (watch["open"], watch["nearDeadline"], watch["near"]) == (0, 0, [])
