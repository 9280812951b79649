"""The Mesa model of a minilateral group: members, the rotating chair, activity, outcomes.

This is the reference engine: readable and inspectable quarter by quarter, used for single runs
and the teaching page. One step is one quarter. Members decide simultaneously: the model first
takes a `GroupView` of the group as it stood, then every member acts on that view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from sim.model import rules
from sim.model.agents import MemberMinistry
from sim.model.calendar import Calendar, calendar_for
from sim.model.params import Scenario, load_scenario, with_overrides
from sim.model.tape import Shocks, draw_tape
from sim.model.trajectory import GROUP_SERIES, MEMBER_SERIES, Trajectory

MODEL_REPORTERS = ("quarter", "outputs", "visibility", "mean_engagement", "vitality",
                   "state_name", "chair_code", "active_members")
AGENT_REPORTERS = ("code", "engagement", "budget", "enthusiasm", "crisis", "in_rival")


@dataclass(frozen=True)
class GroupView:
    """The group as members see it when they decide, in one quarter."""

    active: np.ndarray  # (N,) members active this quarter
    n_active: int
    partners: np.ndarray  # (N,) reach-weighted engagement of each member's partners
    visibility: float  # as it stood at the end of last quarter
    chair: int  # index of the chair, or rules.VACANT
    chair_effort: float
    global_crisis: bool


class MinilateralModel(mesa.Model):
    """A minilateral group of member foreign ministries, quarter by quarter.

    Args:
        scenario: a built-in scenario name, a path to a scenario file, or a `Scenario`.
        seed: the run's seed; it alone fixes every random draw (via the random tape).
        years: horizon; default the scenario's.
        overrides: dotted-key overrides, as `--set` takes them.
        activation_seed: seed of the order in which agents act (default: `seed`). It cannot
            change the results; it is exposed to test exactly that.
        collect_data: also fill Mesa's DataCollector every quarter (for the app and
            `mesa.batch_run`); the run's own record is `trajectory` either way.
    """

    def __init__(
        self,
        scenario: str | Scenario = "mikta",
        seed: int = 0,
        years: int | None = None,
        overrides: Mapping[str, Any] | Iterable[str] | None = None,
        activation_seed: int | None = None,
        collect_data: bool = False,
    ):
        super().__init__(rng=seed if activation_seed is None else activation_seed)
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, overrides, years)
        elif overrides or years is not None:
            scenario = with_overrides(scenario, overrides, years)
        self.scenario = scenario
        self.seed = seed
        self.horizon = scenario.quarters
        tape = draw_tape(seed, self.horizon, len(scenario.members))
        self.shocks = Shocks.from_tape(tape)
        self.calendar: Calendar = calendar_for(scenario, tape)
        self.member_list = [MemberMinistry(self, i, p) for i, p in enumerate(scenario.members)]
        self.members = self.agents_by_type[MemberMinistry]
        self.rotation = np.array(scenario.chair_rotation)
        self.focus = rules.focus_factor(scenario.group.agenda_breadth,
                                        scenario.group.reference_breadth,
                                        scenario.group.focus_elasticity)
        rival_at_start = np.array([m.in_rival for m in self.member_list])
        self.trajectory = Trajectory(seed, self.horizon, len(self.member_list), rival_at_start)
        # Group state
        self.quarter = -1
        self.chair = rules.VACANT
        self.chair_pointer = 0
        self.new_term = False
        self.vacant_in_a_row = 0
        self.chair_effort = 0.0
        self.outputs = 0
        self.activity_rate = 0.0
        self.visibility = scenario.group.founding_visibility * scenario.group.base_rate
        self.mean_engagement = 0.0
        self.vitality = np.nan
        self.state = rules.ALIVE
        self.death_cause = rules.NO_CAUSE
        self.view: GroupView | None = None
        self.datacollector = mesa.DataCollector(
            model_reporters={name: name for name in MODEL_REPORTERS},
            agent_reporters={name: name for name in AGENT_REPORTERS},
        ) if collect_data else None

    # ------------------------------------------------------------------ the quarter

    def step(self) -> None:
        """One quarter."""
        self.quarter = self.steps - 1
        self.members.shuffle_do("face_circumstances")
        self.members.shuffle_do("consider_rival_bloc")
        self.view = self.view_of_the_group()
        self.members.shuffle_do("choose_engagement")
        self.produce_outputs()
        self.members.shuffle_do("consider_exit")
        self.assess_outcome()
        self.record()
        if self.datacollector is not None:
            self.datacollector.collect(self)

    def run(self) -> Trajectory:
        """Step until the group dies or the horizon is reached; return the record."""
        while self.running:
            self.step()
        return self.trajectory

    def view_of_the_group(self) -> GroupView:
        """M7 (the chair, at the start of a term) and what members see of each other."""
        g, t = self.scenario.group, self.quarter
        engagement = np.array([m.engagement for m in self.member_list])
        active = np.array([m.active for m in self.member_list])
        budget = np.array([m.budget for m in self.member_list])
        reach = np.array([m.params.reach for m in self.member_list])
        willingness = rules.chair_willingness(engagement, budget, g.chair_cost)
        self.new_term = bool(rules.is_term_start(t, g.chair_term))
        if self.new_term:
            chair, self.chair_pointer, vacant = rules.choose_chair(
                self.chair_pointer, willingness, active, self.rotation, g.chair_threshold,
                g.secretariat)
            self.chair = int(chair)
            self.vacant_in_a_row = int(rules.vacancies_in_a_row(self.vacant_in_a_row, True,
                                                                vacant))
        self.chair_effort = float(rules.chair_effort(self.chair, willingness, active,
                                                     g.secretariat, g.secretariat_support))
        return GroupView(
            active=active,
            n_active=int(active.sum()),
            partners=rules.partners_engagement(engagement, reach, active),
            visibility=self.visibility,
            chair=self.chair,
            chair_effort=self.chair_effort,
            global_crisis=bool(self.calendar.global_crisis[t]),
        )

    def produce_outputs(self) -> None:
        """M8: joint outputs this quarter, driven by the chair and the members' engagement."""
        g = self.scenario.group
        engagement = np.array([m.engagement for m in self.member_list])
        self.mean_engagement = float(rules.mean_engagement(engagement, self.view.active))
        self.activity_rate = float(rules.activity_rate(
            g.base_rate, self.focus, self.chair_effort, self.mean_engagement, g.reference_drive,
            g.secretariat, g.secretariat_floor))
        self.outputs = int(rules.joint_outputs(self.shocks.activity[self.quarter],
                                               self.activity_rate))
        self.visibility = float(rules.visibility_step(self.visibility, self.outputs,
                                                      g.visibility_smoothing))

    def assess_outcome(self) -> None:
        """Alive, zombie or dead (absorbing: the run stops)."""
        g, t = self.scenario.group, self.quarter
        dead, cause = rules.death(self.active_members, g.min_members, self.vacant_in_a_row,
                                  g.vacancy_limit)
        first = max(0, t - g.zombie_window + 1)
        in_window = int(self.trajectory.outputs[first:t].sum()) + self.outputs
        window_full = t + 1 >= g.zombie_window
        self.vitality = (float(rules.vitality(in_window, g.zombie_window, g.base_rate))
                         if window_full else np.nan)
        self.state = int(rules.group_state(dead, self.vitality, window_full,
                                           g.zombie_threshold))
        if dead:
            self.death_cause = int(cause)
            self.running = False
        elif t + 1 >= self.horizon:
            self.running = False

    def record(self) -> None:
        t, record = self.quarter, self.trajectory
        for name in GROUP_SERIES:
            record.series[name][t] = getattr(self, name)
        for name in MEMBER_SERIES:
            record.series[name][t] = [getattr(m, name) for m in self.member_list]
        record.quarters_run = t + 1
        record.death_cause = self.death_cause

    # ------------------------------------------------------------------ reporters

    @property
    def active_members(self) -> int:
        return sum(m.active for m in self.member_list)

    @property
    def global_crisis(self) -> bool:
        return bool(self.calendar.global_crisis[max(self.quarter, 0)])

    @property
    def rival_round(self) -> bool:
        return bool(self.calendar.rival_round[max(self.quarter, 0)])

    @property
    def state_name(self) -> str:
        return rules.STATE_NAMES[self.state]

    @property
    def chair_code(self) -> str:
        return self.scenario.codes[self.chair] if self.chair != rules.VACANT else ""


def run(scenario: str | Scenario = "mikta", seed: int = 0, years: int | None = None,
        overrides: Mapping[str, Any] | Iterable[str] | None = None) -> Trajectory:
    """One run of the Mesa engine; the record of every quarter."""
    return MinilateralModel(scenario, seed, years, overrides).run()
