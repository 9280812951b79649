"""`minilat population`: a population of groups with drawn founding conditions, its life table
against published figures on international organizations."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from sim.cli.console import (
    ProgressBar,
    ResultsFolderOption,
    WorkersOption,
    command_app,
    err,
    out,
)
from sim.experiments.storage import FolderLock
from sim.inference.population import run_population
from sim.inference.population_file import load_population
from sim.reporting.population_report import AT_AGE, write_population_report

command = command_app()


@command.command()
def population(
    file: Annotated[Path, typer.Argument(help="Population TOML file (see "
                                         "experiments/population-igo.toml).")],
    out_dir: ResultsFolderOption = None,
    workers: WorkersOption = None,
    groups: Annotated[int | None, typer.Option(help="Override the file's number of groups.")
                      ] = None,
    backend: Annotated[str, typer.Option(help="local (processes on this machine) or dask.")
                       ] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (default: a "
                                                  "local cluster).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted population, skipping "
                                         "finished runs.")] = False,
    force: Annotated[bool, typer.Option(help="Delete earlier results in the folder and start "
                                        "again.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar; only the final lines.")] = False,
) -> None:
    """Run a population of groups with drawn founding conditions: its life table, hazard by
    age, survival curves and Cox model against published figures."""
    spec = load_population(file, groups=groups)
    folder = out_dir or Path("results") / spec.name
    with FolderLock(folder), ProgressBar(spec.name, disabled=quiet) as bar:
        result = run_population(spec, folder, workers=workers, backend=backend,
                                scheduler=scheduler, resume=resume, force=force,
                                progress=bar.update, stage=bar.stage,
                                command=["minilat", *sys.argv[1:]])
    if result.interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        again = f"minilat population {file} --resume" + (f" --out {out_dir}" if out_dir else "")
        err.print(f"interrupted: {result.done_before + result.computed} of {result.total} runs "
                  f"are saved in {folder}. Resume with: {again}")
        raise typer.Exit(130)
    report = write_population_report(result)
    out.print(f"{result.total:,} runs of {spec.groups:,} groups ({result.computed:,} now) in "
              f"{result.seconds:.1f} s on {result.workers} worker"
              f"{'s' if result.workers != 1 else ''}: {folder}", highlight=False)
    out.print(summary_line(result.tables), highlight=False, soft_wrap=True)
    out.print(f"report: {report}", highlight=False)
    if result.failed:
        err.print(Text.assemble((f"{result.failed} runs failed", "red"),
                                f"; their errors are in {result.folder / 'errors.jsonl'}"))
        raise typer.Exit(1)


def summary_line(t) -> str:
    """Shares at 30 years by stratum, deaths by cause, and the patterns inside."""
    age = min(AT_AGE, t.years)
    at = t.life_table[t.life_table["age"] == age]
    shares = "; ".join(f"{r.stratum} {r.share_alive:.0%} alive / {r.share_zombie:.0%} zombie / "
                       f"{r.share_dead:.0%} dead" for r in at.itertuples())
    causes = t.causes[t.causes["stratum"] == "all"]
    deaths = ", ".join(f"{r.cause} {r.deaths}" for r in causes.itertuples())
    return (f"at {age} years: {shares}. Deaths by cause: {deaths}. "
            f"Patterns inside: {int(t.targets['inside'].sum())} of {len(t.targets)}.")
