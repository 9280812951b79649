"""One meaning per key: `members.*.X` reaches every member and every dated form of X for the
whole run, or is refused with the reason."""

from pathlib import Path

import numpy as np
import pytest

from sim.errors import InputError
from sim.model.fast_engine import run_batch
from sim.model.keys import DATED_FORMS, reach
from sim.model.params import Key
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.schedule import segments

AFRICAN = Path(__file__).parents[1] / "experiments" / "mikta-african-member.toml"


@pytest.fixture(scope="module")
def flat():
    """mikta without budget noise, so that a budget's path is its trend."""
    return load_scenario("mikta", {"members.*.budget_volatility": 0.0}, years=12)


def yearly_log_budget_step(scenario, member: str, quarter: str) -> float:
    (run,) = run_batch([scenario], [7], record_series=True).trajectories
    q = scenario.quarter_index(quarter)
    budget = np.log(np.asarray(run.series["budget"])[:, scenario.codes.index(member)])
    return float(4 * np.mean(np.diff(budget[q: q + 12])))


def test_budget_trend_is_the_only_field_with_a_dated_form():
    assert DATED_FORMS == {"budget_trend": ("budget_trend_until", "budget_trend_after")}


def test_every_member_budget_cut_reaches_koreas_drift_after_its_dated_trend(flat):
    korea = flat.codes.index("KOR")
    assert flat.members[korea].budget_trend_until == "2018Q2"
    assert flat.members[korea].budget_trend_after == 0.0
    cut = with_overrides(flat, {"members.*.budget_trend": -0.06})
    assert [m.budget_trend for m in cut.members] == [-0.06] * 5
    assert cut.members[korea].budget_trend_after == -0.06
    assert yearly_log_budget_step(flat, "KOR", "2020Q1") == pytest.approx(0.0, abs=1e-9)
    assert yearly_log_budget_step(cut, "KOR", "2020Q1") == pytest.approx(-0.06)
    # a member's own key means the same as * for that member
    mine = with_overrides(flat, {"members.KOR.budget_trend": -0.06})
    assert mine.members[korea] == cut.members[korea]


@pytest.mark.parametrize("overrides", [
    {"members.*.budget_trend": -0.06, "members.KOR.budget_trend_after": 0.01},
    {"members.KOR.budget_trend_after": 0.01, "members.*.budget_trend": -0.06},
    {"members.*.budget_trend_after": 0.01, "members.KOR.budget_trend": -0.06}])
def test_a_dated_form_given_beside_the_trend_is_kept(flat, overrides):
    korea = flat.codes.index("KOR")
    s = with_overrides(flat, overrides)
    assert s.members[korea].budget_trend == -0.06
    assert s.members[korea].budget_trend_after == 0.01


def test_a_trend_changed_before_the_dated_trend_ends_holds_to_the_horizon(flat):
    s = with_overrides(flat, {"members.*.budget_trend@2016Q1": -0.08})
    (_, before), (_, after) = segments(s)
    korea = flat.codes.index("KOR")
    assert before.members[korea].budget_trend_after == 0.0
    assert after.members[korea].budget_trend_after == -0.08
    assert after.members[0].budget_trend_after == flat.members[0].budget_trend_after  # undated
    assert yearly_log_budget_step(s, "KOR", "2020Q1") == pytest.approx(-0.08)
    kept = with_overrides(flat, ["members.KOR.budget_trend_after=0.02@2016",
                                 "members.*.budget_trend=-0.08@2016"])
    assert segments(kept)[1][1].members[korea].budget_trend_after == 0.02


def test_reach_says_which_members_and_dated_forms_a_key_sets(flat):
    text = reach(flat, Key.parse("members.*.budget_trend"))
    assert text.startswith("budget_trend of every member (MEX, IDN, KOR, TUR, AUS), for the "
                           "whole run")
    assert "KOR's budget_trend_after (its budget_trend dated to 2018Q2)" in text
    assert "budget_trend_after" not in reach(flat, Key.parse("members.*.crisis_rate"))


def test_a_key_read_on_joining_that_would_skip_the_founders_is_refused():
    base = load_scenario(AFRICAN)
    with pytest.raises(InputError) as refused:
        with_overrides(base, {"members.*.initial_engagement@2020Q1": 0.2})
    assert "changes nothing for MEX, IDN, KOR, TUR, AUS" in str(refused.value)
    assert "it would skip members that have joined by then" in str(refused.value)
    later = with_overrides(base, {"members.AFR.initial_engagement@2020Q1": 0.2})
    assert later.changes[0].value == 0.2
