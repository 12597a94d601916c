"""Known answers of the IAM evaluator and the template resolver.

Each case is one the IAM User Guide or the Service Authorization Reference answers (cited in
tests/iam/policy.py); the end-to-end check (tests/e2e/test_iam_calls.py) trusts these, and the
emulation's call mapping they judge (tests/emulation/principals.py) is checked in
tests/emulation_tests/test_principals.py.
"""

from __future__ import annotations

import json

import pytest

from tests.emulation import ACCOUNT
from tests.iam import sar
from tests.iam.deployment import Deployment
from tests.iam.policy import Grant, Principal, Unsupported, condition_holds, decide, statements
from tests.iam.template import ResolvedTemplate

ROLE = Principal(ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/prepare")
OUTSIDER = Principal(ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/someone-else")
S3_SERVICE = Principal(ACCOUNT, service="s3.amazonaws.com")
BUCKET = "arn:aws:s3:::bucket"


def identity(*stmts) -> list:
    return statements("identity", {"Statement": list(stmts)})


def resource(*stmts) -> list:
    return statements("resource", {"Statement": list(stmts)}, resource_policy=True)


READ_ANYTHING = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
ONLY_PREPARE_READS_REQUESTS = {
    "Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
    "Resource": f"{BUCKET}/requests/*",
    "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [ROLE.arn]}, "Bool": {"aws:PrincipalIsAWSService": "false"}},
}


def ctx_of(p: Principal, **extra) -> dict:
    base = {"aws:PrincipalIsAWSService": "true" if p.service else "false"}
    if p.arn:
        base["aws:PrincipalArn"] = p.arn
    return {**base, **extra}


def test_an_explicit_deny_beats_an_allow():
    allow = identity(READ_ANYTHING)
    deny = resource({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"})
    d = decide("s3:GetObject", f"{BUCKET}/k", ctx_of(ROLE), ROLE, allow, deny)
    assert not d.allowed and d.reason == "explicit deny"
    assert decide("s3:GetObject", f"{BUCKET}/k", ctx_of(ROLE), ROLE, allow, None).allowed


def test_the_bucket_policy_refuses_an_outsiders_read_of_a_request_and_lets_the_prepare_role_read_it():
    bucket_policy = resource(ONLY_PREPARE_READS_REQUESTS)
    key = f"{BUCKET}/requests/a.csv"
    outsider = decide("s3:GetObject", key, ctx_of(OUTSIDER), OUTSIDER, identity(READ_ANYTHING), bucket_policy)
    assert not outsider.allowed and outsider.reason == "explicit deny"
    mine = decide("s3:GetObject", key, ctx_of(ROLE), ROLE, identity(READ_ANYTHING), bucket_policy)
    assert mine.allowed
    # An AWS service principal is not denied by it (aws:PrincipalIsAWSService is "true"), but it
    # is not allowed either without a statement naming it.
    svc = decide("s3:GetObject", key, ctx_of(S3_SERVICE), S3_SERVICE, [], bucket_policy)
    assert not svc.allowed and svc.reason != "explicit deny"
    # Other keys are not covered by the deny.
    assert decide("s3:GetObject", f"{BUCKET}/receipts/r.json", ctx_of(OUTSIDER), OUTSIDER,
                  identity(READ_ANYTHING), bucket_policy).allowed


def test_the_template_bucket_policy_keeps_request_files_to_the_prepare_role():
    dep = Deployment({"RequestBucketName": "erasure-requests"})
    key = "arn:aws:s3:::erasure-requests/requests/a.csv"
    prepare = Principal(ACCOUNT, arn=dep.template.arn("PrepareRequestFunctionRole"))
    finalize = Principal(ACCOUNT, arn=dep.template.arn("FinalizeErasureFunctionRole"))
    policy = dep.resource_policy_for(key)
    assert decide("s3:GetObject", key, ctx_of(prepare), prepare, dep.identity["PrepareRequestFunctionRole"],
                  policy).allowed
    # Even a role whose own policy allowed every S3 action could not read it.
    refused = decide("s3:GetObject", key, ctx_of(finalize), finalize, identity(READ_ANYTHING), policy)
    assert not refused.allowed and refused.reason == "explicit deny"


def test_string_like_on_s3_prefix_allows_listing_below_the_prefix_only():
    policy = identity({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
                       "Condition": {"StringLike": {"s3:prefix": ["work/*", "receipts/*"]}}})
    assert decide("s3:ListBucket", BUCKET, {"s3:prefix": "work/abc/x"}, ROLE, policy, None).allowed
    assert decide("s3:ListBucket", BUCKET, {"s3:prefix": "receipts/r"}, ROLE, policy, None).allowed
    assert not decide("s3:ListBucket", BUCKET, {"s3:prefix": "requests/a"}, ROLE, policy, None).allowed
    assert not decide("s3:ListBucket", BUCKET, {}, ROLE, policy, None).allowed  # no prefix: key missing


def test_pass_role_only_to_the_service_named_in_iam_passed_to_service():
    policy = identity({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/p",
                       "Condition": {"StringEquals": {"iam:PassedToService": "personalize.amazonaws.com"}}})
    role = "arn:aws:iam::123456789012:role/p"
    assert decide("iam:PassRole", role, {"iam:PassedToService": "personalize.amazonaws.com"}, ROLE, policy,
                  None).allowed
    assert not decide("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}, ROLE, policy,
                      None).allowed
    assert not decide("iam:PassRole", "arn:aws:iam::123456789012:role/other",
                      {"iam:PassedToService": "personalize.amazonaws.com"}, ROLE, policy, None).allowed


@pytest.mark.parametrize("condition,context,holds", [
    ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, False),          # missing key: false
    ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {}, True),        # negated, missing: true
    ({"ArnNotEquals": {"aws:PrincipalArn": ROLE.arn}}, {}, True),
    ({"StringEqualsIfExists": {"s3:prefix": "work/"}}, {}, True),           # IfExists, missing: true
    ({"StringEqualsIfExists": {"s3:prefix": "work/"}}, {"s3:prefix": "x"}, False),
    ({"Null": {"s3:versionid": "true"}}, {}, True),
    ({"Null": {"s3:versionid": "true"}}, {"s3:versionid": "v"}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
    ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": "false"}, True),
    ({"StringEquals": {"AWS:SourceAccount": ACCOUNT}}, {"aws:sourceaccount": ACCOUNT}, True),  # key case
    ({"ArnLike": {"aws:SourceArn": "arn:aws:personalize:us-east-1:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:personalize:us-east-1:123456789012:data-deletion-job/j"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:personalize:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:personalize:us-east-1:999999999999:data-deletion-job/j"}, False),
    ({"ForAnyValue:StringLike": {"aws:TagKeys": ["a*"]}}, {"aws:TagKeys": ["x", "ab"]}, True),
    ({"ForAllValues:StringLike": {"aws:TagKeys": ["a*"]}}, {"aws:TagKeys": ["x", "ab"]}, False),
    ({"ForAllValues:StringLike": {"aws:TagKeys": ["a*"]}}, {}, True),
    # Two keys in one operator, two operators: all must hold.
    ({"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}},
     {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}, False),
])
def test_condition_operators_and_missing_keys(condition, context, holds):
    [st] = identity({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    assert condition_holds(st.condition, context) is holds


def test_wildcards_in_actions_and_resources_and_not_action():
    policy = identity({"Effect": "Allow", "Action": "S3:Get*", "Resource": f"{BUCKET}/work/*/pinpoint/shard-?????"},
                      {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})
    assert decide("s3:GetObject", f"{BUCKET}/work/1/pinpoint/shard-00001", {}, ROLE, policy, None).allowed
    assert not decide("s3:GetObject", f"{BUCKET}/work/1/pinpoint/shard-0001", {}, ROLE, policy, None).allowed
    assert not decide("s3:PutObject", f"{BUCKET}/work/1/pinpoint/shard-00001", {}, ROLE, policy, None).allowed
    assert decide("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t", {}, ROLE, policy, None).allowed


def test_a_removed_grant_no_longer_allows_what_it_covered():
    policy = identity({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{BUCKET}/*"})
    get = Grant(policy[0], "s3:GetObject")
    assert not decide("s3:GetObject", f"{BUCKET}/k", {}, ROLE, policy, None, removed=frozenset([get])).allowed
    assert decide("s3:PutObject", f"{BUCKET}/k", {}, ROLE, policy, None, removed=frozenset([get])).allowed


def test_a_kms_key_policy_must_allow_the_principal_or_delegate_to_iam():
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    allow = identity({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})
    delegating = resource({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                           "Action": "kms:*", "Resource": key})
    only_events = resource({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "kms:Decrypt", "Resource": key})
    assert decide("kms:Decrypt", key, {}, ROLE, allow, delegating, kms_key=True).allowed
    assert not decide("kms:Decrypt", key, {}, ROLE, [], delegating, kms_key=True).allowed
    assert not decide("kms:Decrypt", key, {}, ROLE, allow, only_events, kms_key=True).allowed


def test_a_service_principal_needs_the_resource_policy_and_its_conditions():
    fn = "arn:aws:lambda:us-east-1:123456789012:function:start"
    permission = resource({"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                           "Action": "lambda:InvokeFunction", "Resource": fn,
                           "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}})
    assert decide("lambda:InvokeFunction", fn, {"aws:SourceAccount": ACCOUNT}, S3_SERVICE, [], permission).allowed
    assert not decide("lambda:InvokeFunction", fn, {"aws:SourceAccount": "999999999999"}, S3_SERVICE, [],
                      permission).allowed
    events = Principal(ACCOUNT, service="events.amazonaws.com")
    assert not decide("lambda:InvokeFunction", fn, {"aws:SourceAccount": ACCOUNT}, events, [], permission).allowed


def test_constructs_it_does_not_implement_are_refused_not_misjudged():
    with pytest.raises(Unsupported):
        identity({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:x": "1"}}})
    with pytest.raises(Unsupported):
        identity({"Effect": "Allow", "Action": "*", "Resource": [["nested"]]})
    with pytest.raises(Unsupported):
        resource({"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "*", "Resource": "*"})


# --- the template resolver -----------------------------------------------------------------------

def resolve(resources: dict, parameters: dict, params_spec: dict, conditions: dict | None = None) -> ResolvedTemplate:
    template = {"Parameters": params_spec, "Resources": resources, "Conditions": conditions or {}}
    return ResolvedTemplate(template, parameters, "stack", ACCOUNT, "us-east-1")


def test_intrinsic_functions_resolve_as_cloudformation_does():
    t = resolve({"Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                 "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Name"}}}},
                {"Name": "b", "Ids": "x,y", "Mode": "NONE"},
                {"Name": {"Type": "String"}, "Ids": {"Type": "String"}, "Mode": {"Type": "String"}},
                {"Locked": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Mode"}, "NONE"]}]}})
    assert t.value({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${!Literal}"}) == "arn:aws:s3:::b/${Literal}"
    assert t.value({"Fn::Sub": ["${A}-${Role.Arn}", {"A": {"Ref": "Name"}}]}) == \
        "b-arn:aws:iam::123456789012:role/stack-Role"
    assert t.value({"Fn::Split": [",", {"Ref": "Ids"}]}) == ["x", "y"]
    assert t.value({"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Ids"}]}]}) == "y"
    assert t.value({"Fn::Join": ["/", ["a", {"Ref": "Name"}]]}) == "a/b"
    assert t.value(["a", {"Fn::If": ["Locked", "b", {"Ref": "AWS::NoValue"}]}]) == ["a"]
    assert t.value({"Fn::GetAtt": ["Bucket", "Arn"]}) == "arn:aws:s3:::b"
    assert t.errors == []


def test_what_cloudformation_refuses_is_reported():
    t = resolve({}, {"Ids": "x,y"}, {"Ids": {"Type": "CommaDelimitedList"}})
    t.value({"Fn::Sub": "${Ids},"}, "A")
    t.value({"Fn::Split": [",", {"Ref": "Ids"}]}, "B")
    t.value({"Fn::Select": [5, {"Ref": "Ids"}]}, "C")
    t.value({"Fn::Join": [{"Ref": "AWS::Region"}, ["a"]]}, "D")
    t.policy_statements("E", {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                              "Resource": ["arn:aws:s3:::b/*", {"Ref": "Ids"}]}]})
    assert [e.split(":", 1)[0] for e in t.errors] == ["A", "B", "C", "D", "E#0"]


def test_the_transformed_template_resolves_as_cloudformation_would():
    """With two dataset groups, two applications and receipt locks on: no construct CloudFormation
    or IAM would refuse, and every action a statement names exists in the SAR."""
    dep = Deployment({
        "DatasetGroupArns": "arn:aws:personalize:us-east-1:123456789012:dataset-group/a,"
                            "arn:aws:personalize:us-east-1:123456789012:dataset-group/b",
        "PinpointApplicationIds": "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210",
        "ReceiptLockMode": "GOVERNANCE",
    })
    assert dep.template.errors == []
    missing = set()
    for sts in list(dep.identity.values()) + [s for _, s in dep.resource_policies]:
        for st in sts:
            for action in st.actions:
                if "*" not in action and "?" not in action:
                    problem = sar.problem(action, "*")
                    if problem and "no action" in problem:
                        missing.add(f"{st.label}: {problem}")
    assert not missing, sorted(missing)


def test_the_session_check_fails_on_a_call_no_grant_allows():
    """tests/conftest.py judges every session's calls: a call outside the grants fails it."""
    from tests.conftest import iam_check

    params = {"UserHashKeyParameterName": "/erasure/user-hash-key"}
    allowed = {"principal": {"type": "function", "name": "check-deletion-job"}, "service": "personalize",
               "operation": "DescribeDataDeletionJob", "status": 200,
               "checks": [{"action": "personalize:DescribeDataDeletionJob",
                           "resource": "arn:aws:personalize:us-east-1:123456789012:data-deletion-job/j",
                           "context": {}}]}
    iam_check([(params, [allowed])])
    outside = {**allowed, "checks": [{"action": "s3:GetObject", "resource": "arn:aws:s3:::erasure-requests/requests/a",
                                      "context": {}}]}
    with pytest.raises(AssertionError, match="s3:GetObject"):
        iam_check([(params, [allowed, outside])])
    unattributed = {**allowed, "principal": {"type": "unattributed", "key": "AKIAOTHER"}}
    with pytest.raises(AssertionError, match="AKIAOTHER"):
        iam_check([(params, [unattributed])])


# --- the erase function: Customer Profiles domains, Pinpoint applications, pacing leases ----------
# Calls in the shape tests/emulation/principals.py records them, judged as the session check judges
# recorded calls (tests/iam/report.py evaluate: the template's policies, the bucket policy, the SAR).

PROFILES_DOMAINS = {"CustomerProfilesDomainNames": "d1,d2", "CustomerProfilesSearchKey": "_account"}
NO_TARGETS = {"PinpointApplicationIds": "", "CustomerProfilesDomainNames": ""}
LEASE = "arn:aws:s3:::erasure-requests/work/pacing/1767225600-0123456789abcdef0123456789abcdef-00007"


def erase_call(operation: str, action: str, resource: str, **context) -> dict:
    return {"principal": {"type": "function", "name": "erase-pinpoint-endpoints"}, "service": action.split(":")[0],
            "operation": operation, "status": 200,
            "checks": [{"action": action, "resource": resource, "context": context}]}


def profile_calls(domain: str) -> list[dict]:
    arn = f"arn:aws:profile:us-east-1:{ACCOUNT}:domains/{domain}"
    return [erase_call(op, f"profile:{op}", arn) for op in ("GetDomain", "SearchProfiles", "DeleteProfile")]


def lease_calls() -> list[dict]:
    return [erase_call("PutObject", "s3:PutObject", LEASE),
            erase_call("ListObjectsV2", "s3:ListBucket", "arn:aws:s3:::erasure-requests", **{"s3:prefix": "work/pacing/"}),
            erase_call("DeleteObject", "s3:DeleteObject", LEASE)]


def judged(params: dict, calls: list[dict]):
    from tests.iam.report import evaluate

    findings = evaluate([(params, calls)])
    assert not findings.unattributed and not findings.template_errors, (findings.unattributed, findings.template_errors)
    return findings


def erase_statements(params: dict) -> list:
    return Deployment(params).identity["ErasePinpointEndpointsFunctionRole"]


def test_without_applications_or_domains_the_erase_role_names_no_application_and_no_domain():
    """An empty list splits to [""] in CloudFormation: every ARN built from it is behind a
    condition, so an empty parameter grants nothing on apps/ or domains/ (not even ".../domains/")."""
    sts = erase_statements(NO_TARGETS)
    assert not [s.label for s in sts if any(a.lower().startswith(("profile:", "mobiletargeting:")) for a in s.actions)]
    assert not [r for s in sts for r in s.resources if ":apps/" in r or ":domains/" in r or ":mobiletargeting:" in r
                or ":profile:" in r]
    refused = judged(NO_TARGETS, profile_calls("") + profile_calls("d1")).refused
    assert len(refused) == 6 and all("implicit deny" in r for r in refused), refused
    # The leases are the pacing of every erase invocation, targets or not.
    assert not judged(NO_TARGETS, lease_calls()).refused


def test_a_configured_domain_is_allowed_its_three_calls_and_no_other_domain_is():
    findings = judged(PROFILES_DOMAINS, profile_calls("d1") + profile_calls("d2"))
    assert not findings.refused and not findings.sar_problems, findings.refused + findings.sar_problems
    for other in ("d3", "d", "d1x", "d1/object-types/x", "*"):
        refused = judged(PROFILES_DOMAINS, profile_calls(other)).refused
        assert len(refused) == 3, (other, refused)
    # Only the erase function's role gets them.
    finalize = {**profile_calls("d1")[1], "principal": {"type": "function", "name": "finalize-erasure"}}
    assert judged(PROFILES_DOMAINS, [finalize]).refused
    # And only the three actions the erasure needs.
    others = [erase_call(op, f"profile:{op}", profile_calls("d1")[0]["checks"][0]["resource"])
              for op in ("DeleteDomain", "PutProfileObject", "UpdateProfile", "ListProfileObjects")]
    assert len(judged(PROFILES_DOMAINS, others).refused) == 4


def test_every_slot_of_the_largest_domain_list_is_allowed():
    """Ten domains of 64 characters (the pattern's most): each slot's condition and ARN."""
    from tests.cfn.transform import extreme_parameters

    params = extreme_parameters()
    domains = params["CustomerProfilesDomainNames"].split(",")
    findings = judged(params, [c for d in domains for c in profile_calls(d)])
    assert not findings.refused and not findings.sar_problems
    [st] = [s for s in erase_statements(params) if "profile:SearchProfiles" in s.actions]
    assert len(st.resources) == 10 and set(st.actions) == {"profile:GetDomain", "profile:SearchProfiles",
                                                            "profile:DeleteProfile"}


def test_the_pacing_leases_are_put_listed_and_deleted_under_work_pacing_only():
    findings = judged(PROFILES_DOMAINS, lease_calls())
    assert not findings.refused and not findings.sar_problems, findings.refused
    # Nowhere else: not another request's work objects, not receipts.
    elsewhere = [erase_call("DeleteObject", "s3:DeleteObject",
                            "arn:aws:s3:::erasure-requests/work/0123456789abcdef0123456789abcdef/prepared.json"),
                 erase_call("PutObject", "s3:PutObject", "arn:aws:s3:::erasure-requests/receipts/erasure-x.json"),
                 erase_call("DeleteObject", "s3:DeleteObject", "arn:aws:s3:::erasure-requests/receipts/erasure-x.json"),
                 erase_call("DeleteObjectVersion", "s3:DeleteObjectVersion", LEASE, **{"s3:versionid": "v1"})]
    assert len(judged(PROFILES_DOMAINS, elsewhere).refused) == 4


def models_call(operation: str, action: str, resource: str, **context) -> dict:
    return {**erase_call(operation, action, resource, **context),
            "principal": {"type": "function", "name": "personalize-models"}}


P = f"arn:aws:personalize:us-east-1:{ACCOUNT}"


def test_the_models_role_may_retrain_and_read_but_not_delete_or_pass_a_role():
    """The models step's calls, as the SAR authorises them: it may read what uses a dataset group,
    train a new version, move a campaign, tag the version, and keep its two S3 records; it may not
    create deletion jobs, delete models, pass a role, or read the user lists."""
    allowed = [
        models_call("ListDatasetImportJobs", "personalize:ListDatasetImportJobs", "*"),
        models_call("ListSolutionVersions", "personalize:ListSolutionVersions", "*"),
        models_call("ListBatchInferenceJobs", "personalize:ListBatchInferenceJobs", "*"),
        models_call("DescribeDatasetImportJob", "personalize:DescribeDatasetImportJob", f"{P}:dataset-import-job/nightly"),
        models_call("DescribeBatchSegmentJob", "personalize:DescribeBatchSegmentJob", f"{P}:batch-segment-job/s"),
        models_call("DescribeSolutionVersion", "personalize:DescribeSolutionVersion", f"{P}:solution/recs"),
        models_call("CreateSolutionVersion", "personalize:CreateSolutionVersion", f"{P}:solution/recs"),
        models_call("TagResource", "personalize:TagResource", "*"),
        models_call("UpdateCampaign", "personalize:UpdateCampaign", f"{P}:campaign/live"),
        models_call("PutObject", "s3:PutObject",
                    "arn:aws:s3:::erasure-requests/work/0123456789abcdef0123456789abcdef/personalize/models.json"),
        models_call("PutObject", "s3:PutObject", "arn:aws:s3:::erasure-requests/work/training/ab12.json"),
    ]
    findings = judged({}, allowed)
    assert not findings.refused and not findings.sar_problems, findings.refused + findings.sar_problems
    refused = [
        models_call("CreateDataDeletionJob", "personalize:CreateDataDeletionJob", f"{P}:data-deletion-job/x"),
        models_call("DeleteSolution", "personalize:DeleteSolution", f"{P}:solution/recs"),
        models_call("DeleteCampaign", "personalize:DeleteCampaign", f"{P}:campaign/live"),
        models_call("CreateSolutionVersion", "personalize:CreateSolutionVersion",
                    f"arn:aws:personalize:us-east-1:999999999999:solution/recs"),
        models_call("PassRole", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/anything"),
        models_call("GetObject", "s3:GetObject",
                    "arn:aws:s3:::erasure-requests/work/0123456789abcdef0123456789abcdef/personalize/part-000.csv"),
        models_call("GetObject", "s3:GetObject", "arn:aws:s3:::erasure-requests/requests/a.csv"),
        models_call("PutObject", "s3:PutObject", "arn:aws:s3:::erasure-requests/receipts/erasure-x.json"),
    ]
    assert len(judged({}, refused).refused) == len(refused)


UPLOADER = Principal(ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/privacy-officers")
ANY_S3_PUT = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}


def test_only_the_named_roles_may_order_an_erasure_when_uploaders_are_set():
    """RequestUploaderPrincipalArns: the bucket policy refuses an upload under the request prefix
    to any other principal, even one whose own policy allows every PutObject; sessions of a named
    role are matched on the role (aws:PrincipalArn), not on a raw principal string."""
    dep = Deployment({"RequestBucketName": "erasure-requests", "RequestUploaderPrincipalArns": UPLOADER.arn})
    key = "arn:aws:s3:::erasure-requests/requests/2026-12-01-ticket-42.csv"
    policy = dep.resource_policy_for(key)
    allowed = decide("s3:PutObject", key, ctx_of(UPLOADER), UPLOADER, identity(ANY_S3_PUT), policy)
    assert allowed.allowed, allowed.reason
    refused = decide("s3:PutObject", key, ctx_of(OUTSIDER), OUTSIDER, identity(ANY_S3_PUT), policy)
    assert not refused.allowed and refused.reason == "explicit deny"
    # Only the request prefix: receipts and work objects have rules of their own.
    other = "arn:aws:s3:::erasure-requests/elsewhere/a.csv"
    assert decide("s3:PutObject", other, ctx_of(OUTSIDER), OUTSIDER, identity(ANY_S3_PUT),
                  dep.resource_policy_for(other)).allowed
    # Without the parameter, uploading stays a matter of IAM (the statement is not there).
    open_dep = Deployment({"RequestBucketName": "erasure-requests"})
    assert decide("s3:PutObject", key, ctx_of(OUTSIDER), OUTSIDER, identity(ANY_S3_PUT),
                  open_dep.resource_policy_for(key)).allowed


# --- uploads by people: a role session's PutObject as tests/emulation/principals.py records it ----

UPLOADS = {"RequestBucketName": "erasure-requests"}
OFFICERS = f"arn:aws:iam::{ACCOUNT}:role/privacy-officers"
INTERNS = f"arn:aws:iam::{ACCOUNT}:role/interns"
PUT_ANY = {"Version": "2012-10-17", "Statement": [ANY_S3_PUT]}


def upload_call(role_arn: str, key: str = "requests/ticket-42.csv", session: str = "alice", policies=None,
                **extra) -> dict:
    return {"principal": {"type": "assumed-role", "arn": role_arn, "session": session,
                          "userId": f"AROAEXAMPLEEXAMPLE01:{session}",
                          "policies": [PUT_ANY] if policies is None else policies},
            "service": "s3", "operation": "PutObject", "status": 200,
            "checks": [{"action": "s3:PutObject", "resource": f"arn:aws:s3:::erasure-requests/{key}", "context": {}}],
            **extra}


def test_an_uploader_session_is_judged_as_its_role_against_the_template_bucket_policy():
    """A listed role's session may upload a request; an unlisted one, whose own policy allows
    every PutObject, is refused by OnlyTheNamedRolesOrderErasures, and only under the request
    prefix. The session-end check fails on that refusal unless the test declared it expected."""
    from tests.conftest import iam_check

    params = {**UPLOADS, "RequestUploaderPrincipalArns": OFFICERS}
    findings = judged(params, [upload_call(OFFICERS), upload_call(INTERNS, key="elsewhere/x.csv")])
    assert not findings.refused and not findings.sar_problems, findings.refused
    refused = judged(params, [upload_call(INTERNS)]).refused
    assert len(refused) == 1 and "explicit deny" in refused[0] and "OnlyTheNamedRolesOrderErasures" in refused[0]
    assert refused[0].startswith(INTERNS)
    # Without the parameter, the role's own policy decides: allowed with it, refused without.
    assert not judged(UPLOADS, [upload_call(INTERNS)]).refused
    assert "implicit deny" in judged(UPLOADS, [upload_call(INTERNS, policies=[])]).refused[0]
    # The session check: a deliberate refusal passes when refused, fails when allowed.
    with pytest.raises(AssertionError, match="OnlyTheNamedRolesOrderErasures"):
        iam_check([(params, [upload_call(INTERNS)])])
    iam_check([(params, [upload_call(INTERNS, expect="refused"), upload_call(OFFICERS)])])
    with pytest.raises(AssertionError, match="expected it refused"):
        iam_check([(params, [upload_call(OFFICERS, expect="refused")])])


def test_the_uploaders_request_context_is_the_roles_arn_and_the_sessions_unique_id():
    dep = Deployment({**UPLOADS, "RequestUploaderPrincipalArns": OFFICERS})
    [(check, principal)], problems = dep.checks([upload_call(OFFICERS, session="bob")])
    assert not problems and principal.arn == OFFICERS and check.principal == OFFICERS
    ctx = check.context_dict()
    assert ctx["aws:PrincipalArn"] == OFFICERS and ctx["aws:PrincipalType"] == "AssumedRole"
    assert ctx["aws:userid"] == "AROAEXAMPLEEXAMPLE01:bob"
    # A session ARN (arn:aws:sts::...:assumed-role/...) would not match the listed role: the
    # evaluation must not use it.
    assert "assumed-role" not in json.dumps(ctx)


def test_judge_recorded_calls_gives_one_principals_verdicts_in_order():
    from tests.iam.report import judge_recorded_calls

    class FakeStack:
        principal_batches = [({**UPLOADS, "RequestUploaderPrincipalArns": OFFICERS},
                              [upload_call(OFFICERS, key="requests/a.csv"), upload_call(INTERNS)])]
        deployed = {**UPLOADS, "RequestUploaderPrincipalArns": OFFICERS}

        def control(self, method, path):
            assert (method, path) == ("GET", "principal-calls")
            return {"calls": [upload_call(INTERNS, key="requests/b.csv", session="eve")]}

        def annotated(self, calls):
            return calls

    verdicts = judge_recorded_calls(FakeStack(), INTERNS)
    assert [(a, r, ok) for a, r, ok, _ in verdicts] == [
        ("s3:PutObject", "arn:aws:s3:::erasure-requests/requests/ticket-42.csv", False),
        ("s3:PutObject", "arn:aws:s3:::erasure-requests/requests/b.csv", False)]
    assert all("OnlyTheNamedRolesOrderErasures" in v.reason for v in verdicts)
    [mine] = judge_recorded_calls(FakeStack(), OFFICERS, operation="PutObject")
    assert mine.allowed and mine.reason == "allowed"
    assert judge_recorded_calls(FakeStack(), OFFICERS, operation="GetObject") == []


def prepare_call(operation: str, action: str, resource: str) -> dict:
    return {**erase_call(operation, action, resource), "principal": {"type": "function", "name": "prepare-request"},
            "service": action.split(":")[0]}


def test_prepare_may_read_only_the_named_uploader_roles_and_only_when_some_are_named():
    """Who ordered a request: prepare-request compares the uploader's RoleId with each named
    role's, read with iam:GetRole on those ARNs. It may not read any other role, and without named
    roles it may read none. It reads plan files as it reads requests."""
    officers = f"arn:aws:iam::{ACCOUNT}:role/privacy/privacy-officers"
    named = {"RequestUploaderPrincipalArns": officers}
    read_named = prepare_call("GetRole", "iam:GetRole", officers)
    read_plan = prepare_call("GetObject", "s3:GetObject", "arn:aws:s3:::erasure-requests/plans/a.csv")
    findings = judged(named, [read_named, read_plan])
    assert not findings.refused and not findings.sar_problems, findings.refused + findings.sar_problems
    for refused, params in [
        (prepare_call("GetRole", "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/interns"), named),
        (prepare_call("ListRoles", "iam:ListRoles", "*"), named),
        (read_named, {}),
    ]:
        findings = judged(params, [refused])
        assert len(findings.refused) == 1, (refused, params)


# --- the operator role: erasure status and erasure receipt, no user ID ------------------------------

OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/erasure-operator"
WORK = "arn:aws:s3:::erasure-requests/work/0123456789abcdef0123456789abcdef"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:erasure:erasure-0123456789abcdef0123456789abcdef"


def operator_call(operation: str, action: str, resource: str, **context) -> dict:
    return {"principal": {"type": "role", "arn": OPERATOR}, "service": action.split(":")[0],
            "operation": operation, "status": 200,
            "checks": [{"action": action, "resource": resource, "context": context}]}


ID_FREE = [f"{WORK}/pinpoint/manifest.json", f"{WORK}/pinpoint/progress/shard-00003.json",
           f"{WORK}/personalize/jobs.json", f"{WORK}/personalize/models.json",
           "arn:aws:s3:::erasure-requests/receipts/erasure-0123456789abcdef0123456789abcdef.json",
           "arn:aws:s3:::erasure-requests/receipts/open/" + "a" * 64 + ".json"]
WITH_IDS = ["arn:aws:s3:::erasure-requests/requests/ticket-42.csv", "arn:aws:s3:::erasure-requests/plans/p.csv",
            f"{WORK}/pinpoint/shard-00003.csv", f"{WORK}/personalize/part-000.csv",
            f"{WORK}/failed/pinpoint/app/shard-00003.csv",
            "arn:aws:s3:::erasure-requests/receipts/erasure-0123456789abcdef0123456789abcdef.users.txt",
            "arn:aws:s3:::erasure-requests/receipts/erasure-0123456789abcdef0123456789abcdef.failed.csv"]


def test_the_operator_role_follows_a_request_and_reads_no_object_that_holds_a_user_id():
    """`erasure status` and `erasure receipt` as the stack's OperatorRole: every call they make is
    allowed; the request files, parts, shards, failed-user lists and keyed-hash evidence are not,
    and writing is not. The bucket policy refuses those even to an operator role given s3:* later."""
    params = {"RequestBucketName": "erasure-requests"}
    allowed = [operator_call("GetObject", "s3:GetObject", r) for r in ID_FREE] + [
        operator_call("ListObjectsV2", "s3:ListBucket", "arn:aws:s3:::erasure-requests", **{"s3:prefix": "receipts/open/"}),
        operator_call("ListObjectVersions", "s3:ListBucketVersions", "arn:aws:s3:::erasure-requests"),
        operator_call("DescribeExecution", "states:DescribeExecution", EXECUTION),
        operator_call("GetExecutionHistory", "states:GetExecutionHistory", EXECUTION),
        operator_call("ListExecutions", "states:ListExecutions",
                      "arn:aws:states:us-east-1:123456789012:stateMachine:erasure"),
        operator_call("ListDataDeletionJobs", "personalize:ListDataDeletionJobs", "*"),
        operator_call("DescribeDataDeletionJob", "personalize:DescribeDataDeletionJob",
                      "arn:aws:personalize:us-east-1:123456789012:data-deletion-job/erasure-x-p000"),
    ]
    findings = judged(params, allowed)
    assert not findings.refused and not findings.sar_problems, findings.refused + findings.sar_problems
    refused = judged(params, [operator_call("GetObject", "s3:GetObject", r) for r in WITH_IDS]).refused
    assert len(refused) == len(WITH_IDS), refused
    writes = [operator_call("PutObject", "s3:PutObject", ID_FREE[1]),
              operator_call("DeleteObject", "s3:DeleteObject", ID_FREE[5]),
              operator_call("StopExecution", "states:StopExecution", EXECUTION),
              operator_call("StartExecution", "states:StartExecution",
                            "arn:aws:states:us-east-1:123456789012:stateMachine:erasure")]
    assert len(judged(params, writes).refused) == len(writes)
    # An identity policy allowing everything, attached to the role later, still reads no ID:
    # the bucket policy's explicit denies decide.
    dep = Deployment(params)
    operator = Principal(ACCOUNT, arn=dep.template.arn("OperatorRole"))
    ctx = ctx_of(operator, **{"aws:PrincipalType": "AssumedRole"})
    for r in WITH_IDS:
        d = decide("s3:GetObject", r, ctx, operator, identity(READ_ANYTHING), dep.resource_policy_for(r))
        assert not d.allowed and d.reason == "explicit deny", (r, d.reason)
    for r in ID_FREE:
        assert decide("s3:GetObject", r, ctx, operator, identity(READ_ANYTHING), dep.resource_policy_for(r)).allowed
