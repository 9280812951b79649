"""Effects and verdicts of paired contrasts: corrected intervals, discordant pairs, categories.

Every predicted effect of a claims file is one of a family of m tests. Its interval is
simultaneous over the family by Bonferroni's correction, at level 1 − (1 − confidence) / m (a
stated alternative to Holm's step-down, which gives adjusted p-values but no intervals; the
p-values are also reported Holm-adjusted). An effect is

- **holds** when the corrected interval lies on the predicted side of zero,
- **reversed** when it lies on the other side,
- **no measurable effect** when it lies within ± the file's equivalence bound for the metric
  (two one-sided tests at the corrected level; an effect smaller than the bound is said to be
  absent even when it is not zero),
- **undecided** otherwise: the interval crosses zero and a bound, and more runs would tell.

A claim **holds**, is **reversed** or has **no measurable effect** when all its predicted effects,
in every contrast, are so; it **depends** otherwise, with the rule that flips it (which contrast
and metric gives which category); it is **undecided** while any effect is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.inference.statistics import paired_contrast

SHARES = ("alive", "zombie", "dead")
HOLDS, REVERSED, NONE, UNDECIDED = "holds", "reversed", "no measurable effect", "undecided"
DEPENDS, NOT_REPRESENTABLE = "depends", "not representable"
EFFECT_VERDICTS = (HOLDS, REVERSED, NONE, UNDECIDED)
CLAIM_VERDICTS = (HOLDS, REVERSED, NONE, DEPENDS, UNDECIDED, NOT_REPRESENTABLE)
FEW_PAIRS = 30  # a verdict on fewer discordant pairs says so


def corrected_confidence(confidence: float, family: int) -> float:
    """Bonferroni's level for each of `family` intervals to hold together at `confidence`."""
    return 1 - (1 - confidence) / max(family, 1)


def paired_effect(baseline: pd.Series | np.ndarray, treatment: pd.Series | np.ndarray,
                  metric: str, confidence: float, resamples: int = 0, seed: int = 0) -> dict:
    """Treatment minus baseline over paired runs: the effect, its interval at `confidence`,
    its p-value and the discordant pairs (pairs whose two runs differ).

    A share's interval is the paired asymptotic one (`statistics.paired_contrast`), another
    metric's the t interval of the mean difference, or with `resamples` a percentile bootstrap
    over pairs (the experiment reports' findings; too coarse for a corrected level's tails).
    """
    b = np.asarray(baseline, dtype=float)
    t = np.asarray(treatment, dtype=float)
    d = t - b
    n = len(d)
    discordant = int(np.count_nonzero(d))
    if metric in SHARES:
        runs = pd.DataFrame({"point_id": [0] * n + [1] * n, "replicate": list(range(n)) * 2,
                             "outcome": np.where(np.concatenate([b, t]) > 0, metric, "other")})
        row = paired_contrast(runs, 0, 1, metric, confidence, resamples=0)
        return {"baseline": row["share_a"], "treatment": row["share_b"],
                "effect": row["difference"], "low": row["low"], "high": row["high"],
                "p": row["mcnemar_exact_p"], "runs": n, "discordant": discordant}
    mean = float(d.mean())
    if resamples:
        boot = d[np.random.default_rng(seed).integers(0, n, size=(resamples, n))].mean(axis=1)
        low, high = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2])
    else:
        half = (float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))
                if n > 1 and discordant else 0.0)
        low, high = mean - half, mean + half
    p = float(stats.wilcoxon(d).pvalue) if discordant else 1.0
    return {"baseline": float(b.mean()), "treatment": float(t.mean()), "effect": mean,
            "low": float(low), "high": float(high), "p": p, "runs": n,
            "discordant": discordant}


def effect_verdict(low: float, high: float, direction: str, bound: float) -> str:
    """holds, reversed, no measurable effect or undecided, from a corrected interval (see the
    module); an interval within the bound is no measurable effect whatever its sign."""
    if -bound <= low and high <= bound:
        return NONE
    above, below = low > 0, high < 0
    if above or below:
        return HOLDS if above == (direction == "higher") else REVERSED
    return UNDECIDED


def judge(rows: pd.DataFrame, labels: dict[str, str]) -> tuple[str, str]:
    """A claim's verdict from its predicted effects (rows with contrast, metric, verdict, in
    order) and, where it depends, the rule that flips it: which contrast and metric give which
    category."""
    found = set(rows["verdict"])
    if UNDECIDED in found:
        return UNDECIDED, _rule(rows[rows["verdict"] == UNDECIDED], labels)
    if len(found) == 1:
        return found.pop(), ""
    return DEPENDS, _rule(rows, labels)


def _rule(rows: pd.DataFrame, labels: dict[str, str]) -> str:
    """'holds for the share alive in A; no measurable effect for it in B': each contrast's
    categories by metric."""
    parts = []
    for contrast, group in rows.groupby("contrast", sort=False):
        said = [f"{verdict} for {' and '.join(labels[m] for m in part['metric'])}"
                for verdict, part in group.groupby("verdict", sort=False)]
        parts.append(f"{', '.join(said)} in '{contrast}'")
    return "; ".join(parts)


def few_pairs(row) -> str:
    """' (on 5 discordant pairs)' for a holds or reversed effect on fewer than FEW_PAIRS, or
    ' (the arms are the same runs)' for one on none; '' otherwise."""
    if row.discordant == 0:
        return " (no discordant pair: the arms are the same runs)"
    if row.discordant < FEW_PAIRS and row.verdict in (HOLDS, REVERSED, NONE):
        return f" (on only {row.discordant} discordant pairs of {row.runs:,})"
    return ""
