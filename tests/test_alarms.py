"""The template's alarms watch metrics the functions really emit: the names an alarm on the
stack's own namespace reads are the EMF names in shared/src/metrics.rs, and the legal clock's
alarm reads what the hourly watcher emits at a period that sees every run."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cfn.emulated import source

METRICS_RS = Path(__file__).resolve().parents[1] / "shared" / "src" / "metrics.rs"


def emitted_names() -> set[str]:
    return set(re.findall(r'pub const [A-Z_]+: &str = "([A-Za-z]+)";', METRICS_RS.read_text()))


def alarms() -> dict[str, dict]:
    return {k: r["Properties"] for k, r in source()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_every_alarm_on_the_stacks_namespace_reads_a_metric_the_functions_emit():
    own = {k: p["MetricName"] for k, p in alarms().items() if p.get("Namespace") == {"Ref": "MetricsNamespace"}}
    assert own, "no alarm on the functions' metrics"
    names = emitted_names()
    assert {"RequestsNearDeadline", "OpenRequests", "RequestsPastDeadline"} <= names
    assert {k: m for k, m in own.items() if m not in names} == {}


def test_the_deadline_alarm_sees_every_hourly_run_and_the_watchers_failures():
    fn = source()["Resources"]["WatchDeadlinesFunction"]["Properties"]
    [event] = fn["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == "rate(1 hour)"
    near = alarms()["RequestsNearDeadlineAlarm"]
    assert near["MetricName"] == "RequestsNearDeadline" and near["Statistic"] == "Maximum"
    # One datapoint an hour: an hour's period, and two of them so that a run landing late in
    # the next period does not clear the alarm in between.
    assert (near["Period"], near["EvaluationPeriods"], near["DatapointsToAlarm"]) == (3600, 2, 1)
    assert (near["Threshold"], near["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert near["AlarmActions"] == [{"Ref": "NotificationTopic"}]
    errors = alarms()["DeadlineWatchErrorsAlarm"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "WatchDeadlinesFunction"}}]
    env = fn["Environment"]["Variables"]
    assert env["DEADLINE_ALARM_DAYS"] == {"Ref": "DeadlineAlarmDays"} and env["LEGAL_DEADLINE"] == {"Ref": "LegalDeadline"}
