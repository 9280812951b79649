"""Statistics of run results, checked against published values and hand computations."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.inference import statistics as analysis

# Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of
# seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (score, no continuity
# correction).
NEWCOMBE_1998 = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
                 (1, 29, 0.0061, 0.1718)]


@pytest.mark.parametrize(("successes", "trials", "low", "high"), NEWCOMBE_1998)
def test_wilson_interval_matches_newcombe_1998(successes, trials, low, high):
    got = analysis.wilson_interval(successes, trials)
    assert round(got[0], 4) == low and round(got[1], 4) == high


def test_shares_by_point_uses_the_same_wilson_intervals():
    outcomes = ["dead"] * 81 + ["alive"] * 150 + ["zombie"] * 32 + ["dead"] * 15 + \
        ["alive"] * 133
    runs = pd.DataFrame({"point_id": [0] * 263 + [1] * 148, "outcome": outcomes,
                         "group.secretariat": [False] * 263 + [True] * 148})
    table = analysis.shares_by_point(runs, ["group.secretariat"])
    assert list(table["runs"]) == [263, 148]
    assert list(table["dead_count"]) == [81, 15]
    for row in table.itertuples():
        for name in ("alive", "zombie", "dead"):
            count = getattr(row, f"{name}_count")
            low, high = analysis.wilson_interval(count, row.runs)
            assert getattr(row, f"{name}_low") == pytest.approx(low, abs=1e-12)
            assert getattr(row, f"{name}_high") == pytest.approx(high, abs=1e-12)
    assert table[["alive", "zombie", "dead"]].sum(axis=1).tolist() == pytest.approx([1, 1])


def test_kaplan_meier_matches_a_hand_computation():
    # Six groups: deaths at 1, 2, 3, 5 years; censored at 2 and 4 years.
    durations = [1, 2, 2, 3, 4, 5]
    observed = [True, True, False, True, False, True]
    # By hand, S(t) = product over event times of (1 - d / n):
    #   t=1: n=6, d=1 -> 5/6
    #   t=2: n=5, d=1 (the other leaves censored) -> 5/6 * 4/5 = 2/3
    #   t=3: n=3, d=1 -> 2/3 * 2/3 = 4/9
    #   t=4: n=2, censored only -> 4/9
    #   t=5: n=1, d=1 -> 0
    curve = analysis.kaplan_meier(durations, observed).set_index("time")
    assert curve.loc[[1, 2, 3, 4, 5], "survival"].tolist() == pytest.approx(
        [5 / 6, 2 / 3, 4 / 9, 4 / 9, 0.0])
    assert curve.loc[[1, 2, 3, 4, 5], "at_risk"].tolist() == [6, 5, 3, 2, 1]
    assert curve.loc[[1, 2, 3, 4, 5], "events"].tolist() == [1, 1, 1, 0, 1]
    # The band at t=1 by hand: Greenwood sum G = d / (n (n - d)) = 1/30; log(-log) transform
    # exp(-exp(log(-log S) ± z sqrt(G) / log S)).
    s, g, z = 5 / 6, 1 / 30, stats.norm.ppf(0.975)
    bounds = sorted(math.exp(-math.exp(math.log(-math.log(s)) + sign * z * math.sqrt(g)
                                       / math.log(s))) for sign in (1, -1))
    assert curve.loc[1, "low"] == pytest.approx(bounds[0], abs=1e-6)
    assert curve.loc[1, "high"] == pytest.approx(bounds[1], abs=1e-6)
    assert analysis.median_survival(curve.reset_index())[0] == 3.0


def test_event_times_censor_at_horizon_and_zombies_at_death():
    runs = pd.DataFrame({"death_quarter": [3.0, np.nan, 9.0, np.nan],
                         "first_zombie_quarter": [np.nan, 7.0, 8.0, np.nan]})
    death = analysis.event_times(runs, "death", horizon=40)
    assert death["years"].tolist() == [1.0, 10.0, 2.5, 10.0]
    assert death["observed"].tolist() == [True, False, True, False]
    zombie = analysis.event_times(runs, "zombie", horizon=40)
    assert zombie["years"].tolist() == [1.0, 2.0, 2.25, 10.0]  # run 0 censored at its death
    assert zombie["observed"].tolist() == [False, True, True, False]


def test_median_survival_not_reached_is_infinite():
    curve = analysis.kaplan_meier([1, 2, 3, 4], [True, False, False, False])
    median, _, high = analysis.median_survival(curve)
    assert np.isinf(median) and np.isinf(high)


def _survival_runs(rng, hazards: dict[int, float], n: int = 150, horizon: int = 40):
    rows = []
    for point_id, hazard in hazards.items():
        quarters = rng.geometric(hazard, n) - 1.0
        quarters[quarters >= horizon] = np.nan
        rows.append(pd.DataFrame({"point_id": point_id, "death_quarter": quarters,
                                  "first_zombie_quarter": np.nan}))
    return pd.concat(rows, ignore_index=True)


def test_logrank_separates_different_hazards_and_not_equal_ones():
    rng = np.random.default_rng(4)
    runs = _survival_runs(rng, {0: 0.02, 1: 0.02, 2: 0.08})
    overall, pairs = analysis.logrank_tests(runs, "death", horizon=40)
    assert overall["df"] == 2 and overall["p"] < 1e-6
    p = {(r.a, r.b): r.p for r in pairs.itertuples()}
    assert p[(0, 1)] > 0.01 and p[(0, 2)] < 1e-6 and p[(1, 2)] < 1e-6
    curves, medians = analysis.survival_by_point(runs, "death", horizon=40)
    assert set(curves["point_id"]) == {0, 1, 2}
    assert medians.set_index("point_id").loc[2, "median"] < 4  # about ln 2 / 0.08 quarters


def _paired_runs(rng, n: int, death_a: float, death_b: float) -> pd.DataFrame:
    """Common random numbers: one uniform per replicate decides death at both points."""
    u = rng.random(n)
    rows = [pd.DataFrame({"point_id": point, "replicate": np.arange(n),
                          "outcome": np.where(u < share, "dead", "alive")})
            for point, share in ((0, death_a), (1, death_b))]
    return pd.concat(rows, ignore_index=True)


def test_paired_contrast_recovers_a_known_effect():
    runs = _paired_runs(np.random.default_rng(1), 2000, 0.30, 0.20)
    row = analysis.paired_contrast(runs, 0, 1)
    assert row["difference"] < 0
    assert row["low"] <= -0.10 <= row["high"]
    assert row["boot_low"] <= -0.10 <= row["boot_high"]
    assert row["high"] < 0 and row["boot_high"] < 0
    assert row["only_b"] == 0 and row["only_a"] > 100  # nested events: only a dies alone
    assert row["mcnemar_exact_p"] < 1e-10 and row["mcnemar_chi2_p"] < 1e-10
    reverse = analysis.paired_contrast(runs, 1, 0)
    assert reverse["difference"] == pytest.approx(-row["difference"])


def test_paired_contrast_without_effect_covers_zero():
    rng = np.random.default_rng(2)
    u, v, redraw = rng.random(500), rng.random(500), rng.random(500) < 0.1
    runs = pd.concat([  # b shares a's draw in 90 % of replicates; same death probability
        pd.DataFrame({"point_id": 0, "replicate": np.arange(500),
                      "outcome": np.where(u < 0.3, "dead", "alive")}),
        pd.DataFrame({"point_id": 1, "replicate": np.arange(500),
                      "outcome": np.where(np.where(redraw, v, u) < 0.3, "dead", "alive")})])
    table = analysis.paired_contrasts(runs, [(0, 1)])
    row = table.iloc[0]
    assert row["low"] <= 0 <= row["high"] and row["boot_low"] <= 0 <= row["boot_high"]
    assert row["mcnemar_exact_p"] > 0.05


def test_sobol_indices_recover_the_ishigami_function():
    from SALib.sample import sobol as saltelli
    from SALib.test_functions import Ishigami

    a, b = 7.0, 0.1
    # Known values (Ishigami & Homma 1990; Saltelli et al. 2008): partial variances
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * np.pi**8 / 225
    v = v1 + v2 + v13
    s1 = [v1 / v, v2 / v, 0.0]  # 0.314, 0.442, 0
    st = [(v1 + v13) / v, v2 / v, v13 / v]  # 0.558, 0.442, 0.244
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    x = saltelli.sample(problem, 2048, calc_second_order=False, seed=7)
    y = pd.DataFrame({"ishigami": Ishigami.evaluate(x, A=a, B=b)})
    indices = analysis.sobol_indices(problem, y).set_index("factor")
    assert indices["S1"].tolist() == pytest.approx(s1, abs=0.03)
    assert indices["ST"].tolist() == pytest.approx(st, abs=0.03)
    assert (indices["S1_conf"] > 0).all() and (indices["ST_conf"] < 0.1).all()


def test_point_outputs_average_over_replicates():
    runs = pd.DataFrame({"point_id": [0, 0, 1, 1], "outcome": ["dead", "alive", "zombie", "dead"],
                         "death_quarter": [7.0, np.nan, np.nan, 39.0],
                         "total_outputs": [10, 30, 5, 15]})
    out = analysis.point_outputs(runs, horizon=40)
    assert out["death share"].tolist() == [0.5, 0.5]
    assert out["years to death"].tolist() == [(2 + 10) / 2, (10 + 10) / 2]
    assert out["total outputs"].tolist() == [20, 10]


def test_complete_series_fills_quarters_after_death():
    series = pd.DataFrame({"run_id": [0, 0, 1, 1, 1], "point_id": 3, "quarter": [0, 1, 0, 1, 2],
                           "state": ["alive", "dead", "alive", "zombie", "alive"],
                           "outputs": [2, 0, 1, 0, 3], "mean_engagement": 0.5})
    full = analysis.complete_series(series, horizon=3)
    assert len(full) == 6 and (full["point_id"] == 3).all()
    dead_run = full[full["run_id"] == 0]
    assert dead_run["state"].tolist() == ["alive", "dead", "dead"]
    assert dead_run["outputs"].tolist() == [2, 0, 0]
    assert np.isnan(dead_run["mean_engagement"].iloc[2])
    shares = analysis.state_shares_by_quarter(full)
    assert shares.loc[2].to_dict() == {"alive": 0.5, "zombie": 0.0, "dead": 0.5}
    bands = analysis.quantile_bands(full, "outputs")
    assert bands.loc[0, 0.5] == 1.5


def test_oat_effects_name_the_moved_factor():
    points = pd.DataFrame({"point_id": [0, 1, 2], "a": [1.0, 2.0, 1.0], "b": [0, 0, 5],
                           "alive": [0.5, 0.2, 0.9], "zombie": [0.3, 0.3, 0.1],
                           "dead": [0.2, 0.5, 0.0]})
    effects = analysis.oat_effects(points, ["a", "b"]).set_index("factor")
    assert effects.loc["a", "level"] == 2.0 and effects.loc["a", "dead_change"] == \
        pytest.approx(0.3)
    assert effects.loc["b", "level"] == 5 and effects.loc["b", "dead_change"] == \
        pytest.approx(-0.2)


def test_zombie_regions_find_a_planted_region():
    rng = np.random.default_rng(3)
    n = 4000
    trend = rng.uniform(-0.06, 0.0, n)
    secretariat = rng.random(n) < 0.5
    breadth = rng.integers(3, 13, n)
    bad = (trend < -0.03) & ~secretariat
    noisy = np.where(rng.random(n) < 0.05, ~bad, bad)
    runs = pd.DataFrame({"members.*.budget_trend": trend, "group.secretariat": secretariat,
                         "group.agenda_breadth": breadth,
                         "outcome": np.where(noisy, "zombie", "alive")})
    leaves = analysis.zombie_regions(runs, ["members.*.budget_trend", "group.secretariat",
                                            "group.agenda_breadth"])
    assert leaves["runs"].sum() == n
    best = leaves[leaves["predicted"]]
    assert len(best) == 1, "sibling leaves of the same class are merged"
    assert best["rule"].iloc[0] == "members.*.budget_trend ≤ -0.0303 and group.secretariat = false"
    assert best["density"].iloc[0] > 0.9 and best["coverage"].iloc[0] > 0.8
    assert leaves["coverage"].sum() == pytest.approx(1.0)
