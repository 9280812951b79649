"""Recovery on known truth for docs/calibration.md: coverage of the posterior's central intervals.

Synthetic records are made by the model from parameter sets drawn from the priors of
experiments/joint-smc.toml (MIKTA and IBSA, seventeen parameters) and fitted with the shipped
method, batched ABC-SMC, on a small fast setting (`--population` sets a generation, at most
`--simulations` parameter sets a fit). Prints the coverage table (Markdown) and writes the figure
docs/images/recovery.png and the table recovery.csv into `--out`.

    python benchmarks/recovery.py --data-sets 50 --out results/recovery
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import pandas as pd

from sim.bench import machine
from sim.experiments.evaluation import evaluator
from sim.inference.joint import load_joint
from sim.inference.recovery import LEVELS, coverage, recover
from sim.reporting.figures import subplots

TARGETS = Path("experiments/joint-smc.toml")
FIGURE = Path("docs/images/recovery.png")


def plot(table: pd.DataFrame, calibration, path: Path) -> None:
    """Per parameter: each data set's truth against its posterior median and 90 % interval."""
    priors = calibration.priors
    cols = 6
    rows = -(-len(priors) // cols)
    fig, axes = subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows), dpi=110, squeeze=False)
    for ax, prior in zip(axes.flat, priors, strict=False):
        frame = table[table["parameter"] == prior.key]
        inside = frame["inside_0.9"]
        for mask, color in ((inside, "#3182bd"), (~inside, "#e6550d")):
            part = frame[mask]
            ax.errorbar(part["truth"], part["median"],
                        yerr=[part["median"] - part["low_0.9"], part["high_0.9"] - part["median"]],
                        fmt="o", ms=2, lw=0.6, color=color)
        ax.plot([prior.low, prior.high], [prior.low, prior.high], color="#969696", lw=0.8)
        ax.set_title(f"{prior.key.split('.')[-1]} ({inside.mean():.0%})", fontsize=7)
        ax.tick_params(labelsize=5)
    for ax in list(axes.flat)[len(priors):]:
        ax.axis("off")
    fig.supxlabel("truth", fontsize=8)
    fig.supylabel("posterior median and 90 % interval", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-sets", type=int, default=50)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--simulations", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--out", type=Path, default=Path("results/recovery"))
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    calibration = dataclasses.replace(load_joint(TARGETS), population_size=args.population,
                                      max_simulations=args.simulations)
    start = time.perf_counter()
    with evaluator("local", args.workers) as pool:
        table = recover(calibration, args.data_sets, args.seed, evaluator=pool)
    seconds = time.perf_counter() - start
    table.to_csv(args.out / "recovery.csv", index=False)
    plot(table, calibration, args.figure)
    shares = coverage(table)
    width = (table["high_0.9"] - table["low_0.9"]).groupby(table["parameter"]).mean()
    spans = {p.key: p.high - p.low for p in calibration.priors}
    shares["90 % interval / prior range"] = [width[k] / spans[k] if k in spans else
                                             (width / pd.Series(spans)).mean()
                                             for k in shares.index]
    print(f"{args.data_sets} data sets, {args.population} sets a generation, at most "
          f"{args.simulations} simulations a fit, in {seconds:.0f} s; {machine()}")
    print("| parameter | " + " | ".join(f"{level * 100:.0f} % interval holds the truth"
                                       for level in LEVELS)
          + " | 90 % interval / prior range |")
    print("|---" * (len(LEVELS) + 2) + "|")
    for name, row in shares.iterrows():
        label = "**all parameters**" if name == "all" else f"`{name}`"
        print(f"| {label} | " + " | ".join(f"{row[f'{level:.0%}'] * 100:.0f} %"
                                           for level in LEVELS)
              + f" | {row['90 % interval / prior range']:.2f} |")


if __name__ == "__main__":
    main()
