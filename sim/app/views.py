"""The story as the class sees it: each run's state, what is in force, each run's chart, the
member ministries, the odds over many seeds and the log, redrawn every quarter shown."""

from __future__ import annotations

import html

import solara
import solara.lab

from sim.app.charts import OddsChart, RunChart
from sim.app.levers import change_items, shown
from sim.app.panels import (
    CHART_HEIGHT,
    CHART_WIDTH,
    NOT_STARTED,
    ODDS_HEIGHT,
    RING_HEIGHT,
    SIDE_WIDTH,
)
from sim.app.ring import ring_svg
from sim.app.story import TeachingModel, banner, odds_rows
from sim.app.story_log import story_logs
from sim.reporting.figures import STATE_COLORS


@solara.component
def StoryView(model: TeachingModel, tick: int):
    """Everything the class watches, for the story as it stands after `tick` updates."""
    runs = len(model.runs)
    with solara.Div(classes=["minilat-main", "minilat-compare" if runs > 1
                             else "minilat-single"]):
        if model.error:
            solara.Error(f"Not run: {model.error} Change the input and press Reset.",
                         classes=["minilat-error"])
            return
        Banners(model)
        InForceView(model)
        with solara.Div(classes=["minilat-charts"]):
            for run in model.runs:
                if run.chart is None:
                    run.chart = RunChart(run, CHART_WIDTH, CHART_HEIGHT[runs],
                                         run.label if runs > 1 else "")
                solara.Image(run.chart.png())
        with solara.Div(classes=["minilat-side"]):
            Rings(model)
            OddsView(model, model.quarters_run)
        LogView(model, tick)
        # drawn last: a mark that the views above show the quarters run (tests wait on it)
        solara.HTML(tag="span", classes=["minilat-drawn"], attributes={
            "data-quarters": str(model.quarters_run), "data-tick": str(tick)})


def Banners(model: TeachingModel):
    """Each run's state: NOT STARTED, ALIVE, ZOMBIE since … or DEAD in …, with its detail."""
    with solara.Div(classes=["minilat-banners"]):
        for run in model.runs:
            b = banner(run)
            color = STATE_COLORS.get(b.state, NOT_STARTED)
            label = (f"<span class='minilat-banner-label'>{html.escape(run.label)}</span>"
                     if len(model.runs) > 1 else "")
            solara.HTML(tag="div", classes=["minilat-banner"], style={"background": color},
                        attributes={"data-state": b.state}, unsafe_innerHTML=(
                            f"{label}<span class='minilat-banner-title'>{html.escape(b.title)}"
                            f"</span><span class='minilat-banner-detail'>"
                            f"{html.escape(b.detail)}</span>"))


def InForceView(model: TeachingModel):
    """The heading of the class's changes and every lever in force from the next quarter."""
    name = model.runs[0].scenario.name
    items = change_items(model.changes)
    if items:
        changes = "; ".join(
            f"<span class='minilat-change' data-key='{html.escape(i.key)}' data-value="
            f"'{html.escape(shown(i.value))}' data-date='{i.date}'>{html.escape(str(i))}</span>"
            for i in items)
        heading = f"Changes from {html.escape(name)}: {changes}."
    else:
        heading = f"No changes: {html.escape(name)} as it stands."
    forced = model.in_force()
    force = " · ".join(
        f"<span class='minilat-in-force-item' data-lever='{n}' data-value='{shown(f.value)}'"
        f" data-since='{f.since}'>{html.escape(str(f))}</span>" for n, f in forced.items())
    solara.HTML(tag="div", classes=["minilat-force"], unsafe_innerHTML=(
        f"<div class='minilat-changes'>{heading}</div><div class='minilat-in-force'>"
        f"<b>In force (seed {model.seed}):</b> {force}</div>"))


def Rings(model: TeachingModel):
    """The member ministries of each run, as a ring around the group."""
    runs = len(model.runs)
    rival = model.runs[0].scenario.world.rival_name
    with solara.Div(classes=["minilat-rings"]):
        for run in model.runs:
            if runs > 1:
                solara.Text(run.label, classes=["minilat-ring-label"])
            solara.HTML(tag="div", classes=["minilat-ring"], unsafe_innerHTML=ring_svg(
                run.model, SIDE_WIDTH, RING_HEIGHT[runs], rival, short=runs > 1))
        solara.HTML(tag="div", classes=["minilat-ring-legend"], unsafe_innerHTML=(
            "Disc: budget · fill: engagement · <b style='color:#b8860b'>★</b> chair · "
            f"red ring: crisis · ◆ in {html.escape(rival)} · ✕ left"))


@solara.component
def OddsView(model: TeachingModel, quarter: int):
    """How often: the shares alive, zombie and dead over many seeds, per arm, computed in the
    background when the story is built."""
    task = solara.lab.use_task(lambda: model.odds, dependencies=[model])
    with solara.Div(classes=["minilat-odds"]):
        if not task.finished or task.value is None:
            solara.Text("The odds over 300 seeds: computing…", classes=["minilat-odds-wait"])
            return
        odds = task.value
        if model.odds_chart is None:
            model.odds_chart = OddsChart(odds, SIDE_WIDTH, ODDS_HEIGHT[len(odds.shares)],
                                         tuple(short_label(label) for label in odds.labels))
        solara.Text(f"The odds over {len(odds.seeds)} seeds ({odds.seeds[0]} to "
                    f"{odds.seeds[-1]})", style={"font-weight": "bold"})
        solara.Image(model.odds_chart.png(quarter))
        rows = odds_rows(odds, model.runs[0].scenario)
        body = "".join(
            f"<tr><td>{html.escape(short_label(label))}</td>" + "".join(
                f"<td style='color:{STATE_COLORS[k]}'>{v:.1f} %</td>" for k, v in shares.items())
            + "</tr>" for label, shares in rows[1])
        solara.HTML(tag="table", classes=["minilat-odds-summary"], unsafe_innerHTML=(
            f"<tr><th>in {rows[0]}</th><th>alive</th><th>zombie</th><th>dead</th></tr>{body}"))


@solara.component
def LogView(model: TeachingModel, tick: int):
    """The story's log, newest first: the group's events, and on request every member's."""
    routine = solara.use_reactive(False)
    tags = ("with the change", "without it") if len(model.runs) > 1 else ("",)
    entries = story_logs([(run.trajectory, run.scenario) for run in model.runs], tags,
                         routine.value)
    items = "".join(
        f'<li class="minilat-event minilat-{e.kind}" title="{html.escape(e.note)}">'
        + (f"<span class='minilat-tag'>{html.escape(tag)}:</span> " if tag else "")
        + f"<b>{e.date}</b> — {html.escape(e.text)}</li>" for e, tag in reversed(entries))
    with solara.Div(classes=["minilat-logbox"]):
        with solara.Div(classes=["minilat-log-head"]):
            solara.Text(f"The story so far ({len(entries)} events, newest first)")
            solara.Checkbox(label="every member's routine", value=routine)
        solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["minilat-log"])


def short_label(label: str) -> str:
    """An arm's name short enough for the odds table's first column."""
    for start, short in (("without", "without it"), ("with the change ", "with it"),
                         ("with the changes", "changed"), ("the scenario", "unchanged")):
        if label.startswith(start):
            return short
    return label
