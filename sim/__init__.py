"""minilateral-sim: an agent-based model of the survival of small informal groups of states.

The public API, in a notebook as on the command line::

    import sim
    scenario = sim.load_scenario("mikta", {"group.secretariat": True})
    runs = sim.simulate(scenario, seeds=range(100))          # the fast engine
    model = sim.MinilateralModel(scenario, seed=1)           # the Mesa engine, step by step
    experiment = sim.load_experiment("experiments/smoke.toml")
    sim.execute(experiment, "results/smoke")
    table = sim.evaluate(scenario, seeds=range(100), workers=2)  # any runs, a table of them
    sim.calibrate_file("experiments/joint-calibration.toml", "results/joint", draws=3000)

Subpackages by role: `sim.model` (parameters, rules, random tape, phases, engines),
`sim.experiments` (designs, execution, storage), `sim.inference` (statistics, calibration,
claims) and `sim.reporting` (figures, reports). Names load on first use, so importing `sim`
costs little and changes nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "Scenario": "sim.model.params",
    "load_scenario": "sim.model.scenario_files",
    "with_overrides": "sim.model.scenario_files",
    "MinilateralModel": "sim.model.mesa_engine",
    "simulate": "sim.model.simulation",
    "summarize": "sim.model.outcomes",
    "load_experiment": "sim.experiments.design",
    "execute": "sim.experiments.execution",
    "evaluate": "sim.experiments.evaluation",
    "calibrate_file": "sim.reporting.calibration_folder",
    "load_claims": "sim.inference.claims",
    "run_claims": "sim.inference.claims",
    "plot_run": "sim.reporting.figures",
    "write_report": "sim.reporting.report",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *__all__]
