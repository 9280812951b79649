"""The members' side of the model's mechanisms as pure functions on numpy arrays: budgets (M1),
domestic crises (M2), ministers (M3), value (M4), cost (M5), engagement (M6), the rival bloc
(M9) and exit (M10); and the codes, units and array helpers every rule shares. The group's side
(the chair, activity, global crises and the outcome of a quarter) is `sim.model.group_rules`.

Shapes: member-level arrays carry members on the last axis, `(N,)` for one run or `(R, N)` for a
batch of runs; one agent may also pass its own scalars. Group-level quantities have the leading
shape without the member axis: a scalar for one run, `(R,)` for a batch. Member-level rules accept
group-level inputs that broadcast against their member inputs (a scalar, or `x[..., None]`).

No function here does I/O, keeps state or draws random numbers: random inputs are uniforms from
the run's tape (`sim.model.tape`), passed in. The phases (`sim.model.phases`), which both engines
apply, call these and the group's rules only, so each mechanism lives in exactly one place.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sim.model import tape

QUARTER = 0.25  # years per step
QUARTERS_PER_YEAR = 4

# Member status and group state codes (stable: they appear in outputs).
PENDING, ACTIVE, EXITED = 0, 1, 2
ALIVE, ZOMBIE, DEAD = 0, 1, 2
STATE_NAMES = ("alive", "zombie", "dead")
NO_CAUSE, CAUSE_MEMBERS, CAUSE_DORMANT, CAUSE_TERMINATION, CAUSE_DISSOLUTION = 0, 1, 2, 3, 4
CAUSE_NAMES = (None, "members", "dormant", "termination", "dissolution")
OFFICIALS, MINISTERS, LEADERS = 0, 1, 2  # levels of joint activity (M8)
LEVEL_NAMES = ("officials", "ministers", "leaders")
VACANT = -1  # chair index of a vacant term


def on_member_axis(group_value):
    """A group-level value shaped to broadcast against member-level arrays: a scalar as it is,
    a batch's (R,) as (R, 1)."""
    return group_value if np.ndim(group_value) == 0 else np.expand_dims(group_value, -1)


def where(condition, then, otherwise):
    """`np.where`, and quick for one member's scalars (the Mesa engine's agents)."""
    if isinstance(condition, np.ndarray) or isinstance(then, np.ndarray) or isinstance(
            otherwise, np.ndarray):
        return np.where(condition, then, otherwise)
    return then if condition else otherwise


def anywhere(flags) -> bool:
    """Whether any flag is set: of a batch's array, or one member's scalar."""
    return bool(flags.any()) if isinstance(flags, np.ndarray) else bool(flags)


def pick(values, index):
    """Entry `index` of the last axis of each run: `values[index]` for one run, `values[r,
    index[r]]` for a batch."""
    values, index = np.asarray(values), np.asarray(index)
    if values.ndim == 1:
        return values[index]
    return values[np.arange(values.shape[0]), index]


def is_active(status):
    return status == ACTIVE


def count_members(flags):
    """How many members a flag holds for (over the member axis)."""
    flags = np.asarray(flags)
    if flags.ndim == 1:  # one run
        return int(np.count_nonzero(flags))
    return over_members(flags.astype(np.int64))


def joins_now(status, joins_at, quarter):
    """Members whose dated entry into the group is this quarter."""
    return (status == PENDING) & (joins_at == quarter)


# ---------------------------------------------------------------- M1 budgets (000, "Domestic
# Priorities and Shrinking Resources": budget cuts and reorganisations slow engagement)


def budget_path(trend, quarter, shift, until, after):
    """Log budget the member's trend and dated budget events point to at `quarter`: the trend
    up to quarter `until`, then the drift `after`."""
    quarter = np.asarray(quarter)
    return (trend * (np.minimum(quarter, until) * QUARTER)
            + after * (np.maximum(quarter - until, 0) * QUARTER) + shift)


def budget_step(log_budget, path_before, path_now, reversion, volatility, shock):
    """Next quarter's log budget: mean-reverting around the trend path, plus a normal shock."""
    keep = 1.0 - reversion * QUARTER
    return path_now + keep * (log_budget - path_before) + volatility * np.sqrt(QUARTER) * shock


def secretariat_dues(dues, secretariat):
    """Yearly dues a member pays for a secretariat (none without one; M11)."""
    return dues * secretariat


def dues_now(dues, growing, growth, age):
    """This quarter's dues: as set, or grown with the secretariat's age (quarters since it was
    adopted) at `growth` a year (mechanisms.dues = "growing")."""
    return dues * where(growing, np.exp(growth * age * QUARTER), 1.0)


FULL_DUES_FLOOR = 0.1  # with dues paid in full, the budget left is at least this share of the floor


def available_budget(log_budget, dues, floor, in_full=False):
    """Budget left for the group after secretariat dues: never below the floor, or, with dues
    paid in full (mechanisms.dues = "full"), the dues off even a budget at the floor."""
    budget = np.exp(log_budget)
    capped = np.maximum(budget - dues, floor)
    return where(in_full, np.maximum(np.maximum(budget, floor) - dues, FULL_DUES_FLOOR * floor),
                 capped)


# ---------------------------------------------------------------- M2 domestic-priority shocks


def crisis_length(u, mean_years):
    """Length in quarters of a crisis that would start now: exponential, whole, at least one."""
    return tape.exponential_quarters(u, mean_years * QUARTERS_PER_YEAR)


def crisis_onset_probability(rate, hazard_factor):
    """Probability that a crisis starts in a quarter: rate crises a year, times the hazard factor
    of a global crisis (1 outside one; M12)."""
    return tape.hazard_probability(rate * hazard_factor, QUARTER)


def crisis_step(quarters_left, u_onset, length, onset_probability, forced_quarters):
    """Whether a member is in a crisis this quarter, and how many crisis quarters remain after it.

    A crisis starts with `onset_probability` (`crisis_onset_probability`) if none is running
    and lasts `length` quarters (`crisis_length`). `forced_quarters` > 0 starts a dated crisis
    of that length.
    """
    continuing = quarters_left > 0
    onset = ~continuing & tape.happens(u_onset, onset_probability)
    left = np.where(continuing, quarters_left - 1, np.where(onset, length - 1, 0))
    left = np.maximum(left, forced_quarters - 1)
    return continuing | onset | (forced_quarters > 0), left


# ---------------------------------------------------------------- M3 personalization, elections
# (000, "MIKTA's Challenges": too personalized to foreign ministers)


def elections(quarter, first_change, interval_quarters):
    """Whether an election falls in `quarter` (quarter 0 has the founders in office)."""
    quarter = np.asarray(quarter)
    return (quarter > 0) & ((quarter - first_change) % interval_quarters == 0)


def government_changes(election, quarter, first_change, dated_first, first_changed, u,
                       turnover):
    """Elections that change the government: the dated first one as the record has it, the
    others with probability `turnover` (a re-elected government keeps its minister)."""
    known = np.asarray(dated_first) & (np.asarray(quarter) == first_change)
    return np.asarray(election) & np.where(known, first_changed, tape.happens(u, turnover))


def new_ministers(government_change, u, reshuffle_rate):
    """Quarters with a new foreign minister: a change of government, or a reshuffle."""
    return government_change | tape.happens(u, tape.hazard_probability(reshuffle_rate, QUARTER))


def successor_enthusiasm(predecessor, drawn, carry, routine):
    """A new minister's enthusiasm: part of the predecessor's ownership of the group, the
    larger the more the group is part of the ministry's routine (`routine` in [0, 1])."""
    share = carry * routine
    return share * predecessor + (1.0 - share) * drawn


def routine(visibility, base_rate):
    """How far the group is part of the ministry's routine: its recent activity against a
    normally engaged group's, at most 1."""
    return np.minimum(1.0, visibility / base_rate)


def minister_enthusiasm(u, mean, spread):
    """Enthusiasm of a new foreign minister: uniform on mean ± spread, within [0, 1]."""
    return np.clip(tape.uniform_between(u, mean - spread, mean + spread), 0.0, 1.0)


def effective_enthusiasm(enthusiasm, personalization):
    """How much the minister's enthusiasm drives engagement: 1 if nothing is personal."""
    return 1.0 - personalization * (1.0 - enthusiasm)


# ---------------------------------------------------------------- M4 value for money (000, "An
# Inexpensive, Flexible, Multipurpose Tool"; capacity-building and network-sharing; visibility)


def over_members(values):
    """Sum over the member axis (the last), adding members in order.

    One fixed order of additions for one run (N,) and a batch (R, N) alike, so both engines
    round the same way; faster than `sum(axis=-1)` over a short last axis.
    """
    values = np.asarray(values)
    total = values[..., 0].copy()
    for i in range(1, values.shape[-1]):
        total += values[..., i]
    return total


def partners_engagement(engagement, reach, active):
    """For each member, the reach-weighted engagement of the other active members."""
    weighted = np.where(active, reach * engagement, 0.0)
    return over_members(weighted)[..., None] - weighted


def network_value(partners, capacity_need, weight, full_partners):
    """Capacity building and network sharing: grows with the partners' engagement."""
    return weight * capacity_need * partners / full_partners


def visibility_value(visibility, base_rate, regional_fit, weight):
    """Visibility: saturating in recent activity, worth more to members with no regional fit."""
    return weight * (1.0 - regional_fit) * visibility / (visibility + base_rate)


def diversification_value(regional_fit, value):
    """A standing value of an extra diplomatic channel for members without a regional home."""
    return value * (1.0 - regional_fit)


def crisis_coordination_value(global_crisis, chair_effort, value):
    """In a global crisis, coordinating is worth more, the more capable the chair (004)."""
    return value * chair_effort * global_crisis


def membership_value(network, visibility, diversification, crisis_coordination):
    """What the group is worth to a member: the sum of its parts, added in this order."""
    return network + visibility + diversification + crisis_coordination


def net_value(value, cost, outside):
    """Value of membership less its cost and the outside option (M6)."""
    return value - cost - outside


# ---------------------------------------------------------------- M5 participation cost, and
# M12 focus, breadth and size


def focus_factor(agenda_breadth, reference_breadth, elasticity):
    """Output multiplier of a narrower (or wider) agenda than the reference (004: focus)."""
    return (reference_breadth / agenda_breadth) ** elasticity


def breadth_factor(agenda_breadth, reference_breadth, elasticity):
    """Network value multiplier of a broader (or narrower) agenda than the reference: more
    areas in which a member finds partners for its own priorities (000: a broad, open agenda)."""
    return (agenda_breadth / reference_breadth) ** elasticity


def agenda_work(visibility, base_rate, maintenance_share, agenda_breadth, reference_breadth,
                per_area):
    """The work membership asks: by the group's activity (`workload`), or by the areas on its
    agenda however busy it is (mechanisms.agenda_cost = "per_area"), 1 at the reference breadth."""
    return where(per_area, agenda_breadth / reference_breadth,
                 workload(visibility, base_rate, maintenance_share))


def workload(visibility, base_rate, maintenance_share):
    """The work membership asks, 1 in a normally engaged group: a fixed share for keeping up
    (focal points, the chair's year, the yearly meetings), the rest in proportion to the group's
    recent outputs (smoothed) against a normally engaged group's."""
    return maintenance_share + (1.0 - maintenance_share) * visibility / base_rate


def participation_cost(burden, work, n_active, full_partners, coordination_elasticity,
                       secretariat, saving, budget):
    """Cost of taking part, in value units, felt relative to the member's available budget.

    1 for a ministry of burden 1 at its founding budget in a normally engaged group of the
    reference size: the value unit. Grows with the work the group's activity asks (not with the
    number of areas it names) and with the number of members to coordinate; a secretariat saves
    a share of it.
    """
    size = (np.maximum(n_active - 1, 1) / full_partners) ** coordination_elasticity
    return burden * work * size * (1.0 - saving * secretariat) / budget


# ---------------------------------------------------------------- M6 engagement


def attention(in_crisis, crisis_depth, in_rival, rival_split, event_factor):
    """Share of attention the ministry can give the group, in [0, 1]."""
    share = event_factor * (1.0 - crisis_depth * in_crisis) * (1.0 - rival_split * in_rival)
    return np.clip(share, 0.0, 1.0)


SMALLEST_STAKES = 1e-12  # value units: below this nothing is at stake, and relative net value is 0


def stakes(value, cost, outside):
    """What is at stake in taking part: value, cost and the outside option together (M6)."""
    return value + cost + outside


def response_sensitivity(sensitivity, relative, relative_sensitivity, at_stake):
    """Steepness of the pull in net value: `sensitivity` per value unit, or, in the relative
    form (mechanisms.engagement = "relative"), `relative_sensitivity` per unit of net value
    relative to what is at stake, which lies in [-1, 1]: the pull cannot saturate beyond
    logistic(relative_sensitivity) whatever the values (000: value for money, a ratio)."""
    return where(relative, relative_sensitivity / np.maximum(at_stake, SMALLEST_STAKES),
                 sensitivity)


def engagement_target(attention_share, enthusiasm, standby, sensitivity, net_value, chair_boost,
                      is_chair):
    """Engagement a member moves toward, in [0, 1].

    target = attention * min(1, enthusiasm * (standby + (1 - standby) * logistic(sensitivity *
    net value)) + chair_boost * [chair]), with `sensitivity` from `response_sensitivity`.
    """
    pull = standby + (1.0 - standby) * special.expit(sensitivity * net_value)
    return attention_share * np.minimum(1.0, enthusiasm * pull + chair_boost * is_chair)


def value_response(attention_share, enthusiasm, standby, sensitivity, net_value, chair_boost,
                   is_chair, relative, at_stake):
    """How steeply the engagement target answers the group's value: d target / d value, with
    cost and outside option held, in engagement per value unit (0 where the target is capped
    at the member's attention)."""
    share = special.expit(sensitivity * net_value)
    uncapped = enthusiasm * (standby + (1.0 - standby) * share) + chair_boost * is_chair < 1.0
    # the relative form's argument, net / stakes, moves by (1 - net / stakes) / stakes per unit
    steepness = sensitivity * where(relative, 1.0 - net_value / np.maximum(at_stake,
                                                                           SMALLEST_STAKES), 1.0)
    slope = attention_share * enthusiasm * (1.0 - standby) * share * (1.0 - share) * steepness
    return np.where(uncapped, slope, 0.0)


def engagement_step(engagement, target, adjust_rate):
    """Move part of the way toward the target."""
    return engagement + adjust_rate * (target - engagement)


# ---------------------------------------------------------------- M9 rival bloc (000, "Competitive
# Pressure from the BRICS": members might defect if the BRICS expands)


def rival_round_quarters(u, rate, scheduled, draws_from=0):
    """(T, ...) mask of the rival bloc's expansion rounds: the dated ones, and random ones from
    quarter `draws_from` on (before it, the record shows who joined)."""
    u = np.asarray(u)
    scheduled = np.asarray(scheduled)  # (T,), or (T, R) when the runs' dated rounds differ
    if scheduled.ndim < u.ndim:
        scheduled = scheduled.reshape((-1,) + (1,) * (u.ndim - 1))
    drawn = np.arange(u.shape[0]).reshape((-1,) + (1,) * (u.ndim - 1)) >= draws_from
    return scheduled | (drawn & tape.happens(u, tape.hazard_probability(rate, QUARTER)))


def rival_invitations(round_now, scheduled_invite, pull, affinity, active, in_rival, u):
    """Members invited to join the rival bloc this quarter."""
    probability = np.minimum(1.0, pull * affinity)
    invited = scheduled_invite | (round_now & tape.happens(u, probability))
    return invited & (pull > 0) & active & ~in_rival


def rival_member(in_rival, joins_by_record, pull, invited, affinity, engagement, u):
    """Members of the rival bloc after this quarter: those already in it, those the record
    dates as joining now (unless there is no bloc, `pull` 0), and invited members who accept."""
    return in_rival | (joins_by_record & (pull > 0)) | rival_joins(invited, affinity, engagement,
                                                                   u)


def rival_joins(invited, affinity, engagement, u):
    """Invited members who accept: the more likely, the closer to the bloc and the less engaged."""
    return invited & tape.happens(u, affinity * (1.0 - engagement))


def covered_share(in_rival, active):
    """For each active member, the share of its active partners it also meets in the rival bloc:
    the others of the bloc among them if it is a member itself, else 0."""
    both = np.asarray(in_rival & active, dtype=np.int64)
    others = over_members(np.asarray(active, dtype=np.int64))[..., None] - np.asarray(
        active, dtype=np.int64)
    others_in_bloc = over_members(both)[..., None] - both
    return np.where(in_rival & active & (others > 0), others_in_bloc / np.maximum(others, 1),
                    0.0)


def distinct_share(agenda_overlap, covered):
    """Share of the group's value a larger forum does not already give a member (Gray 2018:
    organizations with similar goals and overlapping members compete): 1 less the share of the
    agenda the bloc covers, in proportion to the share of partners the member meets there."""
    return 1.0 - agenda_overlap * covered


def outside_option(in_rival, pull, value):
    """Value a member of the rival bloc sets against staying in the group."""
    return in_rival * pull * value


# ---------------------------------------------------------------- M10 exit


def disengaged_quarters(previous, engagement, threshold, active):
    """Consecutive quarters an active member's engagement has stayed below the threshold."""
    return np.where(active & (engagement < threshold), previous + 1, 0)


def member_exit_cost(exit_cost, treaty, treaty_exit_cost):
    return exit_cost + treaty_exit_cost * treaty


def staying_value(value, cost, engagement, outside, fixed_cost=False):
    """What membership is worth as the member now uses it: a dormant member pays little.

    The cost of participation scales with the engagement actually given (000: a tool kept on
    standby costs little), so a group can stay on the books after it stops being used. With a
    fixed cost of membership (mechanisms.exit = "fixed") a member weighs the full cost whatever
    it gives.
    """
    return value - cost * where(fixed_cost, 1.0, engagement) - outside


def leaves_on_review(new_government, net_value, exit_cost, sensitivity, review_exit, u,
                     own_valuation=False, spread=1.0):
    """Members whose new government takes its country out of the group.

    A government that takes office reviews the group. As its predecessor used it
    (mechanisms.review = "as_used"), it leaves with probability
    `review_exit · logistic(−sensitivity · (net value + exit cost))`, near `review_exit` when
    the group is worth much less to it than leaving costs, near 0 when it is worth more.
    With a valuation of its own ("own_valuation"), it values the group at what the group gives
    plus a view of its own, `spread · logit(u)` (logistic, redrawn at each change of
    government), and leaves when that falls short of staying by more than leaving costs:
    with probability `logistic(−(net value + exit cost) / spread)`, so a group on standby
    that gives little is left more often than one that gives much (seeds/population/exits.csv:
    exits from UNASUR, CELAC and ALBA by new governments that turned away from the camp of
    the government that joined).
    """
    margin = net_value + exit_cost
    probability = where(own_valuation, special.expit(-margin / spread),
                        review_exit * special.expit(-sensitivity * margin))
    return np.asarray(new_government, dtype=bool) & tape.happens(u, probability)


def exits(active, disengaged, patience, stay_value, exit_cost, by_review_only=False):
    """Members that leave: disengaged long enough, and worse off staying than leaving costs
    (never, where only a new government's review takes a country out: mechanisms.exit =
    "review")."""
    return active & (disengaged >= patience) & (stay_value < -exit_cost) & ~np.asarray(
        by_review_only, dtype=bool)


# ---------------------------------------------------------------- M11 institutional design enters
# through secretariat/treaty arguments: dues (M1), cost saving (M5), exit cost (M10) above; the
# chair that never lapses and its support (M7), output floor (M8) in sim.model.group_rules.
