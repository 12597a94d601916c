"""Amazon Personalize model resources, as the Personalize emulation (personalize.py) serves them.

What a complete erasure must look at around a data deletion job (issue 16): datasets and their
import and export jobs, solutions and their versions (training), campaigns (UpdateCampaign),
recommenders, batch inference and batch segment jobs, event trackers, and tags. Served over
awsJson1_1 with the shapes, status strings and errors of botocore's personalize model; everything
is seeded through the control API (`control`, routes under /_emulator/personalize/), nothing
through Create* calls but CreateSolutionVersion.

Time: like deletion jobs, every state is worked out from creation times whenever the state is
looked at (Personalize.advance, with the one lock held), transitions in time order together with
the deletion jobs' (so a training that starts after a job completed does not see its users):
- a solution version is CREATE PENDING for `training_pending_seconds`, CREATE IN_PROGRESS for
  `training_seconds`, then ACTIVE (trainingHours = `training_hours`) or CREATE FAILED with a
  failureReason (the solution was seeded with `fail`, or a `fail_training` fault rule stood when it
  was created). Entering CREATE IN_PROGRESS it records the user IDs its dataset group holds at that
  moment (`trainedOn`: shown by the control API only, never logged);
- an UpdateCampaign is CREATE PENDING for the first half of `campaign_update_seconds`, CREATE
  IN_PROGRESS for the second, then ACTIVE (the campaign now serves the new version) or CREATE
  FAILED (a `fail_campaign_update` fault rule);
- a campaign with campaignConfig.syncWithLatestSolutionVersion moves to each new version of its
  solution the moment that version becomes ACTIVE ("Whether the campaign automatically updates to
  use the latest solution version (trained model) of a solution", CampaignConfig,
  https://docs.aws.amazon.com/personalize/latest/dg/API_CampaignConfig.html);
- import, export and batch jobs seeded with `seconds` are CREATE IN_PROGRESS that long, then
  ACTIVE (or CREATE FAILED with the seeded `fail` reason).

Lists are newest first. A List call filtered by a parent the emulation does not know answers an
empty list, except ListSolutionVersions (its model lists ResourceNotFoundException).
"""

from __future__ import annotations

import secrets
import time
import uuid

from . import ACCOUNT
from .faults import ServiceError
from .personalize import NAME, _check_tags, _page  # personalize.py imports this module only when it runs

ARN_FIELDS = ("datasetGroupArn", "datasetArn", "solutionArn", "solutionVersionArn", "campaignArn",
              "recommenderArn", "eventTrackerArn", "datasetImportJobArn", "datasetExportJobArn",
              "batchInferenceJobArn", "batchSegmentJobArn")
TRAINING_MODES = ("FULL", "UPDATE", "AUTOTRAIN")
TRAINING = ("CREATE PENDING", "CREATE IN_PROGRESS")
DEFAULTS = {"training_pending_seconds": 1.0, "training_seconds": 2.0, "training_hours": 1.5,
            "campaign_update_seconds": 1.0}
DEFAULT_RECIPE = "arn:aws:personalize:::recipe/aws-user-personalization"
DEFAULT_RECOMMENDER_RECIPE = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/personalize-service"
# Operation -> (collection, the list's member name, the filter field, summary fields).
LISTS = {
    "ListDatasets": ("datasets", "datasets", "datasetGroupArn",
                     ("name", "datasetArn", "datasetType", "status", "creationDateTime", "lastUpdatedDateTime")),
    "ListDatasetImportJobs": ("imports", "datasetImportJobs", "datasetArn",
                              ("datasetImportJobArn", "jobName", "status", "creationDateTime",
                               "lastUpdatedDateTime", "failureReason", "importMode")),
    "ListDatasetExportJobs": ("exports", "datasetExportJobs", "datasetArn",
                              ("datasetExportJobArn", "jobName", "status", "creationDateTime",
                               "lastUpdatedDateTime", "failureReason")),
    "ListSolutions": ("solutions", "solutions", "datasetGroupArn",
                      ("name", "solutionArn", "status", "creationDateTime", "lastUpdatedDateTime", "recipeArn")),
    "ListSolutionVersions": ("versions", "solutionVersions", "solutionArn",
                             ("solutionVersionArn", "status", "trainingMode", "trainingType", "creationDateTime",
                              "lastUpdatedDateTime", "failureReason")),
    "ListCampaigns": ("campaigns", "campaigns", "solutionArn",
                      ("name", "campaignArn", "status", "creationDateTime", "lastUpdatedDateTime", "failureReason")),
    "ListRecommenders": ("recommenders", "recommenders", "datasetGroupArn",
                         ("name", "recommenderArn", "datasetGroupArn", "recipeArn", "status", "creationDateTime",
                          "lastUpdatedDateTime")),
    "ListBatchInferenceJobs": ("inference", "batchInferenceJobs", "solutionVersionArn",
                               ("batchInferenceJobArn", "jobName", "status", "creationDateTime", "lastUpdatedDateTime",
                                "failureReason", "solutionVersionArn", "batchInferenceJobMode")),
    "ListBatchSegmentJobs": ("segment", "batchSegmentJobs", "solutionVersionArn",
                             ("batchSegmentJobArn", "jobName", "status", "creationDateTime", "lastUpdatedDateTime",
                              "failureReason", "solutionVersionArn")),
    "ListEventTrackers": ("trackers", "eventTrackers", "datasetGroupArn",
                          ("name", "eventTrackerArn", "status", "creationDateTime", "lastUpdatedDateTime")),
}
# Operation -> (collection, the ARN field of the request, the answer's member name).
DESCRIBES = {
    "DescribeDataset": ("datasets", "datasetArn", "dataset"),
    "DescribeDatasetImportJob": ("imports", "datasetImportJobArn", "datasetImportJob"),
    "DescribeDatasetExportJob": ("exports", "datasetExportJobArn", "datasetExportJob"),
    "DescribeSolution": ("solutions", "solutionArn", "solution"),
    "DescribeSolutionVersion": ("versions", "solutionVersionArn", "solutionVersion"),
    "DescribeCampaign": ("campaigns", "campaignArn", "campaign"),
    "DescribeRecommender": ("recommenders", "recommenderArn", "recommender"),
    "DescribeBatchInferenceJob": ("inference", "batchInferenceJobArn", "batchInferenceJob"),
    "DescribeBatchSegmentJob": ("segment", "batchSegmentJobArn", "batchSegmentJob"),
    "DescribeEventTracker": ("trackers", "eventTrackerArn", "eventTracker"),
}
OTHERS = ("CreateSolutionVersion", "UpdateCampaign", "TagResource", "UntagResource", "ListTagsForResource")
OPERATIONS = frozenset(LISTS) | frozenset(DESCRIBES) | frozenset(OTHERS)
COUNTED = ("CreateSolutionVersion", "UpdateCampaign")
COLLECTIONS = ("datasets", "imports", "exports", "solutions", "versions", "campaigns", "recommenders",
               "inference", "segment", "trackers")


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else "us-east-1"


def _not_found(arn) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Could not find resource: {arn}")


def _public(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _location(value, what: str) -> str:
    if not isinstance(value, str) or len(value) > 256 or not value.split("://", 1)[0] in ("s3", "http", "https") \
            or "://" not in value or not value.split("://", 1)[1]:
        raise ValueError(f"{what} must be an s3:// location of at most 256 characters")
    return value


class Models:
    """The model resources of every dataset group of one Personalize emulation (its lock, its
    records, its fault rules)."""

    def __init__(self, personalize):
        self.p = personalize
        self.reset()

    # --- state -----------------------------------------------------------------------------

    def reset(self):
        self.cfg = dict(DEFAULTS)
        self.items: dict[str, dict[str, dict]] = {c: {} for c in COLLECTIONS}  # collection -> ARN -> item
        self.parents: dict[str, dict[str, str]] = {}  # ARN -> {"datasetGroupArn": .., "solutionArn": ..}
        self.tags: dict[str, dict[str, str]] = {}  # ARN -> {key: value}
        self.fail: dict[str, str] = {}  # solution ARN -> the reason every later training fails with
        self.counts: dict[str, dict[str, dict[str, int]]] = {}  # group -> calls|attempts -> op -> n

    def configure(self, cfg: dict) -> dict:
        with self.p.lock:
            for k in DEFAULTS:
                if cfg.get(k) is not None:
                    value = float(cfg[k])
                    if value < 0:
                        raise ValueError(f"{k} must not be negative")
                    self.cfg[k] = value
            return dict(self.cfg)

    def _add(self, collection: str, arn: str, item: dict, parents: dict[str, str]):
        self.items[collection][arn] = item
        self.parents[arn] = {k: v for k, v in parents.items() if v}

    def _get(self, collection: str, arn) -> dict:
        item = self.items[collection].get(arn) if isinstance(arn, str) else None
        if item is None:
            raise _not_found(arn)
        return item

    def _group(self, arn) -> dict:
        group = self.p.groups.get(arn) if isinstance(arn, str) else None
        if group is None:
            raise _not_found(arn)
        return group

    def _trained_on(self, group_arn: str) -> list[str]:
        """The user IDs the group holds now (unsorted: view() sorts; this runs under the lock)."""
        return [u for u, n in self.p.records.get(group_arn, {}).items() if n > 0]

    # --- seeding (control API) -------------------------------------------------------------

    def seed_dataset(self, group_arn: str, dataset_type: str) -> str:
        group = self._group(group_arn)
        if not isinstance(dataset_type, str) or not dataset_type.replace("_", "").isalpha():
            raise ValueError("datasetType must be letters and underscores, e.g. Interactions")
        arn = f"arn:aws:personalize:{_region(group_arn)}:{ACCOUNT}:dataset/{group['name']}/{dataset_type.upper()}"
        if arn not in self.items["datasets"]:
            now = time.time()
            name = f"{group['name']}-{dataset_type.lower().replace('_', '-')}"[:63]
            self._add("datasets", arn, {
                "name": name, "datasetArn": arn, "datasetGroupArn": group_arn, "datasetType": dataset_type,
                "schemaArn": f"arn:aws:personalize:{_region(group_arn)}:{ACCOUNT}:schema/{name}",
                "status": "ACTIVE", "creationDateTime": now, "lastUpdatedDateTime": now}, {"datasetGroupArn": group_arn})
        return arn

    def _seed_job(self, collection: str, kind: str, parent_field: str, parent_arn: str, seconds, fail,
                  fields: dict, name: str | None) -> str:
        parent_collection = "datasets" if parent_field == "datasetArn" else "versions"
        self._get(parent_collection, parent_arn)
        seconds = float(seconds or 0)
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        name = name or f"{kind.split('-')[0]}-{secrets.token_hex(4)}"
        arn = f"arn:aws:personalize:{_region(parent_arn)}:{ACCOUNT}:{kind}/{name}"
        if arn in self.items[collection]:
            raise ServiceError("ResourceAlreadyExistsException", f"{arn} already exists.")
        now = time.time()
        job = {"jobName": name, f"{_ARN_FIELD[collection]}": arn, parent_field: parent_arn, **fields,
               "status": "CREATE IN_PROGRESS", "creationDateTime": now, "lastUpdatedDateTime": now,
               "_ends": now + seconds, "_fail": str(fail) if fail else None}
        if collection in ("inference", "segment"):
            # Import and export jobs leave their (optional) roleArn out: botocore's model gives it the
            # shape Arn, whose pattern only a Personalize ARN matches, never the IAM role AWS returns.
            job["roleArn"] = ROLE
        self._add(collection, arn, job, {parent_field: parent_arn, **self.parents[parent_arn]})
        if seconds == 0:
            self._end_job(job)
        return arn

    def seed_import_job(self, dataset_arn, location, seconds=0, fail=None, name=None) -> str:
        return self._seed_job("imports", "dataset-import-job", "datasetArn", dataset_arn, seconds, fail,
                              {"dataSource": {"dataLocation": _location(location, "dataLocation")},
                               "importMode": "FULL", "publishAttributionMetricsToS3": False}, name)

    def seed_export_job(self, dataset_arn, path, seconds=0, fail=None, name=None) -> str:
        return self._seed_job("exports", "dataset-export-job", "datasetArn", dataset_arn, seconds, fail,
                              {"ingestionMode": "BULK",
                               "jobOutput": {"s3DataDestination": {"path": _location(path, "path")}}}, name)

    def seed_batch_job(self, collection, version_arn, input_path, output_path, seconds=0, fail=None, name=None):
        kind = "batch-inference-job" if collection == "inference" else "batch-segment-job"
        fields = {"jobInput": {"s3DataSource": {"path": _location(input_path, "input")}},
                  "jobOutput": {"s3DataDestination": {"path": _location(output_path, "output")}}}
        if collection == "inference":
            fields["batchInferenceJobMode"] = "BATCH_INFERENCE"
        return self._seed_job(collection, kind, "solutionVersionArn", version_arn, seconds, fail, fields, name)

    def seed_solution(self, group_arn: str, name: str, fail=None, recipe_arn=None,
                      auto_training: bool = False) -> tuple[str, str]:
        self._group(group_arn)
        if not isinstance(name, str) or not (1 <= len(name) <= 63) or not name[0].isalnum() \
                or not all(c.isalnum() or c in "-_" for c in name) or not name.isascii():
            raise ValueError("name must match ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*, 1-63 characters")
        arn = f"arn:aws:personalize:{_region(group_arn)}:{ACCOUNT}:solution/{name}"
        if arn in self.items["solutions"]:
            raise ServiceError("ResourceAlreadyExistsException", f"Solution {arn} already exists.")
        now = time.time()
        self._add("solutions", arn, {
            "name": name, "solutionArn": arn, "performHPO": False, "performAutoML": False,
            "performAutoTraining": bool(auto_training), "recipeArn": recipe_arn or DEFAULT_RECIPE,
            "datasetGroupArn": group_arn, "status": "ACTIVE", "creationDateTime": now, "lastUpdatedDateTime": now},
            {"datasetGroupArn": group_arn})
        if fail:
            self.fail[arn] = str(fail)
        version = self._new_version(arn, "FULL", None, now, failure=None)
        version.update(status="ACTIVE", trainingHours=self.cfg["training_hours"], _trainedOn=self._trained_on(group_arn))
        return arn, version["solutionVersionArn"]

    def seed_campaign(self, version_arn: str, name: str, sync: bool = False, tps: int = 1) -> str:
        version = self._get("versions", version_arn)
        if version["status"] != "ACTIVE":
            raise ServiceError("InvalidInputException", f"Solution version {version_arn} is not ACTIVE.")
        arn = f"arn:aws:personalize:{_region(version_arn)}:{ACCOUNT}:campaign/{name}"
        if arn in self.items["campaigns"]:
            raise ServiceError("ResourceAlreadyExistsException", f"Campaign {arn} already exists.")
        now = time.time()
        self._add("campaigns", arn, {
            "name": name, "campaignArn": arn, "solutionVersionArn": version_arn, "minProvisionedTPS": int(tps),
            "campaignConfig": {"syncWithLatestSolutionVersion": bool(sync)}, "status": "ACTIVE",
            "creationDateTime": now, "lastUpdatedDateTime": now, "_solutionArn": version["solutionArn"]},
            {"solutionArn": version["solutionArn"], "datasetGroupArn": version["datasetGroupArn"]})
        return arn

    def seed_recommender(self, group_arn: str, name: str, recipe_arn=None) -> str:
        self._group(group_arn)
        arn = f"arn:aws:personalize:{_region(group_arn)}:{ACCOUNT}:recommender/{name}"
        if arn in self.items["recommenders"]:
            raise ServiceError("ResourceAlreadyExistsException", f"Recommender {arn} already exists.")
        now = time.time()
        self._add("recommenders", arn, {
            "name": name, "recommenderArn": arn, "datasetGroupArn": group_arn,
            "recipeArn": recipe_arn or DEFAULT_RECOMMENDER_RECIPE, "status": "ACTIVE",
            "creationDateTime": now, "lastUpdatedDateTime": now}, {"datasetGroupArn": group_arn})
        return arn

    def seed_event_tracker(self, group_arn: str, name: str) -> str:
        self._group(group_arn)
        arn = f"arn:aws:personalize:{_region(group_arn)}:{ACCOUNT}:event-tracker/{secrets.token_hex(4)}"
        now = time.time()
        self._add("trackers", arn, {
            "name": name, "eventTrackerArn": arn, "accountId": ACCOUNT, "trackingId": str(uuid.uuid4()),
            "datasetGroupArn": group_arn, "status": "ACTIVE", "creationDateTime": now, "lastUpdatedDateTime": now},
            {"datasetGroupArn": group_arn})
        return arn

    def view(self, group_arn: str) -> dict:
        """What GET /_emulator/personalize/models shows of one dataset group (raw user IDs
        included: the tests' own view; nothing else may show or log them)."""
        self._group(group_arn)
        solutions = []
        for s in self._in("solutions", group_arn, "datasetGroupArn", newest_first=False):
            versions = [{"solutionVersionArn": v["solutionVersionArn"], "status": v["status"],
                         "trainingMode": v["trainingMode"], "tags": dict(self.tags.get(v["solutionVersionArn"], {})),
                         "trainedOn": None if v.get("_trainedOn") is None else sorted(v["_trainedOn"]),
                         "creationDateTime": v["creationDateTime"],
                         "lastUpdatedDateTime": v["lastUpdatedDateTime"],
                         **{k: v[k] for k in ("trainingHours", "failureReason") if k in v}}
                        for v in self._in("versions", s["solutionArn"], "solutionArn", newest_first=False)]
            campaigns = [{"campaignArn": c["campaignArn"], "name": c["name"], "solutionVersionArn": c["solutionVersionArn"],
                          "syncWithLatestSolutionVersion": c["campaignConfig"].get("syncWithLatestSolutionVersion", False),
                          "latestCampaignUpdate": c.get("latestCampaignUpdate")}
                         for c in self._in("campaigns", s["solutionArn"], "_solutionArn", newest_first=False)]
            solutions.append({"solutionArn": s["solutionArn"], "name": s["name"], "versions": versions,
                              "campaigns": campaigns})
        recommenders = [_public(r) for r in self._in("recommenders", group_arn, "datasetGroupArn", newest_first=False)]
        counts = self.counts.get(group_arn, {})
        return {"solutions": solutions, "recommenders": recommenders,
                "calls": {op: counts.get("calls", {}).get(op, 0) for op in COUNTED},
                "attempts": {op: counts.get("attempts", {}).get(op, 0) for op in COUNTED}}

    def _in(self, collection: str, parent, field: str, newest_first: bool = True) -> list[dict]:
        items = [i for i in self.items[collection].values() if parent is None or i.get(field) == parent]
        return items[::-1] if newest_first else items

    # --- control routes --------------------------------------------------------------------

    def control(self, post: bool, route: str, query: dict, body: dict):
        """(status, answer) of a control route under /_emulator/personalize/, or None if not one of these."""
        with self.p.lock:
            self.p.advance()
            if route == "models/config":
                return 200, (self.configure(body) if post else dict(self.cfg))
            if route == "models" and not post:
                return 200, self.view(query["datasetGroupArn"])
            if not post:
                return None
            if route == "datasets":
                return 200, {"datasetArn": self.seed_dataset(body["datasetGroupArn"], body["datasetType"])}
            if route == "import-jobs":
                return 200, {"datasetImportJobArn": self.seed_import_job(
                    body["datasetArn"], body["dataLocation"], body.get("seconds", 0), body.get("fail"), body.get("name"))}
            if route == "export-jobs":
                return 200, {"datasetExportJobArn": self.seed_export_job(
                    body["datasetArn"], body["path"], body.get("seconds", 0), body.get("fail"), body.get("name"))}
            if route == "solutions":
                solution, version = self.seed_solution(body["datasetGroupArn"], body["name"], body.get("fail"),
                                                       body.get("recipeArn"), bool(body.get("performAutoTraining")))
                return 200, {"solutionArn": solution, "solutionVersionArn": version}
            if route == "campaigns":
                return 200, {"campaignArn": self.seed_campaign(body["solutionVersionArn"], body["name"],
                                                               bool(body.get("syncWithLatestSolutionVersion", False)),
                                                               int(body.get("minProvisionedTPS", 1)))}
            if route == "recommenders":
                return 200, {"recommenderArn": self.seed_recommender(body["datasetGroupArn"], body["name"],
                                                                     body.get("recipeArn"))}
            if route in ("batch-inference-jobs", "batch-segment-jobs"):
                collection = "inference" if route == "batch-inference-jobs" else "segment"
                arn = self.seed_batch_job(collection, body["solutionVersionArn"], body["input"], body["output"],
                                          body.get("seconds", 0), body.get("fail"), body.get("name"))
                return 200, {("batchInferenceJobArn" if collection == "inference" else "batchSegmentJobArn"): arn}
            if route == "event-trackers":
                return 200, {"eventTrackerArn": self.seed_event_tracker(body["datasetGroupArn"], body["name"])}
        return None

    # --- the wire API ----------------------------------------------------------------------

    def attrs(self, body: dict) -> dict:
        """What a fault rule may match and the call log shows: the request's ARNs and their parents'."""
        attrs: dict[str, str] = {}
        with self.p.lock:
            for field in ARN_FIELDS + ("resourceArn",):
                arn = body.get(field)
                if not isinstance(arn, str):
                    continue
                attrs[field] = arn
                for k, v in self.parents.get(arn, {}).items():
                    attrs.setdefault(k, v)
                if field == "resourceArn":
                    for collection, items in self.items.items():
                        if arn in items:
                            attrs.setdefault(_ARN_FIELD[collection], arn)
        return attrs

    def count(self, operation: str, attrs: dict, ok: bool):
        group = attrs.get("datasetGroupArn")
        if operation in COUNTED and group:
            with self.p.lock:
                counts = self.counts.setdefault(group, {"calls": {}, "attempts": {}})
                for kind in ("attempts", "calls") if ok else ("attempts",):
                    counts[kind][operation] = counts[kind].get(operation, 0) + 1

    def handle(self, operation: str, body: dict, region: str) -> dict:
        """One call (the lock held, the clock advanced)."""
        if operation in LISTS:
            return self._list(operation, body)
        if operation in DESCRIBES:
            collection, field, member = DESCRIBES[operation]
            arn = body.get(field)
            if not isinstance(arn, str) or not arn:
                raise ServiceError("InvalidInputException", f"Missing required parameter: {field}")
            return {member: self._describe(collection, self._get(collection, arn))}
        return getattr(self, "op_" + operation)(body, region)

    def _list(self, operation: str, body: dict) -> dict:
        collection, member, field, keys = LISTS[operation]
        parent = body.get(field)
        if parent is not None and not isinstance(parent, str):
            raise ServiceError("InvalidInputException", f"{field} must be a string")
        if operation == "ListSolutionVersions" and parent is not None:
            self._get("solutions", parent)
        held_as = "_solutionArn" if collection == "campaigns" else field  # a campaign shows its version only
        page, token = _page(self._in(collection, parent, held_as), body, operation)
        out = {member: [{k: i[k] for k in keys if k in i} for i in page]}
        if token:
            out["nextToken"] = token
        return out

    def _describe(self, collection: str, item: dict) -> dict:
        out = _public(item)
        if collection == "solutions":
            versions = self._in("versions", item["solutionArn"], "solutionArn")
            if versions:
                v = versions[0]
                out["latestSolutionVersion"] = {k: v[k] for k in (
                    "solutionVersionArn", "status", "trainingMode", "trainingType", "creationDateTime",
                    "lastUpdatedDateTime", "failureReason") if k in v}
        return out

    def op_CreateSolutionVersion(self, body, region):
        solution_arn = body.get("solutionArn")
        if not isinstance(solution_arn, str) or not solution_arn:
            raise ServiceError("InvalidInputException", "Missing required parameter: solutionArn")
        mode = body.get("trainingMode", "FULL")
        if mode not in TRAINING_MODES:
            raise ServiceError("InvalidInputException", f"trainingMode must be one of {', '.join(TRAINING_MODES)}")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 63 or not NAME.match(name)):
            raise ServiceError("InvalidInputException", "name must match ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*, 1-63 characters")
        _check_tags(body.get("tags"))
        solution = self._get("solutions", solution_arn)
        versions = self._in("versions", solution_arn, "solutionArn")
        busy = [v for v in versions if v["status"] in TRAINING]
        if busy:
            raise ServiceError("ResourceInUseException",
                               f"Solution {solution_arn} already has a solution version in {busy[0]['status']}: "
                               f"{busy[0]['solutionVersionArn']}.")
        if mode == "UPDATE" and not any(v["status"] == "ACTIVE" and v["trainingMode"] == "FULL" for v in versions):
            raise ServiceError("InvalidInputException",
                               "trainingMode UPDATE needs an ACTIVE solution version trained with FULL.")
        failure = self.fail.get(solution_arn) or self.p.faults.outcome_failure(
            "fail_training", {"solutionArn": solution_arn, "datasetGroupArn": solution["datasetGroupArn"]})
        version = self._new_version(solution_arn, mode, name, time.time(), failure)
        arn = version["solutionVersionArn"]
        if body.get("tags"):
            self.tags[arn] = {t["tagKey"]: t["tagValue"] for t in body["tags"]}
        return {"solutionVersionArn": arn}

    def _new_version(self, solution_arn: str, mode: str, name, now: float, failure) -> dict:
        solution = self.items["solutions"][solution_arn]
        while True:
            arn = f"{solution_arn}/{secrets.token_hex(4)}"
            if arn not in self.items["versions"]:
                break
        starts = now + self.cfg["training_pending_seconds"]
        version = {"solutionVersionArn": arn, "solutionArn": solution_arn, "performHPO": False,
                   "performAutoML": False, "recipeArn": solution["recipeArn"],
                   "datasetGroupArn": solution["datasetGroupArn"], "trainingMode": mode, "trainingType": "MANUAL",
                   "status": "CREATE PENDING", "creationDateTime": now, "lastUpdatedDateTime": now,
                   "_starts": starts, "_ends": starts + self.cfg["training_seconds"],
                   "_hours": self.cfg["training_hours"], "_fail": failure}
        if name:
            version["name"] = name
        self._add("versions", arn, version, {"solutionArn": solution_arn,
                                             "datasetGroupArn": solution["datasetGroupArn"]})
        return version

    def op_UpdateCampaign(self, body, region):
        arn = body.get("campaignArn")
        if not isinstance(arn, str) or not arn:
            raise ServiceError("InvalidInputException", "Missing required parameter: campaignArn")
        tps = body.get("minProvisionedTPS")
        if tps is not None and (isinstance(tps, bool) or not isinstance(tps, int) or tps < 1):
            raise ServiceError("InvalidInputException", "minProvisionedTPS must be an integer of at least 1")
        config = body.get("campaignConfig")
        if config is not None and not isinstance(config, dict):
            raise ServiceError("InvalidInputException", "campaignConfig must be an object")
        campaign = self._get("campaigns", arn)
        update = campaign.get("latestCampaignUpdate")
        if update and update["status"] in TRAINING:
            raise ServiceError("ResourceInUseException", f"Campaign {arn} has an update in {update['status']}.")
        config = dict(campaign["campaignConfig"] if config is None else config)
        sync = bool(config.get("syncWithLatestSolutionVersion"))
        solution_arn = campaign["_solutionArn"]
        target = body.get("solutionVersionArn")
        if target is None:
            target = campaign["solutionVersionArn"]
        elif target == f"{solution_arn}/$LATEST":
            # UpdateCampaign: "specify the Amazon Resource Name (ARN) of your solution in
            # SolutionArn/$LATEST format" with syncWithLatestSolutionVersion true
            # (https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateCampaign.html).
            if not sync:
                raise ServiceError("InvalidInputException",
                                   "SolutionArn/$LATEST needs campaignConfig.syncWithLatestSolutionVersion true.")
            active = [v for v in self._in("versions", solution_arn, "solutionArn") if v["status"] == "ACTIVE"]
            target = active[0]["solutionVersionArn"] if active else campaign["solutionVersionArn"]
        else:
            if not isinstance(target, str):
                raise ServiceError("InvalidInputException", "solutionVersionArn must be a string")
            if sync:
                raise ServiceError("InvalidInputException", "With syncWithLatestSolutionVersion true, "
                                   "solutionVersionArn must be in SolutionArn/$LATEST format.")
            version = self._get("versions", target)
            if version["status"] != "ACTIVE":
                raise ServiceError("InvalidInputException",
                                   f"Solution version {target} is {version['status']}, not ACTIVE.")
            if version["solutionArn"] != solution_arn:
                raise ServiceError("InvalidInputException",
                                   f"Solution version {target} is not a version of the campaign's solution.")
        now = time.time()
        half = self.cfg["campaign_update_seconds"] / 2
        campaign["latestCampaignUpdate"] = {
            "solutionVersionArn": target, "minProvisionedTPS": tps if tps is not None else campaign["minProvisionedTPS"],
            "campaignConfig": config, "status": "CREATE PENDING", "creationDateTime": now, "lastUpdatedDateTime": now}
        campaign["_update"] = {"starts": now + half, "ends": now + 2 * half,
                               "fail": self.p.faults.outcome_failure("fail_campaign_update", {
                                   "campaignArn": arn, "solutionArn": solution_arn,
                                   "datasetGroupArn": self.parents[arn].get("datasetGroupArn")})}
        return {"campaignArn": arn}

    def _tagged(self, arn) -> str:
        if not isinstance(arn, str) or not arn:
            raise ServiceError("InvalidInputException", "Missing required parameter: resourceArn")
        if arn in self.p.groups or any(arn in items for items in self.items.values()):
            return arn
        raise _not_found(arn)

    def op_TagResource(self, body, region):
        arn = self._tagged(body.get("resourceArn"))
        tags = body.get("tags")
        if not isinstance(tags, list):
            raise ServiceError("InvalidInputException", "Missing required parameter: tags")
        _check_tags(tags)
        merged = {**self.tags.get(arn, {}), **{t["tagKey"]: t["tagValue"] for t in tags}}
        if len(merged) > 200:
            raise ServiceError("TooManyTagsException", "A resource can have at most 200 tags.")
        self.tags[arn] = merged
        return {}

    def op_UntagResource(self, body, region):
        arn = self._tagged(body.get("resourceArn"))
        keys = body.get("tagKeys")
        if not isinstance(keys, list):
            raise ServiceError("InvalidInputException", "Missing required parameter: tagKeys")
        for k in keys:
            self.tags.get(arn, {}).pop(k, None)
        return {}

    def op_ListTagsForResource(self, body, region):
        arn = self._tagged(body.get("resourceArn"))
        return {"tags": [{"tagKey": k, "tagValue": v} for k, v in self.tags.get(arn, {}).items()]}

    # --- time ------------------------------------------------------------------------------

    def due(self, now: float) -> list[tuple[float, int, object]]:
        """The transitions due by `now`: (time, order at equal times, action). Personalize.advance
        runs them in time order with the deletion jobs' (order 0 there)."""
        events = []
        for v in self.items["versions"].values():
            if v["status"] == "CREATE PENDING" and now >= v["_starts"]:
                events.append((v["_starts"], 1, lambda v=v: self._start_training(v)))
            if v["status"] in TRAINING and now >= v["_ends"]:
                events.append((v["_ends"], 2, lambda v=v: self._end_training(v)))
        for c in self.items["campaigns"].values():
            update = c.get("_update")
            if not update:
                continue
            if now >= update["starts"]:
                events.append((update["starts"], 3, lambda c=c: self._start_update(c)))
            if now >= update["ends"]:
                events.append((update["ends"], 4, lambda c=c: self._end_update(c)))
        for collection in ("imports", "exports", "inference", "segment"):
            for job in self.items[collection].values():
                if job["status"] == "CREATE IN_PROGRESS" and now >= job["_ends"]:
                    events.append((job["_ends"], 5, lambda j=job: self._end_job(j)))
        return events

    def _start_training(self, v: dict):
        if v["status"] == "CREATE PENDING":
            v["status"], v["lastUpdatedDateTime"] = "CREATE IN_PROGRESS", v["_starts"]
            v["_trainedOn"] = self._trained_on(v["datasetGroupArn"])

    def _end_training(self, v: dict):
        if v["status"] not in TRAINING:
            return
        self._start_training(v)
        v["lastUpdatedDateTime"] = v["_ends"]
        if v["_fail"]:
            v["status"], v["failureReason"] = "CREATE FAILED", v["_fail"]
            return
        v["status"], v["trainingHours"] = "ACTIVE", v["_hours"]
        for c in self.items["campaigns"].values():
            if c["_solutionArn"] == v["solutionArn"] and c["campaignConfig"].get("syncWithLatestSolutionVersion"):
                c["solutionVersionArn"], c["lastUpdatedDateTime"] = v["solutionVersionArn"], v["_ends"]

    def _start_update(self, c: dict):
        update = c["latestCampaignUpdate"]
        if update["status"] == "CREATE PENDING":
            update["status"], update["lastUpdatedDateTime"] = "CREATE IN_PROGRESS", c["_update"]["starts"]

    def _end_update(self, c: dict):
        self._start_update(c)
        plan, update = c.pop("_update"), c["latestCampaignUpdate"]
        update["lastUpdatedDateTime"] = plan["ends"]
        if plan["fail"]:
            update["status"], update["failureReason"] = "CREATE FAILED", plan["fail"]
            return
        update["status"] = "ACTIVE"
        c.update(solutionVersionArn=update["solutionVersionArn"], minProvisionedTPS=update["minProvisionedTPS"],
                 campaignConfig=dict(update["campaignConfig"]), lastUpdatedDateTime=plan["ends"])

    def _end_job(self, job: dict):
        if job["status"] != "CREATE IN_PROGRESS":
            return
        job["lastUpdatedDateTime"] = job["_ends"]
        if job["_fail"]:
            job["status"], job["failureReason"] = "CREATE FAILED", job["_fail"]
        else:
            job["status"] = "ACTIVE"


# collection -> the ARN member of its items
_ARN_FIELD = {"datasets": "datasetArn", "imports": "datasetImportJobArn", "exports": "datasetExportJobArn",
              "solutions": "solutionArn", "versions": "solutionVersionArn", "campaigns": "campaignArn",
              "recommenders": "recommenderArn", "inference": "batchInferenceJobArn",
              "segment": "batchSegmentJobArn", "trackers": "eventTrackerArn"}
