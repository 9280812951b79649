"""The whole model against pinned runs: summaries and quarters of a few seeds, on both engines.

The pins (known_answers.json) were recorded from the model at tape version 7 (level-typed
activity, a new government's review, elections' outcomes and reshuffles, statements answering
outside events, scheduled summits, absorption by the rival bloc). A change of any
mechanism, default or draw moves them: such a change is deliberate, goes into docs/ODD.md, and
updates these pins in the same commit.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import MinilateralModel
from sim.model.outcomes import summarize
from sim.model.scenario_files import load_scenario
from sim.model.tape import TAPE_VERSION

PINS = json.loads((Path(__file__).parent / "known_answers.json").read_text(encoding="utf-8"))
RUNS = {(pin["scenario"], pin["seed"]): pin for pin in PINS["runs"]}


def test_pins_are_of_this_tape_version():
    assert PINS["tape_version"] == TAPE_VERSION == 7
    assert len(RUNS) == 4


@pytest.mark.parametrize("engine", ["mesa", "fast"])
@pytest.mark.parametrize(("scenario", "seed"), list(RUNS))
def test_pinned_runs(scenario, seed, engine):
    pin = RUNS[(scenario, seed)]
    if engine == "mesa":
        trajectory = MinilateralModel(scenario, seed).run()
    else:
        trajectory = run_batch(load_scenario(scenario), [seed],
                               record_series=True).trajectories[0]
    summary = summarize(trajectory)
    assert summary.pop("seed") == seed
    assert summary == pin["summary"]
    assert trajectory.outputs[:16].tolist() == pin["outputs"]
    np.testing.assert_allclose(trajectory.engagement[40], pin["engagement_40"], atol=1e-11)
    np.testing.assert_allclose(trajectory.budget[40], pin["budget_40"], atol=1e-11)


def pinned(scenario: str, seed: int) -> dict:
    """A pin as this file holds it, from a run of the Mesa engine."""
    trajectory = MinilateralModel(scenario, seed).run()
    summary = summarize(trajectory)
    summary.pop("seed")
    return {"scenario": scenario, "seed": seed, "summary": summary,
            "outputs": trajectory.outputs[:16].tolist(),
            "engagement_40": trajectory.engagement[40].tolist(),
            "budget_40": trajectory.budget[40].tolist()}


if __name__ == "__main__":  # python tests/test_known_answers.py: re-pin after a deliberate change
    PINS["runs"] = [pinned(scenario, seed) for scenario, seed in RUNS]
    (Path(__file__).parent / "known_answers.json").write_text(
        json.dumps(PINS, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
