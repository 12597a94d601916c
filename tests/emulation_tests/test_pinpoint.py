"""Pinpoint applications and endpoints as the emulation serves them (pinpoint.py), driven with boto3
like the real service: endpoints by user, the wire shape of errors, the per-user limit, throttling."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from tests.emulation import ACCOUNT
from tests.emulation_tests.helpers import NO_RETRY, http


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
