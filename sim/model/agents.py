"""The member foreign ministry: one Mesa agent per member of the group.

`act(phase)` applies a member phase of `sim.model.phases.PHASES` to this member alone: the
agent's attributes are its member state variables, which the phase reads and writes, beside the
group's as the model holds them. An agent reads only its own state, the group's as it stood when the
phase began and the run's inputs, so the order in which agents are activated never changes the
result.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import mesa

from sim.model import phases
from sim.model.params import MemberParams

MEMBER_NAMES = frozenset(v.name for v in phases.MEMBER_STATE)
SCALAR = {v.name: bool if v.dtype is bool else float if v.dtype is float else int
          for v in phases.STATE}  # the plain Python type of each state variable


def as_scalar(name: str, value):
    """A value of a state variable as the plain Python scalar its declared dtype names."""
    return SCALAR[name](value)


class MemberMinistry(mesa.Agent):
    """A member's foreign ministry: budget, crises, minister, engagement, outside option."""

    def __init__(self, model: mesa.Model, index: int, params: MemberParams,
                 run_params: SimpleNamespace, inputs: Any):
        super().__init__(model)
        self.index = index
        self.params = params
        self.code = params.code
        self.name = params.name or params.code
        self.run_params = run_params  # the parameters as this member's phases read them
        for variable in phases.MEMBER_STATE:
            setattr(self, variable.name,
                    as_scalar(variable.name, variable.initial_value(run_params)))
        self.inputs = inputs  # this member's exogenous inputs of the model's current quarter

    def act(self, phase: phases.Phase) -> None:
        """Apply a member phase of the quarter to this member (not at all if the phase is for
        active members and this one is not)."""
        if phase.active_only and not self.active:
            return
        phase.apply(self, self.model, self.run_params, self.inputs)
