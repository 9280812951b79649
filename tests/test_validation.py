"""One rule for records and runs, and `minilat validate`."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.inference.records import load_record
from sim.inference.validation import CASE_COLUMNS, validate_case
from sim.model.labels import LEVELS, Event, label, rule_of
from sim.model.scenario_files import load_scenario
from sim.model.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]


def _events_of(trajectory) -> list[Event]:
    """A run's own event list, as a record would hold it: one event per output."""
    events = []
    for k, level in enumerate(LEVELS):
        for q, count in enumerate(trajectory.upto(f"outputs_{level}")):
            events += [Event(q, k, "meeting")] * int(count)
    members = trajectory.upto("active_members")
    for q in range(1, len(members)):
        events += [Event(q, 0, "exit")] * int(max(0, members[q - 1] - members[q]))
    return events


@pytest.mark.parametrize(("scenario", "overrides"), [
    ("mikta", {}), ("ibsa", {"group.summit_commitment": 0.0}), ("generic-5", {}),
    ("mikta", {"members.*.budget_trend": -0.1})])
def test_the_rule_gives_the_same_states_on_a_run_and_on_its_event_list(scenario, overrides):
    s = load_scenario(scenario, overrides)
    batch = simulate(s, list(range(12)), engine="fast", record=True)
    for trajectory in batch.trajectories:
        founders = int(trajectory.upto("active_members")[0])
        labels = label(_events_of(trajectory), trajectory.quarters_run, founders,
                       s.group.min_members, rule_of(s.group))
        assert labels.state.tolist() == trajectory.upto("state").tolist()


def test_the_shipped_mikta_scenario_is_alive_through_its_recorded_years():
    s = load_scenario("mikta")
    batch = simulate(s, list(range(1000)), engine="fast", record=True)
    states = np.array([t.series["state"] for t in batch.trajectories])
    q2018 = s.quarter_index("2018Q2")
    assert (states[:, : q2018 + 1] == 1).mean(axis=0).max() < 0.20  # zombies, 2014Q1 - 2018Q2
    assert (states[:, q2018] == 0).mean() >= 0.90


def test_validate_compares_only_years_and_levels_recorded_in_full():
    result = validate_case("mikta", runs=50)
    assert list(result.patterns.columns) == CASE_COLUMNS
    officials = result.patterns[result.patterns["pattern"].str.startswith("officials")]
    years = officials["pattern"].str[-4:].astype(int)
    assert years.min() == 2014 and years.max() == 2017  # complete to May 2018 only
    record = load_record("mikta").activity_by_year()
    row = result.activity[(result.activity["year"] == 2016)
                          & (result.activity["level"] == "ministers")].iloc[0]
    assert row["observed"] == record.loc[2016, "ministers"]
    assert row["q05"] <= row["median"] <= row["q95"]
    chairs = result.patterns[result.patterns["pattern"].str.startswith("chairs")].iloc[0]
    assert chairs["observed"].split()[:5] == ["MEX", "KOR", "AUS", "TUR", "IDN"]
    assert 0 <= chairs["simulated_median"] <= 1
    exits = result.patterns[result.patterns["pattern"].str.startswith("exits")].iloc[0]
    assert exits["observed"] == 0


def test_minilat_validate_writes_its_tables_for_a_record_of_ones_own(tmp_path):
    (tmp_path / "own.csv").write_text(
        "case,date,date_end,level,kind,member,title,source,uncertain,note\n"
        + "".join(f"own,{y}-0{m}-10,,ministers,meeting,,meeting,a source,false,\n"
                  for y in range(2014, 2020) for m in (3, 9)), encoding="utf-8")
    (tmp_path / "own.toml").write_text(
        '[case]\nname = "own"\nscenario = "generic-5"\nfounded = "2014-01-01"\n'
        'observed_until = "2019-12-31"\nmembers = ["A", "B", "C", "D", "E"]\nmin_members = 3\n'
        'activity = "own.csv"\n', encoding="utf-8")
    out = tmp_path / "validation"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "validate", "mikta",
                           tmp_path / "own.toml", "--runs", "40", "--out", out],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    cases = pd.read_csv(out / "cases.csv")
    assert list(cases.columns) == CASE_COLUMNS and set(cases["case"]) == {"mikta", "own"}
    states = pd.read_csv(out / "observed_states.csv")
    assert list(states.columns) == ["case", "quarter", "state"]
    assert states["quarter"].str.fullmatch(r"\d{4}Q[1-4]").all()
    own = states[states["case"] == "own"]
    assert len(own) == 24 and (own["state"] == "alive").all()
    assert (out / "report.html").exists() and (out / "figures" / "own-activity.png").exists()
    again = subprocess.run([sys.executable, "-m", "sim.cli", "validate", "--out", out],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 2 and "--force" in again.stderr


def test_mikta_s_recorded_activity_2014_to_2017_is_inside_the_simulated_90_percent_band():
    s = load_scenario("mikta")
    batch = simulate(s, list(range(1000)), engine="fast", record=True)
    total = np.array([t.series["outputs"] for t in batch.trajectories])[:, :16]
    yearly = total.reshape(1000, 4, 4).sum(axis=-1)
    record = load_record("mikta").activity_by_year().loc[2014:2017].sum(axis=1).to_numpy()
    # every year inside the 90 % band; inside the 50 % band in 2015 and 2016 only (the jointly
    # fitted values give a flatter ramp-up than the record's 5, 9, 12, 15: docs/validation.md)
    low, high = np.quantile(yearly, [0.05, 0.95], axis=0)
    assert ((low <= record) & (record <= high)).all()
    low, high = np.quantile(yearly, [0.25, 0.75], axis=0)
    assert int(np.sum((low <= record) & (record <= high))) >= 2
