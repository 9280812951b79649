"""One way to simulate: scenarios and seeds in, run summaries (and records) out, on either engine.

Experiments, calibration, claims, the command line and a notebook all run simulations through
`simulate`; `summaries` is the same as a task for a pool of worker processes.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.model.fast_engine import run_batch
from sim.model.files import check_fits
from sim.model.mesa_engine import MinilateralModel
from sim.model.outcomes import states_of_runs, summarize, to_records
from sim.model.params import Scenario
from sim.model.scenario_files import load_scenario
from sim.model.tape import LARGEST_SEED, checked_seed
from sim.model.trajectory import Trajectory

ENGINES = ("fast", "mesa")
SUMMARY_BYTES = 1_500  # memory one run's summary takes while a caller collects them


@dataclass
class Runs:
    """What a simulation gives: one summary per run (the keys of `SUMMARY_KEYS`), in the order
    of the seeds, each run's state in every quarter (runs, quarters; DEAD after its death), and
    each run's quarter-by-quarter record when asked for."""

    summaries: list[dict]
    trajectories: list[Trajectory] | None = None
    states: np.ndarray | None = None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.summaries)


def simulate(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[int], *,
             engine: str = "fast", record: bool = False,
             progress: Callable[[int], None] | None = None) -> Runs:
    """Run one scenario per seed (or one scenario for every seed) on an engine.

    The fast engine runs them as one batch (groups of any shape, sharing the horizon); the Mesa
    engine one by one, calling `progress(done)` after each run.
    """
    check_engine(engine)
    seeds = checked_seeds(seeds)
    if isinstance(scenarios, str | os.PathLike):  # a built-in name or a file, as on the CLI
        scenarios = load_scenario(scenarios)
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios] * len(seeds)
    check_scenarios(scenarios, len(seeds))
    if not seeds:
        return Runs([], [] if record else None)
    if engine == "fast":
        result = run_batch(list(scenarios), seeds, record_series=record)
        return Runs(to_records(result.summary, result.seeds), result.trajectories,
                    result.states)
    summaries, trajectories, states = [], [], []
    for done, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True), start=1):
        trajectory = MinilateralModel(scenario, seed).run()
        summaries.append(summarize(trajectory))
        states.append(states_of_runs(trajectory.series["state"], trajectory.quarters_run)[0])
        if record:
            trajectories.append(trajectory)
        if progress is not None:
            progress(done)
    same = len({len(s) for s in states}) <= 1  # runs of one horizon share a table
    return Runs(summaries, trajectories if record else None,
                np.array(states, dtype=np.int8).reshape(len(states), -1) if same else None)


def check_scenarios(scenarios: Sequence[Scenario], runs: int, caller: str = "simulate") -> None:
    """Refuse scenarios that are not a list of `Scenario`s, one for each of `runs` seeds."""
    try:
        every = all(isinstance(s, Scenario) for s in scenarios)
    except TypeError:
        every = False
    if not every:
        raise UserError(f"{caller}: scenarios must be a Scenario (sim.load_scenario), a "
                        "built-in scenario name or a path, or a list of Scenarios; not "
                        f"{_kinds(scenarios)}.")
    if len(scenarios) != runs:
        raise UserError(f"{caller}: {len(scenarios):,} scenarios for {runs:,} seeds. Allowed: "
                        "one scenario for each seed, or a single scenario for all.")


def checked_seeds(seeds: Sequence[int] | int, caller: str = "simulate") -> list[int]:
    """The seeds as Python integers, each a whole number from 0 to `LARGEST_SEED`: a seed of
    1.7 or True is refused, never rounded to another seed."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        raise UserError(f"{caller}: seeds = {seeds} is one number; give a list of seeds, e.g. "
                        f"[{seeds}] or range({seeds}).")
    if isinstance(seeds, np.ndarray) and seeds.ndim == 1 and \
            np.issubdtype(seeds.dtype, np.integer) and seeds.dtype != np.bool_:
        if len(seeds) and (seeds.min() < 0 or int(seeds.max()) > LARGEST_SEED):
            raise UserError(f"{caller}: a seed is outside 0 to 2**63 - 1 (from {seeds.min()} "
                            f"to {seeds.max()}).")
        return seeds.tolist()  # checked at once: a million seeds take no time
    if isinstance(seeds, str | bytes | Scenario) or not isinstance(seeds, Iterable):
        raise UserError(f"{caller}: seeds must be a list of whole numbers, not "
                        f"{type(seeds).__name__}.")
    if isinstance(seeds, Sized):  # a range of 10**15 seeds is refused before it is listed
        check_fits("runs", len(seeds), SUMMARY_BYTES, caller, None, f"{len(seeds):,} seeds")
    return [checked_seed(seed, caller) for seed in seeds]


def _kinds(values) -> str:
    try:
        return ", ".join(sorted({type(v).__name__ for v in values})) or "nothing"
    except TypeError:
        return type(values).__name__


def check_engine(engine: str) -> None:
    """Refuse an engine that is not one of `ENGINES`."""
    if engine not in ENGINES:
        raise UserError(f"--engine {engine}: unknown engine. Allowed: mesa, fast.")


def check_runs(engine: str, seed: int, runs: int) -> None:
    """Refuse, before any work, `runs` runs from `seed` on: an unknown engine, a last seed past
    `LARGEST_SEED`, or more run summaries than half the memory available holds."""
    check_engine(engine)
    if seed + runs - 1 > LARGEST_SEED:
        raise UserError(f"--seed {seed} --runs {runs}: the last seed, {seed + runs - 1}, is "
                        f"past the largest, 2**63 - 1. Allowed: --seed at most "
                        f"{LARGEST_SEED + 1 - runs}.")
    check_fits("runs", runs, SUMMARY_BYTES, "--runs", None, runs)


def summaries(task: tuple[Scenario | Sequence[Scenario], Sequence[int]]) -> pd.DataFrame:
    """The run summaries of (scenarios, seeds) on the fast engine, one row per run: a task for
    a pool of worker processes."""
    scenarios, seeds = task
    return simulate(scenarios if isinstance(scenarios, Scenario) else list(scenarios),
                    seeds).frame()


def joined_summaries(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Tasks' summary frames as one, each column typed by every part's values (a column that
    is empty in one part, e.g. no deaths among its seeds, does not decide its type)."""
    return pd.DataFrame.from_records([row for frame in frames for row in frame.to_dict("records")])
