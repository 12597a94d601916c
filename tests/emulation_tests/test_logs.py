"""The emulation's log (logs.py): no user ID reaches it, from any service or from moto's engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.emulation_tests.helpers import NO_RETRY, create_job, run_execution, wait_status


def test_logs_never_carry_user_ids(emu):
    secret = "pii-7f3a9c-user"
    p = emu.client("personalize")
    pp = emu.client("pinpoint", config=NO_RETRY)
    dsg = emu.dataset_group()
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {secret: 1}})
    s3 = emu.bucket()
    s3.put_object(Bucket="erasure-input", Key="x.csv", Body=f"USER_ID\n{secret}\n".encode())
    s3.put_object(Bucket="erasure-input", Key="bad.csv", Body=f"USER_ID\n{secret},x\n".encode())
    good, bad = create_job(p, "good", dsg, "s3://erasure-input/x.csv"), create_job(p, "bad", dsg, "s3://erasure-input/bad.csv")
    app_id = pp.create_app(CreateApplicationRequest={"Name": "a"})["ApplicationResponse"]["Id"]
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": app_id, "users": {secret: 2}})
    pp.delete_user_endpoints(ApplicationId=app_id, UserId=secret)
    with pytest.raises(pp.exceptions.NotFoundException):
        pp.delete_user_endpoints(ApplicationId=app_id, UserId=secret)
    emu.function("boom")
    emu.client("lambda").invoke(FunctionName="boom", Payload=json.dumps({"user": secret}))
    # moto's Step Functions engine logs a failure with its Cause, which here quotes the user.
    leaky = emu.function("leaky")
    d, _ = run_execution(emu, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": leaky, "End": True}}},
                         {"user": secret})
    assert d["status"] == "FAILED" and secret in d["cause"]
    assert wait_status(p, good, {"COMPLETED", "FAILED"})["numDeleted"] == 1
    assert wait_status(p, bad, {"COMPLETED", "FAILED"})["status"] == "FAILED"
    time.sleep(0.3)
    log = Path(emu.log_path).read_text()
    assert "personalize deletion job COMPLETED" in log
    assert "message withheld" in log  # the engine's failure line was there, without its text
    assert secret not in log
