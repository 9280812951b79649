"""The figure style of every figure the project writes: sizes and fonts, colours with a meaning,
year axes in whole years, and the check that no text leaves the canvas.

Every function that draws a figure is decorated with `styled` (matplotlib reads its settings
when an artist is made, so the style is in force while the figure is drawn, and only then: a
notebook's own figures keep their settings) and makes its figure with `subplots`.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

DPI = 150  # every figure is saved at this resolution
STATE_COLORS = {"alive": "#4daf4a", "zombie": "#ff7f00", "dead": "#222222"}  # the outcome
LEVEL_COLORS = {"officials": "#9e9e9e", "ministers": "#333333", "leaders": "#6a3d9a"}
ARM_COLORS = {"baseline": "#777777", "treatment": "#1b7837"}  # a contrast's two arms
RECORD_COLOR = "#e6550d"  # a case's record against the runs
BAND_COLOR = "#08306b"  # the runs' median and bands
GLOBAL_CRISIS_COLOR = "#984ea3"
# Unordered things (members, claims' contrasts): a qualitative palette.
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
           "#666666", "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6"]
SEQUENTIAL = "viridis"  # ordered factors: a low value dark, a high value light

RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "savefig.dpi": DPI,
    "figure.constrained_layout.h_pad": 0.06,
    "figure.constrained_layout.w_pad": 0.06,
}

F = TypeVar("F", bound=Callable)


def styled(draw: F) -> F:
    """Draw under the project's style (`RC`), whatever the caller's matplotlib settings."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def subplots(*args, figsize=None, dpi=None, layout="constrained", **kwargs):
    """`pyplot.subplots` without pyplot: a figure of its own, laid out so that labels and
    legends fit (constrained layout), drawn by Agg when saved; matplotlib's backend and pyplot's
    figures are left alone."""
    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    return fig, fig.subplots(*args, **kwargs)


def save(fig: Figure, path: str | Path | None) -> Figure:
    """Write the figure at the style's resolution (if `path`), and return it."""
    if path is not None:
        fig.savefig(path, dpi=DPI)
    return fig


def suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to the figure's width (about 0.6 em a character)."""
    size = matplotlib.rcParams["figure.titlesize"]
    size = size if isinstance(size, int | float) else 11
    width = max(20, int(fig.get_figwidth() * 72 / (0.6 * size)))
    fig.suptitle(textwrap.fill(text, width))


def year_axis(ax, label: str = "year") -> None:
    """Whole years on the x axis (2014, 2016, …), never 2017.5."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True, min_n_ticks=3))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
    if label:
        ax.set_xlabel(label)


def ordered_colors(count: int) -> list[str]:
    """`count` colours of the sequential palette, for the levels of an ordered factor."""
    cmap = matplotlib.colormaps[SEQUENTIAL]
    return [matplotlib.colors.to_hex(cmap(x)) for x in np.linspace(0.05, 0.85, max(count, 1))]


def factor_colors(levels: Sequence, ordered: bool) -> list[str]:
    """Colours for a factor's levels: sequential when they are ordered (numbers), else the
    qualitative palette."""
    if ordered:
        return ordered_colors(len(levels))
    return [PALETTE[i % len(PALETTE)] for i in range(len(levels))]


def texts_outside(fig: Figure, tolerance: float = 1.0) -> list[str]:
    """Texts the figure draws (titles, labels, ticks, legends, annotations) whose extent leaves
    the canvas, each as 'text' and how far it sticks out; empty when none does."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    skipped = _undrawn_tick_labels(fig)
    width, height = fig.bbox.width, fig.bbox.height
    found = []
    for text in fig.findobj(Text):
        if (id(text) in skipped or not text.get_visible() or not text.get_text().strip()
                or text.figure is None):
            continue
        box = text.get_window_extent(renderer)
        over = max(-box.x0, box.x1 - width, -box.y0, box.y1 - height)
        if over > tolerance:
            found.append(f"{text.get_text()!r} by {over:.0f} px")
    return found


def _undrawn_tick_labels(fig: Figure) -> set[int]:
    """Ids of the tick labels matplotlib keeps but does not draw: those of hidden axes and of
    ticks outside the view."""
    skipped = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_major_ticks() + axis.get_minor_ticks()
            low, high = sorted(axis.get_view_interval())
            for tick in ticks:
                loc = tick.get_loc()
                if (not ax.get_visible() or not ax.axison or not axis.get_visible()
                        or loc is None or not low - 1e-9 * abs(high - low) <= loc
                        <= high + 1e-9 * abs(high - low)):
                    skipped.update((id(tick.label1), id(tick.label2)))
    return skipped
