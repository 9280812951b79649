"""The event log and the state headline say what the run's record holds, no more, no less."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_overrides

from sim.model import rules
from sim.model.mesa_engine import MinilateralModel
from sim.reporting.narrative import event_log, headline, quarter_date


def run(seed=1, overrides=None, scenario="mikta"):
    model = MinilateralModel(scenario, seed, overrides=overrides)
    model.run()
    return model.trajectory, model.scenario


def texts(log):
    return [str(entry) for entry in log]


def test_quarters_read_as_dates():
    _, s = run()
    assert quarter_date(s, 0) == "2014 Q1" and quarter_date(s, 15) == "2017 Q4"


def test_the_log_has_the_scenarios_dated_events_and_the_rival_blocs_moves():
    trajectory, s = run(seed=1)
    log = texts(event_log(trajectory, s))
    assert "2017 Q4 — Australia: budget ×0.5" in log
    assert "2017 Q1 — Mexico: attention ×0.6 for 4 years" in log
    assert "2025 Q1 — Indonesia joins BRICS" in log  # a dated fact of the record
    assert not any("BRICS invites" in line or "expansion round" in line for line in log
                   if line < "2026")  # the record shows the BRICS's members through 2025
    assert "2020 Q1 — global crisis begins" in log
    assert "2014 Q1 — Mexico takes the chair" in log


def test_a_dated_crisis_is_logged_once():
    trajectory, s = run(seed=1)
    korea_2016q4 = [e.text for e in event_log(trajectory, s)
                    if e.date == "2016 Q4" and e.text.startswith("Korea: domestic crisis")]
    assert korea_2016q4 == ["Korea: domestic crisis (0.5 years)"]


def test_the_log_is_in_time_order_and_stops_where_the_run_stopped():
    trajectory, s = run(seed=3, overrides={"group.base_rate": 1e-9,
                                            "world.outside_event_rate": 0.0})
    log = event_log(trajectory, s)
    quarters = [e.quarter for e in log]
    assert quarters == sorted(quarters) and quarters[-1] == trajectory.quarters_run - 1


def test_a_leadership_vacuum_is_logged_but_is_not_death():
    trajectory, s = run(seed=3, overrides={"group.chair_threshold": 1.0,
                                               "group.chair_cost": 10.0})
    log = texts(event_log(trajectory, s))
    assert "2014 Q1 — chair term vacant: no member takes the chair" in log
    assert "2015 Q1 — chair term vacant: no member takes the chair (2 in a row)" in log
    assert not any("dies" in line for line in log)
    assert headline(trajectory, s).state != "dead"


def test_dormancy_is_named_as_the_cause_of_death():
    trajectory, s = run(seed=3, overrides={"group.base_rate": 1e-9,
                                            "world.outside_event_rate": 0.0})
    cause = "dormancy (no activity at any level for 60 months)"
    assert texts(event_log(trajectory, s))[-1] == f"2019 Q1 — the group dies of {cause}"
    assert headline(trajectory, s).title == f"DEAD in 2019 Q1 of cause: {cause}"


def test_a_zombie_headline_gives_the_start_of_the_current_spell():
    cut = {"members.*.budget_trend": -0.06, "members.*.budget_trend_after": -0.06}
    trajectory, s = run(seed=2, overrides=cut)  # ends a zombie (docs/teaching.md, 3.)
    state = trajectory.upto("state")
    assert state[-1] == rules.ZOMBIE
    since = len(state) - 1
    while state[since - 1] == rules.ZOMBIE:
        since -= 1
    line = headline(trajectory, s)
    assert line.state == "zombie" and line.title == f"ZOMBIE since {quarter_date(s, since)}"
    assert "the group becomes a zombie" in [e.text for e in event_log(trajectory, s)
                                            if e.quarter == since]


def test_before_the_first_quarter_the_group_is_alive_and_not_started():
    model = MinilateralModel("mikta", 1)
    line = headline(model.trajectory, model.scenario)
    assert line.title == "ALIVE" and "not started" in line.detail
    assert event_log(model.trajectory, model.scenario) == []


@pytest.mark.parametrize("case", range(6))
def test_every_change_in_the_record_has_exactly_one_entry(case):
    overrides = random_overrides(case)
    overrides["members.MEX.joins"] = "2016Q1"
    trajectory, s = run(seed=case, overrides=overrides)
    log = event_log(trajectory, s)
    names = [m.name for m in s.members]
    status, in_rival = trajectory.upto("status"), trajectory.upto("in_rival")
    before = np.vstack([np.full(len(names), rules.PENDING), status[:-1]])
    was_in = np.vstack([trajectory.rival_at_start, in_rival[:-1]])

    def count(suffix):
        return sum(e.text.endswith(suffix) for e in log)

    for i, name in enumerate(names):
        exits = ((status[:, i] == rules.EXITED) & (before[:, i] == rules.ACTIVE)).sum()
        assert count(f"{name} leaves the group") == exits
        joins = ((status[:, i] == rules.ACTIVE) & (before[:, i] == rules.PENDING)).sum()
        assert count(f"{name} joins the group") == joins - (status[0, i] == rules.ACTIVE)
        member_in_quarter = (status[:, i] == rules.ACTIVE) | (before[:, i] == rules.ACTIVE)
        assert count(f"{name} joins {s.world.rival_name}") == (
            in_rival[:, i] & ~was_in[:, i] & member_in_quarter).sum()
        assert count(f"invites {name}") == trajectory.upto("invited")[:, i].sum()
    vacant = trajectory.upto("new_term") & (trajectory.upto("chair") == rules.VACANT)
    assert sum("chair term vacant" in e.text for e in log) == vacant.sum()
    changes = (np.diff(trajectory.upto("state").astype(int), prepend=rules.ALIVE) != 0).sum()
    assert sum(e.kind == "group" for e in log) == changes
