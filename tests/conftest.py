"""Shared fixtures: one emulation for the whole session, reset before each end-to-end test."""

import pytest

from tests.harness import ROOT, Stack, build_functions


@pytest.fixture(scope="session")
def stack():
    build_functions()
    s = Stack(log_dir=ROOT / ".emulation" / "logs")
    s.start()
    try:
        yield s
    finally:
        s.stop()
