"""Global sensitivity: Sobol indices of a sobol design, or one factor at a time for an oat
design."""

from __future__ import annotations

import pandas as pd

from sim.inference import statistics
from sim.reporting.document import Figure, Section, Table
from sim.reporting.results import Results
from sim.reporting.sections.common import FigureFolder, fmt, plots

OUTPUT_UNITS = {"death share": "share of runs", "years to death": "years",
                "total outputs": "outputs per run"}


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """The section the design supports, or why there is none."""
    design = results.experiment["design"]
    if design == "sobol":
        return _sobol(results, figures)
    if design == "oat":
        return _oat(results, figures)
    return f"Sobol indices need a sobol design, tornado charts an oat design (this: {design})."


def _sobol(results: Results, figures: FigureFolder) -> Section | str:
    e = results.experiment
    keys = results.factor_keys
    expected = int(e["samples"]) * (len(keys) + 2)
    outputs = statistics.point_outputs(results.runs, results.horizon)
    if len(outputs) != expected or outputs.index.max() != expected - 1:
        return (f"the Sobol analysis needs every one of the {expected} design points, and "
                f"{len(outputs)} have runs that did not fail.")
    problem = {"num_vars": len(keys), "names": keys,
               "bounds": [[e["factors"][k]["min"], e["factors"][k]["max"]] for k in keys]}
    indices = statistics.sobol_indices(problem, outputs)
    section = Section("Global sensitivity")
    section.add(f"Sobol indices (SALib, Saltelli sampling of {e['samples']} base samples, "
                f"{expected} design points × {e['replicates']} replicates) of three outputs "
                "per design point, averaged over its replicates: the **death share**, the mean "
                "**years to death** (runs not dead count at the horizon) and the mean **total "
                "outputs**. S1 is the share of the output's variance due to a factor alone, ST "
                "the share it takes part in, interactions included; intervals are 95 % "
                "bootstrap intervals. What replicates leave of the noise in a point's mean adds "
                "to every ST.")
    for output in dict.fromkeys(indices["output"]):
        part = indices[indices["output"] == output].sort_values("ST", ascending=False)
        top = part.iloc[0]
        section.add(f"**{output}** ({OUTPUT_UNITS[output]}): ranges "
                    f"{outputs[output].min():.3g} to {outputs[output].max():.3g} across points; "
                    f"most influential: `{top['factor']}` (ST = {top['ST']:.2f}, "
                    f"S1 = {top['S1']:.2f}).")
        section.add(Table(pd.DataFrame({
            "factor": part["factor"].map(lambda k: f"`{k}`"),
            "S1": [f"{s:.3f} ± {c:.3f}" for s, c in zip(part["S1"], part["S1_conf"],
                                                       strict=True)],
            "ST": [f"{s:.3f} ± {c:.3f}" for s, c in zip(part["ST"], part["ST_conf"],
                                                       strict=True)]})))
    file = figures.save("sobol.png", lambda p: plots().plot_sobol(
        indices, p, title=f"{e['name']}: Sobol indices ({expected} points × "
                          f"{e['replicates']} replicates)"))
    section.add(Figure(file, "First-order (S1) and total (ST) Sobol indices per factor, with "
                             "95 % bootstrap intervals, for each output."))
    return section


def _oat(results: Results, figures: FigureFolder) -> Section | str:
    table = statistics.shares_by_point(results.runs, results.factor_keys)
    effects = statistics.oat_effects(table, results.factor_keys)
    if effects.empty:
        return "no design point moves a single factor away from the base point."
    section = Section("Global sensitivity")
    section.add("One factor at a time, from the base point (point 0): the dead and zombie "
                "shares at each level tried, and their change from the base point.")
    section.add(Table(pd.DataFrame({
        "factor": effects["factor"].map(lambda k: f"`{k}`"),
        "level": effects["level"].map(fmt), "point": effects["point_id"],
        "dead": effects["dead"].map(lambda v: f"{v:.1%}"),
        "change in dead (points)": effects["dead_change"].map(lambda v: f"{100 * v:+.1f}"),
        "zombie": effects["zombie"].map(lambda v: f"{v:.1%}"),
        "change in zombie (points)": effects["zombie_change"].map(lambda v: f"{100 * v:+.1f}"),
    })))
    file = figures.save("tornado.png", lambda p: plots().plot_tornado(
        effects, p, title=f"{results.experiment['name']}: one factor at a time"))
    section.add(Figure(file, "Tornado chart: the dead and zombie shares at each factor's "
                             "levels, from the base point's (vertical line); widest on top."))
    return section
