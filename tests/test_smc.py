"""ABC-SMC with pyabc over case records: the posterior as a file, progress, resuming."""

import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.inference.joint import load_joint
from sim.inference.joint_fit import calibrate_joint
from sim.inference.smc import (
    UNREACHED,
    Generation,
    _Progress,
    generations,
    posterior_generation,
    posterior_sets,
    run_smc,
    scale_mad_or_sd,
)

SMALL = """
[calibration]
cases = ["mikta", "ibsa"]
method = "smc"
population_size = 10
max_populations = MAXPOP
max_simulations = 2000
seed = 5
predictive_runs = 1
[priors]
"group.base_rate" = { min = 1.0, max = 6.0 }
"members.*.initial_engagement" = { min = 0.1, max = 0.7 }
"""


def write(tmp_path: Path, max_populations: int = 2, extra: str = "") -> Path:
    path = tmp_path / "smc.toml"
    path.write_text(SMALL.replace("MAXPOP", str(max_populations)) + extra)
    return path


def minilat(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_the_scale_is_the_mad_or_else_the_sd():
    samples = np.array([[1.0, 0.0, 5.0], [2.0, 0.0, 5.0], [3.0, 0.0, 5.0], [10.0, 1.0, 5.0]])
    scales = scale_mad_or_sd(samples)
    assert scales[0] == pytest.approx(1.0 * 1.4826)  # median 2.5, deviations .5 .5 1.5 7.5
    assert scales[1] == pytest.approx(np.std([0, 0, 0, 1.0]))  # MAD 0: the sd
    assert scales[2] == 0  # never varies: left out by pyabc (weight 0)


def test_a_statistic_the_runs_cannot_give_neither_sets_the_scale_nor_passes_for_near():
    samples = np.array([[1.0, UNREACHED], [2.0, UNREACHED], [3.0, UNREACHED], [UNREACHED] * 2])
    scales = scale_mad_or_sd(samples)
    assert scales[0] == pytest.approx(1.0 * 1.4826)  # the three runs that give it
    assert scales[1] == 1.0  # no run gives it: every set is equally far
    assert np.isfinite(scales).all()


def test_the_posterior_is_the_last_generation_with_enough_effective_sets():
    table = pd.DataFrame({"t": [0, 1, 2, 3], "ess": [200.0, 120.0, 61.0, 11.0]})
    assert posterior_generation(table, 50) == 2
    assert posterior_generation(table.assign(ess=[200.0, 120.0, 61.0, 55.0]), 50) == 3
    # no generation has enough: the last one, and the report says nothing is identified
    assert posterior_generation(table.assign(ess=[9.0, 8.0, 7.0, 6.0]), 50) == 3


def test_progress_reads_pyabc_s_lines_of_a_generation():
    seen: list[Generation] = []
    handler = _Progress(seen.append)

    def log(message):
        handler.emit(logging.LogRecord("ABC", logging.INFO, "", 0, message, None, None))

    log("t: 3, eps: 1.50799263e+00.")
    log("Accepted: 200 / 1600 = 1.2500e-01, ESS: 1.8034e+02.")
    log("Timing t=3 [s]: total=1.2")  # other lines are not progress
    log("Accepted: nonsense")  # and a line of another form never stops the run
    assert seen == [Generation(3, pytest.approx(1.50799263), 1600, 200, pytest.approx(180.34))]
    assert seen[0].acceptance_rate == pytest.approx(0.125)


def test_a_bad_method_is_named(tmp_path):
    path = write(tmp_path)
    path.write_text(path.read_text().replace('method = "smc"', 'method = "mcmc"'))
    with pytest.raises(InputError) as info:
        load_joint(path)
    assert "calibration.method" in str(info.value) and "rejection" in str(info.value)


def test_same_seed_same_posterior_on_one_worker_or_two(tmp_path):
    calibration = load_joint(write(tmp_path))
    a = calibrate_joint(calibration, workers=1, folder=tmp_path / "a")
    b = calibrate_joint(calibration, workers=2, folder=tmp_path / "b")
    pd.testing.assert_frame_equal(a.sets, b.sets)
    pd.testing.assert_frame_equal(a.generations, b.generations)
    assert len(a.generations) == 2 and a.method == "smc"
    assert a.sets["weight"].sum() == pytest.approx(1.0)
    # every simulation counts: the prior sample that calibrates the distance (t = -1) too
    assert a.simulations == a.generations["simulations"].sum() + 10


def test_the_command_writes_the_posterior_as_a_file(tmp_path):
    path, out = write(tmp_path), tmp_path / "out"
    result = minilat("calibrate", path, "--out", out, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "generation 0: tolerance" in result.stdout and "generation 1:" in result.stdout
    assert "ABC INFO" not in result.stdout + result.stderr  # pyabc's own console lines
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert list(posterior.columns) == ["group.base_rate", "members.*.initial_engagement",
                                       "weight"]
    assert len(posterior) == 10 and posterior["weight"].sum() == pytest.approx(1.0)
    assert posterior["group.base_rate"].between(1.0, 6.0).all()
    generations = pd.read_csv(out / "generations.csv")
    assert generations["t"].tolist() == [0, 1]
    assert (generations["accepted"] == 10).all()
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["method"] == "smc" and summary["cases"] == ["mikta", "ibsa"]
    # 10 sets a generation never make 50 effective ones: the posterior is the last generation
    assert generations["posterior"].tolist() == [False, True]
    assert summary["posterior_generation"] == 1
    assert (out / "history.db").is_file() and (out / "pairs.png").stat().st_size > 0


def _generations_stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as connection:
            return connection.execute("select count(*) from populations where t >= 0"
                                      ).fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A calibration of three generations run through once: its file and its history's
    generations and posterior."""
    folder = tmp_path_factory.mktemp("whole")
    path = write(folder, max_populations=3)
    calibration = load_joint(path)
    history = run_smc(calibration, folder / "out", workers=1)
    return path, generations(history), posterior_sets(calibration, history)


# Runs the calibration FILE into FOLDER with one worker and kills itself with SIGKILL at a point
# it can name: before its Nth batch of parameter sets is run (N = 1: in the prior sample that
# calibrates the distance), or once generation T is stored.
KILLED_AT = """\
import os, signal, sys
from pathlib import Path
from sim.inference import smc
from sim.inference.joint import load_joint

path, folder, point, number = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
batches = [0]
simulate = smc.JointModel.simulate

def counted(self, *args, **kwargs):
    batches[0] += 1
    if point == "batch" and batches[0] == number:
        os.kill(os.getpid(), signal.SIGKILL)
    return simulate(self, *args, **kwargs)

def stored(generation):
    if point == "generation" and generation.t == number:
        os.kill(os.getpid(), signal.SIGKILL)

smc.JointModel.simulate = counted
smc.run_smc(load_joint(path), folder, workers=1, report=stored)
"""


@pytest.mark.parametrize(("point", "number", "workers", "stored"), [
    ("batch", 1, 1, 0),  # in the prior sample that calibrates the distance
    ("batch", 3, 1, 0),  # in generation 0
    ("generation", 0, 1, 1),  # between generations
    ("generation", 0, 2, 1),  # ... and resumed on two workers
    ("batch", 5, 1, 1),  # in generation 1
    ("generation", 1, 1, 2),
])
def test_a_calibration_killed_at_any_point_resumes_to_the_uninterrupted_posterior(
        tmp_path, uninterrupted, point, number, workers, stored):
    path, whole_generations, whole_posterior = uninterrupted
    folder = tmp_path / "out"
    killed = subprocess.run([sys.executable, "-c", KILLED_AT, str(path), str(folder), point,
                             str(number)], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _generations_stored(folder / "history.db") == stored
    calibration = load_joint(path)
    history = run_smc(calibration, folder, workers=workers, resume=True)
    pd.testing.assert_frame_equal(generations(history), whole_generations)
    pd.testing.assert_frame_equal(posterior_sets(calibration, history), whole_posterior)


def test_a_calibration_killed_mid_generation_resumes_from_its_history(tmp_path,
                                                                       uninterrupted):
    path, whole_generations, whole_posterior = uninterrupted
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "calibrate", str(path),
                                "--out", str(out), "--workers", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:  # generation 0 is printed once it is stored
        lines.append(line)
        if line.startswith("generation 0:"):
            break
    assert process.poll() is None, (lines, process.communicate())
    os.kill(process.pid, signal.SIGKILL)  # in generation 1 (or later), mid-way
    process.communicate()
    stored = _generations_stored(out / "history.db")
    assert 1 <= stored < 3
    with sqlite3.connect(out / "history.db") as connection:
        first = connection.execute("select epsilon from populations where t = 0").fetchone()[0]
    # without --resume the folder is kept, not overwritten
    refused = minilat("calibrate", path, "--out", out, "--workers", "1")
    assert refused.returncode == 2 and "--force" in refused.stderr
    resumed = minilat("calibrate", path, "--out", out, "--workers", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    resumed_generations = pd.read_csv(out / "generations.csv")
    assert resumed_generations["t"].tolist() == [0, 1, 2]
    assert resumed_generations["epsilon"].iloc[0] == pytest.approx(first)  # kept, not redone
    assert f"generation {stored}:" in resumed.stdout
    # and it ends as a calibration that was never interrupted
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), whole_posterior)
    assert resumed_generations["posterior"].tolist() == [False, False, True]
    pd.testing.assert_frame_equal(resumed_generations[whole_generations.columns],
                                  whole_generations,
                                  check_dtype=False)


def test_resume_needs_the_same_file_and_its_history(tmp_path):
    path, out = write(tmp_path), tmp_path / "out"
    missing = minilat("calibrate", path, "--out", out, "--resume")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert minilat("calibrate", path, "--out", out, "--workers", "1").returncode == 0
    path.write_text(path.read_text().replace("max = 6.0", "max = 7.0"))
    changed = minilat("calibrate", path, "--out", out, "--resume")
    assert changed.returncode == 2 and "differs" in changed.stderr
    rejection = minilat("calibrate", path, "--out", tmp_path / "r", "--resume", "--method",
                        "rejection")
    assert rejection.returncode == 2 and "smc" in rejection.stderr


RECOVERY = """
[calibration]
cases = ["mikta"]
method = "smc"
population_size = 30
max_populations = 3
max_simulations = 600
seed = 11
predictive_runs = 1
[priors]
"group.base_rate" = { min = 1.0, max = 6.0 }
"group.standby" = { min = 0.0, max = 0.3 }
"""


def test_recovery_of_known_truths_covers_them_and_learns_the_base_rate(tmp_path):
    """Records made by the model from values drawn from the prior, fitted by the shipped method:
    the truths fall inside the posterior's intervals about as often as they should, and the
    base rate's posterior median is nearer the truth than the prior's."""
    from sim.inference.recovery import coverage, recover

    path = tmp_path / "recovery.toml"
    path.write_text(RECOVERY)
    table = recover(load_joint(path), 6, seed=3)
    assert len(table) == 12 and set(table["parameter"]) == {"group.base_rate", "group.standby"}
    shares = coverage(table)
    assert list(shares.index) == ["group.base_rate", "group.standby", "all"]
    assert shares.loc["all", "90%"] >= 0.6 and 0.15 <= shares.loc["all", "50%"] <= 0.9
    rate = table[table["parameter"] == "group.base_rate"]
    assert (rate["median"] - rate["truth"]).abs().mean() < \
        0.6 * (3.5 - rate["truth"]).abs().mean()
    assert ((rate["high_0.9"] - rate["low_0.9"]) / 5.0).mean() < 0.7  # narrower than the prior


def test_the_bench_line_compares_both_methods_on_the_same_budget(tmp_path):
    from sim.bench import bench_calibration

    lines = bench_calibration(write(tmp_path), sets=300, workers=1)
    rates = {}
    for line in lines[:2]:
        label = "smc" if line.startswith("ABC-SMC") else "rejection"
        rate, sets = re.search(r"([\d,.]+) sets/s  \(([\d,]+) parameter sets", line).groups()
        rates[label] = float(rate.replace(",", ""))
        assert (int(sets.replace(",", "")) == 300) if label == "rejection" else \
            int(sets.replace(",", "")) >= 300
    ratio = float(re.search(r"rejection: ([\d.]+)x", lines[2]).group(1))
    assert ratio == pytest.approx(rates["smc"] / rates["rejection"], abs=0.01)
