"""A calibration's results folder: its tables, calibration.json, the figures and report.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.storage import atomic_write_bytes, atomic_write_parquet, provenance
from sim.inference.calibration import MIN_EFFECTIVE_SETS, UNIDENTIFIED
from sim.reporting.document import Bullets, Document, Figure, Section, Table, write_document
from sim.reporting.style import styled, year_axis


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
    if len(result.population_fit):
        tables.append(("population_fit", result.population_fit))
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
        "fixed": calibration.fixed,
        "population": None if calibration.population is None else {
            "file": calibration.population.population.source,
            "groups": calibration.population.population.groups,
            "statistics": len(calibration.population.observed),
            "calibrated_inside": int(result.population_fit["inside"].sum())},
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
        chosen = result.generations.loc[result.generations["posterior"], "t"]
        summary |= {"population_size": calibration.population_size,
                    "generations": len(result.generations),
                    "posterior_generation": int(chosen.iloc[0]),
                    "replicates": calibration.replicates}
    atomic_write_bytes(folder / "calibration.json", json.dumps(summary, indent=2).encode())
    _plot_joint_fit(result.predictive, folder / "fit.png")
    _plot_sets(calibration, result.sets, folder / "posterior.png")
    _plot_pairs(calibration, result.sets, folder / "pairs.png")
    write_document(calibration_document(calibration, result, summary), folder, html_too=False)
    return folder


def calibration_document(calibration, result, summary: dict) -> Document:
    """The calibration's report: what the records identify, how well the posterior fits each
    record, then the method's figures, the long run and the provenance (`summary` is what
    calibration.json holds)."""
    cases = " and ".join(c.record.name for c in calibration.cases)
    doc = Document(f"Calibration: {calibration.name} ({cases})")
    doc.sections += [identified_section(result.posterior, effective_sets(result)),
                     fit_section(calibration, result), method_section(calibration, result, summary)]
    if len(result.long_run):
        doc.sections.append(Section("The long run").add(Table(pd.DataFrame([{
            "scenario": row["scenario"], "parameters": row["parameters"],
            "runs": f"{row['runs']:,}", **{name: f"{row[name]:.1%} ({row[name + '_low']:.1%} – "
                                                 f"{row[name + '_high']:.1%})"
                                           for name in ("alive", "zombie", "dead")}}
            for row in result.long_run.to_dict("records")]))).add(
            "Outcome shares at each scenario's horizon with the calibrated values and over the "
            "posterior's sets (95 % Wilson intervals)."))
    doc.sections.append(Section("Provenance", appendix=True).add(Bullets([
        f"file `{calibration.source}`, seed {calibration.seed}",
        f"version {summary['version']}, tape version {summary['tape_version']}; "
        f"{summary['seconds']} s in all"])))
    return doc


def effective_sets(result) -> float:
    """The posterior's effective sample size (Kish): 1 / Σ w² of its normalised weights."""
    weights = result.sets["weight"].to_numpy(dtype=float)
    return float(weights.sum() ** 2 / np.sum(weights ** 2))


def identified_section(posterior: pd.DataFrame, effective: float = float("inf")) -> Section:
    """Findings: the parameters the records identify, and each parameter's posterior."""
    section = Section("Findings: the posterior per parameter")
    narrow = posterior[posterior["identified"]].sort_values("interval_share_of_prior")
    if effective < MIN_EFFECTIVE_SETS:
        section.add(f"**The posterior rests on {effective:.1f} effective parameter sets** (fewer "
                    f"than {MIN_EFFECTIVE_SETS}: too few accepted sets, or importance weights "
                    "collapsed onto a few): its intervals say how few, not what the records "
                    "identify, and no parameter is called identified. The calibrated values are "
                    "a summary of those few sets; a refit with another seed can land elsewhere.")
    elif len(narrow):
        named = "; ".join(f"`{row.parameter}` {row.q05:.3g} – {row.q95:.3g} "
                          f"({row.interval_share_of_prior:.2f} of its prior range)"
                          for row in narrow.itertuples())
        verb = "is" if len(narrow) == 1 else "are"
        section.add(f"**{len(narrow)} of {len(posterior)} parameters {verb} identified** (their "
                    f"90 % interval under {UNIDENTIFIED} of the prior range): {named}.")
    else:
        section.add(f"**No parameter is identified**: every 90 % interval spans at least "
                    f"{UNIDENTIFIED} of its prior range; the records constrain combinations of "
                    "them, if anything.")
    section.add(Table(pd.DataFrame([{
        "parameter": f"`{row.parameter}`", "prior": f"{row.prior_min:g} – {row.prior_max:g}",
        "posterior 5 – 95 %": f"{row.q05:.3g} – {row.q95:.3g}", "median": f"{row.median:.3g}",
        "calibrated": f"{row.calibrated:.3g}",
        "90 % interval / prior range": f"{row.interval_share_of_prior:.2f}",
        "identified": "yes" if row.identified else "no"} for row in posterior.itertuples()])))
    section.add(Figure("posterior.png", "Each parameter's posterior against its uniform prior"))
    return section


def fit_section(calibration, result) -> Section:
    """Findings: how much of each record falls inside the runs' 90 % intervals."""
    section = Section("Findings: the fit to each record")
    rows = []
    for case in calibration.cases:
        name = case.record.name
        pred = result.predictive[result.predictive["case"] == name]
        point = result.calibrated_fit[result.calibrated_fit["case"] == name]
        used = int((result.scales[case.observed.index] > 0).sum())
        rows.append({"case": name, "years": f"{case.years[0]} – {case.years[-1]}",
                     "statistics (used)": f"{len(case.observed)} ({used})",
                     "inside the posterior's 90 %": f"{pred['inside'].mean() * 100:.0f} %",
                     "inside at the calibrated values": f"{point['inside'].mean() * 100:.0f} %"})
    section.add(Table(pd.DataFrame(rows)))
    section.add("A statistic is the record's activity at one level in one year (the year-end "
                "states are the outcome rule over the same activity, so they are not fitted "
                "again); one that never varies over the prior's runs is not used. "
                "`predictive.csv` and `calibrated_fit.csv` hold each.")
    section.add(Figure("fit.png", "Per case and statistic: the record against the median and "
                       "90 % interval of fresh runs of the posterior's sets"))
    if len(result.population_fit):
        fit = result.population_fit
        section.add(f"**The population**: {int(fit['inside'].sum())} of {len(fit)} published "
                    "figures lie within their tolerance at the calibrated values "
                    "(`population_fit.csv`).")
        section.add(Table(pd.DataFrame([{
            "figure": f"`{row.figure}`", "strata": row.strata, "published": f"{row.observed:.3g}",
            "posterior 5 – 95 %": f"{row.q05:.3g} – {row.q95:.3g}",
            "calibrated": f"{row.calibrated:.3g}", "tolerance": f"±{row.tolerance:.3g}",
            "inside": "yes" if row.inside else "no"} for row in fit.itertuples()])))
    return section


def method_section(calibration, result, summary: dict) -> Section:
    """The method's own figures: simulations, time, tolerance, generations."""
    section = Section("The method")
    items = [f"{'ABC-SMC (pyabc, batched)' if result.method == 'smc' else 'rejection'}: "
             f"{result.simulations:,} parameter sets simulated in {result.fit_seconds:.0f} s "
             f"({result.sets_per_second:,.0f} a second), tolerance {result.tolerance:.3g} in "
             "its own distance",
             f"{len(result.sets):,} posterior sets, effective sample size "
             f"{summary['effective_sample_size']:.0f}"]
    if result.method == "rejection":
        items.append(f"{calibration.draws:,} prior draws, the closest "
                     f"{calibration.accept * 100:g} % accepted")
    section.add(Bullets(items))
    if len(result.generations):
        last = int(result.generations["t"].iloc[-1])
        chosen = summary["posterior_generation"]
        if chosen != last:
            section.add(f"The posterior is generation {chosen}, the last with at least "
                        f"{MIN_EFFECTIVE_SETS} effective sets: in the generations after it the "
                        "importance weights fell onto fewer sets (the table).")
        section.add(Table(result.generations.drop(columns="posterior").assign(
            epsilon=result.generations["epsilon"].map("{:.3g}".format),
            acceptance_rate=result.generations["acceptance_rate"].map("{:.1%}".format),
            ess=result.generations["ess"].map("{:.0f}".format))))
        section.add(Figure("pairs.png", "Pairs plot of the posterior"))
    return section


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
                         squeeze=False, layout=None)  # laid out tight at the end
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
        year_axis(ax, label="")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False, fontsize=6)
    fig.savefig(path)
