"""The emulation's record of who made each AWS call and what IAM must allow for it (principals.py):
each S3, Pinpoint, Customer Profiles, Personalize, Step Functions and Lambda operation maps to the
actions, resources and condition keys the Service Authorization Reference names (tests/iam/sar.py
checks the pairs), and the signer is read from the access key.
"""

from __future__ import annotations

import io
import json

import pytest

from tests.emulation import principals
from tests.iam import sar


def environ(method: str, path: str, query: str = "", body: bytes = b"", service: str = "s3",
            headers: dict | None = None, target: str = "") -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "RAW_URI": path + (f"?{query}" if query else ""),
           "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
           "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=emulation-function-x/20260101/us-east-1/{service}/"
                                 "aws4_request, SignedHeaders=host, Signature=0"}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    return env


def actions(env: dict) -> list[tuple[str, str]]:
    _, _, checks = principals.describe(env)
    return [(c["action"], c["resource"]) for c in checks]


OBJ = "arn:aws:s3:::b/work/1/x"


@pytest.mark.parametrize("env,expected", [
    (environ("GET", "/b/work/1/x"), [("s3:GetObject", OBJ)]),
    (environ("GET", "/b/work/1/x", "versionId=v1"), [("s3:GetObjectVersion", OBJ)]),
    (environ("HEAD", "/b/work/1/x"), [("s3:GetObject", OBJ)]),
    (environ("PUT", "/b/work/1/x"), [("s3:PutObject", OBJ)]),
    (environ("POST", "/b/work/1/x", "uploads="), [("s3:PutObject", OBJ)]),
    (environ("PUT", "/b/work/1/x", "partNumber=1&uploadId=u"), [("s3:PutObject", OBJ)]),
    (environ("POST", "/b/work/1/x", "uploadId=u"), [("s3:PutObject", OBJ)]),
    (environ("DELETE", "/b/work/1/x", "uploadId=u"), [("s3:AbortMultipartUpload", OBJ)]),
    (environ("DELETE", "/b/work/1/x"), [("s3:DeleteObject", OBJ)]),
    (environ("DELETE", "/b/work/1/x", "versionId=v1"), [("s3:DeleteObjectVersion", OBJ)]),
    (environ("GET", "/b", "versions=&prefix=work/1/"), [("s3:ListBucketVersions", "arn:aws:s3:::b")]),
    (environ("GET", "/b", "list-type=2&prefix=work/"), [("s3:ListBucket", "arn:aws:s3:::b")]),
    (environ("PUT", "/b/receipts/r.json", headers={"x-amz-object-lock-mode": "GOVERNANCE",
                                                   "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"}),
     [("s3:PutObject", "arn:aws:s3:::b/receipts/r.json"), ("s3:PutObjectRetention", "arn:aws:s3:::b/receipts/r.json")]),
    (environ("PUT", "/b/receipts/r.json", "retention=",
             body=b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>"
                  b"</Retention>"),
     [("s3:PutObjectRetention", "arn:aws:s3:::b/receipts/r.json")]),
    (environ("POST", "/b", "delete=", body=b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>'
             b'work/1/a</Key></Object><Object><Key>work/1/b</Key><VersionId>v2</VersionId></Object></Delete>'),
     [("s3:DeleteObject", "arn:aws:s3:::b/work/1/a"), ("s3:DeleteObjectVersion", "arn:aws:s3:::b/work/1/b")]),
    (environ("DELETE", "/v1/apps/app1/users/someone%40example.com", service="mobiletargeting"),
     [("mobiletargeting:DeleteUserEndpoints",
       "arn:aws:mobiletargeting:us-east-1:123456789012:apps/app1/users/USER_PLACEHOLDER")]),
    (environ("GET", "/v1/apps/app1", service="mobiletargeting"),
     [("mobiletargeting:GetApp", "arn:aws:mobiletargeting:us-east-1:123456789012:apps/app1")]),
    (environ("POST", "/", service="personalize", target="AmazonPersonalize.CreateDataDeletionJob",
             body=b'{"jobName":"j","datasetGroupArn":"arn:aws:personalize:us-east-1:123456789012:dataset-group/g",'
                  b'"roleArn":"arn:aws:iam::123456789012:role/p","tags":[{"tagKey":"a","tagValue":"b"}]}'),
     [("personalize:CreateDataDeletionJob", "arn:aws:personalize:us-east-1:123456789012:data-deletion-job/j"),
      ("iam:PassRole", "arn:aws:iam::123456789012:role/p"), ("personalize:TagResource", "*")]),
    (environ("POST", "/", service="states", target="AWSStepFunctions.StartExecution",
             body=b'{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:s"}'),
     [("states:StartExecution", "arn:aws:states:us-east-1:123456789012:stateMachine:s")]),
    (environ("POST", "/domains/crm/profiles/search", "max-results=100", service="profile",
             body=b'{"KeyName":"_account","Values":["someone"]}'),
     [("profile:SearchProfiles", "arn:aws:profile:us-east-1:123456789012:domains/crm")]),
    (environ("POST", "/domains/crm/profiles/delete", service="profile", body=b'{"ProfileId":"' + b"a" * 32 + b'"}'),
     [("profile:DeleteProfile", "arn:aws:profile:us-east-1:123456789012:domains/crm")]),
    (environ("POST", "/domains/crm", service="profile", body=b'{"DefaultExpirationDays":1,"Tags":{"team":"x"}}'),
     [("profile:CreateDomain", "arn:aws:profile:us-east-1:123456789012:domains/crm"),
      ("profile:TagResource", "arn:aws:profile:us-east-1:123456789012:domains/crm")]),
    (environ("GET", "/domains", service="profile"), [("profile:ListDomains", "*")]),
    (environ("POST", "/2015-03-31/functions/prepare-request/invocations", service="lambda"),
     [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:prepare-request")]),
])
def test_each_operation_maps_to_the_actions_the_sar_names(env, expected):
    got = actions(env)
    assert got == expected
    for action, resource_arn in got:
        assert sar.problem(action, resource_arn) is None


def test_a_not_found_read_needs_list_bucket_as_well():
    _, _, checks = principals.describe(environ("GET", "/b/work/1/progress/shard-1.json"))
    assert principals.s3_not_found("s3", "GetObject", checks, 200) == checks
    [read, implied] = principals.s3_not_found("s3", "GetObject", checks, 404)
    assert (implied["action"], implied["resource"], implied["context"]) == (
        "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "work/1/progress/shard-1.json"})


def test_an_unknown_operation_is_recorded_as_unmapped_so_the_check_refuses_it():
    assert actions(environ("PUT", "/b/work/1/x", "acl=")) == [("unmapped", OBJ)]
    assert actions(environ("POST", "/", service="sqs", target="AmazonSQS.SendMessage")) == [("unmapped", "*")]


def test_who_signed_is_read_from_the_access_key():
    r = principals.Recorder()
    assert r.principal_of("test") is None
    assert r.principal_of("emulation-function-prepare-request") == {"type": "function", "name": "prepare-request"}
    key = r.key_for_role("arn:aws:iam::123456789012:role/sm")
    assert r.principal_of(key) == {"type": "role", "arn": "arn:aws:iam::123456789012:role/sm"}
    assert r.principal_of("AKIAOTHER")["type"] == "unattributed"


PZ = "arn:aws:personalize:us-east-1:123456789012"


@pytest.mark.parametrize("op,body,expected", [
    ("CreateSolutionVersion", {"solutionArn": f"{PZ}:solution/s", "tags": [{"tagKey": "a", "tagValue": "b"}]},
     [("personalize:CreateSolutionVersion", f"{PZ}:solution/s"), ("personalize:TagResource", "*")]),
    ("DescribeSolutionVersion", {"solutionVersionArn": f"{PZ}:solution/s/0a1b2c3d"},
     [("personalize:DescribeSolutionVersion", f"{PZ}:solution/s/0a1b2c3d")]),
    ("UpdateCampaign", {"campaignArn": f"{PZ}:campaign/c", "solutionVersionArn": f"{PZ}:solution/s/0a1b2c3d"},
     [("personalize:UpdateCampaign", f"{PZ}:campaign/c")]),
    ("DescribeDataset", {"datasetArn": f"{PZ}:dataset/g/INTERACTIONS"},
     [("personalize:DescribeDataset", f"{PZ}:dataset/g/INTERACTIONS")]),
    ("DescribeDatasetImportJob", {"datasetImportJobArn": f"{PZ}:dataset-import-job/i"},
     [("personalize:DescribeDatasetImportJob", f"{PZ}:dataset-import-job/i")]),
    ("DescribeDatasetExportJob", {"datasetExportJobArn": f"{PZ}:dataset-export-job/e"},
     [("personalize:DescribeDatasetExportJob", f"{PZ}:dataset-export-job/e")]),
    ("DescribeSolution", {"solutionArn": f"{PZ}:solution/s"}, [("personalize:DescribeSolution", f"{PZ}:solution/s")]),
    ("DescribeCampaign", {"campaignArn": f"{PZ}:campaign/c"}, [("personalize:DescribeCampaign", f"{PZ}:campaign/c")]),
    ("DescribeRecommender", {"recommenderArn": f"{PZ}:recommender/r"},
     [("personalize:DescribeRecommender", f"{PZ}:recommender/r")]),
    ("DescribeBatchInferenceJob", {"batchInferenceJobArn": f"{PZ}:batch-inference-job/b"},
     [("personalize:DescribeBatchInferenceJob", f"{PZ}:batch-inference-job/b")]),
    ("DescribeBatchSegmentJob", {"batchSegmentJobArn": f"{PZ}:batch-segment-job/b"},
     [("personalize:DescribeBatchSegmentJob", f"{PZ}:batch-segment-job/b")]),
    ("DescribeEventTracker", {"eventTrackerArn": f"{PZ}:event-tracker/0a1b2c3d"},
     [("personalize:DescribeEventTracker", f"{PZ}:event-tracker/0a1b2c3d")]),
] + [(op, {}, [(f"personalize:{op}", "*")]) for op in (
    "ListDatasets", "ListDatasetImportJobs", "ListDatasetExportJobs", "ListSolutions", "ListSolutionVersions",
    "ListCampaigns", "ListRecommenders", "ListBatchInferenceJobs", "ListBatchSegmentJobs", "ListEventTrackers",
    "TagResource", "UntagResource", "ListTagsForResource")])
def test_personalize_model_operations_map_to_the_actions_the_sar_names(op, body, expected):
    got = actions(environ("POST", "/", service="personalize", target=f"AmazonPersonalize.{op}",
                          body=json.dumps(body).encode()))
    assert got == expected
    for action, resource_arn in got:
        assert sar.problem(action, resource_arn) is None
