"""Claims over a posterior: shares of parameter sets holding, mixed effects, and the rule."""

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.experiments.posterior import PosteriorSets, draw_sets
from sim.inference.claims import load_claims
from sim.inference.robustness import (
    COLUMNS,
    CONDITIONAL,
    FAILS,
    ROBUST,
    mixed_effect,
    run_robustness,
    set_effects,
    verdict_of_share,
)
from sim.reporting.claims_report import _set_runs as set_runs

# Fixing the base rate at 3 lowers a run's outputs exactly where the set's own base rate is above
# 3, and raises them where it is below: the effect holds in the sets with base_rate > 3.
CLAIMS = """\
[claims]
equivalence.alive = 0.02
equivalence.zombie = 0.02
equivalence.dead = 0.02
equivalence.active_years = 0.5
equivalence.years_to_death = 0.5
equivalence.zombie_years = 0.25
equivalence.total_outputs = 5.0
equivalence.exits = 0.05
equivalence.rival_joins = 0.05
name = "synthetic"
scenario = "mikta"
years = 10
replicates = {replicates}
seed = 11

[[claim]]
id = 1
title = "A base rate of 3 lowers outputs"
  [[claim.contrast]]
  name = "base rate fixed at 3"
  treatment = {{ "group.base_rate" = 3.0 }}
  expect = {{ total_outputs = "lower" }}
"""


def synthetic(tmp_path, sets: int = 40, replicates: int = 60):
    rng = np.random.default_rng(4)
    low = rng.uniform(1.0, 2.3, sets // 2)
    high = rng.uniform(3.8, 5.5, sets - sets // 2)
    frame = pd.DataFrame({"group.base_rate": np.concatenate([low, high]),
                          "group.standby": rng.uniform(0.0, 0.3, sets),  # irrelevant
                          "weight": 1.0})
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    frame.to_parquet(calibration / "posterior.parquet")
    path = tmp_path / "claims.toml"
    path.write_text(CLAIMS.format(replicates=replicates))
    return path, calibration, frame


def test_a_synthetic_claim_recovers_the_share_and_the_rule(tmp_path):
    path, calibration, _ = synthetic(tmp_path)
    suite = load_claims(path)
    base = suite.claims[0].contrasts[0].baseline
    result = run_robustness(suite, draw_sets(calibration, 40, suite.seed, base), workers=2)
    row = result.table.iloc[0]
    drawn = result.sets["group.base_rate"].to_numpy()
    expected_share = float((drawn > 3.0).mean())
    assert 0.2 < expected_share < 0.8  # drawn with replacement, both sides present
    assert row["share_holding"] == pytest.approx(expected_share)
    assert row["verdict"] == CONDITIONAL
    per_set = result.per_set
    assert (per_set["holds"].to_numpy() == (drawn > 3.0)).all()
    rule = result.rules.iloc[0]
    assert rule["rule"].startswith("group.base_rate >")
    threshold = float(rule["rule"].split(">")[1])
    assert 2.3 < threshold < 3.8
    assert rule["coverage"] == pytest.approx(1.0) and rule["density"] == pytest.approx(1.0)
    assert "holds when group.base_rate >" in rule["sentence"]
    assert result.runs == 2 * 40 * 60


# Sets far below and above a base rate of 3 move outputs one way or the other at once; a set at
# exactly 3 gives the same runs in both arms, whose interval (0 to 0) never leaves zero.
SEQUENTIAL_RATES = [1.0, 3.0, 5.5, 3.0, 1.2]


def sequential(tmp_path, text: str, rates=SEQUENTIAL_RATES):
    path = tmp_path / "claims.toml"
    path.write_text(text)
    return load_claims(path), PosteriorSets.of_rows("test", "", ["group.base_rate"],
                                                    [[r] for r in rates], range(len(rates)))


def test_a_set_undecided_at_a_look_gets_more_runs_and_a_decided_one_does_not(tmp_path):
    text = CLAIMS.format(replicates=60).replace("seed = 11", "seed = 11\n"
                                                "robustness_replicates = 20")
    suite, sets = sequential(tmp_path, text)
    result = run_robustness(suite, sets, workers=1)
    per_set = result.per_set.set_index("posterior_set")
    # the sets at 3 are undecided at every look: 20, 40, then the cap of 60
    assert per_set["runs"].tolist() == [20, 60, 20, 60, 20]
    assert per_set["holds"].tolist() == [False, False, True, False, False]
    assert per_set.loc[2, "high"] < 0 < per_set.loc[0, "low"]  # predicted, then opposite
    assert result.runs == 2 * (3 * 20 + 2 * 60)
    # each set's runs are the first seeds of the fixed design: the same numbers
    fixed = {n: run_robustness(dataclasses.replace(suite, replicates=n,
                                                   robustness_replicates=0), sets)
             .per_set.set_index("posterior_set") for n in (20, 60)}
    for s, n in enumerate(per_set["runs"]):
        assert per_set.loc[s, ["effect", "low", "high"]].tolist() == \
            fixed[n].loc[s, ["effect", "low", "high"]].tolist()
    assert set_runs(suite).startswith("20 paired runs per arm and set, and 20 more at a time "
                                      "while a set is undecided")


def test_an_arm_shared_by_two_contrasts_gives_each_the_numbers_it_gives_alone(tmp_path):
    text = CLAIMS.format(replicates=60).replace("seed = 11", "seed = 11\n"
                                                "robustness_replicates = 20") + """
[[claim]]
id = 2
title = "More ministers' turnover lowers outputs"
  [[claim.contrast]]
  name = "turnover doubled"
  treatment = { "members.*.reshuffle_rate" = 0.9 }
  expect = { total_outputs = "lower" }
"""
    suite, sets = sequential(tmp_path, text)
    both = run_robustness(suite, sets, workers=2)
    runs = []
    for claim in suite.claims:
        alone = run_robustness(dataclasses.replace(suite, claims=(claim,)), sets)
        mine = both.per_set[both.per_set["claim"] == claim.id].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.per_set)
        runs.append(alone.per_set["runs"].to_numpy())
    assert not (runs[0] == runs[1]).all()  # the contrasts stop at different looks
    # each set's baseline runs once, as far as the contrast that wants more of it
    assert both.runs == int((np.maximum(*runs) + runs[0] + runs[1]).sum())


def test_the_command_writes_robustness_csv_and_the_report_section(tmp_path):
    path, calibration, _ = synthetic(tmp_path, sets=20, replicates=20)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "claims", str(path), "--posterior",
                           str(calibration), "--sets", "20", "--out", str(out), "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "robustness.csv")
    assert list(table.columns) == COLUMNS and table["sets"].iloc[0] == 20
    per_set = pd.read_csv(out / "robustness_sets.csv")
    assert len(per_set) == 20 and "group.base_rate" in per_set.columns
    report = (out / "report.md").read_text()
    assert "Across the posterior" in report and "holds when group.base_rate >" in report


def test_a_bad_posterior_is_refused_before_anything_is_written(tmp_path):
    path, calibration, frame = synthetic(tmp_path)
    frame.drop(columns="weight").to_parquet(calibration / "posterior.parquet")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "claims", str(path), "--posterior",
                           str(calibration), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "weight" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_verdict_thresholds_and_the_mixed_interval():
    assert verdict_of_share(0.9) == ROBUST and verdict_of_share(0.89) == CONDITIONAL
    assert verdict_of_share(0.1) == CONDITIONAL and verdict_of_share(0.09) == FAILS
    rng = np.random.default_rng(0)
    # sets whose true effects spread from -1 to 3: the mixed effect is their mean, 1, and its
    # interval is far wider than the seed noise within a set alone would give
    truth = np.linspace(-1, 3, 50)
    baseline = rng.normal(0, 1, (50, 400))
    treatment = baseline + truth[:, None] + rng.normal(0, 0.1, (50, 400))
    effects = set_effects(baseline, treatment, 0.95)
    assert np.allclose(effects["effect"], truth, atol=0.03)
    effect, low, high = mixed_effect(effects, 0.95, seed=1)
    assert effect == pytest.approx(1.0, abs=0.02)
    assert low < 0.8 and high > 1.2 and low < effect < high


def test_assumed_or_found_tells_a_sign_fixed_by_form_from_one_the_parameters_decide(tmp_path):
    from sim.inference.robustness import FINDING, FORM, assumed_or_found

    path, calibration, _ = synthetic(tmp_path, sets=30, replicates=40)
    text = path.read_text() + """
[[claim]]
id = 2
title = "A base rate of 6 raises outputs"
decided_by = "M8 activity"
  [[claim.contrast]]
  name = "base rate fixed at 6"
  treatment = { "group.base_rate" = 6.0 }
  expect = { total_outputs = "higher" }
"""
    path.write_text(text)
    suite = load_claims(path)
    base = suite.claims[0].contrasts[0].baseline
    over = run_robustness(suite, draw_sets(calibration, 30, suite.seed, base), workers=2)
    found = assumed_or_found(suite, over).set_index("claim")
    # fixing the base rate at 3 lowers outputs above 3 and raises them below: a finding
    assert found.loc[1, "assumed_or_found"] == FINDING
    assert found.loc[1, "condition"].startswith("conditional on group.base_rate >")
    assert found.loc[1, "share_opposite"] > 0.2
    # every set's base rate is below 6, so raising it to 6 can only raise outputs: form
    assert found.loc[2, "assumed_or_found"] == FORM and found.loc[2, "share_opposite"] == 0
    assert found.loc[2, "decided_by"] == "M8 activity"


def test_the_command_spreads_sets_over_a_calibrations_priors(tmp_path):
    path, _, _ = synthetic(tmp_path, sets=10, replicates=10)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "claims", str(path), "--prior",
                           "experiments/joint-calibration.toml", "--sets", "12", "--out",
                           str(out), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = pd.read_csv(out / "assumed_or_found.csv")
    assert found["prior_sets"].iloc[0] == 12 and found["assumed_or_found"].iloc[0] in (
        "follows from the model's form", "a finding", "found in no set")
    sets = pd.read_csv(out / "prior_sets.csv")
    # the sets spread over the priors: base rates across its range [1, 6], 12 distinct
    rates = sets.drop_duplicates("posterior_set")["group.base_rate"]
    assert rates.nunique() == 12 and rates.min() >= 1.0 and rates.max() <= 6.0
    assert rates.max() - rates.min() > 3.0
    assert "Assumed or found" in (out / "report.md").read_text()


# Faster-growing dues drain the budgets only where dues grow with the secretariat's age
# (mechanisms.dues = "growing"); under the other forms both arms are the same runs.
DUES = """\
[claims]
equivalence.alive = 0.02
equivalence.zombie = 0.02
equivalence.dead = 0.02
equivalence.active_years = 0.5
equivalence.years_to_death = 0.5
equivalence.zombie_years = 0.25
equivalence.total_outputs = 5.0
equivalence.exits = 0.05
equivalence.rival_joins = 0.05
name = "dues"
scenario = "mikta"
years = 12
replicates = 30
seed = 5

[[claim]]
id = 1
title = "Dues growing fast lower outputs"
  [[claim.contrast]]
  name = "dues growth 0.3 a year"
  baseline = { "group.secretariat" = true }
  treatment = { "group.secretariat" = true, "group.secretariat_dues_growth" = 0.3 }
  expect = { total_outputs = "lower" }

[variants]
"mechanisms.dues" = ["full", "growing"]
"mechanisms.agenda_cost" = ["per_area"]
"""


def test_prior_sets_cross_the_variants_and_the_rule_names_the_form(tmp_path):
    from sim.inference.robustness import FORM, assumed_or_found, prior_sets, where_it_holds

    path = tmp_path / "claims.toml"
    path.write_text(DUES)
    suite = load_claims(path)
    base = suite.claims[0].contrasts[0].baseline
    spread = prior_sets("experiments/joint-calibration.toml", 24, suite.seed, base,
                        suite.variants)
    sets = spread.frame()
    # every form of each named mechanism in equal numbers of sets, the scenario's own included
    assert sets["mechanisms.dues"].value_counts().to_dict() == {"capped": 8, "full": 8,
                                                                "growing": 8}
    assert sets["mechanisms.agenda_cost"].value_counts().to_dict() == {"workload": 12,
                                                                       "per_area": 12}
    assert spread.overrides(0)["mechanisms.dues"] in ("capped", "full", "growing")
    over = run_robustness(suite, spread, workers=2)
    per_set = over.per_set.merge(over.sets, on="posterior_set")
    growing = (per_set["mechanisms.dues"] == "growing").to_numpy()
    assert (per_set.loc[~growing, "effect"] == 0).all()  # the same runs in both arms
    assert per_set.loc[growing, "holds"].all()
    rule = where_it_holds(over.sets, per_set["holds"].to_numpy(),
                          [c for c in over.sets.columns if c not in ("posterior_set", "row")])
    assert rule["rule"] == "mechanisms.dues = growing" and rule["coverage"] == 1.0
    found = assumed_or_found(suite, over).iloc[0]
    # never opposite under any form: the mechanism moves it one way only
    assert found["assumed_or_found"] == FORM and found["opposite_under"] == ""


def test_an_effect_opposite_under_one_form_is_a_finding_on_that_form():
    from sim.inference.robustness import FINDING, RobustnessResult, assumed_or_found

    suite = load_claims_text(CLAIMS.format(replicates=10))
    n = 60
    form = np.array(["workload", "per_area"] * (n // 2), dtype=object)
    effect = np.where(form == "per_area", 0.5, -0.5)  # lower predicted: opposite under per_area
    sets = pd.DataFrame({"posterior_set": np.arange(n), "row": np.arange(n),
                         "group.standby": np.linspace(0, 0.3, n),
                         "mechanisms.agenda_cost": form})
    per_set = pd.DataFrame({"claim": 1, "contrast": "base rate fixed at 3",
                            "metric": "total_outputs", "posterior_set": np.arange(n),
                            "effect": effect, "low": effect - 0.1, "high": effect + 0.1,
                            "holds": effect + 0.1 < 0, "predicted_sign": effect < 0})
    result = RobustnessResult(pd.DataFrame(), per_set, sets, pd.DataFrame(), 0, 0.0)
    found = assumed_or_found(suite, result).iloc[0]
    assert found["assumed_or_found"] == FINDING
    assert found["opposite_under"] == "mechanisms.agenda_cost = per_area (100% of 30)"
    assert found["condition"] == "conditional on mechanisms.agenda_cost = workload"
    assert found["share_holding"] == 0.5


def load_claims_text(text: str):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "claims.toml"
        path.write_text(text)
        return load_claims(path)


def test_opposite_sets_count_against_the_form_only_beyond_chance():
    from sim.inference.robustness import more_than_chance

    def sets(k, n):
        return np.arange(n) < k

    # 2.5 % of sets opposite by chance: 5 of 200 is what chance gives, 15 of 200 is not
    assert not more_than_chance(sets(5, 200), tests=1)
    assert more_than_chance(sets(15, 200), tests=1)
    assert not more_than_chance(sets(2, 67), tests=1) and not more_than_chance(sets(0, 67), 1)
    # the level is shared by the tests: what one test finds, nine may not
    assert more_than_chance(sets(10, 200), tests=1) and not more_than_chance(sets(10, 200), 9)
