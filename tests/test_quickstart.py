"""The README's quick start works as written, in its order, right after `make demo`.

The commands are read from README.md's quick-start block and run one after the other in a fresh
folder that holds what `make demo` leaves behind (its run and its experiment, made small here),
the project's experiments and the shipped posterior.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    """The commands of the README's quick-start block, comments dropped."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(shlex.join(words))
    return commands


def as_run(command: str) -> list[str]:
    """The command for this interpreter: `minilat` is `python -m sim.cli`."""
    words = shlex.split(command)
    if words[0] == "minilat":
        return [sys.executable, "-m", "sim.cli", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    raise AssertionError(f"the quick start has a command this test cannot run: {command}")


def test_the_quick_start_is_short_and_starts_in_the_virtualenv():
    commands = quick_start()
    assert commands[0] == "source .venv/bin/activate"
    assert 5 <= len(commands) <= 15
    assert not [c for c in commands if c.startswith("minilat app")], (
        "the page's server does not stop by itself: keep it out of the quick-start block")


@pytest.mark.slow
def test_every_quick_start_command_works_after_the_demo(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "COLUMNS": "100"}
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")
    (tmp_path / "results").mkdir()
    shutil.copytree(ROOT / "results" / "posterior", tmp_path / "results" / "posterior")
    demo = [  # what `make demo` leaves, small: the quick start must cope with its folders
        "minilat run mikta --seed 1 --out results/demo",
        "minilat experiment experiments/budget-vs-secretariat.toml --replicates 10 --quiet",
    ]
    for command in demo + quick_start()[1:]:
        result = subprocess.run(as_run(command), cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, command
    assert (tmp_path / "results" / "forecast-mikta" / "forecast.csv").is_file()
    assert (tmp_path / "results" / "smoke-posterior" / "report.md").is_file()
