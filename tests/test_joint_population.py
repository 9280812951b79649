"""The population as a level of a joint calibration: its statistics, `[fixed]`, one meaning for
a drawn key, activity-only case targets, windows in whole quarters."""

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.inference.joint import case_distances, load_joint, simulate_statistics
from sim.inference.joint_fit import calibrate_joint
from sim.inference.population_tables import simulate_statistic

ROOT = Path(__file__).resolve().parents[1]
POPULATION = ROOT / "experiments" / "population-igo.toml"

FILE = f"""
[calibration]
cases = ["ibsa"]
method = "rejection"
draws = 12
accept = 0.25
seed = 5
predictive_runs = 2
population = "{POPULATION}"
population_groups = 24
[fixed]
"mechanisms.review" = "own_valuation"
[priors]
"group.base_rate" = {{ min = 1.0, max = 6.0 }}
"group.review_spread" = {{ min = 0.05, max = 2.0 }}
"group.dormant_months" = {{ min = 24, max = 120 }}
"""


def write(tmp_path: Path, text: str = FILE) -> Path:
    path = tmp_path / "three.toml"
    path.write_text(text)
    return path


def test_the_population_is_a_level_with_fit_targets_and_cases_fit_activity_and_members(tmp_path):
    calibration = load_joint(write(tmp_path))
    names = [name for name, _ in calibration.levels]
    assert names == ["ibsa", "population"]
    fitted = [t.figure for t in calibration.population.population.targets if t.role == "fit"]
    assert [k.split(":", 1)[1] for k in calibration.population.observed.index] == fitted
    # the year-end states are the outcome rule over the same activity: not fitted twice
    (ibsa,) = calibration.cases
    assert not any(":zombie:" in k or ":dead:" in k for k in ibsa.observed.index)
    assert any(":leaders:" in k for k in ibsa.observed.index)
    assert any(":members:" in k for k in ibsa.observed.index)
    # [fixed] reaches the cases' scenarios and every drawn group
    assert ibsa.scenario.mechanisms.review == "own_valuation"
    assert {s.mechanisms.review for s in calibration.population.drawn.scenarios} == \
        {"own_valuation"}


def test_a_set_gives_the_same_population_statistics_and_values_move_them(tmp_path):
    calibration = load_joint(write(tmp_path))
    level = calibration.population
    sets = [{"group.base_rate": 2.0, "group.review_spread": 1.5, "group.dormant_months": 24},
            {"group.base_rate": 6.0, "group.review_spread": 0.05, "group.dormant_months": 120}]
    first = level.statistics(sets)
    again = level.statistics(sets[::-1])
    pd.testing.assert_frame_equal(first, again.iloc[::-1].reset_index(drop=True))
    assert not first.iloc[0].equals(first.iloc[1])
    # a repeated set in a table of parameter sets is run once and given to every row
    params = pd.DataFrame([sets[0], sets[1], sets[0]])
    table = simulate_statistics(calibration, params, [1, 2, 3])
    pd.testing.assert_series_equal(table.loc[0, level.observed.index],
                                   table.loc[2, level.observed.index], check_names=False)
    # the level's statistic is the population tables' own over the same runs
    scenarios, values, seeds = level.run_inputs(sets[:1])
    from sim.experiments.evaluation import evaluate
    from sim.inference.population import YearlyStates
    frame = level.frame(evaluate(scenarios, seeds, YearlyStates(), parameter_sets=values))
    target = level.targets()[-1]
    chosen = frame[(frame["reading"] == target.reading.label)
                   & frame["stratum"].isin(target.strata)]
    expected = simulate_statistic(target, chosen, level.population.years)[0]
    assert first.loc[0, f"population:{target.figure}"] == pytest.approx(expected)


def test_a_reading_keeps_its_own_window_over_a_fitted_one(tmp_path):
    level = load_joint(write(tmp_path)).population
    _, values, _ = level.run_inputs([{"group.dormant_months": 24}])
    own = level.runs["reading"].to_numpy() == 0
    assert all(v == {"group.dormant_months": 24} for v, o in zip(values, own, strict=True) if o)
    # the others keep the source's 120-month rule
    assert all(v == {} for v, o in zip(values, own, strict=True) if not o)


def test_a_fit_with_the_population_reports_it(tmp_path):
    result = calibrate_joint(load_joint(write(tmp_path)), workers=1)
    fit = result.population_fit
    assert len(fit) == 5 and set(fit["strata"]) == {"formal", "informal"}
    assert (fit["q05"] <= fit["median"]).all() and (fit["median"] <= fit["q95"]).all()
    assert result.calibrated["group.dormant_months"] % 3 == 0
    per_level = case_distances(load_joint(write(tmp_path)), pd.DataFrame(
        [dict.fromkeys(list(result.scales.index), np.nan)]), result.scales)
    assert np.isinf(per_level["population"]).all()  # no value is never close


@pytest.mark.parametrize(("change", "words"), [
    ('"group.dormant_months" = { min = 24, max = 120 }',
     '"group.dormant_months" = { min = 25, max = 120 }'),
    ('[priors]', '[priors]\n"world.rival_pull" = { min = 0.0, max = 1.0 }'),
    ('"mechanisms.review" = "own_valuation"', '"years" = 10'),
    ('population_groups = 24', 'population_groups = 1'),
    (f'population = "{POPULATION}"', 'population = "nowhere.toml"'),
])
def test_bad_population_settings_are_refused_with_the_key(tmp_path, change, words):
    with pytest.raises(InputError) as caught:
        load_joint(write(tmp_path, FILE.replace(change, words)))
    message = str(caught.value)
    assert str(tmp_path / "three.toml") in message and "Allowed" in message


def test_an_input_error_crosses_processes_whole():
    error = InputError("f.toml", "is bad.", key="group.x", value=3, allowed="0 to 1.", line=4)
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.key == "group.x" and again.line == 4
