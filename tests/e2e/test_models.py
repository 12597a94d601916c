"""The Personalize erasure as AWS asks for it ("Deleting users", Personalize developer guide):
nothing imports or trains on the dataset group while its deletion job runs, and every solution
is retrained (campaigns moved to the new version) after it. The emulation trains a version on the
users the group holds when its training starts (`trainedOn`), so a test can tell whether a model
still holds a listed user. Clocks are compressed: trainings take seconds, checks come every second.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from tests.helpers import BYSTANDERS, csv_of, deploy, lookup, seed

LISTED = {f"m-user-{i:03d}": 1 for i in range(8)}


def models(env, group: str) -> dict:
    return env.personalize_models(group)


def execution_of(env, key: str) -> str:
    """The name of the execution erasing the request file `key`."""
    sfn = env.client("stepfunctions")
    for e in env.executions():
        d = sfn.describe_execution(executionArn=e["executionArn"])
        if json.loads(d["input"])["request"]["key"] == key:
            return e["name"]
    raise AssertionError(f"no execution for {key}")


def erase(env, key: str, users, timeout: float = 240) -> dict:
    env.upload(key, csv_of(users))
    time.sleep(0.5)
    name = execution_of_when_started(env, key)
    env.wait_for_execution(name=name, timeout=timeout)
    return env.receipt(name)


def execution_of_when_started(env, key: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return execution_of(env, key)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def versions(env, group: str, solution: str) -> dict[str, dict]:
    [s] = [s for s in models(env, group)["solutions"] if s["solutionArn"] == solution]
    return {v["solutionVersionArn"]: v for v in s["versions"]}


def test_the_solution_is_retrained_without_the_users_and_the_campaign_moved_to_it(env):
    [group], apps = deploy(env)
    seed(env, [group], apps, LISTED)
    solution, initial = env.personalize_solution(group, "recs")
    campaign = env.personalize_campaign(initial, "recs-live")
    assert set(LISTED) <= set(versions(env, group, solution)[initial]["trainedOn"])

    receipt = erase(env, "requests/retrain.csv", LISTED)

    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [g] = receipt["personalizeModels"]
    assert g["datasetGroupArn"] == group and g["status"] == "RETRAINED" and g["retrainAfterDeletion"] == "full"
    assert g["preflight"]["proceeded"] == "QUIET" and g["preflight"]["found"] == []
    [r] = g["retraining"]
    new = r["solutionVersionArn"]
    assert (r["solutionArn"], r["trainingMode"], r["status"], r["joined"]) == (solution, "FULL", "ACTIVE", False)
    assert r["trainingHours"] == 1.5
    # When the training ended (the version's lastUpdatedDateTime): after the deletion job, before
    # the receipt; `erasure receipt` says "models retrained at HH:MM UTC".
    assert g["jobsCompletedAt"] <= r["trainedAt"] <= receipt["finishedAt"], (g["jobsCompletedAt"], r, receipt["finishedAt"])
    assert r["campaigns"] == [{"campaignArn": campaign, "status": "ACTIVE", "solutionVersionArn": new}]
    # What a privacy officer relies on: the model the campaign serves now never saw the users.
    trained = versions(env, group, solution)[new]
    assert trained["trainingMode"] == "FULL" and trained["status"] == "ACTIVE"
    assert not set(LISTED) & set(trained["trainedOn"])
    assert set(BYSTANDERS) <= set(trained["trainedOn"])
    [c] = [c for s in models(env, group)["solutions"] for c in s["campaigns"]]
    assert c["solutionVersionArn"] == new
    # The version says which request it serves.
    assert any(k.startswith("erasure-request:") for k in trained["tags"])
    assert models(env, group)["calls"]["CreateSolutionVersion"] == 1
    # An operator asking about one user sees the models too.
    answer = lookup(env, receipt, [next(iter(LISTED))])
    assert answer.returncode == 0, answer.stderr
    assert f"personalize models {group}: RETRAINED after the deletion: {new} trained (1 campaign(s) on it)" \
        in answer.stdout


def test_overlapping_requests_share_a_training_only_if_it_started_after_their_deletion(env):
    """Three requests on one group, the third uploaded while the first one's training runs: at
    most one erasure-driven training is ever in flight, and no receipt names a version that was
    trained on its own users."""
    [group], apps = deploy(env)
    users = {k: {f"{k}-user-{i}": 1 for i in range(4)} for k in ("a", "b", "c")}
    seed(env, [group], apps, {u: 1 for us in users.values() for u in us})
    env.personalize_models_config(training_seconds=8)
    solution, initial = env.personalize_solution(group, "shared")
    env.personalize_campaign(initial, "shared-live")

    env.upload("requests/a.csv", csv_of(users["a"]))
    env.upload("requests/b.csv", csv_of(users["b"]))
    names = {k: execution_of_when_started(env, f"requests/{k}.csv") for k in ("a", "b")}
    # C arrives once a training is under way: it cannot be served by that one.
    deadline = time.monotonic() + 120
    while not [v for v in versions(env, group, solution).values() if v["solutionVersionArn"] != initial]:
        assert time.monotonic() < deadline, "no training started"
        time.sleep(0.3)
    env.upload("requests/c.csv", csv_of(users["c"]))
    names["c"] = execution_of_when_started(env, "requests/c.csv")
    receipts = {}
    for k, name in names.items():
        env.wait_for_execution(name=name, timeout=300)
        receipts[k] = env.receipt(name)

    trained = versions(env, group, solution)
    for k, receipt in receipts.items():
        assert receipt["outcome"] == "COMPLETED", (k, receipt.get("reason"))
        [r] = receipt["personalizeModels"][0]["retraining"]
        v = trained[r["solutionVersionArn"]]
        assert not set(users[k]) & set(v["trainedOn"]), f"{k}'s receipt names a model trained on its users"
        completed = receipt["personalizeModels"][0]["jobsCompletedAt"]
        started = datetime.fromtimestamp(v["creationDateTime"]).astimezone()
        assert started > datetime.fromisoformat(completed.replace("Z", "+00:00")), k
    # C waited for the training in flight and got the next one.
    first = receipts["a"]["personalizeModels"][0]["retraining"][0]["solutionVersionArn"]
    c_version = receipts["c"]["personalizeModels"][0]["retraining"][0]["solutionVersionArn"]
    assert c_version != first
    # At most one training at a time: their [creation, end] intervals do not overlap.
    spans = sorted((v["creationDateTime"], v["lastUpdatedDateTime"]) for a, v in trained.items() if a != initial)
    assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:])), spans
    assert 2 <= len(spans) <= 3
    joined = [k for k, r in receipts.items() if r["personalizeModels"][0]["retraining"][0]["joined"]]
    assert len(spans) + len(joined) == 3, "every request either started a training or joined one"


def test_one_failing_training_of_two_makes_the_request_partial_with_its_reason(env):
    [group], apps = deploy(env)
    seed(env, [group], apps, LISTED)
    good, good_v = env.personalize_solution(group, "good")
    bad, _ = env.personalize_solution(group, "bad", fail="InsufficientData: not enough interactions")
    env.personalize_campaign(good_v, "good-live")

    receipt = erase(env, "requests/fail.csv", LISTED)

    assert receipt["outcome"] == "PARTIAL"
    assert "not enough interactions" in receipt["reason"] and bad in receipt["reason"]
    [g] = receipt["personalizeModels"]
    assert g["status"] == "FAILED"
    by = {r["solutionArn"]: r for r in g["retraining"]}
    assert by[good]["status"] == "ACTIVE" and by[good]["campaigns"][0]["status"] == "ACTIVE"
    assert by[bad]["status"] == "CREATE FAILED" and "not enough interactions" in by[bad]["failureReason"]
    # The data itself is gone: the deletion job completed.
    assert receipt["personalize"][0]["status"] == "COMPLETED"


def test_an_import_before_is_waited_for_one_during_the_job_is_recorded_and_residue_listed(env):
    [group], apps = deploy(env)
    seed(env, [group], apps, LISTED)
    env.control("POST", "personalize/config", {"pending_seconds": 1, "in_progress_seconds": 4})
    dataset = env.personalize_dataset(group, "Interactions")
    before = env.personalize_import_job(dataset, "s3://team-data/interactions-nightly.csv", seconds=20)
    solution, initial = env.personalize_solution(group, "recs")
    env.personalize_batch_inference_job(initial, "s3://team-data/batch-in/", "s3://team-data/batch-out/")
    env.personalize_export_job(dataset, "s3://team-exports/interactions/")
    tracker = env.personalize_event_tracker(group, "web")

    env.upload("requests/busy.csv", csv_of(LISTED))
    name = execution_of_when_started(env, "requests/busy.csv")
    # Once the deletion job runs, someone starts an import.
    deadline = time.monotonic() + 120
    while not any(j["status"] == "IN_PROGRESS" for j in env.control("GET", "personalize/jobs")["jobs"]):
        assert time.monotonic() < deadline, "the deletion job never ran"
        time.sleep(0.2)
    during = env.personalize_import_job(dataset, "s3://team-data/interactions-hotfix.csv")
    env.wait_for_execution(name=name, timeout=240)
    receipt = env.receipt(name)

    [g] = receipt["personalizeModels"]
    p = g["preflight"]
    assert p["proceeded"] == "QUIET" and p["waitedSeconds"] >= 1
    assert [(a["kind"], a["arn"]) for a in p["found"]] == [("DATASET_IMPORT", before)]
    # No deletion job was created before the import ended.
    [job] = env.control("GET", "personalize/jobs")["jobs"]
    assert g["eventTrackers"] == [tracker]
    assert ("DATASET_IMPORT", during) in [(a["kind"], a["arn"]) for a in g["concurrentActivity"]]
    assert receipt["outcome"] == "PARTIAL" and "run the request again" in receipt["reason"]
    residue = {r["location"]: r["kind"] for r in g["residue"]}
    assert residue["s3://team-data/interactions-nightly.csv"] == "DATASET_IMPORT"
    assert residue["s3://team-data/interactions-hotfix.csv"] == "DATASET_IMPORT"
    assert residue["s3://team-data/batch-in/"] == "BATCH_INFERENCE"
    assert residue["s3://team-data/batch-out/"] == "BATCH_INFERENCE"
    assert residue["s3://team-exports/interactions/"] == "DATASET_EXPORT"
    imported = env.client("personalize").describe_dataset_import_job(datasetImportJobArn=before)
    assert job["creationDateTime"] >= imported["datasetImportJob"]["lastUpdatedDateTime"].timestamp() - 1


def test_a_recommender_is_recorded_with_its_weekly_retraining_and_nothing_is_trained(env):
    [group], apps = deploy(env)
    seed(env, [group], apps, LISTED)
    recommender = env.personalize_recommender(group, "for-you")

    receipt = erase(env, "requests/domain.csv", LISTED)

    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [g] = receipt["personalizeModels"]
    assert g["status"] == "NOTHING_TO_RETRAIN" and "7 days" in g["reason"]
    [r] = g["recommenders"]
    assert r["recommenderArn"] == recommender and r["status"] == "ACTIVE"
    done = datetime.fromisoformat(g["jobsCompletedAt"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(r["retrainedBy"].replace("Z", "+00:00")) == done + timedelta(days=7)
    assert models(env, group)["attempts"].get("CreateSolutionVersion", 0) == 0


def test_retrain_none_trains_nothing_and_the_receipt_says_the_models_were_not_retrained(env):
    [group], apps = deploy(env, retrain_after_deletion="none")
    seed(env, [group], apps, LISTED)
    solution, initial = env.personalize_solution(group, "recs")
    env.personalize_campaign(initial, "recs-live")

    receipt = erase(env, "requests/none.csv", LISTED)

    assert receipt["outcome"] == "COMPLETED", receipt.get("reason")
    [g] = receipt["personalizeModels"]
    assert (g["retrainAfterDeletion"], g["status"]) == ("none", "NOT_RETRAINED")
    assert "not retrained" in g["reason"] and g["retraining"] == []
    answer = lookup(env, receipt, [next(iter(LISTED))])
    assert f"personalize models {group}: NOT RETRAINED (by configuration): RetrainAfterDeletion is none" \
        in answer.stdout
    m = models(env, group)
    assert m["attempts"].get("CreateSolutionVersion", 0) == 0 and m["attempts"].get("UpdateCampaign", 0) == 0
    assert list(versions(env, group, solution)) == [initial]
