"""Recovery on known truth: records made by the model from parameter sets drawn from the prior,
fitted with the calibration's own method (simulation-based calibration, Talts et al. 2018).

For each synthetic data set a parameter set is drawn from the priors, one run of each case is
made with it (a seed of its own), and that run's statistics replace the cases' records; the
calibration is then fitted to them as to the real records. If the posterior is calibrated, the
truth falls inside its 50 % central interval in half of the data sets and inside its 90 %
interval in nine tenths, whatever the parameter: a posterior too narrow covers less, one too wide
covers more.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.design import run_seed
from sim.experiments.evaluation import Evaluator, open_evaluator
from sim.experiments.posterior import draw_by_weight
from sim.inference.calibration import prior_draws
from sim.inference.joint import JointCalibration, simulate_statistics
from sim.inference.smc import posterior_sets, run_smc

LEVELS = (0.5, 0.9)  # the central intervals whose coverage is reported


def synthetic(calibration: JointCalibration, truth: dict, seed: int,
              evaluator: Evaluator | None = None) -> JointCalibration:
    """The calibration with every case's record replaced by one run made with `truth`."""
    made = simulate_statistics(calibration, pd.DataFrame([truth]), [seed], evaluator=evaluator)
    cases = tuple(dataclasses.replace(case, observed=made.iloc[0][case.observed.index]
                                      .astype(float))
                  for case in calibration.cases)
    return dataclasses.replace(calibration, cases=cases)


def recover(calibration: JointCalibration, data_sets: int, seed: int = 0, workers: int = 1,
            evaluator: Evaluator | None = None) -> pd.DataFrame:
    """One row per data set and parameter: the truth, the posterior's quantiles (of an equally
    weighted sample), and whether each central interval of `LEVELS` holds the truth."""
    truths = prior_draws(calibration, data_sets, seed)
    rows = []
    with open_evaluator(evaluator, workers) as pool, tempfile.TemporaryDirectory() as tmp:
        for k, truth in enumerate(truths.to_dict("records")):
            made = synthetic(dataclasses.replace(calibration, seed=calibration.seed + k), truth,
                             run_seed(seed, k, 7, common=False), pool)
            history = run_smc(made, Path(tmp) / f"{k}", evaluator=pool)
            sets = posterior_sets(made, history)
            sample = sets.iloc[draw_by_weight(sets["weight"], len(sets),
                                              np.random.default_rng([seed, k]))]
            for prior in calibration.priors:
                values = sample[prior.key].to_numpy(dtype=float)
                row = {"data_set": k, "parameter": prior.key, "truth": truth[prior.key],
                       "median": float(np.median(values))}
                for level in LEVELS:
                    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
                    row |= {f"low_{level:g}": low, f"high_{level:g}": high,
                            f"inside_{level:g}": bool(low <= truth[prior.key] <= high)}
                rows.append(row)
    return pd.DataFrame(rows)


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Per parameter, and over all (`all`), the share of data sets whose central intervals hold
    the truth, beside each interval's nominal level."""
    columns = [f"inside_{level:g}" for level in LEVELS]
    per = table.groupby("parameter", sort=False)[columns].mean()
    per.loc["all"] = table[columns].mean()
    return per.rename(columns={f"inside_{level:g}": f"{level:.0%}" for level in LEVELS})


__all__ = ["LEVELS", "coverage", "recover", "synthetic"]
