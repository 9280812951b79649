"""Policies adopted at a date: the forms that write them, exact twins, and what carries over."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.model.fast_engine import run_batch
from sim.model.keys import datable_keys, undated_reason
from sim.model.params import Key
from sim.model.scenario_files import (
    load_scenario,
    resolve,
    scenario_as_dict,
    scenario_to_toml,
    with_overrides,
)
from sim.model.schedule import segments

DATE = "2020Q1"


def changed_value(scenario, key: str):
    """A value of `key` other than the scenario's, within the key's range."""
    parsed = Key.parse(key)
    now = parsed.values_in(scenario)[0]
    spec = parsed.spec
    if parsed.kind is bool:
        return not now
    if parsed.kind is str:
        return next(c for c in spec.choices if c != now)
    high = spec.high if spec.high is not None else now + 2
    low = spec.low if spec.low is not None else now - 2
    if parsed.kind is int:
        return now + 1 if now + 1 <= high else now - 1
    return (now + high) / 2 if high > now else (now + low) / 2


def test_a_run_and_its_twin_are_the_same_before_the_change_for_every_datable_key():
    base = load_scenario("mikta", years=12)
    keys = datable_keys(base)
    assert len(keys) > 100 and "members.*.budget_trend" in keys and "members.KOR.reach" in keys
    twins = [with_overrides(base, {f"{key}@{DATE}": changed_value(base, key)}) for key in keys]
    seeds = [3, 17, 29]
    batch = run_batch([base] * len(seeds) + [t for t in twins for _ in seeds],
                      seeds * (1 + len(twins)), record_series=True).trajectories
    q = base.quarter_index(DATE)
    differ_after = 0
    for k, key in enumerate(keys):
        moved = False
        for j, seed in enumerate(seeds):
            own, twin = batch[j], batch[len(seeds) * (k + 1) + j]
            assert twin.seed == own.seed == seed
            n = min(q, own.quarters_run, twin.quarters_run)
            for name in own.series:
                assert np.array_equal(np.asarray(own.series[name])[:n],
                                      np.asarray(twin.series[name])[:n], equal_nan=True), (
                    f"{key}@{DATE} changes {name} before {DATE} (seed {seed})")
            moved |= any(not np.array_equal(np.asarray(own.series[name]),
                                            np.asarray(twin.series[name]), equal_nan=True)
                         for name in own.series)
        differ_after += moved
    # most keys change the runs after the date (some, such as a rate of draws that happen not
    # to fire in 12 years of three seeds, need not)
    assert differ_after > 0.7 * len(keys), f"only {differ_after} of {len(keys)} keys act"


def test_every_key_that_cannot_change_says_why():
    base = load_scenario("mikta")
    for key in ("start", "years", "members.KOR.joins", "members.*.election_interval",
                "group.zombie_months", "members.MEX.in_rival", "group.chair_order"):
        assert undated_reason(Key.parse(key)), key
        with pytest.raises(Exception, match=r"cannot change during a run: .+"):
            with_overrides(base, {f"{key}@2027": 1})
    assert "years" not in datable_keys(base)


def test_a_changed_trend_bends_the_budget_path_and_does_not_jump_it():
    base = load_scenario("mikta", {"members.*.budget_volatility": 0.0,
                                   "members.*.budget_trend": 0.0}, years=12)
    # Turkey's trend has no end date (Korea's record trend ends in 2018 Q2)
    after = with_overrides(base, {"members.TUR.budget_trend@2018Q1": -0.08})
    own, twin = run_batch([base, after], [1, 1], record_series=True).trajectories
    q, turkey = base.quarter_index("2018Q1"), base.codes.index("TUR")
    budget = np.asarray(twin.series["budget"])[:, turkey]
    assert np.asarray(own.series["budget"])[:, turkey] == pytest.approx(1.0)
    assert budget[q - 1] == pytest.approx(1.0)
    # from the quarter of the change on, the trend compounds from where the path stood
    assert np.log(budget[q: q + 8]) == pytest.approx(-0.08 / 4 * np.arange(1, 9))


def test_growing_dues_count_the_secretariats_age_from_its_adoption():
    flat = {"members.*.budget_volatility": 0.0, "members.*.budget_trend": 0.0,
            "mechanisms.dues": "growing", "group.secretariat_dues_growth": 0.2}
    base = load_scenario("mikta", flat, years=12)
    later = with_overrides(base, {"group.secretariat@2019Q1": True})
    (run,) = run_batch([later], [2], record_series=True).trajectories
    q = base.quarter_index("2019Q1")
    budget = np.asarray(run.series["budget"])[:, 0]
    dues = base.group.secretariat_dues
    assert budget[q - 1] == pytest.approx(1.0)  # no secretariat, no dues
    assert budget[q] == pytest.approx(1.0 - dues)  # a new secretariat's dues, not grown
    assert budget[q + 4] == pytest.approx(1.0 - dues * np.exp(0.2))


def test_one_key_changed_several_times_and_a_secretariat_dropped():
    base = load_scenario("mikta", years=20)
    s = with_overrides(base, ["group.secretariat=true@2018", "group.secretariat=false@2024Q3",
                              "members.*.budget_trend=-0.05@2016",
                              "members.KOR.budget_trend=-0.05@2016"])
    stretches = segments(s)
    assert [q for q, _ in stretches] == [0, 8, 16, 42]
    assert [x.group.secretariat for _, x in stretches] == [False, False, True, False]
    assert stretches[1][1].members[2].budget_trend == -0.05
    # members.KOR and members.* at one date with different values: which holds would depend
    # on their order, so it is refused
    with pytest.raises(InputError, match="which one holds would depend on their order"):
        with_overrides(base, ["members.*.budget_trend=-0.05@2016",
                              "members.KOR.budget_trend=0.02@2016"])


def test_a_scenario_file_writes_a_change_as_an_event_of_kind_set(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('[scenario]\nextends = "mikta"\nname = "policy"\n\n[[events]]\n'
                    'date = "2027"\nkind = "set"\nkey = "group.secretariat"\nvalue = true\n'
                    'note = "the members adopt a secretariat"\n')
    s = load_scenario(path)
    (change,) = s.changes
    assert (change.key, change.value, change.date) == ("group.secretariat", True, "2027Q1")
    assert change.note == "the members adopt a secretariat"
    assert s == with_overrides(load_scenario(path), {})
    # written back, it reads back the same
    again = tmp_path / "again.toml"
    again.write_text(scenario_to_toml(s))
    assert load_scenario(again).changes == s.changes
    assert resolve(scenario_as_dict(s), source="x").changes == s.changes


@pytest.mark.parametrize("entry, problem", [
    ('date = "2027Q1"\nkind = "set"\nkey = "group.secretariat"\nvalue = 3',
     "has the wrong type"),
    ('date = "2010Q1"\nkind = "set"\nkey = "group.secretariat"\nvalue = true',
     "is dated before the start"),
    ('date = "2027Q1"\nkind = "set"\nkey = "members.KOR.joins"\nvalue = "2030Q1"',
     "cannot change during a run"),
    ('date = "2027Q1"\nkind = "set"\nvalue = true', 'needs `key`'),
    ('date = "2027Q1"\nkind = "set"\nkey = "group.secretariat"\nvalue = true\nfactor = 2.0',
     'is not a key of an event of kind "set"'),
])
def test_a_bad_change_in_a_file_names_the_file_line_key_and_value(tmp_path, entry, problem):
    path = tmp_path / "bad.toml"
    path.write_text(f'[scenario]\nextends = "mikta"\n\n[[events]]\n{entry}\n')
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert problem in done.stderr and str(path) in done.stderr and "line" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("option, problem", [
    ("group.secretariat=true@2013Q4", "is dated before the start"),
    ("group.secretariat=true@2044", "is dated after the horizon"),
    ("group.secretariat=maybe@2027", "has the wrong type"),
    ("members.*.election_interval=3@2027", "cannot change during a run"),
    ("group.secretariat=true@2027Q7", "neither a quarter nor a year"),
])
def test_a_bad_change_on_the_command_line_is_refused(option, problem):
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", "mikta", "--set", option],
                          capture_output=True, text=True)
    assert done.returncode == 2 and problem in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_shorter_horizon_that_cuts_a_change_off_is_refused():
    s = with_overrides(load_scenario("mikta"), {"group.secretariat@2035": True})
    with pytest.raises(Exception, match="ends the run before the change"):
        with_overrides(s, years=10)


DATED_EXPERIMENT = """\
[experiment]
name = "dated"
scenario = "mikta"
years = 20
replicates = 30
seed = 11
common_random_numbers = true

[factors]
"group.secretariat@2027Q1" = [false, true]
"members.*.crisis_rate@2027Q1" = [0.3, 1.5]

[report]
contrast = [[0, 3]]
from = "2027Q1"
"""


def test_an_experiment_with_a_dated_factor_gives_twins_equal_before_the_date(tmp_path):
    from sim.experiments.design import load_experiment
    from sim.experiments.execution import execute
    from sim.reporting.report import write_report

    path = tmp_path / "dated.toml"
    path.write_text(DATED_EXPERIMENT)
    execute(load_experiment(path), tmp_path / "out", workers=1, timeseries=True)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert "group.secretariat@2027Q1" in runs.columns  # the factor keeps its dated name
    series = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    series["point_id"] = series["point_id"].astype(int)
    q = load_scenario("mikta").quarter_index("2027Q1")
    columns = [c for c in series.columns if c not in ("run_id", "point_id", "quarter")]
    differ = 0
    for replicate in range(30):
        ids = runs.loc[runs["replicate"] == replicate].set_index("point_id")["run_id"]
        own = series[series["run_id"] == ids[0]].sort_values(["quarter", "member"])
        for point in (1, 2, 3):
            twin = series[series["run_id"] == ids[point]].sort_values(["quarter", "member"])
            a, b = own[own["quarter"] < q], twin[twin["quarter"] < q]
            pd.testing.assert_frame_equal(a[columns].reset_index(drop=True),
                                          b[columns].reset_index(drop=True))
        late = series[(series["run_id"] == ids[3]) & (series["quarter"] >= q)]
        differ += not own[own["quarter"] >= q][columns].reset_index(drop=True).equals(
            late.sort_values(["quarter", "member"])[columns].reset_index(drop=True))
    assert differ > 25  # the change acts in most replicates
    report = write_report(tmp_path / "out").read_text()
    assert "## Measured from 2027 Q1" in report
    assert "whose runs differ in each quarter: 0% before 2027 Q1" in report  # the twins' figure
    assert (tmp_path / "out" / "figures" / "twins_000_003.png").exists()
    # the shares from the date count the runs not dead before it, at the horizon
    alive_before = runs[runs["death_quarter"].isna() | (runs["death_quarter"] >= q)]
    point3 = alive_before[alive_before["point_id"] == 3]
    row = next(line for line in report.splitlines()
               if line.startswith("| 3 |") and "@2027Q1" in line)
    assert f"| {len(point3)} |" in row


def test_the_report_measures_from_a_date_by_its_known_answer():
    from sim.inference.statistics import measured_from

    runs = pd.DataFrame({"run_id": [0, 1, 2], "point_id": 0, "replicate": [0, 1, 2],
                         "outcome": ["dead", "zombie", "alive"],
                         "death_quarter": [3.0, None, None],
                         "first_zombie_quarter": [None, 2.0, None]})
    states = {0: ["alive", "alive", "alive", "dead"],
              1: ["alive", "alive", "zombie", "zombie", "alive", "zombie", "zombie", "zombie"],
              2: ["alive"] * 8}
    series = pd.DataFrame([{"run_id": r, "quarter": t, "state": s}
                           for r, row in states.items() for t, s in enumerate(row)])
    out = measured_from(runs, series, 4).set_index("run_id")
    assert list(out.index) == [1, 2]  # run 0 died before quarter 4
    assert out.loc[1, "state_before"] == "zombie" and out.loc[2, "state_before"] == "alive"
    assert out.loc[1, "first_zombie_quarter"] == 1.0  # quarter 5, one after the date
    assert np.isnan(out.loc[2, "first_zombie_quarter"])


def test_a_bad_from_date_in_an_experiment_file_is_refused(tmp_path):
    path = tmp_path / "dated.toml"
    path.write_text(DATED_EXPERIMENT.replace('from = "2027Q1"', 'from = "2099Q1"'))
    done = subprocess.run([sys.executable, "-m", "sim.cli", "experiment", str(path),
                           "--out", str(tmp_path / "never")], capture_output=True, text=True)
    assert done.returncode == 2 and "report.from" in done.stderr and "2099Q1" in done.stderr
    assert not (tmp_path / "never").exists()


def test_the_event_log_and_the_run_figure_say_when_a_policy_is_adopted():
    from sim.model.mesa_engine import MinilateralModel
    from sim.reporting.figures import plot_run
    from sim.reporting.narrative import event_log

    s = with_overrides(load_scenario("mikta", years=16),
                       ["group.secretariat=true@2027Q1", "members.KOR.crisis_rate=1.0@2028"])
    trajectory = MinilateralModel(s, 3).run()
    log = [str(entry) for entry in event_log(trajectory, s)]
    assert "2027 Q1 — the members adopt a secretariat" in log
    assert "2028 Q1 — Korea: crisis_rate = 1.0 from now on" in log
    assert not any("secretariat" in line for line in log if line < "2027")
    figure = plot_run(trajectory, s)
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert " the members adopt a secretariat" in texts


@pytest.mark.parametrize("claim_id, contrast_name", [
    (7, "three priority areas from Korea's 2020 chair year"),
    (9, "the 2020 crisis against none"),
])
def test_the_sources_dated_claims_act_only_from_2020(claim_id, contrast_name):
    from pathlib import Path

    from sim.inference.claims import load_claims

    suite = load_claims(Path(__file__).parents[1] / "experiments" / "claims.toml",
                        replicates=10)
    claim = next(c for c in suite.claims if c.id == claim_id)
    contrast = next(c for c in claim.contrasts if c.name == contrast_name)
    seeds = list(range(40))
    arms = [run_batch([arm] * 40, seeds, record_series=True).trajectories
            for arm in (contrast.baseline, contrast.treatment)]
    q = contrast.baseline.quarter_index("2020Q1")
    later = 0
    for own, twin in zip(*arms, strict=True):
        for name in own.series:
            a, b = np.asarray(own.series[name]), np.asarray(twin.series[name])
            assert np.array_equal(a[:q], b[:q], equal_nan=True), (name, own.seed)
        later += any(not np.array_equal(np.asarray(own.series[name]),
                                        np.asarray(twin.series[name]), equal_nan=True)
                     for name in own.series)
    assert later >= 35  # and they act from 2020 on


def test_twin_series_counts_the_pairs_that_differ_by_quarter():
    from sim.inference.statistics import twin_series

    runs = pd.DataFrame({"run_id": [0, 1, 2, 3], "point_id": [0, 0, 1, 1],
                         "replicate": [0, 1, 0, 1]})
    rows = []
    for run, outputs, states in ((0, [1, 2, 3], ["alive"] * 3), (1, [1, 1], ["alive", "dead"]),
                                 (2, [1, 2, 5], ["alive", "alive", "zombie"]),
                                 (3, [1, 1], ["alive", "dead"])):
        rows += [{"run_id": run, "quarter": t, "state": s, "outputs": o,
                  "mean_engagement": 0.5} for t, (o, s) in enumerate(zip(outputs, states,
                                                                         strict=True))]
    twins = twin_series(pd.DataFrame(rows), runs, 0, 1, horizon=3)
    assert list(twins["differ"]) == [0.0, 0.0, 0.5]  # replicate 0 differs in quarter 2
    assert list(twins["outputs_b"]) == [1.0, 1.5, 2.5]  # dead: no outputs
    assert list(twins["alive_a"]) == [1.0, 0.5, 0.5]


def test_a_trend_changed_after_a_members_dated_trend_ended_is_its_drift_from_then_on():
    base = load_scenario("mikta", {"members.*.budget_volatility": 0.0}, years=20)
    korea = base.codes.index("KOR")
    assert base.members[korea].budget_trend_until == "2018Q2"
    s = with_overrides(base, {"members.*.budget_trend@2027Q1": -0.08})
    (_, before), (_, after) = segments(s)
    assert after.members[korea].budget_trend_after == -0.08  # its trend ended in 2018 Q2
    assert after.members[0].budget_trend_after == before.members[0].budget_trend_after
    (run,) = run_batch([s], [4], record_series=True).trajectories
    q = base.quarter_index("2027Q1")
    budget = np.log(np.asarray(run.series["budget"])[:, korea])
    assert np.diff(budget[q - 1: q + 8]) == pytest.approx(-0.02)
