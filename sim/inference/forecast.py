"""What becomes of a group, given its record so far: runs of its scenario conditioned on the record.

`forecast` runs the scenario from its start to the end of a calendar year, each run with a
parameter set drawn by weight from a calibration's posterior (`posterior.parquet`) or with the
scenario's own values, then conditions on the group's case record: each run's statistics over
the years the record covers in full (activity per year and level, the state at each year's end,
as the joint calibration compares them) are set against the record's, each statistic scaled by
its spread over the runs (MAD, else the standard deviation), and the `keep` share of runs closest
to the record is kept (rejection on the record). Shares and intervals per year are over the kept
runs, so they carry both the parameters' and the seeds' uncertainty. Rows appended to the record
move the forecast: the runs kept are those that also match the new rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.design import run_seed
from sim.experiments.evaluation import TRAJECTORIES, Evaluator, evaluate
from sim.experiments.posterior import draw_by_weight, read_posterior
from sim.inference.joint import case_distances, case_target, statistic_scales, statistics_of
from sim.inference.records import Record, builtin_records, check_belongs, load_record
from sim.inference.statistics import wilson_interval
from sim.model import rules
from sim.model.labels import LEVELS
from sim.model.params import Scenario
from sim.model.scenario_files import with_overrides

INTERVAL = 0.90
COLUMNS = ["year", "p_alive", "p_zombie", "p_dead", "p_alive_lo", "p_alive_hi",
           "outputs_median", "outputs_lo", "outputs_hi", "p_vacant_term", "p_exit"]


@dataclass
class Forecast:
    scenario: Scenario
    record: Record | None
    until: int
    runs: int
    kept: np.ndarray  # (runs,) bool: the runs closest to the record
    distance: np.ndarray  # (runs,) to the record (nan without one)
    table: pd.DataFrame  # COLUMNS, one row per calendar year
    record_years: pd.DataFrame  # year, observed activity (every level) where recorded in full
    parameters: str  # where the parameter sets came from
    seconds: float
    compared: pd.DataFrame  # year, median, lo, hi: outputs at `levels`, as the record has them
    levels: list[str]  # the levels the record holds in full in every compared year


def record_for(scenario: Scenario) -> Record | None:
    """The shipped case record whose scenario is this one, if any."""
    for name in builtin_records():
        record = load_record(name)
        if record.scenario == scenario.name:
            return record
    return None


def forecast(scenario: Scenario, until: int, posterior: Path | None = None, runs: int = 2000,
             seed: int = 0, keep: float = 0.2, record: Record | None = None,
             workers: int = 2, evaluator: Evaluator | None = None) -> Forecast:
    """Runs of `scenario` to the end of `until`, conditioned on its record (see the module)."""
    start = time.perf_counter()
    first_year = scenario.start_quarter // 4
    if until < first_year:
        raise UserError(f"--until {until}: before the scenario's start ({scenario.start}).")
    if until - first_year + 1 > 200:
        raise UserError(f"--until {until}: more than 200 years after the start.")
    if record is not None:
        check_belongs(record, scenario)
    base = with_overrides(scenario, years=until - first_year + 1)
    parameter_sets = None
    if posterior is not None:
        sets = read_posterior(posterior)
        keys = [c for c in sets.columns if c != "weight"]
        picked = draw_by_weight(sets["weight"], runs, np.random.default_rng(seed))
        parameter_sets = sets.iloc[picked][keys].to_dict("records")
        try:
            for row in np.unique(picked):  # every row drawn must fit the scenario
                with_overrides(base, parameter_sets[int(np.argmax(picked == row))])
        except UserError as exc:
            raise UserError(f"{Path(posterior) / 'posterior.parquet'}: does not fit scenario "
                            f"{scenario.name}: {exc}") from None
        source = f"{runs:,} parameter sets drawn by weight from {posterior}"
    else:
        source = f"the values of scenario {scenario.name}"
    seeds = [run_seed(seed, k, 5, common=False) for k in range(runs)]
    trajectories = evaluate(base, seeds, TRAJECTORIES, parameter_sets=parameter_sets,
                            batch=500, workers=workers, evaluator=evaluator
                            )["trajectory"].tolist()
    distance = np.full(runs, np.nan)
    kept = np.ones(runs, dtype=bool)
    record_years = pd.DataFrame(columns=["year", "observed"])
    if record is not None:
        case = case_target(record)
        years = [y for y in case.years if y <= until]
        case = SimpleNamespace(record=record, observed=case.observed[
            [k for k in case.observed.index if int(k.split(":")[2]) in years]])
        if len(case.observed):
            stats = statistics_of(case, trajectories, base.start_quarter)
            scales = statistic_scales(stats)
            distance = case_distances(SimpleNamespace(levels=[(record.name, case.observed)]),
                                      stats, scales).iloc[:, 0].to_numpy()
            cutoff = np.quantile(distance, keep)
            kept = distance <= cutoff
            # the levels the record holds in full in every compared year, in record and runs
            levels = [lv for lv in LEVELS if all(record.complete(lv, y) for y in years)]
            activity = record.activity_by_year()
            record_years = pd.DataFrame(
                {"year": years, "observed": [int(activity.loc[y, levels].sum()) for y in years]})
            record_years.attrs["levels"] = levels
    kept_runs = [t for t, k in zip(trajectories, kept, strict=True) if k]
    table = yearly(base, kept_runs, until)
    levels = record_years.attrs.get("levels", list(LEVELS))
    compared = yearly_outputs(base, kept_runs, until, levels)
    return Forecast(scenario, record, until, runs, kept, distance, table, record_years, source,
                    time.perf_counter() - start, compared, levels)


def yearly(scenario: Scenario, trajectories, until: int) -> pd.DataFrame:
    """COLUMNS for each calendar year from the scenario's start to `until`, over the runs."""
    n = len(trajectories)
    quarters = scenario.quarters
    state = np.array([np.where(np.arange(quarters) < t.quarters_run, t.series["state"],
                               rules.DEAD) for t in trajectories])
    outputs = np.array([np.where(np.arange(quarters) < t.quarters_run, t.series["outputs"], 0)
                        for t in trajectories])
    vacant = np.array([(t.series["new_term"] & (t.series["chair"] == rules.VACANT))
                       & (np.arange(quarters) < t.quarters_run) for t in trajectories])
    exited = np.array([(t.series["status"] == rules.EXITED).sum(axis=-1) for t in trajectories])
    start = scenario.start_quarter
    rows = []
    for year in range(start // 4, until + 1):
        q0, q1 = max(year * 4 - start, 0), year * 4 + 4 - start
        end = q1 - 1
        alive = int(np.sum(state[:, end] == rules.ALIVE))
        lo, hi = wilson_interval(alive, n, INTERVAL)
        per_year = outputs[:, q0:q1].sum(axis=1)
        before = exited[:, q0 - 1] if q0 > 0 else np.zeros(n)
        rows.append({
            "year": year, "p_alive": alive / n,
            "p_zombie": float(np.mean(state[:, end] == rules.ZOMBIE)),
            "p_dead": float(np.mean(state[:, end] == rules.DEAD)),
            "p_alive_lo": lo, "p_alive_hi": hi,
            "outputs_median": float(np.median(per_year)),
            "outputs_lo": float(np.quantile(per_year, (1 - INTERVAL) / 2)),
            "outputs_hi": float(np.quantile(per_year, (1 + INTERVAL) / 2)),
            "p_vacant_term": float(np.mean(vacant[:, q0:q1].any(axis=1))),
            "p_exit": float(np.mean(exited[:, end] > before)),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def yearly_outputs(scenario: Scenario, trajectories, until: int, levels: list[str]
                   ) -> pd.DataFrame:
    """year, median, lo, hi of the runs' outputs per year at `levels` (90 % interval)."""
    quarters = scenario.quarters
    outputs = sum(np.array([np.where(np.arange(quarters) < t.quarters_run,
                                     t.series[f"outputs_{lv}"], 0) for t in trajectories])
                  for lv in levels)
    start = scenario.start_quarter
    rows = []
    for year in range(start // 4, until + 1):
        per_year = outputs[:, max(year * 4 - start, 0): year * 4 + 4 - start].sum(axis=1)
        rows.append({"year": year, "median": float(np.median(per_year)),
                     "lo": float(np.quantile(per_year, (1 - INTERVAL) / 2)),
                     "hi": float(np.quantile(per_year, (1 + INTERVAL) / 2))})
    return pd.DataFrame(rows)


def in_words(result: Forecast) -> str:
    """The forecast's first paragraph."""
    last = result.table.iloc[-1]
    kept = int(result.kept.sum())
    conditioned = (f"the {kept:,} of {result.runs:,} runs closest to its record to "
                   f"{result.record.observed_until:%B %Y}" if result.record is not None
                   else f"{result.runs:,} runs (no case record to condition on)")
    return (f"By the end of {result.until}, {result.scenario.title or result.scenario.name} is "
            f"alive in {last.p_alive:.0%} of runs (90 % interval {last.p_alive_lo:.0%} – "
            f"{last.p_alive_hi:.0%}), a zombie in {last.p_zombie:.0%} and dead in "
            f"{last.p_dead:.0%}; in {result.until} it makes a median of "
            f"{last.outputs_median:.0f} joint outputs (90 %: {last.outputs_lo:.0f} – "
            f"{last.outputs_hi:.0f}). Over {conditioned}, with {result.parameters}.")
