"""The random tape: all randomness of a run, drawn up front from its seed.

A run's tape holds uniforms in [0, 1) from numpy's PCG64 for the seed, stream by stream, each
declared once in `STREAMS`. Version 1 of the tape is one generator, `PCG64(SeedSequence(seed))`,
laid out at fixed offsets of its stream:

    group block     MAX_QUARTERS rows x GROUP_STREAMS        (row t = quarter t)
    election block  MAX_MEMBERS values                        (one per member slot)
    member block i  MAX_QUARTERS rows x MEMBER_STREAMS, for each member slot i

A stream added later (a `Stream` with `key` k > 0) comes from a generator of its own,
`PCG64(SeedSequence(seed, spawn_key=(k,)))`: MAX_QUARTERS values for a group stream, one block of
MAX_QUARTERS per member slot for a member stream. So the tape is append-only: adding a stream
changes no existing draw, and `TAPE_VERSION` (recorded in every manifest and run summary) counts
the streams' generations. A stream no longer read is retired: it is not drawn, and its key stays
taken, so removing it moves no other draw.

Member i always reads block i, and quarter t always reads row t, so the shocks member i meets in
quarter t depend only on the seed: not on the horizon, not on the number of members, not on any
other parameter. Two scenarios run with the same seed therefore see the same shocks (common random
numbers), a 40-year run begins like a 30-year one, and adding a sixth member leaves the first five
members' shocks as they were. A run draws only the rows it uses and skips the rest of each block
(`PCG64.advance`), so a short run of a small group costs little.

The rules turn uniforms into the distributions they need with the inverse transforms below; no
other module draws random numbers.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from sim.errors import UserError
from sim.model.params import MAX_MEMBERS

LARGEST_SEED = 2**63 - 1  # a run's seed is a whole number from 0 to this
GROUP, MEMBER = "group", "member"
# Who reads a stream: the phases, as the exogenous input of the stream's name; the phases'
# inputs, turned into another form (`sim.model.phases.exogenous_inputs`); the calendar, as dated
# events; or nobody (retired: no longer drawn, its key kept so that no other stream takes it).
PHASES, INPUTS, CALENDAR, RETIRED = "phases", "inputs", "calendar", "retired"


@dataclass(frozen=True)
class Stream:
    """A stream of uniforms on the tape: one value per quarter (and per member slot)."""

    name: str
    scope: str  # GROUP or MEMBER
    meaning: str
    key: int = 0  # 0: in the version-1 generator; k > 0: its own, SeedSequence(seed, (k,))
    read_by: str = PHASES


STREAMS: tuple[Stream, ...] = (  # append only; never reorder or rekey
    Stream("activity", GROUP, "M8: number of joint outputs in the quarter"),
    Stream("rival_round", GROUP, "M9: does an undated expansion round of the rival bloc happen?",
           read_by=CALENDAR),
    Stream("global_crisis", GROUP, "M12: does an undated global crisis start?", read_by=CALENDAR),
    Stream("budget", MEMBER, "M1: normal shock of the log budget", read_by=INPUTS),
    Stream("crisis_onset", MEMBER, "M2: does a domestic-priority shock start?"),
    Stream("crisis_length", MEMBER, "M2: how long it lasts", read_by=INPUTS),
    Stream("enthusiasm", MEMBER, "M3: a new minister's enthusiasm", read_by=INPUTS),
    Stream("rival_invite", MEMBER, "M9: invited at an expansion round?"),
    Stream("rival_join", MEMBER, "M9: accepts the invitation?"),
    Stream("officials_activity", GROUP, "M8: officials' joint outputs in the quarter", key=1),
    Stream("leaders_activity", GROUP, "M8: a leaders' summit in the quarter? (summits are "
           "scheduled now)", key=2, read_by=RETIRED),
    Stream("government_review", MEMBER, "M10: does a new government take its country out?",
           key=3),
    Stream("election_outcome", MEMBER, "M3: does an election change the government?", key=4,
           read_by=CALENDAR),
    Stream("reshuffle", MEMBER, "M3: is the foreign minister replaced between elections?",
           key=5, read_by=CALENDAR),
    Stream("reactions", GROUP, "M8: joint statements answering outside events", key=6),
)
GROUP_STREAMS = tuple(s.name for s in STREAMS if s.scope == GROUP and not s.key)
MEMBER_STREAMS = tuple(s.name for s in STREAMS if s.scope == MEMBER and not s.key)
PHASE_STREAMS = {s.name: s.scope for s in STREAMS if s.read_by == PHASES}  # name -> scope


def extension_streams() -> tuple[Stream, ...]:
    """Streams drawn from generators of their own (added after version 1), in key order."""
    return tuple(sorted((s for s in STREAMS if s.key and s.read_by != RETIRED),
                        key=lambda s: s.key))


TAPE_VERSION = 1 + max(s.key for s in STREAMS)  # a retired stream keeps its generation
MAX_QUARTERS = 800  # 200 years, the longest horizon a scenario or experiment accepts
GROUP_BLOCK = MAX_QUARTERS * len(GROUP_STREAMS)
MEMBER_BLOCK = MAX_QUARTERS * len(MEMBER_STREAMS)
ELECTION_OFFSET = GROUP_BLOCK  # draws before the election block
MEMBERS_OFFSET = GROUP_BLOCK + MAX_MEMBERS  # draws before member block 0
RUNS_PER_BLOCK = 32  # runs drawn before copying into time-major streams (fits in cache)
SMALLEST_UNIFORM = 2.0**-54  # inverse transforms read 0 as this, so they stay finite


@dataclass(frozen=True)
class Tape:
    """Uniforms of one run or of a batch of runs, time on the first axis.

    Group streams have shape (T,) for one run and (T, R) for a batch; member streams (T, N)
    and (T, R, N); `election_phase` (N,) and (R, N). Each stream is its own contiguous array,
    so one quarter of it is too.
    """

    group: dict[str, np.ndarray]
    members: dict[str, np.ndarray]
    election_phase: np.ndarray  # M3: where in its cycle each member's first election falls

    def group_stream(self, name: str) -> np.ndarray:
        return self.group[name]

    def member_stream(self, name: str) -> np.ndarray:
        return self.members[name]

    @property
    def quarters(self) -> int:
        return self.group[GROUP_STREAMS[0]].shape[0]

    def phase_streams(self) -> dict[str, np.ndarray]:
        """The streams the phases read as inputs of their names (`PHASE_STREAMS`)."""
        return {name: self.group[name] if scope == GROUP else self.members[name]
                for name, scope in PHASE_STREAMS.items()}


def _check_seed(seed: int) -> int:
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    return seed


_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_M128 = (1 << 128) - 1


def pcg64_states(seeds, spawn_key: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """(state, inc) of `np.random.PCG64(SeedSequence(seed, spawn_key=spawn_key))` for each seed
    in [0, 2**63), for all at once; spawn-key words below 2**32.

    The same arithmetic as numpy's SeedSequence (entropy pool of four words, hashmix) and PCG64
    seeding, on arrays: constructing one generator per run costs more than a run of the fast
    engine draws. tests/test_noise.py checks it against numpy for many seeds.
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    low = (seeds & np.uint64(_M32)).astype(np.uint32)
    high = (seeds >> np.uint64(32)).astype(np.uint32)
    two_words = high > 0
    hash_const = [np.uint32(_INIT_A)]

    def hashmix(value):
        value = value ^ hash_const[0]
        hash_const[0] = np.uint32((int(hash_const[0]) * _MULT_A) & _M32)
        value = value * hash_const[0]
        return value ^ (value >> np.uint32(16))

    def mix(x, y):
        result = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return result ^ (result >> np.uint32(16))

    zero = np.zeros_like(low)
    # entropy words: [low] for seeds below 2**32, [low, high] above; the pool holds four
    pool = [hashmix(low), hashmix(np.where(two_words, high, zero)), hashmix(zero), hashmix(zero)]
    # A one-word seed hashes 0 in the second slot: the same as a zero high word.
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    # With a spawn key, numpy pads the seed's words to the pool size and appends the key's.
    for word in spawn_key:
        word = np.full_like(low, word)
        for dst in range(4):
            pool[dst] = mix(pool[dst], hashmix(word))
    words, h = [], _INIT_B
    for i in range(8):
        value = pool[i % 4] ^ np.uint32(h)
        h = (h * _MULT_B) & _M32
        value = value * np.uint32(h)
        words.append(value ^ (value >> np.uint32(16)))
    as64 = [words[2 * k].astype(np.uint64) | (words[2 * k + 1].astype(np.uint64) << np.uint64(32))
            for k in range(4)]
    out = []
    for s0, s1, i0, i1 in zip(*(a.tolist() for a in as64), strict=True):
        init_state, init_seq = (s0 << 64) | s1, (i0 << 64) | i1
        inc = ((init_seq << 1) | 1) & _M128
        state = ((inc + init_state) * _PCG_MULT + inc) & _M128
        out.append((state, inc))
    return out


def draw_tape(seed: int, quarters: int, n_members: int) -> Tape:
    """The tape of one run: a pure function of the seed (shapes depend on T and N only)."""
    return draw_tapes([seed], quarters, n_members, single=True)


def draw_tapes(seeds, quarters: int, n_members: int, single: bool = False) -> Tape:
    """Tapes of many runs side by side: run r's streams are `stream[:, r]`, equal to its own
    `draw_tape(seeds[r], ...)`. Only the blocks of the group's members are drawn."""
    if not 1 <= quarters <= MAX_QUARTERS:
        raise ValueError(f"quarters must be in [1, {MAX_QUARTERS}], got {quarters}")
    if not 1 <= n_members <= MAX_MEMBERS:
        raise ValueError(f"n_members must be in [1, {MAX_MEMBERS}], got {n_members}")
    seeds = [_check_seed(int(s)) for s in seeds]
    states = pcg64_states(seeds)
    runs, g, s = len(seeds), len(GROUP_STREAMS), len(MEMBER_STREAMS)
    lead = (quarters,) if single else (quarters, runs)
    group = {name: np.empty(lead) for name in GROUP_STREAMS}
    members = {name: np.empty((*lead, n_members)) for name in MEMBER_STREAMS}
    phase = np.empty((n_members,) if single else (runs, n_members))
    skip_group = (MAX_QUARTERS - quarters) * g
    skip_member = (MAX_QUARTERS - quarters) * s
    # Runs are drawn one by one into a small block (kept in cache), then each block is copied
    # into the time-major streams in one go.
    size = min(RUNS_PER_BLOCK, runs)
    group_rows = np.empty((size, quarters, g))
    member_rows = np.empty((size, n_members, quarters, s))
    election = np.empty(MAX_MEMBERS)
    bits = np.random.PCG64()
    generator = np.random.Generator(bits)
    state = {"bit_generator": "PCG64", "state": {}, "has_uint32": 0, "uinteger": 0}
    for first in range(0, runs, size):
        chunk = seeds[first: first + size]
        for k in range(len(chunk)):
            state["state"] = dict(zip(("state", "inc"), states[first + k], strict=True))
            bits.state = state
            generator.random(out=group_rows[k])
            bits.advance(skip_group)
            generator.random(out=election)
            if single:
                phase[:] = election[:n_members]
            else:
                phase[first + k] = election[:n_members]
            for i in range(n_members):
                generator.random(out=member_rows[k, i])
                if i + 1 < n_members:
                    bits.advance(skip_member)
        count = len(chunk)
        at = (slice(None),) if single else (slice(None), slice(first, first + count))
        for j, name in enumerate(GROUP_STREAMS):
            group[name][at] = group_rows[0, :, j] if single else group_rows[:count, :, j].T
        for j, name in enumerate(MEMBER_STREAMS):
            members[name][at] = (member_rows[0, :, :, j].T if single
                                 else member_rows[:count, :, :, j].transpose(2, 0, 1))
    for stream in extension_streams():
        into = group if stream.scope == GROUP else members
        into[stream.name] = _own_generator_stream(stream, seeds, quarters, n_members, single)
    return Tape(group, members, phase)


def _own_generator_stream(stream: Stream, seeds: list[int], quarters: int, n_members: int,
                          single: bool) -> np.ndarray:
    """A stream added after version 1, from its own generator: (T, [R,] [N])."""
    slots = n_members if stream.scope == MEMBER else 1
    values = np.empty((len(seeds), slots, quarters))
    bits = np.random.PCG64()
    generator = np.random.Generator(bits)
    state = {"bit_generator": "PCG64", "state": {}, "has_uint32": 0, "uinteger": 0}
    for r, (start, inc) in enumerate(pcg64_states(seeds, (stream.key,))):
        state["state"] = {"state": start, "inc": inc}
        bits.state = state
        for i in range(slots):
            generator.random(out=values[r, i])
            if i + 1 < slots:
                bits.advance(MAX_QUARTERS - quarters)
    stacked = values[:, 0, :].T if stream.scope == GROUP else values.transpose(2, 0, 1)
    return np.ascontiguousarray(stacked[:, 0] if single else stacked)


# --------------------------------------------------------------------------------------------
# Inverse transforms: uniform in (0, 1) -> the distribution a rule needs
# --------------------------------------------------------------------------------------------


def standard_normal(u: np.ndarray | float) -> np.ndarray:
    """Standard normal quantile of u."""
    return special.ndtri(np.maximum(u, SMALLEST_UNIFORM))


def happens(u: np.ndarray | float, probability: np.ndarray | float) -> np.ndarray:
    """True with the given probability: the event of a uniform falling below it."""
    return np.less(u, probability)


def hazard_probability(rate_per_year: np.ndarray | float, years: float) -> np.ndarray:
    """Probability of at least one event in `years` of a Poisson process with this rate."""
    return -np.expm1(-np.asarray(rate_per_year) * years)


def exponential_quarters(u: np.ndarray | float, mean_quarters: np.ndarray | float) -> np.ndarray:
    """A duration in whole quarters (at least 1) from an exponential with this mean."""
    return np.maximum(1, np.ceil(-np.log(np.maximum(u, SMALLEST_UNIFORM)) * mean_quarters)
                      ).astype(np.int64)


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
    if k.ndim == 0:
        while cumulative < u and term > 0:
            k += 1
            term = term * mean / k
            cumulative = cumulative + term
        return k
    # Search only where the quantile is not yet reached; stop where the tail underflows.
    searching = np.flatnonzero(cumulative < u)
    flat_k, flat_term, flat_cum = k.reshape(-1), term.reshape(-1), cumulative.reshape(-1)
    flat_u, flat_mean = np.ascontiguousarray(u).reshape(-1), np.ascontiguousarray(mean).reshape(-1)
    while searching.size:
        flat_k[searching] += 1
        flat_term[searching] = flat_term[searching] * flat_mean[searching] / flat_k[searching]
        flat_cum[searching] = flat_cum[searching] + flat_term[searching]
        keep = (flat_cum[searching] < flat_u[searching]) & (flat_term[searching] > 0)
        searching = searching[keep]
    return k


def checked_seed(seed: Any, caller: str) -> int:
    """`seed` as a Python int, a whole number from 0 to `LARGEST_SEED`: a seed of 1.7 or True
    is refused, never rounded to another seed."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or \
            not 0 <= int(seed) <= LARGEST_SEED:
        raise UserError(f"{caller}: the seed {seed!r} is not allowed. Allowed: whole "
                        "numbers from 0 to 2**63 - 1 (int or numpy integer).")
    return int(seed)
