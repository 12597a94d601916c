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
