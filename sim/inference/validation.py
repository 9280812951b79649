"""Holding the model to a case's record: activity per year and level, and the group's state.

For a case (a record and the scenario that models it), `validate` runs the scenario from its
seeds and compares, for every calendar year both cover in full, the record's meetings and
documents at each level with the simulated outputs of that level (the observation model of
docs/ODD.md §7), and the record's state, by the outcome rule, with the share of runs in each
state. Every comparison is one row of `cases.csv`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.evaluation import TRAJECTORIES, evaluate
from sim.inference.records import Record, common_years, load_record, record_scenario
from sim.inference.statistics import wilson_interval
from sim.model import rules
from sim.model.labels import LEVELS, Rule, label_batch, rule_of
from sim.model.params import Scenario
from sim.model.scenario_files import with_overrides

INTERVAL = 0.90  # of the simulated values a pattern's observed value is held to
STATE_FLOOR = 0.05  # a record's state is inside when at least this share of runs is in it
SENSITIVITY = (0.5, 1.5)  # factors of the rule's windows in the sensitivity table
CASE_COLUMNS = ["case", "pattern", "observed", "simulated_median", "simulated_lo",
                "simulated_hi", "inside"]


@dataclass
class CaseResult:
    """One case's comparison: its rows of cases.csv, the yearly tables and the sensitivity."""

    record: Record
    scenario: Scenario
    runs: int
    patterns: pd.DataFrame  # CASE_COLUMNS
    activity: pd.DataFrame  # year, level, observed, q05, q25, median, q75, q95
    states: pd.DataFrame  # year, observed, alive, zombie, dead (shares of runs at year end)
    observed_states: pd.DataFrame  # case, quarter, state
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)


def case_scenario(record: Record, scenario: Scenario | None = None
                  ) -> tuple[Scenario, list[int]]:
    """The scenario a record is held to (its own unless given), run to the record's end, and
    the calendar years both cover; refused, before any run, if they share none."""
    scenario = scenario or record_scenario(record)
    record_end = record.start_quarter + record.quarters - 1
    years_needed = (record_end - scenario.start_quarter) // 4 + 1
    if years_needed > scenario.years:
        scenario = with_overrides(scenario, years=min(200, years_needed))
    years = common_years(record, scenario)
    if not years:
        raise UserError(f"{record.source}: the record ({record.founded} to "
                        f"{record.observed_until}) and scenario {scenario.name} (from "
                        f"{scenario.start}, {scenario.years} years) share no whole calendar "
                        "year: there is nothing to compare. Allowed: a record whose span "
                        "holds at least one calendar year, 1 January to 31 December, within "
                        "the scenario's.")
    return scenario, years


def check_cases(records: list[Record]) -> list[Scenario]:
    """Every record's scenario (`case_scenario`), all checked before any run: one record for
    each group, each with a scenario and a calendar year in common with it."""
    for i, record in enumerate(records):
        for earlier in records[:i]:
            if earlier.name == record.name:
                raise UserError(f"{record.source}: is a second record of {record.name} (the "
                                f"first: {earlier.source}); each group is validated once. "
                                "Allowed: one record for each group.")
    return [case_scenario(record)[0] for record in records]


def validate_case(record: Record | str, runs: int = 1000, seed: int = 0,
                  scenario: Scenario | None = None) -> CaseResult:
    """Run the case's scenario `runs` times (seeds seed, seed + 1, ...) over the record's span
    and compare it with the record."""
    record = load_record(record) if isinstance(record, str) else record
    scenario, years = case_scenario(record, scenario)
    first_quarter = scenario.start_quarter
    trajectories = evaluate(scenario, list(range(seed, seed + runs)), TRAJECTORIES,
                            batch=max(runs, 1))["trajectory"].tolist()
    levels = {lv: np.array([t.series[f"outputs_{lv}"] for t in trajectories]) for lv in LEVELS}
    states = _to_horizon(trajectories, "state", "last")  # dead after death
    observed = record.activity_by_year()
    rows, activity, state_rows = [], [], []
    for year in years:
        q0 = year * 4 - first_quarter
        for lv in LEVELS:
            if not record.complete(lv, year):
                continue
            simulated = levels[lv][:, q0:q0 + 4].sum(axis=1)
            q = np.quantile(simulated, [0.05, 0.25, 0.5, 0.75, 0.95])
            obs = int(observed.loc[year, lv])
            activity.append({"year": year, "level": lv, "observed": obs, "q05": q[0],
                             "q25": q[1], "median": q[2], "q75": q[3], "q95": q[4]})
            rows.append({"case": record.name, "pattern": f"{lv} activity {year}",
                         "observed": obs, "simulated_median": q[2], "simulated_lo": q[0],
                         "simulated_hi": q[4], "inside": bool(q[0] <= obs <= q[4])})
    labels = record.observed_states()
    by_quarter = dict(zip(labels["quarter"], labels["state"], strict=True))
    for year in years:
        end = year * 4 + 3 - first_quarter
        at_end = states[:, end]
        shares = {name: float(np.mean(at_end == k)) for k, name in enumerate(rules.STATE_NAMES)}
        seen = by_quarter.get(f"{year}Q4")
        state_rows.append({"year": year, "observed": seen, **shares})
        if seen is None:
            continue
        hits = int(np.sum(at_end == rules.STATE_NAMES.index(seen)))
        lo, hi = wilson_interval(hits, runs, INTERVAL)
        rows.append({"case": record.name, "pattern": f"state at the end of {year}",
                     "observed": seen, "simulated_median": hits / runs, "simulated_lo": lo,
                     "simulated_hi": hi, "inside": bool(hits / runs >= STATE_FLOOR)})
    rows += _chairs_and_exits(record, scenario, trajectories, years)
    result = CaseResult(record, scenario, runs, pd.DataFrame(rows, columns=CASE_COLUMNS),
                        pd.DataFrame(activity), pd.DataFrame(state_rows), labels)
    result.sensitivity = sensitivity(record, trajectories, scenario, years)
    return result


def _chairs_and_exits(record: Record, scenario: Scenario, trajectories, years: list[int]
                      ) -> list[dict]:
    """Two patterns: the record's chair in each compared year it names one (the member of its
    last `chair` row on or before 1 July), against the share of runs with that chair in every
    such year (inside when at least STATE_FLOOR of runs); and the record's exits over the
    compared years against the simulated number."""
    rows = []
    if not years:
        return rows
    chairs = record.rows[record.rows["kind"] == "chair"].sort_values("date")
    named = {}
    for year in years:
        before = chairs[chairs["date"] <= dt.date(year, 7, 1)]
        if len(before) and before["member"].iloc[-1] in scenario.codes:
            named[year] = before["member"].iloc[-1]
    if named:
        codes = np.array(scenario.codes + ("",))  # index -1 (vacant) reads as ""
        matches = np.ones(len(trajectories), dtype=bool)
        for year, code in named.items():
            q = year * 4 + 2 - scenario.start_quarter
            chair = np.array([t.series["chair"][q] if q < t.quarters_run else -1
                              for t in trajectories])
            matches &= codes[chair] == code
        hits = int(matches.sum())
        lo, hi = wilson_interval(hits, len(trajectories), INTERVAL)
        span = f"{min(named)}" if len(named) == 1 else f"{min(named)} – {max(named)}"
        rows.append({"case": record.name, "pattern": f"chairs {span}",
                     "observed": " ".join(named[y] for y in sorted(named)),
                     "simulated_median": hits / len(trajectories), "simulated_lo": lo,
                     "simulated_hi": hi, "inside": bool(hits / len(trajectories) >= STATE_FLOOR)})
    first, last = years[0], years[-1]
    exits = record.rows[(record.rows["kind"] == "exit")
                        & record.rows["date"].between(dt.date(first, 1, 1), dt.date(last, 12, 31))]
    end = last * 4 + 3 - scenario.start_quarter
    simulated = []
    for t in trajectories:
        status = t.series["status"][min(end, t.quarters_run - 1)]
        simulated.append(int(np.sum(status == rules.EXITED)))
    q = np.quantile(simulated, [0.05, 0.5, 0.95])
    rows.append({"case": record.name, "pattern": f"exits {first} – {last}", "observed": len(exits),
                 "simulated_median": q[1], "simulated_lo": q[0], "simulated_hi": q[2],
                 "inside": bool(q[0] <= len(exits) <= q[2])})
    return rows


def _to_horizon(trajectories, name: str, after_death: str) -> np.ndarray:
    """One series of every run over the whole horizon, (R, T): a run stops at death, and after
    it the series keeps its last value (`after_death="last"`) or is 0 (`"zero"`)."""
    rows = []
    for t in trajectories:
        values = t.series[name].copy()
        values[t.quarters_run:] = values[t.quarters_run - 1] if after_death == "last" else 0
        rows.append(values)
    return np.array(rows)


WINDOWS = ("apex_window_months", "grace_months", "zombie_months", "dormant_months")


def sensitivity(record: Record, trajectories, scenario: Scenario, years: list[int]
                ) -> pd.DataFrame:
    """Shares of the states at the end of the last compared year, in the record and in the
    runs, when each window of the outcome rule, then all of them, is multiplied by 0.5 and 1.5
    (rounded to whole quarters)."""
    if not years:
        return pd.DataFrame()
    end_record = (years[-1] * 4 + 3) - record.start_quarter
    end_model = (years[-1] * 4 + 3) - scenario.start_quarter
    variants = rule_variants(rule_of(scenario.group))
    table = relabelled_shares(trajectories, scenario.group.min_members, variants, end_model)
    table.insert(1 + len(WINDOWS), "record",
                 [record.labels(rule).names()[end_record] for _, rule in variants])
    return table


def rule_variants(base: Rule) -> list[tuple[str, Rule]]:
    """The rule as set, then with each window and with every window multiplied by each factor
    of SENSITIVITY, named like `zombie_months × 0.5`."""
    variants = [("as set", base)]
    for factor in SENSITIVITY:
        scaled = base.scaled(factor)
        variants += [(f"{name} × {factor:g}", _with(base, name, getattr(scaled, name)))
                     for name in WINDOWS]
        variants.append((f"every window × {factor:g}", scaled))
    return variants


def relabelled_shares(trajectories, min_members: int, variants: list[tuple[str, Rule]],
                      quarter: int) -> pd.DataFrame:
    """Per variant (rule name, its windows): the shares of runs alive, zombie and dead in
    `quarter` (from the start) when the runs are labelled again under its rule."""
    series = _series_to_horizon(trajectories)
    rows = []
    for name, rule in variants:
        states, _, _ = label_batch(*series, min_members, rule)
        at_quarter = states[:, quarter]
        rows.append({"rule": name, **{window: getattr(rule, window) for window in WINDOWS},
                     **{state: float(np.mean(at_quarter == k))
                        for k, state in enumerate(rules.STATE_NAMES)}})
    return pd.DataFrame(rows)


def _with(rule: Rule, name: str, months: int) -> Rule:
    return dataclasses.replace(rule, **{name: months})


def _series_to_horizon(trajectories) -> tuple[np.ndarray, ...]:
    """The runs' outputs per level, activity and members, (R, T), for relabelling: a run stops
    at death, and has no activity and its last members after it (so a rule that would have
    let it live sees it dormant, not revived: a relabelled share of deaths is a lower bound of
    the change)."""
    officials, ministers, leaders = (_to_horizon(trajectories, f"outputs_{level}", "zero")
                                     for level in LEVELS)
    members = _to_horizon(trajectories, "active_members", "last")
    return officials, ministers, leaders, officials + ministers + leaders > 0, members
