"""Every worst case the template's parameter ranges allow stays inside AWS's hard limits
(tests/limits.py computes them from the ASL, template.yaml and shared/src/limits.rs), and
docs/LIMITS.md quotes the figures as they are today."""

from __future__ import annotations

import re

import pytest

from tests import limits
from tests.cfn.transform import SAMPLE_PARAMETERS, extreme_parameters

DOC = limits.ROOT / "docs" / "LIMITS.md"


def test_every_worst_case_holds():
    broken = [r for r in limits.rows() if not r.ok]
    assert not broken, "\n".join(f"{r.what}: {r.worst} > {r.limit}" for r in broken)


def test_the_document_quotes_the_figures_of_today():
    table = limits.render()
    assert table in DOC.read_text(), (
        "docs/LIMITS.md is stale: paste the output of `python -m tests.limits` into it:\n" + table)


def test_every_number_the_workflow_sizes_by_is_bounded_both_ways():
    """A Number parameter without MinValue and MaxValue would let a deployment past the bounds
    the figures above are computed from."""
    params = limits.template()["Parameters"]
    unbounded = [n for n, p in params.items() if p["Type"] == "Number"
                 and not ("MinValue" in p and "MaxValue" in p)]
    assert not unbounded, unbounded
    for name, p in params.items():
        if p["Type"] == "Number" and "Default" in p:
            assert p["MinValue"] <= float(p["Default"]) <= p["MaxValue"], name


def test_the_sample_and_extreme_values_are_ones_the_template_accepts():
    """The values the transformed template is linted with (make lint) must be ones CloudFormation
    would accept: each matches its parameter's AllowedPattern and MaxLength."""
    params = limits.template()["Parameters"]
    for values in (SAMPLE_PARAMETERS, extreme_parameters()):
        for name, value in values.items():
            spec = params[name]
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), (name, value[:80])
            if "MaxLength" in spec:
                assert len(value) <= int(spec["MaxLength"]), name
            if "AllowedValues" in spec:
                assert value in spec["AllowedValues"], name
    # The extremes are extreme: the longest lists the patterns let through, of the longest items.
    extremes = extreme_parameters()
    lists = ("DatasetGroupArns", "PinpointApplicationIds", "CustomerProfilesDomainNames",
             "RequestUploaderPrincipalArns")
    for name in lists:
        assert extremes[name].count(",") == 9, name
        eleven = extremes[name] + "," + extremes[name].split(",")[0]
        assert not re.fullmatch(params[name]["AllowedPattern"], eleven), f"{name} accepts 11 items"
    for name in ("PinpointApplicationIds", "CustomerProfilesDomainNames"):
        assert {len(item) for item in extremes[name].split(",")} == {64}, name
        longer = extremes[name].split(",")[0] + "a"
        assert not re.fullmatch(params[name]["AllowedPattern"], longer), f"{name} accepts 65 characters"
    assert len(extremes["CustomerProfilesSearchKey"]) == 64
    assert not re.fullmatch(params["CustomerProfilesSearchKey"]["AllowedPattern"], "k" * 65)


def test_customer_profiles_names_have_the_apis_form():
    """DomainName and KeyName are 1 to 64 of [a-zA-Z0-9_-] (Customer Profiles API Reference,
    GetDomain, SearchProfiles): nothing else can reach the ARNs and calls built from them."""
    params = limits.template()["Parameters"]
    domains, key = params["CustomerProfilesDomainNames"], params["CustomerProfilesSearchKey"]
    assert domains["Default"] == "" and key["Default"] == ""
    for ok in ("", "d1", "my-domain_2", "a,b,c", ",".join(f"d{i}" for i in range(10))):
        assert re.fullmatch(domains["AllowedPattern"], ok), ok
    for bad in ("a,", ",a", "a,,b", "a b", "a/b", "a*", "d?", "a.b", "a, b", ",".join(f"d{i}" for i in range(11))):
        assert not re.fullmatch(domains["AllowedPattern"], bad), bad
    for ok in ("", "_account", "_email", "custom-key_1"):
        assert re.fullmatch(key["AllowedPattern"], ok), ok
    for bad in ("a,b", "a b", "a*", "_account "):
        assert not re.fullmatch(key["AllowedPattern"], bad), bad


@pytest.mark.parametrize("domains,key,accepted", [
    ("", "", True),                 # no domains: no key needed
    ("", "_account", True),
    ("d1", "_account", True),
    ("d1,d2", "custom_user_id", True),
    ("d1", "", False),              # a domain without its search key: refused at the parameters
    ("d1,d2", "", False),
])
def test_a_profiles_domain_needs_a_search_key(domains, key, accepted):
    """The template's rule, evaluated as CloudFormation evaluates a rule's Assert (its functions
    are the Conditions' own: Fn::Or, Fn::Equals, Fn::Not)."""
    from tests.emulation import ACCOUNT, REGION
    from tests.iam.template import ResolvedTemplate

    source = limits.template()
    [assertion] = source["Rules"]["ProfilesSearchKeyWithDomains"]["Assertions"]
    assert assertion["AssertDescription"]
    t = ResolvedTemplate({"Parameters": source["Parameters"], "Resources": {}, "Conditions": {"Assert": assertion["Assert"]}},
                         {"CustomerProfilesDomainNames": domains, "CustomerProfilesSearchKey": key,
                          "RequestBucketName": "b", "DatasetGroupArns": "x", "UserHashKeyParameterName": "/k"},
                         "stack", ACCOUNT, REGION)
    assert t.condition("Assert") is accepted


def test_a_request_prefix_that_could_widen_a_policy_or_be_the_workflows_own_is_refused():
    spec = limits.template()["Parameters"]["RequestPrefix"]
    for ok in ("requests/", "erasure-requests/", "in.box_1/"):
        assert re.fullmatch(spec["AllowedPattern"], ok), ok
    for bad in ("requests/*", "req?/", "a/b/", "requests", "/requests/", "", "*/"):
        assert not re.fullmatch(spec["AllowedPattern"], bad), bad
    rule = limits.template()["Rules"]["RequestPrefixIsNotTheWorkflows"]["Assertions"][0]["Assert"]
    assert rule == {"Fn::Not": [{"Fn::Contains": [["work/", "receipts/"], {"Ref": "RequestPrefix"}]}]}


def test_the_template_and_the_code_default_to_the_same_values():
    """A setting has one default, in shared/src/limits.rs; the template's parameter that sets it
    (and the function's fallback when the variable is absent) must say the same, so `sam deploy`
    with defaults and `cargo lambda invoke` without an environment behave alike."""
    defaults = {
        "MaxRequestBytes": "DEFAULT_MAX_REQUEST_BYTES",
        "MaxRequestUsers": "DEFAULT_MAX_REQUEST_USERS",
        "MaxPartBytes": "DEFAULT_MAX_PART_BYTES",
        "ShardUsers": "DEFAULT_SHARD_USERS",
        "PinpointShardConcurrency": "DEFAULT_SHARD_CONCURRENCY",
        "PollIntervalSeconds": "DEFAULT_POLL_SECONDS",
        "MaxJobWaitSeconds": "DEFAULT_MAX_JOB_WAIT_SECONDS",
        "PinpointRequestsPerSecond": "DEFAULT_PINPOINT_REQUESTS_PER_SECOND",
        "CustomerProfilesSearchRequestsPerSecond": "DEFAULT_PROFILES_SEARCH_REQUESTS_PER_SECOND",
        "CustomerProfilesDeleteRequestsPerSecond": "DEFAULT_PROFILES_DELETE_REQUESTS_PER_SECOND",
        "PacingHeadroom": "DEFAULT_PACING_HEADROOM",
        "ReceiptLockDays": "DEFAULT_RECEIPT_LOCK_DAYS",
        "QuiesceMaxWaitSeconds": "DEFAULT_QUIESCE_MAX_WAIT_SECONDS",
        "ModelPollSeconds": "DEFAULT_MODEL_POLL_SECONDS",
        "MaxModelWaitSeconds": "DEFAULT_MAX_MODEL_WAIT_SECONDS",
    }
    consts = {name: float(value.replace("_", "")) for name, value in
              re.findall(r"pub const (\w+): \w+ = ([0-9_.]+);", limits.LIMITS_RS.read_text())}
    params = limits.template()["Parameters"]
    differ = {p: (params[p]["Default"], consts.get(c)) for p, c in defaults.items()
              if consts.get(c) != float(params[p]["Default"])}
    assert not differ, differ
    erase = limits.template()["Resources"]["ErasePinpointEndpointsFunction"]["Properties"]
    timeout = erase.get("Timeout") or limits.template()["Globals"]["Function"]["Timeout"]
    assert float(timeout) == consts["DEFAULT_FUNCTION_TIMEOUT_SECONDS"]
