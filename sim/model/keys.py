"""Keys and values as a user gives them: `--set KEY=VALUE@QUARTER` read once into a `Setting`,
the keys a scenario has, and which of them may change during a run.

A setting's key is a parsed `Key`, its value typed (TOML where the text parses), its quarter an
absolute quarter number; whatever takes a setting reads these and parses nothing again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.errors import InputError, UserError, format_value
from sim.model.files import Refused, check_value, parse_toml
from sim.model.params import (
    DECLARED,
    GroupParams,
    Key,
    MechanismParams,
    MemberParams,
    Scenario,
    Spec,
    WorldParams,
)
from sim.model.quarters import format_quarter, parse_date

MAX_SETTINGS = 1_000  # --set options on one command line
DATED_FORMS = ("KEY=VALUE@QUARTER, e.g. --set group.secretariat=true@2027Q1 (or @2027, its "
               "first quarter): the value from the start of that quarter on.")


@dataclass(frozen=True)
class Setting:
    """A value given to a key, from the start or from a quarter on: one `--set` option (or one
    entry of a dict of overrides), read once."""

    key: Key
    value: Any  # as given; typed from text as TOML where it parses
    quarter: int | None = None  # absolute, as `parse_quarter` numbers it; None: from the start
    typed_as_text: bool = False  # typed on a command line: 'yes', 'on' and '1' count as true
    text: str | None = field(default=None, compare=False)  # as typed: 'KEY=VALUE[@QUARTER]'

    @property
    def written(self) -> str:
        """The key with its date, as errors name it: 'group.secretariat@2027Q1'."""
        if self.quarter is None:
            return self.key.text
        return f"{self.key.text}@{format_quarter(self.quarter)}"

    @property
    def label(self) -> str:
        """The option as errors name it: '--set group.secretariat=true@2027Q1', as typed."""
        if self.text is not None:
            return f"--set {self.text}"
        shown = f"--set {self.key.text}={_as_text(self.value)}"
        return shown if self.quarter is None else f"{shown}@{format_quarter(self.quarter)}"


Overrides = Mapping[str, Any] | Iterable[str] | Iterable[Setting]


def settings_of(overrides: Overrides | None) -> list[Setting]:
    """Overrides as `Setting`s, each key and date parsed here, once: a dict of dotted keys
    (with an optional '@QUARTER') to values, `KEY=VALUE@QUARTER` text as typed after `--set`
    (values parsed as TOML, else taken as strings), or settings already read."""
    kinds = ("a dict of dotted keys (KEY or KEY@QUARTER) to values, a KEY=VALUE "
             "text as typed after --set, or a list of such texts")
    if isinstance(overrides, Mapping):
        strange = [key for key in overrides if not isinstance(key, str)]
        if strange:
            raise UserError(f"overrides: the key {strange[0]!r} is not a dotted key text. "
                            f"Allowed: {kinds}.")
    elif overrides is not None and (isinstance(overrides, bytes) or
                                    not isinstance(overrides, str | Iterable)):
        raise UserError(f"overrides: {type(overrides).__name__} is not overrides. Allowed: "
                        f"{kinds}.")
    if not overrides:
        return []
    if isinstance(overrides, Mapping):
        read = [_dated(key, value, f"--set {key}={_as_text(value)}", key)
                for key, value in overrides.items()]
        return [_setting(name, value, quarter, False) for name, value, quarter in read]
    if isinstance(overrides, str):  # one text is one setting, not its characters
        overrides = [overrides]
    items = list(overrides)
    if all(isinstance(item, Setting) for item in items):
        return items
    strange = [item for item in items if not isinstance(item, str)]
    if strange:
        raise UserError(f"overrides: {strange[0]!r} is not a KEY=VALUE text. Allowed: "
                        f"{kinds}.")
    if len(items) > MAX_SETTINGS:
        raise InputError("--set", f"is given {len(items):,} times.",
                         allowed=f"at most {MAX_SETTINGS:,} --set options; a scenario file "
                         "holds more.")
    read = [_setting(name, value, quarter, True, text)
            for name, value, quarter, text in _read_assignments(items)]
    clash = overlapping(read)
    if clash is not None:
        first, second = clash
        raise InputError(second.label, f"sets what `{first.label}` sets too, to another "
                         "value: which one holds would depend on their order.",
                         allowed="one value for each parameter and date (give members.*.KEY "
                         "and members.CODE.KEY for different members, or one of them).")
    return read


def settings_of_sets(parameter_sets: Iterable[Mapping[str, Any]]
                     ) -> list[tuple[Setting, ...] | Mapping[str, Any]]:
    """Parameter sets (dicts of dotted keys, with an optional '@QUARTER', to values) as
    settings, each distinct key and date parsed once for all the sets. A set with a key that
    does not parse stays a dict, to be refused where it is applied. A set given again (the same
    object, as for every seed of one parameter set) is read once and is the same object in the
    output, so a batch pickles it once and builds its scenario once."""
    read: dict[str, Setting] = {}
    out: list[tuple[Setting, ...] | Mapping[str, Any]] = []
    done: dict[int, tuple[Mapping[str, Any], tuple[Setting, ...] | Mapping[str, Any]]] = {}
    for values in parameter_sets:
        if id(values) in done:  # the set is held in `done`, so its id is not reused
            out.append(done[id(values)][1])
            continue
        try:
            row = []
            for text, value in values.items():
                if text not in read:
                    read[text] = settings_of({text: value})[0]
                row.append(dataclasses.replace(read[text], value=value))
            settings: tuple[Setting, ...] | Mapping[str, Any] = tuple(row)
        except InputError:
            settings = values
        done[id(values)] = (values, settings)
        out.append(settings)
    return out


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """'KEY=VALUE' strings to a dict; values parsed as TOML where they parse, else strings. A
    key with a date is written 'KEY@YYYYQn'."""
    return {name if quarter is None else f"{name}@{format_quarter(quarter)}": value
            for name, value, quarter, _ in _read_assignments(assignments)}


def _read_assignments(assignments: Iterable[str]
                      ) -> list[tuple[str, Any, int | None, str]]:
    """(key, typed value, quarter or None, the text) of each 'KEY=VALUE[@QUARTER]' string; the
    same key and quarter twice must have one value."""
    parsed: dict[tuple[str, int | None], Any] = {}
    texts: dict[tuple[str, int | None], str] = {}
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
        try:
            typed = parse_value_text(value.strip())
        except InputError as exc:
            raise InputError("--set", exc.problem, key=_shortened(key), value=exc.value,
                             allowed=exc.allowed) from None
        name, _, quarter = _dated(key, typed, "--set", item)
        if (name, quarter) in parsed and parsed[name, quarter] != typed:
            written = name if quarter is None else f"{name}@{format_quarter(quarter)}"
            raise InputError("--set", "is given twice with different values.", key=written,
                             value=typed, allowed=f"one value for each key (the first was "
                             f"{parsed[name, quarter]!r}).")
        parsed[name, quarter] = typed
        texts.setdefault((name, quarter), _shortened(item.strip()))
    return [(name, value, quarter, texts[name, quarter])
            for (name, quarter), value in parsed.items()]


def _dated(key: str, value: Any, label: str, shown: str) -> tuple[str, Any, int | None]:
    """(key, value, quarter) of 'KEY@QUARTER' (quarter None without '@'); an `InputError`
    naming `label` and `shown` for a date that is neither a quarter nor a year."""
    if "@" not in key:
        return key, value, None
    name, _, date = key.rpartition("@")
    try:
        return name.strip(), value, parse_date(date)
    except ValueError:
        raise InputError(label, "has a date that is neither a quarter nor a year.", key=shown,
                         allowed=DATED_FORMS) from None


def _setting(name: str, value: Any, quarter: int | None, typed_as_text: bool,
             text: str | None = None) -> Setting:
    if quarter is None:
        label = f"--set {text}" if text is not None else f"--set {name}={_as_text(value)}"
        return Setting(Key.parse(name, label), value, None, typed_as_text, text)
    label = f"--set {text}" if text is not None else \
        f"--set {name}={_as_text(value)}@{format_quarter(quarter)}"
    try:
        key = Key.parse(name, label)
    except InputError as exc:
        raise InputError(label, exc.problem, key=f"{name}@{format_quarter(quarter)}",
                         allowed=exc.allowed) from None
    return Setting(key, value, quarter, typed_as_text, text)


def parse_value_text(value: str) -> Any:
    """A value typed on the command line: TOML if it parses ('0.5', 'true', '["A"]'), else text.
    A value of thousands of digits, or nested past the files' limit, is refused."""
    try:
        parsed = parse_toml(f"v = {value}", "--set")
    except InputError as exc:
        if "not valid TOML" in exc.problem:
            return value
        raise InputError("--set", exc.problem, value=_shortened(value),
                         allowed=exc.allowed) from None
    return parsed["v"]


def _shortened(text: str, most: int = 60) -> str:
    return text if len(text) <= most else f"{text[:most]}... ({len(text):,} characters)"


def _dated_forms() -> dict[str, tuple[str, str]]:
    """Member fields with a dated form, derived from the declarations: X, whose value a
    scenario may date to `X_until`, after which `X_after` holds."""
    names = DECLARED[MemberParams]
    return {name: (f"{name}_until", f"{name}_after") for name in names
            if f"{name}_until" in names and f"{name}_after" in names}


DATED_FORMS = _dated_forms()  # {"budget_trend": ("budget_trend_until", "budget_trend_after")}


def reaching_dated_forms(scenario: Scenario, settings: list[Setting]) -> list[Setting]:
    """`settings`, each of a field with a dated form (`budget_trend`) extended to that form
    (`budget_trend_after`) of every member it names whose value a scenario dates
    (`budget_trend_until` set): a key holds from its quarter, or the start, to the horizon,
    for every member it names. A dated form the settings give themselves, for that member and
    quarter, is kept."""
    given = {(s.key.member, s.key.field, s.quarter) for s in settings
             if s.key.section == "members"}
    extra = []
    for setting in settings:
        key = setting.key
        if key.section != "members" or key.field not in DATED_FORMS:
            continue
        until, after = DATED_FORMS[key.field]
        for _, code, _ in key.paths(scenario.codes, setting.label):
            member = scenario.members[scenario.codes.index(code)]
            if getattr(member, until) and not given & {(code, after, setting.quarter),
                                                       ("*", after, setting.quarter)}:
                extra.append(Setting(Key.of_member(code, after), setting.value,
                                     setting.quarter, setting.typed_as_text))
    return [*settings, *extra] if extra else settings


def reach(scenario: Scenario, key: Key, since: str | None = None) -> str:
    """What a key set from the start (or from quarter `since`, 'YYYYQn') reaches in
    `scenario`, in words: its members and the dated forms it sets with it."""
    if key.section != "members":
        return key.text
    codes = [code for _, code, _ in key.paths(scenario.codes)]
    who = (f"every member ({', '.join(codes)})" if key.member == "*" else codes[0])
    dated = []
    if key.field in DATED_FORMS:
        until, after = DATED_FORMS[key.field]
        dated = [f"{m.code}'s {after} (its {key.field} dated to {getattr(m, until)})"
                 for m in scenario.members if m.code in codes and getattr(m, until)]
    span = "for the whole run" if since is None else f"from {since} to the horizon"
    return (f"{key.field} of {who}, {span}"
            + (f", with {', '.join(dated)}" if dated else ""))


def overlapping(settings: Iterable[Setting]) -> tuple[Setting, Setting] | None:
    """Two settings of one parameter at one date with different values (`members.*.x` and
    `members.MEX.x` included): which one holds would depend on their order. None if there are
    none."""
    seen: dict[tuple[str, str, int | None], list[Setting]] = {}
    for setting in settings:
        key = setting.key
        for earlier in seen.get((key.section, key.field, setting.quarter), []):
            same = earlier.key.member == key.member or "*" in (earlier.key.member, key.member)
            if same and earlier.value != setting.value:
                return earlier, setting
        seen.setdefault((key.section, key.field, setting.quarter), []).append(setting)
    return None


def split_dated(key: str) -> tuple[str, str | None]:
    """'group.secretariat@2027' -> ('group.secretariat', '2027Q1'); a key without a date ->
    (key, None). ValueError if what follows '@' is not a quarter or a year."""
    if "@" not in key:
        return key, None
    name, _, date = key.rpartition("@")
    return name.strip(), format_quarter(parse_date(date))


def _as_text(value: Any) -> str:
    return format_value(value) if not isinstance(value, str) else value


def check_key_value(key: Key, value: Any, source: str = "--set") -> Any:
    """`value` in the key's declared type, within its range: a true/false key takes only a
    TOML boolean. An `InputError` naming `source` otherwise."""
    try:
        return check_value(value, key.kind, key.spec, whole_floats=True)
    except Refused as refused:
        raise InputError(source, refused.problem, key=key.text, value=refused.value,
                         allowed=key.spec.allowed(key.kind)) from None


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


# Keys read when a member joins (at the start for a founder): a change dated on or after a
# member's joining quarter does nothing for it, by field, and why
READ_AT_JOINING = {
    "initial_engagement": "it is a member's engagement on joining, read once, when it joins",
}


def undated_reason(key: Key) -> str | None:
    """Why `key` cannot change during a run, or None if it can."""
    if key.section == "scenario":
        return "the run's start and horizon are fixed before it starts"
    return UNDATED.get(key.field)


def datable_keys(scenario: Scenario) -> list[str]:
    """Every key of `all_keys` that a change at a date may set: a key read when a member joins
    only where a member it names joins after the start."""
    later = {m.code for m in scenario.members if m.joins and m.joins != scenario.start}

    def datable(text: str) -> bool:
        key = Key.parse(text)
        if key.field in READ_AT_JOINING:
            return bool(later) if key.member == "*" else key.member in later
        return undated_reason(key) is None

    return [k for k in all_keys(scenario) if datable(k)]


