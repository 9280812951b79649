"""Redraw the README's validation figures (docs/images/validation-*.png) from the model.

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


if __name__ == "__main__":
    validation_figures()
