"""No process outlives a long-running command ended by `kill -9`: its workers and the teaching
page's server end with it, and the folder it held is free at once. Each test waits on something
it can observe (a chunk written, worker processes started, a line printed), never on elapsed
time alone; deadlines only bound a wait that should end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import UserError
from sim.experiments.storage import FolderLock
from tests.conftest import LONG, wait_for

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the process table in /proc")
CLAIMS = """\
[claims]
equivalence.alive = 0.02
equivalence.zombie = 0.02
equivalence.dead = 0.02
equivalence.active_years = 0.5
equivalence.years_to_death = 0.5
equivalence.zombie_years = 0.25
equivalence.total_outputs = 5.0
equivalence.exits = 0.05
equivalence.rival_joins = 0.05
name = "long-claims"
scenario = "mikta"
years = 30
replicates = 20000
seed = 5

[[claim]]
id = 1
title = "A secretariat helps"
  [[claim.contrast]]
  treatment = { "group.secretariat" = true }
  expect = { dead = "lower" }
"""


def parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return found


def descendants(pid: int) -> set[int]:
    table = parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in table.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be collected."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def start(argv: list, tmp_path: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *map(str, argv)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)


def workers_of(pid: int) -> set[int]:
    """The worker processes under `pid`: multiprocessing's spawned children (a local pool's
    workers, a Dask cluster's), not its resource tracker."""
    found = set()
    for child in descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


def kill_and_check_nothing_is_left(process: subprocess.Popen, workers: int) -> None:
    """Wait for `workers` worker processes, kill -9 the command, and find none of its
    processes still running."""
    wait_for(lambda: len(workers_of(process.pid)) >= workers or process.poll() is not None,
             "the workers to start")
    assert process.poll() is None, process.communicate()
    family = descendants(process.pid)
    process.kill()
    process.communicate(timeout=60)
    wait_for(lambda: not any(alive(p) for p in family), "the workers to end", deadline=30)


def test_a_killed_experiment_leaves_no_process_and_frees_its_folder(tmp_path):
    (tmp_path / "long.toml").write_text(LONG)
    out = tmp_path / "out"
    process = start(["experiment", "long.toml", "--out", out, "--workers", "2", "--quiet",
                     "--no-report"], tmp_path)
    wait_for(lambda: any((out / "runs.parquet").glob("part-*.parquet")) or
             process.poll() is not None, "the first chunk")
    kill_and_check_nothing_is_left(process, 2)
    with FolderLock(out):  # the lock died with its holder: taken at once
        pass


def test_a_killed_claims_command_leaves_no_process(tmp_path):
    (tmp_path / "claims.toml").write_text(CLAIMS)
    process = start(["claims", "claims.toml", "--out", tmp_path / "out", "--workers", "2",
                     "--quiet"], tmp_path)
    kill_and_check_nothing_is_left(process, 2)


CALIBRATION = """\
[calibration]
cases = ["mikta", "ibsa"]
method = "smc"
population_size = 400
max_populations = 20
max_simulations = 1000000
seed = 5
predictive_runs = 1
[priors]
"group.base_rate" = { min = 1.0, max = 6.0 }
"members.*.initial_engagement" = { min = 0.1, max = 0.7 }
"""


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_a_killed_calibration_leaves_no_process_and_frees_its_folder(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("dask.distributed")
    (tmp_path / "calibration.toml").write_text(CALIBRATION)
    out = tmp_path / "out"
    process = start(["calibrate", "calibration.toml", "--out", out, "--workers", "2",
                     "--backend", backend], tmp_path)
    wait_for(lambda: (out / "history.db").is_file() or process.poll() is not None,
             "the history to be written")
    kill_and_check_nothing_is_left(process, 2)
    with FolderLock(out):  # the lock died with its holder: taken at once
        pass


def test_a_killed_forecast_leaves_no_process(tmp_path):
    process = start(["forecast", "mikta", "--until", "2060", "--runs", "200000", "--out",
                     tmp_path / "out", "--workers", "2"], tmp_path)
    kill_and_check_nothing_is_left(process, 2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_killed_page_server_leaves_no_server_serving(tmp_path):
    port = free_port()
    process = start(["app", "--port", port], tmp_path)
    lines = []
    for line in process.stdout:  # the address is printed once the page answers
        lines.append(line)
        if "teaching page is at" in line:
            break
    assert any("teaching page is at" in line for line in lines), process.communicate()
    family = descendants(process.pid)
    assert family, "no server process"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    wait_for(lambda: not any(alive(p) for p in family), "the server to end", deadline=30)
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_lock_names_a_live_holder_and_not_a_dead_one(tmp_path):
    out = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sim.experiments.storage import "
         "FolderLock\nwith FolderLock(sys.argv[1]):\n    print('held', flush=True)\n"
         "    time.sleep(600)\n", str(out)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"in use by process {holder.pid} "), FolderLock(out):
            pass
        # a child that kept the lock file open after its parent ended is named instead
        lock = out / ".minilat.lock"
        record = lock.read_text()
        keeper = subprocess.Popen([sys.executable, "-c", "import os, sys, fcntl, time\n"
                                   "fd = os.open(sys.argv[1], os.O_RDWR)\n"
                                   "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('kept', flush=True)\n"
                                   "time.sleep(600)\n", str(lock)], stdout=subprocess.PIPE,
                                  text=True)
        holder.kill()
        holder.wait(timeout=30)
        assert keeper.stdout.readline().strip() == "kept"
        lock.write_text(record)  # still names the process that ended
        try:
            with pytest.raises(UserError, match=f"{keeper.pid}, left running by process "
                               f"{holder.pid}"), FolderLock(out):
                pass
        finally:
            keeper.kill()
            keeper.wait(timeout=30)
        with FolderLock(out):  # reclaimed once nothing holds it
            pass
    finally:
        holder.kill()
