"""The teaching page's charts: each run's record and the odds over many seeds, drawn with
Matplotlib's Agg canvas into PNG images the page shows."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.app.story import Run, RunOdds
from sim.model import group_rules, rules
from sim.reporting.figures import STATE_COLORS, member_colors, member_names

FIGURE_WIDTH, FIGURE_HEIGHT, FIGURE_DPI = 13.0, 5.0, 80  # inches; the runs share the width
ODDS_HEIGHT = 2.6  # inches


class RunChart:
    """A run's chart: engagement, joint outputs with the chair's terms, the state strip.

    Axes, ticks, labels and legend are drawn once into a background image; each step draws
    only the record over it (Matplotlib's blitting), which keeps a step quick to show.
    """

    def __init__(self, run: Run, width: float):
        s = run.scenario
        self.run = run
        self.colors = member_colors(s)
        self.start = s.start_quarter / rules.QUARTERS_PER_YEAR
        end = self.start + run.trajectory.quarters * rules.QUARTER
        self.fig = Figure(figsize=(width, FIGURE_HEIGHT), dpi=FIGURE_DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        legend_rows = 1 if width > 9 else 2
        self.ax_e, self.ax_a, self.ax_s = self.fig.subplots(3, 1, sharex=True, gridspec_kw={
            "height_ratios": [3, 2.2, 0.35], "left": 0.75 / width, "right": 1 - 0.15 / width,
            "top": 1 - (0.35 + 0.2 * legend_rows) / FIGURE_HEIGHT,
            "bottom": 0.35 / FIGURE_HEIGHT, "hspace": 0.3})
        n = len(s.members)
        self.ax_e.set_ylim(-0.06 - 0.03 * n, 1.02)
        self.ax_e.set_yticks([0, 0.5, 1])
        self.ax_e.set_ylabel("engagement")
        handles = [Line2D([], [], color=c, lw=1.8, label=name)
                   for name, c in zip(member_names(s), self.colors, strict=True)]
        handles += [Line2D([], [], color="grey", ls="", marker="s", ms=3,
                           label="domestic crisis"),
                    Line2D([], [], color="grey", ls="", marker="D", ms=5, mec="black",
                           label=f"joins {s.world.rival_name}"),
                    Line2D([], [], color="grey", ls="", marker="X", ms=7, mec="black",
                           label="leaves the group")]
        columns = -(-len(handles) // legend_rows)
        self.ax_e.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1),
                         ncol=columns, fontsize=8, frameon=False, handlelength=1.2,
                         columnspacing=0.8, borderaxespad=0.1)
        self.fig.text(0.1 / width, 1 - 0.05 / FIGURE_HEIGHT, run.label, fontsize=10,
                      fontweight="bold", va="top")
        self.ax_a.set_ylabel("joint outputs")
        self.ax_a.set_title("shaded: the chair's term (grey hatched: vacant; dashed: the "
                            "same chair again)", fontsize=8,
                            loc="left")
        self.ax_s.set_ylim(0, 1)
        self.ax_s.set_yticks([])
        self.ax_s.set_ylabel("state", rotation=0, ha="right", va="center")
        self.ax_s.set_xlim(self.start - 0.25, end)
        self.ax_s.set_xticks(np.arange(np.ceil(self.start / 5) * 5, end, 5))
        inches_a_year = (width - 0.9) / (end - self.start + 0.25)
        self.bar_width = 0.2 * inches_a_year * 72  # points: bars 0.2 years wide
        self.background = None
        self.top = 0.0  # of the outputs axis, as drawn in the background
        self.shown: tuple[int, bytes] | None = None  # (quarters, PNG) last made

    def png(self) -> bytes:
        """The chart of the run's record up to its last quarter, as PNG."""
        trajectory = self.run.trajectory
        if self.shown and self.shown[0] == trajectory.quarters_run:
            return self.shown[1]
        record = {name: trajectory.upto(name) for name in ("engagement", "status", "crisis",
                                                          "outputs", "chair", "state",
                                                          "in_rival", "new_term")}
        top = max(2 * self.run.scenario.group.base_rate,
                  float(record["outputs"].max(initial=0)) + 1)
        if self.background is None or top != self.top:
            self.ax_a.set_ylim(0, top)
            self.ax_a.set_yticks(np.linspace(0, top, 3).round())
            self.canvas.draw()
            self.background, self.top = self.canvas.copy_from_bbox(self.fig.bbox), top
        else:
            self.canvas.restore_region(self.background)
        for artist in self.record_artists(record):
            artist.axes.draw_artist(artist)
            artist.remove()
        self.shown = (trajectory.quarters_run, png_of(self.canvas))
        return self.shown[1]

    def record_artists(self, record: dict[str, np.ndarray]) -> list:
        """The record drawn on the axes (animated: left out of the background)."""
        years = self.start + np.arange(len(record["outputs"])) * rules.QUARTER
        drawn = []
        spans = _spans(record["chair"])
        for chair in sorted({chair for _, _, chair in spans}):
            vacant = chair == rules.VACANT
            drawn.append(self.ax_a.broken_barh(
                [(years[a] - 0.125, (b - a + 1) * rules.QUARTER) for a, b, c in spans
                 if c == chair], (0, self.top), facecolor="#bbbbbb" if vacant
                else self.colors[chair], alpha=0.2, lw=0, hatch="///" if vacant else None))
        repeats = np.flatnonzero(group_rules.chair_repeats(record["chair"], record["new_term"]))
        if repeats.size:  # a second term in a row starts: a dashed line in the chair's colour
            drawn.append(self.ax_a.vlines(
                years[repeats] - 0.125, 0, self.top, linestyles="dashed", lw=1.2,
                colors=[self.colors[record["chair"][t]] for t in repeats]))
        drawn.append(self.ax_a.vlines(years, 0, record["outputs"], color="#333333",
                                      lw=self.bar_width))
        for state, name in enumerate(rules.STATE_NAMES):
            drawn.append(self.ax_s.broken_barh(
                [(years[a] - 0.125, (b - a + 1) * rules.QUARTER)
                 for a, b, v in _spans(record["state"]) if v == state], (0, 1),
                color=STATE_COLORS[name], lw=0))
        for i, color in enumerate(self.colors):
            active = record["status"][:, i] == rules.ACTIVE
            drawn += self.ax_e.plot(years, np.where(active, record["engagement"][:, i], np.nan),
                                    color=color, lw=1.8)
            crisis = record["crisis"][:, i] & active
            drawn += self.ax_e.plot(years[crisis], np.full(crisis.sum(), -0.04 - 0.03 * i),
                                    ls="", marker="s", ms=2.5, color=color)
            engagement = record["engagement"][:, i]
            was_in = np.r_[self.run.trajectory.rival_at_start[i], record["in_rival"][:-1, i]]
            joins = record["in_rival"][:, i] & ~was_in
            drawn += self.ax_e.plot(years[joins], engagement[joins], ls="", marker="D", ms=5,
                                    color=color, mec="black")
            status = record["status"][:, i]
            leaves = np.flatnonzero((status == rules.EXITED)
                                    & (np.r_[rules.PENDING, status[:-1]] == rules.ACTIVE))
            drawn += self.ax_e.plot(years[leaves], engagement[np.maximum(leaves - 1, 0)],
                                    ls="", marker="X", ms=8, color=color, mec="black")
        for artist in drawn:
            artist.set_animated(True)
        return drawn


def _spans(values: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal values: (first index, last index, value)."""
    spans: list[tuple[int, int, int]] = []
    for t, value in enumerate(values):
        if spans and spans[-1][2] == value:
            spans[-1] = (spans[-1][0], t, spans[-1][2])
        else:
            spans.append((t, t, int(value)))
    return spans



class OddsChart:
    """The odds as stacked areas, one panel per arm, with the story's quarter marked.

    The areas are drawn once into a background image; each quarter draws only the line that
    marks it (Matplotlib's blitting), as the run charts do.
    """

    def __init__(self, odds: RunOdds):
        self.fig = Figure(figsize=(FIGURE_WIDTH, ODDS_HEIGHT), dpi=FIGURE_DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(1, len(odds.shares), sharey=True, squeeze=False,
                                      gridspec_kw={"left": 0.06, "right": 0.99, "top": 0.84,
                                                   "bottom": 0.16, "wspace": 0.05})[0]
        self.years = odds.start_year + np.arange(len(odds.shares[0])) * rules.QUARTER
        for ax, label, shares in zip(self.axes, odds.labels, odds.shares, strict=True):
            ax.stackplot(self.years, shares[:, 0], shares[:, 1], shares[:, 2],
                         colors=[STATE_COLORS[n] for n in ("alive", "zombie", "dead")],
                         labels=["alive", "zombie", "dead"], lw=0)
            ax.set_ylim(0, 1)
            ax.set_xlim(self.years[0], self.years[-1])
            ax.set_title(f"{label}: {len(odds.seeds)} seeds", fontsize=9, loc="left")
        self.axes[0].set_ylabel("share of runs")
        self.axes[-1].legend(loc="lower right", fontsize=7, frameon=True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.shown: tuple[int, bytes] | None = None

    def png(self, quarter: int) -> bytes:
        """The chart with the story's last quarter (`quarter` quarters run) marked, as PNG."""
        if self.shown and self.shown[0] == quarter:
            return self.shown[1]
        self.canvas.restore_region(self.background)
        if 0 < quarter <= len(self.years):
            now = self.years[quarter - 1]
            for ax in self.axes:
                line = ax.axvline(now, color="white", lw=1.5, ls="--")
                text = ax.text(now, 0.03, " now ", color="white", fontsize=8, ha="right")
                for artist in (line, text):
                    ax.draw_artist(artist)
                    artist.remove()
        self.shown = (quarter, png_of(self.canvas))
        return self.shown[1]




def png_of(canvas: FigureCanvasAgg) -> bytes:
    """What the canvas shows, as PNG (quick to make rather than small)."""
    image = BytesIO()
    PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).save(image, format="png",
                                                               compress_level=1)
    return image.getvalue()
