"""The table of docs/calibration.md that sets calibration methods and targets side by side.

For each results folder (a calibration's `posterior.parquet`, its `calibration.json`): the
parameter sets simulated, the final tolerance in the method's own distance, the effective sample
size of the posterior, each parameter's 90 % interval as a share of its prior range, and one
yardstick for all: the distance to each record, and to both, of fresh runs of the posterior's
parameter sets (the median over 200 sets drawn by weight, 5 runs each). Each statistic is scaled
as in the joint rejection fit (results/joint-calibration/scales.csv, over 100,000 prior draws)
and each case's distance is the root mean square of its scaled differences. A fit to MIKTA alone
is thus also held to IBSA's record, which it did not see.

    python docs/compare_calibrations.py results/joint-smc results/joint-rejection-10k \
        results/mikta-smc results/mikta-rejection-10k
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.design import run_seed
from sim.experiments.posterior import draw_by_weight
from sim.inference.joint import (
    case_distances,
    joint_distance,
    load_joint,
    simulate_statistics,
)

YARDSTICK = Path("results/joint-calibration/scales.csv")
BOTH = Path("experiments/joint-smc.toml")


def yardstick_distance(folder: Path, sets: int = 200, runs: int = 5) -> dict[str, float]:
    """Medians, over `sets` posterior sets drawn by weight (`runs` fresh runs each), of each
    record's distance and of the joint distance (with the joint fit's scales)."""
    calibration = load_joint(BOTH)
    scales = pd.read_csv(YARDSTICK).set_index("statistic")["scale"]
    posterior = pd.read_parquet(folder / "posterior.parquet")
    keys = [c for c in posterior.columns if c != "weight"]
    picked = draw_by_weight(posterior["weight"], sets, np.random.default_rng(1))
    params = posterior.iloc[np.repeat(picked, runs)][keys].reset_index(drop=True)
    seeds = [run_seed(7, k, 4, common=False) for k in range(len(params))]
    simulated = simulate_statistics(calibration, params, seeds, workers=2)
    per_case = case_distances(calibration, simulated, scales)
    per_case["both"] = joint_distance(per_case)
    per_set = per_case.groupby(np.repeat(np.arange(sets), runs)).mean()
    return {name: float(per_set[name].median()) for name in per_set.columns}


def interval_shares(folder: Path) -> dict[str, float]:
    posterior = pd.read_csv(folder / "posterior.csv")
    return dict(zip(posterior["parameter"], posterior["interval_share_of_prior"], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    rows, shares = [], {}
    for folder in args.folders:
        summary = json.loads((folder / "calibration.json").read_text())
        distances = yardstick_distance(folder)
        shares[folder.name] = interval_shares(folder)
        rows.append({"calibration": folder.name, "method": summary["method"],
                     "cases": " + ".join(summary["cases"]),
                     "simulations": summary["simulations"],
                     "tolerance (own distance)": summary["tolerance"],
                     "ESS": summary["effective_sample_size"],
                     **{f"distance to {name}": round(value, 3)
                        for name, value in distances.items()},
                     "identified (< 0.7)": sum(v < 0.7 for v in shares[folder.name].values()),
                     "seconds": summary["seconds"]})
    print(pd.DataFrame(rows).to_string(index=False))
    print()
    print(pd.DataFrame(shares).round(2).to_string())


if __name__ == "__main__":
    main()
