"""Fault injection and the call log shared by the Personalize and Pinpoint emulations."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Rule:
    service: str
    operation: str | None = None
    error: str | None = None
    status: int | None = None
    times: int | None = None  # None: forever
    probability: float = 1.0
    match: dict = field(default_factory=dict)
    fail_job: dict | None = None
    latency_ms: int = 0


class Faults:
    """Rules that make calls fail (or jobs end FAILED), and a log of every call."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.calls: deque = deque(maxlen=200_000)
        self.rng = random.Random(7)

    def set(self, rules: list[dict]):
        with self.lock:
            self.rules = [Rule(**r) for r in rules]

    def describe(self) -> list[dict]:
        with self.lock:
            return [r.__dict__ for r in self.rules]

    def reset(self):
        with self.lock:
            self.rules = []
            self.calls.clear()

    def take(self, service: str, operation: str, attrs: dict) -> Rule | None:
        """The error rule that fires for this call, if any (consuming one of its `times`)."""
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
        """The failureReason a job created now must end with, if a rule says so."""
        with self.lock:
            for r in self.rules:
                if r.service == "personalize" and r.fail_job is not None:
                    want = r.fail_job.get("datasetGroupArn")
                    if want is None or want == dataset_group_arn:
                        return r.fail_job.get("reason", "Simulated failure")
        return None

    def log(self, service: str, operation: str, status: int, **attrs):
        self.calls.append({"service": service, "operation": operation, "status": status, "ts": time.time(), **attrs})
