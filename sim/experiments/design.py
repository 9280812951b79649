"""Experiments: what to vary, over which design, with which seeds — as data, before any run.

An experiment file names a base scenario, the factors (dotted `--set` keys) with listed values or
ranges, a design (grid, one-at-a-time, Latin hypercube, Sobol), replicates and a seed. This module
validates it, expands it into design points and runs, and derives each run's seed from the
experiment seed and (point, replicate) alone, so results do not depend on how runs are executed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError, path_argument
from sim.experiments.posterior import (
    POSTERIOR_FILE,
    SET_COLUMN,
    PosteriorSets,
    draw_sets,
    scenario_of,
)
from sim.model.files import (
    Section,
    check_count,
    check_fits,
    dotted_keys,
    find_line,
    read_toml,
)
from sim.model.keys import check_key_value, split_dated
from sim.model.params import Key, Scenario
from sim.model.quarters import quarter_within, quarters_within
from sim.model.scenario_files import load_named_scenario, scenario_as_dict, with_overrides

DESIGNS = ("grid", "oat", "lhs", "sobol")
ENGINES = ("mesa", "fast")
EXPERIMENT_KEYS = {
    "name": "name of the experiment and of its results folder",
    "description": "what the experiment asks",
    "scenario": "built-in scenario name or path (relative to the experiment file)",
    "years": "horizon of every run, years",
    "replicates": "runs (seeds) per design point",
    "seed": "experiment seed; every run's seed derives from it",
    "design": "grid | oat | lhs | sobol",
    "samples": "base samples, for lhs and sobol",
    "common_random_numbers": "replicate r has the same seed at every design point",
    "engine": "mesa | fast",
    "chunk_size": "runs per chunk written to disk; 0 = automatic",
}
SECTIONS = ("experiment", "factors", "fixed", "report")
OAT_DEFAULT_STEPS = 2


@dataclass(frozen=True)
class Factor:
    """A varied parameter: listed values, or a range [low, high] (with `steps` for grid/oat)."""

    key: str
    kind: type
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    steps: int | None = None
    step: int = 1  # an integer range's values are multiples of this (3: whole quarters of months)

    @property
    def is_range(self) -> bool:
        return self.values is None

    def levels(self, default_steps: int | None = None) -> list:
        """Values on a grid: the listed ones, or `steps` evenly spaced over the range."""
        if self.values is not None:
            return list(self.values)
        steps = self.steps or default_steps
        return [self.cast(v) for v in np.linspace(self.low, self.high, steps)]

    def cast(self, value: float):
        """A sampled number in the parameter's own type (whole numbers for integer keys)."""
        if self.kind is int:
            return self.step * round(float(value) / self.step)
        if self.kind is bool:
            return bool(value)
        return float(value)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment, with its base scenario resolved."""

    name: str
    description: str
    scenario_ref: str
    base: Scenario
    years: int
    replicates: int
    seed: int
    design: str
    samples: int
    common_random_numbers: bool
    engine: str
    chunk_size: int
    factors: tuple[Factor, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    posterior: PosteriorSets | None = None  # parameter sets of the replicates (--posterior)

    @property
    def factor_keys(self) -> list[str]:
        return [f.key for f in self.factors]

    def resolved(self) -> dict[str, Any]:
        """The experiment as plain data (for the manifest and the hash)."""
        return {
            "name": self.name, "description": self.description, "scenario": self.scenario_ref,
            "years": self.years, "replicates": self.replicates, "seed": self.seed,
            "design": self.design, "samples": self.samples,
            "common_random_numbers": self.common_random_numbers, "engine": self.engine,
            "factors": {f.key: ({"values": list(f.values)} if f.values is not None else
                                {"min": f.low, "max": f.high, "steps": f.steps})
                        for f in self.factors},
            "fixed": self.fixed, "report": self.report,
            **({"posterior": self.posterior.resolved()} if self.posterior is not None else {}),
        }


# ------------------------------------------------------------------------------ loading

RUN_BYTES = 400  # memory a run takes in the run table and when its summaries are read back


def load_experiment(path: str | Path, replicates: int | None = None,
                    engine: str | None = None) -> Experiment:
    """Read and validate an experiment file; every error names file, line, key and value."""
    path = path_argument(path, "load_experiment", "path")
    if not path.is_file():
        raise InputError(str(path), "no such experiment file.")
    raw, text = read_toml(path)
    top = Section(str(path), text, raw, (), None, label="experiment file", line_finder=find_line)
    for section in raw:
        if section not in SECTIONS:
            raise top.error(section, "is not a known section.",
                            allowed=", ".join(f"[{s}]" for s in SECTIONS) + ".")
    if not isinstance(raw.get("experiment"), Mapping):
        raise top.error(None, "has no [experiment] table.",
                        allowed="an [experiment] table with name, scenario, replicates, ...")
    head = top.section("experiment", EXPERIMENT_KEYS)
    settings = _settings(head, path.stem, replicates, engine)
    if "fixed" in raw and not isinstance(raw["fixed"], Mapping):
        raise top.error("fixed", "must be a table.",
                        allowed='a [fixed] table of "dotted.key" = value.')
    scenario_ref = settings["scenario_ref"]
    base = load_named_scenario(scenario_ref, top.folder, lambda why: head.error(
        "scenario", "names no scenario.", scenario_ref, why), years=settings["years"])
    fixed = dotted_keys(raw.get("fixed", {}), where=top.section("fixed", None, default={}))
    _no_horizon_in(fixed, top.section("fixed", None, default={}))
    if fixed:
        base = _apply(base, fixed, top.section("fixed", None, default={}))
    factors = read_factors(top, base)
    _one_meaning_per_key(factors, fixed, base, top)
    _check_design(settings["design"], factors, settings["samples"], top)
    points = point_count(settings["design"], factors, settings["samples"])
    reps = settings["replicates"]
    check_fits("runs", points * reps, RUN_BYTES + 16 * len(factors),
               top.source if replicates is None else "--replicates",
               "experiment.replicates" if replicates is None else None, reps)
    report = raw.get("report", {})
    if isinstance(report, Mapping):
        _check_report(top.section("report", None, default={}), base)
    return Experiment(**settings, base=base, factors=factors, fixed=fixed,
                      report=dict(report) if isinstance(report, Mapping) else {},
                      source=top.source)


def _settings(head: Section, stem: str, replicates: int | None, engine: str | None
              ) -> dict[str, Any]:
    """The [experiment] table's values, with --replicates and --engine over the file's."""
    get = head.get
    settings = {
        "name": head.folder_name("name", stem),
        "scenario_ref": get("scenario", str, check=bool,
                            allowed="a built-in scenario name or a path."),
        "years": get("years", int, check=lambda v: 1 <= v <= 200,
                     allowed="a whole number of years, 1 to 200."),
        "replicates": get("replicates", int, check=lambda v: v >= 1,
                          allowed="a whole number of runs, at least 1."),
        "seed": get("seed", int, 0, lambda v: 0 <= v < 2**63,
                    "a whole number from 0 to 2**63 - 1."),
        "design": get("design", str, "grid", lambda v: v in DESIGNS, " | ".join(DESIGNS) + "."),
        "samples": get("samples", int, 0, lambda v: v >= 0, "a whole number, 0 or more."),
        "common_random_numbers": get("common_random_numbers", bool, True, allowed=(
            f"true or false ({EXPERIMENT_KEYS['common_random_numbers']}).")),
        "engine": get("engine", str, "fast", lambda v: v in ENGINES, " | ".join(ENGINES) + "."),
        "chunk_size": get("chunk_size", int, 0, lambda v: v >= 0,
                          "a whole number, 0 = automatic."),
        "description": get("description", str, ""),
    }
    if replicates is not None:
        settings["replicates"] = check_count("--replicates", replicates, 1,
                                             "a whole number of runs, at least 1.")
    if engine is not None:
        if engine not in ENGINES:
            raise InputError("--engine", "is not an engine.", value=engine,
                             allowed=" | ".join(ENGINES) + ".")
        settings["engine"] = engine
    return settings


def _check_report(report: Section, base: Scenario) -> None:
    """The [report] table's `from`: a quarter after the start and before the horizon."""
    if "from" not in report:
        return
    try:
        quarter_within(report.raw["from"], base.start_quarter, base.quarters)
    except ValueError as exc:
        raise report.error("from", str(exc), report.raw["from"],
                           f"{quarters_within(base.start_quarter, base.quarters)}: shares, "
                           "survival and contrasts are measured again from its start.") from None


def with_posterior(experiment: Experiment, folder: str | Path, sets: int) -> Experiment:
    """The experiment with `sets` parameter sets drawn by weight from a calibration's folder:
    replicate r runs set r mod `sets` at every design point (sim.experiments.posterior), so
    more sets than replicates are refused: the sets past the replicates would never run."""
    if sets > experiment.replicates:
        raise InputError("--sets", f"asks for {sets:,} parameter sets, but replicate r runs set "
                         f"r mod --sets and experiment {experiment.name} has "
                         f"{experiment.replicates:,} replicates: the sets past "
                         f"{experiment.replicates:,} would never run.", value=sets,
                         allowed=f"at most the replicates, {experiment.replicates:,} (or more "
                         "--replicates).")
    drawn = draw_sets(folder, sets, experiment.seed, experiment.base)
    for i in range(len(drawn)):  # a point the model refuses is a failed run; a set, an error
        try:
            scenario_of(experiment.base, {}, drawn, i, experiment.fixed)
        except InputError as exc:
            raise InputError(str(Path(folder) / POSTERIOR_FILE), f"set {i} (row "
                             f"{drawn.drawn_rows[i]}) does not fit experiment "
                             f"{experiment.name}: {exc.problem}", allowed=exc.allowed) from None
    return dataclasses.replace(experiment, posterior=drawn)


def _no_horizon_in(fixed: dict[str, Any], table: Section) -> None:
    """Refuse the run's start or horizon in [fixed]: the experiment's `years` is the horizon
    its manifest and report state, and every factor's dates count from the start."""
    for key in fixed:
        name = key.split("@")[0]
        if name in ("years", "start", "scenario.years", "scenario.start"):
            raise table.error(key, "cannot be fixed: the experiment's [experiment] `years` "
                              "is the horizon of every run, and its scenario's start is "
                              "where every date counts from.", fixed[key],
                              allowed="`years` in [experiment]; another start in the "
                              "scenario file.")


def _apply(base: Scenario, overrides: dict, table: Section) -> Scenario:
    """Apply overrides, re-pointing errors at the line of the file's table that sets them."""
    try:
        return with_overrides(base, overrides)
    except InputError as exc:
        key = exc.key or ""
        where = next((k for k in overrides if key == k or key.startswith(k.split("*")[0])), key)
        raise table.error(where, exc.problem, exc.value, exc.allowed) from None


def read_factors(top: Section, base: Scenario) -> tuple[Factor, ...]:
    """The [factors] table: at least one factor, each checked against `base`."""
    raw = top.raw.get("factors", {})
    table = top.section("factors", None, default={}) if isinstance(raw, Mapping) else None
    specs = dotted_keys(raw, keep=lambda v: isinstance(v, Mapping) and (
        not v or set(v) <= {"min", "max", "steps"}), where=table)
    if not isinstance(specs, Mapping) or not specs or table is None:
        raise top.error("factors", "must list at least one factor.",
                        allowed='e.g. "group.secretariat" = [false, true] or '
                        '"members.*.budget_trend" = { min = -0.06, max = 0.0 }.')
    return tuple(read_factor(table, key, spec, base) for key, spec in specs.items())


def read_factor(table: Section, key: str, spec: Any, base: Scenario) -> Factor:
    """One factor (or prior) of `table`: a dotted key that can be varied in `base`, with listed
    values or a range { min, max, steps }."""
    error = functools.partial(table.error, key)
    try:
        name, _ = split_dated(key)
    except ValueError:
        raise error("has a date that is neither a quarter nor a year.", allowed='"KEY@2027Q1" '
                    "(or @2027, its first quarter): the value from that quarter on.") from None
    try:
        parsed = Key.parse(name, table.source)
        parsed.paths(base.codes, table.source)
    except InputError as exc:
        raise error("is not a parameter key.", allowed=exc.allowed or "a dotted --set key: "
                    "`minilat scenarios show NAME --keys` lists them.") from None
    kind = parsed.kind
    if key in ("years", "start") or kind not in (bool, int, float):
        raise error("cannot be varied.", allowed="numeric or true/false parameters; the "
                    "horizon is the experiment's `years`.")
    if isinstance(spec, list):
        return _listed(table, key, spec, parsed, base)
    if isinstance(spec, Mapping):
        return _ranged(table, key, spec, kind, base)
    raise error("is neither a list of values nor a range.", spec,
                "[v1, v2, ...] or { min = ..., max = ..., steps = ... }.")


def _listed(table: Section, key: str, spec: list, parsed: Key, base: Scenario) -> Factor:
    """A factor with listed values, each of the key's type and allowed in `base`."""
    error = functools.partial(table.error, key)
    if not spec:
        raise error("is an empty list.", spec, "one value or more.")
    values = []
    for value in spec:
        try:
            values.append(check_key_value(parsed, value, table.source))
        except InputError as exc:
            raise error(exc.problem, value, exc.allowed) from None
        _check_point(base, key, values[-1], error)
    if len(set(values)) < len(values):
        raise error("lists a value twice.", spec, "each value once: every design point "
                    "is run once per replicate.")
    return Factor(key, parsed.kind, values=tuple(values))


def _ranged(table: Section, key: str, spec: Mapping, kind: type, base: Scenario) -> Factor:
    """A factor with a range { min, max, steps }, both ends allowed in `base`."""
    error = functools.partial(table.error, key)
    unknown = set(spec) - {"min", "max", "steps"}
    if unknown:
        raise error(f"has unknown field {sorted(unknown)[0]!r}.", dict(spec),
                    "{ min = ..., max = ..., steps = ... }.")
    if kind is bool:
        raise error("is true/false: list its values.", dict(spec), "[false, true].")
    low, high = spec.get("min"), spec.get("max")
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise error("needs numbers min and max.", dict(spec),
                        "{ min = 0.0, max = 1.0 } (and steps for grid and oat).")
    if low > high:
        raise error(f"has min {low} greater than max {high}.", dict(spec), "min <= max.")
    steps = spec.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or steps < 1):
        raise error("has bad steps.", steps, "a whole number of levels, at least 1.")
    for bound in (low, high):
        _check_point(base, key, bound, error)
    whole = math.floor(high) - math.ceil(low) + 1
    if kind is int and steps is not None and steps > whole:
        raise error(f"has {steps} steps, more than the {whole} whole numbers from {low:g} "
                    f"to {high:g}: design points would repeat.", dict(spec),
                    f"at most {whole} steps, or list the values.")
    step = 3 if kind is int and key.endswith("_months") else 1  # windows are whole quarters
    if step > 1 and (low % step or high % step):
        raise error(f"has bounds that are not multiples of {step}.", dict(spec),
                    "months in whole quarters: min and max multiples of 3.")
    return Factor(key, kind, low=float(low), high=float(high), steps=steps, step=step)


def _one_meaning_per_key(factors: tuple[Factor, ...], fixed: dict[str, Any], base: Scenario,
                         top: Section) -> None:
    """Refuse a parameter set in two places (`members.*.x` and `members.MEX.x`, or fixed and
    varied): which would win is nowhere written down."""
    seen: dict[tuple[str, ...], tuple[str, str]] = {}
    for section, keys in (("fixed", list(fixed)), ("factors", [f.key for f in factors])):
        for key in keys:
            name, date = split_dated(key)
            for path in Key.parse(name, top.source).paths(base.codes, top.source):
                path = path + (f"@{date}",) if date else path
                if path in seen:
                    first = seen[path]
                    raise top.section(section, None, default={}).error(
                        key, f"sets {'.'.join(path)}, which [{first[0]}] `{first[1]}` sets too.",
                        allowed="each parameter in one place: one key, in [fixed] or in "
                        "[factors].")
                seen[path] = (section, key)


def _check_point(base: Scenario, key: str, value: Any, error) -> None:
    try:
        with_overrides(base, {key: value})
    except InputError as exc:
        raise error(exc.problem, value, exc.allowed) from None


def _check_design(design: str, factors: tuple[Factor, ...], samples: int, top: Section) -> None:
    """The design's needs: ranges and base samples (a power of 2 for Sobol), steps for a grid."""
    head = top.section("experiment", None)

    def error(problem: str, allowed: str) -> InputError:
        return head.error("design", problem, design, allowed)

    listed = [f.key for f in factors if not f.is_range]
    flat = [f.key for f in factors if f.is_range and f.low == f.high]
    if design in ("lhs", "sobol") and flat:
        raise top.section("factors", None).error(
            flat[0], f"has min = max for a {design} design: it varies nothing.",
            allowed="min < max, or the value in [fixed].")
    if design in ("lhs", "sobol"):
        if listed:
            raise error(f"needs ranges, but {listed[0]} lists values.",
                        f"every factor as {{ min = ..., max = ... }} for {design}; or use grid.")
        if samples < 1:
            raise head.error("samples", f"must be set for a {design} design.", samples,
                             "a whole number of base samples, at least 1.")
        if design == "sobol" and samples & (samples - 1):
            raise head.error("samples", "must be a power of 2 for a Sobol design.", samples,
                             f"e.g. {2 ** max(0, math.ceil(math.log2(samples)))}.")
    if design == "grid":
        unstepped = [f.key for f in factors if f.is_range and not f.steps]
        if unstepped:
            raise error(f"needs steps for the range of {unstepped[0]}.",
                        "{ min = ..., max = ..., steps = N } for each range, or lhs/sobol.")


# ------------------------------------------------------------------------------ designs


def point_count(design: str, factors: tuple[Factor, ...], samples: int) -> int:
    """How many design points a design has, without building them."""
    def levels(f: Factor, default: int) -> int:
        return len(f.values) if f.values is not None else (f.steps or default)

    if design == "grid":
        return math.prod(levels(f, 1) for f in factors)
    if design == "oat":
        return 1 + sum(levels(f, OAT_DEFAULT_STEPS) for f in factors)
    if design == "lhs":
        return samples
    return samples * (len(factors) + 2)


def experiment_runs(experiment: Experiment) -> int:
    """How many runs an experiment has."""
    return point_count(experiment.design, experiment.factors, experiment.samples) * \
        experiment.replicates


def design_points(experiment: Experiment) -> pd.DataFrame:
    """One row per design point (point_id from 0), one column per factor, in design order."""
    factors = experiment.factors
    keys = [f.key for f in factors]
    if experiment.design == "grid":
        rows = list(itertools.product(*(f.levels() for f in factors)))
    elif experiment.design == "oat":
        # the base scenario's value of each factor (for members.*, the first member's)
        base = [Key.parse(split_dated(f.key)[0]).values_in(experiment.base)[0]
                for f in factors]
        rows = [tuple(base)]
        for i, f in enumerate(factors):
            for level in f.levels(OAT_DEFAULT_STEPS):
                if level != base[i]:
                    rows.append(tuple(base[:i] + [level] + base[i + 1:]))
    else:
        from SALib.sample import latin
        from SALib.sample import sobol as saltelli

        problem = salib_problem(experiment)
        if experiment.design == "lhs":
            matrix = latin.sample(problem, experiment.samples, seed=experiment.seed % 2**32)
        else:
            matrix = saltelli.sample(problem, experiment.samples, calc_second_order=False,
                                     scramble=True, seed=experiment.seed % 2**32)
        rows = [tuple(f.cast(v) for f, v in zip(factors, row, strict=True)) for row in matrix]
    frame = pd.DataFrame(rows, columns=keys)
    for f in factors:
        frame[f.key] = frame[f.key].astype({bool: "bool", int: "int64", float: "float64"}[f.kind])
    frame.insert(0, "point_id", np.arange(len(frame), dtype=np.int64))
    return frame


def salib_problem(experiment: Experiment) -> dict:
    """The SALib problem definition of an experiment's ranged factors."""
    return {"num_vars": len(experiment.factors),
            "names": [f.key for f in experiment.factors],
            "bounds": [[f.low, f.high] for f in experiment.factors]}


# ------------------------------------------------------------------------------ runs and seeds


def run_seed(experiment_seed: int, point_id: int, replicate: int, common: bool) -> int:
    """Seed of one run, from the experiment seed and (point, replicate) only.

    With common random numbers the seed ignores the point: replicate r meets the same shocks at
    every design point.
    """
    key = (0, replicate) if common else (1, point_id, replicate)
    state = np.random.SeedSequence(experiment_seed, spawn_key=key).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


def run_table(experiment: Experiment, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every run: run_id, point_id, replicate, seed and the factor values, in run_id order."""
    points = design_points(experiment) if points is None else points
    reps = experiment.replicates
    runs = points.loc[points.index.repeat(reps)].reset_index(drop=True)
    runs.insert(0, "replicate", np.tile(np.arange(reps, dtype=np.int64), len(points)))
    runs.insert(0, "run_id", np.arange(len(runs), dtype=np.int64))
    if experiment.common_random_numbers:  # the seed depends on the replicate only
        seeds = np.array([run_seed(experiment.seed, 0, r, True) for r in range(reps)],
                         dtype=np.int64)
        runs.insert(3, "seed", np.tile(seeds, len(points)))
    else:
        runs.insert(3, "seed", np.fromiter(
            (run_seed(experiment.seed, p, r, False)
             for p, r in zip(runs["point_id"], runs["replicate"], strict=True)),
            dtype=np.int64, count=len(runs)))
    ids = ["run_id", "point_id", "replicate", "seed"]
    if experiment.posterior is not None:
        runs.insert(4, SET_COLUMN, runs["replicate"] % len(experiment.posterior))
        ids.append(SET_COLUMN)
    return runs[[*ids, *experiment.factor_keys]]


def chunk_bounds(total_runs: int, chunk_size: int) -> list[tuple[int, int]]:
    """[start, stop) run_id ranges of consecutive chunks."""
    return [(start, min(start + chunk_size, total_runs))
            for start in range(0, total_runs, chunk_size)]


def automatic_chunk_size(engine: str, total_runs: int, workers: int) -> int:
    """Enough chunks to keep every worker busy and the progress bar moving, not so many that
    writing them costs more than the runs."""
    cap = 2000 if engine == "fast" else 100
    floor = 200 if engine == "fast" else 5
    wanted = math.ceil(total_runs / max(1, workers * 8))
    return int(min(cap, max(floor, wanted)))


def experiment_hash(experiment: Experiment, timeseries: bool, version: str) -> str:
    """Identity of what an experiment computes: resuming requires the same hash."""
    payload = {
        "experiment": experiment.resolved(), "scenario": scenario_as_dict(experiment.base),
        "timeseries": timeseries, "version": version,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def scenario_for(experiment: Experiment, factor_values: Mapping[str, Any],
                 posterior_set: int = 0) -> Scenario:
    """The base scenario with one design point's factor values (over a parameter set of the
    posterior, where the experiment draws from one)."""
    if experiment.posterior is not None:
        return scenario_of(experiment.base, dict(factor_values), experiment.posterior,
                           posterior_set, experiment.fixed)
    return with_overrides(experiment.base, {k: _plain(v) for k, v in factor_values.items()})


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def replace(experiment: Experiment, **changes) -> Experiment:
    return dataclasses.replace(experiment, **changes)
