"""Tests of the AWS emulation (tests/emulator), driven with boto3 like the real services.

The emulator runs as a subprocess (`python -m tests.emulator`) on a free port; a small HTTP
server in this process stands in for `cargo lambda watch`.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/personalize-deletion"
NO_RETRY = Config(retries={"total_max_attempts": 1})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a stand-in for `cargo lambda watch` ---------------------------------------------------------


class FakeLambdas:
    """POST /2015-03-31/functions/NAME/invocations. Behaviour by function name:

    echo      -> 200 {"fn", "got": event}
    boom      -> 500 {"errorType": "Throttled", "errorMessage": "slow down"}  (always)
    flaky     -> like boom for the first `flaky_failures` calls, then like echo
    slow      -> sleeps 1.5 s, then like echo
    callback  -> calls back into the emulator (S3 ListBuckets) before answering, like echo
    notjson   -> 502 with a non-JSON body
    leaky     -> 500 {"errorType": "ErasureFailed", "errorMessage": "... <the event> ..."}
    """

    def __init__(self):
        self.calls: dict[str, list] = {}
        self.flaky_failures = 2
        self.emulator_url = None
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                name = self.path.split("/")[3]
                n = int(self.headers.get("Content-Length") or 0)
                event = json.loads(self.rfile.read(n) or b"null")
                status, body = owner.answer(name, event)
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, name, event):
        with self.lock:
            self.calls.setdefault(name, []).append(event)
            count = len(self.calls[name])
        error = {"errorType": "Throttled", "errorMessage": "slow down"}
        if name == "boom" or (name == "flaky" and count <= self.flaky_failures):
            return 500, error
        if name == "notjson":
            return 502, b"Bad Gateway"
        if name == "leaky":
            return 500, {"errorType": "ErasureFailed", "errorMessage": f"could not erase {json.dumps(event)}"}
        if name == "slow":
            time.sleep(1.5)
        if name == "callback":
            s3 = client("s3", self.emulator_url)
            event = {"buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]], "in": event}
        return 200, {"fn": name, "got": event}

    def reset(self):
        with self.lock:
            self.calls.clear()
            self.flaky_failures = 2

    def wait_calls(self, name, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = list(self.calls.get(name, []))
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return got


# --- helpers -------------------------------------------------------------------------------------


def client(service, url, **kw):
    if service == "s3":
        kw.setdefault("config", Config(s3={"addressing_style": "path"}))
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDTEST",
                        aws_secret_access_key="secret", **kw)


def http(method, url, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, dict(r.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, dict(e.headers), (json.loads(raw) if raw else None)


def start_emulator(lambda_url, log_path):
    port = free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", str(port), "--lambda-endpoint", lambda_url,
         "--async-retry-delays", "0.2,0.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    assert line.strip() == f"emulator ready on http://127.0.0.1:{port}", line
    return proc, f"http://127.0.0.1:{port}", log


def stop_emulator(proc, log):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(15)
    finally:
        log.close()
    return rc


class Emu:
    def __init__(self, url, lambdas, log_path):
        self.url = url
        self.lambdas = lambdas
        self.log_path = log_path

    def ctl(self, method, path, body=None):
        status, _, out = http(method, f"{self.url}/_emulator/{path}", body)
        assert status == 200, (status, out)
        return out

    def client(self, service, **kw):
        return client(service, self.url, **kw)

    def calls(self, **filters):
        q = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.ctl("GET", "calls" + (f"?{q}" if q else ""))

    # seeding

    def dataset_group(self, name="dsg"):
        return self.ctl("POST", "personalize/dataset-groups", {"name": name})["datasetGroupArn"]

    def bucket(self, name="erasure-input"):
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        return s3

    def function(self, name):
        iam = self.client("iam")
        try:
            role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            role = iam.get_role(RoleName="fn-role")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "not run: invocations are forwarded")
        return self.client("lambda").create_function(
            FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
            Code={"ZipFile": buf.getvalue()})["FunctionArn"]


@pytest.fixture(scope="session")
def lambdas():
    fake = FakeLambdas()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="session")
def emulator(lambdas, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("emulator") / "emulator.log"
    proc, url, log = start_emulator(lambdas.url, log_path)
    lambdas.emulator_url = url
    yield Emu(url, lambdas, log_path)
    assert stop_emulator(proc, log) == 0


@pytest.fixture
def emu(emulator):
    emulator.ctl("POST", "reset")
    emulator.ctl("POST", "personalize/config", {"pending_seconds": 0.5, "in_progress_seconds": 0.5})
    emulator.lambdas.reset()
    return emulator


def wait_status(p, arn, statuses, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        job = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def create_job(p, name, dsg, location):
    return p.create_data_deletion_job(jobName=name, datasetGroupArn=dsg, roleArn=ROLE,
                                      dataSource={"dataLocation": location})["dataDeletionJobArn"]


# --- Personalize ---------------------------------------------------------------------------------


def test_health(emulator):
    assert http("GET", f"{emulator.url}/_emulator/health")[0] == 200


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


def test_other_personalize_operations_go_to_moto(emu):
    p = emu.client("personalize")
    schema = json.dumps({"type": "record", "name": "Users", "namespace": "com.amazonaws.personalize.schema",
                         "fields": [{"name": "USER_ID", "type": "string"}], "version": "1.0"})
    arn = p.create_schema(name="users", schema=schema)["schemaArn"]
    assert p.describe_schema(schemaArn=arn)["schema"]["name"] == "users"


# --- faults and the call log ---------------------------------------------------------------------


def test_call_faults_with_times_and_match_and_the_call_log(emu):
    p = emu.client("personalize", config=NO_RETRY)
    dsg, other = emu.dataset_group("a"), emu.dataset_group("b")
    emu.ctl("POST", "faults", {"rules": [
        {"service": "personalize", "operation": "CreateDataDeletionJob", "error": "LimitExceededException",
         "times": 2, "match": {"datasetGroupArn": dsg}},
        {"service": "personalize", "operation": "DescribeDataDeletionJob", "error": "ResourceNotFoundException",
         "times": 1},
    ]})
    create_job(p, "unaffected", other, "s3://erasure-input/x.csv")
    for _ in range(2):
        with pytest.raises(p.exceptions.LimitExceededException):
            create_job(p, "retried", dsg, "s3://erasure-input/x.csv")
    arn = create_job(p, "retried", dsg, "s3://erasure-input/x.csv")
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.describe_data_deletion_job(dataDeletionJobArn=arn)
    p.describe_data_deletion_job(dataDeletionJobArn=arn)
    assert emu.ctl("GET", "faults")["rules"][0]["times"] == 0

    calls = emu.calls(service="personalize", operation="CreateDataDeletionJob")
    assert [(c["status"], c.get("error"), c["datasetGroupArn"]) for c in calls] == [
        (200, None, other), (400, "LimitExceededException", dsg), (400, "LimitExceededException", dsg),
        (200, None, dsg)]
    assert all(c["jobName"] in ("unaffected", "retried") and isinstance(c["ts"], float) for c in calls)
    described = emu.calls(operation="DescribeDataDeletionJob")
    assert [c["status"] for c in described] == [400, 200] and described[0]["datasetGroupArn"] == dsg


def test_injected_server_errors_use_their_http_status(emu):
    p = emu.client("personalize", config=NO_RETRY)
    emu.ctl("POST", "faults", {"rules": [
        {"service": "personalize", "operation": "ListDataDeletionJobs", "error": "InternalFailure", "times": 1},
        {"service": "personalize", "operation": "ListDataDeletionJobs", "error": "ThrottlingException", "times": 1},
    ]})
    with pytest.raises(p.exceptions.ClientError) as e:
        p.list_data_deletion_jobs()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    with pytest.raises(p.exceptions.ClientError) as e:
        p.list_data_deletion_jobs()
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert p.list_data_deletion_jobs()["dataDeletionJobs"] == []


def test_fail_job_fault(emu):
    p = emu.client("personalize")
    dsg, other = emu.dataset_group("a"), emu.dataset_group("b")
    emu.bucket().put_object(Bucket="erasure-input", Key="x.csv", Body=b"USER_ID\nu\n")
    emu.ctl("POST", "faults", {"rules": [
        {"service": "personalize", "fail_job": {"datasetGroupArn": dsg, "reason": "Simulated: dataset busy"}}]})
    failing = create_job(p, "fails", dsg, "s3://erasure-input/x.csv")
    fine = create_job(p, "fine", other, "s3://erasure-input/x.csv")
    emu.ctl("POST", "faults", {"rules": []})
    after = create_job(p, "after", dsg, "s3://erasure-input/x.csv")
    assert wait_status(p, failing, {"COMPLETED", "FAILED"})["failureReason"] == "Simulated: dataset busy"
    assert wait_status(p, fine, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"
    assert wait_status(p, after, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"


def test_bad_fault_rules_are_refused(emu):
    for rule, word in [({"service": "sqs", "error": "X"}, "service"),
                       ({"service": "s3", "operation": "PutObjekt", "error": "AccessDenied"}, "PutObjekt"),
                       ({"service": "s3", "error": "AccessDenied", "match": {"key": "x"}}, "key_prefix"),
                       ({"service": "pinpoint", "error": "X", "match": {"key_prefix": "x"}}, "S3")]:
        status, _, out = http("POST", f"{emu.url}/_emulator/faults", {"rules": [rule]})
        assert status == 400 and word in out["message"], (rule, out)
    assert emu.ctl("GET", "faults") == {"rules": []}


# --- S3 faults -----------------------------------------------------------------------------------


S3_AUTH = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, "
           "SignedHeaders=host, Signature=0")


def raw_http(method, url, headers=None, body=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.mark.parametrize("method,path,query,copy,expected", [
    ("PUT", "/b/receipts/r.json", "", False, ("PutObject", "b", "receipts/r.json")),
    ("PUT", "/b/k", "", True, ("CopyObject", "b", "k")),
    ("GET", "/b/a%20b/%C3%BC%2B1.csv", "", False, ("GetObject", "b", "a b/ü+1.csv")),
    ("HEAD", "/b/k", "", False, ("HeadObject", "b", "k")),
    ("DELETE", "/b/k", "versionId=v1", False, ("DeleteObject", "b", "k")),
    ("GET", "/b", "list-type=2&prefix=work%2Fx", False, ("ListObjectsV2", "b", "work/x")),
    ("GET", "/b", "versions&prefix=r%2F", False, ("ListObjectVersions", "b", "r/")),
    ("GET", "/b/", "list-type=2", False, ("ListObjectsV2", "b", None)),
    ("POST", "/b/k", "uploads", False, ("CreateMultipartUpload", "b", "k")),
    ("PUT", "/b/k", "partNumber=2&uploadId=u", False, ("UploadPart", "b", "k")),
    ("PUT", "/b/k", "partNumber=2&uploadId=u", True, ("UploadPartCopy", "b", "k")),
    ("POST", "/b/k", "uploadId=u", False, ("CompleteMultipartUpload", "b", "k")),
    ("DELETE", "/b/k", "uploadId=u", False, ("AbortMultipartUpload", "b", "k")),
    ("PUT", "/b/k", "retention", False, ("PutObjectRetention", "b", "k")),
    ("POST", "/b", "delete", False, ("DeleteObjects", "b", None)),
    ("PUT", "/b", "", False, ("CreateBucket", "b", None)),
    ("GET", "/", "", False, ("ListBuckets", None, None)),
])
def test_s3_requests_are_classified_by_method_path_and_query(method, path, query, copy, expected):
    from tests.emulator.faults import s3_request

    assert s3_request(method, path, query, copy) == expected


def test_s3_faults_answer_in_the_wire_shape_of_s3(emu):
    s3 = emu.bucket("work")
    s3c = emu.client("s3", config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    s3.put_object(Bucket="work", Key="receipts/old.json", Body=b"{}")
    emu.ctl("POST", "faults", {"rules": [
        {"service": "s3", "operation": "PutObject", "error": "AccessDenied", "times": 1,
         "match": {"bucket": "work", "key_prefix": "receipts/"}},
        {"service": "s3", "operation": "GetObject", "error": "NoSuchKey", "times": 1},
        {"service": "s3", "operation": "HeadObject", "error": "InternalError", "times": 1},
        {"service": "s3", "operation": "ListObjectsV2", "error": "SlowDown", "times": 1,
         "match": {"key_prefix": "receipts/"}},
        {"service": "s3", "operation": "DeleteObject", "error": "ServiceUnavailable", "times": 1,
         "message": "try later"},
    ]})
    # Not matched: another prefix, another bucket's listing, a listing of another prefix.
    s3c.put_object(Bucket="work", Key="work/part-1", Body=b"x")
    assert s3c.list_objects_v2(Bucket="work", Prefix="work/")["KeyCount"] == 1

    def fails(call, code, status, **kw):
        with pytest.raises(s3c.exceptions.ClientError) as e:
            call(**kw)
        err = e.value.response
        assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
        return err

    err = fails(s3c.put_object, "AccessDenied", 403, Bucket="work", Key="receipts/user-7f3a.json", Body=b"{}")
    assert err["Error"]["Message"] == "Access Denied"
    assert err["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/xml"
    s3c.put_object(Bucket="work", Key="receipts/user-7f3a.json", Body=b"{}")  # times: 1
    fails(s3c.get_object, "NoSuchKey", 404, Bucket="work", Key="receipts/old.json")
    assert s3c.get_object(Bucket="work", Key="receipts/old.json")["Body"].read() == b"{}"
    fails(s3c.head_object, "500", 500, Bucket="work", Key="receipts/old.json")  # HEAD: no body
    fails(s3c.list_objects_v2, "SlowDown", 503, Bucket="work", Prefix="receipts/")
    assert s3c.list_objects_v2(Bucket="work", Prefix="receipts/")["KeyCount"] == 2
    err = fails(s3c.delete_object, "ServiceUnavailable", 503, Bucket="work", Key="receipts/old.json")
    assert err["Error"]["Message"] == "try later"

    calls = emu.calls(service="s3")
    assert [(c["operation"], c["status"], c["error"], c["bucket"], c.get("keyPrefix")) for c in calls] == [
        ("PutObject", 403, "AccessDenied", "work", "receipts/"),
        ("GetObject", 404, "NoSuchKey", "work", "receipts/"),
        ("HeadObject", 500, "InternalError", "work", "receipts/"),
        ("ListObjectsV2", 503, "SlowDown", "work", "receipts/"),
        ("DeleteObject", 503, "ServiceUnavailable", "work", "receipts/")]
    assert all(c["injected"] for c in calls)
    assert "7f3a" not in json.dumps(calls) and "old.json" not in json.dumps(calls)  # never a whole key

    # The raw answers: what the Rust SDK's restXml error parser reads.
    emu.ctl("POST", "faults", {"rules": [
        {"service": "s3", "operation": "GetObject", "error": "AccessDenied"},
        {"service": "s3", "operation": "HeadObject", "error": "NoSuchKey"}]})
    status, headers, body = raw_http("GET", f"{emu.url}/work/receipts/old.json", {"Authorization": S3_AUTH})
    assert status == 403 and headers["Content-Type"] == "application/xml" and headers["x-amz-request-id"]
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                           b"<Message>Access Denied</Message><RequestId>")
    assert body.endswith(b"</HostId></Error>") and int(headers["Content-Length"]) == len(body)
    status, headers, body = raw_http("HEAD", f"{emu.url}/work/receipts/old.json", {"Authorization": S3_AUTH})
    assert (status, body, headers["Content-Length"]) == (404, b"", "0")
    # Presigned URLs: SigV4 names S3 in X-Amz-Credential; SigV2 (boto3's default) is S3's alone.
    for version in ("s3v4", "s3"):
        presigner = emu.client("s3", config=Config(s3={"addressing_style": "path"}, signature_version=version))
        url = presigner.generate_presigned_url("get_object", Params={"Bucket": "work", "Key": "receipts/old.json"})
        status, headers, body = raw_http("GET", url)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body, url
    # An unsigned request names no service: moto answers it, no rule fires.
    injected = len(emu.calls(service="s3"))
    raw_http("GET", f"{emu.url}/work/receipts/old.json")
    assert len(emu.calls(service="s3")) == injected


def test_every_signed_s3_request_is_counted_by_operation(emu):
    s3 = emu.client("s3", config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    emu.ctl("POST", "reset")
    s3.create_bucket(Bucket="counted")
    for i in range(3):
        s3.put_object(Bucket="counted", Key=f"work/{i}", Body=b"x")
    s3.get_object(Bucket="counted", Key="work/0")
    s3.head_object(Bucket="counted", Key="work/1")
    s3.list_objects_v2(Bucket="counted", Prefix="work/")
    s3.delete_object(Bucket="counted", Key="work/2")
    # A request a fault rule answers is counted too: S3 would have billed it.
    emu.ctl("POST", "faults", {"rules": [{"service": "s3", "operation": "GetObject", "error": "SlowDown", "times": 1}]})
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_object(Bucket="counted", Key="work/0")
    assert emu.ctl("GET", "s3/counts")["counts"] == {
        "CreateBucket": 1, "PutObject": 3, "GetObject": 2, "HeadObject": 1, "ListObjectsV2": 1, "DeleteObject": 1}
    assert emu.calls(service="s3") == [c for c in emu.calls(service="s3") if c.get("injected")]  # the log: rule hits only


def test_s3_multipart_retention_versions_and_latency_faults(emu):
    s3 = emu.client("s3", config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    emu.ctl("POST", "faults", {"rules": [
        {"service": "s3", "operation": "CreateMultipartUpload", "error": "SlowDown", "times": 1},
        {"service": "s3", "operation": "UploadPart", "error": "InternalError", "times": 1},
        {"service": "s3", "operation": "CompleteMultipartUpload", "error": "NoSuchUpload", "times": 1},
        {"service": "s3", "operation": "ListObjectVersions", "error": "AccessDenied", "times": 1},
        {"service": "s3", "operation": "PutObjectRetention", "error": "AccessDenied", "times": 1,
         "match": {"bucket": "locked"}},
        {"service": "s3", "operation": "HeadObject", "latency_ms": 300, "times": 1},
    ]})

    def code(call, **kw):
        with pytest.raises(s3.exceptions.ClientError) as e:
            call(**kw)
        return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]

    assert code(s3.create_multipart_upload, Bucket="locked", Key="work/big") == ("SlowDown", 503)
    upload = s3.create_multipart_upload(Bucket="locked", Key="work/big")["UploadId"]
    part = b"p" * (5 * 1024 * 1024)
    assert code(s3.upload_part, Bucket="locked", Key="work/big", UploadId=upload, PartNumber=1,
                Body=part) == ("InternalError", 500)
    etag = s3.upload_part(Bucket="locked", Key="work/big", UploadId=upload, PartNumber=1, Body=part)["ETag"]
    parts = {"Parts": [{"ETag": etag, "PartNumber": 1}]}
    assert code(s3.complete_multipart_upload, Bucket="locked", Key="work/big", UploadId=upload,
                MultipartUpload=parts) == ("NoSuchUpload", 404)
    s3.complete_multipart_upload(Bucket="locked", Key="work/big", UploadId=upload, MultipartUpload=parts)
    assert code(s3.list_object_versions, Bucket="locked") == ("AccessDenied", 403)
    assert len(s3.list_object_versions(Bucket="locked")["Versions"]) == 1
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": "2030-01-01T00:00:00Z"}
    assert code(s3.put_object_retention, Bucket="locked", Key="work/big", Retention=retention) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket="locked", Key="work/big", Retention=retention)
    t = time.monotonic()
    assert s3.head_object(Bucket="locked", Key="work/big")["ContentLength"] == len(part)
    assert time.monotonic() - t >= 0.3
    calls = emu.calls(service="s3")
    assert [(c["operation"], c["status"]) for c in calls] == [
        ("CreateMultipartUpload", 503), ("UploadPart", 500), ("CompleteMultipartUpload", 404),
        ("ListObjectVersions", 403), ("PutObjectRetention", 403), ("HeadObject", 200)]
    assert calls[-1]["latency_ms"] == 300 and "injected" not in calls[-1]
    assert all(r["times"] == 0 for r in emu.ctl("GET", "faults")["rules"])


# --- Pinpoint ------------------------------------------------------------------------------------


def test_pinpoint_endpoints_lifecycle(emu):
    pp = emu.client("pinpoint", config=NO_RETRY)
    app = pp.create_app(CreateApplicationRequest={"Name": "shop", "tags": {"team": "x"}})["ApplicationResponse"]
    app_id = app["Id"]
    assert app["Arn"] == f"arn:aws:mobiletargeting:us-east-1:{ACCOUNT}:apps/{app_id}"
    assert pp.get_app(ApplicationId=app_id)["ApplicationResponse"]["Name"] == "shop"

    odd = "user/with space+plus%2Fé"  # the SDK percent-encodes it; the server decodes it once
    for i in range(2):
        r = pp.update_endpoint(ApplicationId=app_id, EndpointId=f"ep-{i}", EndpointRequest={
            "Address": f"a{i}@example.com", "ChannelType": "EMAIL", "User": {"UserId": odd}})
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 202 and r["MessageBody"]["Message"] == "Accepted"
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": app_id, "users": {"seeded": 3}})
    ep = pp.get_endpoint(ApplicationId=app_id, EndpointId="ep-0")["EndpointResponse"]
    assert ep["User"]["UserId"] == odd and ep["ChannelType"] == "EMAIL" and ep["ApplicationId"] == app_id

    users = emu.ctl("GET", f"pinpoint/endpoints?applicationId={app_id}")["users"]
    assert sorted(users[odd]) == ["ep-0", "ep-1"] and len(users["seeded"]) == 3
    got = pp.get_user_endpoints(ApplicationId=app_id, UserId=odd)["EndpointsResponse"]["Item"]
    assert sorted(e["Id"] for e in got) == ["ep-0", "ep-1"]

    r = pp.delete_user_endpoints(ApplicationId=app_id, UserId=odd)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert sorted(e["Id"] for e in r["EndpointsResponse"]["Item"]) == ["ep-0", "ep-1"]
    with pytest.raises(pp.exceptions.NotFoundException):
        pp.delete_user_endpoints(ApplicationId=app_id, UserId=odd)
    with pytest.raises(pp.exceptions.NotFoundException):
        pp.get_user_endpoints(ApplicationId=app_id, UserId="user")  # not a prefix match
    one = users["seeded"][0]
    assert pp.delete_endpoint(ApplicationId=app_id, EndpointId=one)["EndpointResponse"]["Id"] == one
    assert len(pp.delete_user_endpoints(ApplicationId=app_id, UserId="seeded")["EndpointsResponse"]["Item"]) == 2
    assert emu.ctl("GET", f"pinpoint/endpoints?applicationId={app_id}")["users"] == {}


def test_pinpoint_not_found_has_the_wire_shape_of_aws(emu):
    pp = emu.client("pinpoint", config=NO_RETRY)
    with pytest.raises(pp.exceptions.NotFoundException):
        pp.get_app(ApplicationId="0" * 32)
    app_id = pp.create_app(CreateApplicationRequest={"Name": "a"})["ApplicationResponse"]["Id"]
    auth = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/mobiletargeting/aws4_request, "
            "SignedHeaders=host, Signature=0")
    for app in ("f" * 32, app_id):  # unknown application, then unknown user
        status, headers, body = http("DELETE", f"{emu.url}/v1/apps/{app}/users/{quote('nobody', safe='')}",
                                     headers={"Authorization": auth})
        assert status == 404
        assert headers["x-amzn-ErrorType"] == "NotFoundException"
        assert body["Message"] and body["RequestID"]


def test_pinpoint_fifteen_endpoints_per_user(emu):
    pp = emu.client("pinpoint", config=NO_RETRY)
    app_id = pp.create_app(CreateApplicationRequest={"Name": "a"})["ApplicationResponse"]["Id"]
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": app_id, "users": {"u": 14}})
    pp.update_endpoint(ApplicationId=app_id, EndpointId="fifteenth",
                       EndpointRequest={"Address": "x", "ChannelType": "EMAIL", "User": {"UserId": "u"}})
    with pytest.raises(pp.exceptions.BadRequestException):
        pp.update_endpoint(ApplicationId=app_id, EndpointId="sixteenth",
                           EndpointRequest={"Address": "y", "ChannelType": "EMAIL", "User": {"UserId": "u"}})
    # Updating one of the fifteen is fine.
    pp.update_endpoint(ApplicationId=app_id, EndpointId="fifteenth",
                       EndpointRequest={"Address": "z", "ChannelType": "EMAIL", "User": {"UserId": "u"}})
    assert len(pp.delete_user_endpoints(ApplicationId=app_id, UserId="u")["EndpointsResponse"]["Item"]) == 15


def test_pinpoint_throttling_and_latency(emu):
    pp = emu.client("pinpoint", config=NO_RETRY)
    app_id = pp.create_app(CreateApplicationRequest={"Name": "a"})["ApplicationResponse"]["Id"]
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": app_id, "users": {f"u{i}": 1 for i in range(40)}})
    emu.ctl("POST", "pinpoint/config", {"rate": 5, "burst": 5, "latency_ms": 0})
    ok = throttled = 0
    for i in range(20):
        try:
            pp.delete_user_endpoints(ApplicationId=app_id, UserId=f"u{i}")
            ok += 1
        except pp.exceptions.TooManyRequestsException as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            throttled += 1
    assert 5 <= ok <= 8 and throttled == 20 - ok
    assert sum(c["status"] == 429 for c in emu.calls(operation="DeleteUserEndpoints")) == throttled
    # The bucket refills: one call at a time under the rate goes through.
    time.sleep(0.25)
    pp.delete_user_endpoints(ApplicationId=app_id, UserId="u30")

    emu.ctl("POST", "pinpoint/config", {"rate": None, "latency_ms": 150})
    t = time.monotonic()
    pp.delete_user_endpoints(ApplicationId=app_id, UserId="u31")
    assert time.monotonic() - t >= 0.15


def test_pinpoint_faults(emu):
    pp = emu.client("pinpoint", config=NO_RETRY)
    a = pp.create_app(CreateApplicationRequest={"Name": "a"})["ApplicationResponse"]["Id"]
    b = pp.create_app(CreateApplicationRequest={"Name": "b"})["ApplicationResponse"]["Id"]
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": a, "users": {"u": 1}})
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": b, "users": {"u": 1}})
    emu.ctl("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "ForbiddenException",
         "match": {"applicationId": a}, "message": "Pinpoint engagement features have ended"},
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "TooManyRequestsException", "times": 1},
    ]})
    with pytest.raises(pp.exceptions.ForbiddenException) as e:
        pp.delete_user_endpoints(ApplicationId=a, UserId="u")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "ended" in e.value.response["Error"]["Message"]
    with pytest.raises(pp.exceptions.TooManyRequestsException):
        pp.delete_user_endpoints(ApplicationId=b, UserId="u")
    pp.delete_user_endpoints(ApplicationId=b, UserId="u")
    calls = emu.calls(service="pinpoint", operation="DeleteUserEndpoints")
    assert [(c["applicationId"], c["status"]) for c in calls] == [(a, 403), (b, 429), (b, 202)]
    assert calls[0]["injected"] is True


# --- Lambda forwarding, Step Functions, S3 notifications -----------------------------------------


def run_execution(emu, definition, payload, timeout=30.0):
    sfn = emu.client("stepfunctions")
    sm = sfn.create_state_machine(name=f"sm-{time.time_ns()}", definition=json.dumps(definition),
                                  roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    history = sfn.get_execution_history(executionArn=ex)["events"]
    return d, history


def test_a_crash_fails_the_invocation_in_flight_and_hold_keeps_new_ones_until_resume(emu):
    emu.function("slow")
    emu.function("echo")
    lam = emu.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", lam.invoke(FunctionName="slow", Payload=b"{}")))
    t.start()
    emu.lambdas.wait_calls("slow", 1)
    assert emu.ctl("POST", "lambda/crash", {"functionName": "slow", "hold": True}) == {"failed": 1}
    t.join(5)
    r = out["r"]
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"])["errorType"] == "Runtime.ExitError"
    # A retry now waits for the new execution environment instead of reaching the dying one.
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", lam.invoke(FunctionName="slow", Payload=b"{}")))
    t.start()
    time.sleep(0.5)
    assert "r" not in held and len(emu.lambdas.calls["slow"]) == 1
    # Other functions are not held.
    assert "FunctionError" not in lam.invoke(FunctionName="echo", Payload=b"{}")
    assert emu.ctl("POST", "lambda/resume", {"functionName": "slow"}) == {"resumed": True}
    t.join(10)
    assert "FunctionError" not in held["r"] and len(emu.lambdas.calls["slow"]) == 2
    assert emu.ctl("POST", "lambda/resume", {"functionName": "slow"}) == {"resumed": False}


def test_an_invocation_past_the_function_timeout_is_sandbox_timedout_and_holds_the_function(emu):
    emu.function("slow")  # sleeps 1.5 s
    lam = emu.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    lam.update_function_configuration(FunctionName="slow", Timeout=1)
    r = lam.invoke(FunctionName="slow", Payload=b"{}")
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"]) == {"errorType": "Sandbox.Timedout",
                                       "errorMessage": "Task timed out after 1.00 seconds"}
    state = emu.ctl("GET", "lambda")
    assert state["held"] == ["slow"]
    assert state["functions"]["slow"]["errors"] == {"Sandbox.Timedout": 1}
    assert 1.0 <= state["functions"]["slow"]["seconds"] < 1.5
    # A retry sent while the function is held (its timeout still 1 s) runs under the timeout in
    # force when the new environment is up: it answers.
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", lam.invoke(FunctionName="slow", Payload=b"{}")))
    t.start()
    time.sleep(0.5)
    assert "r" not in held
    lam.update_function_configuration(FunctionName="slow", Timeout=3)
    assert emu.ctl("POST", "lambda/resume", {"functionName": "slow"}) == {"resumed": True}
    t.join(10)
    assert "FunctionError" not in held["r"], json.load(held["r"]["Payload"])
    assert emu.ctl("GET", "lambda")["held"] == []


def test_invoke_is_forwarded_and_a_handler_error_is_a_function_error(emu):
    emu.function("echo")
    emu.function("boom")
    emu.function("notjson")
    lam = emu.client("lambda")
    r = lam.invoke(FunctionName="echo", Payload=json.dumps({"k": "v"}))
    assert "FunctionError" not in r and json.load(r["Payload"]) == {"fn": "echo", "got": {"k": "v"}}
    r = lam.invoke(FunctionName="boom", Payload=b"{}")
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"]) == {"errorType": "Throttled", "errorMessage": "slow down"}
    r = lam.invoke(FunctionName="notjson", Payload=b"{}")
    assert r["FunctionError"] == "Unhandled"
    assert json.load(r["Payload"])["errorType"] == "EmulatorForwardError"
    r = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async": true}')
    assert r["StatusCode"] == 202
    assert emu.lambdas.wait_calls("echo", 2)[-1] == {"async": True}


def test_step_functions_task_retry_and_catch_match_the_error_type(emu):
    flaky, echo, boom = emu.function("flaky"), emu.function("echo"), emu.function("boom")
    emu.function("callback")
    definition = {"StartAt": "Flaky", "States": {
        "Flaky": {"Type": "Task", "Resource": flaky, "Next": "Invoke",
                  "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.0}]},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": echo, "Payload.$": "$"}, "ResultSelector": {"p.$": "$.Payload"},
                   "ResultPath": "$.invoked", "Next": "Callback"},
        "Callback": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "callback", "Payload": {}}, "ResultPath": "$.callback",
                     "Next": "Boom"},
        "Boom": {"Type": "Task", "Resource": boom, "ResultPath": "$.never", "End": True,
                 "Catch": [{"ErrorEquals": ["Throttled"], "ResultPath": "$.caught", "Next": "BoomInvoke"}]},
        "BoomInvoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": boom, "Payload.$": "$"}, "End": True,
                       "Catch": [{"ErrorEquals": ["Throttled"], "ResultPath": "$.caught2", "Next": "Done"}]},
        "Done": {"Type": "Pass", "Parameters": {"start.$": "$$.Execution.StartTime", "out.$": "$"}, "End": True},
    }}
    d, history = run_execution(emu, definition, {"user": "someone"})
    assert d["status"] == "SUCCEEDED", (d, history)
    out = json.loads(d["output"])
    assert out["start"].endswith("Z")
    out = out["out"]
    # Resource = function ARN: the output is the function's payload; three tries of "flaky".
    assert out["fn"] == "flaky" and out["got"] == {"user": "someone"}
    assert len(emu.lambdas.calls["flaky"]) == 3
    # lambda:invoke: the output is the Invoke response, {"StatusCode", "ExecutedVersion", "Payload"}.
    assert out["invoked"]["p"] == {"fn": "echo", "got": {"fn": "flaky", "got": {"user": "someone"}}}
    # A function that calls back into the emulator while it is being invoked does not deadlock.
    assert out["callback"]["StatusCode"] == 200 and out["callback"]["Payload"]["got"]["buckets"] == []
    # Error == errorType for both forms; Cause is the error payload as JSON (it carries the message).
    for key in ("caught", "caught2"):
        assert out[key]["Error"] == "Throttled"
        assert json.loads(out[key]["Cause"]) == {"errorType": "Throttled", "errorMessage": "slow down"}
    failed = [e for e in history if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    assert [e["type"] for e in failed] == ["LambdaFunctionFailed"] * 3 + ["TaskFailed"]


def test_step_functions_uncaught_error_fails_the_execution(emu):
    boom = emu.function("boom")
    emu.lambdas.flaky_failures = 10
    flaky = emu.function("flaky")
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": flaky, "Next": "B",
              "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 1}]},
        "B": {"Type": "Task", "Resource": boom, "End": True}}}
    d, _ = run_execution(emu, definition, {})
    assert d["status"] == "FAILED" and d["error"] == "Throttled"
    assert "slow down" in d["cause"]
    assert len(emu.lambdas.calls["flaky"]) == 2 and "boom" not in emu.lambdas.calls


def test_s3_notification_invokes_the_function_asynchronously(emu):
    arn = emu.function("slow")
    s3 = emu.bucket("erasure-requests")
    s3.put_bucket_notification_configuration(Bucket="erasure-requests", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "Id": "on-request", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "requests/"},
                                               {"Name": "suffix", "Value": ".csv"}]}}}]})
    t = time.monotonic()
    s3.put_object(Bucket="erasure-requests", Key="requests/2026 01/ü+1.csv", Body=b"USER_ID\nu\n")
    assert time.monotonic() - t < 1.0  # the function takes 1.5 s: the PutObject did not wait
    s3.put_object(Bucket="erasure-requests", Key="elsewhere/x.csv", Body=b"x")
    s3.put_object(Bucket="erasure-requests", Key="requests/x.txt", Body=b"x")
    events = emu.lambdas.wait_calls("slow", 1)
    time.sleep(0.5)
    assert len(emu.lambdas.calls["slow"]) == 1
    rec = events[0]["Records"][0]
    assert rec["eventSource"] == "aws:s3" and rec["eventName"] == "ObjectCreated:Put"
    assert rec["awsRegion"] == "us-east-1" and rec["s3"]["configurationId"] == "on-request"
    assert rec["s3"]["bucket"]["name"] == "erasure-requests"
    assert rec["s3"]["bucket"]["arn"] == "arn:aws:s3:::erasure-requests"
    # moto URL-encodes the key with quote_plus: "/" too (AWS leaves "/" as is); decode it.
    assert rec["s3"]["object"]["key"] == "requests%2F2026+01%2F%C3%BC%2B1.csv"
    assert rec["s3"]["object"]["size"] == 10 and rec["s3"]["object"]["eTag"]


def test_s3_notification_retries_a_failed_function_twice(emu):
    arn = emu.function("boom")
    s3 = emu.bucket("erasure-requests")
    s3.put_bucket_notification_configuration(Bucket="erasure-requests", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:Put"]}]})
    s3.put_object(Bucket="erasure-requests", Key="a.csv", Body=b"x")
    assert len(emu.lambdas.wait_calls("boom", 3)) == 3
    time.sleep(0.6)
    assert len(emu.lambdas.calls["boom"]) == 3


def test_unreachable_forward_target_fails_the_invocation_clearly(tmp_path):
    closed = free_port()
    proc, url, log = start_emulator(f"http://127.0.0.1:{closed}", tmp_path / "emu.log")
    try:
        emu = Emu(url, None, tmp_path / "emu.log")
        emu.function("fn")
        r = emu.client("lambda").invoke(FunctionName="fn", Payload=b"{}")
        err = json.load(r["Payload"])
        assert r["FunctionError"] == "Unhandled" and err["errorType"] == "Lambda.ServiceException"
        assert f"127.0.0.1:{closed}" in err["errorMessage"]
    finally:
        assert stop_emulator(proc, log) == 0  # SIGTERM: a clean exit
    assert "unreachable" in (tmp_path / "emu.log").read_text()


# --- Step Functions StopExecution and status-change events ---------------------------------------


WAIT_MACHINE = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "Next": "After"},
                                           "After": {"Type": "Pass", "End": True}}}
PASS_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1}, "End": True}}}


def state_machine(emu, name, definition):
    return emu.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]


def wait_execution(sfn, arn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            return d
        time.sleep(0.1)


def test_stop_execution_aborts_at_once_even_with_a_task_in_flight(emu):
    sfn = emu.client("stepfunctions")
    slow = emu.function("slow")  # answers after 1.5 s
    waiting = state_machine(emu, "waiting", WAIT_MACHINE)
    tasking = state_machine(emu, "tasking", {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": slow, "Next": "After"}, "After": {"Type": "Task", "Resource": slow,
                                                                          "End": True}}})
    # Unnamed executions get a UUID name, as on AWS (moto's engine would call both "None").
    a = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    b = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    assert a != b and len(a.rsplit(":", 1)[1]) == 36
    t = time.monotonic()
    stopped = sfn.stop_execution(executionArn=a)  # right after the start
    assert time.monotonic() - t < 1.0
    d = sfn.describe_execution(executionArn=a)
    assert d["status"] == "ABORTED" and d["stopDate"] == stopped["stopDate"]
    sfn.stop_execution(executionArn=b)
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=waiting, name="has space")

    c = sfn.start_execution(stateMachineArn=tasking, name="in-flight")["executionArn"]
    emu.lambdas.wait_calls("slow", 1)
    stopped = sfn.stop_execution(executionArn=c)
    d = sfn.describe_execution(executionArn=c)
    assert d["status"] == "ABORTED" and d["stopDate"] == stopped["stopDate"]
    time.sleep(2.0)  # the function answers; the engine runs nothing more
    d = sfn.describe_execution(executionArn=c)
    assert d["status"] == "ABORTED" and d["stopDate"] == stopped["stopDate"]
    assert len(emu.lambdas.calls["slow"]) == 1
    history = [e["type"] for e in sfn.get_execution_history(executionArn=c)["events"]]
    assert history[-1] == "ExecutionAborted" and history.count("TaskStateEntered") == 1
    waited = [e["type"] for e in sfn.get_execution_history(executionArn=a)["events"]]
    assert waited == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]


def test_status_change_events_reach_the_lambda_target(emu):
    sfn = emu.client("stepfunctions")
    waiting = state_machine(emu, "erasure", WAIT_MACHINE)
    passing = state_machine(emu, "quick", PASS_MACHINE)
    earlier = sfn.start_execution(stateMachineArn=passing, name="before-the-rule")["executionArn"]
    assert wait_execution(sfn, earlier)["status"] == "SUCCEEDED"
    rules = [{"stateMachineArn": waiting, "statuses": ["ABORTED", "FAILED", "TIMED_OUT", "SUCCEEDED"],
              "functionName": "finalize-erasure"},
             {"stateMachineArn": passing, "statuses": ["SUCCEEDED"],
              "functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:finalize-erasure"}]
    listed = emu.ctl("POST", "events/rules", {"rules": rules})["rules"]
    assert listed == emu.ctl("GET", "events/rules")["rules"]
    assert listed[0] == {**rules[0], "maxRetries": 3, "retryDelaySeconds": 1.0}

    request = '{"requestId": "r-1",  "bucket": "erasure-requests"}'  # delivered as it was given
    stopped_arn = sfn.start_execution(stateMachineArn=waiting, name="erase-r-1", input=request)["executionArn"]
    time.sleep(0.5)  # seen RUNNING, which the rule does not list
    stop_date = sfn.stop_execution(executionArn=stopped_arn)["stopDate"]
    done_arn = sfn.start_execution(stateMachineArn=passing, name="quick-1", input="{}")["executionArn"]
    done = wait_execution(sfn, done_arn)
    events = emu.lambdas.wait_calls("finalize-erasure", 2)
    time.sleep(0.8)
    assert len(emu.lambdas.calls["finalize-erasure"]) == 2  # nothing for RUNNING or the earlier execution
    by_status = {e["detail"]["status"]: e for e in events}
    assert set(by_status) == {"ABORTED", "SUCCEEDED"}

    aborted = by_status["ABORTED"]
    assert set(aborted) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                            "detail"}
    assert aborted["version"] == "0" and len(aborted["id"]) == 36
    assert aborted["detail-type"] == "Step Functions Execution Status Change" and aborted["source"] == "aws.states"
    assert (aborted["account"], aborted["region"], aborted["resources"]) == (ACCOUNT, "us-east-1", [stopped_arn])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", aborted["time"])
    detail = aborted["detail"]
    assert set(detail) == {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "input",
                           "output", "inputDetails", "outputDetails"}
    assert (detail["executionArn"], detail["stateMachineArn"], detail["name"]) == (stopped_arn, waiting, "erase-r-1")
    assert isinstance(detail["startDate"], int) and isinstance(detail["stopDate"], int)
    assert detail["stopDate"] == int(stop_date.timestamp() * 1000) and detail["stopDate"] > detail["startDate"]
    assert detail["input"] == request and detail["inputDetails"] == {"included": True}
    assert detail["output"] is None and detail["outputDetails"] is None

    succeeded = by_status["SUCCEEDED"]["detail"]
    assert succeeded["name"] == "quick-1" and succeeded["stateMachineArn"] == passing
    assert succeeded["output"] == '{"a":1}' and json.loads(done["output"]) == {"a": 1}
    assert succeeded["outputDetails"] == {"included": True} and succeeded["input"] == "{}"
    assert succeeded["stopDate"] == int(done["stopDate"].timestamp() * 1000)

    deliveries = emu.ctl("GET", "events/deliveries")["deliveries"]
    assert sorted((d["status"], d["outcome"], d["attempts"]) for d in deliveries) == [
        ("ABORTED", "delivered", 1), ("SUCCEEDED", "delivered", 1)]
    assert {d["event"]["id"] for d in deliveries} == {e["id"] for e in events}
    calls = emu.calls(service="events")
    assert sorted((c["operation"], c["status"], c["execution"], c["executionStatus"], c["outcome"]) for c in calls) == [
        ("Deliver", 200, "erase-r-1", "ABORTED", "delivered"), ("Deliver", 200, "quick-1", "SUCCEEDED", "delivered")]
    assert "requestId" not in json.dumps(calls) and "erasure-requests" not in json.dumps(calls)  # no input


def test_failed_event_deliveries_are_retried(emu):
    sfn = emu.client("stepfunctions")
    passing = state_machine(emu, "quick", PASS_MACHINE)
    emu.ctl("POST", "events/rules", {"rules": [
        {"stateMachineArn": passing, "statuses": ["RUNNING", "SUCCEEDED"], "functionName": "flaky",
         "retryDelaySeconds": 0.1},
        {"stateMachineArn": passing, "statuses": ["SUCCEEDED"], "functionName": "boom", "maxRetries": 2,
         "retryDelaySeconds": 0.1}]})
    emu.lambdas.flaky_failures = 1
    sfn.start_execution(stateMachineArn=passing, name="one", input='{"x": 1}')
    # flaky: RUNNING (seen only after it ended) fails once, then both go through, in order.
    flaky = emu.lambdas.wait_calls("flaky", 3)
    assert [e["detail"]["status"] for e in flaky] == ["RUNNING", "RUNNING", "SUCCEEDED"]
    assert flaky[0] == flaky[1]  # a retry is the same event
    running = flaky[0]["detail"]
    assert running["stopDate"] is None and running["output"] is None and running["outputDetails"] is None
    assert len(emu.lambdas.wait_calls("boom", 3)) == 3  # one try and two retries
    deadline = time.monotonic() + 5
    while len(emu.ctl("GET", "events/deliveries")["deliveries"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    assert len(emu.lambdas.calls["boom"]) == 3
    deliveries = emu.ctl("GET", "events/deliveries")["deliveries"]
    assert sorted((d["functionName"], d["status"], d["outcome"], d["attempts"], d.get("errorType"))
                  for d in deliveries) == [
        ("boom", "SUCCEEDED", "failed", 3, "Throttled"), ("flaky", "RUNNING", "delivered", 2, None),
        ("flaky", "SUCCEEDED", "delivered", 1, None)]
    failed = [c for c in emu.calls(service="events") if c["outcome"] == "failed"]
    assert [(c["status"], c["error"], c["attempts"]) for c in failed] == [(500, "Throttled", 3)]

    status, _, out = http("POST", f"{emu.url}/_emulator/events/rules",
                          {"rules": [{"stateMachineArn": passing, "statuses": ["DONE"], "functionName": "f"}]})
    assert status == 400 and "statuses" in out["message"]
    assert len(emu.ctl("GET", "events/rules")["rules"]) == 2  # a refused set leaves the rules as they were


# --- reset and logs ------------------------------------------------------------------------------


def test_reset_clears_everything(emu):
    dsg = emu.dataset_group()
    emu.bucket()
    emu.ctl("POST", "faults", {"rules": [{"service": "pinpoint", "error": "ForbiddenException"}]})
    emu.ctl("POST", "pinpoint/config", {"rate": 1})
    emu.ctl("POST", "events/rules", {"rules": [{
        "stateMachineArn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:x", "statuses": ["FAILED"],
        "functionName": "f"}]})
    emu.ctl("POST", "reset")
    assert emu.ctl("GET", "events/rules") == {"rules": []}
    assert emu.ctl("GET", "events/deliveries") == {"deliveries": []}
    assert emu.client("s3").list_buckets()["Buckets"] == []
    assert emu.ctl("GET", "faults") == {"rules": []}
    assert emu.ctl("GET", "calls") == []
    assert emu.ctl("GET", "s3/counts") == {"counts": {"ListBuckets": 1}}  # the list_buckets above only
    assert emu.ctl("GET", "pinpoint/config")["rate"] is None
    assert emu.ctl("GET", "personalize/config")["pending_seconds"] == 2.0
    status, _, _ = http("GET", f"{emu.url}/_emulator/personalize/records?datasetGroupArn={dsg}")
    assert status == 400
    # Step Functions still executes ASL after moto's reset.
    d, _ = run_execution(emu, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"a": 1})
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"a": 1}


def test_logs_never_carry_user_ids(emu):
    secret = "pii-7f3a9c-user"
    p = emu.client("personalize")
    pp = emu.client("pinpoint", config=NO_RETRY)
    dsg = emu.dataset_group()
    emu.ctl("POST", "personalize/records", {"datasetGroupArn": dsg, "records": {secret: 1}})
    s3 = emu.bucket()
    s3.put_object(Bucket="erasure-input", Key="x.csv", Body=f"USER_ID\n{secret}\n".encode())
    s3.put_object(Bucket="erasure-input", Key="bad.csv", Body=f"USER_ID\n{secret},x\n".encode())
    good, bad = create_job(p, "good", dsg, "s3://erasure-input/x.csv"), create_job(p, "bad", dsg, "s3://erasure-input/bad.csv")
    app_id = pp.create_app(CreateApplicationRequest={"Name": "a"})["ApplicationResponse"]["Id"]
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": app_id, "users": {secret: 2}})
    pp.delete_user_endpoints(ApplicationId=app_id, UserId=secret)
    with pytest.raises(pp.exceptions.NotFoundException):
        pp.delete_user_endpoints(ApplicationId=app_id, UserId=secret)
    emu.function("boom")
    emu.client("lambda").invoke(FunctionName="boom", Payload=json.dumps({"user": secret}))
    # moto's Step Functions engine logs a failure with its Cause, which here quotes the user.
    leaky = emu.function("leaky")
    d, _ = run_execution(emu, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": leaky, "End": True}}},
                         {"user": secret})
    assert d["status"] == "FAILED" and secret in d["cause"]
    assert wait_status(p, good, {"COMPLETED", "FAILED"})["numDeleted"] == 1
    assert wait_status(p, bad, {"COMPLETED", "FAILED"})["status"] == "FAILED"
    time.sleep(0.3)
    log = Path(emu.log_path).read_text()
    assert "personalize deletion job COMPLETED" in log
    assert "message withheld" in log  # the engine's failure line was there, without its text
    assert secret not in log
