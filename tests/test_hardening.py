"""Regression tests for input hardening: typed values, integrity of results, workers that die
with their parent, plain-text messages and folders that are never overwritten silently."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sim.experiments.design import load_experiment
from sim.experiments.execution import execute
from sim.model.tape import TAPE_VERSION
from tests.conftest import LONG, wait_for

SMALL = """\
[experiment]
name = "small"
scenario = "mikta"
years = 8
replicates = 10
seed = 5
chunk_size = 10

[factors]
{factors}
"""


def write(tmp_path, factors='"group.secretariat" = [false, true]', name="small.toml"):
    path = tmp_path / name
    path.write_text(SMALL.format(factors=factors))
    return path


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def runs_of(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").sort_values("run_id").reset_index(drop=True)


# ------------------------------------------------------------------ typed values


def test_a_true_false_factor_takes_only_toml_booleans(tmp_path):
    done = cli("experiment", write(tmp_path, '"group.secretariat" = ["false", "true"]'),
               "--out", tmp_path / "out")
    assert done.returncode == 2
    assert "factors.group.secretariat" in done.stderr and "wrong type" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_integer_range_with_more_steps_than_whole_numbers_is_refused(tmp_path):
    done = cli("experiment", write(tmp_path, '"group.agenda_breadth" = { min = 3, max = 4, '
                                              'steps = 5 }'), "--out", tmp_path / "out")
    assert done.returncode == 2 and "would repeat" in done.stderr


def test_a_parameter_set_in_two_places_is_refused(tmp_path):
    done = cli("experiment", write(tmp_path, '"members.*.crisis_rate" = [0.1, 0.2]\n'
                                              '"members.MEX.crisis_rate" = [0.3, 0.4]'))
    assert done.returncode == 2
    assert "members.MEX.crisis_rate" in done.stderr and "sets too" in done.stderr


def test_a_listed_value_twice_is_refused(tmp_path):
    done = cli("experiment", write(tmp_path, '"world.rival_pull" = [1.0, 1.0]'))
    assert done.returncode == 2 and "twice" in done.stderr


# ------------------------------------------------------------------ messages are plain text


def test_user_text_is_never_read_as_markup(tmp_path):
    done = cli("run", "no[/bold]such[red]scenario")
    assert done.returncode == 2
    assert "no[/bold]such[red]scenario" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ integrity of results


def test_the_manifest_records_checksums_versions_and_the_tape(tmp_path):
    outcome = execute(load_experiment(write(tmp_path)), tmp_path / "out", workers=1)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["tape_version"] == TAPE_VERSION == 7
    assert {"python", "numpy", "pandas", "pyarrow", "mesa"} <= set(manifest["environment"])
    files = manifest["chunks"]["files"]
    assert len(files) == manifest["chunks"]["count"] == 2 and outcome.total == 20
    assert all(len(entry["sha256"]) == 64 and entry["rows"] == 10 for entry in files.values())


def test_a_damaged_chunk_is_named_by_report_and_recomputed_by_resume(tmp_path):
    spec_file = write(tmp_path)
    out = tmp_path / "out"
    assert cli("experiment", spec_file, "--out", out, "--no-report", "--quiet").returncode == 0
    before = runs_of(out)
    part = out / "runs.parquet" / "part-000001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte inside a column: the ids may still read
    part.write_bytes(bytes(data))
    report = cli("report", out)
    assert report.returncode == 2
    assert "part-000001.parquet" in report.stderr and "--resume" in report.stderr
    resumed = cli("experiment", spec_file, "--out", out, "--resume", "--no-report", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "10 done before, 10 now" in resumed.stdout
    pd.testing.assert_frame_equal(before, runs_of(out))
    assert cli("report", out).returncode == 0


def test_a_lost_manifest_is_rebuilt_and_no_run_is_lost(tmp_path):
    spec_file = write(tmp_path)
    out = tmp_path / "out"
    assert cli("experiment", spec_file, "--out", out, "--no-report", "--quiet").returncode == 0
    before = runs_of(out)
    (out / "manifest.json").unlink()
    plain = cli("experiment", spec_file, "--out", out, "--no-report", "--quiet")
    assert plain.returncode == 2 and "--resume" in plain.stderr
    resumed = cli("experiment", spec_file, "--out", out, "--resume", "--no-report", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "20 done before, 0 now" in resumed.stdout
    pd.testing.assert_frame_equal(before, runs_of(out))


# ------------------------------------------------------------------ nothing overwritten


def test_out_naming_a_file_is_a_message(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    for args in (("experiment", write(tmp_path)), ("run", "mikta")):
        done = cli(*args, "--out", target)
        assert done.returncode == 2 and "is a file" in done.stderr, done.stderr
    assert target.read_text() == "keep me"


def test_run_and_claims_do_not_overwrite_a_folder_without_force(tmp_path):
    out = tmp_path / "run"
    assert cli("run", "mikta", "--years", "2", "--out", out).returncode == 0
    again = cli("run", "mikta", "--years", "2", "--out", out)
    assert again.returncode == 2 and "--force" in again.stderr
    assert cli("run", "mikta", "--years", "2", "--out", out, "--force").returncode == 0
    claims = tmp_path / "claims"
    claims.mkdir()
    (claims / "earlier.txt").write_text("an earlier result")
    refused = cli("claims", "experiments/claims.toml", "--out", claims, "--replicates", "10",
                  cwd=os.path.dirname(os.path.dirname(__file__)))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (claims / "earlier.txt").read_text() == "an earlier result"


# ------------------------------------------------------------------ signals and workers




def _children(pid: int) -> set[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                           text=True).stdout.split()
    return {int(p) for p in found}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                           text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def _start_long(tmp_path):
    spec = tmp_path / "long.toml"
    spec.write_text(LONG)
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "experiment", spec, "--out",
                                tmp_path / "out", "--workers", "2", "--quiet", "--no-report"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks = tmp_path / "out" / "runs.parquet"
    wait_for(lambda: any(chunks.glob("part-*.parquet")), "the first chunk", process)
    workers = _children(process.pid)
    assert process.poll() is None and workers, "no worker processes running"
    return process, workers


def test_workers_die_with_a_killed_parent(tmp_path):
    process, workers = _start_long(tmp_path)
    process.kill()
    process.wait(timeout=30)
    wait_for(lambda: not any(_alive(p) for p in workers), "the workers to end", deadline=30)


def test_sigterm_stops_like_ctrl_c_and_resume_finishes(tmp_path):
    process, _ = _start_long(tmp_path)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"


# ------------------------------------------------------------------ exit 0 on bad input, no more


def test_report_refuses_contrasts_of_points_that_do_not_exist(tmp_path):
    out = tmp_path / "out"
    assert cli("experiment", write(tmp_path), "--out", out, "--quiet").returncode == 0
    for pair in ("0,99", "0,0"):
        done = cli("report", out, "--contrast", pair)
        assert done.returncode == 2 and "two different design points" in done.stderr
    assert cli("report", out, "--contrast", "0,1").returncode == 0


def test_an_lhs_range_with_min_equal_to_max_is_refused(tmp_path):
    path = tmp_path / "lhs.toml"
    path.write_text(SMALL.format(factors='"world.rival_pull" = { min = 1.0, max = 1.0 }')
                    .replace('seed = 5', 'seed = 5\ndesign = "lhs"\nsamples = 4'))
    done = cli("experiment", path)
    assert done.returncode == 2 and "min = max" in done.stderr


def test_seeds_past_the_largest_are_refused():
    done = cli("run", "mikta", "--seed", str(2**63 - 2), "--runs", "5", "--engine", "fast")
    assert done.returncode == 2 and "past the largest" in done.stderr


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
name = "c"
scenario = "mikta"
years = 5
replicates = 10
{claims}
"""
CLAIM = """
[[claim]]
id = {id}
title = "t"
[[claim.contrast]]
baseline = {{ {baseline} }}
treatment = {{ {treatment} }}
expect = {{ alive = "higher" }}
"""


def test_claims_with_a_repeated_id_are_refused(tmp_path):
    from sim.errors import InputError
    from sim.inference.claims import load_claims

    good = CLAIM.format(id=1, baseline="", treatment='"group.secretariat" = true')
    path = tmp_path / "claims.toml"
    path.write_text(CLAIMS.format(claims=good + good))
    try:
        load_claims(path)
        raise AssertionError("two claims with one id were accepted")
    except InputError as exc:
        assert "two claims" in str(exc)


# ------------------------------------------------------------------ exit 0 on bad input, and
# misleading messages


ROOT = Path(__file__).resolve().parents[1]


def _mikta_with(old: str, new: str) -> str:
    text = (ROOT / "sim" / "model" / "scenarios" / "mikta.toml").read_text(encoding="utf-8")
    return text.replace(old, new, 1)


def test_a_contrast_with_neither_baseline_nor_treatment_is_refused(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text('[claims]\nyears = 2\nreplicates = 10\n\n[[claim]]\nid = 1\n'
                    '  [[claim.contrast]]\n  name = "nothing"\n  expect = { dead = "lower" }\n',
                    encoding="utf-8")
    done = cli("claims", path, "--out", tmp_path / "out")
    assert done.returncode == 2 and "neither a baseline nor a treatment" in done.stderr
    assert "line" in done.stderr


def test_a_date_after_the_horizon_is_a_warning(tmp_path):
    text = _mikta_with("years = 30", "years = 3")
    path = tmp_path / "short.toml"
    path.write_text(text, encoding="utf-8")
    done = cli("run", path, "--engine", "fast")
    assert done.returncode == 0
    assert "warning:" in done.stderr and "falls after the horizon" in done.stderr
    assert "line" in done.stderr
    shortened = cli("run", "mikta", "--engine", "fast", "--years", "3")  # on purpose: silent
    assert "warning" not in shortened.stderr


def test_a_bad_horizon_in_the_file_is_refused_even_with_years_given(tmp_path):
    text = _mikta_with("years = 30", "years = 0")
    path = tmp_path / "zero.toml"
    path.write_text(text, encoding="utf-8")
    done = cli("run", path, "--years", "3")
    assert done.returncode == 2 and "scenario.years" in done.stderr and "line" in done.stderr


def test_a_bad_host_is_reported_as_the_host_and_a_folder_as_a_folder(tmp_path):
    done = cli("app", "--host", "999.1.1.1", "--port", "8991")
    assert done.returncode == 2 and "--host 999.1.1.1: not an address" in done.stderr
    assert "--port" not in done.stderr.split("Allowed")[0].replace("--host 999.1.1.1", "")
    done = cli("run", tmp_path)
    assert done.returncode == 2 and "is a folder, not a scenario file" in done.stderr


# ------------------------------------------------------------------ a referee's check


def test_check_reruns_a_sample_and_finds_a_changed_value_and_other_versions(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    assert cli("experiment", write(tmp_path), "--out", out, "--quiet", "--no-report",
               "--workers", "1").returncode == 0
    same = cli("experiment", "--check", out, "--sample", "8")
    assert same.returncode == 0, same.stderr
    assert "8 runs rerun" in same.stdout and "every summary value matches" in same.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["environment"]["numpy"] = "0.0.1"
    (out / "manifest.json").write_text(json.dumps(manifest))
    part = sorted((out / "runs.parquet").glob("part-*.parquet"))[0]
    table = pq.read_table(part).to_pandas()
    table["total_outputs"] = table["total_outputs"] + 1  # what a tampered file would hold
    pq.write_table(pq.read_table(part).from_pandas(table, preserve_index=False), part)
    changed = cli("experiment", "--check", out, "--sample", "20")
    assert changed.returncode == 1
    assert "numpy 0.0.1 then" in changed.stderr
    assert "damaged: runs.parquet/" + part.name in changed.stderr
    assert "total_outputs" in changed.stdout and "differ" in changed.stdout
    assert cli("experiment", "--check", tmp_path).returncode == 2


def test_a_control_character_in_a_text_of_a_claims_file_is_refused(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text('[claims]\nyears = 2\nreplicates = 10\n\n[[claim]]\nid = 1\ntitle = "a\\u0007b"'
                    '\n  [[claim.contrast]]\n  treatment = { "group.secretariat" = true }\n'
                    '  expect = { dead = "lower" }\n', encoding="utf-8")
    done = cli("claims", path, "--out", tmp_path / "out")
    assert done.returncode == 2 and "claim.title" in done.stderr
    assert "control character" in done.stderr
