"""The `minilat` command: thin wiring from the command line to library functions.

Each command is a module of this package, imported only when the command runs or shows its
own help, so `minilat --help` loads none of the model.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import warnings
from typing import Annotated

import click
import typer
from rich.text import Text
from typer.core import TyperGroup

from sim.cli.console import err, out, version
from sim.errors import InputWarning, UserError

# command: (its module in this package, the first paragraph of its help, as `minilat --help`
# lists it; the module's command has the same).
COMMANDS = {
    "run": ("run", "Run one simulation (or several seeds) and print a compact summary."),
    "calibrate": ("calibrate", "Fit the behavioural values shared by case records by "
                               "approximate Bayesian computation."),
    "forecast": ("forecast", "Forecast a group's fate from its record: runs to a year, "
                             "conditioned on the record."),
    "validate": ("validate", "Hold the model to the cases' records: activity by year and "
                             "level, and the group's state\nby the outcome rule; writes "
                             "cases.csv, observed_states.csv and a report."),
    "claims": ("claims", "Run the sources' claims as paired experiments and write their "
                         "report."),
    "experiment": ("experiment", "Run an experiment: every design point and replicate, in "
                                 "parallel, into Parquet."),
    "population": ("population", "Run a population of groups with drawn founding conditions: "
                                 "its life table, hazard by\nage, survival curves and Cox model "
                                 "against published figures."),
    "app": ("serve", "Serve the teaching page and print its address; "
                     "Ctrl+C stops it."),
    "report": ("report", "Write report.md and report.html, with figures/, into an "
                         "experiment's results folder."),
    "scenarios": ("scenarios", "List the built-in scenarios, or show one resolved."),
    "bench": ("bench", "Measure the engines and experiments; prints ratios measured in one "
                       "run."),
}


class LazyCommands(TyperGroup):
    """The commands of `COMMANDS`: listed from the table, loaded from their module when one
    is run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return click.Command(cmd_name, help=COMMANDS[cmd_name][1])

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        name, listed, rest = super().resolve_command(ctx, args)
        return name, (load_command(name) if listed is not None else None), rest


def load_command(name: str) -> click.Command:
    """The command `name` of `COMMANDS`, from its module."""
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    return typer.main.get_command(module.command)


app = typer.Typer(
    name="minilat",
    help="Simulate the survival of minilateral groups of states: alive, zombie or dead.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    cls=LazyCommands,
)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"minilat {version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Print the version.")] = False,
) -> None:
    """Simulate the survival of minilateral groups of states: alive, zombie or dead."""


def _show_input_warnings() -> None:
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, InputWarning):
            err.print(Text.assemble(("warning:", "bold yellow"), f" {message}"),
                      highlight=False, soft_wrap=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("once", InputWarning)


def main() -> None:
    """Entry point: user errors become a message and exit code 2, never a traceback.

    The user's environment cannot break a finished run: output that the terminal's encoding
    cannot show is replaced, not fatal, and figures are drawn with matplotlib's Agg backend
    whatever MPLBACKEND says (they are files; nothing is shown on screen).
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    os.environ["MPLBACKEND"] = "Agg"
    _show_input_warnings()
    try:
        app()
    except UserError as exc:
        err.print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False,
                  soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        err.print("interrupted")
        sys.exit(130)
