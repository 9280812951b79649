"""Policies adopted at a date: a run's parameters stretch by stretch over its quarters.

A scenario's `changes` (sim.model.params.Change) split its run into stretches, each starting at
the quarter of a change. Both engines run a stretch on the parameters in force in it, switching
at the start of its first quarter, before any phase reads the quarter; the exogenous inputs of
each quarter are those of the stretch it falls in (`splice`). The random tape is drawn once for
the whole run, so a run and its twin without the change share every draw: they are the same run
up to the change's quarter.

Two parameters carry over from one stretch to the next, so that a change moves the run from its
quarter on and does not rewrite the past:

- `budget_offset` keeps each member's budget path continuous where its trend changes: the new
  trend makes the step into the quarter of the change and every step after it, not as if it had
  held since the start (for a member with a dated trend, the change sets the drift that follows
  it, `budget_trend_after`, as well: sim.model.keys.reaching_dated_forms);
- `secretariat_since` is the quarter the secretariat was adopted (0 from the start), from which
  its age counts under mechanisms.dues = "growing".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from sim.model import rules
from sim.model.keys import Setting
from sim.model.params import Scenario
from sim.model.scenario_files import with_overrides

T = TypeVar("T")


def segments(scenario: Scenario) -> tuple[tuple[int, Scenario], ...]:
    """(first quarter, the scenario in force) for each stretch of a run, from quarter 0; the
    scenarios carry no changes of their own."""
    if not scenario.changes:
        return ((0, scenario),)
    plain = dataclasses.replace(scenario, changes=())
    stretches: list[tuple[int, Scenario]] = []
    current = plain
    by_quarter: dict[int, list[Setting]] = {}
    for change in scenario.changes:  # in date order; changes of one quarter in file order
        by_quarter.setdefault(change.quarter - scenario.start_quarter, []).append(
            Setting(change.parameter, change.value))
    # a quarter's changes are applied together, so that a dated form given for a member
    # (budget_trend_after) wins over the one its trend's change reaches (keys.DATED_FORMS)
    for quarter, settings in by_quarter.items():
        current = with_overrides(current, settings)
        stretches.append((quarter, current))
    if stretches[0][0] != 0:
        stretches.insert(0, (0, plain))
    return tuple(stretches)


def batch_segments(scenarios: Sequence[Scenario]) -> list[tuple[int, list[Scenario]]]:
    """For a batch of runs: every quarter at which some run's parameters change (0 first), with
    each run's scenario in force from then on."""
    cache: dict[int, tuple[tuple[int, Scenario], ...]] = {}
    for s in scenarios:
        if id(s) not in cache:
            cache[id(s)] = segments(s)
    starts = sorted({q for stretches in cache.values() for q, _ in stretches})

    def in_force(stretches, quarter: int) -> Scenario:
        return next(s for q, s in reversed(stretches) if q <= quarter)

    return [(q, [in_force(cache[id(s)], q) for s in scenarios]) for q in starts]


def chained(stretches: Sequence[tuple[int, T]], build: Callable[[T], tuple[Any, dict]]
            ) -> tuple[Any, dict[str, np.ndarray], dict[int, tuple[T, Any]]]:
    """A run's (or a batch's) parameters and inputs, stretch by stretch, as both engines use them.

    `stretches` are (first quarter, what is in force) from quarter 0; `build(in_force)` gives its
    run parameters and every quarter's inputs under them. Returns the first stretch's
    parameters, the inputs of every quarter from the stretch it falls in, and for each later
    stretch {first quarter: (in force, parameters)}, its carried parameters set.
    """
    first, inputs = build(stretches[0][1])
    later: dict[int, tuple[T, Any]] = {}
    before = first
    for quarter, in_force in stretches[1:]:
        after, theirs = build(in_force)
        carry_over(before, after, quarter)
        splice(inputs, theirs, quarter)
        later[quarter] = (in_force, after)
        before = after
    return first, inputs, later


def carry_over(before, after, quarter: int) -> None:
    """Set `after`'s carried parameters (see the module) from `before`'s, at a change in
    `quarter`. Both are `phases.run_parameters` namespaces of the same runs."""
    # the paths meet at the quarter before: the new trend makes the step into `quarter`
    after.budget_offset = before.budget_offset + (
        rules.budget_path(before.budget_trend, quarter - 1, 0.0, before.trend_until,
                          before.budget_trend_after)
        - rules.budget_path(after.budget_trend, quarter - 1, 0.0, after.trend_until,
                            after.budget_trend_after))
    adopted = np.asarray(after.secretariat, dtype=bool) & ~np.asarray(before.secretariat,
                                                                       dtype=bool)
    after.secretariat_since = np.where(adopted, quarter, before.secretariat_since).astype(
        np.int64)


def splice(inputs: dict[str, np.ndarray], later: dict[str, np.ndarray], quarter: int) -> None:
    """Every input of `inputs` with its quarters from `quarter` on taken from `later` (time on
    the first axis; new arrays, the old are not written)."""
    for name, values in later.items():
        before = np.asarray(inputs[name])
        inputs[name] = np.concatenate([before[:quarter], np.asarray(values)[quarter:]])
