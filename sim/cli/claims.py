"""`minilat claims`: the sources' claims run as paired experiments, and their report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.console import (
    ResultsFolderOption,
    Steps,
    WorkersOption,
    command_app,
    elapsed,
    out,
    since_start,
)
from sim.inference.claims import METRIC_LABELS
from sim.inference.claims_study import ClaimsStudy, study_claims
from sim.inference.screening import as_report_frame
from sim.inference.verdicts import CLAIM_VERDICTS
from sim.reporting.claims_report import CLAIM_WORDS, write_claims_report

command = command_app()


@command.command()
def claims(
    file: Annotated[Path, typer.Argument(help="Claims TOML file (experiments/claims.toml).")],
    out_dir: ResultsFolderOption = None,
    replicates: Annotated[int | None, typer.Option(min=10, help="Override the file's paired "
                                                   "runs per arm.")] = None,
    workers: WorkersOption = None,
    quiet: Annotated[bool, typer.Option(help="No progress lines and no table of verdicts; "
                                        "only the summary.")] = False,
    force: Annotated[bool, typer.Option(help="Delete earlier claims results in the folder "
                                        "first.")] = False,
    variants: Annotated[bool, typer.Option(
        "--variants/--no-variants", help="Also run every claim under each structural variant "
        "of the file's [variants] (as many runs again for each).")] = True,
    screening: Annotated[bool | None, typer.Option(
        "--screen/--no-screen", help="Also screen every numeric parameter one at a time over "
        "its documented range for those that flip a claim (screening.csv, deciding.csv); by "
        "default with the variants.")] = None,
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
    with Steps("reading the claims", quiet) as steps:
        study = study_claims(file, out_dir, replicates=replicates, workers=workers,
                             posterior=posterior, sets=sets, prior=prior, force=force,
                             variants=variants, screening=screening, progress=steps.step,
                             report=_reporting(steps))
    if not quiet:
        _print_verdicts(study)
        if study.robustness is not None:
            _print_robustness(study, f"across {sets} parameter sets of {posterior}")
    out.print(f"{summary(study)}; in {elapsed(since_start())}; report: {study.report}",
              highlight=False, soft_wrap=True)


def _reporting(steps: Steps):
    def report(study: ClaimsStudy) -> Path:
        steps.step("writing the report and its figures")
        return write_report(study)

    return report


def summary(study: ClaimsStudy) -> str:
    """One line: the verdicts counted, e.g. 'Claims: 9 — 2 hold, 4 depend on a condition,
    ...'."""
    counts = study.result.verdicts["verdict"].value_counts()
    parts = [f"{counts[v]} {CLAIM_WORDS[v]}" for v in CLAIM_VERDICTS if counts.get(v, 0)]
    variants = (f", and under {len(study.suite.variants)} structural variants"
                if study.variants is not None else
                "; the structural variants not run" if study.suite.variants else "")
    return (f"Claims: {len(study.result.verdicts)} — {', '.join(parts)} "
            f"({study.suite.replicates:,} to {study.suite.cap:,} paired runs per arm{variants})")


def write_report(study: ClaimsStudy) -> Path:
    """The claims report of a study, into its folder."""
    screened = as_report_frame(study.screening) if study.screening is not None else None
    return write_claims_report(study.suite, study.result, study.folder, study.robustness,
                               study.found, study.variants, screened)


def _print_verdicts(study: ClaimsStudy) -> None:
    found = study.found
    table = Table("claim", "title", "verdict", *(["assumed or found"] if found is not None
                                                  else []))
    words = dict(found.attrs["claims"].itertuples(index=False)) if found is not None else {}
    for row in study.result.verdicts.itertuples():
        table.add_row(str(row.claim), row.title, row.verdict + (f": {row.condition}"
                                                               if row.condition else ""),
                      *([words.get(row.claim, "")] if found is not None else []))
    out.print(table)


def _print_robustness(study: ClaimsStudy, title: str) -> None:
    robustness = study.robustness
    table = Table("claim", "contrast", "metric", "sets holding", "effect (95 %)", "verdict",
                  title=title, title_justify="left")
    for row in robustness.table.itertuples():
        table.add_row(str(row.claim), row.contrast,
                      f"{METRIC_LABELS[row.metric]} {row.predicted}",
                      f"{row.share_holding:.0%}",
                      f"{row.effect:+.3g} ({row.effect_lo:+.3g} to {row.effect_hi:+.3g})",
                      row.verdict)
    out.print(table)
    out.print(f"{robustness.runs:,} runs in {robustness.seconds:.0f} s; "
              f"{study.folder / 'robustness.csv'}", highlight=False)
