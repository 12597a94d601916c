"""The bench's cost per million users (tests/bench): what it adds up and what it keeps apart.
Figures are synthetic; the bench measures the real ones. No timing is asserted."""

from __future__ import annotations

from tests.bench.__main__ import cost_per_million


def run(models_invocations: int) -> dict:
    fns = {name: {"seconds": 1.0, "invocations": 10} for name in
           ("start-erasure", "create-deletion-job", "check-deletion-job", "erase-pinpoint-endpoints",
            "finalize-erasure")}
    fns["personalize-models"] = {"seconds": 0.5, "invocations": models_invocations}
    return {"limit": 300, "users": 32_000, "lambda": fns, "transitions": 40, "s3_puts": 390, "s3_gets": 100}


def test_the_training_cost_is_a_separate_formula_and_the_models_step_is_counted():
    prep = {"users": 3_200_000, "prepare": {"seconds": 10.0}}
    with_models = cost_per_million(prep, [run(2)])
    without = cost_per_million(prep, [run(0)])
    # The models step's own invocations (its checks before and after the jobs) are in the total.
    assert with_models["invocations"] == without["invocations"] + 2
    assert with_models["lambda"] > without["lambda"]
    # Training is billed per training hour and does not grow with the users: never in the total,
    # always printed beside it as a formula.
    formula = with_models["training_formula"]
    assert "training hours" in formula and "trainingHours" in formula and "per request" in formula
    assert with_models["total"] == with_models["lambda"] + with_models["step_functions"] + with_models["s3"]


def test_the_table_prints_the_cost_and_the_training_formula_beside_it(monkeypatch):
    import tests.bench.__main__ as bench

    monkeypatch.setattr(bench, "rules_rows", lambda p: [])  # the rules rows are the bench's own
    prep = {"users": 3_200_000, "prepare": {"seconds": 10.0}}
    pinpoint = {**run(2), "achieved_rps": 290.0, "share_of_limit": 0.97, "throttled_share": 0.0,
                "users_lost": 0, "seconds": 110.0, "outcome": "COMPLETED"}
    results = {"rules": {}, "pinpoint": [pinpoint], "emulator": {"callsPerSecond": 900.0, "runs": [900.0]},
               "cold_start": {}, "cost": cost_per_million(prep, [pinpoint]),
               "machine": {"cpu": "cpu", "cores": 2, "memory_gb": 8, "os": "Linux", "rustc": "rustc"}}
    lines = bench.table(results).splitlines()
    [cost] = [line for line in lines if "Cost per 1M users" in line]
    assert "$" in cost
    assert any(line.startswith("Training cost (separate): ") and "training hours" in line for line in lines)
