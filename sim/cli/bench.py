"""`minilat bench`: the engines and experiments measured, as ratios of one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.bench import bench_calibration as measure_calibration
from sim.bench import bench_engines as measure_engines
from sim.bench import bench_shapes as measure_shapes
from sim.bench import bench_sweep as measure_sweep
from sim.bench import machine, peak_memory
from sim.cli.console import command_app, out

command = command_app(help="Measure the engines and experiments; prints ratios measured in one "
                           "run.", invoke_without_command=True)


@command.callback()
def bench_engines(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Option(help="Built-in scenario or file.")] = "mikta",
    years: Annotated[int, typer.Option(min=1, max=200)] = 30,
    mesa_runs: Annotated[int, typer.Option(min=1, help="Runs of the Mesa engine and of "
                                           "mesa.batch_run.")] = 40,
    fast_runs: Annotated[int, typer.Option(min=1, help="Runs of the fast engine and of the "
                                           "lower bound.")] = 4000,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats; the fastest counts.")] = 3,
    calibration: Annotated[Path, typer.Option(help="Calibration file whose targets and priors "
                                              "the calibration line uses.")
                           ] = Path("experiments/joint-smc.toml"),
    calibration_sets: Annotated[int, typer.Option(min=100, help="Parameter sets each "
                                                  "calibration method simulates.")] = 3000,
) -> None:
    """Runs per second of the Mesa engine, the fast engine, mesa.batch_run and a numpy lower
    bound, on the same work; and their ratios; then parameter sets per second of the shipped
    calibration method against rejection's."""
    if ctx.invoked_subcommand is not None:
        return
    out.print(f"engines on {scenario}, {years} years; {machine()}")
    report = measure_engines(scenario, years, mesa_runs=mesa_runs, fast_runs=fast_runs,
                             repeats=repeats)
    for line in report.lines():
        out.print(line, highlight=False)
    if not calibration.is_file():
        out.print(f"calibration: no file {calibration} (run from the repository's folder, or "
                  "give --calibration FILE)", highlight=False)
        return
    out.print(f"calibration on the targets and priors of {calibration}, {calibration_sets:,} "
              "parameter sets each, 2 workers")
    for line in measure_calibration(calibration, calibration_sets):
        out.print(line, highlight=False)


@command.command("sweep")
def bench_sweep(
    runs: Annotated[int, typer.Option(min=10, help="Mesa-engine runs of mikta.")] = 2000,
    years: Annotated[int, typer.Option(min=1, max=200)] = 30,
) -> None:
    """minilat experiment against mesa.batch_run on the same Mesa-engine runs; 1 vs 2 workers."""
    out.print(f"{runs:,} Mesa-engine runs of mikta, {years} years; {machine()}")
    for line in measure_sweep(runs, years):
        out.print(line, highlight=False)


@command.command("shapes")
def bench_shapes(
    runs: Annotated[int, typer.Option(min=10, help="Runs of each of six group sizes.")] = 500,
    population: Annotated[int, typer.Option(min=10, help="Groups in the population.")] = 10_000,
    workers: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Groups of six sizes in one batch against one size, and a population of groups."""
    out.print(machine())
    for line in measure_shapes(runs, population=population, workers=workers):
        out.print(line, highlight=False)


@command.command("memory")
def bench_memory(
    runs: Annotated[int, typer.Option(min=1000)] = 100_000,
    engine: Annotated[str, typer.Option(help="fast or mesa.")] = "fast",
    workers: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Peak memory of an experiment with many runs (summaries only), all processes together."""
    out.print(machine())
    for line in peak_memory(runs, engine, workers):
        out.print(line, highlight=False)
