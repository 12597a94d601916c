"""AWS policy evaluation, for what this project's policies use, within one account.

The logic is the IAM User Guide's "Policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
- an explicit Deny in any applicable policy (identity-based or resource-based) refuses the request;
- otherwise, within one account, an Allow in the principal's identity-based policies *or* in the
  resource's resource-based policy (naming the principal) allows it ("Identity-based and
  resource-based policies within the same account");
- AWS KMS is the exception: a key's policy must allow the principal itself, or allow the account
  (its root ARN), which lets IAM policies grant the key ("Key policies in AWS KMS", Default key
  policy, https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html);
- otherwise the request is refused (implicit deny).

Statements: Action/NotAction and Resource/NotResource with the wildcards `*` and `?` (actions
match case-insensitively), Principal (`*`, AWS ARNs, Service), and Condition blocks: every
operator of a block must hold, every key of an operator must hold, and a key with several values
holds when any value matches ("Creating a condition with multiple keys or values",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html).
A key missing from the request context makes a condition false, a negated one (StringNotEquals,
ArnNotEquals, ArnNotLike, ...) true; `...IfExists` holds when the key is missing, `Null` tests
presence ("IAM JSON policy elements: Condition operators",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
ArnEquals and ArnLike match each of an ARN's six colon-separated parts on its own, with wildcards.
Condition key names are case-insensitive. Anything this module does not implement raises
Unsupported, so a new construct in the template is noticed instead of misjudged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache


class Unsupported(Exception):
    """A policy construct this evaluator does not implement."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an IAM role (arn) or an AWS service principal (service)."""

    account: str
    arn: str | None = None
    service: str | None = None

    @property
    def root(self) -> str:
        return f"arn:aws:iam::{self.account}:root"


@dataclass(frozen=True)
class Statement:
    """One policy statement, its intrinsic functions already resolved."""

    policy: str          # where it comes from, e.g. "PrepareRequestFunctionRole/PrepareRequestFunctionRolePolicy0"
    index: int           # its position in that policy's Statement list
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principal: object = None  # None in identity-based policies
    condition: tuple = ()     # ((operator, ((key, (values...)), ...)), ...)
    sid: str | None = None

    @property
    def label(self) -> str:
        return f"{self.policy}#{self.index}" + (f" ({self.sid})" if self.sid else "")


@dataclass(frozen=True)
class Grant:
    """One action of one Allow statement: the unit the removal proof takes away."""

    statement: Statement
    action: str

    @property
    def label(self) -> str:
        """What the grant allows, in this deployment's resource names."""
        st = self.statement
        where = ", ".join(st.resources) if st.resources else f"everything but {', '.join(st.not_resources)}"
        label = f"{st.policy}{f' ({st.sid})' if st.sid else ''}: {self.action} on {where}"
        if st.condition:
            label += " if " + "; ".join(f"{op} {', '.join(k for k, _ in keys)}" for op, keys in st.condition)
        return label


def statements(policy_name: str, document: dict, resource_policy: bool = False) -> list[Statement]:
    """The statements of one resolved policy document."""
    raw = document.get("Statement", [])
    if isinstance(raw, dict):
        raw = [raw]
    out = []
    for i, st in enumerate(raw):
        unknown = set(st) - {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal",
                             "Condition"}
        if unknown:
            raise Unsupported(f"{policy_name}#{i}: statement element(s) {sorted(unknown)}")
        if st.get("Effect") not in ("Allow", "Deny"):
            raise Unsupported(f"{policy_name}#{i}: Effect {st.get('Effect')!r}")
        if resource_policy and "Principal" not in st:
            raise Unsupported(f"{policy_name}#{i}: a resource-based statement without Principal")
        out.append(Statement(
            policy=policy_name, index=i, effect=st["Effect"], sid=st.get("Sid"),
            actions=_strings(st.get("Action"), f"{policy_name}#{i} Action"),
            not_actions=_strings(st.get("NotAction"), f"{policy_name}#{i} NotAction"),
            resources=_strings(st.get("Resource"), f"{policy_name}#{i} Resource"),
            not_resources=_strings(st.get("NotResource"), f"{policy_name}#{i} NotResource"),
            principal=_freeze(st.get("Principal")) if resource_policy else None,
            condition=_condition(st.get("Condition") or {}, f"{policy_name}#{i}")))
    return out


def _strings(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    # IAM takes a string or a list of strings, nothing nested (a CommaDelimitedList Ref inside a
    # list is a nested list after CloudFormation resolves it).
    raise Unsupported(f"{where}: not a string or a list of strings: {value!r}")


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _condition(block: dict, where: str) -> tuple:
    out = []
    for operator, keys in block.items():
        if not isinstance(keys, dict):
            raise Unsupported(f"{where}: Condition {operator} is not a map of keys")
        _operator_parts(operator)  # fails early on an operator it does not know
        frozen = []
        for key, values in keys.items():
            values = values if isinstance(values, list) else [values]
            frozen.append((key, tuple(_condition_value(v, where) for v in values)))
        out.append((operator, tuple(frozen)))
    return tuple(out)


def _condition_value(v, where: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    raise Unsupported(f"{where}: condition value {v!r}")


# --- matching ----------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """`*` matches any run of characters, `?` one character; nothing else is special."""
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated parts matched on its own."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(wildcard_match(a, b) for a, b in zip(p, v))


def action_matches(patterns: tuple[str, ...], action: str) -> bool:
    return any(wildcard_match(p, action, ignore_case=True) for p in patterns)


def resource_matches(patterns: tuple[str, ...], resource: str) -> bool:
    return any(wildcard_match(p, resource) for p in patterns)


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
            "NumericNotEquals"}
_MATCHERS = {
    "StringEquals": lambda c, p: c == p,
    "StringNotEquals": lambda c, p: c == p,
    "StringEqualsIgnoreCase": lambda c, p: c.lower() == p.lower(),
    "StringNotEqualsIgnoreCase": lambda c, p: c.lower() == p.lower(),
    "StringLike": lambda c, p: wildcard_match(p, c),
    "StringNotLike": lambda c, p: wildcard_match(p, c),
    "ArnEquals": lambda c, p: arn_match(p, c),
    "ArnLike": lambda c, p: arn_match(p, c),
    "ArnNotEquals": lambda c, p: arn_match(p, c),
    "ArnNotLike": lambda c, p: arn_match(p, c),
    "Bool": lambda c, p: c.lower() == p.lower(),
    "NumericEquals": lambda c, p: float(c) == float(p),
    "NumericNotEquals": lambda c, p: float(c) == float(p),
    "NumericLessThan": lambda c, p: float(c) < float(p),
    "NumericLessThanEquals": lambda c, p: float(c) <= float(p),
    "NumericGreaterThan": lambda c, p: float(c) > float(p),
    "NumericGreaterThanEquals": lambda c, p: float(c) >= float(p),
}


def _operator_parts(operator: str) -> tuple[str | None, str, bool]:
    """(set qualifier, base operator, IfExists) of a condition operator."""
    qualifier = None
    for q in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(q):
            qualifier, operator = q[:-1], operator[len(q):]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    base = operator[: -len("IfExists")] if if_exists else operator
    if base != "Null" and base not in _MATCHERS:
        raise Unsupported(f"condition operator {operator!r}")
    return qualifier, base, if_exists


def condition_holds(condition: tuple, context: dict) -> bool:
    """Whether a statement's Condition holds for the request context (keys case-insensitive;
    a value is a string or a list of strings)."""
    ctx = {k.lower(): v for k, v in context.items()}
    for operator, keys in condition:
        qualifier, base, if_exists = _operator_parts(operator)
        for key, values in keys:
            if not _key_holds(qualifier, base, if_exists, ctx.get(key.lower()), values):
                return False
    return True


def _key_holds(qualifier, base, if_exists, present, values) -> bool:
    if base == "Null":
        return all((present is None) == (v.lower() == "true") for v in values[:1])
    if present is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # "ForAllValues ... returns true if the key is not present"
        return base in _NEGATED and qualifier is None
    match = _MATCHERS[base]
    requested = present if isinstance(present, list) else [present]
    negated = base in _NEGATED

    def one(value: str) -> bool:
        hit = any(match(value, p) for p in values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in requested)
    if negated and qualifier is None:
        return all(one(v) for v in requested)
    return any(one(v) for v in requested)


def principal_matches(spec, principal: Principal, allow: bool) -> bool:
    """Whether a resource-based statement's Principal names this principal. The account (its
    root ARN or ID) stands for every principal of the account in a Deny; in an Allow it only
    lets identity-based policies decide (handled by the caller for KMS), so it matches nothing."""
    if spec == "*":
        return True
    entries = dict(spec) if isinstance(spec, tuple) else None
    if entries is None:
        raise Unsupported(f"Principal {spec!r}")
    unknown = set(entries) - {"AWS", "Service"}
    if unknown:
        raise Unsupported(f"Principal type(s) {sorted(unknown)}")
    for kind, names in entries.items():
        names = names if isinstance(names, tuple) else (names,)
        for name in names:
            if kind == "Service" and principal.service == name:
                return True
            if kind == "AWS":
                if name == "*" or (principal.arn is not None and name == principal.arn):
                    return True
                if not allow and name in (principal.root, principal.account):
                    return True
    return False


def account_delegated(spec, principal: Principal) -> bool:
    """A statement whose Principal is the account itself (KMS: lets IAM policies grant the key)."""
    if not isinstance(spec, tuple):
        return False
    for kind, names in spec:
        names = names if isinstance(names, tuple) else (names,)
        if kind == "AWS" and any(n in (principal.root, principal.account) for n in names):
            return True
    return False


def applies(st: Statement, action: str, resource: str, context: dict, principal: Principal | None,
            removed: frozenset[Grant] = frozenset()) -> bool:
    """Whether a statement covers the request (ignoring Effect); `removed` takes grants away."""
    if st.actions:
        live = tuple(a for a in st.actions if Grant(st, a) not in removed)
        if not action_matches(live, action):
            return False
    elif st.not_actions:
        if Grant(st, "NotAction") in removed or action_matches(st.not_actions, action):
            return False
    else:
        return False
    if st.resources:
        if not resource_matches(st.resources, resource):
            return False
    elif st.not_resources:
        if resource_matches(st.not_resources, resource):
            return False
    elif st.principal is None:
        return False  # an identity-based statement needs Resource or NotResource
    if st.principal is not None and principal is not None:
        if not principal_matches(st.principal, principal, allow=st.effect == "Allow"):
            return False
    return condition_holds(st.condition, context)


@dataclass
class Decision:
    allowed: bool
    reason: str
    allowed_by: list[Statement] = field(default_factory=list)
    denied_by: list[Statement] = field(default_factory=list)


def decide(action: str, resource: str, context: dict, principal: Principal,
           identity: list[Statement], resource_policy: list[Statement] | None, kms_key: bool = False,
           removed: frozenset[Grant] = frozenset()) -> Decision:
    """The decision for one request of `principal` (see the module docstring for the logic).
    `resource_policy` is None when the resource has none (for a KMS key: one not in the template,
    whose key policy is taken to be the default one that lets IAM policies decide)."""
    resource_policy = resource_policy or []
    id_hits = [s for s in identity if applies(s, action, resource, context, None, removed)]
    res_hits = [s for s in resource_policy if applies(s, action, resource, context, principal, removed)]
    denies = [s for s in id_hits + res_hits if s.effect == "Deny"]
    if denies:
        return Decision(False, "explicit deny", denied_by=denies)
    id_allows = [s for s in id_hits if s.effect == "Allow"]
    res_allows = [s for s in res_hits if s.effect == "Allow"]
    if kms_key and resource_policy:
        delegated = [s for s in resource_policy if s.effect == "Allow" and account_delegated(s.principal, principal)
                     and applies(s, action, resource, context, None, removed)]
        if res_allows:
            return Decision(True, "key policy", res_allows)
        if delegated and id_allows:
            return Decision(True, "identity policy (key policy delegates to IAM)", id_allows + delegated)
        return Decision(False, "no key policy allow" if not delegated else "no identity-based allow")
    allows = id_allows + res_allows
    if allows:
        return Decision(True, "allowed", allows)
    return Decision(False, "no statement allows it (implicit deny)")
