"""Statistics of run results: pure functions from tables to tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.rules import STATE_NAMES


def wilson_interval(successes: int, trials: int, confidence: float = 0.95
                    ) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (scipy's implementation)."""
    if trials == 0:
        return (np.nan, np.nan)
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def outcome_shares(outcomes: pd.Series, confidence: float = 0.95) -> pd.DataFrame:
    """Share of runs ending alive, zombie and dead, with Wilson intervals."""
    outcomes = pd.Series(outcomes)
    n = len(outcomes)
    rows = []
    for name in STATE_NAMES:
        count = int((outcomes == name).sum())
        low, high = wilson_interval(count, n, confidence)
        rows.append({"outcome": name, "count": count, "runs": n,
                     "share": count / n if n else np.nan, "low": low, "high": high})
    return pd.DataFrame(rows)
