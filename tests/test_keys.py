"""A `--set KEY=VALUE@QUARTER` is read once: its key and its date are parsed where it is read."""

from __future__ import annotations

import sys

import pytest

from sim.model import quarters
from sim.model.params import Key
from sim.model.scenario_files import load_scenario, with_overrides
from sim.model.schedule import segments

OPTION = "group.secretariat=true@2027Q1"


@pytest.fixture
def parses(monkeypatch):
    """The keys and dates parsed from here on: {"key": [texts], "date": [texts]}."""
    seen: dict[str, list[str]] = {"key": [], "date": []}
    parse_key = Key.parse.__func__

    def counting_key(cls, text, *args, **kwargs):
        seen["key"].append(text)
        return parse_key(cls, text, *args, **kwargs)

    monkeypatch.setattr(Key, "parse", classmethod(counting_key))
    for function in (quarters.parse_date, quarters.parse_quarter):
        def counting_date(text, function=function):
            seen["date"].append(text)
            return function(text)

        for module in [m for name, m in sys.modules.items() if name.startswith("sim")]:
            if getattr(module, function.__name__, None) is function:
                monkeypatch.setattr(module, function.__name__, counting_date)
    return seen


def test_a_change_on_the_command_line_is_parsed_once_when_a_scenario_loads(parses):
    s = load_scenario("mikta", [OPTION])
    assert parses["key"].count("group.secretariat") == 1
    assert parses["date"].count("2027Q1") == 1
    segments(s)  # the runs take the change as it was read
    assert parses["key"].count("group.secretariat") == 1
    assert parses["date"].count("2027Q1") == 1
    (change,) = s.changes
    assert (change.key, change.value, change.date) == ("group.secretariat", True, "2027Q1")


def test_a_change_on_the_command_line_is_parsed_once_when_a_scenario_changes(parses):
    base = load_scenario("mikta")
    parses["key"].clear()
    parses["date"].clear()
    s = with_overrides(base, [OPTION])
    segments(s)
    assert parses["key"] == ["group.secretariat"]
    assert parses["date"].count("2027Q1") == 1
    assert s.changes[0].quarter == 2027 * 4


def test_parameter_sets_are_read_once_for_all_their_runs(parses):
    from sim.experiments.evaluation import evaluate

    base = load_scenario("mikta", years=3)
    sets = [{"group.base_rate": 2.0 + k / 10, "members.*.crisis_rate": 0.2,
             "group.secretariat@2015Q1": k % 2 == 0} for k in range(12)]
    parses["key"].clear()
    parses["date"].clear()
    runs = evaluate(base, list(range(12)), parameter_sets=sets, batch=5)
    assert sorted(parses["key"]) == ["group.base_rate", "group.secretariat",
                                     "members.*.crisis_rate"]
    assert parses["date"].count("2015Q1") == 1
    alone = evaluate(with_overrides(base, sets[3]), [3])
    assert runs.iloc[[3]].reset_index(drop=True).equals(alone)
