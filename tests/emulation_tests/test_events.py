"""Step Functions status-change events on the emulation's EventBridge-like bus (events.py).

Event patterns and input transformers as events.py evaluates them, checked against the examples of
the EventBridge user guide ("Amazon EventBridge event patterns", "Arrays in event patterns",
"Matching null values and empty strings", "Content filtering in event patterns",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html); then events of
real executions delivered to a Lambda target (helpers.FakeLambdas), with their retries.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.emulation import ACCOUNT
from tests.emulation.events import matches, transform, validate_pattern
from tests.emulation_tests.helpers import PASS_MACHINE, WAIT_MACHINE, http, state_machine, wait_execution

EC2 = {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
       "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "111122223333",
       "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
       "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
       "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated", "c-count": 3, "x-limit": 300,
                  "eventVersion": "", "responseElements": None}}


@pytest.mark.parametrize("pattern,expected", [
    ({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
      "detail": {"state": ["terminated"]}}, True),
    ({"source": ["aws.ec2", "aws.fargate"]}, True),  # a list is OR
    ({"source": ["aws.fargate"]}, False),
    ({"detail": {"state": ["running"]}}, False),
    ({"detail": {"missing": ["x"]}}, False),  # every field named must be there
    ({"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
                    "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}, True),  # arrays intersect
    ({"time": [{"prefix": "2017-12-22"}]}, True),
    ({"time": [{"prefix": "2017-10-02"}]}, False),
    ({"detail": {"instance-id": [{"suffix": "def0"}]}}, True),
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, True),
    ({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, False),
    ({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, True),
    ({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, False),
    ({"detail": {"state": [{"exists": True}]}}, True),
    ({"detail": {"nothing": [{"exists": False}]}}, True),
    ({"detail": {"state": [{"exists": False}]}}, False),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
    ({"detail": {"c-count": [{"numeric": ["<", 3]}]}}, False),
    ({"detail": {"x-limit": [300]}}, True),
    ({"detail": {"x-limit": [300.0]}}, False),  # numbers compare by their representation
    ({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}, True),
    ({"detail": {"eventVersion": [""]}}, True),
    ({"detail": {"responseElements": [None]}}, True),
    ({"detail": {"responseElements": [""]}}, False),  # null and "" are not interchangeable
    ({"detail": {"eventVersion": [None]}}, False),
    ({"detail": {"$or": [{"c-count": [{"numeric": [">", 5]}]}, {"state": ["terminated"]}]}}, True),
    ({"detail": {"$or": [{"c-count": [{"numeric": [">", 5]}]}, {"state": ["running"]}]}}, False),
])
def test_event_patterns_match_as_eventbridge_documents(pattern, expected):
    validate_pattern(pattern)
    assert matches(pattern, EC2) is expected


def test_a_state_machine_arn_pattern_tells_a_parent_from_its_map_children():
    parent = "arn:aws:states:us-east-1:123456789012:stateMachine:erasure"
    exact = {"source": ["aws.states"], "detail": {"stateMachineArn": [parent]}}
    prefix = {"source": ["aws.states"], "detail": {"stateMachineArn": [{"prefix": parent}]}}
    child_event = {"source": "aws.states", "detail": {"stateMachineArn": parent + "/Shards"}}
    parent_event = {"source": "aws.states", "detail": {"stateMachineArn": parent}}
    assert matches(exact, parent_event) and not matches(exact, child_event)
    assert matches(prefix, parent_event) and matches(prefix, child_event)


@pytest.mark.parametrize("pattern", [
    {"source": "aws.states"},  # values are lists
    {"source": []},
    {"detail": {"state": [{"wildcard": "a*"}]}},  # an operator this emulation does not evaluate
    {"detail": {"state": [{"prefix": "a", "suffix": "b"}]}},
    {"detail": {"n": [{"numeric": [">", "5"]}]}},
    {"detail": {"state": [{"anything-but": {"prefix": ["a", "b"]}}]}},
    {"$or": [{"a": ["b"]}]},
])
def test_patterns_this_module_cannot_evaluate_are_refused(pattern):
    with pytest.raises(ValueError):
        validate_pattern(pattern)


def test_an_input_transformer_fills_its_template_inside_and_outside_strings():
    event = {"time": "2026-01-02T03:04:05Z",
             "detail": {"name": 'erasure-"1"', "status": "SUCCEEDED", "startDate": 1767322800000}}
    transformer = {"InputPathsMap": {"execution": "$.detail.name", "status": "$.detail.status",
                                     "start": "$.detail.startDate", "none": "$.detail.missing"},
                   "InputTemplate": '{"executionName": "<execution>", "receipt": "s3://b/receipts/<execution>.json", '
                                    '"start": <start>, "startText": "<start>", "missing": <none>, "rule": '
                                    '"<aws.events.rule-name>", "literal": "<not-a-variable>"}'}
    out = json.loads(transform(transformer, event, "ExecutionOutcomeRule"))
    assert out == {"executionName": 'erasure-"1"', "receipt": 's3://b/receipts/erasure-"1".json',
                   "start": 1767322800000, "startText": "1767322800000", "missing": None,
                   "rule": "ExecutionOutcomeRule", "literal": "<not-a-variable>"}


# --- status-change events of executions -----------------------------------------------------------


def test_status_change_events_reach_the_lambda_target(emu):
    sfn = emu.client("stepfunctions")
    waiting = state_machine(emu, "erasure", WAIT_MACHINE)
    passing = state_machine(emu, "quick", PASS_MACHINE)
    earlier = sfn.start_execution(stateMachineArn=passing, name="before-the-rule")["executionArn"]
    assert wait_execution(sfn, earlier)["status"] == "SUCCEEDED"
    rules = [{"stateMachineArn": waiting, "statuses": ["ABORTED", "FAILED", "TIMED_OUT", "SUCCEEDED"],
              "functionName": "finalize-erasure"},
             {"stateMachineArn": passing, "statuses": ["SUCCEEDED"],
              "functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:finalize-erasure"}]
    listed = emu.ctl("POST", "events/rules", {"rules": rules})["rules"]
    assert listed == emu.ctl("GET", "events/rules")["rules"]
    assert listed[0] == {**rules[0], "maxRetries": 3, "retryDelaySeconds": 1.0}

    request = '{"requestId": "r-1",  "bucket": "erasure-requests"}'  # delivered as it was given
    stopped_arn = sfn.start_execution(stateMachineArn=waiting, name="erase-r-1", input=request)["executionArn"]
    time.sleep(0.5)  # seen RUNNING, which the rule does not list
    stop_date = sfn.stop_execution(executionArn=stopped_arn)["stopDate"]
    done_arn = sfn.start_execution(stateMachineArn=passing, name="quick-1", input="{}")["executionArn"]
    done = wait_execution(sfn, done_arn)
    events = emu.lambdas.wait_calls("finalize-erasure", 2)
    time.sleep(0.8)
    assert len(emu.lambdas.calls["finalize-erasure"]) == 2  # nothing for RUNNING or the earlier execution
    by_status = {e["detail"]["status"]: e for e in events}
    assert set(by_status) == {"ABORTED", "SUCCEEDED"}

    aborted = by_status["ABORTED"]
    assert set(aborted) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                            "detail"}
    assert aborted["version"] == "0" and len(aborted["id"]) == 36
    assert aborted["detail-type"] == "Step Functions Execution Status Change" and aborted["source"] == "aws.states"
    assert (aborted["account"], aborted["region"], aborted["resources"]) == (ACCOUNT, "us-east-1", [stopped_arn])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", aborted["time"])
    detail = aborted["detail"]
    assert set(detail) == {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "input",
                           "output", "inputDetails", "outputDetails"}
    assert (detail["executionArn"], detail["stateMachineArn"], detail["name"]) == (stopped_arn, waiting, "erase-r-1")
    assert isinstance(detail["startDate"], int) and isinstance(detail["stopDate"], int)
    assert detail["stopDate"] == int(stop_date.timestamp() * 1000) and detail["stopDate"] > detail["startDate"]
    assert detail["input"] == request and detail["inputDetails"] == {"included": True}
    assert detail["output"] is None and detail["outputDetails"] is None

    succeeded = by_status["SUCCEEDED"]["detail"]
    assert succeeded["name"] == "quick-1" and succeeded["stateMachineArn"] == passing
    assert succeeded["output"] == '{"a":1}' and json.loads(done["output"]) == {"a": 1}
    assert succeeded["outputDetails"] == {"included": True} and succeeded["input"] == "{}"
    assert succeeded["stopDate"] == int(done["stopDate"].timestamp() * 1000)

    deliveries = emu.ctl("GET", "events/deliveries")["deliveries"]
    assert sorted((d["status"], d["outcome"], d["attempts"]) for d in deliveries) == [
        ("ABORTED", "delivered", 1), ("SUCCEEDED", "delivered", 1)]
    assert {d["event"]["id"] for d in deliveries} == {e["id"] for e in events}
    calls = emu.calls(service="events")
    assert sorted((c["operation"], c["status"], c["execution"], c["executionStatus"], c["outcome"]) for c in calls) == [
        ("Deliver", 200, "erase-r-1", "ABORTED", "delivered"), ("Deliver", 200, "quick-1", "SUCCEEDED", "delivered")]
    assert "requestId" not in json.dumps(calls) and "erasure-requests" not in json.dumps(calls)  # no input


def test_failed_event_deliveries_are_retried(emu):
    sfn = emu.client("stepfunctions")
    passing = state_machine(emu, "quick", PASS_MACHINE)
    emu.ctl("POST", "events/rules", {"rules": [
        {"stateMachineArn": passing, "statuses": ["RUNNING", "SUCCEEDED"], "functionName": "flaky",
         "retryDelaySeconds": 0.1},
        {"stateMachineArn": passing, "statuses": ["SUCCEEDED"], "functionName": "boom", "maxRetries": 2,
         "retryDelaySeconds": 0.1}]})
    emu.lambdas.flaky_failures = 1
    sfn.start_execution(stateMachineArn=passing, name="one", input='{"x": 1}')
    # flaky: RUNNING (seen only after it ended) fails once, then both go through, in order.
    flaky = emu.lambdas.wait_calls("flaky", 3)
    assert [e["detail"]["status"] for e in flaky] == ["RUNNING", "RUNNING", "SUCCEEDED"]
    assert flaky[0] == flaky[1]  # a retry is the same event
    running = flaky[0]["detail"]
    assert running["stopDate"] is None and running["output"] is None and running["outputDetails"] is None
    assert len(emu.lambdas.wait_calls("boom", 3)) == 3  # one try and two retries
    deadline = time.monotonic() + 5
    while len(emu.ctl("GET", "events/deliveries")["deliveries"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    assert len(emu.lambdas.calls["boom"]) == 3
    deliveries = emu.ctl("GET", "events/deliveries")["deliveries"]
    assert sorted((d["functionName"], d["status"], d["outcome"], d["attempts"], d.get("errorType"))
                  for d in deliveries) == [
        ("boom", "SUCCEEDED", "failed", 3, "Throttled"), ("flaky", "RUNNING", "delivered", 2, None),
        ("flaky", "SUCCEEDED", "delivered", 1, None)]
    failed = [c for c in emu.calls(service="events") if c["outcome"] == "failed"]
    assert [(c["status"], c["error"], c["attempts"]) for c in failed] == [(500, "Throttled", 3)]

    status, _, out = http("POST", f"{emu.url}/_emulator/events/rules",
                          {"rules": [{"stateMachineArn": passing, "statuses": ["DONE"], "functionName": "f"}]})
    assert status == 400 and "statuses" in out["message"]
    assert len(emu.ctl("GET", "events/rules")["rules"]) == 2  # a refused set leaves the rules as they were
