"""The calendar of a run: dated events and exogenous random dates turned into per-quarter arrays.

Everything here is exogenous (it does not depend on what members do), so it is computed before
the run, by both engines, from the scenario and the run's tape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import group_rules, rules
from sim.model.params import Scenario
from sim.model.quarters import QUARTERS_PER_YEAR
from sim.model.tape import Tape

NEVER = 10**9  # a quarter no run reaches


@dataclass(frozen=True)
class DatedEvents:
    """The scenario's dated events as arrays over quarters (T) and members (N)."""

    budget_shift: np.ndarray  # (T, N) log of the budget factors in force at t
    attention_factor: np.ndarray  # (T, N) product of attention factors in force at t
    forced_crisis: np.ndarray  # (T, N) length in quarters of a crisis dated at t, else 0
    invitation: np.ndarray  # (T, N) an invitation to the rival bloc dated at t
    rival_join: np.ndarray  # (T, N) the member joins the rival bloc at t (a dated fact)
    rival_draws_from: int  # first quarter of random rounds (after `rival_known_through`)
    rival_round: np.ndarray  # (T,) an expansion round of the rival bloc dated at t
    global_crisis: np.ndarray  # (T,) a dated global crisis is on at t
    joins_at: np.ndarray  # (N,) quarter each member joins (0 for founders)
    trend_until: np.ndarray  # (N,) last quarter of each member's budget trend (far off if none)
    first_change: np.ndarray  # (N,) dated first change of government (relative quarter)
    has_first_change: np.ndarray  # (N,) whether that date is given (else a random phase)
    first_changed: np.ndarray  # (N,) whether the dated election changed the government


@dataclass(frozen=True)
class Calendar:
    """Dated events plus the random dates of one run (or of a batch, with leading axis R)."""

    dated: DatedEvents
    new_government: np.ndarray  # (T, N), or (T, R, N) for a batch: an election changed it
    new_minister: np.ndarray  # (T, N) or (T, R, N): a change of government or a reshuffle
    rival_round: np.ndarray  # (T,), or (T, R)
    global_crisis: np.ndarray  # (T,), or (T, R)


def dated_events(scenario: Scenario, quarters: int) -> DatedEvents:
    """Arrays of the scenario's events over the first `quarters` quarters."""
    n = len(scenario.members)
    codes = scenario.codes
    budget_shift = np.zeros((quarters, n))
    attention_factor = np.ones((quarters, n))
    forced_crisis = np.zeros((quarters, n), dtype=np.int64)
    invitation = np.zeros((quarters, n), dtype=bool)
    rival_join = np.zeros((quarters, n), dtype=bool)
    rival_round = np.zeros(quarters, dtype=bool)
    global_crisis = np.zeros(quarters, dtype=bool)
    for event in scenario.events:
        start = scenario.quarter_index(event.date)
        if start >= quarters:
            continue
        length = max(1, round(event.years * QUARTERS_PER_YEAR))
        end = (quarters if (event.kind in ("attention", "budget") and event.years == 0)
               else start + length)
        i = codes.index(event.member) if event.member else None
        if event.kind == "budget":
            budget_shift[start:end, i] += np.log(event.factor)
        elif event.kind == "attention":
            attention_factor[start:end, i] *= event.factor
        elif event.kind == "crisis":
            forced_crisis[start, i] = max(forced_crisis[start, i], length)
        elif event.kind == "rival_invite":
            invitation[start, i] = True
        elif event.kind == "rival_join":
            rival_join[start, i] = True
        elif event.kind == "rival_round":
            rival_round[start] = True
        elif event.kind == "global_crisis":
            global_crisis[start:end] = True
    trend_until = np.array([scenario.quarter_index(m.budget_trend_until)
                            if m.budget_trend_until else NEVER for m in scenario.members],
                           dtype=np.int64)
    joins_at = np.array([scenario.quarter_index(m.joins) if m.joins else 0
                         for m in scenario.members], dtype=np.int64)
    has_first = np.array([bool(m.first_election) for m in scenario.members])
    first_changed = np.array([m.first_election_changed for m in scenario.members])
    first = np.array([scenario.quarter_index(m.first_election) if m.first_election else 0
                      for m in scenario.members], dtype=np.int64)
    known = scenario.world.rival_known_through
    draws_from = scenario.quarter_index(known) + 1 if known else 0
    return DatedEvents(budget_shift, attention_factor, forced_crisis, invitation, rival_join,
                       max(draws_from, 0), rival_round, global_crisis, joins_at, trend_until,
                       first, has_first, first_changed)


def election_periods(election_interval) -> np.ndarray:
    """Years between elections to whole quarters (at least one)."""
    return np.maximum(1, np.rint(np.asarray(election_interval) * QUARTERS_PER_YEAR)).astype(
        np.int32)


def compile_calendar(dated: DatedEvents, tape: Tape, election_interval, turnover,
                     reshuffle_rate, rival_round_rate, global_crisis_rate,
                     global_crisis_years) -> Calendar:
    """The calendar of one run (member parameters (N,)) or of a batch ((R, N) and (R,))."""
    quarters = tape.quarters
    period = election_periods(election_interval)
    phase_draw = tape.election_phase
    random_first = np.floor(phase_draw * period).astype(np.int32)
    first = np.where(dated.has_first_change, dated.first_change, random_first).astype(np.int32)
    every_quarter = np.arange(quarters, dtype=np.int32).reshape((-1,) + (1,) * first.ndim)
    election = rules.elections(every_quarter, first, period)
    new_government = rules.government_changes(election, every_quarter, first,
                                              dated.has_first_change, dated.first_changed,
                                              tape.member_stream("election_outcome"),
                                              np.asarray(turnover))
    new_minister = rules.new_ministers(new_government, tape.member_stream("reshuffle"),
                                       np.asarray(reshuffle_rate))
    rival_round = rules.rival_round_quarters(tape.group_stream("rival_round"), rival_round_rate,
                                             dated.rival_round, dated.rival_draws_from)
    global_crisis = group_rules.global_crisis_quarters(tape.group_stream("global_crisis"),
                                                       global_crisis_rate, global_crisis_years,
                                                       dated.global_crisis)
    return Calendar(dated, new_government, new_minister, rival_round, global_crisis)


def calendar_for(scenario: Scenario, tape: Tape) -> Calendar:
    """The calendar of one run of `scenario` with this tape."""
    dated = dated_events(scenario, tape.quarters)
    w = scenario.world
    return compile_calendar(dated, tape, *(np.array(scenario.member_values(name)) for name in
                                           ("election_interval", "turnover", "reshuffle_rate")),
                            w.rival_round_rate, w.global_crisis_rate, w.global_crisis_years)
