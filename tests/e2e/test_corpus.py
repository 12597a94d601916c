"""The request corpus (tests/corpus) through the real workflow: every rejected file ends REJECTED
with its reason and nothing deleted; a sample of accepted files is erased with the expected counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import AppConfig, Stack, wait_for

pytestmark = pytest.mark.timeout(900)
CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
MAX_REQUEST_BYTES = 100_000
ACCEPTED_SAMPLE = ["bom-crlf-excel.csv", "quoted-comma.csv", "duplicates.csv", "unicode-ids.csv",
                   "cr-only.csv", "quoted-with-blanks.csv"]
SEEDED = ["u1", "u2", "u3", "ok", "ann@example.com", "José", "smith, john", "say \"hi\""]


@pytest.fixture
def deployed(env: Stack):
    dsg = env.dataset_group("corpus")
    app = env.pinpoint_app("corpus")
    env.deploy(AppConfig(dataset_group_arns=[dsg], application_ids=[app], max_request_bytes=MAX_REQUEST_BYTES))
    return env, dsg, app


def run_all(stack: Stack, uploads: dict[str, bytes]) -> dict[str, dict]:
    """Uploads every file at once and returns each key's receipt once every execution ended."""
    for key, body in uploads.items():
        stack.upload(key, body)
    wait_for("one execution per file", lambda: len(stack.executions()) >= len(uploads), timeout=120)
    sfn = stack.client("stepfunctions")
    wait_for("every execution to end",
             lambda: all(e["status"] != "RUNNING" for e in stack.executions()), timeout=600, interval=1)
    receipts = {}
    for e in stack.executions():
        out = json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        receipts[out["request"]["key"]] = stack.receipt(e["name"])
    return receipts


def test_every_rejected_file_is_rejected_with_its_reason_and_nothing_is_deleted(deployed):
    stack, dsg, app = deployed
    stack.seed_records(dsg, {u: 2 for u in SEEDED})
    stack.seed_endpoints(app, {u: 1 for u in SEEDED})
    rejected = [c for c in MANIFEST if c["verdict"] == "REJECTED"]
    uploads = {f"requests/corpus/{c['file']}": (CORPUS / c["file"]).read_bytes() for c in rejected}
    big = b"USER_ID\n" + b"".join(b"user-%07d\n" % i for i in range(10_000))
    assert len(big) > MAX_REQUEST_BYTES
    uploads["requests/corpus/too-large.csv"] = big
    expected = {f"requests/corpus/{c['file']}": c for c in rejected}
    expected["requests/corpus/too-large.csv"] = {"code": "TOO_LARGE"}

    receipts = run_all(stack, uploads)
    assert set(receipts) == set(uploads)
    wrong = []
    for key, r in receipts.items():
        want = expected[key]
        if r["outcome"] != "REJECTED" or r["request"].get("rejectionCode") != want["code"]:
            wrong.append(f"{key}: {r['outcome']} {r['request'].get('rejectionCode')} ({r.get('reason')})")
        elif "line" in want and f"first at line {want['line']}" not in r["reason"]:
            wrong.append(f"{key}: reason {r['reason']!r} does not name line {want['line']}")
        if r["personalize"]:
            wrong.append(f"{key}: a deletion job was made")
    assert not wrong, "\n".join(wrong)
    # Every reason the rules know appears at least once end to end.
    assert {r["request"]["rejectionCode"] for r in receipts.values()} == {
        "EMPTY", "NO_IDS", "WRONG_HEADER", "EXTRA_COLUMNS", "INVALID_UTF8", "UNTERMINATED_QUOTE", "BAD_ROWS", "TOO_LARGE"}
    problems = {r["request"]["rejections"][0]["problem"] for r in receipts.values() if r["request"].get("rejections")}
    assert problems == {"TOO_LONG", "EMPTY_AFTER_TRIM", "CONTROL_CHARACTER", "MALFORMED_QUOTING"}
    calls = stack.control("GET", "calls")
    assert not [c for c in calls if c["operation"] in ("CreateDataDeletionJob", "DeleteUserEndpoints")]
    assert stack.records(dsg) == {u: 2 for u in SEEDED}
    assert {u: len(v) for u, v in stack.endpoints(app).items()} == {u: 1 for u in SEEDED}
    listing = stack.client("s3").list_objects_v2(Bucket="erasure-requests", Prefix="work/")
    assert listing.get("KeyCount", 0) == 0


def test_a_sample_of_accepted_files_is_erased_with_the_expected_counts(deployed):
    stack, dsg, app = deployed
    cases = {c["file"]: c for c in MANIFEST}
    uploads = {f"requests/corpus/{f}": (CORPUS / f).read_bytes() for f in ACCEPTED_SAMPLE}
    # The users these files name (as the rules read them), plus bystanders who must stay.
    users = ["u1", "u2", "smith, john", "üser", "用户", "😀"]
    stack.seed_records(dsg, {**{u: 1 for u in users}, "bystander": 5})
    stack.seed_endpoints(app, {**{u: 1 for u in users}, "bystander": 2})

    receipts = run_all(stack, uploads)
    for key, r in receipts.items():
        want = cases[key.rsplit("/", 1)[1]]
        assert r["outcome"] == "COMPLETED", (key, r.get("reason"))
        assert r["request"]["validUsers"] == want["validUsers"], key
        if "duplicates" in want:
            assert r["request"]["duplicates"] == want["duplicates"], key
    assert stack.records(dsg) == {"bystander": 5}
    assert {u: len(v) for u, v in stack.endpoints(app).items()} == {"bystander": 2}
