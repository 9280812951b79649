"""The lock file pins exactly what pyproject allows, and this environment was installed from it."""

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned and re.fullmatch(r"[\w.+!-]+", pinned), line
            pins[canonicalize_name(name)] = pinned
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        found += [Requirement(r) for r in extra]
    return found


def test_every_dependency_is_pinned_within_its_range():
    pins = _lock()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {requirement.name}=={pins[name]}, outside "
            f"{requirement.specifier} of pyproject.toml")


def test_this_environment_matches_the_lock():
    """`make install` installs with the lock as constraints: what runs is what is pinned."""
    mismatched = []
    for name, pinned in _lock().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # a pin for another platform's or extra's dependency
        if canonicalize_name(installed) != canonicalize_name(pinned) and installed != pinned:
            mismatched.append(f"{name} {installed} (locked {pinned})")
    assert not mismatched, "installed versions differ from requirements.lock: " + ", ".join(
        mismatched) + ". Run `make clean install`."
