"""Phase diagram: the dead and zombie shares over a grid of two factors."""

from __future__ import annotations

import textwrap

from sim.inference import statistics
from sim.reporting.document import Figure, Section
from sim.reporting.labels import key_label, meaning
from sim.reporting.results import Results
from sim.reporting.sections.common import FigureFolder, plots


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """The figure of a grid over exactly two varying factors."""
    if results.experiment["design"] != "grid" or len(results.varied) != 2:
        return ("needs a grid over exactly two varying factors (this experiment: "
                f"{results.experiment['design']} design, {len(results.varied)} varying).")
    x_key, y_key = results.varied[::-1] if results.runs[results.varied[0]].dtype == bool \
        else results.varied
    table = statistics.shares_by_point(results.runs, results.factor_keys)
    section = Section("Phase diagram")
    section.add(f"Share of runs dead and zombie after {results.experiment['years']} years over "
                f"the grid of {key_label(x_key)} and {key_label(y_key)}.")
    file = figures.save("phase_diagram.png", lambda p: plots().plot_phase_diagram(
        table, x_key, y_key, p, x_label=textwrap.fill(key_label(x_key), 50),
        y_label=textwrap.fill(key_label(y_key), 40),
        title=f"{results.experiment['name']}: outcome after {results.experiment['years']} "
              "years"))
    section.add(Figure(file, f"Dead share (left) and zombie share (right) over "
                             f"{meaning(x_key)} and {meaning(y_key)}."))
    return section
