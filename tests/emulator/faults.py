"""Injected faults and the call log shared by the Personalize and Pinpoint emulations.

A rule (POST /_emulator/faults {"rules": [...]}, which replaces the set):

    {"service": "personalize" | "pinpoint",
     "operation": "CreateDataDeletionJob" | "DeleteUserEndpoints" | ... (absent: every operation),
     "error": "LimitExceededException" | "TooManyRequestsException" | ...,
     "status": 400 (absent: the error's usual HTTP status),
     "message": "..." (optional),
     "times": 3 | null (null: forever),
     "probability": 1.0,
     "latency_ms": 0 (optional: delay the call; with no "error" the call then proceeds),
     "match": {"applicationId": "...", "datasetGroupArn": "...", "jobName": "..."} (optional)}

A job-level rule makes Personalize deletion jobs created while it stands end FAILED:

    {"service": "personalize", "fail_job": {"datasetGroupArn": "..." (optional), "reason": "..."},
     "times": null}

The call log holds one entry per Personalize/Pinpoint API call (never a user ID).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque

CALL_LOG_LIMIT = 200_000

# The HTTP status each error answers with when a rule does not say.
STATUS = {
    # Pinpoint (restJson1, statuses from the service model)
    "BadRequestException": 400,
    "ForbiddenException": 403,
    "NotFoundException": 404,
    "MethodNotAllowedException": 405,
    "PayloadTooLargeException": 413,
    "TooManyRequestsException": 429,
    "InternalServerErrorException": 500,
    # Generic AWS errors
    "InternalFailure": 500,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "AccessDeniedException": 400,
    "ThrottlingException": 400,
}


class ServiceError(Exception):
    """An AWS error answer: the error code (shape name), its message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, injected: bool = False):
        super().__init__(code)
        self.code, self.message, self.status, self.injected = code, message, status, injected


class Rule:
    FIELDS = ("service", "operation", "error", "status", "message", "times", "probability",
              "latency_ms", "match", "fail_job")

    def __init__(self, spec: dict):
        unknown = set(spec) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        self.service = spec.get("service")
        if self.service not in ("personalize", "pinpoint"):
            raise ValueError("a fault rule needs service 'personalize' or 'pinpoint'")
        self.operation = spec.get("operation")
        self.error = spec.get("error")
        self.status = int(spec["status"]) if spec.get("status") is not None else None
        self.message = spec.get("message")
        self.times = None if spec.get("times") is None else int(spec["times"])
        self.probability = float(spec.get("probability", 1.0))
        self.latency_ms = float(spec.get("latency_ms") or 0)
        self.match = dict(spec.get("match") or {})
        self.fail_job = spec.get("fail_job")
        if self.fail_job is not None and self.service != "personalize":
            raise ValueError("fail_job rules are for service 'personalize'")
        if self.fail_job is None and not self.error and not self.latency_ms:
            raise ValueError("a fault rule needs 'error', 'latency_ms' or 'fail_job'")

    def status_for(self, default_status: int) -> int:
        if self.status is not None:
            return self.status
        return STATUS.get(self.error or "", default_status)

    def fire(self):
        """Applies the rule to the call at hand: its latency, then its error, if it has one."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.error:
            raise ServiceError(self.error, self.message or f"Injected fault: {self.error}",
                               self.status_for(400), injected=True)

    def describe(self) -> dict:
        out = {k: getattr(self, k) for k in self.FIELDS}
        return {k: v for k, v in out.items() if v not in (None, {}, 0.0) or k in ("times",)}


class Faults:
    def __init__(self, lock: threading.RLock):
        self.lock = lock
        self.rules: list[Rule] = []
        self.calls: deque = deque(maxlen=CALL_LOG_LIMIT)
        self.rng = random.Random()

    def reset(self):
        with self.lock:
            self.rules = []
            self.calls.clear()

    def set(self, specs: list[dict]):
        rules = [Rule(s) for s in specs]  # validate all before replacing
        with self.lock:
            self.rules = rules

    def describe(self) -> list[dict]:
        with self.lock:
            return [r.describe() for r in self.rules]

    def take(self, service: str, operation: str, attrs: dict) -> Rule | None:
        """The first call-level rule that fires for this call (one of its `times` is used)."""
        with self.lock:
            for r in self.rules:
                if r.service != service or r.fail_job is not None:
                    continue
                if r.operation and r.operation != operation:
                    continue
                if any(attrs.get(k) != v for k, v in r.match.items()):
                    continue
                if r.times is not None and r.times <= 0:
                    continue
                if r.probability < 1.0 and self.rng.random() >= r.probability:
                    continue
                if r.times is not None:
                    r.times -= 1
                return r
        return None

    def job_failure(self, dataset_group_arn: str) -> str | None:
        """The failureReason a deletion job created now must end with, if a rule stands."""
        with self.lock:
            for r in self.rules:
                if r.fail_job is None:
                    continue
                want = r.fail_job.get("datasetGroupArn")
                if want is not None and want != dataset_group_arn:
                    continue
                if r.times is not None:
                    if r.times <= 0:
                        continue
                    r.times -= 1
                return r.fail_job.get("reason") or "Simulated failure (injected by the emulator)"
        return None

    def log(self, service: str, operation: str, status: int, attrs: dict, error: str | None = None,
            injected: bool = False):
        entry = {"service": service, "operation": operation, "status": status, "ts": time.time()}
        entry.update(attrs)
        if error:
            entry["error"] = error
        if injected:
            entry["injected"] = True
        self.calls.append(entry)  # deque.append is atomic

    def read_calls(self, service: str | None = None, operation: str | None = None,
                   since: float | None = None) -> list[dict]:
        with self.lock:
            calls = list(self.calls)
        return [c for c in calls
                if (service is None or c["service"] == service)
                and (operation is None or c["operation"] == operation)
                and (since is None or c["ts"] >= since)]
