"""Calibration by approximate Bayesian computation: targets, distance, acceptance, recovery."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.inference.calibration import (
    calibrate,
    distance,
    load_calibration,
    simulate_patterns,
)

ROOT = Path(__file__).resolve().parents[1]
MIKTA = ROOT / "experiments" / "mikta-calibration.toml"


def write(tmp_path: Path, text: str, csv: Path | None = None) -> Path:
    path = tmp_path / "cal.toml"
    path.write_text(text.replace("STATEMENTS", str(csv or ROOT / "seeds" /
                                                  "mikta_joint_statements.csv")))
    return path


BASE = """
[calibration]
scenario = "mikta"
draws = DRAWS
accept = ACCEPT
seed = 7
predictive_runs = 3
[targets]
statements = "STATEMENTS"
observed_from = "2014-01-01"
observed_until = "2018-05-15"
chair_order = ["MEX", "KOR", "AUS", "TUR", "IDN"]
[priors]
"group.base_rate" = { min = 1.0, max = 8.0 }
"""


def test_the_record_is_read_from_the_seeds_table():
    calibration = load_calibration(MIKTA)
    assert calibration.observed.to_dict() == {2014: 3, 2015: 6, 2016: 11, 2017: 13, 2018: 9}
    # 2018 is observed to 15 May: all of Q1 and 45 of Q2's 91 days
    assert calibration.year_quarters[2018] == [(16, 1.0), (17, pytest.approx(45 / 91))]
    assert calibration.last_quarter == 17 and calibration.base.years == 5


def test_distance_scales_each_year_by_its_count():
    observed = pd.Series({2014: 3, 2015: 0})
    exact = pd.DataFrame({"y2014": [3.0], "y2015": [0.0]})
    off = pd.DataFrame({"y2014": [6.0], "y2015": [2.0]})
    assert distance(exact, observed)[0] == 0
    assert distance(off, observed)[0] == pytest.approx(np.sqrt(9 / 3 + 4 / 1))


@pytest.mark.parametrize("text, key", [
    (BASE.replace("draws = DRAWS", "draws = DRAWS\nbogus = 1"), "calibration.bogus"),
    (BASE.replace('"IDN"]', '"XXX"]'), "targets.chair_order"),
    (BASE.replace("min = 1.0, max = 8.0", "min = 9.0, max = 8.0"), "priors.group.base_rate"),
    (BASE.replace('"group.base_rate"', '"group.nothing"'), "priors.group.nothing"),
    (BASE.replace("2018-05-15", "2018-13-15"), "targets.observed_until"),
])
def test_bad_files_name_the_key(tmp_path, text, key):
    path = write(tmp_path, text.replace("DRAWS", "100").replace("ACCEPT", "0.1"))
    with pytest.raises(InputError) as info:
        load_calibration(path)
    assert key in str(info.value) and str(path) in str(info.value)


def test_a_bad_file_exits_with_code_2_and_no_traceback(tmp_path):
    path = write(tmp_path, BASE.replace("DRAWS", "5").replace("ACCEPT", "0.1"))
    result = subprocess.run([sys.executable, "-m", "sim.cli", "calibrate", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "calibration.draws" in result.stderr and "Traceback" not in result.stderr


def test_same_seed_same_accepted_draws(tmp_path):
    path = write(tmp_path, BASE.replace("DRAWS", "200").replace("ACCEPT", "0.05"))
    a, b = (calibrate(load_calibration(path), workers=1) for _ in range(2))
    pd.testing.assert_frame_equal(a.draws, b.draws)
    accepted = a.draws[a.draws["accepted"]]
    assert len(accepted) == 10
    assert (accepted["distance"] <= a.tolerance).all()
    assert accepted["chair_pattern"].all() and accepted["alive_at_end"].all()


def test_abc_recovers_a_known_base_rate(tmp_path):
    """Synthetic record made by the model at base_rate 4: the posterior must sit around 4."""
    calibration = load_calibration(write(tmp_path, BASE.replace("DRAWS", "10").replace(
        "ACCEPT", "0.1")))
    truth = simulate_patterns(calibration, pd.DataFrame([{"group.base_rate": 4.0}] * 400),
                              list(range(400)))
    alive = truth[truth["alive_at_end"] & truth["chair_pattern"]]
    counts = {year: round(alive[f"y{year}"].mean()) for year in range(2014, 2019)}
    rows = [f"{year}-02-01" for year, count in counts.items() for _ in range(count)]
    csv = tmp_path / "synthetic.csv"
    csv.write_text("date\n" + "\n".join(rows) + "\n")
    path = write(tmp_path, BASE.replace("DRAWS", "1500").replace("ACCEPT", "0.04"), csv)
    result = calibrate(load_calibration(path), workers=1)
    row = result.posterior.iloc[0]
    assert 3.0 < row["median"] < 5.0
    assert row["q05"] > 1.5 and row["q95"] < 7.0  # narrower than the prior 1 - 8
    assert row["identified"]


def test_long_run_runs_use_distinct_seeds_and_report_both_parameter_sources(tmp_path):
    from sim.inference.calibration import long_run_seeds

    text = BASE.replace("DRAWS", "60").replace("ACCEPT", "0.1").replace(
        "predictive_runs = 3", 'predictive_runs = 2\nlong_run = ["mikta"]\nlong_run_runs = 4')
    calibration = load_calibration(write(tmp_path, text))
    seeds = long_run_seeds(calibration, 500)
    assert len(set(seeds)) == 500
    result = calibrate(calibration, workers=1)
    table = result.long_run.set_index("parameters")
    assert list(table.index) == ["calibrated values", "accepted draws"]
    assert (table["runs"] == 6 * 4).all() and (table["years"] == 30).all()
    shares = table[["alive", "zombie", "dead"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
