"""The targets of a population file: each compares one simulated statistic with one published
figure of `seeds/population/figures.csv`, in the figure's own unit, under a reading of the runs
(the outcome rule's windows, and how a death is dated). Read here, computed by
sim.inference.population_tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.model.files import Section
from sim.model.labels import RULE_FIELDS
from sim.model.params import DECLARED, GroupParams
from sim.model.rules import STATE_NAMES

STATISTICS = {  # statistic: (its own fields, the unit of the figures it is compared with)
    "share_of_group_years": (("state", "ages"), "share of organization-years"),
    "annual_transition": (("from", "to", "ages"), "share of organization-years in the first state"),
    "death_rate": (("ages",), "deaths per 100 organization-years"),
    "death_rate_ratio": (("ages", "against_ages"), "rate at ages"),
    "survival": (("age",), "share surviving (Kaplan-Meier)"),
    "hazard_ratio": (("covariate",), "hazard ratio"),
    "direction": (("compare", "ages", "expect"), "direction"),
}
TARGET_KEYS = ("figure", "strata", "statistic", "rule", "role", "tolerance", "state", "ages",
               "from", "to", "against_ages", "age", "covariate", "compare", "expect")
COVARIATES = ("log2_members",)
ROLES = ("fit", "check")
DEATH_DATED = ("rule", "last_activity")


@dataclass(frozen=True)
class Reading:
    """How a run's states are read: the outcome rule's windows (months) over the scenario's,
    and the date of a death by dormancy (when the rule says so, or at the last activity)."""

    windows: tuple[tuple[str, int], ...] = ()
    death_dated: str = "rule"

    @property
    def label(self) -> str:
        parts = [f"{k} = {v}" for k, v in self.windows]
        if self.death_dated != "rule":
            parts.append("death dated at the last activity")
        return ", ".join(parts) or "the scenario's outcome rule"


@dataclass(frozen=True)
class Target:
    """One simulated statistic against one published figure."""

    figure: str
    strata: tuple[str, ...]
    statistic: str
    role: str
    tolerance: float | None
    reading: Reading = Reading()
    options: dict[str, Any] = field(default_factory=dict)  # the statistic's own fields
    line: int | None = None


# ------------------------------------------------------------------------------ targets


def read_target(table: Section, strata: list[str], figures: pd.DataFrame,
            years: int) -> Target:
    """One [[targets]] table: a figure that exists, strata of the file, a statistic whose
    unit is the figure's, its fields, a reading, a role and a tolerance."""
    figure_id = table.get("figure", str, check=lambda v: v in figures.index,
                          allowed="an id of figures.csv (seeds/population/figures.csv).")
    names = list(strata)
    chosen = table.texts("strata", "must name strata of this file.",
                         f"a list of strata names: {', '.join(names)}.", filled=True)
    for name in chosen:
        if name not in names or chosen.count(name) > 1:
            raise table.error("strata", "names a stratum that is not in this file, or one "
                              "twice.", chosen, f"names among {', '.join(names)}, each once.")
    statistic = table.get("statistic", str, check=lambda v: v in STATISTICS,
                          allowed=", ".join(STATISTICS) + ".")
    own, unit = STATISTICS[statistic]
    figure = figures.loc[figure_id]
    if not str(figure["unit"]).startswith(unit):
        raise table.error("figure", f"is in {figure['unit']!r}, but a {statistic} is in "
                          f"{unit!r}: compare like with like.", figure_id,
                          f"a figure whose unit is {unit!r}.")
    for name in set(TARGET_KEYS) - {"figure", "strata", "statistic", "rule", "role",
                                    "tolerance", *own}:
        if name in table:
            raise table.error(name, f"is not a field of a {statistic} target.", table.raw[name],
                              f"figure, strata, statistic, rule, role, tolerance, "
                              f"{', '.join(own)}.")
    options = _statistic_fields(table, statistic, figure, chosen, years)
    role = table.get("role", str, "check", lambda v: v in ROLES, " | ".join(ROLES) + ".")
    tolerance = None
    if statistic != "direction":
        tolerance = table.get("tolerance", float, check=lambda v: v >= 0, allowed=(
            f"a number, 0 or more, in the figure's unit ({figure['unit']}): how far the "
            "simulated value may lie from the figure and count as inside."))
    return Target(figure_id, tuple(chosen), statistic, role, tolerance,
                  _reading(table), options, table.line(None))


def _statistic_fields(table: Section, statistic: str, figure: pd.Series, chosen: list[str],
                      years: int) -> dict[str, Any]:
    """The statistic's own fields, checked: states, ages within the horizon, the covariate,
    the comparison."""
    options: dict[str, Any] = {}
    if statistic == "share_of_group_years":
        options["state"] = _state(table, "state")
        if figure["quantity"] != f"share_{options['state']}":
            raise table.error("state", f"is not the state figure {figure['id']} counts "
                              f"({figure['quantity']}).", options["state"],
                              "the state the figure is a share of.")
    if statistic == "annual_transition":
        options["from"], options["to"] = _state(table, "from"), _state(table, "to")
        wanted = f"annual_transition_{options['from']}_to_{options['to']}"
        if figure["quantity"] != wanted:
            raise table.error("to", f"does not match figure {figure['id']} "
                              f"({figure['quantity']}).", options["to"],
                              "the states of the figure's transition.")
    for name in ("ages", "against_ages"):
        if name in STATISTICS[statistic][0]:
            options[name] = _ages(table, name, years)
    if statistic == "survival":
        options["age"] = table.get("age", int, check=lambda v: 1 <= v <= years,
                                   allowed=f"a whole number of years, 1 to {years}.")
    if statistic == "hazard_ratio":
        options["covariate"] = table.get("covariate", str, check=lambda v: v in COVARIATES,
                                         allowed=", ".join(COVARIATES) + ".")
    if statistic == "direction":
        options["compare"] = table.get("compare", str, check=lambda v: v == "death_rate",
                                       allowed='"death_rate".')
        if len(chosen) != 2:
            raise table.error("strata", "must name two strata to compare.", chosen,
                              "two strata names.")
        forms = [f"{a} {op} {b}" for a, b in (chosen, chosen[::-1]) for op in ("<", ">")]
        options["expect"] = table.get("expect", str, check=lambda v: v in forms,
                                      allowed=", ".join(f'"{f}"' for f in forms) + ".")
    return options


def _state(table: Section, name: str) -> str:
    return table.get(name, str, check=lambda v: v in STATE_NAMES,
                     allowed=", ".join(STATE_NAMES) + ".")


def _ages(table: Section, name: str, years: int) -> tuple[int, int]:
    value = table.raw.get(name)
    if not (isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 1 <= value[0] <= value[1] <= years):
        raise table.error(name, "is not a band of ages within the horizon.", value,
                          f"[first, last] years of age, 1 <= first <= last <= {years}.")
    return int(value[0]), int(value[1])


def _reading(table: Section) -> Reading:
    """The target's `rule`: outcome-rule windows (months) and how a death is dated."""
    if "rule" not in table:
        return Reading()
    rule = table.section("rule", (*RULE_FIELDS, "death_dated"))
    windows = []
    for name in RULE_FIELDS:
        if name in rule:
            kind, spec = DECLARED[GroupParams][name]
            value = rule.get(name, kind)
            if not spec.contains(value) or (name.endswith("months") and value % 3):
                raise rule.error(name, "is not allowed.", value, spec.allowed(kind)
                                 + (" A multiple of 3." if name.endswith("months") else ""))
            windows.append((name, value))
    dated = rule.get("death_dated", str, "rule", lambda v: v in DEATH_DATED,
                     '"rule" (when the window ends) or "last_activity" (the last quarter '
                     "with activity, as a source that dates a death at the last meeting).")
    if not windows and dated == "rule":
        raise rule.error(None, "changes nothing.", allowed="outcome-rule windows "
                         f"({', '.join(RULE_FIELDS)}) or death_dated.")
    return Reading(tuple(windows), dated)
