"""Step Functions Execution Status Change events on an EventBridge-like bus: rules with real event
patterns, an optional InputTransformer and an optional Lambda target.

Events. "Step Functions sends the following events directly to EventBridge: Step Functions Execution
Status Change" (AWS Step Functions events, https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html),
for Standard workflows only ("Only standard workflows emit events to EventBridge", Automating Step
Functions event delivery with EventBridge, https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html):

    {"version": "0", "id": uuid, "detail-type": "Step Functions Execution Status Change",
     "source": "aws.states", "account": ..., "time": "2026-01-02T03:04:05Z", "region": ...,
     "resources": [executionArn],
     "detail": {"executionArn", "stateMachineArn", "name", "status", "startDate": epoch ms,
                "stopDate": epoch ms | null, "input": "<the input JSON text>",
                "output": "<the output JSON text>" | null, "inputDetails": {"included": true},
                "outputDetails": {"included": true} | null}}

One event per execution and status, RUNNING included, whichever rules match it. The child workflow
executions of a Distributed Map are Standard executions (moto runs no Express ones) and get their
events too, with their own ARNs: executionArn `arn:aws:states:R:A:execution:<stateMachine>/<Label or
UUID>:<child name>` and stateMachineArn `arn:aws:states:R:A:stateMachine:<stateMachine>/<Label or
UUID>` (the formats of ResultWriter (Map), https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html,
and of StartExecution's "qualified state machine ARN [that] refers to a Distributed Map state",
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html). So a rule
whose pattern names the parent's stateMachineArn exactly matches the parent only, while a prefix on
the ARN, or no stateMachineArn at all, matches the children as well.

Rules (POST /_emulator/events/rules {"rules": [...]}, which replaces the set; GET lists them; reset
clears them), either an EventBridge rule:

    {"name": "ExecutionOutcomeRule" (optional; default rule-N),
     "eventPattern": {...} (the template's EventPattern, verbatim),
     "functionName": "finalize-erasure" (optional: a name or a function ARN; no target = only recorded),
     "inputTransformer": {"InputPathsMap": {...}, "InputTemplate": "..."} (optional),
     "maxRetries": 3, "retryDelaySeconds": 1.0 (optional: retries of a failed delivery)}

or the short form {"stateMachineArn", "statuses": [..], "functionName", "maxRetries"?,
"retryDelaySeconds"?}, which is the pattern {"source": ["aws.states"], "detail-type": [DETAIL_TYPE],
"detail": {"stateMachineArn": [arn], "status": statuses}}.

Patterns follow Amazon EventBridge event patterns (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
and its "Content filtering" and "Arrays" pages): every field named must match (nested objects as
nested patterns, `detail` included); a field's value is a list of alternatives (OR), each an exact
value (strings character by character, numbers by their representation, true/false/null) or one of
`prefix`, `suffix`, `anything-but` (a value, a list, or {"prefix"}/{"suffix"}), `equals-ignore-case`,
`numeric` and `exists` (leaf fields only); an array in the event matches if any element does; `$or`
lists alternative sub-patterns. A pattern using anything else is refused (400).

InputTransformer: each InputPathsMap entry is a JSONPath into the event ($.detail.name); the template's
<name> placeholders are filled with the values ("The InputTemplate can also be valid JSON with
varibles in quotes or out", InputTransformer, https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html;
Amazon EventBridge input transformation, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html):
inside a JSON string a value goes in without its quotes, escaped, elsewhere as JSON (the emulation's
reading of those examples); the predefined <aws.events.rule-name> and <aws.events.event.json> too.

Every match is recorded (GET /_emulator/events/matches[?rule=NAME]: {"rule", "executionArn", "status",
"event", "input" (the transformed input, or null)}). A rule with a function target delivers on its own
thread through the emulator's Lambda forwarder, retried up to maxRetries times after a function error
or an unreachable function server; each delivery (after its retries) is one call log entry (service
"events", operation "Deliver", status 200 or 500, "execution" (its name), "executionStatus",
"functionName", "outcome", "attempts" and, after a failure, "error"; never the input or the function's
error message) and one entry of GET /_emulator/events/deliveries, which also holds what was delivered.

A thread polls moto's Step Functions backends and the Map Runs' children every 0.3 s. Executions that
already had a status when the rules were set do not fire for it (as an EventBridge rule created later
would not have seen it). Polling can miss a short RUNNING; an execution first seen already ended still
gets its RUNNING event first.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from typing import Any

from . import sfn_limits
from .logs import where

LOG = logging.getLogger("emulator.events")

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DETAIL_TYPE = "Step Functions Execution Status Change"
POLL_SECONDS = 0.3
DELIVERY_LIMIT = 10_000
MATCH_LIMIT = 100_000
OPERATORS = ("prefix", "suffix", "anything-but", "equals-ignore-case", "numeric", "exists", "cidr")


# --- event patterns ----------------------------------------------------------------------------


def validate_pattern(pattern: Any, where_: str = "eventPattern") -> None:
    """Raises ValueError(reason) unless `pattern` is an event pattern this module can evaluate."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValueError(f"{where_} is a non-empty JSON object")
    for key, rule in pattern.items():
        at = f"{where_}.{key}"
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                raise ValueError(f"{at} is a list of at least two patterns")
            for i, alternative in enumerate(rule):
                validate_pattern(alternative, f"{at}[{i}]")
        elif isinstance(rule, dict):
            validate_pattern(rule, at)
        elif isinstance(rule, list):
            if not rule:
                raise ValueError(f"{at} is an empty list, which matches nothing")
            for value in rule:
                if isinstance(value, dict):
                    _validate_operator(value, at)
                elif isinstance(value, list):
                    raise ValueError(f"{at} holds a list inside a list")
        else:
            raise ValueError(f"{at} must be a list of values or an object (EventBridge patterns match lists)")


def _validate_operator(op: dict, at: str) -> None:
    if len(op) != 1:
        raise ValueError(f"{at}: one operator per object")
    name, arg = next(iter(op.items()))
    if name not in OPERATORS:
        raise ValueError(f"{at}: unsupported operator {name!r} (known: {', '.join(OPERATORS)})")
    if name in ("prefix", "suffix", "equals-ignore-case") and not isinstance(arg, str):
        raise ValueError(f"{at}: {name} takes a string")
    if name == "exists" and not isinstance(arg, bool):
        raise ValueError(f"{at}: exists takes true or false")
    if name == "anything-but":
        if isinstance(arg, dict):
            (how, text), = arg.items() if len(arg) == 1 else ((None, None),)
            if how not in ("prefix", "suffix") or not isinstance(text, str):
                raise ValueError(f"{at}: anything-but takes a value, a list, or one {{prefix}} or {{suffix}}")
        elif isinstance(arg, list):
            if not arg or any(isinstance(v, (dict, list)) for v in arg):
                raise ValueError(f"{at}: anything-but's list holds values")
    if name == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4) or any(
                not isinstance(arg[i], str) or arg[i] not in ("<", "<=", "=", ">", ">=")
                or isinstance(arg[i + 1], bool) or not isinstance(arg[i + 1], (int, float))
                for i in range(0, len(arg), 2)):
            raise ValueError(f"{at}: numeric takes [op, number] or [op, number, op, number]")
    if name == "cidr":
        ipaddress.ip_network(arg, strict=False)


def matches(pattern: dict, event: Any) -> bool:
    """Whether `event` matches the EventBridge event pattern `pattern`."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in rule):
                return False
            continue
        present = isinstance(event, dict) and key in event
        value = event.get(key) if present else None
        if isinstance(rule, dict):
            if not present or not isinstance(value, dict) or not matches(rule, value):
                return False
        elif not _matches_values(rule, present, value):
            return False
    return True


def _matches_values(alternatives: list, present: bool, value: Any) -> bool:
    # "If the value in the event is an array, then the event pattern matches if the intersection of
    # the event pattern array and the event array is non-empty." (Arrays in event patterns)
    values = value if isinstance(value, list) else [value]
    for alternative in alternatives:
        if isinstance(alternative, dict) and "exists" in alternative:
            if alternative["exists"] == (present and not isinstance(value, dict)):
                return True
        elif present and any(_matches_one(alternative, v) for v in values):
            return True
    return False


def _same(expected: Any, actual: Any) -> bool:
    """EventBridge's equality: strings character by character, numbers by their representation
    ("300, 300.0, and 3.0e2 are not considered equal"), true/false/null as themselves."""
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return expected is actual
    if isinstance(expected, str) or isinstance(actual, str):
        return isinstance(expected, str) and isinstance(actual, str) and expected == actual
    return json.dumps(expected) == json.dumps(actual)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _matches_one(alternative: Any, value: Any) -> bool:
    if not isinstance(alternative, dict):
        return _same(alternative, value)
    name, arg = next(iter(alternative.items()))
    if name == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(arg)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == arg.casefold()
    if name == "anything-but":
        if isinstance(arg, dict):
            (how, text), = arg.items()
            if not isinstance(value, str):
                return False
            return not (value.startswith(text) if how == "prefix" else value.endswith(text))
        excluded = arg if isinstance(arg, list) else [arg]
        return value is not None and not any(_same(e, value) for e in excluded)
    if name == "numeric":
        if not _is_number(value):
            return False
        checks = {"<": value.__lt__, "<=": value.__le__, "=": value.__eq__, ">": value.__gt__, ">=": value.__ge__}
        return all(checks[arg[i]](arg[i + 1]) for i in range(0, len(arg), 2))
    if name == "cidr":
        try:
            return isinstance(value, str) and ipaddress.ip_address(value) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    return False


# --- input transformer -------------------------------------------------------------------------

_PATH = re.compile(r"^\$((\.[^.\[\]]+)|(\[\d+\]))*$")


def _json_path(event: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a simple JSONPath ($.a.b, $.a[0]) in `event`."""
    if not _PATH.match(path):
        raise ValueError(f"InputPathsMap path {path!r} is not a simple JSONPath ($.a.b)")
    value = event
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path):
        key, index = part
        if key:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
    return True, value


def transform(transformer: dict, event: dict, rule_name: str) -> str:
    """The target input an InputTransformer makes of `event`."""
    values: dict[str, tuple[bool, Any]] = {name: _json_path(event, path)
                                           for name, path in transformer.get("InputPathsMap", {}).items()}
    values["aws.events.rule-name"] = (True, rule_name)
    values["aws.events.event.json"] = (True, event)
    template = transformer.get("InputTemplate", "")
    out, in_string, i = [], False, 0
    while i < len(template):
        c = template[i]
        if c == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        elif c == "<":
            end = template.find(">", i)
            name = template[i + 1:end] if end > 0 else None
            if name in values:
                found, value = values[name]
                if in_string:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1] if found else "")
                else:
                    out.append(json.dumps(value if found else None))
                i = end + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


# --- rules -------------------------------------------------------------------------------------


class EventRule:
    SHORT_FIELDS = ("stateMachineArn", "statuses", "functionName", "maxRetries", "retryDelaySeconds")
    FIELDS = ("name", "eventPattern", "functionName", "inputTransformer", "maxRetries", "retryDelaySeconds")

    def __init__(self, spec: dict, index: int):
        if not isinstance(spec, dict):
            raise ValueError("an event rule is a JSON object")
        self.short = "eventPattern" not in spec
        allowed = self.SHORT_FIELDS if self.short else self.FIELDS
        unknown = set(spec) - set(allowed)
        if unknown:
            raise ValueError(f"unknown event rule fields: {sorted(unknown)}")
        self.spec = dict(spec)
        if self.short:
            arn = spec.get("stateMachineArn")
            parts = arn.split(":") if isinstance(arn, str) else []
            if len(parts) != 7 or parts[:3] != ["arn", "aws", "states"] or parts[5] != "stateMachine":
                raise ValueError("an event rule needs 'stateMachineArn': "
                                 "arn:aws:states:REGION:ACCOUNT:stateMachine:NAME")
            statuses = spec.get("statuses")
            if not isinstance(statuses, list) or not statuses or any(s not in STATUSES for s in statuses):
                raise ValueError(f"an event rule needs 'statuses': a non-empty list of {list(STATUSES)}")
            self.pattern = {"source": ["aws.states"], "detail-type": [DETAIL_TYPE],
                            "detail": {"stateMachineArn": [arn], "status": list(dict.fromkeys(statuses))}}
            if not isinstance(spec.get("functionName"), str) or not spec["functionName"]:
                raise ValueError("an event rule needs 'functionName'")
        else:
            validate_pattern(spec["eventPattern"])
            self.pattern = spec["eventPattern"]
            transformer = spec.get("inputTransformer")
            if transformer is not None and (not isinstance(transformer, dict) or set(transformer) - {
                    "InputPathsMap", "InputTemplate"} or not isinstance(transformer.get("InputTemplate", ""), str)):
                raise ValueError("'inputTransformer' is {\"InputPathsMap\": {...}, \"InputTemplate\": \"...\"}")
            for path in (transformer or {}).get("InputPathsMap", {}).values():
                _json_path({}, path)
        self.name = spec.get("name") or f"rule-{index}"
        fn = spec.get("functionName")
        if fn is not None and (not isinstance(fn, str) or not fn):
            raise ValueError("'functionName' is a function name or ARN")
        self.function_name = fn
        # The forward target (cargo lambda) knows functions by name: a function ARN's name part.
        self.target = (fn.split(":")[6] if fn.startswith("arn:") and len(fn.split(":")) >= 7 else fn) if fn else None
        self.transformer = spec.get("inputTransformer")
        self.max_retries = int(spec.get("maxRetries", 3))
        self.retry_delay = float(spec.get("retryDelaySeconds", 1.0))
        if self.max_retries < 0 or self.retry_delay < 0:
            raise ValueError("'maxRetries' and 'retryDelaySeconds' cannot be negative")

    def describe(self) -> dict:
        out = {**self.spec, "maxRetries": self.max_retries, "retryDelaySeconds": self.retry_delay}
        if not self.short:
            out["name"] = self.name
        return out

    def target_input(self, event: dict) -> str | None:
        """The InputTransformer's output for `event`, or None (the event itself goes to the target)."""
        return transform(self.transformer, event, self.name) if self.transformer else None


# --- executions as events ----------------------------------------------------------------------


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


def executions() -> list[dict]:
    """Every execution moto's Step Functions knows, and every started child of a Map Run, as
    {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "input" (JSON
    text), "output" (a value)}."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    found = []
    for _, _, backend in list(stepfunctions_parser_backends.iter_backends()):
        for sm in list(backend.state_machines):
            for ex in list(sm.executions):
                status = _status(ex)
                if status is None:
                    continue
                raw_input = getattr(ex, "execution_input", None)
                if raw_input is None:
                    raw_input = _json_text(getattr(ex, "input_data", None)) or "{}"
                found.append({"executionArn": ex.execution_arn, "stateMachineArn": sm.arn, "name": ex.name,
                              "status": status, "startDate": ex.start_date,
                              "stopDate": getattr(ex, "stop_date", None), "input": raw_input,
                              "output": getattr(ex, "output", None)})
    for child in sfn_limits.child_executions():
        child["input"] = _json_text(child["input"]) or "{}"
        found.append(child)
    return found


def build_event(execution: dict, status: str) -> dict:
    """The Step Functions Execution Status Change event of `execution` entering `status`."""
    arn = execution["executionArn"]
    parts = arn.split(":")
    ended = status != "RUNNING"
    stop = execution["stopDate"] if ended else None
    succeeded = status == "SUCCEEDED"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": parts[4],
        "time": _rfc3339(stop if ended else execution["startDate"]),
        "region": parts[3],
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": status,
            "startDate": _millis(execution["startDate"]),
            "stopDate": _millis(stop),
            "input": execution["input"],
            "output": _json_text(execution["output"]) if succeeded else None,
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
        # executionArn -> the statuses already put on the bus
        self.emitted: dict[str, set[str]] = {}
        self.deliveries: deque = deque(maxlen=DELIVERY_LIMIT)
        self.matched: deque = deque(maxlen=MATCH_LIMIT)
        self.generation = 0  # bumped by reset: deliveries under way then are dropped
        self._thread = threading.Thread(target=self._poll_loop, name="events-poller", daemon=True)

    def start(self):
        self._thread.start()

    def reset(self):
        with self.lock:
            self.rules = []
            self.emitted = {}
            self.deliveries.clear()
            self.matched.clear()
            self.generation += 1

    def set(self, specs: list[dict]):
        if not isinstance(specs, list):
            raise ValueError("'rules' is a list")
        rules = [EventRule(s, i) for i, s in enumerate(specs, 1)]  # validate all before replacing
        if len({r.name for r in rules}) != len(rules):
            raise ValueError("rule names must differ")
        emitted: dict[str, set[str]] = {}
        try:  # what exists now has already happened: no events for it
            for ex in executions():
                emitted[ex["executionArn"]] = {"RUNNING", ex["status"]}
        except Exception as e:  # noqa: BLE001 - moto not ready: nothing to skip
            LOG.warning("events: could not read executions: %s", where(e))
        with self.lock:
            self.rules = rules
            self.emitted = emitted

    def describe(self) -> list[dict]:
        with self.lock:
            return [r.describe() for r in self.rules]

    def read_deliveries(self) -> list[dict]:
        with self.lock:
            return list(self.deliveries)

    def read_matches(self, rule: str | None = None) -> list[dict]:
        with self.lock:
            return [m for m in self.matched if rule is None or m["rule"] == rule]

    # --- polling ---------------------------------------------------------------------------

    def _poll_loop(self):
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - keep polling
                LOG.error("events poller: %s", where(e))

    def poll(self):
        with self.lock:
            rules, generation, emitted = list(self.rules), self.generation, self.emitted
        if not rules:
            return
        by_rule: dict[str, list[dict]] = {}
        for ex in executions():
            status = ex["status"]
            seen = emitted.get(ex["executionArn"])
            if seen is not None and status in seen:
                continue
            if seen is None:
                seen = emitted[ex["executionArn"]] = set()
            due = []
            if status != "RUNNING" and "RUNNING" not in seen:  # it ran before it ended, even if unseen
                due.append("RUNNING")
            due.append(status)
            seen.update(due)
            for s in due:
                event = build_event(ex, s)
                for rule in rules:
                    if matches(rule.pattern, event):
                        target_input = rule.target_input(event)
                        with self.lock:
                            if self.generation != generation:
                                return
                            self.matched.append({"rule": rule.name, "executionArn": ex["executionArn"],
                                                 "status": s, "event": event, "input": target_input})
                        if rule.target:
                            by_rule.setdefault(rule.name, []).append(
                                event if target_input is None else _parsed(target_input))
        for rule in rules:
            if rule.name in by_rule:
                threading.Thread(target=self._deliver, args=(rule, by_rule[rule.name], generation),
                                 name=f"event-delivery-{rule.target}", daemon=True).start()

    # --- delivery --------------------------------------------------------------------------

    def _deliver(self, rule: EventRule, payloads: list, generation: int):
        for payload in payloads:
            attempts, outcome, error_type = 0, "failed", None
            for attempt in range(1 + rule.max_retries):
                if self.generation != generation or self._stop.is_set():
                    return  # reset (or shut down) meanwhile: the delivery is dropped
                attempts += 1
                if self.forwarder is None:
                    error_type = "NoLambdaEndpoint"
                    break
                result, errored = self.forwarder.invoke(rule.target, payload)
                if not errored:
                    outcome, error_type = "delivered", None
                    break
                error_type = _error_type(result)
                if attempt < rule.max_retries and self._stop.wait(rule.retry_delay):
                    return
            detail = payload.get("detail", {}) if isinstance(payload, dict) else {}
            execution, status_changed = detail.get("name"), detail.get("status")
            entry = {"ts": time.time(), "rule": rule.name, "functionName": rule.function_name,
                     "executionArn": detail.get("executionArn"), "execution": execution,
                     "status": status_changed, "outcome": outcome, "attempts": attempts, "event": payload}
            if error_type:
                entry["errorType"] = error_type
            logged = {"execution": execution, "executionStatus": status_changed,
                      "functionName": rule.function_name, "outcome": outcome, "attempts": attempts}
            with self.lock:
                if self.generation != generation:
                    return
                self.deliveries.append(entry)
                self.faults.log("events", "Deliver", 200 if outcome == "delivered" else 500, logged,
                                error=error_type)
            LOG.info("event %s -> %s: %s after %d attempt(s)", status_changed, rule.target, outcome, attempts)


def _parsed(text: str):
    """A transformed input as a Lambda target receives it: JSON if it is JSON, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error_type(payload: str) -> str:
    try:
        err = json.loads(payload)
        if isinstance(err, dict) and isinstance(err.get("errorType"), str):
            return err["errorType"]
    except ValueError:
        pass
    return "FunctionError"
