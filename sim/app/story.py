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

import time
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import mesa
import numpy as np

from sim.app.levers import (
    SCENARIO_ENV,
    SEED_ENV,
    InForce,
    in_force,
    lever_changes,
    opening_values,
    parse_more,
)
from sim.errors import InputError, UserError
from sim.model import rules
from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import MinilateralModel
from sim.model.params import Key, Scenario
from sim.model.quarters import parse_date
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.trajectory import Trajectory
from sim.reporting.narrative import headline

__all__ = ["SCENARIO_ENV", "SEED_ENV", "TeachingModel", "lever_changes", "opening_values",
           "session_model"]

MAX_SEED = 2**63 - 1
MAX_YEARS = 60
ODDS_RUNS = 300  # seeds the odds panel runs of each arm, from the story's seed on


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
        self.runs.append(Run("with the changes" if compare or self.changes else "as it stands",
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
        self.runs.append(Run(f"with the change from {when}",
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

    @property
    def quarters_run(self) -> int:
        """Quarters shown so far (the story's first run; a run that died stops earlier)."""
        return max((run.trajectory.quarters_run for run in self.runs), default=0)

    @property
    def horizon(self) -> int:
        return self.runs[0].model.horizon if self.runs else 0

    def go_to(self, quarters: int) -> None:
        """Step until `quarters` quarters have been shown, or the story ends."""
        while self.running and self.quarters_run < quarters:
            self.step()

    def run_to_end(self) -> None:
        """Step to the horizon, or until every run has died."""
        self.go_to(self.horizon)

    def in_force(self) -> dict[str, InForce]:
        """The levers in force in the story's first run from its next quarter on."""
        run = self.runs[0]
        return in_force(run.scenario, min(run.trajectory.quarters_run, self.horizon - 1))

    def clock(self) -> str:
        """Where the story stands, for the page's header: '2029 Q4 · quarter 64 of 120'."""
        if not self.runs:
            return ""
        s = self.runs[0].scenario
        shown = self.quarters_run
        if shown == 0:
            return f"{quarter_date(s, 0)} · not started"
        return f"{quarter_date(s, shown - 1)} · quarter {shown} of {self.horizon}"


def quarter_date(s: Scenario, quarter: int) -> str:
    """A quarter index as the page writes it: '2029 Q4'."""
    return s.quarter_label(quarter).replace("Q", " Q")


def parse_go_to(text: str, s: Scenario) -> int:
    """The "go to quarter" box's text ('2029 Q4', '2029q4' or a year, '2031', for its last
    quarter) as the number of quarters to have shown; an `InputError` says what is allowed."""
    first, last = quarter_date(s, 0), quarter_date(s, s.quarters - 1)
    allowed = f"a quarter from {first} to {last}, such as {quarter_date(s, 63)}, or a year."
    raw = str(text or "").strip()
    try:
        absolute = parse_date(raw.replace(" ", ""))
    except ValueError:
        raise InputError("go to quarter box", "is not a quarter.", key="quarter", value=raw,
                         allowed=allowed) from None
    if raw.replace(" ", "").isdigit():
        absolute += rules.QUARTERS_PER_YEAR - 1  # a year: to its last quarter
    index = absolute - s.start_quarter
    if not 0 <= index < s.quarters:
        raise InputError("go to quarter box", "is outside the run.", key="quarter", value=raw,
                         allowed=allowed)
    return index + 1


@dataclass(frozen=True)
class Banner:
    """A run's state in a few words, for its banner."""

    state: str  # not-started, alive, zombie, dead: the banner's colour
    title: str  # NOT STARTED, ALIVE, ZOMBIE since 2029 Q2, DEAD in 2033 Q2
    detail: str  # the apex level and its last meeting, the chair, the members active


def banner(run: Run) -> Banner:
    """The run's state after its last quarter shown; before the first, only its start."""
    t, s = run.trajectory, run.scenario
    if t.quarters_run == 0:
        return Banner("not-started", "NOT STARTED",
                      f"Step, Play or Go to runs it from {quarter_date(s, 0)}")
    line = headline(t, s)
    last = t.quarters_run - 1
    level = rules.LEVEL_NAMES[int(t.apex[last])]
    since = int(t.since_apex[last])
    met = ("met this quarter" if since == 0 else
           f"last met {since} quarter{'s' if since != 1 else ''} ago")
    chair = int(t.chair[last])
    who = "chair vacant" if chair == rules.VACANT else (
        f"chair: {s.members[chair].name or s.members[chair].code}")
    return Banner(line.state, line.title, " · ".join(
        [f"{level.capitalize()} {met}", who, f"{int(t.active_members[last])} members active"]))


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


_UNSET = object()


def session_model(opening: dict[str, Any]) -> TeachingModel:
    """A page session's model, of a class of its own: Mesa's Reset builds the next model from
    the class, and the class keeps the session's last model for it to go on from."""
    session = type("TeachingSession", (TeachingModel,), {"previous": None})
    return session(**opening)


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
    shares = tuple(state_shares(scenario, seeds) for _, scenario in arms)
    return RunOdds(seeds, tuple(label for label, _ in arms), shares,
                   arms[0][1].start_quarter / rules.QUARTERS_PER_YEAR,
                   time.perf_counter() - started)


@lru_cache(maxsize=32)
def state_shares(scenario: Scenario, seeds: tuple[int, ...]) -> np.ndarray:
    """(quarters, 3): the shares of the runs of `scenario` on `seeds` alive, zombie and dead
    in each quarter. Kept for the server's life: the scenario as it stands, the arm a class
    compares with, is computed once for each seed and horizon."""
    batch = run_batch([scenario] * len(seeds), list(seeds), record_series=True)
    states = np.full((len(seeds), scenario.quarters), rules.DEAD)
    for r, trajectory in enumerate(batch.trajectories):
        states[r, :trajectory.quarters_run] = trajectory.upto("state")
    shares = np.stack([(states == code).mean(axis=0)
                       for code in (rules.ALIVE, rules.ZOMBIE, rules.DEAD)], axis=1)
    shares.flags.writeable = False  # shared by every story that asks for it
    return shares


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




def odds_rows(odds: RunOdds, scenario: Scenario
              ) -> tuple[str, list[tuple[str, dict[str, float]]]]:
    """The odds at the horizon as a table: its date, and each arm's shares in % by state."""
    last = len(odds.shares[0]) - 1
    return quarter_date(scenario, last), [
        (label, {name: 100 * share for name, share in odds.at(arm, last).items()})
        for arm, label in enumerate(odds.labels)]
