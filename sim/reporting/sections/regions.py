"""Regions that lead to zombies: a decision tree's leaves where most runs end zombie or dead."""

from __future__ import annotations

import re

import pandas as pd

from sim.inference import statistics
from sim.reporting.document import Section, Table
from sim.reporting.results import Results
from sim.reporting.sections.common import FigureFolder


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """The leaves of a shallow tree over the varying factors, with coverage and density."""
    varied = results.varied
    if not varied:
        return "no factor varies."
    not_alive = results.runs["outcome"] != "alive"
    if not_alive.all() or not not_alive.any():
        return f"every run ends {'zombie or dead' if not_alive.all() else 'alive'}."
    leaves = statistics.zombie_regions(results.runs, varied)
    section = Section("Regions that lead to zombies")
    base = not_alive.mean()
    section.add("A decision tree (scikit-learn, depth ≤ 3, leaves of at least 2 % of the runs) "
                f"over the varying factors separates runs that end zombie or dead ({base:.1%} "
                "of all runs) from those that end alive. Each rule below is a leaf where most "
                "runs end zombie or dead. **Coverage**: the share of all zombie or dead runs "
                "that fall under the rule; **density**: the share of the rule's runs that end "
                "zombie or dead.")
    predicted = leaves[leaves["predicted"]]
    if predicted.empty:
        section.add("No region has a majority of zombie or dead runs; the densest is:")
        predicted = leaves.head(1)
    section.add(Table(pd.DataFrame({
        "rule": predicted["rule"].map(_code_rule),
        "runs": predicted["runs"],
        "share of runs": (predicted["runs"] / len(results.runs)).map(lambda v: f"{v:.1%}"),
        "coverage": predicted["coverage"].map(lambda v: f"{v:.1%}"),
        "density": predicted["density"].map(lambda v: f"{v:.1%}")})))
    return section


def _code_rule(rule: str) -> str:
    """Factor keys in a rule set as code."""
    return re.sub(r"((?:group|world|members)\.[\w*]+(?:\.\w+)?)", r"`\1`", rule)
