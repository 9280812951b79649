"""Pattern-oriented calibration by approximate Bayesian computation (rejection).

Parameters are drawn from their prior ranges (a Latin hypercube, uniform on each range), one run
each on the fast engine; a draw is accepted when its run reproduces the qualitative patterns
(the chair order with no vacant term, the group alive at the end of the record) and its joint
outputs per year are among the closest `accept` share of all draws to the observed statements
per year. The accepted draws approximate the posterior.

Distance: d = sqrt(sum over years of (simulated - observed)^2 / max(observed, 1)), each year's
squared error scaled by a Poisson variance, so that a miss of 3 in a year of 3 statements counts
more than a miss of 3 in a year of 13. The last year of the record is partial: it is compared
with the outputs of the quarters it covers (the last one in proportion to its days observed).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import InputError, UserError
from sim.experiments.design import Factor, read_factor, run_seed
from sim.experiments.evaluation import (
    SUMMARIES,
    Evaluator,
    Measure,
    evaluate,
    open_evaluator,
)
from sim.inference.statistics import shares_by_point
from sim.model import rules
from sim.model.files import Section, check_fits, find_line, read_toml
from sim.model.params import Scenario
from sim.model.quarters import parse_quarter
from sim.model.scenario_files import load_named_scenario, with_overrides

SECTIONS = ("calibration", "targets", "priors")
CALIBRATION_KEYS = {
    "name": "name of the calibration and of its results folder",
    "description": "what the calibration fits",
    "scenario": "built-in scenario name or path to a scenario file",
    "draws": "parameter sets drawn from the priors (one run each)",
    "accept": "share of draws accepted (the tolerance is the distance at this quantile)",
    "seed": "seed of the draws and of their runs",
    "predictive_runs": "runs per accepted draw for the posterior predictive intervals",
    "long_run": "scenarios whose outcome at their own horizon is reported over the accepted draws",
    "long_run_runs": "runs per accepted draw for the long-run outcome shares",
}
TARGET_KEYS = {
    "statements": "CSV of joint statements with a `date` column (relative to this file)",
    "observed_from": "first day of the record, YYYY-MM-DD",
    "observed_until": "last day of the record, YYYY-MM-DD",
    "chair_order": "member codes that held the chair term by term, with no vacant term",
    "alive_at_end": "whether the group must be alive at the end of the record",
}
UNIDENTIFIED = 0.7  # posterior 90 % interval wider than this share of the prior range


DRAW_BYTES = 400  # memory one draw's parameters and statistics take while draws are ranked


@dataclass(frozen=True)
class Calibration:
    """A validated calibration file."""

    name: str
    description: str
    base: Scenario
    draws: int
    accept: float
    seed: int
    predictive_runs: int
    priors: tuple[Factor, ...]
    observed: pd.Series  # statements per calendar year
    year_quarters: dict[int, list[tuple[int, float]]]  # year -> (quarter index, weight)
    last_quarter: int
    chair_order: tuple[str, ...]
    alive_at_end: bool
    source: str
    long_run: tuple[Scenario, ...] = ()
    long_run_runs: int = 5


@dataclass
class CalibrationFile:
    """A calibration file as read, and what every kind of calibration file holds: the head's
    settings, the priors' table and the long-run scenarios, each value checked."""

    path: Path
    top: Section
    head: Section  # the [calibration] table

    @classmethod
    def read(cls, path: str | Path, sections: tuple[str, ...], head_keys: Mapping[str, str]
             ) -> CalibrationFile:
        path = Path(path)
        if not path.is_file():
            raise InputError(str(path), "no such calibration file.")
        raw, text = read_toml(path)
        top = Section(str(path), text, raw, (), sections, label="calibration file",
                      line_finder=find_line)
        return cls(path, top, top.section("calibration", head_keys, default={}))

    @property
    def source(self) -> str:
        return str(self.path)

    def settings(self, draws: int | None) -> dict[str, Any]:
        """name, description, draws, accept, seed and predictive_runs."""
        get = self.head.get
        return {
            "name": self.head.folder_name("name", self.path.stem),
            "description": get("description", str, ""),
            "draws": draws or get("draws", int, 20_000, lambda v: v >= 10,
                                  "a whole number of draws, at least 10."),
            "accept": get("accept", float, 0.01, lambda v: 0 < v <= 1,
                          "a share above 0 and at most 1."),
            "seed": get("seed", int, 0, lambda v: 0 <= v < 2**63,
                        "a whole number from 0 to 2**63 - 1."),
            "predictive_runs": get("predictive_runs", int, 20, lambda v: v >= 1,
                                   "a whole number, at least 1."),
        }

    def priors(self, scenarios: list[Scenario]) -> tuple[Factor, ...]:
        """The numeric prior ranges, each a key of every one of `scenarios`."""
        priors_raw = self.top.raw.get("priors", {})
        if not isinstance(priors_raw, Mapping) or not priors_raw:
            raise self.top.error("priors", "must give at least one prior range.",
                                 allowed='"dotted.key" = { min = ..., max = ... }.')
        table = self.top.section("priors", None)
        priors = []
        for key, spec in priors_raw.items():
            checked = [read_factor(table, key, spec, scenario) for scenario in scenarios]
            prior = checked[0]
            if not prior.is_range or prior.kind is bool:
                raise table.error(prior.key, "needs a numeric range.",
                                  allowed="{ min = ..., max = ... }.")
            priors.append(prior)
        return tuple(priors)

    def long_run(self, example: str) -> tuple[tuple[Scenario, ...], int]:
        """The long-run scenarios and the runs per accepted draw for them."""
        refs = self.head.texts("long_run", "is not a list of scenarios.", f"e.g. {example}.")
        scenarios = tuple(load_named_scenario(ref, self.path.parent, lambda why, ref=ref:
                                              self.head.error("long_run", "names no scenario.",
                                                              ref, why))
                          for ref in refs)
        runs = self.head.get("long_run_runs", int, 5, lambda v: v >= 1,
                             "a whole number, at least 1.")
        return scenarios, runs


def load_calibration(path: str | Path, draws: int | None = None) -> Calibration:
    """Read and validate a calibration file; errors name file, line, key and value."""
    file = CalibrationFile.read(path, SECTIONS, CALIBRATION_KEYS)
    head, targets = file.head, file.top.section("targets", TARGET_KEYS, default={})
    settings = file.settings(draws)
    scenario_ref = head.get("scenario", str, check=bool,
                            allowed="a built-in scenario name or a path.")
    first_day = targets.date("observed_from", check=bool)
    last_day = targets.date("observed_until", check=bool)
    if last_day < first_day:
        raise targets.error("observed_until", "is before observed_from.", str(last_day))
    csv_path = targets.file("statements", "a path to a CSV file.", must_exist="a CSV file")
    dates = [d for d in read_record_dates(csv_path.resolve()) if first_day <= d <= last_day]
    years = range(first_day.year, last_day.year + 1)
    observed = pd.Series({y: int(sum(d.year == y for d in dates)) for y in years},
                         name="statements")
    base = load_named_scenario(scenario_ref, file.path.parent, lambda why: head.error(
        "scenario", "names no scenario.", scenario_ref, why))
    start = parse_quarter(base.start)
    last_quarter = parse_quarter(f"{last_day.year}Q{(last_day.month - 1) // 3 + 1}") - start
    if parse_quarter(f"{first_day.year}Q{(first_day.month - 1) // 3 + 1}") < start or \
            last_quarter < 0:
        raise targets.error("observed_from", "falls outside the scenario's horizon.",
                            str(first_day), f"dates from the scenario's start, {base.start}.")
    base = with_overrides(base, years=last_quarter // 4 + 1)
    order = targets.raw.get("chair_order", [])
    codes = [m.code for m in base.members]
    if not isinstance(order, list) or any(c not in codes for c in order):
        raise targets.error("chair_order", "names a non-member.", order,
                            f"member codes of {base.name}: {', '.join(codes)}.")
    alive = targets.get("alive_at_end", bool, True)
    priors = file.priors([base])
    long_run, long_run_runs = file.long_run('["mikta", "mikta-formal"]')
    check_fits("draws", settings["draws"], DRAW_BYTES + 8 * (len(priors) + len(observed)),
               file.source if draws is None else "--draws",
               "calibration.draws" if draws is None else None, settings["draws"])
    return Calibration(settings["name"], settings["description"], base, settings["draws"],
                       settings["accept"], settings["seed"], settings["predictive_runs"], priors,
                       observed, _year_quarters(start, last_quarter, last_day), last_quarter,
                       tuple(order), alive, file.source, long_run, long_run_runs)


def _year_quarters(start: int, last_quarter: int, last_day: dt.date
                   ) -> dict[int, list[tuple[int, float]]]:
    """Per calendar year, its quarters (from the run's first) and the share of each observed:
    the last quarter in proportion to its days up to `last_day`, the others in full."""
    year_quarters: dict[int, list[tuple[int, float]]] = {}
    for q in range(last_quarter + 1):
        year_quarters.setdefault((start + q) // 4, []).append((q, 1.0))
    quarter_start = dt.date(last_day.year, 3 * ((last_day.month - 1) // 3) + 1, 1)
    quarter_end = dt.date(last_day.year + (quarter_start.month == 10),
                          (quarter_start.month + 3 - 1) % 12 + 1, 1)
    share = ((last_day - quarter_start).days + 1) / (quarter_end - quarter_start).days
    year_quarters[last_day.year][-1] = (last_quarter, share)
    return year_quarters


def read_record_dates(path: Path) -> list[dt.date]:
    """The `date` column of a record CSV (one row per joint statement), every value checked."""
    import csv

    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror}).") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(str(path), f"is not a readable UTF-8 CSV file ({exc}).") from None
    header = [name.strip().lstrip("\ufeff") for name in rows[0]] if rows else []
    if "date" not in header:
        raise InputError(str(path), "has no `date` column.", line=1, allowed="a CSV with a "
                         "header naming a date column, one row per joint statement.")
    column = header.index("date")
    dates = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        value = row[column].strip() if column < len(row) else ""
        try:
            dates.append(dt.date.fromisoformat(value))
        except ValueError:
            raise InputError(str(path), "is not a date.", key="date", value=value,
                             line=number, allowed="YYYY-MM-DD, e.g. 2016-09-21.") from None
    if not dates:
        raise InputError(str(path), "has no rows: a record needs at least one dated "
                         "statement.", allowed="one row per joint statement under the header.")
    return dates


def prior_draws(calibration, draws: int | None = None, seed: int | None = None
                ) -> pd.DataFrame:
    """Parameter sets from a Latin hypercube, uniform on each prior range (by default the
    calibration's own number of draws and seed)."""
    unit = qmc.LatinHypercube(d=len(calibration.priors),
                              seed=calibration.seed if seed is None else seed).random(
        draws or calibration.draws)
    return pd.DataFrame({p.key: [p.cast(p.low + u * (p.high - p.low)) for u in unit[:, j]]
                         for j, p in enumerate(calibration.priors)})


class YearlyPatterns(Measure):
    """Per run: its joint outputs in each year of the record (`y<year>`, the last year's partial
    quarter in proportion) and whether it keeps each pattern (`chair_pattern`,
    `alive_at_end`)."""

    record = True

    def __init__(self, calibration: Calibration):
        self.calibration = calibration

    def __call__(self, scenarios, runs) -> pd.DataFrame:
        calibration = self.calibration
        rotation = [calibration.base.codes.index(c) for c in calibration.chair_order]
        rows = []
        for trajectory in runs.trajectories:
            outputs = trajectory.series["outputs"]
            row = {f"y{year}": float(sum(outputs[q] * w for q, w in quarters))
                   for year, quarters in calibration.year_quarters.items()}
            t_end = calibration.last_quarter
            ran = trajectory.quarters_run > t_end
            chairs = trajectory.series["chair"][trajectory.series["new_term"]]
            terms = chairs[: len(rotation)]
            row["chair_pattern"] = bool(ran and len(terms) == len(rotation)
                                        and np.array_equal(terms, rotation))
            row["alive_at_end"] = bool(ran and trajectory.series["state"][t_end]
                                       == rules.ALIVE)
            rows.append(row)
        return pd.DataFrame(rows)


def simulate_patterns(calibration: Calibration, params: pd.DataFrame, seeds: list[int],
                      evaluator: Evaluator | None = None) -> pd.DataFrame:
    """`YearlyPatterns` of one run per row of `params` (in this process without an
    evaluator)."""
    return evaluate(calibration.base, seeds, YearlyPatterns(calibration),
                    parameter_sets=params.to_dict("records"), evaluator=evaluator)


def _patterns(simulated: pd.DataFrame, calibration: Calibration) -> pd.Series:
    """Whether each run keeps the required patterns: the chair order, and alive if asked."""
    return simulated["chair_pattern"] & (simulated["alive_at_end"]
                                         | (not calibration.alive_at_end))


def distance(simulated: pd.DataFrame, observed: pd.Series) -> np.ndarray:
    """Poisson-scaled distance between simulated outputs and observed statements per year."""
    squared = sum((simulated[f"y{year}"] - count) ** 2 / max(count, 1)
                  for year, count in observed.items())
    return np.sqrt(np.asarray(squared, dtype=float))


@dataclass
class CalibrationResult:
    draws: pd.DataFrame  # parameters, yearly outputs, patterns, distance, accepted
    posterior: pd.DataFrame  # per parameter: prior range, accepted quantiles, identified
    predictive: pd.DataFrame  # per year: observed, simulated median and intervals
    calibrated: dict[str, Any]  # the accepted draw closest to the record on average
    calibrated_fit: pd.DataFrame  # per year, as `predictive`, for the calibrated values alone
    long_run: pd.DataFrame  # per scenario and parameter source: outcome shares at its horizon
    tolerance: float
    seconds: float


def calibrate(calibration: Calibration, workers: int = 2,
              evaluator: Evaluator | None = None) -> CalibrationResult:
    """Draw, simulate, accept; then summarize the posterior and its predictive fit."""
    with open_evaluator(evaluator, workers) as pool:
        return fit_patterns(calibration, pool)


def fit_patterns(calibration: Calibration, evaluator: Evaluator) -> CalibrationResult:
    """`calibrate` on an open evaluator."""
    start = time.perf_counter()
    params = prior_draws(calibration)
    seeds = [run_seed(calibration.seed, k, 0, common=False) for k in range(len(params))]
    simulated = simulate_patterns(calibration, params, seeds, evaluator)
    draws = pd.concat([params, simulated], axis=1)
    d = distance(simulated, calibration.observed)
    draws["distance"] = np.where(_patterns(simulated, calibration), d, np.inf)
    keep = max(1, round(calibration.accept * len(draws)))
    tolerance = float(np.sort(draws["distance"].to_numpy())[keep - 1])
    draws["accepted"] = np.isfinite(draws["distance"]) & (draws["distance"] <= tolerance)
    accepted = draws[draws["accepted"]]
    predictive, per_draw = predictive_check(calibration, accepted, evaluator)
    best = per_draw.index[0]
    calibrated = {p.key: accepted.loc[best, p.key] for p in calibration.priors}
    posterior = posterior_summary(calibration, accepted)
    posterior["calibrated"] = [calibrated[p.key] for p in calibration.priors]
    draws["expected_distance"] = per_draw["expected_distance"].reindex(draws.index)
    runs = 50 * calibration.predictive_runs
    seeds = [run_seed(calibration.seed, 2 * 10**9 + k, 2, common=False) for k in range(runs)]
    point = simulate_patterns(calibration, pd.DataFrame([calibrated] * runs), seeds, evaluator)
    long_run = long_run_outcomes(calibration, accepted, calibrated, evaluator)
    return CalibrationResult(draws, posterior, predictive, calibrated,
                             _yearly_intervals(calibration, point), long_run, tolerance,
                             time.perf_counter() - start)


def long_run_outcomes(calibration: Calibration, accepted: pd.DataFrame,
                      calibrated: dict[str, Any], evaluator: Evaluator) -> pd.DataFrame:
    """Outcome shares of each long-run scenario at its horizon, with the calibrated values and
    over all accepted draws: what the record says, and does not say, about the group's fate."""
    draws = accepted[[p.key for p in calibration.priors]].to_dict("records")
    n = calibration.long_run_runs
    sources = {"calibrated values": [calibrated] * (len(draws) * n),
               "accepted draws": [d for d in draws for _ in range(n)]}
    seeds = long_run_seeds(calibration, len(draws) * n)
    rows = []
    for scenario in calibration.long_run:
        for label, values in sources.items():
            runs = evaluate(scenario, seeds, SUMMARIES, parameter_sets=values,
                            evaluator=evaluator)
            shares = shares_by_point(runs.assign(point_id=0), []).iloc[0]
            rows.append({"scenario": scenario.name, "parameters": label,
                         "runs": len(values), "years": scenario.years,
                         **{f"{name}{suffix}": shares[f"{name}{suffix}"]
                            for name in rules.STATE_NAMES for suffix in ("", "_low", "_high")}})
    return pd.DataFrame(rows)


def long_run_seeds(calibration: Calibration, runs: int) -> list[int]:
    """Distinct seeds for the long-run runs, the same for the calibrated values and the draws."""
    return [run_seed(calibration.seed, 0, 3 * 10**9 + k, common=True) for k in range(runs)]


def _yearly_intervals(calibration: Calibration, simulated: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for year, count in calibration.observed.items():
        values = simulated[f"y{year}"]
        q05, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append({"year": year, "observed": count, "median": q50, "q05": q05, "q25": q25,
                     "q75": q75, "q95": q95, "mean": float(values.mean())})
    frame = pd.DataFrame(rows)
    frame.attrs["chair_pattern"] = float(simulated["chair_pattern"].mean())
    frame.attrs["alive_at_end"] = float(simulated["alive_at_end"].mean())
    return frame


def posterior_summary(calibration: Calibration, accepted: pd.DataFrame) -> pd.DataFrame:
    """Accepted ranges of each parameter against its prior, and whether the data identify it."""
    rows = []
    for prior in calibration.priors:
        values = accepted[prior.key].to_numpy(dtype=float)
        q05, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
        width = (q95 - q05) / (prior.high - prior.low) if prior.high > prior.low else 0.0
        rows.append({"parameter": prior.key, "prior_min": prior.low, "prior_max": prior.high,
                     "q05": q05, "q25": q25, "median": q50, "q75": q75, "q95": q95,
                     "interval_share_of_prior": width, "identified": width < UNIDENTIFIED})
    return pd.DataFrame(rows)


def predictive_check(calibration: Calibration, accepted: pd.DataFrame, evaluator: Evaluator
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed statements per year against fresh runs of the accepted parameter sets.

    Also scores each accepted draw by its mean distance over these runs (with the patterns
    required in most of them), best first: one run per draw accepts lucky draws too, the mean
    over many does not.
    """
    keys = [p.key for p in calibration.priors]
    draw_of_run = accepted.index.repeat(calibration.predictive_runs)
    params = accepted[keys].loc[draw_of_run].reset_index(drop=True)
    seeds = [run_seed(calibration.seed, 10**9 + k, 1, common=False) for k in range(len(params))]
    simulated = simulate_patterns(calibration, params, seeds, evaluator)
    simulated["draw"] = draw_of_run
    simulated["distance"] = distance(simulated, calibration.observed)
    simulated["patterns"] = _patterns(simulated, calibration)
    per_draw = simulated.groupby("draw").agg(expected_distance=("distance", "mean"),
                                             patterns=("patterns", "mean"))
    per_draw["score"] = per_draw["expected_distance"].where(per_draw["patterns"] >= 0.8, np.inf)
    per_draw = per_draw.sort_values(["score", "expected_distance"])
    return _yearly_intervals(calibration, simulated), per_draw
