"""The Mesa engine: a minilateral group of member foreign ministries, quarter by quarter.

This is the reference engine: readable and inspectable quarter by quarter, used for single runs
and the teaching page. One step is one quarter: the phases of `sim.model.phases.PHASES` in
order, a member phase acted by every agent (`MemberMinistry.act`), a group phase by the model
(`MinilateralModel.act`). Members
decide simultaneously: each member phase reads the group as it stood when the phase began.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import mesa
import numpy as np

from sim.model import phases, rules
from sim.model.agents import MEMBER_NAMES, MemberMinistry, as_scalar
from sim.model.calendar import Calendar, calendar_for
from sim.model.params import (
    GroupParams,
    MemberParams,
    Scenario,
    WorldParams,
    mechanism_codes,
    numeric_fields,
)
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.schedule import chained, segments
from sim.model.tape import checked_seed, draw_tape
from sim.model.trajectory import Trajectory

MODEL_REPORTERS = ("quarter", "outputs", "outputs_officials", "outputs_ministers",
                   "outputs_leaders", "visibility", "mean_engagement", "apex", "since_apex",
                   "state_name", "chair_code", "active_members")
AGENT_REPORTERS = ("code", "engagement", "budget", "enthusiasm", "crisis", "in_rival")
GROUP_NAMES = frozenset(v.name for v in phases.GROUP_STATE)


class GroupState:
    """The state as one group phase sees it: the group's variables, and the members' as (N,)
    arrays in member order (gathered from the agents once per phase)."""

    __slots__ = ("_members", "_model")

    def __init__(self, model: MinilateralModel):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_members", {})

    def __getattr__(self, name: str):
        if name in MEMBER_NAMES:
            if name not in self._members:
                self._members[name] = np.array(
                    [getattr(m, name) for m in self._model.member_list],
                    dtype=phases.VARIABLES[name].dtype)
            return self._members[name]
        if name.endswith("_history") and name[:-len("_history")] in phases.HISTORIES:
            return self._model.trajectory.series[name[:-len("_history")]]
        return getattr(self._model, name)

    def __setattr__(self, name: str, value) -> None:
        if name in MEMBER_NAMES:
            values = np.broadcast_to(value, (len(self._model.member_list),))
            self._members[name] = values
            for member, one in zip(self._model.member_list, values.tolist(), strict=True):
                setattr(member, name, as_scalar(name, one))
        elif name in GROUP_NAMES:
            setattr(self._model, name, as_scalar(name, value))
        else:
            raise AttributeError(f"{name!r} is not a state variable")


class QuarterInputs:
    """The exogenous inputs of the model's current quarter: the group's, or one member's."""

    __slots__ = ("_columns", "_model")

    def __init__(self, columns: Mapping[str, np.ndarray], model: MinilateralModel):
        self._columns, self._model = columns, model  # input name -> values over quarters

    def __getattr__(self, name: str):
        return self._columns[name][self._model.quarter]


def scenario_parameters(scenario: Scenario, calendar: Calendar):
    """`phases.run_parameters` of one run: group values as scalars, member values as (N,)."""
    group = {name: getattr(scenario.group, name) for name in numeric_fields(GroupParams)}
    group.update({name: getattr(scenario.world, name) for name in numeric_fields(WorldParams)})
    group.update(mechanism_codes(scenario))
    member = {name: np.array(scenario.member_values(name))
              for name in numeric_fields(MemberParams)}
    return phases.run_parameters(group, member, calendar.dated.joins_at, scenario.chair_rotation,
                                 calendar.dated.trend_until)


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
        seed = checked_seed(seed, "MinilateralModel")  # 1.7 is no seed, not seed 1
        if activation_seed is not None:
            activation_seed = checked_seed(activation_seed, "MinilateralModel")
        super().__init__(rng=seed if activation_seed is None else activation_seed)
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, overrides, years)
        elif overrides or years is not None:
            scenario = with_overrides(scenario, overrides, years)
        self.scenario = scenario
        self.seed = seed
        self.horizon = scenario.quarters
        tape = draw_tape(seed, self.horizon, len(scenario.members))
        stretches = [(q, s) for q, s in segments(scenario) if q < self.horizon]

        def stretch(in_force: Scenario):
            calendar = calendar_for(in_force, tape)
            params = scenario_parameters(in_force, calendar)
            return params, phases.exogenous_inputs(tape, calendar, params)

        # a change at a date: the parameters from its quarter on (sim.model.schedule)
        self.run_params, self.inputs, self.later = chained(stretches, stretch)
        for variable in phases.GROUP_STATE:
            setattr(self, variable.name,
                    as_scalar(variable.name, variable.initial_value(self.run_params)))
        self.member_list = [
            MemberMinistry(self, i, p, phases.member_parameters(self.run_params, i),
                           self.member_inputs(i))
            for i, p in enumerate(scenario.members)]
        self.members = self.agents_by_type[MemberMinistry]
        rival_at_start = np.array([m.in_rival for m in self.member_list])
        self.trajectory = Trajectory(seed, self.horizon, len(self.member_list), rival_at_start)
        self.quarter = -1
        self.death_cause = rules.NO_CAUSE
        self._group_inputs = QuarterInputs(self.inputs, self)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: name for name in MODEL_REPORTERS},
            agent_reporters={name: name for name in AGENT_REPORTERS},
        ) if collect_data else None

    # ------------------------------------------------------------------ the quarter

    def step(self) -> None:
        """One quarter: every phase in order; a member phase by every agent."""
        self.quarter = self.steps - 1
        if self.quarter in self.later:
            self.adopt(*self.later[self.quarter])
        for phase in phases.PHASES:
            if phase.scope == phases.MEMBER:
                self.members.shuffle_do("act", phase)  # every member, in random order
            else:
                self.act(phase)
        if self.dead:  # death is absorbing: the run stops
            self.death_cause = self.cause
            self.running = False
        elif self.quarter + 1 >= self.horizon:
            self.running = False
        self.record()
        if self.datacollector is not None:
            self.datacollector.collect(self)

    def run(self) -> Trajectory:
        """Step until the group dies or the horizon is reached; return the record."""
        while self.running:
            self.step()
        return self.trajectory

    def adopt(self, in_force: Scenario, run_params) -> None:
        """From this quarter on, the parameters of a change at a date."""
        self.run_params = run_params
        for i, member in enumerate(self.member_list):
            member.params = in_force.members[i]
            member.run_params = phases.member_parameters(run_params, i)

    def member_inputs(self, index: int) -> QuarterInputs:
        """The inputs as member `index` reads them: its own column of member inputs."""
        return QuarterInputs({name: values[:, index] if phases.INPUTS[name] == phases.MEMBER
                              else values for name, values in self.inputs.items()}, self)

    def act(self, phase: phases.Phase) -> None:
        """Apply a group phase of the quarter."""
        state = GroupState(self)
        phase.apply(state, state, self.run_params, self._group_inputs)

    def record(self) -> None:
        t, record, now = self.quarter, self.trajectory, self._group_inputs
        for variable in phases.RECORDED_GROUP:
            record.series[variable.name][t] = (getattr(now, variable.name)
                                               if variable.source == "input"
                                               else getattr(self, variable.name))
        for variable in phases.RECORDED_MEMBER:
            record.series[variable.name][t] = (getattr(now, variable.name)
                                               if variable.source == "input"
                                               else [getattr(m, variable.name)
                                                     for m in self.member_list])
        record.quarters_run = t + 1
        record.death_cause = self.death_cause

    # ------------------------------------------------------------------ reporters

    @property
    def outputs_history(self) -> np.ndarray:
        return self.trajectory.series["outputs"]

    @property
    def global_crisis(self) -> bool:
        return bool(self.inputs["global_crisis"][max(self.quarter, 0)])

    @property
    def rival_round(self) -> bool:
        return bool(self.inputs["rival_round"][max(self.quarter, 0)])

    @property
    def new_term(self) -> bool:
        return bool(self.inputs["new_term"][max(self.quarter, 0)])

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
