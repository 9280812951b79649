"""`minilat report`: an experiment's report written into its results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.console import Steps, command_app, elapsed, out, since_start
from sim.errors import UserError
from sim.reporting.report import write_report

command = command_app()


@command.command()
def report(
    results_dir: Annotated[Path, typer.Argument(
        metavar="RESULTS_DIR", help="Results folder of a finished experiment.")],
    contrast: Annotated[list[str] | None, typer.Option(
        metavar="A,B", help="Contrast design point B with point A (repeatable); replaces the "
                            "pairs named by the experiment file's report table.")] = None,
    since: Annotated[str | None, typer.Option(
        "--from", metavar="QUARTER", help="Also measure outcome shares, survival and paired "
        "contrasts from the start of this quarter (e.g. 2027Q1, or 2027), among the runs not "
        "dead before it; replaces the report table's `from`.")] = None,
) -> None:
    """Write report.md and report.html, with figures/, into an experiment's results folder."""
    pairs = None
    if contrast:
        pairs = []
        for text in contrast:
            parts = text.replace(" ", "").split(",")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise UserError(f"--contrast {text}: expected two design point ids, e.g. "
                                "--contrast 0,1.")
            pairs.append((int(parts[0]), int(parts[1])))
    with Steps("reading the results", lines=False) as steps:
        path = write_report(results_dir, contrasts=pairs, since=since,
                            progress=lambda section: steps.step(f"writing the report: {section}"))
    out.print(f"in {elapsed(since_start())}; report: {path}", highlight=False, soft_wrap=True)
