"""What the experiment report's sections share: the figures folder, the points' labels and the
formats of numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.reporting.results import Results

FIGURES = "figures"


@dataclass
class FigureFolder:
    """The report's figures/ folder and the figures drawn into it so far."""

    path: Path
    written: list[str] = field(default_factory=list)

    def save(self, name: str, draw: Callable[[Path], Any]) -> str:
        """Draw a figure to a temporary file and move it into place; its path in the report."""
        target = self.path / name
        tmp = target.with_name(f".{target.stem}.tmp.png")
        draw(tmp)
        tmp.replace(target)
        self.written.append(name)
        return f"{FIGURES}/{name}"


def plots():
    """The figures module, loaded (with matplotlib) when a section first draws."""
    from sim.reporting import figures

    return figures


def trajectory_points(results: Results, settings: dict, subject: str
                      ) -> tuple[list[int], int] | str:
    """The design points the [report] table's `trajectories` and `trajectory_runs` choose, and
    the runs per point; or why the section about their `subject` is left out."""
    design = results.experiment["design"]
    if design in ("lhs", "sobol"):
        return (f"a {design} design samples points at random; {subject} of single points say "
                "little (see global sensitivity).")
    count = int(settings.get("trajectories", 6))
    per_point = int(settings.get("trajectory_runs", 200))
    if count < 1 or per_point < 1:
        return "turned off in the experiment's [report] table."
    return sorted(results.runs["point_id"].unique())[:count], per_point


def short_keys(keys: list[str]) -> dict[str, str]:
    """`members.*.budget_trend` → `budget_trend`, `group.secretariat` → `secretariat`, unless
    two keys would then look the same."""
    short = {k: k.split(".", 1)[1].removeprefix("*.") if "." in k else k for k in keys}
    return short if len(set(short.values())) == len(short) else {k: k for k in keys}


def point_labels(results: Results) -> dict[int, str]:
    """Each point as the values of the factors that vary, e.g. `secretariat=true`."""
    keys = results.varied or results.factor_keys
    short = short_keys(keys)
    first = results.runs.groupby("point_id", sort=True)[keys].first()
    return {int(point_id): ", ".join(f"{short[k]}={fmt(row[k])}" for k in keys)
            for point_id, row in first.iterrows()}


def point_titles(results: Results) -> dict[int, str]:
    """Each point as a figure's title names it: every varying factor by its meaning, the key in
    brackets, and its value."""
    from sim.reporting.labels import key_label

    keys = results.varied or results.factor_keys
    first = results.runs.groupby("point_id", sort=True)[keys].first()
    return {int(point_id): "; ".join(f"{key_label(k)} = {fmt(row[k])}" for k in keys)
            for point_id, row in first.iterrows()}


def pair_title(results: Results, a: int, b: int) -> str:
    """What changes from point a to point b: each factor that differs by its meaning, the key
    in brackets, and its two values."""
    from sim.reporting.labels import key_label

    keys = results.varied or results.factor_keys
    first = results.runs.groupby("point_id", sort=True)[keys].first()
    changed = [k for k in keys if first.loc[a, k] != first.loc[b, k]] or keys
    return "; ".join(f"{key_label(k)}: {fmt(first.loc[a, k])} → {fmt(first.loc[b, k])}"
                     for k in changed)


def point_styles(results: Results) -> dict[int, tuple[str, str]]:
    """Each design point's (colour, line style) in figures with a mark per point: an ordered
    (numeric) factor in the sequential palette, from low to high, and a second factor by line
    style; without a numeric factor, the first factor's levels in the qualitative palette."""
    from sim.reporting.style import factor_colors

    keys = results.varied or results.factor_keys
    first = results.runs.groupby("point_id", sort=True)[keys].first()
    if first.empty or not keys:
        return {}
    numeric = [k for k in keys if first[k].dtype != bool
               and np.issubdtype(first[k].dtype, np.number)]
    by_color = numeric[-1] if numeric else keys[0]
    levels = sorted(first[by_color].unique())
    colors = dict(zip(levels, factor_colors(levels, ordered=bool(numeric)), strict=True))
    others = [k for k in keys if k != by_color]
    lines = ("-", "--", ":", "-.")
    styles_of = {}
    if others:
        settings = list(dict.fromkeys(map(tuple, first[others].to_numpy().tolist())))
        styles_of = {setting: lines[i % len(lines)] for i, setting in enumerate(settings)}
    return {int(point_id): (colors[row[by_color]],
                            styles_of.get(tuple(row[others].tolist()), "-") if others else "-")
            for point_id, row in first.iterrows()}


def fmt(value: Any) -> str:
    """A factor's value as the experiment file writes it."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def share_text(share: float, low: float, high: float) -> str:
    return f"{share:.1%} ({low:.1%}–{high:.1%})"


def median_text(median: float, low: float, high: float) -> str:
    def years(value: float) -> str:
        return "not reached" if not np.isfinite(value) else f"{value:.2f}"

    if not np.isfinite(median):
        return "not reached"
    return f"{years(median)} ({years(low)}–{years(high)})"


def p_text(p: float) -> str:
    if not np.isfinite(p):
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def p_is(p: float) -> str:
    """`p < 0.0001` or `p = 0.0123`."""
    text = p_text(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"
