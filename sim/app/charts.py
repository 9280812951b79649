"""The teaching page's charts: each run's record and the odds over many seeds, drawn with
Matplotlib's Agg canvas into PNG images the page shows at their own size (one image pixel, one
pixel on the page), so that their 14 px text stays 14 px on a projector."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.app.story import Run, RunOdds
from sim.model import group_rules, rules
from sim.reporting.figures import STATE_COLORS, member_colors

DPI = 100  # pixels an inch: a chart's size in pixels is its size on the page
FONT_PT = 14 * 72 / DPI  # every text of the charts is 14 px high: legible on a projector


def points(pixels: float) -> float:
    return pixels * 72 / DPI


class RunChart:
    """A run's chart: engagement, joint outputs with the chair's terms, the state strip.

    Drawn at its size on the page (`width` x `height` pixels), its text 14 px. Axes, ticks
    and labels are drawn once into a background image; each step draws only the record over
    it (Matplotlib's blitting), which keeps a step quick to show.
    """

    def __init__(self, run: Run, width: int, height: int, title: str = ""):
        s = run.scenario
        self.run = run
        self.colors = member_colors(s)
        self.start = s.start_quarter / rules.QUARTERS_PER_YEAR
        end = self.start + run.trajectory.quarters * rules.QUARTER
        self.fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        top = 26 if title else 10
        self.ax_e, self.ax_a, self.ax_s = self.fig.subplots(3, 1, sharex=True, gridspec_kw={
            "height_ratios": [3, 2, 0.45], "left": 62 / width, "right": 1 - 12 / width,
            "top": 1 - top / height, "bottom": 26 / height, "hspace": 0.12})
        for ax in (self.ax_e, self.ax_a, self.ax_s):
            ax.tick_params(labelsize=FONT_PT, length=3, pad=2)
        n = len(s.members)
        self.ax_e.set_ylim(-0.06 - 0.03 * n, 1.02)
        self.ax_e.set_yticks([0, 0.5, 1], ["0", ".5", "1"])
        compact = height < 200  # two runs, one above the other: short names
        self.ax_e.set_ylabel("eng." if compact else "engagement", fontsize=FONT_PT,
                             labelpad=2)
        if title:
            self.fig.text(6 / width, 1 - 4 / height, title, fontsize=FONT_PT,
                          fontweight="bold", va="top")
        self.ax_a.set_ylabel("out." if compact else "outputs", fontsize=FONT_PT, labelpad=2)
        self.ax_s.set_ylim(0, 1)
        self.ax_s.set_yticks([])
        self.ax_s.set_ylabel("state", rotation=0, ha="right", va="center", fontsize=FONT_PT)
        self.ax_s.set_xlim(self.start - 0.25, end)
        span = end - self.start
        every = 5 if width / span > 9 else 10  # tick labels 14 px apart enough to read
        self.ax_s.set_xticks(np.arange(np.ceil(self.start / every) * every, end, every))
        inches_a_year = (width - 74) / DPI / (span + 0.25)
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
    """The odds as stacked areas, one panel per arm above the other, with the story's quarter
    marked; drawn at its size on the page, its text 14 px.

    The areas are drawn once into a background image; each quarter draws only the line that
    marks it (Matplotlib's blitting), as the run charts do.
    """

    def __init__(self, odds: RunOdds, width: int, height: int,
                 labels: tuple[str, ...] | None = None):
        self.fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        arms = len(odds.shares)
        self.axes = self.fig.subplots(arms, 1, sharex=True, squeeze=False, gridspec_kw={
            "left": 44 / width, "right": 1 - 12 / width, "top": 1 - 22 / height,
            "bottom": 26 / height, "hspace": 22 * arms / (height - 48)})[:, 0]
        self.years = odds.start_year + np.arange(len(odds.shares[0])) * rules.QUARTER
        for ax, label, shares in zip(self.axes, labels or odds.labels, odds.shares,
                                     strict=True):
            ax.stackplot(self.years, shares[:, 0], shares[:, 1], shares[:, 2],
                         colors=[STATE_COLORS[n] for n in ("alive", "zombie", "dead")], lw=0)
            ax.set_ylim(0, 1)
            ax.set_yticks([0, 1], ["0", "1"])
            ax.set_xlim(self.years[0], self.years[-1])
            ax.tick_params(labelsize=FONT_PT, length=3, pad=2)
            ax.set_title(label, fontsize=FONT_PT, loc="left", pad=3)
        span = self.years[-1] - self.years[0]
        every = 5 if width / span > 9 else 10
        self.axes[-1].set_xticks(np.arange(np.ceil(self.years[0] / every) * every,
                                           self.years[-1], every))
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
                line = ax.axvline(now, color="white", lw=2, ls="--")
                ax.draw_artist(line)
                line.remove()
        self.shown = (quarter, png_of(self.canvas))
        return self.shown[1]


def png_of(canvas: FigureCanvasAgg) -> bytes:
    """What the canvas shows, as PNG (quick to make rather than small)."""
    image = BytesIO()
    PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).save(image, format="png",
                                                               compress_level=1)
    return image.getvalue()
