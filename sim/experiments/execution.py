"""Executing an experiment: chunks of runs on local processes or a Dask cluster, streamed to disk.

The chunks go to the evaluators of `sim.experiments.evaluation`, as every other evaluation does.

Workers compute a chunk and hand back small tables; the driver writes each finished chunk at
once, so memory stays bounded by the chunks in flight, not by the number of runs. A run that
raises is recorded (`errors.jsonl`, its row marked failed) and the experiment goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from sim.errors import path_argument, typed_argument
from sim.experiments.design import (
    Experiment,
    automatic_chunk_size,
    chunk_bounds,
    experiment_hash,
    experiment_runs,
    load_experiment,
    run_table,
    scenario_for,
)
from sim.experiments.evaluation import check_execution, evaluator, simulate_capturing
from sim.experiments.posterior import SET_COLUMN
from sim.experiments.storage import FolderLock, ResultsFolder, environment
from sim.model.outcomes import SUMMARY_KEYS
from sim.model.scenario_files import scenario_as_dict
from sim.model.tape import TAPE_VERSION

SUMMARY_TYPES = {
    "outcome": pa.string(), "death_quarter": pa.int64(), "death_cause": pa.string(),
    "first_zombie_quarter": pa.int64(), "zombie_quarters": pa.int64(), "revivals": pa.int64(),
    "exits": pa.int64(), "vacancies": pa.int64(), "chair_repeats": pa.int64(),
    "total_outputs": pa.int64(),
    "rival_joins": pa.int64(),
}
FACTOR_TYPES = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64()}


def runs_schema(run_columns: pd.DataFrame) -> pa.Schema:
    """Arrow schema of runs.parquet: identifiers, factors, summary keys, `failed`."""
    fields = [pa.field(name, pa.int64()) for name in ("run_id", "point_id", "replicate", "seed")]
    for column in run_columns.columns[4:]:
        fields.append(pa.field(column, FACTOR_TYPES[str(run_columns[column].dtype)]))
    fields += [pa.field(key, kind) for key, kind in SUMMARY_TYPES.items()]
    fields.append(pa.field("failed", pa.bool_()))
    return pa.schema(fields)


# ------------------------------------------------------------------------------ one chunk


@dataclass(frozen=True)
class ChunkTask:
    """A chunk of runs to compute: what a worker receives."""

    index: int
    experiment: Experiment
    runs: pd.DataFrame
    timeseries: bool


@dataclass
class ChunkResult:
    index: int
    runs: pd.DataFrame
    timeseries: pd.DataFrame | None
    errors: list[dict[str, Any]]
    seconds: float


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Compute every run of a chunk; a run that raises is marked failed, not fatal."""
    start = time.perf_counter()
    experiment, runs = task.experiment, task.runs
    keys = experiment.factor_keys
    scenarios: dict[tuple[int, int], Any] = {}  # by (point, parameter set)
    errors: list[dict[str, Any]] = []
    records: list[dict[str, Any] | None] = [None] * len(runs)
    trajectories: list[Any] = [None] * len(runs)

    def cell(column: str, i: int) -> Any:
        """One value in its column's own type (a row of mixed columns would be cast to float,
        which rounds 64-bit seeds)."""
        return runs[column].iat[i]

    def fail(i: int, exc: BaseException) -> None:
        errors.append({"run_id": int(cell("run_id", i)), "point_id": int(cell("point_id", i)),
                       "replicate": int(cell("replicate", i)), "seed": int(cell("seed", i)),
                       "error": f"{type(exc).__name__}: {exc}",
                       "traceback": "".join(traceback.format_exception(exc))})

    sets = runs[SET_COLUMN] if experiment.posterior is not None else None

    def scenario(i: int):
        key = (int(cell("point_id", i)), int(sets.iat[i]) if sets is not None else 0)
        if key not in scenarios:
            scenarios[key] = scenario_for(experiment, {k: cell(k, i) for k in keys}, key[1])
        return scenarios[key]

    prepared = []
    for i in range(len(runs)):
        try:
            prepared.append((i, scenario(i)))
        except Exception as exc:  # a design point the model refuses: record it, go on
            fail(i, exc)
    if prepared:
        _simulate(prepared, runs, records, trajectories, experiment.engine, task.timeseries,
                  fail)
    return ChunkResult(task.index, _runs_frame(runs, records),
                       _series_frame(runs, trajectories, scenarios) if task.timeseries
                       else None, errors, time.perf_counter() - start)


def _simulate(prepared, runs, records, trajectories, engine: str, record: bool,
              fail: Callable) -> None:
    """All prepared runs in one call; if it raises, one by one, to record the culprit."""
    seeds = [int(runs["seed"].iat[i]) for i, _ in prepared]
    done, failed = simulate_capturing([s for _, s in prepared], seeds, engine, record)
    for k, (i, _) in enumerate(prepared):
        if k in failed:
            fail(i, failed[k])
            continue
        records[i] = done.summaries[k]
        trajectories[i] = done.trajectories[k] if record else None


def _runs_frame(runs: pd.DataFrame, records: list[dict | None]) -> pd.DataFrame:
    frame = runs.reset_index(drop=True).copy()
    empty = {key: None for key in SUMMARY_KEYS}
    summary = pd.DataFrame([r if r is not None else empty for r in records],
                           columns=list(SUMMARY_KEYS))
    for key in SUMMARY_TYPES:
        frame[key] = summary[key].to_numpy()
    frame["failed"] = [r is None for r in records]
    return frame


def _series_frame(runs: pd.DataFrame, trajectories: list, scenarios: dict) -> pd.DataFrame:
    parts = []
    for i, trajectory in enumerate(trajectories):
        if trajectory is None:
            continue
        row = runs.iloc[i]
        frame = trajectory.to_frame(scenarios[(int(row.point_id), int(getattr(
            row, SET_COLUMN, 0)))])
        frame.insert(0, "replicate", int(row.replicate))
        frame.insert(0, "point_id", int(row.point_id))
        frame.insert(0, "run_id", int(row.run_id))
        parts.append(frame)
    if not parts:
        return pd.DataFrame({"point_id": pd.Series([], dtype="int64")})
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------ the driver


@dataclass
class Outcome:
    """What an execution did."""

    folder: ResultsFolder
    total: int
    done_before: int
    computed: int
    failed: int
    interrupted: bool
    seconds: float
    workers: int
    backend: str
    damaged: list[str] = dataclasses.field(default_factory=list)  # chunks found damaged, redone


def execute(experiment: Experiment, out: str | os.PathLike, *, workers: int | None = None,
            backend: str = "local", scheduler: str | None = None, resume: bool = False,
            force: bool = False, timeseries: bool = False, progress: Callable | None = None,
            command: list[str] | None = None, version: str = "unknown",
            stage: Callable[[str], None] | None = None) -> Outcome:
    """Run an experiment into a results folder; resumable, streaming, parallel.

    The folder is locked for the whole execution (one writer per folder). `progress(done,
    total)` is called after each chunk (and once at the start); `stage(message)` tells what a
    long preparation is doing before the first run.
    """
    out = path_argument(out, "execute", "out")
    if isinstance(experiment, str | os.PathLike):  # a file, as on the command line
        experiment = load_experiment(experiment)
    typed_argument(experiment, Experiment, "execute", "experiment",
                   "an Experiment (sim.load_experiment) or the path of an experiment file")
    workers = check_execution(backend, workers, scheduler)
    with FolderLock(out):
        folder = ResultsFolder(out)
        if resume and force:
            folder.prepare("", resume, force)  # refused before any worker starts
        engine = evaluator(backend, workers, scheduler)  # a failed start writes nothing
        try:
            return _execute(experiment, folder, engine, backend, scheduler, resume, force,
                            timeseries, progress, command, version, stage)
        except BaseException:
            engine.close(cancel=True)
            raise


def _execute(experiment, folder, engine, backend, scheduler, resume, force, timeseries,
             progress, command, version, stage) -> Outcome:
    workers = engine.workers
    stage = stage or (lambda message: None)
    digest = experiment_hash(experiment, timeseries, version)
    previous = folder.prepare(digest, resume=resume, force=force)
    stage(f"seeds of {experiment_runs(experiment):,} runs")
    runs = run_table(experiment)
    total = len(runs)
    chunk_size = (previous or {}).get("chunks", {}).get("size") or experiment.chunk_size or \
        folder.chunk_size_on_disk(total) or automatic_chunk_size(experiment.engine, total,
                                                                 workers)
    bounds = chunk_bounds(total, chunk_size)
    recorded = dict((previous or {}).get("chunks", {}).get("files") or {})
    if previous:
        stage(f"checksums of {len(recorded) or len(bounds):,} finished chunks")
    done, damaged = folder.done_chunks(bounds, recorded, runs) if previous else (set(), [])
    recorded = {name: entry for name, entry in recorded.items()
                if name in {folder.chunk_name(k) for k in done}}
    done_before = sum(stop - start for k, (start, stop) in enumerate(bounds) if k in done)
    if previous:
        folder.keep_errors_of(r for k in done for r in range(*bounds[k]))
    schema = runs_schema(runs)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest = {
        "project": "minilateral-sim", "version": version, "tape_version": TAPE_VERSION,
        "environment": environment(), "hash": digest,
        "status": "running", "started": (previous or {}).get("started", started),
        "resumed": [*(previous or {}).get("resumed", []), started] if previous else [],
        "finished": None, "backend": backend, "scheduler": scheduler, "workers": workers,
        "engine": experiment.engine, "timeseries": timeseries,
        "command": command if command is not None else sys.argv,
        "experiment": experiment.resolved(), "experiment_file": experiment.source,
        "scenario": _scenario_record(experiment),
        "seeds": _seed_record(experiment),
        "counts": {"runs": total, "points": int(runs["point_id"].nunique()),
                   "replicates": experiment.replicates, "done": done_before, "failed": None},
        "chunks": {"size": chunk_size, "count": len(bounds), "files": recorded},
        "recomputed_damaged": damaged,
    }
    folder.write_manifest(manifest)
    tasks = [ChunkTask(k, experiment, runs.iloc[start:stop].reset_index(drop=True), timeseries)
             for k, (start, stop) in enumerate(bounds) if k not in done]
    clock = time.perf_counter()
    computed = 0
    interrupted = False
    if progress:
        progress(done_before, total)
    stop_on_sigterm = interrupt_on_sigterm()
    try:
        for result in engine.map_unordered(run_chunk, tasks):
            recorded[folder.chunk_name(result.index)] = folder.write_chunk(
                result.index, result.runs, schema, result.timeseries, result.errors)
            computed += len(result.runs)
            manifest["counts"]["done"] = done_before + computed
            folder.write_manifest(manifest)  # the chunk is done: its checksum is on record
            if progress:
                progress(done_before + computed, total)
    except KeyboardInterrupt:
        interrupted = True
        restore_ctrl_c = ignore_ctrl_c()  # a second Ctrl-C must not break the clean stop
    finally:
        engine.close(cancel=interrupted)
        stop_on_sigterm()
    seconds = time.perf_counter() - clock
    failed = _count_failed(folder) if not interrupted else None
    manifest["status"] = "interrupted" if interrupted else "finished"
    manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest["counts"].update(done=done_before + computed, failed=failed)
    manifest["seconds"] = round(seconds, 3)
    manifest["runs_per_second"] = round(computed / seconds, 2) if seconds > 0 else None
    folder.write_manifest(manifest)
    if interrupted:
        restore_ctrl_c()
    return Outcome(folder, total, done_before, computed, failed or 0, interrupted, seconds,
                   engine.workers, backend, damaged)


def interrupt_on_sigterm() -> Callable[[], None]:
    """Until the returned function is called, SIGTERM stops an experiment as Ctrl-C does: the
    workers stop, the manifest says so and the run can be resumed."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def ignore_ctrl_c() -> Callable[[], None]:
    """Ignore Ctrl-C until the returned function is called."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return lambda: signal.signal(signal.SIGINT, previous)


def _seed_record(experiment: Experiment) -> dict:
    return {"experiment_seed": experiment.seed,
            "common_random_numbers": experiment.common_random_numbers,
            "derivation": "numpy SeedSequence(experiment_seed, spawn_key=(0, replicate)) "
                          "with common random numbers, else spawn_key=(1, point_id, "
                          "replicate); first 64-bit word >> 1",
            "per_run": "column `seed` of runs.parquet"}


def _scenario_record(experiment: Experiment) -> dict:
    return {"reference": experiment.scenario_ref, "source": experiment.base.source,
            "resolved": scenario_as_dict(experiment.base)}


def _count_failed(folder: ResultsFolder) -> int:
    table = ds.dataset(folder.runs_dir, format="parquet").to_table(columns=["failed"])
    return int(np.sum(table.column("failed").to_numpy(zero_copy_only=False)))
