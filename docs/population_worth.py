"""What the population's groups are worth to their members, and whether they fall silent when
nothing but that worth keeps them active (docs/calibration.md, "Three levels", fourth round).

    python docs/population_worth.py POINT.json [POPULATION.toml] [GROUPS]

POINT.json holds dotted keys (a fit's calibrated point); POPULATION.toml defaults to the shipped
experiments/population-igo.toml; GROUPS (default 400, half of each stratum) is how many of its
groups the worth is read from. Exits by review and dissolution are off throughout, so that what a
group is worth decides alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from decay_criteria import POPULATION, population
from dissolution_profile import NO_REVIEW_EXITS, worth_at_term_starts

from sim.inference.population_draw import draw_population
from sim.inference.population_file import load_population
from sim.model.fast_engine import run_batch
from sim.model.scenario_files import with_overrides

DECIDED_BY_WORTH = {**NO_REVIEW_EXITS, "group.dissolve_terms": 0}
QUIET = {"no outside events": {"world.outside_event_rate": 0.0},
         "no standby engagement": {"group.standby": 0.0},
         "neither": {"world.outside_event_rate": 0.0, "group.standby": 0.0}}


def worth_over_groups(point: dict, file: Path, groups: int) -> None:
    """Per group, the median over 30 years of the members' mean staying value at chair terms'
    starts; its quantiles over the groups of each stratum."""
    drawn = draw_population(load_population(file))
    conditions = drawn.conditions
    for stratum in ("informal", "formal"):
        ids = conditions.index[conditions["stratum"] == stratum][:groups // 2]
        scenarios = [with_overrides(drawn.scenarios[i], {**point, **DECIDED_BY_WORTH}, years=30)
                     for i in ids]
        batch = run_batch(scenarios, list(range(len(scenarios))), also_record=("staying",))
        medians = [np.median(worth) if len(worth) else np.nan
                   for worth in map(worth_at_term_starts, batch.trajectories)]
        print(stratum, "groups' worth to their members, 5 / 25 / 50 / 75 / 95 %:",
              np.round(np.nanquantile(medians, [0.05, 0.25, 0.5, 0.75, 0.95]), 2), flush=True)


def silence(point: dict) -> None:
    """The shipped population's informal groups: deaths by cause and share alive at 30 years,
    as fitted and without what keeps a trickle of activity."""
    for label, extra in {"as fitted": {}, **QUIET}.items():
        found = population({**point, **DECIDED_BY_WORTH, **extra})
        print(label, "| informal deaths by cause", found["informal deaths by cause"],
              "| informal at 30 years", found["informal at 30 years"], flush=True)


if __name__ == "__main__":
    values = json.loads(Path(sys.argv[1]).read_text())
    file = Path(sys.argv[2]) if len(sys.argv) > 2 else POPULATION
    worth_over_groups(values, file, int(sys.argv[3]) if len(sys.argv) > 3 else 400)
    silence(values)
