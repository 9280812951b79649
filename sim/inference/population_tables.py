"""A population's tables, from its runs (groups.parquet): the life table, the death hazard by
age band, Kaplan–Meier curves, a Cox model, the causes of death and the targets.

Ages follow seeds/population/README.md: a group's age in years counts from its founding quarter
(quarters 0–3 are age 1), and a group-year's state is the state in its last quarter. Shares of
group-years are compared with Gray's shares of organization-years, never with shares of
groups; death rates are deaths per 100 group-years lived at the ages of a band, as computed from
Eilstrup-Sangiovanni's and Vabulas & Snidal's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.storage import atomic_write_bytes
from sim.inference.population_file import Population
from sim.inference.population_targets import Reading, Target
from sim.inference.statistics import kaplan_meier, wilson_interval
from sim.model.rules import STATE_NAMES

AGE_BANDS = ((1, 10), (11, 20), (21, 30), (31, 50), (51, 200))  # as in figures.csv
SIZE_CLASSES = ((3, 5), (6, 12))  # founding members, as in figures.csv
LETTERS = {"alive": "a", "zombie": "z", "dead": "d"}
COX_COVARIATES = {"log2_members": "founding members (per doubling)",
                  "secretariat": "a secretariat", "treaty": "a treaty",
                  "budget_trend": "members' mean budget trend (per 0.01 a year)"}
# causes of death that are the members' decisions
DECISIONS = ("members", "termination", "dissolution")
Z = stats.norm.ppf(0.975)


@dataclass
class PopulationTables:
    """Everything a population's report shows."""

    life_table: pd.DataFrame
    hazard: pd.DataFrame
    survival: pd.DataFrame
    cox: pd.DataFrame
    causes: pd.DataFrame
    targets: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # what the Cox model left out, and why
    years: int = 0
    groups: int = 0


def population_tables(population: Population, runs: pd.DataFrame) -> PopulationTables:
    """Every table of a population, from its runs."""
    ran = runs[~runs["failed"].astype(bool)]
    own = ran[ran["reading"] == Reading().label]
    years = population.years
    cox, notes = cox_table(own, years)
    return PopulationTables(
        life_table=life_table(own, years), hazard=hazard_table(own, years),
        survival=survival_curves(own, years), cox=cox, causes=causes_table(own),
        targets=target_table(population, ran), notes=notes, years=years,
        groups=int(own["group_id"].nunique()))


def write_tables(t: PopulationTables, folder: Path) -> None:
    """Each table as CSV in the results folder."""
    for name in ("life_table", "hazard", "survival", "cox", "causes", "targets"):
        atomic_write_bytes(folder / f"{name}.csv", getattr(t, name).to_csv(index=False).encode())


# ------------------------------------------------------------------------------ ages and deaths


def state_matrix(runs: pd.DataFrame) -> np.ndarray:
    """(runs, years) of letters: each run's state at the end of each year of age."""
    states = runs["states"].to_numpy(dtype=str)
    if not len(states):
        return np.empty((0, 0), dtype="U1")
    return np.array([list(s) for s in states], dtype="U1")


def death_times(runs: pd.DataFrame, years: int) -> pd.DataFrame:
    """Each run's time to death in years (its horizon if it did not die) and whether it died;
    a death by dormancy under a reading that dates it at the last activity is put there."""
    quarter = pd.to_numeric(runs["death_quarter"], errors="coerce").to_numpy(dtype=float)
    died = ~np.isnan(quarter)
    at_last = died & (runs["death_dated"].to_numpy() == "last_activity") & (
        runs["death_cause"].to_numpy() == "dormant")
    quarter = np.where(at_last, quarter - runs["dormant_months"].to_numpy() // 3, quarter)
    time = np.where(died, (quarter + 1) / 4, years)
    return pd.DataFrame({"time": time, "event": died,
                         "age": np.where(died, np.floor(quarter / 4) + 1, np.nan)},
                        index=runs.index)


def rate(deaths: int, exposure: float) -> tuple[float, float, float]:
    """Deaths per 100 group-years with its exact (Garwood) 95 % Poisson interval."""
    if exposure <= 0:
        return np.nan, np.nan, np.nan
    low = stats.chi2.ppf(0.025, 2 * deaths) / 2 if deaths else 0.0
    high = stats.chi2.ppf(0.975, 2 * deaths + 2) / 2
    return 100 * deaths / exposure, 100 * low / exposure, 100 * high / exposure


def band_rate(times: pd.DataFrame, first: int, last: int) -> tuple[int, float]:
    """Deaths at ages first..last and the group-years lived at those ages."""
    lived = np.clip(np.minimum(times["time"], last) - (first - 1), 0, None)
    deaths = int((times["event"] & times["age"].between(first, last)).sum())
    return deaths, float(lived.sum())


# ------------------------------------------------------------------------------ tables


def life_table(runs: pd.DataFrame, years: int) -> pd.DataFrame:
    """Per stratum and year of age: groups alive, zombie and dead at the year's end, and their
    shares."""
    rows = []
    for stratum, part in runs.groupby("stratum", sort=False):
        matrix = state_matrix(part)
        for age in range(1, years + 1):
            column = matrix[:, age - 1]
            counts = {n: int((column == LETTERS[n]).sum()) for n in STATE_NAMES}
            rows.append({"stratum": stratum, "age": age, "groups": len(column), **counts,
                         **{f"share_{n}": counts[n] / len(column) for n in STATE_NAMES}})
    return pd.DataFrame(rows)


def hazard_table(runs: pd.DataFrame, years: int) -> pd.DataFrame:
    """Per stratum and age band: deaths, group-years lived, deaths per 100 group-years and its
    95 % interval."""
    rows = []
    for stratum, part in [("all", runs), *runs.groupby("stratum", sort=False)]:
        times = death_times(part, years)
        for first, last in AGE_BANDS:
            if first > years:
                continue
            last = min(last, years)
            deaths, exposure = band_rate(times, first, last)
            value, low, high = rate(deaths, exposure)
            rows.append({"stratum": stratum, "ages": f"{first}-{last}", "first": first,
                         "last": last, "deaths": deaths, "group_years": round(exposure, 2),
                         "rate_per_100": value, "low": low, "high": high})
    return pd.DataFrame(rows)


def size_class(members: pd.Series) -> pd.Series:
    """'3-5' or '6-12' founding members."""
    labels = [f"{a}-{b}" for a, b in SIZE_CLASSES]
    return pd.cut(members, [a - 0.5 for a, _ in SIZE_CLASSES] + [SIZE_CLASSES[-1][1] + 0.5],
                  labels=labels).astype(str)


def survival_curves(runs: pd.DataFrame, years: int) -> pd.DataFrame:
    """Kaplan–Meier curves of time to death (lifelines), by founding size class, by
    secretariat and by stratum: long, one row per grouping, level and time."""
    times = death_times(runs, years)
    groupings = {"founding members": size_class(runs["members"]), "stratum": runs["stratum"]}
    if "group.secretariat" in runs:
        groupings["secretariat"] = runs["group.secretariat"].map(
            {True: "secretariat", False: "no secretariat"})
    parts = []
    for grouping, levels in groupings.items():
        for level in sorted(levels.unique()):
            chosen = (levels == level).to_numpy()
            curve = kaplan_meier(times["time"][chosen], times["event"][chosen])
            curve = pd.concat([pd.DataFrame({"time": [0.0], "at_risk": [int(chosen.sum())],
                                             "events": [0], "survival": [1.0], "low": [1.0],
                                             "high": [1.0]}), curve[curve["time"] > 0]])
            curve.insert(0, "level", level)
            curve.insert(0, "grouping", grouping)
            parts.append(curve)
    return pd.concat(parts, ignore_index=True)


def causes_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Deaths by cause, per stratum and in all: the members' decisions (too few members,
    termination, dissolution) against dormancy."""
    rows = []
    for stratum, group in [("all", runs), *runs.groupby("stratum", sort=False)]:
        part = group[group["outcome"] == "dead"]
        total = len(part)
        for cause in (*DECISIONS, "dormant"):
            count = int((part["death_cause"] == cause).sum())
            rows.append({"stratum": stratum, "cause": cause,
                         "kind": "members' decision" if cause in DECISIONS else "dormancy",
                         "deaths": count, "share_of_deaths": count / total if total else np.nan,
                         "groups": len(group)})
    return pd.DataFrame(rows)


def cox_table(runs: pd.DataFrame, years: int) -> tuple[pd.DataFrame, list[str]]:
    """A Cox model of time to death (lifelines `CoxPHFitter`) on founding members, secretariat,
    treaty and the members' mean budget trend: hazard ratios with 95 % intervals. A covariate
    that does not vary, repeats another, or has no deaths at one of its values is left out, and
    the notes say so."""
    times = death_times(runs, years)
    data = pd.DataFrame({"time": times["time"], "event": times["event"].astype(int),
                         "log2_members": np.log2(runs["members"].astype(float))})
    for name in ("secretariat", "treaty"):
        if f"group.{name}" in runs:
            data[name] = runs[f"group.{name}"].astype(float)
    if "members.*.budget_trend.mean" in runs:
        data["budget_trend"] = runs["members.*.budget_trend.mean"].astype(float) * 100
    notes, kept, seen = [], [], []
    for name in [c for c in COX_COVARIATES if c in data]:
        column = data[name]
        same = next((k for k in seen if np.array_equal(data[k].to_numpy(), column.to_numpy())),
                    None)
        seen.append(name)
        if column.nunique() < 2:
            notes.append(f"{COX_COVARIATES[name]}: the same in every group, left out.")
        elif same is not None:
            notes.append(f"{COX_COVARIATES[name]}: the same as {COX_COVARIATES[same]} in every "
                         "group (the strata fix both), so their effects cannot be told apart; "
                         "what is said of one is said of both.")
        elif column.nunique() == 2 and (data.groupby(name)["event"].sum() == 0).any():
            level = data.groupby(name)["event"].sum().idxmin()
            notes.append(f"{COX_COVARIATES[name]}: no deaths among groups with "
                         f"{'it' if level else 'none'}: its hazard ratio is not estimable "
                         f"(it is {'0' if level else 'infinite'}); left out.")
        else:
            kept.append(name)
    empty = pd.DataFrame(columns=["covariate", "meaning", "hazard_ratio", "low", "high", "p",
                                  "deaths", "groups"])
    deaths = int(data["event"].sum())
    if deaths < 2 or not kept:
        notes.append(f"No Cox model: {deaths} deaths" + ("" if kept else ", no covariate") + ".")
        return empty, notes
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    try:
        fit = CoxPHFitter().fit(data[["time", "event", *kept]], "time", "event")
    except (ConvergenceError, np.linalg.LinAlgError) as exc:
        notes.append(f"The Cox model did not converge ({str(exc).splitlines()[0]}).")
        return empty, notes
    s = fit.summary
    table = pd.DataFrame({"covariate": kept, "meaning": [COX_COVARIATES[k] for k in kept],
                          "hazard_ratio": s["exp(coef)"].to_numpy(),
                          "low": s["exp(coef) lower 95%"].to_numpy(),
                          "high": s["exp(coef) upper 95%"].to_numpy(), "p": s["p"].to_numpy(),
                          "deaths": deaths, "groups": len(data)})
    return table, notes


# ------------------------------------------------------------------------------ targets


def target_table(population: Population, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per target: the simulated value and its 95 % interval against the published
    figure, its source, page and reference class, and whether it is inside the tolerance."""
    rows = []
    for target in population.targets:
        figure = population.figures.loc[target.figure]
        chosen = runs[(runs["reading"] == target.reading.label)
                      & runs["stratum"].isin(target.strata)]
        value, low, high, shown = simulate_statistic(target, chosen, population.years)
        published = figure["value"]
        if target.statistic == "direction":
            inside = bool(value) if not np.isnan(value) else False
        else:
            inside = bool(abs(value - published) <= target.tolerance) \
                if not np.isnan(value) else False
        rows.append({
            "figure": target.figure, "statistic": target.statistic, "role": target.role,
            "strata": ", ".join(target.strata),
            "stratum_class": ", ".join(population.stratum(s).reference_class
                                       for s in target.strata),
            "reading": target.reading.label, "simulated": value, "low": low, "high": high,
            "shown": shown, "published": published, "unit": figure["unit"],
            "tolerance": target.tolerance, "inside": inside,
            "source": population.classes["citations"].get(figure["source"], figure["source"]),
            "locator": figure["locator"], "reference_class": figure["reference_class"],
            "figure_stratum": figure["stratum"], "groups": int(chosen["group_id"].nunique())})
    return pd.DataFrame(rows)


def simulate_statistic(target: Target, runs: pd.DataFrame, years: int
                       ) -> tuple[float, float, float, str]:
    """A target's statistic over its runs: value, 95 % interval, and the value in words."""
    o = target.options
    if runs.empty:
        return np.nan, np.nan, np.nan, "no runs"
    if target.statistic == "share_of_group_years":
        cells = state_matrix(runs)[:, o["ages"][0] - 1:o["ages"][1]] == LETTERS[o["state"]]
        each = cells.mean(axis=1)  # every group lives the band's years: a mean of its shares
        half = Z * each.std(ddof=1) / np.sqrt(len(each)) if len(each) > 1 else np.nan
        return _shown(each.mean(), max(0.0, each.mean() - half), min(1.0, each.mean() + half),
                      "{:.3f}")
    if target.statistic == "annual_transition":
        matrix = state_matrix(runs)[:, o["ages"][0] - 1:o["ages"][1]]
        start = matrix[:, :-1] == LETTERS[o["from"]]
        moved = int((start & (matrix[:, 1:] == LETTERS[o["to"]])).sum())
        low, high = wilson_interval(moved, int(start.sum()))
        return _shown(moved / start.sum() if start.sum() else np.nan, low, high, "{:.3f}")
    times = death_times(runs, years)
    if target.statistic == "death_rate":
        return _shown(*rate(*band_rate(times, *o["ages"])), "{:.2f}")
    if target.statistic == "death_rate_ratio":
        (d1, e1), (d2, e2) = band_rate(times, *o["ages"]), band_rate(times, *o["against_ages"])
        if not (d1 and d2):
            return np.nan, np.nan, np.nan, f"{d1} and {d2} deaths: no ratio"
        ratio = (d1 / e1) / (d2 / e2)
        spread = np.exp(Z * np.sqrt(1 / d1 + 1 / d2))
        return _shown(ratio, ratio / spread, ratio * spread, "{:.2f}")
    if target.statistic == "survival":
        curve = kaplan_meier(times["time"], times["event"])
        at = curve[curve["time"] <= o["age"]]
        if at.empty:
            return 1.0, 1.0, 1.0, "1.000"
        return _shown(*at[["survival", "low", "high"]].iloc[-1], "{:.3f}")
    if target.statistic == "hazard_ratio":
        return _hazard_ratio(runs, times)
    return _direction(target, runs, times)


def _hazard_ratio(runs: pd.DataFrame, times: pd.DataFrame) -> tuple[float, float, float, str]:
    deaths = int(times["event"].sum())
    if deaths < 2:
        return np.nan, np.nan, np.nan, f"{deaths} deaths: not estimable"
    from lifelines import CoxPHFitter

    data = times[["time", "event"]].assign(event=times["event"].astype(int),
                                           log2_members=np.log2(runs["members"].astype(float)))
    s = CoxPHFitter().fit(data, "time", "event").summary.iloc[0]
    return _shown(s["exp(coef)"], s["exp(coef) lower 95%"], s["exp(coef) upper 95%"], "{:.2f}")


def _direction(target: Target, runs: pd.DataFrame, times: pd.DataFrame
               ) -> tuple[float, float, float, str]:
    """Whether the strata's death rates are ordered as expected (1 or 0), and the rates."""
    first, op, second = target.options["expect"].split()
    rates = {}
    for name in (first, second):
        chosen = (runs["stratum"] == name).to_numpy()
        rates[name] = rate(*band_rate(times[chosen], *target.options["ages"]))[0]
    holds = rates[first] < rates[second] if op == "<" else rates[first] > rates[second]
    shown = f"{first} {rates[first]:.2f}, {second} {rates[second]:.2f} per 100 group-years"
    shown += "".join(f"; no deaths among {name} groups" for name in (first, second)
                     if rates[name] == 0)
    return float(holds), np.nan, np.nan, shown


def _shown(value, low, high, form: str) -> tuple[float, float, float, str]:
    value, low, high = float(value), float(low), float(high)
    if np.isnan(value):
        return value, low, high, "none"
    interval = f" ({form.format(low)} – {form.format(high)})" if not np.isnan(low) else ""
    return value, low, high, form.format(value) + interval
