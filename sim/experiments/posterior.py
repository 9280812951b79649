"""Parameter sets drawn from a calibration's posterior, as a factor of an experiment's replicates.

`minilat calibrate` writes `posterior.parquet`: one row per parameter set, dotted-key columns and
a `weight`. An experiment given `--posterior DIR --sets N` draws N sets by weight (with
replacement, from the experiment seed) and runs replicate r with set r mod N at every design
point. With common random numbers replicate r then meets the same shocks and the same parameter
values at every point, so a paired contrast carries both seed and parameter uncertainty, and the
outcome shares of a point are mixed over the posterior. The experiment's own `[fixed]` values and
factors take precedence over a set's value of the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError, UserError
from sim.model.keys import split_dated
from sim.model.params import Key, Scenario
from sim.model.scenario_files import with_overrides

POSTERIOR_FILE = "posterior.parquet"
CALIBRATION_SUMMARY = "calibration.json"  # beside it, naming the parameters fitted
SET_COLUMN = "posterior_set"


def read_posterior(folder: str | Path) -> pd.DataFrame:
    """A calibration's `posterior.parquet`: parameter sets (dotted keys) and `weight`."""
    path = Path(folder) / POSTERIOR_FILE
    if not path.is_file():
        raise InputError(str(folder), f"holds no {POSTERIOR_FILE}. Give the results folder of a "
                         "calibration (minilat calibrate writes one).")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # a damaged file is a message, not a traceback
        raise InputError(str(path), f"cannot be read as Parquet ({exc}).") from None
    weights = frame.get("weight")
    if weights is None or not len(frame) or not pd.api.types.is_numeric_dtype(weights) \
            or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise InputError(str(path), "needs rows and a `weight` column of non-negative numbers "
                         "with a positive sum.")
    keys = [c for c in frame.columns if c != "weight"]
    if not keys:
        raise InputError(str(path), "has no parameter columns besides `weight`.")
    for key in keys:
        _check_column(key, path)
    _check_identity(keys, Path(folder), path)
    for key in keys:
        if not pd.api.types.is_numeric_dtype(frame[key]) or not np.isfinite(
                frame[key].to_numpy(dtype=float)).all():
            raise InputError(str(path), f"column {key} must hold finite numbers.")
    return frame


def _check_column(key: Any, path: Path) -> None:
    """A posterior's column is a parameter key (a change at a date included), never the run's
    start or horizon, which the command that reads the posterior sets."""
    try:
        name, _ = split_dated(str(key))
        parsed = Key.parse(name, str(path))
    except (InputError, ValueError):
        raise InputError(str(path), "has a column that is not a parameter key.", key=str(key),
                         allowed="dotted parameter keys (`minilat scenarios show NAME --keys`) "
                         "and `weight`.") from None
    if parsed.section == "scenario":
        raise InputError(str(path), f"has a column `{key}`, which is the run's "
                         f"{'horizon' if parsed.field == 'years' else parsed.field}, not a "
                         "parameter: a posterior holds parameter sets, and the command that "
                         "reads it sets the horizon (an experiment's `years`, a forecast's "
                         "--until).", allowed="parameter keys and `weight`.")


def _check_identity(keys: list[str], folder: Path, path: Path) -> None:
    """The posterior's columns are the parameters its calibration fitted, where the folder's
    calibration.json names them: a posterior.parquet copied from another calibration, or
    edited, is refused."""
    summary = folder / CALIBRATION_SUMMARY
    if not summary.is_file():
        return
    try:
        fitted = json.loads(summary.read_text(encoding="utf-8"))["calibrated"]
        fitted = sorted(str(k) for k in fitted)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError(str(summary), "cannot be read as a calibration's summary (a JSON "
                         "object with `calibrated` values): the posterior beside it cannot be "
                         "checked against it.", allowed="the calibration.json `minilat "
                         "calibrate` wrote, or a folder without one.") from None
    if sorted(keys) != fitted:
        extra = sorted(set(keys) - set(fitted))
        missing = sorted(set(fitted) - set(keys))
        differences = "; ".join(part for part in (
            f"columns no parameter of the calibration has: {', '.join(extra)}" if extra else "",
            f"parameters missing: {', '.join(missing)}" if missing else "") if part)
        raise InputError(str(path), f"does not belong to the calibration beside it: "
                         f"{summary} fitted {', '.join(fitted) or 'nothing'} ({differences}).",
                         allowed="the posterior.parquet that calibration wrote; calibrate "
                         "again to make one.")


@dataclass(frozen=True)
class PosteriorSets:
    """N parameter sets drawn by weight from a posterior file, in draw order."""

    source: str  # the calibration's results folder, as given
    digest: str  # sha256 of its posterior.parquet
    keys: tuple[str, ...]
    values: tuple[tuple[float | str, ...], ...]  # one row per set, in `keys` order; a
    # structural variant (mechanisms.<name>) is its name
    drawn_rows: tuple[int, ...]  # the row of posterior.parquet each set came from

    def __len__(self) -> int:
        return len(self.values)

    def overrides(self, index: int) -> dict[str, float | str]:
        """Set `index` as dotted-key overrides."""
        return dict(zip(self.keys, self.values[index], strict=True))

    def resolved(self) -> dict[str, Any]:
        return {"source": self.source, "digest": self.digest, "sets": len(self.values),
                "keys": list(self.keys), "rows": list(self.drawn_rows),
                "values": [list(v) for v in self.values],
                "assignment": "replicate r runs set r mod sets at every design point"}

    @classmethod
    def of_rows(cls, source: str, digest: str, keys: list[str], values: np.ndarray,
                rows) -> PosteriorSets:
        """From a (sets, keys) array of values and the row each set came from."""
        return cls(source, digest, tuple(keys), tuple(tuple(_value(x) for x in row)
                                                      for row in values),
                   tuple(int(r) for r in rows))

    @classmethod
    def from_resolved(cls, entry: dict[str, Any]) -> PosteriorSets:
        return cls(entry["source"], entry["digest"], tuple(entry["keys"]),
                   tuple(tuple(_value(x) for x in row) for row in entry["values"]),
                   tuple(int(r) for r in entry["rows"]))

    def frame(self) -> pd.DataFrame:
        """The drawn sets as a table: posterior_set, row, then one column per key."""
        frame = pd.DataFrame(list(self.values), columns=list(self.keys))
        frame.insert(0, "row", list(self.drawn_rows))
        frame.insert(0, SET_COLUMN, np.arange(len(frame), dtype=np.int64))
        return frame


def _value(x: Any) -> float | str:
    return x if isinstance(x, str) else float(x)


def draw_by_weight(weights, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` row positions drawn with replacement, each with probability its weight's share of
    the sum, from `rng`."""
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def draw_sets(folder: str | Path, sets: int, seed: int, base: Scenario) -> PosteriorSets:
    """Draw `sets` parameter sets by weight from `folder`'s posterior, checked against `base`."""
    if sets < 1:
        raise UserError(f"--sets {sets}: must be at least 1.")
    frame = read_posterior(folder)
    path = Path(folder) / POSTERIOR_FILE
    keys = [c for c in frame.columns if c != "weight"]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    rows = draw_by_weight(frame["weight"], sets, rng)
    values = frame[keys].to_numpy(dtype=float)
    for row in np.unique(rows):  # every row drawn, not only the first, must fit the scenario
        try:
            with_overrides(base, dict(zip(keys, values[row].tolist(), strict=True)))
        except UserError as exc:
            raise UserError(f"{path}: row {row} does not fit scenario {base.name}: "
                            f"{exc}") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return PosteriorSets.of_rows(str(folder), digest, keys, values[rows], rows)


def overrides_of(factor_values: dict[str, Any], posterior: PosteriorSets | None,
                 set_index: int, fixed: dict[str, Any]) -> dict[str, Any]:
    """One run's overrides: its parameter set, then the experiment's fixed values, then its
    point's factor values (a later key wins, `members.KOR.x` over `members.*.x` included)."""
    values: dict[str, Any] = {**posterior.overrides(set_index), **fixed} \
        if posterior is not None else {}
    values.update({k: _plain(v) for k, v in factor_values.items()})
    return values


def scenario_of(base: Scenario, factor_values: dict[str, Any], posterior: PosteriorSets | None,
                set_index: int, fixed: dict[str, Any]) -> Scenario:
    """One run's scenario: `base` with `overrides_of` the run."""
    return with_overrides(base, overrides_of(factor_values, posterior, set_index, fixed))


def run_scenarios(base: Scenario, factor_keys: list[str], runs: pd.DataFrame,
                  posterior: PosteriorSets | None, fixed: dict[str, Any]) -> list[Scenario]:
    """The scenario of every row of a run table, one per (point, set) built once."""
    cache: dict[tuple[int, int], Scenario] = {}
    sets = runs[SET_COLUMN].to_numpy() if posterior is not None else np.zeros(len(runs), int)
    points = runs["point_id"].to_numpy()
    scenarios = []
    for i in range(len(runs)):
        key = (int(points[i]), int(sets[i]))
        if key not in cache:
            cache[key] = scenario_of(base, {k: runs[k].iat[i] for k in factor_keys}, posterior,
                                     key[1], fixed)
        scenarios.append(cache[key])
    return scenarios


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
