"""Reports open with findings written from the results: known answers."""

import numpy as np
import pandas as pd

from sim.inference.statistics import holm
from sim.reporting.findings import experiment_findings

SECRETARIAT, TREND = "group.secretariat", "members.*.budget_trend"


def synthetic_runs(replicates: int = 100) -> pd.DataFrame:
    """A grid whose outcomes are set by hand: without a secretariat every run is a zombie at a
    trend of -0.06, 60 % alive at -0.03 and all alive at 0; with one, 30 % alive at -0.06 and
    all alive otherwise. The treaty-like factor `group.treaty` changes nothing."""
    rows = []
    point = 0
    for secretariat in (False, True):
        for trend in (-0.06, -0.03, 0.0):
            alive = {(False, -0.06): 0.0, (False, -0.03): 0.6, (False, 0.0): 1.0,
                     (True, -0.06): 0.3}.get((secretariat, trend), 1.0)
            for r in range(replicates):
                is_alive = r < alive * replicates
                rows.append({"point_id": point, "replicate": r, SECRETARIAT: secretariat,
                             TREND: trend, "outcome": "alive" if is_alive else "zombie",
                             "death_quarter": np.nan,
                             "first_zombie_quarter": np.nan if is_alive else 40.0,
                             "zombie_quarters": 0 if is_alive else 80, "total_outputs": 100,
                             "exits": 0, "rival_joins": 0})
            point += 1
    return pd.DataFrame(rows)


def test_the_findings_of_a_known_grid_name_each_factor_its_effect_and_the_crossing():
    runs = synthetic_runs()
    sentences = experiment_findings(runs, [SECRETARIAT, TREND], [SECRETARIAT, TREND], 120,
                                    paired=True, design="grid",
                                    fmt=lambda v: str(v).lower())
    text = "\n".join(sentences)
    assert sentences[0].startswith("Over all 600 runs (6 design points), after 30 years: "
                                   "65.0% alive (61.1% to 68.7%)")
    assert ("`group.secretariat` from false to true moves the alive share most with "
            "`members.*.budget_trend` = -0.03: 60.0% → 100.0% (+40.0 points, 95 % CI +30.4 to "
            "+49.6; paired by replicate), the years before a first zombie quarter or death by "
            "+8.00") in text
    assert "and the years spent as a zombie by -8.00 (-9.80 to -6.20)" in text
    assert ("`members.*.budget_trend` from -0.06 to 0.0 moves the alive share most with "
            "`group.secretariat` = false: 0.0% → 100.0% (+100.0 points") in text
    assert ("Along `members.*.budget_trend` with `group.secretariat` = false, most runs end "
            "zombie at -0.06 (100.0%) and alive at -0.03 (60.0%): the most common outcome "
            "changes between these levels.") in text
    assert sentences[-1].startswith("Runs end zombie or dead mostly where "
                                    "`members.*.budget_trend` ≤ -0.045: the rule covers 81.0% "
                                    "of the zombie or dead runs, and 85.0% of the runs under it")
    assert 3 <= len(sentences) <= 6


def test_a_factor_that_changes_nothing_is_said_to_be_too_small_to_tell():
    runs = synthetic_runs(40)
    runs = pd.concat([runs.assign(**{"group.treaty": False}),
                      runs.assign(**{"group.treaty": True},
                                  point_id=runs["point_id"] + 6)], ignore_index=True)
    keys = [SECRETARIAT, TREND, "group.treaty"]
    sentences = experiment_findings(runs, keys, keys, 120, paired=True, design="grid",
                                    fmt=lambda v: str(v).lower())
    assert any(s.startswith("Too small to tell from zero: `group.treaty` (largest change "
                            "0.0 points)") for s in sentences)


def test_holm_adjusts_a_family_step_down():
    adjusted = holm([0.01, 0.04, 0.03, np.nan, 0.005])
    assert np.allclose(adjusted[[4, 0, 2, 1]], [0.02, 0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])
