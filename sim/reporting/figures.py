"""Figures: the picture of one run, and those of an experiment report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.model import rules
from sim.model.outcomes import summarize
from sim.model.params import Scenario
from sim.model.trajectory import Trajectory
from sim.reporting.narrative import change_label
from sim.reporting.style import (
    ARM_COLORS,
    GLOBAL_CRISIS_COLOR,
    LEVEL_COLORS,
    PALETTE,
    STATE_COLORS,
    save,
    styled,
    subplots,
    suptitle,
    year_axis,
)


def member_colors(scenario: Scenario) -> list[str]:
    """Each member's colour: its own if set, else from a fixed palette by position."""
    return [m.color or PALETTE[i % len(PALETTE)] for i, m in enumerate(scenario.members)]


def member_names(scenario: Scenario) -> list[str]:
    return [m.name or m.code for m in scenario.members]


@styled
def plot_run(trajectory: Trajectory, scenario: Scenario, path: str | Path | None = None,
             title: str | None = None) -> Figure:
    """Engagement per member, activity with the chair's terms shaded, the state band, events."""
    t_run = trajectory.quarters_run
    start = scenario.start_quarter / rules.QUARTERS_PER_YEAR
    years = start + np.arange(t_run) * rules.QUARTER
    series = {name: trajectory.upto(name) for name in trajectory.series}
    fig, (ax_e, ax_a, ax_s) = subplots(
        3, 1, figsize=(12, 7.2), sharex=True, gridspec_kw={"height_ratios": [3, 2.2, 0.45]},
        layout="constrained")
    _plot_engagement(ax_e, trajectory, scenario, years, series)
    _plot_activity(ax_a, scenario, years, series)
    _mark_events(ax_a, scenario, years, t_run)
    _plot_state_band(ax_s, years, series["state"])
    ax_s.set_xlim(start - 0.25, start + trajectory.quarters * rules.QUARTER)
    summary = summarize(trajectory)
    text = summary["outcome"].upper()
    if summary["death_quarter"] is not None:
        text += (f" in {scenario.quarter_label(summary['death_quarter'])}"
                 f" ({summary['death_cause']})")
    fig.suptitle(title or f"{scenario.title} — seed {trajectory.seed}: {text}")
    year_axis(ax_s)
    return save(fig, path)


def _plot_engagement(ax, trajectory: Trajectory, scenario: Scenario, years, s: dict) -> None:
    """Engagement per member, with domestic crises, exits and rival-bloc joins marked."""
    names = member_names(scenario)
    for i, (name, color) in enumerate(zip(names, member_colors(scenario), strict=True)):
        engagement = np.where(s["status"][:, i] == rules.ACTIVE, s["engagement"][:, i], np.nan)
        ax.plot(years, engagement, color=color, lw=1.8, label=name)
        crisis = s["crisis"][:, i] & (s["status"][:, i] == rules.ACTIVE)
        ax.scatter(years[crisis], np.full(crisis.sum(), -0.04 - 0.025 * i), marker="s",
                   s=6, color=color, linewidths=0)
        status = s["status"][:, i]
        exited = np.flatnonzero((status == rules.EXITED)
                                & (np.r_[rules.PENDING, status[:-1]] != rules.EXITED))
        ax.scatter(years[exited], s["engagement"][np.maximum(exited - 1, 0), i], marker="X",
                   s=90, color=color, edgecolor="black", zorder=6)
        joined = np.flatnonzero(np.diff(s["in_rival"][:, i].astype(int),
                                        prepend=int(trajectory.rival_at_start[i])) == 1)
        ax.scatter(years[joined], s["engagement"][joined, i], marker="D", s=55, color=color,
                   edgecolor="black", zorder=5)
    _shade_global_crises(ax, years, s["global_crisis"])
    ax.set_ylim(-0.04 - 0.025 * len(names) - 0.02, 1.02)
    ax.set_ylabel("engagement (0–1)")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], marker="X", ls="", color="grey", mec="black", ms=9),
                Line2D([], [], marker="D", ls="", color="grey", mec="black", ms=7),
                Line2D([], [], marker="s", ls="", color="grey", ms=4)]
    labels += ["leaves the group", f"joins {scenario.world.rival_name}", "domestic crisis"]
    if np.any(s["global_crisis"]):
        handles.append(Patch(color=GLOBAL_CRISIS_COLOR, alpha=0.25))
        labels.append("global crisis (shaded)")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _plot_activity(ax, scenario: Scenario, years, s: dict) -> None:
    """Outputs per quarter by level, chair terms shaded in the chair's colour."""
    colors = member_colors(scenario)
    for t in range(len(years)):
        chair = s["chair"][t]
        color = colors[chair] if chair != rules.VACANT else "#bbbbbb"
        ax.axvspan(years[t] - 0.125, years[t] + 0.125, color=color, alpha=0.18, lw=0,
                   hatch=None if chair != rules.VACANT else "///")
    bottom = np.zeros(len(years))
    for level in rules.LEVEL_NAMES:
        color = LEVEL_COLORS[level]
        values = np.asarray(s[f"outputs_{level}"], dtype=float)
        ax.bar(years, values, width=0.2, bottom=bottom, color=color, label=f"{level}' outputs")
        bottom = bottom + values
    ax.plot(years, s["activity_rate"], color="#e41a1c", lw=1.2, label="expected outputs")
    ax.set_ylabel("outputs per quarter")
    chair_handles = [Patch(color=c, alpha=0.3, label=f"{n} chairs")
                     for n, c in zip(member_names(scenario), colors, strict=True)]
    chair_handles.append(Patch(facecolor="#bbbbbb", alpha=0.3, hatch="///", label="vacant"))
    handles = ax.get_legend_handles_labels()[0] + chair_handles
    handles.append(Line2D([], [], color="#555555", lw=0.8, ls="--", label="dated event"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _plot_state_band(ax, years, states) -> None:
    """The group's state quarter by quarter as a band of colours."""
    for t in range(len(years)):
        ax.axvspan(years[t] - 0.125, years[t] + 0.125,
                   color=STATE_COLORS[rules.STATE_NAMES[states[t]]], lw=0)
    ax.set_yticks([])
    ax.set_ylabel("state", rotation=0, ha="right", va="center")
    ax.legend(handles=[Patch(color=c, label=n) for n, c in STATE_COLORS.items()],
              loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax.set_xlabel("year")


def _shade_global_crises(ax, years, flags) -> None:
    for t in np.flatnonzero(flags):
        ax.axvspan(years[t] - 0.125, years[t] + 0.125, color=GLOBAL_CRISIS_COLOR, alpha=0.08,
                   lw=0)


def _mark_events(ax, scenario: Scenario, years, t_run: int) -> None:
    """Dated events of the scenario as labelled lines at the top of the axis: the events of one
    quarter share a label, and labels that would touch sit on alternate sides of their line."""
    top = ax.get_ylim()[1] * 1.45
    ax.set_ylim(top=top)
    marks: dict[int, list[tuple[str, str]]] = {}
    for event in scenario.events:
        q = scenario.quarter_index(event.date)
        label = {"budget": f"{event.member} budget ×{event.factor:g}",
                 "attention": f"{event.member} attention ×{event.factor:g}",
                 "crisis": f"{event.member} crisis",
                 "rival_invite": f"{scenario.world.rival_name} invites {event.member}",
                 "rival_join": f"{event.member} joins {scenario.world.rival_name}",
                 "rival_round": f"{scenario.world.rival_name} expands",
                 "global_crisis": "global crisis"}[event.kind]
        marks.setdefault(q, []).append((label, "#555555"))
    for change in scenario.changes:  # policies adopted at a date, in black
        marks.setdefault(scenario.quarter_index(change.date), []).append(
            (change_label(change, scenario), "black"))
    last, side = -np.inf, "right"
    for q in sorted(k for k in marks if k < t_run):
        label = "; ".join(text for text, _ in marks[q])
        color = "black" if any(c == "black" for _, c in marks[q]) else "#555555"
        side = ("left" if side == "right" else "right") if years[q] - last < 1.0 else "right"
        last = years[q]
        ax.axvline(years[q], color=color, lw=0.9 if color == "black" else 0.8, ls="--")
        ax.text(years[q], top, f" {label}", rotation=90, va="top", ha=side, fontsize=7,
                color=color)


# ------------------------------------------------------------------------------ experiments


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    return save(fig, path)


@styled
def plot_outcome_shares(points, labels: list[str], path: str | Path | None = None,
                        title: str = "Outcome shares per design point") -> Figure:
    """Stacked bars dead / zombie / alive per point, with the Wilson 95 % intervals of the dead
    and alive shares on their boundaries; many points are sorted by dead share, unlabelled."""
    many = len(points) > 40
    if many:
        points = points.sort_values(["dead", "zombie"], ascending=False)
    x = np.arange(len(points))
    width = 0.7
    fig, ax = subplots(figsize=(min(12, 3.6 + 1.2 * len(points)) if not many else 11, 4.6))
    bottom = np.zeros(len(points))
    for name in ("dead", "zombie", "alive"):
        share = points[name].to_numpy(dtype=float)
        if many:  # one filled step curve, not thousands of bars
            ax.fill_between(x, bottom, bottom + share, step="mid", color=STATE_COLORS[name],
                            label=name, linewidth=0)
        else:
            ax.bar(x, share, width, bottom=bottom, color=STATE_COLORS[name], label=name,
                   linewidth=0)
            for xi, b, s in zip(x, bottom, share, strict=True):
                if s >= 0.06:
                    ax.text(xi, b + s / 2, f"{s:.0%}", ha="center", va="center", fontsize=8,
                            color="white" if name != "zombie" else "black")
        bottom = bottom + share
    if not many:
        def spread(name: str) -> np.ndarray:  # below and above the share, never negative
            share = points[name].to_numpy(dtype=float)
            return np.maximum(0, [share - points[f"{name}_low"], points[f"{name}_high"] - share])

        ax.errorbar(x + 0.22, points["dead"], yerr=spread("dead"), fmt="none",
                    ecolor="#e41a1c", capsize=3, lw=1.2, label="dead share, 95 % interval")
        ax.errorbar(x - 0.22, 1 - points["alive"], yerr=spread("alive")[::-1], fmt="none",
                    ecolor="#377eb8", capsize=3, lw=1.2, label="alive share, 95 % interval")
        stacked = [label.replace(", ", "\n") for label in labels]
        room = 13 * (fig.get_figwidth() - 3.0) / len(points)  # characters a bar's width holds
        tilt = max(len(t) for s in stacked for t in s.split("\n")) > room
        ax.set_xticks(x, stacked, rotation=45 if tilt else 0,
                      ha="right" if tilt else "center", rotation_mode="anchor", fontsize=8)
        ax.set_xlabel("design point")
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(points)} design points, sorted by dead share")
    ax.set_ylim(0, 1)
    ax.set_xlim(-0.6, len(points) - 0.4)
    ax.set_ylabel("share of runs")
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(n) for n in ("alive", "zombie", "dead")] + [
        i for i, n in enumerate(names) if n not in STATE_COLORS]
    ax.legend([handles[i] for i in order], [names[i] for i in order], loc="upper left",
              bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title, fontsize=11)
    return _finish(fig, path)


@styled
def plot_trajectories(shares, activity, engagement, start_year: float,
                      path: str | Path | None = None, title: str = "",
                      zombie_line: float | None = None,
                      marks: Sequence[tuple[float, str]] = ()) -> Figure:
    """One design point over time: the share of runs alive / zombie / dead (stacked), and fan
    charts (median, 50 % and 90 % bands) of outputs per quarter and of mean engagement.

    `shares` is indexed by quarter with columns alive, zombie, dead; `activity` and `engagement`
    by quarter with quantile columns 0.05, 0.25, 0.5, 0.75, 0.95. `marks` are (year, label) of
    changes at a date, drawn as labelled lines.
    """
    fig, (ax_s, ax_a, ax_e) = subplots(3, 1, figsize=(9, 7.5), sharex=True,
                                           layout="constrained")
    years = start_year + shares.index.to_numpy() / 4
    ax_s.stackplot(years, *(shares[name].to_numpy() for name in ("dead", "zombie", "alive")),
                   colors=[STATE_COLORS[n] for n in ("dead", "zombie", "alive")],
                   labels=["dead", "zombie", "alive"], linewidth=0)
    ax_s.set_ylim(0, 1)
    ax_s.set_ylabel("share of runs")
    handles, names = ax_s.get_legend_handles_labels()
    ax_s.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0),
                fontsize=8, frameon=False)
    for ax, bands, label, color in ((ax_a, activity, "outputs per quarter", "#333333"),
                                    (ax_e, engagement, "mean engagement (0–1)", "#377eb8")):
        t = start_year + bands.index.to_numpy() / 4
        ax.fill_between(t, bands[0.05], bands[0.95], color=color, alpha=0.15, lw=0,
                        label="90 % of runs")
        ax.fill_between(t, bands[0.25], bands[0.75], color=color, alpha=0.35, lw=0,
                        label="50 % of runs")
        ax.plot(t, bands[0.5], color=color, lw=1.6, label="median")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    if zombie_line is not None:
        ax_a.axhline(zombie_line, color=STATE_COLORS["zombie"], ls=":", lw=1.2,
                     label="zombie line")
    ax_e.set_ylim(0, 1)
    for ax in (ax_a, ax_e):
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    for year, label in marks:
        for ax in (ax_s, ax_a, ax_e):
            ax.axvline(year, color="black", lw=1.0, ls="--")
        ax_s.text(year, 0.98, " " + label, rotation=90, va="top", ha="right", fontsize=7)
    year_axis(ax_e)
    suptitle(fig, title)
    return _finish(fig, path)


@styled
def plot_twins(pairs, start_year: float, date_year: float, labels: tuple[str, str],
               path: str | Path | None = None, title: str = "") -> Figure:
    """A design point and its twin with a change at a date: the mean outputs of each, the share
    of runs alive in each, and the share of pairs that differ, quarter by quarter.

    `pairs` is indexed by quarter with columns outputs_a, outputs_b, alive_a, alive_b and differ
    (shares of pairs whose runs differ in that quarter).
    """
    fig, (ax_o, ax_s, ax_d) = subplots(3, 1, figsize=(9, 6.4), sharex=True,
                                       layout="constrained", gridspec_kw={
                                           "height_ratios": [2, 1.5, 1]})
    years = start_year + pairs.index.to_numpy() / 4
    for arm, color, label in (("a", ARM_COLORS["baseline"], labels[0]),
                              ("b", ARM_COLORS["treatment"], labels[1])):
        ax_o.plot(years, pairs[f"outputs_{arm}"], color=color, lw=1.6, label=label)
        ax_s.plot(years, pairs[f"alive_{arm}"], color=color, lw=1.6, label=label)
    ax_d.fill_between(years, 0, pairs["differ"], color="#984ea3", alpha=0.5, lw=0, step="mid",
                      label="pairs whose runs differ")
    ax_o.set_ylabel("mean outputs\nper quarter")
    ax_o.set_ylim(bottom=0)
    ax_s.set_ylabel("share of\nruns alive")
    alive = np.r_[pairs["alive_a"].to_numpy(dtype=float), pairs["alive_b"].to_numpy(dtype=float)]
    floor = float(np.nanmin(alive)) if alive.size else 0.0
    if floor > 0.8:  # both arms nearly always alive: show the small difference, and say so
        ax_s.set_ylim(max(0.0, floor - 0.02), 1.002)
        ax_s.text(0.005, 0.04, f"axis from {max(0.0, floor - 0.02):.0%}", fontsize=7,
                  transform=ax_s.transAxes, color="#555555")
    else:
        ax_s.set_ylim(0, 1.02)
    ax_d.set_ylabel("pairs that\ndiffer")
    ax_d.set_ylim(0, 1.02)
    for ax in (ax_o, ax_s, ax_d):
        ax.axvline(date_year, color="black", lw=1.0, ls="--")
    ax_o.axvline(date_year, color="black", lw=1.0, ls="--", label="the date of the change")
    ax_o.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax_d.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    year_axis(ax_d)
    suptitle(fig, title)
    return _finish(fig, path)


@styled
def plot_survival(curves, labels: dict, path: str | Path | None = None, title: str = "",
                  ylabel: str = "share of runs without the event",
                  horizon_years: float | None = None, since: str = "the start",
                  styles: dict | None = None) -> Figure:
    """Kaplan–Meier curves (step) with their confidence bands, one per design point.

    `curves` is long: point_id, time (years), survival, low, high. `styles` maps a point to
    its (colour, line style), e.g. a sequential colour for an ordered factor
    (`style.factor_colors`); by default the qualitative palette. Curves that never leave 1.0
    lie on top of each other: the legend says so of each.
    """
    fig, ax = subplots(figsize=(9, 4.8))
    flat = []
    for i, (point_id, curve) in enumerate(curves.groupby("point_id", sort=True)):
        color, line = (styles or {}).get(point_id, (PALETTE[i % len(PALETTE)], "-"))
        columns = {c: curve[c].to_numpy(dtype=float) for c in ("time", "survival", "low",
                                                                "high")}
        if horizon_years is not None and columns["time"][-1] < horizon_years:
            columns = {c: np.append(v, horizon_years if c == "time" else v[-1])
                       for c, v in columns.items()}
        label = labels.get(point_id, f"point {point_id}")
        if np.all(columns["survival"] >= 1.0):
            flat.append(point_id)
            label += " (no event: at 1.0)"
        ax.step(columns["time"], columns["survival"], where="post", color=color, lw=1.6,
                ls=line, label=label)
        ax.fill_between(columns["time"], columns["low"], columns["high"], step="post",
                        color=color, alpha=0.15, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, horizon_years)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"years since {since}")
    ax.set_ylabel(ylabel)
    note = "shaded: 95 % band"
    if len(flat) > 1:
        note += f"\n{len(flat)} curves overlap at 1.0"
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title=note)
    ax.set_title(title)
    return _finish(fig, path)


@styled
def plot_phase_diagram(points, x_key: str, y_key: str, path: str | Path | None = None,
                       x_label: str | None = None, y_label: str | None = None,
                       title: str = "") -> Figure:
    """Heatmaps of the dead share and the zombie share over a grid of two factors."""
    fig, axes = subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    xs = sorted(points[x_key].unique())
    ys = sorted(points[y_key].unique())
    for ax, name, cmap in ((axes[0], "dead", "Greys"), (axes[1], "zombie", "Oranges")):
        grid = points.pivot_table(index=y_key, columns=x_key, values=name, aggfunc="mean")
        grid = grid.reindex(index=ys, columns=xs)
        image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", cmap=cmap, vmin=0,
                          vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if value > 0.55 else "black")
        ax.set_xticks(range(len(xs)), [_tick(v) for v in xs], fontsize=8)
        ax.set_yticks(range(len(ys)), [_tick(v) for v in ys], fontsize=8)
        ax.set_xlabel(x_label or x_key)
        ax.set_ylabel(y_label or y_key)
        ax.set_title(f"{name} share", fontsize=10)
        fig.colorbar(image, ax=ax, label=f"share of runs {name}", shrink=0.9)
    suptitle(fig, title)
    return _finish(fig, path)


def _tick(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


@styled
def plot_sobol(indices, path: str | Path | None = None, title: str = "") -> Figure:
    """First-order and total Sobol indices per factor (bars with their intervals), one panel per
    output; factors sorted by total index on the first output."""
    outputs = list(dict.fromkeys(indices["output"]))
    first = indices[indices["output"] == outputs[0]].sort_values("ST")
    order = list(first["factor"])
    fig, axes = subplots(1, len(outputs), figsize=(4.2 * len(outputs) + 2.5,
                                                        1.2 + 0.42 * len(order)),
                             sharey=True, layout="constrained", squeeze=False)
    y = np.arange(len(order))
    for ax, output in zip(axes[0], outputs, strict=True):
        part = indices[indices["output"] == output].set_index("factor").loc[order]
        ax.barh(y + 0.2, part["ST"], 0.38, xerr=part["ST_conf"], color="#7570b3",
                label="total (ST)", error_kw={"lw": 1, "capsize": 2})
        ax.barh(y - 0.2, part["S1"], 0.38, xerr=part["S1_conf"], color="#1b9e77",
                label="first order (S1)", error_kw={"lw": 1, "capsize": 2})
        ax.axvline(0, color="black", lw=0.8)
        if not np.any(np.abs(part[["S1", "ST"]].to_numpy(dtype=float)) > 1e-9):
            ax.set_xlim(-0.05, 1.0)
            ax.text(0.5, 0.5, f"no index: the {output} output\ndoes not vary over these runs",
                    ha="center", va="center", transform=ax.transAxes, color="#555555")
            ax.set_title(output)
            ax.set_xlabel("Sobol index (share of variance)")
            continue
        ax.set_xlim(min(-0.05, float(np.nanmin(part["S1"] - part["S1_conf"])) - 0.02),
                    max(1.0, float(np.nanmax(part["ST"] + part["ST_conf"])) + 0.02))
        ax.set_title(output, fontsize=10)
        ax.set_xlabel("Sobol index (share of variance)")
    axes[0][0].set_yticks(y, order, fontsize=8)
    axes[0][-1].legend(loc="lower right", fontsize=8)
    suptitle(fig, title)
    return _finish(fig, path)


@styled
def plot_tornado(effects, path: str | Path | None = None, title: str = "") -> Figure:
    """One-at-a-time effects on the dead and zombie shares: per factor, bars from the base
    point's share to the share at each level tried (labelled), widest effect on top."""
    fig, axes = subplots(1, 2, figsize=(12, 1.6 + 0.5 * effects["factor"].nunique()),
                             layout="constrained", sharey=True)
    spans = effects.groupby("factor")["dead_change"].agg(lambda c: c.max() - c.min())
    order = list(spans.sort_values().index)
    for ax, name in zip(axes, ("dead", "zombie"), strict=True):
        base = float((effects[name] - effects[f"{name}_change"]).iloc[0])
        for i, factor in enumerate(order):
            part = effects[effects["factor"] == factor].sort_values("level")
            height = 0.8 / len(part)
            for j, (_, row) in enumerate(part.iterrows()):
                y = i - 0.4 + height * (j + 0.5)
                change = row[f"{name}_change"]
                color = "#377eb8" if row["level"] < row["base"] else "#e41a1c"
                ax.barh(y, change, left=base, color=color, alpha=0.85, height=0.9 * height)
                ax.text(base + change, y, f" {_tick(row['level'])} ", va="center",
                        ha="left" if change >= 0 else "right", fontsize=7)
        ax.axvline(base, color="black", lw=1)
        ax.set_yticks(range(len(order)), order, fontsize=8)
        ax.set_xlabel(f"share of runs {name} (line: base point)")
        ax.set_title(f"{name} share", fontsize=10)
        ax.set_xlim(-0.12, 1.12)
    axes[1].legend(handles=[Patch(color="#377eb8", alpha=0.8, label="below the base value"),
                            Patch(color="#e41a1c", alpha=0.8, label="above the base value")],
                   loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    suptitle(fig, title)
    return _finish(fig, path)
