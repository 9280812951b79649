"""The `minilat` command: thin wiring from the command line to library functions."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.errors import InputError, UserError

app = typer.Typer(
    name="minilat",
    help="Simulate the survival of minilateral groups of states: alive, zombie or dead.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
scenarios_app = typer.Typer(help="List the built-in scenarios, or show one resolved.",
                            invoke_without_command=True)
app.add_typer(scenarios_app, name="scenarios")
bench_app = typer.Typer(help="Measure the engines and experiments; prints ratios measured in one "
                             "run.", invoke_without_command=True)
app.add_typer(bench_app, name="bench")
# User text (names, paths, values) is never read as markup: `[/bold]` in a scenario name is shown
# as written. Styles are given as rich Text.
out = Console(markup=False)
err = Console(stderr=True, markup=False)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE",
                 help="Override a parameter by dotted key, e.g. group.secretariat=true or "
                      "members.*.crisis_rate=0.5 (repeatable); KEY=VALUE@QUARTER sets it from "
                      "that quarter on (group.secretariat=true@2027Q1). `minilat scenarios show "
                      "NAME --keys` lists the keys."),
]


def _version() -> str:
    from sim.experiments.storage import project_version

    return project_version()


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"minilat {_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Print the version.")] = False,
) -> None:
    """Simulate the survival of minilateral groups of states: alive, zombie or dead."""


# ------------------------------------------------------------------------------ scenarios


@scenarios_app.callback()
def scenarios_list(ctx: typer.Context) -> None:
    """List the built-in scenarios."""
    if ctx.invoked_subcommand is not None:
        return
    from sim.model.scenario_files import builtin_names, load_scenario

    table = Table(title="Built-in scenarios", title_justify="left")
    for column in ("name", "members", "start", "years", "title"):
        table.add_column(column)
    for name in builtin_names():
        s = load_scenario(name)
        table.add_row(name, " ".join(s.codes), s.start, str(s.years), s.title)
    out.print(table)
    out.print("Show one with `minilat scenarios show NAME`; run one with `minilat run NAME`.")


@scenarios_app.command("show")
def scenarios_show(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a file.")],
    set_: SetOption = None,
    keys: Annotated[bool, typer.Option("--keys", help="List the dotted keys --set accepts, "
                                       "with units and ranges.")] = False,
) -> None:
    """Print a scenario fully resolved (every default filled in) as TOML, with units."""
    from sim.model.keys import all_keys, spec_of, undated_reason
    from sim.model.params import Key
    from sim.model.scenario_files import load_scenario, scenario_to_toml

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


# ------------------------------------------------------------------------------ run


@app.command()
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
    force: Annotated[bool, typer.Option(help="Delete what the --out folder holds first.")
                     ] = False,
) -> None:
    """Run one simulation (or several seeds) and print a compact summary."""
    from sim.experiments.storage import writing_folder
    from sim.model.files import check_fits
    from sim.model.scenario_files import load_scenario
    from sim.model.simulation import ENGINES

    if engine not in ENGINES:
        raise UserError(f"--engine {engine}: unknown engine. Allowed: mesa, fast.")
    s = load_scenario(scenario, set_ or None, years)
    overrides = list(set_ or [])
    if seed + runs - 1 >= 2**63:
        raise UserError(f"--seed {seed} --runs {runs}: the last seed, {seed + runs - 1}, is "
                        f"past the largest, 2**63 - 1. Allowed: --seed at most "
                        f"{2**63 - runs}.")
    check_fits("runs", runs, SUMMARY_BYTES, "--runs", None, runs)
    with contextlib.ExitStack() as stack:
        if out_dir is not None:
            out_dir = stack.enter_context(writing_folder(out_dir, force, "run"))
        if runs > 1:
            _run_many(s, seed, runs, engine, out_dir)
        else:
            _run_one(s, seed, engine, out_dir, overrides)


SUMMARY_BYTES = 1_500  # memory one run's summary takes while `run --runs` collects them


def _run_one(s, seed: int, engine: str, out_dir: Path | None, overrides: list[str]) -> None:
    from sim.model.simulation import simulate

    one = simulate(s, [seed], engine=engine, record=True)
    _print_summary(s, one.summaries[0])
    if out_dir is not None:
        from sim.reporting.single_run import write_run

        for path in write_run(out_dir, s, one.trajectories[0], one.summaries[0], overrides,
                              engine):
            out.print(f"wrote {path}")


def _print_summary(s, summary: dict) -> None:
    state = summary["outcome"]
    color = {"alive": "green", "zombie": "dark_orange", "dead": "red"}[state]
    table = Table(title=f"{s.title} — seed {summary['seed']}, {s.years} years",
                  title_justify="left", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")

    def when(q):
        return "never" if q is None else f"{s.quarter_label(q)} (quarter {q})"

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


def _run_many(s, seed: int, runs: int, engine: str, out_dir: Path | None) -> None:
    import numpy as np
    import pandas as pd
    from rich.markup import escape
    from rich.progress import Progress

    from sim.inference.statistics import outcome_shares
    from sim.model.simulation import simulate

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
        out.print(f"median death quarter {np.median(dead['death_quarter']):.0f}; causes: "
                  + ", ".join(f"{k} {v}" for k, v in dead["death_cause"].value_counts().items()))
    if out_dir is not None:
        from sim.reporting.single_run import write_runs

        out.print(f"wrote {write_runs(out_dir, frame)}")


# ------------------------------------------------------------------------------ bench


@bench_app.callback()
def bench_engines(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Option(help="Built-in scenario or file.")] = "mikta",
    years: Annotated[int, typer.Option(min=1, max=200)] = 30,
    mesa_runs: Annotated[int, typer.Option(min=1, help="Runs of the Mesa engine and of "
                                           "mesa.batch_run.")] = 40,
    fast_runs: Annotated[int, typer.Option(min=1, help="Runs of the fast engine and of the "
                                           "lower bound.")] = 4000,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats; the fastest counts.")] = 3,
) -> None:
    """Runs per second of the Mesa engine, the fast engine, mesa.batch_run and a numpy lower
    bound, on the same work; and their ratios."""
    if ctx.invoked_subcommand is not None:
        return
    from sim.bench import bench_engines as measure
    from sim.bench import machine

    out.print(f"engines on {scenario}, {years} years; {machine()}")
    report = measure(scenario, years, mesa_runs=mesa_runs, fast_runs=fast_runs, repeats=repeats)
    for line in report.lines():
        out.print(line, highlight=False)


@bench_app.command("sweep")
def bench_sweep(
    runs: Annotated[int, typer.Option(min=10, help="Mesa-engine runs of mikta.")] = 2000,
    years: Annotated[int, typer.Option(min=1, max=200)] = 30,
) -> None:
    """minilat experiment against mesa.batch_run on the same Mesa-engine runs; 1 vs 2 workers."""
    from sim.bench import bench_sweep as measure
    from sim.bench import machine

    out.print(f"{runs:,} Mesa-engine runs of mikta, {years} years; {machine()}")
    for line in measure(runs, years):
        out.print(line, highlight=False)


@bench_app.command("memory")
def bench_memory(
    runs: Annotated[int, typer.Option(min=1000)] = 100_000,
    engine: Annotated[str, typer.Option(help="fast or mesa.")] = "fast",
    workers: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Peak memory of an experiment with many runs (summaries only), all processes together."""
    from sim.bench import machine, peak_memory

    out.print(machine())
    for line in peak_memory(runs, engine, workers):
        out.print(line, highlight=False)


# ------------------------------------------------------------------------------ calibrate


@app.command()
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
    from sim.experiments.execution import check_execution
    from sim.experiments.storage import writing_folder
    from sim.inference.calibration import calibrate as fit
    from sim.inference.calibration import load_calibration
    from sim.inference.joint import is_joint
    from sim.reporting.calibration_report import write_results

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



@app.command()
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
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all "
                                                "cores).")] = None,
    force: Annotated[bool, typer.Option(help="Delete what the --out folder holds first.")
                     ] = False,
) -> None:
    """Forecast a group's fate from its record: runs to a year, conditioned on the record."""
    from sim.experiments.storage import writing_folder
    from sim.inference.forecast import forecast as make_forecast
    from sim.inference.forecast import in_words, record_for
    from sim.inference.records import load_record
    from sim.model.files import folder_name_problem
    from sim.model.scenario_files import load_scenario
    from sim.reporting.forecast_report import write_forecast

    s = load_scenario(scenario)
    case = load_record(record) if record is not None else record_for(s)
    name = f"forecast-{s.name}"
    if out_dir is None and folder_name_problem(name) is not None:
        raise UserError(f"{scenario}: its name cannot name a folder; give --out.")
    with writing_folder(out_dir or Path("results") / name, force, "forecast") as folder:
        result = make_forecast(s, until, posterior, runs, seed, keep, case,
                               workers or os.cpu_count() or 1)
        write_forecast(result, folder)
    out.print(in_words(result), highlight=False)
    out.print(f"{folder / 'forecast.csv'}, {folder / 'report.md'} ({result.seconds:.0f} s)",
              highlight=False)


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
    import dataclasses

    from sim.experiments.storage import FolderLock, atomic_write_bytes, writing_folder
    from sim.inference.joint import METHODS, calibrate_joint, load_joint
    from sim.reporting.calibration_report import write_joint_results

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

# ------------------------------------------------------------------------------ validate


@app.command()
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
) -> None:
    """Hold the model to the cases' records: activity by year and level, and the group's state
    by the outcome rule; writes cases.csv, observed_states.csv and a report."""
    from sim.experiments.storage import writing_folder
    from sim.inference.records import builtin_records, load_record
    from sim.inference.validation import validate_case
    from sim.model.files import check_fits
    from sim.reporting.validation_report import write_validation

    records = [load_record(c) for c in (cases or builtin_records())]
    check_fits("runs", runs, 2_000 * 120, "--runs", None, runs)
    with writing_folder(out_dir, force, "validation") as folder:
        results = []
        for record in records:
            with out.status(f"{runs:,} runs of {record.scenario} against the record of "
                            f"{record.name} ..."):
                results.append(validate_case(record, runs=runs, seed=seed))
        report = write_validation(results, folder)
    _print_cases(results)
    out.print(f"report: {report}", highlight=False, soft_wrap=True)


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


# ------------------------------------------------------------------------------ claims


@app.command()
def claims(
    file: Annotated[Path, typer.Argument(help="Claims TOML file (experiments/claims.toml).")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Results folder (default: results/<name>).")] = None,
    replicates: Annotated[int | None, typer.Option(min=10, help="Override the file's paired "
                                                   "runs per arm.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all "
                                                "cores).")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
    force: Annotated[bool, typer.Option(help="Delete earlier claims results in the folder "
                                        "first.")] = False,
    posterior: Annotated[Path | None, typer.Option(
        help="A calibration's results folder: also run every contrast under parameter sets "
             "drawn by weight from its posterior.parquet and write robustness.csv.")] = None,
    sets: Annotated[int, typer.Option(min=1, help="Parameter sets drawn with --posterior "
                                      "or spread over the priors with --prior.")] = 40,
    prior: Annotated[Path | None, typer.Option(
        help="A calibration file: also run every contrast under parameter sets spread over "
             "its priors and over the claims file's [variants], and say of each effect "
             "whether it follows from the model's form (its sign in every set and variant) "
             "or is a finding (assumed_or_found.csv).")] = None,
) -> None:
    """Run the sources' claims as paired experiments and write their report.

    With --posterior, every contrast also runs under each of --sets parameter sets (the same
    seeds in every arm and set), and each predicted effect is called robust, conditional or
    does not hold by the share of sets in which it holds (robustness.csv).
    """
    from sim.experiments.storage import writing_folder
    from sim.inference.claims import load_claims, run_claims
    from sim.reporting.claims_report import write_claims_report

    suite = load_claims(file, replicates=replicates)

    def progress(message: str) -> None:
        if not quiet:
            err.print(message, highlight=False)

    from sim.experiments.posterior import draw_sets
    from sim.inference.robustness import (
        assumed_or_found,
        claim_words,
        prior_sets,
        run_robustness,
        write_csv,
        write_robustness,
    )

    base = suite.claims[0].contrasts[0].baseline
    drawn = draw_sets(posterior, sets, suite.seed, base) if posterior is not None else None
    spread = prior_sets(prior, sets, suite.seed, base, suite.variants) \
        if prior is not None else None
    robustness = found = None
    cores = workers or os.cpu_count() or 1
    with writing_folder(out_dir or Path("results") / suite.name, force, "claims") as folder:
        result = run_claims(suite, workers=cores, progress=progress)
        variants = None
        if suite.variants:
            from sim.inference.claims import run_variants

            variants = run_variants(suite, cores, progress)
            write_csv(folder / "variants.csv", variants)
        if drawn is not None:
            robustness = run_robustness(suite, drawn, cores, progress)
            write_robustness(robustness, folder)
        if spread is not None:
            over_prior = run_robustness(suite, spread, cores, progress)
            write_robustness(over_prior, folder, "prior")
            found = assumed_or_found(suite, over_prior)
            write_csv(folder / "assumed_or_found.csv", found, "%.3g")
            found.attrs["claims"] = claim_words(found)
            found.attrs["seconds"] = over_prior.seconds
            found.attrs["runs"] = over_prior.runs
        report = write_claims_report(suite, result, folder, robustness, found, variants)
    table = Table("claim", "title", "verdict", *(["assumed or found"] if found is not None
                                                  else []))
    words = dict(found.attrs["claims"].itertuples(index=False)) if found is not None else {}
    for row in result.verdicts.itertuples():
        table.add_row(str(row.claim), row.title, row.verdict + (f": {row.condition}"
                                                               if row.condition else ""),
                      *([words.get(row.claim, "")] if found is not None else []))
    out.print(table)
    out.print(f"{suite.replicates:,} paired runs per arm in {result.seconds:.0f} s; "
              f"report: {report}", highlight=False)
    if robustness is not None:
        table = Table("claim", "contrast", "metric", "sets holding", "effect (95 %)", "verdict",
                      title=f"across {sets} parameter sets of {posterior}", title_justify="left")
        for row in robustness.table.itertuples():
            table.add_row(str(row.claim), row.contrast, f"{row.metric} {row.predicted}",
                          f"{row.share_holding:.0%}",
                          f"{row.effect:+.3g} ({row.effect_lo:+.3g} to {row.effect_hi:+.3g})",
                          row.verdict)
        out.print(table)
        out.print(f"{robustness.runs:,} runs in {robustness.seconds:.0f} s; "
                  f"{folder / 'robustness.csv'}", highlight=False)


# ------------------------------------------------------------------------------ experiment


@app.command()
def experiment(
    file: Annotated[Path, typer.Argument(help="Experiment TOML file (see experiments/).")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Results folder (default: results/<name>).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: all cores).",
                                                min=1)] = None,
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
    from sim.experiments.design import load_experiment
    from sim.experiments.storage import FolderLock

    spec = load_experiment(file, replicates=replicates, engine=engine)
    if posterior is not None:
        from sim.experiments.design import with_posterior

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
    from sim.experiments.execution import execute
    from sim.inference.statistics import outcome_table

    bar = _ProgressBar(f"{spec.name}", disabled=quiet)
    with bar:
        result = execute(spec, folder, workers=workers, backend=backend, scheduler=scheduler,
                         resume=resume, force=force, timeseries=timeseries, progress=bar.update,
                         command=["minilat", *sys.argv[1:]], version=_version(),
                         stage=bar.stage)
    command = f"minilat experiment {file} --resume" + (f" --out {out_dir}" if out_dir else "")
    if result.interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop is clean; say how to resume
        err.print(f"interrupted: {result.done_before + result.computed} of {result.total} runs "
                  f"are saved in {folder}. Resume with: {command}")
        raise typer.Exit(130)
    rate = result.computed / result.seconds if result.seconds > 0 else float("nan")
    out.print(f"{result.total} runs ({result.done_before} done before, {result.computed} now, "
              f"{rate:.0f} runs/s on {result.workers} {result.backend} worker"
              f"{'s' if result.workers != 1 else ''}) in {folder}")
    if not quiet:
        _print_shares(outcome_table(result.folder.read_runs(), spec.factor_keys),
                      spec.factor_keys)
    if not no_report:
        from sim.reporting.report import write_report

        try:
            out.print(f"report: {write_report(result.folder.path)}")
        except UserError as exc:  # e.g. every run failed: say so below, not as a usage error
            err.print(f"no report: {exc}", highlight=False, soft_wrap=True)
    if result.failed:
        err.print(Text.assemble((f"{result.failed} runs failed", "red"),
                                f"; their errors are in {result.folder.errors_path}"))
        raise typer.Exit(1)


def _check(folder: Path, sample: int) -> None:
    from sim.experiments.verify import check_results

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


class _ProgressBar:
    """A rich progress bar of runs: done / total, runs per second, time left."""

    def __init__(self, title: str, disabled: bool):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

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
        import time

        now = time.perf_counter()
        if self.start is None:
            self.start = (now, done)
            self.progress.update(self.task, description=self.title)
        elapsed = now - self.start[0]
        rate = (done - self.start[1]) / elapsed if elapsed > 0 else 0.0
        self.progress.update(self.task, completed=done, total=total,
                             rate=f"{rate:,.0f}/s" if rate else "")


def _print_shares(table, factor_keys: list[str], limit: int = 24) -> None:
    shown = Table(title="Outcome shares per design point (95 % Wilson intervals)",
                  title_justify="left")
    for column in ("point", *factor_keys, "runs", "alive", "zombie", "dead"):
        shown.add_column(column, justify="right")
    for row in table.head(limit).itertuples(index=False):
        values = row._asdict()
        factors = [_fmt(values[f"_{i + 1}"]) for i in range(len(factor_keys))]
        shown.add_row(str(row.point_id), *factors, str(row.runs),
                      *(f"{values[n]:.0%} ({values[n + '_low']:.0%}–{values[n + '_high']:.0%})"
                        for n in ("alive", "zombie", "dead")))
    out.print(shown)
    if len(table) > limit:
        out.print(f"… and {len(table) - limit} more points (all in runs.parquet).")


def _fmt(value) -> str:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# ------------------------------------------------------------------------------ app


@app.command("app")
def serve_app(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a scenario "
                                            "TOML file the page opens with.")] = "mikta",
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on. The default serves this "
                                      "machine only; 0.0.0.0 serves every network "
                                      "interface.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed the page opens with.", min=0,
                                      max=2**63 - 1)] = 1,
) -> None:
    """Serve the teaching page (Mesa's SolaraViz) and print its address; Ctrl+C stops it."""
    from sim.app import serve

    serve(scenario, host=host, port=port, seed=seed, announce=out.print)


# ------------------------------------------------------------------------------ report


@app.command()
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
    from sim.reporting.report import write_report

    pairs = None
    if contrast:
        pairs = []
        for text in contrast:
            parts = text.replace(" ", "").split(",")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise UserError(f"--contrast {text}: expected two design point ids, e.g. "
                                "--contrast 0,1.")
            pairs.append((int(parts[0]), int(parts[1])))
    out.print(f"report: {write_report(results_dir, contrasts=pairs, since=since)}")


# ------------------------------------------------------------------------------ entry point


def _show_input_warnings() -> None:
    import warnings

    from sim.errors import InputWarning

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


if __name__ == "__main__":
    main()
