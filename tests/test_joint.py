"""A joint calibration over several case records: targets, scaled distance, recovery, the CLI."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.inference.joint import (
    case_distances,
    case_statistics,
    case_target,
    joint_distance,
    load_joint,
    statistic_scales,
)
from sim.inference.joint_fit import calibrate_joint
from sim.inference.records import load_record
from sim.model.scenario_files import with_overrides

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "experiments" / "joint-calibration.toml"

BASE = """
[calibration]
cases = CASES
method = "rejection"
draws = DRAWS
accept = 0.1
seed = 3
predictive_runs = 2
[priors]
"group.base_rate" = { min = 1.0, max = 6.0 }
"""


def write(tmp_path: Path, cases: str = '["mikta", "ibsa"]', draws: int = 20,
          extra: str = "") -> Path:
    path = tmp_path / "joint.toml"
    path.write_text(BASE.replace("CASES", cases).replace("DRAWS", str(draws)) + extra)
    return path


def test_the_targets_are_the_records_activity_by_level_and_state_by_year():
    calibration = load_joint(SHIPPED)
    mikta, ibsa = calibration.cases
    assert (mikta.years[0], mikta.years[-1]) == (2014, 2025)
    activity = load_record("mikta").activity_by_year()
    assert mikta.observed["mikta:ministers:2016"] == activity.loc[2016, "ministers"]
    # MIKTA's officials are recorded in full only to May 2018: 2014 - 2017 are compared
    assert "mikta:officials:2017" in mikta.observed and "mikta:officials:2018" not in mikta.observed
    # IBSA's officials never in full; IBSA a zombie at the end of 2015, alive at the end of 2010
    assert not any(":officials:" in k for k in ibsa.observed.index)
    # the record's year-end states are the outcome rule over its activity, and a death is in
    # the members: a calibration fits activity and members; the states are there for the
    # predictive checks and forecasts
    assert not any(":zombie:" in k or ":dead:" in k for k in ibsa.observed.index)
    assert ibsa.observed["ibsa:members:2024"] == 3 and mikta.observed["mikta:members:2025"] == 5
    states = case_target(load_record("ibsa")).observed
    assert states["ibsa:zombie:2015"] == 1 and states["ibsa:zombie:2010"] == 0
    assert states["ibsa:dead:2015"] == 0
    # each case's scenario runs to the end of its last compared year
    assert ibsa.scenario.start_quarter + ibsa.scenario.quarters >= 2024 * 4 + 4


def test_case_statistics_are_the_runs_yearly_counts_and_year_end_states():
    from sim.model.quarters import parse_quarter
    from sim.model.simulation import simulate

    case = case_target(load_record("ibsa"))
    stats = case_statistics(case, [{}] * 3, [11, 12, 13])
    batch = simulate(case.scenario, [11, 12, 13], engine="fast", record=True)
    q0 = parse_quarter("2007Q1") - case.scenario.start_quarter
    for r, trajectory in enumerate(batch.trajectories):
        leaders = trajectory.series["outputs_leaders"][q0:q0 + 4].sum()
        assert stats.loc[r, "ibsa:leaders:2007"] == leaders
        zombie = trajectory.quarters_run > q0 + 3 and trajectory.series["state"][q0 + 3] == 1
        assert stats.loc[r, "ibsa:zombie:2007"] == float(zombie)
    # members at a year's end: the active members, 0 once the group is dead
    last = parse_quarter("2024Q4") - case.scenario.start_quarter
    stats = case_statistics(case, [{"group.dormant_months": 24}] * 20, list(range(20)))
    batch = simulate(with_overrides(case.scenario, {"group.dormant_months": 24}),
                     list(range(20)), engine="fast", record=True)
    members = [0 if t.quarters_run <= last or t.series["state"][last] == 2
               else t.series["active_members"][last] for t in batch.trajectories]
    assert stats["ibsa:members:2024"].tolist() == members
    assert 0 in members and 3 in members  # some runs dead by then, some alive


def test_a_record_s_members_follow_its_joins_exits_and_termination(tmp_path):
    toml = tmp_path / "own.toml"
    toml.write_text('[case]\nname = "own"\nfounded = "2020-01-01"\nobserved_until = '
                    '"2024-12-31"\nmembers = ["A", "B", "C"]\nmin_members = 2\nactivity = '
                    '"own.csv"\n', encoding="utf-8")
    rows = ["own,2020-03-01,,ministers,meeting,,founding,s,false,",
            "own,2021-05-01,,ministers,join,D,D joins,s,false,",
            "own,2021-06-01,,ministers,meeting,,a meeting,s,false,",
            "own,2022-02-01,,ministers,exit,A,A leaves,s,false,",
            "own,2022-03-01,,ministers,meeting,,a meeting,s,false,",
            "own,2023-07-01,,ministers,termination,,wound up,s,false,"]
    (tmp_path / "own.csv").write_text(
        "case,date,date_end,level,kind,member,title,source,uncertain,note\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    members = load_record(toml).members_at_year_end()
    assert members == {2020: 3, 2021: 4, 2022: 3, 2023: 0, 2024: 0}


def test_each_case_weighs_the_same_however_many_statistics_it_has():
    calibration = load_joint(SHIPPED)
    mikta, ibsa = calibration.cases
    simulated = pd.DataFrame([{**mikta.observed, **ibsa.observed}] * 2)
    scales = pd.Series(1.0, index=simulated.columns)
    # one unit off in every statistic of a case: distance 1 for it, whatever its count
    off = simulated.copy()
    off.loc[0, mikta.observed.index] += 1.0
    off.loc[1, ibsa.observed.index] += 1.0
    per_case = case_distances(calibration, off, scales)
    assert per_case.loc[0].tolist() == [1.0, 0.0] and per_case.loc[1].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(joint_distance(per_case), [np.sqrt(0.5)] * 2)
    # a statistic that never varies over the draws is left out
    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [0.0, 2.0, 4.0], "c": [0, 0, 1.0]})
    scales = statistic_scales(frame)
    assert scales["a"] == 0 and scales["b"] == pytest.approx(2 * 1.4826)
    assert scales["c"] == pytest.approx(np.std([0, 0, 1.0]))  # MAD 0: the sd instead


@pytest.mark.parametrize("cases, key", [
    ('["mikta", "nowhere"]', "calibration.cases"),
    ('["mikta", "mikta"]', "calibration.cases"),
    ("[]", "calibration.cases"),
    ('"mikta"', "calibration.cases"),
])
def test_bad_cases_are_named(tmp_path, cases, key):
    path = write(tmp_path, cases)
    with pytest.raises(InputError) as info:
        load_joint(path)
    assert key in str(info.value) and str(path) in str(info.value)


def test_a_prior_must_be_a_key_of_every_case(tmp_path):
    path = write(tmp_path, extra='"members.MEX.capacity_need" = { min = 0.1, max = 0.9 }\n')
    with pytest.raises(InputError) as info:
        load_joint(path)
    assert "priors.members.MEX.capacity_need" in str(info.value)


def test_same_seed_same_draws_and_a_known_base_rate_is_recovered(tmp_path):
    """Records made by the model itself at base_rate 3.5: the accepted draws sit around it."""
    calibration = load_joint(write(tmp_path, draws=600))
    truth = {"group.base_rate": 3.5}
    cases = []
    for case in calibration.cases:
        made = case_statistics(case, [truth] * 200, list(range(10**6, 10**6 + 200))).mean()
        cases.append(dataclasses.replace(case, observed=made.round()))
    synthetic = dataclasses.replace(calibration, cases=tuple(cases))
    a, b = (calibrate_joint(synthetic, workers=1) for _ in range(2))
    pd.testing.assert_frame_equal(a.draws, b.draws)
    accepted = a.draws[a.draws["accepted"]]
    assert len(accepted) == 60 and (accepted["distance"] <= a.tolerance).all()
    row = a.posterior.iloc[0]
    assert 2.8 < row["median"] < 4.2 and row["identified"]


def test_the_command_writes_the_results_of_both_cases(tmp_path):
    path = write(tmp_path, draws=40, extra="")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "sim.cli", "calibrate", str(path), "--out",
                             str(out), "--workers", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["cases"] == ["mikta", "ibsa"] and summary["accepted"] == 4
    predictive = pd.read_csv(out / "predictive.csv")
    assert set(predictive["case"]) == {"mikta", "ibsa"}
    assert (out / "fit.png").stat().st_size > 0 and (out / "posterior.png").is_file()
    posterior = pd.read_csv(out / "posterior.csv")
    assert posterior["parameter"].tolist() == ["group.base_rate"]
    # a second run into the same folder needs --force; nothing is lost without it
    again = subprocess.run([sys.executable, "-m", "sim.cli", "calibrate", str(path), "--out",
                            str(out), "--workers", "1"], capture_output=True, text=True)
    assert again.returncode == 2 and "--force" in again.stderr
    assert json.loads((out / "calibration.json").read_text()) == summary
