"""`make bench`: the numbers a user feels, measured in one run, printed as one table.

    python -m tests.bench [--only-rules] [--users 32000] [--limits 300,1000] [--profiles-users 6000]
                          [--profiles-limit 100] [--starts 11] [--json PATH]

1. Preparation of a generated 100 MB request file (about 3 million IDs): the `erasure validate`
   command (the rules alone, reading a local file) and the real prepare-request binary behind a
   Runtime API stand-in, reading the file from and writing parts and shards to the emulated S3;
   seconds, MB/s, peak RSS (wait4) and the ratio to `wc -l` on the same file in the same run.
   Beside them, on the same file in the same run, the peers: `wc -l` (the floor), `sort -u`, and
   the few lines of Python a team would write instead (csv.reader + a set), time and peak RSS;
   then validate's peak RSS on 10 MB, 100 MB and 1 GiB files (how memory grows with the request).
   `--only-rules` measures these alone, without the emulation.
2. Pinpoint erasure through the whole workflow (release builds served by cargo lambda, the
   state machine run by moto, shards through the Distributed Map) against the emulation limited
   to each rate in --limits with 20 ms of latency: achieved successful DeleteUserEndpoints per
   second over the Pinpoint phase divided by the limit, share of calls throttled, users lost.
   The workflow is deployed with PacingHeadroom 0, so the budget it aims at is the whole limit.
   Then Customer Profiles the same way: --profiles-users users with one profile each in one
   domain, SearchProfiles and DeleteProfile each limited to --profiles-limit (the documented
   default quota, 100 TPS): achieved successful SearchProfiles per second (two per user: the
   search and the verifying one, so searches are the bound) over the limit, the share of calls
   throttled (both APIs), users whose profile is left.
   Then the emulation's own capacity, driven by the Rust SDK client without a limit (best of 3:
   the emulation is one Python process sharing the machine's cores with the load generator).
3. Cold start of each function binary (process start to its first `next` request to the Runtime
   API stand-in; the AWS clients are built as in production), median of --starts starts; and each
   function's zip from `cargo lambda build --release --arm64 --output-format zip`.
4. Cost of erasing 1 million users (one dataset group, one application) outside Personalize,
   from the measured durations, the S3 requests and the state transitions of the run.

The results are also written as JSON (--json, default .emulation/bench/results.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import prepare as prep
from tests.bench.runtime import RuntimeApi
from tests.harness import FUNCTIONS, HASH_KEY, HASH_KEY_PARAMETER, ROOT, AppConfig, Stack

WORK = ROOT / ".emulation" / "bench"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
RELEASE = TARGET / "release"
LATENCY_MS = 20
SHARD_USERS = 1000
SHARD_CONCURRENCY = 4
PREPARE_BYTES = 100_000_000

# AWS list prices, us-east-1 (checked 2026-11; see BENCHMARKS.md). Personalize and Pinpoint API
# calls are outside the figure: Personalize bills its own job, DeleteUserEndpoints is not billed.
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
SFN_TRANSITION = 0.025 / 1000
S3_PUT = 0.005 / 1000  # PUT, COPY, POST, LIST; DELETE is free
S3_GET = 0.0004 / 1000  # GET and all other requests
S3_PUT_CLASS = {"PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload", "CopyObject",
                "UploadPartCopy", "ListObjectsV2", "ListObjects", "ListObjectVersions", "ListBuckets",
                "PutObjectRetention", "PutObjectTagging"}
MEMORY_MB = {  # template.yaml
    "start-erasure": 128, "prepare-request": 256, "create-deletion-job": 128,
    "check-deletion-job": 128, "erase-pinpoint-endpoints": 128, "finalize-erasure": 256,
    "personalize-models": 128,
}
POLL_SECONDS_DEPLOYED = 300  # template.yaml PollIntervalSeconds default

TARGETS = {
    "prepare_mb_s": 300.0, "prepare_wc_ratio": 3.0, "prepare_rss_mb": 128.0, "validate_rss_mb": 100.0,
    "pinpoint_share": 0.95, "profiles_share": 0.90, "throttled_share": 0.02, "cold_ms": 20.0, "zip_mb": 5.0, "cost": 1.0,
}


def log(msg: str):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), cwd=ROOT, check=True, **kw)


# --- builds ---------------------------------------------------------------------------------


def build():
    log("release builds (host) of the functions, the CLI and the load generator")
    sh("cargo", "build", "--release", "--quiet", "--workspace", "--bins")
    sh("cargo", "build", "--release", "--quiet", "-p", "erasure-shared", "--example", "pinpoint_load")
    log("release arm64 zips (cargo lambda build --release --arm64 --output-format zip)")
    args = ["--release", "--arm64", "--output-format", "zip"]
    for fn in FUNCTIONS:
        args += ["--package", fn]
    sh(shutil.which("cargo-lambda") or "cargo-lambda", "lambda", "build", *args)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "rustc": rustc}


# --- 1. preparation -------------------------------------------------------------------------


def run_timed(cmd: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, exit code) of one process. The peak comes from GNU time when it is
    there: a child forked from this Python process starts its accounting at the parent's RSS (the
    kernel carries the forking process's high-water mark across exec), so wait4 alone could not
    read below about 70 MB; `time` is small and forks the command itself."""
    timer = Path("/usr/bin/time")
    if not timer.exists():
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        return time.perf_counter() - t, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        t = time.perf_counter()
        code = subprocess.run([str(timer), "-f", "%M", "-o", out.name, *cmd],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        seconds = time.perf_counter() - t
        lines = [x for x in Path(out.name).read_text().split() if x.isdigit()]
    return seconds, (int(lines[-1]) / 1024 if lines else float("nan")), code


# The few lines of Python a team would write instead of this tool (csv.reader and a set,
# blanks stripped, the header skipped): the yardstick the Rust path is measured against.
PYTHON_PEER = """
import csv, sys
seen = set()
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    rows = csv.reader(f)
    next(rows, None)
    for row in rows:
        if row and row[0].strip():
            seen.add(row[0].strip())
print(len(seen))
"""
RSS_SIZES = (10_000_000, 100_000_000, 1_073_741_824)


def request_file(size: int) -> Path:
    """The generated request file of about `size` bytes (made once, kept in WORK)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / ("request-100mb.csv" if size == PREPARE_BYTES else f"request-{size // 1_000_000}mb.csv")
    if not path.exists() or path.stat().st_size < size:
        log(f"generating {path.name}")
        prep.generate(path, size)
    with open(path, "rb") as f:  # the page cache holds it for every reader below alike
        while f.read(1 << 24):
            pass
    return path


def best_of(cmd: list[str], runs: int = 3, want: int = 0) -> dict:
    """Fastest of `runs` runs (seconds, its peak RSS MB); fails unless the exit code is `want`."""
    samples = [run_timed(cmd) for _ in range(runs)]
    seconds, rss, code = min(samples)
    if code != want:
        raise RuntimeError(f"{cmd[0]} exited {code}, not {want}")
    return {"seconds": seconds, "rss_mb": max(s[1] for s in samples)}


def bench_rules(sizes=RSS_SIZES) -> dict:
    """The request rules alone (`erasure validate`, the same code as the prepare function) on
    the 100 MB file, beside its peers on the same file in the same run: `wc -l` (the floor),
    `sort -u`, and the Python a team would write instead; then validate's peak RSS at each size
    in `sizes`. No emulation: runnable alone with `python -m tests.bench --only-rules`."""
    path = request_file(PREPARE_BYTES)
    size = path.stat().st_size
    users = int(subprocess.run(["wc", "-l", str(path)], capture_output=True, text=True).stdout.split()[0]) - 1
    log("erasure validate and its peers on the 100 MB file")
    validate = best_of([str(RELEASE / "erasure"), "validate", str(path)])
    peers = {
        "wc -l": best_of(["wc", "-l", str(path)]),
        "sort -u": best_of(["sort", "-u", "-o", "/dev/null", str(path)]),
        "Python csv.reader + set": best_of([sys.executable, "-c", PYTHON_PEER, str(path)]),
    }
    wc = peers["wc -l"]["seconds"]
    validate.update(mb_s=size / 1e6 / validate["seconds"], wc_ratio=validate["seconds"] / wc)
    for peer in peers.values():
        peer["validate_speedup"] = peer["seconds"] / validate["seconds"]
    growth = []
    for n in sizes:
        p = path if n == PREPARE_BYTES else request_file(n)
        lines = int(subprocess.run(["wc", "-l", str(p)], capture_output=True, text=True).stdout.split()[0]) - 1
        log(f"erasure validate at {n / 1e6:.0f} MB ({lines:,} users)")
        # --max-users above the file's users: the curve, not the deployed cap (25 M at most).
        r = best_of([str(RELEASE / "erasure"), "validate", "--max-users", str(max(lines, 1)),
                     "--max-request-bytes", str(2 * n), str(p)], runs=1 if n > PREPARE_BYTES else 3)
        growth.append({"bytes": p.stat().st_size, "users": lines, **r,
                       "bytes_per_user": r["rss_mb"] * 2**20 / max(lines, 1)})
    return {"bytes": size, "users": users, "wc_seconds": wc, "validate": validate, "peers": peers,
            "rss_growth": growth, "sort_env": {k: os.environ.get(k) for k in ("LANG", "LC_ALL") if k in os.environ}}


def bench_prepare(stack: Stack, rules: dict) -> dict:
    path = request_file(PREPARE_BYTES)
    size = path.stat().st_size
    log("prepare-request on the emulated S3")
    stack.reset()
    p = prep.run_prepare(stack, path, env_extra={"SHARD_USERS": str(SHARD_USERS)})
    verdict = p["result"]
    wc = rules["wc_seconds"]
    return dict(rules, prepare={
        "seconds": p["seconds"], "mb_s": size / 1e6 / p["seconds"], "rss_mb": p["peak_rss_mb"],
        "wc_ratio": p["seconds"] / wc,
        "shards": ((verdict.get("prepared") or verdict).get("shards") or {}).get("count")})


def bench_cap() -> dict:
    """The largest request preparation accepts: MaxRequestUsers at its MaxValue (25 million
    distinct users), through the request rules (`erasure validate`, the same code as the prepare
    function). Its peak RSS is mostly the duplicate fingerprints docs/LIMITS.md sizes the prepare
    function's 1,024 MB with; one user fewer allowed rejects it (TOO_MANY_USERS)."""
    import re

    limits_rs = (ROOT / "shared" / "src" / "limits.rs").read_text()
    per_user = int(re.search(r"FINGERPRINT_BYTES_PER_USER: u64 = (\d+);", limits_rs).group(1))
    cap = 25_000_000
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "request-cap.csv"
    if not path.exists():
        log(f"generating {path.name} ({cap:,} users)")
        with open(path, "w") as f:
            f.write("USER_ID\n")
            for start in range(0, cap, 1_000_000):
                f.write("".join(f"cap-{i:09d}\n" for i in range(start, min(cap, start + 1_000_000))))
    log("erasure validate at the cap")
    seconds, rss, code = run_timed([str(RELEASE / "erasure"), "validate", "--max-users", str(cap), str(path)])
    _, _, over = run_timed([str(RELEASE / "erasure"), "validate", "--max-users", str(cap - 1), str(path)])
    return {"users": cap, "bytes": path.stat().st_size, "seconds": seconds, "rss_mb": rss,
            "accepted": code == 0, "one_fewer_allowed_rejects": over == 1,
            "bound_mb": (128 * 1024 * 1024 + per_user * cap) / 1024 / 1024}


# --- 2. Pinpoint at the quota ---------------------------------------------------------------


def bench_pinpoint(stack: Stack, limit: int, users: int) -> dict:
    stack.reset()
    cfg = AppConfig(dataset_group_arns=[], application_ids=[], poll_seconds=1, shard_users=SHARD_USERS,
                    pinpoint_rate=float(limit),
                    # No headroom: the shards share the whole limit (PacingHeadroom's default, 0.2,
                    # would pace them at 80 % of it by design), so the share of the limit they reach
                    # measures the pacing itself, as before the headroom existed.
                    pacing_headroom=0.0,
                    shard_concurrency=SHARD_CONCURRENCY, extra_env={"RUST_LOG": "warn"})
    stack.control("POST", "personalize/config", {"pending_seconds": 1, "in_progress_seconds": 2})
    dsg = stack.dataset_group("bench")
    app = stack.pinpoint_app("bench")
    cfg.dataset_group_arns, cfg.application_ids = [dsg], [app]
    stack.deploy(cfg)
    ids = [f"bench-{limit}-user-{i:07d}" for i in range(users)]
    for i in range(0, users, 5000):
        chunk = {u: 1 for u in ids[i:i + 5000]}
        stack.seed_endpoints(app, chunk)
        stack.seed_records(dsg, chunk)
    stack.control("POST", "pinpoint/config", {"rate": limit, "burst": limit, "latency_ms": LATENCY_MS,
                                              "operations": ["DeleteUserEndpoints"]})
    started = time.time()
    s3_before = stack.control("GET", "s3/counts")["counts"]
    stack.upload(f"requests/bench-{limit}.csv", ("USER_ID\n" + "\n".join(ids) + "\n").encode())
    log(f"Pinpoint at {limit}/s: {users} users through the workflow")
    d = stack.wait_for_execution(timeout=max(900, 4 * users / limit))
    sfn = stack.client("stepfunctions")
    history = []
    kw = {"executionArn": d["executionArn"], "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kw)
        history += page["events"]
        if not page.get("nextToken"):
            break
        kw["nextToken"] = page["nextToken"]
    calls = stack.control("GET", f"calls?since={started}")
    deletes = [c for c in calls if c["service"] == "pinpoint" and c["operation"] == "DeleteUserEndpoints"]
    ok = [c for c in deletes if c["status"] == 202]
    throttled = [c for c in deletes if c["status"] == 429]
    window = max(c["ts"] for c in ok) - min(c["ts"] for c in ok)
    left = stack.endpoints(app)
    receipt = stack.receipt(d["name"])
    pin = receipt["pinpoint"][0]
    s3_counts = stack.control("GET", "s3/counts")["counts"]
    s3_run = {op: n - s3_before.get(op, 0) for op, n in s3_counts.items() if n - s3_before.get(op, 0)}
    s3_run["PutObject"] = s3_run.get("PutObject", 0) - 1  # the upload itself is the user's, not ours
    lost = sum(1 for u in ids if left.get(u))
    return {
        "limit": limit, "users": users, "status": d["status"], "outcome": receipt["outcome"],
        "seconds": window, "ok_calls": len(ok), "throttled_calls": len(throttled), "calls": len(deletes),
        "achieved_rps": len(ok) / window if window else 0.0,
        "share_of_limit": (len(ok) / window) / limit if window else 0.0,
        "throttled_share": len(throttled) / len(deletes) if deletes else 0.0,
        "users_lost": lost,
        "receipt": {"usersProcessed": pin["usersProcessed"], "endpointsDeleted": pin["endpointsDeleted"],
                    "failedUsers": pin["failedUsers"]},
        "lambda": stack.control("GET", "lambda")["functions"],
        "transitions": sum(1 for e in history if e["type"].endswith("StateEntered")),
        # S3 bills PUT, COPY, POST and LIST at one price, GET and the rest at another, DELETE free.
        "s3": s3_run,
        "s3_puts": sum(n for op, n in s3_run.items() if op in S3_PUT_CLASS),
        "s3_gets": sum(n for op, n in s3_run.items() if op not in S3_PUT_CLASS and not op.startswith("Delete")),
        "shards": math.ceil(users / SHARD_USERS),
    }


def bench_profiles(stack: Stack, limit: int, users: int) -> dict:
    """Customer Profiles through the whole workflow, both APIs limited to `limit` per second."""
    stack.reset()
    stack.control("POST", "personalize/config", {"pending_seconds": 1, "in_progress_seconds": 2})
    dsg = stack.dataset_group("bench")
    domain = stack.profiles_domain("bench-crm")
    cfg = AppConfig(dataset_group_arns=[dsg], application_ids=[], poll_seconds=1, shard_users=SHARD_USERS,
                    profiles_domains=[domain], profiles_search_key="_account",
                    profiles_search_rate=float(limit), profiles_delete_rate=float(limit), pacing_headroom=0.0,
                    shard_concurrency=SHARD_CONCURRENCY, extra_env={"RUST_LOG": "warn"})
    stack.deploy(cfg)
    ids = [f"bench-cp-{limit}-user-{i:07d}" for i in range(users)]
    for i in range(0, users, 2000):
        stack.seed_profiles(domain, {u: 1 for u in ids[i:i + 2000]})
    stack.control("POST", "customer-profiles/config", {"search_rate": limit, "delete_rate": limit,
                                                       "burst": limit, "latency_ms": LATENCY_MS})
    started = time.time()
    stack.upload(f"requests/bench-cp-{limit}.csv", ("USER_ID\n" + "\n".join(ids) + "\n").encode())
    log(f"Customer Profiles at {limit}/s per API: {users} users through the workflow")
    d = stack.wait_for_execution(timeout=max(900, 6 * users / limit))
    calls = [c for c in stack.control("GET", f"calls?since={started}") if c["service"] == "customer-profiles"]
    searches = [c for c in calls if c["operation"] == "SearchProfiles"]
    ok = [c for c in searches if c["status"] == 200]
    window = max(c["ts"] for c in ok) - min(c["ts"] for c in ok) if ok else 0.0
    throttled = [c for c in calls if c["status"] == 429]
    left = stack.profiles(domain)
    receipt = stack.receipt(d["name"])
    cp = receipt["customerProfiles"][0]
    return {
        "limit": limit, "users": users, "status": d["status"], "outcome": receipt["outcome"],
        "seconds": window, "ok_searches": len(ok), "calls": len(calls), "throttled_calls": len(throttled),
        "achieved_rps": len(ok) / window if window else 0.0,
        "share_of_limit": (len(ok) / window) / limit if window else 0.0,
        "throttled_share": len(throttled) / len(calls) if calls else 0.0,
        "users_lost": sum(1 for u in ids if left.get(u)),
        "receipt": {k: cp[k] for k in ("usersProcessed", "profilesDeleted", "failedUsers", "verifiedAbsent")},
    }


def bench_emulator_capacity(stack: Stack, calls: int = 20_000, concurrency: int = 64) -> dict:
    """The emulation's own DeleteUserEndpoints capacity: no limit, the same 20 ms latency."""
    stack.reset()
    app = stack.pinpoint_app("capacity")
    prefix = "capacity-user-"
    for i in range(0, calls, 5000):
        stack.control("POST", "pinpoint/endpoints",
                      {"applicationId": app, "users": {f"{prefix}{j}": 1 for j in range(i, min(calls, i + 5000))}})
    stack.control("POST", "pinpoint/config", {"rate": None, "latency_ms": LATENCY_MS})
    env = dict(os.environ)
    env.update(stack.function_env(AppConfig(dataset_group_arns=[], application_ids=[])))
    env["PINPOINT_CALL_TIMEOUT_MS"] = "30000"
    out = subprocess.run([str(RELEASE / "examples" / "pinpoint_load"), app, prefix, str(calls), str(concurrency)],
                         env=env, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    left = stack.endpoints(app)
    result["endpointsLeft"] = sum(len(v) for v in left.values())
    return result


# --- 3. cold start and zips -----------------------------------------------------------------


def bench_cold_start(stack: Stack, starts: int) -> dict:
    # prepare and finalize read the user-hash key at start, as deployed.
    stack.client("ssm").put_parameter(Name=HASH_KEY_PARAMETER, Value=HASH_KEY, Type="SecureString", Overwrite=True)
    env = dict(os.environ)
    env.update(stack.function_env(AppConfig(dataset_group_arns=["arn:aws:personalize:us-east-1:123456789012:dataset-group/bench"],
                                            application_ids=["bench"])))
    env["RUST_LOG"] = "warn"
    out = {}
    for fn in FUNCTIONS:
        samples = []
        for _ in range(starts):
            with RuntimeApi(fn) as api:
                proc_env = dict(env, **api.env())
                t = time.perf_counter()
                proc = subprocess.Popen([str(RELEASE / fn)], env=proc_env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
                while api.first_next is None:
                    if proc.poll() is not None:
                        raise RuntimeError(f"{fn} exited before asking for work: {proc.stderr.read().decode()[-500:]}")
                    time.sleep(0.0002)
                samples.append((api.first_next - t) * 1000)
                proc.kill()
                proc.wait()
        zip_path = TARGET / "lambda" / fn / "bootstrap.zip"
        out[fn] = {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples),
                   "starts": len(samples),
                   "zip_mb": zip_path.stat().st_size / 1e6 if zip_path.exists() else float("nan"),
                   "binary_mb": (RELEASE / fn).stat().st_size / 1e6}
    return out


# --- 4. cost --------------------------------------------------------------------------------


def cost_per_million(prep_result: dict, runs: list[dict]) -> dict:
    """Dollars to erase 1M users (one dataset group, one application), Personalize excluded."""
    n = 1_000_000
    run = min(runs, key=lambda r: r["limit"])  # the slower quota: the functions live longest
    fns = run["lambda"]
    scale = n / run["users"]
    shards = math.ceil(n / SHARD_USERS)
    polls = 86_400 / POLL_SECONDS_DEPLOYED
    prepare_s = prep_result["prepare"]["seconds"] * n / prep_result["users"]
    per_call = {name: s["seconds"] / max(1, s["invocations"]) for name, s in fns.items()}
    gb_s = {
        "prepare-request": prepare_s * MEMORY_MB["prepare-request"] / 1024,
        "erase-pinpoint-endpoints": fns["erase-pinpoint-endpoints"]["seconds"] * scale
        * MEMORY_MB["erase-pinpoint-endpoints"] / 1024,
        "check-deletion-job": polls * per_call.get("check-deletion-job", 0.05) * MEMORY_MB["check-deletion-job"] / 1024,
        "other": sum(per_call.get(f, 0.05) * MEMORY_MB[f] / 1024
                     for f in ("start-erasure", "create-deletion-job", "finalize-erasure"))
        # The models step: its checks before and after the jobs, as many as in the run (a group
        # without solutions: one each; a retraining adds one every ModelPollSeconds).
        + fns.get("personalize-models", {}).get("seconds", 0) * MEMORY_MB["personalize-models"] / 1024,
    }
    invocations = (fns["erase-pinpoint-endpoints"]["invocations"] * scale + polls + 4
                   + fns.get("personalize-models", {}).get("invocations", 0))
    # Transitions: the parent's, measured (with its polls), plus, per shard, the child execution's
    # EraseShard -> ShardDone? -> ShardErased; polling for a day: WaitAgain -> Check -> JobEnded?.
    polls_in_run = fns.get("check-deletion-job", {}).get("invocations", 1)
    parent_fixed = run["transitions"] - 3 * (polls_in_run - 1)
    transitions = parent_fixed + 3 * shards + 3 * polls
    s3 = (run["s3_puts"] * scale) * S3_PUT + (run["s3_gets"] * scale) * S3_GET
    lam = sum(gb_s.values()) * LAMBDA_ARM_GB_SECOND + invocations * LAMBDA_REQUEST
    sfn = transitions * SFN_TRANSITION
    total = lam + sfn + s3
    return {
        "users": n, "limit": run["limit"], "gb_seconds": gb_s, "invocations": invocations,
        "transitions": transitions, "parent_fixed_transitions": parent_fixed, "shards": shards, "polls": polls,
        "lambda": lam, "step_functions": sfn, "s3": s3, "total": total,
        "formula": (
            "total = GB-s x $0.0000133334 (arm64) + invocations x $0.20/1M + transitions x $0.025/1000 "
            "+ S3 PUT/LIST x $0.005/1000 + GET/HEAD x $0.0004/1000; "
            f"GB-s = prepare {prepare_s:.0f} s x 0.25 GB + erase {fns['erase-pinpoint-endpoints']['seconds'] * scale:.0f} s x 0.125 GB "
            f"+ {polls:.0f} polls/day x {per_call.get('check-deletion-job', 0):.3f} s x 0.125 GB + start/create/finalize; "
            f"transitions = {parent_fixed} (workflow) + 3 x {shards} shards + 3 x {polls:.0f} polls; "
            f"S3 = {run['s3_puts']} PUT/LIST + {run['s3_gets']} GET/HEAD per {run['users']} users, scaled"),
        # Not in the total: it does not grow with the users, and its price is the team's models'.
        "training_formula": (
            "Personalize training after the deletion (RetrainAfterDeletion=full), per request and not "
            "per user: training hours <= sum over the dataset groups' solutions of the trainingHours "
            "of its last FULL version (shared by overlapping requests), x your Region's price per "
            "training hour (Amazon Personalize pricing); plus a day of checks every ModelPollSeconds = "
            "600 s: 144 invocations and about 430 transitions, under $0.02. Recommenders: $0 (AWS "
            "retrains them weekly)."),
    }


# --- the table ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def format_rows(rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows + [("Measure", "Result", "Target", "")]) for i in range(4)]
    line = lambda cells: "| " + " | ".join(str(x).ljust(w) for x, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(("Measure", "Result", "Target", "")), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(row) for row in rows])


def rules_rows(p: dict) -> list[tuple]:
    """The rows of bench_rules: validate, its peers as ratios, and RSS by request size."""
    t = TARGETS
    v = p["validate"]
    rows = [("Prep 100 MB: validate (CLI, local file)",
             f"{v['seconds']:.3f} s, {v['mb_s']:.0f} MB/s, {v['rss_mb']:.0f} MB RSS, {v['wc_ratio']:.1f}x wc -l",
             f">= {t['prepare_mb_s']:.0f} MB/s, < {t['validate_rss_mb']:.0f} MB",
             verdict(v["mb_s"] >= t["prepare_mb_s"] and v["rss_mb"] < t["validate_rss_mb"])),
            ("Prep 100 MB: file", f"{p['bytes'] / 1e6:.0f} MB, {p['users']:,} IDs", "", "")]
    for name, peer in p["peers"].items():
        rows.append((f"Peer on the same file: {name}",
                     f"{peer['seconds']:.3f} s, {peer['rss_mb']:.0f} MB RSS; validate takes "
                     f"{1 / peer['validate_speedup']:.2f}x its time and "
                     f"{v['rss_mb'] / peer['rss_mb']:.2f}x its memory"
                     if name != "wc -l" else
                     f"{peer['seconds']:.3f} s, {peer['rss_mb']:.0f} MB RSS (the floor); validate = "
                     f"{1 / peer['validate_speedup']:.1f}x it", "", ""))
    for g in p.get("rss_growth", []):
        rows.append((f"Validate RSS at {g['bytes'] / 1e6:,.0f} MB ({g['users']:,} users)",
                     f"{g['rss_mb']:.0f} MB peak, {g['bytes_per_user']:.1f} B/user, {g['seconds']:.2f} s",
                     "grows with distinct users only", ""))
    return rows


def table(r: dict) -> str:
    t = TARGETS
    rows = []
    p = r.get("prepare") or r["rules"]
    rows += rules_rows(p)
    if "prepare" in p:
        m = p["prepare"]
        rows.append(("Prep 100 MB: prepare-request (emulated S3)",
                     f"{m['seconds']:.2f} s, {m['mb_s']:.0f} MB/s, {m['rss_mb']:.0f} MB RSS, {m['wc_ratio']:.1f}x wc -l",
                     f"< {t['prepare_rss_mb']:.0f} MB (its time is the emulated S3's)",
                     verdict(m["rss_mb"] < t["prepare_rss_mb"])))
    if "cap" in r:
        c = r["cap"]
        rows.append((f"Prep at the cap: {c['users']:,} users (validate)",
                     f"{c['seconds']:.1f} s, {c['rss_mb']:.0f} MB RSS, "
                     f"{'accepted' if c['accepted'] else 'REJECTED'}; one user over: "
                     f"{'TOO_MANY_USERS' if c['one_fewer_allowed_rejects'] else 'NOT rejected'}",
                     f"< {c['bound_mb']:.0f} MiB (docs/LIMITS.md; prepare has 1024 MB)",
                     verdict(c["accepted"] and c["one_fewer_allowed_rejects"] and c["rss_mb"] < c["bound_mb"])))
    for run in r["pinpoint"]:
        rows.append((f"Pinpoint {run['users']:,} users @ {run['limit']}/s, {LATENCY_MS} ms",
                     f"{run['achieved_rps']:.0f}/s = {run['share_of_limit'] * 100:.1f}% of limit, "
                     f"{run['throttled_share'] * 100:.2f}% throttled, {run['users_lost']} lost, {run['seconds']:.1f} s",
                     ">= 95%, < 2% throttled, 0 lost",
                     verdict(run["share_of_limit"] >= t["pinpoint_share"] and run["throttled_share"] < t["throttled_share"]
                             and run["users_lost"] == 0 and run["outcome"] == "COMPLETED")))
    for run in r.get("profiles", []):
        rows.append((f"Customer Profiles {run['users']:,} users @ {run['limit']}/s per API, {LATENCY_MS} ms",
                     f"{run['achieved_rps']:.0f} searches/s = {run['share_of_limit'] * 100:.1f}% of limit, "
                     f"{run['throttled_share'] * 100:.2f}% throttled, {run['users_lost']} lost, {run['seconds']:.1f} s",
                     ">= 90%, < 2% throttled, 0 lost",
                     verdict(run["share_of_limit"] >= t["profiles_share"] and run["throttled_share"] < t["throttled_share"]
                             and run["users_lost"] == 0 and run["outcome"] == "COMPLETED")))
    cap = r["emulator"]
    driven = max(run["limit"] for run in r["pinpoint"])
    rows.append(("Emulation capacity (no limit, 20 ms)",
                 f"{cap['callsPerSecond']:.0f}/s = {cap['callsPerSecond'] / driven:.1f}x the {driven}/s driven "
                 f"(best of {', '.join(f'{x:.0f}' for x in cap['runs'])})",
                 ">= 2x", verdict(cap["callsPerSecond"] >= 2 * driven)))
    for fn, c in r["cold_start"].items():
        rows.append((f"Cold start + zip: {fn}",
                     f"{c['median_ms']:.1f} ms median of {c['starts']} ({c['min_ms']:.1f}-{c['max_ms']:.1f}), "
                     f"zip {c['zip_mb']:.2f} MB",
                     "< 20 ms, zip < 5 MB", verdict(c["median_ms"] < t["cold_ms"] and c["zip_mb"] < t["zip_mb"])))
    c = r["cost"]
    rows.append(("Cost per 1M users (outside Personalize)",
                 f"${c['total']:.3f} (Lambda ${c['lambda']:.3f}, Step Functions ${c['step_functions']:.3f}, S3 ${c['s3']:.3f})",
                 "< $1", verdict(c["total"] < t["cost"])))
    out = [format_rows(rows), ""]
    out.append("Cost formula: " + c["formula"])
    out.append("Training cost (separate): " + c["training_formula"])
    m = r["machine"]
    out.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, {m['rustc']}")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=32_000)
    ap.add_argument("--limits", default="300,1000")
    ap.add_argument("--profiles-users", type=int, default=6_000)
    ap.add_argument("--profiles-limit", type=int, default=100)
    ap.add_argument("--starts", type=int, default=11)
    ap.add_argument("--json", default=str(WORK / "results.json"))
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--only-rules", action="store_true",
                    help="measure the request rules and their peers alone (no emulation)")
    ap.add_argument("--only-profiles", action="store_true",
                    help="measure the Customer Profiles row alone (no table of the rest)")
    args = ap.parse_args(argv)
    if args.only_rules:
        if not args.no_build:
            sh("cargo", "build", "--release", "--quiet", "-p", "erasure-cli")
        rules = bench_rules()
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).with_name("rules.json").write_text(json.dumps(rules, indent=2))
        print(format_rows(rules_rows(rules)))
        m = machine()
        print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, {m['rustc']}, Python {m['python']}")
        return
    if args.only_profiles:
        if not args.no_build:
            build()
        with Stack(log_dir=WORK / "logs", quiet=True, release=True) as stack:
            run = bench_profiles(stack, args.profiles_limit, args.profiles_users)
        print(json.dumps(run, indent=2))
        return
    if not args.no_build:
        build()
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    results["cap"] = bench_cap()
    with Stack(log_dir=WORK / "logs", quiet=True, release=True) as stack:
        results["prepare"] = bench_prepare(stack, bench_rules())
        results["pinpoint"] = [bench_pinpoint(stack, int(x), args.users) for x in args.limits.split(",")]
        results["profiles"] = [bench_profiles(stack, args.profiles_limit, args.profiles_users)]
        stack.stop_functions()
        log("the emulation's own capacity (best of 3)")
        runs = [bench_emulator_capacity(stack) for _ in range(3)]
        results["emulator"] = dict(max(runs, key=lambda r: r["callsPerSecond"]),
                                   runs=[r["callsPerSecond"] for r in runs])
        log("cold starts")
        results["cold_start"] = bench_cold_start(stack, args.starts)
    results["cost"] = cost_per_million(results["prepare"], results["pinpoint"])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
