"""How steeply engagement answers value (M6): for each member-quarter of a batch of runs, the
slope of the engagement target in the group's value, and the share of member-quarters where it
is steeper than a floor.

A target that saturates in net value no longer moves with it: at the fitted values of the
logistic form the pull `logistic(value_sensitivity · net)` is at least 0.998 in most of `mikta`'s
member-quarters, and value for money, the reason [000] gives for the group's existence, moves
nobody. This measures it, for any form (`mechanisms.engagement`) and parameter values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.model import rules
from sim.model.fast_engine import run_batch
from sim.model.params import Scenario, mechanism_codes
from sim.model.phases import ENGAGEMENT_RELATIVE
from sim.model.schedule import segments
from sim.model.trajectory import Trajectory

# Engagement per value unit: a change of the group's value by the whole cost of taking part in
# a normally engaged group (the value unit) moves the member's target by at least 0.05.
STEEP_FLOOR = 0.05
WEIGHED = ("value", "cost", "outside")  # what a member weighs, kept for the measurement
TARGET_PARAMETERS = ("standby", "chair_boost", "personalization", "value_sensitivity",
                     "relative_sensitivity")


@dataclass(frozen=True)
class ValueResponse:
    """How many active member-quarters answer value more steeply than `floor`, of how many."""

    steep: int
    member_quarters: int
    floor: float

    @property
    def share(self) -> float:
        return self.steep / self.member_quarters if self.member_quarters else float("nan")


def _in_force(scenario: Scenario, quarters: int) -> dict[str, np.ndarray]:
    """Each quarter's value of the parameters the target reads, through changes at a date."""
    values = {name: np.empty(quarters) for name in (*TARGET_PARAMETERS, "relative")}
    for start, stretch in segments(scenario):
        for name in TARGET_PARAMETERS:
            values[name][start:] = getattr(stretch.group, name)
        values["relative"][start:] = (mechanism_codes(stretch)["mechanism_engagement"]
                                      == ENGAGEMENT_RELATIVE)
    return values


def response_series(trajectory: Trajectory, scenario: Scenario) -> np.ndarray:
    """(T, N) d target / d value of each member in each quarter it took part in (NaN where it
    did not), from a run recorded with `WEIGHED` (`run_batch(..., also_record=WEIGHED)`)."""
    t, n = trajectory.quarters_run, trajectory.n_members
    p = {name: values[:t, None] for name, values in _in_force(scenario, t).items()}
    s = {name: trajectory.upto(name) for name in ("attention", "enthusiasm", "net_value",
                                                  "status", *WEIGHED)}
    at_stake = rules.stakes(s["value"], s["cost"], s["outside"])
    relative = p["relative"].astype(bool)
    sensitivity = rules.response_sensitivity(p["value_sensitivity"], relative,
                                             p["relative_sensitivity"], at_stake)
    is_chair = trajectory.upto("chair")[:, None] == np.arange(n)
    slope = rules.value_response(
        s["attention"], rules.effective_enthusiasm(s["enthusiasm"], p["personalization"]),
        p["standby"], sensitivity, s["net_value"], p["chair_boost"], is_chair, relative,
        at_stake)
    return np.where(s["status"] == rules.ACTIVE, slope, np.nan)


def count_steep(trajectories: Sequence[Trajectory], scenarios: Sequence[Scenario],
                floor: float = STEEP_FLOOR) -> ValueResponse:
    """How many active member-quarters of these runs (recorded with `WEIGHED`) answer the
    group's value more steeply than `floor`, engagement per value unit."""
    steep = counted = 0
    for scenario, trajectory in zip(scenarios, trajectories, strict=True):
        slope = response_series(trajectory, scenario)
        taking_part = ~np.isnan(slope)
        steep += int(np.count_nonzero(slope[taking_part] > floor))
        counted += int(np.count_nonzero(taking_part))
    return ValueResponse(steep, counted, floor)


def steep_share(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[int],
                floor: float = STEEP_FLOOR, years: int | None = None) -> ValueResponse:
    """The share of active member-quarters in runs of `scenarios` (fast engine) whose
    engagement target answers the group's value more steeply than `floor` (engagement per
    value unit)."""
    seeds = list(seeds)
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios] * len(seeds)
    batch = run_batch(list(scenarios), seeds, years=years, also_record=WEIGHED)
    return count_steep(batch.trajectories, scenarios, floor)
