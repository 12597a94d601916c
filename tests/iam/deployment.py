"""The emulation's deployment as template.yaml deploys it on AWS, and the evaluation of the calls
its principals made (tests/emulation/principals.py) against the transformed template's policies.

The emulation's names come from the one mapping in tests/cfn/emulated.py (the names it gives the
template's resources); everything else is read from the transformed template, so new statements,
roles, permissions and resources are evaluated without a change here.

Principals outside the template (a request uploader's role session, an IAM user: principals.py
records them with the identity-based policies moto's IAM held for them) are judged with those
policies and the template's resource policies (the bucket policy), with the request context AWS
gives such a caller: aws:PrincipalArn is the role's ARN for a role session ("AWS global condition
context keys", aws:PrincipalArn,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
aws:userid its unique ID. A recorded call may carry "expect": "refused" (a test's deliberate
refusal, tests/harness.py Stack.upload_as): its refusal is then what the session check wants.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from tests.cfn import emulated, transform
from tests.emulation import ACCOUNT, REGION
from tests.iam.policy import Decision, Grant, Principal, Statement, Unsupported, decide, statements
from tests.iam.template import ResolvedTemplate

STACK = emulated.STACK

# Emulation function name -> the template's function.
FUNCTIONS = {name: logical for logical, name in emulated.function_names().items()}
# Emulation role ARN -> the template's role (the functions' roles follow from their Role property).
ROLES = {f"arn:aws:iam::{ACCOUNT}:role/{emulated.NAMED[logical]}": logical
         for logical in ("PersonalizeDeletionRole", "ErasureStateMachineRole", "OperatorRole")}
# Emulation state machine name -> the template's state machine.
STATE_MACHINES = {emulated.STATE_MACHINE: "ErasureStateMachine"}
# Recorded principals outside the template (tests/emulation/principals.py caller_of) -> the
# aws:PrincipalType AWS gives them ("AWS global condition context keys", aws:PrincipalType).
EXTERNAL = {"assumed-role": "AssumedRole", "user": "User"}


def resolved(params: dict[str, str]) -> ResolvedTemplate:
    """The transformed template resolved with these parameter values, with CloudFormation's names."""
    values = transform.parameter_values(emulated.source(), params)
    key = tuple(sorted((k, str(v)) for k, v in values.items()))
    return ResolvedTemplate(emulated.transformed(key), dict(key), STACK, ACCOUNT, REGION)


@dataclass(frozen=True)
class Check:
    """One authorisation a call needed, in the template's names."""

    principal: str        # the role's logical ID, or the service principal
    action: str
    resource: str
    context: tuple        # sorted (key, value) pairs; list values as tuples
    operation: str        # the API operation (for the report)
    expect: str = "allowed"  # "refused": a test made this call to see it refused

    def context_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.context}


@dataclass
class Verdict:
    check: Check
    decision: Decision


@dataclass
class Evaluation:
    """Every recorded call of one deployment, judged."""

    template: ResolvedTemplate
    verdicts: list[Verdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # calls that could not be judged (unattributed...)
    principals: dict = field(default_factory=dict)      # Check -> Principal

    @property
    def refused(self) -> list[Verdict]:
        """Refused calls no test expected refused."""
        return [v for v in self.verdicts if not v.decision.allowed and v.check.expect != "refused"]

    @property
    def unexpectedly_allowed(self) -> list[Verdict]:
        """Calls a test expected refused that the policies allow."""
        return [v for v in self.verdicts if v.decision.allowed and v.check.expect == "refused"]


class Deployment:
    """One set of parameter values: principals, policies and the emulation -> template names."""

    def __init__(self, params: dict[str, str]):
        self.template = resolved(params)
        t = self.template
        self.identity: dict[str, list[Statement]] = t.roles()
        self.resource_policies = t.resource_policies()
        self.function_roles = {fn: _role_of(t, logical) for fn, logical in FUNCTIONS.items()}
        self.role_arns = {t.arn(logical): logical for logical in self.identity}
        # Principals outside the template (by ARN): their identity-based policies as recorded.
        self.external_identity: dict[str, list[Statement]] = {}
        self.rewrites = self._rewrites()

    def _rewrites(self) -> list[tuple[re.Pattern, str]]:
        t = self.template
        out = []
        for emu, logical in FUNCTIONS.items():
            name = t.name(logical)
            out.append((re.compile(rf"(:function:){re.escape(emu)}(?=$|:)"), rf"\g<1>{name}"))
            out.append((re.compile(rf"(log-group:/aws/lambda/){re.escape(emu)}(?=$|:)"), rf"\g<1>{name}"))
        for emu, logical in STATE_MACHINES.items():
            name = t.name(logical)
            for kind in ("stateMachine", "execution", "mapRun"):
                out.append((re.compile(rf"(:{kind}:){re.escape(emu)}(?=$|[:/])"), rf"\g<1>{name}"))
        for emu, logical in ROLES.items():
            out.append((re.compile(rf"^{re.escape(emu)}$"), t.arn(logical)))
        return out

    def rename(self, value):
        if isinstance(value, list):
            return [self.rename(v) for v in value]
        if not isinstance(value, str):
            return value
        if value.startswith("emulation-rule/"):
            return self._rule_arn(value)
        for pattern, repl in self.rewrites:
            value = pattern.sub(repl, value)
        return value

    def _rule_arn(self, source: str) -> str:
        """The template's EventBridge rule for an emulation rule: the one named so, else the one
        rule whose targets include the function."""
        _, name, target = source.split("/", 2)
        t = self.template
        fn_arn = t.arn(FUNCTIONS[target]) if target in FUNCTIONS else None
        candidates = []
        for logical, res in t.resources.items():
            if res["Type"] != "AWS::Events::Rule":
                continue
            if name in (logical, t.name(logical)):
                return t.arn(logical)
            targets = t.value((res.get("Properties") or {}).get("Targets") or [], logical)
            if any(x.get("Arn") == fn_arn for x in targets):
                candidates.append(logical)
        return t.arn(candidates[0]) if len(candidates) == 1 else source

    def principal(self, recorded: dict) -> tuple[str | None, Principal | None, str | None]:
        """(role logical ID or service name, Principal, problem) of a recorded principal."""
        kind = recorded.get("type")
        if kind == "function":
            role = self.function_roles.get(recorded.get("name"))
            if role is None:
                return None, None, f"a call by function {recorded.get('name')!r}, which has no access key of its own " \
                                   f"(Cargo.toml [workspace.metadata.lambda.bin.*]) or no template function"
            return role, Principal(ACCOUNT, arn=self.template.arn(role)), None
        if kind == "role":
            arn = self.rename(recorded.get("arn") or "")
            role = self.role_arns.get(arn)
            if role is None:
                return None, None, f"a call by role {recorded.get('arn')!r}, which is no role of the template"
            return role, Principal(ACCOUNT, arn=arn), None
        if kind == "service":
            return recorded["name"], Principal(ACCOUNT, service=recorded["name"]), None
        if kind in EXTERNAL:
            arn = recorded.get("arn") or ""
            sts = []
            try:
                for i, doc in enumerate(recorded.get("policies") or []):
                    sts += statements(f"{arn} identity policy {i}", doc)
            except Unsupported as e:
                return None, None, f"a call by {arn!r}, whose identity policy cannot be judged: {e}"
            self.external_identity[arn] = sts
            return arn, Principal(ACCOUNT, arn=arn), None
        return None, None, f"a call signed with key {recorded.get('key')!r}: no principal of the application"

    def context(self, principal: Principal, recorded: dict, caller: dict | None = None) -> dict:
        """The request context: the recorded keys (in the template's names) and the global keys
        AWS adds for the principal ("AWS global condition context keys",
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
        aws:SecureTransport is "true": the SDKs and AWS services call AWS over TLS (the
        emulation's plain HTTP on 127.0.0.1 says nothing about AWS)."""
        ctx = {"aws:SecureTransport": "true", "aws:PrincipalAccount": ACCOUNT,
               "aws:RequestedRegion": REGION}
        if principal.service:
            ctx.update({"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": principal.service})
        else:
            ctx.update({"aws:PrincipalArn": principal.arn, "aws:PrincipalIsAWSService": "false",
                        "aws:PrincipalType": "AssumedRole"})
        kind = (caller or {}).get("type")
        if kind in EXTERNAL:
            # aws:PrincipalArn is the role's ARN for a role session, the user's for a user;
            # aws:userid "role-id:session-name" or the user's ID; aws:username only for a user.
            ctx["aws:PrincipalType"] = EXTERNAL[kind]
            if caller.get("userId"):
                ctx["aws:userid"] = caller["userId"]
            if kind == "user":
                ctx["aws:username"] = (caller.get("arn") or "").rpartition("/")[2]
        ctx.update({k: self.rename(v) for k, v in recorded.items()})
        return ctx

    def resource_policy_for(self, resource: str) -> list[Statement] | None:
        from tests.iam.policy import wildcard_match

        found = [st for pattern, sts in self.resource_policies if wildcard_match(pattern, resource) for st in sts]
        # A statement attached to both bucket ARNs appears once.
        unique = list({(s.policy, s.index): s for s in found}.values())
        return unique or None

    def checks(self, calls: list[dict]) -> tuple[list[tuple[Check, Principal]], list[str]]:
        """Every recorded call's checks in the template's names (deduplicated), and the calls
        that could not be attributed."""
        seen: dict[Check, Principal] = {}
        problems = []
        for call in calls:
            who, principal, problem = self.principal(call["principal"])
            if problem:
                problems.append(f"{call['service']} {call['operation']}: {problem}")
                continue
            for c in call["checks"]:
                ctx = self.context(principal, c.get("context") or {}, call["principal"])
                check = Check(who, c["action"], self.rename(c["resource"]),
                              tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in ctx.items())),
                              call["operation"], call.get("expect", "allowed"))
                seen.setdefault(check, principal)
        return list(seen.items()), problems

    def judge(self, check: Check, principal: Principal, removed: frozenset[Grant] = frozenset()) -> Decision:
        identity = (self.identity.get(check.principal) or self.external_identity.get(check.principal, [])
                    if principal.arn else [])
        kms = check.action.lower().startswith("kms:")
        return decide(check.action, check.resource, check.context_dict(), principal, identity,
                      self.resource_policy_for(check.resource), kms_key=kms, removed=removed)

    def evaluate(self, calls: list[dict]) -> Evaluation:
        ev = Evaluation(self.template)
        checks, ev.problems = self.checks(calls)
        for check, principal in checks:
            ev.verdicts.append(Verdict(check, self.judge(check, principal)))
        ev.principals = dict(checks)
        return ev

    def grants(self) -> list[Grant]:
        """Every action of every Allow statement the application's principals can use."""
        out = []
        for sts in list(self.identity.values()) + [sts for _, sts in self.resource_policies]:
            for st in sts:
                if st.effect != "Allow":
                    continue
                for a in st.actions or ("NotAction",):
                    g = Grant(st, a)
                    if g not in out:
                        out.append(g)
        return out


def _role_of(t: ResolvedTemplate, function_logical: str) -> str:
    role = (t.resource(function_logical).get("Properties") or {}).get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        att = role["Fn::GetAtt"]
        return att[0] if isinstance(att, list) else att.split(".", 1)[0]
    raise KeyError(f"{function_logical}: Role is not a Fn::GetAtt of a role in the template")


@dataclass
class GrantUse:
    grant: Grant
    covered: list[Check]
    refused_without: list[Check]


def grant_usage(dep: Deployment, ev: Evaluation) -> list[GrantUse]:
    """For every grant: the allowed checks it covers, and those refused once it is removed."""
    covered: dict[Grant, list[Check]] = defaultdict(list)
    for v in ev.verdicts:
        if not v.decision.allowed:
            continue
        for st in v.decision.allowed_by:
            for g in _grants_of(st, v.check.action):
                covered[g].append(v.check)
    # Identical copies of one grant (the same effect, principal, action, resources and
    # conditions in two statements: SAM writes one Lambda permission per S3 event, and the
    # request and plan prefixes are two events of one function) are taken away together: either
    # copy alone is the same grant, not a redundant one.
    def content(g: Grant) -> tuple:
        st = g.statement
        return (g.action, st.effect, st.actions, st.not_actions, st.resources, st.not_resources,
                repr(st.principal), st.condition)

    grants = list(dep.grants())
    twins: dict[tuple, list[Grant]] = defaultdict(list)
    for g in grants:
        twins[content(g)].append(g)
    out = []
    for g in grants:
        checks = covered.get(g, [])
        removed = frozenset(twins[content(g)])
        refused = [c for c in checks if not dep.judge(c, ev.principals[c], removed).allowed]
        out.append(GrantUse(g, checks, refused))
    return out


def _grants_of(st: Statement, action: str) -> list[Grant]:
    from tests.iam.policy import wildcard_match

    if st.actions:
        return [Grant(st, a) for a in st.actions if wildcard_match(a, action, ignore_case=True)]
    return [Grant(st, "NotAction")]
