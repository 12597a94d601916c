"""The harness runs the functions with what template.yaml gives them, so the two cannot drift:
each function's Environment in the SAM source, resolved for the same parameter values, is in the
harness's function environment, and nothing else is but what the emulation adds and the documented
test knobs; every variable the Rust functions read is set by the template or is such a knob, and
every variable the template sets is read. No emulation is started."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from tests.cfn import emulated, transform
from tests.emulation import ACCOUNT, REGION
from tests.harness import EMULATION_ENV, ROOT, TEST_KNOBS, AppConfig, Stack, parameters

GROUPS = [f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/{name}" for name in ("a", "b")]
CONFIGS = {
    "as most tests deploy": AppConfig(dataset_group_arns=GROUPS[:1], application_ids=["app1"]),
    "every parameter and knob set": AppConfig(
        dataset_group_arns=GROUPS, application_ids=["app1", "app2"], poll_seconds=2, shard_users=5,
        pinpoint_rate=80.0, max_part_bytes=40, max_request_users=1000, bad_row_policy="skip-row",
        max_job_wait_seconds=4, max_request_bytes=100_000, shard_concurrency=2, receipt_lock_mode="GOVERNANCE",
        receipt_lock_days=1, profiles_domains=["d1", "d2"], profiles_search_key="_account", profiles_search_rate=7.5,
        profiles_delete_rate=3.0, pacing_headroom=0.3,
        extra_env={"FUNCTION_TIMEOUT_SECONDS": "20", "PINPOINT_HANDBACK_SECONDS": "39"}),
    "Customer Profiles only": AppConfig(dataset_group_arns=GROUPS[:1], application_ids=[], profiles_domains=["d1"],
                                        profiles_search_key="_account"),
}
# How a function's code reads a variable: the config module, the standard library, the log filter.
READ = re.compile(r'(?:config::\w+|env::var|EnvFilter::try_from_env)\(\s*"([A-Z][A-Z0-9_]*)"')


def source_environments(params: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each function's environment as the SAM source template gives it, before the transform:
    Globals.Function's Environment under the function's own, and the log format variable Lambda
    sets from LoggingConfig; Ref and Fn::GetAtt resolved here for these parameter values and the
    emulation's names (emulated.physical_names), independently of tests/cfn/emulated.py."""
    source = transform.load_source()
    values = {k: str(v) for k, v in transform.parameter_values(source, params).items()}
    resources = source["Resources"]
    arn_formats = {
        "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
        "AWS::Serverless::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
        "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    }

    def arn(logical: str) -> str:
        return arn_formats[resources[logical]["Type"]].format(region=REGION, account=ACCOUNT,
                                                               name=emulated.physical_names()[logical])

    def value(node) -> str:
        if not isinstance(node, dict):
            return str(node)
        (fn, arg), = node.items()
        if fn == "Ref":
            # Pseudo parameters as CloudFormation gives them, for the emulation's account and Region.
            pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
            return values[arg] if arg in values else pseudo[arg] if arg in pseudo else arn(arg)
        if fn == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            assert attribute == "Arn", f"Fn::GetAtt {logical}.{attribute}: teach source_environments it"
            return arn(logical)
        raise AssertionError(f"{fn} in a function's Environment: teach source_environments how CloudFormation "
                             "resolves it")

    globals_ = source.get("Globals", {}).get("Function", {})
    out = {}
    for logical, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        variables = {**globals_.get("Environment", {}).get("Variables", {}),
                     **props.get("Environment", {}).get("Variables", {})}
        env = {k: value(v) for k, v in variables.items()}
        log_format = {**globals_.get("LoggingConfig", {}), **props.get("LoggingConfig", {})}.get("LogFormat")
        if log_format:
            env[emulated.LOG_FORMAT_VARIABLE] = log_format
        out[logical] = env
    return out


def rust_reads() -> set[str]:
    """Every environment variable the functions' code reads by name (shared/src, functions/*/src)."""
    files = [*(ROOT / "shared" / "src").rglob("*.rs"), *(ROOT / "functions").glob("*/src/**/*.rs")]
    return {name for f in files for name in READ.findall(f.read_text())}


@pytest.mark.parametrize("label", CONFIGS)
def test_the_functions_run_with_the_environment_the_template_gives_them(label, tmp_path):
    cfg = CONFIGS[label]
    env = Stack(log_dir=tmp_path).function_env(cfg)
    expected = source_environments(parameters(cfg))
    assert set(expected) == set(emulated.function_names()), "the harness serves other functions than the template"
    for function, variables in expected.items():
        mine = {k: v for k, v in variables.items() if k not in cfg.extra_env}
        assert {k: env.get(k) for k in mine} == mine, function
    assert {k: env[k] for k in cfg.extra_env} == cfg.extra_env
    from_template = set().union(*expected.values())
    assert set(env) - from_template == ({"AWS_ENDPOINT_URL", *EMULATION_ENV} | set(cfg.extra_env)) - from_template


def test_only_test_knobs_can_be_set_beside_the_template(tmp_path):
    cfg = AppConfig(dataset_group_arns=GROUPS[:1], application_ids=[], extra_env={"SHARD_USERS": "5"})
    with pytest.raises(ValueError, match="SHARD_USERS"):
        Stack(log_dir=tmp_path).function_env(cfg)


def test_every_appconfig_parameter_is_one_of_the_templates():
    declared = set(transform.load_source()["Parameters"])
    named = {f.metadata["parameter"] for f in fields(AppConfig) if "parameter" in f.metadata}
    assert named <= declared, sorted(named - declared)
    assert set(parameters(CONFIGS["every parameter and knob set"])) <= declared


def test_every_variable_the_functions_read_is_set_by_the_template_or_is_a_test_knob():
    reads = rust_reads()
    assert len(reads) >= 10, f"the pattern finds too few reads to prove anything: {sorted(reads)}"
    from_template = set().union(*source_environments(parameters(CONFIGS["as most tests deploy"])).values())
    unset = reads - from_template - set(EMULATION_ENV) - set(TEST_KNOBS)
    assert not unset, f"read by the functions but set by neither template.yaml nor harness.TEST_KNOBS: {sorted(unset)}"
    unread = (from_template | set(TEST_KNOBS)) - reads
    assert not unread, f"set by template.yaml or listed as a test knob, but read by no function: {sorted(unread)}"


def test_the_erase_function_gets_the_customer_profiles_and_pacing_settings(tmp_path):
    """Set through AppConfig, the Customer Profiles and pacing parameters reach the functions through
    the template; unset, the template's defaults (no domain, no key) do. The erase function shares
    the account's rates through its leases and no longer divides them by the shard concurrency."""
    names = ("CUSTOMER_PROFILES_DOMAIN_NAMES", "CUSTOMER_PROFILES_SEARCH_KEY", "CUSTOMER_PROFILES_SEARCH_RATE_PER_SECOND",
             "CUSTOMER_PROFILES_DELETE_RATE_PER_SECOND", "PACING_HEADROOM")
    env = Stack(log_dir=tmp_path).function_env(CONFIGS["every parameter and knob set"])
    assert [env[n] for n in names] == ["d1,d2", "_account", "7.5", "3.0", "0.3"]
    env = Stack(log_dir=tmp_path).function_env(CONFIGS["as most tests deploy"])
    assert [env[n] for n in names] == ["", "", "400.0", "400.0", "0.2"]
    erase = source_environments(parameters(CONFIGS["every parameter and knob set"]))["ErasePinpointEndpointsFunction"]
    assert set(names) <= set(erase) and "PINPOINT_SHARD_CONCURRENCY" not in erase
