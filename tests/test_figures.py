"""Every figure the project writes follows the figure style (sim/reporting/style.py): no text
leaves the canvas at the size it is saved at, and axes of years carry whole years.

Each test draws the figures of one command, small, and every `savefig` is checked as it
happens. The shipped images of docs/images are drawn by the same functions (docs/make_images.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from sim.reporting.style import texts_outside, year_axis

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checked(monkeypatch):
    """Every figure saved while the test runs, checked: {file name: [problems]}."""
    saved = Figure.savefig
    problems: dict[str, list[str]] = {}

    def savefig(fig, path, *args, **kwargs):
        name = f"{Path(str(path)).parent.name}/{Path(str(path)).name}"
        found = [f"text leaves the canvas: {t}" for t in texts_outside(fig)]
        for ax in fig.axes:
            label = ax.get_xlabel()
            if (label == "year" or label.startswith("years since")) and ax.xaxis.get_visible():
                labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
                found += [f"year tick {t!r} is not a whole year" for t in labels
                          if not re.fullmatch(r"-?\d+", t.replace("\u2212", "-"))]
        problems[name] = found
        return saved(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return problems


def assert_clean(problems: dict[str, list[str]], expected: int) -> None:
    assert len(problems) >= expected, f"only {sorted(problems)} were drawn"
    bad = {name: found for name, found in problems.items() if found}
    assert not bad, bad


def test_the_year_axis_of_the_style_has_whole_years_only():
    from sim.reporting.style import subplots

    fig, ax = subplots(figsize=(4, 2))
    ax.plot([2014.0, 2043.75], [0, 1])
    year_axis(ax)
    fig.canvas.draw() if fig.canvas else None
    assert all(re.fullmatch(r"\d{4}", t.get_text()) for t in ax.get_xticklabels()
               if t.get_text())


def test_texts_outside_finds_a_label_past_the_edge():
    from sim.reporting.style import subplots

    fig, ax = subplots(figsize=(3, 2), layout=None)
    ax.text(0.9, 0.5, "a long label that cannot fit", transform=ax.transAxes)
    assert texts_outside(fig) and "a long label" in texts_outside(fig)[0]


def test_a_runs_figure(checked, tmp_path):
    from sim.model.scenario_files import load_scenario
    from sim.model.simulation import simulate
    from sim.reporting.single_run import write_run

    for name, sets in (("mikta", ["group.secretariat=true@2027Q1"]), ("ibsa", [])):
        scenario = load_scenario(name, sets or None)
        one = simulate(scenario, [1], record=True)
        write_run(tmp_path / name, scenario, one.trajectories[0], one.summaries[0], sets,
                  "mesa")
    assert_clean(checked, 2)


@pytest.mark.slow
def test_an_experiments_report_figures(checked, tmp_path):
    from sim.experiments.design import load_experiment
    from sim.experiments.execution import execute
    from sim.reporting.report import write_report

    for name in ("budget-vs-secretariat", "secretariat-2027", "mikta-assumptions"):
        spec = load_experiment(ROOT / "experiments" / f"{name}.toml", replicates=20)
        execute(spec, tmp_path / name, workers=1, timeseries=name == "secretariat-2027")
        write_report(tmp_path / name)
    assert_clean(checked, 12)


@pytest.mark.slow
def test_a_sobol_reports_figures(checked, tmp_path):
    from sim.experiments.design import load_experiment
    from sim.experiments.execution import execute
    from sim.reporting.report import write_report

    text = (ROOT / "experiments" / "sobol-global.toml").read_text()
    path = tmp_path / "sobol.toml"
    path.write_text(re.sub(r"samples = \d+", "samples = 16",
                           re.sub(r"replicates = \d+", "replicates = 2", text)))
    execute(load_experiment(path), tmp_path / "sobol", workers=1)
    write_report(tmp_path / "sobol")
    assert_clean(checked, 2)


@pytest.mark.slow
def test_the_claims_validation_and_forecast_figures(checked, tmp_path):
    from sim.inference.claims_study import study_claims
    from sim.inference.forecast import forecast, record_for
    from sim.inference.validation import validate_case
    from sim.model.scenario_files import load_scenario
    from sim.reporting.claims_report import write_claims_report
    from sim.reporting.forecast_report import write_forecast
    from sim.reporting.validation_report import write_validation

    study = study_claims(ROOT / "experiments" / "claims.toml", tmp_path / "claims",
                         replicates=20, workers=1, variants=False)  # they draw no figure
    write_claims_report(study.suite, study.result, study.folder, variants=study.variants)
    results = [validate_case(case, runs=20) for case in ("mikta", "ibsa")]
    write_validation(results, tmp_path / "validation")
    mikta = load_scenario("mikta")
    result = forecast(mikta, 2035, ROOT / "results" / "posterior", runs=50,
                      record=record_for(mikta))
    write_forecast(result, tmp_path / "forecast")
    assert_clean(checked, 15)


@pytest.mark.slow
def test_a_joint_calibrations_figures(checked, tmp_path):
    from sim.reporting.calibration_folder import calibrate_file

    text = (ROOT / "experiments" / "joint-calibration.toml").read_text()
    text = re.sub(r"draws = \d+", "draws = 400", text)
    text = re.sub(r"accept = [\d.]+", "accept = 0.05", text)
    text = re.sub(r"predictive_runs = \d+", "predictive_runs = 2", text)
    text = re.sub(r"long_run_runs = \d+", "long_run_runs = 1", text)
    path = tmp_path / "joint.toml"
    path.write_text(text)
    calibrate_file(path, tmp_path / "out", workers=1)
    assert_clean(checked, 3)
