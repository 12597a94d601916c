"""What the emulation's own tests share (their fixtures are in conftest.py here): a stand-in for
`cargo lambda watch`, starting and stopping the emulation as `python -m tests.emulation`, and
driving it with boto3 and its control API."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config

from tests.emulation import ACCOUNT, REGION
from tests.harness import ROOT, free_port

ROLE = f"arn:aws:iam::{ACCOUNT}:role/personalize-deletion"
SFN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn"
NO_RETRY = Config(retries={"total_max_attempts": 1})
WAIT_MACHINE = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "Next": "After"},
                                           "After": {"Type": "Pass", "End": True}}}
PASS_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1}, "End": True}}}


# --- a stand-in for `cargo lambda watch` ---------------------------------------------------------


class FakeLambdas:
    """POST /2015-03-31/functions/NAME/invocations. Behaviour by function name:

    echo      -> 200 {"fn", "got": event}
    boom      -> 500 {"errorType": "Throttled", "errorMessage": "slow down"}  (always)
    flaky     -> like boom for the first `flaky_failures` calls, then like echo
    slow      -> sleeps 1.5 s, then like echo
    callback  -> calls back into the emulator (S3 ListBuckets) before answering, like echo
    notjson   -> 502 with a non-JSON body
    leaky     -> 500 {"errorType": "ErasureFailed", "errorMessage": "... <the event> ..."}
    sized     -> 200 with a JSON string of exactly event["size"] bytes (as cargo lambda answers a result)
    """

    def __init__(self):
        self.calls: dict[str, list] = {}
        self.flaky_failures = 2
        self.emulator_url = None
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                name = self.path.split("/")[3]
                n = int(self.headers.get("Content-Length") or 0)
                event = json.loads(self.rfile.read(n) or b"null")
                status, body = owner.answer(name, event)
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, name, event):
        with self.lock:
            self.calls.setdefault(name, []).append(event)
            count = len(self.calls[name])
        error = {"errorType": "Throttled", "errorMessage": "slow down"}
        if name == "boom" or (name == "flaky" and count <= self.flaky_failures):
            return 500, error
        if name == "notjson":
            return 502, b"Bad Gateway"
        if name == "leaky":
            return 500, {"errorType": "ErasureFailed", "errorMessage": f"could not erase {json.dumps(event)}"}
        if name == "sized":
            return 200, b'"' + b"x" * ((event or {}).get("size", 2) - 2) + b'"'
        if name == "slow":
            time.sleep(1.5)
        if name == "callback":
            s3 = client("s3", self.emulator_url)
            event = {"buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]], "in": event}
        return 200, {"fn": name, "got": event}

    def reset(self):
        with self.lock:
            self.calls.clear()
            self.flaky_failures = 2

    def wait_calls(self, name, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = list(self.calls.get(name, []))
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return got


# --- the emulation -------------------------------------------------------------------------------


def client(service, url, **kw):
    if service == "s3":
        kw.setdefault("config", Config(s3={"addressing_style": "path"}))
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="AKIDTEST",
                        aws_secret_access_key="secret", **kw)


def http(method, url, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, dict(r.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, dict(e.headers), (json.loads(raw) if raw else None)


def start_emulator(lambda_url, log_path):
    port = free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulation", "--port", str(port), "--lambda-endpoint", lambda_url,
         "--async-retry-delays", "0.2,0.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    assert line.strip() == f"emulator ready on http://127.0.0.1:{port}", line
    return proc, f"http://127.0.0.1:{port}", log


def stop_emulator(proc, log):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(15)
    finally:
        log.close()
    return rc


class Emu:
    """One running emulation, driven through boto3 and its control API."""

    def __init__(self, url, lambdas, log_path):
        self.url = url
        self.lambdas = lambdas
        self.log_path = log_path

    def ctl(self, method, path, body=None):
        status, _, out = http(method, f"{self.url}/_emulator/{path}", body)
        assert status == 200, (status, out)
        return out

    def client(self, service, **kw):
        return client(service, self.url, **kw)

    def calls(self, **filters):
        q = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.ctl("GET", "calls" + (f"?{q}" if q else ""))

    # seeding

    def dataset_group(self, name="dsg"):
        return self.ctl("POST", "personalize/dataset-groups", {"name": name})["datasetGroupArn"]

    def bucket(self, name="erasure-input"):
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        return s3

    def function(self, name):
        iam = self.client("iam")
        try:
            role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            role = iam.get_role(RoleName="fn-role")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "not run: invocations are forwarded")
        return self.client("lambda").create_function(
            FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
            Code={"ZipFile": buf.getvalue()})["FunctionArn"]


# --- Personalize and Step Functions --------------------------------------------------------------


def wait_status(p, arn, statuses, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        job = p.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def create_job(p, name, dsg, location):
    return p.create_data_deletion_job(jobName=name, datasetGroupArn=dsg, roleArn=ROLE,
                                      dataSource={"dataLocation": location})["dataDeletionJobArn"]


def run_execution(emu, definition, payload, timeout=30.0):
    sfn = emu.client("stepfunctions")
    sm = sfn.create_state_machine(name=f"sm-{time.time_ns()}", definition=json.dumps(definition),
                                  roleArn=SFN_ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    history = sfn.get_execution_history(executionArn=ex)["events"]
    return d, history


def state_machine(emu, name, definition):
    return emu.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=SFN_ROLE)["stateMachineArn"]


def wait_execution(sfn, arn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            return d
        time.sleep(0.1)
