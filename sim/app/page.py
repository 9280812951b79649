"""The teaching page: the story (`sim.app.story`) on one screen of a classroom projector, served
by `solara run sim.app.page:Page` (`minilat app`).

The page is laid out for 1024 x 768 and larger screens without scrolling: the clock and the
time controls along the top, the levers on the left, and beside them the group's state, the
changes and the levers in force, each run's chart, the member ministries, the odds over many
seeds and the story's log. Every text is at least 14 px.

Mesa's own page (SolaraViz) puts its machinery on the screen (play and render intervals in
milliseconds and steps, threads, a step counter) and cannot show a control's value as the run
has it; this page is built from Solara's components over the same Mesa model instead, and
counts time in the model's quarters.
"""

from __future__ import annotations

import time

import solara
import solara.lab

from sim.app.levers import opening_values
from sim.app.panels import CSS, LeverPanel, fresh_controls, settled, story_params
from sim.app.story import TeachingModel, parse_go_to, session_model
from sim.app.views import StoryView
from sim.errors import UserError

TITLE = "Minilateral groups: alive, zombie or dead"
SPEEDS = {"1 quarter a second": 1, "2 quarters a second": 2, "1 year a second": 4,
          "2 years a second": 8}  # quarters a second while playing: a pace a class can follow
DEFAULT_SPEED = "1 year a second"


@solara.component
def Page():
    """The page; each browser session gets a story of its own."""
    opening = solara.use_memo(opening_values, [])
    first = solara.use_memo(lambda: session_model(opening), [])
    model = solara.use_reactive(first)
    # use_reactive follows its argument from render to render: each starts from a memo
    opened = solara.use_memo(lambda: fresh_controls(opening), [])
    controls = solara.use_reactive(opened)
    applied = solara.use_reactive(opened)  # the controls the story was built with
    tick = solara.use_reactive(0)  # counts the updates: the story's views follow it
    forced = solara.use_reactive(solara.use_memo(
        lambda: first.in_force() if first.runs else {}, []))
    playing = solara.use_reactive(False)

    def show(story: TeachingModel) -> None:
        """Show `story` as it now stands (after a step, a jump or a new story)."""
        if story is not model.value:
            playing.set(False)
            model.set(story)
        forced.set(story.in_force() if story.runs else {})
        tick.set(tick.value + 1)

    def reset() -> None:
        """Build the story from the controls: going on with what was moved, or anew."""
        settle = settled(controls.value)
        controls.set(settle)
        applied.set(settle)
        show(type(model.value)(**story_params(settle)))

    def switch(scenario: str) -> None:
        """Open another scenario at its own values, from its start."""
        fresh = {**fresh_controls(opening_values(scenario, controls.value["seed"])),
                 "compare": controls.value["compare"]}
        controls.set(fresh)
        applied.set(fresh)
        show(type(model.value)(**{**story_params(fresh), "from_now": False}))

    solara.Title(TITLE)
    solara.Style(CSS)
    with solara.Div(classes=["minilat-page"]):
        TimeControls(model.value, tick.value, playing, show, reset)
        LeverPanel(model.value, controls, applied.value, forced.value, switch)
        StoryView(model.value, tick.value)


@solara.component
def TimeControls(model: TeachingModel, tick: int, playing: solara.Reactive[bool], show,
                 reset):
    """The clock and the controls of time, in quarters: Reset, a quarter on, play and pause at
    a pace a class can follow, go to a quarter, run to the end."""
    speed = solara.use_reactive(DEFAULT_SPEED)
    target = solara.use_reactive("")
    notice = solara.use_reactive("")
    over = not model.running or not model.runs

    def play() -> None:
        while playing.value and model.running:
            started = time.monotonic()
            model.step()
            show(model)
            time.sleep(max(0.0, 1 / SPEEDS[speed.value] - (time.monotonic() - started)))
        playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value, model])

    def step() -> None:
        notice.set("")
        model.step()
        show(model)

    def go(text: str) -> None:
        try:
            quarters = parse_go_to(text, model.runs[0].scenario)
        except UserError as exc:
            notice.set(str(exc))
            return
        if quarters < model.quarters_run:
            notice.set(f"{text.strip()} is already shown: Reset starts the story over.")
            return
        notice.set("")
        model.go_to(quarters)
        show(model)

    def to_the_end() -> None:
        notice.set("")
        model.run_to_end()
        show(model)

    with solara.Div(classes=["minilat-header"]):
        date, _, detail = model.clock().partition(" · ")
        solara.HTML(tag="div", classes=["minilat-clock"], unsafe_innerHTML=(
            f"{date}<span class='minilat-clock-detail'>{detail}</span>"))
        solara.Button("Reset", on_click=reset, color="primary",
                      classes=["minilat-reset"])
        solara.Button("Step a quarter", on_click=step, disabled=over or playing.value,
                      color="primary", classes=["minilat-step"])
        solara.Button("Pause" if playing.value else "Play",
                      on_click=lambda: playing.set(not playing.value), disabled=over,
                      color="primary", classes=["minilat-play"])
        solara.Select("", values=list(SPEEDS), value=speed, dense=True,
                      classes=["minilat-speed"])
        solara.InputText("Go to quarter", value=target, on_value=go, classes=["minilat-goto"])
        solara.Button("Go", on_click=lambda: go(target.value), disabled=over or playing.value,
                      classes=["minilat-go"])
        solara.Button("Run to the end", on_click=to_the_end, disabled=over or playing.value,
                      classes=["minilat-end"])
        if notice.value:
            solara.Text(notice.value, classes=["minilat-notice"])
