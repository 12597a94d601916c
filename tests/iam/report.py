"""Evaluating recorded call batches (tests/harness.py Stack.principal_batches) and saying what was
found: refused calls, calls no principal of the template made, SAR mismatches, and per grant the
calls it covered, whether removing it refuses one of them, or that it covered nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from tests.iam import sar
from tests.iam.deployment import Deployment, Evaluation, GrantUse, grant_usage


@dataclass
class Findings:
    evaluations: list[tuple[Deployment, Evaluation]] = field(default_factory=list)

    @property
    def refused(self) -> list[str]:
        out = []
        for _, ev in self.evaluations:
            for v in ev.refused:
                c, d = v.check, v.decision
                by = "; ".join(s.label for s in d.denied_by)
                out.append(f"{c.principal} {c.operation}: {c.action} on {c.resource} -> {d.reason}"
                           + (f" by {by}" if by else "") + _context_note(c))
        return sorted(set(out))

    @property
    def unexpectedly_allowed(self) -> list[str]:
        """Calls a test made to see them refused (expect "refused") that the policies allow."""
        out = []
        for _, ev in self.evaluations:
            for v in ev.unexpectedly_allowed:
                c = v.check
                out.append(f"{c.principal} {c.operation}: {c.action} on {c.resource} -> allowed, "
                           f"but the test expected it refused{_context_note(c)}")
        return sorted(set(out))

    @property
    def unattributed(self) -> list[str]:
        return sorted({p for _, ev in self.evaluations for p in ev.problems})

    @property
    def sar_problems(self) -> list[str]:
        out = set()
        for _, ev in self.evaluations:
            for v in ev.verdicts:
                problem = sar.problem(v.check.action, v.check.resource)
                if problem:
                    out.add(f"{v.check.principal} {v.check.operation}: {problem}")
        return sorted(out)

    @property
    def template_errors(self) -> list[str]:
        return sorted({e for dep, _ in self.evaluations for e in dep.template.errors})

    def principals(self) -> set[str]:
        return {v.check.principal for _, ev in self.evaluations for v in ev.verdicts}

    def grant_uses(self) -> dict[str, list[GrantUse]]:
        """Grant -> its use in every evaluated deployment. A grant is named by its policy, its
        action and which of that policy's statements granting the action it is: the same grant
        across deployments whose parameters (application IDs, a condition that adds a statement)
        change its resources or its position."""
        out: dict[str, list[GrantUse]] = defaultdict(list)
        for dep, ev in self.evaluations:
            seen: dict[tuple, int] = defaultdict(int)
            for use in grant_usage(dep, ev):
                st = use.grant.statement
                base = (st.policy, st.sid, use.grant.action)
                seen[base] += 1
                name = f"{st.policy}{f' ({st.sid})' if st.sid else ''}: {use.grant.action}"
                if seen[base] > 1:
                    name += f" (statement {seen[base]} granting it)"
                out[name].append(use)
        return out


def _context_note(check) -> str:
    ctx = check.context_dict()
    keys = {k: v for k, v in ctx.items() if k.startswith(("s3:", "iam:", "kms:"))}
    return f" [{', '.join(f'{k}={v}' for k, v in sorted(keys.items()))}]" if keys else ""


def evaluate(batches: list[tuple[dict[str, str], list[dict]]]) -> Findings:
    """Every batch (the template parameter values it was deployed with, its calls) judged against
    the transformed template with those parameters."""
    findings = Findings()
    deployments: dict[tuple, Deployment] = {}
    for params, calls in batches:
        key = tuple(sorted(params.items()))
        if key not in deployments:
            deployments[key] = Deployment(params)
        dep = deployments[key]
        findings.evaluations.append((dep, dep.evaluate(calls)))
    return findings


def grant_table(findings: Findings) -> tuple[list[str], list[str], list[str]]:
    """(table lines of used grants, unused grants, grants whose removal refuses nothing)."""
    lines, unused, redundant = [], [], []
    for name, uses in sorted(findings.grant_uses().items()):
        covered = [c for u in uses for c in u.covered]
        refused = [c for u in uses for c in u.refused_without]
        if not covered:
            unused.append(f"{name}\n      = {uses[0].grant.label}")
            continue
        examples = sorted({f"{c.operation} {c.resource}" for c in covered})
        lines.append(f"{name}\n    covers {len(covered)} check(s), e.g. {'; '.join(examples[:3])}"
                     f"\n    removed: {len(refused)} of them refused")
        if not refused:
            redundant.append(name)
    return lines, unused, redundant


def summary(findings: Findings) -> str:
    lines, unused, redundant = grant_table(findings)

    def section(title: str, items: list[str]) -> list[str]:
        return ["", title, *([f"  {x}" for x in items] or ["  (none)"])]

    parts = ["GRANTS AND THE CALLS THEY COVER", *lines]
    parts += section("UNUSED GRANTS (no recorded call needed them)", unused)
    parts += section("GRANTS WHOSE REMOVAL REFUSES NOTHING (another grant covers the same calls)", redundant)
    parts += section("REFUSED CALLS", findings.refused)
    parts += section("CALLS OF NO TEMPLATE PRINCIPAL", findings.unattributed)
    parts += section("NOT AS THE SERVICE AUTHORIZATION REFERENCE SAYS", findings.sar_problems)
    parts += section("TEMPLATE ERRORS", findings.template_errors)
    return "\n".join(parts)


class JudgedCall(NamedTuple):
    """One authorisation one recorded call needed, judged: unpacks as (action, resource, allowed,
    reason). reason: "allowed", or why not, naming the deciding statements, e.g. "explicit deny by
    RequestBucketPolicy#3 (OnlyTheNamedRolesOrderErasures)"."""

    action: str
    resource: str
    allowed: bool
    reason: str


def judge_recorded_calls(stack, principal_arn: str, operation: str | None = None) -> list[JudgedCall]:
    """Every call `principal_arn` made in the emulation, judged against the transformed template
    deployed with the parameter values it ran under (its bucket policy included), in the order
    made: the calls kept at earlier resets (stack.principal_batches) and those since the last one.

    principal_arn is a role ARN (a role session's calls, e.g. Stack.upload_as, or a template
    role's) or an IAM user's ARN; a function's emulation name (e.g. "prepare-request") names its
    calls. operation (e.g. "PutObject") keeps only that operation's calls. Resources are in the
    template's names (as the session check reports them)."""
    current = stack.control("GET", "principal-calls")["calls"]
    batches = list(stack.principal_batches) + ([(dict(stack.deployed), stack.annotated(current))] if current else [])
    deployments: dict[tuple, Deployment] = {}
    out: list[JudgedCall] = []
    for params, calls in batches:
        mine = [c for c in calls if principal_arn in (c["principal"].get("arn"), c["principal"].get("name"))
                and (operation is None or c["operation"] == operation)]
        if not mine:
            continue
        key = tuple(sorted(params.items()))
        dep = deployments.get(key) or deployments.setdefault(key, Deployment(params))
        for call in mine:
            checks, problems = dep.checks([call])
            if problems:
                raise AssertionError("; ".join(problems))
            for check, principal in checks:
                d = dep.judge(check, principal)
                reason = d.reason
                if d.denied_by:
                    reason += " by " + "; ".join(st.label for st in d.denied_by)
                out.append(JudgedCall(check.action, check.resource, d.allowed, reason))
    return out
