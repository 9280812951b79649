"""Quarters and years as written in files and on the command line, and as quarter numbers.

A quarter is numbered absolutely, year * 4 + quarter - 1: '2017Q4' is 2017 * 4 + 3.
"""

from __future__ import annotations

import re
from typing import Any

QUARTERS_PER_YEAR = 4
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


def parse_quarter(text: str) -> int:
    """'2017Q4' -> 2017 * 4 + 3. Raises ValueError for anything else."""
    return _quarter_number(text)


def parse_date(text: str) -> int:
    """A change's date: '2027Q3' as `parse_quarter`, '2027' as its first quarter."""
    match = _YEAR.match(text) if isinstance(text, str) else None
    return int(match.group(1)) * QUARTERS_PER_YEAR if match else _quarter_number(text)


def _quarter_number(text: str) -> int:
    match = _QUARTER.match(text)
    if not match:
        raise ValueError(f"not a quarter: {text!r}")
    return int(match.group(1)) * QUARTERS_PER_YEAR + int(match.group(2)) - 1


def format_quarter(absolute: int) -> str:
    return f"{absolute // QUARTERS_PER_YEAR}Q{absolute % QUARTERS_PER_YEAR + 1}"


def quarter_within(text: Any, start_quarter: int, quarters: int) -> int:
    """A quarter or a year after a run's first quarter and before its horizon (a report's
    `from`), as a quarter index; a ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError("has the wrong type.")
    try:
        quarter = parse_date(text) - start_quarter
    except ValueError:
        raise ValueError("is neither a quarter nor a year.") from None
    if not 0 < quarter < quarters:
        raise ValueError("is not a quarter after the start and before the horizon.")
    return quarter


def quarters_within(start_quarter: int, quarters: int) -> str:
    """What `quarter_within` allows, in words."""
    return (f"a quarter from {format_quarter(start_quarter + 1)} to "
            f"{format_quarter(start_quarter + quarters - 1)}, or a year, e.g. \"2027Q1\"")
