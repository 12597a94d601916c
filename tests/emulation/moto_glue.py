"""What moto needs to run this project without Docker, and to look like AWS where it matters.

- Step Functions executes the real ASL (moto's engine, switched on at start and after reset).
  The engine invokes Lambda through a boto3 client pointed at http://localhost:$MOTO_PORT, i.e.
  back into this same server.
- Every Lambda invocation (Invoke API, the Step Functions engine, S3 notifications) is forwarded
  to `{lambda_endpoint}/2015-03-31/functions/{name}/invocations` (`cargo lambda watch`).
  cargo lambda answers a handler error with HTTP 500 and {"errorType", "errorMessage"}; that
  becomes a function error (X-Amz-Function-Error: Unhandled, the JSON as payload), which is what
  AWS returns and what the Step Functions engine turns into Error == errorType.
- S3 -> Lambda notifications are delivered asynchronously (moto delivers them inside the PutObject
  request and swallows every error) with AWS's two retries on a function error, and the event
  records carry the fields AWS's do: `userIdentity.principalId` is the unique ID of whoever signed
  the PutObject / CompleteMultipartUpload (principals.principal_id_of: `AWS:<RoleId>:<session>`
  for a key moto's STS issued, `AWS:<UserId>` for an IAM user's key, `AWS:EMULATOR` for the
  harness's key "test" and any other), `eventTime` the time S3 finished the request, in ISO 8601
  with milliseconds and Z ("Event message structure",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
- IAM users get UserIds as AWS gives them (AIDA + 17 characters; moto gives 20 lowercase
  characters), so that an upload's principalId looks like AWS's ("IAM identifiers", Understanding
  unique ID prefixes, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes).
- StartExecution without a name gets a UUID name, as on AWS (moto's engine would name it "None",
  and a second unnamed start would then be ExecutionAlreadyExists).
- StopExecution leaves the execution ABORTED when it returns, with its stopDate, as on AWS. moto's
  engine sets the status from its worker thread, after the answer (which then lacked stopDate), and
  while a Task's Lambda invocation is in flight, only once the function returns. The engine does
  stop: a Wait is cut short and no state after the current one runs (the in-flight function itself
  runs to its end, as it would on AWS).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

from . import ACCOUNT, principals, sfn_limits

LOG = logging.getLogger("emulator.lambda")

FORWARD_ERROR = "EmulatorForwardError"
UNREACHABLE_ERROR = "Lambda.ServiceException"


# The function's timeout in seconds (None: none), read when an invocation starts to run.
TimeoutOf = Callable[[], float | None] | None


class Forwarder:
    HOLD_LIMIT_SECONDS = 300.0

    def __init__(self, endpoint: str, timeout: float = 900.0, async_retry_delays=(1.0, 2.0)):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.async_retry_delays = tuple(async_retry_delays)
        self.lock = threading.Lock()
        self.invocations = 0
        self.failures = 0
        self.inflight: dict[str, set[threading.Event]] = {}
        # Functions whose new invocations wait for a fresh execution environment (see crash()).
        self.held: dict[str, threading.Event] = {}
        self.by_function: dict[str, dict] = {}

    def crash(self, name: str, hold: bool = False) -> int:
        """Fails every invocation of `name` in flight as Lambda does when the runtime process dies.
        With hold, later invocations of `name` wait until resume(name), as they wait on AWS while
        Lambda starts a new execution environment; the test restarts the function server meanwhile,
        so no retry can reach the dying one."""
        with self.lock:
            events = list(self.inflight.get(name, ()))
            if hold and name not in self.held:
                self.held[name] = threading.Event()
        for e in events:
            e.set()
        return len(events)

    def resume(self, name: str) -> bool:
        """Lets the invocations held by crash(name, hold=True) go on to the function server."""
        with self.lock:
            gate = self.held.pop(name, None)
        if gate:
            gate.set()
        return gate is not None

    def invoke(self, name: str, event, timeout_of: TimeoutOf = None) -> tuple[str, bool]:
        """(payload, errored) of one synchronous invocation of function `name`; a crash() of the
        function while it runs ends it with Runtime.ExitError, and running past the function's
        timeout (seconds, as `timeout_of()` gives them when the invocation starts to run) ends it
        with Sandbox.Timedout. Counted per function, with the invocations' summed duration (what
        Lambda bills)."""
        refused = sfn_limits.lambda_request_too_large(len(_request_body(event)), asynchronous=False)
        if refused:  # Lambda refuses the request itself (HTTP 413): the function never runs
            raise refused
        started = time.monotonic()
        payload, errored = self._invoke_crashable(name, event, timeout_of)
        seconds = time.monotonic() - started
        error_type = None
        if errored:
            try:
                error_type = json.loads(payload).get("errorType")
            except (ValueError, AttributeError):
                error_type = FORWARD_ERROR
        with self.lock:
            stats = self.by_function.setdefault(name, {"invocations": 0, "errors": {}, "seconds": 0.0})
            stats["invocations"] += 1
            stats["seconds"] += seconds
            if errored:
                key = str(error_type or "Unhandled")
                stats["errors"][key] = stats["errors"].get(key, 0) + 1
        return payload, errored

    def stats(self) -> dict:
        """Invocations, errors by type and summed seconds, per function, since the last reset."""
        with self.lock:
            return json.loads(json.dumps(self.by_function))

    def held_functions(self) -> list[str]:
        """Functions whose invocations wait for a fresh execution environment (crash, timeout)."""
        with self.lock:
            return sorted(self.held)

    def reset_stats(self):
        """Clears the counts and lets any held invocation go on (a reset starts afresh)."""
        with self.lock:
            self.by_function.clear()
            gates = list(self.held.values())
            self.held.clear()
        for gate in gates:
            gate.set()

    def _invoke_crashable(self, name: str, event, timeout_of: TimeoutOf = None) -> tuple[str, bool]:
        with self.lock:
            gate = self.held.get(name)
        if gate and not gate.wait(self.HOLD_LIMIT_SECONDS):
            LOG.error("lambda %s: no new execution environment after %.0f s", name, self.HOLD_LIMIT_SECONDS)
            return json.dumps({"errorType": UNREACHABLE_ERROR,
                               "errorMessage": "no execution environment became available"}), True
        # The configuration in force when the invocation reaches an execution environment applies
        # (an UpdateFunctionConfiguration made while it was held counts), as on AWS.
        timeout = timeout_of() if timeout_of else None
        crashed = threading.Event()
        done = threading.Event()
        box: dict = {}

        def call():
            try:
                box["result"] = self._invoke(name, event)
            finally:
                done.set()

        with self.lock:
            self.inflight.setdefault(name, set()).add(crashed)
        try:
            threading.Thread(target=call, name=f"invoke-{name}", daemon=True).start()
            started = time.monotonic()
            while not done.wait(0.05):
                if timeout and time.monotonic() - started > timeout:
                    # Lambda ends the execution environment of an invocation that runs past the
                    # function's timeout. The emulation cannot stop the process cargo lambda runs,
                    # so it does what crash(hold=True) does: later invocations wait for a fresh
                    # environment (the test restarts the function server, then resume()).
                    LOG.info("lambda %s: timed out after %.0f s", name, timeout)
                    with self.lock:
                        self.failures += 1
                        self.held.setdefault(name, threading.Event())
                    return json.dumps({"errorType": "Sandbox.Timedout",
                                       "errorMessage": f"Task timed out after {timeout:.2f} seconds"}), True
                if crashed.is_set():
                    LOG.info("lambda %s: the runtime process exited during the invocation", name)
                    with self.lock:
                        self.failures += 1
                    return json.dumps({"errorType": "Runtime.ExitError",
                                       "errorMessage": "Runtime exited with error: signal: killed"}), True
            return box["result"]
        finally:
            with self.lock:
                self.inflight[name].discard(crashed)

    def _invoke(self, name: str, event) -> tuple[str, bool]:
        data = _request_body(event)
        url = f"{self.endpoint}/2015-03-31/functions/{name}/invocations"
        req = urllib.request.Request(url, data=data, method="POST", headers={"content-type": "application/json"})
        started = time.monotonic()
        with self.lock:
            self.invocations += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                errored = bool(resp.headers.get("X-Amz-Function-Error"))
            # Lambda returns no response above 6 MB, a Function.ResponseSizeTooLarge error instead (sfn_limits).
            too_large = None if errored else sfn_limits.lambda_response_too_large(len(raw))
            if too_large:
                LOG.info("lambda %s: response of %d bytes is above Lambda's limit", name, len(raw))
                with self.lock:
                    self.failures += 1
                return too_large, True
            body = raw.decode("utf-8", errors="replace")
            LOG.info("lambda %s: ok=%s in %.0f ms", name, not errored, (time.monotonic() - started) * 1000)
            return body, errored
        except urllib.error.HTTPError as e:
            raw = e.read().decode("utf-8", errors="replace")
            try:
                payload = json.loads(raw)
                ok = isinstance(payload, dict) and isinstance(payload.get("errorType"), str)
            except ValueError:
                ok = False
            if not ok:
                payload = {"errorType": FORWARD_ERROR,
                           "errorMessage": f"function server answered HTTP {e.code} for {name}: {raw[:300]}"}
            LOG.info("lambda %s: function error (HTTP %s) in %.0f ms", name, e.code,
                     (time.monotonic() - started) * 1000)
            with self.lock:
                self.failures += 1
            return json.dumps(payload), True
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            LOG.error("lambda %s: forward target %s unreachable: %s", name, self.endpoint, reason)
            with self.lock:
                self.failures += 1
            # Lambda could not run the function at all (no execution environment answered): on AWS
            # that is the service's own 5xx, which Step Functions reports as Lambda.ServiceException.
            payload = {"errorType": UNREACHABLE_ERROR,
                       "errorMessage": f"cannot reach the Lambda forward target {url}: {reason}"}
            return json.dumps(payload), True

    def invoke_async(self, name: str, event, what: str = "event", timeout_of: TimeoutOf = None):
        """An asynchronous invocation: returns at once; on a function error, AWS's two more tries."""
        refused = sfn_limits.lambda_request_too_large(len(_request_body(event)), asynchronous=True)
        if refused:
            raise refused

        def run():
            for attempt in range(1 + len(self.async_retry_delays)):
                _, errored = self.invoke(name, event, timeout_of)
                if not errored:
                    return
                if attempt < len(self.async_retry_delays):
                    time.sleep(self.async_retry_delays[attempt])
            LOG.warning("lambda %s: asynchronous %s failed after %d tries", name, what,
                        1 + len(self.async_retry_delays))

        threading.Thread(target=run, name=f"async-invoke-{name}", daemon=True).start()


def _request_body(event) -> bytes:
    """The invocation's payload as Lambda receives it."""
    if isinstance(event, (bytes, str)):
        return event.encode() if isinstance(event, str) else event
    return json.dumps({} if event is None else event).encode()


FORWARDER: Forwarder | None = None


def _timeout(fn) -> float | None:
    """The function's configured timeout in seconds (UpdateFunctionConfiguration changes it)."""
    try:
        return float(fn.timeout) if fn.timeout else None
    except (AttributeError, TypeError, ValueError):
        return None


def install(lambda_endpoint: str, port: int, timeout: float = 900.0, async_retry_delays=(1.0, 2.0)) -> Forwarder:
    global FORWARDER
    # The Step Functions engine's boto3 clients call back into this server (moto_server_port()).
    os.environ["MOTO_PORT"] = str(port)
    FORWARDER = Forwarder(lambda_endpoint, timeout, async_retry_delays)
    enable_sfn_execution()

    import moto.awslambda.models as lambda_models
    import moto.s3.notifications as notifications

    def _invoke_lambda(self, event=None) -> tuple[str, bool, str]:
        # moto's contract: (payload text, errored, log text). No Docker: forward.
        if isinstance(event, str):  # moto passes "{}" (a string) for an empty body
            try:
                event = json.loads(event)
            except ValueError:
                pass
        payload, errored = FORWARDER.invoke(self.function_name, event, lambda: _timeout(self))
        return payload, errored, ""

    def invoke(self, body, request_headers, response_headers):
        # moto's LambdaFunction.invoke, except: a function error is "Unhandled" (as AWS says for
        # an error the runtime reports), and InvocationType=Event returns at once (202).
        event = json.loads(body) if body else {}
        inv_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
        if inv_type == "Event":
            FORWARDER.invoke_async(self.function_name, event, "Invoke", lambda: _timeout(self))
            return ""
        if inv_type == "DryRun":
            return ""
        res, errored, logs = self._invoke_lambda(event=event)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["x-amz-executed-version"] = str(self.version)
        response_headers["x-amz-log-result"] = base64.b64encode(logs.encode()).decode()
        return res.encode("utf-8")

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda
    lambda_models.LambdaFunction.invoke = invoke

    original_event = notifications._get_s3_event

    def s3_event(event_name, bucket, key, notification_id):
        event = original_event(event_name, bucket, key, notification_id)
        # moto builds the event inside the request that created the object, in its thread: the
        # key that signed it is the one app.py noted for this thread (principals.REQUEST).
        principal_id = principals.principal_id_of(principals.request_key())
        event_time = _event_time(key)
        for rec in event["Records"]:
            rec["eventTime"] = event_time
            rec["userIdentity"] = {"principalId": principal_id}
            rec["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
            rec["responseElements"] = {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                       "x-amz-id-2": uuid.uuid4().hex}
            rec["s3"]["bucket"]["ownerIdentity"] = {"principalId": "EMULATOR"}
            obj = rec["s3"]["object"]
            version = getattr(key, "version_id", None)
            if version and str(version) != "null":
                obj["versionId"] = str(version)
            obj["sequencer"] = f"{time.time_ns():016X}"
        return event

    notifications._get_s3_event = s3_event
    _one_event_per_multipart_upload()
    _aws_user_ids()

    def invoke_awslambda(account_id, event_body, fn_arn, region_name):
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(account_id, region_name).get_function(fn_arn)
        except Exception:  # noqa: BLE001 - no such function: S3 drops the event, as moto does
            LOG.warning("S3 notification for a function that does not exist: dropped")
            return
        FORWARDER.invoke_async(fn.function_name, event_body, "S3 notification", lambda: _timeout(fn))

    notifications._invoke_awslambda = invoke_awslambda

    _patch_sfn_json()
    _patch_sfn_executions()
    sfn_limits.install()  # AWS's hard limits and Distributed Map results in the engine
    principals.install()  # who made each AWS call, for tests/iam (principals.py)
    return FORWARDER


def _event_time(key) -> str:
    """When S3 finished the request that created `key` (its Last-Modified, set as moto stores the
    object), as AWS writes eventTime: 2026-01-02T03:04:05.678Z."""
    when = getattr(key, "last_modified", None)
    if not isinstance(when, dt.datetime):
        when = dt.datetime.now(dt.timezone.utc)
    return _iso(when)


_COMPLETING = threading.local()


def _one_event_per_multipart_upload():
    """A completed multipart upload is one ObjectCreated:CompleteMultipartUpload event on AWS
    ("Supported event types", https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html).
    moto stores the object with its own put_object, which sends an ObjectCreated:Put event first:
    that one is dropped."""
    import moto.s3.models as s3_models
    import moto.s3.notifications as notifications

    original_complete = s3_models.S3Backend.complete_multipart_upload
    original_send = notifications.send_event

    def complete_multipart_upload(self, *args, **kwargs):
        _COMPLETING.active = True
        try:
            return original_complete(self, *args, **kwargs)
        finally:
            _COMPLETING.active = False

    def send_event(account_id, event_name, bucket, key):
        if getattr(_COMPLETING, "active", False) and \
                event_name == notifications.S3NotificationEvent.OBJECT_CREATED_PUT_EVENT:
            return None
        return original_send(account_id, event_name, bucket, key)

    s3_models.S3Backend.complete_multipart_upload = complete_multipart_upload
    notifications.send_event = send_event


def _aws_user_ids():
    """IAM user IDs as AWS shapes them: AIDA and 17 upper-case letters and digits (moto: 20
    lower-case characters)."""
    import moto.iam.models as iam_models
    from moto.iam.utils import generate_access_key_id_from_account_id

    if getattr(iam_models.User, "_aws_ids", False):
        return
    original = iam_models.User.__init__

    def __init__(self, account_id, *args, **kwargs):
        original(self, account_id, *args, **kwargs)
        self.id = generate_access_key_id_from_account_id(account_id=account_id, prefix="AIDA", total_length=21)

    iam_models.User.__init__ = __init__
    iam_models.User._aws_ids = True


def enable_sfn_execution():
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def _patch_sfn_json():
    """The engine keeps some context values ($$.Execution.StartTime, ...) as datetimes, which
    moto's responses cannot serialise when an output carries them; AWS gives ISO 8601 strings."""
    import moto.stepfunctions.responses as sfn_responses

    class _Json:
        loads = staticmethod(json.loads)
        JSONDecodeError = json.JSONDecodeError

        @staticmethod
        def dumps(obj, **kw):
            kw.setdefault("default", _iso)
            return json.dumps(obj, **kw)

    sfn_responses.json = _Json


def _patch_sfn_executions():
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if name:
            self._validate_name(name)
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution

    original_stop = StepFunctionsParserBackend.stop_execution

    def stop_execution(self, execution_arn):
        try:
            execution = self.describe_execution(execution_arn)
        except Exception:  # noqa: BLE001 - moto's own answer (ExecutionDoesNotExist, ...)
            return original_stop(self, execution_arn)
        worker = getattr(execution, "exec_worker", None)
        deadline = time.monotonic() + 2.0
        # The engine builds the execution's environment on its own thread: a stop right after the
        # start waits for it (moto would fail on the missing environment).
        while worker is not None and worker.env is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if worker is None or worker.env is None:
            return original_stop(self, execution_arn)
        original_stop(self, execution_arn)
        execution.stopped_by_operator = True
        state = worker.env.program_state()
        if isinstance(state, ProgramStopped):
            deadline = time.monotonic() + 0.2
            while execution.exec_status == ExecutionStatus.RUNNING and time.monotonic() < deadline:
                time.sleep(0.005)  # usually the worker reflects it at once
            if execution.exec_status == ExecutionStatus.RUNNING:  # a Task is still running
                stopped = state.stop_date or dt.datetime.now(dt.timezone.utc)
                if stopped.tzinfo is None:
                    stopped = stopped.replace(tzinfo=dt.timezone.utc)
                execution.stop_date = stopped
                execution.exec_status = ExecutionStatus.ABORTED
        return execution

    StepFunctionsParserBackend.stop_execution = stop_execution

    original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status

    def reflect(self):
        # Keep the stopDate StopExecution gave an execution it aborted while a Task ran. And a
        # stopped execution stays ABORTED: moto's engine, stopped inside a Map or Parallel, ends
        # the iterations with its own internal error and would report FAILED.
        execution = self.execution
        kept = execution.stop_date if execution.exec_status == ExecutionStatus.ABORTED else None
        original_reflect(self)
        if getattr(execution, "stopped_by_operator", False):
            execution.exec_status = ExecutionStatus.ABORTED
            if kept is not None:
                execution.stop_date = kept
            elif execution.stop_date is None:
                execution.stop_date = dt.datetime.now(dt.timezone.utc)
        elif kept is not None and execution.exec_status == ExecutionStatus.ABORTED:
            execution.stop_date = kept

    BaseExecutionWorkerCommunication._reflect_execution_status = reflect


def _iso(value):
    """A datetime as AWS writes it in execution data: 2026-01-02T03:04:05.678Z."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_csvs(bucket: str, key: str) -> list[tuple[str, bytes]]:
    """The user-list files a deletion job reads: the object `key`, or every .csv below the
    folder `key/`. LookupError(reason) when it cannot be read."""
    from moto.s3.models import FakeKey, s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    where = f"s3://{bucket}/{key}"
    try:
        b = backend.get_bucket(bucket)
    except Exception:  # noqa: BLE001 - MissingBucket
        raise LookupError(f"Failed to read {where}: the bucket does not exist or access is denied.") from None
    if key.endswith("/"):
        names = sorted(k for k in list(b.keys.keys()) if k.startswith(key) and k.lower().endswith(".csv"))
    else:
        names = [key]
    files = []
    for name in names:
        try:
            obj = backend.get_object(bucket, name)
        except Exception:  # noqa: BLE001
            obj = None
        if not isinstance(obj, FakeKey):  # missing, or a delete marker
            if key.endswith("/"):
                continue
            raise LookupError(f"Failed to read {where}: the object does not exist or access is denied.")
        files.append((name, obj.value))
    if not files:
        raise LookupError(f"No .csv file found under {where}.")
    return files


def reset_moto():
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    enable_sfn_execution()
