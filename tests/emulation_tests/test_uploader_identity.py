"""Who ordered an erasure, as the emulation shows it (principals.py, moto_glue.py): the S3 event of
an upload names its signer's IAM unique ID, IAM's GetRole answers as AWS does (the workflow
compares RoleIds), an uploader's calls are recorded as its role's with that role's policies, and
the emulated read APIs a preview uses count exactly (Pinpoint GetUserEndpoints, Customer Profiles
SearchProfiles)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulation import ACCOUNT, REGION
from tests.emulation_tests.helpers import client

BUCKET = "erasure-requests"
EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
PUT_REQUESTS = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}


def harness(emu, service, **kw):
    """A client signed with the harness's own key ("test"), which the emulation never attributes."""
    if service == "s3":
        kw.setdefault("config", Config(s3={"addressing_style": "path"}))
    import boto3

    return boto3.client(service, endpoint_url=emu.url, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test", **kw)


def notified_bucket(emu) -> None:
    arn = emu.function("echo")
    s3 = harness(emu, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix",
                                                                              "Value": "requests/"}]}}}]})


def uploader(emu, name: str, path: str = "/") -> dict:
    iam = harness(emu, "iam")
    role = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=TRUST)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="put-requests", PolicyDocument=json.dumps(PUT_REQUESTS))
    return role


def session_s3(emu, role_arn: str, session: str):
    creds = harness(emu, "sts").assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    import boto3

    return boto3.client("s3", endpoint_url=emu.url, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                        config=Config(s3={"addressing_style": "path"}))


def record(emu, n: int = 1) -> dict:
    return emu.lambdas.wait_calls("echo", n)[n - 1]["Records"][0]


# --- the S3 event's principalId and eventTime ----------------------------------------------------

def test_an_upload_by_a_role_session_names_the_roles_id_and_the_session(emu):
    notified_bucket(emu)
    role = uploader(emu, "privacy-officers", path="/team/")
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["RoleId"]), role["RoleId"]
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    session_s3(emu, role["Arn"], "alice").put_object(Bucket=BUCKET, Key="requests/a.csv", Body=b"USER_ID\nu1\n")
    rec = record(emu)
    # The RoleId GetRole answers for the role, then the session name ("AWS:AROA...:alice").
    got = harness(emu, "iam").get_role(RoleName="privacy-officers")["Role"]["RoleId"]
    assert rec["userIdentity"] == {"principalId": f"AWS:{got}:alice"}
    assert EVENT_TIME.match(rec["eventTime"]), rec["eventTime"]
    when = dt.datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    assert before <= when <= dt.datetime.now(dt.timezone.utc)
    # The event's time is the object's: S3 answers the same time (to the second) as Last-Modified.
    head = harness(emu, "s3").head_object(Bucket=BUCKET, Key="requests/a.csv")
    assert head["LastModified"].replace(microsecond=0) == when.replace(microsecond=0)
    # The rest of the event as before.
    assert rec["eventName"] == "ObjectCreated:Put" and rec["s3"]["object"]["versionId"] == head["VersionId"]


def test_two_sessions_of_one_role_differ_only_in_the_session_name(emu):
    notified_bucket(emu)
    role = uploader(emu, "privacy-officers")
    session_s3(emu, role["Arn"], "alice").put_object(Bucket=BUCKET, Key="requests/a.csv", Body=b"x")
    record(emu, 1)
    session_s3(emu, role["Arn"], "bob@example.com").put_object(Bucket=BUCKET, Key="requests/b.csv", Body=b"x")
    ids = {c["Records"][0]["userIdentity"]["principalId"] for c in emu.lambdas.wait_calls("echo", 2)}
    assert ids == {f"AWS:{role['RoleId']}:alice", f"AWS:{role['RoleId']}:bob@example.com"}


def test_a_multipart_upload_names_the_signer_of_its_completion(emu):
    notified_bucket(emu)
    role = uploader(emu, "privacy-officers")
    s3 = session_s3(emu, role["Arn"], "carol")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="requests/big.csv")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key="requests/big.csv", UploadId=up, PartNumber=1, Body=b"USER_ID\nu\n")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="requests/big.csv", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    rec = record(emu)
    # One event, as on AWS (moto also sent an ObjectCreated:Put for the object it stored).
    time.sleep(0.5)
    assert len(emu.lambdas.calls["echo"]) == 1
    assert rec["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert rec["userIdentity"]["principalId"] == f"AWS:{role['RoleId']}:carol"
    assert EVENT_TIME.match(rec["eventTime"])


def test_an_upload_by_an_iam_user_names_the_users_id(emu):
    notified_bucket(emu)
    iam = harness(emu, "iam")
    user = iam.create_user(UserName="dpo")["User"]
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user["UserId"]), user["UserId"]  # as AWS shapes user IDs
    key = iam.create_access_key(UserName="dpo")["AccessKey"]
    import boto3

    s3 = boto3.client("s3", endpoint_url=emu.url, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"], config=Config(s3={"addressing_style": "path"}))
    s3.put_object(Bucket=BUCKET, Key="requests/u.csv", Body=b"x")
    assert record(emu)["userIdentity"] == {"principalId": f"AWS:{user['UserId']}"}


@pytest.mark.parametrize("key", ["test", "AKIDTEST"])
def test_the_harness_key_and_other_keys_stand_for_the_emulator(emu, key):
    notified_bucket(emu)
    import boto3

    s3 = boto3.client("s3", endpoint_url=emu.url, region_name=REGION, aws_access_key_id=key,
                      aws_secret_access_key="x", config=Config(s3={"addressing_style": "path"}))
    s3.put_object(Bucket=BUCKET, Key="requests/h.csv", Body=b"x")
    rec = record(emu)
    assert rec["userIdentity"] == {"principalId": "AWS:EMULATOR"}
    assert EVENT_TIME.match(rec["eventTime"])


# --- IAM GetRole, as the workflow calls it ------------------------------------------------------

def test_get_role_answers_the_role_id_and_arn_with_its_path(emu):
    role = uploader(emu, "privacy-officers", path="/team/")
    fn = client("iam", emu.url)  # any signed key: moto answers every caller
    got = fn.get_role(RoleName="privacy-officers")["Role"]
    assert got["RoleId"] == role["RoleId"] and got["RoleId"].startswith("AROA")
    assert got["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/team/privacy-officers"
    assert got["Path"] == "/team/" and got["RoleName"] == "privacy-officers"


def test_get_role_of_a_missing_role_is_no_such_entity_404(emu):
    with pytest.raises(ClientError) as e:
        client("iam", emu.url).get_role(RoleName="nobody")
    err = e.value.response
    # IAM's model: NoSuchEntityException, awsQuery code NoSuchEntity, HTTP 404 (API_GetRole, Errors).
    assert err["Error"]["Code"] == "NoSuchEntity" and err["Error"].get("Type") == "Sender"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "nobody" in err["Error"]["Message"]


def test_a_functions_get_role_is_recorded_as_iam_get_role_on_the_role_arn_with_its_path(emu):
    import boto3

    uploader(emu, "privacy-officers", path="/team/")
    fn = boto3.client("iam", endpoint_url=emu.url, region_name=REGION,
                      aws_access_key_id="emulation-function-prepare-request", aws_secret_access_key="x")
    fn.get_role(RoleName="privacy-officers")
    with pytest.raises(ClientError):
        fn.get_role(RoleName="nobody")
    calls = [c for c in emu.ctl("GET", "principal-calls")["calls"] if c["service"] == "iam"]
    assert [(c["principal"], c["operation"], c["status"], [(k["action"], k["resource"]) for k in c["checks"]])
            for c in calls] == [
        ({"type": "function", "name": "prepare-request"}, "GetRole", 200,
         [("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/team/privacy-officers")]),
        ({"type": "function", "name": "prepare-request"}, "GetRole", 404,
         [("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/nobody")]),
    ]
    # As the Service Authorization Reference has it (role: arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}).
    from tests.iam import sar

    assert not [sar.problem(k["action"], k["resource"]) for c in calls for k in c["checks"]
                if sar.problem(k["action"], k["resource"])]
    # The harness's CreateRole, PutRolePolicy and AssumeRole (key "test") are not recorded.
    assert not [c for c in emu.ctl("GET", "principal-calls")["calls"] if c["principal"].get("type") != "function"]


def test_an_uploaders_put_is_recorded_as_its_roles_session_with_the_roles_policies(emu):
    notified_bucket(emu)
    role = uploader(emu, "privacy-officers")
    session_s3(emu, role["Arn"], "alice").put_object(Bucket=BUCKET, Key="requests/a.csv", Body=b"x")
    puts = [c for c in emu.ctl("GET", "principal-calls")["calls"] if c["operation"] == "PutObject"]
    assert len(puts) == 1
    assert puts[0]["principal"] == {"type": "assumed-role", "arn": role["Arn"], "session": "alice",
                                    "userId": f"{role['RoleId']}:alice", "policies": [PUT_REQUESTS]}
    assert [(k["action"], k["resource"]) for k in puts[0]["checks"]] == [
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/requests/a.csv")]


# --- the read APIs a preview calls: exact counts ---------------------------------------------------

def test_get_user_endpoints_answers_every_endpoint_of_a_user_and_not_found_for_an_absent_one(emu):
    app = emu.ctl("POST", "pinpoint/apps", {"name": "a"})["Id"]
    emu.ctl("POST", "pinpoint/endpoints", {"applicationId": app, "users": {"many-1": 15, "one-1": 1, "other": 3}})
    pp = client("pinpoint", emu.url, config=Config(retries={"total_max_attempts": 1}))
    many = pp.get_user_endpoints(ApplicationId=app, UserId="many-1")["EndpointsResponse"]["Item"]
    assert len(many) == 15 and {e["User"]["UserId"] for e in many} == {"many-1"}
    assert len({e["Id"] for e in many}) == 15
    assert len(pp.get_user_endpoints(ApplicationId=app, UserId="one-1")["EndpointsResponse"]["Item"]) == 1
    for absent in ("nobody", "many"):  # a prefix of a user is no user
        with pytest.raises(ClientError) as e:
            pp.get_user_endpoints(ApplicationId=app, UserId=absent)
        assert e.value.response["Error"]["Code"] == "NotFoundException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Reading changes nothing; after a deletion the user is absent.
    assert len(emu.ctl("GET", f"pinpoint/endpoints?applicationId={app}")["users"]["many-1"]) == 15
    pp.delete_user_endpoints(ApplicationId=app, UserId="one-1")
    with pytest.raises(ClientError) as e:
        pp.get_user_endpoints(ApplicationId=app, UserId="one-1")
    assert e.value.response["Error"]["Code"] == "NotFoundException"


def test_search_profiles_counts_every_profile_of_a_user_across_pages_and_none_for_an_absent_one(emu):
    emu.ctl("POST", "customer-profiles/domains", {"name": "d"})
    emu.ctl("POST", "customer-profiles/profiles", {"domainName": "d", "profiles": [
        {"key": "_account", "value": "many-1", "count": 23}, {"key": "_account", "value": "one-1"},
        {"key": "_account", "value": "many-10", "count": 2}]})
    cp = client("customer-profiles", emu.url, config=Config(retries={"total_max_attempts": 1}))

    def found(value: str, page: int | None = None) -> tuple[list[str], int]:
        ids, pages, token = [], 0, None
        while True:
            kw = {"NextToken": token} if token else {}
            if page:
                kw["MaxResults"] = page
            out = cp.search_profiles(DomainName="d", KeyName="_account", Values=[value], **kw)
            ids += [p["ProfileId"] for p in out["Items"]]
            pages += 1
            token = out.get("NextToken")
            if not token:
                return ids, pages

    ids, pages = found("many-1")
    assert len(ids) == 23 and len(set(ids)) == 23 and pages == 2  # 20 a page by default
    assert found("many-1", page=5) == (ids, 5)
    assert len(found("one-1")[0]) == 1 and len(found("many-10")[0]) == 2
    assert found("nobody") == ([], 1)
    assert found("many") == ([], 1)  # exact match only


# --- the harness's uploader helpers, against this emulation ------------------------------------

def test_harness_upload_as_is_judged_by_the_deployed_bucket_policy(emu, tmp_path):
    """Stack.create_uploader_role / upload_as record what tests/iam judges: a listed role's upload
    allowed, an unlisted one's refused by OnlyTheNamedRolesOrderErasures (moto stores both), and a
    refusal the test declared is marked so for the session check."""
    from tests.harness import AppConfig, Stack, parameters
    from tests.iam.report import evaluate, judge_recorded_calls

    stack = Stack(log_dir=tmp_path)
    stack.endpoint = emu.url  # this emulation; no functions are needed
    notified_bucket(emu)
    listed = stack.create_uploader_role("privacy-officers")
    outsider = stack.create_uploader_role("interns")
    assert listed == f"arn:aws:iam::{ACCOUNT}:role/privacy-officers"
    stack.deployed = parameters(AppConfig(dataset_group_arns=[], application_ids=[],
                                          request_uploader_principal_arns=[listed]))
    ok = stack.upload_as(listed, "alice", "requests/ok.csv", b"USER_ID\nuploader-test-1\n")
    assert ok["VersionId"]
    refused = stack.upload_as(outsider, "mallory", "requests/no.csv", b"USER_ID\nuploader-test-2\n",
                              expect_refused=True)
    assert refused["VersionId"]  # moto does not enforce the bucket policy
    assert {c["Records"][0]["userIdentity"]["principalId"] for c in emu.lambdas.wait_calls("echo", 2)} == {
        f"AWS:{stack.role_id(listed)}:alice", f"AWS:{stack.role_id(outsider)}:mallory"}

    [(action, resource, allowed, reason)] = judge_recorded_calls(stack, listed)
    assert (action, resource, allowed) == ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/requests/ok.csv", True)
    [denied] = judge_recorded_calls(stack, outsider, operation="PutObject")
    assert not denied.allowed and "explicit deny" in denied.reason
    assert "OnlyTheNamedRolesOrderErasures" in denied.reason
    # The session check's view: the declared refusal is no problem, nothing else is refused.
    # (The echo function and its S3 notification are no template principals: left out.)
    stack.keep_principal_calls()
    batches = [(params, [c for c in calls if c["principal"]["type"] == "assumed-role"])
               for params, calls in stack.principal_batches]
    assert sum(len(calls) for _, calls in batches) == 2
    findings = evaluate(batches)
    assert not findings.refused and not findings.unexpectedly_allowed and not findings.unattributed, (
        findings.refused, findings.unexpectedly_allowed, findings.unattributed)
    # Had the test not declared it, the refusal would fail the session.
    undeclared = [(params, [{k: v for k, v in c.items() if k != "expect"} for c in calls])
                  for params, calls in batches]
    assert any("OnlyTheNamedRolesOrderErasures" in r for r in evaluate(undeclared).refused)
