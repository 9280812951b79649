"""One evaluation path: runs in batches on an evaluator, a table in seed order, failures kept."""

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments.evaluation import (
    SUMMARIES,
    TRAJECTORIES,
    batches,
    evaluate,
    evaluator,
)
from sim.experiments.posterior import draw_by_weight
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.simulation import simulate


@pytest.fixture(scope="module")
def mikta():
    return with_overrides(load_scenario("mikta"), years=8)


def test_batches_and_workers_do_not_change_the_runs(mikta):
    seeds = list(range(30))
    alone = simulate(mikta, seeds).frame()
    with evaluator("local", 2) as pool:
        spread = evaluate(mikta, seeds, SUMMARIES, batch=7, evaluator=pool)
    pd.testing.assert_frame_equal(spread, alone)


def test_parameter_sets_are_each_run_s_overrides(mikta):
    values = [{"group.base_rate": 1.5 + k % 3} for k in range(12)]
    seeds = list(range(12))
    by_hand = simulate([with_overrides(mikta, v) for v in values], seeds).frame()
    table = evaluate(mikta, seeds, SUMMARIES, parameter_sets=values, batch=5)
    pd.testing.assert_frame_equal(table, by_hand)


def test_runs_of_different_groups_share_a_batch_and_different_horizons_do_not(mikta):
    ibsa = with_overrides(load_scenario("ibsa"), {"years": mikta.years})  # 3 members, not 5
    other = with_overrides(mikta, {"group.base_rate": 5.0})
    scenarios = [mikta] * 3 + [ibsa, other, ibsa, other]
    parts = batches(scenarios, list(range(7)), SUMMARIES, None, "fast", 1000, "raise")
    assert [len(b.seeds) for b in parts] == [7]
    assert [parts[0].scenario_of(k) for k in range(7)] == scenarios
    together = evaluate(scenarios, list(range(7)), SUMMARIES)
    apart = pd.concat([simulate(s, [k]).frame() for k, s in enumerate(scenarios)],
                      ignore_index=True)
    pd.testing.assert_frame_equal(together, apart)
    longer = with_overrides(mikta, {"years": mikta.years + 1})
    parts = batches([mikta, mikta, longer], [1, 2, 3], SUMMARIES, None, "fast", 1000, "raise")
    assert [len(b.seeds) for b in parts] == [2, 1] and parts[0].scenario is mikta
    trajectories = evaluate(scenarios, list(range(7)), TRAJECTORIES)["trajectory"]
    assert len(trajectories) == 7 and trajectories.iloc[6] is not None


def test_a_failed_run_is_a_row_when_failures_are_recorded(mikta):
    values = [{"group.base_rate": 2.0}, {"group.base_rate": -1.0}, {"group.base_rate": 3.0}]
    with pytest.raises(UserError):
        evaluate(mikta, [1, 2, 3], SUMMARIES, parameter_sets=values)
    table = evaluate(mikta, [1, 2, 3], SUMMARIES, parameter_sets=values, failures="record")
    assert table["failed"].tolist() == [False, True, False]
    assert "base_rate" in table["error"].iloc[1] and table["error"].iloc[0] == ""
    good = evaluate(mikta, [1, 3], SUMMARIES, parameter_sets=[values[0], values[2]])
    assert table["outcome"].iloc[[0, 2]].tolist() == good["outcome"].tolist()


def test_the_weighted_draw_is_numpy_s_choice_by_weight_share():
    weights = pd.Series([0.5, 0.0, 2.0, 1.5])
    drawn = draw_by_weight(weights, 50, np.random.default_rng(4))
    expected = np.random.default_rng(4).choice(4, size=50, p=weights / weights.sum())
    np.testing.assert_array_equal(drawn, expected)
    assert 1 not in drawn


def test_a_batch_builds_each_parameter_set_s_scenario_once(mikta, monkeypatch):
    import sim.experiments.evaluation as evaluation

    low, high, refused = {"group.base_rate": 1.5}, {"group.base_rate": 4.0}, \
        {"group.base_rate": -1.0}
    values = [low] * 4 + [high] * 4 + [refused] * 2  # each set given once per seed
    seeds = list(range(10))
    by_hand = simulate([with_overrides(mikta, v) for v in values[:8]], seeds[:8]).frame()
    built = []
    monkeypatch.setattr(evaluation, "with_overrides",
                        lambda base, overrides: built.append(overrides) or with_overrides(
                            base, overrides))
    table = evaluate(mikta, seeds, SUMMARIES, parameter_sets=values, failures="record")
    assert len(built) == 3  # one scenario for each set, the refused one too
    assert table["failed"].tolist() == [False] * 8 + [True] * 2
    assert "base_rate" in table["error"].iloc[9]
    for column in ("outcome", "total_outputs", "zombie_quarters"):
        assert table[column].iloc[:8].tolist() == by_hand[column].tolist()
    parts = batches(mikta, seeds[:8], SUMMARIES, values[:8], "fast", 1000, "raise")
    assert parts[0].parameter_sets[0] is parts[0].parameter_sets[3]  # pickled once
    assert parts[0].parameter_sets[3] is not parts[0].parameter_sets[4]
