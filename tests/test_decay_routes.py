"""Routes by which a group decays and dies through decisions (docs/ODD.md §9): a new government
that values the group afresh and leaves it (M10, `mechanisms.review = "own_valuation"`), a
chair that will not convene (M7, `convene_threshold`), members that stop convening and wind
the group up (`termination_terms`), members that dissolve a group that no longer serves them
(`dissolve_terms`), and an engagement target that answers value without
saturating (M6, `mechanisms.engagement = "relative"`). Each route off by default; each reachable
under conditions the sources describe."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from sim.model import group_rules, rules
from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import MinilateralModel
from sim.model.params import DECLARED, GroupParams
from sim.model.response import STEEP_FLOOR, WEIGHED, response_series, steep_share
from sim.model.scenario_files import load_scenario

unit = st.floats(0, 1)
values = st.floats(0, 10)
REVIEW = {"mechanisms.review": "own_valuation", "group.review_spread": 0.5}
NO_RIVAL = {"world.rival_pull": 0.0}
FALLING = {"members.*.budget_trend": -0.03, "members.*.budget_trend_after": -0.03}
WINDING_UP = {"group.convene_threshold": 0.1, "group.termination_terms": 2}
RELATIVE = {"mechanisms.engagement": "relative", "group.relative_sensitivity": 4.0}
RUNS = 300


def summary(name: str, overrides: dict, runs: int = RUNS, record: bool = False):
    return run_batch(load_scenario(name, overrides), range(runs), record_series=record)


# ---------------------------------------------------------------- (a) a new government's review


def test_a_new_government_with_its_own_valuation_leaves_a_group_on_standby_that_gives_little():
    # a member on standby (engagement 0) pays nothing to stay: what it weighs is the value
    stay = rules.staying_value(0.2, 1.0, 0.0, 0.0)
    as_used = special.expit(-12.0 * (stay + 0.25)) * 0.0492
    own = special.expit(-(stay + 0.25) / 0.5)
    assert as_used < 1e-3 < 0.2 < own
    assert rules.leaves_on_review(True, stay, 0.25, 12.0, 0.0492, own - 1e-9, True, 0.5)
    assert not rules.leaves_on_review(True, stay, 0.25, 12.0, 0.0492, own + 1e-9, True, 0.5)
    assert not rules.leaves_on_review(True, stay, 0.25, 12.0, 0.0492, 0.01)  # as used: stays
    assert not rules.leaves_on_review(False, stay, 0.25, 12.0, 0.0492, 0.0, True, 0.5)


@given(values, values, st.floats(0, 5), st.floats(0.05, 5))
def test_the_more_a_group_gives_a_new_government_the_less_often_it_is_left(low, extra, exit_cost,
                                                                          spread):
    u = np.linspace(0, 1, 401, endpoint=False)
    poor = rules.leaves_on_review(True, low, exit_cost, 12.0, 0.05, u, True, spread).mean()
    rich = rules.leaves_on_review(True, low + extra, exit_cost, 12.0, 0.05, u, True,
                                  spread).mean()
    assert rich <= poor


def test_new_governments_leave_a_group_without_a_rival_bloc_only_under_their_own_valuation():
    # exits.csv: every dated exit from UNASUR, CELAC and ALBA followed a change of government
    as_used = summary("generic-5", NO_RIVAL).summary
    own = summary("generic-5", {**NO_RIVAL, **REVIEW}, record=True)
    assert (as_used["exits"] == 0).all() and (as_used["rival_joins"] == 0).all()
    assert np.mean(own.summary["exits"] > 0) >= 0.05
    for trajectory in own.trajectories:  # each exit in the quarter a new government arrives
        status = trajectory.upto("status")
        left = (status[1:] == rules.EXITED) & (status[:-1] == rules.ACTIVE)
        assert trajectory.upto("new_government")[1:][left].all()


def test_a_group_that_gives_less_is_left_more_often_with_and_without_a_rival_bloc():
    # 000, "Domestic Priorities and Shrinking Resources": budget cuts slowed engagement
    for name, world in (("generic-5", NO_RIVAL), ("mikta", {})):
        steady = summary(name, {**world, **REVIEW}).summary["exits"]
        cut = summary(name, {**world, **REVIEW, **FALLING}).summary["exits"]
        assert np.mean(cut > 0) > np.mean(steady > 0) > 0


# ---------------------------------------------------------------- (c) a chair that will not convene


def test_a_chair_below_the_threshold_will_not_convene_unless_a_secretariat_convenes():
    willingness = np.array([0.3, 0.05, 0.4])
    assert group_rules.declines(1, willingness, 0.1, False)
    assert not group_rules.declines(0, willingness, 0.1, False)
    assert not group_rules.declines(1, willingness, 0.1, True)  # a secretariat convenes
    assert not group_rules.declines(1, willingness, 0.0, False)  # the default: nobody declines
    assert not group_rules.declines(rules.VACANT, willingness, 0.1, False)
    batch = group_rules.declines(np.array([1, 2]), np.stack([willingness] * 2), 0.1,
                                 np.array([False, False]))
    assert batch.tolist() == [True, False]


def test_chairs_that_will_not_convene_leave_terms_vacant_when_budgets_shrink():
    # 000: no member wants to lead; IBSA's sixth summit, due in New Delhi in 2013, never held
    plain = summary("mikta", FALLING, record=True)
    unwilling = summary("mikta", {**FALLING, "group.convene_threshold": 0.1}, record=True)
    assert (plain.summary["vacancies"] == 0).all()
    assert np.mean(unwilling.summary["vacancies"] > 0) >= 0.5
    for trajectory in unwilling.trajectories[:50]:  # nobody convenes the ministers
        vacant = trajectory.upto("chair") == rules.VACANT
        assert (trajectory.upto("chair_effort")[vacant] == 0).all()
        assert (trajectory.upto("outputs_ministers")[vacant]
                == trajectory.upto("reactions")[vacant]).all()


# ---------------------------------------------------------------- (b) members wind the group up


def test_terms_in_a_row_without_a_convener_wind_the_group_up():
    assert not group_rules.wound_up(5, 0)  # 0: never
    assert not group_rules.wound_up(1, 2) and group_rules.wound_up(2, 2)
    assert group_rules.wound_up(np.array([0, 2, 3]), np.array([2, 2, 0])).tolist() == [
        False, True, False]
    dead, cause = group_rules.death(5, 3, 0, 20, group_rules.wound_up(2, 2))
    assert dead and cause == rules.CAUSE_TERMINATION


def test_members_that_stop_convening_end_the_group_by_termination():
    off = summary("generic-5", {**FALLING, "group.convene_threshold": 0.1}).summary
    on = summary("generic-5", {**FALLING, **WINDING_UP}, record=True)
    assert not (off["death_cause"] == rules.CAUSE_TERMINATION).any()
    terminated = on.summary["death_cause"] == rules.CAUSE_TERMINATION
    assert terminated.mean() >= 0.1
    for r in np.flatnonzero(terminated)[:30]:  # the end follows two vacant terms in a row
        trajectory = on.trajectories[r]
        assert trajectory.upto("vacant_in_a_row")[-1] == 2
        assert trajectory.upto("state")[-1] == rules.DEAD


def test_a_secretariat_keeps_convening():
    secretariat = summary("generic-5", {**FALLING, **WINDING_UP, "group.secretariat": True,
                                        "group.convene_threshold": 0.5}).summary
    assert (secretariat["vacancies"] == 0).all()
    assert not (secretariat["death_cause"] == rules.CAUSE_TERMINATION).any()


# ---------------------------------------------------------------- (d) members dissolve a group that
# no longer serves them


def test_terms_count_as_undefended_when_the_members_mean_staying_value_falls_short():
    stay = np.array([[-1.0, -0.5, 0.9], [-1.0, -0.5, 0.9]])
    active = np.array([[True, True, True], [True, True, False]])
    worth = group_rules.mean_staying_value(stay, active)
    np.testing.assert_allclose(worth, [-0.2, -0.75])  # one attached member does not save it
    counted = group_rules.undefended_in_a_row(np.array([1, 1, 1]), np.array([True, True, False]),
                                              np.array([0.1, -0.5, -0.5]), 0.0)
    assert counted.tolist() == [0, 2, 1]  # reset, counted, unchanged between term starts
    # a member on standby pays nothing to stay: a quiet group is not worthless for it
    assert rules.staying_value(0.3, 1.0, 0.0, 0.0) > 0 > rules.staying_value(0.3, 1.0, 0.5, 0.0)


def test_undefended_terms_in_a_row_dissolve_the_group_later_with_a_secretariat():
    assert not group_rules.dissolved(9, 0, False, 0)  # 0: never
    assert not group_rules.dissolved(1, 2, False, 3) and group_rules.dissolved(2, 2, False, 3)
    assert not group_rules.dissolved(4, 2, True, 3) and group_rules.dissolved(5, 2, True, 3)
    dead, cause = group_rules.death(5, 3, 0, 20, False, group_rules.dissolved(2, 2, False, 0))
    assert dead and cause == rules.CAUSE_DISSOLUTION


DISSOLVING = {"group.dissolve_value": 0.6, "group.dissolve_terms": 2}
WORTH = ("value", "cost", "engagement", "outside")  # what rules.staying_value weighs


def test_members_dissolve_a_group_that_no_longer_serves_any_of_them():
    off = summary("generic-5", FALLING).summary
    on = run_batch(load_scenario("generic-5", {**FALLING, **DISSOLVING}), range(RUNS),
                   also_record=WORTH)
    assert not (off["death_cause"] == rules.CAUSE_DISSOLUTION).any()
    dissolved = on.summary["death_cause"] == rules.CAUSE_DISSOLUTION
    assert dissolved.mean() >= 0.1
    for r in np.flatnonzero(dissolved)[:30]:  # two term starts in a row worth too little
        trajectory = on.trajectories[r]
        starts = np.flatnonzero(trajectory.upto("new_term"))[-2:]
        stay = rules.staying_value(*(trajectory.upto(name)[starts] for name in WORTH))
        active = trajectory.upto("status")[starts] == rules.ACTIVE
        assert (group_rules.mean_staying_value(stay, active) < 0.6).all()
        assert trajectory.upto("undefended_in_a_row")[-1] == 2
        assert trajectory.upto("state")[-1] == rules.DEAD


def test_a_secretariat_delays_dissolution_without_ruling_it_out():
    share = {}
    for reprieve in (0, 2):
        s = summary("generic-5", {**FALLING, **DISSOLVING, "group.dissolve_value": 0.8,
                                  "group.secretariat": True,
                                  "group.secretariat_reprieve": reprieve}).summary
        share[reprieve] = np.mean(s["death_cause"] == rules.CAUSE_DISSOLUTION)
    assert 0 < share[2] < share[0] / 2


# ---------------------------------------------------------------- value for money that moves


def _target(v, cost, outside, attention, enthusiasm, standby, boost, chair, relative, beta,
            kappa):
    at_stake = rules.stakes(v, cost, outside)
    sensitivity = rules.response_sensitivity(beta, relative, kappa, at_stake)
    return rules.engagement_target(attention, enthusiasm, standby, sensitivity,
                                   rules.net_value(v, cost, outside), boost, chair)


@given(st.floats(0.1, 6), st.floats(0.1, 3), st.floats(0, 1), st.floats(0.1, 1),
       st.floats(0.1, 1), unit, unit, st.booleans(), st.booleans(), st.floats(0, 20),
       st.floats(0, 6))
def test_the_response_to_value_is_the_slope_of_the_target(v, cost, outside, attention,
                                                          enthusiasm, standby, boost, chair,
                                                          relative, beta, kappa):
    args = (cost, outside, attention, enthusiasm, standby, boost, chair, relative, beta, kappa)
    h = 1e-6
    near_cap = [_target(v + d, *args) for d in (-1e-3, 1e-3)]
    if not all(abs(t - attention) > 1e-6 for t in near_cap):
        return  # at the cap the slope is one-sided
    numeric = (_target(v + h, *args) - _target(v - h, *args)) / (2 * h)
    at_stake = rules.stakes(v, cost, outside)
    exact = rules.value_response(attention, enthusiasm, standby,
                                 rules.response_sensitivity(beta, relative, kappa, at_stake),
                                 rules.net_value(v, cost, outside), boost, chair, relative,
                                 at_stake)
    assert exact == pytest.approx(numeric, abs=1e-5)


@given(values, values, values, st.floats(0, DECLARED[GroupParams]["relative_sensitivity"][1].high))
def test_the_relative_pull_cannot_saturate_over_its_declared_range(v, cost, outside, kappa):
    at_stake = rules.stakes(v, cost, outside)
    relative_net = rules.net_value(v, cost, outside) / max(at_stake, rules.SMALLEST_STAKES)
    share = special.expit(kappa * relative_net)  # the pull without standby or enthusiasm
    assert -1.0 <= relative_net <= 1.0
    assert special.expit(-kappa) - 1e-12 <= share <= special.expit(kappa) + 1e-12
    assert share <= special.expit(6.0) < 0.998  # the logistic form's saturation


def test_the_measured_response_is_the_slope_of_each_agents_target():
    scenario = load_scenario("mikta", RELATIVE, years=8)
    model = MinilateralModel(scenario, seed=4)
    trajectory = run_batch(scenario, [4], also_record=WEIGHED).trajectories[0]
    measured = response_series(trajectory, scenario)
    p = model.run_params
    while model.running:
        model.step()
        t = model.quarter
        for i, agent in enumerate(model.member_list):
            if not agent.active:
                assert np.isnan(measured[t, i])
                continue
            enthusiasm = rules.effective_enthusiasm(agent.enthusiasm, p.personalization)
            args = (agent.cost, agent.outside, agent.attention, enthusiasm, p.standby,
                    p.chair_boost, model.chair == i, True, p.value_sensitivity,
                    p.relative_sensitivity)
            numeric = (_target(agent.value + 1e-6, *args)
                       - _target(agent.value - 1e-6, *args)) / 2e-6
            assert measured[t, i] == pytest.approx(numeric, abs=1e-5)


def test_a_saturated_logistic_hardly_answers_value_and_the_relative_form_does():
    # at value_sensitivity 12, its prior's maximum, the pull is >= 0.998 in most member-quarters
    saturated = steep_share(load_scenario("mikta", {"group.value_sensitivity": 12.0}),
                            range(100))
    relative = steep_share(load_scenario("mikta", RELATIVE), range(100))
    assert saturated.floor == relative.floor == STEEP_FLOOR
    assert saturated.member_quarters > 10_000
    assert saturated.share < 0.1 < 0.5 < relative.share
    flatter = steep_share(load_scenario("mikta", RELATIVE), range(100), floor=2 * STEEP_FLOOR)
    assert flatter.share < relative.share
