"""What an experiment report reads: a finished experiment's results folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from sim.errors import UserError
from sim.experiments import kinds
from sim.experiments.manifest import manifest_hash_problem, manifest_problem
from sim.experiments.storage import (
    MANIFEST,
    RUNS,
    TIMESERIES,
    ResultsFolder,
)
from sim.model.params import Scenario
from sim.model.scenario_files import resolve, with_overrides

SERIES_COLUMNS = ["run_id", "quarter", "state", "outputs", "mean_engagement"]


@dataclass
class Results:
    """What the report reads: the manifest, the finished runs and what the design implies."""

    folder: Path
    manifest: dict
    runs: pd.DataFrame  # runs that did not fail
    failed: int

    @property
    def experiment(self) -> dict:
        return self.manifest["experiment"]

    @property
    def factor_keys(self) -> list[str]:
        return list(self.experiment["factors"])

    @property
    def varied(self) -> list[str]:
        """Factors that take more than one value among the runs."""
        return [k for k in self.factor_keys if self.runs[k].nunique() > 1]

    @property
    def horizon(self) -> int:
        return int(self.experiment["years"]) * 4

    @property
    def points(self) -> int:
        return int(self.runs["point_id"].nunique())

    def scenario(self) -> Scenario:
        """The experiment's scenario as the manifest recorded it."""
        scenario = self.manifest.get("scenario", {})
        return resolve(scenario["resolved"], source=scenario.get("source", "<manifest>"),
                       recorded=True)

    def point_scenario(self, base: Scenario, point_id: int) -> Scenario:
        """`base` with a design point's factor values."""
        runs = self.runs[self.runs["point_id"] == point_id]  # by column: keeps each type
        return with_overrides(base, {k: plain(runs[k].iloc[0]) for k in self.factor_keys})

    def recorded_series(self, run_ids: list[int]) -> pd.DataFrame | None:
        """Per-quarter state, outputs and mean engagement of the runs from timeseries.parquet;
        None if the experiment did not record time series."""
        path = self.folder / TIMESERIES
        if not (self.manifest.get("timeseries") and path.exists()):
            return None
        dataset = ds.dataset(path, format="parquet", partitioning="hive")
        table = dataset.to_table(columns=[*SERIES_COLUMNS, "point_id"],
                                 filter=ds.field("run_id").isin(run_ids))
        frame = (table.to_pandas().drop_duplicates(["run_id", "quarter"])
                 .sort_values(["run_id", "quarter"]))
        frame["state"] = frame["state"].astype(object)
        return frame


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds."""
    return value.item() if isinstance(value, np.generic) else value


def load_results(folder: str | Path) -> Results:
    """Read a finished experiment's results folder; a user error says what is missing."""
    path = Path(folder)
    manifest = _read_manifest(path)
    source = manifest.get("experiment_file") or "FILE"
    remedy = (f"`minilat experiment {source} --resume --out {path}` recomputes them from their "
              "seeds; the other runs are kept")
    results_folder = ResultsFolder(path)
    damaged = results_folder.damaged_chunks(manifest.get("chunks", {}).get("files") or {})
    if damaged:
        shown = ", ".join(damaged[:5]) + (f" and {len(damaged) - 5} more" if len(damaged) > 5
                                          else "")
        raise UserError(f"{path}: {len(damaged)} file{'s' if len(damaged) != 1 else ''} of "
                        f"finished chunks changed or went missing since they were written "
                        f"(their checksums differ from the manifest's): {shown}. {remedy}.")
    try:
        runs = results_folder.read_runs()
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise UserError(f"{path / RUNS}: cannot be read ({exc}). {remedy}.") from None
    failed = int(runs["failed"].sum())
    runs = runs[~runs["failed"]].reset_index(drop=True)
    if runs.empty:
        raise UserError(f"{path}: every run failed; there is nothing to report. The errors are "
                        f"in {path / 'errors.jsonl'}.")
    return Results(path, manifest, runs, failed)


def _read_manifest(path: Path) -> dict:
    """The manifest of a finished experiment in `path`, or a user error saying what is wrong."""
    expected = ("a results folder written by `minilat experiment`, holding manifest.json and "
                "runs.parquet")
    if path.is_file():
        raise UserError(f"{path}: is a file, not a results folder. Expected {expected}.")
    if not path.is_dir():
        raise UserError(f"{path}: no such folder. Expected {expected}.")
    found = kinds.kind_of(path)
    if found not in (None, "experiment"):
        raise UserError(f"{path}: holds the results of `{kinds.COMMANDS.get(found, found)}`, "
                        f"not of `minilat experiment`; that command writes its own report. "
                        f"Expected {expected}.")
    if not (path / MANIFEST).is_file() or not (path / RUNS).exists():
        missing = " and ".join(name for name in (MANIFEST, RUNS) if not (path / name).exists())
        raise UserError(f"{path} is not a results folder: it has no {missing}. Expected "
                        f"{expected}.")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path / MANIFEST}: cannot read the manifest ({exc}).") from None
    problem = manifest_problem(manifest)
    if problem is not None:
        raise UserError(f"{path / MANIFEST}: {problem}, so it is not the manifest of an "
                        f"experiment. Expected {expected}.")
    changed = manifest_hash_problem(manifest)
    if changed is not None:
        raise UserError(f"{path / MANIFEST}: {changed}, so it no longer says what ran. Restore "
                        "it, or run the experiment again (`minilat experiment FILE --force "
                        f"--out {path}`).")
    status = manifest.get("status")
    if status != "finished":
        source = manifest.get("experiment_file") or "FILE"
        raise UserError(f"{path} holds an unfinished experiment (status: {status}). Finish it "
                        f"with `minilat experiment {source} --resume --out {path}`; its report "
                        "is written at the end.")
    return manifest
