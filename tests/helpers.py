"""Helpers the end-to-end tests share (their fixtures are in tests/conftest.py): deploying with
fresh dataset groups, applications and Customer Profiles domains, seeding listed users and
bystanders, request files, what is left after an erasure, the call log, the function processes,
and the operator's CLI (`erasure retry`, `erasure lookup`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from tests.emulation import ACCOUNT, REGION
from tests.harness import BUCKET, HASH_KEY, ROOT, AppConfig, Stack

# Users no request lists: every erasure must leave them as they were.
BYSTANDERS = {f"bystander-{i}": 2 for i in range(4)}


def fresh(stack: Stack):
    """Resets the emulation, with Personalize deletion jobs that take a second per status."""
    stack.reset()
    stack.control("POST", "personalize/config", {"pending_seconds": 1, "in_progress_seconds": 1})


# The Customer Profiles search key the end-to-end tests deploy with: the user ID is the
# profile's AccountNumber.
PROFILES_KEY = "_account"


def deploy(stack: Stack, groups=1, apps=1, domains=(), **kw):
    """Deploys with `groups` new dataset groups, `apps` new Pinpoint applications and the Customer
    Profiles domains named in `domains` (created here, searched on PROFILES_KEY unless kw sets
    profiles_search_key); kw: AppConfig."""
    dsgs = [stack.dataset_group(f"interactions-{i}") for i in range(groups)]
    app_ids = [stack.pinpoint_app(f"app-{i}") for i in range(apps)]
    if domains:
        for d in domains:
            stack.profiles_domain(d)
        kw = {"profiles_domains": list(domains), "profiles_search_key": PROFILES_KEY, **kw}
    stack.deploy(AppConfig(dataset_group_arns=dsgs, application_ids=app_ids, **kw))
    return dsgs, app_ids


def seed(stack: Stack, dsgs, apps, listed: dict[str, int]):
    """Listed users get 3 records and the given number of endpoints; bystanders 3 and 2."""
    for d in dsgs:
        stack.seed_records(d, {**{u: 3 for u in listed}, **{u: 3 for u in BYSTANDERS}})
    for a in apps:
        stack.seed_endpoints(a, {**{u: n for u, n in listed.items() if n}, **BYSTANDERS})


def seed_profiles(stack: Stack, domains, listed: dict[str, int], key: str = PROFILES_KEY):
    """In each domain, every listed user gets the given number of profiles carrying their ID under
    `key` (none for 0), and every bystander their BYSTANDERS count."""
    for d in domains:
        stack.seed_profiles(d, {**listed, **BYSTANDERS}, key)


def profiles(stack: Stack, domain: str, key: str = PROFILES_KEY) -> dict[str, int]:
    """How many profiles of the domain carry each value of `key` (profiles without it are left out)."""
    return stack.profiles(domain, key)


def csv_of(users) -> bytes:
    return ("USER_ID\n" + "".join(f"{u}\n" for u in users)).encode()


def assert_only_listed_erased(stack: Stack, dsgs, apps, listed, domains=()):
    for d in domains:
        left = profiles(stack, d)
        assert not any(left.get(u) for u in listed), f"a listed user kept profiles in {d}"
        assert {u: left.get(u, 0) for u in BYSTANDERS} == BYSTANDERS, f"a bystander's profiles changed in {d}"
    for a in apps:
        left = stack.endpoints(a)
        assert not any(left.get(u) for u in listed), "a listed user kept endpoints"
        assert {u: len(left.get(u, [])) for u in BYSTANDERS} == BYSTANDERS, "a bystander's endpoints changed"
    for d in dsgs:
        rec = stack.records(d)
        assert not any(rec.get(u) for u in listed), "a listed user kept Personalize records"
        assert {u: rec.get(u) for u in BYSTANDERS} == {u: 3 for u in BYSTANDERS}


def bucket_left(stack: Stack) -> list[str]:
    """The key of every object version and delete marker left in the request bucket, sorted, but
    the records tying requests of the same bytes (receipts/received/, plans/ and open/, checked
    for their form) and the pacing leases' (work/pacing/<until>-<request ID>-<shard>: no user ID), once every erase
    invocation released its lease: none may still be held, and what their deletes leave in the
    versioned bucket (a version and a delete marker each) is the lifecycle rule's to expire."""
    s3 = stack.client("s3")
    versions = s3.list_object_versions(Bucket=BUCKET)
    everything = [v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])]
    leases = [k for k in everything if k.startswith("work/pacing/")]
    assert all(re.fullmatch(r"work/pacing/\d{10}-[0-9a-f]{32}-\d+", k) for k in leases), leases
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="work/pacing/")["KeyCount"] == 0, "a pacing lease is still held"
    # The records that tie requests of the same bytes together (no user ID: a SHA-256, times,
    # a request ID or a receipt's key): when they were first received, their last plan, and
    # whether they are still open on the legal clock (deleted once COMPLETED).
    ties = [k for k in everything if k.startswith(("receipts/received/", "receipts/plans/", "receipts/open/"))]
    assert all(re.fullmatch(r"receipts/(received|plans|open)/[0-9a-f]{64}\.json", k) for k in ties), ties
    return sorted(k for k in everything if not k.startswith("work/pacing/") and k not in ties)


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


def function_pids(stack: Stack, name: str) -> list[int]:
    """PIDs of the function binary `name` run by this stack's `cargo lambda watch` (its children:
    each in a session of its own), so that another test session on the machine is never touched."""
    watch = stack.watch.pid if stack.watch else None
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            exe = os.readlink(d / "exe")
            # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if exe.endswith("/" + name) and watch is not None and ppid == watch:
            pids.append(int(d.name))
    return pids


def erasure_retry(env: Stack, receipt_uri: str) -> subprocess.CompletedProcess:
    """`erasure retry` as an operator runs it, against the emulation."""
    cli_env = dict(os.environ, AWS_ENDPOINT_URL=env.endpoint, AWS_REGION=REGION,
                   AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", S3_FORCE_PATH_STYLE="true",
                   ERASURE_STATE_MACHINE_ARN=env.state_machine_arn)
    return subprocess.run([str(ROOT / "target" / "debug" / "erasure"), "retry", "--receipt", receipt_uri],
                          capture_output=True, text=True, timeout=60, env=cli_env)


OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/erasure-operator"


def operator_env(env: Stack) -> dict[str, str]:
    """The environment of a person who assumed the stack's OperatorRole, against the emulation:
    their calls are recorded as that role's and judged against its policy and the bucket policy
    at the session's end (tests/iam)."""
    key = env.control("POST", "role-key", {"roleArn": OPERATOR_ROLE})["accessKeyId"]
    return dict(os.environ, AWS_ENDPOINT_URL=env.endpoint, AWS_REGION=REGION, AWS_ACCESS_KEY_ID=key,
                AWS_SECRET_ACCESS_KEY="test", S3_FORCE_PATH_STYLE="true",
                ERASURE_STATE_MACHINE_ARN=env.state_machine_arn)


def erasure_status(env: Stack, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`erasure status ARGS` as the operator role runs it."""
    return subprocess.run([str(ROOT / "target" / "debug" / "erasure"), "status", *args],
                          capture_output=True, text=True, timeout=timeout, env=operator_env(env))


def user_hash(user_id: str) -> str:
    """What the workflow stores for a user: HMAC-SHA256 with the deployment's key, first 128 bits."""
    return hmac.new(HASH_KEY.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]


def lookup(stack: Stack, receipt: dict, user_ids: list[str]) -> subprocess.CompletedProcess:
    """Runs `erasure lookup` as an operator would, on copies of the receipt and its evidence."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "receipt.json").write_text(json.dumps(receipt))
        (d / "users.txt").write_bytes(stack.evidence(receipt, "userIndex"))
        (d / "key").write_text(HASH_KEY + "\n")
        args = [str(ROOT / "target" / "debug" / "erasure"), "lookup", "--receipt", str(d / "receipt.json"),
                "--users", str(d / "users.txt"), "--key-file", str(d / "key")]
        failed = stack.evidence(receipt, "failedUsers")
        if failed is not None:
            (d / "failed.csv").write_bytes(failed)
            args += ["--failed", str(d / "failed.csv")]
        return subprocess.run(args, input="\n".join(user_ids) + "\n", capture_output=True, text=True,
                              timeout=60)
