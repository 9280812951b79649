"""Outcome classification on hand-built series, and the run summary."""

import dataclasses

import numpy as np

from sim.model import rules
from sim.model.outcomes import SUMMARY_KEYS, classify_series, summarize
from sim.model.params import GroupParams
from sim.model.trajectory import Trajectory

GROUP = GroupParams(min_members=3, apex_window_months=36, grace_months=6, zombie_months=12,
                    dormant_months=24)


def _states(ministers, members=None, officials=None, leaders=None):
    n = len(ministers)
    members = [5] * n if members is None else members
    officials = [0] * n if officials is None else officials
    leaders = [0] * n if leaders is None else leaders
    return classify_series(officials, ministers, leaders, members, GROUP)


def test_steady_activity_is_alive():
    states, cause = _states([1] * 12)
    assert (states == rules.ALIVE).all() and cause == rules.NO_CAUSE


def test_a_lapse_of_the_apex_level_is_a_zombie_that_revives_at_its_next_event():
    ministers = [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    states, _ = _states(ministers, officials=[1] * 12)
    # apex = ministers from quarter 1; zombie after 4 quarters (12 months) without them
    assert list(states) == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]


def test_no_zombie_in_the_founding_grace_period():
    ministers, officials = [1, 1] + [0] * 8, [1] * 10
    states, _ = _states(ministers, officials=officials)  # grace: 6 months
    assert list(states) == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    longer = dataclasses.replace(GROUP, grace_months=24)
    states, _ = classify_series(officials, ministers, [0] * 10, [5] * 10, longer)
    assert list(states) == [0] * 8 + [1, 1]


def test_losing_members_kills_and_death_is_absorbing():
    states, cause = _states([2] * 8, members=[5, 5, 4, 2, 5, 5, 5, 5])
    assert list(states) == [0, 0, 0, 2, 2, 2, 2, 2] and cause == rules.CAUSE_MEMBERS


def test_no_activity_at_any_level_for_the_dormancy_window_kills():
    states, cause = _states([1] + [0] * 11)
    assert np.flatnonzero(states == rules.DEAD).min() == 8 and cause == rules.CAUSE_DORMANT


def test_officials_work_keeps_a_group_from_death_but_not_from_zombiehood():
    states, cause = _states([1, 1] + [0] * 14, officials=[0, 0] + [1] * 14)
    assert (states != rules.DEAD).all() and cause == rules.NO_CAUSE
    assert states[-1] == rules.ZOMBIE


def _hand_built_trajectory():
    t, n = 10, 3
    traj = Trajectory(seed=9, quarters=t, n_members=n,
                      rival_at_start=np.array([False, True, False]))
    s = traj.series
    s["state"][:7] = [0, 0, 1, 1, 0, 1, 2]
    s["outputs"][:7] = [3, 2, 0, 0, 4, 0, 1]
    s["chair"][:7] = [0, 0, 0, 0, -1, -1, -1]
    s["new_term"][:7] = [True, False, True, False, True, False, False]  # a repeat, a vacancy
    s["status"][:7] = rules.ACTIVE
    s["status"][5:7, 2] = rules.EXITED
    s["in_rival"][:7] = [False, True, False]
    s["in_rival"][3:7, 0] = True
    traj.quarters_run = 7
    traj.death_cause = rules.CAUSE_MEMBERS
    return traj


def test_summary_of_a_hand_built_run():
    summary = summarize(_hand_built_trajectory())
    assert set(summary) == set(SUMMARY_KEYS)
    assert summary == {
        "outcome": "dead", "death_quarter": 6, "death_cause": "members",
        "first_zombie_quarter": 2, "zombie_quarters": 3, "revivals": 1, "exits": 1,
        "vacancies": 1, "chair_repeats": 1, "total_outputs": 10, "rival_joins": 1, "seed": 9,
    }


def test_summary_of_a_run_that_never_fell():
    traj = Trajectory(seed=1, quarters=4, n_members=3, rival_at_start=np.zeros(3, bool))
    traj.series["status"][:] = rules.ACTIVE
    traj.series["outputs"][:] = 2
    traj.quarters_run = 4
    summary = summarize(traj)
    assert summary["outcome"] == "alive"
    assert summary["death_quarter"] is None and summary["first_zombie_quarter"] is None
    assert summary["death_cause"] is None and summary["total_outputs"] == 8
