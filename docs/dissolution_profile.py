"""Why the joint fit switches dissolution off (docs/calibration.md, "Three levels"): the members'
mean staying value at chair terms' starts in each case, and a profile of the decay criteria over
`dissolve_value` and `dissolve_terms` with exits by review off, both at one point.

    python docs/dissolution_profile.py POINT.json [RUNS]    # RUNS a scenario, default 100
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from decay_criteria import cases, population

from sim.model import group_rules, rules
from sim.model.fast_engine import run_batch
from sim.model.scenario_files import load_scenario

CASES = (("mikta", {}), ("generic-5", {}), ("generic-5", {"group.secretariat": True}),
         ("ibsa", {}), ("ibsa", {"world.rival_pull": 0.0}))
VALUES, TERMS = (0.2, 0.6, 1.0, 1.4), (1, 4, 10)
NO_REVIEW_EXITS = {"mechanisms.review": "as_used", "group.review_spread": 0.3}


def worth_at_term_starts(trajectory) -> np.ndarray:
    """A run's members' mean staying value at each chair term's start after the founding one
    (recorded with `also_record=("staying",)`)."""
    starts = np.flatnonzero(trajectory.upto("new_term"))
    starts = starts[starts > 0]
    active = trajectory.upto("status")[starts] == rules.ACTIVE
    return group_rules.mean_staying_value(trajectory.upto("staying")[starts], active)


def worth_quantiles(point: dict, runs: int) -> None:
    """The members' mean staying value at each chair term's start after the founding one."""
    for name, extra in CASES:
        batch = run_batch(load_scenario(name, {**point, **NO_REVIEW_EXITS, **extra}), range(runs),
                          also_record=("staying",))
        worth = [w for t in batch.trajectories for w in worth_at_term_starts(t)]
        print(name, extra or "", "mean staying value, 5 / 25 / 50 %:",
              np.round(np.quantile(worth, [0.05, 0.25, 0.5]), 2))


def profile(point: dict, runs: int) -> None:
    """docs/decay_criteria.py's figures over a grid of the dissolution's two values."""
    for value in VALUES:
        for terms in TERMS:
            values = {**point, **NO_REVIEW_EXITS, "group.dissolve_value": value,
                      "group.dissolve_terms": terms}
            c, p = cases(runs, values), population(values)
            print(value, terms, {k: round(v, 2) for k, v in c.items() if not isinstance(v, dict)},
                  "generic-5 dead", c["generic-5"]["dead"],
                  "formal at 30 y", p["formal at 30 years"],
                  "formal / informal deaths per 100 group-years, ages 1-10 / 21-30",
                  p["formal deaths per 100 group-years, ages 1-10 / 21-30"],
                  p["informal deaths per 100 group-years, ages 1-10 / 21-30"], flush=True)


if __name__ == "__main__":
    values = json.loads(Path(sys.argv[1]).read_text())
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    worth_quantiles(values, runs)
    profile(values, runs)
