"""Fixtures of the emulation's own tests: one emulation for the session, its Lambda invocations
answered by a stand-in for `cargo lambda watch` (helpers.FakeLambdas), reset before each test."""

from __future__ import annotations

import pytest

from tests.emulation_tests.helpers import Emu, FakeLambdas, start_emulator, stop_emulator


@pytest.fixture(scope="session")
def lambdas():
    fake = FakeLambdas()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="session")
def emulator(lambdas, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("emulator") / "emulator.log"
    proc, url, log = start_emulator(lambdas.url, log_path)
    lambdas.emulator_url = url
    yield Emu(url, lambdas, log_path)
    assert stop_emulator(proc, log) == 0


@pytest.fixture
def emu(emulator):
    emulator.ctl("POST", "reset")
    emulator.ctl("POST", "personalize/config", {"pending_seconds": 0.5, "in_progress_seconds": 0.5})
    emulator.lambdas.reset()
    return emulator
