"""Personalize model resources as the emulation serves them (personalize_models.py), driven with
boto3 like the real service: solution versions over time and what they were trained on, campaign
updates and automatic sync, failures (seeded and injected), jobs, pagination and tags. Every test
ends with the wire check: no exchange broke botocore's model of Personalize."""

from __future__ import annotations

import re
import time

import pytest

from tests.emulation import ACCOUNT
from tests.emulation_tests.helpers import NO_RETRY, create_job

FAST = {"training_pending_seconds": 0.3, "training_seconds": 0.5, "training_hours": 2.25,
        "campaign_update_seconds": 0.6}


@pytest.fixture
def p(emu):
    client = emu.client("personalize", config=NO_RETRY)
    yield client
    report = emu.ctl("GET", "wire")
    problems = [f"{v['operation']} {v['side']}: {v['problem']}" for v in report["violations"]]
    problems += [f"{r['operation']} (rejected): {r['problem']}" for r in report["rejected"]]
    assert not problems, "\n".join(sorted(set(problems)))


def wait(check, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        time.sleep(0.05)


def version(p, arn):
    return p.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]


def status_is(p, arn, *statuses):
    return lambda: (v := version(p, arn))["status"] in statuses and v


def models(emu, dsg):
    return emu.ctl("GET", f"personalize/models?datasetGroupArn={dsg}")


def solution(emu, dsg, name, fail=None):
    out = emu.ctl("POST", "personalize/solutions", {"datasetGroupArn": dsg, "name": name, "fail": fail})
    return out["solutionArn"], out["solutionVersionArn"]


def test_config_defaults_and_reset(emu):
    assert emu.ctl("GET", "personalize/models/config") == {
        "training_pending_seconds": 1.0, "training_seconds": 2.0, "training_hours": 1.5, "campaign_update_seconds": 1.0}
    assert emu.ctl("POST", "personalize/models/config", {"training_hours": 3})["training_hours"] == 3.0
    emu.ctl("POST", "reset")
    assert emu.ctl("GET", "personalize/models/config")["training_hours"] == 1.5


def test_solution_version_goes_pending_in_progress_active_trained_on_the_records_at_its_start(emu, p):
    emu.ctl("POST", "personalize/models/config", FAST)
    dsg = emu.dataset_group("shop")
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {"u-a": 1, "u-b": 2}})
    sol, first = solution(emu, dsg, "recs")
    assert sol == f"arn:aws:personalize:us-east-1:{ACCOUNT}:solution/recs"
    v0 = version(p, first)
    assert (v0["status"], v0["trainingMode"], v0["trainingHours"]) == ("ACTIVE", "FULL", 2.25)

    t0 = time.time()
    arn = p.create_solution_version(solutionArn=sol, trainingMode="FULL", name="after-erasure",
                                    tags=[{"tagKey": "erasure-request", "tagValue": "req-1"}])["solutionVersionArn"]
    assert re.fullmatch(re.escape(sol) + r"/[0-9a-f]{8}", arn)
    v = version(p, arn)
    assert v["status"] == "CREATE PENDING" and "trainingHours" not in v and "failureReason" not in v
    assert (v["solutionArn"], v["datasetGroupArn"], v["trainingMode"], v["name"]) == (sol, dsg, "FULL", "after-erasure")
    assert abs(v["creationDateTime"].timestamp() - t0) < 1
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.create_solution_version(solutionArn=sol)

    v = wait(status_is(p, arn, "CREATE IN_PROGRESS", "ACTIVE"), what="training start")
    assert v["status"] == "CREATE IN_PROGRESS"
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {"u-late": 1}})  # after the start
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.create_solution_version(solutionArn=sol)
    v = wait(status_is(p, arn, "ACTIVE", "CREATE FAILED"), what="training end")
    assert v["status"] == "ACTIVE" and v["trainingHours"] == 2.25
    assert (v["lastUpdatedDateTime"] - v["creationDateTime"]).total_seconds() == pytest.approx(0.8, abs=0.01)

    listed = p.list_solution_versions(solutionArn=sol)["solutionVersions"]
    assert [x["solutionVersionArn"] for x in listed] == [arn, first]  # newest first
    assert listed[0]["trainingType"] == "MANUAL" and "trainingHours" not in listed[0]
    latest = p.describe_solution(solutionArn=sol)["solution"]["latestSolutionVersion"]
    assert (latest["solutionVersionArn"], latest["status"]) == (arn, "ACTIVE")
    assert [s["solutionArn"] for s in p.list_solutions(datasetGroupArn=dsg)["solutions"]] == [sol]

    view = models(emu, dsg)
    [s] = view["solutions"]
    assert [(x["solutionVersionArn"], x["trainedOn"]) for x in s["versions"]] == [
        (first, ["u-a", "u-b"]), (arn, ["u-a", "u-b"])]
    assert s["versions"][1]["tags"] == {"erasure-request": "req-1"}
    assert view["calls"] == {"CreateSolutionVersion": 1, "UpdateCampaign": 0}
    assert view["attempts"] == {"CreateSolutionVersion": 3, "UpdateCampaign": 0}

    # A second training now sees the user added during the first.
    again = p.create_solution_version(solutionArn=sol, trainingMode="UPDATE")["solutionVersionArn"]
    wait(status_is(p, again, "ACTIVE"))
    assert models(emu, dsg)["solutions"][0]["versions"][2]["trainedOn"] == ["u-a", "u-b", "u-late"]


def test_training_starting_after_a_deletion_job_completed_does_not_see_its_users(emu, p):
    # The deletion job (0.5 s pending, 0.5 s in progress: the fixture) ends at ~1.0 s.
    emu.ctl("POST", "personalize/models/config", {"training_pending_seconds": 1.4, "training_seconds": 0.2})
    dsg = emu.dataset_group("erase")
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {"gone": 1, "kept": 1}})
    emu.bucket().put_object(Bucket="erasure-input", Key="x.csv", Body=b"USER_ID\ngone\n")
    sol, _ = solution(emu, dsg, "recs")
    other, _ = solution(emu, dsg, "other")
    emu.ctl("POST", "personalize/models/config", {"training_pending_seconds": 0.2})
    early = p.create_solution_version(solutionArn=other)["solutionVersionArn"]  # starts at ~0.2 s
    emu.ctl("POST", "personalize/models/config", {"training_pending_seconds": 1.4})
    create_job(p, "erase-1", dsg, "s3://erasure-input/x.csv")
    late = p.create_solution_version(solutionArn=sol)["solutionVersionArn"]  # starts at ~1.4 s
    wait(status_is(p, late, "ACTIVE"))
    trained = {v["solutionVersionArn"]: v["trainedOn"] for s in models(emu, dsg)["solutions"] for v in s["versions"]}
    assert trained[early] == ["gone", "kept"]
    assert trained[late] == ["kept"]


def test_a_failing_solution_and_injected_training_failures(emu, p):
    emu.ctl("POST", "personalize/models/config", FAST)
    dsg = emu.dataset_group()
    bad, _ = solution(emu, dsg, "bad", fail="Insufficient data: fewer than 1000 interactions")
    good, _ = solution(emu, dsg, "good")
    arn = p.create_solution_version(solutionArn=bad)["solutionVersionArn"]
    v = wait(status_is(p, arn, "ACTIVE", "CREATE FAILED"))
    assert v["status"] == "CREATE FAILED" and v["failureReason"].startswith("Insufficient data")
    assert "trainingHours" not in v
    assert p.list_solution_versions(solutionArn=bad)["solutionVersions"][0]["failureReason"] == v["failureReason"]

    # An outcome rule: the next training of `good` fails, the one after does not.
    emu.ctl("POST", "faults", {"rules": [
        {"service": "personalize", "fail_training": {"solutionArn": good, "reason": "Injected"}, "times": 1}]})
    first = p.create_solution_version(solutionArn=good)["solutionVersionArn"]
    assert wait(status_is(p, first, "ACTIVE", "CREATE FAILED"))["failureReason"] == "Injected"
    second = p.create_solution_version(solutionArn=good)["solutionVersionArn"]
    assert wait(status_is(p, second, "ACTIVE", "CREATE FAILED"))["status"] == "ACTIVE"

    # A call-level rule matched by solution: one solution refused, the other served.
    emu.ctl("POST", "faults", {"rules": [{"service": "personalize", "operation": "CreateSolutionVersion",
                                          "error": "LimitExceededException", "match": {"solutionArn": good}}]})
    with pytest.raises(p.exceptions.LimitExceededException):
        p.create_solution_version(solutionArn=good)
    p.create_solution_version(solutionArn=bad)
    calls = emu.calls(service="personalize", operation="CreateSolutionVersion")
    refused = [c for c in calls if c.get("injected")]
    assert len(refused) == 1 and refused[0]["solutionArn"] == good and refused[0]["datasetGroupArn"] == dsg
    assert models(emu, dsg)["attempts"]["CreateSolutionVersion"] == 5


def test_create_solution_version_validation(emu, p):
    dsg = emu.dataset_group()
    sol, _ = solution(emu, dsg, "recs")
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.create_solution_version(solutionArn=sol + "-nope")
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.describe_solution_version(solutionVersionArn=sol + "/00000000")
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.list_solution_versions(solutionArn=sol + "-nope")
    # Every mode is accepted (UPDATE needs an ACTIVE FULL version: the seeded first one).
    emu.ctl("POST", "personalize/models/config", {"training_pending_seconds": 0, "training_seconds": 0})
    for mode in ("AUTOTRAIN", "UPDATE", "FULL"):
        arn = p.create_solution_version(solutionArn=sol, trainingMode=mode)["solutionVersionArn"]
        assert version(p, arn)["trainingMode"] == mode  # already ACTIVE: zero-second training


def test_campaign_update_moves_the_campaign_when_the_update_is_active(emu, p):
    emu.ctl("POST", "personalize/models/config", FAST)
    dsg = emu.dataset_group()
    sol, first = solution(emu, dsg, "recs")
    camp = emu.ctl("POST", "personalize/campaigns", {"solutionVersionArn": first, "name": "home"})["campaignArn"]
    assert camp == f"arn:aws:personalize:us-east-1:{ACCOUNT}:campaign/home"
    c = p.describe_campaign(campaignArn=camp)["campaign"]
    assert (c["status"], c["solutionVersionArn"], c["minProvisionedTPS"]) == ("ACTIVE", first, 1)
    assert c["campaignConfig"] == {"syncWithLatestSolutionVersion": False} and "latestCampaignUpdate" not in c

    new = p.create_solution_version(solutionArn=sol)["solutionVersionArn"]
    with pytest.raises(p.exceptions.InvalidInputException):
        p.update_campaign(campaignArn=camp, solutionVersionArn=new)  # still training
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.update_campaign(campaignArn=camp, solutionVersionArn=sol + "/ffffffff")
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.update_campaign(campaignArn=camp + "-nope", solutionVersionArn=first)
    wait(status_is(p, new, "ACTIVE"))

    assert p.update_campaign(campaignArn=camp, solutionVersionArn=new, minProvisionedTPS=2)["campaignArn"] == camp
    c = p.describe_campaign(campaignArn=camp)["campaign"]
    update = c["latestCampaignUpdate"]
    assert (update["status"], update["solutionVersionArn"], update["minProvisionedTPS"]) == ("CREATE PENDING", new, 2)
    assert c["solutionVersionArn"] == first and c["status"] == "ACTIVE"
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.update_campaign(campaignArn=camp, solutionVersionArn=new)
    wait(lambda: p.describe_campaign(campaignArn=camp)["campaign"]["latestCampaignUpdate"]["status"] != "CREATE PENDING")
    assert p.describe_campaign(campaignArn=camp)["campaign"]["latestCampaignUpdate"]["status"] == "CREATE IN_PROGRESS"
    c = wait(lambda: (c := p.describe_campaign(campaignArn=camp)["campaign"])["latestCampaignUpdate"]["status"]
             == "ACTIVE" and c)
    assert (c["solutionVersionArn"], c["minProvisionedTPS"]) == (new, 2)
    u = c["latestCampaignUpdate"]
    assert (u["lastUpdatedDateTime"] - u["creationDateTime"]).total_seconds() == pytest.approx(0.6, abs=0.01)
    assert [x["campaignArn"] for x in p.list_campaigns(solutionArn=sol)["campaigns"]] == [camp]

    # An injected failure leaves the campaign on its version.
    emu.ctl("POST", "faults", {"rules": [
        {"service": "personalize", "fail_campaign_update": {"campaignArn": camp, "reason": "Injected"}}]})
    p.update_campaign(campaignArn=camp, solutionVersionArn=first)
    c = wait(lambda: (c := p.describe_campaign(campaignArn=camp)["campaign"])["latestCampaignUpdate"]["status"]
             in ("ACTIVE", "CREATE FAILED") and c)
    assert c["latestCampaignUpdate"]["status"] == "CREATE FAILED" and c["latestCampaignUpdate"]["failureReason"] == "Injected"
    assert c["solutionVersionArn"] == new
    view = models(emu, dsg)["solutions"][0]["campaigns"][0]
    assert view["solutionVersionArn"] == new and view["latestCampaignUpdate"]["status"] == "CREATE FAILED"
    assert models(emu, dsg)["calls"]["UpdateCampaign"] == 2


def test_a_campaign_syncing_with_the_latest_version_follows_each_active_one(emu, p):
    emu.ctl("POST", "personalize/models/config", FAST)
    dsg = emu.dataset_group()
    sol, first = solution(emu, dsg, "recs")
    camp = emu.ctl("POST", "personalize/campaigns", {"solutionVersionArn": first, "name": "auto",
                                                      "syncWithLatestSolutionVersion": True})["campaignArn"]
    assert p.describe_campaign(campaignArn=camp)["campaign"]["campaignConfig"]["syncWithLatestSolutionVersion"] is True
    new = p.create_solution_version(solutionArn=sol)["solutionVersionArn"]
    wait(status_is(p, new, "CREATE IN_PROGRESS"))
    assert p.describe_campaign(campaignArn=camp)["campaign"]["solutionVersionArn"] == first
    wait(status_is(p, new, "ACTIVE"))
    c = p.describe_campaign(campaignArn=camp)["campaign"]
    assert c["solutionVersionArn"] == new and "latestCampaignUpdate" not in c
    # A failed training does not move it; a concrete version with sync on is refused.
    emu.ctl("POST", "faults", {"rules": [{"service": "personalize", "fail_training": {}}]})
    failed = p.create_solution_version(solutionArn=sol)["solutionVersionArn"]
    wait(status_is(p, failed, "CREATE FAILED"))
    assert p.describe_campaign(campaignArn=camp)["campaign"]["solutionVersionArn"] == new
    with pytest.raises(p.exceptions.InvalidInputException):
        p.update_campaign(campaignArn=camp, solutionVersionArn=first)
    # SolutionArn/$LATEST (UpdateCampaign's own way to turn sync on) deploys the newest ACTIVE version.
    p.update_campaign(campaignArn=camp, solutionVersionArn=f"{sol}/$LATEST",
                      campaignConfig={"syncWithLatestSolutionVersion": True})
    c = wait(lambda: (c := p.describe_campaign(campaignArn=camp)["campaign"])["latestCampaignUpdate"]["status"]
             == "ACTIVE" and c)
    assert c["solutionVersionArn"] == new


def test_jobs_datasets_trackers_recommenders_and_pages(emu, p):
    dsg = emu.dataset_group("retail")
    ds = emu.ctl("POST", "personalize/datasets", {"datasetGroupArn": dsg, "datasetType": "Interactions"})["datasetArn"]
    assert ds == f"arn:aws:personalize:us-east-1:{ACCOUNT}:dataset/retail/INTERACTIONS"
    assert emu.ctl("POST", "personalize/datasets", {"datasetGroupArn": dsg, "datasetType": "Interactions"})["datasetArn"] == ds
    users = emu.ctl("POST", "personalize/datasets", {"datasetGroupArn": dsg, "datasetType": "Users"})["datasetArn"]
    assert [d["datasetArn"] for d in p.list_datasets(datasetGroupArn=dsg)["datasets"]] == [users, ds]
    d = p.describe_dataset(datasetArn=ds)["dataset"]
    assert (d["datasetType"], d["status"], d["datasetGroupArn"]) == ("Interactions", "ACTIVE", dsg)

    imports = [emu.ctl("POST", "personalize/import-jobs", {"datasetArn": ds, "dataLocation": f"s3://data/in/{i}.csv",
                                                           "seconds": 0})["datasetImportJobArn"] for i in range(4)]
    running = emu.ctl("POST", "personalize/import-jobs", {"datasetArn": ds, "dataLocation": "s3://data/in/late.csv",
                                                          "seconds": 0.4})["datasetImportJobArn"]
    job = p.describe_dataset_import_job(datasetImportJobArn=running)["datasetImportJob"]
    assert (job["status"], job["dataSource"]["dataLocation"], job["datasetArn"]) == (
        "CREATE IN_PROGRESS", "s3://data/in/late.csv", ds)
    first = p.list_dataset_import_jobs(datasetArn=ds, maxResults=2)
    assert [j["datasetImportJobArn"] for j in first["datasetImportJobs"]] == [running, imports[3]]
    rest = p.list_dataset_import_jobs(datasetArn=ds, maxResults=2, nextToken=first["nextToken"])
    assert len(rest["datasetImportJobs"]) == 2 and "nextToken" in rest
    with pytest.raises(p.exceptions.InvalidNextTokenException):
        p.list_dataset_import_jobs(datasetArn=ds, nextToken="not-a-token")
    pages = p.get_paginator("list_dataset_import_jobs").paginate(datasetArn=ds, PaginationConfig={"PageSize": 2})
    assert sum(len(pg["datasetImportJobs"]) for pg in pages) == 5
    assert {j["status"] for j in p.list_dataset_import_jobs(datasetArn=ds)["datasetImportJobs"]} == {
        "ACTIVE", "CREATE IN_PROGRESS"}
    wait(lambda: p.describe_dataset_import_job(datasetImportJobArn=running)["datasetImportJob"]["status"] == "ACTIVE")
    assert p.list_dataset_import_jobs(datasetArn=users)["datasetImportJobs"] == []

    export = emu.ctl("POST", "personalize/export-jobs", {"datasetArn": ds, "path": "s3://data/export/"})["datasetExportJobArn"]
    job = p.describe_dataset_export_job(datasetExportJobArn=export)["datasetExportJob"]
    assert (job["status"], job["jobOutput"]["s3DataDestination"]["path"]) == ("ACTIVE", "s3://data/export/")
    assert [j["datasetExportJobArn"] for j in p.list_dataset_export_jobs(datasetArn=ds)["datasetExportJobs"]] == [export]

    sol, v = solution(emu, dsg, "recs")
    other_sol, other_v = solution(emu, dsg, "other")
    inf = emu.ctl("POST", "personalize/batch-inference-jobs", {"solutionVersionArn": v, "input": "s3://data/bi/in.json",
                                                               "output": "s3://data/bi/out/", "seconds": 5})
    seg = emu.ctl("POST", "personalize/batch-segment-jobs", {"solutionVersionArn": other_v, "input": "s3://data/bs/in.json",
                                                             "output": "s3://data/bs/out/"})
    job = p.describe_batch_inference_job(batchInferenceJobArn=inf["batchInferenceJobArn"])["batchInferenceJob"]
    assert (job["status"], job["solutionVersionArn"], job["jobInput"]["s3DataSource"]["path"],
            job["jobOutput"]["s3DataDestination"]["path"]) == ("CREATE IN_PROGRESS", v, "s3://data/bi/in.json",
                                                               "s3://data/bi/out/")
    job = p.describe_batch_segment_job(batchSegmentJobArn=seg["batchSegmentJobArn"])["batchSegmentJob"]
    assert (job["status"], job["jobOutput"]["s3DataDestination"]["path"]) == ("ACTIVE", "s3://data/bs/out/")
    assert len(p.list_batch_inference_jobs(solutionVersionArn=v)["batchInferenceJobs"]) == 1
    assert p.list_batch_inference_jobs(solutionVersionArn=other_v)["batchInferenceJobs"] == []
    assert len(p.list_batch_segment_jobs()["batchSegmentJobs"]) == 1

    tracker = emu.ctl("POST", "personalize/event-trackers", {"datasetGroupArn": dsg, "name": "web"})["eventTrackerArn"]
    t = p.describe_event_tracker(eventTrackerArn=tracker)["eventTracker"]
    assert (t["name"], t["status"], t["datasetGroupArn"], t["accountId"]) == ("web", "ACTIVE", dsg, ACCOUNT)
    assert [x["eventTrackerArn"] for x in p.list_event_trackers(datasetGroupArn=dsg)["eventTrackers"]] == [tracker]

    domain = emu.dataset_group("domain")
    rec = emu.ctl("POST", "personalize/recommenders", {"datasetGroupArn": domain, "name": "for-you"})["recommenderArn"]
    r = p.describe_recommender(recommenderArn=rec)["recommender"]
    assert (r["status"], r["recipeArn"]) == ("ACTIVE", "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you")
    assert [x["recommenderArn"] for x in p.list_recommenders(datasetGroupArn=domain)["recommenders"]] == [rec]
    assert p.list_recommenders(datasetGroupArn=dsg)["recommenders"] == []
    assert models(emu, domain)["recommenders"][0]["recommenderArn"] == rec
    assert p.list_solutions(datasetGroupArn=domain)["solutions"] == []
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.describe_recommender(recommenderArn=rec + "-nope")


def test_tags_on_solution_versions(emu, p):
    dsg = emu.dataset_group()
    _, v = solution(emu, dsg, "recs")
    assert p.list_tags_for_resource(resourceArn=v)["tags"] == []
    p.tag_resource(resourceArn=v, tags=[{"tagKey": "erasure-requests", "tagValue": "r1 r2"},
                                        {"tagKey": "team", "tagValue": "data"}])
    p.untag_resource(resourceArn=v, tagKeys=["team"])
    assert p.list_tags_for_resource(resourceArn=v)["tags"] == [{"tagKey": "erasure-requests", "tagValue": "r1 r2"}]
    assert models(emu, dsg)["solutions"][0]["versions"][0]["tags"] == {"erasure-requests": "r1 r2"}
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.tag_resource(resourceArn=v + "0", tags=[{"tagKey": "a", "tagValue": "b"}])
    p.tag_resource(resourceArn=dsg, tags=[{"tagKey": "a", "tagValue": "b"}])  # a dataset group is taggable too


def test_control_routes_refuse_unknown_parents(emu):
    from tests.emulation_tests.helpers import http
    for route, body in [("datasets", {"datasetGroupArn": "arn:aws:personalize:us-east-1:1:dataset-group/x",
                                      "datasetType": "Users"}),
                        ("campaigns", {"solutionVersionArn": "arn:aws:personalize:us-east-1:1:solution/x/1",
                                       "name": "c"}),
                        ("import-jobs", {"datasetArn": "arn:aws:personalize:us-east-1:1:dataset/x/USERS",
                                         "dataLocation": "s3://b/k.csv"})]:
        status, _, out = http("POST", f"{emu.url}/_emulator/personalize/{route}", body)
        assert (status, out["error"]) == (400, "ResourceNotFoundException")
