"""Shared test helpers: random parameter sets and the model's invariants."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sim import cli
from sim.model import rules
from sim.model.outcomes import classify_series
from sim.model.params import GroupParams, MemberParams, Scenario, Spec, WorldParams
from sim.model.trajectory import Trajectory

# Every numeric parameter of the declarations is randomized within its declared range, except
# these: the scenario's structure and yardsticks, and facts of the record a batch shares.
SKIP = {"in_rival", "first_election_changed", "reference_breadth", "network_partners",
        "apex_window_months", "grace_months", "zombie_months", "dormant_months", "chair_term",
        "min_members"}
# Narrower than declared where the top of the range only makes runs slow.
CAPS = {"base_rate": 20.0, "agenda_breadth": 20, "election_interval": 12.0}
NUMERIC = {"bool": bool, "int": int, "float": float}  # the declared types drawn


def _draw(rng: np.random.Generator, kind: type, spec: Spec, name: str):
    if kind is bool:
        return bool(rng.random() < 0.5)
    low = spec.low if spec.low is not None else 0.0
    high = min(spec.high if spec.high is not None else low + 10, CAPS.get(name, np.inf))
    if kind is int:
        return int(rng.integers(max(int(low), 1 if spec.low_open else int(low)), int(high) + 1))
    value = float(rng.uniform(low, high))
    if spec.low_open and value == low:
        value = low + 1e-6
    return value


def random_overrides(seed: int) -> dict:
    """A random point in the parameter space: every numeric key within its documented range."""
    rng = np.random.default_rng(seed)
    overrides = {}
    for section, cls in (("group", GroupParams), ("world", WorldParams),
                         ("members.*", MemberParams)):
        for f in dataclasses.fields(cls):
            if f.name in SKIP or f.type not in NUMERIC:
                continue
            kind = NUMERIC[f.type]
            overrides[f"{section}.{f.name}"] = _draw(rng, kind, f.metadata["spec"], f.name)
    return overrides


def check_invariants(traj: Trajectory, scenario: Scenario) -> None:
    """Properties every run must have, whatever its parameters."""
    t = traj.quarters_run
    s = {name: traj.upto(name) for name in traj.series}
    assert 1 <= t <= traj.quarters
    engagement = s["engagement"]
    assert np.all((engagement >= 0) & (engagement <= 1)), "engagement outside [0, 1]"
    assert np.all(s["budget"] > 0)
    status = s["status"].astype(int)
    assert not np.any((status[:-1] == rules.EXITED) & (status[1:] != rules.EXITED)), \
        "an exited member returned"
    assert not np.any((status[:-1] != rules.PENDING) & (status[1:] == rules.PENDING))
    assert np.all(engagement[status == rules.EXITED] == 0)
    assert not np.any(s["in_rival"][:-1] & ~s["in_rival"][1:]), "left the rival bloc"
    dead = s["state"] == rules.DEAD
    assert not dead[:-1].any(), "the run went on after death"
    if t < traj.quarters:
        assert dead[-1], "the run stopped without dying"
    chair = s["chair"]
    held = chair != rules.VACANT
    assert np.all(status[np.flatnonzero(held), chair[held]] != rules.PENDING)
    assert np.array_equal(s["outputs"], s["outputs_officials"] + s["outputs_ministers"]
                          + s["outputs_leaders"])
    states, cause = classify_series(s["outputs_officials"], s["outputs_ministers"],
                                    s["outputs_leaders"], s["active_members"], scenario.group,
                                    s["vacant_in_a_row"], s["undefended_in_a_row"])
    np.testing.assert_array_equal(states, s["state"])
    assert cause == traj.death_cause


@pytest.fixture(autouse=True)
def ctrl_c_reaches_commands():
    """Each test starts with Ctrl-C's default handler. A command run in-process that stops on
    Ctrl-C leaves SIGINT ignored in the test process; an ignored signal is inherited across exec
    and Python keeps it ignored, so every command a later test starts would shrug off Ctrl-C."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


@pytest.fixture
def invariants():
    return check_invariants


# ------------------------------------------------------------------ the command in this process


def invoke(*argv: str) -> tuple[int, str, str]:
    """Run `minilat ARGV` in this process: (exit code, stdout, stderr). An exception other
    than the exit is a traceback the user would see: the test fails with it."""
    stdout, stderr = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["minilat", *argv]
    code = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return code, stdout.getvalue(), stderr.getvalue()


def check_outcome(code: int, stdout: str, stderr: str, names: tuple[str, ...] = ()) -> None:
    """Success, or exit 2 with a message naming one of `names` (a file, key or option)."""
    assert "Traceback" not in stderr + stdout, stderr
    assert code in (0, 2), (code, stderr[-2000:])
    if code == 2:
        text = " ".join(stderr.split())
        assert text, "exit 2 without a message"
        assert re.search(r"(?i)\berror\b", text), text
        if names:
            assert any(n in text for n in names), (names, text)


# A Mesa-engine experiment long enough to be killed mid-run (kill and orphan tests)
LONG = """\
[experiment]
name = "long"
scenario = "mikta"
years = 30
replicates = 400
seed = 1
engine = "mesa"
chunk_size = 5

[factors]
"group.secretariat" = [false, true]
"""


def wait_for(condition, what: str, process: subprocess.Popen | None = None,
             deadline: float = 180) -> None:
    """Until `condition()` holds: an observable event (a file written, a line printed, a
    process gone). A `process` that ends first fails the wait with its output; the deadline
    only bounds a hang, it is never the event waited for."""
    end = time.monotonic() + deadline
    while not condition():
        if process is not None and process.poll() is not None:
            assert condition(), f"the command ended before {what}: {process.communicate()}"
            return
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)
