"""Running experiments: same results whatever the execution, safe interruption and resume."""

import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
from conftest import wait_for
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import UserError
from sim.experiments import execution as runner
from sim.experiments.design import load_experiment
from sim.experiments.execution import execute

EXPERIMENT = """\
[experiment]
name = "small"
scenario = "mikta"
years = {years}
replicates = {replicates}
seed = 3
engine = "{engine}"
chunk_size = {chunk}

[factors]
"group.secretariat" = [false, true]
"world.rival_pull" = [0.0, 2.0]
"""


def experiment_file(tmp_path, years=10, replicates=12, engine="fast", chunk=7):
    path = tmp_path / "small.toml"
    path.write_text(EXPERIMENT.format(years=years, replicates=replicates, engine=engine,
                                      chunk=chunk))
    return path


def cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def runs_of(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").sort_values("run_id").reset_index(drop=True)


def test_results_are_identical_with_1_or_2_workers_and_on_dask(tmp_path):
    spec = load_experiment(experiment_file(tmp_path))
    one = execute(spec, tmp_path / "one", workers=1)
    two = execute(spec, tmp_path / "two", workers=2)
    dask = execute(spec, tmp_path / "dask", workers=2, backend="dask")
    assert one.total == 48 and not one.failed
    reference = runs_of(tmp_path / "one")
    assert len(reference) == 48 and reference["run_id"].is_unique
    pd.testing.assert_frame_equal(reference, runs_of(tmp_path / "two"))
    pd.testing.assert_frame_equal(reference, runs_of(tmp_path / "dask"))
    assert two.workers == 2 and dask.backend == "dask"


def test_chunking_does_not_change_results(tmp_path):
    a = load_experiment(experiment_file(tmp_path, chunk=5))
    execute(a, tmp_path / "a", workers=1)
    b = load_experiment(experiment_file(tmp_path, chunk=48))
    execute(b, tmp_path / "b", workers=1)
    pd.testing.assert_frame_equal(runs_of(tmp_path / "a"), runs_of(tmp_path / "b"))


def test_runs_table_has_identifiers_factors_and_summary(tmp_path):
    spec = load_experiment(experiment_file(tmp_path))
    execute(spec, tmp_path / "r", workers=1)
    runs = runs_of(tmp_path / "r")
    for column in ("run_id", "point_id", "replicate", "seed", "group.secretariat",
                   "world.rival_pull", "outcome", "death_quarter", "death_cause",
                   "first_zombie_quarter", "zombie_quarters", "revivals", "exits", "vacancies",
                   "total_outputs", "rival_joins", "failed"):
        assert column in runs.columns
    assert set(runs["outcome"]) <= {"alive", "zombie", "dead"}
    assert (runs.loc[runs["world.rival_pull"] == 0.0, "rival_joins"] == 0).all()
    crn = runs.groupby("replicate")["seed"].nunique()
    assert (crn == 1).all()
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["counts"]["runs"] == 48
    for key in ("version", "hash", "experiment", "scenario", "seeds", "backend", "workers",
                "started", "finished", "command", "counts"):
        assert key in manifest


def test_timeseries_are_written_partitioned_by_point(tmp_path):
    spec = load_experiment(experiment_file(tmp_path, replicates=3))
    execute(spec, tmp_path / "t", workers=1, timeseries=True)
    series = pd.read_parquet(tmp_path / "t" / "timeseries.parquet")
    runs = runs_of(tmp_path / "t")
    quarters = runs["death_quarter"].fillna(39).astype(int) + 1
    assert len(series) == int(quarters.sum()) * 5
    assert sorted(os.listdir(tmp_path / "t" / "timeseries.parquet")) == [
        f"point_id={p}" for p in range(4)]
    assert set(series["run_id"]) == set(runs["run_id"])


def test_existing_results_are_kept_unless_resume_or_force(tmp_path):
    spec = load_experiment(experiment_file(tmp_path))
    execute(spec, tmp_path / "x", workers=1)
    before = runs_of(tmp_path / "x")
    with pytest.raises(UserError, match="already holds results"):
        execute(spec, tmp_path / "x", workers=1)
    pd.testing.assert_frame_equal(before, runs_of(tmp_path / "x"))
    again = execute(spec, tmp_path / "x", workers=1, resume=True)
    assert again.computed == 0 and again.done_before == 48
    other = load_experiment(experiment_file(tmp_path), replicates=5)
    with pytest.raises(UserError, match="different experiment"):
        execute(other, tmp_path / "x", workers=1, resume=True)
    forced = execute(other, tmp_path / "x", workers=1, force=True)
    assert forced.total == 20 and len(runs_of(tmp_path / "x")) == 20


def test_a_damaged_chunk_is_detected_and_redone(tmp_path):
    spec = load_experiment(experiment_file(tmp_path))
    execute(spec, tmp_path / "d", workers=1)
    reference = runs_of(tmp_path / "d")
    parts = sorted((tmp_path / "d" / "runs.parquet").iterdir())
    data = parts[1].read_bytes()
    parts[1].write_bytes(data[: len(data) // 2])  # a half-written file
    parts[3].unlink()  # a chunk never written
    (tmp_path / "d" / "runs.parquet" / ".part-000005.parquet.99.tmp").write_bytes(b"junk")
    result = execute(spec, tmp_path / "d", workers=1, resume=True)
    assert result.computed == 14  # two chunks of 7
    pd.testing.assert_frame_equal(reference, runs_of(tmp_path / "d"))


def test_killed_halfway_and_resumed_equals_uninterrupted(tmp_path):
    path = experiment_file(tmp_path, years=10, replicates=25, engine="mesa", chunk=4)
    execute(load_experiment(path), tmp_path / "whole", workers=1)
    process = cli("experiment", path, "--out", tmp_path / "killed", "--workers", "1", "--quiet")
    parts = tmp_path / "killed" / "runs.parquet"
    wait_for(lambda: len(list(parts.glob("part-*.parquet"))) >= 5, "five chunks written",
             process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(list(parts.iterdir()))
    assert 5 <= done < 25, "the kill should land halfway"
    resumed = cli("experiment", path, "--out", tmp_path / "killed", "--resume", "--quiet")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    whole, killed = runs_of(tmp_path / "whole"), runs_of(tmp_path / "killed")
    assert killed["run_id"].is_unique and len(killed) == 100
    pd.testing.assert_frame_equal(whole, killed)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    path = experiment_file(tmp_path, years=10, replicates=50, engine="mesa", chunk=4)
    process = cli("experiment", path, "--out", tmp_path / "int", "--workers", "2", "--quiet")
    parts = tmp_path / "int" / "runs.parquet"
    wait_for(lambda: len(list(parts.glob("part-*.parquet"))) >= 3, "three chunks written",
             process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "--resume" in stderr and "interrupted" in stderr
    manifest = json.loads((tmp_path / "int" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    finished = cli("experiment", path, "--out", tmp_path / "int", "--resume", "--quiet")
    finished.communicate(timeout=300)
    assert finished.returncode == 0 and len(runs_of(tmp_path / "int")) == 200


def test_a_failing_run_is_recorded_and_the_rest_goes_on(tmp_path, monkeypatch):
    real = runner.scenario_for

    def flaky(experiment, values, posterior_set=0):
        if values["world.rival_pull"] == 2.0 and values["group.secretariat"]:
            raise RuntimeError("deliberate failure")
        return real(experiment, values, posterior_set)

    monkeypatch.setattr(runner, "scenario_for", flaky)
    path = experiment_file(tmp_path)
    result = CliRunner().invoke(app, ["experiment", str(path), "--out", str(tmp_path / "f"),
                                      "--workers", "1", "--quiet"])
    assert result.exit_code == 1
    runs = runs_of(tmp_path / "f")
    failed = runs[runs["failed"]]
    assert len(failed) == 12 and failed["outcome"].isna().all()
    assert runs.loc[~runs["failed"], "outcome"].notna().all()
    errors = [json.loads(line) for line in (tmp_path / "f" / "errors.jsonl").read_text()
              .splitlines()]
    assert len(errors) == 12 and "deliberate failure" in errors[0]["error"]
    assert "Traceback" in errors[0]["traceback"]
    assert sorted(e["run_id"] for e in errors) == sorted(failed["run_id"])


@pytest.mark.parametrize("args, message", [
    (["--backend", "cloud"], "unknown backend"),
    (["--scheduler", "tcp://x:1"], "--scheduler needs --backend dask"),
    (["--resume", "--force"], "exclude each other"),
])
def test_bad_options_exit_2_before_any_run(tmp_path, args, message):
    process = cli("experiment", experiment_file(tmp_path), "--out", tmp_path / "o", *args)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and message in " ".join(stderr.split())
    assert not (tmp_path / "o" / "runs.parquet").exists()


def test_bad_experiment_file_exits_2_before_any_run(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(EXPERIMENT.format(years=5, replicates=0, engine="fast", chunk=0))
    process = cli("experiment", path, "--out", tmp_path / "o")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "experiment.replicates" in stderr
    assert "Traceback" not in stderr and not (tmp_path / "o").exists()


def test_every_run_uses_the_seed_its_row_records_when_all_factors_are_numbers(tmp_path):
    from sim.experiments.design import scenario_for
    from sim.model.simulation import simulate

    path = tmp_path / "numeric.toml"  # float and int factors only: a row read whole is floats
    path.write_text('[experiment]\nname = "numeric"\nscenario = "mikta"\nyears = 12\n'
                    'replicates = 10\nseed = 5\nengine = "fast"\n[factors]\n'
                    '"members.*.budget_trend" = [-0.08, 0.0]\n"group.agenda_breadth" = [3, 7]\n')
    experiment = load_experiment(path)
    execute(experiment, tmp_path / "out", workers=1)
    runs = runs_of(tmp_path / "out")
    assert runs["seed"].max() > 2**53  # seeds a float cannot hold exactly
    for _, part in runs.groupby("point_id"):
        values = {k: part[k].iloc[0].item() for k in experiment.factor_keys}
        again = simulate(scenario_for(experiment, values), part["seed"].tolist())
        assert [s["outcome"] for s in again.summaries] == part["outcome"].tolist()
        assert [s["total_outputs"] for s in again.summaries] == part["total_outputs"].tolist()
