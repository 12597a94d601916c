"""The fault matrix: every fault ends with the user erased, or listed as failed in the receipt
and the execution failed. Each test checks what is left in the emulation and the receipt."""

from __future__ import annotations

import json
import os
import signal

import pytest

from tests.harness import wait_for
from tests.helpers import (assert_only_listed_erased, calls, csv_of, deploy, erasure_retry, function_pids,
                           seed, settle)

pytestmark = pytest.mark.timeout(600)


def test_a_function_killed_mid_shard_is_retried_and_resumes_without_counting_anyone_twice(env):
    dsgs, apps = deploy(env, shard_users=1000, pinpoint_rate=50.0)  # 40 calls/s for the one shard (50 × (1 − 0.2))
    listed = {f"killed-{i:04d}": 1 for i in range(400)}
    seed(env, dsgs, apps, listed)
    env.upload("requests/killed.csv", csv_of(listed))
    # Kill the erase function's process once it is well into the shard (past a checkpoint).
    wait_for("the shard to be under way", lambda: len(calls(env, "DeleteUserEndpoints")) >= 150,
             timeout=120, interval=0.1)
    pids = function_pids(env, "erase-pinpoint-endpoints")
    assert pids, "the erase function is not running"
    # Lambda fails the invocation whose runtime died (the emulation plays that part) and holds the
    # state machine's retry until a new execution environment is up, as AWS would: the retry can
    # never reach the function server that is being torn down.
    env.control("POST", "lambda/crash", {"functionName": "erase-pinpoint-endpoints", "hold": True})
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    killed_at = len(calls(env, "DeleteUserEndpoints"))
    env.restart_functions()
    env.control("POST", "lambda/resume", {"functionName": "erase-pinpoint-endpoints"})
    assert killed_at < 400, "the shard finished before the kill"

    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [pp] = receipt["pinpoint"]
    # Every user counted once, although the shard ran twice.
    assert pp["usersProcessed"] == 400 and pp["failedUsers"] == 0
    assert pp["endpointsDeleted"] + pp["usersWithoutEndpoints"] == 400
    assert_only_listed_erased(env, dsgs, apps, listed)
    # The retry resumed at the last checkpoint: at most one batch (100 users) was asked again.
    total = len(calls(env, "DeleteUserEndpoints"))
    assert 400 < total <= 400 + 100 + (killed_at % 100), (killed_at, total)
    # And the state machine saw the crash and retried the task.
    erase = env.invocations("erase-pinpoint-endpoints")
    assert erase["errors"] == {"Runtime.ExitError": 1} and erase["invocations"] >= 2, erase


def test_a_function_timing_out_mid_shard_is_retried_and_resumes_without_counting_anyone_twice(env):
    """The erase function believes it has 900 s (FUNCTION_TIMEOUT_SECONDS) but Lambda's timeout is
    15 s, so it cannot hand back in time: Lambda ends it with Sandbox.Timedout, the state machine
    retries the task, and the retry resumes from the shard's last checkpoint."""
    dsgs, apps = deploy(env, shard_users=1000, pinpoint_rate=50.0)  # 40 calls/s for the one shard (50 × (1 − 0.2))
    lam = env.client("lambda")
    lam.update_function_configuration(FunctionName="erase-pinpoint-endpoints", Timeout=15)
    listed = {f"timeout-{i:04d}": 1 for i in range(800)}  # 20 s at 40 calls/s
    seed(env, dsgs, apps, listed)
    env.upload("requests/timeout.csv", csv_of(listed))
    wait_for("the invocation to time out",
             lambda: "erase-pinpoint-endpoints" in env.control("GET", "lambda")["held"], timeout=120, interval=0.1)
    # Lambda ends the timed-out environment; the emulation holds the retry until a new one is up.
    for pid in function_pids(env, "erase-pinpoint-endpoints"):
        os.kill(pid, signal.SIGKILL)
    timed_out_at = len(calls(env, "DeleteUserEndpoints"))
    lam.update_function_configuration(FunctionName="erase-pinpoint-endpoints", Timeout=900)
    env.restart_functions()
    env.control("POST", "lambda/resume", {"functionName": "erase-pinpoint-endpoints"})
    assert 0 < timed_out_at < 800, timed_out_at

    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [pp] = receipt["pinpoint"]
    # Users erased between the last checkpoint and the timeout are asked again by the retry, which
    # finds no endpoints left: counted once each, as erased or as without endpoints.
    assert (pp["usersProcessed"], pp["failedUsers"]) == (800, 0)
    assert pp["endpointsDeleted"] + pp["usersWithoutEndpoints"] == 800
    assert_only_listed_erased(env, dsgs, apps, listed)
    total = len(calls(env, "DeleteUserEndpoints"))
    assert 800 <= total <= 800 + 100 + (timed_out_at % 100), (timed_out_at, total)
    erase = env.invocations("erase-pinpoint-endpoints")
    assert erase["errors"] == {"Sandbox.Timedout": 1} and erase["invocations"] >= 2, erase


def test_a_failed_request_started_again_erases_who_was_left_with_the_same_job_and_nobody_twice(env):
    """An application refused 30 of 50 deletes (say, a permission missing): the execution fails,
    PARTIAL, and keeps the request. Once fixed, the operator runs `erasure retry` on the receipt:
    only the 30 users left are asked again, the Personalize job is the first one, and the request
    is then purged. A retry of the completed request is refused: nothing is left to do."""
    dsgs, apps = deploy(env, shard_users=20)  # 3 shards
    listed = {f"redrive-{i:03d}": 1 for i in range(50)}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [{"service": "pinpoint", "operation": "DeleteUserEndpoints",
                                              "error": "ForbiddenException", "times": 30}]})
    env.upload("requests/redrive.csv", csv_of(listed))
    first = env.wait_for_execution(timeout=300)
    assert first["status"] == "FAILED"
    receipt = env.receipt(first["name"])
    assert receipt["outcome"] == "PARTIAL"
    [pp] = receipt["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (50, 20, 30)
    assert receipt["purge"]["requestObject"] == "KEPT"
    [job] = receipt["personalize"]
    assert job["status"] == "COMPLETED"

    out = erasure_retry(env, f"s3://erasure-requests/receipts/{first['name']}.json")
    assert out.returncode == 0, out.stderr
    assert f"started execution {first['name']}-retry-1" in out.stdout
    second = env.wait_for_execution(timeout=300, name=f"{first['name']}-retry-1")
    assert json.loads(second["input"])["request"]["requestId"] == json.loads(first["input"])["request"]["requestId"]
    receipt2 = env.receipt(second["name"])
    assert receipt2["outcome"] == "COMPLETED", receipt2
    assert second["status"] == "SUCCEEDED", second
    [pp] = receipt2["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (50, 50, 0)
    assert not pp.get("failedUsersKeys")
    assert_only_listed_erased(env, dsgs, apps, listed)
    # Nobody twice: 30 refused calls, then each user erased exactly once.
    deletes = calls(env, "DeleteUserEndpoints")
    assert sum(1 for c in deletes if c["status"] == 202) == 50
    assert sum(1 for c in deletes if c["status"] == 403) == 30 and len(deletes) == 80
    # The same Personalize job, not a second one.
    [job2] = receipt2["personalize"]
    assert job2["jobArn"] == job["jobArn"] and job2["status"] == "COMPLETED"
    assert len(env.control("GET", "personalize/jobs")["jobs"]) == 1
    # Completed now: the request's copies of user IDs are gone; the first receipt stays.
    assert receipt2["purge"]["requestObject"] == "DELETED"
    assert env.receipt(first["name"])["outcome"] == "PARTIAL"
    # Nothing is left to retry of a completed request: refused, nothing started.
    again = erasure_retry(env, f"s3://erasure-requests/receipts/{second['name']}.json")
    assert again.returncode == 1 and "nothing to retry" in again.stdout, (again.stdout, again.stderr)
    assert len(env.executions()) == 2


def test_an_operator_stopping_the_execution_gets_an_aborted_receipt_of_what_was_done(env):
    """StopExecution mid-way: EventBridge's status-change event reaches the finalize function,
    which writes a receipt ABORTED with what the steps recorded (jobs by name, shard progress)."""
    dsgs, apps = deploy(env, shard_users=50, pinpoint_rate=100.0)  # 20 calls/s per shard, 4 at once (100 × 0.8 / 4)
    env.control("POST", "personalize/config", {"pending_seconds": 600, "in_progress_seconds": 1})
    listed = {f"stopped-{i:04d}": 1 for i in range(400)}
    seed(env, dsgs, apps, listed)
    env.upload("requests/stopped.csv", csv_of(listed))
    # Past 250 calls some shards (50 users each) are done and at most 4 are under way.
    wait_for("some users to be erased", lambda: len(calls(env, "DeleteUserEndpoints")) >= 250,
             timeout=120, interval=0.2)
    [execution] = env.executions()
    env.client("stepfunctions").stop_execution(executionArn=execution["executionArn"],
                                               error="OperatorStop", cause="the requester withdrew")
    calls_at_stop = len(calls(env, "DeleteUserEndpoints"))
    receipt = wait_for("the ABORTED receipt", lambda: env.receipt(execution["name"]), timeout=60)
    assert receipt["outcome"] == "ABORTED"
    assert "stopped by an operator" in receipt["reason"]
    # What was done up to then: the job exists (still pending), some users were erased.
    [job] = receipt["personalize"]
    assert job["jobArn"] and job["status"] in ("PENDING", "IN_PROGRESS")
    # Shards that had finished when the receipt was written count whole; none counts twice. At the
    # stop at most 4 shards were under way, holding at most 49 calls each, so the other calls
    # belong to shards already finished: at least that many whole shards are in the receipt.
    [pp] = receipt["pinpoint"]
    finished_at_stop = -(-(calls_at_stop - 4 * 49) // 50)  # ceil
    assert 50 * finished_at_stop <= pp["usersProcessed"] <= calls_at_stop + 4 * 50, (pp, calls_at_stop)
    assert pp["usersProcessed"] % 50 == 0
    assert pp["endpointsDeleted"] == pp["usersProcessed"]
    assert len([u for u in listed if not env.endpoints(apps[0]).get(u)]) >= pp["usersProcessed"]
    # Not completed: the request file stays for a retry.
    assert receipt["purge"]["requestObject"] == "KEPT"
    env.client("s3").head_object(Bucket="erasure-requests", Key="requests/stopped.csv")
    # Shard invocations already running finish on their own (as on AWS): let them, before the
    # next test resets the emulation.
    settle(env)


def test_a_shard_handed_back_at_its_deadline_is_continued_by_the_workflow(env):
    """With the hand-back margin as long as the timeout, the deadline is always near: every
    invocation erases one checkpoint batch and returns complete=false; the state machine calls it
    again until the shard is done."""
    dsgs, apps = deploy(env, shard_users=1000, extra_env={"PINPOINT_HANDBACK_SECONDS": "900"})
    listed = {f"handback-{i:04d}": 1 for i in range(300)}
    seed(env, dsgs, apps, listed)
    env.upload("requests/handback.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [pp] = receipt["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (300, 300, 0)
    assert len(calls(env, "DeleteUserEndpoints")) == 300  # nobody twice, nobody skipped
    assert_only_listed_erased(env, dsgs, apps, listed)
    erase = env.invocations("erase-pinpoint-endpoints")
    assert erase["invocations"] >= 3 and not erase["errors"], erase


def test_users_still_throttled_at_the_deadline_are_handed_back_never_dropped(env):
    """Throttling is the quota speaking: it is retried for as long as the invocation has time, and
    a user still throttled near the deadline goes back to the workflow with the rest of the shard
    (complete=false), never into the failed list. The function's timeout is 20 s here and the
    hand-back margin 39 s, so every throttled user is out of time within half a second."""
    dsgs, apps = deploy(env, shard_users=1000,
                        extra_env={"FUNCTION_TIMEOUT_SECONDS": "20", "PINPOINT_HANDBACK_SECONDS": "39"})
    listed = {f"quota-{i:03d}": 1 for i in range(20)}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "TooManyRequestsException",
         "times": 30}]})
    env.upload("requests/quota.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [pp] = receipt["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (20, 20, 0)
    assert sum(1 for c in calls(env, "DeleteUserEndpoints") if c["status"] == 429) == 30
    erase = env.invocations("erase-pinpoint-endpoints")
    assert erase["invocations"] >= 2 and not erase["errors"], erase
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_bursts_of_pinpoint_internal_errors_are_retried_and_nobody_is_lost(env):
    dsgs, apps = deploy(env, shard_users=40)
    listed = {f"burst-{i:03d}": 1 for i in range(80)}
    seed(env, dsgs, apps, listed)
    # Two bursts of consecutive 500s, each one shorter than a user's attempts (PINPOINT_MAX_ATTEMPTS,
    # 8), so however the two shards interleave nobody can be failed by them; random faults would
    # make this test fail now and then, and a user dropped after 8 attempts is a PARTIAL receipt.
    burst = {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "InternalServerErrorException",
             "times": 7}
    env.control("POST", "faults", {"rules": [burst]})
    env.upload("requests/bursts.csv", csv_of(listed))
    wait_for("the middle of the erasure", lambda: sum(
        1 for c in calls(env, "DeleteUserEndpoints") if c["status"] == 202) >= 40, timeout=120, interval=0.05)
    env.control("POST", "faults", {"rules": [burst]})
    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [pp] = receipt["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (80, 80, 0)
    assert sum(1 for c in calls(env, "DeleteUserEndpoints") if c["status"] == 500) == 14
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_resource_in_use_on_create_is_retried_by_the_state_machine(env):
    dsgs, apps = deploy(env)
    listed = {"inuse-a": 1, "inuse-b": 1}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "personalize", "operation": "CreateDataDeletionJob", "error": "ResourceInUseException",
         "times": 1}]})
    env.upload("requests/inuse.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    errors = [(e.get("lambdaFunctionFailedEventDetails") or {}).get("error")
              for e in env.child_events(result["executionArn"])]
    assert "ResourceInUse" in errors
    assert len([c for c in calls(env, "CreateDataDeletionJob") if c["status"] == 200]) == 1
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_internal_errors_on_describe_are_retried_and_the_job_still_counts(env):
    dsgs, apps = deploy(env)
    listed = {"desc-a": 1, "desc-b": 2}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "personalize", "operation": "DescribeDataDeletionJob", "error": "InternalFailure",
         "status": 500, "times": 5}]})
    env.upload("requests/describe.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [job] = receipt["personalize"]
    assert job["status"] == "COMPLETED" and job["numDeleted"] == 6
    assert sum(1 for c in calls(env, "DescribeDataDeletionJob") if c["status"] == 500) == 5
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_a_job_that_never_ends_is_given_up_on_visibly(env):
    dsgs, apps = deploy(env, max_job_wait_seconds=4)
    env.control("POST", "personalize/config", {"pending_seconds": 1, "in_progress_seconds": 3600})
    listed = {"stuck-a": 1, "stuck-b": 1}
    seed(env, dsgs, apps, listed)
    env.upload("requests/stuck.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "FAILED"
    [job] = receipt["personalize"]
    assert job["status"] == "WAIT_EXCEEDED" and "stopped waiting after 4 s" in job["failureReason"]
    assert "did not complete" in receipt["reason"]
    # Pinpoint did its part; the records are still there, and the receipt says so.
    assert not any(env.endpoints(apps[0]).get(u) for u in listed)
    assert all(env.records(dsgs[0]).get(u) for u in listed)
    assert receipt["purge"]["requestObject"] == "KEPT"


def test_a_job_checked_the_most_times_is_given_up_within_its_child_executions_history(env):
    """At the boundary docs/LIMITS.md computes: a job that never ends is checked 800 times (the
    most one job gets; the interval spreads MaxJobWaitSeconds over them), in a child execution of
    the deletion jobs map whose history stays far under 25,000 events, then given up visibly.
    Waits run 100 times faster (the emulation's wait scale)."""
    dsgs, apps = deploy(env, poll_seconds=1, max_job_wait_seconds=800)
    env.control("POST", "personalize/config", {"pending_seconds": 100_000, "in_progress_seconds": 1})
    env.control("POST", "sfn/config", {"wait_scale": 0.01})
    listed = {"polled-a": 1}
    seed(env, dsgs, apps, listed)
    env.upload("requests/polled.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=500)
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    [job] = receipt["personalize"]
    assert job["status"] == "WAIT_EXCEEDED" and "after 800 status checks" in job["failureReason"], job
    children = env.child_events(result["executionArn"])
    checks = [e for e in children if e["type"] == "TaskStateEntered"
              and e["stateEnteredEventDetails"]["name"] == "CheckDeletionJob"]
    assert len(checks) == 800
    assert env.invocations("check-deletion-job")["invocations"] == 800
    # The parent's history holds none of it.
    assert len(env.history(result["executionArn"])) < 100


def test_a_request_gone_before_preparation_fails_visibly_and_erases_nothing(env):
    dsgs, apps = deploy(env)
    listed = {"gone-a": 1, "gone-b": 1}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "s3", "operation": "GetObject", "error": "NoSuchKey", "match": {"key_prefix": "requests/"}}]})
    env.upload("requests/gone.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "FAILED"
    assert "could not be prepared" in receipt["reason"] and "gone or was replaced" in receipt["reason"]
    assert receipt["personalize"] == [] and calls(env, "DeleteUserEndpoints") == []
    assert all(env.endpoints(apps[0]).get(u) for u in listed)


def test_an_unwritable_receipt_prefix_fails_the_execution_visibly(env):
    dsgs, apps = deploy(env)
    listed = {"norec-a": 1}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "s3", "operation": "PutObject", "error": "AccessDenied", "match": {"key_prefix": "receipts/"}},
        {"service": "s3", "operation": "CreateMultipartUpload", "error": "AccessDenied",
         "match": {"key_prefix": "receipts/"}}]})
    env.upload("requests/norec.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    history = env.client("stepfunctions").get_execution_history(
        executionArn=result["executionArn"], maxResults=1000)["events"]
    failed = [e["executionFailedEventDetails"] for e in history if e["type"] == "ExecutionFailed"]
    assert failed and failed[-1]["error"] == "ReceiptNotWritten"
    keys = env.client("s3").list_objects_v2(Bucket="erasure-requests", Prefix="receipts/").get("Contents", [])
    assert keys == []
    # Preparation could not write the user index either, so nothing was erased.
    assert all(env.endpoints(apps[0]).get(u) for u in listed)


def test_an_execution_that_failed_before_its_receipt_gets_one_from_its_status_change(env):
    """The receipt write was refused (AccessDenied, not retried), so the execution ended FAILED
    (ReceiptNotWritten) with no receipt. Its status-change event reaches the finalize function
    (the template's rule takes FAILED too), which writes the receipt from what was recorded: the
    users were erased, and the receipt says so and why it came late."""
    dsgs, apps = deploy(env)
    listed = {"late-receipt-1": 1, "late-receipt-2": 2}
    seed(env, dsgs, apps, listed)
    env.upload("requests/late.csv", csv_of(listed))
    [execution] = wait_for("the execution", env.executions, timeout=60)
    # Once preparation wrote the user index, the next receipt write is refused.
    wait_for("the erasure steps", lambda: any(e["type"] == "ParallelStateEntered"
                                              for e in env.history(execution["executionArn"])), timeout=120)
    env.control("POST", "faults", {"rules": [
        {"service": "s3", "operation": "PutObject", "error": "AccessDenied", "times": 1,
         "match": {"key_prefix": "receipts/"}}]})
    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    failed = [e["executionFailedEventDetails"] for e in env.history(result["executionArn"])
              if e["type"] == "ExecutionFailed"]
    assert failed[-1]["error"] == "ReceiptNotWritten"
    receipt = wait_for("the receipt from the status change", lambda: env.receipt(result["name"]), timeout=60)
    assert receipt["outcome"] == "FAILED"
    assert "failed" in receipt["reason"] and "before it wrote a receipt" in receipt["reason"]
    [job] = receipt["personalize"]
    [pp] = receipt["pinpoint"]
    assert job["status"] == "COMPLETED" and (pp["usersProcessed"], pp["failedUsers"]) == (2, 0)
    assert receipt["purge"]["requestObject"] == "KEPT"
    assert_only_listed_erased(env, dsgs, apps, listed)
    delivered = [d for d in env.control("GET", "events/deliveries")["deliveries"] if d["status"] == "FAILED"]
    assert [d["outcome"] for d in delivered] == ["delivered"]


def test_the_same_s3_event_delivered_five_times_starts_one_execution(env):
    dsgs, apps = deploy(env, groups=2)
    listed = {"five-a": 1, "five-b": 1}
    seed(env, dsgs, apps, listed)
    body = csv_of(listed)
    put = env.upload("requests/five.csv", body)
    event = {"Records": [{
        "eventName": "ObjectCreated:Put", "eventTime": "2026-11-22T10:00:00.000Z",
        "userIdentity": {"principalId": "AWS:EXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "s3": {"bucket": {"name": "erasure-requests", "arn": "arn:aws:s3:::erasure-requests"},
               "object": {"key": "requests/five.csv", "eTag": put["ETag"].strip('"'), "size": len(body),
                          "versionId": put.get("VersionId")}}}]}
    names = set()
    for _ in range(4):  # S3 delivered it once already; four more
        names.update(env.invoke("start-erasure", event)["executions"])
    result = env.wait_for_execution(timeout=300)
    names.update(env.invoke("start-erasure", event)["executions"])  # and once after it ended
    assert names == {result["name"]} and len(env.executions()) == 1
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED"
    assert len([c for c in calls(env, "CreateDataDeletionJob") if c["status"] == 200]) == 2
    assert_only_listed_erased(env, dsgs, apps, listed)


def test_pinpoint_latency_spikes_past_the_client_timeout_are_retried(env):
    """Calls slower than the client's 1 s timeout are abandoned and retried; a slow call that
    still went through server-side shows up as "no endpoints" on the retry, never as a loss."""
    dsgs, apps = deploy(env, extra_env={"PINPOINT_CALL_TIMEOUT_MS": "1000"})
    listed = {f"slow-{i:03d}": 1 for i in range(30)}
    seed(env, dsgs, apps, listed)
    env.control("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "latency_ms": 2500, "times": 6}]})
    env.upload("requests/slow.csv", csv_of(listed))
    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [pp] = receipt["pinpoint"]
    assert pp["usersProcessed"] == 30 and pp["failedUsers"] == 0
    assert pp["endpointsDeleted"] + pp["usersWithoutEndpoints"] == 30
    assert len(calls(env, "DeleteUserEndpoints")) >= 36  # the 6 slow calls were asked again
    assert_only_listed_erased(env, dsgs, apps, listed)
