"""`minilat forecast`: a group's fate from its record, runs to a year conditioned on it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.console import Steps, WorkersOption, command_app, elapsed, out, since_start
from sim.errors import UserError
from sim.experiments.storage import writing_folder
from sim.inference.forecast import forecast as make_forecast
from sim.inference.forecast import in_words, record_for
from sim.inference.records import check_belongs, load_record
from sim.model.files import folder_name_problem
from sim.model.scenario_files import load_scenario
from sim.reporting.forecast_report import write_forecast

command = command_app()


@command.command()
def forecast(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a scenario "
                                            "TOML file.")],
    until: Annotated[int, typer.Option(help="Last calendar year of the forecast.")],
    posterior: Annotated[Path | None, typer.Option(
        help="Results folder of a calibration: parameter sets are drawn from its "
             "posterior.parquet by weight (default: the scenario's values).")] = None,
    runs: Annotated[int, typer.Option(min=10, max=1_000_000, help="Runs before conditioning "
                                      "on the record.")] = 2000,
    keep: Annotated[float, typer.Option(min=0.001, max=1.0, help="Share of runs closest to the "
                                        "record that are kept.")] = 0.2,
    record: Annotated[Path | None, typer.Option(
        help="Case record TOML to condition on (default: the shipped record of the scenario, "
             "if any).")] = None,
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Seed of the draws and "
                                      "runs.")] = 0,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Results folder (default: results/forecast-<scenario>).")] = None,
    workers: WorkersOption = None,
    force: Annotated[bool, typer.Option(help="Delete what an earlier forecast wrote in the "
                                        "--out folder first.")
                     ] = False,
) -> None:
    """Forecast a group's fate from its record: runs to a year, conditioned on the record."""
    s = load_scenario(scenario)
    case = load_record(record) if record is not None else record_for(s)
    if case is not None:
        check_belongs(case, s)  # before the folder is made
    name = f"forecast-{s.name}"
    if out_dir is None and folder_name_problem(name) is not None:
        raise UserError(f"{scenario}: its name cannot name a folder; give --out.")
    with writing_folder(out_dir or Path("results") / name, force, "forecast") as folder, \
            Steps("forecast") as steps:
        steps.step(f"{runs:,} runs of {s.name} to {until}"
                   + (f", conditioned on the record of {case.name}" if case is not None else ""))
        result = make_forecast(s, until, posterior, runs, seed, keep, case,
                               workers or os.cpu_count() or 1)
        steps.step("writing the report and its figure")
        write_forecast(result, folder)
    out.print(in_words(result), highlight=False)
    out.print(f"in {elapsed(since_start())}; {folder / 'forecast.csv'}, report: "
              f"{folder / 'report.md'}", highlight=False, soft_wrap=True)
