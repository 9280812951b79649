"""Outcome rule sensitivity: the shares again when the runs are labelled under the outcome rule
with its windows halved or made half as long again."""

from __future__ import annotations

import re

import pandas as pd

from sim.errors import UserError
from sim.inference import statistics
from sim.model.labels import rule_of
from sim.reporting.document import Section, Table
from sim.reporting.regeneration import chosen_runs, not_regenerated, regenerate, regenerated_note
from sim.reporting.results import Results
from sim.reporting.sections.common import FigureFolder, trajectory_points


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """The relabelled shares of the chosen points' regenerated runs, one column per point."""
    from sim.inference.validation import WINDOWS, relabelled_shares, rule_variants  # loads Mesa

    chosen = trajectory_points(results, settings, "relabelled shares")
    if isinstance(chosen, str):
        return chosen
    point_ids, per_point = chosen
    try:
        points = regenerate(results, results.scenario(),
                            chosen_runs(results, point_ids, per_point))
    except (UserError, ValueError) as exc:  # e.g. results of an older version of the model
        return not_regenerated(exc)
    end = results.horizon - 1
    tables = {}
    for point in points:
        try:
            variants = rule_variants(rule_of(point.scenario.group))
        except ValueError as exc:
            return (f"a window of point {point.point_id} made half as long again leaves the "
                    f"outcome rule's allowed range ({exc}).")
        tables[point.point_id] = relabelled_shares(
            point.trajectories, point.scenario.group.min_members, variants, end)
    first = points[0].point_id
    which = ("each design point" if len(points) == results.points
             else f"the first {len(points)} design points")
    section = Section("Outcome rule sensitivity")
    section.add(f"For {which}: the shares of runs alive / zombie / dead (%) after "
                f"{results.experiment['years']} years when the runs are labelled again under "
                "the outcome rule with each of its windows, then all of them, halved or made "
                "half as long again (rounded to whole quarters; docs/validation.md). "
                + regenerated_note(points, per_point, "to be labelled again from their "
                                   "meetings and documents per level and their members"))
    section.add("A run stops at its death and is relabelled with no activity after it: a rule "
                "with a longer window sees it dormant, never revived, so the fall in the death "
                "share under a longer window is a lower bound of the change.")
    base = tables[first]
    shown = pd.DataFrame({"rule": base["rule"].map(_code_windows),
                          **{f"`{w}`": base[w] for w in WINDOWS}})
    for point_id, table in tables.items():
        shown[f"point {point_id}"] = [
            " / ".join(f"{100 * row[state]:.1f}" for state in statistics.STATE_NAMES)
            for _, row in table.iterrows()]
    section.add(Table(shown))
    if any(not tables[p][list(WINDOWS)].equals(base[list(WINDOWS)]) for p in tables):
        section.add(f"The windows shown are point {first}'s; every point's variants scale the "
                    "windows it sets.")
    section.add(_largest_zombie_change(tables))
    return section


def _largest_zombie_change(tables: dict[int, pd.DataFrame]) -> str:
    """The sentence naming the point and rule variant whose zombie share moves most from the
    rule as set (the first row)."""
    moves = [(abs(table["zombie"].iloc[k] - table["zombie"].iloc[0]), point_id, k)
             for point_id, table in tables.items() for k in range(1, len(table))]
    change, point_id, k = max(moves, key=lambda move: move[0])
    if change == 0:
        return "No variant of the rule changes the zombie share at any point."
    table = tables[point_id]
    variant = _code_windows(table["rule"].iloc[k]).replace(" × ", " is multiplied by ")
    return (f"The zombie share at point {point_id} moves most, from "
            f"{100 * table['zombie'].iloc[0]:.1f} % to {100 * table['zombie'].iloc[k]:.1f} %, "
            f"when {variant}.")


def _code_windows(variant: str) -> str:
    """The outcome rule's window names in a variant's name set as code."""
    return re.sub(r"\b\w+_months\b", r"`\g<0>`", variant)
