"""Property-based fuzzing of every input surface: each case succeeds or exits 2 with a message
naming what is at fault; never a traceback, never exit 0 with a changed meaning.

Commands run in this process (workers = 1) so that hundreds of cases fit in well under a minute.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import check_outcome, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
# MINILAT_FUZZ_EXAMPLES=2000 searches longer, with fresh random cases each time.
SCALE = int(os.environ.get("MINILAT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=SCALE or 60, deadline=None, derandomize=not SCALE, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


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
equivalence.alive = 0.02
equivalence.zombie = 0.02
equivalence.dead = 0.02
equivalence.active_years = 0.5
equivalence.years_to_death = 0.5
equivalence.zombie_years = 0.25
equivalence.total_outputs = 5.0
equivalence.exits = 0.05
equivalence.rival_joins = 0.05
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
@given(text=mutated(CLAIMS), screened=st.sampled_from([False, False, False, False, True]))
def test_a_mutated_claims_file_is_refused_or_runs(tmp_path, text, screened):
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    screening = [] if screened else ["--no-variants"]  # the screening is most of a run's time
    code, stdout, stderr = invoke("claims", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet", "--force", *screening)
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
    "forecast": ["--until", "--runs", "--keep", "--seed", "--record", "--posterior"],
    "validate": ["--runs", "--seed", "--table"],
    "claims": ["--replicates", "--sets", "--posterior", "--variants"],
    "population": ["--groups", "--workers", "--resume", "--backend"],
    "calibrate": ["--draws", "--method", "--resume", "--workers"],
}
FLAGS = {"--table", "--variants", "--resume"}  # options without a value
# what each command runs on unless the drawn options say otherwise: little work each
DEFAULTS = {"run": ["--engine", "fast", "--years", "2"],
            "experiment": ["--workers", "1", "--replicates", "10"],
            "forecast": ["--until", "2016", "--runs", "10", "--workers", "1"],
            "validate": ["--runs", "10"], "claims": ["--workers", "1", "--replicates", "10"],
            "population": ["--workers", "1"], "calibrate": ["--workers", "1"]}


@st.composite
def command_lines(draw, tmp: Path):
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv = command.split()
    files = small_files(tmp)
    target = {"run": ["mikta", "generic-5", str(tmp), str(tmp / "none.toml")],
              "scenarios show": ["mikta", "ibsa", str(tmp), "[/x]"],
              "report": [str(tmp / "none"), str(tmp)],
              "experiment": [str(ROOT / "experiments" / "smoke.toml"), str(tmp)],
              "forecast": ["mikta", "ibsa", "generic-5", str(tmp)],
              "validate": ["mikta", "ibsa", str(tmp), "nope", files["record"]],
              "claims": [files["claims"], str(tmp)],
              "population": [files["population"], str(tmp), files["claims"]],
              "calibrate": [files["calibration"], str(tmp), files["population"]]}[command]
    argv.append(draw(st.sampled_from(target)))
    for _ in range(draw(st.integers(0, 3))):
        option = draw(st.sampled_from(OPTIONS[command]))
        if option in FLAGS:
            argv.append(option)
            continue
        value = draw(ARGUMENT_VALUES | st.sampled_from([files["record"], str(tmp)]))
        if option == "--out":
            value = str(tmp / "out" / value.replace("/", "_")) if value else str(tmp)
        argv += [option, value]
    for option, value in zip(DEFAULTS.get(command, [])[::2], DEFAULTS.get(command, [])[1::2],
                             strict=True):
        argv += [] if option in argv else [option, value]
    if command not in ("run", "scenarios show", "report"):
        argv += ["--out", str(tmp / command)]
        argv += ["--force"] if "--resume" not in argv else []
    argv += {"experiment": ["--quiet", "--no-report"], "claims": ["--quiet"],
             "population": ["--quiet"]}.get(command, [])
    return argv


def small_files(tmp: Path) -> dict[str, str]:
    """A record, claims, population and calibration file of little work each, in `tmp`."""
    files = {"record": RECORD, "claims": CLAIMS, "population": POPULATION,
             "calibration": JOINT}
    written = {}
    for kind, text in files.items():
        path = tmp / f"small-{kind}.toml"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        written[kind] = str(path)
    activity = tmp / "activity.csv"
    if not activity.exists():
        activity.write_text(ACTIVITY_HEADER + "mikta,2014-05-01,,ministers,meeting,,a meeting,"
                            "src,false,\n", encoding="utf-8")
    return written


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


# ------------------------------------------------------------------------------ structure
# Whole files built from their structure rather than one line changed: values nested to any
# depth, integers of any size, keys written twice, tables where values go and the reverse.

PLAIN = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
LEAVES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**300), 2**63, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(alphabet=PLAIN, max_size=6),
)
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["a", "min", "max", "steps", "x"]), inner, max_size=3), max_leaves=8)


def render(value) -> str:
    """A value as TOML text (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value > 0 else "-inf") \
            if value in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {render(v)}" for k, v in value.items()) + "}"


@st.composite
def deep(draw) -> str:
    """A value or a table header nested past (or near) the files' limit."""
    depth = draw(st.sampled_from([5, 23, 24, 25, 60, 1200]))
    form = draw(st.sampled_from(["list", "table", "header"]))
    if form == "list":
        return "x = " + "[" * depth + "1" + "]" * depth
    if form == "table":
        return "x = " + "{a = " * depth + "1" + "}" * depth
    return "[" + ".".join(["t"] * depth) + "]\nx = 1"


@st.composite
def restructured(draw, text: str, keys: list[str]):
    """`text` with one structural change: a key set to any value, a value nested deep, a key
    written a second time in another form, or a number of many digits."""
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if re.match(r"^\[[^\[]", line)]
    kind = draw(st.sampled_from(["value", "deep", "twice", "digits"]))
    at = draw(st.sampled_from(headers)) + 1
    if kind == "value":
        lines.insert(at, f"{draw(st.sampled_from(keys))} = {render(draw(VALUES))}")
    elif kind == "deep":
        lines.append(draw(deep()))
    elif kind == "twice":
        key = draw(st.sampled_from([k for k in keys if "." in k] or keys))
        value = render(draw(VALUES))
        lines[at:at] = [f'"{key}" = {value}', f"{key} = {value}"]
    else:
        digits = draw(st.sampled_from([19, 20, 40, 400, 5000]))
        lines.insert(at, f"{draw(st.sampled_from(keys))} = {'9' * digits}")
    return "\n".join(lines) + "\n"


SCENARIO_KEYS = ["years", "secretariat", "base_rate", "agenda_breadth", "crisis_rate",
                 "initial_engagement", "joins", "group.secretariat", "world.rival_pull"]


@FUZZ
@given(text=restructured(SCENARIO, SCENARIO_KEYS))
def test_a_restructured_scenario_is_refused_or_runs(tmp_path, text):
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    code, stdout, stderr = invoke("run", str(path), "--engine", "fast", "--years", "3",
                                  "--runs", "2")
    check_outcome(code, stdout, stderr, (str(path),))


FACTOR_KEYS = ["group.secretariat", "members.*.crisis_rate", "world.rival_pull", "years",
               "group.agenda_breadth", "replicates", "seed"]


@FUZZ
@given(text=restructured(EXPERIMENT, FACTOR_KEYS))
def test_a_restructured_experiment_is_refused_or_means_what_it_says(tmp_path, text):
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("experiment", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet", "--no-report", "--force")
    check_outcome(code, stdout, stderr, (str(path),))
    if code == 0:  # what the manifest says is what the file says
        written = tomllib.loads(text)["experiment"]
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["experiment"]["years"] == written["years"] == \
            manifest["scenario"]["resolved"]["scenario"]["years"]


@FUZZ
@given(text=restructured(CLAIMS, FACTOR_KEYS + ["id", "title"]))
def test_a_restructured_claims_file_is_refused_or_runs(tmp_path, text):
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("claims", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet", "--force")
    check_outcome(code, stdout, stderr, (str(path),))


# ------------------------------------------------------------------------------ records

RECORD = """\
[case]
name = "mikta"
title = "MIKTA"
scenario = "mikta"
founded = "2013-09-25"
observed_until = "2016-12-31"
members = ["MEX", "IDN", "KOR", "TUR", "AUS"]
min_members = 3
activity = "activity.csv"
"""
ACTIVITY_HEADER = "case,date,date_end,level,kind,member,title,source,uncertain,note\n"
RECORD_ROWS = st.sampled_from([
    "mikta,2014-05-01,,ministers,meeting,,a meeting,src,false,",
    "mikta,2015-03-01,,ministers,document,,a statement,src,false,",
    "mikta,2015-06-01,,officials,meeting,,officials,src,true,",
    "mikta,2014-01-01,,ministers,chair,MEX,chair,src,false,",
    "ibsa,2014-05-01,,ministers,meeting,,other case,src,false,",
    "mikta,2030-01-01,,ministers,meeting,,after,src,false,",
    "mikta,2014-05-01,,nowhere,meeting,,bad level,src,false,",
    "mikta,2014-05-01,,ministers,meeting,XXX,stranger,src,false,",
    "mikta,2014-05-01,,ministers,meeting,,no source,,false,",
    "mikta,2014-05-01", "", "a,b,c",
])


@settings(FUZZ, max_examples=SCALE or 30)
@given(text=restructured(RECORD, ["name", "members", "founded", "observed_until",
                                  "min_members", "scenario"]) | st.just(RECORD),
       rows=st.lists(RECORD_ROWS, max_size=4))
def test_a_record_is_refused_or_conditions_its_own_group(tmp_path, text, rows):
    path = tmp_path / "record.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "activity.csv").write_text(
        ACTIVITY_HEADER + "mikta,2013-09-25,,ministers,meeting,,founding,src,false,\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    code, stdout, stderr = invoke("forecast", "mikta", "--until", "2017", "--runs", "10",
                                  "--record", str(path), "--out", str(tmp_path / "out"),
                                  "--workers", "1", "--force")
    check_outcome(code, stdout, stderr, (str(path), "activity.csv", "--record"))
    if code == 0:
        members = tomllib.loads(text)["case"]["members"]
        assert sorted(members) == sorted(["MEX", "IDN", "KOR", "TUR", "AUS"])


# ------------------------------------------------------------------------------ populations

POPULATION = f"""\
[population]
name = "fuzz-population"
scenario = "generic-5"
years = 10
groups = 6
seed = 7
chunk_size = 4
figures = "{ROOT / 'seeds' / 'population'}"

[member_template]
code_prefix = "M"

[[strata]]
name = "informal"
share = 0.5
reference_class = "informal_igo"
[strata.fixed]
"group.secretariat" = false

[[strata]]
name = "formal"
share = 0.5
reference_class = "formal_igo"
[strata.fixed]
"group.secretariat" = true

[draws.members]
distribution = "uniform_int"
min = 3
max = 6

[draws."members.*.budget_trend"]
per = "member"
distribution = "normal"
mean = -0.05
sd = 0.05
min = -0.2
max = 0.1

[[targets]]
figure = "es2020-data-hazard-age1-10"
strata = ["formal"]
statistic = "death_rate"
ages = [1, 10]
tolerance = 0.27

[[targets]]
figure = "vs2021-data-hazard-age1-10"
strata = ["informal"]
statistic = "death_rate"
ages = [1, 10]
rule = {{ dormant_months = 120, death_dated = "last_activity" }}
tolerance = 0.5
"""
POPULATION_KEYS = ["groups", "years", "seed", "share", "name", "per", "distribution", "min",
                   "max", "ages", "tolerance", "strata", "group.secretariat",
                   "members.*.crisis_rate", "dormant_months"]


@settings(FUZZ, max_examples=SCALE or 30)
@given(text=st.one_of(mutated(POPULATION), restructured(POPULATION, POPULATION_KEYS)))
def test_a_population_file_is_refused_or_runs_the_groups_it_says(tmp_path, text):
    path = tmp_path / "population.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("population", str(path), "--out", str(out), "--workers", "1",
                                  "--quiet")
    check_outcome(code, stdout, stderr, (str(path),))
    if code == 0:  # what the manifest says is what the file says
        written = tomllib.loads(text)["population"]
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["population"]["groups"] == written["groups"] == \
            manifest["counts"]["groups"]
        assert manifest["population"]["years"] == written["years"]


# ------------------------------------------------------------------------------ posteriors

COLUMNS = st.sampled_from(["group.base_rate", "members.*.crisis_rate", "world.rival_pull",
                           "years", "start", "scenario.years", "nope", "members.XXX.reach",
                           "group.secretariat", "group.agenda_breadth"])
CELLS = st.one_of(st.floats(min_value=0.05, max_value=0.9), st.sampled_from(
    [float("nan"), float("inf"), -1.0, 5.0, 1e300, 3.0]))


@settings(FUZZ, max_examples=SCALE or 30)
@given(columns=st.lists(COLUMNS, min_size=0, max_size=3, unique=True),
       cells=st.lists(CELLS, min_size=12, max_size=12),
       weights=st.sampled_from([[0.25] * 4, [1, 0, 0, 0], [0] * 4, [-1, 1, 1, 1],
                                [float("nan"), 1, 1, 1]]),
       summary=st.sampled_from([None, "same", "other", "broken"]))
def test_a_posterior_is_refused_or_drives_runs_of_the_experiments_horizon(
        tmp_path, columns, cells, weights, summary):
    import pandas as pd

    folder = tmp_path / "cal"
    folder.mkdir(exist_ok=True)
    frame = pd.DataFrame({c: cells[4 * i:4 * i + 4] for i, c in enumerate(columns)})
    frame["weight"] = weights
    frame.to_parquet(folder / "posterior.parquet")
    (folder / "calibration.json").unlink(missing_ok=True)
    if summary is not None:
        fitted = columns if summary == "same" else ["group.standby"]
        (folder / "calibration.json").write_text(
            "{" if summary == "broken" else json.dumps({"calibrated": dict.fromkeys(fitted, 1)}))
    spec = tmp_path / "experiment.toml"
    spec.write_text(EXPERIMENT, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code, stdout, stderr = invoke("experiment", str(spec), "--posterior", str(folder), "--out",
                                  str(out), "--workers", "1", "--quiet", "--no-report")
    check_outcome(code, stdout, stderr, ("posterior.parquet", "calibration.json", str(spec)))
    if code == 0:
        assert not {"years", "start", "scenario.years", "nope"} & set(columns)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["experiment"]["posterior"]["keys"] == columns
        assert manifest["scenario"]["resolved"]["scenario"]["years"] == 4


# ------------------------------------------------------------------------------ folders

FOLDER_STATES = ["absent", "empty", "a user's file", "a file", "a run's folder",
                 "a forecast's folder", "a file named timeseries.parquet"]


def prepare_folder(path: Path, state: str) -> None:
    if state == "absent":
        return
    if state == "a file":
        path.write_text("not a folder")
        return
    path.mkdir()
    if state == "a user's file":
        (path / "notes.txt").write_text("mine")
    elif state == "a file named timeseries.parquet":
        (path / "timeseries.parquet").write_text("mine")
    elif state == "a run's folder":
        assert invoke("run", "mikta", "--years", "2", "--out", str(path))[0] == 0
    elif state == "a forecast's folder":
        (path / "forecast.csv").write_text("year\n")
        (path / "forecast.json").write_text("{}")


def entries(path: Path) -> dict[str, bytes]:
    if not path.is_dir():
        return {} if not path.exists() else {"": path.read_bytes()}
    return {p.name: (p.read_bytes() if p.is_file() else b"") for p in path.iterdir()
            if not p.name.startswith(".")}


@settings(FUZZ, max_examples=SCALE or 20)
@given(state=st.sampled_from(FOLDER_STATES),
       command=st.sampled_from(["run", "experiment", "forecast", "report"]),
       force=st.booleans())
def test_a_folder_of_another_kind_is_refused_and_force_deletes_only_its_own(
        tmp_path, state, command, force):
    target = tmp_path / "target"
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    prepare_folder(target, state)
    before = entries(target)
    spec = tmp_path / "experiment.toml"
    spec.write_text(EXPERIMENT, encoding="utf-8")
    argv = {"run": ["run", "mikta", "--years", "2", "--out", str(target)],
            "experiment": ["experiment", str(spec), "--out", str(target), "--workers", "1",
                           "--quiet", "--timeseries", "--no-report"],
            "forecast": ["forecast", "mikta", "--until", "2016", "--runs", "10", "--out",
                         str(target), "--workers", "1"],
            "report": ["report", str(target)]}[command]
    code, stdout, stderr = invoke(*argv, *(["--force"] if force and command != "report"
                                           else []))
    check_outcome(code, stdout, stderr, (str(target),))
    kind = {"run": "a run's folder", "forecast": "a forecast's folder"}.get(command)
    if state in ("a user's file", "a file named timeseries.parquet", "a file") or (
            state.endswith("folder") and state != kind):
        after = entries(target)  # what the command did not write is still there, unchanged
        assert {k: v for k, v in after.items() if k in before} == before, (state, command)
