"""Outcome classification on hand-built series, and the run summary."""

import numpy as np

from sim.model import rules
from sim.model.outcomes import SUMMARY_KEYS, classify_series, summarize
from sim.model.params import GroupParams
from sim.model.trajectory import Trajectory

GROUP = GroupParams(base_rate=2.0, zombie_threshold=0.3, zombie_window=4, chair_term=4,
                    min_members=3, vacancy_limit=2)


def _states(outputs, members=None, vacant=None):
    n = len(outputs)
    members = [5] * n if members is None else members
    vacant = [False] * n if vacant is None else vacant
    return classify_series(outputs, members, vacant, GROUP)


def test_steady_activity_is_alive():
    states, cause = _states([2] * 12)
    assert (states == rules.ALIVE).all() and cause == rules.NO_CAUSE


def test_low_activity_over_a_full_window_is_a_zombie_and_can_revive():
    outputs = [2, 2, 2, 2, 0, 0, 0, 0, 0, 4, 4, 4]
    states, _ = _states(outputs)
    # window of 4, threshold 0.3 * 2 * 4 = 2.4 outputs: zombie once the window sums below it
    assert list(states) == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]


def test_no_zombie_before_the_window_is_full():
    states, _ = _states([0, 0, 0, 0, 0])
    assert list(states) == [0, 0, 0, 1, 1]


def test_losing_members_kills_and_death_is_absorbing():
    states, cause = _states([2] * 8, members=[5, 5, 4, 2, 5, 5, 5, 5])
    assert list(states) == [0, 0, 0, 2, 2, 2, 2, 2] and cause == rules.CAUSE_MEMBERS


def test_two_vacant_terms_in_a_row_kill_the_group():
    vacant = [False] * 12
    vacant[4] = vacant[8] = True  # terms start at 0, 4, 8
    states, cause = _states([2] * 12, vacant=vacant)
    assert np.flatnonzero(states == rules.DEAD).min() == 8 and cause == rules.CAUSE_VACANCY


def test_vacant_terms_apart_do_not_kill():
    vacant = [False] * 16
    vacant[4] = vacant[12] = True
    states, _ = _states([2] * 16, vacant=vacant)
    assert (states != rules.DEAD).all()


def _hand_built_trajectory():
    t, n = 10, 3
    traj = Trajectory(seed=9, quarters=t, n_members=n,
                      rival_at_start=np.array([False, True, False]))
    s = traj.series
    s["state"][:7] = [0, 0, 1, 1, 0, 1, 2]
    s["outputs"][:7] = [3, 2, 0, 0, 4, 0, 1]
    s["chair"][:7] = [0, 0, 0, 0, -1, -1, -1]
    s["new_term"][:7] = [True, False, False, False, True, False, False]
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
        "vacancies": 1, "total_outputs": 10, "rival_joins": 1, "seed": 9,
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
