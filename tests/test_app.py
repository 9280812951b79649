"""The teaching page's model and controls, without a browser."""

from __future__ import annotations

import socket
import subprocess
import sys

import pandas as pd
import pytest

from sim import app
from sim.model.mesa_engine import MinilateralModel
from sim.model.params import builtin_names, load_scenario, spec_of


def cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def step_to_the_end(model: app.TeachingModel) -> app.TeachingModel:
    while model.running:
        model.step()
    return model


def test_the_page_and_minilat_run_give_the_same_trajectory(tmp_path):
    model = step_to_the_end(app.TeachingModel("mikta", seed="3", budget_trend=-0.1,
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
    model = app.TeachingModel("mikta", seed=5, secretariat=True, compare=True)
    changed, unchanged = model.runs
    assert (changed.model.inputs["crisis_onset"] == unchanged.model.inputs["crisis_onset"]).all()
    for _ in range(8):
        model.step()
    assert changed.trajectory.quarters_run == unchanged.trajectory.quarters_run == 8


def test_levers_where_the_page_opened_keep_the_scenarios_own_values():
    opening = app.opening_values("mikta", seed=2)
    model = app.TeachingModel(**opening)
    assert model.changes == {} and len(model.runs) == 1
    assert model.runs[0].scenario == load_scenario("mikta")


def test_a_slider_snapped_to_its_step_is_not_a_change():
    neutral = app.opening_values("mikta")["neutral"]
    boost = neutral["chair_boost"]
    step = app.LEVERS["chair_boost"].step
    snapped = round(boost / step) * step
    assert app.lever_changes({"chair_boost": snapped}, neutral) == {}
    assert app.lever_changes({"chair_boost": snapped + step}, neutral) == {
        "group.chair_boost": round(snapped + step, 6)}


def test_a_moved_lever_sets_its_key_for_the_whole_group():
    model = app.TeachingModel("mikta", crisis_rate=1.0, treaty=True, more="group.zombie_months=36")
    s = model.runs[0].scenario
    assert s.member_values("crisis_rate") == [1.0] * 5
    assert s.group.treaty and s.group.zombie_months == 36


def test_every_lever_is_a_parameter_and_its_slider_stays_in_range():
    for lever in app.LEVERS.values():
        kind, spec = spec_of(lever.key)
        if kind is not bool:
            assert spec.contains(lever.low) and spec.contains(lever.high), lever.key
    params = app.model_params(app.opening_values("mikta"))
    assert set(app.LEVERS) < set(params)
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
    model = app.TeachingModel(**{"scenario": "mikta", **inputs})
    assert expected in model.error
    assert model.runs == [] and not model.running
    model.step()  # the page's Step button is harmless


def test_the_chart_shows_each_new_quarter():
    model = app.TeachingModel("mikta", seed=1)
    chart = app.RunChart(model.runs[0], app.FIGURE_WIDTH)
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

    model = step_to_the_end(app.TeachingModel("mikta", seed=seed, compare=True, **levers))
    titles = [headline(run.trajectory, run.scenario).title for run in model.runs]
    assert titles[0] == changed
    if unchanged:
        assert titles[1] == unchanged
