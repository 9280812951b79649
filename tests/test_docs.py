"""The documentation keeps up with the code."""

import dataclasses
import re
import runpy
from pathlib import Path

import pytest

from sim.model.params import EVENT_KINDS, Event, GroupParams, MemberParams, WorldParams
from sim.model.rules import STATE_NAMES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("cls", [GroupParams, WorldParams, MemberParams, Event])
def test_every_parameter_is_in_the_odd(cls):
    odd = (ROOT / "docs" / "ODD.md").read_text()
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in odd]
    assert not missing, f"docs/ODD.md does not mention {missing}"


def test_every_mechanism_and_outcome_is_in_the_odd():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    for number in range(1, 13):
        assert re.search(rf"\*\*M{number} ", odd), f"M{number} has no submodel section"
    for name in (*STATE_NAMES, *EVENT_KINDS):
        assert name in odd


def test_readme_shows_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_every_parameter_has_a_unit_or_is_dimensionless_by_type():
    for cls in (GroupParams, WorldParams, MemberParams):
        for f in dataclasses.fields(cls):
            spec = f.metadata["spec"]
            assert spec.meaning, f.name
            if f.type in ("float", "int"):
                assert spec.unit and spec.low is not None and spec.high is not None, f.name


def test_the_odds_parameter_tables_are_the_declarations():
    generator = runpy.run_path(str(ROOT / "docs" / "parameters.py"))
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert generator["odd_tables"](odd) == generator["parameter_tables"](), (
        "run `python docs/parameters.py` to regenerate docs/ODD.md §10")


def test_the_readme_is_short_and_its_links_and_images_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "the long form belongs in docs/reference.md"
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local and not [t for t in local if not (ROOT / t).exists()]


def test_the_readme_says_the_commands_the_makefile_has():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"`make (\w+)`", readme):
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target} is not in the Makefile"
