"""A single run's folder: summary.json (the run record), timeseries.parquet and run.png."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.storage import atomic_write_bytes, atomic_write_parquet, provenance
from sim.model.params import Scenario
from sim.model.trajectory import Trajectory


def run_record(scenario: Scenario, summary: dict[str, Any], overrides: list[str],
               engine: str) -> dict[str, Any]:
    """What summary.json holds: the run summary, what was run, and the versions that ran it."""
    return {**summary, "scenario": scenario.name, "source": scenario.source,
            "years": scenario.years, "start": scenario.start, "overrides": overrides,
            "engine": engine, **provenance()}


def write_run(folder: Path, scenario: Scenario, trajectory: Trajectory, summary: dict[str, Any],
              overrides: list[str], engine: str) -> list[Path]:
    """Write one run's record, time series and figure into `folder`; the paths written."""
    from sim.reporting.figures import plot_run

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary_path = folder / "summary.json"
    record = run_record(scenario, summary, overrides, engine)
    atomic_write_bytes(summary_path, (json.dumps(record, indent=2) + "\n").encode())
    series_path = folder / "timeseries.parquet"
    atomic_write_parquet(series_path, trajectory.to_frame(scenario))
    figure_path = folder / "run.png"
    tmp = figure_path.with_name(f".{figure_path.name}.{os.getpid()}.tmp.png")
    plot_run(trajectory, scenario, tmp)
    tmp.replace(figure_path)
    return [summary_path, series_path, figure_path]


def write_runs(folder: Path, summaries: pd.DataFrame) -> Path:
    """Write the summaries of several runs as runs.parquet in `folder`; its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "runs.parquet"
    atomic_write_parquet(path, summaries)
    return path


QUARTER_FIELDS = ("first_zombie_quarter", "death_quarter")  # summary fields that are quarters


def with_dates(summaries: pd.DataFrame | dict[str, Any], scenario: Scenario
               ) -> pd.DataFrame | dict[str, Any]:
    """Run summaries (one dict, or a table of them) with each quarter index replaced by its
    date: `first_zombie_quarter` 116 becomes `first_zombie` '2043Q1'; never is empty."""
    def date(q) -> str:
        return "" if q is None or pd.isna(q) else scenario.quarter_label(int(q))

    if isinstance(summaries, dict):
        shown = {k: v for k, v in summaries.items() if k not in QUARTER_FIELDS}
        shown.update({f.removesuffix("_quarter"): date(summaries.get(f)) for f in QUARTER_FIELDS})
        return shown
    frame = summaries.copy()
    for field in QUARTER_FIELDS:
        if field in frame:
            frame[field.removesuffix("_quarter")] = frame.pop(field).map(date)
    return frame
