"""The group's side of the model's mechanisms as pure functions on numpy arrays: the rotating
chair (M7), joint activity at three levels (M8), global crises (M12) and the outcome of a quarter
(alive, zombie, dead). Shapes and purity as in `sim.model.rules`, whose codes and helpers these
use.
"""

from __future__ import annotations

import numpy as np

from sim.model import tape
from sim.model.rules import (
    ALIVE,
    CAUSE_DISSOLUTION,
    CAUSE_DORMANT,
    CAUSE_MEMBERS,
    CAUSE_TERMINATION,
    DEAD,
    LEADERS,
    MINISTERS,
    NO_CAUSE,
    OFFICIALS,
    QUARTER,
    QUARTERS_PER_YEAR,
    VACANT,
    ZOMBIE,
    over_members,
    pick,
    where,
)

# ---------------------------------------------------------------- M7 rotating chair, leadership
# vacuum (000: "good follower"; momentum relies on the annually rotating chair)


def chair_willingness(engagement, budget, chair_cost):
    """Readiness to lead: engagement times the budget's cover of the chair's cost (the chair's
    effort while it holds the chair)."""
    return engagement * np.minimum(1.0, budget / chair_cost)


def is_term_start(quarter, chair_term):
    return np.asarray(quarter) % chair_term == 0


def chair_able(budget, chair_cost, threshold):
    """Whether a member's budget covers at least `threshold` of a chair term's cost."""
    return np.minimum(1.0, budget / chair_cost) >= threshold


def declines(chair, willingness, threshold, secretariat):
    """Whether the member whose turn has come will not convene the group: its willingness is
    below `threshold`, and the term is vacant (no other member steps in out of turn); never
    with a secretariat, which convenes whoever chairs (000, "Domestic Priorities and Shrinking
    Resources": no member wants to lead; seeds/records/ibsa.csv: the sixth summit, due in New
    Delhi in 2013, was postponed and never held)."""
    chair = np.asarray(chair)
    own = pick(willingness, np.maximum(chair, 0))
    return (chair != VACANT) & ~np.asarray(secretariat, dtype=bool) & (own < threshold)


def choose_chair(pointer, able, active, rotation, secretariat, length=None):
    """The chair of a new term by the rotation norm: the member whose turn it is takes it.

    A member that cannot (`able` false, or not active) is passed over; the incumbent, the last
    in the turn order, takes a second term only when no other active member can. Returns
    (chair, next pointer, vacant). `pointer` is the position in `rotation` (member indices) whose
    turn it is. With a secretariat a term never lapses: if nobody can take the chair, the member
    whose turn it is holds it and the secretariat carries the work.

    `rotation` is one order (k,) for every run, or one per run (R, K) whose first `length[r]`
    entries are run r's order (a batch of groups of different sizes, sim.model.shapes); `length`
    defaults to the whole order.
    """
    rotation = np.asarray(rotation)
    k = rotation.shape[-1]
    length = np.asarray(k if length is None else length)
    pointer = np.asarray(pointer)
    positions = (pointer[..., None] + np.arange(k)) % length[..., None]
    candidates = (rotation[positions] if rotation.ndim == 1
                  else np.take_along_axis(rotation, positions, axis=-1))
    shape = np.broadcast_shapes(np.shape(able), np.shape(active))
    candidates = np.broadcast_to(candidates, (*shape[:-1], k))
    ready = np.broadcast_to(np.asarray(active) & np.asarray(able), shape)
    eligible = np.take_along_axis(ready, candidates, axis=-1)
    present = np.take_along_axis(np.broadcast_to(active, shape), candidates, axis=-1)
    accepted = eligible.any(axis=-1)
    held = ~accepted & np.asarray(secretariat, dtype=bool) & present.any(axis=-1)
    offset = np.where(accepted, eligible.argmax(axis=-1), present.argmax(axis=-1))
    chair = np.where(accepted | held,
                     np.take_along_axis(candidates, offset[..., None], axis=-1)[..., 0], VACANT)
    next_pointer = (pointer + np.where(accepted | held, offset + 1, 1)) % length
    return chair, next_pointer, chair == VACANT


def chair_repeats(chair, new_term):
    """(..., T) whether a term starts with the chair of the term before it (a second term)."""
    chair, new_term = np.asarray(chair), np.asarray(new_term, dtype=bool)
    repeat = np.zeros(chair.shape, dtype=bool)
    repeat[..., 1:] = new_term[..., 1:] & (chair[..., 1:] == chair[..., :-1]) & (
        chair[..., 1:] != VACANT)
    return repeat


def is_chair(chair, n_members: int):
    """For each member, whether it holds the chair."""
    return np.expand_dims(chair, -1) == np.arange(n_members)


def chair_effort(chair, willingness, active, secretariat, support):
    """The chair's effort this quarter: its willingness, at least `support` with a secretariat.

    A vacant chair, or a chair that has left, puts in none.
    """
    chair = np.asarray(chair)
    index = np.maximum(chair, 0)
    own = pick(np.broadcast_to(willingness, np.shape(active)), index)
    present = pick(active, index) & (chair != VACANT)
    return np.where(present, np.maximum(own, support * np.asarray(secretariat)), 0.0)


def vacancies_in_a_row(previous, term_start, vacant):
    """Consecutive vacant chair terms, updated at the start of each term."""
    return np.where(term_start, np.where(vacant, previous + 1, 0), previous)


def wound_up(vacant_in_a_row, termination_terms):
    """Whether the members have stopped convening: `termination_terms` chair terms in a row have
    passed without a convener (never, if `termination_terms` is 0). A minilateral can lapse
    without legal complications (000, conclusion)."""
    terms = np.asarray(termination_terms)
    return (terms > 0) & (np.asarray(vacant_in_a_row) >= terms)


# ---------------------------------------------------------------- M10 members that dissolve a group
# that no longer serves them (Eilstrup-Sangiovanni 2020; Debre & Dijkstra 2021)


def mean_staying_value(staying_value, active):
    """What the group is worth, as it is now used, to its active members on average (0 if
    none)."""
    return mean_engagement(staying_value, active)


def undefended_in_a_row(previous, term_start, worth, dissolve_value):
    """Consecutive chair terms at whose start the group's `worth` to its members (their mean
    staying value, M10: a group on standby costs little to keep) fell short of
    `dissolve_value`, updated at the start of each term."""
    return np.where(term_start, np.where(worth < dissolve_value, previous + 1, 0), previous)


def dissolved(undefended, dissolve_terms, secretariat, reprieve):
    """Whether the members wind the group up: for `dissolve_terms` chair terms in a row (and
    `reprieve` more with a secretariat) it has been worth too little to them (never, if
    `dissolve_terms` is 0). States often end an organization that no longer serves them, or
    replace it, rather than reform it (Eilstrup-Sangiovanni 2020); a secretariat's staff fight
    for its survival and buy it time (Debre & Dijkstra 2021)."""
    terms = np.asarray(dissolve_terms)
    needed = terms + np.asarray(reprieve) * np.asarray(secretariat, dtype=np.int64)
    return (terms > 0) & (np.asarray(undefended) >= needed)


# ---------------------------------------------------------------- M8 activity (000, Table 1)


def mean_engagement(engagement, active):
    """Mean engagement of the active members (0 if none)."""
    total = over_members(np.where(active, engagement, 0.0))
    return total / np.maximum(over_members(np.asarray(active, dtype=np.int64)), 1)


def ministers_rate(base_rate, officials_share, focus, effort, mean_engaged, reference_drive):
    """Expected ministers' meetings and statements this quarter (M8): driven by the chair's
    effort and the members' engagement, relative to a normally engaged group's drive."""
    return base_rate * (1 - officials_share) * focus * effort * mean_engaged / reference_drive


def officials_rate(base_rate, officials_share, focus, mean_engaged, reference_drive,
                   secretariat, secretariat_floor):
    """Expected officials' and missions' joint outputs this quarter (M8): their work goes on
    with the members' engagement whoever chairs, relative to the engagement of a normally
    engaged group (the square root of its drive: effort and engagement alike); a secretariat's
    own outputs are officials' work."""
    return (base_rate * officials_share * focus * mean_engaged / np.sqrt(reference_drive)
            + secretariat_floor * secretariat)


def reaction_rate(event_rate, mean_engaged):
    """Expected joint statements answering outside events this quarter (M8): events arrive at
    `event_rate` a year and each is answered with probability the members' mean engagement
    (a statement of all members, agreed by e-mail among focal points; [000] Table 1)."""
    return event_rate * QUARTER * mean_engaged


def least_engagement(engagement, active):
    """The engagement of the least engaged active member (0 if none)."""
    lowest = np.min(np.where(active, engagement, np.inf), axis=-1)
    return np.where(np.isfinite(lowest), lowest, 0.0)


def summit_held(since_summit, summit_interval, least_engaged, summit_commitment):
    """Whether the leaders meet this quarter (M8): a group with a summit process holds its summit
    when `summit_interval` years have passed since the last one (the founding counts) and every
    member's government is committed (each active member's engagement at least
    `summit_commitment`); a summit due while one is not is postponed until all are. None without
    a summit process."""
    interval = np.asarray(summit_interval, dtype=float)
    due = since_summit + 1 >= np.maximum(1, np.rint(interval * QUARTERS_PER_YEAR))
    return (interval > 0) & due & (least_engaged >= summit_commitment)


def quarters_since(previous, happened):
    """Quarters since the last quarter in which it happened: 0 if now, else one more."""
    return np.where(happened, 0, previous + 1)


def joint_outputs(u, rate):
    """Joint outputs (meetings, statements, initiatives) of one level this quarter:
    Poisson(rate)."""
    return tape.poisson(u, rate)


def visibility_step(visibility, outputs, smoothing):
    """Visibility: exponentially smoothed outputs."""
    return visibility + smoothing * (outputs - visibility)


# ---------------------------------------------------------------- global crises (M12; 004)


def global_crisis_quarters(u, rate, years, scheduled):
    """(T, ...) mask of quarters under a global crisis: dated ones, and random ones of `years`."""
    u = np.asarray(u)
    scheduled = np.asarray(scheduled, dtype=bool)
    onset_probability = tape.hazard_probability(np.asarray(rate), QUARTER)
    length = np.maximum(1, np.rint(np.asarray(years) * QUARTERS_PER_YEAR)).astype(np.int64)
    flags = np.zeros(u.shape, dtype=bool)
    left = np.zeros(u.shape[1:], dtype=np.int64)
    for t in range(u.shape[0]):
        onset = (left == 0) & ~scheduled[t] & tape.happens(u[t], onset_probability)
        left = np.where(onset, length, left)
        flags[t] = scheduled[t] | (left > 0)
        left = np.maximum(left - 1, 0)
    return flags


# ---------------------------------------------------------------- outcomes of one quarter (after
# Gray 2018: alive, zombie, dead)


def death(n_active, min_members, quiet_quarters, dormant_quarters, terminated=False,
          dissolution=False):
    """(dead, cause): a termination act, the members' dissolution of the group, too few
    members, or no activity at any level for `dormant_quarters`. A vacant chair is not
    death."""
    few = n_active < min_members
    dormant = quiet_quarters >= dormant_quarters
    cause = np.where(terminated, CAUSE_TERMINATION,
                     np.where(dissolution, CAUSE_DISSOLUTION,
                              np.where(few, CAUSE_MEMBERS,
                                       np.where(dormant, CAUSE_DORMANT, NO_CAUSE))))
    return terminated | dissolution | few | dormant, cause


def apex_step(apex, officials_in_window, ministers_in_window, leaders_in_window, apex_repeat):
    """The apex level: the highest level with `apex_repeat` events in the window, never lower
    than before (the group's format is kept until it decides otherwise)."""
    qualified = np.where(leaders_in_window >= apex_repeat, LEADERS,
                         np.where(ministers_in_window >= apex_repeat, MINISTERS,
                                  np.where(officials_in_window >= apex_repeat, OFFICIALS, -1)))
    return np.maximum(apex, qualified)


def apex_event(apex, officials, ministers, leaders):
    """Whether the quarter had a meeting or document at the apex level or above."""
    return np.where(apex <= OFFICIALS, officials + ministers + leaders,
                    np.where(apex == MINISTERS, ministers + leaders, leaders)) > 0


def last_quarter(last, happened, quarter):
    """The last quarter something happened in: this one if it did."""
    return where(happened, quarter, last)


def group_state(dead, quarter, since_apex, grace_quarters, zombie_quarters):
    """ALIVE, ZOMBIE or DEAD: after the founding grace period, a zombie has had no event at its
    apex level for `zombie_quarters`; it revives at the next one."""
    zombie = (quarter >= grace_quarters) & (since_apex >= zombie_quarters)
    return np.where(dead, DEAD, np.where(zombie, ZOMBIE, ALIVE))


def quarters_of(months):
    """A window given in months as whole quarters."""
    return np.asarray(months) // 3


def leaving_window(outputs_history, quarter, window):
    """Outputs of the quarter that leaves a window of `window` quarters now (0 while it
    fills)."""
    dropped = quarter - np.asarray(window)
    if dropped.ndim == 0:  # one run
        return outputs_history[dropped] if dropped >= 0 else 0
    return np.where(dropped >= 0, pick(outputs_history, np.maximum(dropped, 0)), 0)


def outputs_in_window(previous, outputs, leaving):
    """Outputs over a window: this quarter's in, the oldest out."""
    return previous + outputs - leaving
