"""The one WSGI application: control API, Personalize, Pinpoint, Customer Profiles, and moto for
everything else.

Routing: a path under /_emulator/ is the control API. Otherwise the SigV4 credential scope of the
Authorization header (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`, or a presigned URL's
X-Amz-Credential; Signature Version 2 means S3) names the service: `personalize`,
`mobiletargeting` (Pinpoint) and `profile` (Customer Profiles) are served here, anything else goes
to moto. Unsigned requests fall back to the X-Amz-Target prefix (AmazonPersonalize.) and the path
(/v1/apps); an unsigned Customer Profiles request goes to moto (its paths, /domains/..., are
other services' too). An `s3` request first meets the S3 fault rules (faults.py), if any stand.

Control API (plain JSON, no auth):

    GET  /_emulator/health                       {"ok": true}
    POST /_emulator/reset                        clears Personalize, Pinpoint, Customer Profiles (domains,
                                                  profiles, config, re-creations), faults, call log, event
                                                  rules and deliveries, moto, the wire tally since reset
    GET|POST /_emulator/personalize/config       {"pending_seconds", "in_progress_seconds",
                                                  "max_pending_per_group", "max_input_bytes"}
    POST /_emulator/personalize/dataset-groups   {"name", "region"?} -> {"datasetGroupArn"}
    POST /_emulator/personalize/records          {"datasetGroupArn", "records": {user: n}} (adds)
    GET  /_emulator/personalize/records?datasetGroupArn=...   -> {"records": {user: n}}
    GET  /_emulator/personalize/jobs             -> {"jobs": [DataDeletionJob...]}
    Personalize model resources (personalize_models.py; every POST answers the new ARN(s)):
    GET|POST /_emulator/personalize/models/config {"training_pending_seconds": 1, "training_seconds": 2,
                                                  "training_hours": 1.5, "campaign_update_seconds": 1}
    POST /_emulator/personalize/datasets         {"datasetGroupArn", "datasetType"} -> {"datasetArn"}
    POST /_emulator/personalize/import-jobs      {"datasetArn", "dataLocation", "seconds"?: 0, "fail"?,
                                                  "name"?} -> {"datasetImportJobArn"}
    POST /_emulator/personalize/export-jobs      {"datasetArn", "path", "seconds"?, "fail"?, "name"?}
                                                  -> {"datasetExportJobArn"}
    POST /_emulator/personalize/solutions        {"datasetGroupArn", "name", "fail"?: reason, "recipeArn"?,
                                                  "performAutoTraining"?} -> {"solutionArn",
                                                  "solutionVersionArn"} (an ACTIVE first version)
    POST /_emulator/personalize/campaigns        {"solutionVersionArn", "name", "syncWithLatestSolutionVersion"?:
                                                  false, "minProvisionedTPS"?: 1} -> {"campaignArn"}
    POST /_emulator/personalize/recommenders     {"datasetGroupArn", "name", "recipeArn"?} -> {"recommenderArn"}
    POST /_emulator/personalize/batch-inference-jobs  {"solutionVersionArn", "input", "output", "seconds"?,
                                                  "fail"?, "name"?} -> {"batchInferenceJobArn"}
    POST /_emulator/personalize/batch-segment-jobs    (the same) -> {"batchSegmentJobArn"}
    POST /_emulator/personalize/event-trackers   {"datasetGroupArn", "name"} -> {"eventTrackerArn"}
    GET  /_emulator/personalize/models?datasetGroupArn=...  -> {"solutions": [{"solutionArn", "name",
                                                  "versions": [{"solutionVersionArn", "status", "trainingMode",
                                                  "tags", "trainedOn": [user ids] | null, ...}], "campaigns":
                                                  [{"campaignArn", "solutionVersionArn", "latestCampaignUpdate",
                                                  ...}]}], "recommenders": [..], "calls"|"attempts":
                                                  {"CreateSolutionVersion": n, "UpdateCampaign": n}}
    GET|POST /_emulator/pinpoint/config          {"rate": float|null, "burst": int, "latency_ms": int,
                                                  "operations": [..]|null}
    POST /_emulator/pinpoint/apps                {"name", "id"?, "region"?} -> ApplicationResponse
    POST /_emulator/pinpoint/endpoints           {"applicationId", "users": {user: n}} (adds n each)
    GET  /_emulator/pinpoint/endpoints?applicationId=...      -> {"users": {user: [endpoint ids]}}
    GET|POST /_emulator/customer-profiles/config {"search_rate": float|null, "delete_rate": float|null,
                                                  "burst": int|null, "latency_ms": int}: a token bucket
                                                  each for SearchProfiles and DeleteProfile (burst null:
                                                  each rate, rounded down, at least 1); latency on every
                                                  call
    POST /_emulator/customer-profiles/domains    {"name", "expirationDays"?} -> the domain (CreateDomain's
                                                  answer)
    POST /_emulator/customer-profiles/profiles   {"domainName", "profiles": [{"key": "_account"|"_email"|
                                                  "_phone"|"_profileId"|custom, "value", "count"?: 1,
                                                  "fields"?: {Profile fields}}]} -> {"profileIds": [..]}
                                                  (in order; a standard key sets its first field, e.g.
                                                  _email EmailAddress; a custom key is a profile key)
    GET  /_emulator/customer-profiles/profiles?domainName=...  -> {"profiles": [{"profileId", "keys":
                                                  {key: [values]}, "fields": {..}}]} (creation order)
    GET|POST /_emulator/customer-profiles/recreate  {"domainName", "key", "value", "times"?: 1 (null:
                                                  always), "delay_ms"?: 0}: each DeleteProfile of a profile
                                                  carrying that key value brings a new profile with it
                                                  (see customer_profiles.py); GET -> {"armed", "pending",
                                                  "recreated": [{"domainName", "key", "value",
                                                  "deletedProfileId", "profileId"}]}
    GET|POST /_emulator/faults                   {"rules": [...]} (POST replaces; see faults.py), for
                                                  service personalize, pinpoint, customer-profiles or s3
    GET  /_emulator/calls[?service=&operation=&since=]        -> [{"service", "operation", "status",
                                                  "ts", "applicationId"|"datasetGroupArn"|"jobName"|
                                                  "domainName"|"bucket"|"execution"...}]
    GET  /_emulator/principal-calls             -> {"calls": [{"principal", "service", "operation",
                                                  "checks": [{"action", "resource", "context"}],
                                                  "status"}]}: every call the application's own
                                                  principals made since the last reset, with what IAM
                                                  must allow for it (principals.py); also calls signed
                                                  with keys moto's STS or IAM issued ("assumed-role" /
                                                  "user" principals, e.g. request uploaders)
    POST /_emulator/role-key {"roleArn"}        -> {"accessKeyId"}: a key whose calls are recorded as
                                                  that template role's (the operator role, for the CLI)
    GET  /_emulator/wire[?scope=all]            -> {"validated": {service: {operation: {"requests", "responses",
                                                  "errors": {code: n}}}}, "violations": [..], "rejected":
                                                  [..], ...}: every Personalize/Pinpoint/Customer
                                                  Profiles exchange the emulation served, checked against
                                                  AWS's API models (wire.py); since the last reset, or
                                                  (scope=all) since start
    GET  /_emulator/s3/counts                    -> {"counts": {operation: n}}: every signed S3 request
                                                  since the last reset, by operation (what S3 bills;
                                                  the call log holds only requests a fault rule saw)
    GET  /_emulator/lambda                       {"endpoint", "invocations", "failures", "functions":
                                                  {name: {"invocations", "errors": {errorType: n},
                                                  "seconds": summed duration}}, "held": [name]}
                                                  (per function since the last reset). An
                                                  invocation running past its function's Timeout
                                                  fails with Sandbox.Timedout and holds the
                                                  function, as crash(hold) does
    POST /_emulator/lambda/crash                 {"functionName", "hold"?: bool}: invocations of it in
                                                 flight end with Runtime.ExitError (after a test killed
                                                 its process); with hold, new ones wait for .../resume
    POST /_emulator/lambda/resume                {"functionName"}: held invocations go on (a new
                                                 execution environment is up)
    GET|POST /_emulator/events/rules             {"rules": [{"name"?, "eventPattern", "functionName"?,
                                                  "inputTransformer"?, "maxRetries"?, "retryDelaySeconds"?}
                                                  or {"stateMachineArn", "statuses": [..], "functionName",
                                                  ...}]} (POST replaces): Step Functions Execution Status
                                                  Change events to a Lambda function (see events.py)
    GET  /_emulator/events/deliveries            -> {"deliveries": [{"functionName", "executionArn",
                                                  "status", "outcome", "attempts", "event", ...}]}
    GET  /_emulator/events/matches[?rule=NAME]   -> {"matches": [{"rule", "executionArn", "status",
                                                  "event", "input"}]}: every event a rule's pattern
                                                  matched (see events.py)
    GET|POST /_emulator/sfn/config               {"wait_scale": f} (default 1.0, reset restores it):
                                                  every Wait state and Retry interval lasts f times
                                                  its time (see sfn_limits.py)
"""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from . import moto_glue, principals, sfn_limits
from .customer_profiles import OPERATIONS as CUSTOMER_PROFILES_OPERATIONS
from .customer_profiles import CustomerProfiles
from .customer_profiles import route as customer_profiles_route
from .events import Events
from .faults import Faults, ServiceError, key_folder, s3_request
from .logs import where
from .personalize import Personalize
from .pinpoint import OPERATIONS as PINPOINT_OPERATIONS
from .pinpoint import Pinpoint
from .pinpoint import route as pinpoint_route
from .wire import Wire

LOG = logging.getLogger("emulator")

JSON_11 = "application/x-amz-json-1.1"
REASONS = {s.value: s.phrase for s in HTTPStatus}

# What S3 says for the errors a test is likely to inject (a rule's "message" overrides it).
S3_MESSAGES = {
    "AccessDenied": "Access Denied",
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchBucket": "The specified bucket does not exist",
    "NoSuchUpload": "The specified upload does not exist. The upload ID may be invalid, or the upload "
                    "may have been aborted or completed.",
    "InternalError": "We encountered an internal error. Please try again.",
    "SlowDown": "Please reduce your request rate.",
    "ServiceUnavailable": "Service is unable to handle request.",
}


def scope_of(environ) -> tuple[str | None, str]:
    """(service, region) of a SigV4-signed request's credential scope; (None, us-east-1) if unsigned."""
    auth = environ.get("HTTP_AUTHORIZATION")
    if auth:
        i = auth.find("Credential=")
        if i >= 0:
            end = auth.find(",", i)
            parts = auth[i + 11:end if end >= 0 else None].strip().split("/")
            if len(parts) == 5:
                return parts[3], parts[2]
        if auth.startswith("AWS "):  # Signature Version 2: S3 only
            return "s3", "us-east-1"
    qs = environ.get("QUERY_STRING", "")
    i = qs.find("X-Amz-Credential=")
    if i >= 0:  # a presigned URL
        end = qs.find("&", i)
        parts = unquote(qs[i + 17:end if end >= 0 else None]).split("/")
        if len(parts) == 5:
            return parts[3], parts[2]
    if "AWSAccessKeyId=" in qs and "Signature=" in qs:  # an S3 URL presigned with Signature Version 2
        return "s3", "us-east-1"
    return None, "us-east-1"


class Emulator:
    def __init__(self, moto_app, forwarder=None):
        self.moto = moto_app
        self.forwarder = forwarder
        self.lock = threading.RLock()  # the one lock around the emulation's state
        self.faults = Faults(self.lock)
        self.personalize = Personalize(self.lock, self.faults, moto_glue.read_csvs)
        self.pinpoint = Pinpoint(self.lock, self.faults)
        self.customer_profiles = CustomerProfiles(self.lock, self.faults)
        self.wire = Wire()  # every Personalize/Pinpoint/Customer Profiles exchange checked against AWS's API models
        self._stop = threading.Event()
        self.s3_counts: dict[str, int] = {}
        self.events = Events(self.lock, self.faults, forwarder, self._stop)
        self._ticker = threading.Thread(target=self._tick, name="personalize-ticker", daemon=True)
        self._ticker.start()
        self.events.start()

    def _tick(self):
        while not self._stop.wait(0.2):
            try:
                self.personalize.tick()
            except Exception as e:  # noqa: BLE001 - keep ticking
                LOG.error("personalize ticker: %s", where(e))

    def stop(self):
        self._stop.set()

    # --- dispatch --------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/"):
            return self.control(environ, start_response, path[len("/_emulator/"):])
        start_response = principals.RECORDER.observe(environ, start_response)  # who called (tests/iam)
        # Who signed this request, for what moto does inside it in this thread (the S3 event of the
        # object it creates carries the signer's unique ID: moto_glue.py).
        principals.REQUEST.access_key = principals.access_key_of(environ)
        try:
            return self.dispatch(environ, start_response, path)
        finally:
            principals.REQUEST.access_key = None

    def dispatch(self, environ, start_response, path):
        service, region = scope_of(environ)
        if service is None:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("AmazonPersonalize."):
                service = "personalize"
            elif path.startswith("/v1/apps"):
                service = "mobiletargeting"
        if service == "personalize":
            return self.serve_personalize(environ, start_response, region)
        if service == "mobiletargeting":
            return self.serve_pinpoint(environ, start_response, region)
        if service == "profile":
            return self.serve_customer_profiles(environ, start_response, region)
        if service == "s3":
            self.count_s3(environ)
            if self.faults.has("s3"):
                return self.serve_s3_faults(environ, start_response)
        return self.moto(environ, start_response)

    def count_s3(self, environ):
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        if not raw_uri.startswith("/"):
            raw_uri = urlsplit(raw_uri).path or "/"
        op, _, _ = s3_request(environ["REQUEST_METHOD"], raw_uri.split("?", 1)[0],
                              environ.get("QUERY_STRING", ""), bool(environ.get("HTTP_X_AMZ_COPY_SOURCE")))
        op = op or "Other"
        with self.lock:
            self.s3_counts[op] = self.s3_counts.get(op, 0) + 1

    @staticmethod
    def body(environ) -> bytes:
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        return environ["wsgi.input"].read(n) if n > 0 else b""

    @staticmethod
    def reply(start_response, status: int, payload, headers=(), content_type="application/json"):
        data = b"" if payload is None else json.dumps(payload).encode()
        start_response(f"{status} {REASONS.get(status, 'Unknown')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(data))),
                        ("x-amzn-RequestId", str(uuid.uuid4())), *headers])
        return [data]

    # --- Personalize (awsJson1_1) ----------------------------------------------------------

    def serve_personalize(self, environ, start_response, region):
        op = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[2]
        raw = self.body(environ)
        if not self.personalize.handles(op):
            # Not a data deletion / dataset group call: moto's Personalize (schemas) answers.
            environ["wsgi.input"] = io.BytesIO(raw)
            environ["CONTENT_LENGTH"] = str(len(raw))
            return self.moto(environ, start_response)
        exchange = self.wire.exchange("personalize", op, environ, raw)
        return exchange.finish(self.answer_personalize(op, raw, region, exchange.start_response(start_response)))

    def answer_personalize(self, op, raw, region, start_response):
        """The awsJson1_1 answer to one served Personalize call (serve_personalize checks it)."""
        try:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise self.personalize.invalid(op, "Request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise self.personalize.invalid(op, "Request body must be a JSON object")
            out = self.personalize.handle(op, body, region)
            return self.reply(start_response, 200, out, content_type=JSON_11)
        except ServiceError as e:
            return self.reply(start_response, e.status, {"__type": e.code, "message": e.message},
                              [("x-amzn-ErrorType", e.code)], content_type=JSON_11)
        except Exception as e:  # noqa: BLE001
            LOG.error("personalize %s: internal error: %s", op, where(e))
            return self.reply(start_response, 500, {"__type": "InternalFailure", "message": "emulator error"},
                              [("x-amzn-ErrorType", "InternalFailure")], content_type=JSON_11)

    # --- Pinpoint and Customer Profiles (restJson1) ---------------------------------------

    def serve_pinpoint(self, environ, start_response, region):
        # Pinpoint's error shapes carry Message and RequestID.
        return self.serve_rest_json(environ, start_response, region, "pinpoint", pinpoint_route,
                                    PINPOINT_OPERATIONS, self.pinpoint.handle, with_request_id=True,
                                    internal_code="InternalServerErrorException")

    def serve_customer_profiles(self, environ, start_response, region):
        # The model's error shapes have one member, Message.
        return self.serve_rest_json(environ, start_response, region, "customer-profiles",
                                    customer_profiles_route, CUSTOMER_PROFILES_OPERATIONS,
                                    self.customer_profiles.handle, with_request_id=False,
                                    internal_code="InternalServerException")

    def serve_rest_json(self, environ, start_response, region, service, route, operations, handle,
                        with_request_id, internal_code):
        """One restJson1 call: the raw path as sent (segments decoded once, by the service), the
        answer checked against the service's model by the wire check."""
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        if not raw_uri.startswith("/"):
            raw_uri = urlsplit(raw_uri).path or "/"
        raw_path = raw_uri.split("?", 1)[0]
        raw = self.body(environ)
        served_as = route(environ["REQUEST_METHOD"], raw_path)[0]
        exchange = self.wire.exchange(service, None, environ, raw, served_as=served_as, prefer=operations)
        start_response = exchange.start_response(start_response)

        def error(message):
            return {"Message": message, "RequestID": str(uuid.uuid4())} if with_request_id else {"Message": message}

        try:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise ServiceError("BadRequestException", "Request body is not valid JSON", 400) from None
            status, out = handle(environ["REQUEST_METHOD"], raw_path, body, region, environ.get("QUERY_STRING", ""))
            answer = self.reply(start_response, status, out)
        except ServiceError as e:
            answer = self.reply(start_response, e.status, error(e.message), [("x-amzn-ErrorType", e.code)])
        except Exception as e:  # noqa: BLE001
            LOG.error("%s: internal error: %s", service, where(e))
            answer = self.reply(start_response, 500, error("emulator error"), [("x-amzn-ErrorType", internal_code)])
        return exchange.finish(answer)

    # --- S3 faults (restXml) ---------------------------------------------------------------

    def serve_s3_faults(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        if not raw_uri.startswith("/"):
            raw_uri = urlsplit(raw_uri).path or "/"
        op, bucket, key = s3_request(method, raw_uri.split("?", 1)[0], environ.get("QUERY_STRING", ""),
                                     bool(environ.get("HTTP_X_AMZ_COPY_SOURCE")))
        rule = self.faults.take("s3", op, {"bucket": bucket, "key": key}) if op else None
        if rule is None:
            return self.moto(environ, start_response)
        logged = {"bucket": bucket}
        folder = key_folder(key)
        if folder:
            logged["keyPrefix"] = folder
        try:
            rule.fire()
        except ServiceError as e:
            self.faults.log("s3", op, e.status, logged, error=e.code, injected=True)
            message = rule.message or S3_MESSAGES.get(e.code, f"Injected fault: {e.code}")
            return self.s3_error(start_response, method, e.status, e.code, message, bucket, key)
        # A latency-only rule: the call proceeds to moto; log what moto answered.
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self.moto(environ, capture)
        self.faults.log("s3", op, seen.get("status", 0), {**logged, "latency_ms": rule.latency_ms})
        return result

    @staticmethod
    def s3_error(start_response, method, status, code, message, bucket, key):
        """S3's error answer: `<Error><Code>..</Code><Message>..</Message>..</Error>` as
        application/xml, no body for HEAD (the SDKs then read the code from the status)."""
        request_id = uuid.uuid4().hex[:16].upper()
        extra = ""
        if code == "NoSuchKey" and key is not None:
            extra = f"<Key>{escape(key)}</Key>"
        elif code == "NoSuchBucket" and bucket:
            extra = f"<BucketName>{escape(bucket)}</BucketName>"
        body = b"" if method == "HEAD" else (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>").encode()
        start_response(f"{status} {REASONS.get(status, 'Unknown')}",
                       [("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
                        ("x-amz-request-id", request_id), ("x-amz-id-2", uuid.uuid4().hex)])
        return [body]

    # --- control API -----------------------------------------------------------------------

    def control(self, environ, start_response, route):
        method = environ["REQUEST_METHOD"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            raw = self.body(environ)
            body = json.loads(raw) if raw else {}
            status, out = self.route_control(method, route.rstrip("/"), query, body)
            return self.reply(start_response, status, out)
        except ServiceError as e:
            return self.reply(start_response, e.status, {"error": e.code, "message": e.message})
        except (KeyError, ValueError, TypeError) as e:
            return self.reply(start_response, 400, {"error": "BadControlRequest", "message": f"{type(e).__name__}: {e}"})
        except Exception as e:  # noqa: BLE001
            LOG.error("control %s %s: %s", method, route, where(e))
            return self.reply(start_response, 500, {"error": "EmulatorError", "message": type(e).__name__})

    def route_customer_profiles(self, post, route, query, body):
        cp = self.customer_profiles
        if route == "config":
            return 200, (cp.configure(body) if post else cp.config())
        if route == "domains" and post:
            return 200, cp.create_domain(body["name"], int(body.get("expirationDays", 366)))
        if route == "profiles":
            if post:
                return 200, {"ok": True, "profileIds": cp.seed(body["domainName"], list(body["profiles"]))}
            return 200, {"profiles": cp.profiles(query["domainName"])}
        if route == "recreate":
            if post:
                times = body["times"] if "times" in body else 1
                return 200, cp.arm_recreation(body["domainName"], body["key"], body["value"], times,
                                              float(body.get("delay_ms", 0)))
            return 200, cp.recreations()
        raise ServiceError("NotFound", f"no control route /_emulator/customer-profiles/{route}", 404)

    def route_control(self, method, route, query, body):
        post = method == "POST"
        if route == "health":
            return 200, {"ok": True}
        if route == "reset" and post:
            moto_glue.reset_moto()
            sfn_limits.reset()  # real-time waits again; Map Run children forgotten
            principals.RECORDER.reset()
            with self.lock:
                self.faults.reset()
                self.personalize.reset()
                self.pinpoint.reset()
                self.customer_profiles.reset()
                self.events.reset()
                self.s3_counts = {}
            self.wire.reset()
            if self.forwarder:
                self.forwarder.reset_stats()
            LOG.info("reset")
            return 200, {"reset": True}
        if route == "personalize/config":
            return 200, (self.personalize.configure(body) if post else self.personalize.config())
        if route == "personalize/dataset-groups" and post:
            return 200, {"datasetGroupArn": self.personalize.create_group(body["name"], body.get("region", "us-east-1"))}
        if route == "personalize/records":
            if post:
                total = self.personalize.add_records(body["datasetGroupArn"], body["records"])
                return 200, {"ok": True, "total": total}
            return 200, {"records": self.personalize.get_records(query["datasetGroupArn"])}
        if route == "personalize/jobs":
            return 200, {"jobs": self.personalize.list_jobs()}
        if route.startswith("personalize/"):
            answer = self.personalize.models.control(post, route[len("personalize/"):], query, body)
            if answer is not None:
                return answer
        if route == "pinpoint/config":
            return 200, (self.pinpoint.configure(body) if post else self.pinpoint.config())
        if route == "pinpoint/apps" and post:
            return 200, self.pinpoint.create_app(body.get("name", "app"), body.get("tags"),
                                                 body.get("region", "us-east-1"), body.get("id"))
        if route == "pinpoint/endpoints":
            if post:
                return 200, {"ok": True, "created": self.pinpoint.seed(body["applicationId"], body["users"])}
            return 200, {"users": self.pinpoint.users(query["applicationId"])}
        if route.startswith("customer-profiles/"):
            return self.route_customer_profiles(post, route[len("customer-profiles/"):], query, body)
        if route == "faults":
            if post:
                self.faults.set(body.get("rules", []))
            return 200, {"rules": self.faults.describe()}
        if route == "principal-calls":
            return 200, {"calls": principals.RECORDER.snapshot()}
        if route == "role-key" and post:
            # An access key ID whose calls are recorded as the template role's (e.g. the
            # operator role, for the erasure command line): {"roleArn"} -> {"accessKeyId"}.
            return 200, {"accessKeyId": principals.RECORDER.key_for_role(body["roleArn"])}
        if route == "calls":
            since = float(query["since"]) if "since" in query else None
            return 200, self.faults.read_calls(query.get("service"), query.get("operation"), since)
        if route == "wire":
            return 200, self.wire.report(query.get("scope", "reset"))
        if route == "s3/counts":
            with self.lock:
                return 200, {"counts": dict(self.s3_counts)}
        if route == "events/rules":
            if post:
                self.events.set(body.get("rules", []))
            return 200, {"rules": self.events.describe()}
        if route == "events/deliveries":
            return 200, {"deliveries": self.events.read_deliveries()}
        if route == "events/matches":
            return 200, {"matches": self.events.read_matches(query.get("rule"))}
        if route == "sfn/config":  # {"wait_scale": f}: Wait states and Retry intervals last f times as long
            return 200, (sfn_limits.configure(body) if post else sfn_limits.config())
        if route == "lambda/crash" and post:
            # What Lambda does when a function's process dies mid-invocation (the test killed it):
            # the invocation in flight fails with Runtime.ExitError instead of waiting forever.
            if not self.forwarder:
                raise ServiceError("NotFound", "no Lambda forward target", 404)
            return 200, {"failed": self.forwarder.crash(str(body.get("functionName", "")),
                                                        hold=bool(body.get("hold", False)))}
        if route == "lambda/resume" and post:
            if not self.forwarder:
                raise ServiceError("NotFound", "no Lambda forward target", 404)
            return 200, {"resumed": self.forwarder.resume(str(body.get("functionName", "")))}
        if route == "lambda":
            f = self.forwarder
            return 200, {"endpoint": f.endpoint if f else None, "invocations": f.invocations if f else 0,
                         "failures": f.failures if f else 0, "functions": f.stats() if f else {},
                         "held": f.held_functions() if f else []}
        raise ServiceError("NotFound", f"no control route {method} /_emulator/{route}", 404)
