"""Experiment files, designs and seeds: everything decided before the first run."""

import numpy as np
import pytest

from sim.errors import InputError
from sim.experiments.design import (
    chunk_bounds,
    design_points,
    experiment_hash,
    load_experiment,
    run_seed,
    run_table,
)

HEAD = """\
[experiment]
name = "t"
scenario = "mikta"
years = 5
replicates = 3
seed = 7
"""


def experiment_file(tmp_path, text, name="e.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def load(tmp_path, text, **kw):
    return load_experiment(experiment_file(tmp_path, text), **kw)


def test_grid_is_the_full_factorial_with_stepped_ranges(tmp_path):
    e = load(tmp_path, HEAD + '[factors]\n"group.secretariat" = [false, true]\n'
             '"members.*.budget_trend" = { min = -0.06, max = 0.0, steps = 4 }\n')
    points = design_points(e)
    assert len(points) == 8 and list(points["point_id"]) == list(range(8))
    assert points["group.secretariat"].dtype == bool
    assert sorted(set(points["members.*.budget_trend"])) == pytest.approx([-0.06, -0.04, -0.02, 0])


def test_unquoted_dotted_keys_work_like_quoted_ones(tmp_path):
    e = load(tmp_path, HEAD + "[factors]\ngroup.treaty = [false, true]\n"
             "members.KOR.crisis_rate = { min = 0.1, max = 0.5, steps = 2 }\n")
    assert e.factor_keys == ["group.treaty", "members.KOR.crisis_rate"]


def test_oat_varies_one_factor_at_a_time_around_the_scenario(tmp_path):
    e = load(tmp_path, HEAD + 'design = "oat"\n[factors]\n'
             '"group.agenda_breadth" = { min = 3, max = 12 }\n"world.rival_pull" = [0.0, 3.0]\n')
    points = design_points(e)
    base = points.iloc[0]
    assert base["group.agenda_breadth"] == 7 and base["world.rival_pull"] == 1.0
    assert len(points) == 5
    for _, row in points.iloc[1:].iterrows():
        changed = (row["group.agenda_breadth"] != 7) + (row["world.rival_pull"] != 1.0)
        assert changed == 1
    assert points["group.agenda_breadth"].dtype == np.int64


def test_lhs_and_sobol_cover_their_ranges(tmp_path):
    factors = ('[factors]\n"members.*.crisis_rate" = { min = 0.1, max = 0.9 }\n'
               '"group.agenda_breadth" = { min = 2, max = 14 }\n')
    lhs = design_points(load(tmp_path, HEAD + 'design = "lhs"\nsamples = 50\n' + factors))
    assert len(lhs) == 50
    assert lhs["members.*.crisis_rate"].between(0.1, 0.9).all()
    assert lhs["group.agenda_breadth"].isin(range(2, 15)).all()
    sobol = design_points(load(tmp_path, HEAD + 'design = "sobol"\nsamples = 16\n' + factors))
    assert len(sobol) == 16 * (2 + 2)


def test_run_ids_seeds_and_common_random_numbers(tmp_path):
    text = HEAD + '[factors]\n"group.secretariat" = [false, true]\n'
    runs = run_table(load(tmp_path, text))
    assert list(runs["run_id"]) == list(range(6))
    by_replicate = runs.groupby("replicate")["seed"].nunique()
    assert (by_replicate == 1).all(), "with CRN a replicate has one seed at every point"
    assert runs["seed"].nunique() == 3
    independent = run_table(load(tmp_path, text.replace(
        "seed = 7", "seed = 7\ncommon_random_numbers = false")))
    assert independent["seed"].nunique() == 6


def test_seed_depends_only_on_experiment_seed_point_and_replicate():
    assert run_seed(1, 2, 3, False) == run_seed(1, 2, 3, False)
    assert run_seed(1, 2, 3, False) != run_seed(1, 2, 4, False)
    assert run_seed(1, 2, 3, True) == run_seed(1, 9, 3, True)
    assert 0 <= run_seed(2**62, 10**6, 10**6, False) < 2**63


def test_replicates_override_changes_the_hash(tmp_path):
    text = HEAD + '[factors]\n"group.secretariat" = [false, true]\n'
    a, b = load(tmp_path, text), load(tmp_path, text, replicates=9)
    assert b.replicates == 9
    assert experiment_hash(a, False, "1") != experiment_hash(b, False, "1")
    assert experiment_hash(a, False, "1") == experiment_hash(load(tmp_path, text), False, "1")


def test_fixed_values_apply_to_every_run(tmp_path):
    e = load(tmp_path, HEAD + '[fixed]\n"world.rival_pull" = 0.0\n'
             '[factors]\n"group.treaty" = [false, true]\n')
    assert e.base.world.rival_pull == 0.0


def test_chunks_cover_every_run_once():
    bounds = chunk_bounds(23, 5)
    assert bounds[0] == (0, 5) and bounds[-1] == (20, 23)
    assert sum(b - a for a, b in bounds) == 23


BAD = {
    "unknown factor key": ('[factors]\n"group.secretary" = [false, true]\n',
                           ["factors.group.secretary", "did you mean"]),
    "unknown experiment key": ('replicas = 3\n[factors]\n"group.treaty" = [true]\n',
                               ["experiment.replicas", "did you mean `experiment.replicates`"]),
    "empty factor list": ('[factors]\n"group.treaty" = []\n', ["empty list"]),
    "min above max": ('[factors]\n"members.*.crisis_rate" = { min = 0.5, max = 0.1, steps = 2 }\n',
                      ["min 0.5 greater than max 0.1"]),
    "sobol with listed values": ('design = "sobol"\nsamples = 8\n[factors]\n'
                                 '"group.treaty" = [false, true]\n',
                                 ["experiment.design", "needs ranges", "group.treaty"]),
    "grid range without steps": ('[factors]\n"members.*.crisis_rate" = { min = 0.1, max = 0.5 }\n',
                                 ["needs steps"]),
    "sobol samples not a power of two": ('design = "sobol"\nsamples = 10\n[factors]\n'
                                         '"members.*.crisis_rate" = { min = 0.1, max = 0.5 }\n',
                                         ["power of 2", "16"]),
    "value out of range": ('[factors]\n"world.rival_pull" = [1.0, -2.0]\n',
                           ["factors.world.rival_pull", "-2.0", "out of range"]),
    "no factors": ("", ["at least one factor"]),
    "unknown scenario": ('[factors]\n"group.treaty" = [true]\n', ["experiment.scenario"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_files_are_refused_with_a_located_message(tmp_path, case):
    extra, expected = BAD[case]
    text = HEAD + extra
    if case == "unknown scenario":
        text = text.replace('scenario = "mikta"', 'scenario = "mikta2"')
    if case.startswith("unknown experiment key"):
        text = HEAD.replace("seed = 7\n", "seed = 7\n") + extra
    with pytest.raises(InputError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert "e.toml" in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_non_positive_replicates_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"experiment\.replicates"):
        load(tmp_path, HEAD.replace("replicates = 3", "replicates = 0")
             + '[factors]\n"group.treaty" = [true]\n')
    with pytest.raises(InputError, match=r"\-\-replicates"):
        load(tmp_path, HEAD + '[factors]\n"group.treaty" = [true]\n', replicates=0)
