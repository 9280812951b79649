"""Deciding parameters: which parameters, moved alone over their documented range, flip a claim.

A one-at-a-time screening (Morris's elementary effects without the random trajectories: each
parameter moved from the scenario's values to each end of its declared range, `params.Spec`, the
others held): every numeric parameter of the group, the world and the members (`members.*`, one
value for every member), except the outcome rule's (the yardstick, not behaviour). Every arm of
every contrast runs at each value on the same `runs` seeds, its own changes applied after the
screened value, so a contrast keeps what it changes. An effect's category (sim.inference.verdicts,
at the file's confidence, uncorrected: a screen, not a test) is compared with its category at the
scenario's values on the same seeds; a parameter *decides* a claim when some value turns one of
its effects from one decided category into another (holds, reversed, no measurable effect).

Each deciding parameter is marked **calibrated** (among a calibration file's priors), **sourced**
(the scenario file's line that sets it cites a seed, [000] or [004]) or **unsourced**.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.experiments.design import run_seed
from sim.experiments.evaluation import SUMMARIES, Evaluator, evaluate, open_evaluator
from sim.inference.verdicts import UNDECIDED, effect_verdict, paired_effect
from sim.model.params import DECLARED, GroupParams, MemberParams, Scenario, WorldParams
from sim.model.scenario_files import scenario_as_dict, with_overrides

OUTCOME_RULE = ("min_members", "apex_repeat", "apex_window_months", "grace_months",
                "zombie_months", "dormant_months")  # the yardstick (docs/validation.md)
SECTIONS = ((GroupParams, "group."), (WorldParams, "world."), (MemberParams, "members.*."))
RUNS = 100  # paired runs per arm and value: a screen, kept cheap
BATCH = 4_000
CALIBRATED, SOURCED, UNSOURCED = "calibrated", "sourced", "unsourced"


@dataclass
class Screening:
    table: pd.DataFrame  # claim, contrast, metric, parameter, value, effect, low, high, verdict,
    # at_default, flips
    deciding: pd.DataFrame  # claim, parameter, status, default, flips (in words)
    ranges: dict[str, tuple[float, float]]  # every screened parameter's documented range
    runs: int  # in all
    runs_per_point: int  # paired runs per arm and value
    seconds: float


def screened_values(base: Scenario) -> dict[str, list[float]]:
    """Every numeric parameter's key with the ends of its documented range that differ from
    the scenario's value and that the scenario accepts (an open end moved 1 % inside)."""
    found: dict[str, list[float]] = {}
    for cls, prefix in SECTIONS:
        for name, (kind, spec) in DECLARED[cls].items():
            if kind not in (int, float) or name in OUTCOME_RULE or spec.low is None \
                    or spec.high is None:
                continue
            key = f"{prefix}{name}"
            span = spec.high - spec.low
            ends = [spec.low + 0.01 * span if spec.low_open else spec.low,
                    spec.high - 0.01 * span if spec.high_open else spec.high]
            ends = [kind(round(v)) if kind is int else float(v) for v in ends]
            now = set(_values(base, key))
            values = []
            for value in ends:
                if {value} == now:
                    continue
                try:
                    with_overrides(base, {key: value})
                except InputError:
                    continue
                values.append(value)
            if values:
                found[key] = values
    return found


def _values(base: Scenario, key: str) -> list:
    section, *rest = key.split(".")
    if section == "members":
        return [getattr(m, rest[-1]) for m in base.members]
    return [getattr(getattr(base, section), rest[-1])]


def screen(suite, runs: int = RUNS, workers: int = 1, progress=None,
           evaluator: Evaluator | None = None, calibrated: set[str] = frozenset()
           ) -> Screening:
    """The one-at-a-time screening of a claims suite (see the module)."""
    start = time.perf_counter()
    base = suite.claims[0].contrasts[0].baseline
    values = screened_values(base)
    points = [("", None)] + [(k, v) for k, vs in values.items() for v in vs]
    seeds = [run_seed(suite.seed, 0, r, common=True) for r in range(runs)]
    arms, position = [], {}
    seen: dict[str, int] = {}
    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            for arm, scenario, changes in (
                    ("baseline", contrast.baseline, contrast.baseline_changes),
                    ("treatment", contrast.treatment, contrast.treatment_changes)):
                key = repr(sorted(scenario_as_dict(scenario).items())) + repr(sorted(
                    changes.items()))
                seen.setdefault(key, len(arms))
                if seen[key] == len(arms):
                    arms.append((scenario, changes))
                position[claim.id, k, arm] = seen[key]
    total = len(arms) * len(points) * runs
    if progress:
        progress(f"screening {len(values)} parameters over their ranges: {len(arms)} arms x "
                 f"{len(points)} values x {runs} runs = {total:,} runs")
    from sim.inference.claims import metrics  # claims imports this module's callers
    scenarios, parameter_sets = [], []
    for scenario, changes in arms:  # one evaluation for all, so no worker waits between arms
        sets = [({key: value} if key else {}) | changes for key, value in points]
        scenarios += [scenario] * (len(points) * runs)
        parameter_sets += [s for s in sets for _ in seeds]  # one object a set: built once
    with open_evaluator(evaluator, workers) as pool:
        frame = evaluate(scenarios, seeds * len(points) * len(arms), SUMMARIES,
                         parameter_sets=parameter_sets, batch=BATCH, evaluator=pool)
    each = len(points) * runs
    measured = [metrics(frame.iloc[a * each:(a + 1) * each].reset_index(drop=True),
                        scenario.quarters) for a, (scenario, _) in enumerate(arms)]
    rows = []
    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            b = measured[position[claim.id, k, "baseline"]]
            t = measured[position[claim.id, k, "treatment"]]
            for metric, direction in contrast.expect.items():
                bound = suite.equivalence[metric]
                verdicts = []
                for p, (key, value) in enumerate(points):
                    part = slice(p * runs, (p + 1) * runs)
                    effect = paired_effect(b[metric].iloc[part], t[metric].iloc[part], metric,
                                           suite.confidence)
                    verdicts.append(effect_verdict(effect["low"], effect["high"], direction,
                                                   bound))
                    if key:
                        rows.append({"claim": claim.id, "contrast": contrast.name,
                                     "metric": metric, "parameter": key, "value": value,
                                     "effect": effect["effect"], "low": effect["low"],
                                     "high": effect["high"], "verdict": verdicts[-1],
                                     "at_default": verdicts[0]})
    table = pd.DataFrame(rows)
    table["flips"] = (table["verdict"] != table["at_default"]) & \
        (table["verdict"] != UNDECIDED) & (table["at_default"] != UNDECIDED)
    status = statuses(base, list(values), calibrated)
    deciding = deciding_parameters(table, base, status)
    ranges = {k: (min(v + _values(base, k)), max(v + _values(base, k)))
              for k, v in values.items()}
    return Screening(table, deciding, ranges, total, runs, time.perf_counter() - start)


def deciding_parameters(table: pd.DataFrame, base: Scenario, status: dict[str, str]
                        ) -> pd.DataFrame:
    """Per claim, each parameter that flips one of its effects, with what it flips in words."""
    from sim.inference.claims import METRIC_LABELS

    rows = []
    flipped = table[table["flips"]]
    for (claim, key), group in flipped.groupby(["claim", "parameter"], sort=False):
        said = [f"at {r.value:g}: {METRIC_LABELS[r.metric]} in '{r.contrast}' "
                f"{r.at_default} → {r.verdict}" for r in group.itertuples()]
        now = sorted(set(_values(base, key)))
        rows.append({"claim": claim, "parameter": key, "status": status[key],
                     "default": ", ".join(f"{v:g}" for v in now), "flips": "; ".join(said)})
    return pd.DataFrame(rows, columns=["claim", "parameter", "status", "default", "flips"])


def statuses(base: Scenario, keys: list[str], calibrated: set[str]) -> dict[str, str]:
    """calibrated, sourced or unsourced for each key (see the module)."""
    path = Path(base.source.removesuffix(" (built-in)"))
    if base.source.endswith(" (built-in)"):
        path = Path(__file__).parents[1] / "model" / "scenarios" / path
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    out = {}
    for key in keys:
        name = key.rsplit(".", 1)[-1]
        lines = re.findall(rf"^\s*{re.escape(name)}\s*=.*$", text, flags=re.M)
        cited = any(re.search(r"\[00\d", line) for line in lines)
        out[key] = CALIBRATED if key in calibrated else SOURCED if cited else UNSOURCED
    return out


def write_screening(result: Screening, folder: Path) -> None:
    """screening.csv and deciding.csv in `folder`."""
    from sim.inference.robustness import write_csv

    write_csv(Path(folder) / "screening.csv", result.table, "%.4g")
    write_csv(Path(folder) / "deciding.csv", result.deciding)


def as_report_frame(result: Screening) -> pd.DataFrame:
    """The screening table carrying what the report needs in its attrs."""
    frame = result.table.copy()
    frame.attrs.update(deciding=result.deciding, runs=result.runs_per_point,
                       seconds=result.seconds, levels=2)
    return frame


def spread(keys: dict[str, tuple[float, float]], sets: int, seed: int) -> dict[str, np.ndarray]:
    """`sets` values of each key spread over its range (a Latin hypercube, uniform)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(4,)))
    out = {}
    for key, (low, high) in keys.items():
        u = (rng.permutation(sets) + rng.random(sets)) / sets
        out[key] = low + u * (high - low)
    return out
