"""The emulation's wire fidelity (wire.py): the checker itself, then boto3 and the real Rust SDK
driving every Personalize and Pinpoint operation the emulation serves, error paths included,
with the checker watching every exchange.

The checker is shown to catch what it is for (known-bad documents below) before its silence
about the emulation is taken as evidence.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.emulation.personalize import OPERATIONS as PERSONALIZE_OPERATIONS
from tests.emulation.pinpoint import OPERATIONS as PINPOINT_OPERATIONS
from tests.emulation.wire import Request, Response, ServiceModel, Verdict, Wire, translate_pattern
from tests.emulation_tests.helpers import ROLE
from tests.harness import ROOT

JSON_11 = {"content-type": "application/x-amz-json-1.1"}
SECRET_USER = "wire-user-7f3c9a"  # a user ID: must never appear in what the checker reports


@pytest.fixture(scope="module")
def personalize_model() -> ServiceModel:
    return ServiceModel.load("personalize")


@pytest.fixture(scope="module")
def pinpoint_model() -> ServiceModel:
    return ServiceModel.load("pinpoint")


def personalize_request(op: str, body: dict | None) -> Request:
    headers = {**JSON_11, "x-amz-target": f"AmazonPersonalize.{op}"}
    return Request("POST", "/", "", headers, b"" if body is None else json.dumps(body).encode())


def checked(model: ServiceModel, op: str | None, req: Request, resp: Response) -> Verdict:
    v = model.check_request(op, req)
    model.check_response(v, v.operation, resp)
    return v


# --- the checker, on known-bad documents ---------------------------------------------------------


def test_a_missing_required_member_and_an_unknown_one_are_found(personalize_model):
    body = {"jobName": "ok", "datasetGroupArn": "arn:aws:personalize:us-east-1:1:dataset-group/g",
            "dataSource": {"dataLocation": "s3://b/k.csv"}, "extra": SECRET_USER}
    v = personalize_model.check_request("CreateDataDeletionJob", personalize_request("CreateDataDeletionJob", body))
    assert v.request == ["roleArn: required member missing",
                         "(body): unknown member 'extra' (not in CreateDataDeletionJobRequest)"]


def test_a_wrong_enum_value_is_found_without_echoing_it(pinpoint_model):
    req = Request("PUT", "/v1/apps/app1/endpoints/e1", "", {"content-type": "application/json"},
                  json.dumps({"ChannelType": SECRET_USER, "User": {"UserId": SECRET_USER}}).encode())
    v = pinpoint_model.check_request(None, req)
    assert v.operation == "UpdateEndpoint"
    assert v.request == ["EndpointRequest.ChannelType: not one of the enum values of ChannelType"]


def test_an_undeclared_error_code_and_a_wrong_error_status_are_found(personalize_model, pinpoint_model):
    req = personalize_request("DescribeDataDeletionJob", {"dataDeletionJobArn": "arn:aws:personalize:x:1:j/x"})
    # LimitExceededException is modelled for CreateDataDeletionJob, not for DescribeDataDeletionJob.
    v = checked(personalize_model, "DescribeDataDeletionJob", req,
                Response(400, JSON_11, b'{"__type": "LimitExceededException", "message": "m"}'))
    assert v.error == "LimitExceededException"
    assert v.response == ["error code 'LimitExceededException' is neither modelled for operation "
                          "DescribeDataDeletionJob nor a common AWS error"]
    # The model gives NotFoundException HTTP 404.
    get = Request("GET", "/v1/apps/app1", "", {}, b"")
    v = checked(pinpoint_model, None, get, Response(400, {"content-type": "application/json",
                                                          "x-amzn-errortype": "NotFoundException"},
                                                    b'{"Message": "m", "RequestID": "r"}'))
    assert v.response == ["NotFoundException: status 400, the model says 404"]
    # A common error keeps its documented status; restJson1 needs X-Amzn-Errortype.
    v = checked(personalize_model, "DescribeDataDeletionJob", req,
                Response(500, JSON_11, b'{"__type": "ThrottlingException", "message": "m"}'))
    assert v.response == ["ThrottlingException: status 500, the common-errors page says 400"]
    v = checked(pinpoint_model, None, get, Response(404, {"content-type": "application/json"},
                                                    b'{"Message": "m", "RequestID": "r"}'))
    assert "no X-Amzn-Errortype header (restJson1 servers MUST send it)" in v.response


def test_a_wrong_success_status_type_and_timestamp_format_are_found(personalize_model, pinpoint_model):
    delete = Request("DELETE", "/v1/apps/app1/users/" + SECRET_USER, "", {}, b"")
    v = checked(pinpoint_model, None, delete, Response(200, {"content-type": "application/json"}, b'{"Item": []}'))
    assert v.response == ["status 200, the model says 202"]
    v = checked(pinpoint_model, None, delete, Response(202, {"content-type": "application/json"},
                                                       json.dumps({"Item": [{"User": {"UserId": 7}}]}).encode()))
    assert v.response == ["EndpointsResponse.Item[0].User.UserId: a string expected (__string), found number"]
    # awsJson1_1 timestamps are epoch seconds: an ISO string is not one.
    job = {"dataDeletionJob": {"status": "PENDING", "creationDateTime": "2026-01-01T00:00:00Z", "numDeleted": "3"}}
    v = checked(personalize_model, "DescribeDataDeletionJob",
                personalize_request("DescribeDataDeletionJob", {"dataDeletionJobArn": "arn:aws:personalize:x:1:j/x"}),
                Response(200, JSON_11, json.dumps(job).encode()))
    assert v.response == [
        "dataDeletionJob.creationDateTime: a timestamp in epoch seconds (a JSON number) expected, found string",
        "dataDeletionJob.numDeleted: an integer expected (integer), found string"]


def test_lengths_ranges_and_patterns_are_checked_like_the_service(personalize_model):
    arn = "arn:aws:personalize:us-east-1:1:dataset-group/g"
    v = personalize_model.check_request("ListDataDeletionJobs", personalize_request(
        "ListDataDeletionJobs", {"datasetGroupArn": "arn:aws:s3:::b", "maxResults": 101}))
    assert v.request == ["datasetGroupArn: does not match the pattern of Arn", "maxResults: above the maximum 100"]
    # Tag values allow Unicode letters, numbers and spaces (Java's \p{L}\p{Z}\p{N}), not '$'.
    tags = [{"tagKey": "ключ", "tagValue": "värde 四"}, {"tagKey": "k", "tagValue": "a$b"}, {"tagKey": "", "tagValue": ""}]
    v = personalize_model.check_request("CreateDatasetGroup", personalize_request(
        "CreateDatasetGroup", {"name": "g", "tags": tags, "roleArn": ROLE}))
    assert v.request == ["tags[1].tagValue: does not match the pattern of TagValue",
                         "tags[2].tagKey: shorter than the minimum length 1 of TagKey"]
    # Patterns are not anchored unless they say so (Smithy's pattern trait): Name has no '$'.
    v = personalize_model.check_request("DescribeDatasetGroup", personalize_request("DescribeDatasetGroup", {}))
    assert v.request == ["datasetGroupArn: required member missing"]
    assert personalize_model.check_request("CreateDatasetGroup", personalize_request(
        "CreateDatasetGroup", {"name": "ok$"})).request == []
    assert personalize_model.check_request("DescribeDatasetGroup", personalize_request(
        "DescribeDatasetGroup", {"datasetGroupArn": arn})).request == []


def test_java_patterns_translate_and_none_is_skipped(personalize_model, pinpoint_model):
    assert re.search(translate_pattern(r"^\p{ASCII}{0,3}$"), "abc")
    assert not re.search(translate_pattern(r"^\p{ASCII}{0,3}$"), "ab√")
    assert re.search(translate_pattern(r"^[\p{L}]+$"), "Ωmega")
    assert not re.search(translate_pattern(r"^\P{N}+$"), "a1")
    with pytest.raises(ValueError):
        translate_pattern(r"\p{IsAlphabetic}")
    for model in (personalize_model, pinpoint_model):
        for name, shape in model.model["shapes"].items():  # compile every pattern the models have
            if "pattern" in shape:
                model.shapes.check(name)
        assert model.skipped_patterns == []


def test_uri_labels_are_percent_decoded_once_and_greedy_labels_span_segments(pinpoint_model):
    # %252F is an escaped "%2F": decoded once it stays "%2F", a user ID of its own.
    v = pinpoint_model.check_request(None, Request("GET", "/v1/apps/a%2Fb/users/u%252Fx%20%CE%B1", "", {}, b""))
    assert (v.operation, v.request) == ("GetUserEndpoints", [])
    v = pinpoint_model.check_request(None, Request("GET", "/v1/apps/a/users/%FF", "", {}, b""))
    assert v.request == ["UserId: URI label is not UTF-8 once percent-decoded"]
    v = pinpoint_model.check_request(None, Request("GET", "/v1/apps/a/users/", "", {}, b""))
    assert (v.operation, v.request) == (None, ["GET on this path matches no operation's URI template"])
    v = pinpoint_model.check_request(None, Request("GET", "/v1/apps", "page-size=2&token=t&color=red", {}, b""))
    assert (v.operation, v.request) == ("GetApps", ["unknown query parameter 'color'"])
    # A synthetic restJson1 model: a greedy label, a typed query parameter, a header.
    model = ServiceModel("synthetic", {
        "metadata": {"protocol": "rest-json"},
        "operations": {"GetObject": {"http": {"method": "GET", "requestUri": "/{Bucket}/{Key+}?x-id=GetObject"},
                                     "input": {"shape": "In"}, "output": {"shape": "Out"}}},
        "shapes": {"In": {"type": "structure", "required": ["Bucket", "Key", "Tag"], "members": {
            "Bucket": {"shape": "S", "location": "uri", "locationName": "Bucket"},
            "Key": {"shape": "S", "location": "uri", "locationName": "Key"},
            "Limit": {"shape": "N", "location": "querystring", "locationName": "limit"},
            "Tag": {"shape": "S", "location": "header", "locationName": "x-tag"}}},
            "Out": {"type": "structure", "members": {}},
            "S": {"type": "string"}, "N": {"type": "integer", "min": 1}}})
    v = model.check_request(None, Request("GET", "/b/a/deep/key.csv", "x-id=GetObject&limit=0", {}, b""))
    assert (v.operation, v.request) == ("GetObject", ["Limit: below the minimum 1", "Tag: required header 'x-tag' missing"])
    assert model.check_request(None, Request("GET", "/b/a/key", "limit=1", {}, b"")).operation is None


def test_problems_never_carry_values_map_keys_or_odd_member_names(pinpoint_model):
    endpoint = {"ChannelType": "EMAIL", "Attributes": {SECRET_USER: [SECRET_USER, 3]}, SECRET_USER + "!": 1,
                "User": {"UserId": SECRET_USER, "UserAttributes": {SECRET_USER: SECRET_USER}}}
    req = Request("PUT", f"/v1/apps/a/endpoints/{SECRET_USER}", "", {"content-type": "application/json"},
                  json.dumps(endpoint).encode())
    v = pinpoint_model.check_request(None, req)
    assert v.request == [
        "EndpointRequest.Attributes{}[1]: a string expected (__string), found number",
        "EndpointRequest: unknown member (name not shown) (not in EndpointRequest)",
        "EndpointRequest.User.UserAttributes{}: a JSON array expected, found string"]
    assert not any(SECRET_USER in p for p in v.request)


def test_an_invalid_request_the_emulation_accepts_is_a_violation_and_one_it_refuses_is_listed():
    wire = Wire()

    def exchange(status: str, answer: dict, headers=()):
        environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/v1/apps/a/endpoints/e", "QUERY_STRING": "",
                   "CONTENT_TYPE": "application/json", "HTTP_USER_AGENT": "aws-sdk-rust/1.3 os/linux"}
        ex = wire.exchange("pinpoint", None, environ, b'{"ChannelType": "FAX"}', served_as="UpdateEndpoint",
                           prefer=PINPOINT_OPERATIONS)
        ex.start_response(lambda *a: None)(status, [("Content-Type", "application/json"), *headers])
        ex.finish([json.dumps(answer).encode()])

    exchange("202 Accepted", {"Message": "Accepted", "RequestID": "r"})
    exchange("400 Bad Request", {"Message": "m", "RequestID": "r"}, [("x-amzn-ErrorType", "BadRequestException")])
    report = wire.report()
    assert report["violations"] == [{
        "service": "pinpoint", "operation": "UpdateEndpoint", "status": 202, "side": "request",
        "problem": "EndpointRequest.ChannelType: not one of the enum values of ChannelType; "
                   "yet the emulation answered 202 (AWS rejects it)"}]
    assert report["rejected"] == [{
        "service": "pinpoint", "operation": "UpdateEndpoint", "status": 400,
        "problem": "EndpointRequest.ChannelType: not one of the enum values of ChannelType",
        "error": "BadRequestException", "client": "aws-sdk-rust"}]
    assert report["validated"] == {"pinpoint": {"UpdateEndpoint": {
        "requests": 2, "responses": 1, "errors": {"BadRequestException": 1}}}}
    wire.reset()
    assert wire.report()["violations"] == [] and wire.report("all")["violation_count"] == 1


# --- boto3 drives every served operation ---------------------------------------------------------


def expect_error(client, code: str, call, *args, **kw):
    with pytest.raises(client.exceptions.ClientError) as e:
        call(*args, **kw)
    assert e.value.response["Error"]["Code"] == code
    return e.value


def test_boto3_drives_every_personalize_operation_and_its_errors(emulation):
    emulation.control("POST", "personalize/config", {"pending_seconds": 60, "in_progress_seconds": 60})
    p = emulation.client("personalize", attempts=1)
    dsg = p.create_dataset_group(name="wire-a", domain="ECOMMERCE")
    assert dsg["domain"] == "ECOMMERCE"
    dsg = dsg["datasetGroupArn"]
    p.create_dataset_group(name="wire-b", tags=[{"tagKey": "team", "tagValue": "data"}])
    expect_error(p, "ResourceAlreadyExistsException", p.create_dataset_group, name="wire-a")
    assert p.describe_dataset_group(datasetGroupArn=dsg)["datasetGroup"]["domain"] == "ECOMMERCE"
    expect_error(p, "ResourceNotFoundException", p.describe_dataset_group, datasetGroupArn=dsg + "-none")
    first = p.list_dataset_groups(maxResults=1)
    second = p.list_dataset_groups(maxResults=1, nextToken=first["nextToken"])
    assert len(first["datasetGroups"] + second["datasetGroups"]) == 2 and "nextToken" not in second
    expect_error(p, "InvalidNextTokenException", p.list_dataset_groups, nextToken="not a token")
    # maxResults 101 is above the model's maximum (boto3 checks only minimums); ListDatasetGroups
    # models no InvalidInputException, so the common ValidationError answers.
    expect_error(p, "ValidationError", p.list_dataset_groups, maxResults=101)

    def job(name, **kw):
        return p.create_data_deletion_job(jobName=name, datasetGroupArn=dsg, roleArn=ROLE,
                                          dataSource={"dataLocation": "s3://erasure-requests/x.csv"}, **kw)

    arn = job("wire-0", tags=[{"tagKey": "erasure-request", "tagValue": "abc"}])["dataDeletionJobArn"]
    expect_error(p, "ResourceAlreadyExistsException", job, "wire-0")
    expect_error(p, "InvalidInputException", job, "-starts-with-a-dash")
    expect_error(p, "TooManyTagsException", job, "wire-tags",
                 tags=[{"tagKey": f"k{i}", "tagValue": "v"} for i in range(201)])
    expect_error(p, "ResourceNotFoundException", p.create_data_deletion_job, jobName="wire-x",
                 datasetGroupArn=dsg + "-none", roleArn=ROLE, dataSource={"dataLocation": "s3://b/x.csv"})
    for i in range(1, 5):
        job(f"wire-{i}")
    expect_error(p, "LimitExceededException", job, "wire-5")  # five PENDING in the group already
    described = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    assert described["status"] == "PENDING" and described["jobName"] == "wire-0"
    expect_error(p, "ResourceNotFoundException", p.describe_data_deletion_job, dataDeletionJobArn=arn + "-none")
    names, token = [], None
    while True:
        page = p.list_data_deletion_jobs(datasetGroupArn=dsg, maxResults=2, **({"nextToken": token} if token else {}))
        names += [j["jobName"] for j in page["dataDeletionJobs"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names == [f"wire-{i}" for i in range(4, -1, -1)]
    expect_error(p, "InvalidNextTokenException", p.list_data_deletion_jobs, nextToken="bm90LWEtbnVtYmVy")
    emulation.control("POST", "faults", {"rules": [
        {"service": "personalize", "operation": "DescribeDataDeletionJob", "error": "ThrottlingException", "times": 1},
        {"service": "personalize", "operation": "ListDataDeletionJobs", "error": "InternalFailure", "times": 1}]})
    expect_error(p, "ThrottlingException", p.describe_data_deletion_job, dataDeletionJobArn=arn)
    expect_error(p, "InternalFailure", p.list_data_deletion_jobs)

    report = emulation.control("GET", "wire")
    assert report["violations"] == []
    seen = report["validated"]["personalize"]
    assert set(seen) == set(PERSONALIZE_OPERATIONS)
    assert {code for op in seen.values() for code in op["errors"]} == {
        "ResourceAlreadyExistsException", "ResourceNotFoundException", "InvalidNextTokenException", "ValidationError",
        "InvalidInputException", "TooManyTagsException", "LimitExceededException", "ThrottlingException",
        "InternalFailure"}
    # The requests AWS's model rejects were sent on purpose, by boto3, and were refused.
    assert sorted((r["operation"], r["problem"], r["error"], r["client"]) for r in report["rejected"]) == [
        ("CreateDataDeletionJob", "jobName: does not match the pattern of Name", "InvalidInputException", "boto3"),
        ("CreateDataDeletionJob", "tags: more than 200 items", "TooManyTagsException", "boto3"),
        ("ListDatasetGroups", "maxResults: above the maximum 100", "ValidationError", "boto3")]


def test_boto3_drives_every_pinpoint_operation_and_its_errors(emulation):
    emulation.seeded.add(SECRET_USER)
    pp = emulation.client("pinpoint", attempts=1)
    app = pp.create_app(CreateApplicationRequest={"Name": "wire", "tags": {"team": "crm"}})["ApplicationResponse"]
    assert app["tags"] == {"team": "crm"}
    app = app["Id"]
    for name in ("wire-2", "wire-3"):
        pp.create_app(CreateApplicationRequest={"Name": name})
    ids, token = [], None
    while True:
        page = pp.get_apps(PageSize="2", **({"Token": token} if token else {}))["ApplicationsResponse"]
        ids += [a["Id"] for a in page["Item"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(ids) == 3 and ids[0] == app
    expect_error(pp, "BadRequestException", pp.get_apps, PageSize="zero")
    assert pp.get_app(ApplicationId=app)["ApplicationResponse"]["Name"] == "wire"
    expect_error(pp, "NotFoundException", pp.get_app, ApplicationId="no-such-app")

    def endpoint(eid: str, **request):
        request.setdefault("User", {"UserId": SECRET_USER})
        return pp.update_endpoint(ApplicationId=app, EndpointId=eid,
                                  EndpointRequest={"ChannelType": "EMAIL", "Address": f"{eid}@example.invalid",
                                                   **request})

    assert endpoint("e0", Location={"Latitude": 1.5, "Country": "SE"}, Metrics={"visits": 2.0},
                    Attributes={"interests": ["a", "b"]})["MessageBody"]["Message"] == "Accepted"
    for i in range(1, 15):
        endpoint(f"e{i}")
    expect_error(pp, "BadRequestException", endpoint, "e15")  # 15 endpoints per user at most
    expect_error(pp, "BadRequestException", endpoint, "e-fax", ChannelType="FAX")  # not a ChannelType
    got = pp.get_endpoint(ApplicationId=app, EndpointId="e0")["EndpointResponse"]
    assert got["Location"] == {"Latitude": 1.5, "Country": "SE"} and got["User"]["UserId"] == SECRET_USER
    expect_error(pp, "NotFoundException", pp.get_endpoint, ApplicationId=app, EndpointId="none")
    assert len(pp.get_user_endpoints(ApplicationId=app, UserId=SECRET_USER)["EndpointsResponse"]["Item"]) == 15
    expect_error(pp, "NotFoundException", pp.get_user_endpoints, ApplicationId=app, UserId=SECRET_USER + "-x")
    assert pp.delete_endpoint(ApplicationId=app, EndpointId="e0")["EndpointResponse"]["Id"] == "e0"
    expect_error(pp, "NotFoundException", pp.delete_endpoint, ApplicationId=app, EndpointId="e0")
    emulation.control("POST", "faults", {"rules": [
        {"service": "pinpoint", "operation": "DeleteUserEndpoints", "error": "ForbiddenException", "times": 1},
        {"service": "pinpoint", "operation": "GetApp", "error": "InternalServerErrorException", "times": 1}]})
    expect_error(pp, "ForbiddenException", pp.delete_user_endpoints, ApplicationId=app, UserId=SECRET_USER)
    expect_error(pp, "InternalServerErrorException", pp.get_app, ApplicationId=app)
    emulation.control("POST", "pinpoint/config", {"rate": 0.001, "burst": 1, "operations": ["DeleteUserEndpoints"]})
    assert len(pp.delete_user_endpoints(ApplicationId=app, UserId=SECRET_USER)["EndpointsResponse"]["Item"]) == 14
    expect_error(pp, "TooManyRequestsException", pp.delete_user_endpoints, ApplicationId=app, UserId=SECRET_USER)
    emulation.control("POST", "pinpoint/config", {"rate": None})
    expect_error(pp, "NotFoundException", pp.delete_user_endpoints, ApplicationId=app, UserId=SECRET_USER)
    assert pp.delete_app(ApplicationId=app)["ApplicationResponse"]["Id"] == app
    expect_error(pp, "NotFoundException", pp.delete_app, ApplicationId=app)

    report = emulation.control("GET", "wire")
    assert report["violations"] == []
    seen = report["validated"]["pinpoint"]
    assert set(seen) == set(PINPOINT_OPERATIONS)
    assert {code for op in seen.values() for code in op["errors"]} == {
        "BadRequestException", "NotFoundException", "ForbiddenException", "InternalServerErrorException",
        "TooManyRequestsException"}
    assert [(r["operation"], r["problem"], r["error"], r["client"]) for r in report["rejected"]] == [
        ("UpdateEndpoint", "EndpointRequest.ChannelType: not one of the enum values of ChannelType",
         "BadRequestException", "boto3")]
    assert SECRET_USER not in json.dumps(report)


def test_requests_no_sdk_would_send_are_refused_with_modelled_or_common_errors(emulation):
    """What boto3 cannot send (it serializes and checks first): malformed bodies, missing payloads."""
    def raw(path: str, method: str, body: bytes, headers: dict):
        req = urllib.request.Request(emulation.endpoint + path, data=body or None, method=method, headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{headers.pop('service')}/"
                             "aws4_request, SignedHeaders=host, Signature=0", **headers})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("x-amzn-ErrorType")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("x-amzn-ErrorType")

    target = {"service": "personalize", "Content-Type": "application/x-amz-json-1.1"}
    assert raw("/", "POST", b"{not json", {**target, "X-Amz-Target": "AmazonPersonalize.DescribeDatasetGroup"}) == (
        400, "InvalidInputException")
    assert raw("/", "POST", b"[]", {**target, "X-Amz-Target": "AmazonPersonalize.ListDatasetGroups"}) == (
        400, "ValidationError")
    assert raw("/", "POST", b'{"maxResults": "ten"}', {**target, "X-Amz-Target": "AmazonPersonalize.ListDataDeletionJobs"}) == (
        400, "InvalidInputException")
    pinpoint = {"service": "mobiletargeting", "Content-Type": "application/json"}
    app = emulation.pinpoint_app("raw")
    assert raw(f"/v1/apps/{app}/endpoints/e1", "PUT", b"", dict(pinpoint)) == (400, "BadRequestException")
    assert raw("/v1/apps", "POST", b'{"Name": "x", "tags": ["not", "a", "map"]}', dict(pinpoint)) == (
        400, "BadRequestException")
    assert raw(f"/v1/apps/{app}/users/", "GET", b"", dict(pinpoint)) == (400, "BadRequestException")
    # GetSegments is a valid request for an operation the emulation does not serve.
    assert raw(f"/v1/apps/{app}/segments", "GET", b"", dict(pinpoint)) == (405, "MethodNotAllowedException")
    report = emulation.control("GET", "wire")
    assert report["violations"] == []
    assert report["rejected_count"] == 6  # every request above but GetSegments: the model rejects them
    assert report["validated"]["pinpoint"]["GetSegments"]["errors"] == {"MethodNotAllowedException": 1}


# --- the real Rust SDK drives every served operation ---------------------------------------------

# What the driver (shared/examples/wire_driver.rs) must see, call by call.
RUST_EXPECTED = """\
Personalize.CreateDatasetGroup ok
Personalize.CreateDatasetGroup error ResourceAlreadyExistsException
Personalize.DescribeDatasetGroup ok
Personalize.DescribeDatasetGroup error ResourceNotFoundException
Personalize.CreateDatasetGroup ok
Personalize.ListDatasetGroups ok
Personalize.ListDatasetGroups ok
Personalize.CreateDataDeletionJob ok
Personalize.CreateDataDeletionJob error ResourceAlreadyExistsException
Personalize.DescribeDataDeletionJob ok
Personalize.DescribeDataDeletionJob error ResourceNotFoundException
Personalize.ListDataDeletionJobs ok
Personalize.ListDataDeletionJobs error InvalidNextTokenException
Pinpoint.CreateApp ok
Pinpoint.GetApps ok
Pinpoint.GetApp ok
Pinpoint.GetApp error NotFoundException
Pinpoint.UpdateEndpoint ok
Pinpoint.UpdateEndpoint ok
Pinpoint.GetEndpoint ok
Pinpoint.GetEndpoint error NotFoundException
Pinpoint.GetUserEndpoints ok
Pinpoint.DeleteEndpoint ok
Pinpoint.DeleteUserEndpoints ok
Pinpoint.DeleteUserEndpoints error NotFoundException
Pinpoint.DeleteApp ok
Pinpoint.DeleteApp error NotFoundException
"""


@pytest.mark.timeout(1800)  # the first run compiles the example
def test_the_rust_sdk_drives_every_served_operation_and_the_emulation_answers_it_in_the_model(emulation):
    prefix = "wire-rust"
    emulation.seeded.add(f"{prefix}-user/α β")  # the driver's user ID: the leak check looks for it
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true")
    env.pop("AWS_ENDPOINT_URL", None)
    run = subprocess.run([shutil.which("cargo") or "cargo", "run", "--quiet", "-p", "erasure-shared", "--example",
                          "wire_driver", "--", emulation.endpoint, prefix],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1700)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout == RUST_EXPECTED
    report = emulation.control("GET", "wire")
    assert report["violations"] == []
    assert report["rejected"] == []
    assert set(report["validated"]["personalize"]) == set(PERSONALIZE_OPERATIONS)
    assert set(report["validated"]["pinpoint"]) == set(PINPOINT_OPERATIONS)
