"""Redraw the README's validation figures (docs/images/validation-*.png) and its figure of a
policy at a date (docs/images/policy-secretariat-2027.png) from the model.

python docs/make_images.py
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


if __name__ == "__main__":
    validation_figures()
    policy_figure()
