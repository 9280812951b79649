"""Writing results safely: every file appears whole or not at all, and interrupted work resumes.

An experiment's folder holds `manifest.json`, `runs.parquet/` (a Parquet dataset, one file per
chunk of runs: `pandas.read_parquet(folder / "runs.parquet")` reads it whole), optionally
`timeseries.parquet/` (partitioned by design point) and `errors.jsonl`. A chunk counts as done
when its runs file is complete and holds exactly its runs; its time series and error lines are
written before it, so a chunk is either wholly there or redone.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError

MANIFEST = "manifest.json"
RUNS = "runs.parquet"
TIMESERIES = "timeseries.parquet"
ERRORS = "errors.jsonl"


def project_version() -> str:
    """The installed version of minilateral-sim ("unknown" when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("minilateral-sim")
    except PackageNotFoundError:
        return "unknown"


def provenance() -> dict[str, Any]:
    """What every results file records of the code that made it: versions of the project and
    of the random tape."""
    from sim.model.tape import TAPE_VERSION

    return {"version": project_version(), "tape_version": TAPE_VERSION}


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename over `path`."""
    path = Path(path)
    tmp = _temporary(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_parquet(path: Path, frame: pd.DataFrame | pa.Table,
                         schema: pa.Schema | None = None) -> None:
    """Write a DataFrame (or Arrow table) as Parquet atomically, with an optional fixed schema."""
    path = Path(path)
    tmp = _temporary(path)
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(
        frame, schema=schema, preserve_index=False)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


class ResultsFolder:
    """The folder of one experiment's results."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.runs_dir = self.path / RUNS
        self.timeseries_dir = self.path / TIMESERIES
        self.manifest_path = self.path / MANIFEST
        self.errors_path = self.path / ERRORS

    # ------------------------------------------------------------------ starting

    def has_results(self) -> bool:
        return self.manifest_path.exists() or self.runs_dir.exists()

    def read_manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{self.manifest_path}: cannot read the manifest ({exc}); "
                            "start afresh with --force.") from exc

    def prepare(self, experiment_hash: str, resume: bool, force: bool) -> dict | None:
        """Check the folder may be used; returns the old manifest when resuming."""
        if resume and force:
            raise UserError("--resume and --force exclude each other: resume keeps the runs "
                            "already done, force deletes them.")
        if not self.has_results():
            self.path.mkdir(parents=True, exist_ok=True)
            return None
        if force:
            self.clear()
            self.path.mkdir(parents=True, exist_ok=True)
            return None
        if not resume:
            raise UserError(f"{self.path} already holds results. Use --resume to continue "
                            "them, --force to delete them and start again, or --out for "
                            "another folder.")
        manifest = self.read_manifest()
        if manifest.get("hash") != experiment_hash:
            raise UserError(f"{self.path} holds results of a different experiment (its hash "
                            f"{manifest.get('hash', '?')[:12]} differs from "
                            f"{experiment_hash[:12]}: the file, scenario, replicates, "
                            "--timeseries or version changed). Use --force to start again, "
                            "or --out for another folder.")
        return manifest

    def clear(self) -> None:
        for path in (self.runs_dir, self.timeseries_dir):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.manifest_path, self.errors_path):
            path.unlink(missing_ok=True)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
        atomic_write_bytes(self.manifest_path, text.encode())

    # ------------------------------------------------------------------ chunks

    def chunk_name(self, index: int) -> str:
        return f"part-{index:06d}.parquet"

    def done_chunks(self, bounds: list[tuple[int, int]]) -> set[int]:
        """Chunks whose runs file is complete; incomplete or foreign files are removed."""
        done: set[int] = set()
        if not self.runs_dir.exists():
            return done
        expected = {self.chunk_name(k): k for k in range(len(bounds))}
        for path in self.runs_dir.iterdir():
            index = expected.get(path.name)
            if index is None:
                path.unlink()  # temporary or stray file of an interrupted write
                continue
            start, stop = bounds[index]
            try:
                run_ids = pq.read_table(path, columns=["run_id"]).column("run_id").to_pylist()
            except (OSError, pa.ArrowException):
                run_ids = None
            if run_ids == list(range(start, stop)):
                done.add(index)
            else:
                path.unlink()
        return done

    def keep_errors_of(self, run_ids: Iterable[int]) -> None:
        """Drop error lines of runs that are to be redone (their chunk was not finished)."""
        if not self.errors_path.exists():
            return
        keep = set(run_ids)
        lines = [line for line in self.errors_path.read_text().splitlines()
                 if line.strip() and _run_id(line) in keep]
        atomic_write_bytes(self.errors_path, "".join(f"{line}\n" for line in lines).encode())

    def write_chunk(self, index: int, runs: pd.DataFrame, schema: pa.Schema,
                    timeseries: pd.DataFrame | None, errors: list[dict[str, Any]]) -> None:
        """Time series and error lines first, the runs file last: it marks the chunk done."""
        name = self.chunk_name(index)
        if timeseries is not None:
            for point_id, part in timeseries.groupby("point_id", sort=True):
                folder = self.timeseries_dir / f"point_id={point_id}"
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_parquet(folder / name, part.drop(columns="point_id"))
        if errors:
            with open(self.errors_path, "a") as handle:
                for record in errors:
                    handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(self.runs_dir / name, runs, schema=schema)

    def read_runs(self) -> pd.DataFrame:
        """All runs, sorted by run_id."""
        return pd.read_parquet(self.runs_dir).sort_values("run_id").reset_index(drop=True)


def _run_id(line: str) -> int | None:
    try:
        return int(json.loads(line)["run_id"])
    except (ValueError, KeyError, TypeError):
        return None
