"""A raw scenario (TOML-shaped) built into a checked `Scenario`: its tables, members, dated
events and changes, and the rules that tie several fields together."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import InputError, InputWarning, format_value
from sim.model.files import Origin, Refused, check_value
from sim.model.keys import READ_AT_JOINING, Setting, undated_reason
from sim.model.params import (
    DECLARED,
    EVENT_KINDS,
    MAX_MEMBERS,
    MEMBER_EVENT_KINDS,
    MIN_MEMBERS,
    RIVAL_DRAWS,
    SCENARIO_KEYS,
    Change,
    Event,
    GroupParams,
    Key,
    MechanismParams,
    MemberParams,
    Scenario,
    WorldParams,
    suggest_key,
)
from sim.model.quarters import format_quarter, parse_date, parse_quarter

TOP_SECTIONS = ["scenario", "group", "world", "mechanisms", "member_defaults", "members",
                "events"]
CHANGE_FIELDS = ("date", "kind", "key", "value", "note")


def build_scenario(raw: dict, origin: Origin, dated: Iterable[Setting] = ()) -> Scenario:
    """The checked scenario of `raw`, with the changes at a date of its `[[events]]` of kind
    "set" and then `dated` (settings given besides the file)."""
    for key in raw:
        if key not in TOP_SECTIONS:
            raise origin.error((key,), "is not a known section.", show_value=False,
                               allowed=suggest_key(key, TOP_SECTIONS))
    info = _scenario_table(raw.get("scenario", {}), origin)
    group = _table(GroupParams, raw.get("group", {}), ("group",), origin)
    world = _table(WorldParams, raw.get("world", {}), ("world",), origin)
    mechanisms = _table(MechanismParams, raw.get("mechanisms", {}), ("mechanisms",), origin)
    members = _members(raw, origin)
    events_raw = raw.get("events", [])
    if not isinstance(events_raw, list):
        raise origin.error(("events",), "must be an array of tables.", show_value=False,
                           allowed="[[events]] tables with date, kind, member, factor, years.")
    events = tuple(_table(Event, e, ("events", str(i)), origin)
                   for i, e in enumerate(events_raw)
                   if not (isinstance(e, Mapping) and e.get("kind") == "set"))
    scenario = Scenario(
        name=info["name"] or Path(origin.source.split(" ")[0]).stem,
        title=info["title"], description=info["description"], start=info["start"],
        years=info["years"], group=group, world=world, members=members, events=events,
        source=origin.source, mechanisms=mechanisms,
    )
    entries = [i for i, e in enumerate(events_raw)
               if isinstance(e, Mapping) and e.get("kind") == "set"]
    changes = [_change_entry(scenario, i, events_raw[i], origin) for i in entries]
    _one_value_per_date(changes, entries, origin)
    changes += [setting_change(scenario, setting) for setting in dated]
    scenario = dataclasses.replace(scenario, changes=in_date_order(changes))
    check_consistency(scenario, origin)
    return scenario


def _scenario_table(head: Any, origin: Origin) -> dict[str, Any]:
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
                               allowed=suggest_key(key, list(SCENARIO_KEYS), "scenario"))
        kind, spec = SCENARIO_KEYS[key]
        info[key] = origin.check(("scenario", key), kind, spec, value)
    _check_quarter(info["start"], ("scenario", "start"), origin)
    return info


def _table(cls: type, data: Any, path: tuple[str, ...], origin: Origin,
           defaults: Mapping[str, Any] | None = None) -> Any:
    if not isinstance(data, Mapping):
        raise origin.error(path, "must be a table.", data,
                           f"a TOML table [{'.'.join(path)}] of keys and values.")
    fields = DECLARED[cls]
    merged = dict(defaults or {})
    merged.update(data)
    values = {}
    for key, value in merged.items():
        where = path + (key,)
        if key not in fields:
            raise origin.error(where, "is not a known key.", value,
                               suggest_key(key, list(fields), origin.shown(path)),
                               show_value=False)
        values[key] = origin.check(where, *fields[key], value)
    return cls(**values)


def _members(raw: dict, origin: Origin) -> tuple[MemberParams, ...]:
    defaults = raw.get("member_defaults", {})
    if not isinstance(defaults, Mapping):
        raise origin.error(("member_defaults",), "must be a table.", defaults,
                           "a [member_defaults] table of member keys.")
    if "code" in defaults:
        raise origin.error(("member_defaults", "code"), "cannot be shared by all members.",
                           defaults["code"], "codes come from the [members.CODE] table names.")
    _table(MemberParams, defaults, ("member_defaults",), origin)  # the defaults alone
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
        members.append(_table(MemberParams, {**table, "code": code}
                              if isinstance(table, Mapping) else table,
                              ("members", code), origin, defaults))
    return tuple(members)


# --------------------------------------------------------------------------------------------
# Changes at a date
# --------------------------------------------------------------------------------------------


def in_date_order(changes: Iterable[Change]) -> tuple[Change, ...]:
    return tuple(sorted(changes, key=lambda c: c.quarter))  # stable: file order


Fail = Callable[..., InputError]


def setting_change(s: Scenario, setting: Setting) -> Change:
    """The change at a date a setting makes, checked; errors name the option."""
    def fail(part: str, problem: str, shown: Any = None, allowed: str | None = None):
        # the key is named with its date, so it is shown with its value, not its date again
        return InputError(setting.label, problem, key=setting.written,
                          value=setting.value if part == "date" else shown, allowed=allowed)

    _check_change_key(s, setting.key, fail)
    return _dated_change(s, setting.key, setting.quarter, format_quarter(setting.quarter),
                         setting.value, "", setting.typed_as_text, fail)


def _change_entry(s: Scenario, index: int, entry: Mapping, origin: Origin) -> Change:
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
    key_text, date_text = entry["key"], entry["date"]

    def fail(part: str, problem: str, shown: Any = None, allowed: str | None = None):
        return InputError(origin.source, problem, key=f"{key_text}@{date_text}", value=shown,
                          allowed=allowed, line=origin.line(path + (part,)))

    try:
        key = Key.parse(key_text, origin.source)
    except InputError as exc:
        raise fail("key", exc.problem, None, exc.allowed) from None
    _check_change_key(s, key, fail)
    try:
        quarter = parse_date(date_text)
    except ValueError:
        raise fail("date", "has a date that is neither a quarter nor a year.", date_text,
                   _within_the_run(s)) from None
    return _dated_change(s, key, quarter, date_text, entry["value"], entry.get("note", ""),
                         False, fail)


def _one_value_per_date(changes: list[Change], entries: list[int], origin: Origin) -> None:
    """Refuse two [[events]] of kind "set" of one parameter at one quarter (`members.*.x` and
    `members.MEX.x` included) with different values: the later in the file would win."""
    seen: list[tuple[Change, int]] = []
    for change, index in zip(changes, entries, strict=True):
        key = change.parameter
        for earlier, at in seen:
            other = earlier.parameter
            if (other.section, other.field, earlier.quarter) == (key.section, key.field,
                                                                 change.quarter) and \
                    (other.member == key.member or "*" in (other.member, key.member)) and \
                    earlier.value != change.value:
                line = origin.line(("events", str(at), "key"))
                raise InputError(origin.source, "is set twice at one date, to different "
                                 f"values (the [[events]] entry{_line_text(line)} sets "
                                 f"`{earlier.key}` = {format_value(earlier.value)}).",
                                 key=f"{change.key}@{change.date}", value=change.value,
                                 line=origin.line(("events", str(index), "key")),
                                 allowed="one value for each parameter and quarter.")
        seen.append((change, index))


def _line_text(line: int | None) -> str:
    return "" if line is None else f" on line {line}"


def _check_change_key(s: Scenario, key: Key, fail: Fail) -> None:
    """A key of the scenario that may change during a run."""
    try:
        key.paths(s.codes)
    except InputError as exc:
        raise fail("key", exc.problem, None, exc.allowed) from None
    why = undated_reason(key)
    if why:
        raise fail("key", f"cannot change during a run: {why}.", None,
                   f"a key `minilat scenarios show {s.name or 'NAME'} --keys` lists as "
                   "datable.")


def _dated_change(s: Scenario, key: Key, quarter: int, date_text: str, value: Any, note: str,
                  typed_as_text: bool, fail: Fail) -> Change:
    """A change within the run, with a value of the key's type and range."""
    if quarter < s.start_quarter:
        raise fail("date", "is dated before the start.", date_text, _within_the_run(s))
    if quarter - s.start_quarter >= s.quarters:
        raise fail("date", "is dated after the horizon.", date_text, _within_the_run(s))
    try:
        checked = check_value(value, key.kind, key.spec, lenient_bool=typed_as_text,
                              whole_floats=True)
    except Refused as refused:
        raise fail("value", refused.problem, value, key.spec.allowed(key.kind)) from None
    if key.field in READ_AT_JOINING:
        joined = {code: _joining_quarter(s, code) for _, code, _ in key.paths(s.codes)}
        spared = {code: q for code, q in joined.items() if q <= quarter}
        if spared:  # a key reaches every member it names, or is refused
            shown = ", ".join(f"{code} {format_quarter(q)}" for code, q in spared.items())
            whom = ("every member it names has" if len(spared) == len(joined) else
                    "it would skip members that have")
            raise fail("date", f"changes nothing for {', '.join(spared)}: "
                       f"{READ_AT_JOINING[key.field]}, and {whom} joined by then ({shown}).",
                       date_text, "a date before a member's `joins` quarter, for the members "
                       "that join later (members.<CODE>.<key>), or the value from the start "
                       "(without a date).")
    return Change(key, checked, quarter, note)


def _joining_quarter(s: Scenario, code: str) -> int:
    """The absolute quarter member `code` joins (the start for a founder)."""
    joins = s.members[s.codes.index(code)].joins
    try:
        return parse_quarter(joins) if joins else s.start_quarter
    except ValueError:
        return s.start_quarter


def _within_the_run(s: Scenario) -> str:
    return (f"a quarter from {s.start} to {s.quarter_label(s.quarters - 1)} (the run's), or a "
            "year.")


# --------------------------------------------------------------------------------------------
# Rules across fields
# --------------------------------------------------------------------------------------------


def check_consistency(s: Scenario, origin: Origin) -> None:
    """Rules that tie several fields together."""
    for name in ("apex_window_months", "grace_months", "zombie_months", "dormant_months"):
        months = getattr(s.group, name)
        if months % 3:
            raise origin.error(("group", name), "is not a whole number of quarters.", months,
                               f"a multiple of 3 months, e.g. {3 * round(months / 3) or 3}.")
    order = s.group.chair_order
    for code in order:
        if code not in s.codes:
            raise origin.error(("group", "chair_order"), f"names {code}, which is not a member.",
                               list(order), f"codes of members: {', '.join(s.codes)}.")
    if len(set(order)) != len(order):
        raise origin.error(("group", "chair_order"), "names a member twice.", list(order),
                           "each member code at most once.")
    founding = sum(_check_member(s, m, origin) for m in s.members)
    if founding < s.group.min_members:
        raise origin.error(("group", "min_members"),
                           f"exceeds the {founding} founding members.", s.group.min_members,
                           f"at most {founding}, or fewer members with a `joins` date.")
    for c in s.changes:
        if c.quarter - s.start_quarter >= s.quarters:
            where = origin.overridden.get("scenario.years") or origin.overridden.get(
                "years") or origin.source
            raise InputError(where, f"ends the run before the change `{c.key}@{c.date}`.",
                             key="years", value=s.years,
                             allowed=f"a horizon that reaches {c.date}, or no change after "
                             "it.")
    known = (_check_quarter(s.world.rival_known_through, ("world", "rival_known_through"),
                            origin) if s.world.rival_known_through else None)
    joined: dict[str, str] = {}  # member code -> the date of its rival_join
    for i, e in enumerate(s.events):
        _check_event(s, ("events", str(i)), e, known, origin)
        if e.kind == "rival_join":
            _check_rival_join(s, ("events", str(i)), e, joined, origin)


def _check_member(s: Scenario, m: MemberParams, origin: Origin) -> bool:
    """A member's colour and dates; whether it is a founding member."""
    path = ("members", m.code)
    if m.color and not re.fullmatch(r"#[0-9a-fA-F]{6}", m.color):
        raise origin.error(path + ("color",), "is not a colour.", m.color, "'#rrggbb' or empty.")
    if m.first_election:
        _check_quarter(m.first_election, path + ("first_election",), origin)
    if m.budget_trend_until:
        _quarter_of_run(s, path + ("budget_trend_until",), m.budget_trend_until, origin,
                        f"a quarter from {s.start} on, or empty for the horizon.")
    if not m.joins:
        return True
    return _quarter_of_run(s, path + ("joins",), m.joins, origin,
                           f"a quarter from {s.start} on, or empty for a founder.") == 0


def _check_event(s: Scenario, path: tuple[str, ...], e: Event, known: int | None,
                 origin: Origin) -> None:
    if e.kind not in EVENT_KINDS:
        raise origin.error(path + ("kind",), "is not an event kind.", e.kind,
                           ", ".join(EVENT_KINDS) + ".")
    q = _quarter_of_run(s, path + ("date",), e.date, origin, f"a quarter from {s.start} on.")
    if e.kind in MEMBER_EVENT_KINDS and e.member not in s.codes:
        raise origin.error(path + ("member",), f"must name a member for a {e.kind} event.",
                           e.member, ", ".join(s.codes) + ".")
    if e.kind not in MEMBER_EVENT_KINDS and e.member:
        raise origin.error(path + ("member",), f"is not used by a {e.kind} event.",
                           e.member, "leave it out.")
    if known is not None and e.kind in RIVAL_DRAWS and q + s.start_quarter <= known:
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


def _check_rival_join(s: Scenario, path: tuple[str, ...], e: Event, joined: dict[str, str],
                      origin: Origin) -> None:
    """A member joins the rival bloc once, and only if it is not in it from the start: a join
    it cannot make would change nothing."""
    member = s.members[s.codes.index(e.member)]
    if member.in_rival:
        raise origin.error(path + ("member",), "is in the rival bloc from the start "
                           f"(members.{e.member}.in_rival = true): a rival_join cannot act.",
                           e.member, "a member outside the rival bloc at the start, or "
                           "in_rival = false with this join.")
    if e.member in joined:
        raise origin.error(path + ("member",), f"already joins the rival bloc at "
                           f"{joined[e.member]}: a second rival_join cannot act.", e.member,
                           "one rival_join per member.")
    joined[e.member] = e.date


def _quarter_of_run(s: Scenario, path: tuple[str, ...], text: str, origin: Origin,
                    allowed: str) -> int:
    """The quarter `text` names, counted from the run's start: refused before the start, warned
    of after the horizon."""
    q = _check_quarter(text, path, origin) - s.start_quarter
    if q < 0:
        raise origin.error(path, "is before the start.", text, allowed)
    if q >= s.quarters:
        _warn_after_horizon(origin, path, text, s)
    return q


def _check_quarter(text: str, path: tuple[str, ...], origin: Origin) -> int:
    try:
        return parse_quarter(text)
    except ValueError:
        raise origin.error(path, "is not a quarter.", text,
                           "a year and quarter such as '2017Q4'.") from None


def _warn_after_horizon(origin: Origin, path: tuple[str, ...], when: str,
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
