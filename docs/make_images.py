"""Redraw the README's figures in docs/images from the model: one run (run-mikta-seed1.png), the
validation (validation-*.png), a policy at a date (policy-secretariat-2027.png), the claims
(claims.png), a forecast from the shipped posterior (forecast-mikta.png), and the tutorial's
figures as executed (tutorial-*.png).

python docs/make_images.py [run|validation|policy|claims|forecast|tutorial ...]   (make images)
(The teaching page's screenshots: python benchmarks/bench_app.py --screenshots docs/images.)
"""

from __future__ import annotations

from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"


def validation_figures() -> None:
    from sim.inference.validation import validate_case
    from sim.reporting import validation_report

    for case in ("mikta", "ibsa"):
        result = validate_case(case, runs=1000)
        validation_report._plot_activity(result, IMAGES / f"validation-{case}-activity.png")
        validation_report._plot_states(result, IMAGES / f"validation-{case}-states.png")
        print(f"wrote docs/images/validation-{case}-*.png")


def policy_figure() -> None:
    """experiments/secretariat-2027.toml's twins: a secretariat and a treaty from 2027 Q1 against
    neither (its report's figures/twins_000_003.png)."""
    import shutil
    import tempfile

    from sim.experiments.design import load_experiment
    from sim.experiments.execution import execute
    from sim.reporting.report import write_report

    spec = load_experiment(IMAGES.parents[1] / "experiments" / "secretariat-2027.toml")
    with tempfile.TemporaryDirectory() as folder:
        execute(spec, Path(folder) / "out", timeseries=True)
        write_report(Path(folder) / "out")
        shutil.copy(Path(folder) / "out" / "figures" / "twins_000_003.png",
                    IMAGES / "policy-secretariat-2027.png")
    print("wrote docs/images/policy-secretariat-2027.png")


def run_figure() -> None:
    """`minilat run mikta --seed 1`'s figure."""
    from sim import load_scenario, simulate
    from sim.reporting.figures import plot_run

    scenario = load_scenario("mikta")
    plot_run(simulate(scenario, [1], record=True).trajectories[0], scenario,
             IMAGES / "run-mikta-seed1.png")
    print("wrote docs/images/run-mikta-seed1.png")


def claims_figure() -> None:
    """`minilat claims experiments/claims.toml`'s overview, at the file's 1,000 runs per arm."""
    from sim.inference.claims import load_claims, run_claims
    from sim.reporting.claims_report import plot_claims_overview

    suite = load_claims(IMAGES.parents[1] / "experiments" / "claims.toml")
    plot_claims_overview(suite, run_claims(suite, workers=2), IMAGES / "claims.png")
    print("wrote docs/images/claims.png")


def forecast_figure() -> None:
    """`minilat forecast mikta --until 2035 --posterior results/posterior`'s fan chart."""
    from sim.inference.forecast import forecast, record_for
    from sim.model.scenario_files import load_scenario
    from sim.reporting.forecast_report import fan_chart

    scenario = load_scenario("mikta")
    result = forecast(scenario, 2035, IMAGES.parents[1] / "results" / "posterior",
                      record=record_for(scenario))
    fan_chart(result, IMAGES / "forecast-mikta.png")
    print("wrote docs/images/forecast-mikta.png")


def tutorial_figures() -> None:
    """docs/tutorial.ipynb executed (nbclient), each figure it shows saved as tutorial-N.png."""
    import base64

    import nbformat
    from nbclient import NotebookClient

    path = IMAGES.parent / "tutorial.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    images = [o["data"]["image/png"] for cell in notebook.cells if cell.cell_type == "code"
              for o in cell.outputs if "image/png" in o.get("data", {})]
    for old in IMAGES.glob("tutorial-*.png"):
        old.unlink()
    for i, data in enumerate(images, 1):
        (IMAGES / f"tutorial-{i}.png").write_bytes(base64.b64decode(data))
    print(f"wrote docs/images/tutorial-1.png … tutorial-{len(images)}.png")


FIGURES = {"run": run_figure, "validation": validation_figures, "policy": policy_figure,
           "claims": claims_figure, "forecast": forecast_figure, "tutorial": tutorial_figures}

if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or list(FIGURES):
        FIGURES[name]()
