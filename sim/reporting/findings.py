"""The findings a report opens with: sentences written from the results, each with its number
and its interval.

An experiment's findings: how its runs end overall; for each factor that varies, its largest
effect on the shares alive, zombie and dead (and the active years at the same point), between
the ends of its range with every other factor held (paired by replicate under common random
numbers); where the most common outcome changes along a numeric factor; the rule that covers
most zombie or dead runs; and the factors too small to tell from zero.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd

from sim.inference import statistics
from sim.reporting.labels import key_label, meaning

SHARES = ("alive", "zombie", "dead")
MAX_FACTORS = 4  # factors with a sentence of their own
MAX_SLICES = 12  # settings of the other factors compared per factor


def factor_effects(runs: pd.DataFrame, factors: list[str], horizon: int) -> pd.DataFrame:
    """For every factor, every setting of the others and every outcome: the paired effect of
    moving the factor from the lowest level to the highest (point b against point a).

    Columns: factor, a, b, outcome (alive, zombie, dead, active_years, zombie_years), value_a,
    value_b,
    difference, low, high, p (McNemar's exact test for a share, Wilcoxon's for active years).
    """
    from sim.inference.claims import metrics

    points = runs.groupby("point_id", sort=True)[factors].first()
    measured = metrics(runs, horizon)
    rows = []
    for factor in factors:
        others = [k for k in factors if k != factor]
        groups = points.groupby(others, sort=False) if others else [((), points)]
        for _, group in itertools.islice(groups, MAX_SLICES):
            ordered = group.sort_values(factor, kind="stable")
            if ordered[factor].nunique() < 2:
                continue
            a, b = int(ordered.index[0]), int(ordered.index[-1])
            rows += [{"factor": factor, **row} for row in paired_rows(
                runs, measured, a, b, ("active_years", "zombie_years"))]
    return pd.DataFrame(rows)


def paired_rows(runs: pd.DataFrame, measured: pd.DataFrame, a: int, b: int,
                years: tuple[str, ...] = ("active_years",)) -> list[dict]:
    """Point b against point a, paired by replicate: the shares alive, zombie and dead
    (McNemar's exact test) and each metric of `years` in `measured` (`claims.metrics`, one row
    per run; Wilcoxon's test). Keys: a, b, outcome, pairs, value_a, value_b, difference, low,
    high, p."""
    from sim.inference.verdicts import paired_effect

    rows = []
    for outcome in SHARES:
        row = statistics.paired_contrast(runs, a, b, outcome, resamples=0)
        rows.append({"a": a, "b": b, "outcome": outcome, "pairs": row["pairs"],
                     "value_a": row["share_a"], "value_b": row["share_b"],
                     "difference": row["difference"], "low": row["low"],
                     "high": row["high"], "p": row["mcnemar_exact_p"]})
    for outcome in years:
        left = runs.loc[runs["point_id"] == a, ["replicate"]].assign(y=measured[outcome])
        right = runs.loc[runs["point_id"] == b, ["replicate"]].assign(y=measured[outcome])
        both = left.merge(right, on="replicate", suffixes=("_a", "_b"))
        effect = paired_effect(both["y_a"], both["y_b"], outcome, 0.95, resamples=2000)
        rows.append({"a": a, "b": b, "outcome": outcome, "pairs": len(both),
                     "value_a": effect["baseline"], "value_b": effect["treatment"],
                     "difference": effect["effect"], "low": effect["low"],
                     "high": effect["high"], "p": effect["p"]})
    return rows


def slices_along(runs: pd.DataFrame, frame: pd.DataFrame, factors: list[str]):
    """For each numeric factor with three levels or more, each setting of the other factors
    (at most `MAX_SLICES`): (factor, the other factors, their setting, `frame`'s rows in it)."""
    for factor in factors:
        if runs[factor].dtype == bool or not pd.api.types.is_numeric_dtype(runs[factor]) or \
                runs[factor].nunique() < 3:
            continue
        others = [k for k in factors if k != factor]
        groups = frame.groupby(others, sort=False) if others else [((), frame)]
        for setting, part in itertools.islice(groups, MAX_SLICES):
            yield factor, others, setting, part


def crossings(runs: pd.DataFrame, factors: list[str]) -> list[dict]:
    """Along each numeric factor with three levels or more, per setting of the others, where the
    most common outcome changes: one entry per change."""
    points = runs.groupby("point_id", sort=True)[factors].first()
    table = statistics.shares_by_point(runs, factors).set_index("point_id")
    found = []
    for factor, others, setting, group in slices_along(runs, points, factors):
        ordered = group.sort_values(factor)
        modal = table.loc[ordered.index, list(SHARES)].idxmax(axis=1)
        for (i, before), (j, after) in itertools.pairwise(modal.items()):
            if before != after:
                found.append({"factor": factor,
                              "setting": dict(zip(others, np.atleast_1d(setting), strict=True)),
                              "from_value": ordered.loc[i, factor],
                              "to_value": ordered.loc[j, factor],
                              "from_outcome": before, "to_outcome": after,
                              "from_share": float(table.loc[i, before]),
                              "to_share": float(table.loc[j, after])})
    return found


def experiment_findings(runs: pd.DataFrame, factors: list[str], varied: list[str],
                        horizon: int, paired: bool, design: str,
                        fmt=lambda v: f"{v}") -> list[str]:
    """Three to six sentences on what an experiment found; `fmt` writes a factor's value."""
    sentences = [_overall_sentence(runs, varied, horizon, fmt)]
    quiet = []
    if varied and paired and design in ("grid", "oat"):
        effects = factor_effects(runs, varied[:MAX_FACTORS], horizon)
        for factor in varied[:MAX_FACTORS]:
            mine = effects[effects["factor"] == factor]
            if mine.empty:
                continue
            shares_only = mine[mine["outcome"].isin(SHARES)]
            detected = shares_only[(shares_only["low"] > 0) | (shares_only["high"] < 0)]
            if detected.empty:
                largest = shares_only["difference"].abs().max()
                quiet.append(f"{key_label(factor)} (largest change {100 * largest:.1f} points)")
                continue
            top = detected.loc[detected["difference"].abs().idxmax()]
            sentences.append(_factor_sentence(runs, factor, varied, top, mine, fmt))
    if quiet:
        sentences.append(f"Too small to tell from zero: {', '.join(quiet)}: no share moves "
                         "with a 95 % interval clear of zero between the ends of the range, "
                         "at any setting of the other factors.")
    sentences += [not_monotone_sentence(turn, fmt) for turn in turns(runs, varied)[:1]]
    by_slice: dict[tuple, list[dict]] = {}
    for change in crossings(runs, varied):
        key = (change["factor"], tuple(change["setting"].items()))
        by_slice.setdefault(key, []).append(change)
    for (factor, setting), changes in list(by_slice.items())[:2]:
        where = ", ".join(f"{key_label(k)} = {fmt(v)}" for k, v in setting)
        steps = [f"{changes[0]['from_outcome']} at {fmt(changes[0]['from_value'])} "
                 f"({changes[0]['from_share']:.1%})"]
        steps += [f"{c['to_outcome']} at {fmt(c['to_value'])} ({c['to_share']:.1%})"
                  for c in changes]
        listed = ", ".join(steps[:-1]) + " and " + steps[-1]
        sentences.append(f"Along {key_label(factor)}{' with ' + where if where else ''}, most "
                         "runs end "
                         f"{listed}: the most common outcome changes "
                         f"{'between these levels' if len(changes) == 1 else 'more than once'}"
                         ".")
    rule = _zombie_rule(runs, varied)
    if rule:
        sentences.append(rule)
    return sentences[:6] if len(sentences) > 6 else sentences


def _overall_sentence(runs: pd.DataFrame, varied: list[str], horizon: int, fmt) -> str:
    """How the runs end: over all of them at a single point, else the range of the share
    alive over the design points (a share pooled over a grid would depend on the grid)."""
    points = runs["point_id"].nunique()
    if points == 1 or not varied:
        shares = statistics.outcome_shares(runs["outcome"]).set_index("outcome")
        overall = ", ".join(f"{shares.loc[name, 'share']:.1%} {name} "
                            f"({shares.loc[name, 'low']:.1%} to {shares.loc[name, 'high']:.1%})"
                            for name in SHARES)
        return (f"Over all {len(runs):,} runs ({points} design point"
                f"{'s' if points != 1 else ''}), after {horizon / 4:g} years: {overall} "
                "(Wilson 95 % intervals).")
    alive = runs.assign(alive=runs["outcome"] == "alive").groupby("point_id")["alive"].mean()
    first = runs.groupby("point_id")[varied].first()

    def where(point: int) -> str:
        return ", ".join(f"{meaning(k)} = {fmt(first.loc[point, k])}" for k in varied[:3])

    low, high = int(alive.idxmin()), int(alive.idxmax())
    return (f"After {horizon / 4:g} years, the share of runs alive ranges over the "
            f"{points} design points from {alive[low]:.1%} ({where(low)}) to "
            f"{alive[high]:.1%} ({where(high)}); {len(runs):,} runs in all.")


def _factor_sentence(runs, factor, varied, top, mine, fmt) -> str:
    a, b = int(top["a"]), int(top["b"])
    first = runs[runs["point_id"] == a].iloc[0]
    last = runs[runs["point_id"] == b].iloc[0]
    held = [k for k in varied if k != factor]
    where = (" with " + ", ".join(f"{key_label(k)} = {fmt(first[k])}" for k in held)
             if held else "")
    at = mine[mine["a"] == a].set_index("outcome")
    years, zombie = at.loc["active_years"], at.loc["zombie_years"]
    return (f"{key_label(factor)} from {fmt(first[factor])} to {fmt(last[factor])} moves the "
            f"{top['outcome']} share most{where}: {top['value_a']:.1%} → {top['value_b']:.1%} "
            f"({100 * top['difference']:+.1f} points, 95 % CI {100 * top['low']:+.1f} to "
            f"{100 * top['high']:+.1f}; paired by replicate), the years before a first zombie "
            f"quarter or death by {years['difference']:+.2f} ({years['low']:+.2f} to "
            f"{years['high']:+.2f}) and the years spent as a zombie by "
            f"{zombie['difference']:+.2f} ({zombie['low']:+.2f} to {zombie['high']:+.2f}).")


def turns(runs: pd.DataFrame, factors: list[str]) -> list[dict]:
    """Where a share at the horizon is not monotone along a numeric factor (three levels or
    more, per setting of the others): it rises and falls, each step clear of the Wilson 95 %
    intervals. Each entry has the levels, the shares, the share of runs that ever lapsed and
    the revivals a run at each level."""
    found = []
    for factor, others, setting, part in slices_along(runs, runs, factors):
        by_level = part.groupby(factor, sort=True)
        for name in SHARES:
            hits = by_level["outcome"].agg(lambda s, n=name: int((s == n).sum()))
            sizes = by_level.size()
            bounds = [statistics.wilson_interval(h, n) for h, n in zip(hits, sizes, strict=True)]
            share = list(hits / sizes)
            signs = [np.sign(share[i + 1] - share[i])
                     if bounds[i + 1][0] > bounds[i][1] or bounds[i][0] > bounds[i + 1][1]
                     else 0 for i in range(len(share) - 1)]
            if 1 in signs and -1 in signs:
                found.append({
                    "factor": factor, "outcome": name, "levels": list(hits.index),
                    "setting": dict(zip(others, np.atleast_1d(setting), strict=True)),
                    "shares": share,
                    "lapsed": list(by_level["first_zombie_quarter"].agg(
                        lambda s: float(s.notna().mean()))),
                    "revivals": list(by_level["revivals"].mean())})
    return found


def not_monotone_sentence(turn: dict, fmt=lambda v: f"{v}") -> str:
    """A share that is not monotone in a factor, in words, with the likely reason: revivals,
    when the runs that lapse more also revive more."""
    where = ", ".join(f"{key_label(k)} = {fmt(v)}" for k, v in turn["setting"].items())
    levels = [fmt(v) for v in turn["levels"]]

    def listed(values, form):
        return ", ".join(f"{form(v)} at {level}" for v, level in zip(values, levels,
                                                                     strict=True))

    text = (f"The {turn['outcome']} share at the horizon is not monotone in "
            f"{key_label(turn['factor'])}{' (with ' + where + ')' if where else ''}: "
            f"{listed(turn['shares'], lambda v: f'{v:.1%}')}. ")
    lapsed, revivals = np.asarray(turn["lapsed"]), np.asarray(turn["revivals"])
    if np.any(revivals > 0):
        text += (f"The share of runs that ever lapse into a zombie is "
                 f"{listed(lapsed, lambda v: f'{v:.1%}')}, and a run revives "
                 f"{listed(revivals, lambda v: f'{v:.2f}')} times on average: a group that "
                 "lapses early has more years in which to revive at its next apex meeting, so "
                 "the share alive at the horizon counts revived groups too (the years spent "
                 "as a zombie measure the harm without that turn).")
    return text


def _zombie_rule(runs: pd.DataFrame, varied: list[str]) -> str:
    not_alive = runs["outcome"] != "alive"
    if not varied or not_alive.sum() < 10 or not_alive.all():
        return ""
    leaves = statistics.zombie_regions(runs, varied)
    predicted = leaves[leaves["predicted"]]
    if predicted.empty:
        return ""
    best = predicted.loc[predicted["coverage"].idxmax()]
    rule = re.sub(r"((?:group|world|members|mechanisms)\.[\w*]+(?:\.\w+)?(?:@\w+)?)",
                  lambda m: key_label(m.group(1)), best["rule"])
    return (f"Runs end zombie or dead mostly where {rule}: the rule covers "
            f"{best['coverage']:.1%} of the zombie or dead runs, and {best['density']:.1%} of "
            "the runs under it end so (a decision tree over the factors).")
