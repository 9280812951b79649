"""One fast-engine batch of groups of any shape (sim.model.shapes): each run equals the same group
run alone, on the fast engine and on the Mesa engine."""

import numpy as np
import pytest

from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import run
from sim.model.outcomes import summarize, to_records
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.shapes import layout_of

TOLERANCE = 1e-9


def group_file(tmp_path, name: str, members: int, start: str = "2014Q1", years: int = 12,
               secretariat: bool = False, extra: str = "", member_extra: str = "") -> object:
    """A scenario of `members` members (codes M1, M2, ...) written as a file and loaded."""
    codes = [f"M{i + 1}" for i in range(members)]
    order = ", ".join(f'"{c}"' for c in reversed(codes))  # an order of its own
    lines = ["[scenario]", f'name = "{name}"', f'start = "{start}"', f"years = {years}", "",
             "[group]", f"chair_order = [{order}]", f"secretariat = {str(secretariat).lower()}",
             "", "[member_defaults]", "rival_affinity = 0.3", ""]
    for i, code in enumerate(codes):
        lines += [f"[members.{code}]", f'name = "Member {code}"',
                  f"budget_trend = {-0.02 * (i % 4):.2f}", f"crisis_rate = {0.2 + 0.1 * (i % 3)}",
                  member_extra if i == 3 else "", ""]
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + extra)
    return load_scenario(path)


def shapes(tmp_path) -> list:
    """Six shapes from 3 to 12 members: starts, dated events, joins, elections, a change at a
    date, structural variants, the routes to exit and death, and two real groups."""
    late_joiner = 'joins = "2017Q3"\nfirst_election = "2015Q2"\nfirst_election_changed = false'

    events = ('\n[[events]]\ndate = "2016Q1"\nkind = "crisis"\nmember = "M2"\nyears = 1.0\n'
              '\n[[events]]\ndate = "2018Q2"\nkind = "budget"\nmember = "M1"\nfactor = 0.6\n'
              'years = 0\n\n[[events]]\ndate = "2019Q1"\nkind = "global_crisis"\nyears = 1.0\n')
    policy = ('\n[[events]]\ndate = "2020Q1"\nkind = "set"\nkey = "group.secretariat"\n'
              'value = true\n')
    eight = group_file(tmp_path, "eight", 8, start="2012Q3", extra=events)
    return [
        load_scenario("ibsa"),
        group_file(tmp_path, "twelve", 12, start="2016Q1", secretariat=True),
        load_scenario("mikta"),
        eight,
        group_file(tmp_path, "six", 6, extra=policy, member_extra=late_joiner),
        with_overrides(group_file(tmp_path, "ten", 10, start="2010Q2"),
                       {"mechanisms.exit": "review", "group.review_exit": 0.5}),
        with_overrides(eight, {"world.rival_pull": 1.5}),  # the shape of `eight`, other values
        with_overrides(load_scenario("mikta"), {  # the routes to exit and death switched on
            "mechanisms.review": "own_valuation", "mechanisms.engagement": "relative",
            "group.convene_threshold": 0.2, "group.termination_terms": 2,
            "group.dissolve_value": 0.6, "group.dissolve_terms": 3,
            "members.*.budget_trend": -0.05, "members.*.budget_trend_after": -0.05}),
    ]


def mixed_batch(groups, runs_each: int, years: int):
    scenarios = [g for g in groups for _ in range(runs_each)]
    seeds = list(range(100, 100 + len(scenarios)))
    return scenarios, seeds, run_batch(scenarios, seeds, years=years, record_series=True)


def test_a_mixed_batch_lays_out_six_shapes_padded_to_the_widest(tmp_path):
    groups = shapes(tmp_path)
    layout = layout_of([g for g in groups for _ in range(3)])
    assert len(layout.shapes) == 6 and layout.width == 12
    assert sorted(set(layout.sizes.tolist())) == [3, 5, 6, 8, 10, 12]


def test_each_run_of_a_mixed_batch_equals_its_group_run_alone(tmp_path):
    groups = shapes(tmp_path)
    _, seeds, mixed = mixed_batch(groups, 6, 12)
    fast = to_records(mixed.summary, mixed.seeds)
    for k, group in enumerate(groups):
        alone = run_batch(group, seeds[6 * k: 6 * k + 6], years=12, record_series=True)
        assert to_records(alone.summary, alone.seeds) == fast[6 * k: 6 * k + 6]
        for j in range(6):
            trajectory = mixed.trajectories[6 * k + j]
            assert trajectory.n_members == len(group.members)
            for name, series in alone.trajectories[j].series.items():
                np.testing.assert_array_equal(series, trajectory.series[name], err_msg=name)


def test_each_run_of_a_mixed_batch_equals_the_mesa_engines_run(tmp_path):
    groups = shapes(tmp_path)
    scenarios, seeds, mixed = mixed_batch(groups, 2, 12)
    fast = to_records(mixed.summary, mixed.seeds)
    for i, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True)):
        reference = run(with_overrides(scenario, {"years": 12}), seed=seed)
        same, where = reference.equal(mixed.trajectories[i], TOLERANCE)
        assert same, f"{scenario.name} seed {seed}: {where}"
        assert summarize(reference) == fast[i]


def test_padding_members_never_join_and_the_runs_shapes_show_in_the_summary(tmp_path):
    groups = shapes(tmp_path)
    _, _, mixed = mixed_batch(groups, 4, 12)
    for trajectory, group in zip(mixed.trajectories[::4], groups, strict=True):
        assert trajectory.series["status"].shape[1] == len(group.members)
    # exits count only real members: never more than the group has
    sizes = np.repeat([len(g.members) for g in groups], 4)
    assert (mixed.summary["exits"] <= sizes).all()


def test_a_batch_of_different_horizons_is_refused(tmp_path):
    a = group_file(tmp_path, "short", 4, years=5)
    b = group_file(tmp_path, "long", 4, years=6)
    with pytest.raises(ValueError, match="horizon"):
        run_batch([a, b], [1, 2])
