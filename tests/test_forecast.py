"""Forecasts from a group's record: columns, conditioning on the record, the command."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.inference.forecast import COLUMNS, forecast
from sim.inference.records import load_record
from sim.model.labels import LEVELS
from sim.model.scenario_files import load_scenario
from sim.model.simulation import simulate

AUSTERITY = """
[scenario]
extends = "mikta"
name = "mikta-austerity"
"""
CODES = ("MEX", "IDN", "KOR", "TUR", "AUS")


def austerity(tmp_path: Path) -> Path:
    """MIKTA with every budget falling 10 % a year: by 2024 a zombie in about a fifth of runs."""
    text = AUSTERITY + "".join(
        f'[members.{c}]\nbudget_trend = -0.1\nbudget_trend_after = -0.1\n'
        f'budget_trend_until = ""\n' for c in CODES)
    path = tmp_path / "mikta-austerity.toml"
    path.write_text(text)
    return path


def record_of_a_run(tmp_path: Path, scenario_path: Path, seed: int, until: int = 2024) -> Path:
    """A case record written from one run of the scenario: each of its meetings and documents
    a row, on distinct days of its quarter, to the end of `until`."""
    scenario = load_scenario(scenario_path)
    run = simulate(scenario, [seed], engine="fast", record=True).trajectories[0]
    rows = ["case,date,date_end,level,kind,member,title,source,uncertain,note"]
    start = scenario.start_quarter
    for q in range(min(run.quarters_run, (until + 1) * 4 - start)):
        year, quarter = divmod(start + q, 4)
        day = 0
        for level in LEVELS:
            for _ in range(int(run.series[f"outputs_{level}"][q])):
                day += 1
                rows.append(f"made,{year}-{3 * quarter + 1:02d}-{day:02d},,{level},document,,"
                            f"output,the model (seed {seed}),false,")
    (tmp_path / "made.csv").write_text("\n".join(rows) + "\n")
    path = tmp_path / "made.toml"
    path.write_text(f'[case]\nname = "made"\ntitle = "made by the model"\n'
                    f'scenario = "{scenario_path}"\nfounded = "2014-01-01"\n'
                    f'observed_until = "{until}-12-31"\nmembers = {list(CODES)!r}\n'
                    f'min_members = 3\nactivity = "made.csv"\n'.replace("'", '"'))
    return path


def zombie_in(scenario_path: Path, seeds: range, quarter: int, zombie: bool) -> int:
    """The first seed whose run is (or is not) a zombie in `quarter`."""
    batch = simulate(load_scenario(scenario_path), list(seeds), engine="fast", record=True)
    for seed, t in zip(seeds, batch.trajectories, strict=True):
        if t.quarters_run > quarter and (t.series["state"][quarter] == 1) == zombie:
            return seed
    raise AssertionError("no such seed")


def test_the_record_moves_the_forecast_toward_the_run_that_made_it(tmp_path):
    scenario_path = austerity(tmp_path)
    scenario = load_scenario(scenario_path)
    end_2024 = 2024 * 4 + 3 - scenario.start_quarter
    unconditioned = forecast(scenario, 2030, runs=1500, seed=1, record=None, workers=1)
    base = unconditioned.table.set_index("year")
    assert 0.1 < base.loc[2024, "p_zombie"] < 0.4  # a fifth of runs are zombies by 2024
    for zombie in (True, False):
        seed = zombie_in(scenario_path, range(10**6, 10**6 + 300), end_2024, zombie)
        record = load_record(record_of_a_run(tmp_path, scenario_path, seed))
        assert (record.observed_states()["state"].iloc[-1] == "zombie") == zombie
        conditioned = forecast(scenario, 2030, runs=1500, seed=1, keep=0.1, record=record,
                               workers=1)
        table = conditioned.table.set_index("year")
        assert conditioned.kept.sum() == pytest.approx(150, abs=15)
        if zombie:  # the record ends a zombie: the runs kept are zombies far more often,
            # then and in the year after it
            assert table.loc[2024, "p_zombie"] > base.loc[2024, "p_zombie"] + 0.15
            assert table.loc[2025, "p_zombie"] > base.loc[2025, "p_zombie"] + 0.1
        else:  # the record ends alive: the runs kept are zombies less often
            assert table.loc[2024, "p_zombie"] < base.loc[2024, "p_zombie"] - 0.05
            assert table.loc[2025, "p_zombie"] < base.loc[2025, "p_zombie"]
        # the runs kept are the closest: the record's own run would be among them
        assert np.nanmax(conditioned.distance[conditioned.kept]) <= np.nanmin(
            conditioned.distance[~conditioned.kept])


def test_the_forecast_has_one_row_a_year_and_its_shares_add_up():
    result = forecast(load_scenario("mikta"), 2030, runs=200, seed=3,
                      record=load_record("mikta"), workers=1)
    table = result.table
    assert list(table.columns) == COLUMNS
    assert table["year"].tolist() == list(range(2014, 2031))
    np.testing.assert_allclose(table[["p_alive", "p_zombie", "p_dead"]].sum(axis=1), 1.0)
    assert ((table["p_alive_lo"] <= table["p_alive"]) & (table["p_alive"] <= table["p_alive_hi"])
            ).all()
    assert ((table["outputs_lo"] <= table["outputs_median"])
            & (table["outputs_median"] <= table["outputs_hi"])).all()
    assert result.levels == ["ministers", "leaders"]  # MIKTA's officials: in full to 2018 only


def test_the_command_draws_from_a_posterior_and_writes_its_folder(tmp_path):
    posterior = tmp_path / "calibration"
    posterior.mkdir()
    pd.DataFrame({"group.base_rate": [1.0, 5.0], "weight": [0.0, 1.0]}).to_parquet(
        posterior / "posterior.parquet")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "sim.cli", "forecast", "mikta", "--until",
                             "2035", "--posterior", str(posterior), "--runs", "100", "--out",
                             str(out), "--workers", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("By the end of 2035")
    table = pd.read_csv(out / "forecast.csv")
    assert list(table.columns) == COLUMNS and table["year"].iloc[-1] == 2035
    summary = json.loads((out / "forecast.json").read_text())
    assert summary["runs"] == 100 and str(posterior) in summary["parameters"]
    lines = (out / "report.md").read_text().splitlines()
    assert lines[2] == "## Findings" and lines[4].startswith("By the end of 2035")
    assert "## Appendix: Provenance" in lines[-6:]
    assert (out / "forecast.png").stat().st_size > 0
    # every run drew the set of weight 1: base rate 5, busier than the scenario's own values
    own = subprocess.run([sys.executable, "-m", "sim.cli", "forecast", "mikta", "--until",
                          "2035", "--runs", "100", "--out", str(tmp_path / "own"),
                          "--workers", "1"], capture_output=True, text=True)
    assert own.returncode == 0
    mine = pd.read_csv(tmp_path / "own" / "forecast.csv")
    assert table["outputs_median"].sum() > mine["outputs_median"].sum()


def test_a_bad_posterior_or_year_is_a_message(tmp_path):
    def forecast_command(*args):
        return subprocess.run([sys.executable, "-m", "sim.cli", "forecast", "mikta", *args,
                               "--out", str(tmp_path / "x"), "--force"],
                              capture_output=True, text=True)

    missing = forecast_command("--until", "2035", "--posterior", str(tmp_path))
    assert missing.returncode == 2 and "posterior.parquet" in missing.stderr
    (tmp_path / "posterior.parquet").write_bytes(b"not parquet")
    damaged = forecast_command("--until", "2035", "--posterior", str(tmp_path))
    assert damaged.returncode == 2 and "Traceback" not in damaged.stderr
    early = forecast_command("--until", "2000")
    assert early.returncode == 2 and "2000" in early.stderr
