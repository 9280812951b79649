"""Experiments over a calibration's posterior: parameter sets as a factor of the replicates."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments.design import load_experiment, run_table, with_posterior
from sim.experiments.execution import execute
from sim.experiments.posterior import SET_COLUMN
from sim.experiments.verify import check_results

EXPERIMENT = """\
[experiment]
name = "over-posterior"
scenario = "mikta"
years = 12
replicates = 9
seed = 5

[fixed]
{fixed}

[factors]
"group.secretariat" = [false, true]
"""

SETS = pd.DataFrame({"group.base_rate": [1.2, 5.5, 3.0],
                     "members.*.initial_engagement": [0.2, 0.6, 0.4],
                     "weight": [0.5, 0.5, 0.0]})


def files(tmp_path, fixed: str = "", sets: pd.DataFrame = SETS):
    calibration = tmp_path / "calibration"
    calibration.mkdir(exist_ok=True)
    sets.to_parquet(calibration / "posterior.parquet")
    path = tmp_path / "experiment.toml"
    path.write_text(EXPERIMENT.format(fixed=fixed))
    return path, calibration


def runs_of(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").sort_values("run_id").reset_index(drop=True)


def test_each_replicate_runs_one_drawn_set_at_every_point(tmp_path):
    path, calibration = files(tmp_path)
    spec = with_posterior(load_experiment(path), calibration, sets=4)
    runs = run_table(spec)
    assert (runs[SET_COLUMN] == runs["replicate"] % 4).all()
    # a set of weight zero is never drawn; the draw is fixed by the experiment seed
    assert set(spec.posterior.drawn_rows) <= {0, 1}
    again = with_posterior(load_experiment(path), calibration, sets=4)
    assert again.posterior == spec.posterior
    # common random numbers: replicate r has one seed and one set at both points
    paired = runs.pivot(index="replicate", columns="point_id", values=["seed", SET_COLUMN])
    assert (paired["seed"][0] == paired["seed"][1]).all()
    assert (paired[SET_COLUMN][0] == paired[SET_COLUMN][1]).all()


def test_a_run_equals_the_same_run_with_its_set_written_as_fixed_values(tmp_path):
    one_set = SETS.assign(weight=[0.0, 1.0, 0.0])  # every draw is row 1
    path, calibration = files(tmp_path, sets=one_set)
    drawn = execute(with_posterior(load_experiment(path), calibration, sets=3),
                    tmp_path / "drawn", workers=1)
    assert not drawn.failed
    (tmp_path / "fixed").mkdir()
    fixed_path, _ = files(tmp_path / "fixed", fixed='"group.base_rate" = 5.5\n'
                          '"members.*.initial_engagement" = 0.6')
    execute(load_experiment(fixed_path), tmp_path / "written", workers=1)
    a, b = runs_of(tmp_path / "drawn"), runs_of(tmp_path / "written")
    assert (a["seed"] == b["seed"]).all()
    summary = ["outcome", "total_outputs", "first_zombie_quarter", "zombie_quarters"]
    pd.testing.assert_frame_equal(a[summary], b[summary])
    # and the values of the sets change the runs: row 0's base rate is far lower
    (tmp_path / "low").mkdir()
    path, calibration = files(tmp_path / "low", sets=SETS.assign(weight=[1.0, 0.0, 0.0]))
    execute(with_posterior(load_experiment(path), calibration, sets=3), tmp_path / "lowrun",
            workers=1)
    assert runs_of(tmp_path / "lowrun")["total_outputs"].sum() < a["total_outputs"].sum()


def test_the_experiments_own_values_win_over_a_sets(tmp_path):
    path, calibration = files(tmp_path, fixed='"members.KOR.initial_engagement" = 0.05')
    spec = with_posterior(load_experiment(path), calibration, sets=2)
    from sim.experiments.design import scenario_for

    scenario = scenario_for(spec, {"group.secretariat": True}, 0)
    codes = list(scenario.codes)
    kor = scenario.members[codes.index("KOR")]
    other = scenario.members[codes.index("MEX")]
    row = spec.posterior.drawn_rows[0]
    assert kor.initial_engagement == 0.05
    assert other.initial_engagement == SETS["members.*.initial_engagement"][row]
    assert scenario.group.base_rate == SETS["group.base_rate"][row]
    assert scenario.group.secretariat is True


def test_results_check_report_and_resume_know_the_sets(tmp_path):
    path, calibration = files(tmp_path)
    folder = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "sim.cli", "experiment", str(path),
                             "--posterior", str(calibration), "--sets", "3", "--out",
                             str(folder), "--quiet", "--workers", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["experiment"]["posterior"]["sets"] == 3
    assert len(manifest["experiment"]["posterior"]["values"]) == 3
    assert check_results(folder, sample=8).matches
    report = (folder / "report.md").read_text()
    assert "3 drawn by weight" in report
    # another posterior is another experiment: resuming into the folder is refused
    changed = SETS.assign(**{"group.base_rate": [2.0, 2.5, 3.0]})
    changed.to_parquet(calibration / "posterior.parquet")
    again = subprocess.run([sys.executable, "-m", "sim.cli", "experiment", str(path),
                            "--posterior", str(calibration), "--sets", "3", "--out",
                            str(folder), "--quiet", "--resume"], capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr


@pytest.mark.parametrize("frame, problem", [
    (pd.DataFrame({"group.base_rate": [1.0]}), "weight"),
    (pd.DataFrame({"group.base_rate": [1.0], "weight": [-1.0]}), "weight"),
    (pd.DataFrame({"group.base_rate": ["a"], "weight": [1.0]}), "group.base_rate"),
    (pd.DataFrame({"group.no_such_key": [1.0], "weight": [1.0]}), "no_such_key"),
    (pd.DataFrame({"group.base_rate": [-5.0], "weight": [1.0]}), "base_rate"),
])
def test_a_posterior_that_does_not_fit_is_refused_by_name(tmp_path, frame, problem):
    path, calibration = files(tmp_path, sets=frame)
    with pytest.raises(UserError) as caught:
        with_posterior(load_experiment(path), calibration, sets=2)
    assert "posterior.parquet" in str(caught.value) and problem in str(caught.value)
    result = subprocess.run([sys.executable, "-m", "sim.cli", "experiment", str(path),
                             "--posterior", str(calibration), "--out", str(tmp_path / "x")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_sets_without_a_posterior_is_a_usage_error(tmp_path):
    path, _ = files(tmp_path)
    result = subprocess.run([sys.executable, "-m", "sim.cli", "experiment", str(path),
                             "--sets", "3", "--out", str(tmp_path / "x")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--posterior" in result.stderr
    assert not (tmp_path / "x").exists()
