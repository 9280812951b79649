"""Outcome shares: how the runs of each design point end, with their intervals."""

from __future__ import annotations

import pandas as pd

from sim.inference import statistics
from sim.reporting.document import Section, Table
from sim.reporting.results import Results
from sim.reporting.sections.common import FigureFolder, fmt, plots, point_labels, share_text

MAX_LISTED_POINTS = 24  # more points: pooled shares and a sorted figure instead of a table


def make(results: Results, settings: dict, figures: FigureFolder) -> Section:
    """The shares per point (or pooled, with their spread, for many points) and their figure."""
    section = Section("Outcome shares")
    table = statistics.shares_by_point(results.runs, results.factor_keys)
    labels = point_labels(results)
    section.add("Share of runs that end alive, zombie or dead after "
                f"{results.experiment['years']} years, with Wilson 95 % intervals.")
    if len(table) <= MAX_LISTED_POINTS:
        shown = pd.DataFrame({"point": table["point_id"]})
        for key in results.factor_keys:
            shown[f"`{key}`"] = table[key].map(fmt)
        shown["runs"] = table["runs"]
        for name in ("alive", "zombie", "dead"):
            shown[name] = [share_text(row[name], row[f"{name}_low"], row[f"{name}_high"])
                           for _, row in table.iterrows()]
        section.add(Table(shown))
    else:
        _pooled(results, table, section)
    figures.save("outcome_shares.png", lambda p: plots().plot_outcome_shares(
        table, [labels[i] for i in table["point_id"]], p,
        title=f"{results.experiment['name']}: outcome after {results.experiment['years']} "
              "years"))  # shown once, under the findings
    return section


def _pooled(results: Results, table: pd.DataFrame, section: Section) -> None:
    """The shares of all runs pooled, and how the points' shares spread."""
    pooled = statistics.outcome_shares(results.runs["outcome"])
    section.add(f"{len(table):,} design points: the table pools all "
                f"{len(results.runs):,} runs; the shares per point are in `runs.parquet`.")
    section.add(Table(pd.DataFrame({
        "outcome": pooled["outcome"], "runs": pooled["count"],
        "share": [share_text(r.share, r.low, r.high) for r in pooled.itertuples()]})))
    spread = table[["alive", "zombie", "dead"]].describe(percentiles=[0.05, 0.5, 0.95])
    section.add("Across design points, the share of runs in each outcome ranges as follows:")
    section.add(Table(pd.DataFrame({
        "outcome": ["alive", "zombie", "dead"],
        **{label: [f"{spread.loc[stat, n]:.0%}" for n in ("alive", "zombie", "dead")]
           for label, stat in (("min", "min"), ("5 %", "5%"), ("median", "50%"),
                               ("95 %", "95%"), ("max", "max"))}})))
