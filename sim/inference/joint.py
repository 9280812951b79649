"""One set of behavioural values for one case or several: a calibration against their records.

A calibration file names case records (`[calibration] cases`, shipped names such as `mikta` and
`ibsa`, or paths to record TOML files); one case is a joint calibration with one case. Each
case's targets come from its record and the scenario the record names, over the calendar years
both cover in full (as `minilat validate` compares them):

- activity: the record's meetings and documents per year at every level the record holds in
  full that year (`<case>:<level>:<year>`);
- states: whether the group is a zombie, and whether it is dead, at the end of each year, by
  the outcome rule applied to the record (`<case>:zombie:<year>`, `<case>:dead:<year>`).

Every prior is one key set in every case's scenario at once (the behavioural values are shared;
the cases' files hold their facts). Each parameter set is run once per case on the fast engine.

Distance. Each statistic is scaled by its spread over the prior draws (the median absolute
deviation, times 1.4826, or the standard deviation where that is 0; a statistic that never
varies is left out: it cannot tell draws apart), as in an adaptive distance (Prangle 2017). A
case's distance is the root mean square of its scaled differences, so a case with many
statistics weighs no more than one with few; the joint distance is the root mean square of the
cases' distances. The accepted draws are the `accept` share closest to the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, UserError
from sim.experiments.design import Factor
from sim.experiments.evaluation import (
    BATCH,
    Evaluator,
    Measure,
    evaluate,
    open_evaluator,
)
from sim.inference.calibration import (
    CalibrationFile,
)
from sim.inference.records import Record, common_years, load_record
from sim.model import rules
from sim.model.files import Section, check_fits
from sim.model.labels import LEVELS
from sim.model.params import Scenario
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.simulation import simulate

SECTIONS = ("calibration", "priors")
JOINT_KEYS = {
    "name": "name of the calibration and of its results folder",
    "description": "what the calibration fits",
    "cases": "case records fitted at once: shipped names (mikta, ibsa) or record TOML paths",
    "draws": "parameter sets drawn from the priors (one run of each case each)",
    "accept": "share of draws accepted (the tolerance is the distance at this quantile)",
    "seed": "seed of the draws and of their runs",
    "predictive_runs": "runs per accepted draw and case for the posterior predictive intervals",
    "long_run": "scenarios whose outcome at their own horizon is reported over the accepted draws",
    "long_run_runs": "runs per accepted draw for the long-run outcome shares",
    "method": 'how to fit: "smc" (ABC-SMC with pyabc, the default) or "rejection"',
    "population_size": "smc: parameter sets accepted in each generation",
    "max_populations": "smc: generations at most",
    "min_epsilon": "smc: stop when the tolerance falls to this distance",
    "max_simulations": "smc: stop after this many parameter sets simulated",
    "replicates": "runs of each case per parameter set, whose statistics are averaged (smc)",
}
METHODS = ("smc", "rejection")
MAD_TO_SD = 1.4826  # the median absolute deviation of a normal sample, times this, is its sd
DRAW_BYTES = 600


@dataclass(frozen=True)
class CaseTarget:
    """One case's record and scenario, and the statistics it is held to."""

    record: Record
    scenario: Scenario  # the record's scenario, run to the end of the compared years
    years: tuple[int, ...]
    observed: pd.Series  # statistic name -> observed value


@dataclass(frozen=True)
class JointCalibration:
    """A validated joint calibration file."""

    name: str
    description: str
    cases: tuple[CaseTarget, ...]
    draws: int
    accept: float
    seed: int
    predictive_runs: int
    priors: tuple[Factor, ...]
    source: str
    long_run: tuple[Scenario, ...] = ()
    long_run_runs: int = 5
    method: str = "smc"
    population_size: int = 200
    max_populations: int = 8
    min_epsilon: float = 0.0
    max_simulations: int = 20_000
    replicates: int = 1


def load_joint(path: str | Path, draws: int | None = None) -> JointCalibration:
    """Read and validate a joint calibration file; errors name file, line, key and value."""
    file = CalibrationFile.read(path, SECTIONS, JOINT_KEYS)
    settings = file.settings(draws)
    cases = _cases(file.head)
    priors = file.priors([case.scenario for case in cases])
    long_run, long_run_runs = file.long_run('["mikta", "ibsa"]')
    if long_run:
        file.priors(list(long_run))  # every prior is a key of the long-run scenarios too
    statistics = sum(len(c.observed) for c in cases)
    check_fits("draws", settings["draws"], DRAW_BYTES + 8 * (len(priors) + statistics),
               file.source if draws is None else "--draws",
               "calibration.draws" if draws is None else None, settings["draws"])
    get = file.head.get
    method = get("method", str, "smc", lambda v: v in METHODS,
                 '"smc" (ABC-SMC with pyabc) or "rejection".')
    smc = {
        "population_size": get("population_size", int, 200, lambda v: v >= 2,
                               "a whole number of parameter sets, at least 2."),
        "max_populations": get("max_populations", int, 8, lambda v: v >= 1,
                               "a whole number of generations, at least 1."),
        "min_epsilon": get("min_epsilon", float, 0.0, lambda v: v >= 0,
                           "a distance, 0 or more."),
        "max_simulations": get("max_simulations", int, 20_000, lambda v: v >= 1,
                               "a whole number of parameter sets, at least 1."),
        "replicates": get("replicates", int, 1, lambda v: 1 <= v <= 1000,
                          "a whole number of runs from 1 to 1000."),
    }
    return JointCalibration(settings["name"], settings["description"], tuple(cases),
                            settings["draws"], settings["accept"], settings["seed"],
                            settings["predictive_runs"], priors, file.source, long_run,
                            long_run_runs, method, **smc)


def _cases(head: Section) -> list[CaseTarget]:
    """The `cases` of a [calibration] table: distinct records, each a shipped name or a record
    file relative to the calibration file."""
    refs = head.texts("cases", "is not a list of case records.",
                      'e.g. ["mikta", "ibsa"]: shipped records or record TOML files.',
                      filled=True)
    if len(set(refs)) < len(refs):
        raise head.error("cases", "names a case twice.", refs, "distinct cases.")
    cases = []
    for ref in refs:
        local = head.folder / ref
        try:
            record = load_record(local if local.is_file() else ref)
        except InputError:
            raise
        except UserError as exc:
            raise head.error("cases", "names no record.", ref,
                             str(exc).split(": ", 1)[-1]) from None
        cases.append(case_target(record))
    return cases


def case_target(record: Record) -> CaseTarget:
    """The statistics a case's record holds its runs to, over the years both cover in full."""
    scenario = load_scenario(record.scenario)
    years = common_years(record, with_overrides(scenario, years=200))
    if not years:
        raise UserError(f"{record.source}: the record and its scenario {scenario.name} share "
                        "no whole calendar year to compare.")
    scenario = with_overrides(scenario, years=(years[-1] * 4 + 3 - scenario.start_quarter) // 4
                              + 1)
    activity = record.activity_by_year()
    states = dict(zip(*record.observed_states()[["quarter", "state"]].T.values, strict=True))
    observed = {}
    for year in years:
        for level in LEVELS:
            if record.complete(level, year):
                observed[f"{record.name}:{level}:{year}"] = float(activity.loc[year, level])
    for year in years:
        state = states.get(f"{year}Q4")
        if state is not None:
            observed[f"{record.name}:zombie:{year}"] = float(state == "zombie")
            observed[f"{record.name}:dead:{year}"] = float(state == "dead")
    return CaseTarget(record, scenario, tuple(years), pd.Series(observed, dtype=float))


def case_statistics(case: CaseTarget, parameter_sets: list[dict], seeds: list[int]
                    ) -> pd.DataFrame:
    """The case's statistics of one run per parameter set (columns as `case.observed`)."""
    scenarios = [with_overrides(case.scenario, values) for values in parameter_sets]
    batch = simulate(scenarios, seeds, engine="fast", record=True)
    return statistics_of(case, batch.trajectories, case.scenario.start_quarter)


def statistics_of(case: CaseTarget, trajectories, start_quarter: int) -> pd.DataFrame:
    """The case's statistics (columns as `case.observed`) of recorded runs that start in
    `start_quarter` (absolute) and reach the case's last compared year."""
    columns: dict[str, np.ndarray] = {}
    levels = {lv: np.array([t.series[f"outputs_{lv}"] for t in trajectories]) for lv in LEVELS}
    state = np.array([np.where(np.arange(len(t.series["state"])) < t.quarters_run,
                               t.series["state"], rules.DEAD) for t in trajectories])
    for name in case.observed.index:
        _, what, year = name.split(":")
        q0 = int(year) * 4 - start_quarter
        if what in LEVELS:
            columns[name] = levels[what][:, q0:q0 + 4].sum(axis=1).astype(float)
        else:
            code = rules.ZOMBIE if what == "zombie" else rules.DEAD
            columns[name] = (state[:, q0 + 3] == code).astype(float)
    return pd.DataFrame(columns)


class CaseStatistics(Measure):
    """Per run of the case's scenario: its statistics (columns as `case.observed`)."""

    record = True

    def __init__(self, case: CaseTarget):
        self.case = case

    def __call__(self, scenarios, runs) -> pd.DataFrame:
        return statistics_of(self.case, runs.trajectories, self.case.scenario.start_quarter)


def simulate_statistics(calibration: JointCalibration, params: pd.DataFrame, seeds: list[int],
                        workers: int = 1, chunk: int = BATCH,
                        evaluator: Evaluator | None = None) -> pd.DataFrame:
    """Every case's statistics for one run per row of `params`, in chunks on `evaluator` (or
    on `workers` local processes)."""
    records = params.to_dict("records")
    with open_evaluator(evaluator, workers) as pool:
        return pd.concat([evaluate(case.scenario, seeds, CaseStatistics(case),
                                   parameter_sets=records, batch=chunk, evaluator=pool)
                          for case in calibration.cases], axis=1)


def statistic_scales(simulated: pd.DataFrame) -> pd.Series:
    """Each statistic's spread over the prior draws (MAD x 1.4826, else the sd); 0 if none."""
    median = simulated.median()
    mad = (simulated - median).abs().median() * MAD_TO_SD
    return mad.where(mad > 0, simulated.std(ddof=0)).fillna(0.0)


def case_distances(calibration: JointCalibration, simulated: pd.DataFrame,
                   scales: pd.Series) -> pd.DataFrame:
    """One column per case: the root mean square of its scaled differences from the record."""
    out = {}
    for case in calibration.cases:
        used = [k for k in case.observed.index if scales[k] > 0]
        if not used:
            out[case.record.name] = np.zeros(len(simulated))
            continue
        scaled = (simulated[used] - case.observed[used]) / scales[used]
        out[case.record.name] = np.sqrt((scaled ** 2).mean(axis=1).to_numpy())
    return pd.DataFrame(out, index=simulated.index)


def joint_distance(per_case: pd.DataFrame) -> np.ndarray:
    """The root mean square of the cases' distances: each case weighs the same."""
    return np.sqrt((per_case ** 2).mean(axis=1).to_numpy())


__all__ = [
    "CaseTarget",
    "JointCalibration",
    "case_distances",
    "case_statistics",
    "case_target",
    "joint_distance",
    "load_joint",
    "statistic_scales",
]
