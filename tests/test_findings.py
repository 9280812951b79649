"""Reports open with findings written from the results: known answers."""

import numpy as np
import pandas as pd

from sim.inference.statistics import holm
from sim.reporting.findings import experiment_findings

SECRETARIAT, TREND = "group.secretariat", "members.*.budget_trend"
# How findings name the two factors: their meaning (sim/model/params.py), the key in brackets.
SEC = "a dedicated staffed secretariat [group.secretariat]"
TRD = ("per-year drift of the log budget for the group, every member, the whole run "
       "[members.*.budget_trend]")


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
    assert sentences[0].startswith("After 30 years, the share of runs alive ranges over the 6 "
                                   "design points from 0.0% (a dedicated staffed secretariat = "
                                   "false, per-year drift of the log budget for the group, every "
                                   "member, the whole run = -0.06) to 100.0%")
    assert "Over all" not in text, "a share pooled over a grid depends on the grid"
    assert (f"{SEC} from false to true moves the alive share most with {TRD} = -0.03: 60.0% → "
            "100.0% (+40.0 points, 95 % CI +30.4 to +49.6; paired by replicate), the years "
            "before a first zombie quarter or death by +8.00") in text
    assert "and the years spent as a zombie by -8.00 (-9.80 to -6.20)" in text
    assert (f"{TRD} from -0.06 to 0.0 moves the alive share most with {SEC} = false: 0.0% → "
            "100.0% (+100.0 points") in text
    assert (f"Along {TRD} with {SEC} = false, most runs end zombie at -0.06 (100.0%) and alive "
            "at -0.03 (60.0%): the most common outcome changes between these levels.") in text
    assert sentences[-1].startswith(f"Runs end zombie or dead mostly where {TRD} ≤ -0.045: the "
                                    "rule covers 81.0% of the zombie or dead runs, and 85.0% of "
                                    "the runs under it")
    assert "not monotone" not in text  # every share moves one way along the trend
    assert 3 <= len(sentences) <= 6


def test_a_factor_that_changes_nothing_is_said_to_be_too_small_to_tell():
    runs = synthetic_runs(40)
    runs = pd.concat([runs.assign(**{"group.treaty": False}),
                      runs.assign(**{"group.treaty": True},
                                  point_id=runs["point_id"] + 6)], ignore_index=True)
    keys = [SECRETARIAT, TREND, "group.treaty"]
    sentences = experiment_findings(runs, keys, keys, 120, paired=True, design="grid",
                                    fmt=lambda v: str(v).lower())
    assert any(s.startswith("Too small to tell from zero: a founding treaty that makes leaving "
                            "costly [group.treaty] (largest change 0.0 points)")
               for s in sentences)


def test_a_share_that_turns_back_along_a_factor_is_said_and_explained_by_revivals():
    """Alive 60 % at -0.06, 20 % at -0.03, 100 % at 0: the runs at -0.06 lapse as often but
    revive, so the report says the share is not monotone, and why."""
    rows = []
    for point, (trend, alive, revivals) in enumerate(((-0.06, 0.6, 2), (-0.03, 0.2, 0),
                                                      (0.0, 1.0, 0))):
        for r in range(100):
            lapsed = trend < 0
            rows.append({"point_id": point, "replicate": r, TREND: trend,
                         "outcome": "alive" if r < alive * 100 else "zombie",
                         "death_quarter": np.nan,
                         "first_zombie_quarter": 40.0 if lapsed else np.nan,
                         "zombie_quarters": 20 if lapsed else 0,
                         "revivals": revivals if r < alive * 100 and lapsed else 0,
                         "total_outputs": 100, "exits": 0, "rival_joins": 0})
    runs = pd.DataFrame(rows)
    text = "\n".join(experiment_findings(runs, [TREND], [TREND], 120, paired=True,
                                          design="grid", fmt=lambda v: f"{v:g}"))
    assert (f"The alive share at the horizon is not monotone in {TRD}: 60.0% at -0.06, 20.0% "
            "at -0.03, 100.0% at 0.") in text
    assert "a run revives 1.20 at -0.06, 0.00 at -0.03, 0.00 at 0 times on average" in text
    assert "more years in which to revive" in text


def test_holm_adjusts_a_family_step_down():
    adjusted = holm([0.01, 0.04, 0.03, np.nan, 0.005])
    assert np.allclose(adjusted[[4, 0, 2, 1]], [0.02, 0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])


def test_every_parameter_key_is_named_by_its_declared_meaning():
    import dataclasses

    from sim.model.params import GroupParams, MemberParams, WorldParams
    from sim.reporting.labels import key_label, meaning

    for section, cls in (("group", GroupParams), ("world", WorldParams),
                         ("members.*", MemberParams)):
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            said = meaning(key)
            assert said and said != key and "(M" not in said, (key, said)
            assert key_label(key) == f"{said} [{key}]"
    assert key_label("group.secretariat@2027Q1") == (
        "a dedicated staffed secretariat, from 2027Q1 [group.secretariat@2027Q1]")
    assert key_label("not.a.key") == "not.a.key"
