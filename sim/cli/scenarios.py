"""`minilat scenarios`: the built-in scenarios listed, or one shown resolved."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.console import SetOption, command_app, out
from sim.model.keys import all_keys, spec_of, undated_reason
from sim.model.params import Key
from sim.model.scenario_files import builtin_names, load_scenario, scenario_to_toml

command = command_app(help="List the built-in scenarios, or show one resolved.",
                      invoke_without_command=True)


@command.callback()
def scenarios_list(ctx: typer.Context) -> None:
    """List the built-in scenarios."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title="Built-in scenarios", title_justify="left")
    for column in ("name", "members", "start", "years", "title"):
        table.add_column(column)
    for name in builtin_names():
        s = load_scenario(name)
        table.add_row(name, " ".join(s.codes), s.start, str(s.years), s.title)
    out.print(table)
    out.print("Show one with `minilat scenarios show NAME`; run one with `minilat run NAME`.")


@command.command("show")
def scenarios_show(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a file.")],
    set_: SetOption = None,
    keys: Annotated[bool, typer.Option("--keys", help="List the dotted keys --set accepts, "
                                       "with units and ranges.")] = False,
) -> None:
    """Print a scenario fully resolved (every default filled in) as TOML, with units."""
    s = load_scenario(scenario, set_ or None)
    if keys:
        lines = [f"{'key':<36} {'type':<6} {'allowed':<14} {'@':<2} meaning [unit]"]
        for key in all_keys(s):
            if key.startswith("members.") and not key.startswith("members.*."):
                continue
            kind, spec = spec_of(key)
            allowed = ("" if spec.low is None else f"{spec.low:g}") + (
                "" if spec.high is None else f" to {spec.high:g}") + " | ".join(spec.choices)
            unit = f" [{spec.unit}]" if spec.unit else ""
            datable = "@" if undated_reason(Key.parse(key)) is None else ""
            lines.append(f"{key:<36} {kind.__name__:<6} {allowed:<14} {datable:<2} "
                         f"{spec.meaning}{unit}")
        lines.append(f"members.<CODE>.<key> sets one member; CODE is one of "
                     f"{', '.join(s.codes)}.")
        lines.append("@: the key can change at a date, KEY=VALUE@QUARTER (e.g. "
                     "group.secretariat=true@2027Q1); the others hold for the whole run.")
        sys.stdout.write("\n".join(lines) + "\n")
        return
    sys.stdout.write(scenario_to_toml(s))
