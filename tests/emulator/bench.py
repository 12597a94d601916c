"""Measure Pinpoint DeleteUserEndpoints requests/s against a running emulator.

    python -m tests.emulator.bench --url http://127.0.0.1:4566 [--users 20000] [--procs 3]

Seeds one application with --users users (one endpoint each) through the control API, then
deletes them all with --procs client processes (raw HTTP/1.1, one connection each, reused when
the server keeps it open), and prints requests/s. Every answer must be 202.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import time
import urllib.request
from urllib.parse import quote, urlsplit

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/mobiletargeting/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def _worker(args):
    host, port, app, users = args
    conn = None
    bad = 0
    for u in users:
        for _ in range(3):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("DELETE", f"/v1/apps/{app}/users/{quote(u, safe='')}",
                             headers={"Authorization": AUTH})
                r = conn.getresponse()
                r.read()
                if r.status != 202:
                    bad += 1
                if (r.getheader("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                if conn is not None:
                    conn.close()
                conn = None
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--procs", type=int, default=3)
    args = ap.parse_args(argv)
    u = urlsplit(args.url)
    app = _post(f"{args.url}/_emulator/pinpoint/apps", {"name": "bench"})["Id"]
    users = [f"bench-user-{i}" for i in range(args.users)]
    for i in range(0, len(users), 5000):
        _post(f"{args.url}/_emulator/pinpoint/endpoints",
              {"applicationId": app, "users": {x: 1 for x in users[i:i + 5000]}})
    chunks = [(u.hostname, u.port, app, users[i::args.procs]) for i in range(args.procs)]
    t0 = time.perf_counter()
    with mp.Pool(args.procs) as pool:
        bad = sum(pool.map(_worker, chunks))
    dt = time.perf_counter() - t0
    print(json.dumps({"requests": len(users), "seconds": round(dt, 2), "rps": round(len(users) / dt),
                      "non_202": bad}))


if __name__ == "__main__":
    main()
