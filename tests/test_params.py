"""Scenarios: loading, overrides, round trips and every kind of bad input."""

import tomllib

import pytest

from sim.errors import InputError, UserError
from sim.model.files import find_line
from sim.model.keys import spec_of
from sim.model.scenario_files import builtin_names, load_scenario, scenario_to_toml, with_overrides

GOOD = """\
[scenario]
name = "trio"
start = "2020Q1"
years = 10

[group]
chair_order = ["A", "B", "C"]

[members.A]
[members.B]
[members.C]
budget_trend = -0.02
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_builtin_scenarios_load_with_3_to_12_members():
    names = builtin_names()
    assert {"mikta", "mikta-formal", "generic-5", "ibsa"} <= set(names)
    for name in names:
        s = load_scenario(name)
        assert 3 <= len(s.members) <= 12
        assert set(s.codes) >= set(s.group.chair_order)


def test_mikta_has_the_sources_facts():
    s = load_scenario("mikta")
    assert s.codes == ("MEX", "IDN", "KOR", "TUR", "AUS")
    assert s.group.chair_order == ("MEX", "KOR", "AUS", "TUR", "IDN")
    assert s.start == "2014Q1" and s.group.agenda_breadth == 7
    assert not s.group.secretariat and not s.group.treaty
    members = {m.code: m for m in s.members}
    assert members["KOR"].budget_trend < 0
    assert members["IDN"].capacity_need == max(m.capacity_need for m in s.members)
    assert members["TUR"].regional_fit < members["IDN"].regional_fit
    kinds = {(e.kind, e.member, e.date) for e in s.events}
    assert ("budget", "AUS", "2017Q4") in kinds and ("rival_join", "IDN", "2025Q1") in kinds
    assert not any(kind == "rival_invite" for kind, _, _ in kinds)  # guest, not candidate


def test_formal_mikta_differs_only_by_secretariat_and_treaty():
    plain, formal = load_scenario("mikta"), load_scenario("mikta-formal")
    assert formal.group.secretariat and formal.group.treaty
    assert formal.members == plain.members and formal.events == plain.events
    assert formal.world == plain.world


def test_scenario_file_loads_with_defaults(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.name == "trio" and s.years == 10 and s.quarters == 40
    assert s.members[2].budget_trend == -0.02 and s.members[0].budget_trend == 0.0


def test_overrides_by_dotted_key_and_for_every_member():
    s = load_scenario("mikta", ["group.secretariat=true", "members.*.crisis_rate=0.9",
                                "members.KOR.rival_affinity=0.4", "world.rival_pull=3"])
    assert s.group.secretariat is True
    assert all(m.crisis_rate == 0.9 for m in s.members)
    assert {m.code: m.rival_affinity for m in s.members}["KOR"] == 0.4
    assert s.world.rival_pull == 3.0 and isinstance(s.world.rival_pull, float)


def test_required_override_keys_exist():
    for key in ("group.secretariat", "group.treaty", "group.agenda_breadth",
                "group.min_members", "group.zombie_months", "group.summit_interval",
                "members.*.budget_trend", "members.*.crisis_rate", "members.*.rival_affinity",
                "world.rival_pull"):
        spec_of(key)


def test_with_overrides_revalidates_a_loaded_scenario():
    s = load_scenario("mikta")
    changed = with_overrides(s, {"group.agenda_breadth": 3}, years=5)
    assert changed.group.agenda_breadth == 3 and changed.years == 5
    with pytest.raises(InputError, match="agenda_breadth"):
        with_overrides(s, {"group.agenda_breadth": 0})


@pytest.mark.parametrize("name", ["mikta", "ibsa", "generic-5", "mikta-formal"])
def test_resolved_toml_loads_back_to_the_same_scenario(tmp_path, name):
    s = load_scenario(name)
    text = scenario_to_toml(s)
    tomllib.loads(text)
    again = load_scenario(write(tmp_path, text))
    assert (again.group, again.world, again.members, again.events) == (
        s.group, s.world, s.members, s.events)


def test_extends_merges_tables_and_appends_events(tmp_path):
    base = write(tmp_path, GOOD, "base.toml")
    child = write(tmp_path, f'[scenario]\nextends = "{base.name}"\nname = "child"\n'
                  "[members.B]\ncrisis_rate = 2.0\n"
                  '[[events]]\ndate = "2021Q1"\nkind = "global_crisis"\nyears = 1.0\n',
                  "child.toml")
    s = load_scenario(child)
    assert s.name == "child" and s.years == 10
    assert s.members[1].crisis_rate == 2.0 and s.members[2].budget_trend == -0.02
    assert len(s.events) == 1


def test_without_events_removes_exactly_the_named_events_of_the_base(tmp_path):
    mikta = load_scenario("mikta")
    child = write(tmp_path, '[scenario]\nextends = "mikta"\nname = "no-covid"\n'
                  'without_events = ["global_crisis@2020Q1"]\n', "child.toml")
    s = load_scenario(child)
    assert len(s.events) == len(mikta.events) - 1
    assert not [e for e in s.events if e.kind == "global_crisis"]
    assert [e for e in mikta.events if e.kind != "global_crisis"] == list(s.events)
    missing = write(tmp_path, '[scenario]\nextends = "mikta"\nname = "x"\n'
                    'without_events = ["global_crisis@2021Q1"]\n', "missing.toml")
    with pytest.raises(InputError) as caught:
        load_scenario(missing)
    assert "global_crisis@2021Q1" in str(caught.value) and "global_crisis@2020Q1" in str(
        caught.value) and caught.value.line == 4
    alone = write(tmp_path, GOOD.replace('name = "trio"', 'name = "trio"\n'
                                         'without_events = ["crisis@2020Q1"]'), "alone.toml")
    with pytest.raises(InputError, match="needs `extends`"):
        load_scenario(alone)


def test_find_line_points_at_the_key_in_its_table():
    text = GOOD + "[members.D]\nbudget_trend = 5\n"
    assert find_line(text, ("members", "C", "budget_trend")) == 12
    assert find_line(text, ("members", "D", "budget_trend")) == 14
    assert find_line(text, ("group", "chair_order")) == 7


# ------------------------------------------------------------------------ bad input


def error_of(tmp_path, text) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(write(tmp_path, text))
    return info.value


def assert_names(message: str, *parts: str):
    for part in parts:
        assert part in message, f"{part!r} not in: {message}"


def test_unknown_scenario_name():
    with pytest.raises(UserError) as info:
        load_scenario("mitka")
    assert_names(str(info.value), "mitka", "mikta", "path")


def test_missing_scenario_file():
    with pytest.raises(UserError, match="no such scenario file"):
        load_scenario("nowhere/quad.toml")


def test_unknown_key_is_named_with_line_and_a_suggestion(tmp_path):
    e = error_of(tmp_path, GOOD.replace("[group]\n", "[group]\nsecretariatt = true\n"))
    assert e.line == 7 and e.key == "group.secretariatt"
    assert_names(str(e), "s.toml, line 7", "group.secretariatt", "did you mean",
                 "group.secretariat")


def test_wrong_type(tmp_path):
    e = error_of(tmp_path, GOOD.replace('budget_trend = -0.02', 'budget_trend = "low"'))
    assert_names(str(e), "line 12", "members.C.budget_trend", '"low"', "a number from -1 to 1")


def test_value_out_of_range(tmp_path):
    e = error_of(tmp_path, GOOD.replace('budget_trend = -0.02', 'budget_trend = -3.0'))
    assert_names(str(e), "line 12", "members.C.budget_trend", "-3.0", "out of range",
                 "from -1 to 1", "log units per year")


def test_bool_is_not_a_number_in_a_file(tmp_path):
    e = error_of(tmp_path, GOOD.replace('budget_trend = -0.02', 'crisis_rate = true'))
    assert_names(str(e), "members.C.crisis_rate", "wrong type")


def test_malformed_toml_names_the_line(tmp_path):
    e = error_of(tmp_path, GOOD.replace("years = 10", "years = = 10"))
    assert e.line == 4
    assert_names(str(e), "s.toml, line 4", "not valid TOML")


@pytest.mark.parametrize("count", [2, 13])
def test_member_count_outside_3_to_12(tmp_path, count):
    members = "".join(f"[members.M{i}]\n" for i in range(count))
    e = error_of(tmp_path, f'[scenario]\nname = "x"\n{members}')
    assert_names(str(e), f"has {count} members", "3 to 12")


def test_chair_order_naming_a_non_member(tmp_path):
    e = error_of(tmp_path, GOOD.replace('["A", "B", "C"]', '["A", "B", "Z"]'))
    assert_names(str(e), "line 7", "group.chair_order", "Z", "not a member", "A, B, C")


def test_event_for_an_unknown_member(tmp_path):
    e = error_of(tmp_path, GOOD + '[[events]]\ndate = "2021Q1"\nkind = "budget"\n'
                 'member = "Q"\nfactor = 0.5\n')
    assert_names(str(e), "events.0.member", "Q", "A, B, C")


def test_bad_quarter(tmp_path):
    e = error_of(tmp_path, GOOD.replace('start = "2020Q1"', 'start = "2020Q5"'))
    assert_names(str(e), "scenario.start", "2020Q5", "2017Q4")


def test_override_errors_name_the_option():
    with pytest.raises(InputError) as info:
        load_scenario("mikta", ["members.*.crisis_rate=-1"])
    assert_names(str(info.value), "--set members.*.crisis_rate=-1", "out of range",
                 "crises a year")
    with pytest.raises(InputError, match="names no member"):
        load_scenario("mikta", ["members.USA.crisis_rate=1"])
    with pytest.raises(InputError, match=r"did you mean `group\.secretariat`"):
        load_scenario("mikta", ["group.secretary=true"])
    with pytest.raises(InputError, match="KEY=VALUE"):
        load_scenario("mikta", ["group.secretariat"])


def test_lenient_booleans_on_the_command_line():
    assert load_scenario("mikta", ["group.treaty=yes"]).group.treaty is True
    assert load_scenario("mikta", ["group.treaty=0"]).group.treaty is False


# ------------------------------------------------------------------ keys parsed once


def test_a_key_is_parsed_into_section_member_field_and_spec():
    from sim.model.params import Key

    key = Key.parse("members.*.budget_trend")
    assert (key.section, key.member, key.field, key.kind) == ("members", "*", "budget_trend",
                                                              float)
    assert key.spec.unit == "log units per year"
    assert Key.parse("years").section == "scenario"
    s = load_scenario("mikta")
    assert Key.parse("members.KOR.budget_trend").values_in(s) == [s.members[2].budget_trend]
    assert len(Key.parse("members.*.reach").values_in(s)) == 5
    with pytest.raises(InputError, match="not a parameter key"):
        Key.parse("group.no_such_key")
    with pytest.raises(InputError, match="names no member"):
        Key.parse("members.XXX.reach").paths(s.codes)


@pytest.mark.parametrize("seed", range(12))
def test_changing_a_scenario_checks_only_what_changed_with_the_same_result(seed):
    """The quick path of with_overrides gives what resolving the whole scenario again gives."""
    from sim.model.scenario_files import resolve, scenario_as_dict, with_overrides
    from tests.conftest import random_overrides

    base = load_scenario(["mikta", "ibsa", "generic-5"][seed % 3])
    overrides = random_overrides(seed)
    quick = with_overrides(base, overrides, years=7 + seed)
    full = resolve(scenario_as_dict(base), source=base.source, overrides=overrides,
                   years=7 + seed)
    assert quick == full


@pytest.mark.parametrize(("key", "value"), [("group.chair_threshold", 2.0),
                                            ("members.*.reach", -1), ("group.treaty", "maybe"),
                                            ("group.min_members", 9),
                                            ("members.MEX.joins", "2010Q1")])
def test_a_changed_value_is_refused_as_a_full_check_would(key, value):
    from sim.model.scenario_files import resolve, scenario_as_dict, with_overrides

    base = load_scenario("mikta")
    with pytest.raises(InputError) as quick:
        with_overrides(base, {key: value})
    with pytest.raises(InputError) as full:
        resolve(scenario_as_dict(base), source=base.source, overrides={key: value})
    assert str(quick.value) == str(full.value)
