"""The control API and routing (app.py): health, what reaches moto, the S3 request counts, reset."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config

from tests.emulation import ACCOUNT
from tests.emulation_tests.helpers import http, run_execution


def test_health(emulator):
    assert http("GET", f"{emulator.url}/_emulator/health")[0] == 200


def test_other_personalize_operations_go_to_moto(emu):
    p = emu.client("personalize")
    schema = json.dumps({"type": "record", "name": "Users", "namespace": "com.amazonaws.personalize.schema",
                         "fields": [{"name": "USER_ID", "type": "string"}], "version": "1.0"})
    arn = p.create_schema(name="users", schema=schema)["schemaArn"]
    assert p.describe_schema(schemaArn=arn)["schema"]["name"] == "users"


def test_every_signed_s3_request_is_counted_by_operation(emu):
    s3 = emu.client("s3", config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    emu.ctl("POST", "reset")
    s3.create_bucket(Bucket="counted")
    for i in range(3):
        s3.put_object(Bucket="counted", Key=f"work/{i}", Body=b"x")
    s3.get_object(Bucket="counted", Key="work/0")
    s3.head_object(Bucket="counted", Key="work/1")
    s3.list_objects_v2(Bucket="counted", Prefix="work/")
    s3.delete_object(Bucket="counted", Key="work/2")
    # A request a fault rule answers is counted too: S3 would have billed it.
    emu.ctl("POST", "faults", {"rules": [{"service": "s3", "operation": "GetObject", "error": "SlowDown", "times": 1}]})
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_object(Bucket="counted", Key="work/0")
    assert emu.ctl("GET", "s3/counts")["counts"] == {
        "CreateBucket": 1, "PutObject": 3, "GetObject": 2, "HeadObject": 1, "ListObjectsV2": 1, "DeleteObject": 1}
    assert emu.calls(service="s3") == [c for c in emu.calls(service="s3") if c.get("injected")]  # the log: rule hits only


def test_reset_clears_everything(emu):
    dsg = emu.dataset_group()
    emu.bucket()
    emu.ctl("POST", "faults", {"rules": [{"service": "pinpoint", "error": "ForbiddenException"}]})
    emu.ctl("POST", "pinpoint/config", {"rate": 1})
    emu.ctl("POST", "events/rules", {"rules": [{
        "stateMachineArn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:x", "statuses": ["FAILED"],
        "functionName": "f"}]})
    emu.ctl("POST", "reset")
    assert emu.ctl("GET", "events/rules") == {"rules": []}
    assert emu.ctl("GET", "events/deliveries") == {"deliveries": []}
    assert emu.client("s3").list_buckets()["Buckets"] == []
    assert emu.ctl("GET", "faults") == {"rules": []}
    assert emu.ctl("GET", "calls") == []
    assert emu.ctl("GET", "s3/counts") == {"counts": {"ListBuckets": 1}}  # the list_buckets above only
    assert emu.ctl("GET", "pinpoint/config")["rate"] is None
    assert emu.ctl("GET", "personalize/config")["pending_seconds"] == 2.0
    status, _, _ = http("GET", f"{emu.url}/_emulator/personalize/records?datasetGroupArn={dsg}")
    assert status == 400
    # Step Functions still executes ASL after moto's reset.
    d, _ = run_execution(emu, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"a": 1})
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"a": 1}
