"""Personalize data deletion jobs as the emulation runs them (personalize.py), driven with boto3 like
the real service: their lifecycle, their input, names, quotas and validation."""

from __future__ import annotations

import time

import pytest

from tests.emulation import ACCOUNT
from tests.emulation_tests.helpers import NO_RETRY, ROLE, create_job, http, wait_status


def test_deletion_job_lifecycle_deletes_listed_users(emu):
    emu.ctl("POST", "personalize/config", {"pending_seconds": 1.0, "in_progress_seconds": 1.0})
    p = emu.client("personalize")
    dsg = p.create_dataset_group(name="shop")["datasetGroupArn"]  # the real API works too
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {"u-1": 3, "u-2": 5, "u-keep": 7}})
    s3 = emu.bucket()
    s3.put_object(Bucket="erasure-input", Key="jobs/one.csv", Body=b"USER_ID\r\nu-1\r\nu-2\r\nu-unknown\r\n")

    t0 = time.time()
    arn = create_job(p, "erase-1", dsg, "s3://erasure-input/jobs/one.csv")
    assert arn == f"arn:aws:personalize:us-east-1:{ACCOUNT}:data-deletion-job/erase-1"
    job = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    assert job["status"] == "PENDING"
    assert abs(job["creationDateTime"].timestamp() - t0) < 2
    assert job["dataSource"] == {"dataLocation": "s3://erasure-input/jobs/one.csv"}
    assert job["roleArn"] == ROLE and job["datasetGroupArn"] == dsg and "numDeleted" not in job

    job = wait_status(p, arn, {"IN_PROGRESS", "COMPLETED", "FAILED"})
    assert job["status"] == "IN_PROGRESS"
    assert time.time() - t0 >= 1.0
    job = wait_status(p, arn, {"COMPLETED", "FAILED"})
    assert job["status"] == "COMPLETED", job
    assert job["numDeleted"] == 8
    assert 1.9 <= (job["lastUpdatedDateTime"] - job["creationDateTime"]).total_seconds() <= 2.1
    assert emu.ctl("GET", f"personalize/records?datasetGroupArn={dsg}") == {"records": {"u-keep": 7}}

    listed = p.list_data_deletion_jobs(datasetGroupArn=dsg)["dataDeletionJobs"]
    assert [j["jobName"] for j in listed] == ["erase-1"]
    assert listed[0]["status"] == "COMPLETED" and "numDeleted" not in listed[0]


def test_folder_input_reads_every_csv_below_it(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group()
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {"a": 1, "b": 2, "c": 4, "d": 8}})
    s3 = emu.bucket()
    s3.put_object(Bucket="erasure-input", Key="batch/1.csv", Body=b"USER_ID\na\n")
    s3.put_object(Bucket="erasure-input", Key="batch/sub/2.csv", Body=b"USER_ID\nb\n")
    s3.put_object(Bucket="erasure-input", Key="batch/notes.txt", Body=b"USER_ID\nc\n")
    s3.put_object(Bucket="erasure-input", Key="other/3.csv", Body=b"USER_ID\nd\n")
    arn = create_job(p, "folder", dsg, "s3://erasure-input/batch/")
    job = wait_status(p, arn, {"COMPLETED", "FAILED"})
    assert (job["status"], job["numDeleted"]) == ("COMPLETED", 3)


def test_job_name_reuse_is_resource_already_exists_with_the_wire_shape_of_aws(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group()
    emu.bucket().put_object(Bucket="erasure-input", Key="x.csv", Body=b"USER_ID\nu\n")
    create_job(p, "same-name", dsg, "s3://erasure-input/x.csv")
    with pytest.raises(p.exceptions.ResourceAlreadyExistsException):
        create_job(p, "same-name", dsg, "s3://erasure-input/x.csv")
    # The raw answer: what the Rust SDK's awsJson1_1 error parser reads.
    status, headers, body = http("POST", emu.url, {
        "jobName": "same-name", "datasetGroupArn": dsg, "roleArn": ROLE,
        "dataSource": {"dataLocation": "s3://erasure-input/x.csv"}}, {
        "X-Amz-Target": "AmazonPersonalize.CreateDataDeletionJob",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/personalize/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    assert status == 400
    assert body["__type"] == "ResourceAlreadyExistsException" and "same-name" in body["message"]
    assert headers["x-amzn-ErrorType"] == "ResourceAlreadyExistsException"
    assert headers["Content-Type"] == "application/x-amz-json-1.1"


def test_more_than_five_pending_jobs_per_group_is_limit_exceeded(emu):
    emu.ctl("POST", "personalize/config", {"pending_seconds": 1.0, "in_progress_seconds": 0.2})
    p = emu.client("personalize", config=NO_RETRY)
    dsg, other = emu.dataset_group("one"), emu.dataset_group("two")
    emu.bucket().put_object(Bucket="erasure-input", Key="x.csv", Body=b"USER_ID\nu\n")
    for i in range(5):
        create_job(p, f"job-{i}", dsg, "s3://erasure-input/x.csv")
    with pytest.raises(p.exceptions.LimitExceededException):
        create_job(p, "job-5", dsg, "s3://erasure-input/x.csv")
    create_job(p, "other-group", other, "s3://erasure-input/x.csv")  # the quota is per group
    time.sleep(1.1)  # the five are IN_PROGRESS now
    create_job(p, "job-5", dsg, "s3://erasure-input/x.csv")


@pytest.mark.parametrize("key,body,reason", [
    ("missing.csv", None, "does not exist"),
    ("bad-header.csv", b"USER,ID\nu-1,x\n", "USER_ID"),
    ("two-columns.csv", b"USER_ID\nu-1,extra\n", "line 2"),
    ("empty-id.csv", b'USER_ID\n""\n', "empty USER_ID"),
    ("binary.csv", b"USER_ID\n\xff\xfe\n", "UTF-8"),
])
def test_unreadable_or_malformed_input_fails_the_job(emu, key, body, reason):
    p = emu.client("personalize")
    dsg = emu.dataset_group()
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {"u-1": 2}})
    s3 = emu.bucket()
    if body is not None:
        s3.put_object(Bucket="erasure-input", Key=key, Body=body)
    arn = create_job(p, "bad-input", dsg, f"s3://erasure-input/{key}")
    job = wait_status(p, arn, {"COMPLETED", "FAILED"})
    assert job["status"] == "FAILED" and reason in job["failureReason"], job
    assert "numDeleted" not in job
    assert emu.ctl("GET", f"personalize/records?datasetGroupArn={dsg}")["records"] == {"u-1": 2}


def test_input_is_read_when_the_job_runs_not_when_it_is_created(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group()
    s3 = emu.bucket()
    s3.put_object(Bucket="erasure-input", Key="gone.csv", Body=b"USER_ID\nu\n")
    arn = create_job(p, "early-delete", dsg, "s3://erasure-input/gone.csv")
    s3.delete_object(Bucket="erasure-input", Key="gone.csv")
    job = wait_status(p, arn, {"COMPLETED", "FAILED"})
    assert job["status"] == "FAILED" and "does not exist" in job["failureReason"]


def test_create_job_validation(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group()
    loc = {"dataLocation": "s3://erasure-input/x.csv"}
    with pytest.raises(p.exceptions.InvalidInputException):
        p.create_data_deletion_job(jobName="-starts-with-dash", datasetGroupArn=dsg, roleArn=ROLE, dataSource=loc)
    with pytest.raises(p.exceptions.InvalidInputException):
        p.create_data_deletion_job(jobName="x" * 64, datasetGroupArn=dsg, roleArn=ROLE, dataSource=loc)
    with pytest.raises(p.exceptions.InvalidInputException):
        p.create_data_deletion_job(jobName="ok", datasetGroupArn=dsg, roleArn=ROLE,
                                   dataSource={"dataLocation": "s3://erasure-input/x.json"})
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.create_data_deletion_job(jobName="ok", datasetGroupArn=dsg + "-nope", roleArn=ROLE, dataSource=loc)
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.describe_data_deletion_job(dataDeletionJobArn=f"arn:aws:personalize:us-east-1:{ACCOUNT}:data-deletion-job/x")
    arn = p.create_data_deletion_job(jobName="ok", datasetGroupArn=dsg, roleArn=ROLE, dataSource=loc,
                                     tags=[{"tagKey": "purpose", "tagValue": "erasure"}])["dataDeletionJobArn"]
    assert arn.endswith("/ok")


def test_list_jobs_newest_first_with_pages(emu):
    p = emu.client("personalize")
    dsg = emu.dataset_group()
    for i in range(3):
        create_job(p, f"j{i}", dsg, "s3://erasure-input/x.csv")
        time.sleep(0.01)
    first = p.list_data_deletion_jobs(datasetGroupArn=dsg, maxResults=2)
    assert [j["jobName"] for j in first["dataDeletionJobs"]] == ["j2", "j1"]
    rest = p.list_data_deletion_jobs(datasetGroupArn=dsg, maxResults=2, nextToken=first["nextToken"])
    assert [j["jobName"] for j in rest["dataDeletionJobs"]] == ["j0"] and "nextToken" not in rest
