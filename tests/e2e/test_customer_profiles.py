"""Amazon Connect Customer Profiles as a destination, through the whole workflow: each test uploads
a request, lets the real workflow run against the emulation (tests/emulation/customer_profiles.py)
and asserts what a user of the product would see: which profiles (and endpoints) are left, what
the receipt says per domain, what `erasure lookup` answers, what the failed lists hold."""

from __future__ import annotations

import json
import os
import signal

import pytest

from tests.emulation import ACCOUNT, REGION
from tests.harness import BUCKET, wait_for
from tests.helpers import (BYSTANDERS, PROFILES_KEY, assert_only_listed_erased, bucket_left, calls, csv_of, deploy,
                           function_pids, lookup, profiles, seed, seed_profiles, user_hash)

pytestmark = pytest.mark.timeout(600)

# The erase step's reason for a user whose profiles came back after deletion (REAPPEARED_REASON,
# shared/src/payload/shards.rs), and the unusable domain's (ProfilesDomain::unusable).
REAPPEARED = "deleted, then found again (re-created after deletion, e.g. by an integration)"
DENIED = "access denied to the domain"
ERASED_HERE = "ERASED (profiles deleted and none found after, or none existed)"


def emf(env, since: int) -> list[dict]:
    """The EMF metric lines the functions logged after byte `since` of their log."""
    with open(env.log_dir / "functions.log", "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return [m for m in (json.loads(l) for l in text.splitlines() if l.startswith("{")) if "_aws" in m]


def log_size(env) -> int:
    path = env.log_dir / "functions.log"
    return path.stat().st_size if path.exists() else 0


def test_pinpoint_and_customer_profiles_together_erase_exactly_the_listed_users(env):
    """One application and one domain: listed users lose their endpoints and every profile their
    ID finds (two each, or none), bystanders keep theirs, the receipt has both sections exact and
    names the key, account and Region; completed, so the request's copies of IDs are purged."""
    dsgs, apps = deploy(env, shard_users=50, domains=["crm"])
    listed = {f"both-{i:04d}": 1 + i % 3 for i in range(120)}
    owned = {u: 0 if i % 4 == 0 else 2 for i, u in enumerate(listed)}  # 30 without a profile
    seed(env, dsgs, apps, listed)
    seed_profiles(env, ["crm"], owned)
    since = log_size(env)
    env.upload("requests/both.csv", csv_of(listed))

    result = env.wait_for_execution()
    assert result["status"] == "SUCCEEDED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED" and "reason" not in receipt, receipt.get("reason")
    assert receipt["schemaVersion"] == "3"
    assert (receipt["account"], receipt["region"]) == (ACCOUNT, REGION)
    assert [j["status"] for j in receipt["personalize"]] == ["COMPLETED"]
    assert receipt["pinpoint"] == [{"applicationId": apps[0], "usersProcessed": 120,
                                    "endpointsDeleted": sum(listed.values()), "usersWithoutEndpoints": 0,
                                    "failedUsers": 0}]
    assert receipt["customerProfiles"] == [{"domainName": "crm", "searchKey": PROFILES_KEY, "usersProcessed": 120,
                                            "profilesDeleted": 180, "usersWithoutProfile": 30, "failedUsers": 0,
                                            "verifiedAbsent": 120, "reappeared": 0}]
    assert_only_listed_erased(env, dsgs, apps, listed, domains=["crm"])
    assert profiles(env, "crm") == BYSTANDERS
    # Nobody asked twice: one domain check per shard (3), one search for each user without a
    # profile, a search, two deletes and the verifying search for each of the others.
    assert len(calls(env, "GetDomain")) == 3
    assert len(calls(env, "SearchProfiles")) == 30 + 2 * 90
    deletes = calls(env, "DeleteProfile")
    assert len(deletes) == 180 and {c["status"] for c in deletes} == {200}
    assert {c["domainName"] for c in calls(env, "SearchProfiles") + deletes} == {"crm"}
    # No user ID in the receipt; the evidence lists nobody as failed.
    assert not any(u in json.dumps(receipt) for u in listed)
    assert "failedUsers" not in receipt["evidence"]
    # As in the Pinpoint happy path: completed, so only the receipt and its evidence are left.
    assert receipt["purge"]["requestObject"] == "DELETED" and receipt["purge"]["workObjectsDeleted"] >= 5
    name = result["name"]
    assert bucket_left(env) == [f"receipts/{name}.json"] * 2 + [f"receipts/{name}.users.txt"]
    # The operator's lookup answers for both destinations.
    answer = lookup(env, receipt, ["both-0001", "both-0004"])
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.count(f"  pinpoint {apps[0]}: ERASED") == 2
    assert answer.stdout.count(f"  customer profiles crm: {ERASED_HERE}") == 2
    # The metrics the alarms read.
    metrics = emf(env, since)
    assert sum(m.get("ProfilesDeleted", 0) for m in metrics) == 180
    assert sum(m.get("ProfilesReappeared", 0) for m in metrics) == 0


def test_customer_profiles_only_makes_no_pinpoint_call_at_all(env):
    """No Pinpoint application configured: the domain is erased, Pinpoint is never called (not
    even to check an application), and the receipt's Pinpoint section is empty."""
    dsgs, apps = deploy(env, apps=0, shard_users=20, domains=["crm"])
    assert apps == []
    listed = {f"cp-only-{i:03d}": 1 + i % 2 for i in range(30)}  # 2 shards; 45 profiles
    seed(env, dsgs, [], listed)
    seed_profiles(env, ["crm"], listed)
    env.upload("requests/cp-only.csv", csv_of(listed))

    result = env.wait_for_execution()
    assert result["status"] == "SUCCEEDED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    assert receipt["pinpoint"] == []
    assert receipt["customerProfiles"] == [{"domainName": "crm", "searchKey": PROFILES_KEY, "usersProcessed": 30,
                                            "profilesDeleted": 45, "usersWithoutProfile": 0, "failedUsers": 0,
                                            "verifiedAbsent": 30, "reappeared": 0}]
    assert env.control("GET", "calls?service=pinpoint") == []
    assert not env.control("GET", "wire")["validated"].get("pinpoint")
    assert_only_listed_erased(env, dsgs, [], listed, domains=["crm"])
    answer = lookup(env, receipt, ["cp-only-007"])
    assert answer.returncode == 0 and "pinpoint" not in answer.stdout, answer.stdout
    assert f"customer profiles crm: {ERASED_HERE}" in answer.stdout


def test_a_user_with_profiles_on_several_search_pages_loses_every_one(env):
    """Several profiles can carry one user's ID: 250 of them need three SearchProfiles pages (the
    function asks for 100 a page), 3 need one. All are deleted and counted, bystanders kept."""
    dsgs, apps = deploy(env, apps=0, domains=["crm"])
    listed = {"many-profiles-user": 250, "three-profiles-user": 3, "one-profile-user": 1}
    seed(env, dsgs, [], listed)
    seed_profiles(env, ["crm"], listed)
    env.upload("requests/many.csv", csv_of(listed))

    result = env.wait_for_execution()
    assert result["status"] == "SUCCEEDED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [cp] = receipt["customerProfiles"]
    assert (cp["usersProcessed"], cp["profilesDeleted"], cp["usersWithoutProfile"], cp["failedUsers"],
            cp["verifiedAbsent"]) == (3, 254, 0, 0, 3)
    assert_only_listed_erased(env, dsgs, [], listed, domains=["crm"])
    # Pages of 100: 3 + 1 + 1 searches, then one verifying search each; every profile deleted once.
    assert len(calls(env, "SearchProfiles")) == 5 + 3
    assert [c["status"] for c in calls(env, "DeleteProfile")] == [200] * 254


def test_a_profile_recreated_after_every_deletion_is_reported_never_counted_as_erased(env):
    """An integration re-creates one person's profile each time it is deleted: the verifying
    search finds it, the function deletes it once more, finds it again and reports the user as
    failed (PARTIAL) with the reason, in the failed list, the evidence and `erasure lookup`. The
    other users are erased, and so is the re-created user's Pinpoint endpoint."""
    dsgs, apps = deploy(env, domains=["crm"])
    listed = {"recreated-user-1": 1, "kept-away-1": 2, "kept-away-2": 1}  # endpoints
    owned = {"recreated-user-1": 1, "kept-away-1": 2, "kept-away-2": 0}  # profiles
    seed(env, dsgs, apps, listed)
    seed_profiles(env, ["crm"], owned)
    env.control("POST", "customer-profiles/recreate",
                {"domainName": "crm", "key": PROFILES_KEY, "value": "recreated-user-1", "times": None})
    since = log_size(env)
    env.upload("requests/recreated.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "PARTIAL", receipt.get("reason")
    assert "Customer Profiles domain crm" in receipt["reason"] and REAPPEARED in receipt["reason"]
    [pp] = receipt["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (3, 4, 0)
    [cp] = receipt["customerProfiles"]
    [key] = cp.pop("failedUsersKeys")
    # Two deletions of the re-created user's profile (first and verifying round) and kept-away-1's two.
    assert cp == {"domainName": "crm", "searchKey": PROFILES_KEY, "usersProcessed": 3, "profilesDeleted": 4,
                  "usersWithoutProfile": 1, "failedUsers": 1, "verifiedAbsent": 2, "reappeared": 1,
                  "failureReasons": {REAPPEARED: 1}}
    # What is left: the last re-created profile, and nothing else of the listed users anywhere.
    assert {u: n for u, n in profiles(env, "crm").items() if u in listed} == {"recreated-user-1": 1}
    assert len(env.control("GET", "customer-profiles/recreate")["recreated"]) == 2
    assert_only_listed_erased(env, dsgs, apps, {u: n for u, n in listed.items() if u != "recreated-user-1"},
                              domains=["crm"])
    assert not env.endpoints(apps[0]).get("recreated-user-1")
    assert not env.records(dsgs[0]).get("recreated-user-1")
    # The failed list (the request's own work folder, kept for a retry) names the user; the
    # receipt's evidence names them by keyed hash only, with the kind of destination.
    body = env.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert body.splitlines() == ["USER_ID,REASON", f"recreated-user-1,{REAPPEARED}"]
    failed = env.evidence(receipt, "failedUsers").decode().splitlines()
    assert failed == ["USER_HASH,TARGET_KIND,TARGET_ID,REASON",
                      f'{user_hash("recreated-user-1")},customerProfiles,crm,"{REAPPEARED}"']
    assert receipt["purge"]["requestObject"] == "KEPT"
    answer = lookup(env, receipt, ["recreated-user-1", "kept-away-1"])
    assert answer.returncode == 0, answer.stderr
    first, second = answer.stdout.split("user on input line 2")
    assert f"customer profiles crm: FAILED: {REAPPEARED}" in first and f"pinpoint {apps[0]}: ERASED" in first
    assert f"customer profiles crm: {ERASED_HERE}" in second
    assert "recreated-user-1" not in answer.stdout
    # The metric behind the ProfilesReappeared alarm.
    assert sum(m.get("ProfilesReappeared", 0) for m in emf(env, since)) == 1


def test_customer_profiles_throttling_at_the_quota_loses_nobody(env):
    """The account's real quota is far below what the deployment was told (10 searches and 10
    deletes a second against 400 configured): the service throttles, the function slows down and
    tries again, and nobody is failed or left; every profile is deleted and counted once."""
    dsgs, apps = deploy(env, apps=0, shard_users=20, domains=["crm"])
    listed = {f"quota-cp-{i:03d}": 1 + i % 2 for i in range(60)}  # 3 shards; 90 profiles
    seed(env, dsgs, [], listed)
    seed_profiles(env, ["crm"], listed)
    env.control("POST", "customer-profiles/config", {"search_rate": 10, "delete_rate": 10})
    env.upload("requests/quota-cp.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=400)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [cp] = receipt["customerProfiles"]
    throttled = [c for c in calls(env, "SearchProfiles") + calls(env, "DeleteProfile") if c["status"] == 429]
    assert throttled, "the quota never throttled"
    assert_only_listed_erased(env, dsgs, [], listed, domains=["crm"])
    assert sum(1 for c in calls(env, "DeleteProfile") if c["status"] == 200) == 90
    assert (cp["usersProcessed"], cp["failedUsers"], cp["verifiedAbsent"], cp["reappeared"]) == (60, 0, 60, 0)
    # Never more than was there. (That every deletion is counted and nobody is called "without
    # profile" is the next test's, which shows where the count is lost.)
    assert cp["profilesDeleted"] <= 90 and cp["usersWithoutProfile"] <= 60


def test_a_throttled_verifying_search_still_counts_the_profiles_deleted(env):
    """One user with two profiles; the account allows one search every two seconds, no burst. The
    user's first search takes the only token, both deletes go through, and the verifying search
    right after them is throttled, then retried until it finds nothing. The receipt must still say
    two profiles were deleted and that the user had some."""
    dsgs, apps = deploy(env, apps=0, domains=["crm"])
    listed = {"verify-throttled-1": 2}
    seed(env, dsgs, [], listed)
    seed_profiles(env, ["crm"], listed)
    env.control("POST", "customer-profiles/config", {"search_rate": 0.5, "burst": 1})
    env.upload("requests/verify-throttled.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=300)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    searches = [c["status"] for c in calls(env, "SearchProfiles")]
    assert searches[0] == 200 and searches[1] == 429, searches  # the verifying search, throttled
    assert [c["status"] for c in calls(env, "DeleteProfile")] == [200, 200]
    assert_only_listed_erased(env, dsgs, [], listed, domains=["crm"])
    [cp] = receipt["customerProfiles"]
    assert (cp["usersProcessed"], cp["failedUsers"], cp["verifiedAbsent"]) == (1, 0, 1)
    # The two deletes count, though the search after them was throttled (it is retried in place).
    assert (cp["profilesDeleted"], cp["usersWithoutProfile"]) == (2, 0)


def test_a_denied_domain_lists_its_users_as_failed_and_the_other_domain_is_still_erased(env):
    """One of two domains refuses the function (AccessDeniedException): its check fails, so every
    user of the request is listed as failed there with the reason, and nothing is searched or
    deleted in it. The other domain is erased; the request is PARTIAL, and `erasure lookup` says
    which domain failed for a user."""
    dsgs, apps = deploy(env, apps=0, shard_users=20, domains=["crm", "denied"])
    listed = {f"deny-{i:02d}": 1 for i in range(30)}  # 2 shards
    seed(env, dsgs, [], listed)
    seed_profiles(env, ["crm", "denied"], listed)
    env.control("POST", "faults", {"rules": [
        {"service": "customer-profiles", "error": "AccessDeniedException", "match": {"domainName": "denied"}}]})
    env.upload("requests/denied.csv", csv_of(listed))

    result = env.wait_for_execution(timeout=300)
    assert result["status"] == "FAILED"
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "PARTIAL", receipt.get("reason")
    # One sentence for the domain that could not be used, not a count per reason.
    assert (f"Customer Profiles domain denied could not be used: {DENIED}; 30 users' profiles there were "
            "not deleted") in receipt["reason"]
    ok, denied = receipt["customerProfiles"]
    assert ok == {"domainName": "crm", "searchKey": PROFILES_KEY, "usersProcessed": 30, "profilesDeleted": 30,
                  "usersWithoutProfile": 0, "failedUsers": 0, "verifiedAbsent": 30, "reappeared": 0}
    keys = denied.pop("failedUsersKeys")
    assert denied == {"domainName": "denied", "searchKey": PROFILES_KEY, "usersProcessed": 30, "profilesDeleted": 0,
                      "usersWithoutProfile": 0, "failedUsers": 30, "verifiedAbsent": 0, "reappeared": 0,
                      "failureReasons": {DENIED: 30}, "unusable": DENIED}
    assert len(keys) == 2
    # Nothing but the check reached the denied domain, once per shard; its profiles are all there.
    denied_calls = [c for c in env.control("GET", "calls?service=customer-profiles")
                    if c.get("domainName") == "denied"]
    assert [(c["operation"], c["status"]) for c in denied_calls] == [("GetDomain", 403)] * 2
    assert {u: n for u, n in profiles(env, "denied").items() if u in listed} == listed
    assert_only_listed_erased(env, dsgs, [], listed, domains=["crm"])
    # The failed lists hold every user, in the clear, in the request's work folder...
    listed_failed = []
    for key in keys:
        listed_failed += env.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()[1:]
    assert sorted(listed_failed) == sorted(f"{u},{DENIED}" for u in listed)
    # ...and the evidence by keyed hash, with the kind and the domain.
    failed = env.evidence(receipt, "failedUsers").decode().splitlines()
    assert failed[0] == "USER_HASH,TARGET_KIND,TARGET_ID,REASON"
    assert sorted(failed[1:]) == sorted(f'{user_hash(u)},customerProfiles,denied,"{DENIED}"' for u in listed)
    answer = lookup(env, receipt, ["deny-07"])
    assert answer.returncode == 0, answer.stderr
    assert f"customer profiles denied: FAILED: {DENIED}" in answer.stdout
    assert f"customer profiles crm: {ERASED_HERE}" in answer.stdout
    assert receipt["purge"]["requestObject"] == "KEPT"


def crash_erase_function(env, when, what: str):
    """Kills the erase function's process once `when()` holds (as test_faults does): Lambda fails
    the invocation (Runtime.ExitError), and holds the state machine's retry until a new execution
    environment is up. Returns how many calls of operation `what` were made at the kill."""
    wait_for("the shard to be under way", when, timeout=120, interval=0.1)
    pids = function_pids(env, "erase-pinpoint-endpoints")
    assert pids, "the erase function is not running"
    env.control("POST", "lambda/crash", {"functionName": "erase-pinpoint-endpoints", "hold": True})
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    at = len(calls(env, what))
    env.restart_functions()
    env.control("POST", "lambda/resume", {"functionName": "erase-pinpoint-endpoints"})
    return at


def test_a_crash_mid_shard_resumes_without_counting_anyone_twice_in_either_destination(env):
    """One shard, an application and a domain: the shard erases Pinpoint first, then the domain.
    The process is killed in the domain's part, past a checkpoint; the retry resumes there. Pinpoint
    is not asked again; in the domain, the users between the last checkpoint and the crash are
    searched again and found without profile (theirs were deleted before the crash), so every user
    is counted once, as erased or as without profile, and every profile was deleted exactly once."""
    # Alone, the shard may make 80 searches and 40 deletes a second (the rates less the 0.2
    # headroom): about 40 users a second, two searches and one delete each.
    dsgs, apps = deploy(env, shard_users=1000, domains=["crm"], profiles_search_rate=100.0,
                        profiles_delete_rate=50.0)
    listed = {f"crash-{i:04d}": 1 for i in range(400)}
    seed(env, dsgs, apps, listed)
    seed_profiles(env, ["crm"], listed)
    env.upload("requests/crash.csv", csv_of(listed))
    killed_at = crash_erase_function(env, lambda: len(calls(env, "DeleteProfile")) >= 150, "DeleteProfile")
    assert killed_at < 400, "the shard finished before the kill"

    result = env.wait_for_execution(timeout=400)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    erase = env.invocations("erase-pinpoint-endpoints")
    assert erase["errors"] == {"Runtime.ExitError": 1} and erase["invocations"] >= 2, erase
    assert_only_listed_erased(env, dsgs, apps, listed, domains=["crm"])
    # Pinpoint had finished before the crash: recorded, and not asked again.
    assert receipt["pinpoint"] == [{"applicationId": apps[0], "usersProcessed": 400, "endpointsDeleted": 400,
                                    "usersWithoutEndpoints": 0, "failedUsers": 0}]
    assert len(calls(env, "DeleteUserEndpoints")) == 400 and len(calls(env, "GetApp")) == 1
    # The domain: every user once; each profile deleted by exactly one call.
    [cp] = receipt["customerProfiles"]
    assert (cp["usersProcessed"], cp["failedUsers"], cp["verifiedAbsent"], cp["reappeared"]) == (400, 0, 400, 0)
    assert cp["profilesDeleted"] + cp["usersWithoutProfile"] == 400, cp
    deletes = calls(env, "DeleteProfile")
    assert len(deletes) == 400 and {c["status"] for c in deletes} == {200}
    # At most the batch under way at the crash (up to 100 users) was asked again.
    assert cp["usersWithoutProfile"] <= 100, (cp, killed_at)


def test_a_crash_after_a_destination_finished_with_failures_keeps_them_listed(env):
    """Pinpoint refuses 5 users (ForbiddenException: listed as failed), the shard goes on to the
    domain and the process is killed in the domain's first checkpoint batch. The retry resumes in
    the domain; the 5 users Pinpoint refused must still be in the receipt with their reason, in
    the evidence, and `erasure lookup` must say FAILED for them."""
    dsgs, apps = deploy(env, shard_users=1000, domains=["crm"], profiles_search_rate=50.0,
                        profiles_delete_rate=25.0)  # about 20 users a second in the domain
    listed = {f"after-{i:04d}": 1 for i in range(150)}
    seed(env, dsgs, apps, listed)
    seed_profiles(env, ["crm"], listed)
    env.control("POST", "faults", {"rules": [{"service": "pinpoint", "operation": "DeleteUserEndpoints",
                                              "error": "ForbiddenException", "times": 5}]})
    env.upload("requests/after.csv", csv_of(listed))
    # Before the domain's first checkpoint (100 users): its deletes have begun, far from 100.
    killed_at = crash_erase_function(env, lambda: len(calls(env, "DeleteProfile")) >= 10, "DeleteProfile")
    assert killed_at < 100, killed_at

    result = env.wait_for_execution(timeout=400)
    receipt = env.receipt(result["name"])
    assert receipt["outcome"] == "PARTIAL", receipt.get("reason")
    assert env.invocations("erase-pinpoint-endpoints")["errors"] == {"Runtime.ExitError": 1}
    refused = sorted(u for u, ids in env.endpoints(apps[0]).items() if u in listed and ids)
    assert len(refused) == 5
    [pp] = receipt["pinpoint"]
    assert (pp["usersProcessed"], pp["endpointsDeleted"], pp["failedUsers"]) == (150, 145, 5)
    [cp] = receipt["customerProfiles"]
    assert (cp["usersProcessed"], cp["failedUsers"]) == (150, 0)
    assert not any(profiles(env, "crm").get(u) for u in listed)
    # What the receipt, its evidence and the lookup say of the 5 users Pinpoint refused.
    wrong = []
    if pp.get("failureReasons") != {"access denied": 5}:
        wrong.append(f"receipt failureReasons {pp.get('failureReasons')} (expected {{'access denied': 5}})")
    if len(pp.get("failedUsersKeys", [])) != 1:
        wrong.append(f"receipt failedUsersKeys {pp.get('failedUsersKeys', [])} (expected the shard's list)")
    failed = (env.evidence(receipt, "failedUsers") or b"").decode().splitlines()
    if sorted(failed[1:]) != sorted(f'{user_hash(u)},pinpoint,{apps[0]},"access denied"' for u in refused):
        wrong.append(f"the failed-users evidence holds {len(failed[1:])} lines (expected 5)")
    answer = lookup(env, receipt, refused[:1])
    said = [l.strip() for l in answer.stdout.splitlines() if l.strip().startswith("pinpoint ")]
    if said != [f"pinpoint {apps[0]}: FAILED: access denied"]:
        wrong.append(f"`erasure lookup` of a refused user says {said}")
    assert not wrong, "; ".join(wrong)
