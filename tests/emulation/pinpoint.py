"""Amazon Pinpoint applications and endpoints (restJson1, SigV4 service `mobiletargeting`).

    POST   /v1/apps                                  CreateApp          201 ApplicationResponse
    GET    /v1/apps[?page-size=&token=]              GetApps            200 ApplicationsResponse
    GET    /v1/apps/{app}                            GetApp             200 ApplicationResponse
    DELETE /v1/apps/{app}                            DeleteApp          200 ApplicationResponse
    PUT    /v1/apps/{app}/endpoints/{endpoint-id}    UpdateEndpoint     202 MessageBody
    GET    /v1/apps/{app}/endpoints/{endpoint-id}    GetEndpoint        200 EndpointResponse
    DELETE /v1/apps/{app}/endpoints/{endpoint-id}    DeleteEndpoint     202 EndpointResponse
    GET    /v1/apps/{app}/users/{user-id}            GetUserEndpoints   200 EndpointsResponse
    DELETE /v1/apps/{app}/users/{user-id}            DeleteUserEndpoints 202 EndpointsResponse

Path segments arrive percent-encoded and are decoded exactly once. An unknown application, or a
user without endpoints, answers 404 NotFoundException. A user has at most 15 endpoints. An
optional token bucket per operation answers 429 TooManyRequestsException past a set rate, and
every call can be given added latency. GetApps pages by `page-size` (all applications when it is
absent) and answers a NextToken while more remain. CreateApp and UpdateEndpoint refuse a missing
body, or one that does not fit the service model's CreateApplicationRequest / EndpointRequest
shape, with 400 BadRequestException: the modelled error for a bad request (what AWS answers to
such a body is not documented; no SDK sends one). wire.py checks every exchange against the model.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from urllib.parse import parse_qs, unquote_to_bytes

from . import ACCOUNT
from .faults import Faults, ServiceError
from .wire import ServiceModel

LOG = logging.getLogger("emulator.pinpoint")

# The operations served here (route() names no others): what the wire checks are run for.
OPERATIONS = ("CreateApp", "GetApps", "GetApp", "DeleteApp", "UpdateEndpoint", "GetEndpoint", "DeleteEndpoint",
              "GetUserEndpoints", "DeleteUserEndpoints")
MAX_ENDPOINTS_PER_USER = 15
ENDPOINT_FIELDS = ("Address", "Attributes", "ChannelType", "Demographic", "EffectiveDate", "EndpointStatus",
                   "Location", "Metrics", "OptOut", "RequestId", "User")


class TokenBucket:
    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.at = time.monotonic()

    def take(self) -> bool:
        """Called with the emulation lock held."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Pinpoint:
    def __init__(self, lock: threading.RLock, faults: Faults):
        self.lock = lock
        self.faults = faults
        self.reset()

    # --- state -----------------------------------------------------------------------------

    def reset(self):
        with self.lock:
            # app id -> {"app": ApplicationResponse, "endpoints": {id: EndpointResponse},
            #            "users": {user id: {endpoint id: None}}}
            self.apps: dict[str, dict] = {}
            self.rate: float | None = None
            self.burst = 1
            self.throttled_operations: set[str] | None = None
            self.buckets: dict[str, TokenBucket] = {}
            self.latency = 0.0

    def configure(self, cfg: dict) -> dict:
        with self.lock:
            if "rate" in cfg:
                self.rate = None if cfg["rate"] is None else float(cfg["rate"])
                if self.rate is not None and self.rate <= 0:
                    raise ValueError("rate must be > 0 or null")
            if cfg.get("burst") is not None:
                self.burst = max(1, int(cfg["burst"]))
            elif "rate" in cfg and self.rate is not None:
                self.burst = max(1, int(self.rate))
            if "operations" in cfg:
                self.throttled_operations = None if cfg["operations"] is None else set(cfg["operations"])
            if cfg.get("latency_ms") is not None:
                self.latency = float(cfg["latency_ms"]) / 1000
            self.buckets = {}
            return self.config()

    def config(self) -> dict:
        return {"rate": self.rate, "burst": self.burst, "latency_ms": self.latency * 1000,
                "operations": None if self.throttled_operations is None else sorted(self.throttled_operations)}

    def create_app(self, name: str, tags: dict | None = None, region: str = "us-east-1",
                   app_id: str | None = None) -> dict:
        app_id = app_id or uuid.uuid4().hex
        app = {"Arn": f"arn:aws:mobiletargeting:{region}:{ACCOUNT}:apps/{app_id}", "Id": app_id, "Name": name,
               "tags": dict(tags or {}), "CreationDate": _now()}
        with self.lock:
            self.apps[app_id] = {"app": app, "endpoints": {}, "users": {}}
        return dict(app)

    def seed(self, app_id: str, users: dict) -> int:
        """Give each user n fresh EMAIL endpoints (added to any they have). Returns endpoints made."""
        made = 0
        with self.lock:
            state = self._app(app_id)
            for user, n in users.items():
                user = str(user)
                n = int(n)
                have = len(state["users"].get(user, ()))
                if have + n > MAX_ENDPOINTS_PER_USER:
                    raise ServiceError("BadRequestException",
                                       f"A user can have at most {MAX_ENDPOINTS_PER_USER} endpoints.", 400)
                for _ in range(n):
                    eid = uuid.uuid4().hex
                    self._put(state, eid, _endpoint(app_id, eid, {
                        "ChannelType": "EMAIL", "Address": f"{eid}@example.invalid", "User": {"UserId": user}}))
                    made += 1
        return made

    def users(self, app_id: str) -> dict[str, list[str]]:
        with self.lock:
            state = self._app(app_id)
            return {u: list(eids) for u, eids in state["users"].items()}

    # --- the wire API ----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: dict | None, region: str,
               query: str = "") -> tuple[int, dict]:
        op, app_id, sub = route(method, raw_path)
        attrs = {"applicationId": app_id} if app_id else {}
        if self.latency:
            time.sleep(self.latency)
        try:
            with self.lock:
                # Throttling comes first (the front door), then injected faults.
                if self.rate is not None and (self.throttled_operations is None or op in self.throttled_operations):
                    bucket = self.buckets.get(op)
                    if bucket is None:
                        bucket = self.buckets[op] = TokenBucket(self.rate, self.burst)
                    if not bucket.take():
                        raise ServiceError("TooManyRequestsException", "Too many requests", 429)
                rule = self.faults.take("pinpoint", op, attrs) if self.faults.rules else None
            if rule is not None:
                rule.fire()
            if body is None and op in ("CreateApp", "UpdateEndpoint"):  # their payload is required
                raise ServiceError("BadRequestException", "The request body is required", 400)
            with self.lock:
                if op == "GetApps":
                    status, out = self.op_GetApps(parse_qs(query, keep_blank_values=True))
                else:
                    status, out = getattr(self, "op_" + op)(app_id, sub, body if body is not None else {}, region)
            self.faults.log("pinpoint", op, status, attrs)
            return status, out
        except ServiceError as e:
            self.faults.log("pinpoint", op, e.status, attrs, error=e.code, injected=e.injected)
            raise

    def _app(self, app_id) -> dict:
        state = self.apps.get(app_id)
        if state is None:
            raise ServiceError("NotFoundException", "Resource not found", 404)
        return state

    def _put(self, state: dict, eid: str, ep: dict):
        old = state["endpoints"].get(eid)
        old_user = ((old or {}).get("User") or {}).get("UserId")
        new_user = (ep.get("User") or {}).get("UserId")
        if old_user is not None and old_user != new_user:
            mine = state["users"].get(old_user)
            if mine is not None:
                mine.pop(eid, None)
                if not mine:
                    del state["users"][old_user]
        state["endpoints"][eid] = ep
        if new_user is not None:
            state["users"].setdefault(new_user, {})[eid] = None

    def op_CreateApp(self, _app, _sub, body, region):
        _fits(body, "CreateApplicationRequest")
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise ServiceError("BadRequestException", "Name is required", 400)
        return 201, self.create_app(name, body.get("tags"), region)

    def op_GetApps(self, query: dict[str, list[str]]):
        apps = [dict(s["app"]) for s in self.apps.values()]
        size = len(apps) or 1
        if "page-size" in query:
            try:
                size = int(query["page-size"][-1])
            except ValueError:
                size = 0
            if size < 1:
                raise ServiceError("BadRequestException", "page-size must be a positive integer", 400)
        start = 0
        if "token" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["token"][-1]).decode())
            except Exception:  # noqa: BLE001 - any unreadable token
                start = -1
            if not 0 <= start <= len(apps):
                raise ServiceError("BadRequestException", "Invalid token", 400)
        out: dict = {"Item": apps[start:start + size]}
        if start + size < len(apps):
            out["NextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return 200, out

    def op_GetApp(self, app_id, _sub, _body, _region):
        return 200, dict(self._app(app_id)["app"])

    def op_DeleteApp(self, app_id, _sub, _body, _region):
        state = self._app(app_id)
        del self.apps[app_id]
        return 200, dict(state["app"])

    def op_UpdateEndpoint(self, app_id, eid, body, _region):
        state = self._app(app_id)
        _fits(body, "EndpointRequest")
        old = state["endpoints"].get(eid)
        ep = dict(old) if old else _endpoint(app_id, eid, {})
        for k in ENDPOINT_FIELDS:
            if k in body:
                ep[k] = body[k]
        ep["EffectiveDate"] = body.get("EffectiveDate") or _now()
        ep["RequestId"] = uuid.uuid4().hex
        new_user = (ep.get("User") or {}).get("UserId")
        if new_user is not None:
            mine = state["users"].get(new_user, {})
            if eid not in mine and len(mine) >= MAX_ENDPOINTS_PER_USER:
                raise ServiceError("BadRequestException",
                                   f"Exceeded maximum endpoint per user count {MAX_ENDPOINTS_PER_USER}", 400)
        self._put(state, eid, ep)
        return 202, {"Message": "Accepted", "RequestID": uuid.uuid4().hex}

    def op_GetEndpoint(self, app_id, eid, _body, _region):
        ep = self._app(app_id)["endpoints"].get(eid)
        if ep is None:
            raise ServiceError("NotFoundException", "Resource not found", 404)
        return 200, ep

    def op_DeleteEndpoint(self, app_id, eid, _body, _region):
        state = self._app(app_id)
        ep = state["endpoints"].pop(eid, None)
        if ep is None:
            raise ServiceError("NotFoundException", "Resource not found", 404)
        user = (ep.get("User") or {}).get("UserId")
        mine = state["users"].get(user)
        if mine is not None:
            mine.pop(eid, None)
            if not mine:
                del state["users"][user]
        return 202, ep

    def op_GetUserEndpoints(self, app_id, user, _body, _region):
        state = self._app(app_id)
        mine = state["users"].get(user)
        if not mine:
            raise ServiceError("NotFoundException", "Resource not found", 404)
        return 200, {"Item": [state["endpoints"][e] for e in mine]}

    def op_DeleteUserEndpoints(self, app_id, user, _body, _region):
        state = self._app(app_id)
        mine = state["users"].pop(user, None)
        if not mine:
            raise ServiceError("NotFoundException", "Resource not found", 404)
        endpoints = state["endpoints"]
        return 202, {"Item": [endpoints.pop(e) for e in mine]}

    def op_BadRequest(self, _app, _sub, _body, _region):
        raise ServiceError("BadRequestException", "Invalid request path", 400)

    def op_Unsupported(self, _app, _sub, _body, _region):
        raise ServiceError("MethodNotAllowedException", "This operation is not emulated", 405)


def _fits(body, shape: str):
    """BadRequestException unless the body fits the model's `shape` (the problem, never a value)."""
    problems: list[str] = []
    ServiceModel.load("pinpoint").shapes.check(shape)(body, "", problems)
    if problems:
        raise ServiceError("BadRequestException", f"Invalid request body: {problems[0]}", 400)


def _segment(raw: str) -> str:
    # Decode exactly once; raw non-ASCII bytes (werkzeug hands them over as latin-1) stay UTF-8.
    return unquote_to_bytes(raw.encode("latin-1", errors="replace")).decode("utf-8", errors="replace")


def route(method: str, raw_path: str) -> tuple[str, str | None, str | None]:
    """(operation, application id, endpoint or user id) of a raw, still percent-encoded path."""
    parts = raw_path.split("/")
    # ["", "v1", "apps", app, kind, id]
    if len(parts) < 3 or parts[1] != "v1" or parts[2] != "apps":
        return "Unsupported", None, None
    n = len(parts)
    if n == 3 or (n == 4 and parts[3] == ""):
        return {"POST": "CreateApp", "GET": "GetApps"}.get(method, "Unsupported"), None, None
    app = _segment(parts[3])
    if n == 4:
        return {"GET": "GetApp", "DELETE": "DeleteApp"}.get(method, "Unsupported"), app, None
    if n == 6 and parts[4] in ("endpoints", "users"):
        if parts[5] == "":
            return "BadRequest", app, None
        sub = _segment(parts[5])
        if parts[4] == "endpoints":
            ops = {"PUT": "UpdateEndpoint", "GET": "GetEndpoint", "DELETE": "DeleteEndpoint"}
        else:
            ops = {"GET": "GetUserEndpoints", "DELETE": "DeleteUserEndpoints"}
        return ops.get(method, "Unsupported"), app, sub
    return "Unsupported", app, None


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _endpoint(app_id: str, eid: str, req: dict) -> dict:
    now = _now()
    ep = {"ApplicationId": app_id, "Id": eid, "CohortId": str(uuid.uuid4().int % 100),
          "CreationDate": now, "EffectiveDate": now, "EndpointStatus": "ACTIVE", "OptOut": "NONE",
          "RequestId": uuid.uuid4().hex}
    for k in ENDPOINT_FIELDS:
        if k in req:
            ep[k] = req[k]
    return ep
