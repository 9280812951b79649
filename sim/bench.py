"""Benchmarks: throughput of the engines and of experiments, measured in one process run.

Ratios are measured side by side in the same run, so a busy machine slows all of them alike;
absolute figures are only indicative. `minilat bench` prints them; scripts in `benchmarks/`
call the same functions.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

from sim.model.scenario_files import load_scenario


@dataclass
class Measure:
    label: str
    runs: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.runs / self.seconds


def _best_of(repeats: int, work: Callable[[], int], label: str) -> Measure:
    """The fastest of several repeats: the least disturbed by other load on the machine."""
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        runs = work()
        seconds = time.perf_counter() - start
        if best is None or seconds < best.seconds:
            best = Measure(label, runs, seconds)
    return best


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}")


# ------------------------------------------------------------------------------ engines


def mesa_engine(scenario, seeds) -> int:
    from sim.model.mesa_engine import MinilateralModel

    for seed in seeds:
        MinilateralModel(scenario, int(seed)).run()
    return len(seeds)


def fast_engine(scenario, seeds) -> int:
    from sim.model.fast_engine import run_batch

    run_batch(scenario, seeds)
    return len(seeds)


def mesa_batch_run(scenario, seeds, processes: int = 1) -> int:
    """mesa.batch_run over the same seeds, collecting only final results."""
    import mesa

    from sim.model.mesa_engine import MinilateralModel

    mesa.batch_run(MinilateralModel, parameters={"scenario": scenario, "seed": list(seeds),
                                                 "collect_data": True},
                   number_processes=processes, iterations=1, data_collection_period=-1,
                   display_progress=False)
    return len(seeds)


def _row_sum(x: np.ndarray, out: np.ndarray) -> None:
    """Sum over a short last axis, in place: the fastest form numpy offers for it."""
    np.add(x[:, 0], x[:, 1], out=out)
    for i in range(2, x.shape[1]):
        np.add(out, x[:, i], out=out)


def numpy_lower_bound(runs: int, quarters: int, members: int) -> int:
    """The arithmetic of the model's update for `runs` runs over `quarters` quarters, and no more.

    The same mechanisms as the fast engine (budget, crisis, governments and ministers with the
    successor's carried ownership, rival bloc, chair at term starts, value, cost on workload,
    attention, engagement, the larger forum's absorption of value, Poisson outputs of officials
    and ministers and of statements answering outside events, scheduled summits, visibility,
    exits by drift and by a new government's review, the apex level and state), with its
    random inputs drawn in one
    bulk call, on preallocated arrays updated in place: no per-run seeding, no masks for dead
    runs, no recording, no summary, no rule calls. A floor that no engine doing the model's work
    can beat.
    """
    rng = np.random.default_rng(0)
    shape = (runs, members)
    u = rng.random((quarters, 9, runs, members))  # the member streams the update reads
    ug = rng.random((quarters, 5, runs))  # officials, ministers, reactions, rival rounds, crises
    z = special.ndtri(u[:, 0])
    keep, vol, trend = 1 - 0.5 * 0.25, 0.1 * 0.5, np.full(shape, -0.01)
    p_crisis, depth, split, affinity = 1 - np.exp(-0.3 * 0.25), 0.5, 0.3, np.full(shape, 0.3)
    reach, capacity, fit = np.ones(shape), np.full(shape, 0.5), np.full(shape, 0.4)
    log_budget, budget, path = np.zeros(shape), np.ones(shape), np.zeros(shape)
    engagement, target = np.full(shape, 0.5), np.empty(shape)
    value, cost, tmp, tmp2 = np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape)
    enthusiasm, attention = np.full(shape, 0.9), np.empty(shape)
    crisis_left, crisis = np.zeros(shape), np.zeros(shape, dtype=bool)
    mask, mask2 = np.empty(shape, dtype=bool), np.empty(shape, dtype=bool)
    in_rival, active = np.zeros(shape, dtype=bool), np.ones(shape, dtype=bool)
    new_government = np.empty(shape, dtype=bool)
    low, weighted, partners = np.zeros(shape), np.empty(shape), np.empty(shape)
    total, mean_e, rate, visibility = (np.empty(runs), np.empty(runs), np.empty(runs),
                                       np.full(runs, 3.0))
    outputs, term, cdf, effort = (np.empty(runs), np.empty(runs), np.empty(runs),
                                  np.empty(runs))
    history = np.zeros((3, runs, quarters))  # outputs of each level
    level_outputs, in_window = np.empty((3, runs)), np.zeros((3, runs))
    rates, least = np.empty((3, runs)), np.empty(runs)
    apex, last_apex, last_active = (np.zeros(runs), np.zeros(runs), np.zeros(runs))
    happened, qualified, any_out = np.empty(runs), np.empty(runs), np.empty(runs, dtype=bool)
    since_summit, due = np.zeros(runs), np.empty(runs, dtype=bool)
    covered, others = np.empty(shape), np.empty(runs)
    zombie, dead = np.empty(runs, dtype=bool), np.empty(runs, dtype=bool)
    chair, pointer = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    order = np.arange(members)
    rows = np.arange(runs)
    for t in range(quarters):
        # M1 budget
        np.subtract(log_budget, path, out=tmp)
        np.multiply(trend, (t + 1) * 0.25, out=path)
        np.multiply(tmp, keep, out=tmp)
        np.multiply(z[t], vol, out=log_budget)
        np.add(log_budget, tmp, out=log_budget)
        np.add(log_budget, path, out=log_budget)
        np.exp(log_budget, out=budget)
        np.maximum(budget, 0.05, out=budget)
        # M2 crisis: onset draw, length by inverse transform, countdown
        np.greater(crisis_left, 0, out=crisis)
        np.less(u[t, 1], p_crisis, out=mask)
        np.logical_and(mask, ~crisis, out=mask)
        np.log(u[t, 2], out=tmp)
        np.multiply(tmp, -3.0, out=tmp)
        np.ceil(tmp, out=tmp)
        np.subtract(crisis_left, 1, out=crisis_left)
        np.maximum(crisis_left, 0, out=crisis_left)
        np.copyto(crisis_left, tmp, where=mask)
        np.logical_or(crisis, mask, out=crisis)
        # M3 governments (an election's outcome) and ministers (or a reshuffle); the successor
        # carries part of the predecessor's ownership, as far as the group is routine
        np.less(u[t, 7], 0.025, out=new_government)
        np.less(u[t, 8], 0.04, out=mask)
        mask |= new_government
        np.divide(visibility, 3.0, out=term)
        np.minimum(term, 1.0, out=term)
        np.multiply(term, 0.5, out=term)
        np.multiply(enthusiasm, term[:, None], out=tmp)
        np.subtract(1.0, term, out=term)
        np.multiply(u[t, 3], term[:, None], out=tmp2)
        np.add(tmp, tmp2, out=tmp)
        np.copyto(enthusiasm, tmp, where=mask)
        # M9 rival bloc: invitations at a round, joins
        np.less(u[t, 4], affinity, out=mask)
        mask &= (ug[t, 1] < 0.025)[:, None]
        np.subtract(1.0, engagement, out=tmp)
        np.multiply(tmp, affinity, out=tmp)
        np.less(u[t, 5], tmp, out=mask2)
        mask &= mask2
        in_rival |= mask
        # M7 willingness; the chair at term starts: next willing member in rotation
        np.minimum(budget, 1.0, out=tmp2)
        np.multiply(engagement, tmp2, out=tmp2)
        if t % 4 == 0:
            candidates = (pointer[:, None] + order) % members
            ready = np.take_along_axis(tmp2, candidates, axis=1) >= 0.2
            first = ready.argmax(axis=1)
            chair = candidates[rows, first]
            pointer = (pointer + first + 1) % members
        np.copyto(effort, tmp2[rows, chair])
        # M4 value, M5 cost, M6 attention, target and engagement
        np.multiply(reach, engagement, out=weighted)
        _row_sum(weighted, total)
        np.subtract(total[:, None], weighted, out=partners)
        np.multiply(partners, capacity, out=value)
        np.multiply(value, 0.5, out=value)
        np.add(visibility, 3.0, out=term)
        np.divide(visibility, term, out=term)
        np.subtract(1.0, fit, out=tmp)
        np.multiply(tmp, term[:, None], out=weighted)
        np.multiply(weighted, 1.5, out=weighted)
        np.add(value, weighted, out=value)
        np.multiply(tmp, 0.2, out=weighted)
        np.add(value, weighted, out=value)
        _row_sum(in_rival, others)  # M9 absorption: the share of partners met in the bloc
        np.subtract(others[:, None], in_rival, out=covered)
        np.multiply(covered, in_rival, out=covered)
        np.multiply(covered, -0.5 / (members - 1), out=covered)
        np.add(covered, 1.0, out=covered)
        np.multiply(value, covered, out=value)
        np.divide(visibility, 3.0, out=term)  # M5 the work the group's activity asks
        np.multiply(term, 0.5, out=term)
        np.add(term, 0.5, out=term)
        np.divide(term[:, None], budget, out=cost)
        np.multiply(in_rival, 0.5, out=tmp)
        np.subtract(value, cost, out=tmp2)
        np.subtract(tmp2, tmp, out=tmp2)
        np.multiply(crisis, -depth, out=attention)
        np.add(attention, 1.0, out=attention)
        np.multiply(in_rival, -split, out=tmp)
        np.add(tmp, 1.0, out=tmp)
        np.multiply(attention, tmp, out=attention)
        np.multiply(tmp2, 8.0, out=tmp)
        special.expit(tmp, out=tmp)
        np.multiply(tmp, 0.85, out=tmp)
        np.add(tmp, 0.15, out=tmp)
        np.multiply(tmp, enthusiasm, out=tmp)
        tmp[rows, chair] += 0.3
        np.minimum(tmp, 1.0, out=tmp)
        np.multiply(tmp, attention, out=target)
        np.subtract(target, engagement, out=tmp)
        np.multiply(tmp, 0.3, out=tmp)
        np.add(engagement, tmp, out=engagement)
        # M8 activity at three levels: Poisson outputs by inverse transform (searching only)
        _row_sum(engagement, mean_e)
        np.divide(mean_e, members, out=mean_e)
        np.multiply(mean_e, effort, out=rates[1])
        np.multiply(rates[1], 2.4, out=rates[1])  # ministers: the chair's effort x engagement
        np.multiply(mean_e, 2.55, out=rates[0])  # officials: engagement
        np.multiply(mean_e, 1.5, out=rates[2])  # reactions: outside events x engagement
        outputs.fill(0)
        for level in range(3):  # officials, ministers, reactions (added to the ministers')
            rate = rates[level]
            np.negative(rate, out=term)
            np.exp(term, out=term)
            np.copyto(cdf, term)
            counts = level_outputs[level]
            counts.fill(0)
            uniform = ug[t, level]
            searching = np.flatnonzero(cdf < uniform)
            while searching.size:
                counts[searching] += 1
                term[searching] *= rate[searching] / counts[searching]
                cdf[searching] += term[searching]
                searching = searching[cdf[searching] < uniform[searching]]
            np.add(outputs, counts, out=outputs)
        np.add(level_outputs[1], level_outputs[2], out=level_outputs[1])
        np.min(engagement, axis=1, out=least)  # leaders: a summit when due and all committed
        np.greater_equal(since_summit, 3, out=due)
        np.greater_equal(least, 0.5, out=mask[:, 0])
        due &= mask[:, 0]
        np.copyto(level_outputs[2], due)
        np.add(since_summit, 1, out=since_summit)
        np.copyto(since_summit, 0, where=due)
        np.add(outputs, level_outputs[2], out=outputs)
        np.subtract(outputs, visibility, out=term)
        np.multiply(term, 0.25, out=term)
        np.add(visibility, term, out=visibility)
        # M10 exits: disengagement count, staying value
        np.less(engagement, 0.1, out=mask)
        np.multiply(low, mask, out=low)
        np.add(low, mask, out=low)
        np.multiply(cost, engagement, out=tmp)
        np.subtract(value, tmp, out=tmp)
        np.greater_equal(low, 8, out=mask)
        np.less(tmp, -0.2, out=mask2)
        mask &= mask2
        active &= ~mask
        np.add(tmp, 0.25, out=tmp)  # a new government's review: leaves with a logistic chance
        np.multiply(tmp, -6.4, out=tmp)
        special.expit(tmp, out=tmp)
        np.multiply(tmp, 0.5, out=tmp)
        np.less(u[t, 6], tmp, out=mask)
        mask &= new_government
        active &= ~mask
        # Outcome: windows of each level, the apex level, the last apex and active quarters,
        # death and state
        history[:, :, t] = level_outputs
        np.add(in_window, level_outputs, out=in_window)
        if t >= 12:
            np.subtract(in_window, history[:, :, t - 12], out=in_window)
        qualified.fill(-1)
        for level in range(3):
            np.copyto(qualified, level, where=in_window[level] >= 2)
        np.maximum(apex, qualified, out=apex)
        happened.fill(0)
        for level in range(3):
            np.add(happened, level_outputs[level] * (apex <= level), out=happened)
        np.copyto(last_apex, t, where=happened > 0)
        np.greater(outputs, 0, out=any_out)
        np.copyto(last_active, t, where=any_out)
        np.subtract(t, last_apex, out=term)
        np.greater_equal(term, 8, out=zombie)
        zombie &= t >= 8
        _row_sum(active, total)
        np.less(total, 3, out=dead)
        np.subtract(t, last_active, out=term)
        dead |= term >= 20
    return runs


@dataclass
class EngineReport:
    measures: list[Measure]
    lower_bound: Measure
    quarters: int

    def lines(self) -> list[str]:
        by = {m.label: m for m in self.measures}
        mesa, fast = by["Mesa engine"], by["fast engine"]
        rows = [f"{m.label:<38} {m.rate:>10,.1f} runs/s  ({m.runs} runs in {m.seconds:.2f} s)"
                for m in [*self.measures, self.lower_bound]]
        rows.append(f"fast / Mesa engine: {fast.rate / mesa.rate:,.0f}x (target >= 100x)")
        if "mesa.batch_run" in by:
            rows.append(f"fast / mesa.batch_run: {fast.rate / by['mesa.batch_run'].rate:,.0f}x")
        rows.append(f"lower bound / fast: {self.lower_bound.rate / fast.rate:.2f}x "
                    "(target <= 3x)")
        return rows


def bench_engines(scenario_name: str = "mikta", years: int = 30, mesa_runs: int = 40,
                  fast_runs: int = 4000, repeats: int = 3, with_batch_run: bool = True
                  ) -> EngineReport:
    """Runs per second of each engine on the same work (scenario, horizon, seeds)."""
    scenario = load_scenario(scenario_name, years=years)
    fast_seeds = np.arange(fast_runs)
    mesa_seeds = fast_seeds[:mesa_runs]
    fast_engine(scenario, fast_seeds[:100])  # warm-up
    mesa_engine(scenario, mesa_seeds[:2])
    from sim.model.fast_engine import run_batch

    result = run_batch(scenario, fast_seeds)
    quarters = int(np.sum(np.where(result.summary["death_quarter"] >= 0,
                                   result.summary["death_quarter"] + 1, scenario.quarters)))
    mean_quarters = quarters // fast_runs
    members = len(scenario.members)
    # The fast engine and its lower bound alternate, so a change of load on the machine
    # touches both alike; each keeps its fastest repeat.
    fast, bound = _interleaved(repeats, [
        ("fast engine", lambda: fast_engine(scenario, fast_seeds)),
        ("numpy lower bound (arithmetic only)",
         lambda: numpy_lower_bound(fast_runs, mean_quarters, members))])
    measures = [_best_of(repeats, lambda: mesa_engine(scenario, mesa_seeds), "Mesa engine"), fast]
    if with_batch_run:
        measures.append(_best_of(repeats, lambda: mesa_batch_run(scenario, mesa_seeds),
                                 "mesa.batch_run"))
    return EngineReport(measures, bound, mean_quarters)


def _interleaved(repeats: int, works: list[tuple[str, Callable[[], int]]]) -> list[Measure]:
    """The fastest repeat of each work, the works taking turns in every repeat."""
    best: list[Measure | None] = [None] * len(works)
    for _ in range(repeats):
        for i, (label, work) in enumerate(works):
            measure = _best_of(1, work, label)
            if best[i] is None or measure.seconds < best[i].seconds:
                best[i] = measure
    return best


# ------------------------------------------------------------------------------ experiments


def _experiment_file(folder: Path, runs: int, engine: str, years: int) -> Path:
    path = folder / "bench.toml"
    path.write_text(
        "[experiment]\nname = \"bench\"\nscenario = \"mikta\"\n"
        f"years = {years}\nreplicates = {runs}\nseed = 1\nengine = \"{engine}\"\n"
        "[factors]\n\"group.secretariat\" = [false]\n")
    return path


def bench_sweep(runs: int = 2000, years: int = 30, repeats: int = 1) -> list[str]:
    """Mesa-engine experiment vs mesa.batch_run on the same runs; 1 vs 2 workers."""
    from sim.experiments.design import load_experiment
    from sim.experiments.execution import execute, run_table

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = load_experiment(_experiment_file(folder, runs, "mesa", years))
        seeds = run_table(spec)["seed"].to_numpy()
        scenario = spec.base

        def ours(workers: int) -> Callable[[], int]:
            def work() -> int:
                execute(spec, folder / f"out-{workers}", workers=workers, force=True)
                return runs
            return work

        one = _best_of(repeats, ours(1), "minilat experiment, 1 worker")
        two = _best_of(repeats, ours(2), "minilat experiment, 2 workers")
        theirs = _best_of(repeats, lambda: mesa_batch_run(scenario, seeds),
                          "mesa.batch_run, 1 process")
    for m in (one, two, theirs):
        lines.append(f"{m.label:<34} {m.rate:>8.1f} runs/s  ({m.runs} runs in {m.seconds:.1f} s)")
    lines.append(f"minilat experiment / mesa.batch_run (1 process): {one.rate / theirs.rate:.2f}x "
                 "(target >= 1)")
    lines.append(f"2 workers / 1 worker: {two.rate / one.rate:.2f}x (target >= 1.8)")
    return lines


def peak_memory(runs: int = 100_000, engine: str = "fast", workers: int = 2,
                years: int = 30) -> list[str]:
    """Peak resident memory of an experiment of `runs` runs (summaries only), all processes."""
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _experiment_file(folder, runs, engine, years)
        command = [sys.executable, "-m", "sim.cli", "experiment", str(path), "--out",
                   str(folder / "out"), "--workers", str(workers), "--quiet", "--no-report"]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            raise RuntimeError(process.stderr.read().decode())
    return [f"{runs:,} runs ({engine} engine, {workers} workers, summaries only) in "
            f"{seconds:.0f} s: peak memory {peak / 2**20:,.0f} MiB for all processes together "
            "(target < 1024 MiB)"]


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return total


def median_run_time(scenario_name: str = "mikta", years: int = 30, runs: int = 20) -> float:
    """Median seconds of one Mesa-engine run."""
    from sim.model.mesa_engine import MinilateralModel

    scenario = load_scenario(scenario_name, years=years)
    MinilateralModel(scenario, 10_000).run()
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        MinilateralModel(scenario, seed).run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
