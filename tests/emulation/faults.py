"""Injected faults and the call log shared by the Personalize, Pinpoint, Customer Profiles and S3
emulations.

A rule (POST /_emulator/faults {"rules": [...]}, which replaces the set):

    {"service": "personalize" | "pinpoint" | "customer-profiles" | "s3",
     "operation": "CreateDataDeletionJob" | "DeleteUserEndpoints" | "SearchProfiles" | "PutObject" | ...
                  (absent: every operation),
     "error": "LimitExceededException" | "TooManyRequestsException" | "SlowDown" | ...,
     "status": 400 (absent: the error's usual HTTP status, from STATUS below),
     "message": "..." (optional),
     "times": 3 | null (null: forever),
     "probability": 1.0,
     "latency_ms": 0 (optional: delay the call; with no "error" the call then proceeds),
     "match": {"applicationId": "...", "datasetGroupArn": "...", "jobName": "...", "domainName": "..."}
              (optional)}

Customer Profiles rules ("service": "customer-profiles") match on {"domainName": "..."} only, and
fire after the API's throttling (customer_profiles.py). An error's default status there is the
service model's: AccessDeniedException 403, BadRequestException 400, ResourceNotFoundException 404,
ThrottlingException 429, InternalServerException 500 (SERVICE_STATUS). E.g. a domain the caller
may not use: {"service": "customer-profiles", "error": "AccessDeniedException",
"match": {"domainName": "denied"}}.

S3 rules ("service": "s3") act on moto's S3, before moto sees the request. The operation is read
from the path-style REST request (method, /bucket/key, query string): one of S3_OPERATIONS, e.g.
PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2, ListObjectVersions,
CreateMultipartUpload, UploadPart, CompleteMultipartUpload, PutObjectRetention. "match" takes
{"bucket": "...", "key_prefix": "receipts/"}; for ListObjectsV2/ListObjectVersions the key is the
listing's `prefix` parameter. The error is S3's own wire shape: an XML <Error> body with
Content-Type application/xml (no body for HEAD), e.g. AccessDenied 403, NoSuchKey 404,
InternalError 500, SlowDown 503, ServiceUnavailable 503. A request no rule matches goes to moto
unchanged; only requests a rule fired on are logged, with the bucket and the key's first folder
("receipts/"), never the whole key.

A job-level rule makes Personalize deletion jobs created while it stands end FAILED:

    {"service": "personalize", "fail_job": {"datasetGroupArn": "..." (optional), "reason": "..."},
     "times": null}

Likewise, Personalize solution versions created (CreateSolutionVersion) while a `fail_training` rule
stands end CREATE FAILED with the reason, and campaign updates (UpdateCampaign) started while a
`fail_campaign_update` rule stands end CREATE FAILED (personalize_models.py):

    {"service": "personalize", "fail_training": {"solutionArn" | "datasetGroupArn": "..." (optional),
     "reason": "..."}, "times": 1}
    {"service": "personalize", "fail_campaign_update": {"campaignArn" | "solutionArn" |
     "datasetGroupArn": "..." (optional), "reason": "..."}}

The call log holds one entry per Personalize/Pinpoint/Customer Profiles API call, one per S3 call a
rule fired on, and one per Step Functions status-change event delivery (events.py); never a user ID.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from urllib.parse import parse_qs, unquote

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
    # S3 (restXml error codes)
    "AccessDenied": 403,
    "NoSuchKey": 404,
    "NoSuchBucket": 404,
    "NoSuchUpload": 404,
    "InvalidObjectState": 403,
    "InvalidPart": 400,
    "PreconditionFailed": 412,
    "RequestTimeout": 400,
    "InternalError": 500,
    "SlowDown": 503,
}

# Where a service's model gives an error another status than STATUS does (restJson1 httpError).
SERVICE_STATUS = {
    "customer-profiles": {  # botocore data/customer-profiles/2020-08-15/service-2.json
        "AccessDeniedException": 403,
        "BadRequestException": 400,
        "ResourceNotFoundException": 404,
        "ThrottlingException": 429,
        "InternalServerException": 500,
    },
}

SERVICES = ("personalize", "pinpoint", "customer-profiles", "s3")
# Rules that decide how a Personalize resource created while they stand ends, and what they match on.
OUTCOME_RULES = {"fail_job": ("datasetGroupArn",), "fail_training": ("datasetGroupArn", "solutionArn"),
                 "fail_campaign_update": ("datasetGroupArn", "solutionArn", "campaignArn")}
CUSTOMER_PROFILES_MATCH_KEYS = ("domainName",)
S3_MATCH_KEYS = ("bucket", "key_prefix")

# The S3 operation of a path-style REST request, by method and sub-resource (query parameter).
_S3_OBJECT_OPS = {
    "GET": [("uploadId", "ListParts"), ("retention", "GetObjectRetention"), ("legal-hold", "GetObjectLegalHold"),
            ("tagging", "GetObjectTagging"), ("acl", "GetObjectAcl"), ("attributes", "GetObjectAttributes"),
            ("", "GetObject")],
    "HEAD": [("", "HeadObject")],
    "PUT": [("partNumber", "UploadPart"), ("retention", "PutObjectRetention"),
            ("legal-hold", "PutObjectLegalHold"), ("tagging", "PutObjectTagging"), ("acl", "PutObjectAcl"),
            ("", "PutObject")],
    "DELETE": [("uploadId", "AbortMultipartUpload"), ("tagging", "DeleteObjectTagging"), ("", "DeleteObject")],
    "POST": [("uploads", "CreateMultipartUpload"), ("uploadId", "CompleteMultipartUpload"),
             ("restore", "RestoreObject"), ("select", "SelectObjectContent")],
}
_S3_BUCKET_OPS = {
    "GET": [("list-type", "ListObjectsV2"), ("versions", "ListObjectVersions"), ("uploads", "ListMultipartUploads"),
            ("location", "GetBucketLocation"), ("versioning", "GetBucketVersioning"),
            ("notification", "GetBucketNotificationConfiguration"), ("object-lock", "GetObjectLockConfiguration"),
            ("policy", "GetBucketPolicy"), ("lifecycle", "GetBucketLifecycleConfiguration"),
            ("tagging", "GetBucketTagging"), ("encryption", "GetBucketEncryption"), ("acl", "GetBucketAcl"),
            ("", "ListObjects")],
    "HEAD": [("", "HeadBucket")],
    "PUT": [("versioning", "PutBucketVersioning"), ("notification", "PutBucketNotificationConfiguration"),
            ("object-lock", "PutObjectLockConfiguration"), ("policy", "PutBucketPolicy"),
            ("lifecycle", "PutBucketLifecycleConfiguration"), ("tagging", "PutBucketTagging"),
            ("encryption", "PutBucketEncryption"), ("acl", "PutBucketAcl"), ("", "CreateBucket")],
    "DELETE": [("policy", "DeleteBucketPolicy"), ("lifecycle", "DeleteBucketLifecycle"),
               ("tagging", "DeleteBucketTagging"), ("encryption", "DeleteBucketEncryption"), ("", "DeleteBucket")],
    "POST": [("delete", "DeleteObjects")],
}
S3_OPERATIONS = frozenset(
    ["ListBuckets", "CopyObject", "UploadPartCopy"]
    + [op for table in (_S3_OBJECT_OPS, _S3_BUCKET_OPS) for rows in table.values() for _, op in rows])


def s3_request(method: str, raw_path: str, query_string: str, copy_source: bool = False):
    """(operation, bucket, key) of a path-style S3 REST request; key is None for a bucket-level
    call (for ListObjectsV2/ListObjectVersions/ListObjects: the `prefix` parameter, if any) and
    operation is None for a request it does not know."""
    query = parse_qs(query_string or "", keep_blank_values=True)
    path = raw_path.lstrip("/")
    if not path:
        return ("ListBuckets" if method == "GET" else None), None, None
    bucket, sep, key = path.partition("/")
    bucket = unquote(bucket)
    if sep and key:
        key = unquote(key, encoding="utf-8", errors="replace")
        table = _S3_OBJECT_OPS
    else:
        key = None
        table = _S3_BUCKET_OPS
    for param, op in table.get(method, ()):
        if param == "" or param in query:
            if copy_source and op in ("PutObject", "UploadPart"):
                op = "CopyObject" if op == "PutObject" else "UploadPartCopy"
            if op in ("ListObjectsV2", "ListObjectVersions", "ListObjects"):
                key = query.get("prefix", [None])[0]
            return op, bucket, key
    return None, bucket, key


def key_folder(key: str | None) -> str | None:
    """What the call log may say about an S3 key: its first folder ("receipts/"), never more."""
    if not key or "/" not in key:
        return None
    return key.split("/", 1)[0] + "/"


class ServiceError(Exception):
    """An AWS error answer: the error code (shape name), its message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, injected: bool = False):
        super().__init__(code)
        self.code, self.message, self.status, self.injected = code, message, status, injected


class Rule:
    FIELDS = ("service", "operation", "error", "status", "message", "times", "probability",
              "latency_ms", "match", "fail_job", "fail_training", "fail_campaign_update")

    def __init__(self, spec: dict):
        unknown = set(spec) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        self.service = spec.get("service")
        if self.service not in SERVICES:
            raise ValueError(f"a fault rule needs service {' or '.join(repr(s) for s in SERVICES)}")
        self.operation = spec.get("operation")
        self.error = spec.get("error")
        self.status = int(spec["status"]) if spec.get("status") is not None else None
        self.message = spec.get("message")
        self.times = None if spec.get("times") is None else int(spec["times"])
        self.probability = float(spec.get("probability", 1.0))
        self.latency_ms = float(spec.get("latency_ms") or 0)
        self.match = dict(spec.get("match") or {})
        self.fail_job = spec.get("fail_job")
        self.fail_training = spec.get("fail_training")
        self.fail_campaign_update = spec.get("fail_campaign_update")
        outcomes = [k for k in OUTCOME_RULES if spec.get(k) is not None]
        if outcomes and self.service != "personalize":
            raise ValueError(f"{outcomes[0]} rules are for service 'personalize'")
        if len(outcomes) > 1:
            raise ValueError(f"a fault rule has one of {list(OUTCOME_RULES)}, not {outcomes}")
        for k in outcomes:
            if not isinstance(spec[k], dict):
                raise ValueError(f"{k} must be an object")
            odd = set(spec[k]) - set(OUTCOME_RULES[k]) - {"reason"}
            if odd:
                raise ValueError(f"{k} matches on {list(OUTCOME_RULES[k])} only, not {sorted(odd)}")
        self.outcome = outcomes[0] if outcomes else None
        if self.outcome is None and not self.error and not self.latency_ms:
            raise ValueError("a fault rule needs 'error', 'latency_ms', 'fail_job', 'fail_training' or "
                             "'fail_campaign_update'")
        if self.service == "s3":
            if self.operation is not None and self.operation not in S3_OPERATIONS:
                raise ValueError(f"unknown S3 operation {self.operation!r}; one of {sorted(S3_OPERATIONS)}")
            odd = set(self.match) - set(S3_MATCH_KEYS)
            if odd:
                raise ValueError(f"an S3 rule matches on {list(S3_MATCH_KEYS)} only, not {sorted(odd)}")
        elif "key_prefix" in self.match:
            raise ValueError("'key_prefix' is for S3 rules")
        if self.service == "customer-profiles":
            odd = set(self.match) - set(CUSTOMER_PROFILES_MATCH_KEYS)
            if odd:
                raise ValueError(f"a customer-profiles rule matches on {list(CUSTOMER_PROFILES_MATCH_KEYS)} only, "
                                 f"not {sorted(odd)}")

    def status_for(self, default_status: int) -> int:
        if self.status is not None:
            return self.status
        own = SERVICE_STATUS.get(self.service, {})
        return own.get(self.error or "", STATUS.get(self.error or "", default_status))

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


def _matches(match: dict, attrs: dict) -> bool:
    for k, v in match.items():
        if k == "key_prefix":
            key = attrs.get("key")
            if key is None or not key.startswith(v):
                return False
        elif attrs.get(k) != v:
            return False
    return True


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

    def has(self, service: str) -> bool:
        """Whether any rule stands for `service` (a quick test before classifying a request)."""
        return any(r.service == service for r in self.rules)

    def take(self, service: str, operation: str, attrs: dict) -> Rule | None:
        """The first call-level rule that fires for this call (one of its `times` is used)."""
        with self.lock:
            for r in self.rules:
                if r.service != service or r.outcome is not None:
                    continue
                if r.operation and r.operation != operation:
                    continue
                if not _matches(r.match, attrs):
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

    def outcome_failure(self, kind: str, attrs: dict) -> str | None:
        """The failureReason a resource created now must end with, if a `kind` rule
        ("fail_training", "fail_campaign_update") matching `attrs` stands (one of its times is used)."""
        with self.lock:
            for r in self.rules:
                spec = getattr(r, kind)
                if spec is None:
                    continue
                if any(spec.get(k) is not None and spec[k] != attrs.get(k) for k in OUTCOME_RULES[kind]):
                    continue
                if r.times is not None:
                    if r.times <= 0:
                        continue
                    r.times -= 1
                return spec.get("reason") or "Simulated failure (injected by the emulator)"
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
