"""Typed reading of the tables of a user's TOML file, names that become folders, and sizes.

Every value a user writes goes through `Section.get`: a whole number is an integer and never a
boolean, a true/false value is a TOML boolean and nothing else, a number is finite, a string is a
string. A refused value raises an `InputError` naming the file, line, key, value and what is
allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import InputError

REQUIRED = object()
KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
              list: "a list", dict: "a table"}


class Section:
    """One table of a TOML file (`path` names it, e.g. ("claim", "0", "contrast", "1")), whose
    keys must be among `keys`."""

    def __init__(self, source: str, text: str, value: Any, path: tuple[str, ...],
                 keys: Mapping[str, str] | tuple[str, ...] | None, label: str | None = None,
                 line_finder: Callable | None = None):
        self.source, self.text, self.path = source, text, path
        self.label = label or ".".join(p for p in path if not p.isdigit()) or "file"
        self._find_line = line_finder
        if not isinstance(value, Mapping):
            raise self.error(None, f"must be a table, not {_kind_of(value)}.",
                             allowed=f"a [{self.label}] table.")
        self.raw = value
        if keys is not None:
            for key in value:
                if key not in keys:
                    close = difflib.get_close_matches(str(key), list(keys), n=1)
                    hint = f"did you mean `{self.dotted(close[0])}`? " if close else ""
                    raise self.error(key, "is not a known key.",
                                     allowed=f"{hint}Keys here: {', '.join(keys)}.")

    def line(self, key: str | None) -> int | None:
        if self._find_line is None:
            return None
        parts = self.path + ((key,) if key is not None else ())
        return self._find_line(self.text, tuple(str(p) for p in parts))

    def error(self, key: str | None, problem: str, value: Any = None,
              allowed: str | None = None) -> InputError:
        dotted = ".".join(p for p in self.path if not p.isdigit())
        name = f"{dotted}.{key}" if dotted and key is not None else (key or dotted or None)
        return InputError(self.source, problem, key=name, value=value, allowed=allowed,
                          line=self.line(key))

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, kind: type, default: Any = REQUIRED,
            check: Callable[[Any], bool] | None = None, allowed: str = "") -> Any:
        """The value of `key`, of type `kind` (int, float, bool, str, list or dict) and passing
        `check`; `default` when absent (absent and required is an error)."""
        if key not in self.raw:
            if default is REQUIRED:
                raise self.error(key, "is missing.", allowed=allowed or KIND_NAMES[kind] + ".")
            return default
        value = self.raw[key]
        ok = _is(value, kind)
        if ok and kind is float:
            value = float(value)
            ok = value == value and abs(value) != float("inf")
        if ok and kind is str and any(unicodedata.category(c) == "Cc" and c not in "\n\t"
                                      for c in value):
            raise self.error(key, "holds a control character.", value,
                             "text without control characters (new lines and tabs are fine).")
        if not ok or (check is not None and not check(value)):
            raise self.error(key, "is not allowed.", value, allowed or KIND_NAMES[kind] + ".")
        return value

    def section(self, key: str, keys: Mapping[str, str] | tuple[str, ...] | None,
                default: Any = REQUIRED) -> Section:
        """The sub-table `key` (an empty one when absent and `default` is {})."""
        if key not in self.raw and default is not REQUIRED:
            return Section(self.source, self.text, default, self.path + (key,), keys,
                           line_finder=self._find_line)
        value = self.get(key, dict) if key not in self.raw else self.raw[key]
        return Section(self.source, self.text, value, self.path + (key,), keys,
                       line_finder=self._find_line)

    def sections(self, key: str, keys: Mapping[str, str] | tuple[str, ...] | None
                 ) -> list[Section]:
        """The array of tables `key` (`[[key]]`); an empty list when absent."""
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise self.error(key, "must be an array of tables.", allowed=f"[[{key}]] tables.")
        return [Section(self.source, self.text, item, self.path + (key, str(k)), keys,
                        label=f"{key} {k + 1}", line_finder=self._find_line)
                for k, item in enumerate(value)]

    # what the readers of experiment, claims, calibration and record files ask of a table

    @property
    def folder(self) -> Path:
        """The folder of the file, which the file's relative paths start from."""
        return Path(self.source).parent

    def dotted(self, key: str) -> str:
        """`key` as an error names it: with the names of the tables around it."""
        outer = ".".join(p for p in self.path if not p.isdigit())
        return f"{outer}.{key}" if outer else key

    def folder_name(self, key: str, default: str) -> str:
        """A name that becomes a results folder (`default` when absent, checked as well)."""
        allowed = f"a name for the results folder: {FOLDER_NAME_RULE}"
        name = self.get(key, str, default, lambda v: folder_name_problem(v) is None, allowed)
        if folder_name_problem(name) is not None:
            raise self.error(key, "is not allowed.", name, allowed)
        return name

    def texts(self, key: str, problem: str, allowed: str, filled: bool = False) -> list[str]:
        """The list of strings `key` holds ([] when absent), refused with `problem`; when
        `filled`, the list must be present and neither it nor any of its strings empty."""
        value = self.raw.get(key, None if filled else [])
        if not isinstance(value, list) or not all(isinstance(v, str) and (v or not filled)
                                                  for v in value) or (filled and not value):
            raise self.error(key, problem, value, allowed)
        return value

    def date(self, key: str, allowed: str = "a date YYYY-MM-DD.", check: Callable | None = None,
             blank: bool = False) -> dt.date | None:
        """The day `key` holds, written YYYY-MM-DD; None for "" where `blank` allows it."""
        value = self.get(key, str, check=check, allowed=allowed)
        if blank and not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.error(key, "is not a date.", value,
                             'YYYY-MM-DD or "".' if blank else "YYYY-MM-DD.") from None

    def file(self, key: str, allowed: str, must_exist: str | None = None) -> Path:
        """The path `key` holds, relative to the file's folder; when `must_exist` says what it
        should name, a path to no file is refused."""
        written = self.get(key, str, check=bool, allowed=allowed)
        path = self.folder / written
        if must_exist is not None and not path.resolve().is_file():
            raise self.error(key, "names no file.", written,
                             f"{must_exist} relative to {self.folder}.")
        return path


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is dict:
        return isinstance(value, Mapping)
    return isinstance(value, kind)


def _kind_of(value: Any) -> str:
    for kind, name in KIND_NAMES.items():
        if _is(value, kind):
            return name
    return type(value).__name__


# ------------------------------------------------------------------------------ folder names

FORBIDDEN = set('/\\<>:"|?*')
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
            *(f"LPT{i}" for i in range(1, 10))}
NAME_BYTES = 100


def folder_name_problem(name: str) -> str | None:
    """Why `name` cannot be the name of a results folder, or None when it can.

    A name is one path component that every common file system accepts: no separators, no
    `.` or `..`, no control characters or characters Windows rejects, no reserved device name,
    no leading or trailing space or dot, at most 100 bytes in UTF-8.
    """
    if not name:
        return "is empty."
    if name in (".", ".."):
        return "is a relative folder, not a name."
    bad = sorted({c for c in name if c in FORBIDDEN or unicodedata.category(c).startswith("C")})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"holds characters a folder name cannot have ({shown})."
    if name != name.strip(" ."):
        return "begins or ends with a space or a dot."
    if name.split(".")[0].upper() in RESERVED:
        return "is a name some file systems reserve for devices."
    if len(name.encode("utf-8")) > NAME_BYTES:
        return f"is longer than {NAME_BYTES} bytes."
    return None


FOLDER_NAME_RULE = ("letters, digits, spaces and . _ - + ( ), not beginning or ending with a "
                    f"space or dot, at most {NAME_BYTES} bytes; no / \\ < > : \" | ? * or "
                    "control characters.")


# ------------------------------------------------------------------------------ sizes

MEMORY_SHARE = 0.5  # of the memory available when a command starts


def available_memory() -> int:
    """Bytes of memory available to new work on this machine (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import os

    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_fits(what: str, count: int, bytes_each: int, source: str, key: str | None,
               value: Any = None) -> None:
    """Refuse, before any work, `count` items of `bytes_each` bytes held in memory at once
    when they need more than half the memory available: the message gives the estimate and
    the limit."""
    need = count * bytes_each
    limit = int(available_memory() * MEMORY_SHARE)
    if need > limit:
        most = max(0, limit // bytes_each)
        raise InputError(source, f"asks for {count:,} {what}, which need about "
                         f"{_bytes(need)} of memory at once; half of what this machine has "
                         f"available is {_bytes(limit)}.", key=key, value=value,
                         allowed=f"at most about {most:,} {what}.")


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


# ------------------------------------------------------------------------------ dotted keys


def dotted_keys(table: Any, prefix: str = "", keep: Callable[[Any], bool] = lambda value: False
                ) -> Any:
    """Nested tables to dotted keys: TOML reads an unquoted `group.secretariat = ...` as a table.
    A table `keep` accepts stays a value; anything but a table is returned as it is."""
    if not isinstance(table, Mapping):
        return table
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not keep(value):
            flat.update(dotted_keys(value, f"{name}.", keep))
        else:
            flat[name] = value
    return flat
