"""Drawing a population: each group's stratum, founding members and conditions, from the
population file's distributions and its seed alone.

Every key of every stratum is drawn at once for all the stratum's groups from a generator of its
own (the population seed, the stratum and the key's name), so the same file and seed give the
same groups, and adding a draw of another key moves none of these. Every drawn value is checked
against its key's declared range before a group is built, and each group is checked as a
scenario is (sim.model.scenario_checks).
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import InputError
from sim.inference.population_file import MEMBERS_KEY, MEMBERS_SPEC, Draw, Population, Stratum
from sim.model.files import Origin
from sim.model.params import MAX_MEMBERS, GroupParams, MemberParams, Scenario, Spec, WorldParams
from sim.model.scenario_checks import check_consistency

STREAM_DRAWS, STREAM_RUNS = 0, 1  # spawn keys of the population seed


@dataclass(frozen=True)
class Drawn:
    """A drawn population: one row of founding conditions per group, and its scenario."""

    conditions: pd.DataFrame  # group_id, stratum, members, one column per drawn key
    scenarios: tuple[Scenario, ...]  # by group_id


def stratum_sizes(shares: list[float], groups: int) -> list[int]:
    """Groups per stratum: `groups` split by the shares, remainders to the largest fractions
    (ties to the first stratum)."""
    exact = np.asarray(shares) * groups
    sizes = np.floor(exact).astype(int)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:groups - sizes.sum()]] += 1
    return sizes.tolist()


def run_seed(seed: int, group_id: int, replicate: int) -> int:
    """Seed of a group's run, from the population seed and (group, replicate) only."""
    state = np.random.SeedSequence(seed, spawn_key=(STREAM_RUNS, group_id, replicate)
                                   ).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


def draw_population(population: Population) -> Drawn:
    """Every group of the population, stratum by stratum in the file's order."""
    sizes = stratum_sizes([s.share for s in population.strata], population.groups)
    frames, scenarios = [], []
    first = 0
    for index, (stratum, size) in enumerate(zip(population.strata, sizes, strict=True)):
        if size == 0:
            continue
        values = {draw.key: draw_values(draw, _generator(population.seed, index, draw.key),
                                        size) for draw in stratum.draws}
        members = values.pop(MEMBERS_KEY).astype(np.int64)
        frames.append(_conditions(stratum, first, members, values))
        scenarios += _scenarios(population, stratum, first, members, values)
        first += size
    return Drawn(pd.concat(frames, ignore_index=True), tuple(scenarios))


def _generator(seed: int, stratum: int, key: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(
        seed, spawn_key=(STREAM_DRAWS, stratum, zlib.crc32(key.encode()))))


def draw_values(draw: Draw, rng: np.random.Generator, groups: int) -> np.ndarray:
    """`groups` values of a draw (groups, MAX_MEMBERS for one per member), checked against the
    key's declared range."""
    shape = (groups, MAX_MEMBERS) if draw.per == "member" else (groups,)
    if draw.distribution == "choice":
        weights = np.asarray(draw.weights) / np.sum(draw.weights)
        values = np.asarray(draw.values)[rng.choice(len(draw.values), size=shape, p=weights)]
    elif draw.distribution == "uniform":
        values = rng.uniform(draw.low, draw.high, size=shape)
    elif draw.distribution == "uniform_int":
        values = rng.integers(int(draw.low), int(draw.high), size=shape, endpoint=True)
    elif draw.distribution == "bernoulli":
        values = rng.random(size=shape) < draw.p
    else:  # normal, cut to [min, max]: drawn by its quantiles, as if redrawn outside
        low = -np.inf if draw.low is None else (draw.low - draw.mean) / draw.sd
        high = np.inf if draw.high is None else (draw.high - draw.mean) / draw.sd
        values = stats.truncnorm.ppf(rng.random(size=shape), low, high, loc=draw.mean,
                                     scale=draw.sd)
        if draw.low is not None or draw.high is not None:  # no rounding past a bound
            values = np.clip(values, draw.low, draw.high)
    _check_range(draw, values)
    return values.astype({bool: np.bool_, int: np.int64, float: np.float64}[draw.kind])


def _check_range(draw: Draw, values: np.ndarray) -> None:
    spec: Spec = MEMBERS_SPEC if draw.key == MEMBERS_KEY else draw.parsed.spec
    if draw.kind is bool or not values.size:
        return
    inside = np.ones(values.shape, dtype=bool)
    if spec.low is not None:
        inside &= (values > spec.low) if spec.low_open else (values >= spec.low)
    if spec.high is not None:
        inside &= (values < spec.high) if spec.high_open else (values <= spec.high)
    if not inside.all():
        bad = values[~inside].flat[0]
        raise InputError("population draw", "drew a value out of its key's range.",
                         key=draw.key, value=float(bad), allowed=spec.allowed(draw.kind))


def _conditions(stratum: Stratum, first: int, members: np.ndarray, values: dict) -> pd.DataFrame:
    """The stratum's groups' founding conditions: a column per key; for a key drawn per
    member, each group's list of values and their mean."""
    size = len(members)
    frame = {"group_id": np.arange(first, first + size, dtype=np.int64),
             "stratum": [stratum.name] * size, "members": members}
    for key, value in stratum.fixed.items():
        frame[key] = [value] * size
    for key, drawn in values.items():
        if drawn.ndim == 2:
            rows = drawn.tolist()
            frame[key] = [row[:n] for row, n in zip(rows, members.tolist(), strict=True)]
            own = np.arange(MAX_MEMBERS) < members[:, None]
            frame[f"{key}.mean"] = np.where(own, drawn, 0).sum(axis=1) / members
        else:
            frame[key] = drawn
    return pd.DataFrame(frame)


def _scenarios(population: Population, stratum: Stratum, first: int, members: np.ndarray,
               values: dict) -> list[Scenario]:
    """One scenario per group: the stratum's base with the group's members and drawn values."""
    sections: dict[str, dict[str, list]] = {"group": {}, "world": {}, "members": {}}
    for key, drawn in values.items():  # as Python values, read once per key
        section, name = key.split(".")[0], key.split(".")[-1]
        sections[section][name] = drawn.tolist()
    base = stratum.base
    template, group, world = (_fields(stratum.template), {**_fields(base.group), "chair_order": ()},
                              _fields(base.world))
    codes = [f"{population.code_prefix}{i + 1}" for i in range(MAX_MEMBERS)]
    origin = Origin(population.source, "", whole_file=False)
    out = []
    for g, size in enumerate(members.tolist()):
        each = {name: column[g] for name, column in sections["members"].items()}
        scenario = dataclasses.replace(
            base, name=f"{population.name}-{first + g}",
            group=GroupParams(**{**group, **{k: v[g] for k, v in sections["group"].items()}}),
            world=WorldParams(**{**world, **{k: v[g] for k, v in sections["world"].items()}}),
            members=tuple(MemberParams(**{**template, "code": codes[i], **{
                name: value[i] if isinstance(value, list) else value
                for name, value in each.items()}}) for i in range(size)))
        check_consistency(scenario, origin)
        out.append(scenario)
    return out


def _fields(params) -> dict:
    """A parameter table's values by field name."""
    return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
