"""Every AWS call the workflow makes is allowed by the transformed template's policies.

moto does not enforce IAM. The emulation records who made each call (tests/emulation/principals.py);
here the workflow runs every path once (a request completed across two dataset groups and two
applications, users who failed, the deadline watcher's run, and the request started again under a
new name, a rejected file,
an operator's stop with its ABORTED receipt, receipts locked in GOVERNANCE mode), and the recorded
calls are judged against the template (tests/iam): none refused, and every grant proven by a call
that is refused without it. Grants no call needed are printed as unused.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.harness import BUCKET, Stack, wait_for
from tests.helpers import csv_of, deploy, fresh, seed
from tests.iam.report import Findings, evaluate, grant_table, summary

pytestmark = pytest.mark.timeout(900)

FUNCTIONS = {"StartErasureFunctionRole", "PrepareRequestFunctionRole", "CreateDeletionJobFunctionRole",
             "CheckDeletionJobFunctionRole", "ErasePinpointEndpointsFunctionRole", "FinalizeErasureFunctionRole",
             "WatchDeadlinesFunctionRole"}


def _completed_with_two_groups_and_two_apps(stack: Stack):
    dsgs, apps = deploy(stack, groups=2, apps=2, shard_users=4)
    listed = {f"iam-happy-{i:02d}": (i % 3) for i in range(9)}  # some users have no endpoint
    seed(stack, dsgs, apps, listed)
    stack.upload("requests/iam-happy.csv", csv_of(listed))
    result = stack.wait_for_execution(timeout=300)
    assert stack.receipt(result["name"])["outcome"] == "COMPLETED", result


def _failed_users_then_started_again(stack: Stack):
    dsgs, apps = deploy(stack, shard_users=5)
    listed = {f"iam-retry-{i:02d}": 1 for i in range(8)}
    seed(stack, dsgs, apps, listed)
    stack.control("POST", "faults", {"rules": [{"service": "pinpoint", "operation": "DeleteUserEndpoints",
                                                "error": "ForbiddenException", "times": 3}]})
    stack.upload("requests/iam-retry.csv", csv_of(listed))
    first = stack.wait_for_execution(timeout=300)
    assert stack.receipt(first["name"])["outcome"] == "PARTIAL"
    # The hourly deadline watcher, as its schedule invokes it: the PARTIAL request is open.
    assert stack.invoke("watch-deadlines", {"detail-type": "Scheduled Event", "source": "aws.events"})["open"] == 1
    sfn = stack.client("stepfunctions")
    name = f"{first['name']}-retry-1"
    sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=name, input=first["input"])
    second = stack.wait_for_execution(timeout=300, name=name)
    assert stack.receipt(name)["outcome"] == "COMPLETED", second


def _rejected(stack: Stack):
    deploy(stack)
    stack.upload("requests/iam-rejected.csv", b"EMAIL\nsomeone@example.com\n")
    result = stack.wait_for_execution(timeout=300)
    assert stack.receipt(result["name"])["outcome"] == "REJECTED"


def _stopped_by_an_operator(stack: Stack):
    dsgs, apps = deploy(stack, shard_users=5)
    stack.control("POST", "personalize/config", {"pending_seconds": 600, "in_progress_seconds": 1})
    listed = {f"iam-stop-{i:02d}": 1 for i in range(10)}
    seed(stack, dsgs, apps, listed)
    stack.upload("requests/iam-stop.csv", csv_of(listed))
    wait_for("the deletion job", lambda: stack.control("GET", "personalize/jobs")["jobs"], timeout=120)
    [execution] = stack.executions()
    stack.client("stepfunctions").stop_execution(executionArn=execution["executionArn"], error="OperatorStop")
    receipt = wait_for("the ABORTED receipt", lambda: stack.receipt(execution["name"]), timeout=120)
    assert receipt["outcome"] == "ABORTED"
    # Shard invocations already running end on their own before the next reset.
    wait_for("the functions to go quiet", lambda: _quiet(stack), timeout=120, interval=1.0)


def _quiet(stack: Stack) -> bool:
    first = stack.control("GET", "lambda")["invocations"]
    time.sleep(2)
    return stack.control("GET", "lambda")["invocations"] == first


def _receipts_locked(stack: Stack):
    # The harness creates the bucket with Object Lock on, as template.yaml does when ReceiptLockMode is not NONE.
    dsgs, apps = deploy(stack, receipt_lock_mode="GOVERNANCE", receipt_lock_days=1)
    listed = {"iam-locked-01": 1, "iam-locked-02": 2}
    seed(stack, dsgs, apps, listed)
    stack.upload("requests/iam-locked.csv", csv_of(listed))
    result = stack.wait_for_execution(timeout=300)
    assert stack.receipt(result["name"])["outcome"] == "COMPLETED"
    head = stack.client("s3").head_object(Bucket=BUCKET, Key=f"receipts/{result['name']}.json")
    assert head.get("ObjectLockMode") == "GOVERNANCE"


@pytest.fixture(scope="module")
def findings(stack: Stack) -> Findings:
    """Runs every path once; the calls of these runs only, judged."""
    stack.reset()
    start = len(stack.principal_batches)
    for workflow in (_completed_with_two_groups_and_two_apps, _failed_users_then_started_again, _rejected,
                     _stopped_by_an_operator, _receipts_locked):
        fresh(stack)
        workflow(stack)
    stack.reset()  # keeps the last workflow's calls
    result = evaluate(stack.principal_batches[start:])
    print("\n" + summary(result))
    return result


def test_every_call_of_every_path_is_allowed_by_the_transformed_template(findings: Findings):
    assert not findings.unattributed, "\n".join(findings.unattributed)
    assert not findings.refused, "AWS would refuse:\n" + "\n".join(findings.refused)
    assert not findings.sar_problems, "\n".join(findings.sar_problems)
    assert not findings.template_errors, "\n".join(findings.template_errors)
    # The check is about the application's principals: every one of them made calls.
    made = findings.principals()
    expected = FUNCTIONS | {"ErasureStateMachineRole", "PersonalizeDeletionRole", "s3.amazonaws.com",
                            "events.amazonaws.com"}
    assert expected <= made, f"no recorded call by {sorted(expected - made)}"


def test_removing_any_grant_a_call_used_refuses_that_call(findings: Findings):
    """Not vacuous: each grant that covered a recorded call is taken away in turn, and at least
    one call it covered is then refused. Grants that covered nothing are listed, not failed."""
    lines, unused, redundant = grant_table(findings)
    assert lines, "no grant covered any call: the check proves nothing"
    assert not redundant, ("grants whose removal refuses nothing (every call they cover is also allowed by "
                           "another grant):\n" + "\n".join(redundant))
    print("\nunused grants:\n" + "\n".join(unused))


def test_the_recorded_calls_carry_no_user_id(findings: Findings):
    """Pinpoint paths carry user IDs: the recorded resource names a placeholder instead."""
    resources = json.dumps([v.check.resource for _, ev in findings.evaluations for v in ev.verdicts])
    assert "iam-happy-" not in resources and "iam-retry-" not in resources
    assert "/users/USER_PLACEHOLDER" in resources
