"""Errors that are the user's to fix: shown as a message, never as a traceback (exit code 2)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path


class UserError(Exception):
    """A problem with the user's input, described in one paragraph."""

    exit_code = 2


class InputWarning(UserWarning):
    """Input that is valid but probably not what was meant (a date past the horizon): shown
    once, as a plain line on standard error."""


class InputError(UserError):
    """A bad value in a file or on the command line, located as precisely as the input allows."""

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        key: str | None = None,
        value: object = None,
        allowed: str | None = None,
        line: int | None = None,
    ):
        self.source = source
        self.key = key
        self.value = value
        self.allowed = allowed
        self.line = line
        self.problem = problem
        where = source if line is None else f"{source}, line {line}"
        subject = ""
        if key is not None:
            subject = f"`{key}`" if value is None else f"`{key}` = {format_value(value)}"
            subject += " "
        message = f"{where}: {subject}{problem}"
        if allowed:
            message += f" Allowed: {allowed}"
        super().__init__(message.rstrip())

    def __reduce__(self):
        """Rebuilt from its fields, so that a worker's error reaches the parent whole."""
        return (_input_error, (self.source, self.problem, self.key, self.value, self.allowed,
                               self.line))


def _input_error(source, problem, key, value, allowed, line) -> InputError:
    return InputError(source, problem, key=key, value=value, allowed=allowed, line=line)


def format_value(value: object) -> str:
    """Show a value the way it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return repr(value)


def path_argument(value: object, function: str, name: str) -> Path:
    """`value` as a path, or a UserError naming the call and argument if it is not one."""
    if isinstance(value, str | PathLike):
        return Path(value)
    raise UserError(f"{function}: {name} must be a path (a str or pathlib.Path); not "
                    f"{type(value).__name__}.")


def typed_argument(value: object, kind: type, function: str, name: str, what: str) -> None:
    """A UserError naming the call and argument if `value` is not a `kind`."""
    if not isinstance(value, kind):
        raise UserError(f"{function}: {name} must be {what}; not {type(value).__name__}.")
