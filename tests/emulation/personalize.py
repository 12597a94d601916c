"""Amazon Personalize data deletion jobs (awsJson1_1, X-Amz-Target: AmazonPersonalize.<Op>).

Operations: CreateDataDeletionJob, DescribeDataDeletionJob, ListDataDeletionJobs,
CreateDatasetGroup, DescribeDatasetGroup, ListDatasetGroups, and the model resources' (datasets,
import/export jobs, solutions and versions, campaigns, recommenders, batch jobs, event trackers,
tags: personalize_models.py, which this class delegates to). Any other operation is handed to moto
(which knows Personalize schemas and nothing else).

A job is PENDING for `pending_seconds`, IN_PROGRESS for `in_progress_seconds`, then COMPLETED or
FAILED. Status is worked out from the creation time whenever the state is looked at (every API
call, every control call, and a ticker every 0.2 s). When a job leaves IN_PROGRESS it reads its
user list from the emulated S3 as it is at that moment: a missing object or a malformed file
makes it FAILED with a failureReason; otherwise it removes the records the dataset group holds
for those users and reports how many in numDeleted.

The records a dataset group holds are a count per user ID (interactions, users, events, ...),
seeded through the control API.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import re
import threading
import time

from . import ACCOUNT
from .faults import Faults, ServiceError

LOG = logging.getLogger("emulator.personalize")

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")
ROLE_ARN = re.compile(r"^arn:([a-z\d-]+):iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
DATASET_GROUP_ARN = re.compile(r"^arn:([a-z\d-]+):personalize:.*:.*:.+$")
LOCATION = re.compile(r"^s3://([^/]+)/(.*)$")
MAX_USER_ID = 256

OPERATIONS = ("CreateDataDeletionJob", "DescribeDataDeletionJob", "ListDataDeletionJobs",
              "CreateDatasetGroup", "DescribeDatasetGroup", "ListDatasetGroups")
# The served operations whose model lists no InvalidInputException (botocore's personalize
# service-2.json): a request they cannot read answers the common ValidationError instead
# ("The input fails to satisfy the constraints specified by an AWS service", HTTP 400, Common
# Errors - Amazon Personalize, https://docs.aws.amazon.com/personalize/latest/dg/CommonErrors.html).
WITHOUT_INVALID_INPUT = frozenset({"ListDatasetGroups"})
DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")


def invalid(operation: str, message: str) -> ServiceError:
    """The error for a request an operation cannot accept, as its model lets it answer."""
    code = "ValidationError" if operation in WITHOUT_INVALID_INPUT else "InvalidInputException"
    return ServiceError(code, message)


class Personalize:
    def __init__(self, lock: threading.RLock, faults: Faults, read_csvs):
        """read_csvs(bucket, key_or_prefix) -> list[(key, bytes)]; raises LookupError(reason)."""
        self.lock = lock
        self.faults = faults
        self.read_csvs = read_csvs
        from .personalize_models import OPERATIONS as MODEL_OPERATIONS  # here: that module imports
        from .personalize_models import Models  # this one's helpers

        self.models_operations = MODEL_OPERATIONS
        self.models = Models(self)
        self.reset()

    # --- state -----------------------------------------------------------------------------

    def reset(self):
        with self.lock:
            self.pending_seconds = 2.0
            self.in_progress_seconds = 3.0
            self.max_pending_per_group = 5
            self.max_input_bytes = 50 * 1024 * 1024  # deletion guide: 50 MB (quotas page: 100 MB)
            self.groups: dict[str, dict] = {}
            self.records: dict[str, dict[str, int]] = {}
            self.jobs: dict[str, dict] = {}  # ARN -> job, in creation order
            self.job_names: dict[tuple[str, str], str] = {}  # (region, name) -> ARN
            self.models.reset()

    def configure(self, cfg: dict) -> dict:
        with self.lock:
            if cfg.get("pending_seconds") is not None:
                self.pending_seconds = float(cfg["pending_seconds"])
            if cfg.get("in_progress_seconds") is not None:
                self.in_progress_seconds = float(cfg["in_progress_seconds"])
            if cfg.get("max_pending_per_group") is not None:
                self.max_pending_per_group = int(cfg["max_pending_per_group"])
            if cfg.get("max_input_bytes") is not None:
                self.max_input_bytes = int(cfg["max_input_bytes"])
            return self.config()

    def config(self) -> dict:
        return {"pending_seconds": self.pending_seconds, "in_progress_seconds": self.in_progress_seconds,
                "max_pending_per_group": self.max_pending_per_group, "max_input_bytes": self.max_input_bytes}

    def create_group(self, name: str, region: str = "us-east-1") -> str:
        if not (1 <= len(name) <= 63 and NAME.match(name)):
            raise ServiceError("InvalidInputException", f"Invalid dataset group name: {name!r}")
        arn = f"arn:aws:personalize:{region}:{ACCOUNT}:dataset-group/{name}"
        with self.lock:
            if arn not in self.groups:
                now = time.time()
                self.groups[arn] = {"name": name, "datasetGroupArn": arn, "status": "ACTIVE",
                                    "creationDateTime": now, "lastUpdatedDateTime": now}
                self.records[arn] = {}
        return arn

    def add_records(self, arn: str, records: dict) -> int:
        with self.lock:
            if arn not in self.groups:
                raise ServiceError("ResourceNotFoundException", f"Could not find resource: {arn}")
            held = self.records[arn]
            for user, n in records.items():
                held[str(user)] = held.get(str(user), 0) + int(n)
            return sum(held.values())

    def get_records(self, arn: str) -> dict[str, int]:
        with self.lock:
            self.advance()
            if arn not in self.groups:
                raise ServiceError("ResourceNotFoundException", f"Could not find resource: {arn}")
            return dict(self.records[arn])

    def list_jobs(self) -> list[dict]:
        with self.lock:
            self.advance()
            return [_public(j) for j in self.jobs.values()]

    # --- the wire API ----------------------------------------------------------------------

    def handles(self, operation: str) -> bool:
        return operation in OPERATIONS or operation in self.models_operations

    invalid = staticmethod(invalid)

    def handle(self, operation: str, body: dict, region: str) -> dict:
        if operation in self.models_operations:
            return self.handle_models(operation, body, region)
        attrs = {k: body[k] for k in ("datasetGroupArn", "jobName") if isinstance(body.get(k), str)}
        if isinstance(body.get("dataDeletionJobArn"), str):
            with self.lock:
                job = self.jobs.get(body["dataDeletionJobArn"])
                if job:
                    attrs.setdefault("datasetGroupArn", job["datasetGroupArn"])
                    attrs.setdefault("jobName", job["jobName"])
        try:
            rule = self.faults.take("personalize", operation, attrs)
            if rule is not None:
                rule.fire()
            with self.lock:
                self.advance()
                out = getattr(self, "op_" + operation)(body, region)
            if operation == "CreateDataDeletionJob":
                attrs["dataDeletionJobArn"] = out["dataDeletionJobArn"]
            self.faults.log("personalize", operation, 200, attrs)
            return out
        except ServiceError as e:
            self.faults.log("personalize", operation, e.status, attrs, error=e.code, injected=e.injected)
            LOG.info("personalize %s -> %s %s", operation, e.status, e.code)
            raise

    def handle_models(self, operation: str, body: dict, region: str) -> dict:
        """A model resource call: fault rules match the ARNs it names and their parents'."""
        attrs = self.models.attrs(body)
        try:
            rule = self.faults.take("personalize", operation, attrs)
            if rule is not None:
                rule.fire()
            with self.lock:
                self.advance()
                out = self.models.handle(operation, body, region)
            if operation == "CreateSolutionVersion":
                attrs["solutionVersionArn"] = out["solutionVersionArn"]
            self.models.count(operation, attrs, ok=True)
            self.faults.log("personalize", operation, 200, attrs)
            return out
        except ServiceError as e:
            self.models.count(operation, attrs, ok=False)
            self.faults.log("personalize", operation, e.status, attrs, error=e.code, injected=e.injected)
            LOG.info("personalize %s -> %s %s", operation, e.status, e.code)
            raise

    # dataset groups (minimal)

    def op_CreateDatasetGroup(self, body, region):
        name = body.get("name") or ""
        arn = f"arn:aws:personalize:{region}:{ACCOUNT}:dataset-group/{name}"
        if arn in self.groups:
            raise ServiceError("ResourceAlreadyExistsException", f"Dataset group {arn} already exists.")
        _check_tags(body.get("tags"))
        domain = body.get("domain")
        if domain is not None and domain not in DOMAINS:
            raise ServiceError("InvalidInputException", f"domain must be one of {', '.join(DOMAINS)}")
        arn = self.create_group(name, region)
        if domain is None:
            return {"datasetGroupArn": arn}
        self.groups[arn]["domain"] = domain
        return {"datasetGroupArn": arn, "domain": domain}

    def op_DescribeDatasetGroup(self, body, region):
        group = self.groups.get(body.get("datasetGroupArn") or "")
        if group is None:
            raise ServiceError("ResourceNotFoundException", f"Could not find resource: {body.get('datasetGroupArn')}")
        return {"datasetGroup": dict(group)}

    def op_ListDatasetGroups(self, body, region):
        groups = sorted(self.groups.values(), key=lambda g: g["creationDateTime"], reverse=True)
        page, token = _page(groups, body, "ListDatasetGroups")
        out = {"datasetGroups": [dict(g) for g in page]}
        if token:
            out["nextToken"] = token
        return out

    # data deletion jobs

    def op_CreateDataDeletionJob(self, body, region):
        name = body.get("jobName")
        dsg = body.get("datasetGroupArn")
        role = body.get("roleArn")
        source = body.get("dataSource")
        missing = [k for k, v in (("jobName", name), ("datasetGroupArn", dsg), ("dataSource", source),
                                  ("roleArn", role)) if v is None]
        if missing:
            raise ServiceError("InvalidInputException", f"Missing required parameter(s): {', '.join(missing)}")
        if not isinstance(name, str) or not (1 <= len(name) <= 63) or not NAME.match(name):
            raise ServiceError("InvalidInputException",
                               "1 validation error detected: Value at 'jobName' failed to satisfy constraint: "
                               "Member must satisfy regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]* "
                               "and length between 1 and 63")
        if not isinstance(role, str) or len(role) > 256 or not ROLE_ARN.match(role):
            raise ServiceError("InvalidInputException",
                               "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: "
                               "Member must be an IAM role ARN")
        location = source.get("dataLocation") if isinstance(source, dict) else None
        m = LOCATION.match(location or "")
        if not m or not m.group(2) or not (m.group(2).endswith("/") or m.group(2).lower().endswith(".csv")):
            raise ServiceError("InvalidInputException",
                               "dataSource.dataLocation must be s3://bucket/path/file.csv or s3://bucket/folder/")
        _check_tags(body.get("tags"))
        if not isinstance(dsg, str) or dsg not in self.groups:
            raise ServiceError("ResourceNotFoundException", f"Could not find resource: {dsg}")
        if (region, name) in self.job_names:
            raise ServiceError("ResourceAlreadyExistsException",
                               f"Data deletion job {self.job_names[(region, name)]} already exists.")
        pending = sum(1 for j in self.jobs.values() if j["datasetGroupArn"] == dsg and j["status"] == "PENDING")
        if pending >= self.max_pending_per_group:
            raise ServiceError("LimitExceededException",
                               f"You have reached the limit of {self.max_pending_per_group} data deletion jobs "
                               f"in PENDING state for dataset group {dsg}.")
        arn = f"arn:aws:personalize:{region}:{ACCOUNT}:data-deletion-job/{name}"
        now = time.time()
        self.jobs[arn] = {
            "jobName": name, "dataDeletionJobArn": arn, "datasetGroupArn": dsg,
            "dataSource": {"dataLocation": location}, "roleArn": role, "status": "PENDING",
            "creationDateTime": now, "lastUpdatedDateTime": now,
            "_starts": now + self.pending_seconds,
            "_ends": now + self.pending_seconds + self.in_progress_seconds,
            "_fail": self.faults.job_failure(dsg),
            "_tags": list(body.get("tags") or []),
        }
        self.job_names[(region, name)] = arn
        LOG.info("personalize deletion job created (%d jobs held)", len(self.jobs))
        return {"dataDeletionJobArn": arn}

    def op_DescribeDataDeletionJob(self, body, region):
        arn = body.get("dataDeletionJobArn")
        if not isinstance(arn, str) or not arn:
            raise ServiceError("InvalidInputException", "Missing required parameter: dataDeletionJobArn")
        job = self.jobs.get(arn)
        if job is None:
            raise ServiceError("ResourceNotFoundException", f"Could not find resource: {arn}")
        return {"dataDeletionJob": _public(job)}

    def op_ListDataDeletionJobs(self, body, region):
        dsg = body.get("datasetGroupArn")
        jobs = [j for j in reversed(list(self.jobs.values())) if dsg is None or j["datasetGroupArn"] == dsg]
        page, token = _page(jobs, body, "ListDataDeletionJobs")
        summary_keys = ("dataDeletionJobArn", "datasetGroupArn", "jobName", "status", "creationDateTime",
                        "lastUpdatedDateTime", "failureReason")
        out = {"dataDeletionJobs": [{k: j[k] for k in summary_keys if k in j} for j in page]}
        if token:
            out["nextToken"] = token
        return out

    # --- time ------------------------------------------------------------------------------

    def advance(self, now: float | None = None):
        """Move every unfinished job and model resource to the status it has now (call with the
        lock held). Transitions run in the order of their times, so that a training that started
        after a deletion job completed does not see the deleted users, and one that started
        before does (at equal times the deletion job comes first)."""
        now = time.time() if now is None else now
        events = []
        for job in self.jobs.values():
            if job["status"] in ("COMPLETED", "FAILED"):
                continue
            if now >= job["_ends"]:
                events.append((job["_ends"], 0, lambda job=job: self._finish(job)))
            elif now >= job["_starts"] and job["status"] == "PENDING":
                events.append((job["_starts"], 0, lambda job=job: self._start(job)))
        events.extend(self.models.due(now))
        for _, _, action in sorted(events, key=lambda e: (e[0], e[1])):
            action()

    @staticmethod
    def _start(job: dict):
        job["status"] = "IN_PROGRESS"
        job["lastUpdatedDateTime"] = job["_starts"]

    def tick(self):
        with self.lock:
            self.advance()

    def _finish(self, job: dict):
        job["lastUpdatedDateTime"] = job["_ends"]
        if job["_fail"]:
            job["status"], job["failureReason"] = "FAILED", job["_fail"]
            LOG.info("personalize deletion job FAILED (injected)")
            return
        bucket, key = LOCATION.match(job["dataSource"]["dataLocation"]).groups()
        try:
            files = self.read_csvs(bucket, key)
            total = sum(len(body) for _, body in files)
            if total > self.max_input_bytes:
                raise LookupError(f"Input data size {total} bytes exceeds the limit of {self.max_input_bytes} bytes.")
            users: set[str] = set()
            for name, body in files:
                users |= _read_user_list(name, body)
        except LookupError as e:
            job["status"], job["failureReason"] = "FAILED", str(e)
            LOG.info("personalize deletion job FAILED (input)")
            return
        held = self.records.get(job["datasetGroupArn"], {})
        deleted = 0
        for user in users:
            deleted += held.pop(user, 0)
        job["status"], job["numDeleted"] = "COMPLETED", deleted
        LOG.info("personalize deletion job COMPLETED: %d users listed, %d records deleted", len(users), deleted)


def _public(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _check_tags(tags):
    if tags is None:
        return
    if not isinstance(tags, list):
        raise ServiceError("InvalidInputException", "tags must be a list")
    if len(tags) > 200:
        raise ServiceError("TooManyTagsException", "A resource can have at most 200 tags.")
    for t in tags:
        if not isinstance(t, dict) or not t.get("tagKey") or "tagValue" not in t:
            raise ServiceError("InvalidInputException", "Each tag needs tagKey and tagValue.")


def _page(items: list, body: dict, operation: str) -> tuple[list, str | None]:
    size = body.get("maxResults")
    if size is None:
        size = 100
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
        raise invalid(operation, "maxResults must be an integer between 1 and 100")
    start = 0
    if body.get("nextToken"):
        try:
            start = int(base64.b64decode(body["nextToken"]).decode())
        except Exception:  # noqa: BLE001 - any unreadable token
            start = -1
        if start < 0:
            raise ServiceError("InvalidNextTokenException", "Invalid next token.")
    page = items[start:start + size]
    token = base64.b64encode(str(start + size).encode()).decode() if start + size < len(items) else None
    return page, token


def _read_user_list(name: str, body: bytes) -> set[str]:
    """The user IDs of one CSV file; LookupError(reason) if it is not a valid user list.

    The reason names the file and line, never a user ID.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LookupError(f"Input file {name} is not valid UTF-8.") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as e:
        raise LookupError(f"Input file {name} is not valid CSV: {e}") from None
    if not rows or rows[0] != ["USER_ID"]:
        raise LookupError(f"Input file {name} must have a header with exactly one column, USER_ID.")
    users = set()
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # blank line
        if len(row) != 1:
            raise LookupError(f"Input file {name} is malformed at line {line}: expected 1 column, found {len(row)}.")
        user = row[0]
        if not user.strip():
            raise LookupError(f"Input file {name} is malformed at line {line}: empty USER_ID.")
        if len(user) > MAX_USER_ID:
            raise LookupError(f"Input file {name} is malformed at line {line}: USER_ID longer than {MAX_USER_ID}.")
        users.add(user)
    return users
