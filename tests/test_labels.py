"""The outcome rule on hand-made event lists with known answers, and on the shipped records."""

import pytest

from sim.errors import InputError
from sim.inference.records import load_record
from sim.model.labels import LEVELS, Event, Rule, label

OFFICIALS, MINISTERS, LEADERS = (LEVELS.index(n) for n in ("officials", "ministers", "leaders"))


def meetings(level, *quarters, kind="meeting"):
    return [Event(q, level, kind) for q in quarters]


def test_a_ramp_up_a_lapse_a_revival_and_a_termination():
    events = (meetings(MINISTERS, 0, 2, 5)          # ministers twice in 36 months: apex
              + meetings(LEADERS, 6, 9)              # leaders twice: the apex moves up
              + meetings(MINISTERS, 12, 16, 20)      # only ministers from here: a lapse
              + meetings(OFFICIALS, *range(21, 30))  # officials' work goes on
              + meetings(LEADERS, 30)                # a leaders' summit again: revival
              + [Event(36, OFFICIALS, "termination")])
    labels = label(events, 40, founders=3, min_members=2)
    names = labels.names()
    assert labels.apex[5] == MINISTERS and labels.apex[9] == LEADERS
    assert labels.apex[30] == LEADERS  # it only moves up
    # 8 quarters (24 months) after the last leaders' event (quarter 9) it is a zombie
    assert names[16] == "alive" and names[17] == "zombie"
    assert all(n == "zombie" for n in names[17:30])  # ministers' meetings do not revive it
    assert names[30] == "alive"
    assert names[35] == "alive" and names[36] == "dead" and names[39] == "dead"
    assert labels.death_cause == "termination"


def test_the_founding_grace_period_and_death_by_dormancy():
    labels = label(meetings(MINISTERS, 0), 30, founders=3, min_members=2)
    names = labels.names()
    assert names[:8] == ["alive"] * 8  # 24 months of grace
    assert names[8] == "zombie"
    assert names[19] == "zombie" and names[20] == "dead"  # 60 months with no activity
    assert labels.death_cause == "dormant"


def test_officials_keep_a_group_from_death_not_from_zombiehood():
    events = meetings(MINISTERS, 0, 1) + meetings(OFFICIALS, *range(2, 40))
    names = label(events, 40, founders=3, min_members=2).names()
    assert names[9] == "zombie" and names[-1] == "zombie"


def test_too_few_members_is_death_and_a_vacant_chair_is_not():
    events = meetings(MINISTERS, *range(0, 20, 2)) + [Event(5, OFFICIALS, "exit", "A"),
                                                      Event(7, OFFICIALS, "exit", "B")]
    labels = label(events, 20, founders=3, min_members=2)
    assert labels.names()[6] == "alive" and labels.names()[7] == "dead"
    assert labels.death_cause == "members"


def test_a_format_change_sets_the_apex():
    events = (meetings(LEADERS, 0, 1) + [Event(4, MINISTERS, "format")]
              + meetings(MINISTERS, *range(4, 30, 4)))
    names = label(events, 30, founders=3, min_members=2).names()
    assert all(n == "alive" for n in names)


def test_windows_are_whole_quarters_with_units_and_ranges():
    with pytest.raises(ValueError, match="zombie_months"):
        Rule(zombie_months=20)
    with pytest.raises(ValueError, match="apex_repeat"):
        Rule(apex_repeat=0)
    assert Rule().scaled(1.5).zombie_months == 36 and Rule().scaled(0.5).zombie_months == 12


def test_mikta_s_record_is_alive_in_every_quarter_it_covers():
    record = load_record("mikta")
    states = record.observed_states()
    assert states["quarter"].iloc[0] == "2013Q3" and states["quarter"].iloc[-1] == "2026Q1"
    assert (states["state"] == "alive").all()
    apex = dict(zip(states["quarter"], record.labels().apex, strict=True))
    assert apex["2018Q2"] == MINISTERS  # no summit process: ministers were the apex
    assert apex["2026Q1"] == LEADERS  # leaders met on the G-20's margins from 2022


def test_a_record_s_errors_name_file_line_column_and_value(tmp_path):
    toml = tmp_path / "own.toml"
    toml.write_text('[case]\nname = "own"\nfounded = "2020-01-01"\nobserved_until = '
                    '"2022-12-31"\nmembers = ["A", "B", "C"]\nmin_members = 2\nactivity = '
                    '"own.csv"\n', encoding="utf-8")
    header = "case,date,date_end,level,kind,member,title,source,uncertain,note\n"
    good = "own,2020-03-01,,ministers,meeting,A,founding,a source,false,\n"
    for bad_row, column, value in [
            ("own,2020-13-01,,ministers,meeting,,x,s,false,\n", "date", "2020-13-01"),
            ("own,2020-03-01,,kings,meeting,,x,s,false,\n", "level", "kings"),
            ("own,2020-03-01,,ministers,party,,x,s,false,\n", "kind", "party"),
            ("own,2020-03-01,,ministers,meeting,,x,,false,\n", "source", ""),
            ("own,2020-03-01,,ministers,meeting,,x,s,maybe,\n", "uncertain", "maybe"),
            ("own,2020-03-01,,ministers,meeting,Z,x,s,false,\n", "member", "Z"),
            ("own,2030-03-01,,ministers,meeting,,x,s,false,\n", "date", "2030-03-01")]:
        (tmp_path / "own.csv").write_text(header + good + bad_row, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            load_record(toml)
        message = str(caught.value)
        assert "own.csv, line 3" in message and f"`{column}`" in message, message
        assert value in message
    (tmp_path / "own.csv").write_text(header + good, encoding="utf-8")
    states = load_record(toml).observed_states()["state"].tolist()
    assert states == ["alive"] * 8 + ["zombie"] * 4  # one meeting, then 24 quiet months


def test_ibsa_s_record_is_alive_through_its_summits_then_a_zombie_not_dead():
    record = load_record("ibsa")
    states = record.observed_states().set_index("quarter")["state"]
    summits = record.rows[(record.rows["level"] == "leaders")
                          & record.rows["title"].str.contains("summit", case=False)]
    assert len(summits) >= 5
    assert (states.loc["2006Q3":"2011Q4"] == "alive").all()
    lapsed = states.loc["2014Q1":"2024Q3"]
    assert (lapsed == "zombie").all()  # ministers and officials went on: not dead
    assert "dead" not in set(states)
    assert record.labels().apex[-1] == LEADERS


def test_every_shipped_record_row_has_a_source_and_a_level():
    for name in ("mikta", "ibsa"):
        rows = load_record(name).rows
        assert rows["source"].str.len().gt(0).all()
        assert rows["level"].isin(LEVELS).all()
