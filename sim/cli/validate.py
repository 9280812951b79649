"""`minilat validate`: the model held to the cases' records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sim.cli.console import Steps, command_app, elapsed, out, since_start
from sim.experiments.storage import writing_folder
from sim.inference.records import builtin_records, load_record
from sim.inference.validation import INTERVAL, STATE_FLOOR, check_cases, validate_case
from sim.model.files import check_fits
from sim.reporting.validation_report import write_validation

command = command_app()


@command.command()
def validate(
    cases: Annotated[list[str] | None, typer.Argument(
        metavar="[CASE|RECORD]...", help="Shipped case names (mikta, ibsa) or record TOML files "
        "of your own (seeds/README.md); default: every shipped case.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path(
        "results/validation"),
    runs: Annotated[int, typer.Option(min=10, help="Runs of each case's scenario.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 2**20, help="First seed.")] = 0,
    force: Annotated[bool, typer.Option(help="Delete an earlier validation in the folder "
                                        "first.")] = False,
    table: Annotated[bool, typer.Option("--table", help="Also print every pattern (the rows "
                                        "of cases.csv).")] = False,
) -> None:
    """Hold the model to the cases' records: activity by year and level, and the group's state
    by the outcome rule; writes cases.csv, observed_states.csv and a report."""
    records = [load_record(c) for c in (cases or builtin_records())]
    check_fits("runs", runs, 2_000 * 120, "--runs", None, runs)
    scenarios = check_cases(records)  # every record, before any run
    with writing_folder(out_dir, force, "validation") as folder, Steps("validating") as steps:
        results = []
        for record, scenario in zip(records, scenarios, strict=True):
            steps.step(f"{runs:,} runs of {scenario.name} against the record of "
                       f"{record.name}")
            results.append(validate_case(record, runs=runs, seed=seed, scenario=scenario))
        steps.step("writing the report and its figures")
        report = write_validation(results, folder)
    if table:
        _print_cases(results)
    for r in results:
        out.print(case_summary(r), highlight=False, soft_wrap=True)
    out.print(f"in {elapsed(since_start())}; every pattern: {folder / 'cases.csv'}; report: "
              f"{report}", highlight=False, soft_wrap=True)


def case_summary(r) -> str:
    """One line per case: e.g. 'MIKTA: 23 of 28 patterns of activity inside the 90 % interval;
    the record's state in 12 of 12 years'."""
    activity = r.patterns[r.patterns["pattern"].str.contains("activity")]
    state = r.patterns[r.patterns["pattern"].str.startswith("state")]
    return (f"{r.record.title}: {int(activity['inside'].sum())} of {len(activity)} patterns of "
            f"activity (year and level) inside the runs' {100 * INTERVAL:.0f} % interval; the "
            f"record's state shared by at least {100 * STATE_FLOOR:.0f} % of runs at the end of "
            f"{int(state['inside'].sum())} of "
            f"{len(state)} years")


def _print_cases(results) -> None:
    for r in results:
        table = Table("pattern", "record", "simulated median", "90 % interval", "inside",
                      title=f"{r.record.title}: {r.runs:,} runs of {r.scenario.name}",
                      title_justify="left")
        for row in r.patterns.itertuples():
            median = row.simulated_median
            shown = f"{median:.0%}" if isinstance(row.observed, str) else f"{median:g}"
            interval = (f"{row.simulated_lo:.0%} – {row.simulated_hi:.0%}"
                        if isinstance(row.observed, str)
                        else f"{row.simulated_lo:g} – {row.simulated_hi:g}")
            table.add_row(row.pattern, str(row.observed), shown, interval,
                          Text("yes", style="green") if row.inside else Text("no", style="red"))
        out.print(table)
