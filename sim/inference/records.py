"""Case records: a real group's dated activity, typed by level and kind, each row with its source.

A record is two files in one folder (seeds/records/ holds the shipped ones; seeds/README.md
documents the schema for a group of one's own):

- `<case>.toml`, a `[case]` table: `name`, `title`, `scenario` (the scenario that models the
  group), `founded` and `observed_until` (dates, YYYY-MM-DD: the record covers the quarters from
  the one of `founded` to the one of `observed_until`), `members` (codes of the founders),
  `min_members`, `activity` (the CSV file, relative to the TOML file) and, optionally,
  `complete_until`, a table giving for a level the last day up to which the record holds every
  meeting and document of it (`""`: never in full); by default every level is complete to
  `observed_until`. Activity is compared with runs only where the record is complete;
- the activity CSV, one row per dated item, with columns `case, date, date_end, level, kind,
  member, title, source, uncertain, note`.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, UserError
from sim.model import rules
from sim.model.files import Section, find_line, read_toml
from sim.model.labels import LEVELS, Event, Labels, Rule, label, members_by_quarter
from sim.model.params import Scenario
from sim.model.scenario_files import builtin_names, load_scenario

RECORDS = Path(__file__).resolve().parents[2] / "seeds" / "records"
COLUMNS = ("case", "date", "date_end", "level", "kind", "member", "title", "source",
           "uncertain", "note")
KINDS = ("meeting", "document", "fund", "chair", "format", "join", "exit", "termination")
DEFAULT_RULE = Rule()
CASE_KEYS = ("name", "title", "scenario", "founded", "observed_until", "members", "min_members",
             "activity", "complete_until")


@dataclass(frozen=True)
class Record:
    """A group's record: who founded it, when, what it did at which level, and until when the
    record reaches."""

    name: str
    title: str
    scenario: str
    founded: dt.date
    observed_until: dt.date
    members: tuple[str, ...]
    min_members: int
    rows: pd.DataFrame  # the activity CSV, typed: date as datetime.date, uncertain as bool
    source: str
    complete_until: dict[str, dt.date | None] = None  # level -> last day recorded in full

    def complete(self, level: str, year: int) -> bool:
        """Whether the record holds every meeting and document of `level` in `year`."""
        until = (self.complete_until or {}).get(level, self.observed_until)
        return until is not None and until >= dt.date(year, 12, 31)

    @property
    def start_quarter(self) -> int:
        return absolute_quarter(self.founded)

    @property
    def quarters(self) -> int:
        return absolute_quarter(self.observed_until) - self.start_quarter + 1

    def quarter_label(self, q: int) -> str:
        absolute = self.start_quarter + q
        return f"{absolute // 4}Q{absolute % 4 + 1}"

    def events(self) -> list[Event]:
        """The rows as the outcome rule reads them. A meeting and a document of one level on one
        day are one occasion (a summit and the declaration it issued), counted once."""
        found, occasions = [], set()
        for row in self.rows.itertuples():
            if row.kind in ("meeting", "document"):
                if (row.date, row.level) in occasions:
                    continue
                occasions.add((row.date, row.level))
            found.append(Event(absolute_quarter(row.date) - self.start_quarter,
                               LEVELS.index(row.level), row.kind, row.member or ""))
        return found

    def labels(self, rule: Rule = DEFAULT_RULE) -> Labels:
        return label(self.events(), self.quarters, len(self.members), self.min_members, rule)

    def observed_states(self, rule: Rule = DEFAULT_RULE) -> pd.DataFrame:
        """case, quarter (like 2015Q4), state: the outcome rule applied to the record."""
        names = self.labels(rule).names()
        return pd.DataFrame({"case": self.name,
                             "quarter": [self.quarter_label(q) for q in range(len(names))],
                             "state": names})

    def members_at_year_end(self, rule: Rule = DEFAULT_RULE) -> dict[int, int]:
        """Calendar year -> members at its end: the founders with the record's joins and exits,
        0 once the group is dead (by a termination act, too few members, or the outcome rule's
        dormancy)."""
        members = np.where(self.labels(rule).state == rules.DEAD, 0,
                           members_by_quarter(self.events(), self.quarters, len(self.members)))
        out = {}
        for q in range(self.quarters):
            absolute = self.start_quarter + q
            if absolute % 4 == 3:
                out[absolute // 4] = int(members[q])
        return out

    def activity_by_year(self) -> pd.DataFrame:
        """Meetings and documents per calendar year and level (0 where none), each occasion
        once (as `events` counts them)."""
        years = range(self.founded.year, self.observed_until.year + 1)
        counts = pd.DataFrame(0, index=pd.Index(years, name="year"), columns=list(LEVELS))
        for e in self.events():
            if e.kind in ("meeting", "document"):
                counts.loc[(self.start_quarter + e.quarter) // 4, LEVELS[e.level]] += 1
        return counts


def check_belongs(record: Record, scenario: Scenario, label: str = "--record") -> None:
    """Refuse a record of another group than the scenario's: its founders must be the
    scenario's founding members (a scenario that extends the record's keeps them)."""
    founders = [m.code for m in scenario.members
                if not m.joins or m.joins == scenario.start]
    if sorted(record.members) != sorted(founders):
        raise UserError(f"{label} {record.source}: is the record of {record.name} (founders "
                        f"{', '.join(record.members)}; its scenario is {record.scenario}), "
                        f"not of scenario {scenario.name} (founders {', '.join(founders)}). "
                        f"Give {scenario.name}'s record, or the scenario of "
                        f"{record.name}.")


def absolute_quarter(day: dt.date) -> int:
    return day.year * 4 + (day.month - 1) // 3


def common_years(record: Record, scenario: Scenario) -> list[int]:
    """Calendar years the record and the simulated horizon both cover in full."""
    first = max(record.founded.year + (record.founded.month > 1 or record.founded.day > 1),
                scenario.start_quarter // 4 + (scenario.start_quarter % 4 > 0))
    last_record = record.observed_until.year - (
        (record.observed_until.month, record.observed_until.day) != (12, 31))
    last_model = (scenario.start_quarter + scenario.quarters) // 4 - 1
    return list(range(first, min(last_record, last_model) + 1))


def builtin_records() -> list[str]:
    return sorted(p.stem for p in RECORDS.glob("*.toml"))


def load_record(name_or_path: str | Path) -> Record:
    """A shipped record by case name (`mikta`, `ibsa`) or a record TOML file of one's own."""
    text = str(name_or_path)
    path = RECORDS / f"{text}.toml" if text in builtin_records() else Path(text)
    if not path.is_file():
        raise UserError(f"{text}: no such record. Shipped records: "
                        f"{', '.join(builtin_records()) or 'none'}; or give the path of a "
                        "record TOML file (seeds/README.md describes the schema).")
    raw, toml_text = read_toml(path)
    source = str(path)
    top = Section(source, toml_text, raw, (), ("case",), label="record file",
                  line_finder=find_line)
    case = top.section("case", CASE_KEYS)
    name = case.get("name", str, check=bool, allowed="the case's name, e.g. mikta.")
    founded, until = case.date("founded"), case.date("observed_until")
    if until < founded:
        raise case.error("observed_until", "is before `founded`.", str(until))
    members = case.get("members", list, check=lambda v: bool(v) and all(
        isinstance(c, str) and c for c in v) and len(set(v)) == len(v),
        allowed="a list of distinct member codes, e.g. [\"IND\", \"BRA\", \"ZAF\"].")
    min_members = case.get("min_members", int, 2, lambda v: 1 <= v <= len(members),
                           f"a whole number from 1 to {len(members)} (the founders).")
    activity = case.file("activity", "a CSV file next to the TOML.")
    coverage = case.section("complete_until", LEVELS, default={})
    complete_until = {level: coverage.date(level, blank=True, allowed=(
        "a date YYYY-MM-DD, or \"\" if the level is not recorded in full at all."))
        for level in coverage.raw}
    rows = read_activity(activity, name, founded, until)
    known = set(members) | set(rows.loc[rows["kind"] == "join", "member"])
    strangers = sorted(set(rows["member"]) - known - {""})
    if strangers:
        line = int(rows.index[rows["member"] == strangers[0]][0])
        raise InputError(str(activity), "names no member of the group.",
                         key="member", value=strangers[0], line=line,
                         allowed=f"{', '.join(members)}, a member with a join row, or empty.")
    return Record(name, case.get("title", str, name), _scenario_ref(case, name, path), founded,
                  until, tuple(members), min_members, rows, source, complete_until)


def _scenario_ref(case: Section, name: str, path: Path) -> str:
    """The record's scenario: a scenario file relative to the record's folder (as its path),
    else a built-in name; the record's name when `scenario` is not given."""
    ref = case.get("scenario", str, name, check=bool, allowed="a scenario name or file.")
    local = path.parent / ref
    if local.is_file():
        return str(local)
    if ref in builtin_names() or "scenario" not in case:  # a record read for its labels alone
        return ref  # needs no scenario: `record_scenario` refuses it where one is needed
    raise case.error("scenario", "names no scenario.", ref, _scenario_forms(path))


def _scenario_forms(path: Path) -> str:
    return (f"a scenario file relative to {path.parent} (the record's folder), or a built-in "
            f"scenario: {', '.join(builtin_names())}.")


def record_scenario(record: Record) -> Scenario:
    """The scenario that models the record's group; a record without one is refused, naming
    the record."""
    if record.scenario not in builtin_names() and not Path(record.scenario).is_file():
        raise InputError(record.source, f"has no `scenario` in [case], and its name, "
                         f"{record.name}, is not a built-in scenario: no scenario models the "
                         "group.", allowed=_scenario_forms(Path(record.source)))
    return load_scenario(record.scenario)


def read_activity(path: Path, case: str, founded: dt.date, until: dt.date) -> pd.DataFrame:
    """The activity CSV of a record, every cell checked; errors name file, line, column, value.
    The frame's index is the file's line number."""
    where = str(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            lines = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(where, "no such activity file.") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(where, f"is not a readable UTF-8 CSV file ({exc}).") from None
    if not lines or tuple(c.strip().lstrip("\ufeff") for c in lines[0]) != COLUMNS:
        raise InputError(where, "has not the record's header.", line=1,
                         allowed=",".join(COLUMNS) + ".")
    rows, index = [], []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            raise InputError(where, f"has {len(cells)} cells, not {len(COLUMNS)}.",
                             line=number, allowed="one cell per column (quote cells with "
                             "commas).")
        row = dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))
        written = dict(row)

        def bad(column: str, problem: str, allowed: str, written=written,
                number=number) -> InputError:
            return InputError(where, problem, key=column, value=written[column], line=number,
                              allowed=allowed)

        if row["case"] != case:
            raise bad("case", "is not this record's case.", f'"{case}".')
        for column in ("date", "date_end"):
            if column == "date_end" and not row[column]:
                row[column] = None
                continue
            try:
                row[column] = dt.date.fromisoformat(row[column])
            except ValueError:
                raise bad(column, "is not a date.", "YYYY-MM-DD (the 1st of the month, with "
                          "uncertain = true, when only the month is known).") from None
        if not founded <= row["date"] <= until:
            raise bad("date", "falls outside the record's span.",
                      f"{founded} (founded) to {until} (observed_until).")
        if row["date_end"] is not None and row["date_end"] < row["date"]:
            raise bad("date_end", "is before the date.", "a day on or after the date.")
        if row["level"] not in LEVELS:
            raise bad("level", "is not a level.", ", ".join(LEVELS) + ".")
        if row["kind"] not in KINDS:
            raise bad("kind", "is not a kind.", ", ".join(KINDS) + ".")
        if row["kind"] in ("chair", "join", "exit") and not row["member"]:
            raise bad("member", f"is needed for a {row['kind']} row.", "a member code.")
        if not row["source"]:
            raise bad("source", "is empty: every row needs its source.", "a URL or a "
                      "citation.")
        if row["uncertain"] not in ("true", "false"):
            raise bad("uncertain", "is not true or false.", "true or false.")
        row["uncertain"] = row["uncertain"] == "true"
        rows.append(row)
        index.append(number)
    if not rows:
        raise InputError(where, "has no rows: a record needs at least one dated item.")
    return pd.DataFrame(rows, index=pd.Index(index, name="line"), columns=list(COLUMNS))
