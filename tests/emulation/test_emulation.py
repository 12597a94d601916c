"""The emulation behaves like the services where the workflow depends on it (checked with boto3,
an independent client, so the Rust side is not testing itself)."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.harness import BUCKET, PERSONALIZE_ROLE_ARN, Stack


@pytest.fixture
def emu(stack: Stack):
    stack.reset()
    stack.control("POST", "personalize/config", {"pending_seconds": 0.5, "in_progress_seconds": 0.5})
    stack.client("s3").create_bucket(Bucket=BUCKET)
    return stack


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def create_job(p, name, dsg, location):
    return p.create_data_deletion_job(jobName=name, datasetGroupArn=dsg, roleArn=PERSONALIZE_ROLE_ARN,
                                      dataSource={"dataLocation": location})["dataDeletionJobArn"]


def test_a_job_moves_through_its_states_and_deletes_only_the_listed_users(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group("g")
    emu.seed_records(dsg, {"a": 2, "b,1": 3, "keep": 4})
    emu.upload("work/r/part-000.csv", b'USER_ID\na\n"b,1"\nnobody\n')
    arn = create_job(p, "job-1", dsg, f"s3://{BUCKET}/work/r/part-000.csv")
    seen = []
    for _ in range(40):
        status = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.1)
    assert seen == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    job = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    assert job["numDeleted"] == 5
    assert emu.records(dsg) == {"keep": 4}


def test_a_reused_name_and_the_pending_quota_answer_like_the_service(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group("g")
    emu.control("POST", "personalize/config", {"pending_seconds": 60})
    for i in range(5):
        create_job(p, f"job-{i}", dsg, f"s3://{BUCKET}/x.csv")
    with pytest.raises(ClientError) as e:
        create_job(p, "job-0", dsg, f"s3://{BUCKET}/x.csv")
    assert code(e.value) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        create_job(p, "job-5", dsg, f"s3://{BUCKET}/x.csv")
    assert code(e.value) == "LimitExceededException"
    other = emu.dataset_group("other")
    create_job(p, "job-other", other, f"s3://{BUCKET}/x.csv")  # the quota is per dataset group
    with pytest.raises(ClientError) as e:
        create_job(p, "job-x", "arn:aws:personalize:us-east-1:123456789012:dataset-group/none", f"s3://{BUCKET}/x.csv")
    assert code(e.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        create_job(p, "-bad name", dsg, f"s3://{BUCKET}/x.csv")
    assert code(e.value) == "InvalidInputException"
    listed = p.list_data_deletion_jobs(datasetGroupArn=dsg, maxResults=2)
    assert [j["jobName"] for j in listed["dataDeletionJobs"]] == ["job-4", "job-3"]  # newest first
    assert listed["nextToken"]


@pytest.mark.parametrize("body, why", [
    (None, "does not exist"),
    (b"EMAIL\na\n", "USER_ID"),
    (b"USER_ID\na,b\n", "Malformed row at line 2"),
])
def test_an_unreadable_or_malformed_list_fails_the_job_with_a_reason(emu, body, why):
    p = emu.client("personalize")
    dsg = emu.dataset_group("g")
    emu.seed_records(dsg, {"a": 1})
    if body is not None:
        emu.upload("work/bad.csv", body)
    arn = create_job(p, "job-bad", dsg, f"s3://{BUCKET}/work/bad.csv")
    time.sleep(1.2)
    job = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    assert job["status"] == "FAILED" and why in job["failureReason"]
    assert emu.records(dsg) == {"a": 1}


def test_pinpoint_endpoints_not_found_and_the_15_endpoint_cap(emu):
    pp = emu.client("pinpoint")
    app = emu.pinpoint_app("a")
    for i in range(15):
        pp.update_endpoint(ApplicationId=app, EndpointId=f"e{i}",
                           EndpointRequest={"ChannelType": "EMAIL", "Address": f"{i}@x.invalid", "User": {"UserId": "u/1 é"}})
    with pytest.raises(ClientError) as e:
        pp.update_endpoint(ApplicationId=app, EndpointId="e15", EndpointRequest={"User": {"UserId": "u/1 é"}})
    assert code(e.value) == "BadRequestException"
    assert len(pp.get_user_endpoints(ApplicationId=app, UserId="u/1 é")["EndpointsResponse"]["Item"]) == 15
    deleted = pp.delete_user_endpoints(ApplicationId=app, UserId="u/1 é")["EndpointsResponse"]["Item"]
    assert len(deleted) == 15
    for call in (lambda: pp.get_user_endpoints(ApplicationId=app, UserId="u/1 é"),
                 lambda: pp.delete_user_endpoints(ApplicationId="nope", UserId="x"),
                 lambda: pp.get_app(ApplicationId="nope")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e.value) == "NotFoundException"


def test_pinpoint_throttles_beyond_its_rate_and_faults_are_injectable(emu):
    pp = emu.client("pinpoint", attempts=1)
    app = emu.pinpoint_app("a")
    emu.control("POST", "pinpoint/config", {"rate": 5, "burst": 2})
    codes = []
    for _ in range(6):
        try:
            pp.get_app(ApplicationId=app)
            codes.append("ok")
        except ClientError as e:
            codes.append(code(e))
    assert codes[:2] == ["ok", "ok"] and "TooManyRequestsException" in codes
    emu.control("POST", "pinpoint/config", {"rate": None})
    emu.control("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "GetApp", "error": "ForbiddenException", "times": 1, "match": {"applicationId": app}},
    ]})
    with pytest.raises(ClientError) as e:
        pp.get_app(ApplicationId=app)
    assert code(e.value) == "ForbiddenException" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    pp.get_app(ApplicationId=app)  # the rule fired once
    ops = [(c["operation"], c["status"]) for c in emu.control("GET", "calls")]
    assert ("GetApp", 403) in ops and ("GetApp", 429) in ops
