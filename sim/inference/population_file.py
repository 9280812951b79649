"""Population files: groups of states founded with drawn conditions, and the published figures
their life table is held to (seeds/population/README.md, "The population file").

A population file names a base scenario, strata (one per reference class, each with fixed keys
and draws of its own), draws of founding conditions common to every stratum, how runs are read,
and targets that compare one simulated statistic with one figure of
`seeds/population/figures.csv`. Every key, distribution and target is checked here, once; an
error names the file, line, key, value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.experiments.design import ENGINES
from sim.inference.population_targets import TARGET_KEYS, Reading, Target, read_target
from sim.model.files import (
    Section,
    check_count,
    check_fits,
    check_value,
    dotted_keys,
    find_line,
    read_toml,
)
from sim.model.keys import check_key_value
from sim.model.params import (
    DECLARED,
    MAX_MEMBERS,
    MIN_MEMBERS,
    Key,
    MemberParams,
    Scenario,
    Spec,
)
from sim.model.scenario_files import load_named_scenario, scenario_as_dict, with_overrides

FIGURES_FOLDER = Path(__file__).resolve().parents[2] / "seeds" / "population"
SECTIONS = ("population", "member_template", "strata", "draws", "reading", "targets")
POPULATION_KEYS = {
    "name": "name of the population and of its results folder",
    "description": "what the population represents",
    "scenario": "built-in scenario name or path: every key neither fixed nor drawn keeps its value",
    "years": "horizon of every group, years (1 to 200)",
    "groups": "groups drawn, split over the strata by their shares",
    "replicates": "runs per drawn group",
    "seed": "population seed: the draws and every run's seed derive from it",
    "engine": "fast | mesa",
    "chunk_size": "runs per chunk written to disk; 0 = automatic",
    "figures": "folder of figures.csv and definitions.toml, relative to this file "
               "(default: the repository's seeds/population)",
}
DISTRIBUTIONS = {  # distribution: (its fields, the kinds of key it can draw)
    "choice": (("values", "weights"), (bool, int, float)),
    "uniform": (("min", "max"), (float,)),
    "uniform_int": (("min", "max"), (int,)),
    "normal": (("mean", "sd", "min", "max"), (float,)),
    "bernoulli": (("p",), (bool,)),
}
PER = ("group", "member")
MEMBERS_KEY = "members"  # the number of founding members
MEMBERS_SPEC = Spec("number of founding members", "members", MIN_MEMBERS, MAX_MEMBERS)
MEMBER_TEMPLATE_FIXED = ("code", "name", "color", "joins", "first_election",
                         "first_election_changed", "budget_trend_until")


@dataclass(frozen=True)
class Draw:
    """How one key's values are drawn: per group or per member, from a distribution whose
    every value lies in the key's declared range."""

    key: str  # "members" or a dotted key: group.*, world.*, members.*.*
    kind: type
    per: str
    distribution: str
    values: tuple = ()
    weights: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    p: float | None = None

    @property
    def parsed(self) -> Key | None:
        return None if self.key == MEMBERS_KEY else Key.parse(self.key)

    def resolved(self) -> dict[str, Any]:
        fields = {"values": list(self.values), "weights": list(self.weights), "min": self.low,
                  "max": self.high, "mean": self.mean, "sd": self.sd, "p": self.p}
        return {"per": self.per, "distribution": self.distribution,
                **{k: v for k, v in fields.items() if v not in (None, [])}}


@dataclass(frozen=True)
class Stratum:
    """A reference class's share of the groups, its fixed keys and its draws."""

    name: str
    share: float
    reference_class: str
    base: Scenario  # the population's scenario with this stratum's group and world keys fixed
    template: MemberParams  # every drawn member before its draws
    fixed: dict[str, Any]
    draws: tuple[Draw, ...]  # the common draws with this stratum's own in their place


@dataclass(frozen=True)
class Population:
    """A validated population file."""

    name: str
    description: str
    scenario_ref: str
    years: int
    groups: int
    replicates: int
    seed: int
    engine: str
    chunk_size: int
    code_prefix: str
    strata: tuple[Stratum, ...]
    targets: tuple[Target, ...]
    figures: pd.DataFrame
    classes: dict[str, Any]
    source: str = ""

    @property
    def readings(self) -> tuple[Reading, ...]:
        """The scenario's own reading first, then each other reading a target asks for."""
        found = [Reading()]
        for target in self.targets:
            if target.reading not in found:
                found.append(target.reading)
        return tuple(found)

    def stratum(self, name: str) -> Stratum:
        return next(s for s in self.strata if s.name == name)

    def resolved(self) -> dict[str, Any]:
        """The population as plain data (for the manifest and the hash)."""
        return {
            "name": self.name, "description": self.description, "scenario": self.scenario_ref,
            "years": self.years, "groups": self.groups, "replicates": self.replicates,
            "seed": self.seed, "engine": self.engine, "code_prefix": self.code_prefix,
            "strata": [{"name": s.name, "share": s.share, "reference_class": s.reference_class,
                        "fixed": s.fixed, "template": dataclasses.asdict(s.template),
                        "base": scenario_as_dict(s.base),
                        "draws": {d.key: d.resolved() for d in s.draws}} for s in self.strata],
            "readings": [r.label for r in self.readings],
        }


# ------------------------------------------------------------------------------ loading

GROUP_BYTES = 1_000  # memory a group takes while drawn, run and read back


def load_population(path: str | Path, groups: int | None = None) -> Population:
    """Read and validate a population file; `groups` replaces the file's count."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such population file.")
    raw, text = read_toml(path)
    top = Section(str(path), text, raw, (), None, label="population file", line_finder=find_line)
    for name in raw:
        if name not in SECTIONS:
            raise top.error(name, "is not a known section.",
                            allowed=", ".join(f"[{s}]" for s in SECTIONS) + ".")
    if not isinstance(raw.get("population"), Mapping):
        raise top.error(None, "has no [population] table.",
                        allowed="a [population] table with name, scenario, years, groups, seed.")
    head = top.section("population", POPULATION_KEYS)
    settings = _settings(head, path.stem, groups)
    figures, classes = _figures(head)
    base = load_named_scenario(settings["scenario_ref"], top.folder, lambda why: head.error(
        "scenario", "names no scenario.", settings["scenario_ref"], why), years=settings["years"])
    _check_base(base, head)
    prefix, template = _template(top)
    common = _draws(top.section("draws", None, default={}), base)
    strata = _strata(top, base, template, common, classes)
    targets = tuple(read_target(t, [s.name for s in strata], figures, settings["years"])
                    for t in top.sections("targets", TARGET_KEYS))
    reading = top.section("reading", ("age_unit", "state_in_year"), default={})
    reading.get("age_unit", str, "year", lambda v: v == "year", '"year".')
    reading.get("state_in_year", str, "last_quarter", lambda v: v == "last_quarter",
                '"last_quarter" (a group-year\'s state is its last quarter\'s).')
    runs = settings["groups"] * settings["replicates"] * (1 + len({t.reading for t in targets}))
    check_fits("runs", runs, GROUP_BYTES + 4 * settings["years"],
               top.source if groups is None else "--groups",
               "population.groups" if groups is None else None, settings["groups"])
    return Population(**settings, code_prefix=prefix, strata=strata, targets=targets,
                      figures=figures, classes=classes, source=top.source)


def _settings(head: Section, stem: str, groups: int | None) -> dict[str, Any]:
    get = head.get
    settings = {
        "name": head.folder_name("name", stem),
        "description": get("description", str, ""),
        "scenario_ref": get("scenario", str, check=bool,
                            allowed="a built-in scenario name or a path."),
        "years": get("years", int, check=lambda v: 1 <= v <= 200,
                     allowed="a whole number of years, 1 to 200."),
        "groups": get("groups", int, check=lambda v: v >= 1,
                      allowed="a whole number of groups, at least 1."),
        "replicates": get("replicates", int, 1, lambda v: v >= 1,
                          "a whole number of runs per group, at least 1."),
        "seed": get("seed", int, 0, lambda v: 0 <= v < 2**63,
                    "a whole number from 0 to 2**63 - 1."),
        "engine": get("engine", str, "fast", lambda v: v in ENGINES, " | ".join(ENGINES) + "."),
        "chunk_size": get("chunk_size", int, 0, lambda v: v >= 0,
                          "a whole number, 0 = automatic."),
    }
    if groups is not None:
        settings["groups"] = check_count("--groups", groups, 1,
                                         "a whole number of groups, at least 1.")
    return settings


def _figures(head: Section) -> tuple[pd.DataFrame, dict[str, Any]]:
    """figures.csv and the reference classes of definitions.toml, from the folder named."""
    folder = head.folder / head.get("figures", str) if "figures" in head else FIGURES_FOLDER
    try:
        figures = pd.read_csv(folder / "figures.csv", dtype={"value": float}, keep_default_na=False,
                              na_values={"value": [""]})
        with open(folder / "definitions.toml", "rb") as handle:
            classes = tomllib.load(handle)["classes"]
        with open(folder / "sources.toml", "rb") as handle:
            sources = tomllib.load(handle)["sources"]
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise head.error("figures", f"names no readable figures folder ({exc}).", str(folder),
                         "a folder with figures.csv, definitions.toml and sources.toml "
                         "(seeds/population/README.md).") from None
    classes = {**classes, "citations": {key: _citation(entry) for key, entry in sources.items()}}
    return figures.set_index("id", drop=False), classes


def _citation(entry: Mapping) -> str:
    """'Debre & Dijkstra 2021' of a sources.toml entry: the authors' last names and the year."""
    authors = str(entry.get("authors", ""))
    if "(" in authors:  # a project, with its people in brackets
        names = authors.split("(")[0].strip()
    else:
        people = [p.strip() for p in authors.replace(" and ", ",").split(",") if p.strip()]
        last = [p.split()[-1] for p in people] or ["?"]
        names = " & ".join(last) if len(last) <= 2 else f"{last[0]} et al."
    return f"{names} {entry.get('year', '')}".strip()


def _check_base(base: Scenario, head: Section) -> None:
    """The base's members are replaced by drawn ones: nothing in it may name them."""
    named = [e for e in base.events if e.member] + [
        c for c in base.changes if c.parameter.section == "members"]
    if named:
        raise head.error("scenario", "has dated events or changes that name its members, "
                         "whom the drawn members replace.", head.raw["scenario"],
                         "a scenario whose events name no member (e.g. generic-5).")


def _template(top: Section) -> tuple[str, MemberParams]:
    """The member every drawn member starts from: the model's member defaults with the
    template's keys, and the prefix of the members' codes."""
    table = top.section("member_template", None, default={})
    prefix = table.get("code_prefix", str, "M", lambda v: v.isascii() and v.isalpha(),
                       "letters, e.g. \"M\": members are coded M1 ... M12.")
    values = {}
    for name, value in table.raw.items():
        if name == "code_prefix":
            continue
        if name not in DECLARED[MemberParams] or name in MEMBER_TEMPLATE_FIXED:
            allowed = [n for n, (kind, _) in DECLARED[MemberParams].items()
                       if n not in MEMBER_TEMPLATE_FIXED]
            raise table.error(name, "is not a member key a template can set.", value,
                              f"code_prefix or one of {', '.join(allowed)}.")
        key = Key.of_member("*", name)
        try:
            values[name] = check_key_value(key, value, top.source)
        except InputError as exc:
            raise table.error(name, exc.problem, value, exc.allowed) from None
    return prefix, MemberParams(**values)


def _strata(top: Section, base: Scenario, template: MemberParams, common: dict[str, Draw],
            classes: dict[str, Any]) -> tuple[Stratum, ...]:
    tables = top.sections("strata", ("name", "share", "reference_class", "fixed", "draws"))
    if not tables:
        raise top.error("strata", "must list at least one stratum.",
                        allowed="[[strata]] tables with name, share and reference_class.")
    strata, names = [], set()
    for table in tables:
        name = table.get("name", str, check=lambda v: v.isidentifier() and v not in names,
                         allowed="a name of letters, digits and _, one per stratum.")
        names.add(name)
        share = table.get("share", float, check=lambda v: 0 < v <= 1,
                          allowed="a number above 0 to 1: the stratum's share of the groups.")
        known = [c for c in classes if c != "citations"]
        reference = table.get("reference_class", str, check=lambda v, known=known: v in known,
                              allowed=", ".join(known) + " (definitions.toml).")
        fixed_table = table.section("fixed", None, default={})
        fixed = dotted_keys(fixed_table.raw, where=fixed_table)
        stratum_base, stratum_template = _fixed(fixed_table, fixed, base, template)
        own = _draws(table.section("draws", None, default={}), base)
        for key in fixed:
            if key in own or key in common:
                where = "this stratum's draws" if key in own else "[draws]"
                raise fixed_table.error(key, f"is both fixed and drawn (in {where}).",
                                        fixed[key], "each key fixed or drawn, not both.")
        draws = {**common, **own}
        if MEMBERS_KEY not in draws:
            raise table.error("draws", "draws no number of members for this stratum.",
                              allowed='[strata.draws.members] or [draws.members], e.g. '
                              'distribution = "uniform_int", min = 3, max = 12.')
        _check_min_members(table, stratum_base, draws[MEMBERS_KEY])
        strata.append(Stratum(name, share, reference, stratum_base, stratum_template, fixed,
                              tuple(draws.values())))
    total = sum(s.share for s in strata)
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise tables[-1].error("share", f"makes the strata's shares sum to {total:g}.",
                               strata[-1].share, "shares that sum to 1.")
    return tuple(strata)


def _fixed(table: Section, fixed: dict[str, Any], base: Scenario, template: MemberParams
           ) -> tuple[Scenario, MemberParams]:
    """The stratum's base scenario (group and world keys fixed) and member template
    (members.* keys fixed), every value checked against its key."""
    scenario_keys, member_values = {}, {}
    for key, value in fixed.items():
        parsed = _drawable(table, key, value)
        if parsed.section == "members":
            try:
                member_values[parsed.field] = check_key_value(parsed, value, table.source)
            except InputError as exc:
                raise table.error(key, exc.problem, value, exc.allowed) from None
        else:
            scenario_keys[key] = value
    try:
        stratum_base = with_overrides(base, scenario_keys)
    except InputError as exc:
        where = exc.key if exc.key in scenario_keys else next(iter(scenario_keys), None)
        raise table.error(where, exc.problem, exc.value, exc.allowed) from None
    return stratum_base, dataclasses.replace(template, **member_values)


def _drawable(table: Section, key: str, value: Any) -> Key:
    """The parsed key of a fixed or drawn value: group.*, world.* or members.*.*, numeric or
    true/false."""
    try:
        parsed = Key.parse(key, table.source)
    except InputError as exc:
        raise table.error(key, "is not a parameter key.", value, exc.allowed or "group.<key>, "
                          "world.<key> or members.*.<key>.") from None
    if parsed.section not in ("group", "world", "members") or parsed.kind not in (bool, int,
                                                                                    float):
        raise table.error(key, "cannot be fixed or drawn for a population.", value,
                          "numeric or true/false keys of group.*, world.* or members.*.*.")
    if parsed.section == "members" and parsed.member != "*":
        raise table.error(key, "names one member, but members are drawn.", value,
                          f"members.*.{parsed.field}: every drawn member (M1 ... M12).")
    if parsed.field in ("chair_order",) or parsed.field in MEMBER_TEMPLATE_FIXED:
        raise table.error(key, "cannot be fixed or drawn for a population.", value,
                          "numeric or true/false keys.")
    return parsed


def _check_min_members(table: Section, base: Scenario, members: Draw) -> None:
    fewest = min(members.values) if members.values else members.low
    if fewest < base.group.min_members:
        raise table.error("draws", f"can draw {fewest:g} members, fewer than "
                          f"group.min_members = {base.group.min_members}.", fewest,
                          "founding sizes of at least group.min_members.")


# ------------------------------------------------------------------------------ draws


def _draws(table: Section, base: Scenario) -> dict[str, Draw]:
    """Every draw of a [draws] table, by key."""
    raw = dotted_keys(table.raw, keep=lambda v: isinstance(v, Mapping) and "distribution" in v,
                      where=table)
    return {key: _draw(table, key, spec, base) for key, spec in raw.items()}


def _draw(table: Section, key: str, spec: Any, base: Scenario) -> Draw:
    error = functools.partial(table.error, key)
    if not isinstance(spec, Mapping):
        raise error("is not a draw.", spec, "a table with per and distribution, e.g. "
                    '{ per = "group", distribution = "uniform", min = 0.0, max = 1.0 }.')
    if key == MEMBERS_KEY:
        kind, spec_of_key = int, MEMBERS_SPEC
    else:
        parsed = _drawable(table, key, None)
        kind, spec_of_key = parsed.kind, parsed.spec
    inner = Section(table.source, table.text, spec, table.path + (key,),
                    ("per", "distribution", "values", "weights", "min", "max", "mean", "sd",
                     "p"), line_finder=find_line)
    per = inner.get("per", str, "group", lambda v: v in PER, '"group" or "member".')
    if per == "member" and (key == MEMBERS_KEY or not key.startswith("members.")):
        raise inner.error("per", "draws one value per member, but the key is the group's.",
                          per, '"group" for members, group.* and world.* keys.')
    name = inner.get("distribution", str, check=lambda v: v in DISTRIBUTIONS,
                     allowed=", ".join(DISTRIBUTIONS) + ".")
    fields, kinds = DISTRIBUTIONS[name]
    if kind not in kinds:
        fitting = [d for d, (_, k) in DISTRIBUTIONS.items() if kind in k]
        raise inner.error("distribution", f"cannot draw a key that takes {_noun(kind)}.",
                          name, ", ".join(fitting) + ".")
    for extra in set(inner.raw) - {"per", "distribution", *fields}:
        raise inner.error(extra, f"is not a field of a {name} draw.", inner.raw[extra],
                          f"per, distribution, {', '.join(fields)}.")
    check = functools.partial(_in_range, inner, kind, spec_of_key)
    if name == "choice":
        return _choice(inner, key, kind, per, check)
    if name == "bernoulli":
        p = inner.get("p", float, check=lambda v: 0 <= v <= 1, allowed="a probability, 0 to 1.")
        return Draw(key, kind, per, name, p=p)
    if name == "normal":
        return _normal(inner, key, kind, per, spec_of_key, check)
    low = check("min", inner.get("min", kind, allowed=f"{_noun(kind)} in the key's range."))
    high = check("max", inner.get("max", kind, allowed=f"{_noun(kind)} in the key's range."))
    if low > high:
        raise inner.error("max", f"is below min = {low:g}.", high, "max >= min.")
    return Draw(key, kind, per, name, low=low, high=high)


def _choice(inner: Section, key: str, kind: type, per: str, check) -> Draw:
    values = inner.get("values", list, check=bool, allowed="a non-empty list of values.")
    values = tuple(check("values", value) for value in values)
    if len(set(values)) < len(values):
        raise inner.error("values", "lists a value twice.", list(values), "each value once.")
    weights = inner.get("weights", list, [1] * len(values))
    if len(weights) != len(values) or not all(
            isinstance(w, int | float) and not isinstance(w, bool) and w >= 0
            and math.isfinite(w) for w in weights) or not sum(weights) > 0:
        raise inner.error("weights", f"must be {len(values)} numbers, 0 or more, not all 0.",
                          weights, "one weight per value (counts or shares).")
    return Draw(key, kind, per, "choice", values=values,
                weights=tuple(float(w) for w in weights))


def _normal(inner: Section, key: str, kind: type, per: str, spec_of_key: Spec, check) -> Draw:
    mean = inner.get("mean", float, allowed="a number.")
    sd = inner.get("sd", float, check=lambda v: v > 0, allowed="a number above 0.")
    low = check("min", inner.get("min", float, None)) if "min" in inner else None
    high = check("max", inner.get("max", float, None)) if "max" in inner else None
    for bound, given, end in (("min", low, spec_of_key.low), ("max", high, spec_of_key.high)):
        if given is None and end is not None:
            raise inner.error(bound, f"is missing: the key's values are bounded ({bound} "
                              f"{end:g}), a normal draw is not.", None,
                              spec_of_key.allowed(kind) + " Values outside are drawn again.")
    if low is not None and high is not None and low >= high:
        raise inner.error("max", f"is not above min = {low:g}.", high, "max > min.")
    return Draw(key, kind, per, "normal", low=low, high=high, mean=mean, sd=sd)


def _in_range(inner: Section, kind: type, spec: Spec, field_name: str, value: Any) -> Any:
    """A value a draw can give, in the key's type and declared range."""
    try:
        return check_value(value, kind, spec, whole_floats=kind is int)
    except Exception as exc:
        problem = getattr(exc, "problem", "is not allowed.")
        raise inner.error(field_name, f"{problem.rstrip('.')} for the key drawn.", value,
                          spec.allowed(kind)) from None


def _noun(kind: type) -> str:
    return {bool: "true or false", int: "whole numbers", float: "numbers"}[kind]
