"""Calibration methods side by side on the joint MIKTA + IBSA targets (docs/calibration.md).

Each method gets the priors and statistics of experiments/joint-smc.toml, the same budget of
parameter sets (one run of each case per set) and the same two workers, and is measured by
parameter sets simulated per second of its fit, and by the common yardstick: the distance to each
record of fresh runs of its posterior (200 sets drawn by weight, 5 runs each, the median over
sets), every statistic scaled as in the 100,000-draw rejection fit.

- rejection: the closest 2 % of the budget's prior draws (`joint_fit.by_rejection`);
- pyabc: ABC-SMC through `smc.run_smc`, its sets proposed and run in chunks (`BatchSampler`);
- elfi: ELFI's SMC (Beaumont et al. 2009), a vectorised simulator with `batch_size`, each
  parameter on the logit of its place in its prior range as in pyabc's fit (with uniform priors
  on the ranges its Gaussian proposals mostly fall outside the 17-dimensional box, and it stalls
  redrawing them), the same scaled distance with scales from 1,000 prior draws (counted in its
  budget), the threshold the median of the last population's distances, the first round the
  closest 10 % of prior draws;
- sbi: neural posterior estimation (NPE, a masked autoregressive flow) trained on the budget's
  prior draws, then sampled at the records' statistics.

ELFI and sbi are not dependencies of the package. To measure them:

    pip install --target /tmp/elfi-site elfi==0.8.8     # ELFI would pin matplotlib < 3.9
    pip install --target /tmp/sbi-site sbi              # torch with CUDA libraries: ~6 GB
    PYTHONPATH=.:$VIRTUAL_ENV/lib/python3.11/site-packages:/tmp/elfi-site:/tmp/sbi-site \\
        python benchmarks/calibration_libraries.py --out /tmp/calibration-libraries

A library that is not installed is left out of the table.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.bench import machine
from sim.experiments.design import run_seed
from sim.experiments.evaluation import evaluator
from sim.experiments.posterior import draw_by_weight
from sim.inference.calibration import posterior_summary, prior_draws
from sim.inference.joint import (
    case_distances,
    joint_distance,
    load_joint,
    simulate_statistics,
    statistic_scales,
)
from sim.inference.joint_fit import by_rejection
from sim.inference.smc import from_unbounded, posterior_sets, run_smc

TARGETS = Path("experiments/joint-smc.toml")
YARDSTICK_DRAWS = 100_000  # as the shipped rejection fit, experiments/joint-calibration.toml
POPULATION = 200


def yardstick_scales(calibration, pool, cache: Path) -> pd.Series:
    """The statistics' scales of the 100,000-draw rejection fit (its draws and seeds)."""
    if cache.is_file():
        return pd.read_csv(cache).set_index("statistic")["scale"]
    params = prior_draws(calibration, YARDSTICK_DRAWS, calibration.seed)
    seeds = [run_seed(calibration.seed, k, 0, common=False) for k in range(len(params))]
    scales = statistic_scales(simulate_statistics(calibration, params, seeds, evaluator=pool))
    scales.rename("scale").rename_axis("statistic").reset_index().to_csv(cache, index=False)
    return scales


def yardstick(calibration, sets: pd.DataFrame, scales: pd.Series, pool, n: int = 200,
              runs: int = 5) -> dict[str, float]:
    """Median over `n` sets drawn by weight (`runs` fresh runs each) of each record's distance
    and of the joint distance."""
    keys = [p.key for p in calibration.priors]
    picked = draw_by_weight(sets["weight"], n, np.random.default_rng(1))
    params = sets.iloc[np.repeat(picked, runs)][keys].reset_index(drop=True)
    seeds = [run_seed(7, k, 4, common=False) for k in range(len(params))]
    simulated = simulate_statistics(calibration, params, seeds, evaluator=pool)
    per_case = case_distances(calibration, simulated, scales)
    per_case["both"] = joint_distance(per_case)
    per_set = per_case.groupby(np.repeat(np.arange(n), runs)).mean()
    return {name: float(per_set[name].median()) for name in per_set.columns}


def fit_rejection(calibration, budget: int, pool) -> tuple[pd.DataFrame, int]:
    spec = dataclasses.replace(calibration, draws=budget, accept=POPULATION / budget)
    fit = by_rejection(spec, pool)
    return fit.sets, fit.simulations


def fit_pyabc(calibration, budget: int, pool) -> tuple[pd.DataFrame, int]:
    spec = dataclasses.replace(calibration, population_size=POPULATION, max_populations=50,
                               max_simulations=budget)
    with tempfile.TemporaryDirectory() as folder:
        history = run_smc(spec, Path(folder), evaluator=pool)
        return posterior_sets(spec, history), int(history.total_nr_simulations)


def fit_elfi(calibration, budget: int, pool) -> tuple[pd.DataFrame, int]:
    import elfi

    keys = [p.key for p in calibration.priors]
    scale_draws = 1000
    params = prior_draws(calibration, scale_draws, calibration.seed + 1)
    seeds = [run_seed(calibration.seed, k, 5, common=False) for k in range(scale_draws)]
    scales = statistic_scales(simulate_statistics(calibration, params, seeds, evaluator=pool))
    columns = [name for case in calibration.cases for name in case.observed.index]
    observed = pd.concat([case.observed for case in calibration.cases])[columns].to_numpy()[None]

    def simulator(*values, batch_size=1, random_state=None):
        # each parameter on the logit of its place in its prior range, as pyabc's (smc.py)
        sets = pd.DataFrame({p.key: [p.cast(from_unbounded(p, z)) for z in np.atleast_1d(x)]
                             for p, x in zip(calibration.priors, values, strict=True)})
        runs = [int(s) for s in random_state.randint(0, 2**31 - 1, size=len(sets))]
        return simulate_statistics(calibration, sets, runs, evaluator=pool)[columns].to_numpy()

    def discrepancy(simulated, observed):
        values = simulated[0] if isinstance(simulated, tuple) else simulated
        frame = pd.DataFrame(np.atleast_2d(values), columns=columns)
        return joint_distance(case_distances(calibration, frame, scales))

    model = elfi.new_model()
    priors = [elfi.Prior("logistic", 0, 1, model=model, name=f"p{i}")
              for i, p in enumerate(calibration.priors)]
    statistics = elfi.Simulator(simulator, *priors, observed=observed, name="statistics")
    distance = elfi.Discrepancy(discrepancy, statistics, name="distance")
    smc = elfi.SMC(distance, batch_size=500, seed=calibration.seed % 2**32)
    smc.bar = False  # set by `sample`, which stops at a round count rather than a budget
    smc.set_objective(POPULATION, quantiles=[0.1] + [0.5] * 40)
    simulated = scale_draws
    while not smc.finished and simulated + smc.state["n_sim"] < budget:
        smc.iterate()
    population = smc._populations[-1]  # the last complete round
    sets = pd.DataFrame({p.key: [p.cast(from_unbounded(p, z))
                                 for z in population.outputs[f"p{i}"]]
                         for i, p in enumerate(calibration.priors)})[keys]
    sets["weight"] = population.weights / population.weights.sum()
    return sets, simulated + int(smc.state["n_sim"])


def fit_sbi(calibration, budget: int, pool) -> tuple[pd.DataFrame, int]:
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    torch.manual_seed(calibration.seed % 2**32)
    keys = [p.key for p in calibration.priors]
    params = prior_draws(calibration, budget, calibration.seed + 2)
    seeds = [run_seed(calibration.seed, k, 6, common=False) for k in range(budget)]
    simulated = simulate_statistics(calibration, params, seeds, evaluator=pool)
    varying = simulated.columns[simulated.std() > 0]
    observed = pd.concat([case.observed for case in calibration.cases])[varying]
    prior = BoxUniform(low=torch.tensor([p.low for p in calibration.priors]),
                       high=torch.tensor([p.high for p in calibration.priors]))
    inference = NPE(prior=prior, density_estimator="maf")
    estimator = inference.append_simulations(
        torch.tensor(params[keys].to_numpy(dtype=float), dtype=torch.float32),
        torch.tensor(simulated[varying].to_numpy(dtype=float), dtype=torch.float32)).train()
    posterior = inference.build_posterior(estimator)
    draws = posterior.sample((1000,), x=torch.tensor(observed.to_numpy(dtype=float),
                                                     dtype=torch.float32)).numpy()
    sets = pd.DataFrame(draws, columns=keys)
    sets["weight"] = 1.0 / len(sets)
    return sets, budget


METHODS = {"rejection": fit_rejection, "pyabc": fit_pyabc, "elfi": fit_elfi, "sbi": fit_sbi}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/calibration-libraries"))
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    calibration = load_joint(TARGETS)
    for library in ("pyabc", "elfi", "sbi.inference"):  # imported before any clock starts
        with contextlib.suppress(ImportError):
            importlib.import_module(library)
    rows = []
    with evaluator("local", args.workers) as pool:
        scales = yardstick_scales(calibration, pool, args.out / "yardstick_scales.csv")
        for name in args.methods:
            try:
                start = time.perf_counter()
                sets, simulations = METHODS[name](calibration, args.budget, pool)
                seconds = time.perf_counter() - start
            except ImportError as exc:
                print(f"{name}: not installed ({exc})")
                continue
            sets.to_parquet(args.out / f"{name}.parquet")
            distances = yardstick(calibration, sets, scales, pool)
            sample = sets.iloc[draw_by_weight(sets["weight"], len(sets),
                                              np.random.default_rng(2))]
            shares = posterior_summary(calibration, sample)["interval_share_of_prior"]
            rows.append({"method": name, "simulations": simulations,
                         "seconds": round(seconds, 1),
                         "sets_per_second": round(simulations / seconds, 1),
                         **{f"to {k}": round(v, 3) for k, v in distances.items()},
                         "identified": int((shares < 0.7).sum())})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    reference = table.set_index("method")["sets_per_second"].get("rejection")
    if reference:
        table["of rejection's sets/s"] = (table["sets_per_second"] / reference).round(2)
    print(machine())
    print(table.to_string(index=False))
    (args.out / "comparison.json").write_text(json.dumps(
        {"machine": machine(), "budget": args.budget, "workers": args.workers,
         "rows": table.to_dict("records")}, indent=2))


if __name__ == "__main__":
    main()
