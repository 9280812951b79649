"""A joint calibration's fit: by rejection or ABC-SMC, then its posterior, predictive fit and
long run.

Both methods end alike: an equally weighted sample of the posterior's parameter sets, whose
fresh runs give the predictive intervals and pick the calibrated values (the set closest to the
records on average), then those values' own fit and the long run.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.design import run_seed
from sim.experiments.evaluation import Evaluator, open_evaluator
from sim.experiments.posterior import draw_by_weight
from sim.inference.calibration import (
    MIN_EFFECTIVE_SETS,
    long_run_outcomes,
    posterior_summary,
    prior_draws,
)
from sim.inference.joint import (
    JointCalibration,
    case_distances,
    joint_distance,
    simulate_statistics,
    statistic_scales,
)
from sim.inference.smc import (
    Generation,
    generations,
    posterior_generation,
    posterior_sets,
    run_smc,
)

YARDSTICK_DRAWS = 2000  # prior draws that scale the statistics of an SMC calibration's report
YARDSTICK_POPULATIONS = 300  # of those, the draws whose population is run for its scales


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
    fit_seconds: float = float("nan")  # the fit's own time, the summaries after it not counted
    population_fit: pd.DataFrame = field(default_factory=pd.DataFrame)  # per population target:
    # the figure, the accepted sets' 5 / 50 / 95 % and the calibrated values' statistic

    @property
    def sets_per_second(self) -> float:
        """Parameter sets the fit simulated per second of its own time."""
        return self.simulations / self.fit_seconds


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
    seconds: float = float("nan")  # the fit's own time


def calibrate_joint(calibration: JointCalibration, workers: int = 2, folder: Path | None = None,
                    backend: str = "local", scheduler: str | None = None, resume: bool = False,
                    report: Callable[[Generation], None] | None = None,
                    evaluator: Evaluator | None = None) -> JointResult:
    """Fit by the file's method; then the posterior, its predictive fit and the long run.

    The runs go to `evaluator`, or to one started on `backend` with `workers`; ABC-SMC keeps its
    history in `folder` (a temporary one if none).
    """
    start = time.perf_counter()
    if calibration.method == "rejection":
        with open_evaluator(evaluator, workers, backend, scheduler) as pool:
            fit = by_rejection(calibration, pool)
            fit.seconds = time.perf_counter() - start
            return summarize(calibration, fit, pool, start)
    with open_evaluator(evaluator, workers, backend, scheduler) as pool:
        fit = by_smc(calibration, pool, folder, resume, report)
        fit.seconds = time.perf_counter() - start
        yardstick = prior_draws(calibration, YARDSTICK_DRAWS, calibration.seed + 1)
        seeds = [run_seed(calibration.seed, k, 3, common=False)
                 for k in range(len(yardstick))]
        fit.scales = statistic_scales(simulate_statistics(
            calibration, yardstick, seeds, evaluator=pool,
            population_limit=YARDSTICK_POPULATIONS))
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


def by_smc(calibration: JointCalibration, evaluator: Evaluator, folder: Path | None,
           resume: bool, report: Callable[[Generation], None] | None) -> Fit:
    """The posterior generation of an ABC-SMC run (or resumed run: `posterior_generation`) and
    an equally weighted sample of it; the scales are left for the caller (empty)."""
    scratch = None
    if folder is None:  # pyabc's history needs a file: a temporary one, deleted here
        folder = scratch = Path(tempfile.mkdtemp(prefix="minilat-smc-"))
    try:
        history = run_smc(calibration, folder, resume=resume, report=report,
                          evaluator=evaluator)
        table = generations(history)
        chosen = posterior_generation(table, MIN_EFFECTIVE_SETS) if len(table) else None
        sets = posterior_sets(calibration, history, chosen)
        simulations = int(history.total_nr_simulations)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if len(table):
        table["posterior"] = table["t"] == chosen
    tolerance = float(table.loc[table["posterior"], "epsilon"].iloc[0]) if len(table) else np.nan
    # an equally weighted sample of the weighted sets, for the intervals and fresh runs
    picked = draw_by_weight(sets["weight"], len(sets), np.random.default_rng(calibration.seed))
    sample = sets.loc[picked, [p.key for p in calibration.priors]].reset_index(drop=True)
    return Fit(sets.copy(), sets, sample, pd.Series(dtype=float), tolerance, simulations,
               table)


def summarize(calibration: JointCalibration, fit: Fit, evaluator: Evaluator, start: float
              ) -> JointResult:
    """Fresh runs of every set: the predictive intervals (and, for rejection, each draw's mean
    distance over them); the calibrated values, the posterior's summary point; then their own
    fit and the long run."""
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
    weights = fit.sets["weight"].to_numpy(dtype=float)
    posterior = posterior_summary(calibration, sample,
                                  weights.sum() ** 2 / float(np.sum(weights ** 2)))
    calibrated = summary_point(calibration, posterior)
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
                       time.perf_counter() - start, fit.simulations, fit.generations,
                       fit.seconds, population_fit(calibration, again, at_point))


SIGNIFICANT = 3  # significant figures of a calibrated value


def summary_point(calibration: JointCalibration, posterior: pd.DataFrame) -> dict[str, Any]:
    """The calibrated values: each parameter's posterior median, to three significant figures
    (whole quarters for a window). A summary of the whole posterior, so that a refit with
    another seed moves it by its Monte Carlo error only, where the single best-fitting draw
    moves with the draws."""
    medians = posterior.set_index("parameter")["median"]
    return {p.key: p.cast(float(f"{medians[p.key]:.{SIGNIFICANT}g}"))
            for p in calibration.priors}


def population_fit(calibration: JointCalibration, again: pd.DataFrame, at_point: pd.DataFrame
                   ) -> pd.DataFrame:
    """Per population target: the published figure, the accepted sets' 5 / 50 / 95 % of the
    simulated statistic, and the calibrated values' own."""
    level = calibration.population
    if level is None:
        return pd.DataFrame()
    rows = []
    for target in level.targets():
        name = f"{level.name}:{target.figure}"
        q05, q50, q95 = np.nanquantile(again[name].to_numpy(dtype=float), [0.05, 0.5, 0.95])
        rows.append({"figure": target.figure, "strata": ", ".join(target.strata),
                     "statistic": target.statistic, "observed": level.observed[name],
                     "q05": q05, "median": q50, "q95": q95,
                     "calibrated": float(at_point[name].iloc[0]),
                     "tolerance": target.tolerance,
                     "inside": bool(abs(at_point[name].iloc[0] - level.observed[name])
                                    <= target.tolerance)})
    return pd.DataFrame(rows)


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
