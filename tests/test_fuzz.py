"""Property-based fuzzing of every input surface: each case succeeds or exits 2 with a message
naming what is at fault; never a traceback, never exit 0 with a changed meaning.

Commands run in this process (workers = 1) so that hundreds of cases fit in well under a minute.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import cli

ROOT = Path(__file__).resolve().parents[1]
# MINILAT_FUZZ_EXAMPLES=2000 searches longer, with fresh random cases each time.
SCALE = int(os.environ.get("MINILAT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=SCALE or 60, deadline=None, derandomize=not SCALE, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


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


# ------------------------------------------------------------------------------ values

TOML_SCALARS = st.one_of(
    st.booleans().map(lambda b: "true" if b else "false"),
    st.sampled_from(["0", "1", "-1", "2", "3", "7", "10", "40", "-100", "1000", "100000",
                     "9223372036854775807", "-9223372036854775808", "1_000_000_000_000"]),
    st.sampled_from(["0.0", "-0.0", "0.5", "1.0", "1.5", "-0.5", "1e-300", "1e300", "inf",
                     "-inf", "nan", "0.999999", "2.5"]),
    st.sampled_from(['""', '"true"', '"false"', '"1"', '"0.5"', '"[/bold]"', '"2014Q1"',
                     '"2999Q4"', '"1900Q1"', '"2014Q5"', '"MEX"', '"XXX"', '"../x"', '"a/b"',
                     '"mikta"', '"\\u0007bell"', '"é"', '"2016-09-21"', '"not a date"']),
    st.sampled_from(["[]", "[1, 2]", '["a"]', "[true, false]", "{}", "{ min = 0, max = 1 }",
                     "{ min = 1, max = 0 }", "[[1]]", '["MEX", "MEX"]']),
)


@st.composite
def mutated(draw, text: str):
    """The TOML text with one change: a value replaced, a line deleted, a line repeated, a
    key added, or bytes damaged."""
    lines = text.splitlines()
    assignments = [i for i, line in enumerate(lines)
                   if re.match(r'^\s*[\w".*-]+\s*=', line) and not line.lstrip().startswith("#")]
    kind = draw(st.sampled_from(["value", "value", "value", "delete", "repeat", "add",
                                 "garbage"]))
    if kind == "value":
        i = draw(st.sampled_from(assignments))
        key = lines[i].split("=", 1)[0]
        lines[i] = f"{key}= {draw(TOML_SCALARS)}"
    elif kind == "delete":
        del lines[draw(st.sampled_from(assignments))]
    elif kind == "repeat":
        i = draw(st.sampled_from(assignments))
        lines.insert(i, lines[i])
    elif kind == "add":
        i = draw(st.sampled_from(assignments))
        lines.insert(i, f"{draw(st.sampled_from(['extra', 'Name', 'seed2']))} = "
                        f"{draw(TOML_SCALARS)}")
    else:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(st.sampled_from(["[", "= 3", "]]", "\x00", "key = ", "[[claim]",
                                         "\ufeffkey = 1", "a.b.c = 1"]))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ scenario files

SCENARIO = (ROOT / "sim" / "model" / "scenarios" / "mikta.toml").read_text(encoding="utf-8")


def _resolved_value(resolved: dict, table: str, key: str):
    node = resolved
    for part in [p for p in table.split(".") if p] + [key.strip().strip('"')]:
        if not isinstance(node, dict) or part not in node:
            return KeyError
        node = node[part]
    return node


def _same(written, shown) -> bool:
    if isinstance(written, bool) or isinstance(shown, bool):
        return type(written) is type(shown) and written == shown
    if isinstance(written, float) and math.isnan(written):
        return isinstance(shown, float) and math.isnan(shown)
    if isinstance(written, int | float) and isinstance(shown, int | float):
        return float(written) == float(shown)
    return written == shown


@FUZZ
@given(text=mutated(SCENARIO))
def test_a_mutated_scenario_file_is_refused_or_means_what_it_says(tmp_path, text):
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    code, stdout, stderr = invoke("scenarios", "show", str(path))
    check_outcome(code, stdout, stderr, (str(path),))
    if code != 0:
        return
    resolved = tomllib.loads(stdout)
    written = tomllib.loads(text)
    table = ""
    for line in text.splitlines():  # every plain `[table]` key written must read as written
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            table = header.group(1)
            continue
        found = re.match(r'^\s*(\w+)\s*=', line)
        if not found or not table:
            continue
        key = found.group(1)
        shown = _resolved_value(resolved, table, key)
        if shown is KeyError:
            continue
        value = _resolved_value(written, table, key)
        assert _same(value, shown), (table, key, value, shown)
    code, stdout, stderr = invoke("run", str(path), "--engine", "fast", "--years", "3",
                                  "--runs", "3")
    check_outcome(code, stdout, stderr, (str(path),))


# ------------------------------------------------------------------------------ experiment files

EXPERIMENT = """\
[experiment]
name = "fuzz"
scenario = "mikta"
years = 4
replicates = 10
seed = 1
design = "grid"
common_random_numbers = true

[factors]
"group.secretariat" = [false, true]
"members.*.crisis_rate" = { min = 0.1, max = 0.5, steps = 2 }

[fixed]
"world.rival_pull" = 0.5
"""


@FUZZ
@given(text=mutated(EXPERIMENT))
def test_a_mutated_experiment_file_is_refused_or_runs(tmp_path, text):
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("experiment", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet", "--no-report", "--force")
    check_outcome(code, stdout, stderr, (str(path),))
    if code == 0:
        import pandas as pd

        runs = pd.read_parquet(out / "runs.parquet")
        assert not runs["failed"].any()
        assert runs["total_outputs"].ge(0).all()


# ------------------------------------------------------------------------------ claims files

CLAIMS = """\
[claims]
name = "fuzz-claims"
scenario = "mikta"
years = 3
replicates = 10
seed = 5
confidence = 0.95

[[claim]]
id = 1
title = "A secretariat helps"
source = "000"
statement = "With a secretariat the group lives longer."
reference = { alive = 0.5, source = "x" }

  [[claim.contrast]]
  name = "as calibrated"
  treatment = { "group.secretariat" = true }
  expect = { dead = "lower", alive = "higher" }
"""


@FUZZ
@given(text=mutated(CLAIMS))
def test_a_mutated_claims_file_is_refused_or_runs(tmp_path, text):
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("claims", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet", "--force")
    check_outcome(code, stdout, stderr, (str(path),))


# ------------------------------------------------------------------------------ calibration

CALIBRATION = """\
[calibration]
name = "fuzz-calibration"
scenario = "mikta"
draws = 10
accept = 0.5
seed = 3
predictive_runs = 2

[targets]
statements = "statements.csv"
observed_from = "2014-01-01"
observed_until = "2015-06-30"
chair_order = ["MEX", "KOR"]
alive_at_end = true

[priors]
"group.base_rate" = { min = 1.0, max = 6.0 }
"""

STATEMENTS = """\
date,title
2014-03-01,one
2014-09-25,two
2015-05-22,three
"""

CSV_LINES = st.sampled_from(["", "2014-13-01,bad month", "not a date,x", "2015-02-30,x",
                             ",", '"unclosed,x', "2014-05-01", "2014-05-01,a,b,c", "\x00",
                             "date", "2020-01-01,after", "1990-01-01,before", "date,title"])


@st.composite
def statements(draw):
    lines = STATEMENTS.splitlines()
    kind = draw(st.sampled_from(["replace", "insert", "header only", "empty", "no header"]))
    if kind == "replace":
        lines[draw(st.integers(0, len(lines) - 1))] = draw(CSV_LINES)
    elif kind == "insert":
        lines.insert(draw(st.integers(1, len(lines))), draw(CSV_LINES))
    elif kind == "header only":
        lines = lines[:1]
    elif kind == "empty":
        lines = []
    else:
        lines = lines[1:]
    return "\n".join(lines) + ("\n" if lines else "")


@settings(FUZZ, max_examples=SCALE or 40)
@given(text=st.one_of(mutated(CALIBRATION), st.just(CALIBRATION)), csv=statements())
def test_a_mutated_calibration_or_record_is_refused_or_fits(tmp_path, text, csv):
    path = tmp_path / "calibration.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "statements.csv").write_text(csv, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("calibrate", str(path), "--out", str(out), "--workers", "1",
                                  "--force")
    check_outcome(code, stdout, stderr, (str(path), "statements.csv"))
    if code == 0:
        rows = [line for line in csv.splitlines()[1:] if line.strip()]
        assert rows, "a record without rows was accepted"


JOINT = """\
[calibration]
name = "fuzz-joint"
cases = ["mikta", "ibsa"]
method = "rejection"
draws = 10
accept = 0.5
seed = 3
predictive_runs = 1
population_size = 4
max_populations = 1
max_simulations = 10
replicates = 1

[priors]
"group.base_rate" = { min = 1.0, max = 6.0 }
"members.*.initial_engagement" = { min = 0.1, max = 0.7 }
"""


@settings(FUZZ, max_examples=SCALE or 30)
@given(text=st.one_of(mutated(JOINT), st.just(JOINT)))
def test_a_mutated_joint_calibration_is_refused_or_fits(tmp_path, text):
    path = tmp_path / "joint.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("calibrate", str(path), "--out", str(out), "--workers", "1",
                                  "--force")
    check_outcome(code, stdout, stderr, (str(path),))
    if code == 0:
        posterior = __import__("pandas").read_parquet(out / "posterior.parquet")
        assert abs(posterior["weight"].sum() - 1) < 1e-9


# ------------------------------------------------------------------------------ arguments

ARGUMENT_VALUES = st.one_of(
    st.sampled_from(["0", "1", "2", "-1", "3", "9223372036854775807", "9223372036854775806",
                     "18446744073709551616", "1e3", "0.5", "", "nan", "[/bold]", "mikta",
                     "generic-5", "mesa", "fast", "dask", "local", "0,1", "1,0", "0,0", "a,b",
                     "group.secretariat=true", "group.secretariat=yes", "years=0",
                     "members.*.crisis_rate=2", "members.XXX.crisis_rate=0.1", "nope=1",
                     "group.base_rate=nan", "group.base_rate=inf", "=", "a=b=c"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=12),
)
OPTIONS = {
    "run": ["--seed", "--years", "--set", "--runs", "--engine", "--out"],
    "scenarios show": ["--set"],
    "report": ["--contrast"],
    "experiment": ["--replicates", "--engine", "--workers", "--backend", "--scheduler"],
}


@st.composite
def command_lines(draw, tmp: Path):
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv = command.split()
    target = {"run": ["mikta", "generic-5", str(tmp), str(tmp / "none.toml")],
              "scenarios show": ["mikta", "ibsa", str(tmp), "[/x]"],
              "report": [str(tmp / "none"), str(tmp)],
              "experiment": [str(ROOT / "experiments" / "smoke.toml"), str(tmp)]}[command]
    argv.append(draw(st.sampled_from(target)))
    for _ in range(draw(st.integers(0, 3))):
        option = draw(st.sampled_from(OPTIONS[command]))
        value = draw(ARGUMENT_VALUES)
        if option == "--out":
            value = str(tmp / "out" / value.replace("/", "_")) if value else str(tmp)
        argv += [option, value]
    if command == "run":
        argv += ["--engine", "fast", "--years", "2"] if "--years" not in argv else []
    if command == "experiment":
        argv += ["--out", str(tmp / "exp"), "--workers", "1", "--quiet", "--no-report",
                 "--force", "--replicates", "10"]
    return argv


@settings(FUZZ, max_examples=SCALE or 80)
@given(data=st.data())
def test_any_command_line_succeeds_or_says_what_is_wrong(tmp_path, data):
    argv = data.draw(command_lines(tmp_path))
    code, stdout, stderr = invoke(*argv)
    check_outcome(code, stdout, stderr)


@pytest.mark.parametrize("text", ["[", "\x00", "\ufeff[scenario]\nname = 'x'\n"])
def test_broken_bytes_in_a_scenario_file_are_a_message(tmp_path, text):
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    code, stdout, stderr = invoke("run", str(path))
    check_outcome(code, stdout, stderr, (str(path),))
    assert code == 2


# ------------------------------------------------------------------------------ changes at a date

DATES = st.one_of(st.sampled_from(["2027Q1", "2027", "2014Q1", "2014Q2", "2033Q4", "2034",
                                   "2013Q4", "2099", "2027Q0", "2027Q5", "", "Q1", "twenty",
                                   "2027Q1@2028", " 2030 ", "-1", "1e3"]),
                  st.text(alphabet="0123456789Q@ x", max_size=8))
KEYS = st.sampled_from(["group.secretariat", "group.agenda_breadth", "world.rival_pull",
                        "members.*.crisis_rate", "members.KOR.budget_trend", "members.XXX.reach",
                        "mechanisms.dues", "group.zombie_months", "members.*.joins", "years",
                        "group.no_such_key", "start"])


@FUZZ
@given(key=KEYS, value=TOML_SCALARS, date=DATES)
def test_a_change_at_a_date_on_the_command_line_runs_or_is_refused(key, value, date):
    code, stdout, stderr = invoke("run", "mikta", "--years", "20", "--engine", "fast",
                                  "--set", f"{key}={value}@{date}")
    check_outcome(code, stdout, stderr, ("--set",))


POLICY = """\
[scenario]
extends = "mikta"
name = "policy"
years = 20

[[events]]
date = "2027Q1"
kind = "set"
key = "group.secretariat"
value = true
note = "the members adopt a secretariat"
"""


@FUZZ
@given(text=mutated(POLICY))
def test_a_mutated_change_in_a_scenario_file_is_refused_or_runs(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    code, stdout, stderr = invoke("run", str(path), "--engine", "fast")
    check_outcome(code, stdout, stderr, (str(path),))
