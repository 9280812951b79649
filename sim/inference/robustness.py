"""Claims over a posterior: does each predicted effect hold for the sets the records allow?

Every contrast of a claims file is run under N parameter sets drawn by weight from a calibration's
`posterior.parquet`. The seeds are common to both arms and to every set (replicate r has one seed
throughout), so arms and sets differ only by what they change; an arm that several contrasts share
is run once. For each set the effect is the mean paired difference (treatment minus baseline) with
its t interval; it *holds* in a set when that interval lies wholly on the predicted side of zero.

The runs are sequential, set by set: each contrast starts every set with the file's
`robustness_replicates` paired runs and adds as many again (the same seeds extended) while some
predicted effect's interval at an interim look still crosses zero, up to the file's `replicates`.
An interim look stops a set only on a wide interval (`INTERIM_LEVEL`, Haybittle and Peto's rule);
at the last look the interval is the file's, as with a fixed number of runs, so a set's verdict
means what it would at `replicates` runs and the chance of one set holding by chance stays about
what the file's level gives (`assumed_or_found` counts on it). An effect is

- **robust** where it holds in at least 90 % of the sets,
- **conditional** where it holds in 10 – 90 %,
- **does not hold** below 10 %.

The effect mixed over the posterior is the mean of the sets' effects; its interval comes from a
two-stage bootstrap (sets resampled, then each set's mean drawn within its own standard error), so
it carries parameter and seed uncertainty. For a conditional effect a shallow decision tree over
the sets' parameter values (the scenario-discovery code of `statistics.rule_regions`) says where
it holds.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import UserError
from sim.experiments.design import run_seed
from sim.experiments.evaluation import SUMMARIES, Evaluator, evaluate, open_evaluator
from sim.experiments.posterior import PosteriorSets
from sim.experiments.storage import atomic_write_bytes
from sim.inference.calibration import prior_draws
from sim.inference.claims import METRIC_LABELS, ClaimSuite, metrics
from sim.inference.joint import load_joint
from sim.inference.statistics import rule_regions
from sim.model.params import Scenario
from sim.model.scenario_files import scenario_as_dict, with_overrides

ROBUST, CONDITIONAL, FAILS = "robust", "conditional", "does not hold"
ROBUST_SHARE, FAILS_SHARE = 0.9, 0.1
COLUMNS = ["claim", "contrast", "metric", "predicted", "sets", "share_holding", "effect",
           "effect_lo", "effect_hi", "verdict"]
BATCH = 2_000  # runs a worker takes at once
# The two-sided level of the interval an interim look stops a set on (Haybittle and Peto: 3.3
# standard errors). With looks after 200, 400, ... 1,000 runs and the last at 95 %, a set whose
# effect is zero has an interval off zero at some look in 5.1 % of cases, against 5 % with the
# last look alone.
INTERIM_LEVEL = 0.999


@dataclass
class RobustnessResult:
    table: pd.DataFrame  # COLUMNS, one row per claim, contrast and predicted effect
    per_set: pd.DataFrame  # claim, contrast, metric, set, runs, effect, low, high, holds
    sets: pd.DataFrame  # the drawn sets: posterior_set, row, one column per key
    rules: pd.DataFrame  # claim, contrast, metric, rule, coverage, density, sentence
    runs: int
    seconds: float


def prior_sets(calibration_file: str | Path, sets: int, seed: int, base: Scenario,
               variants: tuple[tuple[str, str], ...] = ()) -> PosteriorSets:
    """`sets` parameter sets spread over a calibration file's priors (a Latin hypercube, uniform
    on each range), in draw order, checked against `base`.

    With `variants` ((mechanisms.<name>, variant) pairs, a claims file's `[variants]`) each
    mechanism so named also takes one of its forms per set, `base`'s own or a listed one, in
    equal numbers of sets and independently of the other keys (a Latin hypercube over the
    forms as well), so that every form meets the whole prior.
    """
    if sets < 1:
        raise UserError(f"--sets {sets}: must be at least 1.")
    calibration = load_joint(calibration_file)
    frame = prior_draws(calibration, draws=sets, seed=seed)
    try:
        with_overrides(base, frame.iloc[0].to_dict())
    except UserError as exc:
        raise UserError(f"{calibration_file}: its priors do not fit scenario {base.name}: "
                        f"{exc}") from None
    rows: list[list[float | str]] = frame.to_numpy(dtype=float).tolist()
    keys = list(frame.columns)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    for key, forms in variant_forms(variants, base).items():
        picked = rng.permutation(np.arange(sets) % len(forms))
        keys.append(key)
        for row, index in zip(rows, picked, strict=True):
            row.append(forms[index])
    digest = hashlib.sha256(Path(calibration_file).read_bytes()).hexdigest()
    return PosteriorSets.of_rows(f"the priors of {calibration_file}", digest, keys, rows,
                                 range(sets))


def variant_forms(variants: tuple[tuple[str, str], ...], base: Scenario) -> dict[str, list[str]]:
    """Each mechanism key of `variants` with its forms: `base`'s own first, then the listed."""
    forms: dict[str, list[str]] = {}
    for key, value in variants:
        own = getattr(base.mechanisms, key.split(".", 1)[1])
        listed = forms.setdefault(key, [own])
        if value not in listed:
            listed.append(value)
    return forms


def verdict_of_share(share: float) -> str:
    return ROBUST if share >= ROBUST_SHARE else FAILS if share < FAILS_SHARE else CONDITIONAL


def set_effects(baseline, treatment, confidence: float) -> pd.DataFrame:
    """Per set (rows of sets x replicates arrays, or one array a set, of any lengths): the
    paired runs, mean paired difference and t interval."""
    return pd.DataFrame([paired_interval(np.asarray(t, dtype=float) - np.asarray(b, dtype=float),
                                         confidence)
                         for b, t in zip(baseline, treatment, strict=True)],
                        columns=["runs", "effect", "low", "high", "se"])


def paired_interval(d: np.ndarray, confidence: float) -> tuple[int, float, float, float, float]:
    """Runs, mean, t interval at `confidence` and standard error of paired differences `d`."""
    n = len(d)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.5 + confidence / 2, max(n - 1, 1))) * se
    return n, mean, mean - half, mean + half, se


def mixed_effect(per_set: pd.DataFrame, confidence: float, seed: int, draws: int = 4000
                 ) -> tuple[float, float, float]:
    """The effect mixed over the sets, with a two-stage bootstrap interval."""
    rng = np.random.default_rng(seed)
    mean, se = per_set["effect"].to_numpy(), per_set["se"].to_numpy()
    picked = rng.integers(0, len(mean), size=(draws, len(mean)))
    boot = (mean[picked] + rng.standard_normal(picked.shape) * se[picked]).mean(axis=1)
    tail = (1 - confidence) / 2
    return float(mean.mean()), float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail))


def signed(frame: pd.DataFrame, direction: str) -> np.ndarray:
    """Sets whose estimated effect lies on the predicted side of zero (zero is not)."""
    return (frame["effect"] > 0).to_numpy() if direction == "higher" else \
        (frame["effect"] < 0).to_numpy()


def holds(frame: pd.DataFrame, direction: str) -> np.ndarray:
    return (frame["low"] > 0).to_numpy() if direction == "higher" else \
        (frame["high"] < 0).to_numpy()


def robustness_arms(suite: ClaimSuite) -> tuple[list[tuple[Scenario, dict]], dict]:
    """The distinct arms of `suite` (start scenario and its changes, applied over each set's
    values) and (claim, contrast, arm) -> position among them."""
    arms: list[tuple[Scenario, dict]] = []
    seen: dict[str, int] = {}
    position: dict[tuple[int, int, str], int] = {}
    for claim in suite.claims:
        for k, contrast in enumerate(claim.contrasts):
            for arm, scenario, changes in (
                    ("baseline", contrast.baseline, contrast.baseline_changes),
                    ("treatment", contrast.treatment, contrast.treatment_changes)):
                key = repr(sorted(scenario_as_dict(scenario).items())) + repr(sorted(
                    changes.items()))
                if key not in seen:
                    seen[key] = len(arms)
                    arms.append((scenario, changes))
                position[claim.id, k, arm] = seen[key]
    return arms, position


def extend_arms(arms: list[tuple[Scenario, dict]], posterior: PosteriorSets,
                measured: list[list[pd.DataFrame]], need: np.ndarray, seed: int,
                evaluator: Evaluator) -> int:
    """Run each arm under each set on the seeds `need[arm, set]` asks for and it has not run
    (run r has one seed in every arm and set), all in one evaluation; the runs it took."""
    parts, scenarios, seeds, values = [], [], [], []
    for a, (scenario, changes) in enumerate(arms):
        for s in range(len(posterior)):
            have = len(measured[a][s])
            if need[a, s] > have:
                parts.append((a, s, int(need[a, s] - have)))
                overrides = {**posterior.overrides(s), **changes}  # one object for the seeds
                for r in range(have, int(need[a, s])):
                    scenarios.append(scenario)
                    seeds.append(run_seed(seed, 0, r, common=True))
                    values.append(overrides)
    if not seeds:
        return 0
    frame = evaluate(scenarios, seeds, SUMMARIES, parameter_sets=values, batch=BATCH,
                     evaluator=evaluator)
    at = 0
    for a, s, n in parts:
        runs = metrics(frame.iloc[at:at + n], arms[a][0].quarters)
        measured[a][s] = pd.concat([measured[a][s], runs], ignore_index=True)
        at += n
    return len(seeds)


def decided(baseline: pd.DataFrame, treatment: pd.DataFrame, expect: dict[str, str],
            runs: int) -> bool:
    """Whether every predicted effect's interval at INTERIM_LEVEL on the first `runs` pairs
    lies off zero: more runs would not change where the set stands."""
    for metric in expect:
        _, _, low, high, _ = paired_interval(treatment[metric].to_numpy()[:runs]
                                             - baseline[metric].to_numpy()[:runs],
                                             INTERIM_LEVEL)
        if not (low > 0 or high < 0):
            return False
    return True


def run_robustness(suite: ClaimSuite, posterior: PosteriorSets, workers: int = 1,
                   progress=None, evaluator: Evaluator | None = None) -> RobustnessResult:
    """Every contrast of `suite` under each parameter set of `posterior` (see the module)."""
    start = time.perf_counter()
    first, cap, sets = suite.robustness_first, suite.replicates, len(posterior)
    arms, position = robustness_arms(suite)
    contrasts = [(claim.id, k, contrast) for claim in suite.claims
                 for k, contrast in enumerate(claim.contrasts)]
    wanted = {(c, k): np.full(sets, first) for c, k, _ in contrasts}
    empty = metrics(pd.DataFrame(), suite.claims[0].contrasts[0].baseline.quarters, empty=True)
    measured = [[empty] * sets for _ in arms]
    if progress:
        progress(f"{len(arms)} arms x {sets} parameter sets x {first:,} runs"
                 + (f", up to {cap:,} where a set is undecided" if cap > first else ""))
    total = 0
    with open_evaluator(evaluator, workers) as pool:
        while True:
            need = np.zeros((len(arms), sets), dtype=int)
            for c, k, _ in contrasts:
                for arm in ("baseline", "treatment"):
                    at = position[c, k, arm]
                    need[at] = np.maximum(need[at], wanted[c, k])
            total += extend_arms(arms, posterior, measured, need, suite.seed, pool)
            more = 0
            for c, k, contrast in contrasts:
                b, t = position[c, k, "baseline"], position[c, k, "treatment"]
                for s in range(sets):
                    n = wanted[c, k][s]
                    if n < cap and not decided(measured[b][s], measured[t][s],
                                               contrast.expect, n):
                        wanted[c, k][s] = min(n + first, cap)
                        more += 1
            if not more:
                break
            if progress:
                progress(f"{more} undecided contrasts and sets: {first:,} more paired runs each")
    table, per_set, rules = [], [], []
    set_frame = posterior.frame()
    for c, k, contrast in contrasts:
        b = measured[position[c, k, "baseline"]]
        t = measured[position[c, k, "treatment"]]
        n = wanted[c, k]
        for metric, direction in contrast.expect.items():
            effects = set_effects([b[s][metric].to_numpy()[:n[s]] for s in range(sets)],
                                  [t[s][metric].to_numpy()[:n[s]] for s in range(sets)],
                                  suite.confidence)
            held = holds(effects, direction)
            share = float(held.mean())
            effect, low, high = mixed_effect(effects, suite.confidence,
                                             seed=suite.seed + len(table))
            table.append({"claim": c, "contrast": contrast.name, "metric": metric,
                          "predicted": direction, "sets": sets,
                          "share_holding": share, "effect": effect, "effect_lo": low,
                          "effect_hi": high, "verdict": verdict_of_share(share)})
            per_set.append(effects.drop(columns="se").assign(
                claim=c, contrast=contrast.name, metric=metric,
                posterior_set=np.arange(sets), holds=held,
                predicted_sign=signed(effects, direction)))
            if verdict_of_share(share) == CONDITIONAL:
                rules.append({"claim": c, "contrast": contrast.name,
                              "metric": metric, **where_it_holds(set_frame, held,
                                                                 list(posterior.keys))})
    per_set_frame = pd.concat(per_set, ignore_index=True)[
        ["claim", "contrast", "metric", "posterior_set", "runs", "effect", "low", "high",
         "holds", "predicted_sign"]]
    return RobustnessResult(pd.DataFrame(table, columns=COLUMNS), per_set_frame, set_frame,
                            pd.DataFrame(rules, columns=["claim", "contrast", "metric", "rule",
                                                         "coverage", "density", "sentence"]),
                            total, time.perf_counter() - start)


def where_it_holds(sets: pd.DataFrame, held: np.ndarray, keys: list[str]) -> dict:
    """The rule over parameter values that covers most of the sets where an effect holds."""
    features = _features(sets, keys)
    varied = list(features.columns)
    if not varied or held.all() or not held.any() or min(held.sum(), (~held).sum()) < 5:
        return {"rule": "", "coverage": float("nan"), "density": float("nan"),
                "sentence": f"no rule: it holds in {held.mean():.0%} of the sets, too few "
                            "or too many to separate"}
    regions = rule_regions(features, varied, held, max_depth=2, min_leaf_share=0.05)
    found = regions[regions["predicted"]].sort_values(["coverage", "density"],
                                                      ascending=False)
    if found.empty:
        return {"rule": "", "coverage": float("nan"), "density": float("nan"),
                "sentence": "no rule of at most two conditions on the parameters separates "
                            "the sets where it holds"}
    best = found.iloc[0]
    return {"rule": best["rule"], "coverage": float(best["coverage"]),
            "density": float(best["density"]),
            "sentence": f"holds when {best['rule']} (covers {best['coverage']:.0%} of the sets "
                        f"where it holds; holds in {best['density']:.0%} of the sets under the "
                        "rule)"}


def _features(sets: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The keys that vary over the sets, a structural variant as one true/false column per form
    (`mechanisms.dues = full`)."""
    columns: dict[str, pd.Series] = {}
    for key in keys:
        values = sets[key]
        if values.nunique() < 2:
            continue
        if values.dtype == object:
            for form in pd.unique(values):
                columns[f"{key} = {form}"] = values == form
        else:
            columns[key] = values
    return pd.DataFrame(columns, index=sets.index)


def write_robustness(result: RobustnessResult, folder: Path, prefix: str = "robustness"
                     ) -> list[str]:
    """<prefix>.csv, <prefix>_sets.csv (per set) and <prefix>_rules.csv in `folder`."""
    per_set = result.per_set.merge(result.sets, on="posterior_set")
    names = [f"{prefix}.csv", f"{prefix}_sets.csv", f"{prefix}_rules.csv"]
    for name, frame, digits in zip(names, (result.table, per_set, result.rules),
                                   ("%.4g", "%.5g", "%.3g"), strict=True):
        write_csv(Path(folder) / name, frame, digits)
    return names


def write_csv(path: Path, frame: pd.DataFrame, digits: str = "%.4g") -> None:
    """A table as CSV, written whole or not at all."""
    atomic_write_bytes(path, frame.to_csv(index=False, float_format=digits).encode())


FORM, FINDING, NOWHERE = "follows from the model's form", "a finding", "found in no set"
CHANCE = 0.025  # the share of sets a one-sided 95 % interval puts on the wrong side by chance
LEVEL = 0.05  # of the binomial test of more opposite sets than chance, over all its tests


def more_than_chance(opposite: np.ndarray, tests: int) -> bool:
    """Whether the sets whose interval lies on the opposite side are more than chance explains:
    a one-sided binomial test against CHANCE a set, at LEVEL shared (Bonferroni) by `tests`."""
    n, k = len(opposite), int(np.sum(opposite))
    return bool(n and k and stats.binom.sf(k - 1, n, CHANCE) < LEVEL / tests)


def assumed_or_found(suite: ClaimSuite, prior: RobustnessResult) -> pd.DataFrame:
    """Per claim and predicted effect, over parameter sets spread over the priors.

    Where an effect is zero, its 95 % interval lies on the opposite side of zero in 2.5 % of
    the sets by chance; where it is on the predicted side, in fewer. An effect opposite in no
    more sets than chance explains (`more_than_chance`), over all sets and among the sets of
    each structural variant the sets carry, and present (holding in more sets than chance
    explains), follows from the model's form: the mechanism moves it one way only, under every
    form tried, and the parameters decide how far; one never present is found in no set. One
    opposite
    in more is a finding, conditional on where it holds (a rule over the sets, variants
    included), or found in no set if it holds in none. `opposite_under` names the forms under
    which it is opposite in more sets than chance explains.
    """
    rows = []
    keys = [c for c in prior.sets.columns if c not in ("posterior_set", "row")]
    forms = [k for k in keys if prior.sets[k].dtype == object]
    for claim in suite.claims:
        for contrast in claim.contrasts:
            for metric, direction in contrast.expect.items():
                mine = prior.per_set[(prior.per_set["claim"] == claim.id)
                                     & (prior.per_set["contrast"] == contrast.name)
                                     & (prior.per_set["metric"] == metric)]
                mine = mine.merge(prior.sets, on="posterior_set", how="left")
                held = mine["holds"].to_numpy(dtype=bool)
                opposite = (mine["high"] < 0).to_numpy() if direction == "higher" else \
                    (mine["low"] > 0).to_numpy()
                groups = [(key, form, opposite[(mine[key] == form).to_numpy()])
                          for key in forms for form in pd.unique(mine[key])]
                tests = 1 + len(groups)
                under = [f"{key} = {form} ({part.mean():.0%} of {len(part)})"
                         for key, form, part in groups if more_than_chance(part, tests)]
                condition = ""
                if not more_than_chance(opposite, tests) and not under:
                    # form only for an effect that is there: it holds in more sets than chance
                    word = FORM if more_than_chance(held, tests) else NOWHERE
                elif held.any():
                    word = FINDING
                    where = where_it_holds(prior.sets, held, keys)
                    condition = (f"conditional on {where['rule']}" if where["rule"] else
                                 "conditional on parameters no rule of two conditions "
                                 "separates")
                else:
                    word = NOWHERE
                rows.append({"claim": claim.id, "contrast": contrast.name, "metric": metric,
                             "predicted": direction, "decided_by": claim.decided_by,
                             "prior_sets": len(held), "share_holding": float(held.mean()),
                             "share_opposite": float(opposite.mean()),
                             "opposite_under": "; ".join(under),
                             "assumed_or_found": word, "condition": condition})
    return pd.DataFrame(rows)


def claim_words(table: pd.DataFrame) -> pd.DataFrame:
    """One line per claim from `assumed_or_found`: form if every effect is, else what varies."""
    rows = []
    for claim, group in table.groupby("claim", sort=False):
        words = set(group["assumed_or_found"])
        if words == {FORM}:
            text = FORM
        elif FINDING in words or (FORM in words and NOWHERE in words):
            conditions = [f"{METRIC_LABELS[r.metric]} {r.predicted} in {r.contrast}: "
                          f"{r.condition}"
                          for r in group.itertuples() if r.assumed_or_found == FINDING]
            text = f"{FINDING}, " + ("; ".join(conditions) if conditions else
                                    "its effects hold in some contrasts only")
        else:
            text = NOWHERE
        rows.append({"claim": claim, "assumed_or_found": text})
    return pd.DataFrame(rows)
