"""The sources' claims as paired experiments: contrasts, effects with intervals, verdicts.

A claims file (experiments/claims.toml) lists claims; each claim has contrasts, each a baseline
and a treatment run with the same seeds (common random numbers), and the effects the claim
predicts (metric and direction of treatment minus baseline). Each predicted effect is judged by
`sim.inference.verdicts` (intervals corrected over the file's predicted effects, an equivalence
bound per metric); a contrast whose verdict is undecided gets more paired runs, in batches of the
file's `replicates`, until it is decided or reaches `max_replicates` (sequential replication).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, path_argument, typed_argument
from sim.experiments.design import run_seed
from sim.experiments.evaluation import (
    SUMMARIES,
    Evaluator,
    batch_size,
    evaluate,
    open_evaluator,
)
from sim.inference.statistics import holm
from sim.inference.verdicts import (
    NOT_REPRESENTABLE,
    UNDECIDED,
    corrected_confidence,
    effect_verdict,
    judge,
    paired_effect,
)
from sim.model.files import (
    Section,
    check_count,
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
SUITE_KEYS = ("name", "description", "scenario", "years", "replicates", "max_replicates",
              "robustness_replicates", "seed", "confidence", "equivalence")
CLAIM_KEYS = ("id", "title", "source", "statement", "reference", "contrast", "decided_by",
              "not_representable")
CONTRAST_KEYS = ("name", "baseline", "treatment", "baseline_scenario", "treatment_scenario",
                 "expect", "why")
RUN_BYTES = 2_000  # memory a run's summary and metrics take while the claims are compared
VERDICT_COLORS = {"holds": "#1b7837", "reversed": "#b2182b", "no measurable effect": "#4393c3",
                  "undecided": "#878787"}


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
    not_representable: str = ""  # why the model cannot test the claim as its source states it


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
    equivalence: dict[str, float] = field(default_factory=dict)  # metric -> bound, its units
    max_replicates: int = 0  # cap of sequential replication (0: the replicates)
    # paired runs a set of the robustness passes starts with and adds while undecided, up to the
    # replicates (0: the replicates, no looks before them)
    robustness_replicates: int = 0

    @property
    def family(self) -> int:
        """The predicted effects of the file: the family its intervals are corrected over."""
        return sum(len(c.expect) for claim in self.claims for c in claim.contrasts)

    @property
    def cap(self) -> int:
        return max(self.max_replicates, self.replicates)

    @property
    def robustness_first(self) -> int:
        """Paired runs of a set's first look in the robustness passes (at most the
        replicates, which --replicates may lower)."""
        return min(self.robustness_replicates or self.replicates, self.replicates)


def load_claims(path: str | Path, replicates: int | None = None) -> ClaimSuite:
    """Read and validate a claims file; errors name file, line, key and value."""
    path = path_argument(path, "load_claims", "path")
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
    robustness_reps = head.get("robustness_replicates", int, reps,
                               lambda v: 10 <= v <= reps,
                               f"10 to the file's replicates ({reps:,}) runs.")
    if replicates is not None:
        reps = check_count("--replicates", replicates, 10, "at least 10 runs.")
    cap = head.get("max_replicates", int, reps, lambda v: v >= 10, "at least 10 runs.")
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
    equivalence = _equivalence(head, claims)
    arms = 2 * sum(len(claim.contrasts) for claim in claims) * (1 + len(variants))
    check_fits("paired runs", arms * max(reps, cap), RUN_BYTES, top.source if replicates is None
               else "--replicates", "claims.replicates" if replicates is None else None, reps)
    return ClaimSuite(name, description, years, reps, seed, confidence, tuple(claims),
                      top.source, variants, equivalence, cap, robustness_reps)


def _equivalence(head: Section, claims: list[Claim]) -> dict[str, float]:
    """`[claims] equivalence`: metric -> the bound within which an effect counts as none, in
    the metric's units (a share for alive, zombie, dead), one for every metric a contrast
    predicts."""
    table = head.section("equivalence", None, default={})
    bounds = {}
    for metric in table.raw:
        if metric not in METRICS:
            raise table.error(metric, "is not a metric.", allowed=", ".join(METRICS) + ".")
        share = metric in SHARES
        bounds[metric] = table.get(metric, float, check=lambda v, share=share: v > 0 and (
            v < 1 if share else True), allowed="a share above 0 and below 1." if share else
            "a positive number, in the metric's units.")
    predicted = dict.fromkeys(m for claim in claims for c in claim.contrasts for m in c.expect)
    missing = [m for m in predicted if m not in bounds]
    if missing:
        raise head.error("equivalence", f"gives no bound for {', '.join(missing)}, which a "
                         "contrast predicts.", allowed="a bound for every predicted metric, "
                         'e.g. equivalence = { alive = 0.02, active_years = 0.5 }: an effect '
                         "within it counts as no measurable effect.")
    return bounds


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
                 item.get("decided_by", str, ""), item.get("not_representable", str, ""))


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


def metrics(summary: pd.DataFrame, horizon_quarters: int, empty: bool = False
            ) -> pd.DataFrame:
    """Per run, every metric of METRICS from the run summaries (with `empty`, no runs)."""
    if empty:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in METRICS})
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


@dataclass
class ClaimsResult:
    effects: pd.DataFrame  # one row per claim, contrast and metric
    shares: pd.DataFrame  # outcome shares per claim, contrast and arm
    verdicts: pd.DataFrame  # one row per claim
    seconds: float


def run_claims(suite: ClaimSuite, workers: int = 1, progress=None,
               evaluator: Evaluator | None = None) -> ClaimsResult:
    """Run every contrast of every claim, with more runs for the undecided ones up to the
    file's cap, and judge each claim."""
    typed_argument(suite, ClaimSuite, "run_claims", "suite", "a ClaimSuite (sim.load_claims)")
    start = time.perf_counter()
    unique, position = _unique_arms(suite)
    if progress:
        progress(f"the claims at the scenario's values: {len(unique)} scenarios × "
                 f"{suite.replicates:,} runs" + (f", up to {suite.cap:,} where undecided"
                                                 if suite.cap > suite.replicates else ""))
    measured: list[pd.DataFrame] = [metrics(pd.DataFrame(), s.quarters, empty=True)
                                    for s in unique]
    wanted = {(claim.id, k): suite.replicates for claim in suite.claims
              for k in range(len(claim.contrasts))}
    with open_evaluator(evaluator, workers) as pool:
        while True:
            _extend(unique, measured, position, wanted, suite.seed, workers, pool)
            effects = _effects(suite, measured, position, wanted)
            undecided = {(r.claim, r.contrast_index) for r in effects.itertuples()
                         if r.verdict == UNDECIDED and wanted[r.claim, r.contrast_index]
                         < suite.cap}
            if not undecided:
                break
            for key in undecided:
                wanted[key] = min(wanted[key] + suite.replicates, suite.cap)
            if progress:
                progress(f"{len(undecided)} undecided contrasts: up to "
                         f"{max(wanted[k] for k in undecided):,} paired runs each")
    shares = []
    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            for arm in ("baseline", "treatment"):
                frame = measured[position[claim.id, k, arm]].iloc[:wanted[claim.id, k]]
                shares.append({"claim": claim.id, "contrast": contrast.name, "arm": arm,
                               **{s: float(frame[s].mean()) for s in SHARES}})
    verdicts = pd.DataFrame([_judge(claim, effects) for claim in suite.claims])
    return ClaimsResult(effects, pd.DataFrame(shares), verdicts, time.perf_counter() - start)


def _unique_arms(suite: ClaimSuite) -> tuple[list[Scenario], dict[tuple, int]]:
    """The distinct arm scenarios of the suite, and (claim, contrast, arm) -> position."""
    unique: list[Scenario] = []
    seen: dict[str, int] = {}
    position = {}
    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            for arm, scenario in (("baseline", contrast.baseline),
                                  ("treatment", contrast.treatment)):
                key = json.dumps(scenario_as_dict(scenario), sort_keys=True, default=str)
                if key not in seen:
                    seen[key] = len(unique)
                    unique.append(scenario)
                position[claim.id, k, arm] = seen[key]
    return unique, position


def _extend(unique: list[Scenario], measured: list[pd.DataFrame], position: dict,
            wanted: dict, seed: int, workers: int, pool: Evaluator) -> None:
    """Run each arm on the seeds its contrasts want and it has not run yet (run r has one
    seed in every arm), all arms in one evaluation so that no worker waits between them."""
    need = [0] * len(unique)
    for (claim, k, _), at in position.items():
        need[at] = max(need[at], wanted[claim, k])
    parts, scenarios, seeds = [], [], []
    for at, scenario in enumerate(unique):
        have = len(measured[at])
        if need[at] > have:
            parts.append((at, need[at] - have))
            scenarios += [scenario] * (need[at] - have)
            seeds += [run_seed(seed, 0, r, common=True) for r in range(have, need[at])]
    if not seeds:
        return
    frame = evaluate(scenarios, seeds, SUMMARIES, batch=batch_size(len(seeds), workers),
                     evaluator=pool)
    start = 0
    for at, n in parts:
        runs = metrics(frame.iloc[start:start + n].reset_index(drop=True), unique[at].quarters)
        measured[at] = pd.concat([measured[at], runs], ignore_index=True)
        start += n


def _effects(suite: ClaimSuite, measured: list[pd.DataFrame], position: dict,
             wanted: dict) -> pd.DataFrame:
    """Every metric of every contrast on its wanted runs: the effect with its corrected
    interval, the discordant pairs, Holm's p over the predicted effects, the verdict."""
    level = corrected_confidence(suite.confidence, suite.family)
    rows = []
    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            n = wanted[claim.id, k]
            b = measured[position[claim.id, k, "baseline"]].iloc[:n]
            t = measured[position[claim.id, k, "treatment"]].iloc[:n]
            for metric in METRICS:
                effect = paired_effect(b[metric], t[metric], metric, level)
                direction = contrast.expect.get(metric, "")
                rows.append({"claim": claim.id, "contrast": contrast.name, "contrast_index": k,
                             "metric": metric, "expected": direction, **effect,
                             "bound": suite.equivalence.get(metric, np.nan),
                             "verdict": effect_verdict(effect["low"], effect["high"], direction,
                                                       suite.equivalence[metric])
                             if direction else ""})
    effects = pd.DataFrame(rows)
    predicted = effects["expected"] != ""
    effects["p_holm"] = np.nan
    effects.loc[predicted, "p_holm"] = holm(effects.loc[predicted, "p"])
    effects["level"] = level
    return effects


def _judge(claim: Claim, effects: pd.DataFrame) -> dict:
    """The claim's verdict (sim.inference.verdicts.judge), its rule, its runs and its fewest
    discordant pairs among the effects it rests on."""
    rows = effects[(effects["claim"] == claim.id) & (effects["expected"] != "")]
    verdict, rule = judge(rows, METRIC_LABELS)
    if claim.not_representable:
        verdict, rule = NOT_REPRESENTABLE, claim.not_representable
    return {"claim": claim.id, "title": claim.title, "verdict": verdict, "condition": rule,
            "runs": ", ".join(f"{n:,}" for n in rows.groupby("contrast", sort=False)["runs"]
                              .max()),
            "fewest_discordant": int(rows["discordant"].min()),
            "opposite": "; ".join(f"{METRIC_LABELS[r.metric]} ({r.contrast})"
                                  for r in rows.itertuples() if r.verdict == "reversed")}


# ------------------------------------------------------------------------------ report
