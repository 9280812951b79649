"""A claims study: the sources' claims run as paired experiments at the scenarios' values,
under each structural variant, across a posterior's parameter sets and across the priors,
with every table written into one results folder.

`minilat claims` is this function and a print; in a notebook::

    from sim.inference.claims_study import study_claims
    study = study_claims("experiments/claims.toml", posterior="results/joint", sets=20)
    study.result.verdicts
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.posterior import PosteriorSets, draw_sets
from sim.experiments.storage import writing_folder
from sim.inference.claims import (
    RUN_BYTES,
    ClaimsResult,
    ClaimSuite,
    load_claims,
    run_claims,
    run_variants,
)
from sim.inference.robustness import (
    RobustnessResult,
    assumed_or_found,
    claim_words,
    prior_sets,
    run_robustness,
    write_csv,
    write_robustness,
)
from sim.inference.screening import Screening, screen, write_screening
from sim.inference.screening import spread as spread_over
from sim.model.files import check_fits
from sim.model.params import Key


@dataclass
class ClaimsStudy:
    """What a claims study found and where it wrote it."""

    suite: ClaimSuite
    folder: Path
    result: ClaimsResult  # at the scenarios' own values
    variants: pd.DataFrame | None = None  # each claim's verdict under each structural variant
    robustness: RobustnessResult | None = None  # across a posterior's parameter sets
    found: pd.DataFrame | None = None  # assumed by the model's form, or a finding
    screening: Screening | None = None  # the deciding parameters, one at a time
    report: Path | None = None


def study_claims(file: str | Path, out: str | Path | None = None, *,
                 replicates: int | None = None, workers: int | None = None,
                 posterior: str | Path | None = None, sets: int = 40,
                 prior: str | Path | None = None, force: bool = False, variants: bool = True,
                 screening: bool | None = None,
                 progress: Callable[[str], None] | None = None,
                 report: Callable[[ClaimsStudy], Path] | None = None) -> ClaimsStudy:
    """Run a claims file's claims into `out` (default results/<name>): paired runs at the
    scenarios' values, then under each `[variants]` form (variants.csv) unless `variants` is
    false; then the one-at-a-time screening of every numeric parameter for the deciding ones
    (screening.csv, deciding.csv) unless `screening` is false (by default, as `variants`).

    With `posterior` (a calibration's results folder) every contrast also runs under `sets`
    parameter sets drawn by weight from it (robustness.csv); with `prior` (a calibration file)
    under `sets` sets spread over its priors and the variants, which says of each effect
    whether the model's form assumes it or it is a finding (assumed_or_found.csv).
    `report(study)`, if given, writes the report while the folder is still held.
    """
    suite = load_claims(file, replicates=replicates)
    base = suite.claims[0].contrasts[0].baseline
    if posterior is not None or prior is not None:  # every arm runs under every set
        arms = 2 * sum(len(claim.contrasts) for claim in suite.claims)
        check_fits("paired runs across the parameter sets", arms * sets * suite.replicates,
                   RUN_BYTES, "--sets", None, sets)
    drawn = draw_sets(posterior, sets, suite.seed, base) if posterior is not None else None
    spread = prior_sets(prior, sets, suite.seed, base, suite.variants) \
        if prior is not None else None
    cores = workers or os.cpu_count() or 1
    with writing_folder(out or Path("results") / suite.name, force, "claims") as folder:
        study = ClaimsStudy(suite, folder, run_claims(suite, workers=cores, progress=progress))
        if suite.variants and variants:
            study.variants = run_variants(suite, cores, progress)
            write_csv(folder / "variants.csv", study.variants)
        if variants if screening is None else screening:
            study.screening = screen(suite, workers=cores, progress=progress,
                                     calibrated=_calibrated(prior, file))
            write_screening(study.screening, folder)
        if drawn is not None:
            study.robustness = run_robustness(suite, drawn, cores, progress)
            write_robustness(study.robustness, folder)
        if spread is not None and study.screening is not None:
            spread = with_deciding(spread, study.screening, sets, suite.seed)
        if spread is not None:
            study.found = _assumed_or_found(suite, spread, cores, folder, progress)
        if report is not None:
            study.report = report(study)
    return study


def _calibrated(prior: str | Path | None, file: str | Path) -> set[str]:
    """The keys a calibration file gives priors: `prior`, or the joint calibration beside the
    claims file."""
    path = Path(prior) if prior is not None else Path(file).parent / "joint-calibration.toml"
    if not path.is_file():
        return set()
    from sim.inference.joint import load_joint

    return {p.key for p in load_joint(path).priors}


def with_deciding(spread: PosteriorSets, screening: Screening, sets: int, seed: int
                  ) -> PosteriorSets:
    """The prior sets with every deciding parameter the priors leave out spread over its
    screened range too (a Latin hypercube), so the robustness pass varies them beside the
    calibrated ones."""
    keys = list(spread.keys)
    extra = {k: screening.ranges[k] for k in dict.fromkeys(screening.deciding["parameter"])
             if k not in keys}
    if not extra:
        return spread
    values = spread_over(extra, sets, seed)
    kinds = {k: Key.parse(k).kind for k in extra}  # a whole-number key takes whole numbers
    rows = [list(row) + [int(np.rint(values[k][i])) if kinds[k] is int else float(values[k][i])
                         for k in extra] for i, row in enumerate(spread.values)]
    return PosteriorSets.of_rows(spread.source + " and the deciding parameters", spread.digest,
                                 keys + list(extra), rows, range(len(rows)))


def _assumed_or_found(suite: ClaimSuite, spread: PosteriorSets, cores: int, folder: Path,
                      progress: Callable[[str], None] | None) -> pd.DataFrame:
    """Every contrast across the sets spread over the priors (prior.csv and its sets and rules)
    and what follows (assumed_or_found.csv); the table carries each claim's words, the runs
    and the seconds in its attrs."""
    over_prior = run_robustness(suite, spread, cores, progress)
    write_robustness(over_prior, folder, "prior")
    found = assumed_or_found(suite, over_prior)
    write_csv(folder / "assumed_or_found.csv", found, "%.3g")
    found.attrs["claims"] = claim_words(found)
    found.attrs["seconds"] = over_prior.seconds
    found.attrs["runs"] = over_prior.runs
    return found
