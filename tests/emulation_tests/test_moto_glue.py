"""What moto_glue.py adds to moto: Lambda invocations forwarded to the function server (here a
stand-in, helpers.FakeLambdas) with crashes and timeouts as Lambda has them, Step Functions running
the ASL against those functions, StopExecution, and S3 notifications delivered asynchronously."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.config import Config

from tests.emulation_tests.helpers import WAIT_MACHINE, Emu, run_execution, start_emulator, state_machine, stop_emulator
from tests.harness import free_port


def test_a_crash_fails_the_invocation_in_flight_and_hold_keeps_new_ones_until_resume(emu):
    emu.function("slow")
    emu.function("echo")
    lam = emu.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", lam.invoke(FunctionName="slow", Payload=b"{}")))
    t.start()
    emu.lambdas.wait_calls("slow", 1)
    assert emu.ctl("POST", "lambda/crash", {"functionName": "slow", "hold": True}) == {"failed": 1}
    t.join(5)
    r = out["r"]
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"])["errorType"] == "Runtime.ExitError"
    # A retry now waits for the new execution environment instead of reaching the dying one.
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", lam.invoke(FunctionName="slow", Payload=b"{}")))
    t.start()
    time.sleep(0.5)
    assert "r" not in held and len(emu.lambdas.calls["slow"]) == 1
    # Other functions are not held.
    assert "FunctionError" not in lam.invoke(FunctionName="echo", Payload=b"{}")
    assert emu.ctl("POST", "lambda/resume", {"functionName": "slow"}) == {"resumed": True}
    t.join(10)
    assert "FunctionError" not in held["r"] and len(emu.lambdas.calls["slow"]) == 2
    assert emu.ctl("POST", "lambda/resume", {"functionName": "slow"}) == {"resumed": False}


def test_an_invocation_past_the_function_timeout_is_sandbox_timedout_and_holds_the_function(emu):
    emu.function("slow")  # sleeps 1.5 s
    lam = emu.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    lam.update_function_configuration(FunctionName="slow", Timeout=1)
    r = lam.invoke(FunctionName="slow", Payload=b"{}")
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"]) == {"errorType": "Sandbox.Timedout",
                                       "errorMessage": "Task timed out after 1.00 seconds"}
    state = emu.ctl("GET", "lambda")
    assert state["held"] == ["slow"]
    assert state["functions"]["slow"]["errors"] == {"Sandbox.Timedout": 1}
    assert 1.0 <= state["functions"]["slow"]["seconds"] < 1.5
    # A retry sent while the function is held (its timeout still 1 s) runs under the timeout in
    # force when the new environment is up: it answers.
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", lam.invoke(FunctionName="slow", Payload=b"{}")))
    t.start()
    time.sleep(0.5)
    assert "r" not in held
    lam.update_function_configuration(FunctionName="slow", Timeout=3)
    assert emu.ctl("POST", "lambda/resume", {"functionName": "slow"}) == {"resumed": True}
    t.join(10)
    assert "FunctionError" not in held["r"], json.load(held["r"]["Payload"])
    assert emu.ctl("GET", "lambda")["held"] == []


def test_invoke_is_forwarded_and_a_handler_error_is_a_function_error(emu):
    emu.function("echo")
    emu.function("boom")
    emu.function("notjson")
    lam = emu.client("lambda")
    r = lam.invoke(FunctionName="echo", Payload=json.dumps({"k": "v"}))
    assert "FunctionError" not in r and json.load(r["Payload"]) == {"fn": "echo", "got": {"k": "v"}}
    r = lam.invoke(FunctionName="boom", Payload=b"{}")
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"]) == {"errorType": "Throttled", "errorMessage": "slow down"}
    r = lam.invoke(FunctionName="notjson", Payload=b"{}")
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"])["errorType"] == "EmulatorForwardError"
    r = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async": true}')
    assert r["StatusCode"] == 202
    assert emu.lambdas.wait_calls("echo", 2)[-1] == {"async": True}


def test_unreachable_forward_target_fails_the_invocation_clearly(tmp_path):
    closed = free_port()
    proc, url, log = start_emulator(f"http://127.0.0.1:{closed}", tmp_path / "emu.log")
    try:
        emu = Emu(url, None, tmp_path / "emu.log")
        emu.function("fn")
        r = emu.client("lambda").invoke(FunctionName="fn", Payload=b"{}")
        err = json.load(r["Payload"])
        assert r["FunctionError"] == "Unhandled" and err["errorType"] == "Lambda.ServiceException"
        assert f"127.0.0.1:{closed}" in err["errorMessage"]
    finally:
        assert stop_emulator(proc, log) == 0  # SIGTERM: a clean exit
    assert "unreachable" in (tmp_path / "emu.log").read_text()


def test_step_functions_task_retry_and_catch_match_the_error_type(emu):
    flaky, echo, boom = emu.function("flaky"), emu.function("echo"), emu.function("boom")
    emu.function("callback")
    definition = {"StartAt": "Flaky", "States": {
        "Flaky": {"Type": "Task", "Resource": flaky, "Next": "Invoke",
                  "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.0}]},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": echo, "Payload.$": "$"}, "ResultSelector": {"p.$": "$.Payload"},
                   "ResultPath": "$.invoked", "Next": "Callback"},
        "Callback": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "callback", "Payload": {}}, "ResultPath": "$.callback",
                     "Next": "Boom"},
        "Boom": {"Type": "Task", "Resource": boom, "ResultPath": "$.never", "End": True,
                 "Catch": [{"ErrorEquals": ["Throttled"], "ResultPath": "$.caught", "Next": "BoomInvoke"}]},
        "BoomInvoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": boom, "Payload.$": "$"}, "End": True,
                       "Catch": [{"ErrorEquals": ["Throttled"], "ResultPath": "$.caught2", "Next": "Done"}]},
        "Done": {"Type": "Pass", "Parameters": {"start.$": "$$.Execution.StartTime", "out.$": "$"}, "End": True},
    }}
    d, history = run_execution(emu, definition, {"user": "someone"})
    assert d["status"] == "SUCCEEDED", (d, history)
    out = json.loads(d["output"])
    assert out["start"].endswith("Z")
    out = out["out"]
    # Resource = function ARN: the output is the function's payload; three tries of "flaky".
    assert out["fn"] == "flaky" and out["got"] == {"user": "someone"}
    assert len(emu.lambdas.calls["flaky"]) == 3
    # lambda:invoke: the output is the Invoke response, {"StatusCode", "ExecutedVersion", "Payload"}.
    assert out["invoked"]["p"] == {"fn": "echo", "got": {"fn": "flaky", "got": {"user": "someone"}}}
    # A function that calls back into the emulator while it is being invoked does not deadlock.
    assert out["callback"]["StatusCode"] == 200 and out["callback"]["Payload"]["got"]["buckets"] == []
    # Error == errorType for both forms; Cause is the error payload as JSON (it carries the message).
    for key in ("caught", "caught2"):
        assert out[key]["Error"] == "Throttled"
        assert json.loads(out[key]["Cause"]) == {"errorType": "Throttled", "errorMessage": "slow down"}
    failed = [e for e in history if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    assert [e["type"] for e in failed] == ["LambdaFunctionFailed"] * 3 + ["TaskFailed"]


def test_step_functions_uncaught_error_fails_the_execution(emu):
    boom = emu.function("boom")
    emu.lambdas.flaky_failures = 10
    flaky = emu.function("flaky")
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": flaky, "Next": "B",
              "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 1}]},
        "B": {"Type": "Task", "Resource": boom, "End": True}}}
    d, _ = run_execution(emu, definition, {})
    assert d["status"] == "FAILED" and d["error"] == "Throttled"
    assert "slow down" in d["cause"]
    assert len(emu.lambdas.calls["flaky"]) == 2 and "boom" not in emu.lambdas.calls


def test_stop_execution_aborts_at_once_even_with_a_task_in_flight(emu):
    sfn = emu.client("stepfunctions")
    slow = emu.function("slow")  # answers after 1.5 s
    waiting = state_machine(emu, "waiting", WAIT_MACHINE)
    tasking = state_machine(emu, "tasking", {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": slow, "Next": "After"}, "After": {"Type": "Task", "Resource": slow,
                                                                          "End": True}}})
    # Unnamed executions get a UUID name, as on AWS (moto's engine would call both "None").
    a = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    b = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    assert a != b and len(a.rsplit(":", 1)[1]) == 36
    t = time.monotonic()
    stopped = sfn.stop_execution(executionArn=a)  # right after the start
    assert time.monotonic() - t < 1.0
    d = sfn.describe_execution(executionArn=a)
    assert d["status"] == "ABORTED" and d["stopDate"] == stopped["stopDate"]
    sfn.stop_execution(executionArn=b)
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=waiting, name="has space")

    c = sfn.start_execution(stateMachineArn=tasking, name="in-flight")["executionArn"]
    emu.lambdas.wait_calls("slow", 1)
    stopped = sfn.stop_execution(executionArn=c)
    d = sfn.describe_execution(executionArn=c)
    assert d["status"] == "ABORTED" and d["stopDate"] == stopped["stopDate"]
    time.sleep(2.0)  # the function answers; the engine runs nothing more
    d = sfn.describe_execution(executionArn=c)
    assert d["status"] == "ABORTED" and d["stopDate"] == stopped["stopDate"]
    assert len(emu.lambdas.calls["slow"]) == 1
    history = [e["type"] for e in sfn.get_execution_history(executionArn=c)["events"]]
    assert history[-1] == "ExecutionAborted" and history.count("TaskStateEntered") == 1
    waited = [e["type"] for e in sfn.get_execution_history(executionArn=a)["events"]]
    assert waited == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]


def test_s3_notification_invokes_the_function_asynchronously(emu):
    arn = emu.function("slow")
    s3 = emu.bucket("erasure-requests")
    s3.put_bucket_notification_configuration(Bucket="erasure-requests", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "Id": "on-request", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "requests/"},
                                               {"Name": "suffix", "Value": ".csv"}]}}}]})
    t = time.monotonic()
    s3.put_object(Bucket="erasure-requests", Key="requests/2026 01/ü+1.csv", Body=b"USER_ID\nu\n")
    assert time.monotonic() - t < 1.0  # the function takes 1.5 s: the PutObject did not wait
    s3.put_object(Bucket="erasure-requests", Key="elsewhere/x.csv", Body=b"x")
    s3.put_object(Bucket="erasure-requests", Key="requests/x.txt", Body=b"x")
    events = emu.lambdas.wait_calls("slow", 1)
    time.sleep(0.5)
    assert len(emu.lambdas.calls["slow"]) == 1
    rec = events[0]["Records"][0]
    assert rec["eventSource"] == "aws:s3" and rec["eventName"] == "ObjectCreated:Put"
    assert rec["awsRegion"] == "us-east-1" and rec["s3"]["configurationId"] == "on-request"
    assert rec["s3"]["bucket"]["name"] == "erasure-requests"
    assert rec["s3"]["bucket"]["arn"] == "arn:aws:s3:::erasure-requests"
    # moto URL-encodes the key with quote_plus: "/" too (AWS leaves "/" as is); decode it.
    assert rec["s3"]["object"]["key"] == "requests%2F2026+01%2F%C3%BC%2B1.csv"
    assert rec["s3"]["object"]["size"] == 10 and rec["s3"]["object"]["eTag"]


def test_s3_notification_retries_a_failed_function_twice(emu):
    arn = emu.function("boom")
    s3 = emu.bucket("erasure-requests")
    s3.put_bucket_notification_configuration(Bucket="erasure-requests", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:Put"]}]})
    s3.put_object(Bucket="erasure-requests", Key="a.csv", Body=b"x")
    assert len(emu.lambdas.wait_calls("boom", 3)) == 3
    time.sleep(0.6)
    assert len(emu.lambdas.calls["boom"]) == 3
