"""`minilat calibrate`: the behavioural values of one case or several fitted to their records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.console import ResultsFolderOption, WorkersOption, command_app, out
from sim.inference.calibration import MIN_EFFECTIVE_SETS
from sim.reporting.calibration_folder import calibrate_file
from sim.reporting.calibration_report import effective_sets

command = command_app()


@command.command()
def calibrate(
    file: Annotated[Path, typer.Argument(help="Calibration TOML file (see experiments/).")],
    out_dir: ResultsFolderOption = None,
    draws: Annotated[int | None, typer.Option(min=10, help="Override the file's draws.")
                     ] = None,
    workers: WorkersOption = None,
    force: Annotated[bool, typer.Option(help="Delete an earlier calibration in the folder "
                                        "first.")] = False,
    backend: Annotated[str, typer.Option(help="local (processes on this machine) or dask, "
                                         "for either method.")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. "
                                                  "tcp://host:8786 (default: a local cluster).")
                         ] = None,
    resume: Annotated[bool, typer.Option(help="Go on with an interrupted ABC-SMC calibration "
                                         "from its history.db.")] = False,
    method: Annotated[str | None, typer.Option(help="Override the file's method: smc or "
                                               "rejection.")] = None,
) -> None:
    """Fit the behavioural values shared by case records by approximate Bayesian computation."""

    def progress(generation) -> None:
        out.print(f"generation {generation.t}: tolerance {generation.epsilon:.3g}, "
                  f"acceptance rate {generation.acceptance_rate:.1%} ({generation.accepted:,} "
                  f"of {generation.simulations:,}), effective sample size "
                  f"{generation.ess:.0f}", highlight=False)

    done = calibrate_file(file, out_dir, draws=draws, workers=workers, force=force,
                          backend=backend, scheduler=scheduler, resume=resume, method=method,
                          progress=progress,
                          stage=lambda message: out.print(f"{message} ...", highlight=False))
    spec, result, folder = done.spec, done.result, done.folder
    if result.method == "smc":
        out.print(f"{len(result.generations)} generations, {result.simulations:,} parameter "
                  f"sets simulated, final tolerance {result.tolerance:.3g}, in "
                  f"{result.seconds:.0f} s", highlight=False)
    else:
        accepted = int(result.draws["accepted"].sum())
        out.print(f"{spec.draws:,} draws, {accepted} accepted (distance <= "
                  f"{result.tolerance:.2f}) in {result.seconds:.0f} s", highlight=False)
    _print_posterior(result.posterior)
    effective = effective_sets(result)
    if effective < MIN_EFFECTIVE_SETS:
        out.print(f"warning: the posterior rests on {effective:.1f} effective parameter sets "
                  f"(fewer than {MIN_EFFECTIVE_SETS}); no parameter is called identified and a "
                  "refit with another seed can land elsewhere", highlight=False)
    _print_fit(spec, result)
    _print_long_run(result.long_run)
    out.print(f"report: {done.report}; results in {folder}", highlight=False)


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
    fit = result.population_fit
    if len(fit):
        inside = (fit["q05"] <= fit["observed"]) & (fit["observed"] <= fit["q95"])
        table.add_row("population", str(len(fit)), f"{inside.mean():.0%}",
                      f"{fit['inside'].mean():.0%} (within tolerance)")
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
