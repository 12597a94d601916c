"""Amazon Personalize data deletion jobs (awsJson1_1, X-Amz-Target: AmazonPersonalize.<Op>).

Jobs move PENDING -> IN_PROGRESS -> COMPLETED or FAILED over time. When a job leaves
IN_PROGRESS it reads its user list from the emulated S3 as it is then, deletes the records the
dataset group holds for those users and reports how many (numDeleted), or fails with a
failureReason when the list is missing or malformed.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time

from .faults import Faults

ACCOUNT = "123456789012"
REGION = "us-east-1"
JOB_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        self.code, self.message, self.status = code, message, status


class Personalize:
    def __init__(self, faults: Faults, read_s3):
        self.lock = threading.RLock()
        self.faults = faults
        self.read_s3 = read_s3  # (bucket, key_or_prefix) -> list[bytes] of CSV bodies; raises KeyError
        self.reset()

    def reset(self):
        with self.lock:
            self.groups: dict[str, dict] = {}
            self.records: dict[str, dict[str, int]] = {}
            self.jobs: dict[str, dict] = {}  # by ARN, in creation order
            self.pending_seconds = 2.0
            self.in_progress_seconds = 3.0
            self.max_pending = 5

    def configure(self, cfg: dict):
        with self.lock:
            self.pending_seconds = float(cfg.get("pending_seconds", self.pending_seconds))
            self.in_progress_seconds = float(cfg.get("in_progress_seconds", self.in_progress_seconds))
            self.max_pending = int(cfg.get("max_pending_per_group", self.max_pending))

    # --- control API -----------------------------------------------------------------------

    def create_group(self, name: str) -> str:
        arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/{name}"
        with self.lock:
            now = time.time()
            self.groups.setdefault(arn, {"name": name, "datasetGroupArn": arn, "status": "ACTIVE",
                                         "creationDateTime": now, "lastUpdatedDateTime": now})
            self.records.setdefault(arn, {})
        return arn

    def add_records(self, arn: str, records: dict[str, int]):
        with self.lock:
            if arn not in self.groups:
                raise ServiceError("ResourceNotFoundException", "no such dataset group")
            held = self.records[arn]
            for user, n in records.items():
                held[user] = held.get(user, 0) + int(n)

    def get_records(self, arn: str) -> dict[str, int]:
        with self.lock:
            self._advance_all()
            return dict(self.records.get(arn, {}))

    # --- the API ---------------------------------------------------------------------------

    def handle(self, operation: str, body: dict) -> dict:
        attrs = {k: body[k] for k in ("datasetGroupArn", "jobName", "dataDeletionJobArn") if isinstance(body.get(k), str)}
        if attrs.get("dataDeletionJobArn") and "datasetGroupArn" not in attrs:
            job = self.jobs.get(attrs["dataDeletionJobArn"])
            if job:
                attrs["datasetGroupArn"] = job["datasetGroupArn"]
        rule = self.faults.take("personalize", operation, attrs)
        try:
            if rule is not None:
                if rule.latency_ms:
                    time.sleep(rule.latency_ms / 1000)
                if rule.error:
                    raise ServiceError(rule.error, f"Injected fault: {rule.error}", rule.status or (500 if "Internal" in rule.error else 400))
            fn = getattr(self, "op_" + operation, None)
            if fn is None:
                raise ServiceError("UnknownOperationException", f"{operation} is not emulated")
            with self.lock:
                self._advance_all()
                out = fn(body)
            self.faults.log("personalize", operation, 200, **attrs)
            return out
        except ServiceError as e:
            self.faults.log("personalize", operation, e.status, error=e.code, **attrs)
            raise

    def op_CreateDatasetGroup(self, body):
        name = body.get("name") or ""
        if not JOB_NAME.match(name) or len(name) > 63:
            raise ServiceError("InvalidInputException", "invalid name")
        arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/{name}"
        if arn in self.groups:
            raise ServiceError("ResourceAlreadyExistsException", f"Dataset group {arn} already exists")
        return {"datasetGroupArn": self.create_group(name)}

    def op_DescribeDatasetGroup(self, body):
        g = self.groups.get(body.get("datasetGroupArn", ""))
        if not g:
            raise ServiceError("ResourceNotFoundException", "Could not find resource")
        return {"datasetGroup": g}

    def op_ListDatasetGroups(self, body):
        return {"datasetGroups": list(self.groups.values())}

    def op_CreateDataDeletionJob(self, body):
        name = body.get("jobName") or ""
        dsg = body.get("datasetGroupArn") or ""
        role = body.get("roleArn") or ""
        location = (body.get("dataSource") or {}).get("dataLocation") or ""
        if not (1 <= len(name) <= 63 and JOB_NAME.match(name)):
            raise ServiceError("InvalidInputException", "1 validation error detected: Value at 'jobName' failed to satisfy constraint")
        if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+", role):
            raise ServiceError("InvalidInputException", "roleArn must be an IAM role ARN")
        if not re.match(r"^s3://[^/]+/.+", location):
            raise ServiceError("InvalidInputException", "dataSource.dataLocation must be an s3:// path")
        if len(body.get("tags") or []) > 200:
            raise ServiceError("TooManyTagsException", "too many tags")
        if dsg not in self.groups:
            raise ServiceError("ResourceNotFoundException", f"Could not find resource {dsg}")
        arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:data-deletion-job/{name}"
        if arn in self.jobs:
            raise ServiceError("ResourceAlreadyExistsException", f"Data deletion job {arn} already exists")
        pending = sum(1 for j in self.jobs.values() if j["datasetGroupArn"] == dsg and j["status"] == "PENDING")
        if pending >= self.max_pending:
            raise ServiceError("LimitExceededException", f"You have reached the limit of {self.max_pending} pending data deletion jobs for this dataset group")
        now = time.time()
        self.jobs[arn] = {
            "jobName": name, "dataDeletionJobArn": arn, "datasetGroupArn": dsg,
            "dataSource": {"dataLocation": location}, "roleArn": role, "status": "PENDING",
            "creationDateTime": now, "lastUpdatedDateTime": now,
            "_fail": self.faults.job_failure(dsg),
        }
        return {"dataDeletionJobArn": arn}

    def op_DescribeDataDeletionJob(self, body):
        job = self.jobs.get(body.get("dataDeletionJobArn", ""))
        if not job:
            raise ServiceError("ResourceNotFoundException", "Could not find resource")
        return {"dataDeletionJob": _public(job)}

    def op_ListDataDeletionJobs(self, body):
        dsg = body.get("datasetGroupArn")
        jobs = [j for j in reversed(list(self.jobs.values())) if dsg is None or j["datasetGroupArn"] == dsg]
        size = int(body.get("maxResults") or 100)
        if not 1 <= size <= 100:
            raise ServiceError("InvalidInputException", "maxResults must be between 1 and 100")
        start = int(body.get("nextToken") or 0)
        page = jobs[start:start + size]
        out = {"dataDeletionJobs": [
            {k: v for k, v in _public(j).items() if k not in ("dataSource", "roleArn", "numDeleted")} for j in page
        ]}
        if start + size < len(jobs):
            out["nextToken"] = str(start + size)
        return out

    # --- time ------------------------------------------------------------------------------

    def _advance_all(self):
        now = time.time()
        for job in self.jobs.values():
            if job["status"] in ("COMPLETED", "FAILED"):
                continue
            t0 = job["creationDateTime"]
            if now >= t0 + self.pending_seconds + self.in_progress_seconds:
                self._finish(job, t0 + self.pending_seconds + self.in_progress_seconds)
            elif now >= t0 + self.pending_seconds and job["status"] == "PENDING":
                job["status"] = "IN_PROGRESS"
                job["lastUpdatedDateTime"] = t0 + self.pending_seconds

    def _finish(self, job: dict, at: float):
        job["lastUpdatedDateTime"] = at
        if job["_fail"]:
            job["status"], job["failureReason"] = "FAILED", job["_fail"]
            return
        location = job["dataSource"]["dataLocation"]
        bucket, _, key = location[len("s3://"):].partition("/")
        try:
            bodies = self.read_s3(bucket, key)
            users = set()
            for body in bodies:
                users |= _read_user_list(body)
        except (KeyError, ValueError) as e:
            job["status"], job["failureReason"] = "FAILED", str(e)
            return
        held = self.records.get(job["datasetGroupArn"], {})
        deleted = 0
        for u in users:
            deleted += held.pop(u, 0)
        job["status"], job["numDeleted"] = "COMPLETED", deleted


def _public(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _read_user_list(body: bytes) -> set[str]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError("The input file is not valid UTF-8") from e
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != ["USER_ID"]:
        raise ValueError("The input file must have exactly one column named USER_ID")
    users = set()
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 1:
            raise ValueError(f"Malformed row at line {n}: expected 1 column")
        users.add(row[0])
    return users
