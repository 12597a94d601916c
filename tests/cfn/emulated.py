"""template.yaml as the local emulation deploys it (tests/harness.py Stack.deploy).

What the emulation creates is read from the transformed template (transform.py: what
CloudFormation receives), resolved for the deployment's parameter values by tests/iam/template.py,
so that a change to the template cannot silently diverge from what the tests run: the functions
(names, Timeout, MemorySize, Environment), the buckets (versioning, Object Lock, the S3
notification), the EventBridge rules (their EventPattern objects, verbatim) and the state
machine's definition with its DefinitionSubstitutions.

Physical names: a function is named after its binary (the crate of its CodeUri), which is what
`cargo lambda watch` serves; the state machine and the two roles whose ARNs the recorded calls
show (tests/iam) have the short names below; everything else gets `<stack>-<LogicalId>`, as
tests/iam/template.py names resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import PurePosixPath

from tests.cfn import transform
from tests.emulation import ACCOUNT, REGION
from tests.iam.template import ResolvedTemplate

STACK = "erasure"
STATE_MACHINE = "erasure"
NAMED = {
    "ErasureStateMachine": STATE_MACHINE,
    "PersonalizeDeletionRole": "personalize-deletion",
    "ErasureStateMachineRole": "erasure-state-machine",
    "OperatorRole": "erasure-operator",
}
# Set by Lambda, not by the template ("Configuring advanced logging controls for Lambda functions",
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html: "Lambda
# also sets your function's log format using the AWS_LAMBDA_LOG_FORMAT environment variable").
LOG_FORMAT_VARIABLE = "AWS_LAMBDA_LOG_FORMAT"


@cache
def source() -> dict:
    """template.yaml as written (read once a session; nothing here changes it)."""
    return transform.load_source()


@cache
def function_names() -> dict[str, str]:
    """The template's functions (logical ID) -> the emulation's function name: the binary of the
    crate in its CodeUri (functions/<crate>)."""
    return {logical: PurePosixPath(res["Properties"]["CodeUri"]).name
            for logical, res in source()["Resources"].items() if res["Type"] == "AWS::Serverless::Function"}


def physical_names() -> dict[str, str]:
    return {**function_names(), **NAMED}


@lru_cache(maxsize=64)
def transformed(values: tuple[tuple[str, str], ...]) -> dict:
    """The transformed template for these parameter values (about 0.1 s a transform; cached)."""
    return transform.translate(dict(values))


class EmulatedTemplate(ResolvedTemplate):
    """The transformed template resolved with the emulation's physical names."""

    def name(self, logical: str) -> str:
        return physical_names().get(logical) or super().name(logical)


def resolve(parameters: dict[str, str]) -> EmulatedTemplate:
    """The transformed template for these parameter values (the sample or default value for any
    parameter not given; transform.parameter_values), resolved with the emulation's names.
    Values are not checked against the parameters' MinValue or AllowedPattern: the emulation is
    a test deployment, and tests use values CloudFormation would refuse (shard_users=5...)."""
    values = transform.parameter_values(source(), parameters)
    return _resolved(tuple(sorted((k, str(v)) for k, v in values.items())))


@lru_cache(maxsize=64)
def _resolved(values: tuple[tuple[str, str], ...]) -> EmulatedTemplate:
    return EmulatedTemplate(transformed(values), dict(values), STACK, ACCOUNT, REGION)


def _resources(t: ResolvedTemplate, kind: str) -> list[tuple[str, dict]]:
    """(logical ID, resolved Properties) of every resource of this type."""
    return [(logical, t.value(res.get("Properties") or {}, logical))
            for logical, res in t.resources.items() if res["Type"] == kind]


@dataclass
class Function:
    logical: str
    name: str
    role_arn: str
    timeout: int
    memory: int
    environment: dict[str, str]


def functions(t: EmulatedTemplate) -> list[Function]:
    """Every AWS::Lambda::Function with what it runs with. SAM has merged Globals in; Timeout and
    MemorySize fall back to Lambda's defaults (3 s, 128 MB; CreateFunction,
    https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html) when the template
    gives none."""
    out = []
    for logical, p in _resources(t, "AWS::Lambda::Function"):
        env = {k: str(v) for k, v in ((p.get("Environment") or {}).get("Variables") or {}).items()}
        log_format = (p.get("LoggingConfig") or {}).get("LogFormat")
        if log_format:
            env[LOG_FORMAT_VARIABLE] = log_format
        out.append(Function(logical, t.name(logical), p["Role"], int(p.get("Timeout", 3)),
                            int(p.get("MemorySize", 128)), env))
    return out


def environment(t: EmulatedTemplate) -> dict[str, str]:
    """The functions' environments as one: `cargo lambda watch` runs every function with the same
    environment file. A variable two functions set to different values cannot be served so: an
    error, not a silent pick."""
    env: dict[str, str] = {}
    for fn in functions(t):
        for k, v in fn.environment.items():
            if env.setdefault(k, v) != v:
                raise ValueError(f"{k} is {env[k]!r} for one function and {v!r} for {fn.logical}: "
                                 "the emulation runs every function with one environment")
    return env


@dataclass
class Bucket:
    name: str
    versioning: dict | None
    object_lock: bool
    notification: dict


def buckets(t: EmulatedTemplate) -> list[Bucket]:
    """Every AWS::S3::Bucket, its notification configuration in PutBucketNotificationConfiguration's
    shape: each CloudFormation LambdaConfiguration {Event, Function, Filter: {S3Key: {Rules}}}
    ("AWS::S3::Bucket LambdaConfiguration", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-lambdaconfiguration.html)
    is one LambdaFunctionConfiguration {LambdaFunctionArn, Events: [Event], Filter: {Key:
    {FilterRules}}} (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LambdaFunctionConfiguration.html)."""
    out = []
    for logical, p in _resources(t, "AWS::S3::Bucket"):
        notification = p.get("NotificationConfiguration") or {}
        unsupported = set(notification) - {"LambdaConfigurations"}
        if unsupported:
            raise NotImplementedError(f"{logical}: the emulation delivers no {sorted(unsupported)}")
        configs = []
        for c in notification.get("LambdaConfigurations", []):
            config = {"LambdaFunctionArn": c["Function"], "Events": [c["Event"]]}
            rules = ((c.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                config["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
            configs.append(config)
        out.append(Bucket(t.name(logical), p.get("VersioningConfiguration"), p.get("ObjectLockEnabled") is True,
                          {"LambdaFunctionConfigurations": configs}))
    return out


def event_rules(t: EmulatedTemplate) -> list[dict]:
    """Every enabled AWS::Events::Rule with an EventPattern, one emulation rule (events.py) per
    target: the pattern verbatim, the target's InputTransformer, and the function when the
    target is one of the template's functions (any other target, e.g. the SNS topic, is only
    recorded by the emulation)."""
    functions_by_arn = {t.arn(logical): name for logical, name in function_names().items()}
    out = []
    for logical, p in _resources(t, "AWS::Events::Rule"):
        if "EventPattern" not in p or p.get("State", "ENABLED") != "ENABLED":
            continue
        for target in p.get("Targets", []):
            unsupported = set(target) - {"Id", "Arn", "InputTransformer"}
            if unsupported:
                raise NotImplementedError(f"{logical}: target fields {sorted(unsupported)}")
            rule = {"name": logical, "eventPattern": p["EventPattern"]}
            if target["Arn"] in functions_by_arn:
                rule["functionName"] = functions_by_arn[target["Arn"]]
            if "InputTransformer" in target:
                rule["inputTransformer"] = target["InputTransformer"]
            out.append(rule)
    return out


@dataclass
class StateMachine:
    name: str
    arn: str
    role_arn: str
    type: str
    definition: str


def state_machines(t: EmulatedTemplate) -> list[StateMachine]:
    """Every AWS::StepFunctions::StateMachine, its definition with the DefinitionSubstitutions
    filled in: each ${key} placeholder replaced by the key's resolved value
    ("AWS::StepFunctions::StateMachine", DefinitionSubstitutions,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html)."""
    out = []
    for logical, p in _resources(t, "AWS::StepFunctions::StateMachine"):
        definition = p["DefinitionString"]
        for key, value in (p.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        out.append(StateMachine(t.name(logical), t.arn(logical), p["RoleArn"], p.get("StateMachineType", "STANDARD"),
                                definition))
    return out


def roles(t: EmulatedTemplate) -> list[str]:
    """The names of the template's IAM roles (moto's Lambda and Step Functions want existing roles)."""
    return [t.name(logical) for logical, res in t.resources.items() if res["Type"] == "AWS::IAM::Role"]
