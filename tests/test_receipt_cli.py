"""`erasure receipt` on the fixture receipts of tests/receipts (no emulation): each fixture is a
valid schema-3 receipt; the exit code follows the outcome; the markdown and HTML outputs have one
table per destination whose rows are the receipt's entries; HTML escapes every value; nothing
the receipt type does not know is echoed.

The binary is built with `cargo build -p erasure-cli` (into CARGO_TARGET_DIR when set), or taken
from ERASURE_BIN."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "receipts"
SCHEMA = ROOT / "shared" / "schema" / "receipt.v3.schema.json"
EXIT = {"COMPLETED": 0, "PLANNED": 3, "PARTIAL": 1, "FAILED": 1, "REJECTED": 1, "ABORTED": 1}


def reasons(r: dict | None) -> str:
    return "; ".join(f"{k}: {v:,}" for k, v in (r or {}).items()) or "-"


# Every table the command prints: its id (HTML) and heading (markdown), where its entries are in
# the receipt, and what each column must hold for an entry.
TABLES = {
    "rejections": ("Rejected rows", ("request", "rejections"), {
        "Line": lambda e: e["line"], "Problem": lambda e: e["problem"]}),
    "personalize": ("Personalize deletion jobs", ("personalize",), {
        "Dataset group": lambda e: e["datasetGroupArn"], "Part": lambda e: e["part"],
        "Users": lambda e: e["users"], "Status": lambda e: e["status"],
        "Records deleted": lambda e: e["numDeleted"],
        "Job": lambda e: e.get("jobName") or e.get("jobArn") or "not created",
        "Failure reason": lambda e: e["failureReason"]}),
    "personalizeModels": ("Personalize models (retraining)", ("personalizeModels",), {
        "Dataset group": lambda e: e["datasetGroupArn"], "Retrain": lambda e: e["retrainAfterDeletion"],
        "Status": lambda e: e["status"], "Event trackers": lambda e: len(e["eventTrackers"]),
        "Reason": lambda e: e.get("reason")}),
    "pinpoint": ("Pinpoint applications", ("pinpoint",), {
        "Application": lambda e: e["applicationId"], "Users": lambda e: e["usersProcessed"],
        "Endpoints deleted": lambda e: e["endpointsDeleted"],
        "Users without endpoints": lambda e: e["usersWithoutEndpoints"],
        "Failed users": lambda e: e["failedUsers"],
        "Failure reasons": lambda e: reasons(e.get("failureReasons")),
        "Unusable": lambda e: e.get("unusable")}),
    "customerProfiles": ("Customer Profiles domains", ("customerProfiles",), {
        "Domain": lambda e: e["domainName"], "Search key": lambda e: e["searchKey"] or None,
        "Users": lambda e: e["usersProcessed"], "Profiles deleted": lambda e: e["profilesDeleted"],
        "Users without profile": lambda e: e["usersWithoutProfile"],
        "Failed users": lambda e: e["failedUsers"], "Verified absent": lambda e: e["verifiedAbsent"],
        "Reappeared": lambda e: e.get("reappeared", 0),
        "Failure reasons": lambda e: reasons(e.get("failureReasons")),
        "Unusable": lambda e: e.get("unusable")}),
    "planPersonalize": ("Plan: Personalize dataset groups", ("plan", "personalize"), {
        "Dataset group": lambda e: e["datasetGroupArn"], "Deletion jobs": lambda e: e["deletionJobs"],
        "Users": lambda e: e["users"], "Retrain": lambda e: e["retrainAfterDeletion"],
        "Solutions": lambda e: len(e["solutions"]),
        "Campaigns": lambda e: sum(len(s["campaigns"]) for s in e["solutions"]),
        "Est. training hours": lambda e: e.get("estimatedTrainingHours"),
        "Error": lambda e: e.get("error")}),
    "planPinpoint": ("Plan: Pinpoint applications", ("plan", "pinpoint"), {
        "Application": lambda e: e["applicationId"], "Users checked": lambda e: e["usersChecked"],
        "Users with endpoints": lambda e: e["usersWithEndpoints"], "Endpoints": lambda e: e["endpoints"],
        "Users not checked": lambda e: e["usersNotChecked"],
        "Failure reasons": lambda e: reasons(e.get("failureReasons"))}),
    "planCustomerProfiles": ("Plan: Customer Profiles domains", ("plan", "customerProfiles"), {
        "Domain": lambda e: e["domainName"], "Search key": lambda e: e["searchKey"],
        "Users checked": lambda e: e["usersChecked"],
        "Users with profiles": lambda e: e["usersWithProfiles"], "Profiles": lambda e: e["profiles"],
        "Users not checked": lambda e: e["usersNotChecked"]}),
}


def entries(receipt: dict, path: tuple[str, ...]) -> list[dict]:
    v = receipt
    for p in path:
        v = v.get(p) or {}
    return v or []


def cell(value) -> str:
    """A receipt value as the command prints it: thousands separators, "-" for nothing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def expected_tables(receipt: dict) -> dict[str, list[dict]]:
    return {tid: entries(receipt, spec[1]) for tid, spec in TABLES.items() if entries(receipt, spec[1])}


def check_rows(tid: str, headers: list[str], rows: list[list[str]], want: list[dict]):
    columns = TABLES[tid][2]
    assert set(columns) <= set(headers), f"{tid}: columns {headers}"
    assert len(rows) == len(want), f"{tid}: {len(rows)} rows for {len(want)} entries"
    for row, entry in zip(rows, want):
        assert len(row) == len(headers), f"{tid}: {row}"
        got = dict(zip(headers, row))
        for name, value in columns.items():
            assert got[name] == cell(value(entry)), f"{tid} {name}: {got[name]!r} != {value(entry)!r}"


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


@pytest.fixture(scope="module")
def erasure() -> Path:
    given = os.environ.get("ERASURE_BIN")
    if given:
        return Path(given)
    if not shutil.which("cargo"):
        pytest.skip("cargo is not installed: build the erasure binary, or point ERASURE_BIN at one")
    out = subprocess.run(["cargo", "build", "-p", "erasure-cli", "--message-format=json-render-diagnostics"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, "cargo build -p erasure-cli failed:\n" + out.stderr[-4000:]
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "erasure" and msg.get("executable"):
            return Path(msg["executable"])
    pytest.fail("cargo built no erasure binary")


def run(erasure: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(erasure), "receipt", *args], capture_output=True, text=True, timeout=60)


def test_every_fixture_is_a_valid_schema_3_receipt_and_every_outcome_has_one():
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    seen = set()
    for path in fixtures():
        receipt = json.loads(path.read_text())
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(receipt)]
        assert not errors, f"{path.name}: " + "; ".join(errors)
        seen.add(receipt["outcome"])
    assert seen == set(schema["properties"]["outcome"]["enum"])


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_the_exit_code_follows_the_outcome(erasure, fmt):
    for path in fixtures():
        outcome = json.loads(path.read_text())["outcome"]
        out = run(erasure, str(path), "--format", fmt)
        assert out.returncode == EXIT[outcome], f"{path.name} ({outcome}) as {fmt}: {out.returncode} {out.stderr}"
        assert out.stdout and not out.stderr


def test_usage_and_unreadable_receipts_exit_2(erasure, tmp_path):
    out = run(erasure, "--help")
    assert out.returncode == 2
    assert "0: the outcome is COMPLETED; 3: PLANNED" in out.stderr
    not_json = tmp_path / "x.json"
    not_json.write_text("{\"hello\": 1}")
    for args in ([], [str(FIXTURES / "completed.json"), "--format", "pdf"],
                 [str(tmp_path / "missing.json")], [str(not_json)], ["s3://no-key"]):
        out = run(erasure, *args)
        assert out.returncode == 2, f"{args}: {out.returncode}"
        assert not out.stdout


def test_text_starts_with_the_summary(erasure):
    out = run(erasure, str(FIXTURES / "completed.json")).stdout
    paragraphs = out.split("\n\n")
    assert paragraphs[0].startswith("Erasure receipt: COMPLETED, requests/march.csv")
    summary = " ".join(paragraphs[1].split())
    assert summary.startswith(
        "500 users were erased on 2026-12-01 from 1 Personalize dataset group (1,500 records; models retrained at 12:02 UTC) "
        "and 1 Pinpoint application (998 endpoints; 1 user had none). Nothing failed.")


def test_a_partial_receipt_ends_with_the_retry_command(erasure):
    out = run(erasure, str(FIXTURES / "partial.json")).stdout
    next_step = out.split("What to do next:\n")[1].split("\n\n")[0]
    assert " ".join(next_step.split()).startswith(
        "3 users could not be erased from Pinpoint application 4b9c2e7f1a3d4c5b8e6f7a9b0c1d2e3f (access denied). "
        "Fix the access, then run: erasure retry --receipt "
        "s3://acme-erasure/receipts/erasure-5d4c3b2a19f8e7d6c5b4a39281706f5e.json ")
    # The command is on a line of its own, whole, to copy.
    assert "\n    erasure retry --receipt s3://acme-erasure/receipts/erasure-5d4c3b2a19f8e7d6c5b4a39281706f5e.json\n" in out


def markdown_tables(md: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each `## heading` followed by a GitHub table: its headers and rows, unescaped."""
    tables, heading, lines = {}, None, md.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            heading = re.sub(r"\\(.)", r"\1", lines[i][3:])
        if lines[i].startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = re.split(r"(?<!\\)\|", lines[i])[1:-1]
                block.append([re.sub(r"\\(.)", r"\1", c.strip()) for c in cells])
                i += 1
            assert heading not in tables, f"two tables under {heading}"
            assert all(set(c) <= set("-:") for c in block[1]), f"{heading}: no delimiter row"
            tables[heading] = (block[0], block[2:])
            continue
        i += 1
    return tables


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_markdown_has_one_table_per_destination_with_its_entries(erasure, path):
    receipt = json.loads(path.read_text())
    tables = markdown_tables(run(erasure, str(path), "--format", "markdown").stdout)
    want = expected_tables(receipt)
    assert set(tables) == {TABLES[t][0] for t in want}
    for tid, rows in want.items():
        headers, got = tables[TABLES[tid][0]]
        check_rows(tid, headers, got, rows)


class Tables(HTMLParser):
    """Every <table>: its id, its <th> headers and its rows of <td> text; and every start tag."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self.tags: list[str] = []
        self.text: list[str] = []
        self._table = None
        self._cell = None
        self._row = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self._table = dict(attrs).get("id")
            assert self._table not in self.tables, f"two tables with id {self._table}"
            self.tables[self._table] = ([], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            value = "".join(self._cell)
            headers, rows = self.tables[self._table]
            (headers if tag == "th" else self._row).append(value)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.tables[self._table][1].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_html(doc: str) -> Tables:
    p = Tables()
    p.feed(doc)
    p.close()
    return p


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_html_has_one_table_per_destination_with_its_entries(erasure, path):
    receipt = json.loads(path.read_text())
    doc = run(erasure, str(path), "--format", "html").stdout
    assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
    assert "<script" not in doc and "http://" not in doc and "https://" not in doc, "not self-contained"
    parsed = parse_html(doc)
    want = expected_tables(receipt)
    assert set(parsed.tables) == set(want)
    for tid, rows in want.items():
        headers, got = parsed.tables[tid]
        check_rows(tid, headers, got, rows)


def test_html_escapes_special_characters_in_every_value(erasure, tmp_path):
    receipt = json.loads((FIXTURES / "rejected.json").read_text())
    key = receipt["request"]["key"]
    assert key == 'requests/a<b>&"c".csv'
    doc = run(erasure, str(FIXTURES / "rejected.json"), "--format", "html").stdout
    assert "requests/a&lt;b&gt;&amp;&quot;c&quot;.csv" in doc
    assert "<b>" not in doc and 'a<b' not in doc
    parsed = parse_html(doc)
    assert "b" not in parsed.tags, "the key's <b> became an element"
    assert key in "".join(parsed.text), "the key does not read back as it is"
    # A value in a table cell, too: a Pinpoint application ID and failure reason with markup.
    partial = json.loads((FIXTURES / "partial.json").read_text())
    partial["pinpoint"][0]["applicationId"] = "<img src=x onerror=alert(1)>"
    partial["pinpoint"][0]["failureReasons"] = {"denied <script>": 3}
    path = tmp_path / "partial-markup.json"
    path.write_text(json.dumps(partial))
    doc = run(erasure, str(path), "--format", "html").stdout
    parsed = parse_html(doc)
    assert "img" not in parsed.tags and "script" not in parsed.tags
    headers, rows = parsed.tables["pinpoint"]
    check_rows("pinpoint", headers, rows, partial["pinpoint"])


def test_markdown_escapes_markup_in_values(erasure):
    md = run(erasure, str(FIXTURES / "rejected.json"), "--format", "markdown").stdout
    outside_code = re.sub(r"```.*?```", "", md, flags=re.S)
    assert "<b>" not in outside_code
    assert r'requests/a\<b\>\&"c".csv' in outside_code


def test_fields_the_receipt_type_does_not_know_are_never_printed(erasure, tmp_path):
    receipt = json.loads((FIXTURES / "partial.json").read_text())
    tainted = copy.deepcopy(receipt)
    tainted["userIds"] = ["fixture-user-0001"]
    tainted["request"]["sample"] = "fixture-user-0002"
    tainted["pinpoint"][0]["firstFailedUser"] = "fixture-user-0003"
    path = tmp_path / "tainted.json"
    path.write_text(json.dumps(tainted))
    for fmt in ("text", "markdown", "html"):
        out = run(erasure, str(path), "--format", fmt)
        assert out.returncode == 1
        assert "fixture-user-" not in out.stdout + out.stderr, fmt
