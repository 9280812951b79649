"""The typed reader every user file goes through: tables, dates, paths, lists and names."""

import datetime as dt
import re
import tomllib

import pytest

from sim.errors import InputError
from sim.inference.claims import load_claims
from sim.model.files import Section, dotted_keys, find_line


def section(tmp_path, text: str, *path: str, keys=None) -> Section:
    source = tmp_path / "file.toml"
    source.write_text(text, encoding="utf-8")
    top = Section(str(source), text, tomllib.loads(text), (), None, line_finder=find_line)
    for name in path:
        top = top.section(name, keys if name == path[-1] else None)
    return top


def test_an_unknown_key_is_named_and_the_hint_is_the_whole_dotted_key(tmp_path):
    with pytest.raises(InputError) as caught:
        section(tmp_path, "[case]\nname = 'x'\nfounde = '2020-01-01'\n", "case",
                keys=("name", "founded"))
    assert caught.value.key == "case.founde" and caught.value.line == 3
    assert "did you mean `case.founded`?" in str(caught.value)


def test_a_date_is_a_day_and_blank_only_where_allowed(tmp_path):
    table = section(tmp_path, "[t]\na = '2020-02-29'\nb = ''\nc = '2020-13-01'\n", "t")
    assert table.date("a") == dt.date(2020, 2, 29)
    assert table.date("b", blank=True) is None
    with pytest.raises(InputError, match=re.escape('`t.b` = "" is not a date')):
        table.date("b")
    with pytest.raises(InputError, match=re.escape('line 4: `t.c` = "2020-13-01" is not a date')):
        table.date("c")


def test_a_path_is_relative_to_the_file_and_must_name_a_file_when_asked(tmp_path):
    (tmp_path / "data.csv").write_text("date\n", encoding="utf-8")
    table = section(tmp_path, "[t]\nfound = 'data.csv'\nlost = 'gone.csv'\n", "t")
    assert table.file("found", "a CSV file.", must_exist="a CSV file") == tmp_path / "data.csv"
    assert table.file("lost", "a CSV file.") == tmp_path / "gone.csv"
    with pytest.raises(InputError, match=re.escape(
            f"names no file. Allowed: a CSV file relative to {tmp_path}.")):
        table.file("lost", "a CSV file.", must_exist="a CSV file")


def test_a_list_of_texts_is_checked_whole(tmp_path):
    table = section(tmp_path, "[t]\nok = ['a', 'b']\nempty = []\nmixed = ['a', 1]\n", "t")
    assert table.texts("ok", "is not a list.", "names.") == ["a", "b"]
    assert table.texts("absent", "is not a list.", "names.") == []
    with pytest.raises(InputError, match=re.escape('`t.mixed` = ["a", 1] is not a list')):
        table.texts("mixed", "is not a list.", "names.")
    for key in ("empty", "absent"):
        with pytest.raises(InputError, match="is not a list"):
            table.texts(key, "is not a list.", "names.", filled=True)


def test_a_results_folder_named_after_the_file_is_checked_too(tmp_path):
    path = tmp_path / "con.toml"
    path.write_text("[[claim]]\n[[claim.contrast]]\ntreatment = { \"group.treaty\" = true }\n"
                    "expect = { dead = \"lower\" }\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape('`claims.name` = "con" is not allowed')):
        load_claims(path)


def test_dotted_keys_flatten_tables_a_user_wrote_without_quotes():
    table = {"group": {"secretariat": True}, "members.*.crisis_rate": {"min": 0.1, "max": 0.2}}
    assert dotted_keys(table) == {"group.secretariat": True, "members.*.crisis_rate.min": 0.1,
                                  "members.*.crisis_rate.max": 0.2}
    assert dotted_keys(table, keep=lambda v: "min" in v)["members.*.crisis_rate"] == \
        {"min": 0.1, "max": 0.2}
    assert dotted_keys([1, 2]) == [1, 2]
