"""What every calibration file holds, and what every calibration reports of its posterior.

A calibration file names case records (`cases`) and the priors of the behavioural values they
share (`sim.inference.joint` reads it; `sim.inference.joint_fit` fits it, one case or several).
This module reads the parts every such file has (the [calibration] table's settings, the
[priors] table, the long-run scenarios) and summarizes a posterior: its parameters against their
priors, and the long-run outcomes over its parameter sets.

A file of the retired single-record form (`scenario` and a [targets] table naming a statements
CSV) is refused with a plain error saying what replaced it: the case's record
(`seeds/records/`) holds the same statements and more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import InputError
from sim.experiments.design import Factor, read_factor, run_seed
from sim.experiments.evaluation import SUMMARIES, Evaluator, evaluate
from sim.inference.statistics import shares_by_point
from sim.model import rules
from sim.model.files import Section, find_line, read_toml
from sim.model.params import Scenario
from sim.model.scenario_files import load_named_scenario

UNIDENTIFIED = 0.7  # posterior 90 % interval wider than this share of the prior range
MIN_EFFECTIVE_SETS = 50  # a posterior of fewer effective sets (Kish) identifies nothing: its
# narrow intervals are importance weights collapsed onto a few sets, not the records' constraint
RETIRED = ("scenario", "targets")  # keys of the single-record form, replaced by `cases`


@dataclass
class CalibrationFile:
    """A calibration file as read, and what every kind of calibration file holds: the head's
    settings, the priors' table and the long-run scenarios, each value checked."""

    path: Path
    top: Section
    head: Section  # the [calibration] table

    @classmethod
    def read(cls, path: str | Path, sections: tuple[str, ...], head_keys: Mapping[str, str]
             ) -> CalibrationFile:
        path = Path(path)
        if not path.is_file():
            raise InputError(str(path), "no such calibration file.")
        raw, text = read_toml(path)
        retired(path, raw, text)
        top = Section(str(path), text, raw, (), sections, label="calibration file",
                      line_finder=find_line)
        return cls(path, top, top.section("calibration", head_keys, default={}))

    @property
    def source(self) -> str:
        return str(self.path)

    def settings(self, draws: int | None) -> dict[str, Any]:
        """name, description, draws, accept, seed and predictive_runs."""
        get = self.head.get
        return {
            "name": self.head.folder_name("name", self.path.stem),
            "description": get("description", str, ""),
            "draws": draws or get("draws", int, 20_000, lambda v: v >= 10,
                                  "a whole number of draws, at least 10."),
            "accept": get("accept", float, 0.01, lambda v: 0 < v <= 1,
                          "a share above 0 and at most 1."),
            "seed": get("seed", int, 0, lambda v: 0 <= v < 2**63,
                        "a whole number from 0 to 2**63 - 1."),
            "predictive_runs": get("predictive_runs", int, 20, lambda v: v >= 1,
                                   "a whole number, at least 1."),
        }

    def priors(self, scenarios: list[Scenario]) -> tuple[Factor, ...]:
        """The numeric prior ranges, each a key of every one of `scenarios`."""
        priors_raw = self.top.raw.get("priors", {})
        if not isinstance(priors_raw, Mapping) or not priors_raw:
            raise self.top.error("priors", "must give at least one prior range.",
                                 allowed='"dotted.key" = { min = ..., max = ... }.')
        table = self.top.section("priors", None)
        priors = []
        for key, spec in priors_raw.items():
            checked = [read_factor(table, key, spec, scenario) for scenario in scenarios]
            prior = checked[0]
            if not prior.is_range or prior.kind is bool:
                raise table.error(prior.key, "needs a numeric range.",
                                  allowed="{ min = ..., max = ... }.")
            priors.append(prior)
        return tuple(priors)

    def long_run(self, example: str) -> tuple[tuple[Scenario, ...], int]:
        """The long-run scenarios and the runs per accepted draw for them."""
        refs = self.head.texts("long_run", "is not a list of scenarios.", f"e.g. {example}.")
        scenarios = tuple(load_named_scenario(ref, self.path.parent, lambda why, ref=ref:
                                              self.head.error("long_run", "names no scenario.",
                                                              ref, why))
                          for ref in refs)
        runs = self.head.get("long_run_runs", int, 5, lambda v: v >= 1,
                             "a whole number, at least 1.")
        return scenarios, runs


def prior_draws(calibration, draws: int | None = None, seed: int | None = None
                ) -> pd.DataFrame:
    """Parameter sets from a Latin hypercube, uniform on each prior range (by default the
    calibration's own number of draws and seed)."""
    unit = qmc.LatinHypercube(d=len(calibration.priors),
                              seed=calibration.seed if seed is None else seed).random(
        draws or calibration.draws)
    return pd.DataFrame({p.key: [p.cast(p.low + u * (p.high - p.low)) for u in unit[:, j]]
                         for j, p in enumerate(calibration.priors)})


def long_run_outcomes(calibration, accepted: pd.DataFrame,
                      calibrated: dict[str, Any], evaluator: Evaluator) -> pd.DataFrame:
    """Outcome shares of each long-run scenario at its horizon, with the calibrated values and
    over all accepted draws: what the record says, and does not say, about the group's fate."""
    draws = [{p.key: p.cast(row[p.key]) for p in calibration.priors}
             for row in accepted[[p.key for p in calibration.priors]].to_dict("records")]
    n = calibration.long_run_runs
    sources = {"calibrated values": [calibrated] * (len(draws) * n),
               "accepted draws": [d for d in draws for _ in range(n)]}
    seeds = long_run_seeds(calibration, len(draws) * n)
    rows = []
    for scenario in calibration.long_run:
        for label, values in sources.items():
            runs = evaluate(scenario, seeds, SUMMARIES, parameter_sets=values,
                            evaluator=evaluator)
            shares = shares_by_point(runs.assign(point_id=0), []).iloc[0]
            rows.append({"scenario": scenario.name, "parameters": label,
                         "runs": len(values), "years": scenario.years,
                         **{f"{name}{suffix}": shares[f"{name}{suffix}"]
                            for name in rules.STATE_NAMES for suffix in ("", "_low", "_high")}})
    return pd.DataFrame(rows)


def long_run_seeds(calibration, runs: int) -> list[int]:
    """Distinct seeds for the long-run runs, the same for the calibrated values and the draws."""
    return [run_seed(calibration.seed, 0, 3 * 10**9 + k, common=True) for k in range(runs)]


def posterior_summary(calibration, accepted: pd.DataFrame,
                      effective_sets: float = float("inf")) -> pd.DataFrame:
    """Accepted ranges of each parameter against its prior, and whether the data identify it.

    `effective_sets` is the posterior's effective sample size: below `MIN_EFFECTIVE_SETS` no
    parameter is called identified, however narrow its interval."""
    trusted = effective_sets >= MIN_EFFECTIVE_SETS
    rows = []
    for prior in calibration.priors:
        values = accepted[prior.key].to_numpy(dtype=float)
        q05, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
        width = (q95 - q05) / (prior.high - prior.low) if prior.high > prior.low else 0.0
        rows.append({"parameter": prior.key, "prior_min": prior.low, "prior_max": prior.high,
                     "q05": q05, "q25": q25, "median": q50, "q75": q75, "q95": q95,
                     "interval_share_of_prior": width,
                     "identified": bool(trusted and width < UNIDENTIFIED)})
    return pd.DataFrame(rows)


def retired(path: Path, raw: Mapping, text: str) -> None:
    """Refuse a file of the single-record form (`scenario`, [targets]) with what replaced it."""
    head = raw.get("calibration", {})
    found = "targets" if "targets" in raw else (
        "calibration.scenario" if isinstance(head, Mapping) and "scenario" in head else None)
    if found is None:
        return
    raise InputError(
        str(path), "belongs to the retired single-record form of a calibration file (a "
        "scenario and a [targets] table naming a statements CSV). A calibration now names case "
        "records, one or several, and fits activity by level and the state per year of each.",
        key=found, line=find_line(text, tuple(found.split("."))),
        allowed='under [calibration], cases = ["mikta"] (shipped records, or record TOML '
        'files: seeds/README.md) in place of `scenario` and [targets]; keep [priors]. '
        "experiments/mikta-calibration.toml is the MIKTA fit in the new form.")
