"""The fast engine: many runs advanced in lockstep on (runs, members) arrays.

It applies the same `sim.model.rules` functions as the Mesa engine, in the same order, to
arrays with a leading run axis, fed from the same random tapes; its results equal the Mesa
engine's run for run (tests/test_equivalence.py). Runs in one batch may differ in every
numeric parameter, but must share the members and the dated events of their scenario.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.model import rules
from sim.model.calendar import DatedEvents, compile_calendar, dated_events
from sim.model.outcomes import summary_arrays
from sim.model.params import GroupParams, MemberParams, Scenario, WorldParams
from sim.model.tape import Shocks, draw_tapes
from sim.model.trajectory import GROUP_SERIES, MEMBER_SERIES, Trajectory


@dataclass(frozen=True)
class StackedParams:
    """Parameters of R runs as arrays: group and world (R,), members (R, N)."""

    group: dict[str, np.ndarray]
    world: dict[str, np.ndarray]
    member: dict[str, np.ndarray]


NUMERIC = (bool, int, float)


def stack_params(scenarios: Sequence[Scenario]) -> StackedParams:
    """Stack the numeric parameters of scenarios that share members and events.

    Scenarios are usually repeated (one per design point, many replicates): each distinct one is
    read once and its values are spread to its runs.
    """
    first = scenarios[0]
    distinct: dict[int, int] = {}
    index = np.array([distinct.setdefault(id(s), len(distinct)) for s in scenarios])
    unique = list({id(s): s for s in scenarios}.values())
    for s in unique[1:]:
        if s.codes != first.codes or s.events != first.events or s.start != first.start or any(
            (a.joins, a.first_election) != (b.joins, b.first_election)
            for a, b in zip(s.members, first.members, strict=True)
        ):
            raise ValueError("a batch must share members, start and dated events")

    def numeric_fields(cls):
        return [f.name for f in dataclasses.fields(cls)
                if isinstance(getattr(cls(), f.name), NUMERIC)]

    group = {n: np.array([getattr(s.group, n) for s in unique])[index]
             for n in numeric_fields(GroupParams)}
    world = {n: np.array([getattr(s.world, n) for s in unique])[index]
             for n in numeric_fields(WorldParams)}
    member = {n: np.array([[getattr(m, n) for m in s.members] for s in unique])[index]
              for n in numeric_fields(MemberParams)}
    return StackedParams(group, world, member)


@dataclass
class BatchResult:
    """Summaries of R runs (arrays of shape (R,)), and their trajectories if recorded."""

    seeds: np.ndarray
    summary: dict[str, np.ndarray]
    trajectories: list[Trajectory] | None = None


def run_batch(scenarios: Scenario | Sequence[Scenario], seeds: Sequence[int],
              years: int | None = None, record_series: bool = False) -> BatchResult:
    """Run one scenario per seed (or one scenario for all seeds) on the fast engine."""
    seeds = np.asarray(seeds, dtype=np.int64)
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios] * len(seeds)
    if len(scenarios) != len(seeds):
        raise ValueError("one scenario per seed, or a single scenario")
    first = scenarios[0]
    quarters = (years or first.years) * rules.QUARTERS_PER_YEAR
    if years is None and any(s.years != first.years for s in scenarios):
        raise ValueError("a batch must share its horizon")
    params = stack_params(scenarios)
    dated = dated_events(first, quarters)
    return _simulate(first, params, dated, seeds, quarters, record_series)


def _simulate(template: Scenario, p: StackedParams, dated: DatedEvents, seeds: np.ndarray,
              quarters: int, record_series: bool) -> BatchResult:
    """Advance every run quarter by quarter, in the order of `MinilateralModel.step`."""
    g, w, m = p.group, p.world, p.member
    gc = {name: value[:, None] for name, value in g.items()}  # group values on the member axis
    wc = {name: value[:, None] for name, value in w.items()}
    runs, n = m["reach"].shape
    members = np.arange(n)
    tape = draw_tapes(seeds, quarters, n)
    shocks = Shocks.from_tape(tape)
    calendar = compile_calendar(dated, tape, m["election_interval"], w["rival_round_rate"],
                                w["global_crisis_rate"], w["global_crisis_years"])
    del tape
    # Exogenous inputs, transformed for every quarter at once (elementwise: equal to the
    # per-quarter transforms the agents make). Arrays are time-major: [t] is one quarter.
    crisis_lengths = rules.crisis_length(shocks.crisis_length, m["crisis_years"])
    new_ministers = rules.minister_enthusiasm(shocks.enthusiasm, m["enthusiasm_mean"],
                                              m["enthusiasm_spread"])
    onset_calm = rules.crisis_onset_probability(m["crisis_rate"], 1.0)
    onset_global = rules.crisis_onset_probability(m["crisis_rate"],
                                                  wc["crisis_hazard_factor"])
    rotation = np.array(template.chair_rotation)
    focus = rules.focus_factor(g["agenda_breadth"], g["reference_breadth"],
                               g["focus_elasticity"])
    dues = gc["secretariat_dues"] * gc["secretariat"]
    exit_cost = rules.member_exit_cost(m["exit_cost"], gc["treaty"], gc["treaty_exit_cost"])
    window = g["zombie_window"]
    term_starts = np.stack([rules.is_term_start(t, g["chair_term"]) for t in range(quarters)],
                           axis=1)

    # Member state
    status = np.full((runs, n), rules.PENDING, dtype=np.int8)
    path_before = rules.budget_path(m["budget_trend"], -1, 0.0)
    log_budget = path_before
    crisis_left = np.zeros((runs, n), dtype=np.int64)
    enthusiasm = m["founding_enthusiasm"].astype(float)
    attention = np.ones((runs, n))
    engagement = np.zeros((runs, n))
    value = np.zeros((runs, n))
    cost = np.zeros((runs, n))
    net_value = np.zeros((runs, n))
    in_rival = m["in_rival"].astype(bool)
    rival_at_start = in_rival.copy()
    disengaged = np.zeros((runs, n), dtype=np.int64)
    # Group state
    chair = np.full(runs, rules.VACANT, dtype=np.int64)
    pointer = np.zeros(runs, dtype=np.int64)
    vacant_in_a_row = np.zeros(runs, dtype=np.int64)
    visibility = g["founding_visibility"] * g["base_rate"]
    in_window = np.zeros(runs, dtype=np.int64)
    running = np.ones(runs, dtype=bool)
    quarters_run = np.full(runs, quarters, dtype=np.int64)
    death_cause = np.zeros(runs, dtype=np.int64)
    outputs_history = np.zeros((runs, quarters), dtype=np.int64)
    state_history = np.zeros((runs, quarters), dtype=np.int8)
    chair_history = np.full((runs, quarters), rules.VACANT, dtype=np.int64)
    final_status = status.copy()
    final_rival = in_rival.copy()
    series = None
    if record_series:
        series = {name: np.full((runs, quarters), fill, dtype=dtype)
                  for name, (dtype, fill) in GROUP_SERIES.items()}
        series.update({name: np.full((runs, quarters, n), fill, dtype=dtype)
                       for name, (dtype, fill) in MEMBER_SERIES.items()})

    with np.errstate(all="ignore"):  # runs that have died keep computing, unrecorded
        for t in range(quarters):
            # Members' circumstances: joining, M1 budget, M2 crisis, M3 minister
            joining = (status == rules.PENDING) & (dated.joins_at == t)
            if joining.any():
                status = np.where(joining, rules.ACTIVE, status).astype(np.int8)
                engagement = np.where(joining, m["initial_engagement"], engagement)
            path_now = rules.budget_path(m["budget_trend"], t, dated.budget_shift[t])
            log_budget = rules.budget_step(log_budget, path_before, path_now,
                                           m["budget_reversion"], m["budget_volatility"],
                                           shocks.budget[t])
            path_before = path_now
            budget = rules.available_budget(log_budget, dues, wc["budget_floor"])
            crisis, crisis_left = rules.crisis_step(
                crisis_left, shocks.crisis_onset[t], crisis_lengths[t],
                np.where(calendar.global_crisis[t][:, None], onset_global, onset_calm),
                dated.forced_crisis[t])
            new_minister = calendar.new_government[t]
            enthusiasm = np.where(new_minister, new_ministers[t], enthusiasm)
            # M9 rival bloc
            active = status == rules.ACTIVE
            invited = rules.rival_invitations(
                calendar.rival_round[t, :, None], dated.invitation[t], wc["rival_pull"],
                m["rival_affinity"], active, in_rival, shocks.rival_invite[t])
            if invited.any():
                in_rival = in_rival | rules.rival_joins(invited, m["rival_affinity"],
                                                        engagement, shocks.rival_join[t])
            # M7 the chair (at term starts); the view members decide on
            willingness = rules.chair_willingness(engagement, budget, gc["chair_cost"])
            term_start = term_starts[:, t]
            if term_start.any():
                chosen, next_pointer, vacant = rules.choose_chair(
                    pointer, willingness, active, rotation, g["chair_threshold"],
                    g["secretariat"])
                chair = np.where(term_start, chosen, chair)
                pointer = np.where(term_start, next_pointer, pointer)
                vacant_in_a_row = rules.vacancies_in_a_row(vacant_in_a_row, term_start, vacant)
            effort = rules.chair_effort(chair, willingness, active, g["secretariat"],
                                        g["secretariat_support"])
            n_active = rules.over_members(active.astype(np.int64))
            partners = rules.partners_engagement(engagement, m["reach"], active)
            global_crisis = calendar.global_crisis[t]
            # M4–M6 engagement (active members only)
            value_now = (
                rules.network_value(partners, m["capacity_need"], gc["network_weight"],
                                    gc["network_partners"])
                + rules.visibility_value(visibility[:, None], gc["base_rate"],
                                         m["regional_fit"], gc["visibility_weight"])
                + rules.diversification_value(m["regional_fit"], gc["diversification_value"])
                + rules.crisis_coordination_value(global_crisis[:, None], effort[:, None],
                                                  wc["crisis_coordination_value"])
            )
            cost_now = rules.participation_cost(
                gc["participation_cost"], m["cost_burden"], gc["agenda_breadth"],
                gc["reference_breadth"], n_active[:, None], gc["network_partners"],
                gc["coordination_elasticity"], gc["secretariat"], gc["secretariat_saving"],
                budget)
            outside = rules.outside_option(in_rival, wc["rival_pull"], wc["rival_outside_value"])
            value = np.where(active, value_now, 0.0)
            cost = np.where(active, cost_now, 0.0)
            net_value = np.where(active, value - cost - outside, net_value)
            attention = np.where(active, rules.attention(
                crisis, m["crisis_depth"], in_rival, wc["rival_split"],
                dated.attention_factor[t]), attention)
            target = rules.engagement_target(
                attention, rules.effective_enthusiasm(enthusiasm, gc["personalization"]),
                gc["standby"], gc["value_sensitivity"], net_value, gc["chair_boost"],
                chair[:, None] == members)
            engagement = np.where(active, rules.engagement_step(engagement, target,
                                                                gc["adjust_rate"]), engagement)
            # M8 activity
            mean_engaged = rules.mean_engagement(engagement, active)
            rate = rules.activity_rate(g["base_rate"], focus, effort, mean_engaged,
                                       g["reference_drive"], g["secretariat"],
                                       g["secretariat_floor"])
            outputs = rules.joint_outputs(shocks.activity[t], rate)
            visibility = rules.visibility_step(visibility, outputs, g["visibility_smoothing"])
            # M10 exits
            disengaged = np.where(active, rules.disengaged_quarters(
                disengaged, engagement, gc["exit_threshold"], active), disengaged)
            stay = rules.staying_value(value, cost, engagement, outside)
            leaving = rules.exits(active, disengaged, gc["exit_patience"], stay, exit_cost)
            if leaving.any():
                status = np.where(leaving, rules.EXITED, status).astype(np.int8)
                engagement = np.where(leaving, 0.0, engagement)
            # Outcome
            outputs_history[:, t] = outputs
            active_members = rules.over_members(
                (status == rules.ACTIVE).astype(np.int64))
            dead, cause = rules.death(active_members, g["min_members"], vacant_in_a_row,
                                      g["vacancy_limit"])
            dropped = t - window  # the quarter that leaves the window now
            in_window = in_window + outputs - np.where(dropped >= 0, np.take_along_axis(
                outputs_history, np.maximum(dropped, 0)[:, None], axis=-1)[:, 0], 0)
            window_full = t + 1 >= window
            vitality = np.where(window_full, rules.vitality(in_window, window, g["base_rate"]),
                                np.nan)
            state = rules.group_state(dead, vitality, window_full, g["zombie_threshold"])

            # Record (only runs still going; a run's death quarter is its last)
            state_history[:, t] = state
            chair_history[:, t] = chair
            dying = running & dead
            if dying.any():
                quarters_run[dying] = t + 1
                death_cause[dying] = cause[dying]
                final_status[dying] = status[dying]
                final_rival[dying] = in_rival[dying]
            if series is not None:
                now = {
                    "chair": chair, "new_term": term_start, "vacant_in_a_row": vacant_in_a_row,
                    "chair_effort": effort, "outputs": outputs, "activity_rate": rate,
                    "visibility": visibility, "mean_engagement": mean_engaged,
                    "active_members": active_members, "vitality": vitality, "state": state,
                    "global_crisis": global_crisis, "rival_round": calendar.rival_round[t],
                    "budget": budget, "enthusiasm": enthusiasm, "attention": attention,
                    "engagement": engagement, "net_value": net_value, "crisis": crisis,
                    "status": status, "in_rival": in_rival, "invited": invited,
                    "new_minister": new_minister,
                }
                for name, value_now in now.items():
                    series[name][running, t] = value_now[running]
            running = running & ~dead
            if not running.any():
                break
    final_status[running] = status[running]
    final_rival[running] = in_rival[running]

    # summary_arrays reads member series at quarter quarters_run - 1: the final ones, broadcast
    summary = summary_arrays(state_history, outputs_history, chair_history, term_starts,
                             np.broadcast_to(final_status[:, None, :], (runs, quarters, n)),
                             np.broadcast_to(final_rival[:, None, :], (runs, quarters, n)),
                             rival_at_start, quarters_run, death_cause)
    trajectories = None
    if series is not None:
        trajectories = [
            Trajectory(int(seeds[r]), quarters, n, rival_at_start[r],
                       quarters_run=int(quarters_run[r]), death_cause=int(death_cause[r]),
                       series={name: array[r] for name, array in series.items()})
            for r in range(runs)
        ]
    return BatchResult(seeds=seeds, summary=summary, trajectories=trajectories)


def summaries_of(task: tuple[Scenario | Sequence[Scenario], Sequence[int]]):
    """The run summaries of (scenarios, seeds) on the fast engine, one row per run: a task
    for a process pool."""
    import pandas as pd

    from sim.model.outcomes import to_records

    scenarios, seeds = task
    result = run_batch(scenarios if isinstance(scenarios, Scenario) else list(scenarios), seeds)
    return pd.DataFrame(to_records(result.summary, result.seeds))
