"""`minilat run`: one simulation, or several seeds, printed as a summary."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from sim.cli.console import SetOption, command_app, elapsed, err, out, since_start
from sim.experiments.storage import writing_folder
from sim.inference.statistics import outcome_shares
from sim.model.keys import Setting, settings_of
from sim.model.params import Scenario
from sim.model.quarters import format_quarter
from sim.model.scenario_files import load_scenario
from sim.model.simulation import check_runs, simulate
from sim.reporting.labels import key_label
from sim.reporting.single_run import write_run, write_runs

command = command_app()


@command.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a scenario "
                                            "TOML file.")],
    seed: Annotated[int, typer.Option(help="Seed of the run; it fixes every random draw.",
                                      min=0, max=2**63 - 1)] = 0,
    years: Annotated[int | None, typer.Option(help="Horizon in years (default: the "
                                              "scenario's).", min=1, max=200)] = None,
    set_: SetOption = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Write summary.json, timeseries.parquet and run.png here.")] = None,
    runs: Annotated[int, typer.Option(help="Run this many seeds (seed, seed+1, ...) and print "
                                      "outcome shares with 95 % Wilson intervals.",
                                      min=1)] = 1,
    engine: Annotated[str, typer.Option(help="mesa (the reference) or fast (vectorized, same "
                                        "results).")] = "mesa",
    force: Annotated[bool, typer.Option(help="Delete what an earlier run wrote in the "
                                        "--out folder first.")
                     ] = False,
) -> None:
    """Run one simulation (or several seeds) and print a compact summary."""
    check_runs(engine, seed, runs)
    settings = settings_of(set_ or None)
    s = load_scenario(scenario, settings or None, years)
    overrides = list(set_ or [])
    if settings:
        _print_changes(load_scenario(scenario, None, years), s, settings)
    with contextlib.ExitStack() as stack:
        if out_dir is not None:
            out_dir = stack.enter_context(writing_folder(out_dir, force, "run"))
        if runs > 1:
            _run_many(s, seed, runs, engine, out_dir)
        else:
            _run_one(s, seed, engine, out_dir, overrides)
    out.print(f"in {elapsed(since_start())}", highlight=False)


def _print_changes(base: Scenario, changed: Scenario, settings: list[Setting]) -> None:
    """The changes `--set` applied, each by its meaning and key, from and to which value."""
    out.print(f"changes applied ({len(settings)}):", highlight=False)
    for setting in settings:
        before = _values(setting.key.values_in(base))
        if setting.quarter is None:
            after = _values(setting.key.values_in(changed))
            when = ""
        else:
            after = _values([setting.value])
            when = f" from {format_quarter(setting.quarter)}"
        out.print(f"  {key_label(setting.key.text)}: {before} → {after}{when}",
                  highlight=False, soft_wrap=True)


def _values(values: list) -> str:
    shown = list(dict.fromkeys("true" if v is True else "false" if v is False else f"{v:g}"
                               if isinstance(v, float) else str(v) for v in values))
    return shown[0] if len(shown) == 1 else "(" + ", ".join(shown) + ")"


def _run_one(s: Scenario, seed: int, engine: str, out_dir: Path | None,
             overrides: list[str]) -> None:
    one = simulate(s, [seed], engine=engine, record=True)
    _print_summary(s, one.summaries[0])
    if out_dir is not None:
        for path in write_run(out_dir, s, one.trajectories[0], one.summaries[0], overrides,
                              engine):
            out.print(f"wrote {path}")


def _print_summary(s: Scenario, summary: dict) -> None:
    state = summary["outcome"]
    color = {"alive": "green", "zombie": "dark_orange", "dead": "red"}[state]
    table = Table(title=f"{s.title} — seed {summary['seed']}, {s.years} years",
                  title_justify="left", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")

    def when(q):
        return "never" if q is None else s.quarter_label(q)

    table.add_row("final state", Text(state.upper(), style=color))
    if summary["death_quarter"] is not None:
        table.add_row("death", f"{when(summary['death_quarter'])}, cause: "
                      f"{summary['death_cause']}")
    table.add_row("first zombie quarter", when(summary["first_zombie_quarter"]))
    table.add_row("quarters as a zombie", str(summary["zombie_quarters"]))
    table.add_row("revivals", str(summary["revivals"]))
    table.add_row("exits", str(summary["exits"]))
    table.add_row("vacant chair terms", str(summary["vacancies"]))
    table.add_row("second chair terms in a row", str(summary["chair_repeats"]))
    table.add_row(f"joins of {s.world.rival_name}", str(summary["rival_joins"]))
    table.add_row("total joint outputs", str(summary["total_outputs"]))
    out.print(table)


def _run_many(s: Scenario, seed: int, runs: int, engine: str, out_dir: Path | None) -> None:
    seeds = list(range(seed, seed + runs))
    with Progress(console=err, transient=True, disable=engine == "fast") as progress:
        task = progress.add_task(escape(f"{runs} runs of {s.name}"), total=runs)
        rows = simulate(s, seeds, engine=engine,
                        progress=lambda done: progress.update(task, completed=done)).summaries
    frame = pd.DataFrame(rows)
    shares = outcome_shares(frame["outcome"])
    table = Table(title=f"{s.title}: {runs} runs (seeds {seeds[0]}–{seeds[-1]}), {s.years} "
                  f"years, {engine} engine", title_justify="left")
    for column in ("outcome", "runs", "share", "95 % interval (Wilson)"):
        table.add_column(column, justify="right" if column != "outcome" else "left")
    for row in shares.itertuples():
        table.add_row(row.outcome, str(row.count), f"{row.share:.1%}",
                      f"{row.low:.1%} – {row.high:.1%}")
    out.print(table)
    dead = frame[frame["outcome"] == "dead"]
    if len(dead):
        out.print(f"median death {s.quarter_label(int(np.median(dead['death_quarter'])))}; causes: "
                  + ", ".join(f"{k} {v}" for k, v in dead["death_cause"].value_counts().items()))
    if out_dir is not None:
        out.print(f"wrote {write_runs(out_dir, frame)}")
