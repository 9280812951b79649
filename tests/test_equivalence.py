"""The fast engine reproduces the Mesa engine run for run (DESIGN §7)."""

import numpy as np
import pytest

from sim.batch import run_batch
from sim.model import run
from sim.outcomes import summarize, to_records
from sim.params import load_scenario
from tests.conftest import check_invariants, random_overrides

TOLERANCE = 1e-9


def compare(scenarios, seeds):
    """Mismatching runs as (seed, reason) between the engines."""
    batch = run_batch(scenarios, seeds, record_series=True)
    fast = to_records(batch.summary, batch.seeds)
    mismatches = []
    scenarios = scenarios if isinstance(scenarios, list) else [scenarios] * len(seeds)
    for i, seed in enumerate(seeds):
        reference = run(scenarios[i], seed=int(seed))
        if summarize(reference) != fast[i]:
            mismatches.append((seed, f"summary {summarize(reference)} != {fast[i]}"))
            continue
        same, where = reference.equal(batch.trajectories[i], TOLERANCE)
        if not same:
            mismatches.append((seed, where))
    return mismatches


@pytest.mark.parametrize("name", ["mikta", "mikta-formal", "generic-5", "ibsa"])
def test_fast_engine_equals_mesa_on_builtin_scenarios(name):
    assert compare(load_scenario(name), list(range(40))) == []


def test_fast_engine_equals_mesa_on_random_parameter_points():
    scenarios = [load_scenario("mikta", random_overrides(point), years=15)
                 for point in range(12) for _ in range(4)]
    seeds = [1000 + k for k in range(len(scenarios))]
    assert compare(scenarios, seeds) == []


def test_fast_engine_keeps_the_invariants():
    scenarios = [load_scenario("mikta", random_overrides(100 + k), years=20) for k in range(60)]
    batch = run_batch(scenarios, np.arange(60), record_series=True)
    for scenario, traj in zip(scenarios, batch.trajectories, strict=True):
        check_invariants(traj, scenario)
