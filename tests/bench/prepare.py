"""Preparation, measured on the real prepare-request binary (release build, host arch).

The binary runs behind the Runtime API stand-in against the local emulation's S3, exactly as
in Lambda: it streams the request object, validates it and writes parts (multipart) and shards.
We report wall time of the invocation, MB/s, the process's peak RSS (from wait4), and the time
`wc -l` takes on the same bytes in the same run.
"""

from __future__ import annotations

import os
import queue
import random
import string
import subprocess
import time
from pathlib import Path

from tests.bench.runtime import RuntimeApi
from tests.harness import BUCKET, HASH_KEY, HASH_KEY_PARAMETER, ROOT, Stack

RELEASE = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release"


def generate(path: Path, size_bytes: int, seed: int = 7) -> int:
    """A request file of about size_bytes: header, then distinct IDs of 20-40 chars. Returns the count."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_"
    n = 0
    with open(path, "w", newline="\n") as f:
        f.write("USER_ID\n")
        written = 8
        batch = []
        while written < size_bytes:
            uid = f"u{n:08d}-" + "".join(rng.choices(alphabet, k=rng.randint(10, 30)))
            batch.append(uid)
            written += len(uid) + 1
            n += 1
            if len(batch) == 100_000:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")
    return n


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "prepare-request"], cwd=ROOT, check=True)


def wc_seconds(path: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["wc", "-l", str(path)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def run_prepare(stack: Stack, path: Path, key: str = "requests/bench.csv", env_extra=None) -> dict:
    # What the deployment provides: the bucket and the user-hash key (read at cold start).
    stack.client("ssm").put_parameter(Name=HASH_KEY_PARAMETER, Value=HASH_KEY, Type="SecureString",
                                      Overwrite=True)
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(path), BUCKET, key)
    head = s3.head_object(Bucket=BUCKET, Key=key)
    from tests.harness import AppConfig
    cfg = AppConfig(dataset_group_arns=["arn:aws:personalize:us-east-1:123456789012:dataset-group/bench"],
                    application_ids=["benchapp"], shard_users=1000,
                    max_request_users=10_000_000)  # the template's default
    env = dict(os.environ)
    env.update(stack.function_env(cfg))
    env["RUST_LOG"] = "warn"
    env.update(env_extra or {})
    event = {"request": {
        "bucket": BUCKET, "key": key, "versionId": head.get("VersionId"),
        "etag": head["ETag"].strip('"'), "size": head["ContentLength"],
        "requestId": "0123456789abcdef0123456789abcdef",
    }}
    log_path = stack.log_dir / "bench-prepare-request.log"
    with RuntimeApi("prepare-request") as api, open(log_path, "wb") as log:
        env.update(api.env())
        proc = subprocess.Popen([str(RELEASE / "prepare-request")], env=env, stdout=log, stderr=log)
        while api.first_next is None and proc.poll() is None:
            time.sleep(0.005)
        started = time.perf_counter()
        api.events.put(event)
        deadline = time.monotonic() + 900
        while True:
            try:
                kind, result = api.results.get(timeout=0.5)
                break
            except queue.Empty:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(f"prepare-request ended without a result (exit {proc.poll()}); "
                                       f"see {log_path}") from None
        seconds = time.perf_counter() - started
        proc.kill()
        _, status, usage = os.wait4(proc.pid, 0)
    if kind != "ok":
        raise RuntimeError(f"prepare-request failed: {result}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "result": result}
