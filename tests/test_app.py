"""The teaching page's model and controls, without a browser."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.app.charts import DPI, FONT_PT, OddsChart, RunChart
from sim.app.levers import (
    LEVERS,
    caption,
    describe_changes,
    in_force,
    lever_changes,
    opening_values,
    shown,
)
from sim.app.story import (
    TeachingModel,
    banner,
    odds_of,
    odds_summary,
    parse_go_to,
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
    assert set(opening_values("mikta")["neutral"]) == {*LEVERS, "years"}
    assert "mikta" in builtin_names()


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


def test_the_chart_shows_each_new_quarter_at_its_size_with_14_px_text():
    model = TeachingModel("mikta", seed=1)
    chart = RunChart(model.runs[0], 524, 330, "a title")
    sizes = {round(text.get_fontsize() * DPI / 72, 6) for text in chart.fig.findobj(
        lambda artist: hasattr(artist, "get_fontsize") and artist.get_text())}
    assert min(sizes) >= 14 and pytest.approx(14) == FONT_PT * DPI / 72
    before = chart.png()
    model.step()
    after = chart.png()
    assert after[:8] == b"\x89PNG\r\n\x1a\n" and after != before
    assert chart.png() is after  # the same quarter is not drawn twice
    from io import BytesIO

    import PIL.Image

    assert PIL.Image.open(BytesIO(after)).size == (524, 330)


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
    forced = going_on.in_force()
    assert (shown(forced["secretariat"].value), forced["secretariat"].since) == ("true",
                                                                               "2017 Q1")
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
    mikta, ibsa = load_scenario("mikta"), load_scenario("ibsa")
    assert caption("budget_trend", mikta) == "log units per year · scenario: 0"
    assert caption("agenda_breadth", mikta) == "priority areas · scenario: 7"
    assert caption("agenda_breadth", ibsa) == "priority areas · scenario: 14"
    for name, lever in LEVERS.items():
        if not lever.is_switch:
            own = shown(opening_values("mikta")[name])
            assert caption(name, mikta).endswith(f"scenario: {own}")


def test_the_odds_chart_marks_each_quarter_quickly_redrawn():
    model = TeachingModel("mikta", seed=2)
    model.runs[0].model.run()
    chart = OddsChart(odds_of(model.arms, 2, runs=20), 232, 170)
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


def test_in_force_reads_the_levers_of_the_quarter_with_dated_changes_applied():
    s = load_scenario("mikta")
    opening = in_force(s, 0)
    assert shown(opening["chair_boost"].value) == shown(opening_values("mikta")["chair_boost"])
    assert opening["crisis_rate"].others == (("Turkey", 0.5),)
    from sim.model.scenario_files import with_overrides

    dated = with_overrides(s, {"group.secretariat@2030Q1": True})
    before, after = in_force(dated, s.quarter_index("2029Q4")), in_force(dated, 64)
    assert (before["secretariat"].value, before["secretariat"].since) == (False, "")
    assert (after["secretariat"].value, after["secretariat"].since) == (True, "2030 Q1")
    assert str(after["secretariat"]) == "Secretariat true from 2030 Q1"


@pytest.mark.parametrize(("text", "quarters"), [("2029 Q4", 64), ("2029q4", 64),
                                                ("2014 Q1", 1), ("2031", 72)])
def test_go_to_takes_a_quarter_or_a_year(text, quarters):
    model = TeachingModel("mikta", seed=3)
    assert parse_go_to(text, model.runs[0].scenario) == quarters
    model.go_to(quarters)
    assert model.quarters_run == quarters


@pytest.mark.parametrize(("text", "problem"), [("2050 Q1", "is outside the run"),
                                               ("soon", "is not a quarter")])
def test_go_to_refuses_what_is_not_a_quarter_of_the_run(text, problem):
    from sim.errors import InputError

    with pytest.raises(InputError, match=problem) as refused:
        parse_go_to(text, load_scenario("mikta"))
    assert "go to quarter box" in str(refused.value) and "2043 Q4" in str(refused.value)


def test_the_banner_says_not_started_before_the_first_quarter_and_when_they_last_met():
    model = TeachingModel("mikta", seed=3)
    first = banner(model.runs[0])
    assert (first.state, first.title) == ("not-started", "NOT STARTED")
    assert model.clock() == "2014 Q1 · not started"
    model.go_to(64)
    b = banner(model.runs[0])
    assert b.title == "ALIVE" and "0 quarters ago" not in b.detail
    assert b.detail.startswith("Ministers ") and model.clock() == "2029 Q4 · quarter 64 of 120"


def test_the_story_log_tells_the_groups_events_and_the_routine_on_request():
    from sim.app.story_log import is_routine, story_log, story_logs

    model = TeachingModel(**{**opening_values("mikta", seed=3), "budget_trend": -0.06,
                             "compare": True})
    model.run_to_end()
    run = model.runs[0]
    story = story_log(run.trajectory, run.scenario)
    everything = story_log(run.trajectory, run.scenario, routine=True)
    texts = [str(e) for e in story]
    assert "2029 Q2 — the group becomes a zombie" in texts
    assert "2028 Q2 — a year without a meeting of ministers" in texts
    assert not any(is_routine(e) for e in story) and any(is_routine(e) for e in everything)
    assert len(story) < len(everything) / 2
    merged = story_logs([(r.trajectory, r.scenario) for r in model.runs], ("A", "B"))
    assert ("2029 Q2 — the group becomes a zombie", "A") in [(str(e), t) for e, t in merged]
    assert ("2014 Q1 — Mexico takes the chair", "") in [(str(e), t) for e, t in merged]


def test_the_ring_draws_each_ministry_by_budget_engagement_chair_crisis_and_exit():
    import xml.etree.ElementTree as ET

    from sim.app.ring import ring_svg

    model = TeachingModel(**{**opening_values("mikta", seed=3), "budget_trend": -0.1,
                             "crisis_rate": 2.0})
    svg = ET.fromstring(ring_svg(model.runs[0].model, 232, 236))
    assert {g.get("data-member") for g in svg.iter("{http://www.w3.org/2000/svg}g")} == set(
        model.runs[0].scenario.codes)
    model.go_to(100)
    agents = model.runs[0].model.member_list
    svg = ET.fromstring(ring_svg(model.runs[0].model, 232, 236))
    ministries = {g.get("data-member"): g for g in svg.iter("{http://www.w3.org/2000/svg}g")}
    radius = {code: float(g.find("{http://www.w3.org/2000/svg}circle").get("r"))
              for code, g in ministries.items()}
    by_budget = sorted(agents, key=lambda a: a.budget)
    assert [radius[a.code] for a in by_budget] == sorted(radius[a.code] for a in by_budget)
    chair = model.runs[0].trajectory.chair[99]
    assert [g.get("data-chair") for g in ministries.values()].count("true") == (chair >= 0)
    for agent in agents:
        g = ministries[agent.code]
        assert g.get("data-crisis") == str(bool(agent.crisis)).lower()
        assert g.get("data-left") == str(agent.status == 2).lower()
        assert float(g.get("data-engagement")) == pytest.approx(agent.engagement, abs=1e-4)
    sizes = {float(t.get("font-size")) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert min(sizes) >= 14


def test_the_guide_gives_the_values_the_page_opens_with():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "teaching.md").read_text()
    rows = dict(line.strip("| ").split(" | ")[:2] for line in text.splitlines()
                if line.startswith("| `") and line.count("|") == 4)
    forced = in_force(load_scenario("mikta"), 0)
    assert {key.strip("`"): value for key, value in rows.items()} == {
        LEVERS[name].key: str(f) .removeprefix(f"{f.label} ") for name, f in forced.items()}
