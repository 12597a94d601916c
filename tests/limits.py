"""The workflow's worst cases against AWS's hard limits, computed from what is deployed:
statemachine/erasure.asl.json (states, retries, loops), template.yaml (parameter ranges, memory)
and shared/src/limits.rs (the bounds the code enforces). docs/LIMITS.md quotes the table this
renders, and tests/test_limits.py fails when a change breaks a bound or the document goes stale.

    python -m tests.limits        # prints the table

Events per state, as Step Functions records them in an execution's history ("HistoryEvent",
Step Functions API reference: the event types):
  Task (a Lambda function ARN): TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted,
      LambdaFunctionSucceeded, TaskStateExited = 5; each failed attempt that a Retry takes adds
      LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionFailed (or TimedOut) = 3.
  Pass, Wait, Choice, Succeed: <Type>StateEntered and <Type>StateExited = 2. Fail: 1.
  Parallel: ParallelStateEntered, ParallelStateStarted, ParallelStateSucceeded,
      ParallelStateExited = 4, plus its branches' states.
  Map (distributed): MapStateEntered, MapStateStarted, MapRunStarted, MapRunSucceeded,
      MapStateSucceeded, MapStateExited = 6; each child execution has a history of its own
      ("Distributed mode": child workflow executions).
  The execution itself: ExecutionStarted and ExecutionSucceeded (or Failed, ...) = 2.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASL = ROOT / "statemachine" / "erasure.asl.json"
TEMPLATE = ROOT / "template.yaml"
LIMITS_RS = ROOT / "shared" / "src" / "limits.rs"

# "Step Functions service quotas": execution history, 25,000 events.
HISTORY_EVENTS = 25_000
MIB = 1024 * 1024

EVENTS = {"Pass": 2, "Wait": 2, "Choice": 2, "Succeed": 2, "Fail": 1}
TASK_EVENTS = 5
FAILED_ATTEMPT_EVENTS = 3
PARALLEL_EVENTS = 4
DISTRIBUTED_MAP_EVENTS = 6
EXECUTION_EVENTS = 2


def rust_constants() -> dict[str, int]:
    """`pub const NAME: type = value;` of shared/src/limits.rs."""
    out = {}
    for name, value in re.findall(r"pub const (\w+): \w+ = ([0-9_]+);", LIMITS_RS.read_text()):
        out[name] = int(value.replace("_", ""))
    return out


def template() -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(TEMPLATE.read_text())


def asl() -> dict:
    return json.loads(ASL.read_text())


def task_events(state: dict) -> int:
    """A Task's worst case: every Retry rule spent to its MaxAttempts (3 by default)."""
    retries = sum(rule.get("MaxAttempts", 3) for rule in state.get("Retry", []))
    return TASK_EVENTS + FAILED_ATTEMPT_EVENTS * retries


def state_events(state: dict) -> int:
    kind = state["Type"]
    if kind == "Task":
        return task_events(state)
    if kind == "Parallel":
        # A branch's loops (the models step's checks before and after the deletion jobs) run at
        # most MAX_MODEL_POLLS rounds each; a loop without a known bound fails below.
        total = PARALLEL_EVENTS
        for b in state["Branches"]:
            looped = cycles(b["States"])
            rounds = {"polls": rust_constants()["MAX_MODEL_POLLS"]} if looped else {}
            total += branch_events(b, rounds)
        return total
    if kind == "Map":
        mode = (state.get("ItemProcessor") or {}).get("ProcessorConfig", {}).get("Mode", "INLINE")
        if mode != "DISTRIBUTED":
            raise AssertionError("an inline Map puts every iteration in the parent's history")
        return DISTRIBUTED_MAP_EVENTS
    return EVENTS[kind]


def cycles(states: dict) -> set[str]:
    """States on a loop (reachable from themselves through Next, Default, Choices, Catch)."""

    def successors(name: str) -> set[str]:
        s = states[name]
        out = {s.get("Next"), s.get("Default")}
        out |= {c.get("Next") for c in s.get("Choices", [])}
        out |= {c.get("Next") for c in s.get("Catch", [])}
        return {n for n in out if n}

    looped = set()
    for start in states:
        seen, todo = set(), list(successors(start))
        while todo:
            n = todo.pop()
            if n == start:
                looped.add(start)
                break
            if n not in seen:
                seen.add(n)
                todo.extend(successors(n))
    return looped


def machine_events(machine: dict, rounds: dict[str, int]) -> tuple[int, set[str]]:
    """An upper bound of the events one execution of `machine` records: every state once (a
    path visits fewer), the states on its loop `rounds` times. Returns (events, looped states)."""
    states = machine["States"]
    looped = cycles(states)
    if looped and not rounds:
        raise AssertionError(f"a loop ({sorted(looped)}) without a bound on its rounds")
    n_rounds = max(rounds.values()) if rounds else 1
    total = 0
    for name, s in states.items():
        total += state_events(s) * (n_rounds if name in looped else 1)
    return total, looped


def branch_events(machine: dict, rounds: dict[str, int]) -> int:
    """A Parallel branch's worst case: every state once, each of its loops `rounds` times (every
    loop of the branch is one of the models step's, bounded the same way)."""
    states = machine["States"]
    looped = cycles(states)
    for name in looped:
        assert any(states[n]["Type"] == "Task" and "PersonalizeModels" in states[n]["Resource"]
                   for n in looped), f"a loop through {name} that is not the models step's"
    return machine_events(machine, rounds)[0]


@dataclass
class Row:
    what: str
    worst: str
    limit: str
    ok: bool


def history_rows(c: dict[str, int]) -> list[Row]:
    machine = asl()
    parent, looped = machine_events(machine, {})
    assert not looped, "the parent execution must not loop"
    parent += EXECUTION_EVENTS
    branches = machine["States"]["Erase"]["Branches"]
    jobs = branches[0]["States"]["DeletionJobs"]["ItemProcessor"]
    shards = branches[1]["States"]["Shards"]["ItemProcessor"]
    # One round of a job's loop is one status check: at most MAX_JOB_POLLS of them.
    job, job_loop = machine_events(jobs, {"polls": c["MAX_JOB_POLLS"]})
    job += EXECUTION_EVENTS
    assert any(jobs["States"][n]["Type"] == "Task" for n in job_loop), "each round of a job is a check"
    # One round of a shard is one invocation: the first, then one per hand-back.
    shard, shard_loop = machine_events(shards, {"rounds": c["MAX_SHARD_HANDBACKS"] + 1})
    shard += EXECUTION_EVENTS
    assert any(shards["States"][n]["Type"] == "Task" for n in shard_loop), "each round of a shard is an invocation"
    return [
        Row("history: parent execution (every state once, every retry spent)", f"{parent} events",
            f"{HISTORY_EVENTS} events", parent <= HISTORY_EVENTS),
        Row(f"history: one deletion job's child execution ({c['MAX_JOB_POLLS']} checks, every retry spent)",
            f"{job} events", f"{HISTORY_EVENTS} events", job <= HISTORY_EVENTS),
        Row(f"history: one shard's child execution ({c['MAX_SHARD_HANDBACKS']} hand-backs, every retry spent)",
            f"{shard} events", f"{HISTORY_EVENTS} events", shard <= HISTORY_EVENTS),
    ]


def parameter(t: dict, name: str) -> dict:
    return t["Parameters"][name]


def memory(t: dict, function: str) -> int:
    props = t["Resources"][function]["Properties"]
    return int(props.get("MemorySize", t["Globals"]["Function"]["MemorySize"]))


def size_rows(c: dict[str, int]) -> list[Row]:
    t = template()
    max_users = int(parameter(t, "MaxRequestUsers")["MaxValue"])
    max_bytes = int(parameter(t, "MaxRequestBytes")["MaxValue"])
    min_part = int(parameter(t, "MaxPartBytes")["MinValue"])
    groups = 10  # DatasetGroupArns' pattern: 1 to 10 ARNs
    # Preparation: the fingerprints of every distinct user, plus what the function holds besides
    # them (measured by `make bench` at 42 MB for a 100 MB request; 128 MiB allowed: 8 MiB part
    # pieces, the S3 body stream, 16 shard uploads in flight, the runtime).
    prepare_base = 128 * MIB
    prepare_need = prepare_base + c["FINGERPRINT_BYTES_PER_USER"] * max_users
    prepare_mem = memory(t, "PrepareRequestFunction") * MIB
    # Shards: preparation raises ShardUsers to MaxRequestUsers / MAX_SHARDS.
    shards = c["MAX_SHARDS"]
    # Finalize holds the shard manifest (about 300 bytes a shard), the results of failed children
    # (about 1 KiB each, at most one per shard) and one item per shard (about 300 bytes); 64 MiB
    # allowed for the runtime, the SDK and the evidence being written.
    finalize_need = 64 * MIB + shards * (300 + 1024 + 300)
    finalize_mem = memory(t, "FinalizeErasureFunction") * MIB
    # The erase function holds one shard's users (at most 256 characters, 4 bytes each, as
    # Strings) and its progress; shards are at most max(ShardUsers) users.
    shard_users = max(int(parameter(t, "ShardUsers")["MaxValue"]), -(-max_users // shards))
    erase_need = 64 * MIB + shard_users * (1024 + 48) + shard_users * 64
    erase_mem = memory(t, "ErasePinpointEndpointsFunction") * MIB
    parts = -(-max_bytes // min_part)
    jobs = parts * groups
    return [
        Row("memory: prepare-request (MaxRequestUsers at its MaxValue)",
            f"{prepare_need // MIB} MiB ({max_users:,} users × {c['FINGERPRINT_BYTES_PER_USER']} B + 128 MiB)",
            f"{prepare_mem // MIB} MiB (MemorySize)", prepare_need <= prepare_mem),
        Row(f"memory: finalize-erasure ({shards:,} shards)", f"{finalize_need // MIB} MiB",
            f"{finalize_mem // MIB} MiB (MemorySize)", finalize_need <= finalize_mem),
        Row(f"memory: erase-pinpoint-endpoints (a shard of {shard_users:,} users)", f"{erase_need // MIB} MiB",
            f"{erase_mem // MIB} MiB (MemorySize)", erase_need <= erase_mem),
        Row("shards of one request (child executions of the Pinpoint map)", f"{shards:,}",
            "10,000 child executions run at once at most; more wait", True),
        Row("deletion jobs of one request (MaxRequestBytes / MaxPartBytes MinValue × 10 groups)",
            f"{jobs:,}", "5 run at once (pending jobs per dataset group)", True),
    ]


# "IAM and AWS STS quotas": a role's inline policies together, 10,240 characters; a bucket
# policy, 20 KB; IAM does not count whitespace.
ROLE_INLINE_POLICY_CHARS = 10_240
BUCKET_POLICY_BYTES = 20 * 1024


def policy_rows() -> list[Row]:
    """Each role's inline policies and the bucket policy, resolved with the largest parameter
    values the template accepts (tests/cfn/transform.py `extreme_parameters`)."""
    from tests.cfn.transform import extreme_parameters
    from tests.iam.deployment import resolved

    t = resolved(extreme_parameters())
    assert not t.errors, t.errors
    out = []
    worst_role, worst = "", 0
    for logical, res in t.resources.items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        policies = t.value((res.get("Properties") or {}).get("Policies") or [], logical)
        chars = sum(len(json.dumps(p["PolicyDocument"], separators=(",", ":"))) for p in policies)
        if chars > worst:
            worst_role, worst = logical, chars
    out.append(Row(f"IAM: inline policies of the largest role ({worst_role}), 10 groups, 10 applications and 10 domains",
                   f"{worst:,} characters", f"{ROLE_INLINE_POLICY_CHARS:,} characters",
                   worst <= ROLE_INLINE_POLICY_CHARS))
    bucket_policy = next(r for r in t.resources.values() if r["Type"] == "AWS::S3::BucketPolicy")
    doc = t.value(bucket_policy["Properties"]["PolicyDocument"], "bucket policy")
    size = len(json.dumps(doc, separators=(",", ":")).encode())
    out.append(Row("IAM: the bucket policy", f"{size:,} bytes", f"{BUCKET_POLICY_BYTES:,} bytes",
                   size <= BUCKET_POLICY_BYTES))
    return out


def rows() -> list[Row]:
    c = rust_constants()
    return history_rows(c) + size_rows(c) + policy_rows()


def render() -> str:
    lines = ["| bound | worst case | AWS's limit | holds |", "|---|---|---|---|"]
    for r in rows():
        lines.append(f"| {r.what} | {r.worst} | {r.limit} | {'yes' if r.ok else 'NO'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
