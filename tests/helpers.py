"""Helpers the end-to-end tests share (their fixtures are in tests/conftest.py): deploying with
fresh dataset groups and applications, seeding listed users and bystanders, request files, what
is left after an erasure, the call log, the function processes, and the operator's CLI."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.emulation import REGION
from tests.harness import ROOT, AppConfig, Stack

# Users no request lists: every erasure must leave them as they were.
BYSTANDERS = {f"bystander-{i}": 2 for i in range(4)}


def fresh(stack: Stack):
    """Resets the emulation, with Personalize deletion jobs that take a second per status."""
    stack.reset()
    stack.control("POST", "personalize/config", {"pending_seconds": 1, "in_progress_seconds": 1})


def deploy(stack: Stack, groups=1, apps=1, **kw):
    """Deploys with `groups` new dataset groups and `apps` new Pinpoint applications (kw: AppConfig)."""
    dsgs = [stack.dataset_group(f"interactions-{i}") for i in range(groups)]
    app_ids = [stack.pinpoint_app(f"app-{i}") for i in range(apps)]
    stack.deploy(AppConfig(dataset_group_arns=dsgs, application_ids=app_ids, **kw))
    return dsgs, app_ids


def seed(stack: Stack, dsgs, apps, listed: dict[str, int]):
    """Listed users get 3 records and the given number of endpoints; bystanders 3 and 2."""
    for d in dsgs:
        stack.seed_records(d, {**{u: 3 for u in listed}, **{u: 3 for u in BYSTANDERS}})
    for a in apps:
        stack.seed_endpoints(a, {**{u: n for u, n in listed.items() if n}, **BYSTANDERS})


def csv_of(users) -> bytes:
    return ("USER_ID\n" + "".join(f"{u}\n" for u in users)).encode()


def assert_only_listed_erased(stack: Stack, dsgs, apps, listed):
    for a in apps:
        left = stack.endpoints(a)
        assert not any(left.get(u) for u in listed), "a listed user kept endpoints"
        assert {u: len(left.get(u, [])) for u in BYSTANDERS} == BYSTANDERS, "a bystander's endpoints changed"
    for d in dsgs:
        rec = stack.records(d)
        assert not any(rec.get(u) for u in listed), "a listed user kept Personalize records"
        assert {u: rec.get(u) for u in BYSTANDERS} == {u: 3 for u in BYSTANDERS}


def calls(stack: Stack, operation: str) -> list[dict]:
    return [c for c in stack.control("GET", "calls") if c["operation"] == operation]


def settle(env: Stack, quiet_seconds: float = 3.0):
    """Waits until no Pinpoint call has been made for quiet_seconds."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < quiet_seconds:
        n = len(calls(env, "DeleteUserEndpoints"))
        if n != last:
            last, since = n, time.monotonic()
        time.sleep(0.5)


def function_pids(name: str) -> list[int]:
    """PIDs of the running function binary (started by cargo lambda watch)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            exe = os.readlink(d / "exe")
        except OSError:
            continue
        if exe.endswith("/" + name):
            pids.append(int(d.name))
    return pids


def erasure_retry(env: Stack, receipt_uri: str) -> subprocess.CompletedProcess:
    """`erasure retry` as an operator runs it, against the emulation."""
    cli_env = dict(os.environ, AWS_ENDPOINT_URL=env.endpoint, AWS_REGION=REGION,
                   AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", S3_FORCE_PATH_STYLE="true",
                   ERASURE_STATE_MACHINE_ARN=env.state_machine_arn)
    return subprocess.run([str(ROOT / "target" / "debug" / "erasure"), "retry", "--receipt", receipt_uri],
                          capture_output=True, text=True, timeout=60, env=cli_env)
