"""A forecast's results folder: forecast.csv, forecast.json, the fan chart and report.md."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.experiments.storage import atomic_write_bytes, provenance
from sim.inference.forecast import Forecast, in_words
from sim.reporting.document import Bullets, Document, Figure, Section, Table, write_document
from sim.reporting.style import (
    BAND_COLOR,
    RECORD_COLOR,
    STATE_COLORS,
    save,
    styled,
    subplots,
    year_axis,
)

FORECAST_COLUMNS = ["year", "alive", "90 %", "zombie", "dead", "outputs (median, 90 %)",
                    "a vacant chair term", "an exit"]


def write_forecast(result: Forecast, folder: Path) -> Path:
    """forecast.csv, forecast.json, forecast.png and report.md into `folder`."""
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
    write_document(forecast_document(result, summary), folder, html_too=False)
    return folder


def forecast_document(result: Forecast, summary: dict) -> Document:
    """The forecast's report: the findings with the fan chart and the yearly table, then its
    provenance (`summary` is what forecast.json holds)."""
    doc = Document(f"Forecast: {result.scenario.title or result.scenario.name} to "
                   f"{result.until}")
    findings = Section("Findings")
    findings.add(in_words(result))
    findings.add(Figure("forecast.png", "Meetings and documents per year at the levels the "
                        f"record holds in full ({', '.join(result.levels)}): median and 90 % "
                        "interval of the runs kept, and the record's own; below, the shares "
                        "alive, zombie and dead at each year's end", captioned=False))
    findings.add("The table's outputs count every level; the vacant chair and exit columns are "
                 "the shares of runs with a vacant chair term, or a member leaving, during the "
                 "year.")
    findings.add(Table(pd.DataFrame([{
        "year": row.year, "alive": f"{row.p_alive:.0%}",
        "90 %": f"{row.p_alive_lo:.0%} – {row.p_alive_hi:.0%}",
        "zombie": f"{row.p_zombie:.0%}", "dead": f"{row.p_dead:.0%}",
        "outputs (median, 90 %)": f"{row.outputs_median:.0f} ({row.outputs_lo:.0f} – "
                                  f"{row.outputs_hi:.0f})",
        "a vacant chair term": f"{row.p_vacant_term:.0%}", "an exit": f"{row.p_exit:.0%}"}
        for row in result.table.itertuples()], columns=FORECAST_COLUMNS)))
    doc.sections.append(findings)
    appendix = Section("Provenance", appendix=True)
    appendix.add(Bullets([
        f"scenario `{result.scenario.name}`, {result.runs:,} runs, {result.parameters}",
        f"conditioned on: {summary['record'] or 'no record'}"
        + (f" (to {summary['record_until']}); {summary['kept']:,} runs kept"
           if result.record is not None else ""),
        f"version {summary['version']}, tape version {summary['tape_version']}; "
        f"{summary['seconds']} s"]))
    doc.sections.append(appendix)
    return doc


@styled
def fan_chart(result: Forecast, path: Path) -> None:
    """Outputs per year (median, 90 % band) with the record's dots; state shares below."""
    table, compared = result.table, result.compared
    fig, (top, bottom) = subplots(2, 1, figsize=(9, 6), sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    years = table["year"]
    top.fill_between(compared["year"], compared["lo"], compared["hi"], color="#9ecae1",
                     label="runs kept, 90 % interval")
    top.plot(compared["year"], compared["median"], color=BAND_COLOR, label="median")
    if len(result.record_years):
        top.plot(result.record_years["year"], result.record_years["observed"], "o",
                 color=RECORD_COLOR, label="record")
    top.set_ylabel(f"meetings and documents a year\n({', '.join(result.levels)})")
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    top.set_title(f"{result.scenario.title or result.scenario.name}: forecast to "
                  f"{result.until}")
    bottom.stackplot(years, table["p_alive"], table["p_zombie"], table["p_dead"],
                     colors=[STATE_COLORS[s] for s in ("alive", "zombie", "dead")],
                     labels=["alive", "zombie", "dead"], step="mid")
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("share of runs")
    year_axis(bottom)
    if result.record is not None:
        for ax in (top, bottom):
            ax.axvline(result.record.observed_until.year + result.record.observed_until.month
                       / 12, color="#636363", ls="--", lw=1,
                       label="end of the record" if ax is bottom else None)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save(fig, path)
