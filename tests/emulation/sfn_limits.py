"""Step Functions' hard limits and Distributed Map results, as AWS applies them, in moto's ASL engine.

Installed once by moto_glue.install() (`sfn_limits.install()`); every patch is on a class or module
of moto's engine (moto/stepfunctions/parser/...), so what a test meets at a boundary is what AWS does.

- Payload size. "Maximum input or output size for a task, state, or execution: 256 KiB of data as a
  UTF-8 encoded string. This quota affects tasks (activity, Lambda function, or integrated service),
  state or execution output, and input data when scheduling a task, entering a state, or starting an
  execution." (Step Functions service quotas,
  https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). The API reference gives
  the number: "Length Constraints: Maximum length of 262144", "expressed as bytes in UTF-8 encoding"
  (StateEnteredEventDetails, https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateEnteredEventDetails.html).
  A value is measured as compact UTF-8 JSON (how the history shows it); exactly 262,144 bytes pass
  (moto refused 262,144 and counted spaced, ASCII-escaped JSON). Checked: a task's result as it comes
  back (moto already did; a Lambda function's result is its Payload), a task's input after Parameters,
  a Map's or Parallel's result, every state's output (moto already did) and StartExecution's input
  (ValidationException, as for any length constraint of the API). Past it: States.DataLimitExceeded.
- "States.ALL ... can't catch the States.DataLimitExceeded terminal error" and DataLimitExceeded "is a
  terminal error that can't be caught by the States.ALL error type" (Handling errors in Step Functions
  workflows, https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): a
  Retry or Catch on States.ALL does not match it; one that names States.DataLimitExceeded does.
- History. "AWS Step Functions has a hard quota of 25,000 entries in the execution event history. When
  an execution reaches 24,999 events, it waits for the next event to happen. If the event number
  25,000 is ExecutionSucceeded, the execution finishes successfully. If the event number 25,000 isn't
  ExecutionSucceeded, the ExecutionFailed event is logged and the state machine execution fails because
  of reaching the history limit" (Avoid reaching the history quota,
  https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html). The page gives no error
  name; executions that hit it report States.Runtime, "The execution reached the maximum number of
  history events (25000)." (not an AWS page: github.com/loads/ardere/issues/86,
  github.com/floci-io/floci/issues/2734, whose history ends with that event as id 25000). Such an
  execution cannot be redriven: DescribeExecution's redriveStatusReason "Execution history event limit
  exceeded." (DescribeExecution, https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html;
  moto has no RedriveExecution, so nothing here needs to refuse one). An Inline Map's iterations
  count in the parent's history ("Step Functions adds the execution history of these iterations to
  the parent workflow's execution history", Map workflow state,
  https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html); a Distributed Map's child
  executions each have a history of their own, separate from the parent's (same page, and Using Map
  state in Distributed mode, https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html),
  so each is capped on its own. moto gave all children of a Map Run one history, never counted.
- Distributed Map runs. A child execution is named and addressed as the ResultWriter page shows
  (`...:execution:<stateMachine>/<Label or UUID>:<name>`, its state machine
  `...:stateMachine:<stateMachine>/<Label or UUID>`), runs with its own history and context object,
  and ends SUCCEEDED, FAILED, TIMED_OUT or ABORTED. Failed or timed-out children count against the
  tolerated failure threshold: "Step Functions calculates the percentage of failed items as the result
  of the total number of failed or timed out items divided by the total number of items ... The default
  percentage value is zero, which means that the workflow fails if any one of its child workflow
  executions fails or times out. If you specify the percentage as 100, the workflow won't fail even if
  all child workflow executions fail." "If you specify both values, the workflow fails when it exceeds
  either value." The error is States.ExceedToleratedFailureThreshold (Tolerated failure threshold for
  Distributed Map state, https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html).
  moto counted failed children but never failed the Map Run, and evaluated each worker's jobs by
  recursion (a worker with a few hundred items hit Python's recursion limit).
- ResultWriter. `<Prefix>/<map run UUID>/manifest.json` ({"DestinationBucket", "MapRunArn",
  "ResultFiles": {"FAILED", "PENDING", "SUCCEEDED"}}), SUCCEEDED_n.json, FAILED_n.json ("all failed,
  timed out, and aborted child workflow executions") and PENDING_n.json ("child workflow executions
  that weren't started because the Map Run failed or aborted"), one entry per child in the shape of
  "Transformation NONE"; the Map state's result is {"MapRunArn", "ResultWriterDetails": {"Bucket",
  "Key"}}. Without a ResultWriter the result is the array of child outputs, and "If the returned
  output size exceeds 256 KiB, the state machine execution fails and returns a States.DataLimitExceeded
  error". (ResultWriter (Map), https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html.)
  moto wrote an empty manifest only. The files are written with the state machine's S3 client, i.e.
  signed requests back into this server like any other S3 write.
- Wait states (and Retry intervals) sleep `wait_scale` times their time (POST /_emulator/sfn/config).

Other differences from AWS fixed on the way, each where it is installed: a Parallel branch or Map
iteration failing with a States.* error failed the whole execution with States.Runtime, past any
Catch (_install_branch_errors); "ToleratedFailurePercentage": 100 (a whole number) was a parse error
(_install_map_runs); ResultWriter's "Bucket.$"/"Prefix.$" read the children's results instead of the
state's input (_install_map_runs); GetExecutionHistory ignored maxResults, nextToken and reverseOrder
(_install_history_pages); moto parsed every JSONPath again at each use, three quarters of the run time
of a loop (_install_jsonpath_cache); a fractional wait never ended (_install_waits).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("emulator.sfn")

PAYLOAD_LIMIT = 262_144
HISTORY_LIMIT = 25_000
HISTORY_ERROR = "States.Runtime"
HISTORY_CAUSE = "The execution reached the maximum number of history events (25000)."
DATA_LIMIT_ERROR = "States.DataLimitExceeded"
THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"
# The cause AWS gives with States.ExceedToleratedFailureThreshold is not documented: this one is ours.
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded."
RESULT_WRITER_ERROR = "States.ResultWriterFailed"
# AWS runs up to 10,000 child executions at once when MaxConcurrency is 0 (Using Map state in
# Distributed mode); the emulation runs at most this many threads of children at once.
UNLIMITED_CHILD_WORKERS = 1_000
LAMBDA_SYNC_REQUEST_LIMIT = 6_291_456
LAMBDA_ASYNC_REQUEST_LIMIT = 1_048_576
LAMBDA_RESPONSE_LIMIT = 6_291_556


# --- sizes -------------------------------------------------------------------------------------


def _json_default(value):
    from .moto_glue import _iso

    return _iso(value)


def payload_bytes(value: Any) -> int:
    """Bytes of `value` as Step Functions counts a payload: compact JSON, UTF-8 (a str is a JSON string)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return len(text.encode("utf-8", errors="surrogatepass"))


def within_payload_limit(value: Any) -> bool:
    """moto's quotas.is_within_size_quota, with AWS's bound: 262,144 bytes pass."""
    return payload_bytes(value) <= PAYLOAD_LIMIT


# --- configuration (POST /_emulator/sfn/config) -------------------------------------------------


class _Config:
    def __init__(self):
        self.lock = threading.Lock()
        self.wait_scale = 1.0


CONFIG = _Config()


def config() -> dict:
    with CONFIG.lock:
        return {"wait_scale": CONFIG.wait_scale}


def configure(body: dict) -> dict:
    """{"wait_scale": f}: every Wait state, and every Retry interval, sleeps f times its time."""
    unknown = set(body) - {"wait_scale"}
    if unknown:
        raise ValueError(f"unknown sfn config fields: {sorted(unknown)}")
    if "wait_scale" in body:
        scale = body["wait_scale"]
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1000:
            raise ValueError("'wait_scale' is a number in (0, 1000]")
        with CONFIG.lock:
            CONFIG.wait_scale = float(scale)
    return config()


def reset():
    """Back to real time, and forget every Map Run's child executions."""
    with CONFIG.lock:
        CONFIG.wait_scale = 1.0
    with _RUNS_LOCK:
        _RUNS.clear()
        _CHILDREN.clear()


def _scaled(seconds: float) -> float:
    return max(0.0, float(seconds)) * CONFIG.wait_scale


# --- Distributed Map runs and their child executions -------------------------------------------


def _iso_ms(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


@dataclass
class Child:
    """One child workflow execution of a Map Run."""

    index: int
    name: str
    arn: str
    state_machine_arn: str
    map_run_arn: str
    input: Any
    status: str = "PENDING"
    start_date: dt.datetime | None = None
    stop_date: dt.datetime | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    env: Any = field(default=None, repr=False)
    history: Any = field(default=None, repr=False)  # the child's EventManager

    def record(self) -> dict:
        """The child as a ResultWriter file lists it ("Transformation NONE" in ResultWriter (Map)):
        the keys AWS writes, in AWS's order. A failed, timed-out or aborted child has Error and Cause
        instead of Output, and can be redriven with its Map Run (RedriveStatus
        REDRIVABLE_BY_MAP_RUN, DescribeExecution)."""
        entry: dict[str, Any] = {}
        if self.status not in ("SUCCEEDED", "PENDING"):
            if self.cause is not None:
                entry["Cause"] = self.cause
            if self.error is not None:
                entry["Error"] = self.error
        entry["ExecutionArn"] = self.arn
        entry["Input"] = _json_text(self.input)
        entry["InputDetails"] = {"Included": True}
        entry["Name"] = self.name
        if self.status == "SUCCEEDED":
            entry["Output"] = _json_text(self.output)
        if self.status != "PENDING":
            entry["OutputDetails"] = {"Included": True}
            entry["RedriveCount"] = 0
        if self.status == "SUCCEEDED":
            entry["RedriveStatus"] = "NOT_REDRIVABLE"
            entry["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
        elif self.status != "PENDING":
            entry["RedriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
        if self.start_date is not None:
            entry["StartDate"] = _iso_ms(self.start_date)
        entry["StateMachineArn"] = self.state_machine_arn
        entry["Status"] = self.status
        if self.stop_date is not None:
            entry["StopDate"] = _iso_ms(self.stop_date)
        return entry

    def describe(self, listing: bool = False) -> dict:
        """The child as DescribeExecution (or, with `listing`, ListExecutions) shows it."""
        view: dict[str, Any] = {"executionArn": self.arn, "stateMachineArn": self.state_machine_arn,
                                "name": self.name, "status": self.status,
                                "startDate": self.start_date.timestamp() if self.start_date else None,
                                "mapRunArn": self.map_run_arn}
        if self.stop_date is not None:
            view["stopDate"] = self.stop_date.timestamp()
        if listing:
            return view
        view["input"] = _json_text(self.input)
        view["inputDetails"] = {"included": True}
        if self.status == "SUCCEEDED":
            view["output"] = _json_text(self.output)
            view["outputDetails"] = {"included": True}
        if self.error is not None:
            view["error"] = self.error
        if self.cause is not None:
            view["cause"] = self.cause
        return view

    def snapshot(self) -> dict:
        """What events.py needs to build the child's status-change events."""
        return {"executionArn": self.arn, "stateMachineArn": self.state_machine_arn, "name": self.name,
                "status": self.status, "startDate": self.start_date, "stopDate": self.stop_date,
                "input": self.input, "output": self.output, "mapRunArn": self.map_run_arn}


class MapRun:
    """A Distributed Map state's Map Run: its children, in item order."""

    def __init__(self, record, parent_execution: dict, items: list):
        self.arn: str = record.map_run_arn
        self.state_machine_arn: str = record.map_state_machine_arn
        self.record = record
        self.lock = threading.Lock()
        self.halted = False
        self.threshold_exceeded = False
        self.failures = 0  # children FAILED or TIMED_OUT: what the tolerated failure threshold counts
        execution_prefix = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1)
        self.children: list[Child] = []
        for i, item in enumerate(items):
            # AWS's child names are name-based (version 3) UUIDs (see the ResultWriter page's examples).
            name = str(uuid.uuid3(uuid.NAMESPACE_URL, f"{self.arn}/{i}"))
            self.children.append(Child(i, name, f"{execution_prefix}:{name}", self.state_machine_arn,
                                       self.arn, item))
        self.role_arn = parent_execution.get("RoleArn")


_RUNS: dict[str, MapRun] = {}
_CHILDREN: dict[str, Child] = {}  # by execution ARN
_RUNS_LOCK = threading.Lock()


def child_execution(arn: str) -> Child | None:
    with _RUNS_LOCK:
        return _CHILDREN.get(arn)


def child_executions() -> list[dict]:
    """Every child execution that has started (RUNNING or ended), as events.py reads them."""
    with _RUNS_LOCK:
        runs = list(_RUNS.values())
    out = []
    for run in runs:
        with run.lock:
            out.extend(c.snapshot() for c in run.children if c.status != "PENDING")
    return out


class _Results(list):
    """A Map Run's outputs, carrying the run to the ResultWriter that files them."""

    map_run: MapRun | None = None

    def __deepcopy__(self, memo):
        # Copied as the plain list it is to the state machine (the run holds locks and threads).
        return copy.deepcopy(list(self), memo)


# What the Map state being evaluated on this thread tells its iteration component.
_map_state = threading.local()


def _threshold_exceeded(failed: int, total: int, count: int, percentage: float,
                        count_given: bool, percentage_given: bool) -> bool:
    """maprun-fail-threshold: the default (neither given) is 0 %, i.e. any failure; with both given,
    exceeding either fails the run."""
    if not count_given and not percentage_given:
        return failed > 0
    if count_given and failed > count:
        return True
    return bool(percentage_given and total and failed * 100.0 / total > percentage)


def _child_context(run: MapRun, child: Child, parent_context: dict) -> None:
    """$$ inside a child is the child's own execution (its ARN, name, input, start time)."""
    from moto.stepfunctions.parser.asl.eval.states import ExecutionData, StateMachineData

    ctx = child.env.states.context_object.context_object_data
    ctx["Execution"] = ExecutionData(Id=child.arn, Input=child.input, Name=child.name,
                                     RoleArn=parent_context["Execution"].get("RoleArn"),
                                     StartTime=_iso_ms(child.start_date))
    ctx["StateMachine"] = StateMachineData(Id=run.state_machine_arn,
                                           Name=run.state_machine_arn.split(":stateMachine:", 1)[1])
    ctx.pop("Map", None)  # $$.Map exists for the Map state's ItemSelector only, not in its children


def _run_child(env, worker, program, run: MapRun, child: Child) -> None:
    """Runs one child execution to its end in a frame of its own, with its own history."""
    from moto.stepfunctions.parser.api import (
        ExecutionAbortedEventDetails,
        ExecutionFailedEventDetails,
        ExecutionStartedEventDetails,
        ExecutionSucceededEventDetails,
        ExecutionTimedOutEventDetails,
        HistoryEventExecutionDataDetails,
        HistoryEventType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramEnded,
        ProgramError,
        ProgramStopped,
        ProgramTimedOut,
    )
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    record = run.record
    frame = env.open_inner_frame()
    child.env = frame
    frame.event_manager = child.history = EventManager()
    _own_history(frame.event_manager, frame)
    frame.event_history_context = EventHistoryContext.of_program_start()
    parent_context = env.states.context_object.context_object_data
    status, output, error, cause = "FAILED", None, None, None
    started = False
    try:
        # The item becomes the child's input through the Map state's ItemSelector (evaluated with
        # the Map state's context object, where $$.Map.Item is defined).
        frame.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=child.index, Value=child.input))
        frame.states.reset(input_value=child.input)
        frame.stack.append(frame.states.get_input())
        worker._eval_input(env_frame=frame)
        with run.lock:
            child.input = frame.states.get_input()
            child.start_date = dt.datetime.now(dt.timezone.utc)
            child.status = "RUNNING"
        started = True
        record.execution_counter.total.count()
        record.execution_counter.running.count()
        record.item_counter.total.count()
        record.item_counter.running.count()
        _child_context(run, child, parent_context)
        frame.event_manager.add_event(
            context=frame.event_history_context, event_type=HistoryEventType.ExecutionStarted,
            event_details=EventDetails(executionStartedEventDetails=ExecutionStartedEventDetails(
                input=_json_text(child.input), inputDetails=HistoryEventExecutionDataDetails(truncated=False),
                roleArn=run.role_arn)),
            update_source_event_id=False)
        program.eval(frame)
        state = frame.program_state()
        if isinstance(state, ProgramEnded):
            status, output = "SUCCEEDED", frame.states.get_input()
        elif isinstance(state, ProgramError):
            details = state.error or {}
            error, cause = details.get("error"), details.get("cause")
        elif isinstance(state, ProgramStopped):
            status, error, cause = "ABORTED", state.error, state.cause
        elif isinstance(state, ProgramTimedOut):
            status, error = "TIMED_OUT", "States.Timeout"
    except Exception as e:  # noqa: BLE001 - the child fails, as an execution whose engine failed
        LOG.warning("map run child %s failed in the engine: %s", child.index, type(e).__name__)
        error, cause = "States.Runtime", type(e).__name__
    finally:
        env.delete_frame(frame)
    terminal = {
        "SUCCEEDED": (HistoryEventType.ExecutionSucceeded, EventDetails(
            executionSucceededEventDetails=ExecutionSucceededEventDetails(
                output=_json_text(output), outputDetails=HistoryEventExecutionDataDetails(truncated=False)))),
        "FAILED": (HistoryEventType.ExecutionFailed, EventDetails(
            executionFailedEventDetails=ExecutionFailedEventDetails(error=error or "", cause=cause or ""))),
        "ABORTED": (HistoryEventType.ExecutionAborted, EventDetails(
            executionAbortedEventDetails=ExecutionAbortedEventDetails(error=error or "", cause=cause or ""))),
        "TIMED_OUT": (HistoryEventType.ExecutionTimedOut, EventDetails(
            executionTimedOutEventDetails=ExecutionTimedOutEventDetails())),
    }[status]
    frame.event_manager.add_event(context=frame.event_history_context, event_type=terminal[0],
                                  event_details=terminal[1])
    with run.lock:
        child.status, child.output, child.error, child.cause = status, output, error, cause
        child.stop_date = dt.datetime.now(dt.timezone.utc)
        child.env = None
        if status in ("FAILED", "TIMED_OUT"):
            run.failures += 1
    counters = {"SUCCEEDED": "succeeded", "FAILED": "failed", "ABORTED": "aborted", "TIMED_OUT": "timed_out"}
    for counter in (record.execution_counter, record.item_counter):
        if started:
            counter.running.offset(-1)
        getattr(counter, counters[status]).count()
        if status == "SUCCEEDED":
            counter.results_written.count()


def _map_run(self, env, eval_input) -> None:
    """DistributedIterationComponent._map_run: the children run MaxConcurrency at a time (a loop per
    worker thread, not moto's recursion), a failed or timed-out child counts against the tolerated
    failure threshold, and past it the Map Run stops starting children, aborts the running ones and
    fails with States.ExceedToleratedFailureThreshold."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    items = env.stack.pop()
    record = eval_input.map_run_record
    run = MapRun(record, env.states.context_object.context_object_data["Execution"], list(items))
    with _RUNS_LOCK:
        _RUNS[run.arn] = run
        _CHILDREN.update((c.arn, c) for c in run.children)
    program = self._get_iteration_program()
    # The worker evaluates ItemSelector/Parameters against the Map state's input (env.stack[-1]).
    worker = self._create_worker(env=env, eval_input=eval_input, job_pool=JobPool(program, []))
    count_given, percentage_given = getattr(_map_state, "tolerance_given", (False, False))
    total = len(run.children)
    pending = iter(run.children)

    def work():
        while True:
            with run.lock:
                if run.halted or not env.is_running():
                    return
                child = next(pending, None)
            if child is None:
                return
            _run_child(env, worker, program, run, child)
            if _threshold_exceeded(run.failures, total, eval_input.tolerated_failure_count,
                                   eval_input.tolerated_failure_percentage, count_given, percentage_given):
                _halt(run)

    workers = record.max_concurrency if record.max_concurrency > 0 else UNLIMITED_CHILD_WORKERS
    threads = [threading.Thread(target=work, name=f"map-run-{run.arn.rsplit(':', 1)[-1][:8]}", daemon=True)
               for _ in range(min(workers, total))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if run.threshold_exceeded:
        error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
        ex = FailureEventException(FailureEvent(
            env=env, error_name=error, event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                error=THRESHOLD_ERROR, cause=THRESHOLD_CAUSE))))
        ex.sfn_map_run = run
        raise ex
    results = _Results(c.output if c.status == "SUCCEEDED" else c.record()
                       for c in run.children if c.status != "PENDING")
    results.map_run = run
    env.stack.append(results)


def _halt(run: MapRun) -> None:
    """Past the threshold: start no more children, abort the running ones."""
    with run.lock:
        if run.halted:
            return
        run.halted = run.threshold_exceeded = True
        running = [c.env for c in run.children if c.status == "RUNNING" and c.env is not None]
    now = dt.datetime.now(dt.timezone.utc)
    for frame in running:
        frame.set_stop(stop_date=now, cause=THRESHOLD_CAUSE, error=THRESHOLD_ERROR)


def _write_results(env, resource_runtime_part, state_credentials) -> None:
    """ResourceEvalS3._handle_put_object: the result files and manifest of ResultWriter (Map)."""
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    parameters = env.stack.pop()
    results = env.stack.pop()
    run: MapRun | None = getattr(results, "map_run", None)
    if run is None:
        raise RuntimeError("ResultWriter without the Map Run it files")
    bucket = parameters["Bucket"]
    prefix = parameters.get("Prefix", "") or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{run.arn.rsplit(':', 1)[-1]}/"
    s3 = boto_client_for(region=resource_runtime_part.region, service="s3", state_credentials=state_credentials)
    with run.lock:
        by_status = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
        for c in run.children:
            by_status["SUCCEEDED" if c.status == "SUCCEEDED" else "PENDING" if c.status == "PENDING"
                      else "FAILED"].append(c.record())
    files: dict[str, list] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    try:
        for status, entries in by_status.items():
            if not entries:
                continue
            key = f"{folder}{status}_0.json"
            body = _json_text(entries).encode("utf-8")
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
        manifest_key = f"{folder}manifest.json"
        manifest = {"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": files}
        s3.put_object(Bucket=bucket, Key=manifest_key, Body=_json_text(manifest).encode("utf-8"))
    except Exception as e:  # noqa: BLE001 - botocore's ClientError and connection errors alike
        raise _failure(env, RESULT_WRITER_ERROR, f"Writing the Map Run results to s3://{bucket}/{folder} "
                       f"failed: {type(e).__name__}") from None
    env.stack.append({"MapRunArn": run.arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}})


def _failure(env, error: str, cause: str):
    """A FailureEventException for `error` (a States.* name) with `cause`."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return FailureEventException(FailureEvent(
        env=env, error_name=StatesErrorName.from_name(error), event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(error=error, cause=cause))))


def _check_result(env, state_name: str, value: Any) -> None:
    """A Map's or Parallel's result past the payload limit fails the state with DataLimitExceeded."""
    if not within_payload_limit(value):
        raise _failure(env, DATA_LIMIT_ERROR, f"The state/task '{state_name}' returned a result with a size "
                       "exceeding the maximum number of bytes service limit.")


def _check_input(env, state_name: str, value: Any) -> None:
    """A task's input after Parameters past the payload limit fails it (the cause is the emulation's
    wording: AWS does not document it)."""
    if not within_payload_limit(value):
        raise _failure(env, DATA_LIMIT_ERROR, f"The state/task '{state_name}' has an input with a size "
                       "exceeding the maximum number of bytes service limit.")


# --- history -----------------------------------------------------------------------------------


def _own_history(manager, owner) -> None:
    """Makes `manager` an execution's history, capped at HISTORY_LIMIT events; reaching the cap
    fails `owner` (the execution's environment)."""
    manager.sfn_owner = owner
    manager.sfn_closed = False
    manager.sfn_lock = threading.Lock()


def _fail_history(owner) -> None:
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails

    details = ExecutionFailedEventDetails(error=HISTORY_ERROR, cause=HISTORY_CAUSE)
    owner.sfn_final_error = details
    owner.set_error(details)


# --- install -----------------------------------------------------------------------------------

_INSTALLED = False


def install() -> None:
    """Applies every patch (once)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    _install_payload_limits()
    _install_error_matching()
    _install_history_limit()
    _install_map_runs()
    _install_waits()
    _install_lambda_response()
    _install_jsonpath_cache()
    _install_branch_errors()
    _install_history_pages()


def _install_payload_limits() -> None:
    from moto.stepfunctions import exceptions as sfn_exceptions
    from moto.stepfunctions.parser import models as parser_models
    from moto.stepfunctions.parser import quotas
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.inline_iteration_component import (
        InlineIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.state_parallel import StateParallel
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service

    for module in (quotas, state_module, state_task_lambda, state_task_service):
        module.is_within_size_quota = within_payload_limit

    # A state's output is measured once: the text measured is the one its StateExited event records.
    common = state_module.CommonStateField
    verify_output = common._verify_size_quota

    def verify_state_output(self, env, value):
        text = _json_text(value)
        if len(text.encode("utf-8", errors="surrogatepass")) > PAYLOAD_LIMIT:
            verify_output(self, env, value)  # fails the execution with States.DataLimitExceeded
        env.sfn_output_text = (self, text)

    def state_exited_event_details(self, env):
        from moto.stepfunctions.parser.api import HistoryEventExecutionDataDetails, StateExitedEventDetails

        measured, env.sfn_output_text = getattr(env, "sfn_output_text", None), None
        text = measured[1] if measured is not None and measured[0] is self else None
        details = StateExitedEventDetails(
            name=self.name, output=text if text is not None else _json_text(env.states.get_input()),
            outputDetails=HistoryEventExecutionDataDetails(truncated=False))
        assigned = env.variable_store.get_assigned_variables()
        env.variable_store.reset_tracing()
        if assigned:
            details["assignedVariables"] = assigned
            details["assignedVariablesDetails"] = {"truncated": False}
        return details

    common._verify_size_quota = verify_state_output
    common._get_state_exited_event_details = state_exited_event_details

    lambda_task = state_task_lambda.StateTaskLambda
    verify_lambda = lambda_task._verify_size_quota

    def verify_lambda_result(self, env, value):
        # A Lambda function's result is its Payload (moto measured the whole Invoke response, which
        # only the raw Invoke answer carries with its ResponseMetadata).
        if isinstance(value, dict) and "Payload" in value and "ResponseMetadata" in value:
            value = value["Payload"]
        verify_lambda(self, env, value)

    lambda_task._verify_size_quota = verify_lambda_result

    eval_parameters = lambda_task._eval_parameters

    def lambda_parameters(self, env):
        parameters = eval_parameters(self, env)
        _check_input(env, self.name, parameters.get("Payload"))
        return parameters

    lambda_task._eval_parameters = lambda_parameters

    service_task = state_task_service.StateTaskService
    before = service_task._before_eval_execution

    def before_eval_execution(self, env, resource_runtime_part, raw_parameters, state_credentials):
        _check_input(env, self.name, raw_parameters)
        before(self, env, resource_runtime_part, raw_parameters, state_credentials)

    service_task._before_eval_execution = before_eval_execution

    def parallel_eval_execution(self, env):
        # StateParallel._eval_execution, with the branches' result checked before it succeeds.
        env.event_manager.add_event(context=env.event_history_context,
                                    event_type=HistoryEventType.ParallelStateStarted)
        self.branches.eval(env)
        _check_result(env, self.name, env.stack[-1])
        env.event_manager.add_event(context=env.event_history_context,
                                    event_type=HistoryEventType.ParallelStateSucceeded,
                                    update_source_event_id=False)

    StateParallel._eval_execution = parallel_eval_execution

    map_execution = StateMap._eval_execution

    def map_eval_execution(self, env):
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
            FailureEventException,
        )

        _map_state.tolerance_given = getattr(self, "sfn_tolerance_given", (False, False))
        # Without a ResultWriter the children's outputs are the result (checked by the iteration).
        _map_state.result_check = self.name if self.result_writer is None else None
        try:
            map_execution(self, env)
        except FailureEventException as ex:
            run = getattr(ex, "sfn_map_run", None)
            if run is not None and self.result_writer is not None:
                # A failed Map Run still files its children (FAILED, PENDING ...), then fails.
                results = _Results()
                results.map_run = run
                env.stack.append(results)
                self.result_writer.eval(env)
                env.stack.pop()
            raise
        finally:
            _map_state.result_check = None

    StateMap._eval_execution = map_eval_execution

    def checked(eval_body):
        def eval_body_checked(self, env):
            eval_body(self, env)
            name = getattr(_map_state, "result_check", None)
            if name is not None:
                _check_result(env, name, env.stack[-1])

        return eval_body_checked

    InlineIterationComponent._eval_body = checked(InlineIterationComponent._eval_body)
    DistributedIterationComponent._eval_body = checked(DistributedIterationComponent._eval_body)

    class ValidationException(sfn_exceptions.AWSError):
        TYPE = "ValidationException"
        STATUS = 400

    backend = parser_models.StepFunctionsParserBackend
    start_execution = backend.start_execution

    def start_execution_within_limit(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        # StartExecution input: "Length Constraints: Maximum length of 262144", in UTF-8 bytes
        # (StartExecution, API reference); a length constraint fails as ValidationException.
        if isinstance(execution_input, str) and len(execution_input.encode("utf-8")) > PAYLOAD_LIMIT:
            raise ValidationException("1 validation error detected: Value at 'input' failed to satisfy "
                                      f"constraint: Member must have length less than or equal to {PAYLOAD_LIMIT}")
        return start_execution(self, state_machine_arn, name, execution_input, trace_header)

    backend.start_execution = start_execution_within_limit


def _install_error_matching() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    match = ErrorEqualsDecl._eval_body

    def eval_body(self, env):
        name = getattr(env.stack[-1], "error_name", None)
        names = [getattr(e, "error_name", None) for e in self.error_names]
        if name == DATA_LIMIT_ERROR and "States.ALL" in names and DATA_LIMIT_ERROR not in names:
            env.stack.pop()
            env.stack.append(False)
            return
        match(self, env)

    ErrorEqualsDecl._eval_body = eval_body


def _install_history_limit() -> None:
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    add_event = EventManager.add_event
    terminal = {HistoryEventType.ExecutionSucceeded, HistoryEventType.ExecutionFailed,
                HistoryEventType.ExecutionAborted, HistoryEventType.ExecutionTimedOut}

    def add_capped_event(self, context, event_type, event_details=None, timestamp=None,
                         update_source_event_id=True):
        owner = getattr(self, "sfn_owner", None)
        if owner is None:
            return add_event(self, context, event_type, event_details, timestamp, update_source_event_id)
        with self.sfn_lock:
            if self.sfn_closed:
                return context.last_published_event_id  # the history has ended: nothing more is recorded
            if len(self._history_event_list) >= HISTORY_LIMIT - 1 and event_type != HistoryEventType.ExecutionSucceeded:
                self.sfn_closed = True
                event_id = add_event(self, context, HistoryEventType.ExecutionFailed, EventDetails(
                    executionFailedEventDetails=ExecutionFailedEventDetails(error=HISTORY_ERROR, cause=HISTORY_CAUSE)))
                failed = True
            else:
                self.sfn_closed = event_type in terminal
                event_id = add_event(self, context, event_type, event_details, timestamp, update_source_event_id)
                failed = False
        if failed:
            _fail_history(owner)
        return event_id

    EventManager.add_event = add_capped_event

    set_error = Environment.set_error

    def set_final_error(self, error):
        # After the history limit, the execution's error stays the history limit's.
        set_error(self, getattr(self, "sfn_final_error", None) or error)

    Environment.set_error = set_final_error

    environment = ExecutionWorker._get_evaluation_environment

    def evaluation_environment(self):
        env = environment(self)
        _own_history(env.event_manager, env)
        return env

    ExecutionWorker._get_evaluation_environment = evaluation_environment


def _install_map_runs() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import (
        ResultWriter,
    )
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
        ResourceEvalS3,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
        ToleratedFailureCountDecl,
        ToleratedFailurePercentageDecl,
    )

    DistributedIterationComponent._map_run = _map_run

    def result_writer_eval_body(self, env):
        # ResultWriter's Parameters ("Bucket.$", "Prefix.$") read the Map state's input, as AWS
        # documents them; moto evaluated them against the children's results.
        results = env.stack.pop()
        env.stack.append(env.stack[-1] if env.stack else env.states.get_input())
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.append(results)
        env.stack.append(parameters)
        self.resource_eval.eval_resource(env=env)

    ResultWriter._eval_body = result_writer_eval_body

    parse = AmazonStateLanguageParser.parse

    def parse_whole_percentages(definition: str):
        # "ToleratedFailurePercentage": 100 is valid ASL (a number from 0 to 100), but moto's
        # grammar takes only a decimal there (NUMBER, not INT) and refused the definition.
        try:
            tree = json.loads(definition)
        except ValueError:
            return parse(definition)
        return parse(json.dumps(_decimal_percentages(tree)))

    AmazonStateLanguageParser.parse = staticmethod(parse_whole_percentages)
    ResourceEvalS3._handle_put_object = staticmethod(_write_results)

    from_state_props = StateMap.from_state_props

    def map_from_state_props(self, state_props):
        from_state_props(self, state_props)
        # Whether each threshold was given decides how the two combine (maprun-fail-threshold).
        self.sfn_tolerance_given = (state_props.get(ToleratedFailureCountDecl) is not None,
                                    state_props.get(ToleratedFailurePercentageDecl) is not None)

    StateMap.from_state_props = map_from_state_props

    def eval_pool(self, job, worker_frame):
        # IterationWorker._eval_pool (an inline Map's worker) as a loop: moto recursed once per job.
        while True:
            if job is None:
                self._env.close_frame(worker_frame)
                return
            job_frame = worker_frame.open_inner_frame()
            self._eval_job(env=job_frame, job=job)
            worker_frame.close_frame(job_frame)
            if isinstance(job.job_output, Exception) or self.stopped():
                self._env.close_frame(worker_frame)
                self._job_pool.close_job(job)
                return
            next_job = self._job_pool.next_job()
            if next_job is None:
                worker_frame.event_history_context.source_event_id = (
                    job_frame.event_history_context.last_published_event_id)
                self._env.close_frame(worker_frame)
                self._job_pool.close_job(job)
                return
            self._job_pool.close_job(job)
            job = next_job

    iteration_worker.IterationWorker._eval_pool = eval_pool


def _decimal_percentages(node: Any) -> Any:
    """`node` with every whole ToleratedFailurePercentage written as a decimal (100 -> 100.0)."""
    if isinstance(node, dict):
        return {k: float(v) if k == "ToleratedFailurePercentage" and isinstance(v, int) and not isinstance(v, bool)
                else _decimal_percentages(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decimal_percentages(v) for v in node]
    return node


class _ScaledTime:
    """The `time` module as moto's Retry sees it: sleeps last wait_scale times as long."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(_scaled(seconds))


def _install_waits() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def wait_interval(self, env, wait_seconds):
        # Seconds, SecondsPath, Timestamp and TimestampPath alike, scaled; a stop or failure of the
        # execution ends the wait. (moto's own re-waited int() seconds, forever for a fraction.)
        deadline = time.monotonic() + _scaled(wait_seconds)
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            env.program_state_event.wait(left)

    WaitFunction._wait_interval = wait_interval
    retrier_decl.time = _ScaledTime()


def _install_lambda_response() -> None:
    """moto's Invoke answer replaced any payload above sys.getsizeof 6,000,000 with
    Function.ResponseSizeTooLarge; the Forwarder (moto_glue) now applies Lambda's exact limit."""
    from moto.awslambda.responses import LambdaResponse
    from moto.utilities.aws_headers import amz_crc32
    from urllib.parse import unquote

    @amz_crc32
    def invoke(self):
        response_headers: dict[str, str] = {}
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        qualifier = self._get_param("qualifier")
        payload = self.backend.invoke(function_name, qualifier, self.body, self.headers, response_headers)
        if payload is None:
            return 404, response_headers, "{}"
        response_headers["content-type"] = "application/json"
        invocation_type = self.headers.get("X-Amz-Invocation-Type")
        if invocation_type == "Event":
            response_headers["status"] = "202"
            return 202, response_headers, payload
        if invocation_type == "DryRun":
            response_headers["status"] = "204"
            return 204, response_headers, payload
        if self.headers.get("X-Amz-Log-Type") != "Tail":
            response_headers.pop("x-amz-log-result", None)
        return 200, response_headers, payload

    LambdaResponse.invoke = invoke


def lambda_request_too_large(size: int, asynchronous: bool) -> Exception | None:
    """Lambda's answer to an Invoke request above its payload limit, or None: "For synchronous
    invocations, the maximum payload size is 6 MB. For asynchronous invocations, the maximum payload
    size is 1 MB." (Invoke, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), error
    RequestTooLargeException, HTTP 413. The byte limits and message are those Lambda answers with
    ("6991583 byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)").
    """
    from moto.awslambda.exceptions import LambdaClientError

    limit = LAMBDA_ASYNC_REQUEST_LIMIT if asynchronous else LAMBDA_SYNC_REQUEST_LIMIT
    if size <= limit:
        return None
    kind = "Event" if asynchronous else "RequestResponse"
    error = LambdaClientError("RequestTooLargeException",
                              f"{size} byte payload is too large for the {kind} invocation type (limit {limit} bytes)")
    error.code = 413
    return error


def lambda_response_too_large(size: int) -> str | None:
    """The function error Lambda returns instead of a response above 6 MB (6,291,556 bytes), or None.
    The payload is Lambda's own (as moto answers too); Step Functions then reports Error ==
    errorType, as for any function error that carries one."""
    if size <= LAMBDA_RESPONSE_LIMIT:
        return None
    return json.dumps({"errorMessage": f"Response payload size exceeded maximum allowed payload size "
                                       f"({LAMBDA_RESPONSE_LIMIT} bytes).",
                       "errorType": "Function.ResponseSizeTooLarge"})


def _install_jsonpath_cache() -> None:
    """moto's engine parsed every JSONPath string again at each use (jsonpath_ng builds a parser
    per call: three quarters of the time of a Pass/Choice loop); a parsed path is immutable, so each
    string is parsed once. Speed only: nothing a state machine sees changes."""
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)
    result_path.parse = functools.lru_cache(maxsize=4096)(result_path.parse)


def _install_branch_errors() -> None:
    """A Parallel branch or Map iteration that fails with a States.* error (States.DataLimitExceeded,
    States.Runtime ...) fails its Parallel or Map state with that error; moto raised ValueError on
    such a name ("Custom Error Names MUST NOT begin with the prefix 'States.'") and so failed the
    whole execution with States.Runtime, past any Catch."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl

    def propagated_error_name(error_name=None):
        if isinstance(error_name, str) and error_name.startswith("States."):
            try:
                return StatesErrorName.from_name(error_name)
            except ValueError:
                pass
        return CustomErrorName(error_name=error_name)

    branches_decl.CustomErrorName = propagated_error_name
    iteration_worker.CustomErrorName = propagated_error_name


def _install_history_pages() -> None:
    """GetExecutionHistory as AWS answers it: "The default is 100 and the maximum allowed page size
    is 1000", nextToken for the next page, reverseOrder ("Lists events in descending order of their
    timeStamp") and includeExecutionData (GetExecutionHistory,
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
    moto answered every event in one page, through a serializer that took 15 s for a 25,000-event
    history; this answer is plain JSON. A Map Run's child executions can be read like any other
    (GetExecutionHistory, DescribeExecution, ListExecutions with mapRunArn): moto knew none."""
    from moto.stepfunctions.exceptions import InvalidToken
    from moto.stepfunctions.responses import StepFunctionResponse

    class ValidationException(InvalidToken):
        TYPE = "ValidationException"

    def get_execution_history(self):
        arn = self._get_param("executionArn")
        max_results = self._get_int_param("maxResults") or 100
        if not 0 < max_results <= 1000:
            raise ValidationException("1 validation error detected: Value at 'maxResults' failed to satisfy "
                                      "constraint: Member must have value less than or equal to 1000")
        reverse = bool(self._get_bool_param("reverseOrder", False))
        include_data = self._get_bool_param("includeExecutionData", True) is not False
        token = self._get_param("nextToken")
        child = child_execution(arn)
        if child is not None:
            manager = child.history
        else:
            execution = self.stepfunction_backend.describe_execution(arn)
            env = execution.exec_worker.env if getattr(execution, "exec_worker", None) else None
            manager = env.event_manager if env is not None else None
        events: list = []
        if manager is not None:
            with manager._mutex:
                events = list(manager._history_event_list)
        if reverse:
            events.reverse()
        try:
            start = int(token) if token else 0
        except ValueError:
            raise InvalidToken("Invalid Token: 'The token is not valid.'") from None
        page = events[start:start + max_results]
        body: dict[str, Any] = {"events": [_wire_event(e, include_data) for e in page]}
        if start + max_results < len(events):
            body["nextToken"] = str(start + max_results)
        return json.dumps(body, default=_json_default)

    StepFunctionResponse.get_execution_history = get_execution_history

    describe_execution = StepFunctionResponse.describe_execution

    def describe_child_execution(self):
        # A Map Run's child executions are executions: DescribeExecution knows them, with the
        # mapRunArn "which dispatched this execution" (DescribeExecution, API reference).
        child = child_execution(self._get_param("executionArn"))
        if child is None:
            return describe_execution(self)
        return json.dumps(child.describe(), default=_json_default)

    StepFunctionResponse.describe_execution = describe_child_execution

    list_executions = StepFunctionResponse.list_executions

    def list_map_run_executions(self):
        # "If the mapRunArn field is specified, a list of all of the child workflow executions
        # started by a Map Run is returned." (ListExecutions, API reference)
        map_run_arn = self._get_param("mapRunArn")
        if not map_run_arn:
            return list_executions(self)
        with _RUNS_LOCK:
            run = _RUNS.get(map_run_arn)
        if run is None:
            raise ValidationException(f"Map Run does not exist: {map_run_arn}")
        status_filter = self._get_param("statusFilter")
        max_results = self._get_int_param("maxResults") or 100
        token = self._get_param("nextToken")
        start = int(token) if token and token.isdigit() else 0
        with run.lock:
            listed = [c.describe(listing=True) for c in run.children
                      if c.status != "PENDING" and (not status_filter or c.status == status_filter)]
        body: dict[str, Any] = {"executions": listed[start:start + max_results]}
        if start + max_results < len(listed):
            body["nextToken"] = str(start + max_results)
        return json.dumps(body, default=_json_default)

    StepFunctionResponse.list_executions = list_map_run_executions


def _wire_event(event: dict, include_data: bool) -> dict:
    """A history event as the awsJson1_0 wire carries it (timestamp in epoch seconds)."""
    out = {}
    for key, value in event.items():
        if key == "timestamp" and isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        elif not include_data and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in ("input", "inputDetails", "output", "outputDetails")}
        out[key] = value
    return out
