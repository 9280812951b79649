"""Which command's results a folder holds, and which of its entries that command wrote.

Each command that writes a results folder (`minilat run`, `experiment`, `population`,
`calibrate`, `claims`, `forecast`, `validate`) records in `.minilat-folder.json` its kind and
the entries it wrote. A command refuses a folder of another kind, even with `--force`;
`--force` deletes only the entries the same kind wrote before, so a file the user put in the
folder stays. A folder written before the record existed is recognised by the files its kind
always writes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path

RECORD = ".minilat-folder.json"
# The files or folders by which a kind is recognised without a record, in this order
SIGNS = {
    "population": ("groups.parquet", "life_table.csv"),  # beside a manifest.json of its own
    "experiment": ("manifest.json",),
    "calibration": ("calibration.json", "calibration.toml"),
    "claims": ("claims.json", "claims.csv"),
    "forecast": ("forecast.json", "forecast.csv"),
    "validation": ("cases.csv", "observed_states.csv"),
    "run": ("summary.json", "run.png"),
}
COMMANDS = {"experiment": "minilat experiment", "population": "minilat population",
            "calibration": "minilat calibrate",
            "claims": "minilat claims", "forecast": "minilat forecast",
            "validation": "minilat validate", "run": "minilat run --out"}


def read_record(folder: Path) -> dict | None:
    """The folder's record ({"kind", "written"}), or None without a readable one."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str) or \
            not isinstance(record.get("written"), list):
        return None
    return record


def kind_of(folder: Path) -> str | None:
    """The kind of results `folder` holds, from its record or its files; None if neither
    tells (an empty folder, or files no command writes)."""
    record = read_record(folder)
    if record is not None:  # a population's folder was once recorded as an experiment's
        population = record["kind"] == "experiment" and (folder / "groups.parquet").exists()
        return "population" if population else record["kind"]
    for kind, names in SIGNS.items():
        if any((folder / name).exists() for name in names):
            return kind
    return None


def refuse_other_kind(folder: Path, kind: str) -> str | None:
    """Why `folder` cannot take results of `kind` (it holds another kind's), or None."""
    found = kind_of(folder)
    if found is None or found == kind:
        return None
    article = "an" if found[0] in "aeiou" else "a"
    return (f"{folder} holds the results of `{COMMANDS.get(found, found)}` ({article} {found}), "
            "not of "
            f"`{COMMANDS.get(kind, kind)}`; --force deletes only what the same command wrote. "
            "Choose another --out.")


def written_before(folder: Path, kind: str, held: Iterable[Path]) -> list[Path]:
    """The entries of `held` that a command of `kind` wrote: those its record lists, or, in a
    folder of that kind written before records were kept, all of them."""
    held = list(held)
    record = read_record(folder)
    if record is None:
        return held if kind_of(folder) == kind else []
    names = set(map(str, record["written"]))
    kept = record.get("kept")
    if isinstance(kept, list):  # a command that never finished: all but what was there before
        names |= {path.name for path in held} - set(map(str, kept))
    return [path for path in held if path.name in names]


def note_written(folder: Path, kind: str, before: set[str], finished: bool = True) -> None:
    """Record `kind` and what it wrote: every entry now in the folder but those of `before`
    (present when the command started) that it did not write earlier.

    Unfinished (at the start), the record also keeps the names of `before` it did not write,
    so that what a killed command wrote can still be told from the user's own files.
    """
    record = read_record(folder)
    earlier = set(map(str, record["written"])) if record is not None else set()
    now = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    written = sorted(name for name in now - {RECORD} if name not in before or name in earlier)
    content: dict = {"kind": kind, "written": written}
    if not finished:
        content["kept"] = sorted(before - earlier - {RECORD})
    text = json.dumps(content, indent=1) + "\n"
    with contextlib.suppress(OSError):  # a folder that cannot be written has failed already
        (folder / RECORD).write_text(text, encoding="utf-8")


def remove(path: Path) -> None:
    """Delete a file, link or folder (OSError if it cannot be)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
