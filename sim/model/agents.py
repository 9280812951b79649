"""The member foreign ministry: one Mesa agent per member of the group.

`act(phase)` applies a member phase of `sim.model.phases.PHASES` to this member alone: the
agent's attributes are its member state variables, read and written by the phase through
`MemberState`. An agent reads only its own state, the group's as it stood when the
phase began and the run's inputs, so the order in which agents are activated never changes the
result.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import mesa

from sim.model import phases, rules
from sim.model.params import MemberParams

if TYPE_CHECKING:
    from sim.model.mesa_engine import MinilateralModel

MEMBER_NAMES = frozenset(v.name for v in phases.MEMBER_STATE)


def as_scalar(name: str, value):
    """A value of a state variable as the plain Python scalar its declared dtype names."""
    kind = phases.VARIABLES[name].dtype
    return bool(value) if kind is bool else float(value) if kind is float else int(value)


class MemberState:
    """One member's view of the state, for a member phase: its own variables, and the group's."""

    __slots__ = ("_agent", "_model")

    def __init__(self, agent: MemberMinistry, model: MinilateralModel):
        object.__setattr__(self, "_agent", agent)
        object.__setattr__(self, "_model", model)

    def __getattr__(self, name: str):
        return getattr(self._agent if name in MEMBER_NAMES else self._model, name)

    def __setattr__(self, name: str, value) -> None:
        if name not in MEMBER_NAMES:
            raise AttributeError(f"a member phase cannot set the group's {name!r}")
        setattr(self._agent, name, as_scalar(name, value))


class MemberMinistry(mesa.Agent):
    """A member's foreign ministry: budget, crises, minister, engagement, outside option."""

    model: MinilateralModel

    def __init__(self, model: MinilateralModel, index: int, params: MemberParams,
                 run_params: SimpleNamespace):
        super().__init__(model)
        self.index = index
        self.params = params
        self.code = params.code
        self.name = params.name or params.code
        self.run_params = run_params  # the parameters as this member's phases read them
        for variable in phases.MEMBER_STATE:
            setattr(self, variable.name,
                    as_scalar(variable.name, variable.initial_value(run_params)))
        self._state = MemberState(self, model)

    @property
    def active(self) -> bool:
        return self.status == rules.ACTIVE

    def act(self, phase: phases.Phase) -> None:
        """Apply a member phase of the quarter to this member (not at all if the phase is for
        active members and this one is not)."""
        if phase.active_only and not self.active:
            return
        phase.apply(self._state, self.run_params, self.model.inputs_now(self.index))
