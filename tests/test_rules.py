"""Each mechanism alone: the rules of sim/model/rules.py and group_rules.py as a specification."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from sim.model import group_rules, rules
from sim.model.calendar import NEVER

unit = st.floats(0, 1)
positive = st.floats(0.01, 10)


# ---------------------------------------------------------------- M1 budgets


def test_budget_without_shocks_returns_to_its_trend_path():
    log_budget = np.log(0.3)
    for quarter in range(200):
        path_before = rules.budget_path(-0.05, quarter - 1, 0.0, NEVER, 0.0)
        path_now = rules.budget_path(-0.05, quarter, 0.0, NEVER, 0.0)
        log_budget = rules.budget_step(log_budget, path_before, path_now, 1.0, 0.2, 0.0)
    assert log_budget == pytest.approx(rules.budget_path(-0.05, 199, 0.0, NEVER, 0.0), abs=1e-6)


def test_budget_shock_scales_with_volatility():
    calm = rules.budget_step(0.0, 0.0, 0.0, 0.5, 0.1, 1.0)
    stormy = rules.budget_step(0.0, 0.0, 0.0, 0.5, 0.4, 1.0)
    assert stormy == pytest.approx(4 * calm)


def test_secretariat_dues_come_off_the_budget_but_not_below_the_floor():
    assert rules.available_budget(0.0, 0.1, 0.05) == pytest.approx(0.9)
    assert rules.available_budget(np.log(0.1), 0.1, 0.05) == pytest.approx(0.05)


# ---------------------------------------------------------------- M2 crises


def test_crisis_length_is_exponential_in_whole_quarters():
    assert rules.crisis_length(np.exp(-1.0), 1.0) == 4  # ceil(1 * 4 quarters)
    assert rules.crisis_length(0.999999, 1.0) == 1  # at least one quarter


def test_crisis_starts_when_the_draw_is_below_the_hazard_and_lasts_its_length():
    on, left = rules.crisis_step(0, 0.01, 4, rules.crisis_onset_probability(1.0, 1.0), 0)
    assert on and left == 4 - 1  # four quarters, this one included
    for expected_left in (2, 1, 0):
        on, left = rules.crisis_step(left, 0.99, 7, 0.22, 0)
        assert on and left == expected_left
    on, left = rules.crisis_step(left, 0.99, 7, 0.22, 0)
    assert not on and left == 0


def test_no_crisis_without_hazard_unless_dated():
    on, _ = rules.crisis_step(0, 1e-9, 2, rules.crisis_onset_probability(0.0, 1.0), 0)
    assert not on
    on, left = rules.crisis_step(0, 0.99, 2, 0.0, 6)
    assert on and left == 5


def test_global_crisis_raises_the_crisis_hazard():
    u = 0.12  # P(onset) at 0.3/year is 0.072; at 0.3 * 3 it is 0.20
    assert not rules.crisis_step(0, u, 2, rules.crisis_onset_probability(0.3, 1.0), 0)[0]
    assert rules.crisis_step(0, u, 2, rules.crisis_onset_probability(0.3, 3.0), 0)[0]


# ---------------------------------------------------------------- M3 ministers


@given(unit, unit, unit)
def test_minister_enthusiasm_stays_in_unit_interval(u, mean, spread):
    assert 0.0 <= rules.minister_enthusiasm(u, mean, spread) <= 1.0


def test_elections_follow_the_interval_from_the_first_date():
    election = rules.elections(np.arange(40)[:, None], np.array([3, -2]), np.array([8, 20]))
    assert list(np.flatnonzero(election[:, 0])) == [3, 11, 19, 27, 35]
    assert list(np.flatnonzero(election[:, 1])) == [18, 38]
    assert not election[0].any()  # the founders are in office at the start


def test_the_dated_change_of_government_is_a_fact_and_later_elections_may_reelect():
    quarters = np.arange(20)
    election = rules.elections(quarters, 3, 8)  # quarters 3, 11, 19
    u = np.full(20, 0.7)  # every later election re-elects at turnover 0.5
    changes = rules.government_changes(election, quarters, 3, True, True, u, 0.5)
    assert list(np.flatnonzero(changes)) == [3]
    assert list(np.flatnonzero(rules.government_changes(election, quarters, 3, True, True, u,
                                                       0.8))) == [3, 11, 19]
    # a dated election that re-elected the government: no change, whatever the draw
    assert not rules.government_changes(election, quarters, 3, True, False, np.zeros(20),
                                        0.0)[3]
    # an undated phase: no election is known to have changed the government
    assert not rules.government_changes(election, quarters, 3, False, True, u, 0.5).any()
    # a re-elected government keeps its minister unless a reshuffle replaces them
    ministers = rules.new_ministers(changes, np.full(20, 0.99), 0.15)
    assert list(np.flatnonzero(ministers)) == [3]
    assert rules.new_ministers(changes, np.zeros(20), 0.15).all()


def test_a_successor_carries_more_of_the_ownership_the_more_the_group_is_routine():
    assert rules.successor_enthusiasm(0.9, 0.3, 0.5, 1.0) == pytest.approx(0.6)
    assert rules.successor_enthusiasm(0.9, 0.3, 0.5, 0.0) == pytest.approx(0.3)
    assert rules.routine(6.0, 3.0) == 1.0 and rules.routine(1.5, 3.0) == 0.5


def test_without_personalization_the_minister_does_not_matter():
    assert rules.effective_enthusiasm(0.2, 0.0) == 1.0
    assert rules.effective_enthusiasm(0.2, 1.0) == pytest.approx(0.2)


# ---------------------------------------------------------------- M4 value


@given(st.lists(unit, min_size=3, max_size=12), st.integers(0, 11), st.floats(0.01, 0.5))
def test_value_rises_with_the_others_engagement(engagement, who, bump):
    engagement = np.array(engagement)
    who = who % len(engagement)
    other = (who + 1) % len(engagement)
    active = np.ones(len(engagement), dtype=bool)
    reach = np.ones(len(engagement))
    before = rules.network_value(rules.partners_engagement(engagement, reach, active)[who],
                                 0.5, 2.0, 4)
    engagement[other] = min(1.0, engagement[other] + bump)
    after = rules.network_value(rules.partners_engagement(engagement, reach, active)[who],
                                0.5, 2.0, 4)
    assert after >= before


def test_partners_exclude_oneself_and_inactive_members():
    engagement = np.array([0.5, 0.2, 0.9])
    partners = rules.partners_engagement(engagement, np.ones(3), np.array([True, True, False]))
    assert partners == pytest.approx([0.2, 0.5, 0.7])


def test_visibility_is_worth_more_without_a_regional_fit():
    assert rules.visibility_value(3.0, 3.0, 0.2, 1.0) > rules.visibility_value(3.0, 3.0, 0.8, 1.0)
    assert rules.visibility_value(30.0, 3.0, 0.0, 1.0) < 1.0  # saturates


def test_global_crisis_value_needs_a_capable_chair():
    assert rules.crisis_coordination_value(True, 0.0, 0.5) == 0.0
    assert rules.crisis_coordination_value(True, 1.0, 0.5) == 0.5
    assert rules.crisis_coordination_value(False, 1.0, 0.5) == 0.0


# ---------------------------------------------------------------- M5 cost, M12 focus


def _cost(work=1.0, budget=1.0, n_active=5, secretariat=False):
    return rules.participation_cost(1.0, work, n_active, 4, 1.0, secretariat, 0.3, budget)


@given(st.floats(0, 5), st.floats(0.05, 3))
def test_cost_grows_with_the_work_the_group_asks_and_falls_with_budget(work, budget):
    assert _cost(work + 0.5, budget) > _cost(work, budget)
    assert _cost(work, budget * 1.5) <= _cost(work, budget)
    assert _cost(0.0, budget) == 0.0  # no upkeep and no activity: nothing to pay


def test_work_is_upkeep_plus_recent_activity_against_a_normally_engaged_group():
    assert rules.workload(3.0, 3.0, 0.5) == 1.0 and rules.workload(1.5, 3.0, 0.0) == 0.5
    assert rules.workload(0.0, 3.0, 0.5) == 0.5 and rules.workload(9.0, 3.0, 1.0) == 1.0


def test_cost_falls_with_a_secretariat_and_rises_with_members():
    assert _cost(secretariat=True) < _cost()
    assert _cost(n_active=6) > _cost(n_active=5)


def test_a_broader_agenda_raises_the_network_value_and_its_cost_is_in_the_work():
    assert rules.breadth_factor(14, 7, 0.5) > 1.0 > rules.breadth_factor(3, 7, 0.5)
    assert rules.breadth_factor(7, 7, 0.5) == 1.0


def test_a_narrower_agenda_raises_output():
    assert rules.focus_factor(3, 7, 0.5) > 1.0 > rules.focus_factor(12, 7, 0.5)
    assert rules.focus_factor(7, 7, 0.5) == 1.0


# ---------------------------------------------------------------- M6 engagement


@given(unit, unit, unit, st.floats(0, 50), st.floats(-20, 20), unit, st.booleans())
def test_engagement_target_stays_in_unit_interval(attention, enthusiasm, standby, beta, net,
                                                  boost, chair):
    target = rules.engagement_target(attention, enthusiasm, standby, beta, net, boost, chair)
    assert 0.0 <= target <= 1.0


@given(unit, unit, st.floats(0.01, 1))
def test_engagement_moves_toward_its_target_and_stays_in_unit_interval(engagement, target,
                                                                      rate):
    after = rules.engagement_step(engagement, target, rate)
    assert 0.0 <= after <= 1.0
    assert abs(after - target) <= abs(engagement - target) + 1e-12


def test_target_rises_with_net_value_and_the_standby_floor_holds():
    low = rules.engagement_target(1.0, 1.0, 0.15, 8.0, -10.0, 0.3, False)
    high = rules.engagement_target(1.0, 1.0, 0.15, 8.0, 1.0, 0.3, False)
    assert low == pytest.approx(0.15, abs=1e-3) and high > low


def test_crisis_and_rival_membership_take_attention():
    assert rules.attention(True, 0.5, False, 0.3, 1.0) == 0.5
    assert rules.attention(False, 0.5, True, 0.3, 1.0) == pytest.approx(0.7)
    assert rules.attention(False, 0.5, False, 0.3, 1.5) == 1.0


# ---------------------------------------------------------------- M7 chair


ROTATION = np.array([0, 2, 4, 3, 1])


def test_the_turn_passes_on_and_a_member_that_cannot_take_it_is_skipped():
    able = np.array([True, True, False, True, True])  # member 2 cannot cover the cost
    chair, pointer, vacant = group_rules.choose_chair(1, able, np.ones(5, bool), ROTATION, False)
    assert chair == 4 and pointer == 3 and not vacant


def test_exited_member_is_passed_over():
    active = np.array([True, True, False, True, True])
    chair, _, _ = group_rules.choose_chair(1, np.ones(5, bool), active, ROTATION, False)
    assert chair == 4


def test_the_incumbent_repeats_only_when_no_other_member_can_take_the_chair():
    # member 3 (rotation position 3) chaired; the turn is at position 4 (member 1)
    others_can = np.ones(5, bool)
    chair, _, _ = group_rules.choose_chair(4, others_can, np.ones(5, bool), ROTATION, False)
    assert chair == 1
    only_incumbent = np.array([False, False, False, True, False])
    chair, pointer, vacant = group_rules.choose_chair(4, only_incumbent, np.ones(5, bool), ROTATION,
                                                      False)
    assert chair == 3 and pointer == 4 and not vacant
    series = np.array([3, 3, 3, 3, 3, 1])
    terms = np.array([True, False, False, False, True, True])
    assert group_rules.chair_repeats(series, terms).tolist() == [False] * 4 + [True, False]


def test_nobody_able_leaves_the_term_vacant_and_the_turn_moves_on():
    chair, pointer, vacant = group_rules.choose_chair(3, np.zeros(5, bool), np.ones(5, bool),
                                                      ROTATION, False)
    assert chair == rules.VACANT and vacant and pointer == 4


def test_with_a_secretariat_the_member_whose_turn_it_is_holds_the_chair():
    chair, pointer, vacant = group_rules.choose_chair(3, np.zeros(5, bool), np.ones(5, bool),
                                                      ROTATION, True)
    assert chair == 3 and pointer == 4 and not vacant


def test_a_member_can_take_the_chair_when_its_budget_covers_enough_of_the_cost():
    assert group_rules.chair_able(0.3, 0.5, 0.5).item()
    assert not group_rules.chair_able(0.2, 0.5, 0.5).item()
    assert group_rules.chair_able(np.array([2.0, 0.0]), 0.5, 1.0).tolist() == [True, False]


def test_chair_effort_is_willingness_with_a_floor_under_a_secretariat():
    willingness = np.array([0.1, 0.6])
    active = np.array([True, True])
    assert group_rules.chair_effort(0, willingness, active, False, 0.5) == pytest.approx(0.1)
    assert group_rules.chair_effort(0, willingness, active, True, 0.5) == pytest.approx(0.5)
    assert group_rules.chair_effort(rules.VACANT, willingness, active, True, 0.5) == 0.0
    assert group_rules.chair_effort(1, willingness, np.array([True, False]), False, 0.5) == 0.0


def test_willingness_needs_budget_cover():
    assert group_rules.chair_willingness(0.8, 0.25, 0.5) == pytest.approx(0.4)
    assert group_rules.chair_willingness(0.8, 2.0, 0.5) == pytest.approx(0.8)


def test_a_filled_term_resets_the_vacancy_count():
    assert group_rules.vacancies_in_a_row(1, True, False) == 0
    assert group_rules.vacancies_in_a_row(1, False, True) == 1  # only term starts count


def test_too_few_members_or_long_dormancy_kill_the_group_and_a_vacant_chair_does_not():
    dead, cause = group_rules.death(2, 3, 0, 20)
    assert dead and cause == rules.CAUSE_MEMBERS
    assert not group_rules.death(3, 3, 19, 20)[0]
    dead, cause = group_rules.death(3, 3, 20, 20)
    assert dead and cause == rules.CAUSE_DORMANT
    assert group_rules.death(5, 3, 0, 20, True)[1] == rules.CAUSE_TERMINATION


# ---------------------------------------------------------------- M8 activity


def test_activity_at_each_level_follows_its_own_driver():
    # a normally engaged group (effort = engagement = sqrt(drive)) makes the base rate
    engaged = 0.5 ** 0.5
    total = (group_rules.ministers_rate(3.0, 0.6, 1.0, engaged, engaged, 0.5)
             + group_rules.officials_rate(3.0, 0.6, 1.0, engaged, 0.5, False, 0.3))
    assert total == pytest.approx(3.0)
    # without a chair's effort ministers stop; officials go on; a secretariat's work is theirs
    assert group_rules.ministers_rate(3.0, 0.6, 1.0, 0.0, engaged, 0.5) == 0
    assert group_rules.officials_rate(3.0, 0.6, 1.0, engaged, 0.5, False, 0.3) == pytest.approx(1.8)
    assert group_rules.officials_rate(3.0, 0.6, 1.0, 0.0, 0.5, True, 0.3) == pytest.approx(0.3)


def test_summits_are_scheduled_and_postponed_until_every_government_is_committed():
    assert not group_rules.summit_held(10, 0.0, 1.0, 0.5)  # no summit process
    assert not group_rules.summit_held(2, 1.0, 0.9, 0.5)  # not yet due: 3 of 4 quarters
    assert group_rules.summit_held(3, 1.0, 0.9, 0.5)  # due: a year after the last
    assert not group_rules.summit_held(3, 1.0, 0.49, 0.5)  # one government not committed
    assert group_rules.summit_held(7, 2.0, 0.5, 0.5)
    assert not group_rules.summit_held(6, 2.0, 0.5, 0.5)
    # a postponed summit is held in the first quarter every government is committed again
    since, held = 0, []
    for least in [0.9, 0.9, 0.9, 0.2, 0.2, 0.8, 0.8]:
        happened = bool(group_rules.summit_held(since, 1.0, least, 0.5))
        since = int(group_rules.quarters_since(since, happened))
        held.append(happened)
    assert held == [False, False, False, False, False, True, False]
    lowest = group_rules.least_engagement(np.array([0.9, 0.3, 0.0]), np.array([True, True, False]))
    assert lowest == pytest.approx(0.3)


def test_reactions_follow_outside_events_and_the_members_engagement():
    assert group_rules.reaction_rate(6.0, 0.5) == pytest.approx(0.75)  # 6 a year, half answered
    assert group_rules.reaction_rate(6.0, 0.0) == 0  # a group nobody engages in answers nothing
    assert group_rules.reaction_rate(0.0, 1.0) == 0


def test_a_larger_forum_absorbs_the_value_of_members_it_also_gathers():
    in_rival = np.array([True, True, False])
    active = np.array([True, True, True])
    covered = rules.covered_share(in_rival, active)
    # each bloc member meets one of its two partners in the bloc; the outsider meets none there
    assert covered.tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert rules.distinct_share(0.5, covered).tolist() == pytest.approx([0.75, 0.75, 1.0])
    everyone = rules.covered_share(np.array([True, True, True]), active)
    assert rules.distinct_share(0.5, everyone).tolist() == pytest.approx([0.5, 0.5, 0.5])
    # a partner that has left is no partner; a lone member covers nothing
    gone = rules.covered_share(np.array([True, True, True]), np.array([True, False, True]))
    assert gone.tolist() == pytest.approx([1.0, 0.0, 1.0])
    assert rules.covered_share(np.array([True]), np.array([True])).tolist() == [0.0]
    # batches: (R, N)
    batch = rules.covered_share(np.array([[True, False], [True, True]]), np.ones((2, 2), bool))
    assert batch.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_the_apex_level_moves_up_only_and_an_apex_event_counts_levels_above():
    assert group_rules.apex_step(rules.MINISTERS, 5, 1, 2, 2) == rules.LEADERS
    assert group_rules.apex_step(rules.LEADERS, 5, 3, 0, 2) == rules.LEADERS
    assert group_rules.apex_event(rules.MINISTERS, 0, 0, 1)
    assert not group_rules.apex_event(rules.LEADERS, 3, 2, 0)


def test_mean_engagement_counts_only_active_members():
    assert group_rules.mean_engagement(np.array([0.9, 0.3, 0.0]),
                                       np.array([True, True, False])) == pytest.approx(0.6)


# ---------------------------------------------------------------- M9 rival bloc


def test_no_rival_bloc_means_no_invitations():
    invited = rules.rival_invitations(True, True, 0.0, 1.0, True, False, 0.0001)
    assert not invited


def test_dated_invitation_reaches_an_active_non_member():
    assert rules.rival_invitations(False, True, 1.0, 0.1, True, False, 0.99)
    assert not rules.rival_invitations(False, True, 1.0, 0.1, True, True, 0.99)
    assert not rules.rival_invitations(False, True, 1.0, 0.1, False, False, 0.99)


def test_engaged_members_rarely_accept():
    assert not rules.rival_joins(True, 0.6, 1.0, 0.01)
    assert rules.rival_joins(True, 0.6, 0.1, 0.5)


# ---------------------------------------------------------------- M10 exit


def test_exit_needs_long_disengagement_and_a_losing_membership():
    assert rules.exits(True, 8, 8, -0.5, 0.2)
    assert not rules.exits(True, 7, 8, -0.5, 0.2)
    assert not rules.exits(True, 8, 8, -0.1, 0.2)
    assert not rules.exits(True, 8, 8, -0.4, rules.member_exit_cost(0.2, True, 0.3))


def test_a_new_government_leaves_a_group_worth_far_less_than_leaving_costs():
    # worth far less: leaves with probability near review_exit (here 1); worth more: stays
    assert rules.leaves_on_review(True, -3.0, 0.2, 8.0, 1.0, 0.99)
    assert not rules.leaves_on_review(True, 2.0, 0.2, 8.0, 1.0, 0.01)
    assert not rules.leaves_on_review(False, -3.0, 0.2, 8.0, 1.0, 0.0)  # no new government
    assert not rules.leaves_on_review(True, -3.0, 0.2, 8.0, 0.0, 0.0)  # review_exit 0
    # a treaty's exit cost makes the same government less likely to leave
    loose = 0.5 * special.expit(-8.0 * (-0.3 + 0.2))
    bound = 0.5 * special.expit(-8.0 * (-0.3 + rules.member_exit_cost(0.2, True, 0.3)))
    u = (loose + bound) / 2
    assert rules.leaves_on_review(True, -0.3, 0.2, 8.0, 0.5, u)
    assert not rules.leaves_on_review(True, -0.3, rules.member_exit_cost(0.2, True, 0.3), 8.0,
                                      0.5, u)


def test_a_dormant_member_pays_little_for_staying():
    assert rules.staying_value(0.3, 0.8, 0.1, 0.0) > rules.staying_value(0.3, 0.8, 0.9, 0.0)


def test_disengagement_counter_resets_on_engagement():
    assert rules.disengaged_quarters(5, 0.05, 0.1, True) == 6
    assert rules.disengaged_quarters(5, 0.5, 0.1, True) == 0


# ---------------------------------------------------------------- outcome of a quarter


def test_a_zombie_is_past_its_grace_period_and_long_without_an_apex_event():
    assert group_rules.group_state(False, 7, 8, 8, 8) == rules.ALIVE  # in the grace period
    assert group_rules.group_state(False, 8, 8, 8, 8) == rules.ZOMBIE
    assert group_rules.group_state(False, 20, 7, 8, 8) == rules.ALIVE
    assert group_rules.group_state(True, 20, 0, 8, 8) == rules.DEAD


# ---------------------------------------------------------------- one run and a batch alike


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_rules_on_a_batch_equal_the_rules_on_each_run(seed):
    rng = np.random.default_rng(seed)
    runs, n = 7, 5
    engagement = rng.random((runs, n))
    active = rng.random((runs, n)) > 0.2
    able = rng.random((runs, n)) > 0.5
    pointer = rng.integers(0, n, runs)
    secretariat = rng.random(runs) > 0.5
    reach = rng.random(n) * 2
    batch_partners = rules.partners_engagement(engagement, reach, active)
    batch_chair = group_rules.choose_chair(pointer, able, active, ROTATION, secretariat)
    batch_mean = group_rules.mean_engagement(engagement, active)
    for r in range(runs):
        np.testing.assert_array_equal(
            rules.partners_engagement(engagement[r], reach, active[r]), batch_partners[r])
        one = group_rules.choose_chair(pointer[r], able[r], active[r], ROTATION, secretariat[r])
        assert [int(x) for x in one] == [int(x[r]) for x in batch_chair]
        assert group_rules.mean_engagement(engagement[r], active[r]) == batch_mean[r]
