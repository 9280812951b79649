"""A forecast's results folder: forecast.csv, forecast.json, the fan chart and report.md."""

from __future__ import annotations

import json
from pathlib import Path

from sim.inference.forecast import Forecast, in_words
from sim.reporting.figures import STATE_COLORS, subplots


def write_forecast(result: Forecast, folder: Path) -> Path:
    """forecast.csv, forecast.json, forecast.png and report.md into `folder`."""
    from sim.experiments.storage import atomic_write_bytes, provenance

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "forecast.csv", result.table.to_csv(index=False).encode())
    summary = {"scenario": result.scenario.name, "until": result.until, "runs": result.runs,
               "kept": int(result.kept.sum()), "parameters": result.parameters,
               "record": result.record.source if result.record is not None else None,
               "record_until": (str(result.record.observed_until)
                                if result.record is not None else None),
               "seconds": round(result.seconds, 1), **provenance()}
    atomic_write_bytes(folder / "forecast.json", json.dumps(summary, indent=2).encode())
    fan_chart(result, folder / "forecast.png")
    table = result.table
    lines = [f"# Forecast: {result.scenario.title or result.scenario.name} to {result.until}",
             "", "## Findings", "", in_words(result), "",
             f"![Meetings and documents per year at the levels the record holds in full "
             f"({', '.join(result.levels)}): median and 90 % interval of the runs kept, and the "
             "record's own; below, the shares alive, zombie and dead at each year's end]"
             "(forecast.png)", "",
             "The table's outputs count every level; the vacant chair and exit columns are the "
             "shares of runs with a vacant chair term, or a member leaving, during the year.", "",
             "| year | alive | 90 % | zombie | dead | outputs (median, 90 %) | a vacant chair "
             "term | an exit |", "|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {row.year} | {row.p_alive:.0%} | {row.p_alive_lo:.0%} – "
                     f"{row.p_alive_hi:.0%} | {row.p_zombie:.0%} | {row.p_dead:.0%} | "
                     f"{row.outputs_median:.0f} ({row.outputs_lo:.0f} – {row.outputs_hi:.0f}) | "
                     f"{row.p_vacant_term:.0%} | {row.p_exit:.0%} |")
    lines += ["", "## Appendix: Provenance", "",
              f"- scenario `{result.scenario.name}`, {result.runs:,} runs, {result.parameters}",
              f"- conditioned on: {summary['record'] or 'no record'}"
              + (f" (to {summary['record_until']}); {summary['kept']:,} runs kept"
                 if result.record is not None else ""),
              f"- version {summary['version']}, tape version {summary['tape_version']}; "
              f"{summary['seconds']} s", ""]
    atomic_write_bytes(folder / "report.md", "\n".join(lines).encode())
    return folder


def fan_chart(result: Forecast, path: Path) -> None:
    """Outputs per year (median, 90 % band) with the record's dots; state shares below."""
    table, compared = result.table, result.compared
    fig, (top, bottom) = subplots(2, 1, figsize=(9, 6), dpi=130, sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    years = table["year"]
    top.fill_between(compared["year"], compared["lo"], compared["hi"], color="#9ecae1",
                     label="runs kept, 90 % interval")
    top.plot(compared["year"], compared["median"], color="#08306b", label="median")
    if len(result.record_years):
        top.plot(result.record_years["year"], result.record_years["observed"], "o",
                 color="#e6550d", label="record")
    top.set_ylabel(f"meetings and documents a year\n({', '.join(result.levels)})", fontsize=9)
    top.legend(frameon=False, fontsize=8, loc="upper left")
    top.set_title(f"{result.scenario.title or result.scenario.name}: forecast to "
                  f"{result.until}", fontsize=10)
    bottom.stackplot(years, table["p_alive"], table["p_zombie"], table["p_dead"],
                     colors=[STATE_COLORS[s] for s in ("alive", "zombie", "dead")],
                     labels=["alive", "zombie", "dead"], step="mid")
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("share of runs")
    bottom.legend(frameon=False, fontsize=8, loc="lower left", ncol=3)
    if result.record is not None:
        for ax in (top, bottom):
            ax.axvline(result.record.observed_until.year + result.record.observed_until.month
                       / 12, color="#636363", ls="--", lw=1)
    fig.tight_layout()
    fig.savefig(path)
