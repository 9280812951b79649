"""`minilat experiment`: every design point and replicate run into Parquet, or a finished
experiment's runs checked against their seeds."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sim.cli.console import (
    ProgressBar,
    ResultsFolderOption,
    Steps,
    WorkersOption,
    command_app,
    elapsed,
    err,
    out,
    since_start,
    version,
)
from sim.errors import InputError, UserError
from sim.experiments.design import load_experiment, with_posterior
from sim.experiments.execution import execute
from sim.experiments.storage import FolderLock
from sim.experiments.verify import check_results
from sim.inference.statistics import outcome_table
from sim.reporting.labels import key_label
from sim.reporting.report import write_report
from sim.reporting.sections.common import short_keys

command = command_app()


@command.command()
def experiment(
    file: Annotated[Path, typer.Argument(help="Experiment TOML file (see experiments/).")],
    out_dir: ResultsFolderOption = None,
    workers: WorkersOption = None,
    backend: Annotated[str, typer.Option(help="local (processes on this machine) or dask.")
                       ] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. "
                                                  "tcp://host:8786 (default: a local cluster).")
                         ] = None,
    replicates: Annotated[int | None, typer.Option(help="Override the file's replicates.")
                          ] = None,
    engine: Annotated[str | None, typer.Option(help="mesa or fast (default: the file's, "
                                               "else fast).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted experiment, skipping "
                                         "finished runs.")] = False,
    force: Annotated[bool, typer.Option(help="Delete earlier results in the folder and start "
                                        "again.")] = False,
    timeseries: Annotated[bool, typer.Option(help="Also write timeseries.parquet (per quarter "
                                             "and member, partitioned by design point).")
                          ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar; only the final lines.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.md and "
                                            "report.html at the end.")] = False,
    check: Annotated[bool, typer.Option("--check", help="FILE is a finished experiment's "
                                        "results folder: rerun a sample of its runs from "
                                        "their seeds and compare them with what is stored.")
                     ] = False,
    sample: Annotated[int, typer.Option(min=1, help="Runs --check reruns.")] = 20,
    posterior: Annotated[Path | None, typer.Option(
        help="A calibration's results folder: draw parameter sets by weight from its "
             "posterior.parquet; replicate r runs set r mod --sets at every design point.")
                         ] = None,
    sets: Annotated[int | None, typer.Option(min=1, help="Parameter sets drawn with "
                                             "--posterior (default: one per replicate).")
                    ] = None,
) -> None:
    """Run an experiment: every design point and replicate, in parallel, into Parquet.

    With --check, FILE is the results folder of a finished experiment instead: a sample of its
    runs is rerun from their seeds and compared with what is stored.
    """
    if check:
        _check(file, sample)
        return
    spec = load_experiment(file, replicates=replicates, engine=engine)
    if posterior is not None:
        spec = with_posterior(spec, posterior, sets or spec.replicates)
    elif sets is not None:
        raise InputError("--sets", "needs --posterior.", value=sets,
                         allowed="--posterior DIR, the results folder of a calibration.")
    folder = out_dir or Path("results") / spec.name
    with FolderLock(folder):  # held until the report is written too
        _experiment(spec, file, folder, out_dir, workers, backend, scheduler, resume, force,
                    timeseries, quiet, no_report)


def _experiment(spec, file, folder, out_dir, workers, backend, scheduler, resume, force,
                timeseries, quiet, no_report) -> None:
    bar = ProgressBar(f"{spec.name}", disabled=quiet)
    with bar:
        result = execute(spec, folder, workers=workers, backend=backend, scheduler=scheduler,
                         resume=resume, force=force, timeseries=timeseries, progress=bar.update,
                         command=["minilat", *sys.argv[1:]], version=version(),
                         stage=bar.stage)
    command = f"minilat experiment {file} --resume" + (f" --out {out_dir}" if out_dir else "")
    if result.interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop is clean; say how to resume
        err.print(f"interrupted: {result.done_before + result.computed} of {result.total} runs "
                  f"are saved in {folder}. Resume with: {command}")
        raise typer.Exit(130)
    rate = result.computed / result.seconds if result.seconds > 0 else float("nan")
    out.print(f"{result.total:,} runs ({result.done_before:,} done before, {result.computed:,} "
              f"now, {rate:,.0f} runs/s on {result.workers} {result.backend} worker"
              f"{'s' if result.workers != 1 else ''}) in {folder}", highlight=False)
    table = outcome_table(result.folder.read_runs(), spec.factor_keys)
    if not quiet:
        _print_shares(table, spec.factor_keys)
    report = None
    if not no_report:
        try:
            with Steps("writing the report", quiet, lines=False) as steps:
                report = write_report(result.folder.path, progress=lambda section: steps.step(
                    f"writing the report: {section}"))
        except UserError as exc:  # e.g. every run failed: say so below, not as a usage error
            err.print(f"no report: {exc}", highlight=False, soft_wrap=True)
    out.print(f"{shares_summary(spec.name, table)}; in "
              f"{elapsed(since_start())}"
              + (f"; report: {report}" if report else ""), highlight=False, soft_wrap=True)
    if result.failed:
        err.print(Text.assemble((f"{result.failed} runs failed", "red"),
                                f"; their errors are in {result.folder.errors_path}"))
        raise typer.Exit(1)


def _check(folder: Path, sample: int) -> None:
    with out.status(f"rerunning {sample} runs of {folder} ..."):
        result = check_results(folder, sample=sample)
    for line in result.version_differences:
        err.print(f"warning: the versions differ from the results': {line}; a difference "
                  "below may come from it.", highlight=False)
    for name in result.damaged:
        err.print(f"damaged: {name} no longer has the checksum the manifest recorded.",
                  highlight=False)
    if result.matches:
        ids = ", ".join(map(str, result.checked[:8])) + (" ..." if len(result.checked) > 8
                                                         else "")
        out.print(f"{len(result.checked)} runs rerun from their seeds (run ids {ids}): every "
                  f"summary value matches what {folder} stores.", highlight=False, soft_wrap=True)
        return
    if not result.differences.empty:
        table = Table("run_id", "key", "stored", "rerun",
                      title=f"{result.differences['run_id'].nunique()} of "
                            f"{len(result.checked)} rerun runs differ", title_justify="left")
        for row in result.differences.head(40).itertuples():
            table.add_row(str(row.run_id), row.key, str(row.stored), str(row.rerun))
        out.print(table)
    raise typer.Exit(1)


def shares_summary(name: str, table) -> str:
    """One line: the share alive at the horizon over the design points, lowest and highest."""
    if table.empty:
        return f"{name}: no run finished"
    weights = table["runs"] / table["runs"].sum()
    if len(table) == 1:
        return (f"{name}: alive {table['alive'].iloc[0]:.1%}, zombie "
                f"{table['zombie'].iloc[0]:.1%}, dead {table['dead'].iloc[0]:.1%} of "
                f"{int(table['runs'].iloc[0]):,} runs")
    return (f"{name}: {len(table)} design points, alive at the horizon from "
            f"{table['alive'].min():.0%} (point {table.loc[table['alive'].idxmin(), 'point_id']})"
            f" to {table['alive'].max():.0%} (point "
            f"{table.loc[table['alive'].idxmax(), 'point_id']}); zombie up to "
            f"{table['zombie'].max():.0%}, dead up to {table['dead'].max():.0%}; "
            f"{(weights * table['alive']).sum():.0%} alive over all points")


def _print_shares(table, factor_keys: list[str], limit: int = 24) -> None:
    short = short_keys(factor_keys)
    shown = Table(title="Outcome shares per design point (95 % Wilson intervals)",
                  title_justify="left")
    for column in ("point", *(short[k] for k in factor_keys), "runs", "alive", "zombie",
                   "dead"):
        shown.add_column(column, justify="right", no_wrap=column in ("point", "runs"),
                         min_width=len(column))
    for row in table.head(limit).itertuples(index=False):
        values = row._asdict()
        factors = [_fmt(values[f"_{i + 1}"]) for i in range(len(factor_keys))]
        shown.add_row(str(row.point_id), *factors, str(row.runs),
                      *(f"{values[n]:.0%} ({100 * values[n + '_low']:.0f}–"
                        f"{100 * values[n + '_high']:.0f})" for n in ("alive", "zombie", "dead")))
    out.print(shown)
    for key in factor_keys:
        out.print(f"  {short[key]}: {key_label(key)}", highlight=False, soft_wrap=True)
    if len(table) > limit:
        out.print(f"… and {len(table) - limit} more points (all in runs.parquet).")


def _fmt(value) -> str:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
