"""What the `minilat` commands share: the two consoles, the --set option, the version, the
progress bar of runs, the progress line of a command's steps and its elapsed time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

STARTED = time.perf_counter()  # when `minilat` began: a command's wall time counts its imports


def since_start() -> float:
    """Seconds since the `minilat` command began, imports and start-up included."""
    return time.perf_counter() - STARTED


# User text (names, paths, values) is never read as markup: `[/bold]` in a scenario name is shown
# as written. Styles are given as rich Text.
out = Console(markup=False)
err = Console(stderr=True, markup=False)

ResultsFolderOption = Annotated[
    Path | None, typer.Option("--out", help="Results folder (default: results/<name>).")]
WorkersOption = Annotated[
    int | None, typer.Option(min=1, help="Worker processes (default: all cores).")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE",
                 help="Override a parameter by dotted key, e.g. group.secretariat=true or "
                      "members.*.crisis_rate=0.5 (repeatable); KEY=VALUE@QUARTER sets it from "
                      "that quarter on (group.secretariat=true@2027Q1). `minilat scenarios show "
                      "NAME --keys` lists the keys."),
]


def command_app(**options) -> typer.Typer:
    """A Typer for one command's module, formatted as the `minilat` app is."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                       rich_markup_mode="rich", **options)


def version() -> str:
    """The installed version of minilateral-sim."""
    from sim.experiments.storage import project_version  # storage loads pandas

    return project_version()


class ProgressBar:
    """A rich progress bar of runs: done / total, runs per second, time left."""

    def __init__(self, title: str, disabled: bool):
        self.disabled = disabled
        self.progress = Progress(TextColumn("{task.description}", style="bold", markup=False),
                                 BarColumn(),
                                 MofNCompleteColumn(), TextColumn("runs"),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                 TextColumn("left"), TimeRemainingColumn(), console=err,
                                 transient=True, disable=disabled)
        self.title = title
        self.task = self.progress.add_task(title, total=None, rate="")
        self.start: tuple[float, int] | None = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def stage(self, message: str) -> None:
        """A long preparation: shown in place of the bar's title until the runs start."""
        self.progress.update(self.task, description=f"{self.title}: preparing {message}")

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.start is None:
            self.start = (now, done)
            self.progress.update(self.task, description=self.title)
        elapsed = now - self.start[0]
        rate = (done - self.start[1]) / elapsed if elapsed > 0 else 0.0
        self.progress.update(self.task, completed=done, total=total,
                             rate=f"{rate:,.0f}/s" if rate else "")


def elapsed(seconds: float) -> str:
    """A wall time in words: '0.4 s', '23 s', '1 min 55 s'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


class Steps:
    """The progress of a command made of a few long steps: a live line with the step under way
    and the time elapsed, and, as each step ends, a line saying what it did and how long it
    took (on stderr; `quiet` shows neither)."""

    def __init__(self, title: str, quiet: bool = False, lines: bool = True):
        self.quiet = quiet
        self.lines = lines  # a line for each step done (else only the live line)
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                                 TimeElapsedColumn(), console=err, transient=True,
                                 disable=quiet)
        self.task = self.progress.add_task(title, total=None)
        self.current: tuple[str, float] | None = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self._finish()
        return self.progress.__exit__(*exc)

    def step(self, message: str) -> None:
        """A new step begins: the one before it is done."""
        self._finish()
        self.current = (message, time.perf_counter())
        self.progress.update(self.task, description=message)

    def _finish(self) -> None:
        if self.current is not None and self.lines and not self.quiet:
            message, start = self.current
            took = elapsed(time.perf_counter() - start)
            self.progress.console.print(f"  done: {message} ({took})", highlight=False,
                                        soft_wrap=True)
        self.current = None
