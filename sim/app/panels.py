"""The teaching page's panels: the levers, and the story as the class sees it (the runs' state,
what is in force, the charts, the member ministries, the odds and the log).

Sizes are in pixels for a projector of 1024 x 768: each chart is drawn at the size of its
place on the page, so that nothing is scaled down and no text is under 14 px.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import solara
import solara.lab

from sim.app.levers import (
    LEVERS,
    InForce,
    caption,
    lever_changes,
    opening_values,
    shown,
)
from sim.app.story import MAX_YEARS, TeachingModel, quarter_date
from sim.model.scenario_files import builtin_names, load_scenario

# Pixel sizes of the page's parts at 1024 x 768; CSS below lays them out.
LEVERS_WIDTH = 236
SIDE_WIDTH = 232
CHART_WIDTH = 524
CHART_HEIGHT = {1: 330, 2: 172}  # by the number of runs shown
RING_HEIGHT = {1: 236, 2: 150}
ODDS_HEIGHT = {1: 170, 2: 124}
NOT_STARTED = "#757575"
SEED_LABEL = "Seed (same seed, same shocks)"

CSS = f"""
html, body {{ overflow: hidden; }}
.minilat-page {{ position: fixed; inset: 0; display: grid; gap: 8px; padding: 8px;
  grid-template-columns: {LEVERS_WIDTH}px minmax(0, 1fr);
  grid-template-rows: auto minmax(0, 1fr); font-size: 16px; line-height: 1.3;
  background: white; z-index: 5; }}
.minilat-header {{ grid-column: 1 / 3; display: flex; align-items: center; gap: 8px;
  flex-wrap: wrap; min-height: 40px; }}
.minilat-clock {{ font-size: 22px; font-weight: bold; width: {LEVERS_WIDTH}px; }}
.minilat-clock-detail {{ font-size: 15px; font-weight: normal; margin-left: 6px; }}
.minilat-header .v-btn {{ font-size: 15px; letter-spacing: 0; text-transform: none;
  padding: 0 10px !important; }}
.minilat-header .v-input {{ margin: 0; padding: 0; flex: 0 0 auto; }}
.minilat-speed {{ width: 142px; }}
.minilat-goto {{ width: 124px; }}
.minilat-header .v-select__selection, .minilat-header input {{ font-size: 15px; }}
.v-label {{ font-size: 16px !important; }}
.v-label--active {{ transform: translateY(-16px) scale(0.875) !important; }}
.v-messages, .v-text-field__details {{ display: none !important; }}
.minilat-notice {{ color: #b71c1c; font-size: 15px; flex-basis: 100%; }}
.minilat-levers {{ overflow-y: auto; min-height: 0; padding-right: 6px; }}
.minilat-title {{ font-weight: bold; font-size: 17px; margin-bottom: 6px; }}
.minilat-lever {{ margin: 2px 0 4px 0; }}
.minilat-lever .v-input {{ margin-top: 0; padding-top: 0; }}
.minilat-lever .v-label {{ display: none; }}
.minilat-levers .v-input--checkbox {{ margin: 2px 0; padding: 0; }}
.minilat-lever-head {{ display: flex; justify-content: space-between; font-size: 16px; }}
.minilat-pending .minilat-lever-value {{ color: #e65100; }}
.minilat-caption {{ font-size: 14px; color: #555; margin-top: 0; display: block; }}
.minilat-pending-slot {{ height: 58px; overflow-y: auto; font-size: 14px; margin-bottom: 4px; }}
.minilat-pending-line {{ color: #e65100; font-weight: bold; }}
.minilat-hint {{ color: #555; }}
.minilat-main {{ display: grid; gap: 6px; min-height: 0; min-width: 0;
  grid-template-columns: minmax(0, 1fr) {SIDE_WIDTH}px;
  grid-template-rows: auto auto minmax(0, 1fr) minmax(0, 0.68fr);
  grid-template-areas: "banner banner" "force force" "charts side" "log side"; }}
.minilat-compare.minilat-main {{ grid-template-rows: auto auto minmax(0, 1fr) minmax(0, 0.55fr);
  grid-template-areas: "banner banner" "force force" "charts rings" "log odds"; }}
.minilat-compare .minilat-side {{ display: contents; }}
.minilat-compare .minilat-rings {{ grid-area: rings; min-height: 0; }}
.minilat-compare .minilat-odds {{ grid-area: odds; }}
.minilat-compare .minilat-ring-legend {{ display: none; }}
.minilat-banners {{ grid-area: banner; display: flex; gap: 8px; }}
.minilat-banner {{ flex: 1 1 0; color: white; padding: 4px 12px; border-radius: 6px; }}
.minilat-banner-title {{ font-size: 20px; font-weight: bold; margin-right: 10px; }}
.minilat-banner-detail, .minilat-banner-label {{ font-size: 15px; }}
.minilat-banner-label {{ display: block; }}
.minilat-force {{ grid-area: force; font-size: 14px; }}
.minilat-changes {{ font-weight: bold; font-size: 15px; }}
.minilat-charts {{ grid-area: charts; display: flex; flex-direction: column; gap: 4px;
  min-height: 0; }}
.minilat-charts img {{ width: auto !important; height: auto !important; max-width: 100%;
  flex: none; align-self: flex-start; }}
.minilat-side {{ grid-area: side; display: flex; flex-direction: column; gap: 4px;
  min-height: 0; }}
.minilat-rings {{ display: flex; flex-direction: column; gap: 2px; }}
.minilat-ring-label, .minilat-ring-legend {{ font-size: 14px; }}
.minilat-ring-legend {{ color: #444; }}
.minilat-odds {{ font-size: 14px; display: flex; flex-direction: column; min-height: 0; }}
.minilat-odds img {{ width: {SIDE_WIDTH}px; }}
.minilat-odds table {{ border-collapse: collapse; font-size: 14px; }}
.minilat-odds td, .minilat-odds th {{ padding: 0 3px; text-align: right; font-weight: normal;
  white-space: nowrap; }}
.minilat-odds td:first-child, .minilat-odds th:first-child {{ text-align: left; }}
.minilat-logbox {{ grid-area: log; display: flex; flex-direction: column; min-height: 0; }}
.minilat-log-head {{ display: flex; gap: 12px; align-items: center; font-weight: bold;
  font-size: 15px; }}
.minilat-log-head .v-input {{ margin: 0; padding: 0; }}
.minilat-log {{ overflow-y: auto; list-style: none; padding-left: 0 !important; margin: 0;
  font-size: 14px; min-height: 0; flex: 1 1 0; }}
.minilat-log .minilat-policy, .minilat-log .minilat-group {{ font-weight: bold; }}
.minilat-log .minilat-scenario, .minilat-log .minilat-world {{ color: #6a3d9a; }}
.minilat-log .minilat-tag {{ color: #e65100; font-weight: bold; }}
.minilat-error {{ grid-column: 1 / 3; font-size: 16px; }}
"""


def fresh_controls(opening: dict[str, Any]) -> dict[str, Any]:
    """The controls as a scenario opens: every lever at the scenario's own values (None)."""
    controls = {key: opening[key] for key in ("scenario", "seed", "years", "more", "compare",
                                              "from_now")}
    return {**controls, **dict.fromkeys(LEVERS)}


@lru_cache(maxsize=16)
def neutral_of(scenario: str) -> dict[str, Any]:
    """Where a scenario's controls open: its own values."""
    return opening_values(scenario)["neutral"]


def settled(controls: dict[str, Any]) -> dict[str, Any]:
    """The controls with each lever that is where the scenario has it back at None, so that
    a slider snapped near the scenario's value shows the value in force."""
    neutral = neutral_of(controls["scenario"])
    return {**controls, **{name: None for name in LEVERS
                           if controls[name] is not None
                           and not lever_changes({name: controls[name]}, neutral)}}


def story_params(controls: dict[str, Any]) -> dict[str, Any]:
    """The story's arguments from the controls."""
    return {**controls, "neutral": neutral_of(controls["scenario"])}


def moved_levers(controls: dict[str, Any], applied: dict[str, Any],
                 forced: dict[str, InForce]) -> dict[str, Any]:
    """The levers moved since the story was built, away from the value in force."""
    return {name: controls[name] for name in LEVERS
            if controls[name] is not None and controls[name] != applied[name]
            and name in forced and lever_changes({name: controls[name]},
                                                 {name: forced[name].value})}


def pending(controls: dict[str, Any], applied: dict[str, Any],
            forced: dict[str, InForce]) -> list[str]:
    """The controls moved since the story was built, in words: what Reset will apply."""
    labels = {"seed": "Seed", "years": "Years", "more": "More changes",
              "compare": "Compare", "from_now": "From the current quarter"}
    moved = [f"{label} {shown(controls[key])}" for key, label in labels.items()
             if controls[key] != applied[key]]
    return moved + [f"{LEVERS[name].label} {shown(value)}"
                    for name, value in moved_levers(controls, applied, forced).items()]


@solara.component
def LeverPanel(model: TeachingModel, controls: solara.Reactive[dict], applied: dict[str, Any],
               forced: dict[str, InForce], on_switch):
    """The scenario, the seed, the horizon and the levers; a lever shows the value in force
    until it is moved, then the value Reset will apply."""
    c = controls.value
    s = load_scenario(c["scenario"])

    def set_control(key: str, value: Any) -> None:
        controls.set({**controls.value, key: value})

    with solara.Div(classes=["minilat-levers"]):
        solara.Text("Minilateral groups: alive, zombie or dead", classes=["minilat-title"])
        words = pending(c, applied, forced)
        with solara.Div(classes=["minilat-pending-slot"]):  # one height: nothing jumps
            if words:
                going_on = c["from_now"] and model.quarters_run > 0 and model.running
                when = (f" from {quarter_date(model.runs[0].scenario, model.quarters_run)}"
                        if going_on else "")
                solara.Text(f"Reset applies{when}: {'; '.join(words)}.",
                            classes=["minilat-pending-line"])
            else:
                solara.Text("Move a lever, then press Reset.", classes=["minilat-hint"])
        choices = builtin_names()
        if c["scenario"] not in choices:
            choices.append(c["scenario"])
        solara.Select("Scenario", values=choices, value=c["scenario"], on_value=on_switch,
                      dense=True)
        solara.InputText(SEED_LABEL, value=c["seed"], on_value=lambda v: set_control("seed", v))
        solara.Checkbox(label="Compare with the unchanged scenario", value=c["compare"],
                        on_value=lambda v: set_control("compare", v))
        solara.Checkbox(label="Reset applies moved levers from the current quarter",
                        value=c["from_now"], on_value=lambda v: set_control("from_now", v))
        moved = moved_levers(c, applied, forced)
        for name, lever in LEVERS.items():
            in_force = forced[name].value if name in forced else None
            value = in_force if c[name] is None else c[name]

            def move(v, name=name, in_force=in_force):
                if c[name] is None and in_force is not None and not lever_changes(
                        {name: v}, {name: in_force}):
                    return  # the slider snapping the value in force to its step
                set_control(name, v)

            if lever.is_switch:
                solara.Checkbox(label=lever.label, value=bool(value), on_value=move)
            else:
                Lever(name, lever.label, value, value, lever.low, lever.high, lever.step,
                      lever.is_whole, caption(name, s), name in moved, move)
        Lever("years", "Years", c["years"], c["years"], 1, MAX_YEARS, 1, True,
              f"the horizon · scenario: {s.years}", c["years"] != applied["years"],
              lambda v: set_control("years", int(v)))
        solara.InputText("More changes: KEY=VALUE; KEY=VALUE", value=c["more"],
                         on_value=lambda v: set_control("more", v))


@solara.component
def Lever(name: str, label: str, value: Any, position: float, low: float, high: float,
          step: float, whole: bool, note: str, moving: bool, on_value):
    """A slider under its label and value, with its unit and the scenario's value below."""
    with solara.Div(classes=["minilat-lever"] + (["minilat-pending"] if moving else [])):
        solara.HTML(tag="div", classes=["minilat-lever-head"], unsafe_innerHTML=(
            f"<span>{html.escape(label)}</span><b class='minilat-lever-value' "
            f"data-lever='{name}' data-value='{shown(value)}'>{shown(value)}</b>"))
        slider = solara.SliderInt if whole else solara.SliderFloat
        slider(label, value=position, min=low, max=high, step=step, on_value=on_value,
               thumb_label=False)
        solara.Text(note, classes=["minilat-caption"])
