"""What an experiment's manifest must hold to be read back, and whether it still says what ran.

`manifest_problem` names the first entry missing or of the wrong kind (a report, a check and a
resume read only a manifest of `MANIFEST_SHAPE`); `manifest_hash_problem` says whether its
experiment, scenario, --timeseries and version still give the hash the experiment recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Maybe:
    """A manifest entry that may be absent, of `kind` where present."""

    kind: Any


@dataclass(frozen=True)
class ListOf:
    """A manifest entry that is a list of `kind`."""

    kind: Any


@dataclass(frozen=True)
class TableOf:
    """A manifest entry that is a table of any names, each of `kind`."""

    kind: Any


NUMBER = (int, float)
CHUNK_FILE = {"rows": int, "sha256": str}
# What an experiment's manifest must hold for a report, a check or a resume to read it: key ->
# type (or types), a table of its own keys, or one of the wrappers above
MANIFEST_SHAPE: dict[str, Any] = {
    "hash": str, "status": str, "engine": str, "version": Maybe(str),
    "tape_version": Maybe(int), "environment": Maybe(dict), "timeseries": Maybe(bool),
    "started": Maybe((str, type(None))), "finished": Maybe((str, type(None))),
    "resumed": Maybe(ListOf(str)), "command": Maybe(ListOf(str)),
    "backend": Maybe((str, type(None))), "workers": Maybe((int, type(None))),
    "experiment_file": Maybe((str, type(None))),
    "seconds": Maybe((*NUMBER, type(None))), "runs_per_second": Maybe((*NUMBER, type(None))),
    "experiment": {"name": str, "scenario": str, "years": int, "replicates": int, "seed": int,
                   "design": str, "factors": TableOf(dict), "engine": str,
                   "common_random_numbers": bool, "description": Maybe(str),
                   "samples": Maybe(int), "fixed": Maybe(dict), "report": Maybe(dict),
                   "posterior": Maybe(dict)},
    "scenario": {"resolved": dict, "source": Maybe(str)},
    "seeds": Maybe({"derivation": Maybe(str)}),
    "counts": {"runs": int, "points": Maybe(int)},
    "chunks": {"files": TableOf({**CHUNK_FILE, "timeseries": Maybe(TableOf(CHUNK_FILE))})},
}


def manifest_problem(manifest: Any, shape: Any = MANIFEST_SHAPE, prefix: str = "") -> str | None:
    """What keeps `manifest` from being an experiment's manifest (the first missing or
    mistyped entry), or None."""
    where = f" at `{prefix[:-1]}`" if prefix else ""
    if isinstance(shape, dict):
        if not isinstance(manifest, dict):
            return f"is not a JSON object{where}"
        for key, kind in shape.items():
            if key not in manifest:
                if isinstance(kind, Maybe):
                    continue
                return f"has no `{prefix}{key}` entry"
            problem = manifest_problem(manifest[key], kind, f"{prefix}{key}.")
            if problem is not None:
                return problem
        return None
    if isinstance(shape, Maybe):
        return manifest_problem(manifest, shape.kind, prefix)
    if isinstance(shape, ListOf | TableOf):
        if not isinstance(manifest, list if isinstance(shape, ListOf) else dict):
            return f"has `{prefix[:-1]}` of the wrong type ({type(manifest).__name__})"
        items = enumerate(manifest) if isinstance(shape, ListOf) else manifest.items()
        for key, item in items:
            problem = manifest_problem(item, shape.kind, f"{prefix}{key}.")
            if problem is not None:
                return problem
        return None
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if not isinstance(manifest, kinds) or (isinstance(manifest, bool) and bool not in kinds):
        return f"has `{prefix[:-1]}` of the wrong type ({type(manifest).__name__})"
    return None


def manifest_hash_problem(manifest: dict) -> str | None:
    """Why the manifest's experiment, scenario, --timeseries and version no longer give the
    hash it records (an entry changed since the experiment wrote it), or None."""
    payload = {"experiment": manifest["experiment"], "scenario": manifest["scenario"]["resolved"],
               "timeseries": manifest.get("timeseries", False),
               "version": manifest.get("version")}
    text = json.dumps(payload, sort_keys=True, default=str)
    if hashlib.sha256(text.encode()).hexdigest() == manifest["hash"]:
        return None
    return ("its `experiment`, `scenario.resolved`, `timeseries` or `version` entries no longer "
            f"give the hash it records ({manifest['hash'][:12]}): they were changed after the "
            "experiment wrote them")
