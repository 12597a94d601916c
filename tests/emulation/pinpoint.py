"""Amazon Pinpoint applications and endpoints (restJson1, paths under /v1/apps).

Deleting a user's endpoints answers 202 with the endpoints deleted; a user without endpoints or
an unknown application answers 404 NotFoundException. An optional token bucket answers 429
TooManyRequestsException beyond a configured rate, and calls can be given latency.
"""

from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import unquote

from .faults import Faults

ACCOUNT = "123456789012"
REGION = "us-east-1"
MAX_ENDPOINTS_PER_USER = 15


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int):
        self.code, self.message, self.status = code, message, status


STATUS = {
    "BadRequestException": 400, "ForbiddenException": 403, "NotFoundException": 404,
    "MethodNotAllowedException": 405, "PayloadTooLargeException": 413,
    "TooManyRequestsException": 429, "InternalServerErrorException": 500,
}


class TokenBucket:
    def __init__(self, rate: float, burst: int):
        self.rate, self.capacity = rate, max(1, burst)
        self.tokens, self.at = float(self.capacity), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class Pinpoint:
    def __init__(self, faults: Faults):
        self.lock = threading.Lock()
        self.faults = faults
        self.reset()

    def reset(self):
        with self.lock:
            self.apps: dict[str, dict] = {}
            self.endpoints: dict[str, dict[str, dict]] = {}  # app -> endpoint id -> endpoint
            self.bucket: TokenBucket | None = None
            self.latency = 0.0

    def configure(self, cfg: dict):
        rate = cfg.get("rate")
        with self.lock:
            self.bucket = TokenBucket(float(rate), int(cfg.get("burst") or max(1, int(float(rate) / 10)))) if rate else None
            self.latency = float(cfg.get("latency_ms") or 0) / 1000

    # --- control API -----------------------------------------------------------------------

    def create_app(self, name: str, app_id: str | None = None) -> dict:
        app_id = app_id or uuid.uuid4().hex
        app = {"Arn": f"arn:aws:mobiletargeting:{REGION}:{ACCOUNT}:apps/{app_id}", "Id": app_id, "Name": name, "tags": {}}
        with self.lock:
            self.apps[app_id] = app
            self.endpoints.setdefault(app_id, {})
        return app

    def seed(self, app_id: str, users: dict[str, int]):
        with self.lock:
            if app_id not in self.apps:
                raise ServiceError("NotFoundException", "Resource not found", 404)
            eps = self.endpoints[app_id]
            for user, n in users.items():
                for i in range(int(n)):
                    eid = uuid.uuid4().hex
                    eps[eid] = _endpoint(app_id, eid, {"User": {"UserId": user}, "ChannelType": "EMAIL",
                                                      "Address": f"seed-{eid[:8]}@example.invalid"})

    def users(self, app_id: str) -> dict[str, list[str]]:
        with self.lock:
            out: dict[str, list[str]] = {}
            for eid, ep in self.endpoints.get(app_id, {}).items():
                uid = (ep.get("User") or {}).get("UserId")
                if uid is not None:
                    out.setdefault(uid, []).append(eid)
            return out

    # --- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        parts = [unquote(p) for p in path.split("/")[1:]]  # decoded exactly once
        op, app_id, sub = _route(method, parts)
        attrs = {"applicationId": app_id} if app_id else {}
        try:
            if self.latency:
                time.sleep(self.latency)
            rule = self.faults.take("pinpoint", op, attrs)
            if rule is not None:
                if rule.latency_ms:
                    time.sleep(rule.latency_ms / 1000)
                if rule.error:
                    raise ServiceError(rule.error, f"Injected fault: {rule.error}", rule.status or STATUS.get(rule.error, 400))
            if self.bucket is not None and not self.bucket.take():
                raise ServiceError("TooManyRequestsException", "Too many requests", 429)
            status, out = getattr(self, "op_" + op)(app_id, sub, body or {})
            self.faults.log("pinpoint", op, status, **attrs)
            return status, out
        except ServiceError as e:
            self.faults.log("pinpoint", op, e.status, error=e.code, **attrs)
            raise

    def _app(self, app_id):
        if app_id not in self.apps:
            raise ServiceError("NotFoundException", "Resource not found", 404)
        return self.apps[app_id]

    def op_CreateApp(self, _app, _sub, body):
        req = body or {}
        name = req.get("Name")
        if not name:
            raise ServiceError("BadRequestException", "Name is required", 400)
        return 201, self.create_app(name)

    def op_GetApp(self, app_id, _sub, _body):
        with self.lock:
            return 200, self._app(app_id)

    def op_UpdateEndpoint(self, app_id, eid, body):
        with self.lock:
            self._app(app_id)
            eps = self.endpoints[app_id]
            uid = (body.get("User") or {}).get("UserId")
            if uid is not None and eid not in eps:
                count = sum(1 for e in eps.values() if (e.get("User") or {}).get("UserId") == uid)
                if count >= MAX_ENDPOINTS_PER_USER:
                    raise ServiceError("BadRequestException", "A user can have at most 15 endpoints", 400)
            eps[eid] = _endpoint(app_id, eid, body)
        return 202, {"Message": "Accepted", "RequestID": uuid.uuid4().hex}

    def op_GetEndpoint(self, app_id, eid, _body):
        with self.lock:
            self._app(app_id)
            ep = self.endpoints[app_id].get(eid)
            if not ep:
                raise ServiceError("NotFoundException", "Resource not found", 404)
            return 200, ep

    def op_DeleteEndpoint(self, app_id, eid, _body):
        with self.lock:
            self._app(app_id)
            ep = self.endpoints[app_id].pop(eid, None)
            if not ep:
                raise ServiceError("NotFoundException", "Resource not found", 404)
            return 202, ep

    def _user_endpoints(self, app_id, uid, delete: bool):
        with self.lock:
            self._app(app_id)
            eps = self.endpoints[app_id]
            mine = [eid for eid, e in eps.items() if (e.get("User") or {}).get("UserId") == uid]
            if not mine:
                raise ServiceError("NotFoundException", "Resource not found", 404)
            items = [eps.pop(e) if delete else eps[e] for e in mine]
            return (202 if delete else 200), {"Item": items}

    def op_GetUserEndpoints(self, app_id, uid, _body):
        return self._user_endpoints(app_id, uid, delete=False)

    def op_DeleteUserEndpoints(self, app_id, uid, _body):
        return self._user_endpoints(app_id, uid, delete=True)

    def op_Unknown(self, _app, _sub, _body):
        raise ServiceError("MethodNotAllowedException", "Not emulated", 405)


def _route(method: str, parts: list[str]) -> tuple[str, str | None, str | None]:
    # parts: ["v1", "apps", app, kind, id]
    if parts[:2] != ["v1", "apps"]:
        return "Unknown", None, None
    if len(parts) == 2 and method == "POST":
        return "CreateApp", None, None
    app = parts[2] if len(parts) > 2 else None
    if len(parts) == 3 and method == "GET":
        return "GetApp", app, None
    if len(parts) == 5 and parts[3] == "endpoints":
        return {"PUT": "UpdateEndpoint", "GET": "GetEndpoint", "DELETE": "DeleteEndpoint"}.get(method, "Unknown"), app, parts[4]
    if len(parts) == 5 and parts[3] == "users":
        return {"GET": "GetUserEndpoints", "DELETE": "DeleteUserEndpoints"}.get(method, "Unknown"), app, parts[4]
    return "Unknown", app, None


def _endpoint(app_id: str, eid: str, req: dict) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    ep = {
        "ApplicationId": app_id, "Id": eid, "CohortId": str(int(eid[:4], 16) % 100) if all(c in "0123456789abcdef" for c in eid[:4]) and len(eid) >= 4 else "0",
        "CreationDate": now, "EffectiveDate": now, "EndpointStatus": "ACTIVE", "OptOut": "NONE",
        "RequestId": uuid.uuid4().hex,
    }
    for k in ("Address", "ChannelType", "Attributes", "Demographic", "Location", "Metrics", "User"):
        if k in req:
            ep[k] = req[k]
    return ep
