"""Calibrating from a calibration file: fit, posterior, predictive fit, long run, results folder.

`calibrate_file` is what `minilat calibrate` does, callable from a notebook: it reads a
calibration file, fits it and writes its results folder. A file that names case records
(`cases`) is a joint calibration (`calibrate_joint`: by rejection or ABC-SMC, over one or more
cases); a file with `[targets]` and a statements table fits that one table by rejection
(`calibration.calibrate`).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.design import run_seed
from sim.experiments.evaluation import Evaluator, check_execution, open_evaluator
from sim.experiments.posterior import draw_by_weight
from sim.experiments.storage import FolderLock, atomic_write_bytes, writing_folder
from sim.inference.calibration import (
    Calibration,
    CalibrationResult,
    calibrate,
    load_calibration,
    long_run_outcomes,
    posterior_summary,
    prior_draws,
)
from sim.inference.joint import (
    METHODS,
    JointCalibration,
    case_distances,
    is_joint,
    joint_distance,
    load_joint,
    simulate_statistics,
    statistic_scales,
)
from sim.inference.smc import Generation, generations, posterior_sets, run_smc
from sim.reporting.calibration_report import write_joint_results, write_results

YARDSTICK_DRAWS = 2000  # prior draws that scale the statistics of an SMC calibration's report


@dataclass
class JointResult:
    method: str  # "smc" or "rejection"
    draws: pd.DataFrame  # rejection: every draw (parameters, distances, accepted); smc: the sets
    sets: pd.DataFrame  # the posterior's parameter sets: dotted-key columns and `weight`
    scales: pd.Series  # statistic -> scale over prior draws (0: left out): the common yardstick
    posterior: pd.DataFrame  # per parameter: prior range, posterior quantiles, identified
    predictive: pd.DataFrame  # per statistic: case, kind, year, observed, simulated intervals
    calibrated: dict[str, Any]
    calibrated_fit: pd.DataFrame  # as `predictive`, for the calibrated values alone
    long_run: pd.DataFrame
    tolerance: float  # in the method's own distance
    seconds: float
    simulations: int  # parameter sets simulated by the fit (each one run, or `replicates`, of
    # every case), the predictive checks not counted
    generations: pd.DataFrame = field(default_factory=pd.DataFrame)  # smc: t, epsilon, ...


@dataclass
class Fit:
    """What a method's fit gives the summaries that follow it."""

    draws: pd.DataFrame
    sets: pd.DataFrame
    sample: pd.DataFrame  # equally weighted parameter sets of the posterior
    scales: pd.Series
    tolerance: float
    simulations: int
    generations: pd.DataFrame = field(default_factory=pd.DataFrame)


def calibrate_joint(calibration: JointCalibration, workers: int = 2, folder: Path | None = None,
                    backend: str = "local", scheduler: str | None = None, resume: bool = False,
                    report: Callable[[Generation], None] | None = None,
                    evaluator: Evaluator | None = None) -> JointResult:
    """Fit by the file's method; then the posterior, its predictive fit and the long run.

    The runs go to `evaluator`, or to one started on `backend` with `workers`; ABC-SMC runs its
    own sampler there first, its history in `folder` (a temporary one if none).
    """
    start = time.perf_counter()
    if calibration.method == "rejection":
        with open_evaluator(evaluator, workers, backend, scheduler) as pool:
            return summarize(calibration, by_rejection(calibration, pool), pool, start)
    fit = by_smc(calibration, workers, folder, backend, scheduler, resume, report)
    with open_evaluator(evaluator, workers, backend, scheduler) as pool:
        yardstick = prior_draws(calibration, YARDSTICK_DRAWS, calibration.seed + 1)
        seeds = [run_seed(calibration.seed, k, 3, common=False)
                 for k in range(len(yardstick))]
        fit.scales = statistic_scales(simulate_statistics(calibration, yardstick, seeds,
                                                          evaluator=pool))
        return summarize(calibration, fit, pool, start)


def by_rejection(calibration: JointCalibration, evaluator: Evaluator) -> Fit:
    """The prior draws closest to the records, the `accept` share of them."""
    keys = [p.key for p in calibration.priors]
    params = prior_draws(calibration)
    seeds = [run_seed(calibration.seed, k, 0, common=False) for k in range(len(params))]
    simulated = simulate_statistics(calibration, params, seeds, evaluator=evaluator)
    scales = statistic_scales(simulated)
    per_case = case_distances(calibration, simulated, scales)
    draws = pd.concat([params, per_case.add_prefix("distance_")], axis=1)
    draws["distance"] = joint_distance(per_case)
    keep = max(1, round(calibration.accept * len(draws)))
    tolerance = float(np.sort(draws["distance"].to_numpy())[keep - 1])
    draws["accepted"] = draws["distance"] <= tolerance
    sample = draws[draws["accepted"]]
    sets = sample[keys].assign(weight=1.0 / len(sample)).reset_index(drop=True)
    return Fit(draws, sets, sample, scales, tolerance, len(params))


def by_smc(calibration: JointCalibration, workers: int, folder: Path | None, backend: str,
           scheduler: str | None, resume: bool,
           report: Callable[[Generation], None] | None) -> Fit:
    """The last generation of an ABC-SMC run (or resumed run) and an equally weighted sample
    of it; the scales are left for the caller (empty)."""
    scratch = None
    if folder is None:  # pyabc's history needs a file: a temporary one, deleted here
        folder = scratch = Path(tempfile.mkdtemp(prefix="minilat-smc-"))
    try:
        history = run_smc(calibration, folder, workers, backend, scheduler, resume, report)
        sets = posterior_sets(calibration, history)
        table = generations(history)
        simulations = int(history.total_nr_simulations)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    tolerance = float(table["epsilon"].iloc[-1]) if len(table) else np.nan
    # an equally weighted sample of the weighted sets, for the intervals and fresh runs
    picked = draw_by_weight(sets["weight"], len(sets), np.random.default_rng(calibration.seed))
    sample = sets.loc[picked, [p.key for p in calibration.priors]].reset_index(drop=True)
    return Fit(sets.copy(), sets, sample, pd.Series(dtype=float), tolerance, simulations,
               table)


def summarize(calibration: JointCalibration, fit: Fit, evaluator: Evaluator, start: float
              ) -> JointResult:
    """Fresh runs of every set: the predictive intervals, and the set closest to the records
    on average (one run per set accepts lucky sets too; the mean over many does not); then the
    calibrated values' own fit and the long run."""
    keys = [p.key for p in calibration.priors]
    sample, draws = fit.sample, fit.draws
    repeats = calibration.predictive_runs
    draw_of_run = sample.index.repeat(repeats)
    fresh = sample[keys].loc[draw_of_run].reset_index(drop=True)
    fresh_seeds = [run_seed(calibration.seed, 10**9 + k, 1, common=False)
                   for k in range(len(fresh))]
    again = simulate_statistics(calibration, fresh, fresh_seeds, evaluator=evaluator)
    expected = pd.Series(joint_distance(case_distances(calibration, again, fit.scales)),
                         index=draw_of_run).groupby(level=0).mean()
    if calibration.method == "rejection":
        draws["expected_distance"] = expected.reindex(draws.index)
    best = expected.idxmin()
    calibrated = {k: sample.loc[best, k] for k in keys}
    posterior = posterior_summary(calibration, sample)
    posterior["calibrated"] = [calibrated[k] for k in keys]
    runs = 50 * repeats
    point = pd.DataFrame([calibrated] * runs)
    point_seeds = [run_seed(calibration.seed, 2 * 10**9 + k, 2, common=False)
                   for k in range(runs)]
    at_point = simulate_statistics(calibration, point, point_seeds, evaluator=evaluator)
    long_run = long_run_outcomes(calibration, sample, calibrated, evaluator)
    return JointResult(calibration.method, draws, fit.sets, fit.scales, posterior,
                       intervals(calibration, again), calibrated,
                       intervals(calibration, at_point), long_run, fit.tolerance,
                       time.perf_counter() - start, fit.simulations, fit.generations)


def intervals(calibration: JointCalibration, simulated: pd.DataFrame) -> pd.DataFrame:
    """Per statistic: case, what (a level, zombie or dead), year, the observed value and the
    simulated median, 5 % and 95 % quantiles and mean."""
    rows = []
    for case in calibration.cases:
        for name, observed in case.observed.items():
            _, what, year = name.split(":")
            values = simulated[name].to_numpy()
            q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
            rows.append({"case": case.record.name, "statistic": what, "year": int(year),
                         "observed": observed, "median": q50, "q05": q05, "q95": q95,
                         "mean": float(values.mean()),
                         "inside": bool(q05 <= observed <= q95)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ from a file


@dataclass
class CalibrationRun:
    """What `calibrate_file` did: the file as validated, its result and the results folder."""

    spec: Calibration | JointCalibration
    result: CalibrationResult | JointResult
    folder: Path

    @property
    def joint(self) -> bool:
        return isinstance(self.spec, JointCalibration)


def calibrate_file(path: str | Path, out: str | Path | None = None, *, draws: int | None = None,
                   workers: int | None = None, force: bool = False, backend: str = "local",
                   scheduler: str | None = None, resume: bool = False, method: str | None = None,
                   progress: Callable[[Generation], None] | None = None,
                   stage: Callable[[str], None] | None = None) -> CalibrationRun:
    """Calibrate by a calibration file into `out` (default results/<name>).

    `draws` and `method` override the file's; `resume` goes on with an interrupted ABC-SMC
    calibration in `out`; `progress(generation)` follows ABC-SMC's generations and
    `stage(message)` says what the fit is about to do. Without `force` an earlier calibration
    in `out` is refused.
    """
    stage = stage or (lambda message: None)
    workers = check_execution(backend, workers, scheduler)
    if is_joint(path):
        return calibrate_joint_file(Path(path), out, draws, workers, force, backend, scheduler,
                                    resume, method, progress, stage)
    if resume or backend != "local" or scheduler or method:
        raise UserError(f"{path}: --resume, --backend, --scheduler and --method apply to a "
                        "calibration that names case records (`cases`, method \"smc\"); this "
                        "file fits one statements table by rejection.")
    spec = load_calibration(path, draws=draws)
    with writing_folder(out or Path("results") / spec.name, force, "calibration") as folder:
        stage(f"{spec.draws:,} draws of {spec.name}")
        result = calibrate(spec, workers=workers)
        write_results(spec, result, folder)
    return CalibrationRun(spec, result, folder)


def calibrate_joint_file(path: Path, out: str | Path | None, draws: int | None, workers: int,
                         force: bool, backend: str, scheduler: str | None, resume: bool,
                         method: str | None, progress: Callable[[Generation], None] | None,
                         stage: Callable[[str], None]) -> CalibrationRun:
    """`calibrate_file` for a file naming case records: one set of values for all of them."""
    spec = load_joint(path, draws=draws)
    if method is not None:
        if method not in METHODS:
            raise UserError(f"--method {method}: unknown method. Allowed: smc, rejection.")
        spec = dataclasses.replace(spec, method=method)
    if resume and spec.method != "smc":
        raise UserError(f"{path}: --resume goes on with an ABC-SMC calibration; this file's "
                        f'method is "{spec.method}".')
    folder = Path(out) if out is not None else Path("results") / spec.name
    text = path.read_bytes()
    if resume:
        lock = FolderLock(folder)
        kept = folder / "calibration.toml"
        if not kept.is_file() or kept.read_bytes() != text:
            raise UserError(f"{folder}: holds no calibration of {path} to resume (its "
                            "calibration.toml is missing or differs from the file). Run "
                            "without --resume.")
    else:
        lock = writing_folder(folder, force, "calibration")
    names = ", ".join(c.record.name for c in spec.cases)
    with lock:
        atomic_write_bytes(folder / "calibration.toml", text)
        stage(f"ABC-SMC of {names}, {spec.population_size:,} sets a generation"
              if spec.method == "smc" else f"{spec.draws:,} draws of {names}")
        result = calibrate_joint(spec, workers, folder, backend, scheduler, resume, progress)
        write_joint_results(spec, result, folder)
    return CalibrationRun(spec, result, folder)
