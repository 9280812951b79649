"""A calibration's results folder: its tables, calibration.json and two figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.storage import atomic_write_bytes, atomic_write_parquet, provenance
from sim.inference.calibration import Calibration, CalibrationResult
from sim.reporting.style import styled


def write_results(calibration: Calibration, result: CalibrationResult, folder: Path) -> Path:
    """draws.parquet, posterior.csv, predictive.csv, calibration.json and two figures."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(folder / "draws.parquet", result.draws)
    atomic_write_bytes(folder / "posterior.csv", result.posterior.to_csv(index=False).encode())
    atomic_write_bytes(folder / "predictive.csv",
                       result.predictive.to_csv(index=False).encode())
    atomic_write_bytes(folder / "calibrated_fit.csv",
                       result.calibrated_fit.to_csv(index=False).encode())
    atomic_write_bytes(folder / "long_run.csv", result.long_run.to_csv(index=False).encode())
    summary = {
        "name": calibration.name, "source": calibration.source, "draws": calibration.draws,
        "accepted": int(result.draws["accepted"].sum()), "accept_share": calibration.accept,
        "tolerance": result.tolerance, "seed": calibration.seed,
        "draws_with_patterns": int(np.isfinite(result.draws["distance"]).sum()),
        "observed": {str(k): int(v) for k, v in calibration.observed.items()},
        "predictive_chair_pattern": result.predictive.attrs.get("chair_pattern"),
        "predictive_alive_at_end": result.predictive.attrs.get("alive_at_end"),
        "calibrated_chair_pattern": result.calibrated_fit.attrs.get("chair_pattern"),
        "calibrated_alive_at_end": result.calibrated_fit.attrs.get("alive_at_end"),
        "calibrated": {k: float(v) for k, v in result.calibrated.items()},
        "long_run": result.long_run.to_dict("records"),
        "seconds": round(result.seconds, 1), **provenance(),
    }
    atomic_write_bytes(folder / "calibration.json", json.dumps(summary, indent=2).encode())
    _plot_fit(result.predictive, result.calibrated_fit, folder / "fit.png")
    _plot_posterior(calibration, result.draws, folder / "posterior.png")
    return folder


@styled
def _plot_fit(predictive: pd.DataFrame, calibrated: pd.DataFrame, path: Path) -> None:
    from sim.reporting.figures import subplots

    fig, axes = subplots(1, 2, figsize=(10, 3.8), dpi=150, sharey=True)
    titles = ("All accepted parameter sets", "Calibrated values")
    for ax, frame, title in zip(axes, (predictive, calibrated), titles, strict=True):
        years = frame["year"]
        ax.fill_between(years, frame["q05"], frame["q95"], color="#9ecae1",
                        label="simulated, 90 % interval")
        ax.fill_between(years, frame["q25"], frame["q75"], color="#4292c6",
                        label="simulated, 50 % interval")
        ax.plot(years, frame["median"], color="#08306b", label="simulated median")
        ax.plot(years, frame["observed"], "o", color="#e6550d", label="observed (Table 1)")
        ax.set_xlabel("year (2018: 1 January to 15 May)")
        ax.set_xticks(list(years))
        ax.set_title(title)
    axes[0].set_ylabel("joint statements (outputs) per year")
    axes[0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.savefig(path)


@styled
def _plot_posterior(calibration: Calibration, draws: pd.DataFrame, path: Path) -> None:
    accepted = draws[draws["accepted"]]

    def draw(ax, prior, bins):
        ax.hist(draws[prior.key], bins=bins, density=True, color="#d9d9d9", label="prior")
        ax.hist(accepted[prior.key], bins=bins, density=True, color="#3182bd", alpha=0.8,
                label="accepted")

    _histogram_grid(calibration.priors, draw, path)


@styled
def _histogram_grid(priors, draw, path: Path) -> None:
    """One panel per prior, three to a row: `draw(ax, prior, bins)` fills each."""
    from sim.reporting.figures import subplots

    n = len(priors)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), dpi=150, squeeze=False)
    for ax, prior in zip(axes.flat, priors, strict=False):
        draw(ax, prior, np.linspace(prior.low, prior.high, 21))
        ax.set_title(prior.key, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False, fontsize=7)
    fig.savefig(path)


def write_joint_results(calibration, result, folder: Path) -> Path:
    """A joint calibration's folder: posterior.parquet (the posterior's parameter sets and their
    weights), draws.parquet, posterior.csv, predictive.csv, calibrated_fit.csv, scales.csv,
    long_run.csv, generations.csv (smc), calibration.json and the figures."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(folder / "posterior.parquet", result.sets)
    atomic_write_parquet(folder / "draws.parquet", result.draws)
    tables = [("posterior", result.posterior), ("predictive", result.predictive),
              ("calibrated_fit", result.calibrated_fit), ("long_run", result.long_run),
              ("scales", result.scales.rename("scale").rename_axis("statistic").reset_index())]
    if len(result.generations):
        tables.append(("generations", result.generations))
    for name, frame in tables:
        atomic_write_bytes(folder / f"{name}.csv", frame.to_csv(index=False).encode())
    summary = {
        "name": calibration.name, "source": calibration.source, "method": result.method,
        "cases": [c.record.name for c in calibration.cases],
        "statistics": {c.record.name: len(c.observed) for c in calibration.cases},
        "statistics_used": {c.record.name: int((result.scales[c.observed.index] > 0).sum())
                            for c in calibration.cases},
        "simulations": result.simulations, "tolerance": result.tolerance,
        "seed": calibration.seed, "posterior_sets": len(result.sets),
        "effective_sample_size": float(1 / np.sum(result.sets["weight"] ** 2)),
        "calibrated": {k: float(v) for k, v in result.calibrated.items()},
        "predictive_inside": {c: float(g["inside"].mean())
                              for c, g in result.predictive.groupby("case")},
        "calibrated_inside": {c: float(g["inside"].mean())
                              for c, g in result.calibrated_fit.groupby("case")},
        "long_run": result.long_run.to_dict("records"),
        "seconds": round(result.seconds, 1), **provenance(),
    }
    if result.method == "rejection":
        accepted = result.draws[result.draws["accepted"]]
        summary |= {"draws": calibration.draws, "accepted": len(accepted),
                    "accept_share": calibration.accept,
                    "accepted_case_distances": {c.record.name: float(
                        accepted[f"distance_{c.record.name}"].median())
                        for c in calibration.cases}}
    else:
        summary |= {"population_size": calibration.population_size,
                    "generations": len(result.generations),
                    "replicates": calibration.replicates}
    atomic_write_bytes(folder / "calibration.json", json.dumps(summary, indent=2).encode())
    _plot_joint_fit(result.predictive, folder / "fit.png")
    _plot_sets(calibration, result.sets, folder / "posterior.png")
    _plot_pairs(calibration, result.sets, folder / "pairs.png")
    return folder


@styled
def _plot_sets(calibration, sets: pd.DataFrame, path: Path) -> None:
    """Each parameter's posterior (weighted) against its uniform prior."""
    def draw(ax, prior, bins):
        ax.axhline(1 / (prior.high - prior.low), color="#969696", lw=1, label="prior")
        ax.hist(sets[prior.key], bins=bins, weights=sets["weight"], density=True,
                color="#3182bd", alpha=0.8, label="posterior")
        ax.set_xlim(prior.low, prior.high)

    _histogram_grid(calibration.priors, draw, path)


@styled
def _plot_pairs(calibration, sets: pd.DataFrame, path: Path) -> None:
    """Pairs plot of the posterior: each pair of parameters, points sized by weight; the
    diagonal holds each parameter's weighted histogram."""
    from sim.reporting.figures import subplots

    priors = calibration.priors
    n = len(priors)
    fig, axes = subplots(n, n, figsize=(1.1 * n + 1, 1.1 * n + 1), dpi=60 if n > 8 else 110,
                         squeeze=False, layout=None)
    size = 1.5 + 10 * sets["weight"].to_numpy() / sets["weight"].max()
    for i, prior_i in enumerate(priors):
        for j, prior_j in enumerate(priors):
            ax = axes[i, j]
            ax.tick_params(labelsize=4, length=1)
            if i == j:
                ax.hist(sets[prior_i.key], bins=np.linspace(prior_i.low, prior_i.high, 16),
                        weights=sets["weight"], color="#3182bd")
                ax.set_xlim(prior_i.low, prior_i.high)
            else:
                ax.scatter(sets[prior_j.key], sets[prior_i.key], s=size, color="#08306b",
                           alpha=0.35, linewidths=0)
                ax.set_xlim(prior_j.low, prior_j.high)
                ax.set_ylim(prior_i.low, prior_i.high)
            if i < n - 1:
                ax.set_xticklabels([])
            else:
                ax.set_xlabel(prior_j.key.split(".")[-1], fontsize=5)
            if j > 0:
                ax.set_yticklabels([])
            else:
                ax.set_ylabel(prior_i.key.split(".")[-1], fontsize=5)
    fig.tight_layout(pad=0.2)
    fig.savefig(path)


@styled
def _plot_joint_fit(predictive: pd.DataFrame, path: Path) -> None:
    """Per case and statistic: the record's yearly values against the accepted draws' 90 %
    interval and median."""
    from sim.reporting.figures import subplots

    panels = list(predictive.groupby(["case", "statistic"], sort=False))
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = subplots(rows, cols, figsize=(3.6 * cols, 2.5 * rows), dpi=150, squeeze=False)
    for ax, ((case, statistic), frame) in zip(axes.flat, panels, strict=False):
        state = statistic in ("zombie", "dead")
        if not state:
            ax.fill_between(frame["year"], frame["q05"], frame["q95"], color="#9ecae1",
                            label="accepted draws, 90 %")
        ax.plot(frame["year"], frame["mean" if state else "median"], color="#08306b",
                label="share of runs / median")
        ax.plot(frame["year"], frame["observed"], "o", color="#e6550d", ms=3, label="record")
        unit = "at year end" if state else "per year"
        ax.set_title(f"{case}: {statistic} ({unit})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False, fontsize=6)
    fig.savefig(path)
