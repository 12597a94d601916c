"""template.yaml after the SAM transform, offline: what CloudFormation really receives.

`sam validate --lint` and cfn-lint on the SAM source check the template before the transform;
errors in what SAM generates from it (the roles' inline policies, the state machine's definition
with its substitutions) only show in the transformed template. This runs the transform the SAM CLI
ships (samtranslator) without AWS: function code and the state machine's definition are packaged
as `sam package` would (code as an S3 URI, the definition inline so that cfn-lint also checks it).

    python -m tests.cfn.transform [--param Name=Value ...] [-o transformed.json]

prints (or writes) the transformed template as JSON. Parameters without a default get the sample
values below unless given.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

from tests.emulation import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# Values for the parameters that have no default: the shapes a real deployment passes.
SAMPLE_PARAMETERS = {
    "RequestBucketName": "erasure-requests",
    "DatasetGroupArns": f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/interactions",
    "PinpointApplicationIds": "0123456789abcdef0123456789abcdef",
    "UserHashKeyParameterName": "/erasure/user-hash-key",
}


def extreme_parameters() -> dict[str, str]:
    """The largest values the template's parameter patterns accept where a value's size shows in
    what is deployed (the roles' policies grow with the lists): 10 dataset groups with 63-character
    names, 10 Pinpoint applications with 64-character IDs, 10 Customer Profiles domains with
    64-character names and a 64-character search key, a 1011-character SSM parameter name, a
    receipt lock, an e-mail subscription and 10 uploader roles with 512-character paths and names
    (their conditions on)."""
    groups = ",".join(
        f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/g{i}{'x' * 61}" for i in range(10))
    apps = ",".join(f"{i}{'a' * 63}" for i in range(10))
    domains = ",".join(f"d{i}{'_-' * 31}" for i in range(10))
    return {
        "RequestBucketName": "r" * 63,
        "DatasetGroupArns": groups,
        "PinpointApplicationIds": apps,
        "CustomerProfilesDomainNames": domains,
        "CustomerProfilesSearchKey": "k" * 64,
        "UserHashKeyParameterName": "/" + "k" * 1010,
        "RequestPrefix": "q" * 63 + "/",
        "ReceiptLockMode": "GOVERNANCE",
        "NotificationEmail": "privacy-team@example.com",
        "RequestUploaderPrincipalArns": ",".join(
            f"arn:aws:iam::{ACCOUNT}:role/team-{i}/{'u' * 505}" for i in range(10)),
    }


class _NoManagedPolicies:
    """SAM resolves managed policy *names* through IAM; this template names none (only ARNs)."""

    def load(self) -> dict[str, str]:
        return {}


def load_source(path: Path = TEMPLATE) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def packaged(template: dict, root: Path = ROOT) -> dict:
    """What `sam package` hands CloudFormation: code in S3, the definition read from its file."""
    t = copy.deepcopy(template)
    for name, res in t.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://sam-artifacts/{name}.zip"
        if res.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((root / props.pop("DefinitionUri")).read_text())
    return t


def parameter_values(template: dict, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every parameter's value: the override, else the sample, else the template's default."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        if overrides and name in overrides:
            values[name] = overrides[name]
        elif name in SAMPLE_PARAMETERS:
            values[name] = SAMPLE_PARAMETERS[name]
        elif "Default" in spec:
            values[name] = spec["Default"]
    return values


def translate(overrides: dict[str, str] | None = None, path: Path = TEMPLATE,
              region: str = REGION) -> dict:
    """The transformed template (a dict), for the given parameter values."""
    from samtranslator.translator.transform import transform

    source = load_source(path)
    params = parameter_values(source, overrides)
    # The translator reads the Region for AWS::Region from the environment (boto's session).
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    return transform(packaged(source, path.parent), dict(params), _NoManagedPolicies())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.cfn.transform", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--extremes", action="store_true",
                    help="start from the largest parameter values the template accepts")
    ap.add_argument("-o", "--output", help="write here instead of standard output")
    args = ap.parse_args(argv)
    overrides = extreme_parameters() if args.extremes else {}
    for p in args.param:
        name, sep, value = p.partition("=")
        if not sep:
            ap.error(f"--param {p!r}: expected NAME=VALUE")
        overrides[name] = value
    try:
        out = translate(overrides)
    except Exception as e:  # noqa: BLE001 - the translator's errors are the message
        print(f"SAM transform failed: {e}", file=sys.stderr)
        return 1
    text = json.dumps(out, indent=1, sort_keys=False) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
