"""The validation folder: cases.csv, observed_states.csv, report.md, report.html and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.storage import atomic_write_bytes, provenance
from sim.inference.validation import INTERVAL, STATE_FLOOR, CaseResult
from sim.model import rules
from sim.model.labels import LEVELS
from sim.reporting.document import Bullets, Document, Figure, Section, Table, write_document
from sim.reporting.style import (
    BAND_COLOR,
    RECORD_COLOR,
    STATE_COLORS,
    save,
    styled,
    subplots,
    year_axis,
)


def write_validation(results: list[CaseResult], folder: Path) -> Path:
    """Every file of a validation; returns report.md's path."""
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    cases = pd.concat([r.patterns for r in results], ignore_index=True)
    atomic_write_bytes(folder / "cases.csv", cases.to_csv(index=False).encode())
    states = pd.concat([r.observed_states for r in results], ignore_index=True)
    atomic_write_bytes(folder / "observed_states.csv", states.to_csv(index=False).encode())
    doc = Document("Validation: the model against the cases' records")
    head = Section("Findings")
    head.add(Bullets([line for r in results for line in _findings(r)]))
    head.add("`cases.csv` has one row per pattern (the record's value, the simulated median and "
             f"{INTERVAL:.0%} interval, and whether the record is inside); `observed_states.csv` "
             "the outcome rule applied to each record, quarter by quarter. The rule and the "
             "observation model: docs/validation.md.")
    doc.sections.append(head)
    for r in results:
        section = Section(r.record.title)
        activity_png = f"figures/{r.record.name}-activity.png"
        _plot_activity(r, folder / activity_png)
        section.add(Figure(activity_png, f"{r.record.name}: meetings and documents per year and "
                           f"level, the record (dots; years and levels recorded in full) against "
                           f"{r.runs:,} runs (median, 50 % and 90 % bands)."))
        states_png = f"figures/{r.record.name}-states.png"
        _plot_states(r, folder / states_png)
        section.add(Figure(states_png, f"{r.record.name}: share of runs alive, zombie and dead "
                           "at the end of each year; the strip above is the record's own state "
                           "by the same rule."))
        section.add("How the shares at the end of the last year compared, and the record's own "
                    "state, change when each window of the outcome rule, and then all of them, "
                    "is halved or made half as long again (runs relabelled from their series; a "
                    "run that died under the rule as set has no activity after its death):")
        table = r.sensitivity.copy()
        for name in rules.STATE_NAMES:
            table[name] = table[name].map(lambda v: f"{v:.0%}")
        section.add(Table(table.astype(str)))
        chairs = r.record.rows[r.record.rows["kind"] == "chair"]
        if len(chairs):
            section.add("The record's chairs: " + ", ".join(
                f"{row.member} from {row.date}" for row in chairs.itertuples()) + ".")
        doc.sections.append(section)
    footer = Section("Provenance", appendix=True)
    footer.add(Table(pd.DataFrame([{k: str(v) for k, v in provenance().items()}])))
    doc.sections.append(footer)
    return write_document(doc, folder)


def _findings(r: CaseResult) -> list[str]:
    """A case's findings: how much of its record the runs cover, its chairs and exits, and the
    patterns outside the interval."""
    lines = []
    activity = r.patterns[r.patterns["pattern"].str.contains("activity")]
    state = r.patterns[r.patterns["pattern"].str.startswith("state")]
    lines.append(
        f"**{r.record.title}** ({r.runs:,} runs of `{r.scenario.name}`): the record's "
        f"activity is inside the simulated {INTERVAL:.0%} interval in "
        f"{int(activity['inside'].sum())} of {len(activity)} year-and-level patterns; the "
        f"record's state (by the outcome rule) is one that at least {STATE_FLOOR:.0%} of runs "
        f"are in at the end of {int(state['inside'].sum())} of {len(state)} years.")
    for row in r.patterns[r.patterns["pattern"].str.startswith(("chairs", "exits"))
                          ].itertuples():
        simulated = (f"{row.simulated_median:.0%} of runs have them"
                     if isinstance(row.observed, str)
                     else f"simulated {row.simulated_lo:g} – {row.simulated_hi:g}")
        lines.append(f"{r.record.name}: {row.pattern}: the record {row.observed}; "
                     f"{simulated}.")
    missed = activity[~activity["inside"]]
    if len(missed):
        lines.append(f"{r.record.name}: outside the interval: "
                     + "; ".join(f"{p} (observed {o}, simulated {lo:g} – {hi:g})"
                                 for p, o, lo, hi in missed[["pattern", "observed",
                                                             "simulated_lo",
                                                             "simulated_hi"]].itertuples(
                                     index=False)) + ".")
    return lines


@styled
def _plot_activity(r: CaseResult, path: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    fig, axes = subplots(1, len(LEVELS), figsize=(12, 3.6))
    for ax, level in zip(axes, LEVELS, strict=True):
        part = r.activity[r.activity["level"] == level] if len(r.activity) else r.activity
        if len(part):
            ax.fill_between(part["year"], part["q05"], part["q95"], color="#c6dbef",
                            label="90 % of runs")
            ax.fill_between(part["year"], part["q25"], part["q75"], color="#6baed6",
                            label="50 % of runs")
            ax.plot(part["year"], part["median"], color=BAND_COLOR, label="median of runs")
            ax.plot(part["year"], part["observed"], "o", color=RECORD_COLOR, ms=4,
                    label="the record")
        else:
            ax.text(0.5, 0.5, "not recorded in full", ha="center", va="center",
                    transform=ax.transAxes, color="#777777")
        ax.set_title(f"{level}' meetings and documents")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        year_axis(ax)
    axes[0].set_ylabel("a year")
    handles, labels = next(((h, lab) for h, lab in (ax.get_legend_handles_labels()
                                                    for ax in axes) if h), ([], []))
    if handles:
        fig.legend(handles, labels, loc="outside right upper")
    save(fig, path)


@styled
def _plot_states(r: CaseResult, path: Path) -> None:
    fig, (strip, ax) = subplots(2, 1, figsize=(9, 3.8), sharex=True,
                                gridspec_kw={"height_ratios": [0.4, 3]})
    years = r.states["year"].to_numpy()
    bottom = np.zeros(len(years))
    for name in rules.STATE_NAMES:
        ax.bar(years, r.states[name], bottom=bottom, color=STATE_COLORS[name], width=0.9,
               label=name)
        bottom = bottom + r.states[name].to_numpy()
    for year, seen in zip(years, r.states["observed"], strict=True):
        if isinstance(seen, str):
            strip.bar(year, 1, color=STATE_COLORS[seen], width=0.9)
    strip.set_yticks([])
    strip.set_ylabel("the record", rotation=0, ha="right", va="center")
    strip.spines[["left", "bottom"]].set_visible(False)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of runs\nat the end of the year")
    year_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="state")
    save(fig, path)
