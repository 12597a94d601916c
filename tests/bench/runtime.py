"""A local stand-in for the Lambda Runtime API, to run a real function binary outside Lambda.

It serves the three calls a runtime client makes (next invocation, response, error), hands
out the queued events one at a time and records when the first `next` arrived, so a caller
can measure a cold start (process start to first request for work) and run one invocation
while watching the process's own time and memory.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime/invocation/"


class RuntimeApi:
    def __init__(self, function_name: str = "bench"):
        self.function_name = function_name
        self.events: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.first_next: float | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if self.path != PREFIX + "next":
                    return self._send(404, {"errorMessage": "unknown path"})
                if api.first_next is None:
                    api.first_next = time.perf_counter()
                event = api.events.get()
                if event is None:  # shutdown: the process will be killed while it waits
                    time.sleep(3600)
                    return None
                request_id = str(uuid.uuid4())
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 900_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 f"arn:aws:lambda:us-east-1:123456789012:function:{api.function_name}")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.path.endswith("/response"):
                    api.results.put(("ok", json.loads(raw or b"null")))
                elif self.path.endswith("/error"):
                    api.results.put(("error", json.loads(raw or b"null")))
                else:
                    api.results.put(("init-error", raw.decode(errors="replace")))
                self._send(202, {"status": "OK"})

            def _send(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> dict[str, str]:
        """What Lambda sets for a function process (the parts the runtime client reads)."""
        return {
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
        }
