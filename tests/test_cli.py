"""The `minilat` command line, including every kind of bad input."""

import inspect
import json
import re
import subprocess
import sys
import tomllib

import pandas as pd
import pytest

from sim.cli import COMMANDS, load_command
from sim.model.outcomes import SUMMARY_KEYS
from sim.model.scenario_files import load_scenario


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_run_writes_summary_series_and_figure(tmp_path):
    result = cli("run", "mikta", "--seed", "1", "--out", tmp_path / "demo")
    assert result.returncode == 0, result.stderr
    assert "final state" in result.stdout
    folder = tmp_path / "demo"
    summary = json.loads((folder / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(summary) and summary["seed"] == 1
    assert summary["outcome"] in ("alive", "zombie", "dead")
    frame = pd.read_parquet(folder / "timeseries.parquet")
    quarters = summary["death_quarter"] + 1 if summary["death_quarter"] is not None else 120
    assert len(frame) == quarters * 5
    assert {"quarter", "date", "member", "engagement", "chair", "state"} <= set(frame.columns)
    png = (folder / "run.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_run_with_overrides_changes_the_run(tmp_path):
    base = cli("run", "mikta", "--seed", "3", "--out", tmp_path / "a")
    changed = cli("run", "mikta", "--seed", "3", "--set", "group.base_rate=0.01",
                  "--set", "members.*.crisis_rate=2", "--set", "world.outside_event_rate=0",
                  "--out", tmp_path / "b")
    assert base.returncode == 0 and changed.returncode == 0, changed.stderr
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert b["outcome"] == "dead" and b["death_cause"] == "dormant"
    assert b["overrides"] == ["group.base_rate=0.01", "members.*.crisis_rate=2",
                              "world.outside_event_rate=0"]
    assert "changes applied" not in base.stdout
    said = changed.stdout.replace("\n", " ")
    assert "changes applied (3):" in said
    assert re.search(r"\[group\.base_rate\]: [\d.]+ → 0\.01", said), said
    assert re.search(r"every member \[members\.\*\.crisis_rate\]: [^→]+ → 2 ", said), said


def test_a_change_at_a_date_is_printed_with_its_date():
    result = cli("run", "mikta", "--years", "15", "--set", "group.secretariat=true@2027Q1")
    assert result.returncode == 0, result.stderr
    assert ("a dedicated staffed secretariat [group.secretariat]: false → true from 2027Q1"
            in result.stdout.replace("\n", " "))


def test_many_runs_print_outcome_shares():
    result = cli("run", "generic-5", "--runs", "30", "--years", "5", "--engine", "fast")
    assert result.returncode == 0, result.stderr
    assert "Wilson" in result.stdout and "alive" in result.stdout


def test_scenarios_list_and_show():
    listing = cli("scenarios")
    assert listing.returncode == 0
    for name in ("mikta", "mikta-formal", "generic-5", "ibsa"):
        assert name in listing.stdout
    shown = cli("scenarios", "show", "mikta")
    assert shown.returncode == 0
    data = tomllib.loads(shown.stdout)
    assert data["group"]["chair_order"] == ["MEX", "KOR", "AUS", "TUR", "IDN"]
    assert data["members"]["KOR"]["budget_trend"] == load_scenario("mikta").members[2].budget_trend
    keys = cli("scenarios", "show", "mikta", "--keys")
    assert "members.*.budget_trend" in keys.stdout and "world.rival_pull" in keys.stdout


@pytest.mark.parametrize("command", [[], ["run"], ["scenarios"], ["scenarios", "show"]])
def test_every_command_has_help(command):
    result = cli(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_the_command_list_is_each_command_s_own_help_and_loads_none():
    listing = ("import sys\nfrom typer.testing import CliRunner\nfrom sim.cli import app\n"
               "CliRunner().invoke(app, ['--help'])\n"
               "print(sorted(m for m in sys.modules if m.startswith('sim.')))")
    done = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["['sim.cli',", "'sim.cli.console',", "'sim.errors']"]
    for name, (_, listed) in COMMANDS.items():
        assert inspect.cleandoc(load_command(name).help).split("\n\n")[0] == listed, name


def bad(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


TRIO = '[scenario]\nname = "trio"\n[members.A]\n[members.B]\n[members.C]\n'

BAD_INPUTS = {
    "unknown scenario": (lambda p: ["run", "mitka"], ["mitka", "unknown scenario", "mikta"]),
    "unknown key": (lambda p: ["run", bad(p, TRIO + "colour = 'red'\n")],
                    ["bad.toml, line 6", "members.C.colour", "did you mean `members.C.color`"]),
    "wrong type": (lambda p: ["run", bad(p, TRIO + "crisis_rate = 'often'\n")],
                   ["line 6", "members.C.crisis_rate", '"often"', "wrong type",
                    "crises a year"]),
    "out of range": (lambda p: ["run", "mikta", "--set", "members.KOR.rival_affinity=1.5"],
                     ["--set members.KOR.rival_affinity=1.5", "1.5", "out of range",
                      "from 0 to 1"]),
    "malformed toml": (lambda p: ["run", bad(p, "[scenario\nname = 'x'\n")],
                       ["bad.toml, line 1", "not valid TOML"]),
    "too few members": (lambda p: ["run", bad(p, '[scenario]\n[members.A]\n[members.B]\n')],
                        ["has 2 members", "3 to 12"]),
    "too many members": (lambda p: ["run", bad(p, "".join(f"[members.M{i}]\n"
                                                          for i in range(13)))],
                         ["has 13 members", "3 to 12"]),
    "chair order": (lambda p: ["run", bad(p, '[group]\nchair_order = ["A", "X"]\n' + TRIO)],
                    ["line 2", "group.chair_order", "X", "not a member"]),
    "unknown set key": (lambda p: ["run", "mikta", "--set", "group.secretary=true"],
                        ["group.secretary", "did you mean `group.secretariat`"]),
    "missing file": (lambda p: ["run", p / "nothing.toml"], ["no such scenario file"]),
    "bad engine": (lambda p: ["run", "mikta", "--engine", "warp"], ["unknown engine"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_message_with_exit_code_2(tmp_path, case):
    make_args, expected = BAD_INPUTS[case]
    result = cli(*make_args(tmp_path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_bad_input_leaves_earlier_output_intact(tmp_path):
    good = cli("run", "mikta", "--seed", "1", "--out", tmp_path)
    assert good.returncode == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    failed = cli("run", "mikta", "--set", "group.base_rate=-1", "--out", tmp_path)
    assert failed.returncode == 2
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_validate_prints_a_summary_line_per_case_and_the_table_on_request(tmp_path):
    plain = cli("validate", "mikta", "--runs", "20", "--out", tmp_path / "a")
    assert plain.returncode == 0, plain.stderr
    said = " ".join(plain.stdout.split())
    assert re.search(r"MIKTA.*?: \d+ of \d+ patterns of activity \(year and level\) inside the "
                     r"runs' 90 % interval", said), said
    assert "┏" not in said and f"{tmp_path / 'a' / 'cases.csv'}" in said  # no table
    assert re.search(r"in [\d.]+ s|in \d+ min", said)
    table = cli("validate", "mikta", "--runs", "20", "--out", tmp_path / "b", "--table")
    assert table.returncode == 0 and "┏" in table.stdout and "pattern" in table.stdout


def test_claims_prints_its_verdicts_counted_in_one_line(tmp_path):
    from tests.test_claims import SMALL

    path = tmp_path / "claims.toml"
    path.write_text(SMALL)
    result = cli("claims", path, "--out", tmp_path / "out", "--quiet", "--workers", "1")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    said = " ".join(" ".join(lines).split())
    assert re.match(r"Claims: 2 — (1 hold, 1 with no measurable effect|2 with no measurable "
                    r"effect) \(40 to 40 paired runs per arm\); in [\d.]+ s", said), said
    assert (tmp_path / "out" / "report.md").read_text().startswith(
        "# The sources' claims as paired experiments (small)")
