"""The teaching page: Mesa's SolaraViz over the story (`sim.app.story`), with the levers a class
argues about, served by `solara run sim.app.page:Page` (`minilat app`).

The page shows each run's state as a banner, per-member engagement, joint outputs with the
chair's terms shaded, the odds over many seeds, and the event log.
"""

from __future__ import annotations

import html
import warnings
from typing import Any

import solara

from sim.app.charts import FIGURE_WIDTH, OddsChart, RunChart
from sim.app.story import (
    TeachingModel,
    describe_changes,
    levers_in_force,
    model_params,
    odds_summary,
    opening_values,
    session_model,
)
from sim.reporting.figures import STATE_COLORS
from sim.reporting.narrative import event_log, headline

with warnings.catch_warnings():
    # Solara's hook checker flags a hook in Mesa's own page code; not ours to fix.
    warnings.filterwarnings("ignore", message=".*use_state.*found despite early return")
    from mesa.visualization import SolaraViz, solara_viz

TITLE = "Minilateral groups: alive, zombie or dead"
ROWS = {"Banner": 5, "Charts": 12, "Odds": 10, "EventLog": 10}  # rows of 30 px (+ 10 px margins)
PAGE_CSS = """
.minilat-charts img { max-width: 100%; max-height: 460px; object-fit: contain; }
.minilat-log { max-height: 330px; overflow-y: auto; list-style: none; padding-left: 0;
               margin: 4px 0; font-size: 0.9em; }
.minilat-log .minilat-scenario, .minilat-log .minilat-world { color: #6a3d9a; }
.minilat-log .minilat-group { font-weight: bold; }
.minilat-odds img { max-width: 100%; max-height: 230px; object-fit: contain; }
"""


def Banner(model: TeachingModel):
    """Each run's state, ALIVE / ZOMBIE since … / DEAD in … of cause …, and the changes."""
    if model.error:
        return solara.Error(f"Not run: {model.error} Change the input and press Reset.",
                            classes=["minilat-error"])
    with solara.Column(gap="4px") as column:
        solara.Style(PAGE_CSS)
        with solara.Row(gap="10px"):
            for run in model.runs:
                line = headline(run.trajectory, run.scenario)
                style = {"background": STATE_COLORS[line.state], "color": "white",
                         "padding": "6px 14px", "border-radius": "6px", "flex": "1 1 0"}
                with solara.Div(classes=["minilat-banner"], style=style):
                    if len(model.runs) > 1:
                        solara.Text(run.label, style={"font-size": "0.85em", "display": "block"})
                    solara.Text(line.title, style={"font-size": "1.4em", "font-weight": "bold",
                                                   "display": "block"})
                    solara.Text(line.detail, style={"display": "block"})
        name = model.runs[0].scenario.name
        changes = describe_changes(model.changes)
        solara.Text(f"Changes from {name}: {changes}." if changes
                    else f"No changes: {name} as it stands."
                    + (" Both runs are the same until a lever is moved."
                       if len(model.runs) > 1 else ""),
                    classes=["minilat-changes"], style={"font-weight": "bold"})
        solara.Text(f"In force (seed {model.seed}): {levers_in_force(model.runs[0].scenario)}",
                    style={"font-size": "0.85em"})
    return column


def Charts(model: TeachingModel):
    """Engagement and joint outputs of each run, side by side."""
    if model.error:
        return solara.Text("")
    with solara.Row(gap="8px", classes=["minilat-charts"]) as row:
        for run in model.runs:
            if run.chart is None:
                run.chart = RunChart(run, FIGURE_WIDTH / len(model.runs))
            solara.Image(run.chart.png())
    return row


def EventLog(model: TeachingModel):
    """The event log of each run, newest first."""
    if model.error:
        return solara.Text("")
    with solara.Row(gap="16px", style={"align-items": "start"}) as row:
        for run in model.runs:
            entries = event_log(run.trajectory, run.scenario)
            items = "".join(
                f'<li class="minilat-event minilat-{e.kind}" title="{html.escape(e.note)}">'
                f"<b>{e.date}</b> — {html.escape(e.text)}</li>" for e in reversed(entries))
            heading = (f"Event log, {run.label} ({len(entries)} events, newest first)"
                       if len(model.runs) > 1 else f"Event log ({len(entries)} events, "
                       "newest first)")
            with solara.Column(gap="0px", style={"flex": "1 1 0", "min-width": "0"}):
                solara.Text(heading, style={"font-weight": "bold"})
                solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["minilat-log"])
    return row


def Odds(model: TeachingModel):
    """How often: the shares alive, zombie and dead by quarter over many seeds, per arm."""
    if model.error:
        return solara.Text("")
    odds = model.odds
    if model.odds_chart is None:
        model.odds_chart = OddsChart(odds)
    png = model.odds_chart.png(model.runs[0].trajectory.quarters_run)
    with solara.Column(gap="2px", classes=["minilat-odds"]) as column:
        solara.Text(f"The odds: the same levers over {len(odds.seeds)} seeds ({odds.seeds[0]} to "
                    f"{odds.seeds[-1]}), each arm on the same seeds; the story above is seed "
                    f"{odds.seeds[0]}, one of them.", style={"font-weight": "bold"})
        solara.Image(png)
        solara.Text(odds_summary(odds, model.runs[0].scenario),
                    classes=["minilat-odds-summary"])
    return column


@solara.component
def LeverInputs(user_params, on_change=None):
    """Mesa's model parameter inputs, with each slider's value always shown on its thumb."""
    for name, options in user_params.items():

        def change_handler(value, name=name):
            on_change(name, value)

        label = options.get("label", name)
        kind = options.get("type")
        if kind in ("SliderInt", "SliderFloat"):
            slider = solara.SliderInt if kind == "SliderInt" else solara.SliderFloat
            with solara.Column(gap="0px", style={"margin-top": "18px"}):
                slider(label, value=options.get("value"), on_value=change_handler,
                       min=options.get("min"), max=options.get("max"),
                       step=options.get("step"), thumb_label="always")
                if options.get("caption"):
                    solara.Text(options["caption"], classes=["minilat-caption"],
                                style={"font-size": "0.75em", "color": "#666",
                                       "margin-top": "-14px"})
        elif kind == "Select":
            solara.Select(label, value=options.get("value"), on_value=change_handler,
                          values=options.get("values"))
        elif kind == "Checkbox":
            solara.Checkbox(label=label, on_value=change_handler, value=options.get("value"))
        elif kind == "InputText":
            solara.InputText(label=label, on_value=change_handler, value=options.get("value"))
        else:
            raise ValueError(f"{kind} is not a supported input type")


@solara.component
def PageView(components, model):
    """The page's components in full-width rows, under one tab that names the model (Mesa's
    own view numbers its tabs, "Page 0")."""
    wrapped = [solara_viz._wrap_component(c[0] if isinstance(c, tuple) else c)
               for c in components]
    layout, set_layout = solara.use_state(full_width_layout(len(wrapped)))
    with solara.v.Tabs():
        solara.v.Tab(children=[TITLE])
    solara.GridDraggable(items=[c(model) for c in wrapped], grid_layout=layout,
                         resizable=True, draggable=True, on_grid_layout=set_layout)


def full_width_layout(num_components: int) -> list[dict[str, Any]]:
    """One full-width row per component, in order: banners, charts, event log."""
    heights = list(ROWS.values()) + [10] * max(0, num_components - len(ROWS))
    layout, y = [], 0
    for i in range(num_components):
        layout.append({"i": i, "w": 12, "h": heights[i], "moved": False, "x": 0, "y": y})
        y += heights[i]
    return layout


@solara.component
def Page():
    """The page; each browser session gets a model of its own."""
    # Mesa lays the components out two to a row under tabs named "Page 0", and its sliders show
    # their value only while dragged; a banner, wide charts, the odds and the log read better
    # in full-width rows under a tab named for the model, and a class needs every lever's value
    # in view. Mesa 3.3 looks these up when the page renders, so they are set here, in the
    # page's server, never by importing this module.
    solara_viz.make_initial_grid_layout = full_width_layout
    solara_viz.ComponentsView = PageView
    solara_viz.UserInputs = LeverInputs
    opening = solara.use_memo(opening_values, [])
    model = solara.use_memo(lambda: session_model(opening), [])
    solara.Title(TITLE)  # the browser's tab
    SolaraViz(model, components=[Banner, Charts, Odds, EventLog],
              model_params=model_params(opening), name=TITLE)
