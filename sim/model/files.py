"""Typed reading of the files a user writes: the one check of a value's type, range and
choices, where an error points (file, line, key, or the option that set it), tables read key by
key, names that become folders, and sizes.

Every value a user writes goes through `check_value`: a whole number is an integer and never a
boolean, a true/false value is a TOML boolean and nothing else, a number is finite, a string is a
string. A refused value raises an `InputError` naming the file, line, key, value and what is
allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import numbers
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, UserError
from sim.model.params import Spec

REQUIRED = object()
KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
              list: "a list", dict: "a table"}
CONTROL_CHARACTER = "holds a control character."


# ------------------------------------------------------------------------------ the one check


class Refused(ValueError):
    """A value `check_value` refuses: the problem in words and the value as shown."""

    def __init__(self, problem: str, value: Any):
        super().__init__(problem)
        self.problem, self.value = problem, value


def check_value(value: Any, kind: type, spec: Spec | None = None, *, lenient_bool: bool = False,
                whole_floats: bool = False, plain_text: bool = False) -> Any:
    """`value` as `kind` (bool, int, float, str, tuple of strings, list or dict), within the
    range and among the choices of `spec`; a `Refused` says why not.

    `lenient_bool`: typed as text, where 'yes', 'on' and '1' count as true; `whole_floats`: 3.0
    counts as the whole number 3; `plain_text`: a string holds no control character.
    """
    if kind is bool:
        return _checked_bool(value, lenient_bool)
    if kind is int or kind is float:
        value = _checked_number(value, kind, whole_floats)
        if spec is not None and not spec.contains(value):
            raise Refused("is out of range.", value)
        return value
    if kind is str:
        if not isinstance(value, str):
            raise Refused("has the wrong type.", value)
        if plain_text and any(unicodedata.category(c) == "Cc" and c not in "\n\t"
                              for c in value):
            raise Refused(CONTROL_CHARACTER, value)
        if spec is not None and spec.choices and value not in spec.choices:
            raise Refused("is not one of its variants.", value)
        return value
    if kind is tuple:  # of strings; text is split at commas
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) \
            else value
        if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
            raise Refused("has the wrong type.", value)
        return tuple(items)
    if not _is(value, kind):
        raise Refused("has the wrong type.", value)
    return value


def _checked_bool(value: Any, lenient: bool) -> bool:
    if isinstance(value, bool):
        return value
    if lenient and isinstance(value, str | int):
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
    raise Refused("has the wrong type.", value)


def _checked_number(value: Any, kind: type, whole_floats: bool) -> int | float:
    if _is(value, int) and not -LARGEST_INTEGER - 1 <= value <= LARGEST_INTEGER:
        raise Refused("is an integer beyond 64 bits.", value)
    if kind is int and not (whole_floats and isinstance(value, float)):
        if not _is(value, int):
            raise Refused("has the wrong type.", value)
        return value
    if not _is(value, float):
        raise Refused("has the wrong type.", value)
    if kind is int:
        if not value.is_integer():
            raise Refused("must be a whole number.", value)
        return int(value)
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise Refused("must be a finite number.", value)
    return value


# ------------------------------------------------------------------------------ where errors point


@dataclass
class Origin:
    """Where a file's values came from, to point an error at its line or at the option that set
    the value."""

    source: str
    text: str
    overridden: dict[str, str] = field(default_factory=dict)  # dotted path -> option
    typed_as_text: set[str] = field(default_factory=set)  # paths where 'yes' counts as true
    whole_file: bool = True  # False when only overridden values are checked again
    inherited_events: int = 0  # events from the scenario the file extends, before its own

    def error(self, path: tuple[str, ...], problem: str, value: Any = None,
              allowed: str | None = None, show_value: bool = True) -> InputError:
        key = ".".join(path)
        if key in self.overridden:
            return InputError(self.overridden[key], problem, key=key,
                              value=value if show_value else None, allowed=allowed)
        return InputError(self.source, problem, key=self.shown(path),
                          value=value if show_value else None, allowed=allowed,
                          line=self.line(path))

    def check(self, path: tuple[str, ...], kind: type, spec: Spec, value: Any) -> Any:
        """`check_value` of the value at `path`, in its canonical Python type; an error points
        at its line or option."""
        try:
            return check_value(value, kind, spec, whole_floats=True,
                               lenient_bool=".".join(path) in self.typed_as_text)
        except Refused as refused:
            raise self.error(path, refused.problem, refused.value, spec.allowed(kind)) from None

    def shown(self, path: tuple[str, ...]) -> str:
        """`path` dotted as the message names it: events numbered as the file's own text."""
        return ".".join(path if ".".join(path) in self.overridden else self._own(path) or path)

    def line(self, path: tuple[str, ...]) -> int | None:
        """The line of `path` in the file's own text (an inherited event has none there)."""
        own = self._own(path)
        return find_line(self.text, own) if own else None

    def _own(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        """`path` as the file's own text numbers its events; None for an inherited event."""
        if not (self.inherited_events and len(path) > 1 and path[0] == "events"
                and path[1].isdigit()):
            return path
        own = int(path[1]) - self.inherited_events
        return ("events", str(own), *path[2:]) if own >= 0 else None


def find_line(text: str, path: tuple[str, ...]) -> int | None:
    """Line of `key = ...` under table `path[:-1]` in TOML text (best effort; None if not found).

    For arrays of tables (`[[events]]`) a numeric path part selects the n-th table.
    """
    if not text or not path:
        return None
    *table, key = path
    want_table: list[str] = []
    want_index: int | None = None
    for part in table:
        if part.isdigit():
            want_index = int(part)
        else:
            want_table.append(part)
    current: list[str] = []
    seen: dict[str, int] = {}
    header_line: int | None = None
    own_header: int | None = None  # `key` is itself a table: its header
    key_pattern = re.compile(rf'^\s*("?){re.escape(key)}\1\s*=')
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            current = [p.strip().strip('"') for p in re.findall(r'\s*"[^"]*"\s*|[^.]+',
                                                                 header.group(1))]
            name = ".".join(current)
            seen[name] = seen.get(name, -1) + 1
            if current == want_table and (want_index is None or seen[name] == want_index):
                header_line = number
            if own_header is None and current == [*want_table, key] and (
                    want_index is None or seen[name] == want_index):
                own_header = number
            continue
        in_table = current == want_table and (
            want_index is None or seen.get(".".join(current)) == want_index)
        if in_table and key_pattern.match(line):
            return number
    if own_header is not None:
        return own_header
    if not want_table and not table:
        return None
    return header_line


# Limits on the shape of what a user writes, checked before anything is built from it: no file
# the project reads comes near them, and each keeps a bad file from becoming a traceback
# (Python's recursion limit, its 4,300-digit limit on integers, float overflow) or a long wait.
MAX_FILE_BYTES = 16 * 2**20  # a scenario, experiment, claims, calibration or record file
MAX_DEPTH = 24  # tables and lists inside one another (a claim's contrast's arm is 5 deep)
LARGEST_INTEGER = 2**63 - 1  # TOML's integers are 64-bit signed (toml.io, "Integer")
INTEGER_RULE = f"a whole number from {-LARGEST_INTEGER - 1:,} to {LARGEST_INTEGER:,}."


def read_toml(path: Path) -> tuple[dict, str]:
    """Parse a TOML file; malformed TOML, a file larger than `MAX_FILE_BYTES`, values nested
    deeper than `MAX_DEPTH` or an integer beyond 64 bits become an InputError with a line."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(str(path), f"is {size:,} bytes long.",
                             allowed=f"a file of at most {MAX_FILE_BYTES:,} bytes.")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror}).") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file.") from exc
    return parse_toml(text, str(path)), text


def parse_toml(text: str, source: str) -> dict:
    """TOML text read as `read_toml` reads a file (`source` names it in errors)."""
    deepest = _bracket_depth(text)
    if deepest[0] > MAX_DEPTH:
        raise InputError(source, f"nests values {deepest[0]:,} deep.", line=deepest[1],
                         allowed=f"at most {MAX_DEPTH} tables and lists inside one another.")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _line_of_decode_error(exc)
        reason = str(exc).split(" (at line")[0]
        raise InputError(source, f"is not valid TOML: {reason}.", line=line,
                         allowed="TOML syntax, see https://toml.io.") from exc
    except ValueError:  # an integer of more digits than Python converts
        raise InputError(source, "holds an integer of thousands of digits.",
                         line=_long_number_line(text), allowed=INTEGER_RULE) from None
    except RecursionError:
        raise InputError(source, "nests values too deeply.",
                         allowed=f"at most {MAX_DEPTH} tables and lists inside one another."
                         ) from None
    check_shape(raw, source, text)
    return raw


def check_shape(value: Any, source: str, text: str = "") -> None:
    """Refuse a parsed value nested deeper than `MAX_DEPTH` (a table header such as
    [a.b.c.d...] nests without brackets) or holding an integer beyond 64 bits."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise InputError(source, f"nests tables {len(path):,} deep.",
                             key=".".join(path[:3]) + " ...",
                             allowed=f"at most {MAX_DEPTH} tables and lists inside one "
                             "another.")
        if isinstance(item, Mapping):
            stack.extend((v, path + (str(k),)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, path + (str(i),)) for i, v in enumerate(item))
        elif isinstance(item, int) and not isinstance(item, bool) and \
                not -LARGEST_INTEGER - 1 <= item <= LARGEST_INTEGER:
            key = ".".join(p for p in path if not p.isdigit()) or None
            raise InputError(source, "is an integer beyond 64 bits.", key=key,
                             line=find_line(text, path) if text and path else None,
                             allowed=INTEGER_RULE)


def _bracket_depth(text: str) -> tuple[int, int | None]:
    """The deepest nesting of [ and { in `text` outside strings and comments, and its line:
    checked before parsing, which recurses once per level."""
    depth = deepest = 0
    line = at = 1
    quote = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest, at


def _long_number_line(text: str) -> int | None:
    found = re.search(r"\d{4000}", text)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _line_of_decode_error(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None



# ------------------------------------------------------------------------------ tables


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
        """The line of `key` in this table; of the nearest enclosing entry written on a line of
        its own (an inline table's key, say) when the key has none."""
        if self._find_line is None:
            return None
        parts = tuple(str(p) for p in self.path + ((key,) if key is not None else ()))
        while parts:
            found = self._find_line(self.text, parts)
            if found is not None:
                return found
            parts = parts[:-1] if not parts[-1].isdigit() else parts[:-2]
        return None

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
        try:
            value = check_value(self.raw[key], kind, plain_text=True)
        except Refused as refused:
            if refused.problem == CONTROL_CHARACTER:
                raise self.error(key, CONTROL_CHARACTER, refused.value, "text without control "
                                 "characters (new lines and tabs are fine).") from None
            raise self.error(key, "is not allowed.", refused.value,
                             allowed or KIND_NAMES[kind] + ".") from None
        if check is not None and not check(value):
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


def check_count(option: str, value: Any, least: int, allowed: str) -> int:
    """An option's count (`--replicates`, `--groups`) as an int of at least `least`: a count
    of 1.5 or True, given through the Python API, is refused, never rounded."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise InputError(option, f"{value!r} is not a whole number of at least {least}.",
                         value=value, allowed=allowed)
    return int(value)


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


def dotted_keys(table: Any, prefix: str = "", keep: Callable[[Any], bool] = lambda value: False,
                where: Section | None = None) -> Any:
    """Nested tables to dotted keys: TOML reads an unquoted `group.secretariat = ...` as a table.
    A table `keep` accepts stays a value; anything but a table is returned as it is.

    One key written twice (`group.secretariat = true` and `"group.secretariat" = false`, or a
    [group] sub-table beside a quoted key) has two meanings: refused, by `where` (the table's
    `Section`) when given, else as a ValueError naming the key.
    """
    if not isinstance(table, Mapping):
        return table
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        found = dotted_keys(value, f"{name}.", keep, where) if isinstance(value, Mapping) and \
            not keep(value) else {name: value}
        for twice in found.keys() & flat.keys():
            if where is None:
                raise ValueError(f"`{twice}` is given twice")
            raise where.error(twice, "is given twice: once as a quoted dotted key and once "
                              "in a table (or twice in tables), with one meaning at most.",
                              allowed="each key once.")
        flat.update(found)
    return flat
