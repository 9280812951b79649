"""The fast engine: many runs advanced in lockstep on (runs, members) arrays.

It applies the phase table (`sim.model.phases`) as the Mesa engine does, in the same order, to
arrays with a leading run axis, fed from the same random tapes; its results equal the Mesa
engine's run for run (tests/test_equivalence.py). Runs in one batch may differ in every
numeric parameter, in their changes at a date (sim.model.schedule) and in their group's shape:
members, start, chair order and dated events (sim.model.shapes); they share the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np

from sim.model import phases, rules
from sim.model.calendar import DatedEvents, compile_calendar
from sim.model.outcomes import states_of_runs, summary_arrays
from sim.model.params import Scenario
from sim.model.schedule import batch_segments, chained
from sim.model.shapes import (
    Layout,
    StackedParams,
    batch_dated_events,
    batch_rotation,
    layout_of,
    stack_params,
    width_classes,
)
from sim.model.tape import Tape, draw_tapes
from sim.model.trajectory import Trajectory


@dataclass
class BatchResult:
    """Summaries of R runs (arrays of shape (R,)), their states quarter by quarter (R, T), and
    their trajectories if recorded."""

    seeds: np.ndarray
    summary: dict[str, np.ndarray]
    trajectories: list[Trajectory] | None = None
    states: np.ndarray | None = None


def run_batch(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[int],
              years: int | None = None, record_series: bool = False,
              also_record: Sequence[str] = ()) -> BatchResult:
    """Run one scenario per seed (or one scenario for all seeds) on the fast engine.

    `also_record` names state variables not recorded by default (`phases.STATE`) to keep in the
    trajectories' series as well, for diagnostics (it implies `record_series`).
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    record_series = tuple(_recorded(also_record)) if (record_series or also_record) else None
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios] * len(seeds)
    if len(scenarios) != len(seeds):
        raise ValueError("one scenario per seed, or a single scenario")
    first = scenarios[0]
    quarters = (years or first.years) * rules.QUARTERS_PER_YEAR
    if years is None and any(s.years != first.years for s in scenarios):
        raise ValueError("a batch must share its horizon")
    layout = layout_of(scenarios)
    classes = width_classes(layout)
    if len(classes) == 1:
        return _run_laid_out(scenarios, layout, seeds, quarters, record_series)
    parts = []
    for runs in classes:
        part = [scenarios[r] for r in runs]
        parts.append((runs, _run_laid_out(part, layout.subset(runs), seeds[runs], quarters,
                                          record_series)))
    return _merged(parts, seeds)


def _recorded(also_record: Sequence[str]) -> list[tuple[str, bool]]:
    """(name, read from this quarter's inputs) of every series a batch keeps: the declared
    recorded variables, then `also_record`."""
    unknown = [name for name in also_record if name not in phases.VARIABLES]
    if unknown:
        raise ValueError(f"not state variables: {', '.join(unknown)}")
    return [*RECORDED, *((name, False) for name in also_record if name not in dict(RECORDED))]


def _run_laid_out(scenarios: Sequence[Scenario], layout: Layout, seeds: np.ndarray,
                  quarters: int, record_series: tuple | None) -> BatchResult:
    """Run a batch on one padded member axis."""
    stretches = [(q, stack_params(in_force, layout.width))
                 for q, in_force in batch_segments(scenarios) if q < quarters]
    return _simulate(layout, stretches, batch_dated_events(layout, quarters), seeds, quarters,
                     record_series)


def _merged(parts: list[tuple[np.ndarray, BatchResult]], seeds: np.ndarray) -> BatchResult:
    """One result from the results of parts of a batch (each with its runs' positions)."""
    summary = {}
    for name, values in parts[0][1].summary.items():
        summary[name] = np.empty(len(seeds), dtype=values.dtype)
        for runs, result in parts:
            summary[name][runs] = result.summary[name]
    states = np.empty((len(seeds), parts[0][1].states.shape[1]), dtype=np.int8)
    for runs, result in parts:
        states[runs] = result.states
    trajectories = None
    if parts[0][1].trajectories is not None:
        trajectories = [None] * len(seeds)
        for runs, result in parts:
            for r, trajectory in zip(runs, result.trajectories, strict=True):
                trajectories[r] = trajectory
    return BatchResult(seeds, summary, trajectories, states)


class _OnMemberAxis:
    """The group's state as a member phase reads it in a batch: one value per run, on the
    member axis (R, 1). Read only: a member phase does not change the group."""

    __slots__ = ("_namespace",)

    def __init__(self, namespace: SimpleNamespace):
        object.__setattr__(self, "_namespace", namespace)

    def __getattr__(self, name: str):
        value = getattr(self._namespace, name)
        return value[:, None] if name in phases.GROUP_NAMES else value

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"a member phase cannot set the group's {name!r}")


class _Quarter:
    """Inputs of one quarter: every input array at [t]."""

    __slots__ = ("_inputs", "quarter_index")

    def __init__(self, inputs: dict[str, np.ndarray]):
        self._inputs = inputs
        self.quarter_index = 0

    def __getattr__(self, name: str):
        return self._inputs[name][self.quarter_index]


def initial_state(p: SimpleNamespace, runs: int, n: int, quarters: int) -> SimpleNamespace:
    """The state of R runs before the first quarter, from the declared schema."""
    s = SimpleNamespace()
    for variable in (*phases.GROUP_STATE, *phases.MEMBER_STATE):
        shape = (runs, n) if variable.scope == phases.MEMBER else (runs,)
        setattr(s, variable.name, np.array(np.broadcast_to(variable.initial_value(p), shape),
                                           dtype=variable.dtype))
    s.outputs_history = np.zeros((runs, quarters), dtype=np.int64)
    for name in phases.HISTORIES:  # the past quarters' values a phase reads back
        setattr(s, f"{name}_history", np.zeros((runs, quarters),
                                                dtype=phases.VARIABLES[name].dtype))
    return s


def _stretch(layout: Layout, p: StackedParams, dated: DatedEvents, tape: Tape
             ) -> tuple[SimpleNamespace, dict[str, np.ndarray]]:
    """The run parameters of a stretch of the batch's runs, and every quarter's inputs under
    them."""
    calendar = compile_calendar(dated, tape, p.member["election_interval"], p.member["turnover"],
                                p.member["reshuffle_rate"],
                                p.world["rival_round_rate"], p.world["global_crisis_rate"],
                                p.world["global_crisis_years"])
    rotation, rotation_length = batch_rotation(layout)
    params = phases.run_parameters({**p.group, **p.world}, p.member, dated.joins_at,
                                   rotation, dated.trend_until, rotation_length)
    return params, phases.exogenous_inputs(tape, calendar, params)


def _on_members(params: SimpleNamespace) -> SimpleNamespace:
    """Member phases read values of the group on the member axis, (R, 1): the parameters are
    laid out so once per stretch."""
    return SimpleNamespace(**{
        name: value[:, None] if name in phases.GROUP_NAMES and np.ndim(value) == 1 else value
        for name, value in vars(params).items()})


def _simulate(layout: Layout, stretches: list[tuple[int, StackedParams]],
              dated: DatedEvents, seeds: np.ndarray, quarters: int,
              record_series: tuple | None) -> BatchResult:
    """Advance every run quarter by quarter through the phase table."""
    runs, n = stretches[0][1].member["reach"].shape
    tape = draw_tapes(seeds, quarters, n)
    params, inputs, changes = chained(
        stretches, partial(_stretch, layout, dated=dated, tape=tape))
    later = {quarter: after for quarter, (_, after) in changes.items()}  # from then on
    del tape
    s = initial_state(params, runs, n, quarters)
    x = _Quarter(inputs)
    x_on_members = _Quarter({
        name: value[..., None] if phases.INPUTS[name] == phases.GROUP and np.ndim(value) == 2
        else value for name, value in inputs.items()})
    on_members = (s, _OnMemberAxis(s), _on_members(params), x_on_members)
    record = _Record(s, quarters, record_series)
    with np.errstate(all="ignore"):  # runs that have died keep computing, unrecorded
        for t in range(quarters):
            x.quarter_index = x_on_members.quarter_index = t
            if t in later:  # a change: the parameters of the next stretch from this quarter on
                params = later[t]
                on_members = (s, _OnMemberAxis(s), _on_members(params), x_on_members)
            _quarter(s, params, x, on_members)
            if not record.quarter(t, s, x):
                break
    return record.result(s, seeds, inputs["new_term"].T, layout.sizes)


DTYPES = {v.name: np.dtype(v.dtype) for v in phases.STATE}
WRITTEN = [[(name, DTYPES[name]) for name in phase.writes] for phase in phases.PHASES]


def _quarter(s: SimpleNamespace, params: SimpleNamespace, x: _Quarter, on_members: tuple
             ) -> None:
    """One quarter of every run: the phases in order."""
    for phase, written in zip(phases.PHASES, WRITTEN, strict=True):
        if phase.scope == phases.GROUP:
            phase.apply(s, s, params, x)
        elif phase.active_only:
            active = s.active
            before = [getattr(s, name) for name in phase.writes]
            phase.apply(*on_members)
            for name, old in zip(phase.writes, before, strict=True):
                setattr(s, name, np.where(active, getattr(s, name), old))
        else:
            phase.apply(*on_members)
        for name, dtype in written:  # each variable keeps its declared dtype
            if (value := getattr(s, name)).dtype != dtype:
                setattr(s, name, value.astype(dtype))


RECORDED = [(v.name, v.source == "input") for v in (*phases.RECORDED_GROUP,
                                                     *phases.RECORDED_MEMBER)]


class _Record:
    """What a batch keeps of its runs quarter by quarter: each run up to its death quarter."""

    def __init__(self, s: SimpleNamespace, quarters: int, record_series: tuple | None):
        runs, n = s.status.shape
        self.rival_at_start = s.in_rival.copy()
        self.running = np.ones(runs, dtype=bool)
        self.quarters_run = np.full(runs, quarters, dtype=np.int64)
        self.death_cause = np.zeros(runs, dtype=np.int64)
        self.state_history = np.zeros((runs, quarters), dtype=np.int8)
        self.chair_history = np.full((runs, quarters), rules.VACANT, dtype=np.int64)
        self.final_status = s.status.copy()
        self.final_rival = s.in_rival.copy()
        self.series = None
        self.recorded = record_series or ()
        if record_series is not None:
            self.series = {}
            for name, _ in record_series:
                variable = phases.VARIABLES[name]
                shape = (runs, quarters, n) if variable.scope == phases.MEMBER else (runs,
                                                                                    quarters)
                self.series[name] = np.full(shape, variable.fill, dtype=variable.dtype)

    def quarter(self, t: int, s: SimpleNamespace, x: _Quarter) -> bool:
        """Record quarter t of the runs still going; whether any still is."""
        s.outputs_history[:, t] = s.outputs
        for name in phases.HISTORIES:
            getattr(s, f"{name}_history")[:, t] = getattr(s, name)
        self.state_history[:, t] = s.state
        self.chair_history[:, t] = s.chair
        running = self.running
        dying = running & s.dead
        if dying.any():
            self.quarters_run[dying] = t + 1
            self.death_cause[dying] = s.cause[dying]
            self.final_status[dying] = s.status[dying]
            self.final_rival[dying] = s.in_rival[dying]
        if self.series is not None:
            for name, from_input in self.recorded:
                value = getattr(x, name) if from_input else getattr(s, name)
                self.series[name][running, t] = value[running]
        self.running = running & ~s.dead
        return bool(self.running.any())

    def result(self, s: SimpleNamespace, seeds: np.ndarray, new_term: np.ndarray,
               sizes: np.ndarray) -> BatchResult:
        """The batch's summaries (and trajectories, each on its own members) once every run has
        ended."""
        running, quarters_run = self.running, self.quarters_run
        self.final_status[running] = s.status[running]
        self.final_rival[running] = s.in_rival[running]
        runs, quarters = self.state_history.shape
        n = self.final_status.shape[1]
        # summary_arrays reads member series at quarter quarters_run - 1: the final ones
        summary = summary_arrays(
            self.state_history, s.outputs_history, self.chair_history, new_term,
            np.broadcast_to(self.final_status[:, None, :], (runs, quarters, n)),
            np.broadcast_to(self.final_rival[:, None, :], (runs, quarters, n)),
            self.rival_at_start, quarters_run, self.death_cause)
        trajectories = None
        if self.series is not None:
            trajectories = [
                Trajectory(int(seeds[r]), quarters, int(sizes[r]),
                           self.rival_at_start[r, :sizes[r]],
                           quarters_run=int(quarters_run[r]),
                           death_cause=int(self.death_cause[r]),
                           series={name: array[r] if array.ndim == 2 else array[r, :, :sizes[r]]
                                   for name, array in self.series.items()})
                for r in range(runs)
            ]
        return BatchResult(seeds=seeds, summary=summary, trajectories=trajectories,
                           states=states_of_runs(self.state_history, quarters_run))
