"""EventBridge event patterns and input transformers as events.py evaluates them, checked against
the examples of the EventBridge user guide ("Amazon EventBridge event patterns", "Arrays in event
patterns", "Matching null values and empty strings", "Content filtering in event patterns",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html)."""

from __future__ import annotations

import json

import pytest

from tests.emulator.events import matches, transform, validate_pattern

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
