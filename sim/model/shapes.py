"""A batch of groups of any shape: runs of different members, starts, orders and dated events.

The fast engine keeps a batch on (runs, members) arrays. The runs' groups may differ in their
members (how many, which), their start, the chair's order, the rival bloc's known record and
their dated events; every such combination is a *shape*. Groups smaller than the widest are
padded to its width with members that never join: their status stays pending, so every rule
that reads the other members (partners, means, counts, the chair's turn, exits, the outcome)
passes over them as over a member not yet joined. A padding member's parameters are a copy of
its run's first member's (finite, so no rule's arithmetic meets a missing value), outside the
rival bloc; its random draws come from tape slots no real member of the run reads
(sim.model.tape). Each run keeps its own dated events, joining dates, elections, chair order and
rotation length. So each run of a mixed batch equals the same group run alone, on either engine
(tests/test_equivalence.py).

A batch of one shape is laid out exactly as before shapes could mix: nothing is padded and the
dated events are one set for every run. A batch of many widths runs in width classes
(`width_classes`): padding a 3-member group to 12 members quadruples its work, while each class
adds a fixed cost a quarter, so the widths are grouped to minimise the two together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from sim.model.calendar import NEVER, DatedEvents, dated_events
from sim.model.params import (
    DECLARED,
    GroupParams,
    MemberParams,
    Scenario,
    WorldParams,
    mechanism_codes,
    numeric_fields,
)


def shape_key(scenario: Scenario) -> tuple:
    """What must be equal for two runs to share the members' axis and the dated events."""
    return (scenario.start, scenario.codes, scenario.events, scenario.chair_rotation,
            scenario.world.rival_known_through,
            tuple((m.joins, m.first_election, m.first_election_changed, m.budget_trend_until)
                  for m in scenario.members))


@dataclass(frozen=True)
class Layout:
    """Where a batch's runs sit: each distinct scenario's shape, and the padded member axis."""

    distinct: tuple[Scenario, ...]  # each distinct scenario object once, in order of first use
    run_scenario: np.ndarray  # (R,) each run's index into `distinct`
    shapes: tuple[Scenario, ...]  # one scenario of each shape, in order of first use
    distinct_shape: np.ndarray  # (D,) each distinct scenario's index into `shapes`
    width: int  # members on the padded axis: the widest group's

    @property
    def uniform(self) -> bool:
        """Whether every run has one shape (nothing padded, one set of dated events)."""
        return len(self.shapes) == 1

    @property
    def run_shape(self) -> np.ndarray:
        """(R,) each run's index into `shapes`."""
        return self.distinct_shape[self.run_scenario]

    @property
    def sizes(self) -> np.ndarray:
        """(R,) each run's number of members."""
        return np.array([len(s.members) for s in self.shapes])[self.run_shape]

    def subset(self, runs: np.ndarray) -> Layout:
        """The layout of some of the runs (their positions), padded to their own widest."""
        used, run_scenario = np.unique(self.run_scenario[runs], return_inverse=True)
        shapes_used, distinct_shape = np.unique(self.distinct_shape[used], return_inverse=True)
        shapes = tuple(self.shapes[k] for k in shapes_used)
        return Layout(tuple(self.distinct[d] for d in used), run_scenario.reshape(-1), shapes,
                      distinct_shape.reshape(-1), max(len(s.members) for s in shapes))


def layout_of(scenarios: Sequence[Scenario]) -> Layout:
    """The layout of a batch of runs, one scenario each (usually many runs share one object)."""
    position: dict[int, int] = {}
    run_scenario = np.array([position.setdefault(id(s), len(position)) for s in scenarios])
    distinct = tuple({id(s): s for s in scenarios}.values())
    keys: dict[tuple, int] = {}
    shapes: list[Scenario] = []
    distinct_shape = np.empty(len(distinct), dtype=np.int64)
    for d, scenario in enumerate(distinct):
        key = shape_key(scenario)
        if key not in keys:
            keys[key] = len(shapes)
            shapes.append(scenario)
        distinct_shape[d] = keys[key]
    width = max(len(s.members) for s in shapes)
    return Layout(distinct, run_scenario, tuple(shapes), distinct_shape, width)


@dataclass(frozen=True)
class StackedParams:
    """Parameters of R runs as arrays: group and world (R,), members (R, K) padded."""

    group: dict[str, np.ndarray]
    world: dict[str, np.ndarray]
    member: dict[str, np.ndarray]


KIND_DTYPES = {bool: np.bool_, int: np.int64, float: np.float64}


def _columns(rows: np.ndarray, cls: type, names: list[str]) -> dict[str, np.ndarray]:
    """The columns (last axis) of a float table of a parameter table's fields, each in the dtype
    of its declared kind."""
    return {name: rows[..., j].astype(KIND_DTYPES[DECLARED[cls][name][0]])
            for j, name in enumerate(names)}


def stack_params(scenarios: Sequence[Scenario], width: int | None = None) -> StackedParams:
    """Stack the numeric parameters of a batch's runs, members padded to `width` (the widest
    group's by default): each distinct scenario read once and its values spread to its runs.

    A padding member holds its run's first member's values, outside the rival bloc."""
    position: dict[int, int] = {}
    index = np.array([position.setdefault(id(s), len(position)) for s in scenarios])
    distinct = list({id(s): s for s in scenarios}.values())
    width = width or max(len(s.members) for s in distinct)
    tables = {}
    for cls, part in ((GroupParams, "group"), (WorldParams, "world")):
        names = numeric_fields(cls)
        get = attrgetter(*names)
        rows = np.array([get(getattr(s, part)) for s in distinct], dtype=np.float64)
        tables[part] = {n: v[index] for n, v in _columns(rows, cls, names).items()}
    codes = [mechanism_codes(s) for s in distinct]
    tables["group"].update({n: np.array([c[n] for c in codes])[index] for n in codes[0]})
    names = numeric_fields(MemberParams)
    get = attrgetter(*names)
    rows = np.empty((len(distinct), width, len(names)))
    for d, scenario in enumerate(distinct):
        values = [get(m) for m in scenario.members]
        rows[d, :len(values)] = values
        rows[d, len(values):] = values[0]
    rows[:, :, names.index("in_rival")] *= np.arange(width) < np.array(
        [len(s.members) for s in distinct])[:, None]
    member = {n: v[index] for n, v in _columns(rows, MemberParams, names).items()}
    return StackedParams(tables["group"], tables["world"], member)


# What a padding member holds in each per-member field of the dated events: it never joins,
# has no dated trend, election or event.
PADDING = {"budget_shift": 0.0, "attention_factor": 1.0, "forced_crisis": 0, "invitation": False,
           "rival_join": False, "joins_at": NEVER, "trend_until": NEVER, "first_change": 0,
           "has_first_change": False, "first_changed": False}
TIME_FIRST = {"budget_shift", "attention_factor", "forced_crisis", "invitation", "rival_join",
              "rival_round", "global_crisis"}  # fields with quarters on the first axis


def pad_dated(dated: DatedEvents, width: int) -> DatedEvents:
    """A group's dated events with padding members up to `width`."""
    def padded(name: str, value):
        if name not in PADDING or value.shape[-1] == width:
            return value
        extra = np.full((*value.shape[:-1], width - value.shape[-1]), PADDING[name],
                        dtype=value.dtype)
        return np.concatenate([value, extra], axis=-1)

    return DatedEvents(**{f.name: padded(f.name, getattr(dated, f.name))
                          for f in dataclasses.fields(DatedEvents)})


def batch_dated_events(layout: Layout, quarters: int) -> DatedEvents:
    """The dated events of every run: one set for a uniform batch; else each field shared if all
    shapes agree on it, or per run (a run axis after the quarters, if any)."""
    if layout.uniform:
        return dated_events(layout.shapes[0], quarters)
    each = [pad_dated(dated_events(s, quarters), layout.width) for s in layout.shapes]
    run_shape = layout.run_shape

    def per_run(name: str):
        values = [np.asarray(getattr(d, name)) for d in each]
        if all(np.array_equal(values[0], v) for v in values[1:]):
            return getattr(each[0], name)
        if name in TIME_FIRST:
            return np.stack(values, axis=1)[:, run_shape]
        return np.stack(values)[run_shape]

    return DatedEvents(**{f.name: per_run(f.name) for f in dataclasses.fields(DatedEvents)})


def batch_rotation(layout: Layout) -> tuple[np.ndarray, np.ndarray | None]:
    """The chair's order: one (k,) for a uniform batch; else each run's order (R, K), padded,
    and its length (R,)."""
    if layout.uniform:
        return np.asarray(layout.shapes[0].chair_rotation), None
    orders = [s.chair_rotation for s in layout.shapes]
    padded = np.zeros((len(orders), layout.width), dtype=np.int64)
    for k, order in enumerate(orders):
        padded[k, :len(order)] = order
    lengths = np.array([len(order) for order in orders], dtype=np.int64)
    return padded[layout.run_shape], lengths[layout.run_shape]


# The work of one more quarter loop (numpy's per-call costs, the phases' bookkeeping), and of
# one run besides its members, in units of one member of one run for a quarter: a batch's
# quarter costs about PER_QUARTER + runs x (PER_RUN + members). Measured with the fast engine on
# 3- and 12-member groups of 200 and 2,000 runs (`minilat bench shapes`).
PER_QUARTER = 1600
PER_RUN = 0.6


def width_classes(layout: Layout) -> list[np.ndarray]:
    """The runs of a batch in classes of neighbouring widths (each run's index, in order),
    each class padded to its widest: the split that minimises the modelled work."""
    sizes = layout.sizes
    widths = np.unique(sizes)
    if len(widths) == 1:
        return [np.arange(len(sizes))]
    counts = np.array([np.count_nonzero(sizes == w) for w in widths])
    # best[j]: least work of widths[:j]; cut[j]: where the last class of that split starts
    best, cut = np.zeros(len(widths) + 1), np.zeros(len(widths) + 1, dtype=np.int64)
    for j in range(1, len(widths) + 1):
        costs = [best[i] + PER_QUARTER + (PER_RUN + widths[j - 1]) * counts[i:j].sum()
                 for i in range(j)]
        cut[j] = int(np.argmin(costs))
        best[j] = costs[cut[j]]
    classes, j = [], len(widths)
    while j > 0:
        classes.append(np.flatnonzero(np.isin(sizes, widths[cut[j]:j])))
        j = cut[j]
    return classes[::-1]
