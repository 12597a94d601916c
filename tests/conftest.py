"""Shared fixtures: one emulation for the whole session, reset before each end-to-end test.

When the session ends, every log line the functions and the emulation wrote is searched for
every user ID any test seeded (request files, endpoints, records), in the clear and
URL-encoded: a single hit fails the run.
"""

import urllib.parse

import pytest

from tests.harness import ROOT, Stack, build_functions

LOG_DIR = ROOT / ".emulation" / "logs"
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
    finally:
        s.stop()
    found = leaks(s.seeded)
    assert s.seeded, "no user IDs were seeded: the leak check would prove nothing"
    assert not found, "user IDs reached the logs:\n" + "\n".join(found[:20])
