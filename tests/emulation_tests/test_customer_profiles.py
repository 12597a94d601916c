"""Amazon Connect Customer Profiles as the emulation serves it (customer_profiles.py), driven with
boto3's `customer-profiles` client like the real service: searches across pages, deletes, the
errors' wire shape, throttling per API, faults, re-creation after a delete, the wire checks and
the IAM actions recorded for each call."""

from __future__ import annotations

import json
import time

import pytest

from tests.emulation import ACCOUNT
from tests.emulation.customer_profiles import OPERATIONS, route
from tests.emulation.wire import ServiceModel
from tests.emulation_tests.helpers import NO_RETRY, http
from tests.iam import sar

USER = "cp-user-5d2e81"  # a user ID: must never reach the emulation's log or the wire report
OTHER = "cp-other-9a41c7"
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/profile/aws4_request, "
        "SignedHeaders=host, Signature=0")


@pytest.fixture
def cp(emu):
    return emu.client("customer-profiles", config=NO_RETRY)


def domain(emu, name="crm") -> str:
    emu.ctl("POST", "customer-profiles/domains", {"name": name})
    return name


def seed(emu, name, *profiles) -> list[str]:
    return emu.ctl("POST", "customer-profiles/profiles", {"domainName": name, "profiles": list(profiles)})["profileIds"]


def left(emu, name) -> dict[str, dict]:
    profiles = emu.ctl("GET", f"customer-profiles/profiles?domainName={name}")["profiles"]
    return {p["profileId"]: p["keys"] for p in profiles}


def search_all(cp, name, key, values, **kw) -> tuple[list[str], int]:
    """Every ProfileId a search finds, following NextToken; and the number of pages."""
    ids, token, pages = [], None, 0
    while True:
        page = cp.search_profiles(DomainName=name, KeyName=key, Values=values, **kw,
                                  **({"NextToken": token} if token else {}))
        pages += 1
        ids += [p["ProfileId"] for p in page["Items"]]
        token = page.get("NextToken")
        if not token:
            return ids, pages


def raw(emu, method, path, body=None):
    status, headers, out = http(method, f"{emu.url}{path}", body, headers={
        "Authorization": AUTH, "Content-Type": "application/json"})
    return status, headers.get("x-amzn-ErrorType"), out


def test_search_finds_every_profile_of_a_value_across_pages_then_delete_removes_them(emu, cp):
    made = cp.create_domain(DomainName="crm", DefaultExpirationDays=365, Tags={"team": "crm"})
    assert made["DomainName"] == "crm" and made["DefaultExpirationDays"] == 365 and made["CreatedAt"]
    mine = seed(emu, "crm", {"key": "_account", "value": USER, "count": 4})
    others = seed(emu, "crm", {"key": "_account", "value": OTHER}, {"key": "_email", "value": f"{OTHER}@example.com"})
    api = cp.create_profile(DomainName="crm", AccountNumber=USER, FirstName="Ada",
                            PersonalEmailAddress=f"{USER}@example.com")["ProfileId"]
    assert len(api) == 32 and all(c in "0123456789abcdef" for c in api)
    assert cp.add_profile_key(DomainName="crm", ProfileId=others[0], KeyName="loyaltyId",
                              Values=[USER])["KeyName"] == "loyaltyId"
    assert cp.get_domain(DomainName="crm")["Stats"]["ProfileCount"] == 7

    # Five profiles carry the account number: three pages of at most two, in creation order.
    ids, pages = search_all(cp, "crm", "_account", [USER], MaxResults=2)
    assert ids == [*mine, api] and pages == 3
    item = cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER], MaxResults=5)["Items"][-1]
    assert item == {"ProfileId": api, "AccountNumber": USER, "FirstName": "Ada",
                    "PersonalEmailAddress": f"{USER}@example.com"}  # only the fields that were set
    assert search_all(cp, "crm", "_account", [USER, OTHER])[0] == [*mine, others[0], api]
    assert search_all(cp, "crm", "_email", [f"{USER}@example.com"])[0] == [api]  # PersonalEmailAddress
    assert search_all(cp, "crm", "loyaltyId", [USER])[0] == [others[0]]  # a custom key
    assert search_all(cp, "crm", "_profileId", [api])[0] == [api]
    assert search_all(cp, "crm", "_account", [USER.upper(), USER[:-1]])[0] == []  # exact matches only
    # Several keys: OR (the default) and AND, with the pairs each profile was found by.
    both = cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER], LogicalOperator="AND",
                              AdditionalSearchKeys=[{"KeyName": "_email", "Values": [f"{USER}@example.com"]}])
    assert [p["ProfileId"] for p in both["Items"]] == [api]
    assert both["Items"][0]["FoundByItems"] == [{"KeyName": "_account", "Values": [USER]},
                                                {"KeyName": "_email", "Values": [f"{USER}@example.com"]}]
    either = cp.search_profiles(DomainName="crm", KeyName="_account", Values=[OTHER],
                                AdditionalSearchKeys=[{"KeyName": "loyaltyId", "Values": [USER]}])["Items"]
    assert [(p["ProfileId"], [f["KeyName"] for f in p["FoundByItems"]]) for p in either] == [
        (others[0], ["_account", "loyaltyId"])]

    # Deleting the profiles page by page misses none of the later pages.
    token, deleted = None, []
    while True:
        page = cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER], MaxResults=2,
                                  **({"NextToken": token} if token else {}))
        for p in page["Items"]:
            assert cp.delete_profile(DomainName="crm", ProfileId=p["ProfileId"])["Message"]
            deleted.append(p["ProfileId"])
        token = page.get("NextToken")
        if not token:
            break
    assert deleted == [*mine, api]
    assert left(emu, "crm") == {others[0]: {"_account": [OTHER], "loyaltyId": [USER]},
                                others[1]: {"_email": [f"{OTHER}@example.com"]}}
    assert cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER])["Items"] == []
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.delete_profile(DomainName="crm", ProfileId=api)
    assert [c["domainName"] for c in emu.calls(service="customer-profiles", operation="DeleteProfile")] == ["crm"] * 6


def test_twenty_profiles_a_page_when_max_results_is_absent(emu, cp):
    seed(emu, domain(emu), {"key": "_phone", "value": "+15550100", "count": 45})
    first = cp.search_profiles(DomainName="crm", KeyName="_phone", Values=["+15550100"])
    assert len(first["Items"]) == 20 and first["NextToken"]
    ids, pages = search_all(cp, "crm", "_phone", ["+15550100"])
    assert len(set(ids)) == 45 and pages == 3
    ids, pages = search_all(cp, "crm", "_phone", ["+15550100"], MaxResults=100)
    assert len(ids) == 45 and pages == 1


def test_unknown_domains_and_profiles_are_404_and_bad_input_is_400(emu, cp):
    domain(emu)
    nobody = "0" * 32
    for call in (lambda: cp.delete_profile(DomainName="crm", ProfileId=nobody),
                 lambda: cp.delete_profile(DomainName="none", ProfileId=nobody),
                 lambda: cp.search_profiles(DomainName="none", KeyName="_account", Values=[USER]),
                 lambda: cp.add_profile_key(DomainName="crm", ProfileId=nobody, KeyName="k", Values=["v"]),
                 lambda: cp.get_domain(DomainName="none")):
        with pytest.raises(cp.exceptions.ResourceNotFoundException) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    bad = (lambda: cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER], MaxResults=101),
           lambda: cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER], NextToken="garbage"),
           lambda: cp.search_profiles(DomainName="bad.name", KeyName="_account", Values=[USER]),
           lambda: cp.search_profiles(DomainName="x" * 65, KeyName="_account", Values=[USER]),
           lambda: cp.search_profiles(DomainName="crm", KeyName="not a key", Values=[USER]),
           lambda: cp.delete_profile(DomainName="crm", ProfileId="not-an-id"),
           lambda: cp.create_domain(DomainName="crm", DefaultExpirationDays=1))  # exists already
    for call in bad:
        with pytest.raises(cp.exceptions.BadRequestException) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # What boto3 refuses to send: a missing KeyName, a body that is not JSON, no body at all.
    assert raw(emu, "POST", "/domains/crm/profiles/search", {"Values": [USER]})[:2] == (400, "BadRequestException")
    assert raw(emu, "POST", "/domains/crm/profiles/search", b"{nope")[:2] == (400, "BadRequestException")
    status, code, body = raw(emu, "POST", "/domains/crm/profiles/delete")
    assert (status, code, list(body)) == (400, "BadRequestException", ["Message"])
    # An operation of the model this emulation does not serve.
    assert raw(emu, "GET", "/domains/crm/object-types")[:2] == (404, "UnknownOperationException")
    report = emu.ctl("GET", "wire")
    assert report["violations"] == []
    assert USER not in json.dumps(report)


def test_each_api_is_throttled_at_its_own_rate(emu, cp):
    ids = seed(emu, domain(emu), {"key": "_account", "value": USER, "count": 30})
    emu.ctl("POST", "customer-profiles/config", {"search_rate": 5, "burst": 5})
    ok = throttled = 0
    for _ in range(20):
        try:
            cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER])
            ok += 1
        except cp.exceptions.ThrottlingException as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            throttled += 1
    assert 5 <= ok <= 8 and throttled == 20 - ok
    for pid in ids[:10]:  # searches are throttled, deletes are not
        cp.delete_profile(DomainName="crm", ProfileId=pid)
    assert sum(c["status"] == 429 for c in emu.calls(operation="SearchProfiles")) == throttled

    cfg = emu.ctl("POST", "customer-profiles/config", {"search_rate": None, "delete_rate": 2, "burst": 1})
    assert cfg == {"search_rate": None, "delete_rate": 2.0, "burst": 1, "latency_ms": 0.0}
    cp.delete_profile(DomainName="crm", ProfileId=ids[10])
    with pytest.raises(cp.exceptions.ThrottlingException):
        cp.delete_profile(DomainName="crm", ProfileId=ids[11])
    for _ in range(10):
        cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER])
    time.sleep(0.5)  # the delete bucket refills at 2 a second
    cp.delete_profile(DomainName="crm", ProfileId=ids[11])

    emu.ctl("POST", "customer-profiles/config", {"delete_rate": None, "latency_ms": 150})
    t = time.monotonic()
    cp.search_profiles(DomainName="crm", KeyName="_account", Values=[USER])
    assert time.monotonic() - t >= 0.15


def test_a_denied_domain_answers_access_denied_and_faults_take_the_models_statuses(emu, cp):
    domain(emu, "denied")
    pid = seed(emu, domain(emu, "open"), {"key": "_account", "value": USER})[0]
    emu.ctl("POST", "faults", {"rules": [
        {"service": "customer-profiles", "error": "AccessDeniedException", "match": {"domainName": "denied"}},
        {"service": "customer-profiles", "operation": "DeleteProfile", "error": "InternalServerException",
         "times": 1, "match": {"domainName": "open"}}]})
    for call in (lambda: cp.search_profiles(DomainName="denied", KeyName="_account", Values=[USER]),
                 lambda: cp.delete_profile(DomainName="denied", ProfileId=pid),
                 lambda: cp.get_domain(DomainName="denied")):
        with pytest.raises(cp.exceptions.AccessDeniedException) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(cp.exceptions.InternalServerException) as e:
        cp.delete_profile(DomainName="open", ProfileId=pid)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    cp.delete_profile(DomainName="open", ProfileId=pid)
    calls = emu.calls(service="customer-profiles")
    assert [(c["operation"], c["domainName"], c["status"], c.get("error"), c.get("injected")) for c in calls] == [
        ("SearchProfiles", "denied", 403, "AccessDeniedException", True),
        ("DeleteProfile", "denied", 403, "AccessDeniedException", True),
        ("GetDomain", "denied", 403, "AccessDeniedException", True),
        ("DeleteProfile", "open", 500, "InternalServerException", True),
        ("DeleteProfile", "open", 200, None, None)]
    status, _, out = http("POST", f"{emu.url}/_emulator/faults", {"rules": [
        {"service": "customer-profiles", "error": "AccessDeniedException", "match": {"applicationId": "x"}}]})
    assert status == 400 and "domainName" in out["message"]
    assert emu.ctl("GET", "wire")["violations"] == []


def test_an_armed_value_comes_back_as_a_new_profile_after_its_delete(emu, cp):
    first, other = seed(emu, domain(emu), {"key": "_email", "value": f"{USER}@example.com"},
                        {"key": "_email", "value": f"{OTHER}@example.com"})
    emu.ctl("POST", "customer-profiles/recreate", {"domainName": "crm", "key": "_email",
                                                    "value": f"{USER}@example.com"})
    cp.delete_profile(DomainName="crm", ProfileId=other)  # another value: nothing comes back
    cp.delete_profile(DomainName="crm", ProfileId=first)
    [again] = search_all(cp, "crm", "_email", [f"{USER}@example.com"])[0]
    assert again != first
    assert left(emu, "crm") == {again: {"_email": [f"{USER}@example.com"]}}
    state = emu.ctl("GET", "customer-profiles/recreate")
    assert state["armed"][0]["times"] == 0 and state["recreated"] == [{
        "domainName": "crm", "key": "_email", "value": f"{USER}@example.com", "deletedProfileId": first,
        "profileId": again}]
    cp.delete_profile(DomainName="crm", ProfileId=again)  # the rule fired its one time
    assert left(emu, "crm") == {}

    # A custom key, every time, after a delay (the ingestion takes a while).
    [pid] = seed(emu, "crm", {"key": "crmId", "value": USER})
    emu.ctl("POST", "customer-profiles/recreate", {"domainName": "crm", "key": "crmId", "value": USER,
                                                    "times": None, "delay_ms": 300})
    for _ in range(2):
        cp.delete_profile(DomainName="crm", ProfileId=pid)
        assert search_all(cp, "crm", "crmId", [USER])[0] == []
        deadline = time.monotonic() + 3
        while not (found := search_all(cp, "crm", "crmId", [USER])[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(found) == 1 and found[0] != pid
        pid = found[0]
    status, _, out = http("POST", f"{emu.url}/_emulator/customer-profiles/recreate",
                          {"domainName": "crm", "key": "_profileId", "value": pid})
    assert status == 400


def test_every_exchange_fits_the_model_and_each_call_records_its_iam_action(emu, cp):
    cp.create_domain(DomainName="wire", DefaultExpirationDays=30)
    assert [d["DomainName"] for d in cp.list_domains(MaxResults=5)["Items"]] == ["wire"]
    cp.get_domain(DomainName="wire")
    pid = cp.create_profile(DomainName="wire", AccountNumber=USER, Address={"City": "Lund"},
                            Attributes={"tier": "gold"})["ProfileId"]
    cp.add_profile_key(DomainName="wire", ProfileId=pid, KeyName="crmId", Values=[USER])
    cp.search_profiles(DomainName="wire", KeyName="crmId", Values=[USER], MaxResults=1)
    cp.delete_profile(DomainName="wire", ProfileId=pid)
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.delete_profile(DomainName="wire", ProfileId=pid)
    cp.delete_domain(DomainName="wire")

    report = emu.ctl("GET", "wire")
    assert report["violations"] == [] and report["rejected"] == []
    seen = report["validated"]["customer-profiles"]
    assert set(seen) == set(OPERATIONS)
    assert seen["DeleteProfile"] == {"requests": 2, "responses": 1, "errors": {"ResourceNotFoundException": 1}}
    model = ServiceModel.load("customer-profiles")
    for name, shape in model.model["shapes"].items():  # every pattern of the model is checked
        if "pattern" in shape:
            model.shapes.check(name)
    assert model.skipped_patterns == []
    assert USER not in json.dumps(report)

    calls = [c for c in emu.ctl("GET", "principal-calls")["calls"] if c["service"] == "profile"]
    arn = f"arn:aws:profile:us-east-1:{ACCOUNT}:domains/wire"
    assert [(c["operation"], [(k["action"], k["resource"]) for k in c["checks"]], c["status"]) for c in calls] == [
        ("CreateDomain", [("profile:CreateDomain", arn)], 200),
        ("ListDomains", [("profile:ListDomains", "*")], 200),
        ("GetDomain", [("profile:GetDomain", arn)], 200),
        ("CreateProfile", [("profile:CreateProfile", arn)], 200),
        ("AddProfileKey", [("profile:AddProfileKey", arn)], 200),
        ("SearchProfiles", [("profile:SearchProfiles", arn)], 200),
        ("DeleteProfile", [("profile:DeleteProfile", arn)], 200),
        ("DeleteProfile", [("profile:DeleteProfile", arn)], 404),
        ("DeleteDomain", [("profile:DeleteDomain", arn)], 200)]
    assert {c["principal"]["type"] for c in calls} == {"unattributed"}  # the test's own key
    for c in calls:
        for check in c["checks"]:
            assert sar.problem(check["action"], check["resource"]) is None
    assert USER not in json.dumps(calls)
    assert USER not in emu.log_path.read_text(errors="replace")


def test_control_api_reset_and_routes(emu, cp):
    domain(emu)
    emu.ctl("POST", "customer-profiles/config", {"search_rate": 1, "latency_ms": 5})
    emu.ctl("POST", "customer-profiles/recreate", {"domainName": "crm", "key": "_account", "value": USER})
    for body in ({"domainName": "none", "profiles": [{"key": "_account", "value": USER}]},
                 {"domainName": "crm", "profiles": [{"key": "bad key", "value": USER}]},
                 {"domainName": "crm", "profiles": [{"key": "_account", "value": ""}]},
                 {"domainName": "crm", "profiles": [{"key": "_account", "value": USER, "fields": {"Nick": "x"}}]},
                 {"domainName": "crm", "profiles": [{"key": "_account", "value": USER, "fields": {"Gender": "x"}}]}):
        status, _, _ = http("POST", f"{emu.url}/_emulator/customer-profiles/profiles", body)
        assert status in (400, 404)
    [pid] = seed(emu, "crm", {"key": "_phone", "value": "+15550100", "fields": {"FirstName": "Ada"}})
    assert emu.ctl("GET", "customer-profiles/profiles?domainName=crm")["profiles"] == [{
        "profileId": pid, "keys": {"_phone": ["+15550100"]},
        "fields": {"FirstName": "Ada", "PhoneNumber": "+15550100"}}]
    assert http("POST", f"{emu.url}/_emulator/customer-profiles/config", {"rate": 1})[0] == 400
    emu.ctl("POST", "reset")
    assert emu.ctl("GET", "customer-profiles/config") == {"search_rate": None, "delete_rate": None, "burst": None,
                                                          "latency_ms": 0.0}
    assert emu.ctl("GET", "customer-profiles/recreate") == {"armed": [], "pending": 0, "recreated": []}
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.get_domain(DomainName="crm")
    assert route("POST", "/domains/a%2Db/profiles/search") == ("SearchProfiles", "a-b")
    assert route("GET", "/domains/") == ("ListDomains", None)
    assert route("PUT", "/domains/a/profiles") == ("Unsupported", "a")
    model = ServiceModel.load("customer-profiles")
    for op in OPERATIONS:  # each route is the model's
        http_ = model.operations[op]["http"]
        path = http_["requestUri"].split("?")[0].replace("{DomainName}", "d")
        assert route(http_["method"], path)[0] == op
