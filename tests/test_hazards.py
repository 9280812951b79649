"""Each class of hazard has tests of its own: one writer per folder, names are data, sizes,
numbers, one meaning per key, signals and failures, and the environment."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import wait_for

from sim.errors import InputError, UserError
from sim.experiments.storage import LOCK, FolderLock
from sim.model.files import folder_name_problem
from sim.model.keys import spec_of
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, errors="replace", timeout=timeout,
                          cwd=ROOT, env=None if env is None else {**os.environ, **env})


EXPERIMENT = """\
[experiment]
name = "{name}"
scenario = "mikta"
years = {years}
replicates = {replicates}
seed = 1
engine = "{engine}"
chunk_size = 5

[factors]
"group.secretariat" = [false, true]
"""


def experiment_file(tmp_path, name="hazard", years=6, replicates=10, engine="fast"):
    path = tmp_path / f"{abs(hash((name, years, replicates, engine)))}.toml"
    path.write_text(EXPERIMENT.format(name=name, years=years, replicates=replicates,
                                      engine=engine), encoding="utf-8")
    return path


# ------------------------------------------------------------------ one writer per folder


def _hold(folder: str, ready, release) -> None:
    with FolderLock(folder):
        ready.set()
        release.wait(60)


def test_a_folder_locked_by_another_process_is_refused_with_its_pid(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path / "out"), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(UserError, match=f"in use by process {holder.pid}"), \
                FolderLock(tmp_path / "out"):
            pass
    finally:
        release.set()
        holder.join(30)
    with FolderLock(tmp_path / "out"), FolderLock(tmp_path / "out"):  # free again; nests
        pass


def test_a_killed_holder_never_blocks_the_next_command(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path / "out"), ready, release))
    holder.start()
    assert ready.wait(60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    assert (tmp_path / "out" / LOCK).exists()  # the stale file stays, and does not matter
    with FolderLock(tmp_path / "out"):
        pass


def test_concurrent_writers_into_one_folder_never_mix(tmp_path):
    """Four experiments started at once into one folder: one writes it, the others are
    refused (in use, or already holding results); the manifest matches the rows."""
    out = tmp_path / "shared"
    files = [experiment_file(tmp_path, name=f"writer{k}", replicates=50 + 10 * k)
             for k in range(4)]
    processes = [subprocess.Popen([sys.executable, "-m", "sim.cli", "experiment", f, "--out",
                                   out, "--workers", "1", "--quiet", "--no-report"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=ROOT) for f in files]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    codes = [code for code, _ in results]
    assert codes.count(0) == 1, results
    for code, stderr in results:
        if code:
            assert code == 2 and ("in use by process" in stderr or "already holds" in stderr)
            assert "Traceback" not in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    runs = pd.read_parquet(out / "runs.parquet")
    winner = codes.index(0)
    assert manifest["experiment"]["name"] == f"writer{winner}"
    assert len(runs) == manifest["counts"]["runs"] == 2 * (50 + 10 * winner)
    assert runs["run_id"].is_unique


def test_a_running_experiment_refuses_a_second_command_and_resumes_after_a_kill(tmp_path):
    spec = experiment_file(tmp_path, name="long", years=30, replicates=100, engine="mesa")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "experiment", spec, "--out",
                                out, "--workers", "1", "--quiet", "--no-report"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=ROOT)
    wait_for(lambda: (out / "runs.parquet").exists(), "the experiment to begin", process)
    for argv in (("experiment", spec, "--out", out, "--force"), ("report", out),
                 ("experiment", spec, "--out", out, "--resume")):
        refused = cli(*argv)
        assert refused.returncode == 2, refused.stderr
        assert f"in use by process {process.pid}" in refused.stderr
    assert (out / "runs.parquet").exists()  # --force did not delete anything
    process.kill()
    process.wait(30)
    resumed = cli("experiment", spec, "--out", out, "--resume", "--quiet", "--no-report",
                  "--replicates", "100")
    assert resumed.returncode == 0, resumed.stderr


# ------------------------------------------------------------------ names are data


@pytest.mark.parametrize("name", ["../escape", "a/b", "a\\b", "..", ".", "", "bell\x07",
                                  "con", "NUL.txt", "x" * 101, " padded", "trailing.",
                                  "what?", "new\nline"])
def test_a_name_that_cannot_be_a_folder_is_refused(tmp_path, name):
    assert folder_name_problem(name) is not None
    path = tmp_path / "bad.toml"
    path.write_text(EXPERIMENT.format(name=name.replace("\\", "\\\\").replace("\n", "\\n")
                                      .replace("\x07", "\\u0007"), years=2, replicates=10,
                                      engine="fast"), encoding="utf-8")
    done = cli("experiment", path, "--workers", "1", "--quiet")
    assert done.returncode == 2, done.stderr
    assert "experiment.name" in done.stderr and "Traceback" not in done.stderr
    assert not (ROOT / "results" / name).exists() or name in ("", ".", "..")


@pytest.mark.parametrize("name", ["mikta-2026", "Budget vs secretariat (2)", "é-ü", "a.b+c_d"])
def test_ordinary_names_are_accepted(name):
    assert folder_name_problem(name) is None


def test_claims_and_calibration_names_are_checked(tmp_path):
    claims = tmp_path / "claims.toml"
    claims.write_text('[claims]\nname = "../../x"\nreplicates = 10\nyears = 2\n\n[[claim]]\n'
                      'id = 1\n  [[claim.contrast]]\n  treatment = { "group.secretariat" = true'
                      ' }\n  expect = { dead = "lower" }\n', encoding="utf-8")
    done = cli("claims", claims, "--workers", "1")
    assert done.returncode == 2 and "claims.name" in done.stderr
    calibration = (ROOT / "experiments" / "mikta-calibration.toml").read_text(encoding="utf-8")
    bad = tmp_path / "calibration.toml"
    bad.write_text(calibration.replace('name = "', 'name = "sub/', 1).replace(
        '"../seeds/', f'"{ROOT}/seeds/'), encoding="utf-8")
    done = cli("calibrate", bad, "--workers", "1")
    assert done.returncode == 2 and "calibration.name" in done.stderr, done.stderr


# ------------------------------------------------------------------ sizes


def test_sizes_that_cannot_fit_in_memory_are_refused_before_any_work(tmp_path):
    huge = experiment_file(tmp_path, replicates=10**11)
    done = cli("experiment", huge, "--out", tmp_path / "out", timeout=120)  # bounds a hang
    assert done.returncode == 2 and "of memory" in done.stderr and "at most about" in done.stderr
    assert not (tmp_path / "out").exists()
    done = cli("experiment", experiment_file(tmp_path), "--replicates", str(10**11),
               "--out", tmp_path / "out")
    assert done.returncode == 2 and "--replicates" in done.stderr
    done = cli("run", "mikta", "--runs", str(10**12), "--engine", "fast")
    assert done.returncode == 2 and "--runs" in done.stderr and "of memory" in done.stderr
    done = cli("claims", "experiments/claims.toml", "--replicates", str(10**11))
    assert done.returncode == 2 and "of memory" in done.stderr
    done = cli("calibrate", "experiments/mikta-calibration.toml", "--draws", str(10**12))
    assert done.returncode == 2 and "--draws" in done.stderr and "of memory" in done.stderr


def test_a_grid_too_large_is_refused_without_building_it(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(EXPERIMENT.format(name="grid", years=2, replicates=10, engine="fast")
                    + '"members.*.crisis_rate" = { min = 0.0, max = 1.0, steps = 100000 }\n'
                    + '"members.*.crisis_depth" = { min = 0.0, max = 1.0, steps = 100000 }\n',
                    encoding="utf-8")
    done = cli("experiment", path, "--out", tmp_path / "out", timeout=60)
    assert done.returncode == 2 and "of memory" in done.stderr


# ------------------------------------------------------------------ numbers


def _limits():
    scenario = load_scenario("mikta")
    for section, cls_keys in (("group", scenario.group), ("world", scenario.world),
                              ("members.*", scenario.members[0])):
        import dataclasses

        for f in dataclasses.fields(cls_keys):
            key = f"{section}.{f.name}"
            try:
                kind, spec = spec_of(key)
            except Exception:
                continue
            if kind not in (int, float):
                continue
            for bound in (spec.low, spec.high):
                if bound is None:
                    continue
                value = kind(bound)
                if spec.low_open and bound == spec.low:
                    value = bound + (1 if kind is int else 1e-9)
                if getattr(spec, "high_open", False) and bound == spec.high:
                    value = bound - (1 if kind is int else 1e-9)
                yield key, value


LIMITS = sorted(set(_limits()), key=str)


@pytest.mark.parametrize(("key", "value"), LIMITS, ids=[f"{k}={v:g}" for k, v in LIMITS])
def test_every_parameter_at_its_limits_gives_finite_non_negative_counts(key, value):
    try:
        scenario = with_overrides(load_scenario("mikta"), {key: value}, years=12)
    except InputError as exc:  # a limit that contradicts the scenario is refused, by name
        assert key in str(exc)
        return
    runs = simulate(scenario, list(range(40)), engine="fast", record=True)
    frame = pd.DataFrame(runs.summaries)
    for column in ("zombie_quarters", "revivals", "exits", "vacancies", "total_outputs",
                   "rival_joins"):
        assert frame[column].ge(0).all(), column
    for trajectory in runs.trajectories[:5]:
        for name in trajectory.series:
            values = np.asarray(trajectory.upto(name), dtype=float)
            assert np.isfinite(values).all(), (name, key, value)


def test_all_parameters_at_their_limits_together_run():
    by_key: dict[str, list] = {}
    for key, value in LIMITS:
        if key != "group.min_members":  # bounded by the founding members, tested above
            by_key.setdefault(key, []).append(value)
    for side in (min, max):
        overrides = {key: side(values) for key, values in by_key.items()}
        scenario = with_overrides(load_scenario("mikta"), overrides, years=10)
        frame = pd.DataFrame(simulate(scenario, list(range(20)), engine="fast").summaries)
        assert frame["total_outputs"].ge(0).all()
        assert frame["outcome"].isin(["alive", "zombie", "dead"]).all()


# ------------------------------------------------------------------ one meaning per key


def test_a_key_given_twice_in_a_file_is_refused(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text(EXPERIMENT.format(name="twice", years=2, replicates=10, engine="fast")
                    .replace("seed = 1\n", "seed = 1\nseed = 2\n"), encoding="utf-8")
    done = cli("experiment", path)
    assert done.returncode == 2 and "line" in done.stderr and "Traceback" not in done.stderr


def test_a_set_option_given_twice_is_refused():
    done = cli("run", "mikta", "--set", "group.secretariat=true", "--set",
               "group.secretariat=false")
    assert done.returncode == 2 and "group.secretariat" in done.stderr


def test_relative_paths_resolve_against_the_file_that_names_them(tmp_path):
    (tmp_path / "sub").mkdir()
    scenario = (ROOT / "sim" / "model" / "scenarios" / "mikta.toml").read_text(
        encoding="utf-8").replace('name = "mikta"', 'name = "local-copy"', 1)
    (tmp_path / "sub" / "local.toml").write_text(scenario, encoding="utf-8")
    path = tmp_path / "sub" / "exp.toml"
    path.write_text(EXPERIMENT.format(name="rel", years=2, replicates=10, engine="fast")
                    .replace('scenario = "mikta"', 'scenario = "local.toml"'), encoding="utf-8")
    done = cli("experiment", path, "--out", tmp_path / "out", "--quiet", "--no-report",
               "--workers", "1")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario"]["resolved"]["scenario"]["name"] == "local-copy"


# ------------------------------------------------------------------ signals and failures


def test_a_second_ctrl_c_still_leaves_a_resumable_folder(tmp_path):
    spec = experiment_file(tmp_path, name="ctrlc", years=10, replicates=200, engine="mesa")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "experiment", spec, "--out",
                                out, "--workers", "2", "--quiet", "--no-report"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=ROOT)
    wait_for(lambda: (out / "runs.parquet").exists(), "the experiment to begin", process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)  # spacing, not a wait: the second Ctrl-C may come at any moment after
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, (stdout, stderr, sorted(p.name for p in out.iterdir()))
    assert "Traceback" not in stderr and "--resume" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    resumed = cli("experiment", spec, "--out", out, "--resume", "--quiet", "--no-report")
    assert resumed.returncode == 0, resumed.stderr


def test_a_failed_start_leaves_no_folder_that_blocks_the_next_run(tmp_path):
    out = tmp_path / "out"
    failed = cli("experiment", experiment_file(tmp_path), "--out", out, "--backend", "dask",
                 "--scheduler", "tcp://127.0.0.1:9", "--quiet")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    done = cli("experiment", experiment_file(tmp_path), "--out", out, "--quiet", "--no-report",
               "--workers", "1")
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ the environment


@pytest.mark.parametrize("env", [  # each a user's setting that once broke a finished run
    {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C", "COLUMNS": "20", "TERM": "dumb"},
    {"PYTHONIOENCODING": "latin-1", "MPLBACKEND": "no-such-backend"},
    {"LC_ALL": "tr_TR.UTF-8", "LANG": "tr_TR.UTF-8", "HOME": "/nonexistent",
     "MPLCONFIGDIR": "/nonexistent/mpl"},
], ids=["ascii-narrow", "latin-1-backend", "locale-no-home"])
def test_the_users_environment_never_turns_a_finished_run_into_a_traceback(tmp_path, env):
    done = cli("run", "mikta", "--years", "3", "--out", tmp_path / "run", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "run.png").exists()
    done = cli("experiment", experiment_file(tmp_path), "--out", tmp_path / "exp",
               "--workers", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "exp" / "report.html").exists()
    bad = cli("run", "no-such-scenario–é", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_long_preparations_say_what_they_are_doing(tmp_path):
    from sim.experiments.design import load_experiment
    from sim.experiments.execution import execute

    spec = load_experiment(experiment_file(tmp_path, replicates=20))
    stages: list[str] = []
    execute(spec, tmp_path / "out", workers=1, stage=stages.append)
    assert stages == ["seeds of 40 runs"]
    stages.clear()
    execute(spec, tmp_path / "out", workers=1, resume=True, stage=stages.append)
    assert stages[0] == "seeds of 40 runs" and stages[1].startswith("checksums of ")


def test_a_command_started_with_ctrl_c_ignored_keeps_ignoring_it():
    """Why conftest's `ctrl_c_reaches_commands` is needed: an ignored Ctrl-C is inherited."""
    code = "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ignored = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    normal = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (ignored.stdout.strip(), normal.stdout.strip()) == ("True", "False")
