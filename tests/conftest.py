"""Shared fixtures: one emulation for the whole session (`stack`), reset before each test that uses
it (`env`, `emulation`). Shared helpers of the end-to-end tests are in tests/helpers.py, those of
the emulation's own tests in tests/emulation_tests/.

When the session ends, every log line the functions and the emulation wrote is searched for
every user ID any test seeded (request files, endpoints, records), in the clear and
URL-encoded: a single hit fails the run. So does any Personalize or Pinpoint exchange of the
session that broke AWS's published API models (tests/emulation/wire.py), and any request the
product (the Rust SDK) sent that the models reject, and any AWS call a function, the state
machine or the Personalize role made that the transformed template's policies would refuse
(tests/iam).
"""

import json
import os
import urllib.parse
from pathlib import Path

import pytest

from tests.harness import ROOT, Stack, build_functions
from tests.helpers import fresh

# EMULATION_LOG_DIR: another folder, so that two test sessions at once do not share (and clear) logs.
LOG_DIR = Path(os.environ.get("EMULATION_LOG_DIR") or ROOT / ".emulation" / "logs")
# IDs this short are also ordinary words and numbers in logs (e.g. "a", "42"); every test that
# erases seeds longer ones too.
MIN_CHECKED_LENGTH = 6


def leaks(seeded: set[str], log_dir=LOG_DIR) -> list[str]:
    forms = {}
    for uid in seeded:
        if len(uid) < MIN_CHECKED_LENGTH:
            continue
        for form in {uid, urllib.parse.quote(uid, safe=""), urllib.parse.quote_plus(uid)}:
            forms[form] = uid
    found = []
    for path in sorted(log_dir.glob("*.log")):
        text = path.read_text(errors="replace")
        for form in forms:
            if form in text:
                line = next(n for n, l in enumerate(text.splitlines(), 1) if form in l)
                found.append(f"{path.name}:{line}: a seeded user ID (length {len(form)})")
    return found


def iam_check(batches):
    """Every AWS call the session's workflows made, judged against the transformed template's
    policies (tests/iam): a code path without its grant fails the run wherever it ran."""
    if not batches:
        return
    from tests.iam.report import evaluate

    # A call a test made to see it refused (Stack.upload_as(..., expect_refused=True)) passes when
    # refused and fails the run when allowed; every other call must be allowed.
    findings = evaluate(batches)
    problems = findings.refused + findings.unexpectedly_allowed + findings.unattributed + findings.sar_problems
    assert not problems, "AWS would refuse calls the session made (tests/iam):\n" + "\n".join(problems[:40])


@pytest.fixture(scope="session")
def stack():
    build_functions()
    # This run's logs only: the leak check reads them all at the end.
    for old in LOG_DIR.glob("*.log"):
        old.unlink()
    s = Stack(log_dir=LOG_DIR)
    s.start()
    try:
        yield s
        wire = s.control("GET", "wire?scope=all")  # every exchange since the start: tests reset
        s.keep_principal_calls()  # the last test's calls (earlier ones were kept at each reset)
    finally:
        s.stop()
    found = leaks(s.seeded)
    assert s.seeded, "no user IDs were seeded: the leak check would prove nothing"
    assert not found, "user IDs reached the logs:\n" + "\n".join(found[:20])
    assert not wire["violation_count"], (f"{wire['violation_count']} exchanges broke AWS's API models:\n"
                                    + "\n".join(map(json.dumps, wire["violations"][:20])))
    iam_check(s.principal_batches)
    product = [json.dumps(r) for r in wire["rejected"] if r["client"] == "aws-sdk-rust"]
    assert not wire["rejected_by_client"].get("aws-sdk-rust"), (
        "the Rust SDK (the product) sent requests AWS's API models reject:\n" + "\n".join(product[:20]))


@pytest.fixture
def emulation(stack: Stack) -> Stack:
    """The session's emulation, reset (which also clears the wire tally since the last reset)."""
    stack.reset()
    return stack


@pytest.fixture
def env(stack: Stack) -> Stack:
    """The session's emulation, reset, with Personalize deletion jobs that take a second per status."""
    fresh(stack)
    return stack
