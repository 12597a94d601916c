"""Fault injection (faults.py) for Personalize, Pinpoint and S3, and the call log it writes: rules
with times and matches, errors in each service's wire shape, failing jobs, refused rules."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.config import Config

from tests.emulation.faults import s3_request
from tests.emulation_tests.helpers import NO_RETRY, create_job, http, wait_status


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


# --- S3 faults ------------------------------------------------------------------------------------


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
