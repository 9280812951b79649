"""Figures: the picture of one run (and, later, of experiments)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from sim import rules
from sim.params import Scenario
from sim.trajectory import Trajectory

STATE_COLORS = {"alive": "#4daf4a", "zombie": "#ff7f00", "dead": "#222222"}
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
           "#666666", "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6"]


def member_colors(scenario: Scenario) -> list[str]:
    """Each member's colour: its own if set, else from a fixed palette by position."""
    return [m.color or PALETTE[i % len(PALETTE)] for i, m in enumerate(scenario.members)]


def member_names(scenario: Scenario) -> list[str]:
    return [m.name or m.code for m in scenario.members]


def plot_run(trajectory: Trajectory, scenario: Scenario, path: str | Path | None = None,
             title: str | None = None) -> plt.Figure:
    """Engagement per member, activity with the chair's terms shaded, the state band, events."""
    t_run = trajectory.quarters_run
    start = scenario.start_quarter / rules.QUARTERS_PER_YEAR
    years = start + np.arange(t_run) * rules.QUARTER
    colors = member_colors(scenario)
    names = member_names(scenario)
    s = {name: trajectory.upto(name) for name in trajectory.series}
    fig, (ax_e, ax_a, ax_s) = plt.subplots(
        3, 1, figsize=(12, 7.2), sharex=True, gridspec_kw={"height_ratios": [3, 2.2, 0.45]},
        layout="constrained")

    # Engagement per member, with exits and rival-bloc joins marked
    for i, (name, color) in enumerate(zip(names, colors, strict=True)):
        engagement = np.where(s["status"][:, i] == rules.ACTIVE, s["engagement"][:, i], np.nan)
        ax_e.plot(years, engagement, color=color, lw=1.8, label=name)
        crisis = s["crisis"][:, i] & (s["status"][:, i] == rules.ACTIVE)
        ax_e.scatter(years[crisis], np.full(crisis.sum(), -0.04 - 0.025 * i), marker="s",
                     s=6, color=color, linewidths=0)
        status = s["status"][:, i]
        exited = np.flatnonzero((status == rules.EXITED)
                                & (np.r_[rules.PENDING, status[:-1]] != rules.EXITED))
        ax_e.scatter(years[exited], s["engagement"][np.maximum(exited - 1, 0), i], marker="X",
                     s=90, color=color, edgecolor="black", zorder=6)
        joined = np.flatnonzero(np.diff(s["in_rival"][:, i].astype(int),
                                        prepend=int(trajectory.rival_at_start[i])) == 1)
        ax_e.scatter(years[joined], s["engagement"][joined, i], marker="D", s=55, color=color,
                     edgecolor="black", zorder=5)
    _shade_global_crises(ax_e, years, s["global_crisis"])
    ax_e.set_ylim(-0.04 - 0.025 * len(names) - 0.02, 1.02)
    ax_e.set_ylabel("engagement (0–1)")
    handles, labels = ax_e.get_legend_handles_labels()
    handles += [plt.Line2D([], [], marker="X", ls="", color="grey", mec="black", ms=9),
                plt.Line2D([], [], marker="D", ls="", color="grey", mec="black", ms=7),
                plt.Line2D([], [], marker="s", ls="", color="grey", ms=4)]
    labels += ["leaves the group", f"joins {scenario.world.rival_name}", "domestic crisis"]
    ax_e.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
                frameon=False)

    # Activity: outputs per quarter, chair terms shaded in the chair's colour
    for t in range(t_run):
        chair = s["chair"][t]
        color = colors[chair] if chair != rules.VACANT else "#bbbbbb"
        ax_a.axvspan(years[t] - 0.125, years[t] + 0.125, color=color, alpha=0.18, lw=0,
                     hatch=None if chair != rules.VACANT else "///")
    ax_a.bar(years, s["outputs"], width=0.2, color="#333333", label="joint outputs")
    ax_a.plot(years, s["activity_rate"], color="#e41a1c", lw=1.2, label="expected outputs")
    base = scenario.group.base_rate * scenario.group.zombie_threshold
    ax_a.axhline(base, color=STATE_COLORS["zombie"], ls=":", lw=1.2,
                 label=f"zombie line ({scenario.group.zombie_window}-quarter mean)")
    ax_a.set_ylabel("outputs per quarter")
    chair_handles = [Patch(color=c, alpha=0.3, label=f"{n} chairs")
                     for n, c in zip(names, colors, strict=True)]
    chair_handles.append(Patch(facecolor="#bbbbbb", alpha=0.3, hatch="///", label="vacant"))
    ax_a.legend(handles=ax_a.get_legend_handles_labels()[0] + chair_handles, fontsize=7,
                loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    _mark_events(ax_a, scenario, years, t_run)

    # State band
    for t in range(t_run):
        ax_s.axvspan(years[t] - 0.125, years[t] + 0.125,
                     color=STATE_COLORS[rules.STATE_NAMES[s["state"][t]]], lw=0)
    ax_s.set_yticks([])
    ax_s.set_ylabel("state", rotation=0, ha="right", va="center")
    ax_s.legend(handles=[Patch(color=c, label=n) for n, c in STATE_COLORS.items()],
                loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax_s.set_xlabel("year")
    ax_s.set_xlim(start - 0.25, start + trajectory.quarters * rules.QUARTER)

    from sim.outcomes import summarize

    summary = summarize(trajectory)
    text = summary["outcome"].upper()
    if summary["death_quarter"] is not None:
        text += (f" in {scenario.quarter_label(summary['death_quarter'])}"
                 f" ({summary['death_cause']})")
    fig.suptitle(title or f"{scenario.title} — seed {trajectory.seed}: {text}", fontsize=11)
    if path is not None:
        fig.savefig(path, dpi=150)
        plt.close(fig)
    return fig


def _shade_global_crises(ax, years, flags) -> None:
    for t in np.flatnonzero(flags):
        ax.axvspan(years[t] - 0.125, years[t] + 0.125, color="#984ea3", alpha=0.08, lw=0)


def _mark_events(ax, scenario: Scenario, years, t_run: int) -> None:
    """Dated events of the scenario as labelled ticks at the top of the axis."""
    top = ax.get_ylim()[1]
    for event in scenario.events:
        q = scenario.quarter_index(event.date)
        if q >= t_run:
            continue
        label = {"budget": f"{event.member} budget ×{event.factor:g}",
                 "attention": f"{event.member} attention ×{event.factor:g}",
                 "crisis": f"{event.member} crisis",
                 "rival_invite": f"{scenario.world.rival_name} invites {event.member}",
                 "rival_round": f"{scenario.world.rival_name} expands",
                 "global_crisis": "global crisis"}[event.kind]
        ax.axvline(years[q], color="#555555", lw=0.8, ls="--")
        ax.text(years[q], top, " " + label, rotation=90, va="top", ha="right", fontsize=7,
                color="#555555")
