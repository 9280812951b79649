"""Statistics of run results: pure functions from tables to tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.model.rules import STATE_NAMES


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


def shares_by_point(runs: pd.DataFrame, factor_keys: list[str], confidence: float = 0.95
                    ) -> pd.DataFrame:
    """Per design point: factor values, runs, and per outcome its count, share and Wilson
    interval (columns `dead`, `dead_count`, `dead_low`, `dead_high`, ...); vectorized."""
    first = runs.groupby("point_id", sort=True)[factor_keys].first()
    counts = pd.crosstab(runs["point_id"], runs["outcome"]).reindex(
        index=first.index, columns=list(STATE_NAMES), fill_value=0)
    n = counts.sum(axis=1).to_numpy()[:, None]
    k = counts.to_numpy()
    z = stats.norm.ppf(0.5 + confidence / 2)
    share = k / n
    middle = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    table = first.reset_index()
    table["runs"] = n[:, 0]
    for i, name in enumerate(STATE_NAMES):
        table[name] = share[:, i]
        table[f"{name}_count"] = k[:, i]
        table[f"{name}_low"] = np.clip(middle[:, i] - half[:, i], 0, 1)
        table[f"{name}_high"] = np.clip(middle[:, i] + half[:, i], 0, 1)
    return table


# ------------------------------------------------------------------------------ trajectories


def outcome_table(runs: pd.DataFrame, factor_keys: list[str]) -> pd.DataFrame:
    """Per design point of an experiment: runs and the share alive / zombie / dead with Wilson
    95 % intervals; failed runs left out."""
    table = shares_by_point(runs[~runs["failed"]], factor_keys)
    return table.drop(columns=[f"{name}_count" for name in STATE_NAMES])


def complete_series(series: pd.DataFrame, horizon: int,
                    per_run: tuple[str, ...] = ("point_id", "replicate")) -> pd.DataFrame:
    """Every run at every quarter up to the horizon: after death, state `dead` and no outputs.

    `series` has one row per run and simulated quarter (columns run_id, quarter, state and any
    measures). Measures other than `outputs` stay missing after death; `per_run` columns are
    copied.
    """
    runs = np.unique(series["run_id"])
    index = pd.MultiIndex.from_product([runs, np.arange(horizon)], names=["run_id", "quarter"])
    full = series.set_index(["run_id", "quarter"]).reindex(index)
    by_run = full.groupby(level="run_id")
    full["state"] = by_run["state"].ffill()
    if "outputs" in full:
        full["outputs"] = full["outputs"].fillna(0)
    for column in per_run:
        if column in full:
            full[column] = by_run[column].transform("first")
    return full.reset_index()


def state_shares_by_quarter(series: pd.DataFrame) -> pd.DataFrame:
    """Share of runs alive, zombie and dead at each quarter (rows: quarter)."""
    counts = pd.crosstab(series["quarter"], series["state"])
    counts = counts.reindex(columns=list(STATE_NAMES), fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0)


def quantile_bands(series: pd.DataFrame, column: str,
                   quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
    """Quantiles of a measure across runs at each quarter (missing values skipped)."""
    bands = series.groupby("quarter")[column].quantile(list(quantiles)).unstack()
    bands.columns = list(quantiles)
    return bands


# ------------------------------------------------------------------------------ survival


EVENTS = {"death": "death_quarter", "zombie": "first_zombie_quarter"}


def event_times(runs: pd.DataFrame, event: str, horizon: int) -> pd.DataFrame:
    """Time to an event in years, and whether it was observed (else censored).

    An event in quarter q (0-based) happens after q + 1 quarters. Runs without it are censored at
    the horizon; for the first zombie, runs that die first are censored at their death.
    """
    quarter = runs[EVENTS[event]].to_numpy(dtype=float)
    observed = ~np.isnan(quarter)
    censor = np.full(len(runs), float(horizon))
    if event == "zombie":
        death = runs["death_quarter"].to_numpy(dtype=float)
        censor = np.where(np.isnan(death), censor, death + 1)
    quarters = np.where(observed, quarter + 1, censor)
    return pd.DataFrame({"years": quarters / 4, "observed": observed}, index=runs.index)


def measured_from(runs: pd.DataFrame, series: pd.DataFrame, quarter: int) -> pd.DataFrame:
    """The runs not dead before `quarter`, their events counted from it.

    `series` holds each run's state by quarter (columns run_id, quarter, state). Adds
    `state_before` (the state in the quarter before); `death_quarter` and
    `first_zombie_quarter` become quarters since `quarter` (the first zombie quarter from it on;
    NaN for none), so `event_times` with the horizon less `quarter` measures time from it.
    """
    before = series[series["quarter"] == quarter - 1].set_index("run_id")["state"]
    zombie = series[(series["quarter"] >= quarter) & (series["state"] == "zombie")]
    first = zombie.groupby("run_id")["quarter"].min()
    out = runs.copy()
    out["state_before"] = out["run_id"].map(before).fillna("dead").astype(object)
    out = out[out["state_before"] != "dead"].copy()
    out["death_quarter"] = out["death_quarter"].astype(float) - quarter
    out["first_zombie_quarter"] = out["run_id"].map(first).astype(float) - quarter
    return out.reset_index(drop=True)


def twin_series(series: pd.DataFrame, runs: pd.DataFrame, a: int, b: int, horizon: int
                ) -> pd.DataFrame:
    """Points a and b, paired by replicate, quarter by quarter: mean outputs and share alive of
    each, and the share of pairs whose runs differ (state, outputs or engagement).

    `series` holds run_id, quarter, state, outputs and mean_engagement; after a run's death it
    counts as dead with no outputs.
    """
    full = complete_series(series[series["run_id"].isin(
        runs.loc[runs["point_id"].isin([a, b]), "run_id"])], horizon, per_run=())
    replicate = runs.set_index("run_id")["replicate"]
    point = runs.set_index("run_id")["point_id"]
    full["replicate"] = full["run_id"].map(replicate)
    full["point"] = full["run_id"].map(point)
    wide = full.pivot_table(index=["replicate", "quarter"], columns="point",
                            values=["outputs", "mean_engagement"], aggfunc="first")
    states = full.pivot(index=["replicate", "quarter"], columns="point", values="state")
    both = states.dropna()
    engagement = wide["mean_engagement"].reindex(both.index)
    outputs = wide["outputs"].reindex(both.index)
    differ = ((both[a] != both[b]) | (outputs[a] != outputs[b])
              | ~np.isclose(engagement[a].fillna(-1), engagement[b].fillna(-1), rtol=0,
                            atol=1e-12))
    frame = pd.DataFrame({"outputs_a": outputs[a], "outputs_b": outputs[b],
                          "alive_a": both[a] == "alive", "alive_b": both[b] == "alive",
                          "differ": differ})
    return frame.groupby(level="quarter").mean()


def kaplan_meier(durations, observed, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier survival with log(−log) Greenwood bands (lifelines), one row per time."""
    from lifelines import KaplanMeierFitter

    fit = KaplanMeierFitter(alpha=1 - confidence).fit(np.asarray(durations, dtype=float),
                                                      np.asarray(observed, dtype=bool))
    table = fit.event_table
    bands = fit.confidence_interval_.to_numpy()
    return pd.DataFrame({
        "time": table.index.to_numpy(dtype=float),
        "at_risk": table["at_risk"].to_numpy(), "events": table["observed"].to_numpy(),
        "survival": fit.survival_function_.iloc[:, 0].to_numpy(),
        "low": bands[:, 0], "high": bands[:, 1],
    })


def median_survival(curve: pd.DataFrame) -> tuple[float, float, float]:
    """Median time and its interval read off a Kaplan–Meier table (inf where not reached)."""
    def first_below(values) -> float:
        below = np.flatnonzero(np.asarray(values) <= 0.5)
        return float(curve["time"].iloc[below[0]]) if len(below) else np.inf

    return first_below(curve["survival"]), first_below(curve["low"]), first_below(curve["high"])


def survival_by_point(runs: pd.DataFrame, event: str, horizon: int,
                      confidence: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan–Meier curves per design point (long) and each point's median time to the event."""
    curves, medians = [], []
    for point_id, group in runs.groupby("point_id", sort=True):
        times = event_times(group, event, horizon)
        curve = kaplan_meier(times["years"], times["observed"], confidence)
        curve.insert(0, "point_id", point_id)
        curves.append(curve)
        median, low, high = median_survival(curve)
        medians.append({"point_id": point_id, "runs": len(group),
                        "events": int(times["observed"].sum()),
                        "median": median, "low": low, "high": high})
    return pd.concat(curves, ignore_index=True), pd.DataFrame(medians)


def logrank_tests(runs: pd.DataFrame, event: str, horizon: int,
                  pairs: list[tuple[int, int]] | None = None) -> tuple[dict, pd.DataFrame]:
    """Log-rank test that all points share one survival curve, and tests between pairs of
    points (lifelines; default every pair)."""
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    times = event_times(runs, event, horizon)
    groups = runs["point_id"].to_numpy()
    overall = multivariate_logrank_test(times["years"], groups, times["observed"])
    result = {"statistic": float(overall.test_statistic), "df": int(overall.degrees_of_freedom),
              "p": float(overall.p_value)}
    if pairs is None:
        ids = sorted(np.unique(groups))
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    rows = []
    for a, b in pairs:
        in_a, in_b = groups == a, groups == b
        test = logrank_test(times["years"][in_a], times["years"][in_b],
                            times["observed"][in_a], times["observed"][in_b])
        rows.append({"a": int(a), "b": int(b), "statistic": float(test.test_statistic),
                     "p": float(test.p_value)})
    return result, pd.DataFrame(rows, columns=["a", "b", "statistic", "p"])


# ------------------------------------------------------------------------------ paired contrasts


def paired_contrast(runs: pd.DataFrame, a: int, b: int, outcome: str = "dead",
                    confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> dict:
    """Difference in an outcome's share, point b minus point a, over runs paired by replicate.

    Under common random numbers replicate r meets the same shocks at both points, so the pairs
    share their noise and the paired interval is narrower than an unpaired one. The asymptotic
    interval uses the variance of a difference of paired proportions; the bootstrap resamples
    pairs; McNemar's tests use the discordant pairs only.
    """
    left = runs.loc[runs["point_id"] == a, ["replicate", "outcome"]]
    right = runs.loc[runs["point_id"] == b, ["replicate", "outcome"]]
    pairs = left.merge(right, on="replicate", suffixes=("_a", "_b"))
    x_a = (pairs["outcome_a"] == outcome).to_numpy()
    x_b = (pairs["outcome_b"] == outcome).to_numpy()
    n = len(pairs)
    only_a, only_b = int((x_a & ~x_b).sum()), int((x_b & ~x_a).sum())
    row = {"a": a, "b": b, "outcome": outcome, "pairs": n, "only_a": only_a, "only_b": only_b}
    if n == 0:
        return {**row, **dict.fromkeys(("share_a", "share_b", "difference", "low", "high",
                                        "boot_low", "boot_high", "mcnemar_exact_p",
                                        "mcnemar_chi2_p"), np.nan)}
    difference = (only_b - only_a) / n
    z = stats.norm.ppf(0.5 + confidence / 2)
    half = z * np.sqrt(max(only_a + only_b - n * difference**2, 0.0)) / n
    rng = np.random.default_rng(seed)
    d = x_b.astype(float) - x_a.astype(float)
    boot = d[rng.integers(0, n, size=(resamples, n))].mean(axis=1) if resamples else \
        np.full(1, np.nan)  # resamples = 0: no bootstrap interval
    tail = (1 - confidence) / 2
    discordant = only_a + only_b
    exact = stats.binomtest(only_b, discordant, 0.5).pvalue if discordant else 1.0
    chi2 = ((abs(only_b - only_a) - 1) ** 2 / discordant) if discordant else 0.0
    return {**row, "share_a": float(x_a.mean()), "share_b": float(x_b.mean()),
            "difference": difference, "low": difference - half, "high": difference + half,
            "boot_low": float(np.quantile(boot, tail)),
            "boot_high": float(np.quantile(boot, 1 - tail)),
            "mcnemar_exact_p": float(exact),
            "mcnemar_chi2_p": float(stats.chi2.sf(chi2, 1)) if discordant else 1.0}


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (same order; NaN stays NaN).

    Written here rather than taken from statsmodels, which the project does not otherwise need.
    """
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    known = np.flatnonzero(~np.isnan(p))
    order = known[np.argsort(p[known], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def paired_contrasts(runs: pd.DataFrame, pairs: list[tuple[int, int]], outcome: str = "dead",
                     confidence: float = 0.95, resamples: int = 2000, seed: int = 0
                     ) -> pd.DataFrame:
    """`paired_contrast` for each (a, b) pair, one row each."""
    return pd.DataFrame([paired_contrast(runs, a, b, outcome, confidence, resamples, seed)
                         for a, b in pairs])


# ------------------------------------------------------------------------------ sensitivity


def point_outputs(runs: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Per design point (rows in point_id order): death share, mean years to death (runs not
    dead count at the horizon) and mean total outputs, averaged over replicates."""
    dead = runs["outcome"] == "dead"
    years = np.where(dead, (runs["death_quarter"] + 1) / 4, horizon / 4)
    frame = pd.DataFrame({"point_id": runs["point_id"], "death share": dead.astype(float),
                          "years to death": years,
                          "total outputs": runs["total_outputs"].astype(float)})
    return frame.groupby("point_id", sort=True).mean()


def sobol_indices(problem: dict, outputs: pd.DataFrame, confidence: float = 0.95,
                  resamples: int = 200, seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices of each output column (SALib, Saltelli sampling
    without second order), with bootstrap intervals; one row per output and factor."""
    from SALib.analyze import sobol

    rows = []
    for name in outputs.columns:
        y = outputs[name].to_numpy(dtype=float)
        if np.ptp(y) == 0:
            result = dict.fromkeys(("S1", "S1_conf", "ST", "ST_conf"),
                                   np.zeros(problem["num_vars"]))
        else:
            result = sobol.analyze(problem, y, calc_second_order=False,
                                   num_resamples=resamples, conf_level=confidence, seed=seed)
        for i, factor in enumerate(problem["names"]):
            rows.append({"output": name, "factor": factor,
                         "S1": float(result["S1"][i]), "S1_conf": float(result["S1_conf"][i]),
                         "ST": float(result["ST"][i]), "ST_conf": float(result["ST_conf"][i])})
    return pd.DataFrame(rows)


def oat_effects(points: pd.DataFrame, factor_keys: list[str], base_point: int = 0
                ) -> pd.DataFrame:
    """One-at-a-time effects: for each point that moves one factor from the base point, the
    factor, its level and the change in each outcome share (points: one row per point with
    factor columns and alive / zombie / dead shares)."""
    base = points.loc[points["point_id"] == base_point].iloc[0]
    rows = []
    for _, point in points.iterrows():
        moved = [k for k in factor_keys if point[k] != base[k]]
        if len(moved) != 1:
            continue
        key = moved[0]
        rows.append({"factor": key, "base": base[key], "level": point[key],
                     "point_id": int(point["point_id"]),
                     **{name: point[name] for name in STATE_NAMES},
                     **{f"{name}_change": point[name] - base[name] for name in STATE_NAMES}})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ regions


def zombie_regions(runs: pd.DataFrame, factor_keys: list[str], max_depth: int = 3,
                   min_leaf_share: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Regions of factor space where runs end zombie or dead: the leaves of a shallow decision
    tree (scikit-learn), each as a rule with its coverage and density.

    Sibling leaves that predict the same class are merged into their parent, so each rule is as
    short as the tree allows. Coverage: the share of all zombie or dead runs that fall under the
    rule. Density: the share of the rule's runs that end zombie or dead. `predicted` marks rules
    where they are the majority.
    """
    regions = rule_regions(runs, factor_keys, (runs["outcome"] != "alive").to_numpy(),
                           max_depth, min_leaf_share, seed)
    return regions.rename(columns={"hits": "not_alive"})


def rule_regions(frame: pd.DataFrame, keys: list[str], target: np.ndarray, max_depth: int = 3,
                 min_leaf_share: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Rules over `keys` for the rows where `target` is true: the leaves of a shallow decision
    tree (scikit-learn), with sibling leaves of one class merged into their parent.

    Coverage: the share of all target rows under the rule; density: the share of the rule's
    rows that are target rows; `predicted`: rules where they are the majority.
    """
    from sklearn.tree import DecisionTreeClassifier

    runs, factor_keys = frame, keys
    features = runs[factor_keys].astype(float).to_numpy()
    target = np.asarray(target, dtype=bool)
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed,
                                  min_samples_leaf=max(5, int(min_leaf_share * len(runs))))
    tree.fit(features, target)
    structure = tree.tree_
    paths = tree.decision_path(features)  # runs x nodes: which nodes each run passes
    size = np.asarray(paths.sum(axis=0)).ravel()
    hits = np.asarray(paths.T @ target.astype(np.int64)).ravel()
    majority = hits * 2 > size
    total = max(int(target.sum()), 1)
    kinds = {k: bool if runs[k].dtype == bool else
             int if pd.api.types.is_integer_dtype(runs[k]) else float for k in factor_keys}

    def uniform(node: int) -> bool | None:
        """The class every leaf under a node predicts, or None if they differ."""
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:
            return bool(majority[node])
        a, b = uniform(left), uniform(right)
        return a if a is not None and a == b else None

    rows = []

    def walk(node: int, bounds: dict[str, tuple[float, float]]) -> None:
        left, right = structure.children_left[node], structure.children_right[node]
        predicted = uniform(node)
        if predicted is not None:
            rows.append({"rule": _rule_text(bounds, kinds), "runs": int(size[node]),
                         "hits": int(hits[node]), "coverage": hits[node] / total,
                         "density": hits[node] / max(int(size[node]), 1),
                         "predicted": predicted})
            return
        key = factor_keys[structure.feature[node]]
        threshold = float(structure.threshold[node])
        low, high = bounds.get(key, (-np.inf, np.inf))
        walk(left, {**bounds, key: (low, min(high, threshold))})
        walk(right, {**bounds, key: (max(low, threshold), high)})

    walk(0, {})
    table = pd.DataFrame(rows, columns=["rule", "runs", "hits", "coverage", "density",
                                        "predicted"])
    return table.sort_values(["predicted", "density"], ascending=False, ignore_index=True)


def _rule_text(bounds: dict[str, tuple[float, float]], kinds: dict[str, type]) -> str:
    """A leaf's bounds as `key ≤ x and key > y`, with true/false and whole numbers shown as such.

    The tree sends values ≤ threshold left, > threshold right.
    """
    parts = []
    for key, (low, high) in bounds.items():
        kind = kinds[key]
        if kind is bool and " = " in key:  # one form of a choice: `mechanisms.dues = full`
            parts.append(key if not np.isfinite(high) else key.replace(" = ", " ≠ ", 1))
        elif kind is bool:
            parts.append(f"{key} = {'false' if np.isfinite(high) else 'true'}")
        elif kind is int:
            lo = int(np.floor(low)) + 1 if np.isfinite(low) else None
            hi = int(np.floor(high)) if np.isfinite(high) else None
            if lo is not None and hi is not None:
                parts.append(f"{lo} ≤ {key} ≤ {hi}" if lo != hi else f"{key} = {lo}")
            elif lo is not None:
                parts.append(f"{key} ≥ {lo}")
            else:
                parts.append(f"{key} ≤ {hi}")
        else:
            if np.isfinite(low) and np.isfinite(high):
                parts.append(f"{low:.3g} < {key} ≤ {high:.3g}")
            elif np.isfinite(low):
                parts.append(f"{key} > {low:.3g}")
            else:
                parts.append(f"{key} ≤ {high:.3g}")
    return " and ".join(parts) if parts else "all runs"
