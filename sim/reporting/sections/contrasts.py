"""Paired contrasts: point b minus point a on every outcome, runs paired by replicate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.inference import statistics
from sim.inference.claims import metrics
from sim.reporting.document import Bullets, Section, Table
from sim.reporting.findings import paired_rows
from sim.reporting.results import Results
from sim.reporting.sections.common import FigureFolder, fmt, p_is, p_text

MAX_DEFAULT_CONTRASTS = 8  # points up to which each is contrasted with point 0 by default


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """A sentence and the table rows of each pair: the [report] table's, or each point against
    point 0 for few points."""
    if not results.experiment["common_random_numbers"]:
        return ("runs are paired only under common random numbers "
                "(`common_random_numbers = true`).")
    if results.points < 2:
        return "one design point: nothing to contrast."
    point_ids = set(results.runs["point_id"].unique())
    notes = []
    requested = settings.get("contrast")
    if requested is not None:
        pairs, notes = parse_pairs(requested, point_ids)
    elif results.points <= MAX_DEFAULT_CONTRASTS:
        pairs = [(0, b) for b in sorted(point_ids) if b != 0] if 0 in point_ids else []
    else:
        return (f"{results.points} design points: name the pairs to contrast in the experiment's "
                "[report] table, e.g. `contrast = [[0, 1], [0, 2]]`.")
    if not pairs:
        return "no valid pair of design points to contrast" + (
            f" ({'; '.join(notes)})" if notes else "") + "."
    table = _contrast_table(results, pairs)
    section = Section("Paired contrasts")
    section.add("Under common random numbers replicate r meets the same shocks at every design "
                "point, so runs are paired by replicate. For each pair of points, point b minus "
                "point a on every outcome: the shares alive, zombie and dead (percentage points, "
                "paired asymptotic interval; McNemar's exact test on the discordant pairs) and "
                "the years before a first zombie quarter or death (paired bootstrap interval, "
                "2,000 resamples; Wilcoxon's signed-rank test). The p-values are one family, "
                f"adjusted for {len(table)} comparisons by Holm's method; a difference "
                "counts where its adjusted p is below 0.05.")
    section.add(Bullets([_contrast_sentence(results, table[(table["a"] == a) & (table["b"] == b)])
                         for a, b in pairs]))
    section.add(Table(_shown(table)))
    for note in notes:
        section.add(f"Ignored: {note}.")
    return section


def parse_pairs(requested: Any, point_ids: set) -> tuple[list[tuple[int, int]], list[str]]:
    """`[a, b]` or `[[a, b], ...]` from the [report] table; bad entries become notes."""
    def is_id(value: Any) -> bool:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    if isinstance(requested, list | tuple) and len(requested) == 2 and all(map(is_id, requested)):
        requested = [requested]
    if not isinstance(requested, list | tuple):
        return [], [f"`contrast = {requested!r}` is not a pair or a list of pairs of point ids"]
    pairs, notes = [], []
    for entry in requested:
        if not (isinstance(entry, list | tuple) and len(entry) == 2 and all(map(is_id, entry))):
            notes.append(f"contrast entry {entry!r} is not a pair of point ids")
        elif entry[0] not in point_ids or entry[1] not in point_ids:
            notes.append(f"contrast {list(entry)} names a point that has no runs")
        elif entry[0] == entry[1]:
            notes.append(f"contrast {list(entry)} compares a point with itself")
        else:
            pairs.append((int(entry[0]), int(entry[1])))
    return pairs, notes


def _contrast_table(results: Results, pairs: list[tuple[int, int]]) -> pd.DataFrame:
    """Every pair on every outcome: values, paired difference, interval, p and Holm's p."""
    measured = metrics(results.runs, results.horizon)
    table = pd.DataFrame([row for a, b in pairs
                          for row in paired_rows(results.runs, measured, a, b)])
    table["outcome"] = table["outcome"].replace({"active_years": "active years"})
    table["p_holm"] = statistics.holm(table["p"])
    return table


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The contrast table with its cells as text."""
    return pd.DataFrame({
        "a": table["a"], "b": table["b"], "outcome": table["outcome"], "pairs": table["pairs"],
        "a value": [_value(o, v) for o, v in zip(table["outcome"], table["value_a"],
                                                 strict=True)],
        "b value": [_value(o, v) for o, v in zip(table["outcome"], table["value_b"],
                                                 strict=True)],
        "b − a": [_value(o, v, sign=True) for o, v in zip(table["outcome"], table["difference"],
                                                          strict=True)],
        "95 % CI": [f"{_value(o, lo, sign=True)} to {_value(o, hi, sign=True)}".replace(
            " points to", " to")
                    for o, lo, hi in zip(table["outcome"], table["low"], table["high"],
                                         strict=True)],
        "p": table["p"].map(p_text), "p (Holm)": table["p_holm"].map(p_text)})


def _value(outcome: str, value: float, sign: bool = False) -> str:
    if outcome == "active years":
        return f"{value:+.2f}" if sign else f"{value:.2f}"
    return f"{100 * value:+.1f} points" if sign else f"{value:.1%}"


def _contrast_sentence(results: Results, rows: pd.DataFrame) -> str:
    """One pair in words: what moved, by its largest change of share, and the active years."""
    first = rows.iloc[0]
    a = results.runs[results.runs["point_id"] == first.a].iloc[0]
    b = results.runs[results.runs["point_id"] == first.b].iloc[0]
    moved = [k for k in results.factor_keys if a[k] != b[k]]
    what = ", ".join(f"`{k}` = {fmt(b[k])}" for k in moved) or "the same factors"
    against = ", ".join(f"{fmt(a[k])}" for k in moved)
    shares = rows[rows["outcome"] != "active years"]
    top = shares.loc[shares["difference"].abs().idxmax()]
    years = rows[rows["outcome"] == "active years"].iloc[0]
    counts = top["p_holm"] < 0.05
    change = (f"moves the {top.outcome} share most, {top.value_a:.1%} → {top.value_b:.1%} "
              f"({100 * top.difference:+.1f} points, 95 % CI {100 * top.low:+.1f} to "
              f"{100 * top.high:+.1f}; Holm-adjusted {p_is(top.p_holm)})" if counts else
              f"moves no share detectably (largest: {top.outcome} {100 * top.difference:+.1f} "
              f"points, Holm-adjusted {p_is(top.p_holm)})")
    return (f"**Point {first.b} against point {first.a}**: {what} (instead of {against}) "
            f"{change}; years before a first zombie quarter or death {years.difference:+.2f} "
            f"({years.low:+.2f} to {years.high:+.2f}).")
