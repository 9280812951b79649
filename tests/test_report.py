"""The experiment report: its figures, its sections per design, and `minilat report`."""

import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments.design import load_experiment
from sim.experiments.execution import execute
from sim.inference import statistics as analysis
from sim.reporting import figures as plots
from sim.reporting.report import write_report
from sim.reporting.results import load_results

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def check_png(path: Path, min_width: int = 600, min_height: int = 300) -> None:
    """A readable PNG: big enough, and not blank (more than 1 % of its pixels not white)."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height, (path, image.shape)
    inked = (image[..., :3] < 0.98).any(axis=-1).mean()
    assert inked > 0.01, (path, inked)


# ------------------------------------------------------------------------------ figures


@pytest.fixture(scope="module")
def synthetic():
    """Small hand-made tables in the shapes the report passes to the figures."""
    rng = np.random.default_rng(0)
    runs = []
    for point, (trend, secretariat) in enumerate([(-0.06, False), (0.0, False), (-0.06, True),
                                                  (0.0, True)]):
        u = rng.random(60)
        outcome = np.where(u < 0.2 + 0.4 * (trend < 0) - 0.15 * secretariat, "dead",
                           np.where(u < 0.7, "zombie", "alive"))
        runs.append(pd.DataFrame({
            "point_id": point, "replicate": np.arange(60), "members.*.budget_trend": trend,
            "group.secretariat": secretariat, "outcome": outcome,
            "death_quarter": np.where(outcome == "dead", rng.integers(8, 40, 60), np.nan),
            "first_zombie_quarter": np.where(outcome != "alive", rng.integers(7, 30, 60),
                                             np.nan)}))
    return pd.concat(runs, ignore_index=True)


def test_outcome_shares_figure(tmp_path, synthetic):
    table = analysis.shares_by_point(synthetic, ["members.*.budget_trend", "group.secretariat"])
    plots.plot_outcome_shares(table, [f"point {i}" for i in table["point_id"]],
                              tmp_path / "shares.png")
    check_png(tmp_path / "shares.png")


def test_many_points_figure_is_sorted_and_unlabelled(tmp_path):
    rng = np.random.default_rng(1)
    dead = rng.random(200)
    table = pd.DataFrame({"point_id": range(200), "dead": dead, "zombie": (1 - dead) / 2,
                          "alive": (1 - dead) / 2})
    plots.plot_outcome_shares(table, [], tmp_path / "many.png")
    check_png(tmp_path / "many.png")


def test_trajectory_figure(tmp_path):
    rng = np.random.default_rng(2)
    series = pd.DataFrame({
        "run_id": np.repeat(np.arange(30), 40), "quarter": np.tile(np.arange(40), 30),
        "state": rng.choice(["alive", "zombie"], 1200), "outputs": rng.poisson(2.0, 1200),
        "mean_engagement": rng.random(1200)})
    full = analysis.complete_series(series, 40)
    plots.plot_trajectories(analysis.state_shares_by_quarter(full),
                            analysis.quantile_bands(full, "outputs"),
                            analysis.quantile_bands(full, "mean_engagement"), 2014.0,
                            tmp_path / "trajectories.png", title="test", zombie_line=0.9)
    check_png(tmp_path / "trajectories.png")


def test_survival_figure(tmp_path, synthetic):
    curves, _ = analysis.survival_by_point(synthetic, "death", horizon=40)
    plots.plot_survival(curves, {0: "a", 1: "b"}, tmp_path / "km.png", title="death",
                        horizon_years=10)
    check_png(tmp_path / "km.png")


def test_phase_diagram_figure(tmp_path, synthetic):
    table = analysis.shares_by_point(synthetic, ["members.*.budget_trend", "group.secretariat"])
    plots.plot_phase_diagram(table, "members.*.budget_trend", "group.secretariat",
                             tmp_path / "phase.png")
    check_png(tmp_path / "phase.png")


def test_sobol_figure(tmp_path):
    indices = pd.DataFrame([{"output": o, "factor": f, "S1": s, "S1_conf": 0.05, "ST": s + 0.1,
                             "ST_conf": 0.05}
                            for o in ("death share", "total outputs")
                            for f, s in (("a", 0.5), ("b", 0.2), ("c", 0.0))])
    plots.plot_sobol(indices, tmp_path / "sobol.png")
    check_png(tmp_path / "sobol.png")


def test_tornado_figure(tmp_path):
    points = pd.DataFrame({"point_id": [0, 1, 2, 3], "a": [1.0, 0.0, 2.0, 1.0],
                           "b": [False, False, False, True],
                           "alive": [0.5, 0.6, 0.2, 0.9], "zombie": [0.3, 0.3, 0.3, 0.1],
                           "dead": [0.2, 0.1, 0.5, 0.0]})
    plots.plot_tornado(analysis.oat_effects(points, ["a", "b"]), tmp_path / "tornado.png")
    check_png(tmp_path / "tornado.png")


# ------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "results"
    result = cli("experiment", "experiments/smoke.toml", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out, result


def test_experiment_writes_its_report(smoke):
    out, result = smoke
    assert f"report: {out / 'report.md'}" in result.stdout.replace("\n", "")
    text = (out / "report.md").read_text()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[:6] == ["Findings", "Outcome shares", "Trajectories", "Survival",
                            "Outcome rule sensitivity", "Paired contrasts"]
    assert headings[-2:] == ["Not in this report", "Appendix: Provenance"]
    findings = text.split("## Findings")[1].split("## Outcome shares")[0]
    assert findings.count("\n- ") >= 2 and "[group.secretariat]" in findings
    assert ("- After 10 years, the share of runs alive ranges over the 2 design points from "
            in findings)
    for omitted in ("Phase diagram", "Global sensitivity"):  # one factor, a grid
        assert f"- **{omitted}**" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] in text and "`experiments/smoke.toml`" in text
    assert "| 0 | false | 20 |" in text and "| 1 | true | 20 |" in text
    assert "Point 1 against point 0" in text and "regenerated from their seeds" in text
    figures = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", text)
    assert figures.count("figures/outcome_shares.png") == 1 and len(set(figures)) == 5
    for figure in figures:
        check_png(out / figure)
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h2>Survival</h2>" in page
    assert page.index("<h2>Findings</h2>") < page.index("<h2>Survival</h2>") < page.index(
        "<details><summary>")  # the provenance is an appendix, collapsed
    assert sorted(re.findall(r'<img src="([^"]+)"', page)) == sorted(figures)


def test_no_report_writes_none(tmp_path):
    out = tmp_path / "results"
    result = cli("experiment", "experiments/smoke.toml", "--out", out, "--quiet", "--no-report")
    assert result.returncode == 0, result.stderr
    assert (out / "runs.parquet").exists()
    assert not (out / "report.md").exists() and not (out / "report.html").exists()
    assert not (out / "figures").exists() and "report:" not in result.stdout


def test_report_command_names_the_missing_folder(tmp_path):
    missing = tmp_path / "no-such-results"
    result = cli("report", missing)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert str(missing) in message and "no such folder" in message
    assert "manifest.json" in message and "Traceback" not in result.stderr


def test_report_command_refuses_a_folder_without_results(tmp_path):
    (tmp_path / "notes.txt").write_text("not results")
    result = cli("report", tmp_path)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"{tmp_path} is not a results folder" in message and "runs.parquet" in message
    assert "Traceback" not in result.stderr


def test_report_refuses_an_unfinished_experiment(tmp_path, smoke):
    out, _ = smoke
    folder = tmp_path / "copy"
    folder.mkdir()
    manifest = json.loads((out / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    (folder / "runs.parquet").mkdir()
    with pytest.raises(UserError, match=r"unfinished experiment.*--resume"):
        load_results(folder)


def _run(tmp_path: Path, text: str, timeseries: bool = False) -> Path:
    """Run a small experiment in this process and return its results folder."""
    path = tmp_path / "experiment.toml"
    path.write_text(text)
    out = tmp_path / "results"
    execute(load_experiment(path), out, workers=1, command=["test"], version="test",
            timeseries=timeseries)
    return out


def test_recorded_time_series_are_read_not_regenerated(tmp_path):
    out = _run(tmp_path, """
[experiment]
name = "recorded"
scenario = "mikta"
years = 5
replicates = 6
design = "grid"

[factors]
"group.secretariat" = [false, true]

[report]
trajectories = 1
unknown_key = 1
trajectory_runs = "all"
""", timeseries=True)
    text = write_report(out).read_text()
    trajectories = text.split("## Trajectories\n", 1)[1].split("\n## ", 1)[0]
    assert "Read from `timeseries.parquet`." in trajectories
    assert "regenerated" not in trajectories
    assert "](figures/trajectories_point_000.png)" in text
    assert "](figures/trajectories_point_001.png)" not in text
    assert "`unknown_key` (known: contrast" in text
    assert "`trajectory_runs = 'all'` (a whole number, 0 or more)" in text


def test_grid_of_two_factors_gets_a_phase_diagram_and_named_contrasts(tmp_path):
    out = _run(tmp_path, """
[experiment]
name = "phase"
scenario = "mikta"
years = 12
replicates = 12
seed = 5
design = "grid"

[factors]
"group.secretariat" = [false, true]
"members.*.budget_trend" = { min = -0.08, max = 0.0, steps = 3 }

[report]
contrast = [[0, 3], [2, 9]]
trajectories = 1
trajectory_runs = 5
""")
    path = write_report(out)
    assert path == out / "report.md"
    text = path.read_text()
    assert "## Phase diagram" in text and "## Survival" in text
    check_png(out / "figures" / "phase_diagram.png")
    assert text.count("](figures/trajectories_point_") == 1
    assert "at most 5 per point" in text
    assert "Point 3 against point 0" in text and "Ignored: contrast [2, 9]" in text


def test_oat_design_gets_a_tornado_chart(tmp_path):
    out = _run(tmp_path, """
[experiment]
name = "oat"
scenario = "mikta"
years = 8
replicates = 8
seed = 6
design = "oat"
common_random_numbers = false

[factors]
"members.*.budget_trend" = { min = -0.08, max = 0.0 }
"group.agenda_breadth" = [3, 12]

[report]
trajectories = 0
""")
    text = write_report(out).read_text()
    assert "## Global sensitivity" in text and "Tornado chart" in text
    check_png(out / "figures" / "tornado.png")
    assert "- **Paired contrasts**: runs are paired only under common random numbers" in text
    assert "- **Trajectories**: turned off" in text
    assert "- **Outcome rule sensitivity**: turned off" in text


def test_sobol_design_gets_sobol_indices(tmp_path):
    out = _run(tmp_path, """
[experiment]
name = "sobol"
scenario = "mikta"
years = 10
replicates = 2
seed = 7
design = "sobol"
samples = 16

[factors]
"members.*.budget_trend" = { min = -0.08, max = 0.0 }
"group.agenda_breadth" = { min = 3, max = 12 }
"group.chair_boost" = { min = 0.0, max = 0.5 }
""")
    text = write_report(out).read_text()
    assert "## Global sensitivity" in text and "80 design points × 2 replicates" in text
    for output in ("death share", "years to death", "total outputs"):
        assert f"**{output}**" in text
    assert len(re.findall(r"^\| `group.chair_boost` \| -?\d\.\d{3} ± ", text, re.MULTILINE)) == 3
    check_png(out / "figures" / "sobol.png")
    for omitted in ("Trajectories", "Survival", "Outcome rule sensitivity", "Paired contrasts",
                    "Phase diagram"):
        assert f"- **{omitted}**" in text
    assert "80 design points: the table pools all 160 runs" in text


@pytest.fixture(scope="module")
def rule_report(tmp_path_factory):
    """A report of two points that set different zombie windows, with zombies at both."""
    out = _run(tmp_path_factory.mktemp("rule"), """
[experiment]
name = "rule"
scenario = "mikta"
years = 12
replicates = 30
seed = 3
design = "grid"

[fixed]
"members.*.budget_trend" = -0.08

[factors]
"group.zombie_months" = [12, 24]

[report]
trajectory_runs = 20
""")
    return out, write_report(out).read_text()


def _rule_table(text: str) -> pd.DataFrame:
    """The outcome rule sensitivity table of report.md, its cells as text, by rule."""
    section = text.split("## Outcome rule sensitivity\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    return pd.DataFrame(rows, columns=header).set_index("rule")


def _shares(cell: str) -> list[float]:
    return [float(share) for share in cell.split(" / ")]


def test_the_rule_sensitivity_relabels_the_runs_of_the_trajectory_points(rule_report):
    out, text = rule_report
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings.index("Outcome rule sensitivity") == headings.index("Survival") + 1
    table = _rule_table(text)
    assert list(table.columns) == ["`apex_window_months`", "`grace_months`", "`zombie_months`",
                                   "`dormant_months`", "point 0", "point 1"]
    assert len(table) == 11 and table.index[0] == "as set"
    assert table.loc["every window × 1.5"].iloc[:4].tolist() == ["54", "36", "18", "90"]
    runs = load_results(out).runs.sort_values(["point_id", "replicate"])
    for point_id, part in runs.groupby("point_id"):
        first = part.head(20)["outcome"]
        recorded = " / ".join(f"{100 * np.mean(first == state):.1f}"
                              for state in ("alive", "zombie", "dead"))
        assert table.loc["as set", f"point {point_id}"] == recorded
    assert "so the fall in the death share under a longer window is a lower bound" in text
    assert "The windows shown are point 0's" in text
    moved = {(point, rule): abs(_shares(table.loc[rule, point])[1]
                                - _shares(table.loc["as set", point])[1])
             for point in ("point 0", "point 1") for rule in table.index[1:]}
    point, rule = max(moved, key=moved.get)
    assert moved[(point, rule)] > 0
    before, after = _shares(table.loc["as set", point])[1], _shares(table.loc[rule, point])[1]
    assert (f"The zombie share at {point} moves most, from {before:.1f} % to {after:.1f} %, "
            f"when {rule.replace(' × ', ' is multiplied by ')}.") in text


def test_a_shorter_zombie_window_makes_no_fewer_zombies_and_the_same_deaths(rule_report):
    """The zombie window enters only the zombie test (group_rules.group_state), not the apex level
    or death, so halving it can only turn alive quarters into zombie ones."""
    _, text = rule_report
    table = _rule_table(text)
    shorter = table.loc["`zombie_months` × 0.5"]
    assert shorter["`zombie_months`"] == "6"  # point 0's own 12 months, halved
    for point in ("point 0", "point 1"):
        _, zombie, dead = _shares(table.loc["as set", point])
        _, zombie_shorter, dead_shorter = _shares(shorter[point])
        assert dead_shorter == dead and zombie_shorter >= zombie
    assert any(_shares(shorter[point])[1] > _shares(table.loc["as set", point])[1]
               for point in ("point 0", "point 1"))


def test_an_lhs_report_leaves_the_rule_sensitivity_out(tmp_path):
    out = _run(tmp_path, """
[experiment]
name = "lhs"
scenario = "mikta"
years = 3
replicates = 2
seed = 8
design = "lhs"
samples = 4

[factors]
"members.*.budget_trend" = { min = -0.08, max = 0.0 }
"group.chair_boost" = { min = 0.0, max = 0.5 }
""")
    text = write_report(out).read_text()
    assert "## Outcome rule sensitivity" not in text
    assert ("- **Outcome rule sensitivity**: a lhs design samples points at random; relabelled "
            "shares of single points say little") in text
