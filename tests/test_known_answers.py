"""The whole model against pinned runs: summaries and quarters of a few seeds, on both engines.

The pins were recorded from the model at tape version 1. A change of any mechanism, default or
draw moves them: such a change is deliberate, goes into docs/ODD.md, and updates these pins in
the same commit.
"""

import numpy as np
import pytest

from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import MinilateralModel
from sim.model.outcomes import summarize
from sim.model.params import load_scenario
from sim.model.tape import TAPE_VERSION

PINS = {
    ("mikta", 1): dict(
        summary={"outcome": "alive", "death_quarter": None, "death_cause": None,
                 "first_zombie_quarter": 7, "zombie_quarters": 6, "revivals": 2, "exits": 0,
                 "vacancies": 0, "total_outputs": 344, "rival_joins": 0},
        outputs=[0, 2, 2, 0, 1, 1, 1, 1, 5, 2, 3, 5, 1, 1, 4, 4],
        engagement_40=[0.799403163877, 0.565372712112, 0.77949550998, 0.657832826697,
                       0.682647917838],
        budget_40=[1.132718457835, 1.101172849589, 0.543756849496, 0.996595574617,
                   0.521445984028]),
    ("mikta", 2): dict(
        summary={"outcome": "zombie", "death_quarter": None, "death_cause": None,
                 "first_zombie_quarter": 7, "zombie_quarters": 20, "revivals": 4, "exits": 0,
                 "vacancies": 0, "total_outputs": 218, "rival_joins": 1},
        outputs=[0, 0, 0, 1, 0, 1, 1, 2, 1, 2, 1, 4, 3, 2, 5, 2],
        engagement_40=[0.411393840609, 0.487324911398, 0.523614756914, 0.575496993302,
                       0.52788883991],
        budget_40=[1.120033299583, 0.962369978988, 0.505781370423, 1.147488613994,
                   0.46256685324]),
    ("ibsa", 5): dict(
        summary={"outcome": "dead", "death_quarter": 40, "death_cause": "vacancy",
                 "first_zombie_quarter": 7, "zombie_quarters": 33, "revivals": 0, "exits": 0,
                 "vacancies": 2, "total_outputs": 12, "rival_joins": 3},
        outputs=[2, 0, 0, 4, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0],
        engagement_40=[0.100209656553, 0.074398505054, 0.061098595221],
        budget_40=[0.964817554451, 1.112178313908, 1.092089257793]),
    ("generic-5", 3): dict(
        summary={"outcome": "zombie", "death_quarter": None, "death_cause": None,
                 "first_zombie_quarter": 76, "zombie_quarters": 43, "revivals": 1, "exits": 0,
                 "vacancies": 0, "total_outputs": 230, "rival_joins": 0},
        outputs=[0, 3, 3, 2, 3, 7, 5, 8, 4, 3, 2, 6, 2, 2, 4, 5],
        engagement_40=[0.617581255109, 0.528560376107, 0.753663459783, 0.667629182831,
                       0.695278647627],
        budget_40=[1.061511344882, 0.999930931297, 0.899551462469, 1.10512183524,
                   0.985905983366]),
}


def test_pins_are_of_this_tape_version():
    assert TAPE_VERSION == 1


@pytest.mark.parametrize("engine", ["mesa", "fast"])
@pytest.mark.parametrize(("scenario", "seed"), list(PINS))
def test_pinned_runs(scenario, seed, engine):
    pin = PINS[(scenario, seed)]
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
