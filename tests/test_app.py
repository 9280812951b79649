"""The teaching page's model and controls, without a browser."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.app.charts import FIGURE_WIDTH, OddsChart, RunChart
from sim.app.story import (
    LEVERS,
    TeachingModel,
    describe_changes,
    lever_changes,
    model_params,
    odds_of,
    odds_summary,
    opening_values,
    session_model,
)
from sim.model.keys import spec_of
from sim.model.mesa_engine import MinilateralModel
from sim.model.scenario_files import builtin_names, load_scenario


def cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def step_to_the_end(model: TeachingModel) -> TeachingModel:
    while model.running:
        model.step()
    return model


def test_the_page_and_minilat_run_give_the_same_trajectory(tmp_path):
    model = step_to_the_end(TeachingModel("mikta", seed="3", budget_trend=-0.1,
                                              compare=True))
    changed, unchanged = model.runs
    result = cli("run", "mikta", "--seed", "3", "--set", "members.*.budget_trend=-0.1",
                 "--set", "members.*.budget_trend_after=-0.1", "--out", tmp_path / "changed")
    assert result.returncode == 0, result.stderr
    from_cli = pd.read_parquet(tmp_path / "changed" / "timeseries.parquet")
    pd.testing.assert_frame_equal(changed.trajectory.to_frame(changed.scenario), from_cli)
    same, where = unchanged.trajectory.equal(MinilateralModel("mikta", 3).run())
    assert same, where


def test_both_runs_see_the_same_shocks():
    model = TeachingModel("mikta", seed=5, secretariat=True, compare=True)
    changed, unchanged = model.runs
    assert (changed.model.inputs["crisis_onset"] == unchanged.model.inputs["crisis_onset"]).all()
    for _ in range(8):
        model.step()
    assert changed.trajectory.quarters_run == unchanged.trajectory.quarters_run == 8


def test_levers_where_the_page_opened_keep_the_scenarios_own_values():
    opening = opening_values("mikta", seed=2)
    model = TeachingModel(**opening)
    assert model.changes == {} and len(model.runs) == 1
    assert model.runs[0].scenario == load_scenario("mikta")


def test_a_slider_snapped_to_its_step_is_not_a_change():
    neutral = opening_values("mikta")["neutral"]
    boost = neutral["chair_boost"]
    step = LEVERS["chair_boost"].step
    snapped = round(boost / step) * step
    assert lever_changes({"chair_boost": snapped}, neutral) == {}
    assert lever_changes({"chair_boost": snapped + step}, neutral) == {
        "group.chair_boost": round(snapped + step, 6)}


def test_a_moved_lever_sets_its_key_for_the_whole_group():
    model = TeachingModel("mikta", crisis_rate=1.0, treaty=True, more="group.zombie_months=36")
    s = model.runs[0].scenario
    assert s.member_values("crisis_rate") == [1.0] * 5
    assert s.group.treaty and s.group.zombie_months == 36


def test_every_lever_is_a_parameter_and_its_slider_stays_in_range():
    for lever in LEVERS.values():
        kind, spec = spec_of(lever.key)
        if kind is not bool:
            assert spec.contains(lever.low) and spec.contains(lever.high), lever.key
    params = model_params(opening_values("mikta"))
    assert set(LEVERS) < set(params)
    assert params["scenario"]["values"] == builtin_names()


@pytest.mark.parametrize(("inputs", "expected"), [
    ({"seed": "-1"}, "`seed` = -1 is out of range"),
    ({"seed": "twelve"}, '`seed` = "twelve" is not a whole number'),
    ({"years": 0}, "`scenario.years` = 0 is out of range"),
    ({"crisis_rate": 20.0}, "crisis_rate` = 20.0 is out of range"),
    ({"more": "group.zombie_months=999"}, "`group.zombie_months` = 999 is out of range"),
    ({"more": "group.zombie_month=24"}, "did you mean `group.zombie_months`?"),
    ({"more": "secretariat"}, "is not of the form KEY=VALUE"),
    ({"scenario": "nowhere"}, "nowhere: unknown scenario"),
])
def test_out_of_range_input_gives_a_message_not_an_exception(inputs, expected):
    model = TeachingModel(**{"scenario": "mikta", **inputs})
    assert expected in model.error
    assert model.runs == [] and not model.running
    model.step()  # the page's Step button is harmless


def test_the_chart_shows_each_new_quarter():
    model = TeachingModel("mikta", seed=1)
    chart = RunChart(model.runs[0], FIGURE_WIDTH)
    before = chart.png()
    model.step()
    after = chart.png()
    assert after[:8] == b"\x89PNG\r\n\x1a\n" and after != before
    assert chart.png() is after  # the same quarter is not drawn twice


def test_minilat_app_refuses_a_bad_scenario_and_a_busy_port():
    result = cli("app", "nowhere")
    assert result.returncode == 2 and "unknown scenario" in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli("app", "--port", busy.getsockname()[1])
    assert result.returncode == 2 and "Choose another --port" in result.stderr


# docs/teaching.md's demonstrations: seed, levers moved, how the changed run ends, and how the
# scenario as it stands ends with the same seed.
DEMONSTRATIONS = [
    (16, {"budget_trend": -0.03}, "ZOMBIE since 2040 Q2", "ALIVE"),
    (202, {"chair_boost": 0.0}, "ZOMBIE since 2043 Q3", "ALIVE"),
    (3, {"budget_trend": -0.06}, "ZOMBIE since 2029 Q2", "ALIVE"),
    (3, {"budget_trend": -0.06, "secretariat": True}, "ALIVE", None),
    (70, {"rival_pull": 5.0}, "ZOMBIE since 2043 Q3", "ALIVE"),
]


@pytest.mark.parametrize(("seed", "levers", "changed", "unchanged"), DEMONSTRATIONS)
def test_the_teaching_demonstrations_show_what_the_guide_says(seed, levers, changed, unchanged):
    from sim.reporting.narrative import headline

    model = step_to_the_end(TeachingModel("mikta", seed=seed, compare=True, **levers))
    titles = [headline(run.trajectory, run.scenario).title for run in model.runs]
    assert titles[0] == changed
    if unchanged:
        assert titles[1] == unchanged


def test_a_lever_moved_mid_story_applies_from_the_current_quarter_and_the_twin_branches():
    opening = opening_values("mikta", seed=3)
    story = session_model({**opening, "compare": True})
    for _ in range(12):
        story.step()
    past = story.runs[0].trajectory
    going_on = type(story)(**{**opening, "compare": True, "secretariat": True})
    assert type(story).previous is going_on  # the next Reset goes on from this one
    changed, twin = going_on.runs
    assert changed.trajectory.quarters_run == twin.trajectory.quarters_run == 12
    for run in (changed, twin):  # one shared past, replayed from the same draws
        for name in past.series:
            assert np.array_equal(run.trajectory.upto(name), past.upto(name), equal_nan=True)
    (change,) = changed.scenario.changes
    assert (change.key, change.value, change.date) == ("group.secretariat", True, "2017Q1")
    assert not twin.scenario.changes and twin.label == "without the change from 2017 Q1"
    assert describe_changes(going_on.changes) == "Secretariat = true from 2017 Q1"
    step_to_the_end(going_on)
    assert any(not np.array_equal(changed.trajectory.upto(n), twin.trajectory.upto(n),
                                  equal_nan=True) for n in past.series)
    # the same story run in one go, with the change at its date, is the same run
    whole = MinilateralModel(changed.scenario, 3).run()
    assert changed.trajectory.equal(whole)[0]


def test_a_lever_moved_back_mid_story_returns_to_the_scenarios_own_values():
    opening = opening_values("mikta", seed=4)
    first = TeachingModel(**{**opening, "budget_trend": -0.1})
    for _ in range(8):
        first.step()
    back = TeachingModel(**opening, story=first)
    s = back.runs[0].scenario
    korea = s.codes.index("KOR")
    stretches = __import__("sim.model.schedule", fromlist=["segments"]).segments(s)
    assert [q for q, _ in stretches] == [0, 8]
    after = stretches[1][1]
    assert after.members[korea].budget_trend == load_scenario("mikta").members[korea].budget_trend
    assert stretches[0][1].members[korea].budget_trend == -0.1


@pytest.mark.parametrize("change", [
    {},  # nothing moved: Reset starts over
    {"from_now": False, "treaty": False},  # the class asked to start over
    {"seed": "9", "treaty": False},  # another seed is another story
])
def test_reset_starts_over_unless_a_lever_moved_in_the_same_story(change):
    opening = opening_values("mikta", seed=3)
    story = TeachingModel(**opening)
    for _ in range(6):
        story.step()
    again = TeachingModel(**{**opening, **change}, story=story)
    assert again.runs[0].trajectory.quarters_run == 0


def test_demonstration_5_a_secretariat_adopted_in_2030_revives_the_stalled_group():
    from sim.reporting.narrative import event_log, headline

    opening = {**opening_values("mikta", seed=3), "budget_trend": -0.06, "compare": True}
    story = TeachingModel(**opening)
    for _ in range(64):
        story.step()
    first = story.runs[0]
    assert headline(first.trajectory, first.scenario).title == "ZOMBIE since 2029 Q2"
    going_on = step_to_the_end(TeachingModel(**{**opening, "secretariat": True},
                                                 story=story))
    with_it, without = going_on.runs
    assert headline(with_it.trajectory, with_it.scenario).title == "ALIVE"
    assert headline(without.trajectory, without.scenario).title == "ZOMBIE since 2029 Q2"
    log = [str(e) for e in event_log(with_it.trajectory, with_it.scenario)]
    assert "2030 Q1 — the members adopt a secretariat" in log
    assert "2030 Q1 — the group revives" in log


def test_the_odds_are_the_shares_sim_computes_for_the_same_levers_and_seeds():
    from sim.model.scenario_files import with_overrides
    from sim.model.simulation import simulate

    opening = opening_values("mikta", seed=11)
    model = TeachingModel(**{**opening, "rival_pull": 4.0})
    odds = odds_of(model.arms, 11, runs=60)
    assert odds.seeds[0] == 11 and odds.labels == ("with the changes", "the scenario unchanged")
    arms = [with_overrides(load_scenario("mikta"), {"world.rival_pull": 4.0}),
            load_scenario("mikta")]
    last = len(odds.shares[0]) - 1
    ends = []
    for arm, scenario in enumerate(arms):
        ends.append(simulate(scenario, list(odds.seeds)).frame()["outcome"])
        for name in ("alive", "zombie", "dead"):
            assert odds.at(arm, last)[name] == pytest.approx((ends[arm] == name).mean())
    # the story is one of the seeds, the first: it ends as that run of the odds ends
    from sim.model.outcomes import summarize

    step_to_the_end(model)
    assert summarize(model.runs[0].trajectory)["outcome"] == ends[0].iloc[0]
    summary = odds_summary(odds, model.runs[0].scenario)
    assert summary.startswith("At the horizon (2043 Q4), over 60 seeds: with the changes: alive")


def test_the_odds_of_a_branch_in_the_middle_of_a_story_share_its_past():
    opening = {**opening_values("mikta", seed=5), "budget_trend": -0.06}
    story = TeachingModel(**opening)
    for _ in range(40):
        story.step()
    branch = TeachingModel(**{**opening, "secretariat": True}, story=story)
    assert [label for label, _ in branch.arms] == ["with the changes",
                                                   "without the change from 2024 Q1"]
    odds = odds_of(branch.arms, 5, runs=40)
    assert np.array_equal(odds.shares[0][:40], odds.shares[1][:40])
    assert not np.array_equal(odds.shares[0], odds.shares[1])


def test_every_slider_names_its_unit_and_the_scenarios_value():
    params = model_params(opening_values("mikta"))
    assert params["budget_trend"]["caption"] == "log units per year · scenario: 0"
    assert params["agenda_breadth"]["caption"] == "priority areas · scenario: 7"
    for name, lever in LEVERS.items():
        if params[name]["type"] != "Checkbox":
            assert params[name]["label"] == lever.label
            assert params[name]["caption"].endswith(
                f"scenario: {opening_values('mikta')[name]:g}")


def test_the_odds_chart_marks_each_quarter_quickly_redrawn():
    model = TeachingModel("mikta", seed=2)
    model.runs[0].model.run()
    chart = OddsChart(odds_of(model.arms, 2, runs=20))
    first, second = chart.png(4), chart.png(5)
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first != second
    assert chart.png(5) is second  # the same quarter is not drawn twice


# docs/teaching.md's odds: (opening seed, levers, quarter label, arm, alive, zombie, dead), in %.
DEMONSTRATION_ODDS = [
    (16, {"budget_trend": -0.03, "compare": True}, "2043Q4", 0, 42.7, 57.3, 0.0),
    (16, {"budget_trend": -0.03, "compare": True}, "2043Q4", 1, 99.7, 0.3, 0.0),
    (16, {"budget_trend": -0.03, "compare": True}, "2030Q4", 0, 100.0, 0.0, 0.0),
    (202, {"chair_boost": 0.0, "compare": True}, "2043Q4", 0, 99.0, 1.0, 0.0),
    (3, {"budget_trend": -0.06}, "2030Q4", 0, 57.3, 42.7, 0.0),
    (3, {"budget_trend": -0.06}, "2043Q4", 0, 7.7, 83.3, 9.0),
    (3, {"budget_trend": -0.06, "secretariat": True}, "2030Q4", 0, 93.7, 6.3, 0.0),
    (3, {"budget_trend": -0.06, "secretariat": True}, "2043Q4", 0, 59.3, 40.7, 0.0),
    (70, {"rival_pull": 5.0, "compare": True}, "2043Q4", 0, 95.0, 5.0, 0.0),
]


@pytest.mark.parametrize(("seed", "levers", "when", "arm", "alive", "zombie", "dead"),
                         DEMONSTRATION_ODDS)
def test_the_teaching_demonstrations_show_the_odds_the_guide_gives(seed, levers, when, arm,
                                                                    alive, zombie, dead):
    model = TeachingModel(**{**opening_values("mikta", seed=seed), **levers})
    shares = model.odds.at(arm, model.runs[0].scenario.quarter_index(when))
    assert [round(100 * shares[k], 1) for k in ("alive", "zombie", "dead")] == [alive, zombie,
                                                                                dead]


def test_demonstration_5_odds_branch_from_the_shared_past():
    opening = {**opening_values("mikta", seed=3), "budget_trend": -0.06, "compare": True}
    story = TeachingModel(**opening)
    for _ in range(64):
        story.step()
    odds = TeachingModel(**{**opening, "secretariat": True}, story=story).odds
    s = story.runs[0].scenario
    at = {when: [odds.at(arm, s.quarter_index(when)) for arm in (0, 1)]
          for when in ("2029Q4", "2030Q4", "2043Q4")}
    assert at["2029Q4"][0] == at["2029Q4"][1]
    assert round(100 * at["2030Q4"][0]["alive"], 1) == 74.7
    assert round(100 * at["2030Q4"][1]["alive"], 1) == 57.3
    assert [round(100 * at["2043Q4"][0][k], 1) for k in ("alive", "zombie")] == [59.0, 41.0]
    assert [round(100 * at["2043Q4"][1][k], 1) for k in ("alive", "zombie", "dead")] == [
        7.7, 83.3, 9.0]
