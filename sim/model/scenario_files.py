"""Scenario files: finding one by name or path, `extends`, overrides from the start and at a
date, and writing a resolved scenario back as TOML.

Scenarios are TOML data: they are parsed, never executed. A bad value raises `InputError` naming
the file (and line), the dotted key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from sim.errors import InputError, UserError, typed_argument
from sim.model.files import Origin, read_toml
from sim.model.keys import Overrides, Setting, reaching_dated_forms, settings_of
from sim.model.params import SCENARIO_KEYS, Key, Scenario, Spec
from sim.model.quarters import parse_quarter
from sim.model.scenario_checks import (
    build_scenario,
    check_consistency,
    in_date_order,
    setting_change,
)

YEARS = Key.parse("years")


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
    if not local.is_file() and ref not in builtin_names():  # never a path from elsewhere
        raise unknown(f"a scenario file relative to {Path(relative_to)} (the folder of the "
                      f"file that names it), or a built-in scenario: "
                      f"{', '.join(builtin_names())}.")
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


def load_scenario(
    name_or_path: str | Path,
    overrides: Overrides | None = None,
    years: int | None = None,
) -> Scenario:
    """Load, override and validate a scenario by built-in name or file path.

    `overrides` maps dotted keys to typed values, or is a list of 'KEY=VALUE' strings as typed
    after `--set` (values parsed as TOML, else taken as strings; only there do 'yes', 'on' and
    '1' count as true), or `Setting`s already read (sim.model.keys). A key or text with
    '@QUARTER' is a change at that date.
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
    overrides: Overrides | None = None,
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
    origin = Origin(source, text, whole_file=not recorded, inherited_events=inherited_events)
    settings = settings_of(overrides)
    apply_overrides(raw, settings, origin)
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
    return build_scenario(raw, origin, [s for s in settings if s.quarter is not None])


def apply_overrides(raw: dict, settings: list[Setting], origin: Origin) -> None:
    """Write the settings from the start into a raw scenario dict, and note in `origin` which
    option set each key path; the settings at a date become changes when it is built."""
    for setting in settings:
        if setting.quarter is not None:
            continue
        for path in setting.key.paths(raw.get("members", {}), setting.label):
            table = raw
            for part in path[:-1]:
                table = table.setdefault(part, {})
            table[path[-1]] = setting.value
            _note(origin, path, setting.label, setting.typed_as_text)


def _note(origin: Origin, path: tuple[str, ...], label: str, typed_as_text: bool) -> None:
    dotted = ".".join(path)
    origin.overridden[dotted] = label
    if typed_as_text:
        origin.typed_as_text.add(dotted)
    else:
        origin.typed_as_text.discard(dotted)


def with_overrides(
    scenario: Scenario,
    overrides: Overrides | None = None,
    years: int | None = None,
) -> Scenario:
    """A copy of a resolved scenario with dotted-key overrides and horizon.

    Only what changes is checked again: each overridden value against its key's type and range,
    then the rules that tie fields together. A key of the [scenario] table other than `years`
    (the start, say) moves every date, so it resolves the whole scenario again.
    """
    if isinstance(scenario, str | os.PathLike):  # a built-in name or a file, as on the CLI
        scenario = load_scenario(scenario)
    typed_argument(scenario, Scenario, "with_overrides", "scenario",
                   "a Scenario (sim.load_scenario), a built-in scenario name or a path")
    settings = reaching_dated_forms(scenario, settings_of(overrides))
    if not settings and years is None:
        return scenario
    base = _with_values(scenario, [s for s in settings if s.quarter is None], years)
    dated = [s for s in settings if s.quarter is not None]
    if not dated:  # the values from the start, then the changes at a date
        return base
    new = [setting_change(base, setting) for setting in dated]
    return dataclasses.replace(base, changes=in_date_order((*base.changes, *new)))


def _with_values(scenario: Scenario, settings: list[Setting], years: int | None) -> Scenario:
    """`with_overrides` of values from the start (no key with a date)."""
    if not settings and years is None:
        return scenario
    if any((s.key.section == "scenario" and s.key.field != "years") or s.key.field == "code"
           for s in settings):
        return resolve(scenario_as_dict(scenario), source=scenario.source, overrides=settings,
                       years=years, recorded=True)
    origin = Origin(scenario.source, "", whole_file=False)
    if years is not None:
        settings = [*settings, Setting(YEARS, years)]
    changes: dict[tuple[str, ...], Setting] = {}  # a later key wins, as in a file
    for setting in settings:
        label = "--years" if setting.key.text == "years" and years is not None else \
            setting.label
        for path in setting.key.paths(scenario.codes, label):
            _note(origin, path, label, setting.typed_as_text)
            changes[path] = setting
    checked: dict[str, dict[str, Any]] = {}
    for path, setting in changes.items():
        key = setting.key
        table = path[1] if key.section == "members" else key.section
        checked.setdefault(table, {})[key.field] = origin.check(path, key.kind, key.spec,
                                                                setting.value)
    changed = dataclasses.replace(
        scenario,
        years=checked.get("scenario", {}).get("years", scenario.years),
        group=dataclasses.replace(scenario.group, **checked.get("group", {})),
        world=dataclasses.replace(scenario.world, **checked.get("world", {})),
        mechanisms=dataclasses.replace(scenario.mechanisms, **checked.get("mechanisms", {})),
        members=tuple(dataclasses.replace(m, **checked[m.code]) if m.code in checked else m
                      for m in scenario.members))
    check_consistency(changed, origin)
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
    origin = Origin(str(path), text)
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


def _without_events(events: list, dropped: Any, origin: Origin) -> list:
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
