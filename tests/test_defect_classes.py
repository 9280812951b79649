"""One test per class of defect in what users give the simulator: artefacts that do not belong
together, inputs with two meanings or none, shapes and sizes past the limits, folders and files
of another kind, and the Python API's arguments. Each refused case exits 2 with a message
naming the culprit, never a traceback; each accepted one means what it says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import check_outcome, invoke

import sim
from sim.errors import UserError
from sim.experiments.verify import check_results
from sim.inference.records import check_belongs, load_record
from sim.model.scenario_files import load_scenario

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = """\
[experiment]
name = "classes"
scenario = "{scenario}"
years = 6
replicates = 4
seed = 3

[factors]
{factors}
"""
SECRETARIAT = '"group.secretariat" = [false, true]'


def experiment_file(folder: Path, factors: str = SECRETARIAT, scenario: str = "mikta",
                    extra: str = "") -> Path:
    path = folder / "experiment.toml"
    path.write_text(EXPERIMENT.format(scenario=scenario, factors=factors) + extra,
                    encoding="utf-8")
    return path


def refused(argv: list[str], *names: str) -> str:
    """The command exits 2 with a message naming each of `names`; its message."""
    code, stdout, stderr = invoke(*map(str, argv))
    check_outcome(code, stdout, stderr)
    assert code == 2, (stdout, stderr)
    text = " ".join(stderr.split())
    for name in names:
        assert name in text, (name, text)
    return text


def posterior_folder(folder: Path, columns: dict, summary: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({**columns, "weight": np.full(len(next(iter(columns.values()))), 0.25)}
                 ).to_parquet(folder / "posterior.parquet")
    if summary is not None:
        (folder / "calibration.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


# ------------------------------------------------------------------ 1. identity


def test_a_forecast_refuses_the_record_of_another_group(tmp_path):
    text = refused(["forecast", "mikta", "--until", "2020", "--record", "ibsa", "--out",
                    tmp_path / "f"], "record of ibsa", "scenario mikta", "IND", "MEX")
    assert "--record" in text
    assert not (tmp_path / "f").exists()
    check_belongs(load_record("mikta"), load_scenario("mikta"))  # its own record is accepted
    with pytest.raises(UserError):
        check_belongs(load_record("mikta"), load_scenario("ibsa"))


@pytest.mark.parametrize("column", ["years", "start", "scenario.years", "no.such_key"])
def test_a_posterior_column_that_is_not_a_parameter_is_refused(tmp_path, column):
    folder = posterior_folder(tmp_path / "cal", {"group.base_rate": [2.0, 3.0, 4.0, 5.0],
                                                 column: [5, 5, 5, 5]})
    spec = experiment_file(tmp_path)
    for argv in (["experiment", spec, "--posterior", folder, "--out", tmp_path / "e",
                  "--workers", "1", "--quiet"],
                 ["forecast", "mikta", "--until", "2020", "--posterior", folder, "--runs", "10",
                  "--out", tmp_path / "f", "--workers", "1"]):
        refused(argv, "posterior.parquet", column)
    assert not (tmp_path / "e" / "runs.parquet").exists()


def test_a_posterior_that_is_not_its_calibrations_is_refused(tmp_path):
    folder = posterior_folder(tmp_path / "cal", {"group.base_rate": [2.0, 3.0, 4.0, 5.0]},
                              {"calibrated": {"group.standby": 0.2}})
    refused(["experiment", experiment_file(tmp_path), "--posterior", folder, "--out",
             tmp_path / "e", "--quiet"], "calibration.json", "group.standby",
            "group.base_rate")
    posterior_folder(folder, {"group.base_rate": [2.0, 3.0, 4.0, 5.0]},
                     {"calibrated": {"group.base_rate": 3.0}})
    code, _, stderr = invoke("experiment", str(experiment_file(tmp_path)), "--posterior",
                             str(folder), "--out", str(tmp_path / "e"), "--quiet",
                             "--workers", "1", "--no-report")
    assert code == 0, stderr


def test_what_the_manifest_says_is_what_ran(tmp_path):
    folder = posterior_folder(tmp_path / "cal", {"group.base_rate": [2.0, 3.0, 4.0, 5.0]})
    spec = experiment_file(tmp_path, extra='\n[fixed]\n"world.rival_pull" = 0.5\n')
    out = tmp_path / "e"
    code, _, stderr = invoke("experiment", str(spec), "--posterior", str(folder), "--sets", "3",
                             "--out", str(out), "--quiet", "--workers", "1", "--no-report")
    assert code == 0, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    resolved = manifest["scenario"]["resolved"]
    assert manifest["experiment"]["years"] == resolved["scenario"]["years"] == 6
    assert resolved["world"]["rival_pull"] == 0.5
    assert manifest["experiment"]["posterior"]["keys"] == ["group.base_rate"]
    checked = check_results(out, sample=8)
    assert checked.matches and len(checked.checked) == 8  # rerun from the manifest alone
    manifest["experiment"]["years"] = 5  # a manifest that says otherwise is caught
    (out / "manifest.json").write_text(json.dumps(manifest))
    differences = check_results(out, sample=4).differences
    assert set(differences["key"]) >= {"years"}


SMC = """\
[calibration]
name = "{name}"
cases = ["mikta"]
method = "smc"
population_size = 4
max_populations = 1
max_simulations = 100
seed = 5
predictive_runs = 1
[priors]
"group.base_rate" = {{ min = 1.0, max = 6.0 }}
"{key}" = {{ min = 0.1, max = 0.3 }}
"""


def test_a_history_of_another_calibration_or_no_history_is_not_resumed(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text(SMC.format(name="mine", key="group.standby"), encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(SMC.format(name="other", key="members.*.initial_engagement"),
                     encoding="utf-8")
    code, _, stderr = invoke("calibrate", str(other), "--out", str(tmp_path / "other"),
                             "--workers", "1")
    assert code == 0, stderr
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "calibration.toml").write_bytes(mine.read_bytes())  # its own file, kept
    history = folder / "history.db"
    history.write_bytes((tmp_path / "other" / "history.db").read_bytes())
    resume = ["calibrate", mine, "--out", folder, "--workers", "1", "--resume"]
    refused(resume, str(history), str(other), str(mine), "members.*.initial_engagement",
                   "group.standby", "differ")
    assert not (folder / "posterior.parquet").exists()
    good = (tmp_path / "other" / "history.db").read_bytes()
    for damage, problem in ((b"", "no pyabc tables"), (b"not a database" * 10, "cannot be read"),
                            (good[:5000], "cannot be read")):
        history.write_bytes(damage)
        assert problem in refused(resume, str(history), "--resume")
    import sqlite3

    from sim.inference.smc import IDENTITY_TABLE
    history.write_bytes(good)
    with sqlite3.connect(history) as connection:  # a history that says nothing of its owner
        connection.execute(f"drop table {IDENTITY_TABLE}")
    connection.close()
    refused(resume, str(history), "does not say which calibration wrote it")
    (folder / "calibration.toml").write_bytes(other.read_bytes())  # its own history, damaged
    for statement, problem in (("delete from parameters", "generation 0 holds 0 parameter"),
                               ("drop table particles", "generation 0 holds 0 parameter"),
                               ("delete from populations", "no record of the calibration's "
                                                            "start")):
        history.write_bytes(good)
        with sqlite3.connect(history) as connection:
            connection.execute(statement)
        connection.close()
        assert problem in refused(["calibrate", other, "--out", folder, "--workers", "1",
                                   "--resume"], str(history), "is damaged")
    assert not (folder / "posterior.parquet").exists()


# ------------------------------------------------------------------ 2. one meaning per input

POLICY = """\
[scenario]
extends = "mikta"
name = "twice"

[[events]]
date = "2027Q1"
kind = "set"
key = "{first}"
value = {a}

[[events]]
date = "2027Q1"
kind = "set"
key = "{second}"
value = {b}
"""


@pytest.mark.parametrize(("first", "second", "a", "b"), [
    ("group.secretariat", "group.secretariat", "true", "false"),
    ("members.*.budget_trend", "members.KOR.budget_trend", "-0.02", "0.01"),
])
def test_two_changes_of_one_key_at_one_date_are_refused(tmp_path, first, second, a, b):
    path = tmp_path / "twice.toml"
    path.write_text(POLICY.format(first=first, second=second, a=a, b=b), encoding="utf-8")
    refused(["run", path, "--years", "20"], str(path), "line 14", "line 8", "twice")
    path.write_text(POLICY.format(first=first, second=second, a=a, b=a), encoding="utf-8")
    code, _, stderr = invoke("run", str(path), "--years", "20", "--engine", "fast")
    assert code == 0, stderr  # the same value twice has one meaning


JOIN = """\
[scenario]
extends = "{base}"
name = "joins"
{member}
[[events]]
date = "2030Q1"
kind = "rival_join"
member = "{code}"
"""


@pytest.mark.parametrize(("base", "code", "member", "reason"), [
    ("mikta", "IDN", "", "already joins the rival bloc at 2025Q1"),  # mikta.toml's own join
    ("generic-5", "A", "[members.A]\nin_rival = true\n", "in the rival bloc from the start"),
])
def test_a_rival_join_that_cannot_act_is_refused(tmp_path, base, code, member, reason):
    path = tmp_path / "joins.toml"
    path.write_text(JOIN.format(base=base, code=code, member=member), encoding="utf-8")
    refused(["run", path, "--years", "20"], str(path), "events.0.member", reason)


def test_a_mistyped_key_of_an_event_is_named_as_the_users_file_numbers_it(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('[scenario]\nextends = "mikta"\n[[events]]\nkind = "budget"\n'
                    'membr = "IDN"\ndate = "2030Q1"\nfactor = 0.5\n', encoding="utf-8")
    text = refused(["run", path, "--years", "20"], "line 5", "`events.0.membr`",
                   "did you mean `events.0.member`?")
    assert "events.5" not in text  # mikta.toml's own events come first in the merged list


@pytest.mark.parametrize("table", ["factors", "fixed"])
def test_a_key_written_twice_in_a_table_is_refused(tmp_path, table):
    twice = ('group.agenda_breadth = {value}\n"group.agenda_breadth" = {other}\n')
    if table == "factors":
        text = EXPERIMENT.format(scenario="mikta", factors=twice.format(value="[3, 5]",
                                                                       other="[4, 6]"))
    else:
        text = EXPERIMENT.format(scenario="mikta", factors=SECRETARIAT) + \
            "\n[fixed]\n" + twice.format(value=3, other=4)
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    refused(["experiment", path, "--out", tmp_path / "e"], str(path),
            f"{table}.group.agenda_breadth", "twice")


@pytest.mark.parametrize(("table", "twice"), [
    ("strata.fixed", '"group.secretariat" = false\ngroup.secretariat = true\n'),
    ("draws", '"world.rival_pull" = { distribution = "uniform", min = 0.0, max = 1.0 }\n'
              'world.rival_pull = { distribution = "uniform", min = 0.0, max = 0.5 }\n'),
])
def test_a_key_written_twice_in_a_population_file_is_refused(tmp_path, table, twice):
    from test_fuzz import POPULATION

    header = "[strata.fixed]\n" if table == "strata.fixed" else "[draws.members]\n"
    assert header in POPULATION
    path = tmp_path / "population.toml"
    at = POPULATION.index(header)
    text = POPULATION[:at] + (header + twice if table == "strata.fixed" else
                              "[draws]\n" + twice + "\n") + POPULATION[at + len(
                                  header if table == "strata.fixed" else ""):]
    path.write_text(text.replace('"group.secretariat" = false\n\n', "\n", 1)
                    if table == "strata.fixed" else text, encoding="utf-8")
    refused(["population", path, "--out", tmp_path / "p", "--workers", "1", "--quiet"],
            str(path), "twice")
    assert not (tmp_path / "p").exists()


def test_one_parameter_set_two_ways_on_the_command_line_is_refused():
    refused(["run", "mikta", "--set", "members.*.crisis_rate=0.1", "--set",
             "members.MEX.crisis_rate=0.2"], "--set members.MEX.crisis_rate=0.2",
            "members.*.crisis_rate=0.1")
    code, _, stderr = invoke("run", "mikta", "--years", "2", "--set",
                             "members.*.crisis_rate=0.1", "--set", "members.MEX.crisis_rate=0.1")
    assert code == 0, stderr


@pytest.mark.parametrize(("argv", "reason"), [
    (["--set", "members.*.initial_engagement=0.05@2020Q1"], "changes nothing"),
    (["--set", "members.KOR.initial_engagement=0.05@2016"], "has joined by then"),
    (["--set", "scenario.extends=ibsa"], "cannot be overridden"),
    (["--set", "group.zombie_months=12@2020"], "cannot change during a run"),
])
def test_an_input_that_cannot_act_where_it_is_given_is_refused_with_the_reason(argv, reason):
    text = refused(["run", "mikta", *argv], "--set", reason)
    option = argv[1]
    assert f"--set {option}:" in text  # the option as typed
    if "initial_engagement" in option:  # the key with its date, and its value
        key, value = option.split("@")[0].split("=")
        assert f"`{key}@" in text and f"= {value} " in text, text


def test_a_value_read_on_joining_may_change_before_a_member_joins():
    base = load_scenario("mikta", {"members.KOR.joins": "2018Q1"})
    changed = sim.with_overrides(base, ["members.KOR.initial_engagement=0.05@2016"])
    assert changed.changes[0].value == 0.05
    plain, later = (sim.simulate(s, [4], record=True).trajectories[0] for s in (base, changed))
    q = base.quarter_index("2018Q1")
    korea = base.codes.index("KOR")
    assert plain.series["engagement"][q, korea] != later.series["engagement"][q, korea]


def test_more_parameter_sets_than_replicates_are_refused(tmp_path):
    folder = posterior_folder(tmp_path / "cal", {"group.base_rate": [2.0, 3.0, 4.0, 5.0]})
    spec = experiment_file(tmp_path)  # 4 replicates: replicate r runs set r mod --sets
    text = refused(["experiment", spec, "--posterior", folder, "--sets", "5", "--out",
                    tmp_path / "e", "--quiet"], "--sets", "4 replicates", "never run")
    assert "= 5" in text or "5 parameter sets" in text
    assert not (tmp_path / "e").exists()
    code, _, stderr = invoke("experiment", str(spec), "--posterior", str(folder), "--sets", "5",
                             "--replicates", "5", "--out", str(tmp_path / "e"), "--quiet",
                             "--workers", "1", "--no-report")
    assert code == 0, stderr


def test_a_horizon_in_fixed_is_refused(tmp_path):
    path = experiment_file(tmp_path, extra="\n[fixed]\nyears = 5\n")
    refused(["experiment", path, "--out", tmp_path / "e"], str(path), "fixed.years",
            "horizon")


@pytest.mark.parametrize("method", ["rejection", "smc"])
def test_a_calibration_on_dask_runs_on_dask_whatever_its_method(tmp_path, monkeypatch, method):
    from sim.experiments import evaluation

    def started(workers, scheduler):
        raise UserError(f"the Dask cluster was asked for ({workers} workers, {scheduler})")

    monkeypatch.setattr(evaluation, "DaskBackend", started)
    path = tmp_path / "calibration.toml"
    path.write_text(SMC.format(name="on-dask", key="group.standby").replace(
        'method = "smc"', f'method = "{method}"\ndraws = 20'), encoding="utf-8")
    refused(["calibrate", path, "--backend", "dask", "--scheduler", "tcp://here:1", "--workers",
             "2", "--out", tmp_path / "c"], "the Dask cluster was asked for (2 workers, "
            "tcp://here:1)")


def test_an_option_the_calibrations_method_reads_not_is_refused(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(SMC.format(name="smc", key="group.standby"), encoding="utf-8")
    for argv in (["--draws", "50"], ["--method", "smc", "--draws", "50"]):
        refused(["calibrate", path, *argv, "--out", tmp_path / "c"], "--draws 50", "ABC-SMC",
                "reads no draws")
    assert not (tmp_path / "c").exists()


def test_more_workers_than_cores_run_on_the_cores(tmp_path):
    from sim.experiments.evaluation import machine_cores

    code, _, stderr = invoke("experiment", str(experiment_file(tmp_path)), "--out",
                             str(tmp_path / "e"), "--workers", "1000", "--quiet", "--no-report")
    assert code == 0, stderr
    assert "--workers 1,000" in stderr and "warning" in stderr
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert manifest["workers"] == machine_cores() < 1000


def test_a_local_dask_cluster_gets_no_more_workers_than_cores(tmp_path, monkeypatch):
    from sim.experiments import evaluation

    asked = []

    def started(workers, scheduler):
        asked.append((workers, scheduler))
        raise UserError("stopped before any work")

    monkeypatch.setattr(evaluation, "DaskBackend", started)
    text = refused(["experiment", experiment_file(tmp_path), "--backend", "dask", "--workers",
                    "1000", "--out", tmp_path / "e", "--quiet"], "stopped before any work")
    assert asked == [(evaluation.machine_cores(), None)]
    assert "--workers 1,000" in text and "local Dask cluster" in text
    for workers in (1.5, "2", True, 0):  # the Python API: a whole number of workers, or None
        with pytest.raises(UserError, match="--workers"):
            evaluation.check_execution("local", workers, None)


# ------------------------------------------------------------------ 3. shapes and sizes

DEEP = 3000
SHAPES = {
    "a nested list": "x = " + "[" * DEEP + "]" * DEEP,
    "nested inline tables": "x = " + "{a = " * DEEP + "1" + "}" * DEEP,
    "a long table header": "[" + ".".join(["a"] * DEEP) + "]\nx = 1",
    "an integer of 5,000 digits": "[group]\nbase_rate = " + "9" * 5000,
    "an integer beyond 64 bits": "[group]\nbase_rate = " + "9" * 40,
    "an integer beyond float range": "[scenario]\nyears = " + "9" * 400,
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("kind", ["scenario", "experiment", "claims", "record"])
def test_a_file_past_the_limits_of_shape_and_size_is_refused_before_any_work(
        tmp_path, shape, kind):
    path = tmp_path / f"{kind}.toml"
    path.write_text(SHAPES[shape] + "\n", encoding="utf-8")
    argv = {"scenario": ["run", path], "experiment": ["experiment", path, "--out",
                                                      tmp_path / "e"],
            "claims": ["claims", path, "--out", tmp_path / "c"],
            "record": ["forecast", "mikta", "--until", "2020", "--record", path, "--out",
                       tmp_path / "f"]}[kind]
    text = refused(argv, str(path))
    assert any(word in text for word in ("deep", "64 bits", "digits")), text
    assert not any((tmp_path / name).exists() for name in "ecf")


@pytest.mark.parametrize("value", ["9" * 5000, "9" * 40, "[" * 100 + "]" * 100, "1e400"])
def test_a_set_value_past_the_limits_is_refused(value):
    text = refused(["run", "mikta", "--set", f"group.base_rate={value}"], "--set")
    assert "base_rate" in text
    if value == "1e400":
        assert f"--set group.base_rate={value}:" in text  # as typed, not as read (inf)


def test_a_file_too_large_is_refused(tmp_path):
    path = tmp_path / "large.toml"
    path.write_text("# " + "x" * (17 * 2**20) + "\n", encoding="utf-8")
    refused(["run", path], str(path), "bytes")


def test_counts_of_runs_and_sets_are_checked_before_any_work(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(SMC.format(name="large", key="group.standby").replace(
        "population_size = 4", f"population_size = {10**12}"), encoding="utf-8")
    refused(["calibrate", path, "--out", tmp_path / "c"], str(path),
            "calibration.population_size", "memory")
    folder = posterior_folder(tmp_path / "cal", {"group.base_rate": [2.0, 3.0, 4.0, 5.0]})
    refused(["claims", ROOT / "experiments" / "claims.toml", "--posterior", folder, "--sets",
             str(10**15), "--out", tmp_path / "cl"], "--sets", "memory")
    with pytest.raises(UserError, match="memory"):
        sim.simulate(load_scenario("mikta", years=2), range(10**15))
    assert not any((tmp_path / name).exists() for name in ("c", "cl"))
    refused(["experiment", experiment_file(tmp_path), "--replicates", str(10**15), "--out",
             tmp_path / "e"], "--replicates", "memory")
    sets = [part for i in range(1001) for part in ("--set", f"group.base_rate={i}")]
    refused(["run", "mikta", *sets], "--set", "1,001 times")
    assert not (tmp_path / "e").exists()


# ------------------------------------------------------------------ 4. folders and files


def test_force_never_deletes_another_commands_results(tmp_path):
    run = tmp_path / "run"
    assert invoke("run", "mikta", "--years", "2", "--out", str(run))[0] == 0
    before = sorted(p.name for p in run.iterdir())
    for argv in (["experiment", experiment_file(tmp_path), "--quiet"],
                 ["forecast", "mikta", "--until", "2016", "--runs", "10"]):
        refused([*argv, "--out", run, "--force"], str(run), "minilat run")
    assert sorted(p.name for p in run.iterdir()) == before


def test_force_deletes_what_the_command_wrote_and_nothing_else(tmp_path):
    out = tmp_path / "e"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    spec = experiment_file(tmp_path)
    assert invoke("experiment", str(spec), "--out", str(out), "--quiet", "--workers", "1")[0] == 0
    assert (out / "report.md").is_file()
    code, _, stderr = invoke("experiment", str(spec), "--out", str(out), "--quiet", "--force",
                             "--no-report", "--workers", "1")
    assert code == 0, stderr
    assert not (out / "report.md").exists() and not (out / "figures").exists()
    assert (out / "notes.txt").read_text() == "mine"
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    for force in ([], ["--force"]):  # a folder of the user's files is never written into
        refused(["run", "mikta", "--years", "2", "--out", run, *force], "notes.txt",
                "--force deletes only")
    (run / "notes.txt").unlink()
    assert invoke("run", "mikta", "--years", "2", "--out", str(run))[0] == 0
    (run / "notes.txt").write_text("mine")
    for runs in ("1", "3"):  # a single run, then several: the first one's files go
        code, _, stderr = invoke("run", "mikta", "--years", "2", "--runs", runs, "--out",
                                 str(run), "--force")
        assert code == 0, stderr
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == \
        ["notes.txt", "runs.parquet"]


def test_force_deletes_what_a_killed_command_wrote_and_keeps_the_users_files(tmp_path):
    from sim.experiments import kinds, storage

    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "claims.json").write_text("{}")  # an earlier claims run's, beside the user's notes
    kinds.note_written(folder, "claims", set())
    (folder / "notes.txt").write_text("mine")
    # ends the way a killed command does: no last record
    with pytest.raises(KeyboardInterrupt), storage.FolderLock(folder):
        storage.fresh_folder(folder, True, "claims")
        kinds.note_written(folder, "claims", {"notes.txt"}, finished=False)
        (folder / "shares.csv").write_text("half written")
        (folder / "figures").mkdir()
        raise KeyboardInterrupt
    refused(["claims", ROOT / "experiments" / "claims.toml", "--out", folder], str(folder),
            "already holds results", "--force")
    storage.fresh_folder(folder, True, "claims")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == \
        ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_population_and_an_experiment_never_share_a_folder(tmp_path):
    from test_fuzz import POPULATION

    population = tmp_path / "population.toml"
    population.write_text(POPULATION, encoding="utf-8")
    groups, runs = tmp_path / "groups", tmp_path / "runs"
    common = ["--workers", "1", "--quiet"]
    assert invoke("population", str(population), "--out", str(groups), *common)[0] == 0
    assert invoke("experiment", str(experiment_file(tmp_path)), "--out", str(runs), *common,
                  "--no-report")[0] == 0
    before = {folder: sorted(p.name for p in folder.iterdir()) for folder in (groups, runs)}
    refused(["experiment", experiment_file(tmp_path), "--out", groups, "--force", *common],
            str(groups), "minilat population")
    refused(["population", population, "--out", runs, "--force", *common], str(runs),
            "minilat experiment")
    refused(["report", groups], str(groups), "minilat population", "its own report")
    assert before == {folder: sorted(p.name for p in folder.iterdir()) for folder in (groups, runs)}
    (groups / "notes.txt").write_text("mine")
    code, _, stderr = invoke("population", str(population), "--out", str(groups), "--force",
                             *common)
    assert code == 0, stderr  # its own files go and come back; the user's stays
    assert sorted(p.name for p in groups.iterdir()) == sorted([*before[groups], "notes.txt"])


@pytest.mark.parametrize("name", ["timeseries.parquet", "runs.parquet", "report.md"])
def test_a_file_where_the_experiment_writes_a_folder_is_named(tmp_path, name):
    out = tmp_path / "e"
    (out / name).mkdir(parents=True) if name.endswith(".md") else \
        (out.mkdir(), (out / name).write_text("x"))
    refused(["experiment", experiment_file(tmp_path), "--out", out, "--timeseries",
             "--quiet", "--workers", "1"], name)


def test_report_on_a_file_or_a_broken_manifest_says_so(tmp_path):
    spec = experiment_file(tmp_path)
    refused(["report", spec], str(spec), "is a file")
    out = tmp_path / "e"
    assert invoke("experiment", str(spec), "--out", str(out), "--quiet", "--no-report",
                  "--workers", "1")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("scenario", "experiment", "chunks"):
        broken = {k: v for k, v in manifest.items() if k != key}
        (out / "manifest.json").write_text(json.dumps(broken))
        refused(["report", out], "manifest.json", f"`{key}`")
    manifest["experiment"]["years"] = "six"
    (out / "manifest.json").write_text(json.dumps(manifest))
    refused(["report", out], "experiment.years", "wrong type")
    manifest["experiment"]["years"] = 6
    chunk = next(iter(manifest["chunks"]["files"]))
    for path, value in ((("seeds",), []), (("resumed",), 7), (("seconds",), "x"),
                        (("command",), [1]), (("experiment", "scenario"), None),
                        (("chunks", "files", chunk, "timeseries"), []),
                        (("experiment", "factors", "group.secretariat"), 7)):
        broken = json.loads(json.dumps(manifest))
        *parents, last = path
        table = broken
        for key in parents:
            table = table[key]
        if value is None:  # an entry missing
            del table[last]
        else:
            table[last] = value
        (out / "manifest.json").write_text(json.dumps(broken))
        refused(["report", out], "manifest.json", ".".join(path[:2]))
    for key, value in (("years", 5), ("description", "another"), ("seed", 4)):
        (out / "manifest.json").write_text(json.dumps(
            {**manifest, "experiment": {**manifest["experiment"], key: value}}))
        refused(["report", out], "manifest.json", "no longer give the hash")
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert invoke("report", str(out))[0] == 0  # as the experiment wrote it


def short_record(folder: Path, until: str = "2014-06-30", **replace: str) -> Path:
    """MIKTA's record cut at `until`, with `replace`d lines of its [case] table."""
    text = (ROOT / "seeds" / "records" / "mikta.toml").read_text(encoding="utf-8")
    text = text.replace('observed_until = "2026-02-28"', f'observed_until = "{until}"')
    text = text.replace('officials = "2018-05-31"', f'officials = "{min(until, "2018-05-31")}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / "short.toml"
    path.write_text(text.replace('activity = "mikta.csv"', 'activity = "short.csv"'),
                    encoding="utf-8")
    rows = (ROOT / "seeds" / "records" / "mikta.csv").read_text(encoding="utf-8").splitlines()
    kept = [rows[0]] + [r for r in rows[1:] if r.split(",")[1] <= until]
    (folder / "short.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def test_validate_refuses_a_record_with_no_whole_calendar_year(tmp_path):
    path = short_record(tmp_path)
    refused(["validate", path, "--runs", "10", "--out", tmp_path / "v"], str(path),
            "no whole calendar year")


def test_validate_checks_every_record_before_any_run(tmp_path):
    out = tmp_path / "v"
    short = short_record(tmp_path)
    # the bad record comes after a good one: refused before the good one runs
    text = refused(["validate", "ibsa", short, "--runs", "10", "--out", out], str(short),
                   "no whole calendar year")
    assert "runs of" not in text
    refused(["validate", "ibsa", "mikta", short, "--runs", "10", "--out", out], str(short),
            "second record of mikta")
    unknown = short_record(tmp_path, "2016-12-31", **{'scenario = "mikta"':
                                                     'scenario = "sub/mikta.toml"'})
    refused(["validate", "ibsa", unknown, "--runs", "10", "--out", out], str(unknown),
            "line 6", "case.scenario", "sub/mikta.toml", "names no scenario")
    assert not out.exists()
    # a scenario file named by a record is found beside the record, wherever one runs from
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mikta.toml").write_text('[scenario]\nextends = "mikta"\n'
                                                 'name = "mikta-local"\n', encoding="utf-8")
    assert load_record(unknown).scenario == str(tmp_path / "sub" / "mikta.toml")
    code, _, stderr = invoke("validate", str(unknown), "--runs", "10", "--out", str(out))
    assert code == 0, stderr
    assert "runs of mikta-local against the record of mikta" in " ".join(stderr.split())
    no_scenario = short_record(tmp_path, "2016-12-31", **{'scenario = "mikta"\n': "",
                                                         'name = "mikta"': 'name = "own"'})
    rows = (tmp_path / "short.csv").read_text(encoding="utf-8")
    (tmp_path / "short.csv").write_text(rows.replace("\nmikta,", "\nown,"), encoding="utf-8")
    assert load_record(no_scenario).name == "own"  # read for its labels, it needs none
    refused(["validate", "ibsa", no_scenario, "--runs", "10", "--out", tmp_path / "v2"],
            str(no_scenario), "has no `scenario`", "own")


def test_a_joint_calibration_refuses_two_records_of_one_group(tmp_path):
    path = tmp_path / "joint.toml"
    path.write_text(SMC.format(name="twice", key="group.standby").replace(
        'cases = ["mikta"]', f'cases = ["mikta", "{ROOT / "seeds" / "records" / "mikta.toml"}"]'),
        encoding="utf-8")
    refused(["calibrate", path, "--out", tmp_path / "c"], str(path), "calibration.cases",
            "the group mikta twice")


def test_a_scenario_path_in_a_file_resolves_against_that_files_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.toml").write_text('[scenario]\nextends = "mikta"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec = experiment_file(elsewhere, scenario="sub/x.toml")
    monkeypatch.chdir(tmp_path)  # sub/x.toml exists here, not beside the file
    refused(["experiment", spec, "--out", tmp_path / "e"], str(spec), "experiment.scenario",
            str(elsewhere))
    (elsewhere / "sub").mkdir()
    (elsewhere / "sub" / "x.toml").write_text('[scenario]\nextends = "mikta"\nname = "x"\n')
    assert invoke("experiment", str(spec), "--out", str(tmp_path / "e"), "--quiet",
                  "--no-report", "--workers", "1")[0] == 0


def test_a_record_path_in_a_calibration_file_resolves_against_that_files_folder(
        tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    for name in ("mikta.toml", "mikta.csv"):
        (tmp_path / "sub" / name).write_bytes((ROOT / "seeds" / "records" / name).read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = elsewhere / "calibration.toml"
    path.write_text(SMC.format(name="here", key="group.standby").replace(
        'cases = ["mikta"]', 'cases = ["sub/mikta.toml"]'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # sub/mikta.toml exists here, not beside the file
    refused(["calibrate", path, "--out", tmp_path / "c"], str(path), "calibration.cases",
            "sub/mikta.toml", str(elsewhere))
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------ 6. the Python API


def test_the_python_api_refuses_seeds_that_are_not_whole_numbers():
    s = load_scenario("mikta", years=2)
    for seeds in ([1.7], [True], [-1], [2**63], 5, "12", [None]):
        with pytest.raises(UserError, match="seed"):
            sim.simulate(s, seeds)
    assert sim.simulate(s, []).summaries == []
    assert sim.simulate("mikta", [1, 2]).summaries == sim.simulate(load_scenario("mikta"),
                                                                   np.array([1, 2])).summaries
    with pytest.raises(UserError, match="no-such-scenario"):
        sim.simulate("no-such-scenario", [1])
    with pytest.raises(UserError, match="a list of Scenarios"):
        sim.simulate(["mikta"], [1])


def test_the_python_api_refuses_arguments_of_another_kind_or_count():
    s = load_scenario("mikta", years=2)
    for seeds in ([1.5], [True], np.array([1.0]), np.array([-1]), "12"):
        with pytest.raises(UserError, match=r"evaluate: .*seed"):
            sim.evaluate(s, seeds)
    assert sim.evaluate(s, np.array([3, 4]))["seed"].tolist() == [3, 4]
    for call, match in ((lambda: sim.simulate(None, [1]), "not NoneType"),
                        (lambda: sim.simulate([s, s], [1]), "2 scenarios for 1 seeds"),
                        (lambda: sim.evaluate([s], [1, 2]), "1 scenarios for 2 seeds"),
                        (lambda: sim.evaluate(s, [1], parameter_sets=[{}, {}]),
                         "2 parameter sets for 1 seeds")):
        with pytest.raises(UserError, match=match):
            call()
    # one text is one setting, not a list of its characters
    assert sim.with_overrides(s, "group.base_rate=2.5").group.base_rate == 2.5


def test_every_entry_of_the_python_api_refuses_arguments_of_another_kind(tmp_path):
    s = load_scenario("mikta", years=2)
    for seed in (1.7, -1, True, "3"):  # the Mesa model, as simulate: no seed rounded to another
        with pytest.raises(UserError, match="MinilateralModel: the seed"):
            sim.MinilateralModel(s, seed)
    with pytest.raises(UserError, match="MinilateralModel: the seed"):
        sim.MinilateralModel(s, 1, activation_seed=2.5)
    for overrides, match in ((5, "int is not overrides"), ({5: 2}, "the key 5"),
                             ([b"group.base_rate=2"], "not a KEY=VALUE text")):
        with pytest.raises(UserError, match=match):
            sim.with_overrides(s, overrides)
    assert sim.with_overrides("mikta", {"group.base_rate": 2.5}).group.base_rate == 2.5
    with pytest.raises(UserError, match="not int"):
        sim.with_overrides(5, {})
    for parameter_sets in (5, {"group.base_rate": 2.0}, ["group.base_rate=2"]):
        with pytest.raises(UserError, match="parameter_sets must be a list of dicts"):
            sim.evaluate(s, [1], parameter_sets=parameter_sets)
    with pytest.raises(UserError, match="not int"):
        sim.execute(5, tmp_path / "e")
    outcome = sim.execute(str(experiment_file(tmp_path)), tmp_path / "e", workers=1)
    assert outcome.total == 8  # a path is read as the command line reads it


def test_a_missing_path_or_object_given_to_the_python_api_is_refused_by_name(tmp_path):
    for call, match in ((lambda: sim.load_experiment(None), "load_experiment: path"),
                        (lambda: sim.load_claims(None), "load_claims: path"),
                        (lambda: sim.write_report(None), "write_report: folder"),
                        (lambda: sim.calibrate_file(None), "calibrate_file: path"),
                        (lambda: sim.calibrate_file("x.toml", 5), "calibrate_file: out"),
                        (lambda: sim.execute("mikta.toml", None), "execute: out"),
                        (lambda: sim.run_claims(None), "run_claims: suite"),
                        (lambda: sim.summarize(None), "summarize: trajectory")):
        with pytest.raises(UserError, match=match):
            call()
    assert not list(tmp_path.iterdir())


def test_a_count_given_through_the_python_api_is_a_whole_number(tmp_path):
    from test_fuzz import POPULATION

    from sim.inference.population_file import load_population

    path = tmp_path / "population.toml"
    path.write_text(POPULATION, encoding="utf-8")
    for call in (lambda v: sim.load_experiment(experiment_file(tmp_path), replicates=v),
                 lambda v: sim.load_claims(ROOT / "experiments" / "claims.toml", replicates=v),
                 lambda v: load_population(path, groups=v)):
        for value in (1.5, True, 0, "12"):
            with pytest.raises(UserError, match=f"{value!r} is not a whole number"):
                call(value)
    assert sim.load_experiment(experiment_file(tmp_path), replicates=3).replicates == 3
