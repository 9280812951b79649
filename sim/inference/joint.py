"""One set of behavioural values for one case or several: a calibration against their records.

A calibration file names case records (`[calibration] cases`, shipped names such as `mikta` and
`ibsa`, or paths to record TOML files); one case is a joint calibration with one case. Each
case's targets come from its record and the scenario the record names, over the calendar years
both cover in full (as `minilat validate` compares them):

- activity: the record's meetings and documents per year at every level the record holds in
  full that year (`<case>:<level>:<year>`);
- members: the group's members at the end of each year, 0 once it is dead
  (`<case>:members:<year>`): the record's joins, exits and termination, which its activity
  counts do not hold, and the dead/not-dead reading of its activity under the outcome rule;
- states: whether the group is a zombie, and whether it is dead, at the end of each year, by
  the outcome rule applied to the record (`<case>:zombie:<year>`, `<case>:dead:<year>`). A
  zombie is the outcome rule read over the same activity, and a death is in the members
  already, so a fit holds a case to its activity and members (each datum counted once); the
  states are checked in the fit's predictive tables.

A calibration may add the population level (`[calibration] population`, a population file):
the published figures of its `fit` targets against the same statistics of a fixed sample of
its drawn groups (sim.inference.population_level). `[fixed]` sets keys (numbers or a mechanism's
form) in every case's scenario, the long-run scenarios and every drawn group alike.

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

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from sim.inference.population_level import PopulationLevel, population_level
from sim.inference.records import (
    Record,
    builtin_records,
    common_years,
    load_record,
    record_scenario,
)
from sim.model import rules
from sim.model.files import Section, check_fits, dotted_keys
from sim.model.labels import LEVELS
from sim.model.params import Scenario
from sim.model.scenario_files import with_overrides
from sim.model.simulation import simulate

SECTIONS = ("calibration", "priors", "fixed")
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
    "population": "a population file whose fit targets are one more level of the fit",
    "population_groups": "groups drawn from the population file for the fit (each parameter set "
                         "runs the same ones)",
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
    fixed: dict[str, Any] = field(default_factory=dict)
    population: PopulationLevel | None = None

    @property
    def levels(self) -> list[tuple[str, pd.Series]]:
        """Each level's name and observed statistics: the cases, then the population."""
        levels = [(case.record.name, case.observed) for case in self.cases]
        if self.population is not None:
            levels.append((self.population.name, self.population.observed))
        return levels


def load_joint(path: str | Path, draws: int | None = None) -> JointCalibration:
    """Read and validate a joint calibration file; errors name file, line, key and value."""
    file = CalibrationFile.read(path, SECTIONS, JOINT_KEYS)
    settings = file.settings(draws)
    fixed = _fixed(file)
    cases = [dataclasses.replace(c, scenario=_apply_fixed(file, c.scenario, fixed),
                                 observed=fitted_only(c.observed)) for c in _cases(file.head)]
    population = _population(file, fixed)
    scenarios = [case.scenario for case in cases]
    if population is not None:
        scenarios.append(population.drawn.scenarios[0])
    priors = file.priors(scenarios)
    if population is not None:
        _not_drawn(file, population, [p.key for p in priors] + list(fixed))
    long_run, long_run_runs = file.long_run('["mikta", "ibsa"]')
    long_run = tuple(_apply_fixed(file, s, fixed) for s in long_run)
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
    check_fits("parameter sets a generation", smc["population_size"],
               DRAW_BYTES + 8 * (len(priors) + statistics), file.source,
               "calibration.population_size", smc["population_size"])
    return JointCalibration(settings["name"], settings["description"], tuple(cases),
                            settings["draws"], settings["accept"], settings["seed"],
                            settings["predictive_runs"], priors, file.source, long_run,
                            long_run_runs, method, **smc, fixed=fixed, population=population)


def fitted_only(observed: pd.Series) -> pd.Series:
    """A case's statistics without its year-end states (a zombie is the outcome rule read over
    the same activity, a death is in the members: fitting them would count those data twice)."""
    return observed[[k for k in observed.index if k.split(":")[1] not in ("zombie", "dead")]]


def _fixed(file: CalibrationFile) -> dict[str, Any]:
    """The [fixed] table as dotted keys."""
    raw = file.top.raw.get("fixed", {})
    table = file.top.section("fixed", None, default={})
    if not isinstance(raw, dict):
        raise file.top.error("fixed", "must be a table.",
                             allowed='a [fixed] table of "dotted.key" = value.')
    fixed = dotted_keys(raw, where=table)
    for key in fixed:
        if key in ("years", "start") or key.startswith("scenario."):
            raise table.error(key, "cannot be fixed in a calibration.", fixed[key],
                              "behavioural keys (group.*, members.*, world.*, mechanisms.*).")
    return fixed


def _apply_fixed(file: CalibrationFile, scenario: Scenario, fixed: dict[str, Any]) -> Scenario:
    if not fixed:
        return scenario
    table = file.top.section("fixed", None, default={})
    try:
        return with_overrides(scenario, fixed)
    except InputError as exc:
        key = exc.key or ""
        where = next((k for k in fixed if key == k or key.startswith(k.split("*")[0])), key)
        raise table.error(where, exc.problem, exc.value, exc.allowed) from None


def _population(file: CalibrationFile, fixed: dict[str, Any]) -> PopulationLevel | None:
    """The population level: its file (relative to the calibration file), groups drawn once,
    the [fixed] keys set in every drawn group."""
    head = file.head
    if "population" not in head:
        if "population_groups" in head:
            raise head.error("population_groups", "needs a population file.",
                             head.raw["population_groups"], "population = \"FILE\" beside it.")
        return None
    ref = head.get("population", str)
    path = head.folder / ref
    if not path.is_file():
        raise head.error("population", "names no population file.", ref,
                         "a population TOML file, relative to the calibration file.")
    groups = head.get("population_groups", int, 200, lambda v: 2 <= v <= 100_000,
                      "a whole number of groups, 2 to 100000.")
    level = population_level(path, groups)
    drawn = dataclasses.replace(level.drawn, scenarios=tuple(
        _apply_fixed(file, s, fixed) for s in level.drawn.scenarios))
    return dataclasses.replace(level, drawn=drawn)


def _not_drawn(file: CalibrationFile, level: PopulationLevel, keys: list[str]) -> None:
    """A key the population draws is a founding condition: neither a prior nor fixed."""
    drawn = {d.key for s in level.population.strata for d in s.draws}
    drawn |= {k for s in level.population.strata for k in s.fixed}
    for key in keys:
        if key in drawn:
            raise file.head.error("population", f"draws or fixes {key} for its groups, which "
                                  "the calibration also sets.", key,
                                  "priors and [fixed] keys the population file leaves alone.")


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
        if not local.is_file() and ref not in builtin_records():  # never a path from elsewhere
            raise head.error("cases", "names no record.", ref,
                             f"a record file relative to {head.folder} (the folder of the "
                             f"calibration file), or a shipped record: "
                             f"{', '.join(builtin_records())}.")
        try:
            record = load_record(local if local.is_file() else ref)
        except InputError:
            raise
        except UserError as exc:
            raise head.error("cases", "names no record.", ref,
                             str(exc).split(": ", 1)[-1]) from None
        same = [c.record for c in cases if c.record.name == record.name]
        if same:
            raise head.error("cases", f"names the group {record.name} twice: {same[0].source} "
                             f"and {record.source} are both its record.", refs,
                             "one record for each group.")
        cases.append(case_target(record))
    return cases


def case_target(record: Record) -> CaseTarget:
    """The statistics a case's record holds its runs to, over the years both cover in full."""
    scenario = record_scenario(record)
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
    members = record.members_at_year_end()
    for year in years:
        observed[f"{record.name}:members:{year}"] = float(members[year])
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
    members = np.array([t.series["active_members"] for t in trajectories])
    state = np.array([np.where(np.arange(len(t.series["state"])) < t.quarters_run,
                               t.series["state"], rules.DEAD) for t in trajectories])
    for name in case.observed.index:
        _, what, year = name.split(":")
        q0 = int(year) * 4 - start_quarter
        if what in LEVELS:
            columns[name] = levels[what][:, q0:q0 + 4].sum(axis=1).astype(float)
        elif what == "members":
            columns[name] = np.where(state[:, q0 + 3] == rules.DEAD, 0,
                                     members[:, q0 + 3]).astype(float)
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
                        evaluator: Evaluator | None = None,
                        population_limit: int | None = None) -> pd.DataFrame:
    """Every level's statistics for one run per row of `params` (the population's over its
    sample of groups, whose seeds are its own; see `population_statistics`), in chunks on
    `evaluator` (or on `workers` local processes)."""
    records = params.to_dict("records")
    with open_evaluator(evaluator, workers) as pool:
        tables = [evaluate(case.scenario, seeds, CaseStatistics(case), parameter_sets=records,
                           batch=chunk, evaluator=pool) for case in calibration.cases]
        if calibration.population is not None:
            tables.append(population_statistics(calibration.population, params, pool,
                                                population_limit))
        return pd.concat([t.reset_index(drop=True) for t in tables], axis=1)


def population_statistics(level: PopulationLevel, params: pd.DataFrame, evaluator: Evaluator,
                          limit: int | None = None) -> pd.DataFrame:
    """The population's statistics of each row of `params`, run once per distinct set (its
    runs' seeds are the population's own, so a repeated set gives the same values); with
    `limit`, of the first `limit` distinct sets only (the others' rows empty)."""
    distinct = params.drop_duplicates()
    if limit is not None:
        distinct = distinct.iloc[:limit]
    values = level.statistics(distinct.to_dict("records"), evaluator)
    values.index = pd.MultiIndex.from_frame(distinct) if len(params.columns) > 1 else \
        pd.Index(distinct.iloc[:, 0])
    keys = pd.MultiIndex.from_frame(params) if len(params.columns) > 1 else \
        pd.Index(params.iloc[:, 0])
    return values.reindex(keys).reset_index(drop=True)


def statistic_scales(simulated: pd.DataFrame) -> pd.Series:
    """Each statistic's spread over the prior draws (MAD x 1.4826, else the sd); 0 if none."""
    median = simulated.median()
    mad = (simulated - median).abs().median() * MAD_TO_SD
    return mad.where(mad > 0, simulated.std(ddof=0)).fillna(0.0)


def case_distances(calibration: JointCalibration, simulated: pd.DataFrame,
                   scales: pd.Series) -> pd.DataFrame:
    """One column per level: the root mean square of its scaled differences from the record
    (a statistic a run could not give, such as a rate with no exposure, puts it at infinity)."""
    out = {}
    for name, observed in calibration.levels:
        used = [k for k in observed.index if scales[k] > 0]
        if not used:
            out[name] = np.zeros(len(simulated))
            continue
        scaled = (simulated[used].fillna(np.inf) - observed[used]) / scales[used]
        out[name] = np.sqrt((scaled ** 2).mean(axis=1).to_numpy())
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
