"""The transformed template (tests/cfn/transform.py) resolved as CloudFormation would resolve it.

Intrinsic functions ("Intrinsic function reference", AWS CloudFormation User Guide,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html):
Ref (parameters, pseudo parameters, resources), Fn::GetAtt, Fn::Sub (string and list forms,
`${!Literal}`), Fn::Join, Fn::Split, Fn::Select, Fn::If with the template's Conditions
(Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), AWS::NoValue. CloudFormation's own type rules
are enforced and every breach is collected in `errors` (resolution goes on as if it had worked,
so the IAM evaluation still runs): a Fn::Sub variable that is a list ("variable X in Fn::Sub
expression does not resolve to a string"), Fn::Split of a list ("every Fn::Split object requires
two parameters, (1) a string delimiter and (2) a string to be split"), a Fn::Join delimiter that
is not a literal string, Fn::Select past the end of its list ("Fn::Select: doesn't check for null
values or if the index is out of bounds ... Both conditions will result in a stack error"), and a
policy Resource that is not a string or a list of strings.

Physical names: a resource's explicit name property, else `<stack>-<LogicalId>` (CloudFormation
adds a random suffix; no policy here depends on it). Pseudo parameters are the emulation's
account and Region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.iam.policy import Statement, Unsupported, statements

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

# AWS managed policies SAM attaches, with their documented content.
# AWSLambdaBasicExecutionRole (AWS Managed Policy Reference Guide,
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html):
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow",
                       "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                       "Resource": "*"}],
    },
}


class _NoValue:
    """AWS::NoValue: the property or list item is removed."""


NO_VALUE = _NoValue()

# Name property and ARN format per resource type.
_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::Rule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::SQS::Queue": "QueueName",
}


@dataclass
class ResolvedTemplate:
    """Resolution of one transformed template for one set of parameter values."""

    template: dict
    parameters: dict[str, str]
    stack: str
    account: str
    region: str
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.resources: dict[str, dict] = self.template.get("Resources", {})
        self._conditions: dict[str, bool] = {}
        self._values = {}
        for name, spec in self.template.get("Parameters", {}).items():
            raw = self.parameters.get(name, spec.get("Default"))
            if raw is None:
                raise KeyError(f"parameter {name} has no value")
            raw = str(raw)
            self._values[name] = raw.split(",") if spec.get("Type") == "CommaDelimitedList" else raw

    # --- names and ARNs --------------------------------------------------------------------

    def resource(self, logical: str) -> dict:
        if logical not in self.resources:
            raise KeyError(f"no resource {logical} in the transformed template")
        return self.resources[logical]

    def name(self, logical: str) -> str:
        res = self.resource(logical)
        prop = _NAMES.get(res["Type"])
        given = (res.get("Properties") or {}).get(prop) if prop else None
        if given is not None:
            return self.value(given, f"{logical}.{prop}")
        return f"{self.stack}-{logical}"

    def arn(self, logical: str) -> str:
        res = self.resource(logical)
        t, name, acct, reg = res["Type"], self.name(logical), self.account, self.region
        formats = {
            "AWS::IAM::Role": lambda: f"arn:{PARTITION}:iam::{acct}:role{self._role_path(logical)}{name}",
            "AWS::Lambda::Function": lambda: f"arn:{PARTITION}:lambda:{reg}:{acct}:function:{name}",
            "AWS::StepFunctions::StateMachine": lambda: f"arn:{PARTITION}:states:{reg}:{acct}:stateMachine:{name}",
            "AWS::S3::Bucket": lambda: f"arn:{PARTITION}:s3:::{name}",
            "AWS::SNS::Topic": lambda: f"arn:{PARTITION}:sns:{reg}:{acct}:{name}",
            "AWS::Events::Rule": lambda: f"arn:{PARTITION}:events:{reg}:{acct}:rule/{name}",
            "AWS::KMS::Key": lambda: f"arn:{PARTITION}:kms:{reg}:{acct}:key/{self.key_id(logical)}",
            "AWS::CloudWatch::Alarm": lambda: f"arn:{PARTITION}:cloudwatch:{reg}:{acct}:alarm:{name}",
            "AWS::SQS::Queue": lambda: f"arn:{PARTITION}:sqs:{reg}:{acct}:{name}",
        }
        if t not in formats:
            raise Unsupported(f"the ARN of a {t} ({logical})")
        return formats[t]()

    def _role_path(self, logical: str) -> str:
        path = (self.resource(logical).get("Properties") or {}).get("Path")
        return self.value(path, f"{logical}.Path") if path else "/"

    def key_id(self, logical: str) -> str:
        return f"key-id-of-{logical}"

    def ref(self, name: str):
        pseudo = {
            "AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack, "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{self.account}:stack/{self.stack}/"
                            "5f0c2a9e-0b7d-4c3a-9e1f-6d2b8a7c4e10",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self._values:
            return self._values[name]
        t = self.resource(name)["Type"]
        if t in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return self.arn(name)
        if t == "AWS::KMS::Key":
            return self.key_id(name)
        if t in _NAMES:
            return self.name(name)
        raise Unsupported(f"Ref of a {t} ({name})")

    def get_att(self, logical: str, attribute: str):
        t = self.resource(logical)["Type"]
        if attribute == "Arn" or (t == "AWS::SNS::Topic" and attribute == "TopicArn"):
            return self.arn(logical)
        if attribute in ("Name", "TopicName", "RoleId") and t in _NAMES:
            return self.name(logical)
        if attribute == "KeyId" and t == "AWS::KMS::Key":
            return self.key_id(logical)
        raise Unsupported(f"Fn::GetAtt {logical}.{attribute}")

    # --- conditions and values --------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = self.template.get("Conditions", {}).get(name)
            if spec is None:
                raise KeyError(f"no condition {name}")
            self._conditions[name] = bool(self._condition_value(spec, f"Conditions.{name}"))
        return self._conditions[name]

    def _condition_value(self, node, where: str) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Fn::Equals":
                a, b = (self.value(x, where) for x in arg)
                return _flat(a) == _flat(b)
            if fn == "Fn::Not":
                return not self._condition_value(arg[0], where)
            if fn == "Fn::And":
                return all(self._condition_value(x, where) for x in arg)
            if fn == "Fn::Or":
                return any(self._condition_value(x, where) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
        raise Unsupported(f"{where}: condition {node!r}")

    def value(self, node, where: str = "?"):
        """`node` with every intrinsic function resolved (NO_VALUE removed from lists and maps)."""
        if isinstance(node, list):
            out = [self.value(x, where) for x in node]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            handler = {
                "Ref": self._fn_ref, "Fn::GetAtt": self._fn_get_att, "Fn::Sub": self._fn_sub,
                "Fn::Join": self._fn_join, "Fn::Split": self._fn_split, "Fn::Select": self._fn_select,
                "Fn::If": self._fn_if,
            }.get(fn)
            if handler:
                return handler(arg, where)
            if fn.startswith("Fn::") or fn == "Condition":
                raise Unsupported(f"{where}: {fn}")
        out = {k: self.value(v, f"{where}.{k}") for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _fn_ref(self, arg, where):
        return self.ref(arg)

    def _fn_get_att(self, arg, where):
        if isinstance(arg, str):
            logical, _, attribute = arg.partition(".")
        else:
            logical, attribute = arg[0], self.value(arg[1], where)
        return self.get_att(logical, attribute)

    def _fn_sub(self, arg, where):
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.value(v, where) for k, v in (arg[1] if len(arg) > 1 else {}).items()}
        else:
            text, variables = arg, {}

        def substitute(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                logical, _, attribute = name.partition(".")
                value = self.get_att(logical, attribute)
            else:
                value = self.ref(name)
            if not isinstance(value, str):
                self.errors.append(f"{where}: variable {name} in Fn::Sub expression does not resolve to a string "
                                   f"(CloudFormation refuses the template)")
                value = ",".join(_flat(value)) if isinstance(value, list) else str(value)
            return value

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _fn_join(self, arg, where):
        delimiter, items = arg
        if not isinstance(delimiter, str):
            self.errors.append(f"{where}: an Fn::Join delimiter must be a literal string (CloudFormation refuses "
                               f"the template)")
            delimiter = self.value(delimiter, where)
        items = self.value(items, where)
        if not isinstance(items, list):
            items = [items]
        if any(not isinstance(x, str) for x in items):
            self.errors.append(f"{where}: Fn::Join of a list that is not a list of strings")
        return delimiter.join(_flat(items))

    def _fn_split(self, arg, where):
        delimiter, source = arg[0], self.value(arg[1], where)
        if not isinstance(source, str):
            self.errors.append(f"{where}: every Fn::Split object requires two parameters, (1) a string delimiter "
                               f"and (2) a string to be split (Fn::Split of a list: CloudFormation refuses the "
                               f"template)")
            return _flat(source)
        return source.split(delimiter)

    def _fn_select(self, arg, where):
        index, items = int(self.value(arg[0], where)), self.value(arg[1], where)
        if not isinstance(items, list) or not 0 <= index < len(items):
            self.errors.append(f"{where}: Fn::Select index {index} out of bounds (a stack error)")
            return ""
        return items[index]

    def _fn_if(self, arg, where):
        name, yes, no = arg
        return self.value(yes if self.condition(name) else no, where)

    # --- policies -----------------------------------------------------------------------------

    def policy_statements(self, policy_name: str, document, resource_policy: bool = False) -> list[Statement]:
        """A policy document's statements, resolved; a Resource that is not a string or a list of
        strings is a template error (IAM refuses it: MalformedPolicyDocument)."""
        doc = self.value(document, policy_name)
        for i, st in enumerate(doc.get("Statement", []) if isinstance(doc.get("Statement"), list) else []):
            for key in ("Resource", "NotResource", "Action", "NotAction"):
                v = st.get(key)
                if isinstance(v, list) and any(not isinstance(x, str) for x in v):
                    self.errors.append(f"{policy_name}#{i}: {key} holds a nested list (IAM takes a string or a list "
                                       f"of strings; CloudFormation passes a list parameter inside a list as is)")
                    st[key] = _flat(v)
        return statements(policy_name, doc, resource_policy)

    def roles(self) -> dict[str, list[Statement]]:
        """Identity-based statements of every IAM role: inline policies and managed policy ARNs."""
        out: dict[str, list[Statement]] = {}
        for logical, res in self.resources.items():
            if res["Type"] != "AWS::IAM::Role":
                continue
            props = res.get("Properties") or {}
            sts: list[Statement] = []
            for policy in self.value(props.get("Policies") or [], f"{logical}.Policies"):
                sts += self.policy_statements(f"{logical}/{policy['PolicyName']}", policy["PolicyDocument"])
            for arn in self.value(props.get("ManagedPolicyArns") or [], f"{logical}.ManagedPolicyArns"):
                if arn not in MANAGED_POLICIES:
                    raise Unsupported(f"{logical}: managed policy {arn} (add its documented content)")
                sts += self.policy_statements(f"{logical}/{arn.rsplit('/', 1)[-1]}", MANAGED_POLICIES[arn])
            out[logical] = sts
        return out

    def trust_policy(self, role_logical: str) -> list[Statement]:
        props = self.resource(role_logical).get("Properties") or {}
        return self.policy_statements(f"{role_logical}/AssumeRolePolicyDocument",
                                      props.get("AssumeRolePolicyDocument") or {}, resource_policy=True)

    def resource_policies(self) -> list[tuple[str, list[Statement]]]:
        """(resource ARN pattern, statements) of every resource-based policy: bucket policies,
        Lambda permissions, SNS topic policies and KMS key policies."""
        out: list[tuple[str, list[Statement]]] = []
        for logical, res in self.resources.items():
            t, props = res["Type"], res.get("Properties") or {}
            if t == "AWS::S3::BucketPolicy":
                bucket = self.value(props["Bucket"], f"{logical}.Bucket")
                sts = self.policy_statements(logical, props["PolicyDocument"], resource_policy=True)
                out.append((f"arn:{PARTITION}:s3:::{bucket}", sts))
                out.append((f"arn:{PARTITION}:s3:::{bucket}/*", sts))
            elif t == "AWS::Lambda::Permission":
                out.append(self._lambda_permission(logical, props))
            elif t == "AWS::SNS::TopicPolicy":
                sts = self.policy_statements(logical, props["PolicyDocument"], resource_policy=True)
                for topic in self.value(props["Topics"], f"{logical}.Topics"):
                    out.append((topic, sts))
            elif t == "AWS::KMS::Key":
                key = self.arn(logical)
                doc = self.value(props["KeyPolicy"], f"{logical}.KeyPolicy")
                # In a key policy, Resource "*" means this key (Key policies in AWS KMS).
                for st in doc.get("Statement", []):
                    if st.get("Resource") == "*":
                        st["Resource"] = key
                out.append((key, statements(logical, doc, resource_policy=True)))
        return out

    def _lambda_permission(self, logical: str, props: dict) -> tuple[str, list[Statement]]:
        """AWS::Lambda::Permission as the statement Lambda adds to the function's policy
        (AddPermission: Principal, SourceArn as ArnLike AWS:SourceArn, SourceAccount as
        StringEquals AWS:SourceAccount; https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html)."""
        p = self.value(props, logical)
        fn = p["FunctionName"]
        arn = fn if fn.startswith("arn:") else f"arn:{PARTITION}:lambda:{self.region}:{self.account}:function:{fn}"
        principal = p["Principal"]
        spec = {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal}
        condition: dict = {}
        if "SourceArn" in p:
            condition.setdefault("ArnLike", {})["AWS:SourceArn"] = p["SourceArn"]
        if "SourceAccount" in p:
            condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = p["SourceAccount"]
        unknown = set(p) - {"Action", "FunctionName", "Principal", "SourceArn", "SourceAccount"}
        if unknown:
            raise Unsupported(f"{logical}: Lambda permission field(s) {sorted(unknown)}")
        doc = {"Statement": [{"Effect": "Allow", "Principal": spec, "Action": p["Action"], "Resource": arn,
                              **({"Condition": condition} if condition else {})}]}
        return arn, statements(logical, doc, resource_policy=True)


def _flat(value) -> list:
    if isinstance(value, list):
        out = []
        for v in value:
            out += _flat(v) if isinstance(v, list) else [v]
        return out
    return value
