"""The random tape: all randomness of a run, drawn up front from its seed.

A run's tape holds uniforms in (0, 1) for every quarter: a few group-level streams, and per member
a fixed set of streams for each of `MAX_MEMBERS` member slots. Member i always reads slot i, and
quarter t always reads row t, so the shocks member i meets in quarter t depend only on the seed:
not on the horizon, not on the number of members, not on any other parameter. Two scenarios run
with the same seed therefore see the same shocks (common random numbers), a 40-year run begins like
a 30-year one, and adding a sixth member leaves the first five members' shocks as they were.

The rules turn uniforms into the distributions they need with the inverse transforms below; no
other module draws random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from sim.params import MAX_MEMBERS

GROUP_STREAMS = ("activity", "rival_round", "global_crisis", "spare_group")
MEMBER_STREAMS = (
    "budget",  # M1: normal shock of the log budget
    "crisis_onset",  # M2: does a domestic-priority shock start?
    "crisis_length",  # M2: how long it lasts
    "enthusiasm",  # M3: a new minister's enthusiasm
    "election_phase",  # M3: quarter of the first change of government (row 0 only)
    "rival_invite",  # M9: invited at an expansion round?
    "rival_join",  # M9: accepts the invitation?
    "spare_member",
)
ROW_WIDTH = len(GROUP_STREAMS) + MAX_MEMBERS * len(MEMBER_STREAMS)
SMALLEST_UNIFORM = 2.0**-54  # keeps inverse transforms finite: uniforms lie in (0, 1)


@dataclass(frozen=True)
class Tape:
    """Uniforms of one run (shapes (T, ...)) or of a batch of runs (shapes (R, T, ...))."""

    group: np.ndarray  # (..., T, len(GROUP_STREAMS))
    members: np.ndarray  # (..., T, n_members, len(MEMBER_STREAMS))

    def group_stream(self, name: str) -> np.ndarray:
        """Uniforms of a group-level stream, shape (..., T)."""
        return self.group[..., GROUP_STREAMS.index(name)]

    def member_stream(self, name: str) -> np.ndarray:
        """Uniforms of a member-level stream, shape (..., T, n_members)."""
        return self.members[..., MEMBER_STREAMS.index(name)]

    @property
    def quarters(self) -> int:
        return self.group.shape[-2]


def draw_tape(seed: int, quarters: int, n_members: int) -> Tape:
    """The tape of one run: a pure function of the seed (shapes depend on T and N only)."""
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    rows = np.random.default_rng(seed).random((quarters, ROW_WIDTH))
    np.maximum(rows, SMALLEST_UNIFORM, out=rows)
    group = rows[:, : len(GROUP_STREAMS)]
    members = rows[:, len(GROUP_STREAMS) :].reshape(quarters, MAX_MEMBERS, len(MEMBER_STREAMS))
    return Tape(group=group, members=members[:, :n_members, :])


def draw_tapes(seeds: np.ndarray | list[int], quarters: int, n_members: int) -> Tape:
    """Tapes of many runs stacked on a leading axis; run r equals `draw_tape(seeds[r], ...)`."""
    seeds = [int(s) for s in seeds]
    rows = np.empty((len(seeds), quarters, ROW_WIDTH))
    for r, seed in enumerate(seeds):
        if not 0 <= seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {seed}")
        np.random.default_rng(seed).random(out=rows[r])
    np.maximum(rows, SMALLEST_UNIFORM, out=rows)
    group = rows[..., : len(GROUP_STREAMS)]
    members = rows[..., len(GROUP_STREAMS) :].reshape(
        len(seeds), quarters, MAX_MEMBERS, len(MEMBER_STREAMS)
    )
    return Tape(group=group, members=members[:, :, :n_members, :])


# --------------------------------------------------------------------------------------------
# Inverse transforms: uniform in (0, 1) -> the distribution a rule needs
# --------------------------------------------------------------------------------------------


def standard_normal(u: np.ndarray | float) -> np.ndarray:
    """Standard normal quantile of u."""
    return special.ndtri(u)


def happens(u: np.ndarray | float, probability: np.ndarray | float) -> np.ndarray:
    """True with the given probability: the event of a uniform falling below it."""
    return np.less(u, probability)


def hazard_probability(rate_per_year: np.ndarray | float, years: float) -> np.ndarray:
    """Probability of at least one event in `years` of a Poisson process with this rate."""
    return -np.expm1(-np.asarray(rate_per_year) * years)


def exponential_quarters(u: np.ndarray | float, mean_quarters: np.ndarray | float) -> np.ndarray:
    """A duration in whole quarters (at least 1) from an exponential with this mean."""
    return np.maximum(1, np.ceil(-np.log(u) * mean_quarters)).astype(np.int64)


def uniform_between(u: np.ndarray | float, low, high) -> np.ndarray:
    """Uniform on [low, high]."""
    return low + (np.asarray(high) - low) * u


POISSON_SEARCH_LIMIT = 200.0  # above this mean, exp(-mean) nears underflow: use scipy's quantile


def poisson(u: np.ndarray | float, mean: np.ndarray | float) -> np.ndarray:
    """Poisson quantile of u: the smallest k with P(X <= k) >= u (elementwise)."""
    u = np.asarray(u, dtype=float)
    mean = np.broadcast_to(np.asarray(mean, dtype=float), np.broadcast(u, mean).shape)
    u = np.broadcast_to(u, mean.shape)
    if np.any(mean > POISSON_SEARCH_LIMIT):
        from scipy import stats

        return stats.poisson.ppf(u, mean).astype(np.int64)
    k = np.zeros(mean.shape, dtype=np.int64)
    term = np.exp(-mean)
    cumulative = term.copy()
    below = cumulative < u
    while below.any():
        k = k + below
        term = np.where(below, term * mean / np.maximum(k, 1), term)
        cumulative = np.where(below, cumulative + term, cumulative)
        # Stop when the tail is below rounding: the remaining mass cannot reach u.
        below = below & (cumulative < u) & (term > 0)
    return k


@dataclass(frozen=True)
class Shocks:
    """The tape's streams by mechanism, as the rules take them: (..., T, N) or (..., T)."""

    budget: np.ndarray  # standard normal
    crisis_onset: np.ndarray
    crisis_length: np.ndarray
    enthusiasm: np.ndarray
    rival_invite: np.ndarray
    rival_join: np.ndarray
    activity: np.ndarray

    @classmethod
    def from_tape(cls, tape: Tape) -> Shocks:
        return cls(
            budget=standard_normal(tape.member_stream("budget")),
            crisis_onset=tape.member_stream("crisis_onset"),
            crisis_length=tape.member_stream("crisis_length"),
            enthusiasm=tape.member_stream("enthusiasm"),
            rival_invite=tape.member_stream("rival_invite"),
            rival_join=tape.member_stream("rival_join"),
            activity=tape.group_stream("activity"),
        )
