"""Benchmarks: throughput of the engines and of experiments, measured in one process run.

Ratios are measured side by side in the same run, so a busy machine slows all of them alike;
absolute figures are only indicative. `minilat bench` prints them; scripts in `benchmarks/`
call the same functions.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np

from sim.experiments.design import load_experiment
from sim.experiments.evaluation import evaluate, evaluator
from sim.experiments.execution import execute, run_table
from sim.inference.joint import load_joint
from sim.inference.joint_fit import by_rejection
from sim.inference.population_draw import draw_population
from sim.inference.population_file import load_population
from sim.inference.smc import run_smc
from sim.model import phases
from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import MinilateralModel
from sim.model.scenario_files import load_scenario
from sim.model.tape import draw_tapes


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
    for seed in seeds:
        MinilateralModel(scenario, int(seed)).run()
    return len(seeds)


def fast_engine(scenario, seeds) -> int:
    run_batch(scenario, seeds)
    return len(seeds)


def mesa_batch_run(scenario, seeds, processes: int = 1) -> int:
    """mesa.batch_run over the same seeds, collecting only final results."""
    mesa.batch_run(MinilateralModel, parameters={"scenario": scenario, "seed": list(seeds),
                                                 "collect_data": True},
                   number_processes=processes, iterations=1, data_collection_period=-1,
                   display_progress=False)
    return len(seeds)


def rule_calls(phase: phases.Phase) -> int:
    """How many calls of a rule a phase's function makes, as written."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(phase.apply)))
    return sum(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and isinstance(node.func.value, ast.Name)
               and node.func.value.id in ("rules", "group_rules") for node in ast.walk(tree))


def phase_table_bound(seeds, quarters: int, members: int, quarters_run: int) -> int:
    """A floor of the fast engine's work on `seeds`, measured without copying any mechanism.

    The runs' random tape over the horizon (the same draw as the engine's), then, for
    `quarters_run` quarters, each phase of the phase table reduced to one in-place array
    operation per rule call it makes, on arrays of its scope's shape: every rule costs at least
    that, and nothing else (no calendar, no state bookkeeping, no recording, no summary).
    """
    draw_tapes(seeds, quarters, members)
    runs = len(seeds)
    shapes = {phases.MEMBER: (runs, members), phases.GROUP: (runs,)}
    work = [(np.ones(shapes[phase.scope]), rule_calls(phase)) for phase in phases.PHASES]
    for _ in range(quarters_run):
        for values, calls in work:
            for _ in range(calls):
                np.multiply(values, 1.0, out=values)
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
        rows.append(f"phase-table bound / fast engine: {self.lower_bound.rate / fast.rate:.2f}x")
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
    result = run_batch(scenario, fast_seeds)
    quarters = int(np.sum(np.where(result.summary["death_quarter"] >= 0,
                                   result.summary["death_quarter"] + 1, scenario.quarters)))
    mean_quarters = quarters // fast_runs
    members = len(scenario.members)
    # The fast engine and its lower bound alternate, so a change of load on the machine
    # touches both alike; each keeps its fastest repeat.
    fast, bound = _interleaved(repeats, [
        ("fast engine", lambda: fast_engine(scenario, fast_seeds)),
        ("phase-table bound (tape + rule calls)",
         lambda: phase_table_bound(fast_seeds, scenario.quarters, members, mean_quarters))])
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


# ------------------------------------------------------------------------------ shapes


MIXED_SIZES = (3, 5, 6, 8, 10, 12)
POPULATION_FILE = Path(__file__).resolve().parents[1] / "experiments" / "population-igo.toml"


def sized_group(template, members: int):
    """A group of `members` copies of the template's first member (codes M1, M2, ...)."""
    first = template.members[0]
    scenario = dataclasses.replace(template, name=f"group-{members}", group=dataclasses.replace(
        template.group, chair_order=()))
    return dataclasses.replace(scenario, members=tuple(
        dataclasses.replace(first, code=f"M{i + 1}", name=f"Member {i + 1}")
        for i in range(members)))


def bench_shapes(runs_per_shape: int = 500, years: int = 30, repeats: int = 3,
                 population: int = 10_000, population_years: int = 50, workers: int = 2
                 ) -> list[str]:
    """A batch of six group sizes against a batch of one size with the same member-runs, and the
    time of a population of groups of 3 to 12 members on `workers` processes."""
    template = load_scenario("generic-5", years=years)
    rng = np.random.default_rng(1)
    mixed = [sized_group(template, n) for n in MIXED_SIZES for _ in range(runs_per_shape)]
    mixed = [mixed[k] for k in rng.permutation(len(mixed))]
    member_runs = sum(len(s.members) for s in mixed)
    width = 8
    same = [sized_group(template, width) for _ in range(member_runs // width)]
    run_batch(mixed[:50], np.arange(50))  # warm-up
    by_shape, by_one = _interleaved(repeats, [
        ("six sizes (3 - 12 members), one batch",
         lambda: fast_engine(mixed, np.arange(len(mixed)))),
        (f"one size ({width} members), one batch",
         lambda: fast_engine(same, np.arange(len(same))))])
    lines = []
    for m, members in ((by_shape, member_runs), (by_one, len(same) * width)):
        lines.append(f"{m.label:<40} {m.rate:>8,.0f} runs/s  {members / m.seconds:>9,.0f} "
                     f"member-runs/s  ({m.runs} runs in {m.seconds:.2f} s)")
    ratio = (member_runs / by_shape.seconds) / (len(same) * width / by_one.seconds)
    lines.append(f"six sizes / one size, member-quarters per second: {ratio:.2f} (target >= 0.70)")
    return lines + bench_population(population, population_years, workers)


def bench_population(groups: int = 10_000, years: int = 50, workers: int = 2) -> list[str]:
    """The time of a population of groups drawn from the shipped population file (3 to 12
    members, informal and formal), run on `workers` processes."""
    population = load_population(POPULATION_FILE, groups=groups)
    start = time.perf_counter()
    scenarios = [dataclasses.replace(s, years=years) for s in draw_population(population).scenarios]
    drawing = time.perf_counter() - start
    table = evaluate(scenarios, np.arange(groups), workers=workers,
                     batch=-(-groups // workers))
    seconds = time.perf_counter() - start
    alive = (table["outcome"] == "alive").mean()
    return [f"population of {groups:,} groups ({POPULATION_FILE.name}), {years} years, "
            f"{workers} workers: {seconds:.1f} s, of which drawing {drawing:.1f} s "
            f"(target < 15 s); {alive:.0%} alive at the end"]


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


# ------------------------------------------------------------------------------ calibration


def bench_calibration(path: str | Path = "experiments/joint-smc.toml", sets: int = 3000,
                      workers: int = 2) -> list[str]:
    """Parameter sets per second of the shipped calibration method (batched ABC-SMC) and of
    rejection, on the file's targets and priors, with the same budget and workers, in one run."""
    calibration = load_joint(path)
    import pyabc  # noqa: F401  (imported before the clock starts)

    rejection = dataclasses.replace(calibration, draws=sets,
                                    accept=min(1.0, calibration.population_size / sets))
    smc = dataclasses.replace(calibration, max_simulations=sets, max_populations=1000)
    with evaluator("local", workers) as pool, tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        by_rejection(rejection, pool)
        theirs = Measure("rejection", sets, time.perf_counter() - start)
        start = time.perf_counter()
        history = run_smc(smc, Path(tmp), evaluator=pool)
        ours = Measure("ABC-SMC, batched (the shipped method)",
                       int(history.total_nr_simulations), time.perf_counter() - start)
    lines = [f"{m.label:<38} {m.rate:>10,.1f} sets/s  ({m.runs:,} parameter sets in "
             f"{m.seconds:.1f} s)" for m in (ours, theirs)]
    lines.append(f"calibration, ABC-SMC / rejection: {ours.rate / theirs.rate:.2f}x "
                 "(target >= 0.5)")
    return lines
