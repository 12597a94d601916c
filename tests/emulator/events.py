"""Step Functions execution status-change events to a Lambda function, as an EventBridge rule on
{"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
 "detail": {"stateMachineArn": [..], "status": [..]}} with a Lambda target delivers them.

Rules (POST /_emulator/events/rules {"rules": [...]}, which replaces the set; GET lists them;
reset clears them):

    {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:erasure",
     "statuses": ["ABORTED", "FAILED", "TIMED_OUT", "SUCCEEDED"] (any of these and RUNNING),
     "functionName": "finalize-erasure" (a name or a function ARN),
     "maxRetries": 3 (optional: retries of a failed delivery),
     "retryDelaySeconds": 1.0 (optional: the wait before each retry)}

A thread polls moto's Step Functions backend every 0.3 s. The first time an execution of a watched
state machine is seen in a listed status, the event is built and delivered on its own thread
through the emulator's Lambda forwarder (POST {lambda_endpoint}/2015-03-31/functions/NAME/invocations),
retried up to maxRetries times after a function error or an unreachable function server. The
event is the one AWS sends:

    {"version": "0", "id": uuid, "detail-type": "Step Functions Execution Status Change",
     "source": "aws.states", "account": ..., "time": "2026-01-02T03:04:05Z", "region": ...,
     "resources": [executionArn],
     "detail": {"executionArn", "stateMachineArn", "name", "status", "startDate": epoch ms,
                "stopDate": epoch ms | null, "input": "<the input JSON text>",
                "output": "<the output JSON text>" | null, "inputDetails": {"included": true},
                "outputDetails": {"included": true} | null}}

Executions that already had a status when the rules were set do not fire for it (as an
EventBridge rule created later would not have seen it). Polling can miss a short RUNNING; an
execution first seen already ended still gets its RUNNING event first when RUNNING is listed.
Each delivery (after its retries) is one call log entry (service "events", operation "Deliver",
status 200 or 500, "execution" (its name), "executionStatus", "functionName", "outcome" (delivered
or failed), "attempts" and, after a failure, "error" (the errorType); never the input or the
function's error message) and one entry of
GET /_emulator/events/deliveries, which also holds the event as delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections import deque

from .logs import where

LOG = logging.getLogger("emulator.events")

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DETAIL_TYPE = "Step Functions Execution Status Change"
POLL_SECONDS = 0.3
DELIVERY_LIMIT = 10_000


class EventRule:
    FIELDS = ("stateMachineArn", "statuses", "functionName", "maxRetries", "retryDelaySeconds")

    def __init__(self, spec: dict):
        if not isinstance(spec, dict):
            raise ValueError("an event rule is a JSON object")
        unknown = set(spec) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown event rule fields: {sorted(unknown)}")
        self.state_machine_arn = spec.get("stateMachineArn")
        parts = self.state_machine_arn.split(":") if isinstance(self.state_machine_arn, str) else []
        if len(parts) != 7 or parts[:3] != ["arn", "aws", "states"] or parts[5] != "stateMachine":
            raise ValueError("an event rule needs 'stateMachineArn': arn:aws:states:REGION:ACCOUNT:stateMachine:NAME")
        self.region, self.account = parts[3], parts[4]
        statuses = spec.get("statuses")
        if not isinstance(statuses, list) or not statuses or any(s not in STATUSES for s in statuses):
            raise ValueError(f"an event rule needs 'statuses': a non-empty list of {list(STATUSES)}")
        self.statuses = list(dict.fromkeys(statuses))
        fn = spec.get("functionName")
        if not isinstance(fn, str) or not fn:
            raise ValueError("an event rule needs 'functionName'")
        self.function_name = fn
        # The forward target (cargo lambda) knows functions by name: a function ARN's name part.
        self.target = fn.split(":")[6] if fn.startswith("arn:") and len(fn.split(":")) >= 7 else fn
        self.max_retries = int(spec.get("maxRetries", 3))
        self.retry_delay = float(spec.get("retryDelaySeconds", 1.0))
        if self.max_retries < 0 or self.retry_delay < 0:
            raise ValueError("'maxRetries' and 'retryDelaySeconds' cannot be negative")
        # executionArn -> the statuses this rule has seen it in
        self.seen: dict[str, set[str]] = {}

    def describe(self) -> dict:
        return {"stateMachineArn": self.state_machine_arn, "statuses": list(self.statuses),
                "functionName": self.function_name, "maxRetries": self.max_retries,
                "retryDelaySeconds": self.retry_delay}


def _executions(rule: EventRule) -> list:
    """moto's executions of the rule's state machine (none if it does not exist)."""
    from moto.stepfunctions.responses import get_backend

    backend = get_backend(rule.account, rule.region)
    for sm in list(backend.state_machines):
        if sm.arn == rule.state_machine_arn:
            return list(sm.executions)
    return []


def _status(execution) -> str | None:
    status = getattr(execution, "exec_status", None)  # the ASL engine's execution
    if status is None:
        status = getattr(execution, "status", None)
    return getattr(status, "value", status)


def _millis(value) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp() * 1000)


def _rfc3339(value) -> str:
    if value is None:
        value = dt.datetime.now(dt.timezone.utc)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_text(value) -> str | None:
    from .moto_glue import _iso

    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=_iso)


def build_event(rule: EventRule, execution, status: str) -> dict:
    arn = execution.execution_arn
    ended = status != "RUNNING"
    stop = getattr(execution, "stop_date", None) if ended else None
    raw_input = getattr(execution, "execution_input", None)
    if raw_input is None:
        raw_input = _json_text(getattr(execution, "input_data", None)) or "{}"
    succeeded = status == "SUCCEEDED"
    output = _json_text(getattr(execution, "output", None)) if succeeded else None
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": rule.account,
        "time": _rfc3339(stop if ended else execution.start_date),
        "region": rule.region,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": rule.state_machine_arn,
            "name": execution.name,
            "status": status,
            "startDate": _millis(execution.start_date),
            "stopDate": _millis(stop),
            "input": raw_input if isinstance(raw_input, str) else _json_text(raw_input),
            "output": output,
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if succeeded else None,
        },
    }


class Events:
    def __init__(self, lock: threading.RLock, faults, forwarder, stop: threading.Event):
        self.lock = lock
        self.faults = faults
        self.forwarder = forwarder
        self._stop = stop
        self.rules: list[EventRule] = []
        self.deliveries: deque = deque(maxlen=DELIVERY_LIMIT)
        self.generation = 0  # bumped by reset: deliveries under way then are dropped
        self._thread = threading.Thread(target=self._poll_loop, name="events-poller", daemon=True)

    def start(self):
        self._thread.start()

    def reset(self):
        with self.lock:
            self.rules = []
            self.deliveries.clear()
            self.generation += 1

    def set(self, specs: list[dict]):
        if not isinstance(specs, list):
            raise ValueError("'rules' is a list")
        rules = [EventRule(s) for s in specs]  # validate all before replacing
        for rule in rules:  # what exists now has already happened: no events for it
            try:
                for ex in _executions(rule):
                    status = _status(ex)
                    if status:
                        rule.seen[ex.execution_arn] = {"RUNNING", status}
            except Exception as e:  # noqa: BLE001 - moto not ready: nothing to skip
                LOG.warning("events: could not read executions: %s", where(e))
        with self.lock:
            self.rules = rules

    def describe(self) -> list[dict]:
        with self.lock:
            return [r.describe() for r in self.rules]

    def read_deliveries(self) -> list[dict]:
        with self.lock:
            return list(self.deliveries)

    # --- polling ---------------------------------------------------------------------------

    def _poll_loop(self):
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - keep polling
                LOG.error("events poller: %s", where(e))

    def poll(self):
        with self.lock:
            rules, generation = list(self.rules), self.generation
        for rule in rules:
            for ex in _executions(rule):
                status = _status(ex)
                if status is None:
                    continue
                arn = ex.execution_arn
                due = []
                seen = rule.seen.get(arn)
                if seen is None:
                    seen = rule.seen[arn] = set()
                    if status != "RUNNING":  # it ran before it ended, even if unseen
                        seen.add("RUNNING")
                        if "RUNNING" in rule.statuses:
                            due.append(build_event(rule, ex, "RUNNING"))
                if status not in seen:
                    seen.add(status)
                    if status in rule.statuses:
                        due.append(build_event(rule, ex, status))
                if due:
                    threading.Thread(target=self._deliver, args=(rule, due, generation),
                                     name=f"event-delivery-{rule.target}", daemon=True).start()

    # --- delivery --------------------------------------------------------------------------

    def _deliver(self, rule: EventRule, events: list[dict], generation: int):
        for event in events:
            detail = event["detail"]
            attempts, outcome, error_type = 0, "failed", None
            for attempt in range(1 + rule.max_retries):
                if self.generation != generation or self._stop.is_set():
                    return  # reset (or shut down) meanwhile: the delivery is dropped
                attempts += 1
                if self.forwarder is None:
                    error_type = "NoLambdaEndpoint"
                    break
                payload, errored = self.forwarder.invoke(rule.target, event)
                if not errored:
                    outcome, error_type = "delivered", None
                    break
                error_type = _error_type(payload)
                if attempt < rule.max_retries and self._stop.wait(rule.retry_delay):
                    return
            status = 200 if outcome == "delivered" else 500
            entry = {"ts": time.time(), "functionName": rule.function_name, "executionArn": detail["executionArn"],
                     "execution": detail["name"], "status": detail["status"], "outcome": outcome,
                     "attempts": attempts, "event": event}
            if error_type:
                entry["errorType"] = error_type
            logged = {"execution": detail["name"], "executionStatus": detail["status"],
                      "functionName": rule.function_name, "outcome": outcome, "attempts": attempts}
            with self.lock:
                if self.generation != generation:
                    return
                self.deliveries.append(entry)
                self.faults.log("events", "Deliver", status, logged, error=error_type)
            LOG.info("event %s -> %s: %s after %d attempt(s)", detail["status"], rule.target, outcome, attempts)


def _error_type(payload: str) -> str:
    try:
        err = json.loads(payload)
        if isinstance(err, dict) and isinstance(err.get("errorType"), str):
            return err["errorType"]
    except ValueError:
        pass
    return "FunctionError"
