"""What moto needs to run this project's workflow without Docker, and to look like AWS where the
workflow depends on it:

- Step Functions executes the real ASL (moto's engine, switched on here).
- Every Lambda invocation (from the state machine, from S3 notifications, from Invoke) is
  forwarded to `cargo lambda watch`, which runs the real function binaries. A handler error
  (cargo lambda answers HTTP 500 with {errorType, errorMessage}) becomes a function error, so the
  state machine sees `Error == errorType` as on AWS.
- S3 event notifications carry what AWS's do (userIdentity, requestParameters, versionId, ...)
  and invoke the function asynchronously, retrying a failed invocation twice like AWS does.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid

ACCOUNT = "123456789012"


def install(lambda_endpoint: str, port: int):
    # The engine's own boto3 clients call back into this server for Lambda invocations.
    os.environ["MOTO_PORT"] = str(port)
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}

    import moto.awslambda.models as lambda_models
    import moto.s3.notifications as notifications

    def _invoke_lambda(self, event=None):
        return forward(lambda_endpoint, self.function_name, event)

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda

    original_event = notifications._get_s3_event

    def s3_event(event_name, bucket, key, notification_id):
        event = original_event(event_name, bucket, key, notification_id)
        for rec in event["Records"]:
            rec["userIdentity"] = {"principalId": "AWS:EMULATION"}
            rec["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
            rec["responseElements"] = {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex}
            rec["s3"]["bucket"]["ownerIdentity"] = {"principalId": "EMULATION"}
            obj = rec["s3"]["object"]
            version = getattr(key, "version_id", None)
            if version and str(version) != "null":
                obj["versionId"] = str(version)
            obj["sequencer"] = f"{time.time_ns():X}"
        return event

    notifications._get_s3_event = s3_event

    def invoke_async(account_id, event_body, fn_arn, region_name):
        threading.Thread(target=_deliver, args=(account_id, event_body, fn_arn, region_name), daemon=True).start()

    notifications._invoke_awslambda = invoke_async

    # The engine keeps $$.Execution.StartTime as a datetime (AWS: an ISO 8601 string), and
    # DescribeExecution then cannot serialise an output that carries it.
    import moto.stepfunctions.responses as sfn_responses

    class _Json:
        loads = staticmethod(json.loads)

        @staticmethod
        def dumps(obj, **kw):
            kw.setdefault("default", _iso)
            return json.dumps(obj, **kw)

    sfn_responses.json = _Json


def _iso(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _deliver(account_id, event_body, fn_arn, region_name):
    """An asynchronous invocation: on a function error, two more tries (AWS's default)."""
    from moto.awslambda.utils import get_backend

    for attempt in range(3):
        try:
            func = get_backend(account_id, region_name).get_function(fn_arn)
        except Exception:  # noqa: BLE001 - no such function: S3 drops the event
            return
        headers: dict = {}
        func.invoke(json.dumps(event_body), {"x-amz-invocation-type": "Event"}, headers)
        if "x-amz-function-error" not in headers:
            return
        time.sleep(1 + attempt)


def forward(endpoint: str, name: str, event) -> tuple[str, bool, str]:
    data = json.dumps({} if event is None else event).encode()
    req = urllib.request.Request(f"{endpoint}/2015-03-31/functions/{name}/invocations", data=data,
                                 method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=900) as r:
            return r.read().decode("utf-8", errors="replace"), False, ""
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", errors="replace")
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or "errorType" not in payload:
                raise ValueError
        except ValueError:
            payload = {"errorType": "Lambda.Unknown", "errorMessage": f"HTTP {e.code} from the function server"}
        return json.dumps(payload), True, ""
    except (urllib.error.URLError, OSError) as e:
        payload = {"errorType": "Lambda.ServiceException", "errorMessage": f"the function server is unreachable: {e}"}
        return json.dumps(payload), True, ""


def read_s3(bucket: str, key: str) -> list[bytes]:
    """The CSV bodies a deletion job reads: one object, or every .csv under a folder."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    where = f"s3://{bucket}/{key}"
    try:
        b = backend.get_bucket(bucket)
    except Exception as e:  # noqa: BLE001
        raise KeyError(f"Cannot read {where}: the bucket does not exist") from e
    if key.endswith("/"):
        names = sorted(k for k in list(b.keys.keys()) if k.startswith(key) and k.endswith(".csv"))
        if not names:
            raise KeyError(f"No .csv file found under {where}")
    else:
        names = [key]
    bodies = []
    for n in names:
        obj = backend.get_object(bucket, n)
        if obj is None:
            raise KeyError(f"Cannot read {where}: the object does not exist")
        bodies.append(obj.value)
    return bodies


def reset_moto():
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
