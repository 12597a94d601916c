"""Step Functions and Lambda at their hard limits in the emulation (sfn_limits.py, events.py): a
state machine at a boundary passes or fails the way AWS documents. Pass/Choice/Map/Parallel state
machines need no function; the Lambda payload tests use the stand-in function server's `sized`
function (helpers.FakeLambdas).
"""

from __future__ import annotations

import json
import re
import time

import pytest
from botocore.config import Config

from tests.cfn import emulated
from tests.emulation import ACCOUNT
from tests.emulation_tests.helpers import SFN_ROLE, http
from tests.harness import ROOT

LIMIT = 262_144
HISTORY_CAUSE = "The execution reached the maximum number of history events (25000)."
LAMBDA_RESPONSE_LIMIT = 6_291_556
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
UUID3 = r"[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def execute(emu, definition, payload=None, name=None, timeout=60.0, last=None):
    """(describe_execution, history) of one execution of `definition` run to its end; with `last`,
    only the history's last `last` events (read newest first, as reverseOrder lets one)."""
    sfn = emu.client("stepfunctions")
    sm = sfn.create_state_machine(name=name or f"sm-{time.time_ns()}", definition=json.dumps(definition),
                                  roleArn=SFN_ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps(payload or {}))["executionArn"]
    deadline = time.monotonic() + timeout
    while (d := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    if last:
        return d, sfn.get_execution_history(executionArn=arn, maxResults=last, reverseOrder=True)["events"][::-1]
    events, page = [], {"executionArn": arn, "maxResults": 1000}
    while True:  # GetExecutionHistory pages as on AWS
        answer = sfn.get_execution_history(**page)
        events += answer["events"]
        if "nextToken" not in answer:
            return d, events
        page["nextToken"] = answer["nextToken"]


def compact(value) -> bytes:
    """`value` as Step Functions measures a payload (DescribeExecution here shows it spaced)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def pass_of(output_bytes: int, char: str = "x") -> dict:
    """A Pass state machine whose output is exactly `output_bytes` bytes: {"a":"xx..."}."""
    body = output_bytes - len('{"a":""}')
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": char * (body // len(char.encode()))},
                                             "End": True}}}


# --- 256 KiB state payloads ----------------------------------------------------------------------


def test_a_state_output_of_262144_bytes_passes_and_one_byte_more_fails_the_execution(emu):
    d, _ = execute(emu, pass_of(LIMIT))
    assert d["status"] == "SUCCEEDED" and len(compact(json.loads(d["output"]))) == LIMIT
    d, _ = execute(emu, pass_of(LIMIT, "é"))  # UTF-8 bytes count, not characters
    assert d["status"] == "SUCCEEDED"
    d, history = execute(emu, pass_of(LIMIT + 1))
    assert (d["status"], d["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert d["cause"] == ("The state/task 'P' returned a result with a size exceeding the maximum number "
                          "of bytes service limit.")
    assert [e["type"] for e in history] == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


def test_data_limit_exceeded_is_caught_by_its_name_and_not_by_states_all(emu):
    def machine(catch, retry=None):
        parallel = {"Type": "Parallel", "Branches": [pass_of(LIMIT + 1)], "End": True,
                    "Catch": [{"ErrorEquals": catch, "ResultPath": "$.error", "Next": "Handled"}]}
        if retry:
            parallel["Retry"] = [{"ErrorEquals": retry, "IntervalSeconds": 1, "MaxAttempts": 2}]
        return {"StartAt": "Par", "States": {"Par": parallel, "Handled": {"Type": "Pass", "End": True}}}

    d, history = execute(emu, machine(["States.ALL"], retry=["States.ALL"]))
    assert (d["status"], d["error"]) == ("FAILED", "States.DataLimitExceeded")
    types = [e["type"] for e in history]
    assert types.count("ParallelStateStarted") == 1 and "PassStateEntered" in types  # not retried either
    d, _ = execute(emu, machine(["States.DataLimitExceeded"]))
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"])["error"]["Error"] == "States.DataLimitExceeded"


def test_a_map_result_over_the_limit_fails_the_map_state(emu):
    big = {"Type": "Pass", "Result": "x" * 1000, "End": True}
    machine = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "B", "States": {"B": big}},
        "ResultPath": None, "End": True}}}
    # The Map's result is [x, x, ...] of 1,003 bytes an item: measured before ResultPath drops it.
    d, _ = execute(emu, machine, {"items": list(range(LIMIT // 1002 - 1))})
    assert d["status"] == "SUCCEEDED"
    d, history = execute(emu, machine, {"items": list(range(LIMIT // 1002 + 1))})
    assert (d["status"], d["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert "'M' returned a result" in d["cause"] and history[-2]["type"] == "MapStateFailed"


def test_start_execution_input_is_limited_to_262144_bytes(emu):
    sfn = emu.client("stepfunctions", config=Config(retries={"total_max_attempts": 1}))
    sm = sfn.create_state_machine(name="input-limit", definition=json.dumps(pass_of(10)),
                                  roleArn=SFN_ROLE)["stateMachineArn"]
    fits = '{"a":"' + "x" * (LIMIT - 8) + '"}'
    sfn.start_execution(stateMachineArn=sm, input=fits)
    with pytest.raises(sfn.exceptions.ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, input=fits[:-2] + 'x"}')
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "262144" in e.value.response["Error"]["Message"]


# --- 25,000 history events -----------------------------------------------------------------------

# History: ExecutionStarted, Pads? (2), [PadParallel (5: a caught branch failure)], [PadPass (2)],
# n x (Inc + More? = 4), Done (2), ExecutionSucceeded: 4n + 8 events with pads=1, 4n + 13 with pads=2.
LOOP = {"StartAt": "Pads?", "States": {
    "Pads?": {"Type": "Choice", "Choices": [{"Variable": "$.pads", "NumericEquals": 2, "Next": "PadParallel"},
                                            {"Variable": "$.pads", "NumericEquals": 1, "Next": "PadPass"}],
              "Default": "Inc"},
    "PadParallel": {"Type": "Parallel",
                    "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Pad"}}}],
                    "Catch": [{"ErrorEquals": ["Pad"], "ResultPath": None, "Next": "PadPass"}], "End": True},
    "PadPass": {"Type": "Pass", "Next": "Inc"},
    "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)", "n.$": "$.n"}, "Next": "More?"},
    "More?": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThanPath": "$.n", "Next": "Inc"}],
              "Default": "Done"},
    "Done": {"Type": "Succeed"}}}
EXACTLY_25000 = {"i": 0, "n": 6248, "pads": 1}
EXACTLY_25001 = {"i": 0, "n": 6247, "pads": 2}


def test_a_history_of_25000_events_succeeds_and_one_more_event_fails_the_execution(emu):
    # Event ids count from 1 without gaps: the last event's id is the history's length.
    d, history = execute(emu, LOOP, EXACTLY_25000, last=2)
    assert d["status"] == "SUCCEEDED"
    assert history[-1]["type"] == "ExecutionSucceeded" and history[-1]["id"] == 25_000
    d, history = execute(emu, LOOP, EXACTLY_25001, last=2)
    assert (d["status"], d["error"], d["cause"]) == ("FAILED", "States.Runtime", HISTORY_CAUSE)
    assert history[-2]["type"] == "SucceedStateEntered"  # event 24,999 is the last the machine made
    assert history[-1]["type"] == "ExecutionFailed" and history[-1]["id"] == 25_000
    assert history[-1]["executionFailedEventDetails"] == {"error": "States.Runtime", "cause": HISTORY_CAUSE}


def test_each_distributed_map_child_has_its_own_history_and_its_own_cap(emu):
    # Two children of 25,000 and 25,001 events: 50,001 between them, the parent's history stays short.
    machine = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "ToleratedFailurePercentage": 100,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, **LOOP},
        "End": True}}}
    d, history = execute(emu, machine, {"items": [EXACTLY_25000, EXACTLY_25001]}, timeout=120)
    assert d["status"] == "SUCCEEDED" and len(history) < 20
    ok, failed = json.loads(d["output"])
    assert ok == {"i": 6248, "n": 6248}
    assert (failed["Status"], failed["Error"], failed["Cause"]) == ("FAILED", "States.Runtime", HISTORY_CAUSE)
    # The children are executions of their own: listed by their Map Run, described, with histories.
    sfn = emu.client("stepfunctions")
    (started,) = [e for e in history if e["type"] == "MapRunStarted"]
    map_run = started["mapRunStartedEventDetails"]["mapRunArn"]
    listed = sfn.list_executions(mapRunArn=map_run)["executions"]
    assert sorted(e["status"] for e in listed) == ["FAILED", "SUCCEEDED"]
    child = sfn.describe_execution(executionArn=failed["ExecutionArn"])
    assert (child["status"], child["error"], child["mapRunArn"]) == ("FAILED", "States.Runtime", map_run)
    events = sfn.get_execution_history(executionArn=failed["ExecutionArn"], reverseOrder=True, maxResults=2)["events"]
    assert [(e["id"], e["type"]) for e in events] == [(25_000, "ExecutionFailed"), (24_999, "SucceedStateEntered")]
    succeeded = next(e["executionArn"] for e in listed if e["status"] == "SUCCEEDED")
    last = sfn.get_execution_history(executionArn=succeeded, reverseOrder=True, maxResults=1)["events"]
    assert [(e["id"], e["type"]) for e in last] == [(25_000, "ExecutionSucceeded")]


# --- Distributed Map runs and ResultWriter -------------------------------------------------------

CHILD = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Fails?", "States": {
    "Fails?": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Failed"}],
               "Default": "Erase"},
    "Failed": {"Type": "Fail", "Error": "ShardFailed", "Cause": "the shard could not be erased"},
    "Erase": {"Type": "Pass", "Parameters": {"shard.$": "$.shard", "note": "x" * 150}, "End": True}}}


def distributed_map(result_writer: bool, **fields) -> dict:
    state = {"Type": "Map", "Label": "Shards", "ItemProcessor": CHILD, "End": True,
             "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                            "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.manifest"}}, **fields}
    if result_writer:
        state["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject",
                                 "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.results"}}
    return {"StartAt": "M", "States": {"M": state}}


def shards(emu, n: int, failing=()) -> dict:
    emu.bucket("erasure-work").put_object(
        Bucket="erasure-work", Key="work/r/manifest.json",
        Body=json.dumps([{"shard": i, "fail": i in failing} for i in range(n)]).encode())
    return {"bucket": "erasure-work", "manifest": "work/r/manifest.json", "results": "work/r/results"}


def test_without_a_result_writer_two_thousand_children_outgrow_the_state_and_with_one_they_are_filed(emu):
    s3 = emu.client("s3")
    payload = shards(emu, 2000, failing={7, 1500})
    d, history = execute(emu, distributed_map(False, ToleratedFailurePercentage=100), payload)
    assert (d["status"], d["error"]) == ("FAILED", "States.DataLimitExceeded")  # the children's outputs
    assert [e["type"] for e in history][-4:] == [
        "MapRunStarted", "MapRunSucceeded", "MapStateFailed", "ExecutionFailed"]

    before = emu.ctl("GET", "s3/counts")["counts"].get("PutObject", 0)
    name = f"erasure-{time.time_ns()}"
    d, _ = execute(emu, distributed_map(True, ToleratedFailurePercentage=100), payload, name=name)
    assert d["status"] == "SUCCEEDED"
    out = json.loads(d["output"])
    run_arn = out["MapRunArn"]
    assert re.fullmatch(rf"arn:aws:states:us-east-1:{ACCOUNT}:mapRun:{name}/Shards:[0-9a-f-]{{36}}", run_arn)
    run_id = run_arn.rsplit(":", 1)[1]
    folder = f"work/r/results/{run_id}/"
    assert out["ResultWriterDetails"] == {"Bucket": "erasure-work", "Key": folder + "manifest.json"}
    # Manifest, one SUCCEEDED and one FAILED file, written by the state machine through S3.
    assert emu.ctl("GET", "s3/counts")["counts"]["PutObject"] - before == 3
    manifest = json.loads(s3.get_object(Bucket="erasure-work", Key=folder + "manifest.json")["Body"].read())
    assert set(manifest) == {"DestinationBucket", "MapRunArn", "ResultFiles"}
    assert (manifest["DestinationBucket"], manifest["MapRunArn"]) == ("erasure-work", run_arn)
    assert manifest["ResultFiles"]["PENDING"] == []
    files = {}
    for status in ("SUCCEEDED", "FAILED"):
        (entry,) = manifest["ResultFiles"][status]
        assert entry["Key"] == f"{folder}{status}_0.json"
        body = s3.get_object(Bucket="erasure-work", Key=entry["Key"])["Body"].read()
        assert entry["Size"] == len(body)
        files[status] = json.loads(body)
    succeeded, failed = files["SUCCEEDED"], files["FAILED"]
    assert len(succeeded) == 1998 and sorted(json.loads(e["Input"])["shard"] for e in failed) == [7, 1500]
    child_sm = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{name}/Shards"
    ok = succeeded[0]
    assert list(ok) == ["ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails", "RedriveCount",
                        "RedriveStatus", "RedriveStatusReason", "StartDate", "StateMachineArn", "Status", "StopDate"]
    assert re.fullmatch(UUID3, ok["Name"])
    assert ok["ExecutionArn"] == f"arn:aws:states:us-east-1:{ACCOUNT}:execution:{name}/Shards:{ok['Name']}"
    assert json.loads(ok["Input"]) == {"shard": 0, "fail": False} and ok["InputDetails"] == {"Included": True}
    assert json.loads(ok["Output"]) == {"shard": 0, "note": "x" * 150} and ok["OutputDetails"] == {"Included": True}
    assert (ok["RedriveCount"], ok["RedriveStatus"]) == (0, "NOT_REDRIVABLE")
    assert ok["RedriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert (ok["StateMachineArn"], ok["Status"]) == (child_sm, "SUCCEEDED")
    assert re.fullmatch(ISO_MS, ok["StartDate"]) and re.fullmatch(ISO_MS, ok["StopDate"])
    bad = failed[0]
    assert list(bad) == ["Cause", "Error", "ExecutionArn", "Input", "InputDetails", "Name", "OutputDetails",
                         "RedriveCount", "RedriveStatus", "StartDate", "StateMachineArn", "Status", "StopDate"]
    assert (bad["Error"], bad["Cause"]) == ("ShardFailed", "the shard could not be erased")
    assert (bad["Status"], bad["RedriveStatus"]) == ("FAILED", "REDRIVABLE_BY_MAP_RUN")
    assert bad["StateMachineArn"] == child_sm
    assert len({e["Name"] for e in succeeded + failed}) == 2000


def test_failed_children_past_the_tolerated_threshold_fail_the_map_run(emu):
    payload = shards(emu, 8, failing={1, 2})
    outcomes = {}
    for label, fields in {"default 0%": {}, "count 1": {"ToleratedFailureCount": 1},
                          "count 2": {"ToleratedFailureCount": 2}, "25%": {"ToleratedFailurePercentage": 25},
                          "24%": {"ToleratedFailurePercentage": 24}}.items():
        d, _ = execute(emu, distributed_map(True, MaxConcurrency=1, **fields), payload)
        outcomes[label] = (d["status"], d.get("error"))
    exceeded = ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert outcomes == {"default 0%": exceeded, "count 1": exceeded, "count 2": ("SUCCEEDED", None),
                        "25%": ("SUCCEEDED", None), "24%": exceeded}
    # A failed run still files its children: those never started are PENDING.
    s3 = emu.client("s3")
    d, _ = execute(emu, distributed_map(True, MaxConcurrency=1), {**payload, "results": "work/r/failed-run"})
    (manifest,) = [o["Key"] for o in s3.list_objects_v2(Bucket="erasure-work", Prefix="work/r/failed-run/")["Contents"]
                   if o["Key"].endswith("/manifest.json")]
    files = json.loads(s3.get_object(Bucket="erasure-work", Key=manifest)["Body"].read())["ResultFiles"]
    counts = {k: len(json.loads(s3.get_object(Bucket="erasure-work", Key=f["Key"])["Body"].read()))
              for k, v in files.items() for f in v}
    assert counts == {"SUCCEEDED": 1, "FAILED": 1, "PENDING": 6}


def test_a_task_error_not_caught_in_a_child_fails_that_child_only_and_is_filed_with_its_error(emu):
    emu.function("sized")
    child = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "OutputPath": "$.StatusCode",
              "Parameters": {"FunctionName": "sized", "Payload.$": "$"}, "End": True}}}
    emu.bucket("erasure-work").put_object(Bucket="erasure-work", Key="work/t/manifest.json",
                                          Body=json.dumps([{"size": 10}, {"size": LIMIT + 1}]).encode())
    machine = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "Label": "Jobs", "ItemProcessor": child, "ToleratedFailurePercentage": 100, "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "erasure-work", "Key": "work/t/manifest.json"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket": "erasure-work", "Prefix": "work/t/results"}}}}}
    d, _ = execute(emu, machine)
    assert d["status"] == "SUCCEEDED"
    s3 = emu.client("s3")
    key = json.loads(d["output"])["ResultWriterDetails"]["Key"]
    manifest = json.loads(s3.get_object(Bucket="erasure-work", Key=key)["Body"].read())["ResultFiles"]
    (ok,), (failed,) = (json.loads(s3.get_object(Bucket="erasure-work", Key=manifest[status][0]["Key"])["Body"].read())
                        for status in ("SUCCEEDED", "FAILED"))
    assert json.loads(ok["Output"]) == 200
    assert failed["Error"] == "States.DataLimitExceeded" and json.loads(failed["Input"]) == {"size": LIMIT + 1}


# --- child executions on the event bus -----------------------------------------------------------


def template_rules() -> dict[str, dict]:
    """The EventBridge rules of template.yaml as the harness registers them (tests/cfn/emulated.py),
    {name: {"name", "eventPattern", "inputTransformer"?, "functionName"?}}: their patterns name the
    emulation's state machine (emulated.STATE_MACHINE)."""
    return {rule["name"]: rule for rule in emulated.event_rules(emulated.resolve({}))}


def test_children_emit_status_changes_with_their_own_arns_and_the_templates_rules_match_only_the_parent(emu):
    sfn = emu.client("stepfunctions")
    machine = distributed_map(False, ToleratedFailurePercentage=100)
    sm = sfn.create_state_machine(name=emulated.STATE_MACHINE, definition=json.dumps(machine),
                                  roleArn=SFN_ROLE)["stateMachineArn"]
    rules = template_rules()
    assert rules, "template.yaml has no EventBridge rule on the state machine"
    specs = list(rules.values())
    # A rule that filters by a prefix of the ARN, as a careless rule might: it gets the children too.
    specs.append({"name": "PrefixRule", "eventPattern": {"source": ["aws.states"], "detail": {
        "stateMachineArn": [{"prefix": sm}], "status": [{"anything-but": "RUNNING"}]}}})
    emu.ctl("POST", "events/rules", {"rules": specs})
    payload = shards(emu, 3, failing={2})
    arn = sfn.start_execution(stateMachineArn=sm, name="erasure-r1", input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 30
    while len(emu.ctl("GET", "events/matches?rule=PrefixRule")["matches"]) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2 * 0.3)  # two more polls: nothing else comes
    matches = emu.ctl("GET", "events/matches")["matches"]
    for name, rule in rules.items():
        statuses = rule["eventPattern"]["detail"]["status"]
        mine = [m for m in matches if m["rule"] == name]
        if "SUCCEEDED" in statuses:
            assert [(m["executionArn"], m["status"]) for m in mine] == [(arn, "SUCCEEDED")], name
        else:
            assert mine == [], name
    children = [m["event"] for m in matches if m["rule"] == "PrefixRule" and m["executionArn"] != arn]
    assert len(children) == 3
    child_sm = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:erasure/Shards"
    for event in children:
        detail = event["detail"]
        assert detail["stateMachineArn"] == child_sm and event["resources"] == [detail["executionArn"]]
        assert detail["executionArn"] == f"arn:aws:states:us-east-1:{ACCOUNT}:execution:erasure/Shards:{detail['name']}"
        assert re.fullmatch(UUID3, detail["name"])
    assert sorted(e["detail"]["status"] for e in children) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    outcome = next((m for m in matches if m["rule"] == "ExecutionOutcomeRule"), None)
    if outcome is not None and rules["ExecutionOutcomeRule"].get("inputTransformer"):
        delivered = json.loads(outcome["input"])
        assert (delivered["executionName"], delivered["status"], delivered["executionArn"]) == (
            "erasure-r1", "SUCCEEDED", arn)
        assert delivered["receipt"] == "s3://erasure-requests/receipts/erasure-r1.json"


# --- Lambda payload limits ------------------------------------------------------------------------


def test_lambda_answers_a_response_above_6mb_with_function_response_size_too_large(emu):
    emu.function("sized")
    lam = emu.client("lambda", config=Config(retries={"total_max_attempts": 1}, read_timeout=120))
    r = lam.invoke(FunctionName="sized", Payload=json.dumps({"size": LAMBDA_RESPONSE_LIMIT}))
    assert "FunctionError" not in r and len(r["Payload"].read()) == LAMBDA_RESPONSE_LIMIT
    r = lam.invoke(FunctionName="sized", Payload=json.dumps({"size": LAMBDA_RESPONSE_LIMIT + 1}))
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"]) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge"}
    # Step Functions reports the function error by its errorType; a result within Lambda's limit but
    # above 256 KiB is the state's DataLimitExceeded.
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
            "Parameters": {"FunctionName": "sized", "Payload.$": "$"}}
    d, _ = execute(emu, {"StartAt": "T", "States": {"T": task}}, {"size": LAMBDA_RESPONSE_LIMIT + 1})
    assert (d["status"], d["error"]) == ("FAILED", "Function.ResponseSizeTooLarge")
    d, history = execute(emu, {"StartAt": "T", "States": {"T": task}}, {"size": LIMIT + 1})
    assert (d["status"], d["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert [e["type"] for e in history][-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]


def test_lambda_refuses_requests_above_its_invocation_payload_limits(emu):
    emu.function("sized")
    lam = emu.client("lambda", config=Config(retries={"total_max_attempts": 1}))

    def pad(n: int) -> bytes:
        """A request body of exactly n bytes."""
        return json.dumps({"size": 2, "pad": "x" * (n - len('{"size": 2, "pad": ""}'))}).encode()

    assert lam.invoke(FunctionName="sized", InvocationType="Event", Payload=pad(1_048_576))["StatusCode"] == 202
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName="sized", InvocationType="Event", Payload=pad(1_048_577))
    assert "FunctionError" not in lam.invoke(FunctionName="sized", Payload=pad(6_291_456))
    with pytest.raises(lam.exceptions.RequestTooLargeException) as e:
        lam.invoke(FunctionName="sized", Payload=pad(6_291_457))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


# --- time compression ------------------------------------------------------------------------------


def test_wait_scale_shortens_waits_and_retry_intervals_until_reset(emu):
    assert emu.ctl("GET", "sfn/config") == {"wait_scale": 1.0}
    machine = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "R"},
        "R": {"Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Again"}}}],
              "Retry": [{"ErrorEquals": ["Again"], "IntervalSeconds": 30, "MaxAttempts": 2}],
              "Catch": [{"ErrorEquals": ["Again"], "Next": "Done"}], "End": True},
        "Done": {"Type": "Succeed"}}}
    assert emu.ctl("POST", "sfn/config", {"wait_scale": 0.001}) == {"wait_scale": 0.001}
    d, history = execute(emu, machine, {"wait": 600}, timeout=30)  # 10 minutes and 90 s of retries
    assert d["status"] == "SUCCEEDED"
    assert [e["type"] for e in history].count("ParallelStateStarted") == 3
    emu.ctl("POST", "reset")
    assert emu.ctl("GET", "sfn/config") == {"wait_scale": 1.0}
    status, _, out = http("POST", f"{emu.url}/_emulator/sfn/config", {"wait_scale": 0})
    assert status == 400 and "wait_scale" in out["message"]


def test_the_erasure_state_machine_is_accepted_by_the_engine(emu):
    # Whole-number ToleratedFailurePercentage (valid ASL) used to be a parse error in moto.
    definition = (ROOT / "statemachine" / "erasure.asl.json").read_text()
    definition = re.sub(r"\$\{\w+\}", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", definition)
    arn = emu.client("stepfunctions").create_state_machine(
        name="erasure-asl", definition=definition, roleArn=SFN_ROLE)["stateMachineArn"]
    assert arn.endswith(":stateMachine:erasure-asl")
