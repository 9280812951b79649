"""Typed, validated parameters of a scenario: the group, its members, the world, dated events.

Every parameter is declared once, here, with its type, default, allowed range, unit and meaning.
Scenarios are TOML data: they are parsed, never executed. A bad value raises `InputError` naming
the file (and line), the dotted key, the value and what is allowed.

Value units: one value unit is what taking part in a normally engaged group costs a ministry of
`cost_burden` 1 at its founding budget (M5). Values, the outside option and the costs of leaving
are in these units; `value_sensitivity` is per value unit. Fixing the unit by this convention
leaves no free scale: multiplying every value by k changes the runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sim.errors import InputError, InputWarning, UserError, format_value

QUARTERS_PER_YEAR = 4
MIN_MEMBERS, MAX_MEMBERS = 3, 12
EVENT_KINDS = ("budget", "attention", "crisis", "rival_invite", "rival_join", "rival_round",
               "global_crisis")
MEMBER_EVENT_KINDS = ("budget", "attention", "crisis", "rival_invite", "rival_join")
RIVAL_DRAWS = ("rival_invite", "rival_round")  # rival events that are draws, not facts


# --------------------------------------------------------------------------------------------
# Parameter declarations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What a parameter means and which values it may take."""

    meaning: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()  # for a string: the values it may take

    def allowed(self, kind: type) -> str:
        """The allowed values in words, e.g. 'a number from 0 to 1 (share of attention)'."""
        noun = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
        text = noun.get(kind, "a list of member codes")
        if self.choices:
            text = "one of " + ", ".join(f'"{c}"' for c in self.choices)
        if self.low is not None and self.high is not None:
            lo = "above" if self.low_open else "from"
            hi = "below" if self.high_open else "to"
            text += f" {lo} {_num(self.low)} {hi} {_num(self.high)}"
        elif self.low is not None:
            text += f" {'above' if self.low_open else 'at least'} {_num(self.low)}"
        unit = f"{self.unit}: " if self.unit else ""
        return f"{text} ({unit}{self.meaning})."

    def contains(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (
            self.high is not None and (value > self.high or (self.high_open and value == self.high))
        )


def _num(x: float) -> str:
    return f"{x:g}"


def param(default: Any, meaning: str, unit: str = "", low=None, high=None, **open_ends) -> Any:
    """Declare a dataclass field with its `Spec` (meaning, unit, range)."""
    spec = Spec(meaning, unit, low, high, **open_ends)
    if isinstance(default, list | tuple):
        return field(default_factory=lambda: tuple(default), metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class GroupParams:
    """The group: its institutional design, its rules, and how members value it (M4–M8, M10–M12)."""

    secretariat: bool = param(False, "a dedicated staffed secretariat (M11)")
    treaty: bool = param(False, "a founding treaty that makes leaving costly (M11)")
    agenda_breadth: int = param(7, "number of priority areas on the agenda (M4, M12)",
                                "priority areas", 1, 30)
    reference_breadth: int = param(7, "agenda breadth at which network value and output are at "
                                   "base level", "priority areas", 1, 30)
    focus_elasticity: float = param(0.5, "how strongly a narrower agenda raises output (M12)",
                                    "elasticity", 0, 3)
    breadth_elasticity: float = param(0.5, "how strongly a broader agenda raises the network "
                                      "value (M4, M12)", "elasticity", 0, 3)
    min_members: int = param(3, "fewer active members than this and the group is dead",
                             "members", 2, MAX_MEMBERS)
    apex_repeat: int = param(2, "events at one level within apex_window_months that make it the "
                             "group's apex level (outcome rule)", "events", 1, 10)
    apex_window_months: int = param(36, "window in which apex_repeat events set the apex level "
                                    "(outcome rule; whole quarters)", "months", 3, 120)
    grace_months: int = param(24, "founding period in which a group is not yet judged a zombie "
                              "(outcome rule; whole quarters)", "months", 0, 120)
    zombie_months: int = param(24, "months without a meeting or document at the apex level that "
                               "make the group a zombie (outcome rule; whole quarters)",
                               "months", 3, 120)
    dormant_months: int = param(60, "months without activity at any level that make the group "
                                "dead (outcome rule; whole quarters)", "months", 3, 240)
    officials_share: float = param(0.5, "share of a normally engaged group's joint outputs made by "
                                   "officials and missions rather than ministers (M8)", "share",
                                   0, 1)
    summit_interval: float = param(0.0, "years between leaders' summits while every member's "
                                   "government is committed; 0 = no summit process (M8)",
                                   "years", 0, 10)
    summit_commitment: float = param(0.365, "engagement every active member needs for its leader "
                                     "to attend a summit (M8)", "engagement", 0, 1)
    base_rate: float = param(2.68, "ministers' and officials' joint outputs per quarter of a "
                             "normally engaged group (drive = reference_drive) (M8)",
                             "outputs per quarter", 0, 100, low_open=True)
    reference_drive: float = param(0.5, "drive (chair effort x mean engagement) of a normally "
                                   "engaged group, which produces the base rate (M8)", "drive",
                                   0, 1, low_open=True)
    chair_term: int = param(4, "length of one chair term", "quarters", 1, 12)
    chair_order: tuple[str, ...] = param((), "rotation order of the chair (member codes); "
                                         "empty = the order members are listed")
    chair_threshold: float = param(0.5, "share of a chair term's cost a member's budget must "
                                   "cover for it to take its turn in the chair (M7)", "share",
                                   0, 1)
    chair_cost: float = param(0.5, "budget at which a member covers a chair term in full (M7)",
                              "share of founding budget", 0, 10, low_open=True)
    chair_boost: float = param(0.214, "extra engagement the chair aims for during its term (M6)",
                               "engagement", 0, 1)
    standby: float = param(0.0934, "floor of the group's pull: the low-maintenance tool kept "
                           "on standby (M6)", "share", 0, 1)
    value_sensitivity: float = param(12.0, "steepness of engagement's response to net value, and "
                                     "of a new government's review (M6, M10)", "per value unit",
                                     0, 50)
    adjust_rate: float = param(0.122, "share of the gap to its target engagement closes each "
                               "quarter (M6)", "per quarter", 0, 1, low_open=True)
    personalization: float = param(1.0, "how far engagement depends on the foreign minister's "
                                   "enthusiasm (M3)", "share", 0, 1)
    ownership_carry: float = param(0.409, "share of the predecessor's enthusiasm a new foreign "
                                   "minister carries when the group is part of the ministry's "
                                   "routine (a normally active group; less when it is less "
                                   "active) (M3)", "share", 0, 1)
    network_weight: float = param(3.04, "value of capacity building and network sharing with "
                                  "fully engaged partners (M4)", "value units", 0, 10)
    network_partners: int = param(4, "number of partners whose engagement gives the full "
                                  "network value, and the group size at base coordination cost",
                                  "members", 1, MAX_MEMBERS - 1)
    coordination_elasticity: float = param(1.0, "how fast the cost of coordinating grows with "
                                           "the number of members (M12)", "elasticity", 0, 3)
    visibility_weight: float = param(3.96, "value of the group's visibility to a member with no "
                                     "regional fit (M4)", "value units", 0, 10)
    founding_visibility: float = param(0.233, "visibility the group's launch gives it at the "
                                       "start: expectations the start-up must then live up to "
                                       "(M4, M8)",
                                       "share of base rate", 0, 10)
    visibility_smoothing: float = param(0.25, "weight of this quarter's outputs in visibility "
                                        "(M8)", "per quarter", 0, 1, low_open=True)
    diversification_value: float = param(0.25, "standing value of an extra channel to a member "
                                         "with no regional home (M4)", "value units", 0, 10)
    maintenance_share: float = param(0.436, "share of the cost of taking part that does not fall "
                                     "with the group's pace: focal points, the chair's year, the "
                                     "yearly meetings (M5)", "share", 0, 1)
    secretariat_dues: float = param(0.1, "yearly dues for a secretariat, off each member's "
                                    "budget (M1, M11)", "share of founding budget", 0, 1)
    secretariat_dues_growth: float = param(0.03, "growth of the dues with the secretariat's "
                                           "age, under mechanisms.dues = \"growing\" (M11; "
                                           "an assumption)", "per year", 0, 0.5)
    secretariat_saving: float = param(0.3, "share of the participation cost a secretariat saves "
                                      "(M5, M11)", "share", 0, 1)
    secretariat_floor: float = param(0.3, "outputs a secretariat produces on its own (M8, M11)",
                                     "outputs per quarter", 0, 100)
    secretariat_support: float = param(0.5, "chair effort a secretariat guarantees; with one, "
                                       "chair terms never lapse (M7, M11)", "effort", 0, 1)
    treaty_exit_cost: float = param(0.375, "extra cost of leaving under a treaty (M10, M11)",
                                    "value units", 0, 10)
    exit_threshold: float = param(0.1, "engagement below which a member counts as disengaged "
                                  "(M10)", "engagement", 0, 1)
    exit_patience: int = param(8, "quarters of disengagement before a member weighs leaving "
                               "(M10)", "quarters", 1, 80)
    review_exit: float = param(0.0492, "chance that a new government takes its country out of a "
                               "group worth far less to it than leaving costs (M10)",
                               "probability", 0, 1)


@dataclass(frozen=True)
class WorldParams:
    """The world around the group: the rival bloc (M9), global crises (M12), budgets' floor."""

    rival_name: str = param("BRICS", "name of the rival bloc, used in event logs")
    rival_pull: float = param(1.0, "strength of the rival bloc: 1 = the scenario's own, "
                              "0 = no rival bloc, 3 = three times as strong (M9)", "multiplier",
                              0, 10)
    rival_round_rate: float = param(0.1, "expansion rounds of the rival bloc beyond the dated "
                                    "ones, after `rival_known_through` (M9)", "rounds per year",
                                    0, 4)
    rival_known_through: str = param("", "last quarter through which the record shows who "
                                     "joined the rival bloc, e.g. '2025Q4': until then joins "
                                     "are the dated `rival_join` facts only, and random rounds "
                                     "and invitations begin after it; empty = no record (M9)")
    rival_outside_value: float = param(0.182, "value of the outside option to a member of the "
                                       "rival bloc, at pull 1 (M9)", "value units", 0, 10)
    rival_split: float = param(0.381, "share of attention a member of both groups gives to the "
                               "rival bloc (M9)", "share of attention", 0, 1)
    rival_agenda_overlap: float = param(0.5, "share of the group's agenda the rival bloc also "
                                        "covers: a member meeting its partners in the bloc too "
                                        "values the group that much less, in proportion to the "
                                        "share of its partners it meets there (M9: absorption)",
                                        "share of the agenda", 0, 1)
    outside_event_rate: float = param(0.929, "outside events (attacks, disasters, nuclear tests) "
                                      "a year that invite a joint statement of the ministers; "
                                      "each is answered with probability the members' mean "
                                      "engagement (M8)", "events per year", 0, 52)
    global_crisis_rate: float = param(0.05, "global crises beyond the dated ones (M12)",
                                      "crises per year", 0, 4)
    global_crisis_years: float = param(2.0, "duration of an undated global crisis (M12)",
                                       "years", 0, 10, low_open=True)
    crisis_hazard_factor: float = param(1.5, "multiplier of every member's crisis hazard during a "
                                        "global crisis (M12)", "multiplier", 1, 10)
    crisis_coordination_value: float = param(0.625, "value of coordinating in a global crisis "
                                             "under a fully capable chair (M12)", "value units",
                                             0, 10)
    budget_floor: float = param(0.05, "smallest budget a ministry keeps for the group (M1, M5)",
                                "share of founding budget", 0, 1, low_open=True)


@dataclass(frozen=True)
class MemberParams:
    """A member foreign ministry (one Mesa agent): budget, shocks, minister, interests (M1–M10)."""

    code: str = param("", "short code of the member, e.g. MEX")
    name: str = param("", "display name; empty = the code")
    color: str = param("", "colour in figures and the app, '#rrggbb'; empty = a default palette")
    joins: str = param("", "quarter the member joins, e.g. '2021Q1'; empty = a founding member")
    in_rival: bool = param(False, "already a member of the rival bloc at the start (M9)")
    initial_engagement: float = param(0.513, "engagement at the start", "engagement", 0, 1)
    budget_trend: float = param(0.0, "per-year drift of the log budget for the group (M1)",
                                "log units per year", -1, 1)
    budget_trend_until: str = param("", "last quarter of `budget_trend`, as far as a source "
                                    "dates the trend, e.g. '2018Q2'; empty = to the horizon "
                                    "(M1)")
    budget_trend_after: float = param(0.0, "per-year drift of the log budget after "
                                      "`budget_trend_until`: the scenario's stated assumption "
                                      "(M1)", "log units per year", -1, 1)
    budget_volatility: float = param(0.1, "size of random budget changes (M1)",
                                     "log units per sqrt(year)", 0, 2)
    budget_reversion: float = param(0.5, "pull of the budget back to its trend path (M1)",
                                    "per year", 0, 4)
    crisis_rate: float = param(0.3, "domestic-priority shocks (M2)", "crises a year", 0, 12)
    crisis_years: float = param(0.75, "mean duration of a domestic-priority shock (M2)",
                                "years", 0, 10, low_open=True)
    crisis_depth: float = param(0.5, "share of attention a crisis takes away (M2)",
                                "share of attention", 0, 1)
    election_interval: float = param(4.0, "years between elections (M3)", "years", 0.25, 20)
    first_election: str = param("", "quarter of a dated election, e.g. '2018Q4'; the others "
                                "follow every election_interval; empty = a random phase (M3)")
    first_election_changed: bool = param(True, "whether that dated election changed the "
                                         "government (false: re-elected, the minister stays) "
                                         "(M3)")
    turnover: float = param(0.5, "chance that an election after the first changes the "
                            "government (a re-elected one keeps its minister) (M3)",
                            "probability", 0, 1)
    reshuffle_rate: float = param(0.15, "foreign ministers replaced between changes of "
                                  "government (M3)", "per year", 0, 4)
    founding_enthusiasm: float = param(0.9, "enthusiasm of the minister in office at the start "
                                       "(founders created the group) or when the member joins "
                                       "(M3)", "enthusiasm", 0, 1)
    enthusiasm_mean: float = param(0.7, "average enthusiasm of a new foreign minister (M3)",
                                   "enthusiasm", 0, 1)
    enthusiasm_spread: float = param(0.3, "half-width of the range of a new minister's "
                                     "enthusiasm (M3)", "enthusiasm", 0, 1)
    capacity_need: float = param(0.5, "how much the ministry gains from shared capacity and "
                                 "networks (M4)", "share", 0, 1)
    regional_fit: float = param(0.5, "how well the member fits a regional grouping; low = the "
                                "group's visibility and diversification matter more (M4)",
                                "share", 0, 1)
    reach: float = param(1.0, "network the member brings to the others, e.g. missions in "
                         "regions they lack (M4, M12)", "multiplier", 0, 5)
    rival_affinity: float = param(0.0, "closeness to the rival bloc (M9)", "share", 0, 1)
    exit_cost: float = param(0.822, "cost of leaving an informal group (M10)", "value units", 0,
                             10)
    cost_burden: float = param(1.0, "weight of the group's cost for this ministry, e.g. "
                               "capacity-constrained ones (M5)", "multiplier", 0, 5)


@dataclass(frozen=True)
class Event:
    """A dated event of the scenario: a budget step, an attention shift, a crisis, a rival move."""

    date: str = param("", "quarter of the event, e.g. '2017Q4'")
    kind: str = param("", "one of " + ", ".join(EVENT_KINDS))
    member: str = param("", "member code (budget, attention, crisis, rival_invite, rival_join)")
    factor: float = param(1.0, "multiplier of the budget or of attention", "multiplier", 0, 10)
    years: float = param(0.0, "duration (attention, budget: 0 = permanent; crisis, "
                         "global_crisis: required)", "years", 0, 100)
    note: str = param("", "source or reason for the event")


@dataclass(frozen=True)
class Change:
    """A policy adopted at a date: from the start of quarter `date` on, `key` takes `value`.

    Written as `KEY=VALUE@QUARTER` on `--set`, `"KEY@QUARTER"` as an experiment factor, or an
    `[[events]]` table of kind "set" in a scenario file. The runs apply it before any mechanism
    reads the quarter (sim.model.schedule).
    """

    key: str  # a dotted key `scenarios show NAME --keys` lists, one DATABLE allows
    value: Any  # in the key's type
    date: str  # 'YYYYQn'
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: everything a run needs besides the seed."""

    name: str
    title: str
    description: str
    start: str
    years: int
    group: GroupParams
    world: WorldParams
    members: tuple[MemberParams, ...]
    events: tuple[Event, ...]
    source: str = ""
    mechanisms: MechanismParams = field(default_factory=lambda: MechanismParams())
    changes: tuple[Change, ...] = ()  # policies adopted at a date, in date order

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.members)

    @property
    def quarters(self) -> int:
        return self.years * QUARTERS_PER_YEAR

    @property
    def start_quarter(self) -> int:
        """Absolute index (year * 4 + quarter - 1) of the first simulated quarter."""
        return parse_quarter(self.start)

    @property
    def chair_rotation(self) -> tuple[int, ...]:
        """Member indices in chair order."""
        order = self.group.chair_order or self.codes
        return tuple(self.codes.index(c) for c in order)

    def quarter_index(self, date: str) -> int:
        """Quarters from the start to `date` (negative if before the start)."""
        return parse_quarter(date) - self.start_quarter

    def quarter_label(self, quarter: int) -> str:
        return format_quarter(self.start_quarter + quarter)

    def member_values(self, name: str) -> list:
        return [getattr(m, name) for m in self.members]


SCENARIO_KEYS = {
    "extends": (str, Spec("built-in name or path (relative to this file) of a scenario this one "
                          "changes; its tables are merged key by key, its events kept")),
    "name": (str, Spec("short name of the scenario")),
    "title": (str, Spec("one-line title")),
    "description": (str, Spec("what the scenario represents")),
    "start": (str, Spec("first simulated quarter, e.g. '2014Q1'")),
    "years": (int, Spec("default horizon", "years", 1, 200)),
}


# --------------------------------------------------------------------------------------------
# Quarters
# --------------------------------------------------------------------------------------------

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


def parse_quarter(text: str) -> int:
    """'2017Q4' -> 2017 * 4 + 3. Raises ValueError for anything else."""
    match = _QUARTER.match(text)
    if not match:
        raise ValueError(f"not a quarter: {text!r}")
    return int(match.group(1)) * QUARTERS_PER_YEAR + int(match.group(2)) - 1


_YEAR = re.compile(r"^\s*(\d{4})\s*$")


def parse_date(text: str) -> int:
    """A change's date: '2027Q3' as `parse_quarter`, '2027' as its first quarter."""
    match = _YEAR.match(text) if isinstance(text, str) else None
    return int(match.group(1)) * QUARTERS_PER_YEAR if match else parse_quarter(text)


def quarter_within(text: Any, start_quarter: int, quarters: int) -> int:
    """A quarter or a year after a run's first quarter and before its horizon (a report's
    `from`), as a quarter index; a ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError("has the wrong type.")
    try:
        quarter = parse_date(text) - start_quarter
    except ValueError:
        raise ValueError("is neither a quarter nor a year.") from None
    if not 0 < quarter < quarters:
        raise ValueError("is not a quarter after the start and before the horizon.")
    return quarter


def quarters_within(start_quarter: int, quarters: int) -> str:
    """What `quarter_within` allows, in words."""
    return (f"a quarter from {format_quarter(start_quarter + 1)} to "
            f"{format_quarter(start_quarter + quarters - 1)}, or a year, e.g. \"2027Q1\"")


def split_dated(key: str) -> tuple[str, str | None]:
    """'group.secretariat@2027' -> ('group.secretariat', '2027Q1'); a key without a date ->
    (key, None). ValueError if what follows '@' is not a quarter or a year."""
    if "@" not in key:
        return key, None
    name, _, date = key.rpartition("@")
    return name.strip(), format_quarter(parse_date(date))


def format_quarter(absolute: int) -> str:
    return f"{absolute // QUARTERS_PER_YEAR}Q{absolute % QUARTERS_PER_YEAR + 1}"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def builtin_names() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    folder = resources.files("sim.model.scenarios")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin_path(name: str) -> Path:
    return Path(str(resources.files("sim.model.scenarios") / f"{name}.toml"))


def load_named_scenario(ref: str, relative_to: Path, unknown: Callable[[str], Exception],
                        years: int | None = None) -> Scenario:
    """The scenario a user's file names: a file relative to that file's folder, else a built-in
    name. A name that is neither raises `unknown(reason)`, which should point at the naming file;
    errors inside a scenario file point at that file."""
    local = Path(relative_to) / ref
    try:
        return load_scenario(local if local.is_file() else ref, years=years)
    except InputError:
        raise
    except UserError as exc:
        raise unknown(str(exc).split(": ", 1)[-1]) from None


def locate(name_or_path: str | Path) -> Path:
    """The file of a built-in scenario name or of a path; a clear error if neither exists."""
    text = str(name_or_path)
    if text in builtin_names():
        return builtin_path(text)
    path = Path(text)
    if path.is_file():
        return path
    if path.is_dir():
        raise UserError(f"{text}: is a folder, not a scenario file. Give a built-in scenario "
                        f"name ({', '.join(builtin_names())}) or the path of a TOML file.")
    if path.suffix == ".toml" or "/" in text or "\\" in text:
        raise UserError(f"{text}: no such scenario file.")
    raise UserError(
        f"{text}: unknown scenario. Built-in scenarios: {', '.join(builtin_names())}; "
        "or give the path of a scenario TOML file."
    )


def read_toml(path: Path) -> tuple[dict, str]:
    """Parse a TOML file; malformed TOML becomes an InputError with the line TOML reports."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror}).") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file.") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        line = _line_of_decode_error(exc)
        reason = str(exc).split(" (at line")[0]
        raise InputError(str(path), f"is not valid TOML: {reason}.", line=line,
                         allowed="TOML syntax, see https://toml.io.") from exc


def _line_of_decode_error(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def load_scenario(
    name_or_path: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    years: int | None = None,
) -> Scenario:
    """Load, override and validate a scenario by built-in name or file path.

    `overrides` maps dotted keys to typed values, or is a list of 'KEY=VALUE' strings as typed
    after `--set` (values parsed as TOML, else taken as strings; only there do 'yes', 'on' and
    '1' count as true).
    """
    path = locate(name_or_path)
    raw, text = read_toml(path)
    own_events = raw.get("events")
    raw = _merge_base(raw, path, text, seen=(path.resolve(),))
    merged_events = raw.get("events")
    inherited = (len(merged_events) - len(own_events)
                 if isinstance(own_events, list) and isinstance(merged_events, list) else 0)
    shown = str(name_or_path) if str(name_or_path) in builtin_names() else str(path)
    source = f"{shown}.toml (built-in)" if shown in builtin_names() else shown
    return resolve(raw, source=source, text=text, overrides=overrides, years=years,
                   inherited_events=inherited)


def resolve(
    raw: Mapping[str, Any],
    source: str = "<scenario>",
    text: str = "",
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    years: int | None = None,
    recorded: bool = False,
    inherited_events: int = 0,
) -> Scenario:
    """Validate a parsed scenario (a dict as from TOML) into a `Scenario`.

    `recorded` marks a scenario read back from a results file: its dates past the horizon were
    warned of when it was first read, and are not again. `inherited_events` counts the events
    of `raw` that come first from the scenario `text` extends, so that an error in one of the
    file's own events points at its line.
    """
    raw = _deep_copy(raw)
    origin = _Origin(source, text, whole_file=not recorded, inherited_events=inherited_events)
    if overrides:
        origin.overridden = apply_overrides(raw, overrides)
        origin.typed_on_a_command_line = not isinstance(overrides, Mapping)
    if years is not None:
        head = raw.get("scenario")
        written = head.get("years") if isinstance(head, Mapping) else None
        if written is not None and (isinstance(written, bool) or not isinstance(written, int)
                                    or not 1 <= written <= 200):
            # the file's own value is checked even when --years replaces it
            raise origin.error(("scenario", "years"), "is not allowed.", written,
                               "a whole number of years, 1 to 200.")
        raw.setdefault("scenario", {})["years"] = years
        origin.overridden["scenario.years"] = "--years"
    return _build_scenario(raw, origin)


def with_overrides(
    scenario: Scenario,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    years: int | None = None,
) -> Scenario:
    """A copy of a resolved scenario with dotted-key overrides and horizon.

    Only what changes is checked again: each overridden value against its key's type and range,
    then the rules that tie fields together. A key of the [scenario] table other than `years`
    (the start, say) moves every date, so it resolves the whole scenario again.
    """
    if not overrides and years is None:
        return scenario
    values = dict(overrides) if isinstance(overrides, Mapping) else parse_assignments(
        overrides or [])
    typed = not isinstance(overrides, Mapping)  # KEY=VALUE text: 'yes' counts as true
    dated = {key: value for key, value in values.items() if "@" in key}
    if dated:  # the values from the start, then the changes at a date
        plain = {key: value for key, value in values.items() if key not in dated}
        base = _with_values(scenario, plain, years, typed)
        origin = _Origin(scenario.source, "", whole_file=False)
        new = []
        for i, (key, value) in enumerate(dated.items()):
            name, date = _dated_key(key, f"--set {key}={_as_text(value)}")
            origin.overridden.update({f"changes.{i}.{part}": f"--set {name}={_as_text(value)}"
                                      f"@{date}" for part in ("key", "value", "date")})
            new.append(_checked_change(base, name, date, value, "", origin,
                                       ("changes", str(i)), typed))
        return dataclasses.replace(base, changes=_in_date_order((*base.changes, *new)))
    return _with_values(scenario, values, years, typed)


def _with_values(scenario: Scenario, values: dict[str, Any], years: int | None, typed: bool
                 ) -> Scenario:
    """`with_overrides` of values from the start (no key with a date)."""
    if not values and years is None:
        return scenario
    keys = [(Key.parse(key, f"--set {key}={_as_text(value)}"), value)
            for key, value in values.items()]
    if any((key.section == "scenario" and key.field != "years") or key.field == "code"
           for key, _ in keys):
        return resolve(scenario_as_dict(scenario), source=scenario.source, overrides=values,
                       years=years, recorded=True)
    origin = _Origin(scenario.source, "", whole_file=False)
    if years is not None:
        keys.append((Key.parse("years"), years))
    changes: dict[tuple[str, ...], tuple[Key, Any]] = {}  # a later key wins, as in a file
    for key, value in keys:
        label = "--years" if key.text == "years" and years is not None else \
            f"--set {key.text}={_as_text(value)}"
        for path in key.paths(scenario.codes, label):
            origin.overridden[".".join(path)] = label
            changes[path] = (key, value)
    checked: dict[str, dict[str, Any]] = {}
    for path, (key, value) in changes.items():
        table = path[1] if key.section == "members" else key.section
        checked.setdefault(table, {})[key.field] = _check_value(
            key.kind, key.spec, value, path, origin, lenient_bool=typed)
    changed = dataclasses.replace(
        scenario,
        years=checked.get("scenario", {}).get("years", scenario.years),
        group=dataclasses.replace(scenario.group, **checked.get("group", {})),
        world=dataclasses.replace(scenario.world, **checked.get("world", {})),
        mechanisms=dataclasses.replace(scenario.mechanisms, **checked.get("mechanisms", {})),
        members=tuple(dataclasses.replace(m, **checked[m.code]) if m.code in checked else m
                      for m in scenario.members))
    _check_consistency(changed, origin)
    return changed


def scenario_as_dict(s: Scenario) -> dict[str, Any]:
    """The raw (TOML-shaped) form of a resolved scenario; `resolve` of it gives it back."""
    def table(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in skip}

    return {
        "scenario": {key: getattr(s, key) for key in SCENARIO_KEYS if key != "extends"},
        "group": table(s.group),
        "world": table(s.world),
        "mechanisms": table(s.mechanisms),
        "members": {m.code: table(m, skip=("code",)) for m in s.members},
        "events": [table(e) for e in s.events] + [
            {"date": c.date, "kind": "set", "key": c.key, "value": _plain(c.value),
             "note": c.note} for c in s.changes],
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _merge_base(raw: dict, path: Path, text: str, seen: tuple[Path, ...]) -> dict:
    """Resolve `[scenario] extends`: the base's tables, updated key by key by this file's."""
    head = raw.get("scenario", {})
    base_name = head.get("extends") if isinstance(head, Mapping) else None
    if not base_name:
        return raw
    origin = _Origin(str(path), text)
    if not isinstance(base_name, str):
        raise origin.error(("scenario", "extends"), "has the wrong type.", base_name,
                           "a built-in scenario name or a path.")
    relative = path.parent / base_name
    base_path = relative if relative.is_file() else None
    if base_path is None and base_name in builtin_names():
        base_path = builtin_path(base_name)
    if base_path is None:
        raise origin.error(("scenario", "extends"), "names no scenario.", base_name,
                           f"a built-in scenario ({', '.join(builtin_names())}) or a path "
                           "relative to this file.")
    if base_path.resolve() in seen:
        raise origin.error(("scenario", "extends"), "makes a cycle of scenarios.", base_name,
                           "a chain of `extends` that ends.")
    base_raw, base_text = read_toml(base_path)
    base_raw = _merge_base(base_raw, base_path, base_text, seen + (base_path.resolve(),))
    merged = _deep_copy(base_raw)
    for section, value in raw.items():
        if section == "events" and isinstance(value, list):
            merged["events"] = merged.get("events", []) + _deep_copy(value)
        elif isinstance(value, Mapping) and isinstance(merged.get(section), Mapping):
            target = merged[section]
            for key, item in value.items():
                if isinstance(item, Mapping) and isinstance(target.get(key), Mapping):
                    target[key] = {**target[key], **item}
                else:
                    target[key] = _deep_copy(item)
        else:
            merged[section] = _deep_copy(value)
    merged["scenario"].pop("extends", None)
    dropped = merged["scenario"].pop("without_events", None)
    if dropped is not None:
        merged["events"] = _without_events(merged.get("events", []), dropped, origin)
    return merged


def _without_events(events: list, dropped: Any, origin: _Origin) -> list:
    """The base's dated events less those `[scenario] without_events` names as KIND@DATE."""
    allowed = "a list of the base's events as KIND@DATE, e.g. [\"global_crisis@2020Q1\"]."
    if not isinstance(dropped, list) or not all(isinstance(d, str) for d in dropped):
        raise origin.error(("scenario", "without_events"), "has the wrong type.", dropped,
                           allowed)
    kept = list(events)
    for entry in dropped:
        kind, _, date = entry.partition("@")
        try:
            quarter = parse_quarter(date)
        except ValueError:
            quarter = None
        match = [e for e in kept if isinstance(e, Mapping) and e.get("kind") == kind.strip()
                 and quarter is not None and _quarter_or_none(e.get("date")) == quarter]
        if not match:
            present = ", ".join(f"{e.get('kind')}@{e.get('date')}" for e in kept
                                if isinstance(e, Mapping)) or "none"
            raise origin.error(("scenario", "without_events"), "names no event of the base.",
                               entry, f"one of: {present}.")
        kept = [e for e in kept if e not in match]
    return kept


def _quarter_or_none(date: Any) -> int | None:
    try:
        return parse_quarter(date) if isinstance(date, str) else None
    except ValueError:
        return None


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """'KEY=VALUE' strings to a dict; values parsed as TOML where they parse, else strings."""
    parsed: dict[str, Any] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError("--set", "is not of the form KEY=VALUE.", key=item,
                             allowed="e.g. --set group.secretariat=true or "
                             "--set members.*.crisis_rate=0.5")
        if "@" in value and "@" not in key:  # KEY=VALUE@QUARTER: the value from that quarter on
            value, _, date = value.rpartition("@")
            key = f"{key}@{date.strip()}"
        if "@" in key:
            name, date = _dated_key(key, "--set", shown=item)
            key = f"{name}@{date}"
        typed = parse_value_text(value.strip())
        if key in parsed and parsed[key] != typed:
            raise InputError("--set", "is given twice with different values.", key=key,
                             value=typed, allowed=f"one value for each key (the first was "
                             f"{parsed[key]!r}).")
        parsed[key] = typed
    return parsed


DATED_FORMS = ("KEY=VALUE@QUARTER, e.g. --set group.secretariat=true@2027Q1 (or @2027, its "
               "first quarter): the value from the start of that quarter on.")


def parse_value_text(value: str) -> Any:
    """A value typed on the command line: TOML if it parses ('0.5', 'true', '["A"]'), else text."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def apply_overrides(raw: dict, overrides: Mapping[str, Any] | Iterable[str]) -> dict[str, str]:
    """Write dotted-key overrides into a raw scenario dict; returns {key path: origin label}."""
    if not isinstance(overrides, Mapping):
        overrides = parse_assignments(overrides)
    applied: dict[str, str] = {}
    for key, value in overrides.items():
        label = f"--set {key}={_as_text(value)}"
        if "@" in key:  # a change at a date: an [[events]] entry of kind "set"
            name, date = _dated_key(key, label)
            label = f"--set {name}={_as_text(value)}@{date}"
            events = raw.setdefault("events", [])
            if not isinstance(events, list):
                continue  # the file's own error is reported when it is built
            index = len(events)
            events.append({"kind": "set", "key": name, "value": value, "date": date})
            applied.update({f"events.{index}.{part}": label for part in ("key", "value",
                                                                         "date")})
            continue
        for path in expand_key(raw, key, label):
            table = raw
            for part in path[:-1]:
                table = table.setdefault(part, {})
            table[path[-1]] = value
            applied[".".join(path)] = label
    return applied


def _dated_key(key: str, label: str, shown: str | None = None) -> tuple[str, str]:
    """`split_dated`, or an `InputError` naming `label` and `shown` (default: the key)."""
    try:
        name, date = split_dated(key)
    except ValueError:
        raise InputError(label, "has a date that is neither a quarter nor a year.",
                         key=shown or key, allowed=DATED_FORMS) from None
    return name, date


def _as_text(value: Any) -> str:
    return format_value(value) if not isinstance(value, str) else value


def variant(default: str, meaning: str, choices: tuple[str, ...]) -> Any:
    """Declare a structural variant: a string field that takes one of `choices`."""
    return field(default=default, metadata={"spec": Spec(meaning, choices=choices)})


@dataclass(frozen=True)
class MechanismParams:
    """Structural variants: forms of a mechanism the sources do not fix (docs/ODD.md §7, §9).
    The first choice of each is the model's own form."""

    exit: str = variant("engagement", "M10: how a member comes to leave: weighing a cost of "
                        "staying in proportion to the engagement it gives (engagement) or the "
                        "full cost of membership whatever it gives (fixed), besides a new "
                        "government's review; or by that review alone (review)",
                        ("engagement", "fixed", "review"))
    dues: str = variant("capped", "M1, M11: secretariat dues off the budget, never below the "
                        "floor (capped), in full even below it (full), or growing with the "
                        "secretariat's age by secretariat_dues_growth (growing)",
                        ("capped", "full", "growing"))
    agenda_cost: str = variant("workload", "M5: the participation cost grows with the work the "
                               "group's activity asks (workload) or with the number of areas "
                               "on its agenda, however busy (per_area)",
                               ("workload", "per_area"))


def mechanism_codes(scenario: Scenario) -> dict[str, int]:
    """Each structural variant as the index of its choice: `mechanism_<name>` for the phases."""
    return {f"mechanism_{f.name}": f.metadata["spec"].choices.index(
        getattr(scenario.mechanisms, f.name)) for f in dataclasses.fields(MechanismParams)}


def variant_code(name: str, choice: str) -> int:
    """The code `mechanism_codes` gives `choice` of structural variant `name`."""
    spec = next(f for f in dataclasses.fields(MechanismParams) if f.name == name).metadata["spec"]
    return spec.choices.index(choice)


MECHANISM_PARAMETERS = tuple(f"mechanism_{f.name}" for f in dataclasses.fields(MechanismParams))
SECTION_CLASSES = {"group": GroupParams, "world": WorldParams, "members": MemberParams,
                   "mechanisms": MechanismParams}
KEY_FORMS = ("group.<key>, world.<key>, members.<CODE>.<key>, members.*.<key>, years; "
             "`minilat scenarios show NAME` lists them all.")


@dataclass(frozen=True)
class Key:
    """A dotted parameter key, parsed once: its section, member (a code, `*` or none), field,
    declared type and `Spec`."""

    text: str
    section: str  # "scenario", "group", "world" or "members"
    member: str | None
    field: str
    kind: type
    spec: Spec

    @classmethod
    def parse(cls, text: str, label: str = "--set") -> Key:
        """The key `text` as typed; an `InputError` naming `label` if no parameter has it."""
        parts = tuple(text.split("."))
        section = parts[0]
        if section in ("years", "start") and len(parts) == 1:
            return cls(text, "scenario", None, section, *SCENARIO_KEYS[section])
        if section == "scenario" and len(parts) == 2 and parts[1] in SCENARIO_KEYS:
            return cls(text, "scenario", None, parts[1], *SCENARIO_KEYS[parts[1]])
        if section in ("group", "world", "mechanisms") and len(parts) == 2:
            return cls(text, section, None, parts[1],
                       *_declared(SECTION_CLASSES[section], parts[1], text, label))
        if section == "members" and len(parts) == 3:
            return cls(text, section, parts[1], parts[2],
                       *_declared(MemberParams, parts[2], text, label))
        raise InputError(label, "is not a parameter key.", key=text, allowed=KEY_FORMS)

    def paths(self, codes: Iterable[str], label: str = "--set") -> list[tuple[str, ...]]:
        """Concrete key paths in a scenario with these member codes: `members.*.x` gives one
        per member."""
        if self.section != "members":
            return [(self.section, self.field)]
        codes = list(codes)
        if self.member == "*":
            return [("members", code, self.field) for code in codes]
        if self.member not in codes:
            raise InputError(label, "names no member of the scenario.", key=self.text,
                             allowed=f"members.<CODE>.<key> with CODE one of {', '.join(codes)}, "
                             "or members.*.<key> for every member.")
        return [("members", self.member, self.field)]

    def check(self, value: Any, source: str = "--set") -> Any:
        """`value` in the key's declared type, within its range: a true/false key takes only a
        TOML boolean. An `InputError` naming `source` otherwise."""
        return _check_value(self.kind, self.spec, value, tuple(self.text.split(".")),
                            _Origin(source, ""), lenient_bool=False)

    def values_in(self, scenario: Scenario) -> list[Any]:
        """The scenario's values of the key: one, or one per member for `members.*`."""
        if self.section == "scenario":
            return [getattr(scenario, self.field)]
        if self.section in ("group", "world", "mechanisms"):
            return [getattr(getattr(scenario, self.section), self.field)]
        return [getattr(scenario.members[scenario.codes.index(code)], self.field)
                for _, code, _ in self.paths(scenario.codes)]


def _declared(cls: type, name: str, key: str, label: str) -> tuple[type, Spec]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise InputError(label, "is not a parameter key.", key=key,
                         allowed=_suggest(name, list(fields), key.rsplit(".", 1)[0]))
    return _field_type(fields[name]), fields[name].metadata["spec"]


def expand_key(raw: Mapping[str, Any], key: str, label: str = "--set") -> list[tuple[str, ...]]:
    """Dotted key to concrete key paths of a raw scenario: 'members.*.x' gives one per member."""
    return Key.parse(key, label).paths(raw.get("members", {}), label)


def _suggest(name: str, names: list[str], prefix: str) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean `{prefix}.{close[0]}`? " if close else ""
    return f"{hint}Keys here: {', '.join(names)}."


def all_keys(scenario: Scenario) -> list[str]:
    """Every dotted key that `--set` accepts for this scenario."""
    keys = ["years", "start"]
    keys += [f"group.{f.name}" for f in dataclasses.fields(GroupParams)]
    keys += [f"world.{f.name}" for f in dataclasses.fields(WorldParams)]
    keys += [f"mechanisms.{f.name}" for f in dataclasses.fields(MechanismParams)]
    for code in ("*", *scenario.codes):
        keys += [f"members.{code}.{f.name}" for f in dataclasses.fields(MemberParams)
                 if f.name != "code"]
    return keys


def spec_of(key: str) -> tuple[type, Spec]:
    """Type and `Spec` of a dotted key such as 'members.*.budget_trend' (KeyError if none)."""
    try:
        parsed = Key.parse(split_dated(key)[0])  # a change at a date has its key's type
    except (InputError, ValueError):
        raise KeyError(key) from None
    return parsed.kind, parsed.spec


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@dataclass
class _Origin:
    """Where values came from, to point errors at a file line or at a --set option."""

    source: str
    text: str
    overridden: dict[str, str] = field(default_factory=dict)
    typed_on_a_command_line: bool = False  # 'yes', 'on', '1' then count as true
    whole_file: bool = True  # False when only overridden values are checked again
    inherited_events: int = 0  # events from the scenario the file extends, before its own

    def error(self, path: tuple[str, ...], problem: str, value: Any = None,
              allowed: str | None = None, show_value: bool = True) -> InputError:
        key = ".".join(path)
        if key in self.overridden:
            return InputError(self.overridden[key], problem, key=key,
                              value=value if show_value else None, allowed=allowed)
        own = self._own(path)
        return InputError(self.source, problem, key=".".join(own) if own else key,
                          value=value if show_value else None, allowed=allowed,
                          line=find_line(self.text, own) if own else None)

    def line(self, path: tuple[str, ...]) -> int | None:
        """The line of `path` in the file's own text (an inherited event has none there)."""
        own = self._own(path)
        return find_line(self.text, own) if own else None

    def _own(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        """`path` as the file's own text numbers its events; None for an inherited event."""
        if not (self.inherited_events and len(path) > 1 and path[0] == "events"
                and path[1].isdigit()):
            return path
        own = int(path[1]) - self.inherited_events
        return ("events", str(own), *path[2:]) if own >= 0 else None


def find_line(text: str, path: tuple[str, ...]) -> int | None:
    """Line of `key = ...` under table `path[:-1]` in TOML text (best effort; None if not found).

    For arrays of tables (`[[events]]`) a numeric path part selects the n-th table.
    """
    if not text or not path:
        return None
    *table, key = path
    want_table: list[str] = []
    want_index: int | None = None
    for part in table:
        if part.isdigit():
            want_index = int(part)
        else:
            want_table.append(part)
    current: list[str] = []
    seen: dict[str, int] = {}
    header_line: int | None = None
    key_pattern = re.compile(rf'^\s*("?){re.escape(key)}\1\s*=')
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            current = [p.strip().strip('"') for p in header.group(1).split(".")]
            name = ".".join(current)
            seen[name] = seen.get(name, -1) + 1
            if current == want_table and (want_index is None or seen[name] == want_index):
                header_line = number
            continue
        in_table = current == want_table and (
            want_index is None or seen.get(".".join(current)) == want_index)
        if in_table and key_pattern.match(line):
            return number
    if not want_table and not table:
        return None
    return header_line


def numeric_fields(cls: type) -> list[str]:
    """Names of a parameter table's numeric and true/false fields, by their declared types."""
    return [f.name for f in dataclasses.fields(cls) if _field_type(f) in (bool, int, float)]


def _field_type(f: dataclasses.Field) -> type:
    hint = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if hint.startswith("tuple"):
        return tuple
    return {"bool": bool, "int": int, "float": float, "str": str}[hint]


def _check_value(kind: type, spec: Spec, value: Any, path: tuple[str, ...], origin: _Origin,
                 lenient_bool: bool) -> Any:
    """Type- and range-check one value; returns it in its canonical Python type."""
    allowed = spec.allowed(kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if lenient_bool and isinstance(value, str | int):
            text = str(value).strip().lower()
            if text in ("true", "yes", "on", "1"):
                return True
            if text in ("false", "no", "off", "0"):
                return False
        raise origin.error(path, "has the wrong type.", value, allowed)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise origin.error(path, "has the wrong type.", value, allowed)
        if isinstance(value, float) and not value.is_integer():
            raise origin.error(path, "must be a whole number.", value, allowed)
        value = int(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise origin.error(path, "has the wrong type.", value, allowed)
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise origin.error(path, "must be a finite number.", value, allowed)
    elif kind is str:
        if not isinstance(value, str):
            raise origin.error(path, "has the wrong type.", value, allowed)
        if spec.choices and value not in spec.choices:
            raise origin.error(path, "is not one of its variants.", value, allowed)
        return value
    elif kind is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise origin.error(path, "has the wrong type.", value, allowed)
        return tuple(value)
    if not spec.contains(value):
        raise origin.error(path, "is out of range.", value, allowed)
    return value


def _build(cls: type, data: Any, path: tuple[str, ...], origin: _Origin,
           defaults: Mapping[str, Any] | None = None) -> Any:
    if not isinstance(data, Mapping):
        raise origin.error(path, "must be a table.", data,
                           f"a TOML table [{'.'.join(path)}] of keys and values.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    merged = dict(defaults or {})
    merged.update(data)
    values = {}
    for key, value in merged.items():
        where = path + (key,)
        if key not in fields:
            raise origin.error(where, "is not a known key.", value,
                               _suggest(key, list(fields), ".".join(path)), show_value=False)
        f = fields[key]
        lenient = ".".join(where) in origin.overridden and origin.typed_on_a_command_line
        values[key] = _check_value(_field_type(f), f.metadata["spec"], value, where, origin,
                                   lenient)
    return cls(**values)


def _build_scenario(raw: dict, origin: _Origin) -> Scenario:
    allowed_top = ["scenario", "group", "world", "mechanisms", "member_defaults", "members",
                   "events"]
    for key in raw:
        if key not in allowed_top:
            raise origin.error((key,), "is not a known section.", show_value=False,
                               allowed=_suggest(key, allowed_top, "").replace("`.", "`"))
    head = raw.get("scenario", {})
    if not isinstance(head, Mapping):
        raise origin.error(("scenario",), "must be a table.", head, "a [scenario] table.")
    info: dict[str, Any] = {"extends": "", "name": "", "title": "", "description": "",
                            "start": "2014Q1", "years": 30}
    for key, value in head.items():
        if key == "without_events":
            raise origin.error(("scenario", key), "needs `extends`: it removes events of the "
                               "scenario this one extends.", show_value=False,
                               allowed='extends = "mikta" beside it.')
        if key not in SCENARIO_KEYS:
            raise origin.error(("scenario", key), "is not a known key.", show_value=False,
                               allowed=_suggest(key, list(SCENARIO_KEYS), "scenario"))
        kind, spec = SCENARIO_KEYS[key]
        info[key] = _check_value(kind, spec, value, ("scenario", key), origin,
                                 lenient_bool=False)
    _check_quarter(info["start"], ("scenario", "start"), origin)

    group = _build(GroupParams, raw.get("group", {}), ("group",), origin)
    world = _build(WorldParams, raw.get("world", {}), ("world",), origin)
    mechanisms = _build(MechanismParams, raw.get("mechanisms", {}), ("mechanisms",), origin)
    defaults = raw.get("member_defaults", {})
    if not isinstance(defaults, Mapping):
        raise origin.error(("member_defaults",), "must be a table.", defaults,
                           "a [member_defaults] table of member keys.")
    if "code" in defaults:
        raise origin.error(("member_defaults", "code"), "cannot be shared by all members.",
                           defaults["code"], "codes come from the [members.CODE] table names.")
    _build(MemberParams, defaults, ("member_defaults",), origin)  # validate the defaults alone

    members_raw = raw.get("members", {})
    if not isinstance(members_raw, Mapping):
        raise origin.error(("members",), "must be a table of member tables.", show_value=False,
                           allowed="one [members.CODE] table per member.")
    n = len(members_raw)
    if not MIN_MEMBERS <= n <= MAX_MEMBERS:
        raise origin.error(("members",), f"has {n} member{'s' if n != 1 else ''}.",
                           show_value=False,
                           allowed=f"{MIN_MEMBERS} to {MAX_MEMBERS} [members.CODE] tables.")
    members = []
    for code, table in members_raw.items():
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,7}", code):
            raise origin.error(("members", code), "is not a valid member code.",
                               show_value=False,
                               allowed="1 to 8 capital letters, digits or _, starting with a "
                               "letter (e.g. MEX).")
        if isinstance(table, Mapping) and "code" in table and table["code"] != code:
            raise origin.error(("members", code, "code"), "differs from the table name.",
                               table["code"], f'"{code}" or leave it out.')
        member = _build(MemberParams, {**table, "code": code} if isinstance(table, Mapping)
                        else table, ("members", code), origin, defaults)
        members.append(member)

    events_raw = raw.get("events", [])
    if not isinstance(events_raw, list):
        raise origin.error(("events",), "must be an array of tables.", show_value=False,
                           allowed="[[events]] tables with date, kind, member, factor, years.")
    events = tuple(_build(Event, e, ("events", str(i)), origin)
                   for i, e in enumerate(events_raw)
                   if not (isinstance(e, Mapping) and e.get("kind") == "set"))

    scenario = Scenario(
        name=info["name"] or Path(origin.source.split(" ")[0]).stem,
        title=info["title"], description=info["description"], start=info["start"],
        years=info["years"], group=group, world=world, members=tuple(members), events=events,
        source=origin.source, mechanisms=mechanisms,
    )
    changes = [_change_entry(scenario, i, e, origin) for i, e in enumerate(events_raw)
               if isinstance(e, Mapping) and e.get("kind") == "set"]
    scenario = dataclasses.replace(scenario, changes=_in_date_order(changes))
    _check_consistency(scenario, origin)
    return scenario


CHANGE_FIELDS = ("date", "kind", "key", "value", "note")
# Keys that cannot change during a run, by field, and why (every other key can)
UNDATED = {
    "code": "a member's code names it for the whole run",
    "name": "a label, the same for the whole run",
    "color": "a label, the same for the whole run",
    "rival_name": "a label, the same for the whole run",
    "joins": "it is itself a date of the record (the quarter the member joins)",
    "first_election": "it is itself a date of the record",
    "first_election_changed": "it is a fact of the record's first election",
    "budget_trend_until": "it is itself a date (the last quarter of the trend)",
    "rival_known_through": "it is itself a date of the record",
    "election_interval": "the elections are laid out before the run from it and the first "
                         "election (sim.model.calendar); a change of the electoral calendar is "
                         "not modelled",
    "in_rival": "it is membership of the rival bloc at the start; a join at a date is an "
                "[[events]] entry of kind \"rival_join\"",
    "founding_enthusiasm": "it sets the ministers' enthusiasm before the first quarter only",
    "founding_visibility": "it sets the group's visibility before the first quarter only",
    "chair_order": "the rotation is one order for the whole run",
    **{name: "it is part of the outcome rule, one yardstick for the whole run "
             "(docs/validation.md)"
       for name in ("min_members", "apex_repeat", "apex_window_months", "grace_months",
                    "zombie_months", "dormant_months")},
}


def undated_reason(key: Key) -> str | None:
    """Why `key` cannot change during a run, or None if it can."""
    if key.section == "scenario":
        return "the run's start and horizon are fixed before it starts"
    return UNDATED.get(key.field)


def datable_keys(scenario: Scenario) -> list[str]:
    """Every key of `all_keys` that a change at a date may set."""
    return [k for k in all_keys(scenario) if undated_reason(Key.parse(k)) is None]


def _in_date_order(changes: Iterable[Change]) -> tuple[Change, ...]:
    return tuple(sorted(changes, key=lambda c: parse_quarter(c.date)))  # stable: file order


def _change_entry(s: Scenario, index: int, entry: Mapping, origin: _Origin) -> Change:
    """An `[[events]]` entry of kind "set", checked."""
    path = ("events", str(index))
    for name in entry:
        if name not in CHANGE_FIELDS:
            raise origin.error(path + (name,), 'is not a key of an event of kind "set".',
                               show_value=False, allowed=", ".join(CHANGE_FIELDS) + ".")
    for name in ("key", "value", "date"):
        if name not in entry:
            raise origin.error(path + ("kind",), f'needs `{name}` in an event of kind "set".',
                               "set", allowed='key = "group.secretariat", value = true, '
                               'date = "2027Q1" (note optional).')
    for name in ("key", "date", "note"):
        if name in entry and not isinstance(entry[name], str):
            raise origin.error(path + (name,), "has the wrong type.", entry[name], "a string.")
    lenient = ".".join(path + ("value",)) in origin.overridden and \
        origin.typed_on_a_command_line
    return _checked_change(s, entry["key"], entry["date"], entry["value"],
                           entry.get("note", ""), origin, path, lenient)


def _checked_change(s: Scenario, key_text: str, date_text: str, value: Any, note: str,
                    origin: _Origin, path: tuple[str, ...], lenient: bool) -> Change:
    """One change at a date: a datable key of the scenario, a date within the run, a value of
    the key's type and range. Errors name the key with its date."""
    def fail(part: str, problem: str, shown: Any = None, allowed: str | None = None):
        where = ".".join(path + (part,))
        subject = f"{key_text}@{date_text}"
        if where in origin.overridden:
            return InputError(origin.overridden[where], problem, key=subject, value=shown,
                              allowed=allowed)
        return InputError(origin.source, problem, key=subject, value=shown, allowed=allowed,
                          line=origin.line(path + (part,)))

    try:
        key = Key.parse(key_text, origin.source)
        key.paths(s.codes, origin.source)
    except InputError as exc:
        raise fail("key", exc.problem, None, exc.allowed) from None
    why = undated_reason(key)
    if why:
        raise fail("key", f"cannot change during a run: {why}.", None,
                   f"a key `minilat scenarios show {s.name or 'NAME'} --keys` lists as "
                   "datable.")
    last = s.quarter_label(s.quarters - 1)
    within = f"a quarter from {s.start} to {last} (the run's), or a year."
    try:
        quarter = parse_date(date_text) - s.start_quarter
    except ValueError:
        raise fail("date", "has a date that is neither a quarter nor a year.", date_text,
                   within) from None
    if quarter < 0:
        raise fail("date", "is dated before the start.", date_text, within)
    if quarter >= s.quarters:
        raise fail("date", "is dated after the horizon.", date_text, within)
    try:
        checked = _check_value(key.kind, key.spec, value, path + ("value",), origin, lenient)
    except InputError as exc:
        raise fail("value", exc.problem, value, exc.allowed) from None
    return Change(key.text, checked, s.quarter_label(quarter), note)


def _check_quarter(text: str, path: tuple[str, ...], origin: _Origin) -> int:
    try:
        return parse_quarter(text)
    except ValueError:
        raise origin.error(path, "is not a quarter.", text,
                           "a year and quarter such as '2017Q4'.") from None


def _check_consistency(s: Scenario, origin: _Origin) -> None:
    """Rules that tie several fields together."""
    for name in ("apex_window_months", "grace_months", "zombie_months", "dormant_months"):
        months = getattr(s.group, name)
        if months % 3:
            raise origin.error(("group", name), "is not a whole number of quarters.", months,
                               f"a multiple of 3 months, e.g. {3 * round(months / 3) or 3}.")
    codes = s.codes
    order = s.group.chair_order
    for code in order:
        if code not in codes:
            raise origin.error(("group", "chair_order"), f"names {code}, which is not a member.",
                               list(order), f"codes of members: {', '.join(codes)}.")
    if len(set(order)) != len(order):
        raise origin.error(("group", "chair_order"), "names a member twice.", list(order),
                           "each member code at most once.")
    founding = 0
    for m in s.members:
        if m.color and not re.fullmatch(r"#[0-9a-fA-F]{6}", m.color):
            raise origin.error(("members", m.code, "color"), "is not a colour.", m.color,
                               "'#rrggbb' or empty.")
        if m.first_election:
            _check_quarter(m.first_election, ("members", m.code, "first_election"), origin)
        if m.budget_trend_until:
            q = _check_quarter(m.budget_trend_until, ("members", m.code, "budget_trend_until"),
                               origin) - s.start_quarter
            if q < 0:
                raise origin.error(("members", m.code, "budget_trend_until"),
                                   "is before the start.", m.budget_trend_until,
                                   f"a quarter from {s.start} on, or empty for the horizon.")
            if q >= s.quarters:
                _warn_after_horizon(origin, ("members", m.code, "budget_trend_until"),
                                    m.budget_trend_until, s)
        if m.joins:
            q = _check_quarter(m.joins, ("members", m.code, "joins"), origin) - s.start_quarter
            if q < 0:
                raise origin.error(("members", m.code, "joins"), "is before the start.", m.joins,
                                   f"a quarter from {s.start} on, or empty for a founder.")
            founding += q == 0
            if q >= s.quarters:
                _warn_after_horizon(origin, ("members", m.code, "joins"), m.joins, s)
        else:
            founding += 1
    if founding < s.group.min_members:
        raise origin.error(("group", "min_members"),
                           f"exceeds the {founding} founding members.", s.group.min_members,
                           f"at most {founding}, or fewer members with a `joins` date.")
    for c in s.changes:
        if s.quarter_index(c.date) >= s.quarters:
            where = origin.overridden.get("scenario.years") or origin.overridden.get(
                "years") or origin.source
            raise InputError(where, f"ends the run before the change `{c.key}@{c.date}`.",
                             key="years", value=s.years,
                             allowed=f"a horizon that reaches {c.date}, or no change after "
                             "it.")
    known = (_check_quarter(s.world.rival_known_through, ("world", "rival_known_through"),
                            origin) if s.world.rival_known_through else None)
    for i, e in enumerate(s.events):
        path = ("events", str(i))
        if e.kind not in EVENT_KINDS:
            raise origin.error(path + ("kind",), "is not an event kind.", e.kind,
                               ", ".join(EVENT_KINDS) + ".")
        q = _check_quarter(e.date, path + ("date",), origin) - s.start_quarter
        if q < 0:
            raise origin.error(path + ("date",), "is before the start.", e.date,
                               f"a quarter from {s.start} on.")
        if q >= s.quarters:
            _warn_after_horizon(origin, path + ("date",), e.date, s)
        if e.kind in MEMBER_EVENT_KINDS and e.member not in codes:
            raise origin.error(path + ("member",), f"must name a member for a {e.kind} event.",
                               e.member, ", ".join(codes) + ".")
        if e.kind not in MEMBER_EVENT_KINDS and e.member:
            raise origin.error(path + ("member",), f"is not used by a {e.kind} event.",
                               e.member, "leave it out.")
        if known is not None and e.kind in RIVAL_DRAWS and parse_quarter(e.date) <= known:
            raise origin.error(path + ("date",), f"is a {e.kind} while the record shows the "
                               f"rival bloc's members (world.rival_known_through = "
                               f"{s.world.rival_known_through}).", e.date,
                               f"a date after {s.world.rival_known_through}; a join the record "
                               "shows is an event of kind \"rival_join\".")
        if e.kind in ("budget", "attention") and e.factor <= 0:
            raise origin.error(path + ("factor",), "must be positive.", e.factor,
                               "a multiplier above 0.")
        if e.kind in ("crisis", "global_crisis") and e.years <= 0:
            raise origin.error(path + ("years",), f"must be set for a {e.kind} event.",
                               e.years, "a duration above 0 years.")


def _warn_after_horizon(origin: _Origin, path: tuple[str, ...], when: str,
                        s: Scenario) -> None:
    """Warn of a date past the horizon the file itself sets (a horizon shortened by --years or
    an experiment's `years` cuts later dates off on purpose)."""
    if any(k in origin.overridden for k in ("scenario.years", "years")):
        return
    if not origin.whole_file and ".".join(path) not in origin.overridden:
        return  # warned of when the file was read
    last = s.quarter_label(s.quarters - 1)
    key = ".".join(path)
    line = origin.line(path)
    where = origin.overridden.get(key) or (origin.source if line is None
                                           else f"{origin.source}, line {line}")
    warnings.warn(InputWarning(f"{where}: `{'.'.join(p for p in path if not p.isdigit())}` = "
                               f"\"{when}\" falls after the horizon (the last quarter run is "
                               f"{last}): it has no effect in these runs."), stacklevel=2)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Writing a resolved scenario back as TOML, with units and meanings as comments
# --------------------------------------------------------------------------------------------


def scenario_to_toml(s: Scenario, comments: bool = True) -> str:
    """The scenario fully resolved (every default filled in), as TOML text that loads back."""
    lines = ["[scenario]"]
    for key in SCENARIO_KEYS:
        if key == "extends":
            continue
        lines.append(f"{key} = {_toml(getattr(s, key))}")
    for section, obj in (("group", s.group), ("world", s.world),
                         ("mechanisms", s.mechanisms)):
        lines += ["", f"[{section}]"]
        lines += _fields_toml(obj, comments)
    for m in s.members:
        lines += ["", f"[members.{m.code}]"]
        lines += _fields_toml(m, comments, skip=("code",))
    for e in s.events:
        lines += ["", "[[events]]"]
        lines += _fields_toml(e, False)
    for c in s.changes:
        lines += ["", "[[events]]", f"date = {_toml(c.date)}", 'kind = "set"',
                  f"key = {_toml(c.key)}", f"value = {_toml(c.value)}", f"note = {_toml(c.note)}"]
    return "\n".join(lines) + "\n"


def _fields_toml(obj: Any, comments: bool, skip: tuple[str, ...] = ()) -> list[str]:
    out = []
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        text = f"{f.name} = {_toml(getattr(obj, f.name))}"
        if comments:
            spec: Spec = f.metadata["spec"]
            unit = f" [{spec.unit}]" if spec.unit else ""
            text = f"{text:<40} # {spec.meaning}{unit}"
        out.append(text)
    return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
