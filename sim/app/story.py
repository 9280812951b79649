"""The story the teaching page tells: the scenario as the class changed it and, to compare, as it
stands, stepped quarter by quarter, with the levers a class argues about and the odds over many
seeds. Nothing here draws or serves: `sim.app.charts` draws, `sim.app.page` shows.

With "compare" on, a second model of the scenario as it stands, with the same seed (the same
shocks), is stepped in lockstep beside the changed one, so the class sees what the change alone
did.

A lever moved after the story has started applies from the current quarter when Reset is
pressed ("from the current quarter" on): the story goes on from one shared past, and with
"compare" on its twin branches there and goes on without the change. Reset with nothing moved,
or with another scenario, seed or horizon, starts over.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import mesa
import numpy as np

from sim.errors import InputError, UserError, format_value
from sim.model import rules
from sim.model.fast_engine import run_batch
from sim.model.keys import parse_assignments, spec_of
from sim.model.mesa_engine import MinilateralModel
from sim.model.params import Key, Scenario
from sim.model.quarters import parse_date
from sim.model.scenario_files import builtin_names, load_scenario, with_overrides
from sim.model.trajectory import Trajectory

SCENARIO_ENV = "MINILAT_APP_SCENARIO"  # the scenario the page opens with (`minilat app NAME`)
SEED_ENV = "MINILAT_APP_SEED"
MAX_SEED = 2**63 - 1
MAX_YEARS = 60
ODDS_RUNS = 300  # seeds the odds panel runs of each arm, from the story's seed on


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
    """One of the story's runs: what it shows as its name, its model, and the page's chart of
    it (kept with the run, so that each step draws only what is new)."""

    label: str
    model: MinilateralModel
    chart: Any = None

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
        self.odds_chart: Any = None  # the page's chart of the odds, drawn once
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
