"""Writing results safely: every file appears whole or not at all, and interrupted work resumes.

An experiment's folder holds `manifest.json`, `runs.parquet/` (a Parquet dataset, one file per
chunk of runs: `pandas.read_parquet(folder / "runs.parquet")` reads it whole), optionally
`timeseries.parquet/` (partitioned by design point) and `errors.jsonl`. A chunk counts as done
when its runs file is complete and holds exactly its runs; its time series and error lines are
written before it, so a chunk is either wholly there or redone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.experiments import kinds
from sim.experiments.manifest import manifest_problem

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


def environment() -> dict[str, Any]:
    """Versions of Python and of the libraries results depend on, and the git commit of the
    project's checkout when there is one."""
    import platform
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, Any] = {"python": platform.python_version(),
                                "minilateral-sim": project_version()}
    for package in ("numpy", "pandas", "pyarrow", "mesa", "scipy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=5)
        versions["git_commit"] = done.stdout.strip() if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        versions["git_commit"] = None
    return versions


def provenance() -> dict[str, Any]:
    """What every results file records of the code that made it: versions of the project and
    of the random tape."""
    from sim.model.tape import TAPE_VERSION

    return {"version": project_version(), "tape_version": TAPE_VERSION}


def fresh_folder(path: str | Path, force: bool, what: str) -> Path:
    """A folder to write new results into: refused if it already holds something, unless
    `force`, which deletes what it holds first. Call it holding the folder's lock
    (`writing_folder`)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: is a file, not a folder. Choose another --out.")
    held = [child for child in path.iterdir() if child.name not in (LOCK, kinds.RECORD)] \
        if path.is_dir() else []
    if held:
        other = kinds.refuse_other_kind(path, what)
        if other is not None:
            raise UserError(other)
        ours = kinds.written_before(path, what, held)
        if not ours:  # the user's own files: never deleted, never written over
            shown = ", ".join(sorted(p.name for p in held)[:5])
            raise UserError(f"{path} holds files no {what} wrote ({shown}); --force deletes "
                            f"only what a {what} wrote there before. Choose another --out.")
        if not force:
            raise UserError(f"{path} already holds results. Use --force to delete them and "
                            f"write the {what} again, or --out for another folder.")
        for child in ours:  # the lock file stays: it is what keeps other writers out
            try:
                kinds.remove(child)
            except OSError as exc:
                raise UserError(f"{child}: cannot delete it ({exc.strerror}).") from None
    _make_writable(path)
    return path


def _make_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create the folder ({exc.strerror}). Choose another "
                        "--out.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{path}: the folder cannot be written. Choose another --out.")


@contextlib.contextmanager
def writing_folder(path: str | Path, force: bool, what: str) -> Iterator[Path]:
    """A fresh folder (see `fresh_folder`), locked against other writers while in use."""
    path = Path(path)
    with FolderLock(path):
        folder = fresh_folder(path, force, what)
        before = {p.name for p in folder.iterdir()}
        kinds.note_written(folder, what, before, finished=False)  # before anything is written
        try:
            yield folder
        finally:
            kinds.note_written(folder, what, before)


# ------------------------------------------------------------------------------ one writer

LOCK = ".minilat.lock"
_HELD: dict[str, list] = {}  # resolved folder -> [file descriptor, depth]: re-entrant in-process


class FolderLock:
    """One writer per results folder: an exclusive lock on `<folder>/.minilat.lock`.

    The operating system releases the lock when its process ends, however it ends (a `kill -9`
    included), so a stale lock file never blocks the next command. A second command that wants
    the folder while the lock is held is refused, naming the process that holds it. Acquiring
    again in the process that holds it nests.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.key = ""

    def __enter__(self) -> FolderLock:
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path}: is a file, not a folder. Choose another --out.")
        _make_writable(self.path)
        self.key = str(self.path.resolve())
        if self.key in _HELD:
            _HELD[self.key][1] += 1
            return self
        lock_path = self.path / LOCK
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"{self.path}: the folder cannot be written ({exc.strerror}). "
                            "Choose another --out.") from None
        if not _try_lock(fd):
            holder = _read_holder(lock_path)
            os.close(fd)
            raise UserError(f"{self.path} is in use by {holder}. Wait for it to finish or "
                            "stop it, or choose another --out.")
        record = {"pid": os.getpid(), "command": " ".join(["minilat", *sys.argv[1:]]),
                  "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode())
        _HELD[self.key] = [fd, 1]
        return self

    def __exit__(self, *exc) -> None:
        entry = _HELD.get(self.key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _HELD[self.key]
            _unlock(entry[0])
            os.close(entry[0])


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_holder(lock_path: Path) -> str:
    """Who holds the lock: the process that took it, when it still runs; else the processes
    that still have the lock file open (a child left behind by a process that ended)."""
    try:
        record = json.loads(lock_path.read_text(encoding="utf-8"))
        taker = f"process {record['pid']} ({record['command']}, since {record['since']})"
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        taker, pid = "another process", None
    if pid is None or _running(pid):
        return taker
    holders = [p for p in _processes_holding(lock_path) if p != os.getpid()]
    shown = ", ".join(map(str, holders)) if holders else "unknown"
    return (f"process{'es' if len(holders) > 1 else ''} {shown}, left running by {taker}, "
            "which has ended (stop them to free the folder)")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    try:  # a zombie has ended, though its parent has not yet collected it
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _processes_holding(path: Path) -> list[int]:
    """The processes with `path` open, from /proc (Linux; [] elsewhere)."""
    target = str(path.resolve())
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                found.append(int(entry.name))
        except OSError:
            continue
    return sorted(found)


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
    """The folder of one experiment's results (or a population's: `kind` "population", its
    runs in `runs` and its tables, `outputs`, beside them)."""

    def __init__(self, path: str | Path, runs: str = RUNS, kind: str = "experiment",
                 outputs: tuple[str, ...] = ()):
        self.path = Path(path)
        self.kind = kind
        self.outputs = outputs
        self.runs_dir = self.path / runs
        self.timeseries_dir = self.path / TIMESERIES
        self.manifest_path = self.path / MANIFEST
        self.errors_path = self.path / ERRORS

    # ------------------------------------------------------------------ starting

    def own_entries(self) -> list[Path]:
        """What an experiment and its report write in the folder."""
        return [self.runs_dir, self.timeseries_dir, self.path / "figures", self.manifest_path,
                self.errors_path, self.path / "report.md", self.path / "report.html",
                *(self.path / name for name in self.outputs)]

    def has_results(self) -> bool:
        return any(path.exists() for path in self.own_entries())

    def check_kind(self) -> None:
        """Refuse a folder of another command's results, or one where a file stands in place
        of a folder the experiment writes (or the other way round)."""
        other = kinds.refuse_other_kind(self.path, self.kind)
        if other is not None:
            raise UserError(other)
        for path in self.own_entries():
            folder = path in (self.runs_dir, self.timeseries_dir, self.path / "figures")
            if path.exists() and path.is_dir() != folder:
                raise UserError(f"{path}: is a {'file' if folder else 'folder'}, where the "
                                f"{self.kind} writes a {'folder' if folder else 'file'} of that "
                                "name. Move it, or choose another --out.")

    def chunk_size_on_disk(self, total: int) -> int | None:
        """The chunk size the runs files on disk were written with (for a lost manifest)."""
        first = self.runs_dir / self.chunk_name(0)
        try:
            rows = pq.ParquetFile(first).metadata.num_rows
        except (OSError, pa.ArrowException):
            return None
        return rows if rows < total or len(list(self.runs_dir.glob("part-*.parquet"))) == 1 \
            else None

    def read_manifest(self) -> dict[str, Any]:
        """The manifest, checked against `MANIFEST_SHAPE`."""
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.manifest_path}: cannot read the manifest ({exc}); "
                            "start afresh with --force.") from exc
        problem = manifest_problem(manifest)
        if problem is not None:
            raise UserError(f"{self.manifest_path}: {problem}, so it is not the manifest of an "
                            "experiment `minilat experiment` wrote; start afresh with --force.")
        return manifest

    def prepare(self, experiment_hash: str, resume: bool, force: bool) -> dict | None:
        """Check the folder may be used; returns the old manifest when resuming."""
        if resume and force:
            raise UserError("--resume and --force exclude each other: resume keeps the runs "
                            "already done, force deletes them.")
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path}: is a file, not a folder. Choose another --out.")
        if self.path.is_dir():
            self.check_kind()
        if not self.has_results():
            self._make()
            kinds.note_written(self.path, self.kind, {p.name for p in self.path.iterdir()})
            return None
        if force:
            self.clear()
            self._make()
            kinds.note_written(self.path, self.kind, {p.name for p in self.path.iterdir()})
            return None
        if not resume:
            raise UserError(f"{self.path} already holds results. Use --resume to continue "
                            "them, --force to delete them and start again, or --out for "
                            "another folder.")
        try:
            manifest = self.read_manifest()
        except UserError:
            # A lost or unreadable manifest is rebuilt from the experiment: runs files are kept
            # where they hold exactly the runs (ids and seeds) this experiment gives them.
            return {"hash": experiment_hash, "rebuilt": True, "chunks": {}}
        if manifest.get("hash") != experiment_hash:
            raise UserError(f"{self.path} holds results of a different experiment (its hash "
                            f"{manifest.get('hash', '?')[:12]} differs from "
                            f"{experiment_hash[:12]}: the file, scenario, replicates, "
                            "--timeseries or version changed). Use --force to start again, "
                            "or --out for another folder.")
        return manifest

    def _make(self) -> None:
        _make_writable(self.path)

    def clear(self) -> None:
        """Delete the experiment's results and its report (what --force deletes); other files
        the user put in the folder stay."""
        for path in self.own_entries():
            try:
                kinds.remove(path)
            except OSError as exc:
                raise UserError(f"{path}: cannot delete it ({exc.strerror}).") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
        atomic_write_bytes(self.manifest_path, text.encode())

    # ------------------------------------------------------------------ chunks

    def chunk_name(self, index: int) -> str:
        return f"part-{index:06d}.parquet"

    def done_chunks(self, bounds: list[tuple[int, int]],
                    recorded: dict[str, dict[str, Any]] | None = None,
                    expected: pd.DataFrame | None = None) -> tuple[set[int], list]:
        """Chunks whose files are whole, and the names of damaged ones.

        A chunk is done when its runs file holds exactly its runs and, where the manifest
        recorded checksums (`recorded`), every file of it still has its checksum; without a
        record (a manifest rebuilt) the file must read whole, with the run ids and seeds of
        `expected` (the experiment's run table). Anything else is removed, to be recomputed: a
        chunk's runs are a pure function of their seeds.
        """
        done: set[int] = set()
        damaged: list[str] = []
        if not self.runs_dir.exists():
            return done, damaged
        recorded = recorded or {}
        names = {self.chunk_name(k): k for k in range(len(bounds))}
        for path in self.runs_dir.iterdir():
            index = names.get(path.name)
            if index is None:
                path.unlink()  # temporary or stray file of an interrupted write
                continue
            start, stop = bounds[index]
            entry = recorded.get(path.name)
            if entry is not None:
                whole = not self.damaged_chunks({path.name: entry})
            else:
                try:
                    table = pq.read_table(path)
                    run_ids = table.column("run_id").to_pylist()
                    seeds = table.column("seed").to_pylist()
                except (OSError, KeyError, pa.ArrowException):
                    run_ids = seeds = None
                whole = run_ids == list(range(start, stop)) and (
                    expected is None or seeds == expected["seed"].iloc[start:stop].tolist())
            if whole:
                done.add(index)
            else:
                damaged.append(path.name)
                path.unlink()
        return done, damaged

    def keep_errors_of(self, run_ids: Iterable[int]) -> None:
        """Drop error lines of runs that are to be redone (their chunk was not finished)."""
        if not self.errors_path.exists():
            return
        keep = set(run_ids)
        lines = [line for line in self.errors_path.read_text().splitlines()
                 if line.strip() and _run_id(line) in keep]
        atomic_write_bytes(self.errors_path, "".join(f"{line}\n" for line in lines).encode())

    def write_chunk(self, index: int, runs: pd.DataFrame, schema: pa.Schema,
                    timeseries: pd.DataFrame | None, errors: list[dict[str, Any]]
                    ) -> dict[str, Any]:
        """Time series and error lines first, the runs file last: it marks the chunk done.

        Returns what the manifest records of the chunk: its runs file's row count and SHA-256,
        and those of its time-series files.
        """
        name = self.chunk_name(index)
        record: dict[str, Any] = {"timeseries": {}}
        if timeseries is not None:
            for point_id, part in timeseries.groupby("point_id", sort=True):
                folder = self.timeseries_dir / f"point_id={point_id}"
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_parquet(folder / name, part.drop(columns="point_id"))
                record["timeseries"][f"point_id={point_id}"] = {
                    "rows": len(part), "sha256": file_digest(folder / name)}
        if errors:
            with open(self.errors_path, "a") as handle:
                for record in errors:
                    handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(self.runs_dir / name, runs, schema=schema)
        record.update(rows=len(runs), sha256=file_digest(self.runs_dir / name))
        return record

    def damaged_chunks(self, recorded: dict[str, dict[str, Any]]) -> list[str]:
        """Files of finished chunks that no longer hold what the manifest recorded of them
        (missing, truncated, changed): their paths relative to the folder."""
        damaged = []
        for name, chunk in recorded.items():
            files = [(Path(self.runs_dir.name) / name, chunk)]
            files += [(Path(TIMESERIES) / part / name, entry)
                      for part, entry in chunk.get("timeseries", {}).items()]
            for relative, entry in files:
                path = self.path / relative
                if not path.is_file() or file_digest(path) != entry.get("sha256"):
                    damaged.append(str(relative))
        return damaged
    def read_runs(self) -> pd.DataFrame:
        """All runs, sorted by run_id."""
        return pd.read_parquet(self.runs_dir).sort_values("run_id").reset_index(drop=True)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, in hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _run_id(line: str) -> int | None:
    try:
        return int(json.loads(line)["run_id"])
    except (ValueError, KeyError, TypeError):
        return None
