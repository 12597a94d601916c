"""Cold start and first invocation of the functions that need the user-hash key, without the
emulation: a stand-in for SSM and S3 on a port of the system's choosing answers each call after
a fixed delay (--delay-ms, default 8: the emulation's SSM round trip as measured), and the
Runtime API stand-in times the process.

    python -m tests.bench.cold_start_local [--starts 11] [--delay-ms 8] [--bin-dir DIR] [--json PATH]

For each of prepare-request, finalize-erasure and start-erasure (a function that reads no key,
for reference), --starts fresh processes:
- init: process start to its first `next` request (what `make bench`'s cold-start row measures);
- first invocation: the first event handed over to its result. prepare-request gets a small
  valid request (one GetObject, then its puts); finalize-erasure an event it refuses at once
  (the worst case: nothing of its own to do beside the key's read);
- key at: how long after the process started the SSM call was answered.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.bench.runtime import RuntimeApi
from tests.harness import BUCKET, HASH_KEY, HASH_KEY_PARAMETER, AppConfig, parameters
from tests.cfn import emulated

ROOT = Path(__file__).resolve().parents[2]
REQUEST = b"USER_ID\n" + b"".join(f"cold-{i:05d}\n".encode() for i in range(200))


class FakeAws:
    """SSM GetParameter and the S3 calls of a small prepared request, each after `delay` s."""

    def __init__(self, delay: float):
        fake = self
        self.ssm_answered: list[float] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_POST(self):
                self._body()
                time.sleep(delay)
                if self.headers.get("X-Amz-Target") == "AmazonSSM.GetParameter":
                    fake.ssm_answered.append(time.perf_counter())
                    body = json.dumps({"Parameter": {"Name": HASH_KEY_PARAMETER, "Type": "SecureString",
                                                     "Value": HASH_KEY, "Version": 1}}).encode()
                    return self._reply(200, body, {"Content-Type": "application/x-amz-json-1.1"})
                return self._reply(400, b'{"__type":"UnknownOperationException"}',
                                   {"Content-Type": "application/x-amz-json-1.1"})

            def do_GET(self):
                time.sleep(delay)
                if self.path.split("?")[0] == f"/{BUCKET}/requests/cold.csv":
                    return self._reply(200, REQUEST, {"ETag": '"cold"', "Content-Type": "text/csv",
                                                      "Last-Modified": "Tue, 01 Dec 2026 00:00:00 GMT"})
                return self._reply(404, b"<Error><Code>NoSuchKey</Code><Message>none</Message></Error>",
                                   {"Content-Type": "application/xml"})

            def do_PUT(self):
                self._body()
                time.sleep(delay)
                return self._reply(200, b"", {"ETag": '"put"'})

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed function's connection, reset: expected, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def events() -> dict:
    return {
        "prepare-request": {"request": {"bucket": BUCKET, "key": "requests/cold.csv", "versionId": None,
                                        "etag": "cold", "size": len(REQUEST),
                                        "requestId": "0123456789abcdef0123456789abcdef"}},
        "finalize-erasure": {"neither": "a workflow result nor an execution's end"},
        "start-erasure": {"Records": []},
    }


def measure(binary: Path, fn: str, env: dict, fake: FakeAws, event: dict) -> dict:
    fake.ssm_answered.clear()
    with RuntimeApi(fn) as api:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(binary)], env=dict(env, **api.env()), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        while api.first_next is None:
            if proc.poll() is not None:
                raise RuntimeError(f"{fn} exited before asking for work: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.0002)
        init = api.first_next - t0
        sent = time.perf_counter()
        api.events.put(event)
        try:
            kind, result = api.results.get(timeout=30)
        except queue.Empty:
            kind, result = "timeout", None
        first = time.perf_counter() - sent
        proc.kill()
        proc.wait()
    return {"init_ms": init * 1000, "first_ms": first * 1000, "kind": kind,
            "key_at_ms": (fake.ssm_answered[0] - t0) * 1000 if fake.ssm_answered else None,
            "result": result if kind != "ok" else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=11)
    ap.add_argument("--delay-ms", type=float, default=8.0)
    ap.add_argument("--bin-dir", default=str(Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    fake = FakeAws(args.delay_ms / 1000)
    cfg = AppConfig(dataset_group_arns=["arn:aws:personalize:us-east-1:123456789012:dataset-group/bench"],
                    application_ids=["bench"])
    env = dict(os.environ)
    env.update(emulated.environment(emulated.resolve(parameters(cfg))))
    env.update({"AWS_ENDPOINT_URL": fake.endpoint, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "cold-start", "AWS_SECRET_ACCESS_KEY": "test", "S3_FORCE_PATH_STYLE": "true",
                "USER_HASH_KEY_PARAMETER": HASH_KEY_PARAMETER, "RUST_LOG": "warn"})
    out = {}
    try:
        for fn, event in events().items():
            runs = [measure(Path(args.bin_dir) / fn, fn, env, fake, event) for _ in range(args.starts)]
            med = lambda k: statistics.median(r[k] for r in runs if r[k] is not None)  # noqa: E731
            out[fn] = {"init_ms": med("init_ms"), "first_ms": med("first_ms"),
                       "init_plus_first_ms": statistics.median(r["init_ms"] + r["first_ms"] for r in runs),
                       "key_at_ms": med("key_at_ms") if any(r["key_at_ms"] for r in runs) else None,
                       "kinds": sorted({r["kind"] for r in runs}), "starts": len(runs),
                       "sample_result": next((r["result"] for r in runs if r["result"]), None)}
    finally:
        fake.close()
    print(f"{'function':<20} {'init ms':>8} {'first ms':>9} {'sum ms':>8} {'key at ms':>10}  result  "
          f"(median of {args.starts}, {args.delay_ms:.0f} ms a call, {args.bin_dir})")
    for fn, r in out.items():
        key = f"{r['key_at_ms']:.1f}" if r["key_at_ms"] else "-"
        print(f"{fn:<20} {r['init_ms']:>8.1f} {r['first_ms']:>9.1f} {r['init_plus_first_ms']:>8.1f} {key:>10}  "
              f"{','.join(r['kinds'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
