"""The teaching page: Mesa's SolaraViz over the model, with the levers a class argues about.

`minilat app` serves it (`serve`: `solara run sim.app:Page`). The page shows each run's state
as a banner, per-member engagement, joint outputs with the chair's terms shaded, and the event
log.
With "compare" on, a second model of the scenario as it stands, with the same seed (the same
shocks), is stepped in lockstep beside the changed one, so the class sees what the change alone
did.

A lever moved after the story has started applies from the current quarter when Reset is
pressed ("from the current quarter" on): the story goes on from one shared past, and with
"compare" on its twin branches there and goes on without the change. Reset with nothing moved,
or with another scenario, seed or horizon, starts over.
"""

from __future__ import annotations

import html
import os
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from io import BytesIO
from typing import Any

import mesa
import numpy as np
import PIL.Image
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.errors import InputError, UserError, format_value
from sim.model import rules
from sim.model.keys import parse_assignments, spec_of
from sim.model.mesa_engine import MinilateralModel
from sim.model.params import Key, Scenario
from sim.model.quarters import parse_date
from sim.model.scenario_files import builtin_names, load_scenario, with_overrides
from sim.model.trajectory import Trajectory
from sim.reporting.figures import STATE_COLORS, member_colors, member_names
from sim.reporting.narrative import event_log, headline

with warnings.catch_warnings():
    # Solara's hook checker flags a hook in Mesa's own page code; not ours to fix.
    warnings.filterwarnings("ignore", message=".*use_state.*found despite early return")
    from mesa.visualization import SolaraViz, solara_viz
# Served on http from 127.0.0.1, Solara warns on every page load that it cannot set a
# cross-site cookie; the page needs none. `serve` silences it in the server's process only.
QUIET_SERVER = "ignore:Cookies with samesite=none require https"

SCENARIO_ENV = "MINILAT_APP_SCENARIO"  # the scenario the page opens with (`minilat app NAME`)
SEED_ENV = "MINILAT_APP_SEED"
MAX_SEED = 2**63 - 1
MAX_YEARS = 60
FIGURE_WIDTH, FIGURE_HEIGHT, FIGURE_DPI = 13.0, 5.0, 80  # inches; the runs share the width
ODDS_HEIGHT = 2.6  # inches
ODDS_RUNS = 300  # seeds the odds panel runs of each arm, from the story's seed on
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


@dataclass(frozen=True)
class Lever:
    """A control of the page: the dotted key it sets and the slider's range and step."""

    key: str
    label: str
    low: float = 0
    high: float = 1
    step: float = 0.05
    also: tuple[str, ...] = ()  # keys set to the same value when the lever moves

    @property
    def unit(self) -> str:
        return spec_of(self.key)[1].unit


LEVERS = {
    # the drift the class sets holds for the whole run, also after a trend the sources date
    "budget_trend": Lever("members.*.budget_trend", "Budget trend", -0.3, 0.3, 0.01,
                          also=("members.*.budget_trend_after",)),
    "crisis_rate": Lever("members.*.crisis_rate", "Domestic crises", 0, 2, 0.05),
    "rival_pull": Lever("world.rival_pull", "Rival bloc pull", 0, 5, 0.1),
    "secretariat": Lever("group.secretariat", "Secretariat"),
    "treaty": Lever("group.treaty", "Treaty"),
    "agenda_breadth": Lever("group.agenda_breadth", "Agenda breadth", 1, 20, 1),
    "chair_boost": Lever("group.chair_boost", "Chair boost"),
    "standby": Lever("group.standby", "Standby floor", 0, 0.6),
    "secretariat_floor": Lever("group.secretariat_floor", "Secretariat outputs", 0, 3, 0.1),
}


@dataclass
class Run:
    """One of the page's runs: what it shows as its name, its model, and its chart."""

    label: str
    model: MinilateralModel
    chart: RunChart | None = None

    @property
    def trajectory(self) -> Trajectory:
        return self.model.trajectory

    @property
    def scenario(self) -> Scenario:
        return self.model.scenario


class TeachingModel(mesa.Model):
    """The page's model: the scenario as the class changed it and, to compare, as it stands.

    A lever left at None, or at its value in `neutral` (where the page's control opened), keeps
    the scenario's own values; a lever moved sets its key for the whole group. `more` takes
    further `--set` assignments, separated by ';'. Input the scenario's validation refuses
    leaves the model with no runs and the message in `error`: the page shows it.
    """

    previous: TeachingModel | None = None  # a session's model a Reset replaces (`session_model`)

    def __init__(
        self,
        scenario: str = "mikta",
        seed: int | str = 0,
        years: int | None = None,
        budget_trend: float | None = None,
        crisis_rate: float | None = None,
        rival_pull: float | None = None,
        secretariat: bool | None = None,
        treaty: bool | None = None,
        agenda_breadth: int | None = None,
        chair_boost: float | None = None,
        standby: float | None = None,
        secretariat_floor: float | None = None,
        more: str = "",
        compare: bool = False,
        from_now: bool = True,
        neutral: dict[str, Any] | None = None,
        story: TeachingModel | None = None,
    ):
        super().__init__(rng=0)  # the runs draw from their own tapes, never from this
        levers = {"budget_trend": budget_trend, "crisis_rate": crisis_rate,
                  "rival_pull": rival_pull, "secretariat": secretariat, "treaty": treaty,
                  "agenda_breadth": agenda_breadth, "chair_boost": chair_boost,
                  "standby": standby, "secretariat_floor": secretariat_floor}
        neutral = neutral or {}
        story = story if story is not None else type(self).previous
        if type(self) is not TeachingModel:
            type(self).previous = self  # the next Reset of this session continues this story
        self.error = ""
        self.without: tuple[str, Scenario] | None = None  # the arm without the class's change
        self.odds_chart: OddsChart | None = None  # drawn by the page's odds panel
        self.runs: list[Run] = []
        self.changes: dict[str, Any] = {}  # what the banner lists; a dated key from its quarter
        self.requested: dict[str, Any] = {}  # the levers and the box as they stand
        self.story_key = (scenario, str(seed).strip(), years, compare)  # what makes it one story
        try:
            self.seed = parse_seed(seed)
            horizon = None if years is None or years == neutral.get("years") else years
            unchanged = load_scenario(scenario, years=horizon)
            self.requested = {**lever_changes(levers, neutral), **parse_more(more)}
            self.changes = dict(self.requested)
            changed = with_overrides(unchanged, self.changes) if self.changes else unchanged
            going_on = story if from_now and self._goes_on(story) else None
            if going_on is not None:
                branch = self._from_now(going_on, unchanged)
        except UserError as exc:
            self.error = str(exc)
            self.running = False
            return
        if going_on is not None and branch is not None:
            return self._branch(going_on, *branch, compare)
        if self.changes:
            self.without = ("the scenario unchanged", unchanged)
        self.runs.append(Run("with the changes" if compare else changed.title,
                             MinilateralModel(changed, self.seed)))
        if compare:
            self.runs.append(Run("the scenario unchanged", MinilateralModel(unchanged, self.seed)))

    def _goes_on(self, story: TeachingModel | None) -> bool:
        """Whether `story` is this model's story, under way and not over."""
        if story is None or story.error or not story.runs or story.story_key != self.story_key:
            return False
        first = story.runs[0]
        return 0 < first.trajectory.quarters_run < first.model.horizon and first.model.running

    def _from_now(self, story: TeachingModel, unchanged: Scenario
                  ) -> tuple[Scenario, dict[str, Any]] | None:
        """The story's scenario with what was moved since, from its next quarter on; None if
        nothing was moved."""
        quarter = story.runs[0].trajectory.quarters_run
        date = story.runs[0].scenario.quarter_label(quarter)
        moved = {key: value for key, value in self.requested.items()
                 if story.requested.get(key, _UNSET) != value}
        for key in story.requested.keys() - self.requested.keys():  # moved back: as it stands
            parsed = Key.parse(key.partition("@")[0])
            if parsed.section == "members" and parsed.member == "*":
                for member, value in zip(unchanged.codes, parsed.values_in(unchanged),
                                         strict=True):
                    moved[f"members.{member}.{parsed.field}"] = value
            else:
                moved[parsed.text] = parsed.values_in(unchanged)[0]
        dated = {f"{key}@{date}": value for key, value in moved.items() if "@" not in key}
        typed = {key: value for key, value in moved.items() if "@" in key}
        if any(parse_date(key.rpartition("@")[2]) < parse_date(date) for key in typed):
            return None  # a change typed for a quarter already shown rewrites the past
        dated.update(typed)
        if not dated:
            return None
        return with_overrides(story.runs[0].scenario, dated), dated

    def _branch(self, story: TeachingModel, scenario: Scenario, dated: dict[str, Any],
                compare: bool) -> None:
        """Go on with the story from its next quarter: the runs replay the shared past (the
        same seed, the same draws), then branch."""
        quarter = story.runs[0].trajectory.quarters_run
        when = story.runs[0].scenario.quarter_label(quarter).replace("Q", " Q")
        self.changes = {**story.changes, **dated}
        self.without = (f"without the change from {when}", story.runs[0].scenario)
        self.runs.append(Run(f"with the change from {when}" if compare else scenario.title,
                             MinilateralModel(scenario, self.seed)))
        if compare:
            self.runs.append(Run(f"without the change from {when}",
                                 MinilateralModel(story.runs[0].scenario, self.seed)))
        for _ in range(quarter):
            self.step()

    @property
    def arms(self) -> list[tuple[str, Scenario]]:
        """What the odds panel compares: each run's scenario, and the scenario without the
        class's change when only the changed run is shown."""
        if len(self.runs) == 1 and self.without is not None:
            return [("with the changes", self.runs[0].scenario), self.without]
        return [(run.label, run.scenario) for run in self.runs]

    @cached_property
    def odds(self) -> RunOdds:
        """The shares alive, zombie and dead quarter by quarter over `ODDS_RUNS` seeds from the
        story's own, for each arm; computed once."""
        return odds_of(self.arms, self.seed)

    def step(self) -> None:
        """One quarter of every run still going."""
        for run in self.runs:
            if run.model.running:
                run.model.step()
        self.running = any(run.model.running for run in self.runs)


def parse_seed(seed: int | str) -> int:
    """The seed box's text as a seed, or an `InputError` saying what is allowed."""
    allowed = f"a whole number from 0 to {MAX_SEED}."
    text = str(seed).strip()
    try:
        value = int(text)
    except ValueError:
        raise InputError("seed box", "is not a whole number.", key="seed", value=text,
                         allowed=allowed) from None
    if not 0 <= value <= MAX_SEED:
        raise InputError("seed box", "is out of range.", key="seed", value=value,
                         allowed=allowed)
    return value


def lever_changes(levers: dict[str, Any], neutral: dict[str, Any]) -> dict[str, Any]:
    """Dotted-key overrides of the levers that were moved.

    A slider snaps a value that is not on its steps (a scenario's 0.408 on steps of 0.05) to
    the nearest step, so any value within half a step of the neutral one counts as unmoved.
    """
    changes = {}
    for name, value in levers.items():
        lever = LEVERS[name]
        if value is None:
            continue
        if isinstance(value, bool) or name not in neutral:
            moved = value != neutral.get(name)
        else:
            moved = abs(value - neutral[name]) >= lever.step / 2
        if moved:
            for key in (lever.key, *lever.also):
                changes[key] = round(value, 6) if isinstance(value, float) else value
    return changes


def parse_more(text: str) -> dict[str, Any]:
    """'KEY=VALUE; KEY=VALUE' as typed in the page's box, as overrides."""
    items = [item.strip() for item in str(text or "").replace("\n", ";").split(";")]
    return parse_assignments([item for item in items if item])


_UNSET = object()


def session_model(opening: dict[str, Any]) -> TeachingModel:
    """A page session's model, of a class of its own: Mesa's Reset builds the next model from
    the class, and the class keeps the session's last model for it to go on from."""
    session = type("TeachingSession", (TeachingModel,), {"previous": None})
    return session(**opening)


def describe_changes(changes: dict[str, Any]) -> str:
    """The changes in force, in the page's words; a change at a date says from when."""
    labels = {lever.key: lever.label for lever in LEVERS.values()}
    companions = {(key, date) for lever in LEVERS.values() for changed in changes
                  if changed.partition("@")[0] == lever.key
                  for key, date in [(k, changed.partition("@")[2]) for k in lever.also]}
    parts = []
    for key, value in changes.items():
        name, _, date = key.partition("@")
        if (name, date) in companions:
            continue
        when = f" from {date.replace('Q', ' Q')}" if date else ""
        parts.append(f"{labels.get(name, name)} = {format_value(value)}{when}")
    return "; ".join(parts)


@dataclass(frozen=True)
class RunOdds:
    """Shares of runs alive, zombie and dead in each quarter, per arm, over the same seeds."""

    seeds: tuple[int, ...]  # the story's seed first
    labels: tuple[str, ...]
    shares: tuple[np.ndarray, ...]  # per arm, (quarters, 3): alive, zombie, dead
    start_year: float
    seconds: float

    def at(self, arm: int, quarter: int) -> dict[str, float]:
        return dict(zip(("alive", "zombie", "dead"), self.shares[arm][quarter].tolist(),
                        strict=True))


def odds_of(arms: list[tuple[str, Scenario]], seed: int, runs: int = ODDS_RUNS) -> RunOdds:
    """Each arm on the same `runs` seeds from `seed` on (the fast engine, common random
    numbers): the share of runs in each state, quarter by quarter (a run that died stays
    dead)."""
    import time

    from sim.model.fast_engine import run_batch

    started = time.perf_counter()
    seeds = tuple((seed + i) % (MAX_SEED + 1) for i in range(runs))
    shares = []
    for _, scenario in arms:
        batch = run_batch([scenario] * runs, list(seeds), record_series=True)
        states = np.full((runs, scenario.quarters), rules.DEAD)
        for r, trajectory in enumerate(batch.trajectories):
            states[r, :trajectory.quarters_run] = trajectory.upto("state")
        shares.append(np.stack([(states == code).mean(axis=0)
                                for code in (rules.ALIVE, rules.ZOMBIE, rules.DEAD)], axis=1))
    return RunOdds(seeds, tuple(label for label, _ in arms), tuple(shares),
                arms[0][1].start_quarter / rules.QUARTERS_PER_YEAR,
                time.perf_counter() - started)


def odds_summary(odds: RunOdds, scenario: Scenario) -> str:
    """The odds at the horizon in words, arm by arm."""
    last = len(odds.shares[0]) - 1
    parts = []
    for arm, label in enumerate(odds.labels):
        shares = odds.at(arm, last)
        parts.append(f"{label}: " + " · ".join(f"{name} {100 * share:.1f} %"
                                                for name, share in shares.items()))
    return (f"At the horizon ({scenario.quarter_label(last).replace('Q', ' Q')}), over "
            f"{len(odds.seeds)} seeds: " + "; ".join(parts) + ".")


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
        image = BytesIO()
        PIL.Image.fromarray(np.asarray(self.canvas.buffer_rgba())).save(
            image, format="png", compress_level=1)
        self.shown = (quarter, image.getvalue())
        return self.shown[1]


def levers_in_force(s: Scenario) -> str:
    """Every lever's value in a scenario; for member keys, the common value and exceptions."""
    parts = []
    for lever in LEVERS.values():
        value = _value_in(s, lever.key)
        text = format_value(value) if isinstance(value, bool) else f"{value:g}"
        section, *_, name = lever.key.split(".")
        if section == "members":
            others = [f"{m.name or m.code} {getattr(m, name):g}" for m in s.members
                      if getattr(m, name) != value]
            text += f" ({', '.join(others)})" if others else ""
        parts.append(f"{lever.label}: {text}")
    return " · ".join(parts)


# ------------------------------------------------------------------------------ the controls


def opening_values(scenario: str | None = None, seed: int | str | None = None) -> dict[str, Any]:
    """The values the page's controls open with: the opening scenario's own."""
    name = scenario or os.environ.get(SCENARIO_ENV, "mikta")
    s = load_scenario(name)
    values: dict[str, Any] = {"scenario": name,
                              "seed": str(seed if seed is not None
                                          else os.environ.get(SEED_ENV, "1")),
                              "years": s.years}
    for lever_name, lever in LEVERS.items():
        values[lever_name] = _value_in(s, lever.key)
    values["more"] = ""
    values["compare"] = False
    values["from_now"] = True
    values["neutral"] = {k: v for k, v in values.items() if k in LEVERS or k == "years"}
    return values


def _value_in(s: Scenario, key: str) -> Any:
    """A key's value in a scenario; for a member key, the value most members have."""
    return Counter(Key.parse(key).values_in(s)).most_common(1)[0][0]


def model_params(opening: dict[str, Any]) -> dict[str, Any]:
    """SolaraViz's controls (in the order shown) and the fixed `neutral` values."""
    choices = builtin_names()
    if opening["scenario"] not in choices:
        choices.append(opening["scenario"])
    params: dict[str, Any] = {
        "scenario": {"type": "Select", "value": opening["scenario"], "values": choices,
                     "label": "Scenario"},
        "seed": {"type": "InputText", "value": opening["seed"],
                 "label": "Seed (the same seed, the same shocks)"},
        "years": {"type": "SliderInt", "value": opening["years"], "min": 1, "max": MAX_YEARS,
                  "step": 1, "label": "Years"},
    }
    for name, lever in LEVERS.items():
        kind, _ = spec_of(lever.key)
        if kind is bool:
            params[name] = {"type": "Checkbox", "value": opening[name], "label": lever.label}
        else:
            unit = f"{lever.unit} · " if lever.unit else ""
            params[name] = {"type": "SliderInt" if kind is int else "SliderFloat",
                            "value": opening[name], "min": lever.low, "max": lever.high,
                            "step": lever.step, "label": lever.label,
                            "caption": f"{unit}scenario: {opening[name]:g}"}
    params["more"] = {"type": "InputText", "value": opening["more"],
                      "label": "More changes: KEY=VALUE; KEY=VALUE"}
    params["compare"] = {"type": "Checkbox", "value": opening["compare"],
                         "label": "Compare with the unchanged scenario"}
    params["from_now"] = {"type": "Checkbox", "value": opening["from_now"],
                          "label": "Reset applies moved levers from the current quarter"}
    params["neutral"] = opening["neutral"]
    return params


# ------------------------------------------------------------------------------ what it shows


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
        image = BytesIO()
        PIL.Image.fromarray(np.asarray(self.canvas.buffer_rgba())).save(
            image, format="png", compress_level=1)
        self.shown = (trajectory.quarters_run, image.getvalue())
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
        repeats = np.flatnonzero(rules.chair_repeats(record["chair"], record["new_term"]))
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



def serve(scenario: str = "mikta", *, host: str = "127.0.0.1", port: int = 8765, seed: int = 1,
          announce: Callable[[str], None] = print) -> None:
    """Serve the page with Solara until Ctrl+C or SIGTERM; `announce` its address once up."""
    import errno
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    load_scenario(scenario)  # a bad name or file is reported here, not in the page
    if scenario not in builtin_names():
        scenario = str(Path(scenario).resolve())
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UserError(f"--host {host}: not an address of this machine ({reason}). Allowed: "
                        "127.0.0.1 (this machine only), 0.0.0.0 (every interface) or a "
                        "name or address that resolves here.") from None
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            hint = ("Choose another --port." if exc.errno in (errno.EADDRINUSE, errno.EACCES)
                    else "Choose another --host.")
            raise UserError(f"--host {host} --port {port}: cannot serve there "
                            f"({exc.strerror}). {hint}") from None
    env = {**os.environ, SCENARIO_ENV: scenario, SEED_ENV: str(seed),
           "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                     QUIET_SERVER]))}
    server = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", "sim.app:Page", "--host", host, "--port",
         str(port), "--production", "--no-open", "--log-level", "warning"], env=env)
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    address = f"http://{f'[{local}]' if ':' in local else local}:{port}/"
    try:
        deadline = time.monotonic() + 120
        while server.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(address, timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        if server.poll() is None:
            shown = address if local == host else (
                f"{address} (served on every interface: from other machines, use this "
                "machine's address)")
            announce(f"The teaching page is at {shown} — Ctrl+C stops it.")
        code = server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        announce("stopped")
        return
    if code not in (0, -signal.SIGTERM):
        raise UserError(f"the page's server stopped with exit code {code}.")
