"""Populations: the file's checks, seeded draws that follow the file, the life table's
arithmetic, and a run through the command line that resumes to the same bytes."""

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError, UserError
from sim.inference import population_tables as tables
from sim.inference.population_draw import draw_population, stratum_sizes
from sim.inference.population_file import load_population
from tests.test_fuzz import check_outcome, invoke

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "experiments" / "population-igo.toml"
FIGURES = ROOT / "seeds" / "population"

SMALL = f"""\
[population]
name = "small"
scenario = "generic-5"
years = 12
groups = 24
seed = 7
chunk_size = 10
figures = "{FIGURES}"

[member_template]
code_prefix = "M"

[[strata]]
name = "informal"
share = 0.5
reference_class = "informal_igo"
[strata.fixed]
"group.secretariat" = false

[[strata]]
name = "formal"
share = 0.5
reference_class = "formal_igo"
[strata.fixed]
"group.secretariat" = true

[draws.members]
distribution = "uniform_int"
min = 3
max = 8

[draws."members.*.budget_trend"]
per = "member"
distribution = "normal"
mean = -0.05
sd = 0.05
min = -0.2
max = 0.1

[draws."world.rival_pull"]
distribution = "choice"
values = [0.0, 1.0]
weights = [1, 3]

[[targets]]
figure = "es2020-data-hazard-age1-10"
strata = ["formal"]
statistic = "death_rate"
ages = [1, 10]
tolerance = 0.27

[[targets]]
figure = "vs2021-data-hazard-age1-10"
strata = ["informal"]
statistic = "death_rate"
ages = [1, 10]
rule = {{ dormant_months = 120, death_dated = "last_activity" }}
tolerance = 0.5
"""


def small_file(tmp_path, text=SMALL, name="small.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------ the file


def test_the_shipped_file_loads_with_its_readings_and_targets():
    population = load_population(SHIPPED)
    assert [s.name for s in population.strata] == ["informal", "formal"]
    assert len(population.targets) == 13
    assert [r.label for r in population.readings] == [
        "the scenario's outcome rule",
        "dormant_months = 120, death dated at the last activity"]
    formal = population.stratum("formal")
    assert formal.base.group.secretariat and formal.base.group.treaty
    assert population.stratum("informal").template.founding_enthusiasm == 0.9


@pytest.mark.parametrize("old, new, key, problem", [
    ("years = 12", "years = 0", "population.years", "is not allowed"),
    ("share = 0.5\nreference_class = \"formal_igo\"", "share = 0.4\nreference_class = "
     "\"formal_igo\"", "share", "sum to 0.9"),
    ("max = 0.1", "max = 2.0", "max", "out of range"),
    ("min = -0.2\nmax = 0.1\n", "", "min", "is missing"),
    ("weights = [1, 3]", "weights = [1]", "weights", "must be 2 numbers"),
    ("max = 8", "max = 13", "max", "out of range"),
    ("min = 3\n", "min = 2\n", "min", "out of range"),
    ('"es2020-data-hazard-age1-10"', '"no-such-figure"', "figure", "is not allowed"),
    ('"es2020-data-hazard-age1-10"', '"gray2018-data-share-dead"', "figure",
     "compare like with like"),
    ('"group.secretariat" = true', '"world.rival_pull" = 1.0', "world.rival_pull",
     "both fixed and drawn"),
    ('[draws."world.rival_pull"]', '[draws."world.rival_pulls"]', "world.rival_pulls",
     "not a parameter key"),
    ('[draws."world.rival_pull"]\n', '[draws."world.rival_pull"]\nper = "member"\n', "per",
     "the key is the group's"),
    ('"members.*.budget_trend"]', '"members.M1.budget_trend"]', "members.M1.budget_trend",
     "names one member"),
    ("ages = [1, 10]\ntolerance = 0.27", "ages = [1, 30]\ntolerance = 0.27", "ages",
     "within the horizon"),
    ("dormant_months = 120", "dormant_months = 100", "dormant_months", "not allowed"),
    ('code_prefix = "M"', 'code_prefix = "M"\nbudget_trend = 3.0', "budget_trend",
     "out of range"),
    ("tolerance = 0.27\n", "", "tolerance", "is missing"),
])
def test_a_bad_entry_is_refused_naming_file_line_key_and_what_is_allowed(
        tmp_path, old, new, key, problem):
    assert old in SMALL
    path = small_file(tmp_path, SMALL.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_population(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and key in message and problem in message, message
    assert "Allowed:" in message
    line = caught.value.line
    assert line is not None, message
    if problem != "is missing":  # else the line of the table it is missing from
        assert key.split(".")[-1] in path.read_text().splitlines()[line - 1], message


def test_a_bad_file_exits_2_with_a_message_and_no_traceback(tmp_path):
    path = small_file(tmp_path, SMALL.replace("max = 8", "max = 40"))
    code, stdout, stderr = invoke("population", str(path), "--out", str(tmp_path / "out"))
    check_outcome(code, stdout, stderr, (str(path),))
    assert code == 2 and "draws.members.max" in " ".join(stderr.split())


VALUES = st.one_of(st.integers(-5, 300), st.floats(-3, 3, allow_nan=False),
                   st.booleans(), st.sampled_from(['"x"', '"formal"', "[]", "[1, 2]", "{}"]))


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_any_value_anywhere_loads_or_is_refused_plainly(tmp_path, data):
    lines = SMALL.splitlines()
    assignments = [i for i, line in enumerate(lines) if re.match(r'^\s*"?[\w.*]+"?\s*=', line)]
    i = data.draw(st.sampled_from(assignments))
    value = data.draw(VALUES)
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    lines[i] = lines[i].split("=")[0] + "= " + shown
    path = small_file(tmp_path, "\n".join(lines) + "\n", "fuzzed.toml")
    try:
        load_population(path)
    except UserError as exc:
        assert str(exc).startswith(str(path)), str(exc)


# ------------------------------------------------------------------------------ the draws


def test_the_same_seed_draws_the_same_groups_and_another_seed_others(tmp_path):
    population = load_population(small_file(tmp_path))
    first, again = draw_population(population), draw_population(population)
    assert first.scenarios == again.scenarios
    pd.testing.assert_frame_equal(first.conditions, again.conditions)
    other = draw_population(dataclasses.replace(population, seed=8))
    assert not other.conditions["members"].equals(first.conditions["members"])


def test_the_drawn_groups_follow_the_files_distributions():
    population = dataclasses.replace(load_population(SHIPPED), groups=4000)
    drawn = draw_population(population)
    conditions = drawn.conditions
    assert stratum_sizes([0.5, 0.5], 4000) == [2000, 2000] == \
        conditions["stratum"].value_counts().sort_index(ascending=False).tolist()
    formal = conditions[conditions["stratum"] == "formal"]
    weights = np.array([42, 39, 51, 42, 25, 18, 15, 20, 15, 18]) / 285
    observed = formal["members"].value_counts(normalize=True).reindex(range(3, 13)).to_numpy()
    assert np.all(np.abs(observed - weights) < 4 * np.sqrt(weights * (1 - weights) / 2000))
    trends = np.concatenate(conditions["members.*.budget_trend"].to_list())
    assert trends.min() >= -0.1 and trends.max() <= 0.1
    assert abs(trends.mean()) < 0.003 and 0.027 < trends.std() < 0.031  # sd 0.03, barely cut
    assert abs((conditions["world.rival_pull"] == 1.0).mean() - 0.838) < 0.025
    breadth = conditions["group.agenda_breadth"]
    assert breadth.min() == 2 and breadth.max() == 12
    every = drawn.scenarios[123]
    row = conditions.iloc[123]
    assert len(every.members) == row["members"]
    assert [m.code for m in every.members] == [f"M{i + 1}" for i in range(row["members"])]
    assert [m.budget_trend for m in every.members] == row["members.*.budget_trend"]
    assert every.group.agenda_breadth == row["group.agenda_breadth"]
    assert every.group.secretariat == (row["stratum"] == "formal")


# ------------------------------------------------------------------------------ the tables


def hand_made() -> pd.DataFrame:
    """Four groups over 4 years: one dies of dormancy in its third year, one loses members in
    its first, two live (one a zombie in years 2 - 3)."""
    return pd.DataFrame({
        "stratum": ["a", "a", "b", "b"], "group_id": [0, 1, 2, 3], "members": [3, 4, 6, 12],
        "reading": ["the scenario's outcome rule"] * 4,
        "states": ["aadd", "dddd", "azza", "aaaa"],
        "death_quarter": [9, 2, None, None], "death_cause": ["dormant", "members", None, None],
        "outcome": ["dead", "dead", "alive", "alive"],
        "dormant_months": [24, 24, 24, 24], "death_dated": ["rule"] * 4,
        "group.secretariat": [False, False, True, True], "failed": [False] * 4})


def test_the_life_table_and_the_hazard_follow_from_the_states_by_hand():
    runs = hand_made()
    life = tables.life_table(runs, 4).set_index(["stratum", "age"])
    assert life.loc[("a", 1), ["alive", "zombie", "dead"]].tolist() == [1, 0, 1]
    assert life.loc[("a", 3), "share_dead"] == 1.0
    assert life.loc[("b", 2), ["alive", "zombie"]].tolist() == [1, 1]
    times = tables.death_times(runs, 4)
    assert times["time"].tolist() == [2.5, 0.75, 4.0, 4.0]  # quarters 0-9 are 2.5 years
    assert times["age"].tolist()[:2] == [3.0, 1.0]
    deaths, exposure = tables.band_rate(times, 1, 2)
    assert (deaths, exposure) == (1, 2 + 0.75 + 2 + 2)
    deaths, exposure = tables.band_rate(times, 3, 4)
    assert (deaths, exposure) == (1, 0.5 + 0 + 2 + 2)
    value, low, high = tables.rate(1, 6.75)
    assert value == pytest.approx(100 / 6.75) and low < value < high
    causes = tables.causes_table(runs).set_index(["stratum", "cause"])
    assert causes.loc[("all", "members"), "deaths"] == 1
    assert causes.loc[("all", "dormant"), "share_of_deaths"] == 0.5


def test_a_death_dated_at_the_last_activity_moves_back_by_the_dormant_window():
    runs = hand_made().assign(death_dated="last_activity")
    times = tables.death_times(runs, 4)
    assert times["time"].tolist() == [(9 - 8 + 1) / 4, 0.75, 4.0, 4.0]  # only dormancy moves
    assert times["age"].tolist()[0] == 1.0


# ------------------------------------------------------------------------------ end to end


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((folder / "groups.parquet").glob("part-*.parquet"))}


def test_a_small_population_runs_through_the_command_and_resumes_to_the_same_bytes(tmp_path):
    path = small_file(tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr = invoke("population", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet")
    check_outcome(code, stdout, stderr)
    assert code == 0, stderr
    assert "at 12 years: informal" in stdout and "Patterns inside:" in stdout
    runs = pd.read_parquet(out / "groups.parquet")
    assert len(runs) == 24 + 12  # the informal groups again under the source's death rule
    assert runs["states"].str.len().eq(12).all() and not runs["failed"].any()
    for name in ("life_table.csv", "hazard.csv", "survival.csv", "cox.csv", "causes.csv",
                 "targets.csv", "report.md", "figures/life-table.png"):
        assert (out / name).is_file(), name
    targets = pd.read_csv(out / "targets.csv")
    assert targets["figure"].tolist() == ["es2020-data-hazard-age1-10",
                                          "vs2021-data-hazard-age1-10"]
    assert "## Findings" in (out / "report.md").read_text()
    first = digests(out)
    again = tmp_path / "again"
    invoke("population", str(path), "--out", str(again), "--workers", "1", "--quiet")
    assert digests(again) == first  # same seed, same bytes
    (out / "groups.parquet" / "part-000001.parquet").unlink()  # as if cut short
    code, stdout, stderr = invoke("population", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet", "--resume")
    assert code == 0, stderr
    assert "(10 now)" in stdout and digests(out) == first
    code, _, stderr = invoke("population", str(path), "--out", str(out), "--quiet")
    assert code == 2 and "--resume" in stderr
