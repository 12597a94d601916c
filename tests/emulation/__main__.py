"""`python -m tests.emulation --port P --lambda-endpoint URL`: serve the emulation on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import uuid
from urllib.parse import parse_qs, urlsplit

from . import moto_glue
from .faults import Faults
from .personalize import Personalize
from .personalize import ServiceError as PersonalizeError
from .pinpoint import Pinpoint
from .pinpoint import ServiceError as PinpointError

SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class Emulation:
    def __init__(self, moto_app):
        self.moto = moto_app
        self.faults = Faults()
        self.personalize = Personalize(self.faults, moto_glue.read_s3)
        self.pinpoint = Pinpoint(self.faults)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/"):
            return self.control(environ, start_response, path[len("/_emulator/"):])
        scope = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else None
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service == "personalize" or target.startswith("AmazonPersonalize."):
            return self.serve_personalize(environ, start_response, target.partition(".")[2])
        if service == "mobiletargeting":
            raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
            return self.serve_pinpoint(environ, start_response, urlsplit(raw).path)
        return self.moto(environ, start_response)

    @staticmethod
    def body(environ) -> bytes:
        n = int(environ.get("CONTENT_LENGTH") or 0)
        return environ["wsgi.input"].read(n) if n else b""

    @staticmethod
    def reply(start_response, status: int, payload, headers=None, content_type="application/json"):
        data = b"" if payload is None else json.dumps(payload).encode()
        hs = [("Content-Type", content_type), ("Content-Length", str(len(data))),
              ("x-amzn-RequestId", str(uuid.uuid4()))] + (headers or [])
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", hs)
        return [data]

    def serve_personalize(self, environ, start_response, op):
        try:
            body = json.loads(self.body(environ) or b"{}")
            out = self.personalize.handle(op, body)
            return self.reply(start_response, 200, out, content_type="application/x-amz-json-1.1")
        except PersonalizeError as e:
            return self.reply(start_response, e.status, {"__type": e.code, "message": e.message},
                              [("x-amzn-ErrorType", e.code)], content_type="application/x-amz-json-1.1")
        except ValueError:
            return self.reply(start_response, 400, {"__type": "SerializationException", "message": "bad JSON"},
                              [("x-amzn-ErrorType", "SerializationException")], content_type="application/x-amz-json-1.1")

    def serve_pinpoint(self, environ, start_response, raw_path):
        try:
            raw = self.body(environ)
            body = json.loads(raw) if raw else {}
            # CreateApp's payload is the CreateApplicationRequest itself.
            status, out = self.pinpoint.handle(environ["REQUEST_METHOD"], raw_path, body)
            return self.reply(start_response, status, out)
        except PinpointError as e:
            return self.reply(start_response, e.status, {"Message": e.message, "RequestID": uuid.uuid4().hex},
                              [("x-amzn-ErrorType", e.code)])
        except ValueError:
            return self.reply(start_response, 400, {"Message": "bad JSON", "RequestID": uuid.uuid4().hex},
                              [("x-amzn-ErrorType", "BadRequestException")])

    def control(self, environ, start_response, route):
        method = environ["REQUEST_METHOD"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            raw = self.body(environ)
            body = json.loads(raw) if raw else {}
            out = self.route_control(method, route, query, body)
            return self.reply(start_response, 200, out)
        except (PersonalizeError, PinpointError) as e:
            return self.reply(start_response, e.status, {"error": e.code, "message": e.message})
        except (KeyError, ValueError, TypeError) as e:
            return self.reply(start_response, 400, {"error": "BadControlRequest", "message": str(e)})

    def route_control(self, method, route, query, body):
        if route == "health":
            return {"ok": True}
        if route == "reset" and method == "POST":
            moto_glue.reset_moto()
            self.faults.reset()
            self.personalize.reset()
            self.pinpoint.reset()
            return {"reset": True}
        if route == "personalize/config" and method == "POST":
            self.personalize.configure(body)
            return {"ok": True}
        if route == "personalize/dataset-groups" and method == "POST":
            return {"datasetGroupArn": self.personalize.create_group(body["name"])}
        if route == "personalize/records":
            if method == "POST":
                self.personalize.add_records(body["datasetGroupArn"], body["records"])
                return {"ok": True}
            return {"records": self.personalize.get_records(query["datasetGroupArn"])}
        if route == "personalize/jobs":
            with self.personalize.lock:
                self.personalize._advance_all()
                return {"jobs": [{k: v for k, v in j.items() if not k.startswith("_")} for j in self.personalize.jobs.values()]}
        if route == "pinpoint/config" and method == "POST":
            self.pinpoint.configure(body)
            return {"ok": True}
        if route == "pinpoint/apps" and method == "POST":
            return self.pinpoint.create_app(body.get("name", "app"), body.get("id"))
        if route == "pinpoint/endpoints":
            if method == "POST":
                self.pinpoint.seed(body["applicationId"], body["users"])
                return {"ok": True}
            return {"users": self.pinpoint.users(query["applicationId"])}
        if route == "faults":
            if method == "POST":
                self.faults.set(body.get("rules", []))
            return {"rules": self.faults.describe()}
        if route == "calls":
            return list(self.faults.calls)
        raise KeyError(f"no control route {method} /_emulator/{route}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lambda-endpoint", required=True)
    args = ap.parse_args(argv)
    moto_glue.install(args.lambda_endpoint, args.port)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    # Request lines would carry user IDs (Pinpoint paths): werkzeug's access log stays off.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = Emulation(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True)

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"emulator ready on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
