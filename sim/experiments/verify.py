"""A referee's check of a finished experiment: rerun a sample of its runs from their seeds and
compare them with what is stored."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.errors import UserError
from sim.experiments.posterior import PosteriorSets, run_scenarios
from sim.experiments.storage import ResultsFolder, environment
from sim.model.outcomes import SUMMARY_KEYS
from sim.model.scenario_files import resolve
from sim.model.simulation import simulate
from sim.model.tape import TAPE_VERSION

COMPARED = ("python", "minilateral-sim", "numpy", "pandas", "pyarrow", "mesa", "scipy")


@dataclass
class CheckResult:
    """What a check found: runs rerun, runs that differ, files damaged, versions that differ."""

    folder: Path
    checked: list[int]
    differences: pd.DataFrame  # run_id, key, stored, rerun
    damaged: list[str] = field(default_factory=list)
    version_differences: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.differences.empty and not self.damaged


def check_results(folder: str | Path, sample: int = 20, seed: int = 0) -> CheckResult:
    """Rerun `sample` runs of a finished experiment (chosen with `seed`, spread over its design
    points) from the stored seeds and factor values, on the engine it used, and compare every
    summary value. Damaged chunk files and versions that differ from the manifest's are named.
    """
    results = ResultsFolder(folder)
    if not results.manifest_path.is_file():
        raise UserError(f"{results.path}: not a results folder of `minilat experiment` (no "
                        "manifest.json).")
    manifest = results.read_manifest()
    if not isinstance(manifest, dict) or "scenario" not in manifest or "experiment" not in \
            manifest:
        raise UserError(f"{results.manifest_path}: not the manifest of an experiment.")
    damaged = results.damaged_chunks(manifest.get("chunks", {}).get("files") or {})
    parts = []
    for path in sorted(results.runs_dir.glob("part-*.parquet")):
        try:  # file by file: a damaged file is named, and the others are still checked
            parts.append(pd.read_parquet(path))
        except (OSError, ValueError, pa.ArrowException):
            name = str(path.relative_to(results.path))
            damaged += [] if name in damaged else [name]
    if not parts:
        raise UserError(f"{results.path}: holds no readable runs to check.")
    runs = pd.concat(parts, ignore_index=True).sort_values("run_id")
    runs = runs[~runs["failed"].astype(bool)]
    if runs.empty:
        raise UserError(f"{results.path}: holds no finished runs to check.")
    factor_keys = list(manifest["experiment"].get("factors") or {})
    rng = np.random.default_rng(seed)
    picked = []
    for _, group in runs.groupby("point_id", sort=True):  # every point before a second run
        picked.append(group.iloc[rng.permutation(len(group))])
    order = pd.concat(picked).reset_index(drop=True)
    order["rank"] = order.groupby("point_id").cumcount()
    chosen = order.sort_values(["rank", "point_id"]).head(sample).sort_values("run_id")
    base = resolve(manifest["scenario"]["resolved"], source=f"{results.manifest_path}",
                   recorded=True)
    posterior = manifest["experiment"].get("posterior")
    scenarios = run_scenarios(base, factor_keys, chosen.reset_index(drop=True),
                              PosteriorSets.from_resolved(posterior) if posterior else None,
                              manifest["experiment"].get("fixed") or {})
    rerun = simulate(scenarios, [int(s) for s in chosen["seed"]],
                     engine=manifest.get("engine", "fast")).summaries
    rows = []
    years = manifest["experiment"]["years"]
    for (_, stored), scenario in zip(chosen.iterrows(), scenarios, strict=True):
        if scenario.years != years:  # what ran is what the manifest says
            rows.append({"run_id": int(stored["run_id"]), "key": "years",
                         "stored": years, "rerun": scenario.years})
    for (_, stored), again in zip(chosen.iterrows(), rerun, strict=True):
        for key in SUMMARY_KEYS:
            if not _same(stored[key], again[key]):
                rows.append({"run_id": int(stored["run_id"]), "key": key,
                             "stored": _plain(stored[key]), "rerun": again[key]})
    return CheckResult(results.path, [int(r) for r in chosen["run_id"]],
                       pd.DataFrame(rows, columns=["run_id", "key", "stored", "rerun"]),
                       damaged, version_differences(manifest))


def version_differences(manifest: dict[str, Any]) -> list[str]:
    """Versions this environment has that differ from those the results were made with."""
    recorded = manifest.get("environment") or {}
    now = environment()
    found = [f"{name} {recorded[name]} then, {now.get(name)} now" for name in COMPARED
             if name in recorded and recorded[name] != now.get(name)]
    if manifest.get("tape_version", TAPE_VERSION) != TAPE_VERSION:
        found.append(f"random tape version {manifest.get('tape_version')} then, "
                     f"{TAPE_VERSION} now")
    return found


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _same(stored: Any, rerun: Any) -> bool:
    stored, rerun = _plain(stored), _plain(rerun)
    if stored is None or rerun is None:
        return stored is None and rerun is None
    if isinstance(stored, int | float) and isinstance(rerun, int | float):
        return float(stored) == float(rerun)
    return stored == rerun
