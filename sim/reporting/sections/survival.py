"""Survival: Kaplan–Meier curves of the time to death and to the first zombie quarter, their
medians, and log-rank tests."""

from __future__ import annotations

import pandas as pd

from sim.inference import statistics
from sim.reporting.document import Figure, Section, Table
from sim.reporting.results import Results
from sim.reporting.sections.common import (
    FigureFolder,
    median_text,
    p_is,
    p_text,
    plots,
    point_labels,
    point_styles,
)

MAX_SURVIVAL_POINTS = 12


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """The curves per point, the medians, and the log-rank tests of the points against 0."""
    design = results.experiment["design"]
    if design in ("lhs", "sobol"):
        return f"a {design} design has too few runs per point for survival curves."
    if results.points > MAX_SURVIVAL_POINTS:
        return (f"{results.points} design points are too many curves to compare (at most "
                f"{MAX_SURVIVAL_POINTS}).")
    section = Section("Survival")
    section.add("Kaplan–Meier estimates of the time to death and to the first zombie quarter, "
                "per design point, with 95 % bands (log(−log) Greenwood, lifelines). Runs still "
                f"going at the horizon are censored at {results.experiment['years']} years; for "
                "the first zombie quarter, runs that die before ever being zombies are censored "
                "at their death.")
    labels = point_labels(results)
    horizon_years = results.horizon / 4
    medians = {}
    for event, what, ylabel in (("death", "time to death", "share of groups not yet dead"),
                                ("zombie", "time to the first zombie quarter",
                                 "share of groups never yet zombie")):
        curves, table = statistics.survival_by_point(results.runs, event, results.horizon)
        medians[event] = table
        file = figures.save(f"survival_{event}.png",
                            lambda p, c=curves, w=what, y=ylabel: plots().plot_survival(
                                c, labels, p, title=f"Kaplan–Meier: {w}", ylabel=y,
                                horizon_years=horizon_years, styles=point_styles(results)))
        section.add(Figure(file, f"Kaplan–Meier estimate of the {what} per design point, "
                                 "with 95 % bands."))
    section.add("Median survival (years; “not reached” when more than half the runs never "
                "have the event within the horizon):")
    section.add(Table(_median_table(medians, labels)))
    if results.points >= 2:
        _logrank(results, medians, labels, section)
    return section


def _median_table(medians: dict[str, pd.DataFrame], labels: dict[int, str]) -> pd.DataFrame:
    """Per point: its runs, and the events and median years of each kind."""
    table = pd.DataFrame({"point": medians["death"]["point_id"],
                          "design point": [labels[i] for i in medians["death"]["point_id"]],
                          "runs": medians["death"]["runs"]})
    for event, name in (("death", "deaths"), ("zombie", "became zombies")):
        m = medians[event]
        table[name] = m["events"].to_numpy()
        table[f"median years to {'death' if event == 'death' else 'first zombie'} (95 % CI)"] = [
            median_text(r.median, r.low, r.high) for r in m.itertuples()]
    return table


def _logrank(results: Results, medians: dict[str, pd.DataFrame], labels: dict[int, str],
             section: Section) -> None:
    """The log-rank test of one curve for all points, and of each point against point 0."""
    pairs = [(0, b) for b in sorted(results.runs["point_id"].unique()) if b != 0]
    if 0 not in set(results.runs["point_id"]):
        pairs = []
    tests = []
    for event, name in (("death", "death"), ("zombie", "first zombie")):
        if medians[event]["events"].sum() == 0:
            section.add(f"No run has a {name} event: no log-rank test.")
            continue
        overall, tested = statistics.logrank_tests(results.runs, event, results.horizon, pairs)
        section.add(f"Log-rank test that all points share one curve of time to {name}: "
                    f"χ² = {overall['statistic']:.1f} on {overall['df']} df, "
                    f"{p_is(overall['p'])}.")
        tests.append(tested.assign(event=name))
    if pairs and tests:
        both = pd.concat(tests, ignore_index=True)
        both["p_holm"] = statistics.holm(both["p"])
        section.add(f"Log-rank tests of each point against point 0, one family of {len(both)} "
                    "tests adjusted by Holm's method:")
        section.add(Table(pd.DataFrame({
            "time to": both["event"], "point": both["b"],
            "design point": both["b"].map(labels), "against": both["a"],
            "χ²": both["statistic"].map(lambda v: f"{v:.2f}"), "p": both["p"].map(p_text),
            "p (Holm)": both["p_holm"].map(p_text)})))
