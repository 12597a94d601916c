"""Issue 19's `erasure status`, against the emulation, as the stack's OperatorRole runs it: a
running request shows a partial count that only grows, with its rate, the time left and the pacing
against the configured quota; a finished one shows what its receipt says; the request file, the
execution's name and its receipt all name the same request; --list shows it with its outcome. Every
call the command made is judged against the operator role's policy and the bucket policy (which
keeps the role away from every object holding a user ID)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness import BUCKET, ROOT
from tests.helpers import OPERATOR_ROLE, csv_of, deploy, erasure_status, operator_env, seed
from tests.e2e.test_preview import execution_for
from tests.iam.report import judge_recorded_calls

pytestmark = pytest.mark.timeout(600)

USERS = 80


def test_status_follows_a_running_request_and_a_finished_one_matches_its_receipt(env):
    # Four shards of 20 users, one at a time, at 4 requests/s less the 20 % headroom: about 25 s
    # of erasing, with a progress record at the end of each shard.
    [group], [app] = deploy(env, shard_users=20, shard_concurrency=1, pinpoint_rate=4.0)
    listed = {f"status-user-{i:03d}": 1 + i % 2 for i in range(USERS)}
    seed(env, [group], [app], listed)
    env.upload("requests/status.csv", csv_of(listed))
    name = execution_for(env, "requests/status.csv")
    # While it runs, the request file names its execution (its latest upload's version).
    by_file = erasure_status(env, f"s3://{BUCKET}/requests/status.csv", "--format", "json")
    assert by_file.returncode == 0 and json.loads(by_file.stdout)["executionName"] == name, by_file.stderr

    # --watch, one JSON document per refresh, until the request ends.
    watch = subprocess.run([str(ROOT / "target" / "debug" / "erasure"), "status", name, "--watch", "1",
                            "--format", "json"], capture_output=True, text=True, timeout=400,
                           env=operator_env(env))
    assert watch.returncode == 0, watch.stderr
    seen = [json.loads(line) for line in watch.stdout.splitlines() if line.strip()]
    assert seen and all(s["executionName"] == name for s in seen)
    running = [s for s in seen if s["status"] == "RUNNING"]
    done = [t["done"] for s in running for t in s["targets"]]
    assert any(0 < d < USERS for d in done), done          # a partial count was shown ...
    assert done == sorted(done), done                        # ... and it only grew
    partial = next(s for s in running for t in s["targets"] if 0 < t["done"] < USERS)
    [t] = partial["targets"]
    assert t["total"] == USERS and t["usersPerSecond"] > 0 and t["etaSeconds"] > 0, t
    [pace] = partial["pacing"]
    assert (pace["api"], pace["accountRate"], pace["configured"]) == ("DeleteUserEndpoints", 4.0, 3.2), pace
    assert any(w.startswith(f"Pinpoint application {app}: ") for w in partial["waitingFor"]), partial["waitingFor"]
    assert partial["respondBy"]["regime"] == "GDPR" and partial["daysLeft"] >= 28

    # Finished: the status is the receipt's.
    final = seen[-1]
    receipt = env.receipt(name)
    assert final["status"] == "SUCCEEDED" and final["outcome"] == receipt["outcome"] == "COMPLETED"
    assert final["waitingFor"] == []
    [t] = final["targets"]
    [p] = receipt["pinpoint"]
    assert (t["id"], t["done"], t["itemsDeleted"], t["usersWithoutItems"], t["failed"]) == \
        (p["applicationId"], p["usersProcessed"], p["endpointsDeleted"], p["usersWithoutEndpoints"], p["failedUsers"])
    [g] = final["personalize"]
    assert [(j["part"], j["state"], j["recordsDeleted"]) for j in g["jobs"]] == \
        [(e["part"], e["status"], e["numDeleted"]) for e in receipt["personalize"]]
    assert final["receivedAt"] == receipt["receivedAt"] and final["respondBy"] == receipt["respondBy"]
    assert "daysLeft" not in final  # COMPLETED: off the clock
    assert final["receipt"] == f"s3://{BUCKET}/receipts/{name}.json"

    # Once ended (the file purged), the request file still names it (the executions' inputs), and
    # so does the receipt; the text has indicatif's bars.
    for target in (f"s3://{BUCKET}/requests/status.csv", f"s3://{BUCKET}/receipts/{name}.json"):
        again = erasure_status(env, target, "--format", "json")
        assert again.returncode == 0 and json.loads(again.stdout)["executionName"] == name, again.stderr
    text = erasure_status(env, name)
    assert text.returncode == 0, text.stderr
    assert f"{name}  SUCCEEDED, outcome COMPLETED" in text.stdout
    assert f"[{'#' * 30}] {USERS}/{USERS} users" in text.stdout, text.stdout
    assert "1/1 deletion jobs ended" in text.stdout

    # --list: the request with its outcome; no days left once COMPLETED (it is off the clock).
    listed_out = erasure_status(env, "--list", "--format", "json")
    assert listed_out.returncode == 0, listed_out.stderr
    [row] = [r for r in json.loads(listed_out.stdout) if r["executionName"] == name]
    assert (row["status"], row["outcome"]) == ("SUCCEEDED", "COMPLETED") and "daysLeft" not in row

    # Every call the operator made is one its role may make, and no user ID was read.
    verdicts = judge_recorded_calls(env, OPERATOR_ROLE)
    assert verdicts and all(v.allowed for v in verdicts), [v for v in verdicts if not v.allowed]
    read = {v.resource for v in verdicts if v.action == "s3:GetObject"}
    assert read and not [r for r in read if "/requests/" in r or r.endswith((".csv", ".txt"))], read
