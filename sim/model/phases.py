"""The quarter as a table of phases, and the one state schema both engines keep.

A quarter is the phases of `PHASES`, in order. Each phase is a function `(m, g, p, x)` of the
members' state `m`, the group's state `g`, the parameters `p` and this quarter's exogenous inputs
`x`; it reads and writes state variables by name and calls only the rules (`sim.model.rules`,
`sim.model.group_rules`). The engines
differ only in what the four arguments hold:

- the Mesa engine (`sim.model.mesa_engine`) calls a member phase once per agent, with the agent
  itself as `m`, the model as `g` and that member's own parameters and inputs, and a group phase
  once, with the members' values as `(N,)` arrays;
- the fast engine (`sim.model.fast_engine`) calls every phase once per quarter for a whole batch,
  with member values `(R, N)` and group values `(R,)` (on the member axis, `(R, 1)`, inside a
  member phase).

A phase marked `active_only` acts on active members only: the Mesa engine skips the others, the
fast engine keeps their previous values of what the phase writes.

The state variables (`STATE`: name, scope, dtype, the value before the first quarter, the fill
value of a series before the run reaches a quarter, and whether it is recorded) are declared here
once; both engines build their initial state and their recorded series from them, and
`sim.model.trajectory` the columns of a run's record. Exogenous inputs (`INPUTS`) are computed
before the run for every quarter at once by `exogenous_inputs`, the same way for both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.model import group_rules, rules, tape
from sim.model.params import (
    MECHANISM_PARAMETERS,
    GroupParams,
    MemberParams,
    WorldParams,
    numeric_fields,
    variant_code,
)

MEMBER, GROUP = "member", "group"
# the structural variants' codes (sim.model.params.MechanismParams: a choice's index)
EXIT_FIXED, EXIT_REVIEW = variant_code("exit", "fixed"), variant_code("exit", "review")
DUES_FULL, DUES_GROWING = variant_code("dues", "full"), variant_code("dues", "growing")
AGENDA_PER_AREA = variant_code("agenda_cost", "per_area")
ENGAGEMENT_RELATIVE = variant_code("engagement", "relative")
REVIEW_OWN_VALUATION = variant_code("review", "own_valuation")


@dataclass(frozen=True)
class Variable:
    """A state variable (or a recorded exogenous input) of a run."""

    name: str
    scope: str  # MEMBER: one value per member; GROUP: one per run
    dtype: type
    initial: Any  # before the first quarter: a value, or a function of the parameters
    fill: Any  # in a recorded series, at quarters the run did not reach
    recorded: bool
    meaning: str
    source: str = "state"  # "input": recorded from this quarter's exogenous input of the name

    def initial_value(self, p) -> Any:
        return self.initial(p) if callable(self.initial) else self.initial


def _var(name, scope, dtype, initial, fill, recorded, meaning, source="state") -> Variable:
    return Variable(name, scope, dtype, initial, fill, recorded, meaning, source)


NAN = float("nan")
STATE: tuple[Variable, ...] = (
    # Group, recorded (the order of a run's group series)
    _var("chair", GROUP, np.int64, rules.VACANT, rules.VACANT, True,
         "member index of the chair; -1 in a vacant term (M7)"),
    _var("new_term", GROUP, bool, False, False, True, "a chair term starts (M7)", "input"),
    _var("vacant_in_a_row", GROUP, np.int64, 0, 0, True,
         "consecutive vacant chair terms (M7); a vacant chair is not death"),
    _var("undefended_in_a_row", GROUP, np.int64, 0, 0, True,
         "consecutive chair terms at whose start the active members' mean staying value fell "
         "short of dissolve_value (M10)"),
    _var("chair_effort", GROUP, float, 0.0, NAN, True, "the chair's effort this quarter (M7)"),
    _var("outputs", GROUP, np.int64, 0, 0, True, "joint outputs this quarter, every level (M8)"),
    _var("outputs_officials", GROUP, np.int64, 0, 0, True,
         "officials' and missions' joint outputs this quarter (M8)"),
    _var("outputs_ministers", GROUP, np.int64, 0, 0, True,
         "ministers' meetings and statements this quarter (M8)"),
    _var("reactions", GROUP, np.int64, 0, 0, True,
         "ministers' joint statements answering outside events this quarter (M8)"),
    _var("outputs_leaders", GROUP, np.int64, 0, 0, True, "leaders' summits this quarter (M8)"),
    _var("activity_rate", GROUP, float, 0.0, NAN, True,
         "expected joint outputs, every level (M8)"),
    _var("visibility", GROUP, float, lambda p: p.founding_visibility * p.base_rate, NAN, True,
         "smoothed outputs (M8)"),
    _var("mean_engagement", GROUP, float, 0.0, NAN, True, "mean engagement of active members"),
    _var("active_members", GROUP, np.int64, 0, 0, True, "active members after exits"),
    _var("apex", GROUP, np.int8, rules.OFFICIALS, rules.OFFICIALS, True,
         "apex level: 0 officials, 1 ministers, 2 leaders (outcome rule)"),
    _var("since_apex", GROUP, np.int64, 0, 0, True,
         "quarters since the last meeting or document at the apex level (outcome rule)"),
    _var("state", GROUP, np.int8, rules.ALIVE, rules.ALIVE, True, "alive, zombie or dead"),
    _var("global_crisis", GROUP, bool, False, False, True, "a global crisis is on (M12)",
         "input"),
    _var("rival_round", GROUP, bool, False, False, True,
         "an expansion round of the rival bloc (M9)", "input"),
    # Group, not recorded
    _var("chair_pointer", GROUP, np.int64, 0, 0, False,
         "position in the rotation whose turn comes next (M7)"),
    _var("n_active", GROUP, np.int64, 0, 0, False, "active members when members decide"),
    _var("window_officials", GROUP, np.int64, 0, 0, False,
         "officials' outputs in the apex window"),
    _var("window_ministers", GROUP, np.int64, 0, 0, False,
         "ministers' outputs in the apex window"),
    _var("window_leaders", GROUP, np.int64, 0, 0, False, "leaders' summits in the apex window"),
    _var("since_summit", GROUP, np.int64, 0, 0, False,
         "quarters since the last leaders' summit (the founding counts) (M8)"),
    _var("last_apex", GROUP, np.int64, 0, 0, False,
         "last quarter with an apex-level event (the founding counts)"),
    _var("last_active", GROUP, np.int64, 0, 0, False,
         "last quarter with activity at any level (the founding counts)"),
    _var("dead", GROUP, bool, False, False, False, "the group died this quarter"),
    _var("cause", GROUP, np.int64, rules.NO_CAUSE, rules.NO_CAUSE, False,
         "cause of death this quarter"),
    # Member, recorded (the order of a run's member series)
    _var("budget", MEMBER, float, 1.0, NAN, True,
         "budget available for the group, share of the founding one (M1)"),
    _var("enthusiasm", MEMBER, float, lambda p: p.founding_enthusiasm, NAN, True,
         "enthusiasm of the foreign minister (M3)"),
    _var("attention", MEMBER, float, 1.0, NAN, True, "share of attention for the group (M6)"),
    _var("engagement", MEMBER, float, 0.0, NAN, True, "share of attention given (M6)"),
    _var("net_value", MEMBER, float, 0.0, NAN, True, "value minus cost and outside option"),
    _var("crisis", MEMBER, bool, False, False, True, "a domestic-priority shock is on (M2)"),
    _var("status", MEMBER, np.int8, rules.PENDING, rules.PENDING, True,
         "pending, active or exited"),
    _var("active", MEMBER, bool, False, False, False, "status is active (kept with it)"),
    _var("in_rival", MEMBER, bool, lambda p: p.in_rival, False, True,
         "also a member of the rival bloc (M9)"),
    _var("invited", MEMBER, bool, False, False, True, "invited to the rival bloc (M9)"),
    _var("new_minister", MEMBER, bool, False, False, True,
         "a new foreign minister takes office (M3)", "input"),
    _var("new_government", MEMBER, bool, False, False, True,
         "an election changes the government (M3, M10)", "input"),
    # Member, not recorded
    _var("log_budget", MEMBER, float, lambda p: rules.budget_path(p.budget_trend, -1, 0.0,
                                                                  p.trend_until,
                                                                  p.budget_trend_after),
         NAN, False, "log of the budget before dues (M1)"),
    _var("budget_path", MEMBER, float, lambda p: rules.budget_path(p.budget_trend, -1, 0.0,
                                                                   p.trend_until,
                                                                   p.budget_trend_after),
         NAN, False, "log budget the trend and dated events point to (M1)"),
    _var("crisis_left", MEMBER, np.int64, 0, 0, False, "crisis quarters left after this one"),
    _var("partners", MEMBER, float, 0.0, NAN, False, "engagement of the partners (M4)"),
    _var("covered", MEMBER, float, 0.0, NAN, False,
         "share of the partners the member also meets in the rival bloc (M9)"),
    _var("is_chair", MEMBER, bool, False, False, False, "holds the chair (M6)"),
    _var("value", MEMBER, float, 0.0, NAN, False, "value of membership (M4)"),
    _var("cost", MEMBER, float, 0.0, NAN, False, "cost of taking part (M5)"),
    _var("outside", MEMBER, float, 0.0, NAN, False, "value of the outside option (M9)"),
    _var("disengaged", MEMBER, np.int64, 0, 0, False, "quarters below the exit threshold (M10)"),
    _var("staying", MEMBER, float, 0.0, NAN, False,
         "what membership is worth as the member now uses it (M10)"),
)
VARIABLES = {v.name: v for v in STATE}
MEMBER_STATE = tuple(v for v in STATE if v.scope == MEMBER and v.source == "state")
GROUP_STATE = tuple(v for v in STATE if v.scope == GROUP and v.source == "state")
RECORDED_GROUP = tuple(v for v in STATE if v.recorded and v.scope == GROUP)
RECORDED_MEMBER = tuple(v for v in STATE if v.recorded and v.scope == MEMBER)
# Group series a phase reads back over past quarters, as `<name>_history`
HISTORIES = ("outputs_officials", "outputs_ministers", "outputs_leaders")

# Exogenous inputs of a quarter: name -> scope. Arrays over every quarter, time on the first axis.
# Besides these, every stream of the tape the phases read (`tape.PHASE_STREAMS`) is an input of
# its own name: a uniform.
INPUTS = {
    "quarter": GROUP,
    "new_term": GROUP,  # M7
    "rival_round": GROUP,  # M9
    "global_crisis": GROUP,  # M12
    "budget_shock": MEMBER,  # M1: standard normal
    "budget_shift": MEMBER,  # M1: dated budget events, log
    "crisis_length": MEMBER,  # M2: quarters, if a crisis starts now
    "forced_crisis": MEMBER,  # M2: a dated crisis of this many quarters starts
    "new_minister": MEMBER,  # M3: a change of government or a reshuffle
    "new_government": MEMBER,  # M3, M10: an election that changes the government
    "minister_enthusiasm": MEMBER,  # M3: a new minister's enthusiasm, if one takes office
    "attention_factor": MEMBER,  # M6: dated attention events
    "invitation": MEMBER,  # M9: a dated invitation to the rival bloc
    "joins_rival": MEMBER,  # M9: a dated join of the rival bloc (a fact of the record)
    **tape.PHASE_STREAMS,
}


def exogenous_inputs(run_tape: tape.Tape, calendar, p) -> dict[str, np.ndarray]:
    """Every quarter's exogenous inputs, from the run's tape, the calendar and parameters.

    Elementwise in time, so computing them all before the run equals computing them quarter by
    quarter. Shapes: group (T,) or (T, R); member (T, N) or (T, R, N).
    """
    dated = calendar.dated
    quarters = calendar.rival_round.shape[0]
    chair_term = np.asarray(p.chair_term)
    quarter = np.arange(quarters)
    return {
        "quarter": quarter,
        "new_term": group_rules.is_term_start(quarter.reshape((-1,) + (1,) * chair_term.ndim),
                                              chair_term),
        "rival_round": calendar.rival_round,
        "global_crisis": calendar.global_crisis,
        "budget_shock": tape.standard_normal(run_tape.member_stream("budget")),
        "budget_shift": dated.budget_shift,
        "crisis_length": rules.crisis_length(run_tape.member_stream("crisis_length"),
                                             p.crisis_years),
        "forced_crisis": dated.forced_crisis,
        "new_minister": calendar.new_minister,
        "new_government": calendar.new_government,
        "minister_enthusiasm": rules.minister_enthusiasm(run_tape.member_stream("enthusiasm"),
                                                         p.enthusiasm_mean,
                                                         p.enthusiasm_spread),
        "attention_factor": dated.attention_factor,
        "invitation": dated.invitation,
        "joins_rival": dated.rival_join,
        **run_tape.phase_streams(),
    }


@dataclass(frozen=True)
class Derived:
    """A parameter computed once per run from the declared ones: its scope and formula."""

    name: str
    scope: str
    compute: Callable[[Any], Any]


DERIVED: tuple[Derived, ...] = (
    Derived("focus", GROUP, lambda p: rules.focus_factor(p.agenda_breadth, p.reference_breadth,
                                                         p.focus_elasticity)),
    Derived("breadth", GROUP, lambda p: rules.breadth_factor(p.agenda_breadth,
                                                             p.reference_breadth,
                                                             p.breadth_elasticity)),
    Derived("dues", GROUP, lambda p: rules.secretariat_dues(p.secretariat_dues, p.secretariat)),
    # the structural variants, as flags (sim.model.params.MechanismParams)
    Derived("dues_growing", GROUP, lambda p: p.mechanism_dues == DUES_GROWING),
    Derived("dues_in_full", GROUP, lambda p: p.mechanism_dues == DUES_FULL),
    Derived("cost_per_area", GROUP, lambda p: p.mechanism_agenda_cost == AGENDA_PER_AREA),
    Derived("fixed_exit_cost", GROUP, lambda p: p.mechanism_exit == EXIT_FIXED),
    Derived("exit_by_review_only", GROUP, lambda p: p.mechanism_exit == EXIT_REVIEW),
    Derived("relative_engagement", GROUP,
            lambda p: p.mechanism_engagement == ENGAGEMENT_RELATIVE),
    Derived("own_valuation_review", GROUP,
            lambda p: p.mechanism_review == REVIEW_OWN_VALUATION),
    Derived("leaving_cost", MEMBER, lambda p: rules.member_exit_cost(
        p.exit_cost, rules.on_member_axis(p.treaty), rules.on_member_axis(p.treaty_exit_cost))),
    Derived("crisis_onset_calm", MEMBER,
            lambda p: rules.crisis_onset_probability(p.crisis_rate, 1.0)),
    Derived("crisis_onset_global", MEMBER, lambda p: rules.crisis_onset_probability(
        p.crisis_rate, rules.on_member_axis(p.crisis_hazard_factor))),
    Derived("apex_window", GROUP, lambda p: group_rules.quarters_of(p.apex_window_months)),
    Derived("grace_quarters", GROUP, lambda p: group_rules.quarters_of(p.grace_months)),
    Derived("zombie_quarters", GROUP, lambda p: group_rules.quarters_of(p.zombie_months)),
    Derived("dormant_quarters", GROUP, lambda p: group_rules.quarters_of(p.dormant_months)),
    # carried over from one stretch of a run to the next at a change (sim.model.schedule)
    Derived("budget_offset", MEMBER, lambda p: np.zeros(np.shape(p.budget_trend))),
    Derived("secretariat_since", GROUP,
            lambda p: np.zeros(np.shape(p.secretariat), dtype=np.int64)),
)


def run_parameters(group: Mapping[str, Any], member: Mapping[str, Any], joins_at,
                   rotation, trend_until, rotation_length=None) -> SimpleNamespace:
    """The parameters as phases read them: group and world values, member values on the last
    axis, the quarter each member joins, the chair rotation (and its length in each run, if the
    runs' orders are padded to one width: sim.model.shapes), the last quarter of each member's
    budget trend and the derived parameters."""
    rotation = np.asarray(rotation)
    p = SimpleNamespace(**group, **member, joins_at=np.asarray(joins_at), rotation=rotation,
                        rotation_length=(rotation.shape[-1] if rotation_length is None
                                         else np.asarray(rotation_length)),
                        trend_until=np.asarray(trend_until))
    vars(p).update({derived.name: derived.compute(p) for derived in DERIVED})
    return p


def member_parameters(p: SimpleNamespace, index: int) -> SimpleNamespace:
    """One member's view of `run_parameters` in one run: its own values, and the group's, as
    plain Python scalars (quicker than numpy's for one agent's arithmetic)."""
    def own(name: str, value):
        value = np.asarray(value)[..., index] if name in MEMBER_PARAMETERS else value
        return value.item() if isinstance(value, np.generic | np.ndarray) and np.ndim(
            value) == 0 else value

    return SimpleNamespace(**{name: own(name, value) for name, value in vars(p).items()})


MEMBER_PARAMETERS = frozenset(
    {*numeric_fields(MemberParams), "joins_at", "trend_until",
     *(derived.name for derived in DERIVED if derived.scope == MEMBER)})
GROUP_PARAMETERS = frozenset(
    {*numeric_fields(GroupParams), *numeric_fields(WorldParams), *MECHANISM_PARAMETERS,
     *(derived.name for derived in DERIVED if derived.scope == GROUP)})
GROUP_NAMES = frozenset(  # every name that holds one value per run, in state, inputs or parameters
    {v.name for v in STATE if v.scope == GROUP}
    | {name for name, scope in INPUTS.items() if scope == GROUP} | GROUP_PARAMETERS)


# ------------------------------------------------------------------------------ the phases


def face_circumstances(m, g, p, x) -> None:
    """Join if due; then the budget (M1), a domestic crisis (M2) and a new minister (M3)."""
    joining = rules.joins_now(m.status, p.joins_at, x.quarter)
    if rules.anywhere(joining):
        m.status = rules.where(joining, rules.ACTIVE, m.status)
        m.active = rules.is_active(m.status)
        m.engagement = rules.where(joining, p.initial_engagement, m.engagement)
    path_now = rules.budget_path(p.budget_trend, x.quarter, x.budget_shift, p.trend_until,
                                 p.budget_trend_after) + p.budget_offset
    m.log_budget = rules.budget_step(m.log_budget, m.budget_path, path_now, p.budget_reversion,
                                     p.budget_volatility, x.budget_shock)
    m.budget_path = path_now
    m.budget = rules.available_budget(
        m.log_budget, rules.dues_now(p.dues, p.dues_growing, p.secretariat_dues_growth,
                                     x.quarter - p.secretariat_since),
        p.budget_floor, p.dues_in_full)
    onset = rules.where(x.global_crisis, p.crisis_onset_global, p.crisis_onset_calm)
    m.crisis, m.crisis_left = rules.crisis_step(m.crisis_left, x.crisis_onset, x.crisis_length,
                                                onset, x.forced_crisis)
    m.enthusiasm = rules.where(
        x.new_minister,
        rules.successor_enthusiasm(m.enthusiasm, x.minister_enthusiasm, p.ownership_carry,
                                   rules.routine(g.visibility, p.base_rate)),
        m.enthusiasm)


def consider_rival_bloc(m, g, p, x) -> None:
    """M9: an invitation to the rival bloc, and whether to accept it."""
    m.invited = rules.rival_invitations(x.rival_round, x.invitation, p.rival_pull,
                                        p.rival_affinity, m.active, m.in_rival,
                                        x.rival_invite)
    if rules.anywhere(m.invited) or rules.anywhere(x.joins_rival):
        m.in_rival = rules.rival_member(m.in_rival, x.joins_rival, p.rival_pull, m.invited,
                                        p.rival_affinity, m.engagement, x.rival_join)


def view_of_the_group(m, g, p, x) -> None:
    """M7 (the chair, at the start of a term, unless the member whose turn it is will not
    convene) and what members see of each other."""
    active = m.active
    willingness = group_rules.chair_willingness(m.engagement, m.budget,
                                                rules.on_member_axis(p.chair_cost))
    if rules.anywhere(x.new_term):
        able = group_rules.chair_able(m.budget, rules.on_member_axis(p.chair_cost),
                                      rules.on_member_axis(p.chair_threshold))
        chosen, pointer, vacant = group_rules.choose_chair(g.chair_pointer, able, active,
                                                           p.rotation, p.secretariat,
                                                           p.rotation_length)
        declined = group_rules.declines(chosen, willingness, p.convene_threshold, p.secretariat)
        chosen = rules.where(declined, rules.VACANT, chosen)
        vacant = vacant | declined
        g.chair = rules.where(x.new_term, chosen, g.chair)
        g.chair_pointer = rules.where(x.new_term, pointer, g.chair_pointer)
        g.vacant_in_a_row = group_rules.vacancies_in_a_row(g.vacant_in_a_row, x.new_term, vacant)
    g.chair_effort = group_rules.chair_effort(g.chair, willingness, active, p.secretariat,
                                              p.secretariat_support)
    g.n_active = rules.count_members(active)
    m.partners = rules.partners_engagement(m.engagement, p.reach, active)
    m.covered = rules.covered_share(m.in_rival, active)
    m.is_chair = group_rules.is_chair(g.chair, p.rotation.shape[-1])


def choose_engagement(m, g, p, x) -> None:
    """M4–M6: weigh value against cost and move engagement toward the target."""
    m.value = rules.membership_value(
        rules.network_value(m.partners, p.capacity_need, p.network_weight * p.breadth,
                            p.network_partners),
        rules.visibility_value(g.visibility, p.base_rate, p.regional_fit, p.visibility_weight),
        rules.diversification_value(p.regional_fit, p.diversification_value),
        rules.crisis_coordination_value(x.global_crisis, g.chair_effort,
                                        p.crisis_coordination_value)
    ) * rules.distinct_share(p.rival_agenda_overlap, m.covered)
    m.cost = rules.participation_cost(
        p.cost_burden, rules.agenda_work(g.visibility, p.base_rate, p.maintenance_share,
                                         p.agenda_breadth, p.reference_breadth,
                                         p.cost_per_area),
        g.n_active, p.network_partners, p.coordination_elasticity, p.secretariat,
        p.secretariat_saving, m.budget)
    m.outside = rules.outside_option(m.in_rival, p.rival_pull, p.rival_outside_value)
    m.net_value = rules.net_value(m.value, m.cost, m.outside)
    m.attention = rules.attention(m.crisis, p.crisis_depth, m.in_rival, p.rival_split,
                                  x.attention_factor)
    sensitivity = rules.response_sensitivity(p.value_sensitivity, p.relative_engagement,
                                             p.relative_sensitivity,
                                             rules.stakes(m.value, m.cost, m.outside))
    target = rules.engagement_target(
        m.attention, rules.effective_enthusiasm(m.enthusiasm, p.personalization), p.standby,
        sensitivity, m.net_value, p.chair_boost, m.is_chair)
    m.engagement = rules.engagement_step(m.engagement, target, p.adjust_rate)


def produce_outputs(m, g, p, x) -> None:
    """M8: joint outputs at three levels: officials' work with the members' engagement,
    ministers' meetings and statements with the chair's effort, leaders' summits with every
    government's commitment."""
    g.mean_engagement = group_rules.mean_engagement(m.engagement, m.active)
    officials = group_rules.officials_rate(p.base_rate, p.officials_share, p.focus,
                                           g.mean_engagement, p.reference_drive, p.secretariat,
                                           p.secretariat_floor)
    ministers = group_rules.ministers_rate(p.base_rate, p.officials_share, p.focus, g.chair_effort,
                                           g.mean_engagement, p.reference_drive)
    summit = group_rules.summit_held(g.since_summit, p.summit_interval,
                                     group_rules.least_engagement(m.engagement, m.active),
                                     p.summit_commitment)
    g.since_summit = group_rules.quarters_since(g.since_summit, summit)
    leaders = summit.astype(np.int64)
    reactions = group_rules.reaction_rate(p.outside_event_rate, g.mean_engagement)
    g.activity_rate = officials + ministers + reactions + leaders
    g.outputs_officials = group_rules.joint_outputs(x.officials_activity, officials)
    g.reactions = group_rules.joint_outputs(x.reactions, reactions)
    g.outputs_ministers = group_rules.joint_outputs(x.activity, ministers) + g.reactions
    g.outputs_leaders = leaders
    g.outputs = g.outputs_officials + g.outputs_ministers + g.outputs_leaders
    g.visibility = group_rules.visibility_step(g.visibility, g.outputs, p.visibility_smoothing)


def consider_exit(m, g, p, x) -> None:
    """M10: a new government may take its country out of a group worth little to it; a member
    also leaves after long disengagement if staying is worth less than leaving costs."""
    active = m.active
    m.disengaged = rules.disengaged_quarters(m.disengaged, m.engagement, p.exit_threshold,
                                             active)
    m.staying = stay = rules.staying_value(m.value, m.cost, m.engagement, m.outside,
                                           p.fixed_exit_cost)
    leaving = rules.exits(active, m.disengaged, p.exit_patience, stay, p.leaving_cost,
                          p.exit_by_review_only) | (
        active & rules.leaves_on_review(x.new_government, stay, p.leaving_cost,
                                        p.value_sensitivity, p.review_exit,
                                        x.government_review, p.own_valuation_review,
                                        p.review_spread))
    if rules.anywhere(leaving):
        m.status = rules.where(leaving, rules.EXITED, m.status)
        m.active = rules.is_active(m.status)
        m.engagement = rules.where(leaving, 0.0, m.engagement)


def assess_outcome(m, g, p, x) -> None:
    """The outcome rule (docs/validation.md): the apex level, a zombie after `zombie_months`
    without an apex event, death by the members' winding up (`termination_terms` chair terms
    in a row without a convener), their dissolution of a group that no longer serves them
    (`dissolve_terms` chair terms in a row), too few members or `dormant_months` without
    activity."""
    g.active_members = rules.count_members(m.active)
    q = x.quarter
    for level in ("officials", "ministers", "leaders"):
        outputs = getattr(g, f"outputs_{level}")
        leaving = group_rules.leaving_window(getattr(g, f"outputs_{level}_history"), q,
                                             p.apex_window)
        setattr(g, f"window_{level}",
                group_rules.outputs_in_window(getattr(g, f"window_{level}"), outputs, leaving))
    g.apex = group_rules.apex_step(g.apex, g.window_officials, g.window_ministers,
                                   g.window_leaders, p.apex_repeat)
    happened = group_rules.apex_event(g.apex, g.outputs_officials, g.outputs_ministers,
                                      g.outputs_leaders)
    g.last_apex = group_rules.last_quarter(g.last_apex, happened, q)
    g.last_active = group_rules.last_quarter(g.last_active, g.outputs > 0, q)
    g.since_apex = q - g.last_apex
    g.undefended_in_a_row = group_rules.undefended_in_a_row(  # the founding term is not judged
        g.undefended_in_a_row, x.new_term & (q > 0),
        group_rules.mean_staying_value(m.staying, m.active), p.dissolve_value)
    g.dead, g.cause = group_rules.death(
        g.active_members, p.min_members, q - g.last_active, p.dormant_quarters,
        group_rules.wound_up(g.vacant_in_a_row, p.termination_terms),
        group_rules.dissolved(g.undefended_in_a_row, p.dissolve_terms, p.secretariat,
                              p.secretariat_reprieve))
    g.state = group_rules.group_state(g.dead, q, g.since_apex, p.grace_quarters,
                                      p.zombie_quarters)


@dataclass(frozen=True)
class Phase:
    """One step of the quarter: its scope, whether inactive members sit it out, what it writes
    and the mechanisms it applies."""

    name: str
    scope: str
    active_only: bool
    writes: tuple[str, ...]
    mechanisms: tuple[str, ...]
    apply: Callable[[Any, Any, Any, Any], None]


PHASES: tuple[Phase, ...] = (
    Phase("face_circumstances", MEMBER, False,
          ("status", "active", "engagement", "log_budget", "budget_path", "budget", "crisis",
           "crisis_left", "enthusiasm"), ("M1", "M2", "M3"), face_circumstances),
    Phase("consider_rival_bloc", MEMBER, False, ("invited", "in_rival"), ("M9",),
          consider_rival_bloc),
    Phase("view_of_the_group", GROUP, False,
          ("chair", "chair_pointer", "vacant_in_a_row", "chair_effort",
           "n_active", "partners", "covered", "is_chair"), ("M7", "M4", "M9"),
          view_of_the_group),
    Phase("choose_engagement", MEMBER, True,
          ("value", "cost", "outside", "net_value", "attention", "engagement"),
          ("M4", "M5", "M6", "M12"), choose_engagement),
    Phase("produce_outputs", GROUP, False,
          ("mean_engagement", "since_summit", "activity_rate", "outputs_officials", "reactions",
           "outputs_ministers", "outputs_leaders", "outputs", "visibility"), ("M8",),
          produce_outputs),
    # The exit rule applies to active members by itself (`exits` and `disengaged_quarters` take
    # `active`), so every member takes part: an inactive one stays as it is.
    Phase("consider_exit", MEMBER, False,
          ("disengaged", "staying", "status", "active", "engagement"),
          ("M10",),
          consider_exit),
    Phase("assess_outcome", GROUP, False,
          ("active_members", "undefended_in_a_row", "window_officials", "window_ministers",
           "window_leaders", "apex",
           "last_apex", "last_active", "since_apex", "dead", "cause", "state"), ("M10",),
          assess_outcome),
)
PHASE = {phase.name: phase for phase in PHASES}
