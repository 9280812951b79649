"""The report's opening section: what the experiment found, in sentences with their numbers."""

from __future__ import annotations

from sim.reporting.document import Bullets, Figure, Section
from sim.reporting.findings import experiment_findings
from sim.reporting.results import Results
from sim.reporting.sections.common import FIGURES, FigureFolder, fmt


def make(results: Results, figures: FigureFolder) -> Section:
    """The findings, and the figure of the outcome shares if it was drawn."""
    section = Section("Findings")
    e = results.experiment
    section.add(Bullets(experiment_findings(results.runs, results.factor_keys, results.varied,
                                            results.horizon, e["common_random_numbers"],
                                            e["design"], fmt=fmt)))
    if "outcome_shares.png" in figures.written:
        many = results.runs["point_id"].nunique() > 40
        section.add(Figure(f"{FIGURES}/outcome_shares.png", (
            "Outcome shares of every design point, the points sorted by their dead share (dead "
            "at the bottom, alive on top); the tables follow." if many else
            "Outcome shares per design point (dead at the bottom, alive on top); error bars: "
            "Wilson 95 % intervals of the dead share (red) and the alive share (blue); the "
            "tables follow.")))
    section.add("Effects between points are paired by replicate (common random numbers); "
                "every interval is a 95 % interval. Provenance, the design and the experiment "
                "as resolved are in the appendix.")
    return section
