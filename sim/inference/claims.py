"""The sources' claims as paired experiments: contrasts, effects with intervals, verdicts.

A claims file (experiments/claims.toml) lists claims; each claim has contrasts, each a baseline
and a treatment run with the same seeds (common random numbers), and the effects the claim
predicts (metric and direction of treatment minus baseline). Shares are contrasted with
`analysis.paired_contrast` (paired interval, McNemar); other metrics by the mean paired difference
with a bootstrap interval over pairs.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import InputError
from sim.experiments.design import run_seed
from sim.experiments.evaluation import (
    SUMMARIES,
    Evaluator,
    batch_size,
    evaluate,
    open_evaluator,
)
from sim.inference.statistics import paired_contrast
from sim.model.files import (
    Section,
    check_fits,
    dotted_keys,
    find_line,
    read_toml,
)
from sim.model.keys import overlapping, settings_of
from sim.model.params import Scenario
from sim.model.scenario_files import load_named_scenario, scenario_as_dict, with_overrides

SHARES = ("alive", "zombie", "dead")
METRICS = {
    "alive": "share of runs alive at the horizon",
    "zombie": "share of runs ending as zombies",
    "dead": "share of runs ending dead",
    "active_years": "years before the group first becomes a zombie or dies (horizon if never)",
    "years_to_death": "years before the group dies (horizon if it survives)",
    "zombie_years": "years spent as a zombie",
    "total_outputs": "joint outputs over the run",
    "exits": "members that left",
    "rival_joins": "members that joined the rival bloc",
}
# Each metric as a report's sentence names it.
METRIC_LABELS = {"alive": "share alive", "zombie": "zombie share", "dead": "death share",
                 "active_years": "years active before a first lapse",
                 "years_to_death": "years to death", "zombie_years": "years as a zombie",
                 "total_outputs": "joint outputs", "exits": "exits",
                 "rival_joins": "joins of the rival bloc"}
DIRECTIONS = ("higher", "lower")
SUITE_KEYS = ("name", "description", "scenario", "years", "replicates", "seed", "confidence")
CLAIM_KEYS = ("id", "title", "source", "statement", "reference", "contrast", "decided_by")
CONTRAST_KEYS = ("name", "baseline", "treatment", "baseline_scenario", "treatment_scenario",
                 "expect", "why")
RUN_BYTES = 2_000  # memory a run's summary and metrics take while the claims are compared
VERDICT_COLORS = {"holds": "#1b7837", "opposite": "#b2182b", "unclear": "#878787"}


@dataclass(frozen=True)
class Contrast:
    name: str
    baseline: Scenario
    treatment: Scenario
    baseline_changes: dict
    treatment_changes: dict
    expect: dict[str, str]
    why: str = ""  # why the contrast is a fair test of the claim


@dataclass(frozen=True)
class Claim:
    id: int
    title: str
    source: str
    statement: str
    contrasts: tuple[Contrast, ...]
    reference: dict = field(default_factory=dict)
    decided_by: str = ""  # the mechanism that decides the claim (an ODD section)


@dataclass(frozen=True)
class ClaimSuite:
    name: str
    description: str
    years: int
    replicates: int
    seed: int
    confidence: float
    claims: tuple[Claim, ...]
    source: str
    variants: tuple[tuple[str, str], ...] = ()  # (mechanisms.<name>, variant) to run each under


def load_claims(path: str | Path, replicates: int | None = None) -> ClaimSuite:
    """Read and validate a claims file; errors name file, line, key and value."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such claims file." if not path.is_dir()
                         else "is a folder, not a claims file.")
    raw, text = read_toml(path)
    top = Section(str(path), text, raw, (), ("claims", "claim", "variants"), label="claims file",
                  line_finder=find_line)
    head = top.section("claims", SUITE_KEYS, default={})
    name = head.folder_name("name", path.stem)
    description = head.get("description", str, "")
    years = head.get("years", int, 30, lambda v: 1 <= v <= 200, "1 to 200 years.")
    reps = head.get("replicates", int, 1000, lambda v: v >= 10, "at least 10 runs.")
    if replicates is not None:
        if replicates < 10:
            raise InputError("--replicates", "is not allowed.", value=replicates,
                             allowed="at least 10 runs.")
        reps = replicates
    seed = head.get("seed", int, 0, lambda v: 0 <= v < 2**63, "0 to 2**63 - 1.")
    confidence = head.get("confidence", float, 0.95, lambda v: 0.5 <= v < 1, "0.5 to 0.999.")
    scenario_ref = head.get("scenario", str, "mikta", bool, "a built-in scenario name or a path.")
    base = _named_scenario(scenario_ref, head, "scenario", years)
    items = top.sections("claim", CLAIM_KEYS)
    if not items:
        raise top.error("claim", "is missing.", allowed="at least one [[claim]] table.")
    claims = [_claim(item, c, base, years) for c, item in enumerate(items)]
    ids = [claim.id for claim in claims]
    if len(set(ids)) < len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise top.error("claim.id", f"{twice} is given to two claims.",
                        allowed="a different id for each claim.")
    variants = _variants(top, base)
    arms = 2 * sum(len(claim.contrasts) for claim in claims) * (1 + len(variants))
    check_fits("paired runs", arms * reps, RUN_BYTES, top.source if replicates is None
               else "--replicates", "claims.replicates" if replicates is None else None, reps)
    return ClaimSuite(name, description, years, reps, seed, confidence, tuple(claims),
                      top.source, variants)


def _named_scenario(ref: str, section: Section, key: str, years: int) -> Scenario:
    """The scenario `section`'s `key` names, run for `years`."""
    return load_named_scenario(ref, section.folder, lambda why: section.error(
        key, "names no scenario.", ref, why), years=years)


def _claim(item: Section, c: int, base: Scenario, years: int) -> Claim:
    """Claim `c` (from 0): its contrasts, reference shares and texts."""
    contrasts: list[Contrast] = []
    for spec in item.sections("contrast", CONTRAST_KEYS):
        contrasts.append(_contrast(spec, c, len(contrasts), base, years))
    if not contrasts:
        raise item.error("contrast", f"is missing (claim {c + 1}).",
                         allowed="at least one [[claim.contrast]].")
    reference = item.section("reference", None, default={})
    for key in reference.raw:
        if key in SHARES:
            reference.get(key, float, check=lambda v: 0 <= v <= 1, allowed="a share, 0 to 1.")
        elif key == "source":
            reference.get(key, str)
        else:
            raise reference.error(key, "is not a known key.",
                                  allowed=f"{', '.join(SHARES)} and source.")
    return Claim(item.get("id", int, c + 1, lambda v: 0 <= v < 10**9,
                          "a whole number, 0 to 999999999."),
                 item.get("title", str, ""), item.get("source", str, ""),
                 item.get("statement", str, ""), tuple(contrasts), dict(reference.raw),
                 item.get("decided_by", str, ""))


def _contrast(spec: Section, c: int, k: int, base: Scenario, years: int) -> Contrast:
    """Contrast `k` of claim `c` (both from 0): its two arms and the effects it expects."""
    expect = _expected(spec, c)
    if "baseline" not in spec and "treatment" not in spec and \
            "baseline_scenario" not in spec and "treatment_scenario" not in spec:
        raise spec.error(None, f"has neither a baseline nor a treatment (claim {c + 1}):"
                         " its arms would be the same scenario.",
                         allowed="a baseline, a treatment, or their *_scenario files.")
    arms = []
    for arm in ("baseline", "treatment"):
        start = (_named_scenario(spec.get(f"{arm}_scenario", str, check=bool,
                                          allowed="a scenario name or path."),
                                 spec, f"{arm}_scenario", years)
                 if f"{arm}_scenario" in spec else base)
        spec.get(arm, dict, {})
        changes = dotted_keys(spec.raw.get(arm, {}), where=spec.section(arm, None, default={}))
        clash = _clash(changes)
        if clash is not None:
            raise spec.error(arm, f"sets `{clash[1].written}` and `{clash[0].written}` to "
                             "different values: which one holds would depend on their order.",
                             allowed="one value for each parameter and date.")
        try:
            arms.append((with_overrides(start, changes) if changes else start, changes))
        except InputError as exc:
            raise InputError(spec.source, f"claim {c + 1}, {spec.label}, {arm}: "
                             f"{exc}") from None
    (b, b_changes), (t, t_changes) = arms
    if [m.code for m in b.members] != [m.code for m in t.members][:len(b.members)]:
        raise spec.error("treatment_scenario", "must keep the baseline's members "
                         "first, in order, for the arms to share their shocks.")
    return Contrast(spec.get("name", str, f"contrast {k + 1}"), b, t, b_changes, t_changes,
                    expect, spec.get("why", str, ""))


def _clash(changes: dict) -> tuple | None:
    """Two of an arm's keys that set one parameter to different values (a bad key is refused
    where the arm is applied)."""
    try:
        return overlapping(settings_of(changes)) if changes else None
    except InputError:
        return None


def _expected(spec: Section, c: int) -> dict[str, str]:
    """A contrast's `expect` table: metric -> higher or lower, at least one."""
    table = spec.section("expect", None, default={})
    expect = {}
    for metric in table.raw:
        if metric not in METRICS:
            raise table.error(metric, f"is not a metric (claim {c + 1}).",
                              allowed=", ".join(METRICS) + ".")
        expect[metric] = table.get(metric, str, check=lambda v: v in DIRECTIONS,
                                   allowed="higher or lower.")
    if not expect:
        raise spec.error("expect", f"is missing (claim {c + 1}).",
                         allowed='e.g. { dead = "lower" }.')
    return expect


def _variants(top: Section, base: Scenario) -> tuple[tuple[str, str], ...]:
    """The `[variants]` table: "mechanisms.<name>" = ["<variant>", ...], each checked."""
    table = top.section("variants", None, default={})
    found = []
    for key, values in dotted_keys(table.raw, where=table).items():
        if not key.startswith("mechanisms.") or not isinstance(values, list) or not values:
            raise table.error(key.split(".")[-1], "is not a list of structural variants.",
                              values, '"mechanisms.<name>" = ["<variant>", ...] (scenarios show '
                              "NAME --keys lists the mechanisms.* keys).")
        for value in values:
            try:
                with_overrides(base, {key: value})
            except InputError as exc:
                raise InputError(top.source, f"[variants]: {exc.problem}", key=key, value=value,
                                 allowed=exc.allowed, line=table.line(key.split(".")[-1])
                                 ) from None
            found.append((key, value))
    return tuple(found)


def under_variant(suite: ClaimSuite, key: str, value: str) -> ClaimSuite:
    """The suite with every arm of every contrast under one structural variant."""
    def arm(scenario: Scenario) -> Scenario:
        return with_overrides(scenario, {key: value})

    claims = tuple(dataclasses.replace(claim, contrasts=tuple(dataclasses.replace(
        c, baseline=arm(c.baseline), treatment=arm(c.treatment),
        baseline_changes={**c.baseline_changes, key: value},
        treatment_changes={**c.treatment_changes, key: value}) for c in claim.contrasts))
        for claim in suite.claims)
    return dataclasses.replace(suite, claims=claims, variants=())


def run_variants(suite: ClaimSuite, workers: int = 1, progress=None,
                 evaluator: Evaluator | None = None) -> pd.DataFrame:
    """Every claim's verdict under each structural variant of the suite's `[variants]`."""
    rows = []
    with open_evaluator(evaluator, workers) as pool:
        for i, (key, value) in enumerate(suite.variants, 1):
            if progress:
                progress(f"the claims under the structural variant {key} = {value} ({i} of "
                         f"{len(suite.variants)})")
            result = run_claims(under_variant(suite, key, value), workers=workers,
                                evaluator=pool)
            for verdict in result.verdicts.itertuples():
                rows.append({"claim": verdict.claim, "variant": f"{key} = {value}",
                             "verdict": verdict.verdict, "condition": verdict.condition})
    return pd.DataFrame(rows, columns=["claim", "variant", "verdict", "condition"])


# ------------------------------------------------------------------------------ running


def metrics(summary: pd.DataFrame, horizon_quarters: int) -> pd.DataFrame:
    """Per run, every metric of METRICS from the run summaries."""
    horizon = horizon_quarters / 4
    death = summary["death_quarter"].astype(float)
    first_zombie = summary["first_zombie_quarter"].astype(float)
    years_to_death = np.where(death.notna(), (death + 1) / 4, horizon)
    active = np.fmin(np.where(first_zombie.notna(), first_zombie / 4, horizon), years_to_death)
    frame = pd.DataFrame({name: (summary["outcome"] == name).astype(float) for name in SHARES})
    frame["active_years"] = active
    frame["years_to_death"] = years_to_death
    frame["zombie_years"] = summary["zombie_quarters"].astype(float) / 4
    for name in ("total_outputs", "exits", "rival_joins"):
        frame[name] = summary[name].astype(float)
    return frame


def run_arms(scenarios: list[Scenario], seeds: list[int], workers: int,
             evaluator: Evaluator | None = None) -> list[pd.DataFrame]:
    """Summaries of each scenario on every seed (fast engine), over one pool of workers."""
    size = batch_size(len(seeds), workers)
    with open_evaluator(evaluator, workers) as pool:
        return [evaluate(scenario, seeds, SUMMARIES, batch=size, evaluator=pool)
                for scenario in scenarios]


def paired_effect(baseline: pd.Series, treatment: pd.Series, metric: str, confidence: float,
                  seed: int) -> dict:
    """Treatment minus baseline over paired runs, with its interval and p-value."""
    if metric in SHARES:
        runs = pd.DataFrame({
            "point_id": [0] * len(baseline) + [1] * len(treatment),
            "replicate": list(range(len(baseline))) * 2,
            "outcome": np.where(np.concatenate([baseline, treatment]) > 0, metric, "other"),
        })
        row = paired_contrast(runs, 0, 1, metric, confidence, seed=seed)
        return {"baseline": row["share_a"], "treatment": row["share_b"],
                "effect": row["difference"], "low": row["low"], "high": row["high"],
                "p": row["mcnemar_exact_p"]}
    d = treatment.to_numpy() - baseline.to_numpy()
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, len(d), size=(2000, len(d)))].mean(axis=1)
    tail = (1 - confidence) / 2
    p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {"baseline": float(baseline.mean()), "treatment": float(treatment.mean()),
            "effect": float(d.mean()), "low": float(np.quantile(boot, tail)),
            "high": float(np.quantile(boot, 1 - tail)), "p": p}


def verdict_of(effect: dict, direction: str) -> str:
    """holds, opposite or unclear: where the interval lies against the predicted side of 0."""
    if direction == "higher":
        return "holds" if effect["low"] > 0 else "opposite" if effect["high"] < 0 else "unclear"
    return "holds" if effect["high"] < 0 else "opposite" if effect["low"] > 0 else "unclear"


@dataclass
class ClaimsResult:
    effects: pd.DataFrame  # one row per claim, contrast and metric
    shares: pd.DataFrame  # outcome shares per claim, contrast and arm
    verdicts: pd.DataFrame  # one row per claim
    seconds: float


def run_claims(suite: ClaimSuite, workers: int = 1, progress=None,
               evaluator: Evaluator | None = None) -> ClaimsResult:
    """Run every contrast of every claim and judge each claim."""
    start = time.perf_counter()
    seeds = [run_seed(suite.seed, 0, r, common=True) for r in range(suite.replicates)]
    effects, shares = [], []
    index, unique, seen = {}, [], {}  # arm scenario (by id) -> position among unique ones
    for claim in suite.claims:
        for contrast in claim.contrasts:
            for scenario in (contrast.baseline, contrast.treatment):
                key = json.dumps(scenario_as_dict(scenario), sort_keys=True, default=str)
                if key not in seen:
                    seen[key] = len(unique)
                    unique.append(scenario)
                index[id(scenario)] = seen[key]
    if progress:
        progress(f"the claims at the scenario's values: {len(unique)} scenarios × "
                 f"{len(seeds):,} runs")
    summaries = run_arms(unique, seeds, workers, evaluator)
    measured = [metrics(frame, scenario.quarters)
                for frame, scenario in zip(summaries, unique, strict=True)]

    def of(scenario: Scenario) -> pd.DataFrame:
        return measured[index[id(scenario)]]

    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            arms = {"baseline": of(contrast.baseline), "treatment": of(contrast.treatment)}
            for arm, frame in arms.items():
                row = {"claim": claim.id, "contrast": contrast.name, "arm": arm}
                row.update({s: float(frame[s].mean()) for s in SHARES})
                shares.append(row)
            for metric in METRICS:
                effect = paired_effect(arms["baseline"][metric], arms["treatment"][metric],
                                       metric, suite.confidence, seed=suite.seed + k)
                direction = contrast.expect.get(metric)
                effects.append({"claim": claim.id, "contrast": contrast.name,
                                "contrast_index": k, "metric": metric,
                                "expected": direction or "", **effect,
                                "verdict": verdict_of(effect, direction) if direction else ""})
    effects = pd.DataFrame(effects)
    verdicts = pd.DataFrame([_judge(claim, effects) for claim in suite.claims])
    return ClaimsResult(effects, pd.DataFrame(shares), verdicts, time.perf_counter() - start)


def _judge(claim: Claim, effects: pd.DataFrame) -> dict:
    """Reproduced if every expected effect holds in every contrast, not reproduced if none
    holds anywhere, otherwise depends on the contrasts where all expected effects hold."""
    rows = effects[(effects["claim"] == claim.id) & (effects["expected"] != "")]
    holding = [name for name, group in rows.groupby("contrast", sort=False)
               if (group["verdict"] == "holds").all()]
    any_holds = (rows["verdict"] == "holds").any()
    opposite = rows[rows["verdict"] == "opposite"]
    names = [c.name for c in claim.contrasts]
    if len(holding) == len(names):
        verdict, condition = "reproduced", ""
    elif holding:
        verdict, condition = "depends on", "; ".join(holding)
    elif any_holds:
        verdict = "partly reproduced"
        condition = "; ".join(f"{METRIC_LABELS[r.metric]} ({r.contrast})"
                              for r in rows.itertuples() if r.verdict == "holds")
    else:
        verdict, condition = "not reproduced", ""
    return {"claim": claim.id, "title": claim.title, "verdict": verdict, "condition": condition,
            "opposite": "; ".join(f"{METRIC_LABELS[r.metric]} ({r.contrast})"
                                  for r in opposite.itertuples())}


# ------------------------------------------------------------------------------ report
