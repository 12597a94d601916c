"""Issue 18 through the whole workflow: a preview (a file under the plan prefix) that only reads,
the same file then erased and tied to its plan by SHA-256, and who ordered a request: an upload by
a role outside RequestUploaderPrincipalArns refused by the bucket policy (as the IAM evaluation of
the transformed template shows) and by the workflow itself, and an allowed one recorded in the
receipt by its RoleId and role ARN, without its session name."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from tests.harness import BUCKET
from tests.helpers import BYSTANDERS, bucket_left, csv_of, deploy, lookup, profiles, seed, seed_profiles
from tests.iam.report import judge_recorded_calls

pytestmark = pytest.mark.timeout(600)

# Every call that changes what a destination holds: none may be made by a plan.
CHANGING = {"DeleteUserEndpoints", "DeleteProfile", "CreateDataDeletionJob", "CreateSolutionVersion",
            "UpdateCampaign", "TagResource"}


def principal_operations(env) -> list[str]:
    return [c["operation"] for c in env.control("GET", "principal-calls")["calls"]]


def execution_for(env, key: str, timeout: float = 60) -> str:
    """The name of the execution started for the object `key`."""
    sfn = env.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        for e in env.executions():
            d = sfn.describe_execution(executionArn=e["executionArn"])
            if json.loads(d["input"])["request"]["key"] == key:
                return e["name"]
        assert time.monotonic() < deadline, f"no execution for {key}"
        time.sleep(0.3)


def run(env, key: str, upload) -> tuple[dict, dict]:
    """Uploads with `upload()`, waits for the execution of `key`; returns (execution, receipt)."""
    upload()
    name = execution_for(env, key)
    result = env.wait_for_execution(name=name, timeout=300)
    return result, env.receipt(name)


def test_a_plan_counts_exactly_what_erasing_would_touch_deletes_nothing_and_the_erasure_names_it(env):
    [group], [app] = deploy(env, shard_users=40, domains=["crm"])
    # 90 listed users, partly present: 30 hold nothing anywhere, the others hold 1-3 endpoints
    # in the application and 0-2 profiles in the domain.
    listed = {f"plan-user-{i:03d}": (0 if i < 30 else 1 + i % 3) for i in range(90)}
    owned = {u: (0 if i < 30 else i % 3) for i, u in enumerate(listed)}
    seed(env, [group], [app], listed)
    seed_profiles(env, ["crm"], owned)
    solution, version = env.personalize_solution(group, "recs")
    campaign = env.personalize_campaign(version, "recs-live")
    endpoints_before, profiles_before = env.endpoints(app), profiles(env, "crm")
    body = csv_of(listed)
    sha = hashlib.sha256(body).hexdigest()

    result, plan = run(env, "plans/march.csv", lambda: env.upload_plan("march.csv", body))

    assert result["status"] == "SUCCEEDED"
    assert plan["outcome"] == "PLANNED" and "reason" not in plan, plan.get("reason")
    with_endpoints = [u for u, n in listed.items() if n]
    with_profiles = [u for u, n in owned.items() if n]
    assert plan["plan"]["pinpoint"] == [{
        "applicationId": app, "usersChecked": 90, "usersWithEndpoints": len(with_endpoints),
        "endpoints": sum(listed.values()), "usersNotChecked": 0}]
    [crm] = plan["plan"]["customerProfiles"]
    assert (crm["domainName"], crm["usersChecked"], crm["usersWithProfiles"], crm["profiles"],
            crm["usersNotChecked"]) == ("crm", 90, len(with_profiles), sum(owned.values()), 0)
    [g] = plan["plan"]["personalize"]
    assert (g["datasetGroupArn"], g["deletionJobs"], g["users"], g["retrainAfterDeletion"]) == (group, 1, 90, "full")
    assert g["solutions"] == [{"solutionArn": solution, "lastVersionArn": version, "lastTrainingHours": 1.5,
                               "campaigns": [campaign]}]
    assert g["estimatedTrainingHours"] == 1.5 and "runningNow" not in g
    assert plan["plan"]["requestSha256"] == sha == plan["request"]["sha256"]
    assert plan["plan"]["latestEnd"] > plan["finishedAt"]
    # A plan says nothing was deleted: no deletion entries at all.
    assert (plan["personalize"], plan["pinpoint"], plan["customerProfiles"]) == ([], [], [])
    # Zero deleting calls; the reads were made.
    ops = principal_operations(env)
    assert not CHANGING & set(ops), sorted(CHANGING & set(ops))
    assert ops.count("GetUserEndpoints") == 90 and "SearchProfiles" in ops
    assert env.endpoints(app) == endpoints_before and profiles(env, "crm") == profiles_before
    assert not any(env.personalize_models(group)["calls"].values())
    # Counts and keyed hashes only; the plan file and every work object are gone.
    assert not any(u in json.dumps(plan) for u in listed)
    assert plan["purge"]["requestObject"] == "DELETED"
    left = bucket_left(env)
    assert not [k for k in left if k.startswith(("work/", "plans/"))], left
    pointer = json.loads(env.client("s3").get_object(Bucket=BUCKET, Key=f"receipts/plans/{sha}.json")["Body"].read())
    assert pointer["planReceipt"] == f"receipts/{result['name']}.json"
    # An operator's lookup says it is a plan, with the totals.
    answer = lookup(env, plan, [with_endpoints[0]])
    assert answer.returncode == 0, answer.stderr
    assert "this is a plan: nothing was erased" in answer.stdout
    assert f"plan pinpoint {app}: {len(with_endpoints)} of 90 user(s) have endpoints" in answer.stdout

    # The same bytes under the request prefix: erased, and the receipt names the plan.
    result, receipt = run(env, "requests/march.csv", lambda: env.upload("requests/march.csv", body))
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    assert receipt["precededBy"] == {"planReceipt": pointer["planReceipt"], "executionName": pointer["executionName"],
                                     "plannedAt": plan["finishedAt"], "requestSha256": sha}
    [pin] = receipt["pinpoint"]
    assert pin["endpointsDeleted"] == plan["plan"]["pinpoint"][0]["endpoints"]
    assert pin["usersWithoutEndpoints"] == 90 - len(with_endpoints)
    assert receipt["customerProfiles"][0]["profilesDeleted"] == crm["profiles"]
    assert {u: n for u, n in profiles(env, "crm").items()} == BYSTANDERS
    assert "plan" not in receipt


def test_only_a_named_role_orders_an_erasure_and_the_receipt_says_which_without_the_session_name(env):
    officers = env.create_uploader_role("privacy-officers", path="/privacy/")
    interns = env.create_uploader_role("interns")
    [group], [app] = deploy(env, request_uploader_principal_arns=[officers])
    listed = {f"ordered-{i:02d}": 1 for i in range(20)}
    seed(env, [group], [app], listed)
    body = csv_of(listed)

    # An intern's upload: AWS refuses it by the bucket policy...
    _, refused = run(env, "requests/intern.csv", lambda: env.upload_as(interns, "mallory", "requests/intern.csv",
                                                                      body, expect_refused=True))
    [verdict] = judge_recorded_calls(env, interns, operation="PutObject")
    assert not verdict.allowed and "OnlyTheNamedRolesOrderErasures" in verdict.reason, verdict
    # ... and were the policy changed by hand, the workflow refuses it too: nothing read or erased.
    assert refused["outcome"] == "REJECTED"
    assert refused["request"]["rejectionCode"] == "UPLOADER_NOT_ALLOWED"
    assert refused["orderedBy"]["uniqueId"] == env.role_id(interns)
    assert refused["orderedBy"]["allowed"] is False and "roleArn" not in refused["orderedBy"]
    assert refused["request"]["validUsers"] == 0 and refused["personalize"] == []
    assert set(listed) <= set(env.endpoints(app))

    # A privacy officer's: allowed, erased, recorded by RoleId and role ARN; the session name
    # (a person's user name here) is dropped by default.
    put = {}

    def officer_upload():
        put.update(env.upload_as(officers, "jane.doe@example.com", "requests/officer.csv", body))

    _, receipt = run(env, "requests/officer.csv", officer_upload)
    assert all(v.allowed for v in judge_recorded_calls(env, officers, operation="PutObject"))
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    by = receipt["orderedBy"]
    assert (by["uniqueId"], by["kind"], by["roleArn"], by["allowed"]) == \
        (env.role_id(officers), "ROLE_SESSION", officers, True)
    assert by["objectVersion"] == put["VersionId"]
    assert by["uploadedAt"] <= receipt["startedAt"]
    assert "sessionName" not in by and "jane.doe" not in json.dumps(receipt)
    # The legal clock starts at the upload (GDPR by default: one calendar month, +2 extendable).
    assert receipt["receivedAt"] == by["uploadedAt"]
    assert receipt["respondBy"]["regime"] == "GDPR" and receipt["respondBy"]["due"] > receipt["receivedAt"][:10]
    assert not set(listed) & set(env.endpoints(app))
    # The prepare function asked IAM about the named role only, and was allowed to.
    roles_read = judge_recorded_calls(env, "prepare-request", operation="GetRole")
    assert roles_read and all(c.allowed and c.resource.endswith("role/privacy/privacy-officers") for c in roles_read)
