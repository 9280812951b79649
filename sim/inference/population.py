"""Running a population: its drawn groups through `evaluate`, chunk by chunk into
`groups.parquet/`, resumable, then its life table, hazards, survival curves, Cox model, causes of
death and the table against the published figures (sim.inference.population_tables).

Each chunk is written as it finishes, with its checksum in `manifest.json`; an interrupted
population resumes where it stopped and ends identical to an uninterrupted one (the groups and
every run's seed derive from the population seed alone).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.experiments.design import automatic_chunk_size, chunk_bounds
from sim.experiments.evaluation import Measure, evaluate, evaluator
from sim.experiments.execution import SUMMARY_TYPES, ignore_ctrl_c, interrupt_on_sigterm
from sim.experiments.storage import (
    FolderLock,
    ResultsFolder,
    environment,
    project_version,
)
from sim.inference import population_tables as tables
from sim.inference.population_draw import Drawn, draw_population, run_seed
from sim.inference.population_file import Population
from sim.inference.population_targets import Reading
from sim.model.params import Scenario
from sim.model.simulation import Runs, joined_summaries
from sim.model.tape import TAPE_VERSION

GROUPS = "groups.parquet"
STATE_LETTERS = np.frombuffer(b"azd", dtype="S1")  # alive, zombie, dead: one letter a year
OUTPUTS = ("life_table.csv", "hazard.csv", "survival.csv", "cox.csv", "causes.csv",
           "targets.csv", "report.md", "report.html")


class YearlyStates(Measure):
    """Each run's summary and its state at the end of each year of age (`states`: one letter a
    year, a alive, z zombie, d dead)."""

    def __call__(self, scenarios: list[Scenario], runs: Runs) -> pd.DataFrame:
        frame = runs.frame()
        if runs.states is None or not len(frame):
            return frame.assign(states=pd.Series([], dtype=object))
        yearly = STATE_LETTERS[runs.states[:, 3::4]]
        frame["states"] = yearly.view(f"S{yearly.shape[1]}").ravel().astype(str)
        return frame

    def join(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        return joined_summaries(frames)


@dataclass
class PopulationRun:
    """What running a population did, and its tables."""

    population: Population
    folder: Path
    total: int
    done_before: int
    computed: int
    failed: int
    interrupted: bool
    seconds: float
    workers: int
    backend: str
    tables: tables.PopulationTables | None = None


def run_table(population: Population, drawn: Drawn) -> pd.DataFrame:
    """Every run: run_id, group_id, replicate, reading (its index in `population.readings`)
    and seed. Each reading other than the scenario's own runs the groups of the strata its
    targets name, with the same seeds (the outcome rule only reads a run)."""
    strata = drawn.conditions["stratum"].to_numpy()
    parts = []
    for index, reading in enumerate(population.readings):
        named = {s for t in population.targets if t.reading == reading for s in t.strata}
        groups = drawn.conditions["group_id"].to_numpy()
        if index:
            groups = groups[np.isin(strata, sorted(named))]
        for replicate in range(population.replicates):
            parts.append(pd.DataFrame({"group_id": groups, "replicate": replicate,
                                       "reading": index}))
    runs = pd.concat(parts, ignore_index=True).sort_values(
        ["reading", "group_id", "replicate"], kind="stable").reset_index(drop=True)
    runs.insert(0, "run_id", np.arange(len(runs), dtype=np.int64))
    runs["seed"] = [run_seed(population.seed, g, r) for g, r in
                    zip(runs["group_id"].tolist(), runs["replicate"].tolist(), strict=True)]
    return runs.astype({"group_id": np.int64, "replicate": np.int64, "reading": np.int64,
                        "seed": np.int64})


def read_scenario(scenario: Scenario, reading: Reading) -> Scenario:
    """A group's scenario under a reading's outcome-rule windows (checked when read)."""
    if not reading.windows:
        return scenario
    return dataclasses.replace(scenario, group=dataclasses.replace(scenario.group,
                                                                   **dict(reading.windows)))


def population_hash(population: Population, version: str) -> str:
    """Identity of what a population computes: resuming requires the same hash."""
    payload = {"population": population.resolved(), "version": version,
               "tape_version": TAPE_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_population(population: Population, out: str | os.PathLike, *, workers: int | None = None,
                   backend: str = "local", scheduler: str | None = None, resume: bool = False,
                   force: bool = False, progress: Callable[[int, int], None] | None = None,
                   stage: Callable[[str], None] | None = None,
                   command: list[str] | None = None) -> PopulationRun:
    """Draw the population, run its groups into `out`/groups.parquet (resumable), and write
    its tables; the folder is locked throughout."""
    stage = stage or (lambda message: None)
    with FolderLock(out):
        folder = ResultsFolder(out, runs=GROUPS, kind="population", outputs=OUTPUTS)
        version = project_version()
        previous = folder.prepare(population_hash(population, version), resume, force)
        stage(f"{population.groups:,} groups")
        drawn = draw_population(population)
        runs = run_table(population, drawn)
        pool = evaluator(backend, workers, scheduler)
        try:
            result = _run(population, drawn, runs, folder, pool, previous, backend, progress,
                          command, version)
        except BaseException:
            pool.close(cancel=True)
            raise
        if not result.interrupted:
            stage("the life table and the Cox model")
            result.tables = tables.population_tables(population, folder.read_runs())
            tables.write_tables(result.tables, folder.path)
        return result


def _run(population, drawn, runs, folder, pool, previous, backend, progress, command,
         version) -> PopulationRun:
    """The runs not yet on disk, chunk by chunk through `evaluate`."""
    total = len(runs)
    chunk = (previous or {}).get("chunks", {}).get("size") or population.chunk_size or \
        automatic_chunk_size(population.engine, total, pool.workers)
    bounds = chunk_bounds(total, chunk)
    recorded = dict((previous or {}).get("chunks", {}).get("files") or {})
    done, damaged = folder.done_chunks(bounds, recorded, runs) if previous else (set(), [])
    recorded = {n: e for n, e in recorded.items() if n in {folder.chunk_name(k) for k in done}}
    before = sum(stop - start for k, (start, stop) in enumerate(bounds) if k in done)
    manifest = _manifest(population, previous, folder, backend, pool.workers, command, version,
                         total, before, chunk, bounds, recorded, damaged)
    todo = [k for k in range(len(bounds)) if k not in done]
    rows = np.concatenate([np.arange(*bounds[k]) for k in todo]) if todo else np.array([], int)
    schema = _schema(drawn.conditions)
    computed, interrupted, clock = 0, False, time.perf_counter()

    def finished(batch: int, table: pd.DataFrame) -> None:
        nonlocal computed
        k = todo[batch]
        frame = _chunk_frame(population, drawn, runs.iloc[slice(*bounds[k])], table)
        errors = [{"run_id": int(r.run_id), "seed": int(r.seed), "error": r.error}
                  for r in frame[frame["failed"]].itertuples()]
        recorded[folder.chunk_name(k)] = folder.write_chunk(k, frame, schema, None, errors)
        computed += len(frame)
        manifest["counts"]["done"] = before + computed
        folder.write_manifest(manifest)
        if progress:
            progress(before + computed, total)

    if progress:
        progress(before, total)
    scenarios = [read_scenario(drawn.scenarios[g], population.readings[r])
                 for g, r in zip(runs["group_id"].to_numpy()[rows],
                                 runs["reading"].to_numpy()[rows], strict=True)]
    stop_on_sigterm = interrupt_on_sigterm()
    try:
        evaluate(scenarios, runs["seed"].to_numpy()[rows], YearlyStates(),
                 engine=population.engine, batch=chunk, evaluator=pool, failures="record",
                 finished=finished)
    except KeyboardInterrupt:
        interrupted = True
        restore_ctrl_c = ignore_ctrl_c()
    finally:
        pool.close(cancel=interrupted)
        stop_on_sigterm()
    seconds = time.perf_counter() - clock
    failed = int(folder.read_runs()["failed"].sum()) if not interrupted else 0
    manifest.update(status="interrupted" if interrupted else "finished",
                    finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    seconds=round(seconds, 3))
    manifest["counts"].update(done=before + computed, failed=failed)
    folder.write_manifest(manifest)
    if interrupted:
        restore_ctrl_c()
    return PopulationRun(population, folder.path, total, before, computed, failed, interrupted,
                         seconds, pool.workers, backend)


def _manifest(population, previous, folder, backend, workers, command, version, total, before,
              chunk, bounds, recorded, damaged) -> dict:
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest = {
        "project": "minilateral-sim", "version": version, "tape_version": TAPE_VERSION,
        "environment": environment(), "hash": population_hash(population, version),
        "status": "running", "started": (previous or {}).get("started", started),
        "resumed": [*(previous or {}).get("resumed", []), started] if previous else [],
        "finished": None, "backend": backend, "workers": workers, "engine": population.engine,
        "command": command if command is not None else sys.argv,
        "population": population.resolved(), "population_file": population.source,
        "seeds": {"population_seed": population.seed,
                  "derivation": "draws: numpy SeedSequence(seed, spawn_key=(0, stratum, "
                                "crc32(key))); runs: SeedSequence(seed, spawn_key=(1, "
                                "group_id, replicate)), first 64-bit word >> 1",
                  "per_run": f"column `seed` of {GROUPS}"},
        "counts": {"runs": total, "groups": population.groups, "done": before, "failed": None},
        "chunks": {"size": chunk, "count": len(bounds), "files": recorded},
        "recomputed_damaged": damaged,
    }
    folder.write_manifest(manifest)
    return manifest


def _schema(conditions: pd.DataFrame) -> pa.Schema:
    """groups.parquet's columns: the run's identifiers and reading, the group's founding
    conditions, its summary and its yearly states."""
    fields = [pa.field(n, pa.int64()) for n in ("run_id", "group_id", "replicate", "seed")]
    fields += [pa.field("reading", pa.string()), pa.field("dormant_months", pa.int64()),
               pa.field("death_dated", pa.string())]
    own = pa.Schema.from_pandas(conditions, preserve_index=False)
    fields += [f for f in own if f.name != "group_id"]
    fields += [pa.field(k, kind) for k, kind in SUMMARY_TYPES.items()]
    fields += [pa.field("states", pa.string()), pa.field("failed", pa.bool_()),
               pa.field("error", pa.string())]
    return pa.schema(fields)


def _chunk_frame(population: Population, drawn: Drawn, runs: pd.DataFrame,
                 table: pd.DataFrame) -> pd.DataFrame:
    """A chunk's rows: identifiers, reading, conditions, then what the runs gave."""
    frame = runs[["run_id", "group_id", "replicate", "seed"]].reset_index(drop=True)
    readings = [population.readings[r] for r in runs["reading"]]
    frame["reading"] = [r.label for r in readings]
    frame["dormant_months"] = [drawn.scenarios[g].group.dormant_months if "dormant_months" not in
                               dict(r.windows) else dict(r.windows)["dormant_months"]
                               for g, r in zip(runs["group_id"], readings, strict=True)]
    frame["death_dated"] = [r.death_dated for r in readings]
    conditions = drawn.conditions.set_index("group_id").loc[runs["group_id"]].reset_index(
        drop=True)
    frame = pd.concat([frame, conditions], axis=1)
    table = table.reset_index(drop=True)
    for column in (*SUMMARY_TYPES, "states", "failed", "error"):
        frame[column] = table.get(column, None)
    return frame

