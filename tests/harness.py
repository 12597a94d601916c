"""The local stack: the AWS emulation, the real function binaries served by `cargo lambda watch`,
and the application deployed into the emulation the way template.yaml deploys it on AWS (read from
the template itself: tests/cfn/emulated.py).

Used by the demo (tests/demo.py), the benchmark (tests/bench) and the end-to-end tests (tests/e2e/).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import boto3
import jsonschema
from botocore.config import Config

from tests.cfn import emulated
from tests.cfn.transform import SAMPLE_PARAMETERS
from tests.emulation import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parent.parent
# The emulation deploys with the sample values of the parameters that have no default.
BUCKET = SAMPLE_PARAMETERS["RequestBucketName"]
# The deployment's user-hash key (an SSM SecureString in AWS, created before the stack; here in moto's SSM).
HASH_KEY_PARAMETER = SAMPLE_PARAMETERS["UserHashKeyParameterName"]
HASH_KEY = "local-test-user-hash-key-6f1c2a9e0b7d4c3a"
RECEIPT_SCHEMA = ROOT / "shared" / "schema" / "receipt.v3.schema.json"
STATE_MACHINE = emulated.STATE_MACHINE
# The emulated function names (the binaries cargo lambda watch serves), from template.yaml.
FUNCTIONS = list(emulated.function_names().values())
# What the emulation adds to the functions' environment. On AWS, Lambda sets the Region and the
# role's credentials; here every call goes to the emulation, which serves S3 path-style only, and
# each function signs with its own key (Cargo.toml, [workspace.metadata.lambda.bin.*]): the key
# below marks a function that has none, which the IAM check then refuses.
EMULATION_ENV = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "emulation-function-unattributed",
    "AWS_SECRET_ACCESS_KEY": "test",
    "S3_FORCE_PATH_STYLE": "true",
}
# Variables the functions read that no template parameter sets, and which tests may set through
# AppConfig.extra_env (nothing else may be: a template parameter is set through its AppConfig field).
TEST_KNOBS = {
    "FUNCTION_TIMEOUT_SECONDS": "the erase and finalize functions' own timeout when the runtime reports no "
                                "deadline (the template sets 900, the erase function's Timeout); tests lower it "
                                "to reach the deadline in seconds",
    "PINPOINT_HANDBACK_SECONDS": "how long before its deadline the erase function hands its shard back (code "
                                 "default 30 s); tests widen it",
    "PINPOINT_CALL_TIMEOUT_MS": "the Pinpoint client's per-call timeout (code default); tests shorten it",
    "PINPOINT_CONCURRENCY": "the erase function's Pinpoint calls in flight (code default 16; no parameter)",
    "PINPOINT_MAX_ATTEMPTS": "attempts per Pinpoint call (code default 8; no parameter)",
    "RUST_LOG": "the functions' log filter (the template sets info); the benchmark lowers it",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s (last error: {last})")


def _parameter(name: str, default=None, template_default=None):
    """A field that sets template parameter `name`. With template_default, the parameter is passed
    only when the template declares it (template.yaml may not have it yet) and an error is raised
    when a value other than that default is set for a template without it (a test would otherwise
    pass without what it configured)."""
    meta = {"parameter": name}
    if template_default is not None:
        meta["template_default"] = template_default
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class AppConfig:
    """A deployment's configuration: template parameter values the tests choose, and test knobs.

    Every field but extra_env is one parameter of template.yaml (named in its metadata; None: the
    template's default). The values go to the template as they are, without its MinValue or
    AllowedPattern checks: the emulation is a test deployment, and tests use values CloudFormation
    would refuse (shard_users=5, max_part_bytes=40, poll_seconds=1, max_job_wait_seconds=4...) to
    reach the workflow's bounds in seconds.
    """

    dataset_group_arns: list[str] = field(metadata={"parameter": "DatasetGroupArns"})
    application_ids: list[str] = field(metadata={"parameter": "PinpointApplicationIds"})
    poll_seconds: int = _parameter("PollIntervalSeconds", 1)
    shard_users: int = _parameter("ShardUsers", 50)
    pinpoint_rate: float = _parameter("PinpointRequestsPerSecond", 400.0)
    max_part_bytes: int = _parameter("MaxPartBytes", 50_000_000)
    # Small enough that shards of 20 users stay 20 (preparation raises ShardUsers to
    # MaxRequestUsers / 10,000 so that no request has more than 10,000 shards).
    max_request_users: int = _parameter("MaxRequestUsers", 200_000)
    bad_row_policy: str = _parameter("BadRowPolicy", "reject-file")
    max_job_wait_seconds: int = _parameter("MaxJobWaitSeconds", 600)
    max_request_bytes: int | None = _parameter("MaxRequestBytes")
    shard_concurrency: int | None = _parameter("PinpointShardConcurrency")
    receipt_lock_mode: str | None = _parameter("ReceiptLockMode")
    receipt_lock_days: int | None = _parameter("ReceiptLockDays")
    # Customer Profiles domains (None or []: none, the template's default) and the search key the
    # template requires with them (its rule ProfilesSearchKeyWithDomains; not checked here).
    profiles_domains: list[str] | None = _parameter("CustomerProfilesDomainNames")
    profiles_search_key: str | None = _parameter("CustomerProfilesSearchKey")
    # As pinpoint_rate: above the template's defaults, so that tests do not wait on the pacing.
    profiles_search_rate: float = _parameter("CustomerProfilesSearchRequestsPerSecond", 400.0)
    profiles_delete_rate: float = _parameter("CustomerProfilesDeleteRequestsPerSecond", 400.0)
    pacing_headroom: float | None = _parameter("PacingHeadroom")
    # The models step (before and after the deletion jobs): tests check every second.
    quiesce_policy: str | None = _parameter("QuiescePolicy")
    # Short waits, so that a check every second stays within MAX_MODEL_POLLS (the models step
    # checks at most every wait / 300 seconds).
    quiesce_max_wait_seconds: int = _parameter("QuiesceMaxWaitSeconds", 120)
    retrain_after_deletion: str | None = _parameter("RetrainAfterDeletion")
    model_poll_seconds: int = _parameter("ModelPollSeconds", 1)
    max_model_wait_seconds: int = _parameter("MaxModelWaitSeconds", 300)
    # Who may order an erasure (issue 18): the roles allowed to upload under the request prefix
    # (comma-joined; empty: the template's default, uploading is a matter of IAM), whether the
    # receipt keeps the uploader's session name ("drop" | "keep"), and where plans are uploaded.
    request_uploader_principal_arns: list[str] = _parameter("RequestUploaderPrincipalArns", [], template_default="")
    record_uploader_session_name: str = _parameter("RecordUploaderSessionName", "drop", template_default="drop")
    plan_prefix: str = _parameter("PlanPrefix", "plans/", template_default="plans/")
    # Only TEST_KNOBS: variables no template parameter sets.
    extra_env: dict[str, str] = field(default_factory=dict)


def parameters(cfg: AppConfig) -> dict[str, str]:
    """The template parameter values of a deployment with this configuration. A field with a
    template_default (a parameter the template may not declare yet) is passed only when the
    template declares it; set to anything else for a template without it, it is an error."""
    params = {"RequestBucketName": BUCKET, "UserHashKeyParameterName": HASH_KEY_PARAMETER}
    declared = set(emulated.source().get("Parameters") or {})
    for f in fields(cfg):
        name, value = f.metadata.get("parameter"), getattr(cfg, f.name)
        if not name or value is None:
            continue
        text = ",".join(value) if isinstance(value, list) else str(value)
        if "template_default" in f.metadata and name not in declared:
            if text != f.metadata["template_default"]:
                raise ValueError(f"AppConfig.{f.name} is {value!r}, but template.yaml has no parameter {name}")
            continue
        params[name] = text
    return params


class Stack:
    """Starts and stops the emulation and the functions; deploys the application into it."""

    def __init__(self, log_dir: Path | None = None, quiet: bool = False, release: bool = False):
        # release: serve release builds of the functions (the benchmark); tests use debug builds.
        self.release = release
        self.log_dir = Path(log_dir or ROOT / ".emulation" / "logs")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self.emulator: subprocess.Popen | None = None
        self.watch: subprocess.Popen | None = None
        self.watch_env: dict[str, str] | None = None
        self.emu_port = free_port()
        self.lambda_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.emu_port}"
        self._logs: list = []
        # Every user ID a test put anywhere (request files, endpoints, records): none may reach a log.
        self.seeded: set[str] = set()
        # The calls the application's principals made (GET /_emulator/principal-calls), kept across
        # resets with the template parameter values of the deployment they ran under: tests/iam
        # evaluates them all.
        self.principal_batches: list[tuple[dict[str, str], list[dict]]] = []
        self.deployed: dict[str, str] = {}  # the template parameter values of the last deploy
        # (role ARN, session name) of the uploads a test made to see them refused, since the last
        # reset (upload_as(..., expect_refused=True)): their calls are recorded as expected refused.
        self.expected_refusals: set[tuple[str, str]] = set()

    # --- processes -------------------------------------------------------------------------

    def _log(self, name: str):
        f = open(self.log_dir / f"{name}.log", "ab")
        self._logs.append(f)
        return f

    def start(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.emulator = subprocess.Popen(
            [sys.executable, "-m", "tests.emulation", "--port", str(self.emu_port),
             "--lambda-endpoint", f"http://127.0.0.1:{self.lambda_port}"],
            cwd=ROOT, env=env, stdout=self._log("emulator"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for("the AWS emulation", lambda: self._health(), timeout=60)
        return self

    def _health(self):
        if self.emulator and self.emulator.poll() is not None:
            raise RuntimeError(f"the emulation exited with {self.emulator.returncode}; see {self.log_dir}/emulator.log")
        with urllib.request.urlopen(f"{self.endpoint}/_emulator/health", timeout=2) as r:
            return r.status == 200

    def function_env(self, cfg: AppConfig) -> dict[str, str]:
        """What the functions run with: the Environment template.yaml gives them for cfg's parameter
        values (one environment for all: tests/cfn/emulated.py), what the emulation adds
        (EMULATION_ENV, the endpoint) and cfg's test knobs."""
        unknown = sorted(set(cfg.extra_env) - set(TEST_KNOBS))
        if unknown:
            raise ValueError(f"extra_env sets {unknown}, which are no test knobs (TEST_KNOBS): set template "
                             "parameters through their AppConfig fields")
        return {"AWS_ENDPOINT_URL": self.endpoint, **EMULATION_ENV,
                **emulated.environment(emulated.resolve(parameters(cfg))), **cfg.extra_env}

    def start_functions(self, cfg: AppConfig):
        """(Re)starts `cargo lambda watch` with the functions' configuration."""
        env = self.function_env(cfg)
        self.functions_cfg = cfg
        if self.watch and self.watch.poll() is None and env == self.watch_env:
            return
        self.stop_functions()
        # In this session's own folder: sessions with log folders side by side shared the parent's.
        env_file = self.log_dir / "functions.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        proc_env = dict(os.environ)
        proc_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{proc_env.get('PATH', '')}"
        proc_env.update(env)
        self.watch = subprocess.Popen(
            ["cargo", "lambda", "watch", "--ignore-changes", "--quiet",
             "--invoke-address", "127.0.0.1", "--invoke-port", str(self.lambda_port),
             "--concurrency", "4", "--timeout", "900", "--env-file", str(env_file)]
            + (["--release"] if self.release else []),
            cwd=ROOT, env=proc_env, stdout=self._log("functions"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.watch_env = env

        def listening():
            if self.watch.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited; see {self.log_dir}/functions.log")
            with socket.create_connection(("127.0.0.1", self.lambda_port), timeout=1):
                return True

        wait_for("cargo lambda watch", listening, timeout=120)

    def restart_functions(self):
        """A fresh `cargo lambda watch` with the same configuration: what Lambda does after a
        runtime crash is start a new execution environment."""
        self.stop_functions()
        self.start_functions(self.functions_cfg)

    def stop_functions(self):
        _stop(self.watch)
        self.watch = None

    def stop(self):
        self.stop_functions()
        _stop(self.emulator)
        self.emulator = None
        for f in self._logs:
            f.close()
        self._logs.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- clients ---------------------------------------------------------------------------

    def client(self, service: str, attempts: int = 2):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": attempts}, s3={"addressing_style": "path"}),
        )

    def control(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.endpoint}/_emulator/{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    # --- the application -------------------------------------------------------------------

    def reset(self):
        self.keep_principal_calls()
        self.control("POST", "reset")
        self.expected_refusals = set()

    def keep_principal_calls(self):
        """Moves the calls recorded since the last reset into principal_batches (a reset clears them)."""
        calls = self.control("GET", "principal-calls")["calls"]
        if calls:
            self.principal_batches.append((dict(self.deployed), self.annotated(calls)))

    def annotated(self, calls: list[dict]) -> list[dict]:
        """The recorded calls, those of a session a test expects refused marked "expect": "refused"
        (tests/iam judges them so: refused is right, allowed fails the run)."""
        for call in calls:
            p = call["principal"]
            if p.get("type") == "assumed-role" and (p.get("arn"), p.get("session")) in self.expected_refusals:
                call["expect"] = "refused"
        return calls

    def deploy(self, cfg: AppConfig) -> str:
        """Creates what template.yaml creates for cfg's parameter values, read from the transformed
        template (tests/cfn/emulated.py): roles, buckets (versioning, Object Lock, notification),
        functions (Timeout, MemorySize; their Environment goes to `cargo lambda watch`), the state
        machine with its substitutions, the EventBridge rules. Returns the state machine's ARN."""
        self.deployed = parameters(cfg)
        t = emulated.resolve(self.deployed)
        self.start_functions(cfg)
        iam = self.client("iam")
        for name in emulated.roles(t):
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        # Not the template's: the stack expects the parameter to exist (UserHashKeyParameterName).
        self.client("ssm").put_parameter(Name=HASH_KEY_PARAMETER, Value=HASH_KEY, Type="SecureString",
                                         Overwrite=True)
        s3 = self.client("s3")
        buckets = emulated.buckets(t)
        for b in buckets:
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=b.name, **({"ObjectLockEnabledForBucket": True} if b.object_lock else {}))
            if b.versioning:
                s3.put_bucket_versioning(Bucket=b.name, VersioningConfiguration=b.versioning)
        lam = self.client("lambda")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "served by cargo lambda watch")
        for fn in emulated.functions(t):
            try:
                lam.create_function(FunctionName=fn.name, Runtime="provided.al2023", Role=fn.role_arn,
                                    Handler="bootstrap", Code={"ZipFile": code.getvalue()}, Timeout=fn.timeout,
                                    MemorySize=fn.memory)
            except lam.exceptions.ResourceConflictException:
                lam.update_function_configuration(FunctionName=fn.name, Timeout=fn.timeout, MemorySize=fn.memory)
        sfn = self.client("stepfunctions")
        [sm] = emulated.state_machines(t)
        try:
            sfn.describe_state_machine(stateMachineArn=sm.arn)
            sfn.update_state_machine(stateMachineArn=sm.arn, definition=sm.definition, roleArn=sm.role_arn)
        except sfn.exceptions.StateMachineDoesNotExist:
            sfn.create_state_machine(name=sm.name, definition=sm.definition, type=sm.type, roleArn=sm.role_arn)
        # After the functions, in CloudFormation's order: the transformed template's bucket depends
        # on the permission that lets S3 invoke the start function.
        for b in buckets:
            s3.put_bucket_notification_configuration(Bucket=b.name, NotificationConfiguration=b.notification)
        # The template's rules, among them the one by which an execution stopped, timed out or failed
        # before FinalizeErasure still gets its receipt from the finalize function.
        self.control("POST", "events/rules", {"rules": emulated.event_rules(t)})
        self.state_machine_arn = sm.arn
        return sm.arn

    # --- seeding and reading back ----------------------------------------------------------

    def dataset_group(self, name: str) -> str:
        return self.control("POST", "personalize/dataset-groups", {"name": name})["datasetGroupArn"]

    def seed_records(self, dataset_group_arn: str, records: dict[str, int]):
        self.seeded.update(records)
        self.control("POST", "personalize/records", {"datasetGroupArn": dataset_group_arn, "records": records})

    def records(self, dataset_group_arn: str) -> dict[str, int]:
        q = urllib.request.quote(dataset_group_arn, safe="")
        return self.control("GET", f"personalize/records?datasetGroupArn={q}")["records"]

    # --- Personalize model resources (tests/emulation/personalize_models.py) ---------------
    # Seeded through the control API; the workflow sees them through the real List/Describe calls.

    def personalize_models_config(self, **cfg) -> dict:
        """training_pending_seconds, training_seconds, training_hours, campaign_update_seconds
        (defaults 1, 2, 1.5, 1; a reset restores them). Returns the whole configuration."""
        return self.control("POST", "personalize/models/config", cfg)

    def personalize_dataset(self, group: str, dataset_type: str) -> str:
        return self.control("POST", "personalize/datasets",
                            {"datasetGroupArn": group, "datasetType": dataset_type})["datasetArn"]

    def personalize_import_job(self, dataset_arn: str, location: str, seconds: float = 0) -> str:
        """CREATE IN_PROGRESS for `seconds` from now (0: ACTIVE at once), then ACTIVE."""
        return self.control("POST", "personalize/import-jobs", {"datasetArn": dataset_arn, "dataLocation": location,
                                                                 "seconds": seconds})["datasetImportJobArn"]

    def personalize_export_job(self, dataset_arn: str, path: str, seconds: float = 0) -> str:
        return self.control("POST", "personalize/export-jobs", {"datasetArn": dataset_arn, "path": path,
                                                                 "seconds": seconds})["datasetExportJobArn"]

    def personalize_solution(self, group: str, name: str, fail: str | None = None) -> tuple[str, str]:
        """A solution with one ACTIVE version trained on the group's records now: (solution ARN,
        version ARN). With `fail`, every later training of it ends CREATE FAILED with that reason."""
        out = self.control("POST", "personalize/solutions", {"datasetGroupArn": group, "name": name, "fail": fail})
        return out["solutionArn"], out["solutionVersionArn"]

    def personalize_campaign(self, version_arn: str, name: str, sync: bool = False) -> str:
        return self.control("POST", "personalize/campaigns", {"solutionVersionArn": version_arn, "name": name,
                                                               "syncWithLatestSolutionVersion": sync})["campaignArn"]

    def personalize_recommender(self, group: str, name: str) -> str:
        return self.control("POST", "personalize/recommenders", {"datasetGroupArn": group, "name": name})["recommenderArn"]

    def personalize_batch_inference_job(self, version_arn: str, input: str, output: str, seconds: float = 0) -> str:
        return self.control("POST", "personalize/batch-inference-jobs", {
            "solutionVersionArn": version_arn, "input": input, "output": output,
            "seconds": seconds})["batchInferenceJobArn"]

    def personalize_batch_segment_job(self, version_arn: str, input: str, output: str, seconds: float = 0) -> str:
        return self.control("POST", "personalize/batch-segment-jobs", {
            "solutionVersionArn": version_arn, "input": input, "output": output,
            "seconds": seconds})["batchSegmentJobArn"]

    def personalize_event_tracker(self, group: str, name: str) -> str:
        return self.control("POST", "personalize/event-trackers", {"datasetGroupArn": group, "name": name})["eventTrackerArn"]

    def personalize_models(self, group: str) -> dict:
        """{"solutions": [{"solutionArn", "name", "versions": [{"solutionVersionArn", "status", "trainingMode",
        "tags", "trainedOn" (user IDs; null until training starts), "creationDateTime", ...}] (oldest first),
        "campaigns": [{"campaignArn", "solutionVersionArn", "latestCampaignUpdate", ...}]}], "recommenders",
        "calls": {"CreateSolutionVersion": n, "UpdateCampaign": n} (answered 200), "attempts": (the same,
        errors included)}."""
        q = urllib.request.quote(group, safe="")
        return self.control("GET", f"personalize/models?datasetGroupArn={q}")

    # --- Pinpoint and Customer Profiles --------------------------------------------------

    def pinpoint_app(self, name: str) -> str:
        return self.client("pinpoint").create_app(CreateApplicationRequest={"Name": name})["ApplicationResponse"]["Id"]

    def seed_endpoints(self, application_id: str, users: dict[str, int]):
        self.seeded.update(users)
        self.control("POST", "pinpoint/endpoints", {"applicationId": application_id, "users": users})

    def endpoints(self, application_id: str) -> dict[str, list[str]]:
        q = urllib.request.quote(application_id, safe="")
        return self.control("GET", f"pinpoint/endpoints?applicationId={q}")["users"]

    def profiles_domain(self, name: str) -> str:
        """A Customer Profiles domain (created through the control API); returns its name."""
        self.control("POST", "customer-profiles/domains", {"name": name})
        return name

    def seed_profiles(self, domain: str, users: dict[str, int], key: str = "_account"):
        """`n` profiles per user carrying the user's ID under `key` (0: none)."""
        self.seeded.update(users)
        profiles = [{"key": key, "value": u, "count": n} for u, n in users.items() if n > 0]
        if profiles:
            self.control("POST", "customer-profiles/profiles", {"domainName": domain, "profiles": profiles})

    def profiles(self, domain: str, key: str = "_account") -> dict[str, int]:
        """How many profiles are left per value of `key` in the domain."""
        q = urllib.request.quote(domain, safe="")
        counts: dict[str, int] = {}
        for p in self.control("GET", f"customer-profiles/profiles?domainName={q}")["profiles"]:
            for value in p["keys"].get(key, []):
                counts[value] = counts.get(value, 0) + 1
        return counts

    def upload(self, key: str, body: bytes) -> dict:
        self.remember_ids(body)
        return self.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)

    def upload_request(self, name: str, body: bytes) -> dict:
        """Uploads a request file under the deployed RequestPrefix (with the harness's key)."""
        return self.upload(self.deployed.get("RequestPrefix", "requests/") + name, body)

    def upload_plan(self, name: str, body: bytes) -> dict:
        """Uploads a plan under the deployed PlanPrefix ("plans/" unless AppConfig.plan_prefix sets
        another), as upload_request does under the request prefix. Returns the PutObject answer."""
        return self.upload(self.deployed.get("PlanPrefix", "plans/") + name, body)

    # --- who orders an erasure (issue 18) --------------------------------------------------

    def create_uploader_role(self, name: str, path: str = "/") -> str:
        """An IAM role people assume to upload requests, in moto's IAM: trusted by the account, with
        an inline policy allowing s3:PutObject on every key of the request bucket (its own policy
        allows the upload; the bucket policy decides). Returns its ARN. Created again after a
        reset (which empties moto's IAM), it gets a new RoleId."""
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
        try:
            arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="upload-requests", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                                                    "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
        return arn

    def role_id(self, role_arn: str) -> str:
        """The role's RoleId (AROA...), as IAM's GetRole answers it."""
        return self.client("iam").get_role(RoleName=role_arn.rpartition("/")[2])["Role"]["RoleId"]

    def session_client(self, role_arn: str, session_name: str, service: str = "s3"):
        """A client signed with the credentials of an AssumeRole session of `role_arn` (moto's STS;
        the AssumeRole itself is the harness's, unrecorded). The emulation records the client's
        calls as that role's (tests/emulation/principals.py), and an object it creates carries
        AWS:<RoleId>:<session_name> as the S3 event's principalId."""
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"],
                            config=Config(retries={"total_max_attempts": 2}, s3={"addressing_style": "path"}))

    def upload_as(self, role_arn: str, session_name: str, key: str, body: bytes,
                  expect_refused: bool = False) -> dict:
        """PutObject of `key` in the request bucket by an AssumeRole session of `role_arn` named
        `session_name`; returns the PutObject answer (its VersionId names the upload). moto does not
        enforce the bucket policy: the upload succeeds even when AWS would refuse it, and the IAM
        evaluation shows the refusal (tests.iam.report.judge_recorded_calls). With expect_refused,
        the session's calls are recorded as a deliberate refusal: the session-end IAM check then
        requires them refused instead of allowed."""
        self.remember_ids(body)
        if expect_refused:
            self.expected_refusals.add((role_arn, session_name))
        return self.session_client(role_arn, session_name).put_object(Bucket=BUCKET, Key=key, Body=body)

    def invoke(self, function: str, payload: dict, timeout: float = 300) -> dict:
        """Invokes one function directly (as `cargo lambda invoke` does); raises on a function error."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.lambda_port}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(payload).encode(), method="POST", headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            result = json.loads(r.read() or b"null")
            if r.headers.get("X-Amz-Function-Error") or (isinstance(result, dict) and "errorType" in result):
                raise RuntimeError(f"{function} failed: {result}")
            return result

    def executions(self) -> list[dict]:
        sfn = self.client("stepfunctions")
        return sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]

    def wait_for_execution(self, timeout: float = 180, on_event=None, name: str | None = None) -> dict:
        """Waits until an execution (the only one, or the named one) ends; returns describe_execution."""
        sfn = self.client("stepfunctions")

        def find():
            for e in self.executions():
                if name is None or e["name"] == name:
                    return e["executionArn"]
            return None

        arn = wait_for("the workflow to start", find, timeout=60)
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            d = sfn.describe_execution(executionArn=arn)
            if on_event:
                events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                for ev in events[seen:]:
                    on_event(ev)
                seen = len(events)
            if d["status"] != "RUNNING":
                return d
            if time.monotonic() > deadline:
                raise TimeoutError(f"the execution {arn} still runs after {timeout}s")
            time.sleep(0.5)

    def history(self, execution_arn: str) -> list[dict]:
        """Every event of one execution's history (all pages)."""
        sfn = self.client("stepfunctions")
        events, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **kw)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def child_events(self, execution_arn: str) -> list[dict]:
        """The history events of every child execution the execution's Distributed Maps started
        (each child has a history of its own, as on AWS), found through their map runs."""
        sfn = self.client("stepfunctions")
        runs = [e["mapRunStartedEventDetails"]["mapRunArn"] for e in self.history(execution_arn)
                if e["type"] == "MapRunStarted"]
        events = []
        for run in runs:
            for page in sfn.get_paginator("list_executions").paginate(mapRunArn=run):
                for child in page["executions"]:
                    events.extend(self.history(child["executionArn"]))
        return events

    def invocations(self, function: str) -> dict:
        """{"invocations": n, "errors": {errorType: n}} of one function since the last reset, as
        Lambda saw them. The Pinpoint map's tasks run in child executions of a Distributed Map,
        whose histories moto does not expose (on AWS they are executions of their own)."""
        stats = self.control("GET", "lambda").get("functions", {})
        return stats.get(function, {"invocations": 0, "errors": {}})

    def remember_ids(self, body: bytes):
        """Notes the IDs of a request file (as the workflow would read them, roughly) for the leak check."""
        text = body.decode("utf-8", errors="ignore").lstrip("\ufeff")
        for row in csv.reader(io.StringIO(text, newline="")):
            if len(row) == 1 and row[0].strip() and row[0].strip().upper() != "USER_ID":
                self.seeded.add(row[0].strip())

    def receipt(self, execution_name: str | None = None, key: str | None = None,
                schema: Path | None = RECEIPT_SCHEMA) -> dict:
        """The receipt of an execution (receipts/<execution name>.json), or the one at `key`,
        checked against a JSON Schema (the published receipt schema unless another or None)."""
        key = key or f"receipts/{execution_name}.json"
        body = self.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        receipt = json.loads(body)
        if schema is not None:
            jsonschema.validate(receipt, json.loads(Path(schema).read_text()))
        return receipt

    def receipt_keys(self, prefix: str = "receipts/") -> list[str]:
        """The keys of every receipt (JSON objects) under `prefix`, sorted; evidence files and the
        records tying requests of the same bytes (receipts/received/, plans/, open/) left out."""
        keys = []
        for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json")
                     and not o["Key"].startswith(("receipts/received/", "receipts/plans/", "receipts/open/"))]
        return sorted(keys)

    def wait_for_receipt(self, execution_name: str | None = None, *, contains: str | None = None,
                         timeout: float = 180, schema: Path | None = RECEIPT_SCHEMA) -> dict:
        """Waits for a receipt and returns it (checked as receipt() checks it): the receipt of an
        execution, or the one receipt whose key contains `contains` (e.g. a plan's name or request
        ID; more than one is an error). Plan receipts are written under receipts/ as the others."""
        if (execution_name is None) == (contains is None):
            raise ValueError("name the execution or what the receipt's key contains, not both")

        def find():
            if execution_name is not None:
                return self.receipt(execution_name, schema=schema)
            found = [k for k in self.receipt_keys() if contains in k]
            if len(found) > 1:
                raise AssertionError(f"several receipts match {contains!r}: {found}")
            return self.receipt(key=found[0], schema=schema) if found else None

        return wait_for(f"the receipt of {execution_name or contains!r}", find, timeout=timeout, interval=0.5)

    def evidence(self, receipt: dict, which: str) -> bytes | None:
        ref = (receipt.get("evidence") or {}).get(which)
        if ref is None:
            return None
        return self.client("s3").get_object(Bucket=ref["bucket"], Key=ref["key"])["Body"].read()


def _stop(proc: subprocess.Popen | None):
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def build_functions():
    """Builds the function binaries once, so the first invocation does not compile."""
    cargo = shutil.which("cargo") or "cargo"
    subprocess.run([cargo, "build", "--bins", "--quiet"], cwd=ROOT, check=True)
