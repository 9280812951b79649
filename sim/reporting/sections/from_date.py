"""Measured from a date: shares, survival and contrasts measured again from a quarter's start,
among the runs not dead before it, with twin figures of paired points."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.errors import UserError
from sim.inference import statistics
from sim.model.quarters import format_quarter, quarter_within, quarters_within
from sim.reporting.document import Figure, Section, Table
from sim.reporting.regeneration import not_regenerated, point_series
from sim.reporting.results import Results
from sim.reporting.sections.common import (
    FigureFolder,
    median_text,
    p_text,
    pair_title,
    plots,
    point_labels,
    point_styles,
    share_text,
)
from sim.reporting.sections.contrasts import MAX_DEFAULT_CONTRASTS, parse_pairs

MAX_TWIN_FIGURES = 3  # pairs drawn as twins
MAX_FROM_RUNS = 50_000  # runs whose state series the section regenerates


def from_quarter(results: Results, text: Any, where: str) -> int:
    """The quarter index of a `from` date, or a user error naming `where`."""
    try:
        start = results.scenario().start_quarter
    except (UserError, ValueError) as exc:
        raise UserError(f"{where} {text}: the manifest's scenario cannot be read ({exc}).") \
            from None
    try:
        return quarter_within(text, start, results.horizon)
    except ValueError as exc:
        raise UserError(f"{where} {text}: {exc} Allowed: "
                        f"{quarters_within(start, results.horizon)}.") from None


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """The section for the [report] table's `from` quarter, or why there is none."""
    since = settings.get("from")
    if since is None:
        dated = [k for k in results.factor_keys if "@" in k]
        return ("no `from` quarter: `[report] from = \"2027Q1\"` or `minilat report DIR --from "
                "2027Q1` measures shares, survival and contrasts from it" + (
                    f" (the factors {', '.join(f'`{k}`' for k in dated)} change at a date)"
                    if dated else "") + ".")
    try:
        quarter = from_quarter(results, since, "[report] from")
    except UserError as exc:
        return f"{exc}"
    if len(results.runs) > MAX_FROM_RUNS:
        return (f"{len(results.runs):,} runs are more than the {MAX_FROM_RUNS:,} whose series "
                "it regenerates.")
    try:
        scenario = results.scenario()
        per_point = int(results.runs.groupby("point_id").size().max())
        series, source = point_series(results, scenario, sorted(results.runs["point_id"]
                                                                .unique()), per_point)
    except (UserError, ValueError) as exc:
        return not_regenerated(exc)
    runs = statistics.measured_from(results.runs, series, quarter)
    when = format_quarter(scenario.start_quarter + quarter).replace("Q", " Q")
    section = Section(f"Measured from {when}")
    section.add(f"The same runs measured again from the start of {when}, among the "
                f"{len(runs):,} runs not dead before it ({len(results.runs) - len(runs):,} died "
                f"earlier): the outcome {(results.horizon - quarter) / 4:g} years later, the "
                f"time from {when} to death, and to the first zombie quarter from then on among "
                f"the groups alive (not zombies) in the quarter before. Under common random "
                f"numbers a run and its twin with a change at {when} are the same run before "
                f"it, so these measure what the change did from its date. {source}")
    labels = point_labels(results)
    section.add(f"Outcome at the horizon of the runs not dead before {when} (Wilson 95 % "
                "intervals):")
    section.add(Table(_outcome_table(results, runs, labels, when)))
    _survival(results, runs, quarter, when, labels, figures, section)
    pairs = _from_pairs(results, settings, runs)
    start_year = scenario.start_quarter / 4
    for a, b in pairs[:MAX_TWIN_FIGURES]:
        section.add(_twins_figure(results, series, (a, b), quarter, start_year, when, labels,
                                  figures))
    if pairs:
        section.add(f"Paired contrasts of the share of runs that end dead, or a zombie, over "
                    f"the pairs of runs where neither arm died before {when}:")
        section.add(Table(_paired_table(runs, pairs)))
    return section


def _outcome_table(results: Results, runs: pd.DataFrame, labels: dict[int, str], when: str
                   ) -> pd.DataFrame:
    """Per point: the runs left, how many were zombies before, and the shares at the horizon."""
    table = statistics.shares_by_point(runs, results.factor_keys)
    before = pd.crosstab(runs["point_id"], runs["state_before"]).reindex(
        index=table["point_id"], columns=["alive", "zombie"], fill_value=0)
    shown = pd.DataFrame({"point": table["point_id"],
                          "design point": [labels[i] for i in table["point_id"]],
                          "runs": table["runs"],
                          f"zombie before {when}": before["zombie"].to_numpy()})
    for name in ("alive", "zombie", "dead"):
        shown[name] = [share_text(row[name], row[f"{name}_low"], row[f"{name}_high"])
                       for _, row in table.iterrows()]
    return shown


def _survival(results: Results, runs: pd.DataFrame, quarter: int, when: str,
              labels: dict[int, str], figures: FigureFolder, section: Section) -> None:
    """Kaplan–Meier curves from the date to death and to the first zombie quarter, and their
    medians."""
    horizon = results.horizon - quarter
    at_risk = {"death": runs, "zombie": runs[runs["state_before"] == "alive"]}
    rows = []
    for event, what, ylabel in (("death", "time to death", "share of groups not yet dead"),
                                ("zombie", "time to the first zombie quarter",
                                 "share of groups not yet zombie")):
        if at_risk[event].empty:
            continue
        curves, medians = statistics.survival_by_point(at_risk[event], event, horizon)
        file = figures.save(f"survival_{event}_from.png",
                            lambda p, c=curves, w=what, y=ylabel: plots().plot_survival(
                                c, labels, p, title=f"Kaplan–Meier from {when}: {w}", ylabel=y,
                                horizon_years=horizon / 4, since=when,
                                styles=point_styles(results)))
        section.add(Figure(file, f"Kaplan–Meier estimate of the {what} from {when}, per design "
                                 "point, with 95 % bands."))
        rows.append(medians.assign(event=event))
    if rows:
        medians = pd.concat(rows, ignore_index=True)
        section.add(Table(pd.DataFrame({
            "time from " + when + " to": medians["event"].map({"death": "death",
                                                                "zombie": "first zombie"}),
            "point": medians["point_id"], "runs at risk": medians["runs"],
            "events": medians["events"],
            "median years (95 % CI)": [median_text(r.median, r.low, r.high)
                                       for r in medians.itertuples()]})))


def _twins_figure(results: Results, series: pd.DataFrame, pair: tuple[int, int], quarter: int,
                  start_year: float, when: str, labels: dict[int, str], figures: FigureFolder
                  ) -> Figure:
    """Point b against point a, replicate by replicate, before and after the date."""
    a, b = pair
    twins = statistics.twin_series(series, results.runs, a, b, results.horizon)
    before = float(twins["differ"].iloc[:quarter].max()) if quarter else 0.0
    file = figures.save(f"twins_{a:03d}_{b:03d}.png", lambda p: plots().plot_twins(
        twins, start_year, start_year + quarter / 4, (labels[a], labels[b]), p,
        title=f"{pair_title(results, a, b)} (point {a} → point {b}, paired by replicate)"))
    return Figure(file, f"Point {b} ({labels[b]}) against point {a} ({labels[a]}): "
                        "mean joint outputs per quarter and the share of runs alive, "
                        "and the share of pairs (replicates) whose runs differ in each "
                        f"quarter: {before:.0%} before {when}.")


def _paired_table(runs: pd.DataFrame, pairs: list[tuple[int, int]]) -> pd.DataFrame:
    """The paired contrasts of the dead and zombie shares, their cells as text."""
    contrasts = pd.concat([statistics.paired_contrasts(runs, pairs, outcome)
                           .assign(outcome=outcome) for outcome in ("dead", "zombie")],
                          ignore_index=True)
    return pd.DataFrame({
        "share": contrasts["outcome"], "a": contrasts["a"], "b": contrasts["b"],
        "pairs": contrasts["pairs"],
        "share a": contrasts["share_a"].map(lambda v: f"{v:.1%}"),
        "share b": contrasts["share_b"].map(lambda v: f"{v:.1%}"),
        "b − a (points)": contrasts["difference"].map(lambda v: f"{100 * v:+.1f}"),
        "95 % CI, bootstrap": [f"{100 * lo:+.1f} to {100 * hi:+.1f}" for lo, hi in
                               zip(contrasts["boot_low"], contrasts["boot_high"], strict=True)],
        "McNemar exact p": contrasts["mcnemar_exact_p"].map(p_text)})


def _from_pairs(results: Results, settings: dict, runs: pd.DataFrame) -> list[tuple[int, int]]:
    """The pairs the paired contrasts use, among the points with runs left."""
    if not results.experiment["common_random_numbers"] or results.points < 2:
        return []
    point_ids = set(runs["point_id"].unique())
    requested = settings.get("contrast")
    if requested is not None:
        return parse_pairs(requested, point_ids)[0]
    if results.points <= MAX_DEFAULT_CONTRASTS and 0 in point_ids:
        return [(0, b) for b in sorted(point_ids) if b != 0]
    return []
