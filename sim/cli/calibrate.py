"""`minilat calibrate`: a scenario's free parameters fitted to case records."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.console import command_app, out
from sim.errors import UserError
from sim.experiments.execution import check_execution
from sim.experiments.storage import FolderLock, atomic_write_bytes, writing_folder
from sim.inference.calibration import calibrate as fit
from sim.inference.calibration import load_calibration
from sim.inference.joint import METHODS, calibrate_joint, is_joint, load_joint
from sim.reporting.calibration_report import write_joint_results, write_results

command = command_app()


@command.command()
def calibrate(
    file: Annotated[Path, typer.Argument(help="Calibration TOML file (see experiments/).")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Results folder (default: results/<name>).")] = None,
    draws: Annotated[int | None, typer.Option(min=10, help="Override the file's draws.")
                     ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all "
                                                "cores).")] = None,
    force: Annotated[bool, typer.Option(help="Delete an earlier calibration in the folder "
                                        "first.")] = False,
    backend: Annotated[str, typer.Option(help="local (processes on this machine) or dask "
                                         "(smc).")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. "
                                                  "tcp://host:8786 (default: a local cluster).")
                         ] = None,
    resume: Annotated[bool, typer.Option(help="Go on with an interrupted ABC-SMC calibration "
                                         "from its history.db.")] = False,
    method: Annotated[str | None, typer.Option(help="Override the file's method: smc or "
                                               "rejection.")] = None,
) -> None:
    """Fit a scenario's free parameters to case records by approximate Bayesian computation."""
    if is_joint(file):
        workers = check_execution(backend, workers, scheduler)
        _calibrate_joint(file, out_dir, draws, workers, force, backend, scheduler, resume,
                         method)
        return
    if resume or backend != "local" or scheduler or method:
        raise UserError(f"{file}: --resume, --backend, --scheduler and --method apply to a "
                        "calibration "
                        "that names case records (`cases`, method \"smc\"); this file fits "
                        "one statements table by rejection.")
    spec = load_calibration(file, draws=draws)
    with writing_folder(out_dir or Path("results") / spec.name, force, "calibration") as folder:
        with out.status(f"{spec.draws:,} draws of {spec.name} ..."):
            result = fit(spec, workers=workers or os.cpu_count() or 1)
        write_results(spec, result, folder)
    accepted = int(result.draws["accepted"].sum())
    out.print(f"{spec.draws:,} draws, {accepted} accepted (distance <= "
              f"{result.tolerance:.2f}) in {result.seconds:.0f} s; results in {folder}")
    _print_posterior(result.posterior)
    table = Table("year", "observed", "simulated median", "90 % interval")
    for row in result.predictive.itertuples():
        table.add_row(str(row.year), str(row.observed), f"{row.median:.1f}",
                      f"{row.q05:.1f} - {row.q95:.1f}")
    out.print(table)
    _print_long_run(result.long_run)


def _print_posterior(posterior) -> None:
    table = Table("parameter", "prior", "accepted 5-95 %", "median", "calibrated",
                  "identified")
    for row in posterior.itertuples():
        table.add_row(row.parameter, f"{row.prior_min:g} - {row.prior_max:g}",
                      f"{row.q05:.3g} - {row.q95:.3g}", f"{row.median:.3g}",
                      f"{row.calibrated:.3g}", "yes" if row.identified else "no")
    out.print(table)


def _print_fit(spec, result) -> None:
    table = Table("case", "statistics", "inside the posterior's 90 %",
                  "inside at the calibrated values")
    for case in spec.cases:
        name = case.record.name
        pred = result.predictive[result.predictive["case"] == name]
        point = result.calibrated_fit[result.calibrated_fit["case"] == name]
        table.add_row(name, str(len(pred)), f"{pred['inside'].mean():.0%}",
                      f"{point['inside'].mean():.0%}")
    out.print(table)


def _print_long_run(long_run) -> None:
    if not len(long_run):
        return
    table = Table("scenario", "parameters", "runs", "alive", "zombie", "dead",
                  title="The long run (95 % Wilson intervals)", title_justify="left")
    for row in long_run.to_dict("records"):
        table.add_row(row["scenario"], row["parameters"], f"{row['runs']:,}", *(
            f"{row[n]:.1%} ({row[n + '_low']:.1%} - {row[n + '_high']:.1%})"
            for n in ("alive", "zombie", "dead")))
    out.print(table)


def _calibrate_joint(file: Path, out_dir: Path | None, draws: int | None, workers: int,
                     force: bool, backend: str, scheduler: str | None, resume: bool,
                     method: str | None) -> None:
    """`calibrate` for a file naming case records: one set of values for all their records."""
    spec = load_joint(file, draws=draws)
    if method is not None:
        if method not in METHODS:
            raise UserError(f"--method {method}: unknown method. Allowed: smc, rejection.")
        spec = dataclasses.replace(spec, method=method)
    if resume and spec.method != "smc":
        raise UserError(f"{file}: --resume goes on with an ABC-SMC calibration; this file's "
                        f'method is "{spec.method}".')
    names = ", ".join(c.record.name for c in spec.cases)
    folder = out_dir or Path("results") / spec.name
    text = Path(file).read_bytes()

    def progress(generation) -> None:
        out.print(f"generation {generation.t}: tolerance {generation.epsilon:.3g}, "
                  f"acceptance rate {generation.acceptance_rate:.1%} ({generation.accepted:,} "
                  f"of {generation.simulations:,}), effective sample size "
                  f"{generation.ess:.0f}", highlight=False)

    if resume:
        lock = FolderLock(folder)
        kept = folder / "calibration.toml"
        if not kept.is_file() or kept.read_bytes() != text:
            raise UserError(f"{folder}: holds no calibration of {file} to resume (its "
                            "calibration.toml is missing or differs from the file). Run "
                            "without --resume.")
    else:
        lock = writing_folder(folder, force, "calibration")
    with lock:
        atomic_write_bytes(folder / "calibration.toml", text)
        what = (f"ABC-SMC of {names}, {spec.population_size:,} sets a generation"
                if spec.method == "smc" else f"{spec.draws:,} draws of {names}")
        out.print(f"{what} ...", highlight=False)
        result = calibrate_joint(spec, workers, folder, backend, scheduler, resume, progress)
        write_joint_results(spec, result, folder)
    if result.method == "smc":
        out.print(f"{len(result.generations)} generations, {result.simulations:,} parameter "
                  f"sets simulated, final tolerance {result.tolerance:.3g}, in "
                  f"{result.seconds:.0f} s; results in {folder}", highlight=False)
        _print_posterior(result.posterior)
        _print_fit(spec, result)
        _print_long_run(result.long_run)
        return
    accepted = int(result.draws["accepted"].sum())
    out.print(f"{spec.draws:,} draws, {accepted} accepted (distance <= "
              f"{result.tolerance:.2f}) in {result.seconds:.0f} s; results in {folder}")
    _print_posterior(result.posterior)
    _print_fit(spec, result)
    _print_long_run(result.long_run)
