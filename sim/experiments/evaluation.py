"""One way to evaluate runs: scenarios (or a base and parameter sets) and seeds in, a table out.

`evaluate` splits the runs into batches, runs each batch on an evaluator (this process, a pool of
local processes or a Dask cluster) and joins what a `Measure` takes of each run into one table,
one row per run in the order of the seeds. Experiments, calibration, claims, robustness, forecasts
and validation all run their simulations through it (an experiment's chunks through the same
evaluators). A run that raises either stops the evaluation or, with `failures="record"`, is a
row marked `failed` with its `error`.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import numbers
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim.errors import InputWarning, UserError
from sim.experiments.children import die_with_parent
from sim.model.keys import Setting, settings_of_sets
from sim.model.params import Scenario
from sim.model.scenario_files import with_overrides
from sim.model.simulation import (
    Runs,
    check_scenarios,
    checked_seeds,
    joined_summaries,
    simulate,
)

BACKENDS = ("local", "dask")
FAILURES = ("raise", "record")
BATCH = 1000  # runs a worker takes at once, unless told


# ------------------------------------------------------------------------------ what to measure


class Measure:
    """What to take of each run: a table with one row per run, from its summary (`Runs.frame`),
    or from its quarter-by-quarter record where `record` is true. Subclasses must pickle."""

    record = False

    def __call__(self, scenarios: list[Scenario], runs: Runs) -> pd.DataFrame:
        return runs.frame()

    def join(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        """The batches' tables as one, in run order."""
        return pd.concat(frames, ignore_index=True)


class Summaries(Measure):
    """Each run's summary (the keys of `SUMMARY_KEYS`), each column typed by every batch's
    values."""

    def join(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        return joined_summaries(frames)


class Trajectories(Summaries):
    """Each run's summary and its record, the column `trajectory`."""

    record = True

    def __call__(self, scenarios: list[Scenario], runs: Runs) -> pd.DataFrame:
        return runs.frame().assign(trajectory=runs.trajectories)


SUMMARIES = Summaries()
TRAJECTORIES = Trajectories()


# ------------------------------------------------------------------------------ one batch


def simulate_capturing(scenarios: list[Scenario], seeds: list[int], engine: str, record: bool
                       ) -> tuple[Runs, dict[int, BaseException]]:
    """All runs in one call; if that raises, one by one, so that only the runs that raise fail.

    The runs' summaries and trajectories hold None for a failed run; the exceptions are by the
    run's position.
    """
    try:
        return simulate(scenarios, seeds, engine=engine, record=record), {}
    except Exception:
        pass
    summaries: list[dict | None] = []
    trajectories: list[Any] = []
    states: list[np.ndarray | None] = []
    failed: dict[int, BaseException] = {}
    for k, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True)):
        try:
            one = simulate(scenario, [seed], engine=engine, record=record)
        except Exception as exc:
            failed[k] = exc
            summaries.append(None)
            trajectories.append(None)
            states.append(None)
            continue
        summaries.append(one.summaries[0])
        trajectories.append(one.trajectories[0] if record else None)
        states.append(one.states[0] if one.states is not None else None)
    return Runs(summaries, trajectories if record else None, _states_table(states)), failed


def _states_table(states: list[np.ndarray | None]) -> np.ndarray | None:
    """Runs' state series as one table, -1 in the rows of failed runs; None if the runs do not
    share a horizon."""
    lengths = {len(s) for s in states if s is not None}
    if len(lengths) != 1:
        return None
    table = np.full((len(states), lengths.pop()), -1, dtype=np.int8)
    for k, series in enumerate(states):
        if series is not None:
            table[k] = series
    return table


@dataclass(frozen=True)
class Batch:
    """Runs a worker computes in one call of the engine: what it receives."""

    index: int
    # every run's scenario before its parameter set: one for all, or one per run (runs of
    # groups of any shape share a batch, sim.model.shapes)
    scenario: Scenario | tuple[Scenario, ...]
    seeds: tuple[int, ...]
    # each run's overrides, if any: its settings, or a dict whose keys did not parse
    parameter_sets: tuple[tuple[Setting, ...] | Mapping[str, Any], ...] | None
    measure: Measure
    engine: str
    failures: str

    def scenario_of(self, k: int, built: dict | None = None) -> Scenario:
        """Run k's scenario; with `built`, each distinct (scenario, parameter set) pair of the
        batch (the same objects) is built once and kept there, a refusal included."""
        base = self.scenario[k] if isinstance(self.scenario, tuple) else self.scenario
        if self.parameter_sets is None:
            return base
        overrides = self.parameter_sets[k]
        if built is None:
            return with_overrides(base, overrides if isinstance(overrides, tuple)
                                  else dict(overrides))
        key = (id(base), id(overrides))  # both held by the batch: their ids are not reused
        if key not in built:
            try:
                built[key] = self.scenario_of(k)
            except Exception as exc:
                built[key] = exc
        if isinstance(built[key], Exception):
            raise built[key]
        return built[key]


def run_batch(batch: Batch) -> tuple[int, pd.DataFrame]:
    """The batch's index and its table (with `failed` and `error` if failures are recorded)."""
    measure, seeds = batch.measure, list(batch.seeds)
    if batch.failures == "raise":
        built: dict = {}
        scenarios = [batch.scenario_of(k, built) for k in range(len(seeds))]
        runs = simulate(scenarios, seeds, engine=batch.engine, record=measure.record)
        return batch.index, measure(scenarios, runs)
    prepared: dict[int, Scenario] = {}
    failed: dict[int, BaseException] = {}
    built: dict = {}
    for k in range(len(seeds)):  # a parameter set the model refuses fails its run only
        try:
            prepared[k] = batch.scenario_of(k, built)
        except Exception as exc:
            failed[k] = exc
    ready = list(prepared)
    runs, raised = simulate_capturing(list(prepared.values()), [seeds[k] for k in ready],
                                      batch.engine, measure.record)
    failed.update({ready[j]: exc for j, exc in raised.items()})
    done = [j for j in range(len(ready)) if j not in raised]
    table = measure([prepared[ready[j]] for j in done], Runs(
        [runs.summaries[j] for j in done],
        [runs.trajectories[j] for j in done] if runs.trajectories is not None else None,
        runs.states[done] if runs.states is not None else None))
    table.index = [ready[j] for j in done]
    table = table.reindex(range(len(seeds)))
    table["failed"] = [k in failed for k in range(len(seeds))]
    table["error"] = [f"{type(failed[k]).__name__}: {failed[k]}" if k in failed else ""
                      for k in range(len(seeds))]
    return batch.index, table


def batches(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[int], measure: Measure,
            parameter_sets: Sequence[Mapping[str, Any]] | None, engine: str, size: int,
            failures: str) -> list[Batch]:
    """Consecutive runs, at most `size` a batch; runs of different groups share a batch (the fast
    engine pads them to one width), runs of different horizons do not."""
    one = isinstance(scenarios, Scenario)
    if parameter_sets is not None:
        parameter_sets = settings_of_sets(parameter_sets)
    out: list[Batch] = []
    start = 0
    while start < len(seeds):
        stop = min(start + size, len(seeds))
        if not one:
            years = scenarios[start].years
            stop = next((k for k in range(start + 1, stop) if scenarios[k].years != years),
                        stop)
            part = tuple(scenarios[start:stop])
            same = all(s is part[0] for s in part)
        out.append(Batch(len(out), scenarios if one else (part[0] if same else part),
                         tuple(int(s) for s in seeds[start:stop]),
                         None if parameter_sets is None
                         else tuple(parameter_sets[start:stop]), measure, engine, failures))
        start = stop
    return out


# ------------------------------------------------------------------------------ evaluate


def evaluate(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[int],
             measure: Measure = SUMMARIES, *,
             parameter_sets: Sequence[Mapping[str, Any]] | None = None, engine: str = "fast",
             batch: int = BATCH, workers: int | None = 1, backend: str = "local",
             scheduler: str | None = None, evaluator: Evaluator | None = None,
             failures: str = "raise",
             finished: Callable[[int, pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """`measure` of one run per seed, one row per run in the order of the seeds.

    Run k is `scenarios` (or `scenarios[k]`) with `parameter_sets[k]` over it, if given, and seed
    `seeds[k]`. The runs go in batches of at most `batch` to `evaluator`, or to one started for
    this call (`backend`, `workers`, `scheduler`; in this process for one worker or one batch).
    With `failures="record"` a run that raises is a row with `failed` true and its `error`, the
    measured columns empty; by default it raises. Runs of different groups (members, start, dated
    events, values) share batches: a population of groups runs at the engine's speed.
    `finished(k, table)` is called in this process as batch k (runs k * batch onward) ends, in
    the order batches end: to write each one as it comes.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    if failures not in FAILURES:
        raise ValueError(f"failures must be one of {', '.join(FAILURES)}, got {failures!r}")
    seeds = checked_seeds(seeds, "evaluate")
    if parameter_sets is not None and (
            isinstance(parameter_sets, str | bytes | Mapping) or
            not isinstance(parameter_sets, Sequence) or
            not all(isinstance(one, Mapping) for one in parameter_sets)):
        raise UserError("evaluate: parameter_sets must be a list of dicts of dotted keys to "
                        f"values, one for each seed; not {type(parameter_sets).__name__}.")
    if parameter_sets is not None and len(parameter_sets) != len(seeds):
        raise UserError(f"evaluate: {len(parameter_sets):,} parameter sets for {len(seeds):,} "
                        "seeds. Allowed: one parameter set for each seed.")
    if not isinstance(scenarios, Scenario):
        check_scenarios(scenarios, len(seeds), "evaluate")
    if not len(seeds):
        return measure.join([measure([], Runs([], [] if measure.record else None))])
    tasks = batches(scenarios, seeds, measure, parameter_sets, engine, batch, failures)
    own = evaluator is None
    if own:
        workers = check_execution(backend, workers, scheduler)
        evaluator = DaskBackend(workers, scheduler) if backend == "dask" else \
            LocalBackend(min(workers, len(tasks)))
    try:
        tables = {}
        for index, table in evaluator.map_unordered(run_batch, tasks):
            tables[index] = table
            if finished is not None:
                finished(index, table)
    finally:
        if own:
            evaluator.close()
    return measure.join([tables[k] for k in range(len(tasks))])


@contextmanager
def open_evaluator(given: Evaluator | None = None, workers: int | None = 1,
                   backend: str = "local", scheduler: str | None = None) -> Iterator[Evaluator]:
    """`given`, or an evaluator started for the block and closed at its end: for several
    evaluations on one pool of workers."""
    if given is not None:
        yield given
        return
    with evaluator(backend, workers, scheduler) as started:
        yield started


def batch_size(runs: int, workers: int, cap: int = BATCH) -> int:
    """At most `cap` runs a batch, and at least one batch a worker."""
    return max(1, min(cap, math.ceil(runs / max(1, workers))))


# ------------------------------------------------------------------------------ evaluators


PARENT_CHECK_SECONDS = 0.5


def start_worker(parent: int, main_thread: bool = False) -> None:
    """A worker leaves Ctrl-C to the driver (process `parent`), which stops cleanly, and ends
    when the driver is gone however it ended (a `kill -9` included, even one before this worker
    finished starting): nothing is left running.

    A pool started from the driver's main thread asks the kernel to end its workers with the
    driver (a parent-death signal fires when the starting thread ends, so a pool started from
    another thread only watches its parent).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent:
        os._exit(1)
    if main_thread and die_with_parent(parent):
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="minilat-parent-watch", daemon=True).start()


class Evaluator(Protocol):
    """Where tasks run: `map_unordered(function, tasks)` yields `function(task)` for each task
    as it finishes, on `workers` workers; `close` stops them. `function` and tasks must pickle.
    An evaluator is a context manager that closes it."""

    name: str
    workers: int

    def map_unordered(self, function: Callable, tasks: list) -> Iterator: ...

    def close(self, cancel: bool = False) -> None: ...

    def __enter__(self) -> Evaluator: ...

    def __exit__(self, kind, value, trace) -> None: ...


def check_execution(backend: str, workers: int | None, scheduler: str | None) -> int:
    """Refuse an unknown backend or a bad worker count; the number of workers to use."""
    if backend not in BACKENDS:
        raise UserError(f"--backend {backend}: unknown backend. Allowed: local, dask.")
    if scheduler and backend != "dask":
        raise UserError("--scheduler needs --backend dask.")
    cores = machine_cores()
    if workers is not None and (isinstance(workers, bool) or
                                not isinstance(workers, numbers.Integral)):
        raise UserError(f"--workers {workers!r}: is not a whole number. Allowed: a whole number "
                        "of worker processes, at least 1 (or None for one a core).")
    workers = cores if workers is None else int(workers)
    if workers < 1:
        raise UserError(f"--workers {workers}: needs at least one worker.")
    if not scheduler and workers > cores:  # local processes, or a Dask cluster started here
        where = "a local Dask cluster of" if backend == "dask" else ""
        warnings.warn(InputWarning(
            f"--workers {workers:,}: this machine has {cores} core{'s' if cores != 1 else ''} "
            f"for this process; {where} {cores} worker process{'es' if cores != 1 else ''} "
            "run instead (more would only wait for one another).".replace("  ", " ")),
            stacklevel=2)
        return cores
    return workers


def machine_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def evaluator(backend: str = "local", workers: int | None = None,
              scheduler: str | None = None) -> Evaluator:
    """An evaluator on this machine's processes or on a Dask cluster."""
    workers = check_execution(backend, workers, scheduler)
    return DaskBackend(workers, scheduler) if backend == "dask" else LocalBackend(workers)


class Closing:
    """`with evaluator: ...` closes it at the end (cancelling what runs if the block raised)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace) -> None:
        self.close(cancel=kind is not None)

    def close(self, cancel: bool = False) -> None:
        raise NotImplementedError


class LocalBackend(Closing):
    """In this process for one worker; a pool of processes for more."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None
        if workers > 1:
            self.pool = ProcessPoolExecutor(max_workers=workers,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=start_worker,
                                            initargs=(os.getpid(), threading.current_thread()
                                                      is threading.main_thread()))

    def map_unordered(self, function: Callable, tasks: list) -> Iterator:
        if self.pool is None:
            for task in tasks:
                yield function(task)
            return
        pending = iter(tasks)
        running = set()
        for task in take(pending, 2 * self.workers):
            running.add(self.pool.submit(function, task))
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                for task in take(pending, 1):
                    running.add(self.pool.submit(function, task))
                yield future.result()

    def close(self, cancel: bool = False) -> None:
        if self.pool is None:
            return
        pool, self.pool = self.pool, None  # closing twice is closing once
        if cancel:  # stop now: tasks in flight are abandoned
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=cancel)


class DaskBackend(Closing):
    """Tasks on a Dask distributed cluster (a local one unless a scheduler is given)."""

    name = "dask"

    def __init__(self, workers: int, scheduler: str | None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UserError('--backend dask needs Dask: pip install "minilateral-sim'
                            '[distributed]" (or pip install "dask[distributed]").') from None
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise UserError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                                f"({exc}).") from None
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)

    def map_unordered(self, function: Callable, tasks: list) -> Iterator:
        from dask.distributed import as_completed

        pending = iter(tasks)
        first = [self.client.submit(function, task, pure=False)
                 for task in take(pending, 2 * self.workers)]
        flow = as_completed(first)
        for future in flow:
            for task in take(pending, 1):
                flow.add(self.client.submit(function, task, pure=False))
            result = future.result()
            future.release()
            yield result

    def close(self, cancel: bool = False) -> None:
        if self.client is None:  # closing twice is closing once
            return
        client, self.client = self.client, None
        client.close()
        if self.cluster is not None:
            self.cluster.close()


def take(iterator: Iterator, n: int) -> list:
    """The next `n` items of `iterator` (fewer at its end)."""
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= n:
            break
    return out
