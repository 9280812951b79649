"""Does the model explain decay at its shipped defaults? Every figure of docs/validation.md's
"Decay at the defaults": the population against the published life of international
organizations, and the cases and a neutral group over their own horizons (fast engine).

    python docs/decay_criteria.py [RUNS] [OVERRIDES.json]   # 1,000 runs a scenario by default

With a JSON file of dotted keys, the same figures at those values instead (e.g. another fit's
calibrated point), for the refit-stability check of docs/calibration.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from sim.inference.population import run_population
from sim.inference.population_file import load_population
from sim.inference.population_tables import DECISIONS
from sim.model import rules
from sim.model.fast_engine import run_batch
from sim.model.scenario_files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
POPULATION = ROOT / "experiments" / "population-igo.toml"
SHIPPED = ("mikta", "mikta-formal", "ibsa", "generic-5")
GRAY_30 = {"alive": 0.52, "zombie": 0.38, "dead": 0.10}  # gray2018 p. 1; figures.csv


def states(scenario, runs: int):
    """Each run's state in every quarter (dead after its death) and its summary."""
    batch = run_batch(scenario, range(runs), record_series=True)
    matrix = np.full((runs, scenario.quarters), rules.DEAD)
    for k, t in enumerate(batch.trajectories):
        matrix[k, :t.quarters_run] = t.series["state"][:t.quarters_run]
    return matrix, batch.summary


def shares(summary) -> dict[str, float]:
    return {name: float(np.mean(summary["outcome"] == code))
            for name, code in (("alive", rules.ALIVE), ("zombie", rules.ZOMBIE),
                               ("dead", rules.DEAD))}


def cases(runs: int, values: dict) -> dict:
    out = {}
    for name in SHIPPED:
        scenario = load_scenario(name, values)
        _, summary = states(scenario, runs)
        out[name] = shares(summary) | {"exits": float(np.mean(summary["exits"] > 0))}
    mikta = load_scenario("mikta", values)
    matrix, _ = states(mikta, runs)
    ends = [mikta.quarter_index(f"{y}Q4") for y in range(2014, 2026)]
    out["mikta alive at every year end 2014-2025"] = float(
        np.mean((matrix[:, ends] == rules.ALIVE).all(axis=1)))
    ibsa = load_scenario("ibsa", values)
    matrix, _ = states(ibsa, runs)
    q = ibsa.quarter_index
    out["ibsa no zombie 2003Q3-2011Q2"] = float(np.mean(
        (matrix[:, q("2003Q3"):q("2011Q2") + 1] == rules.ALIVE).all(axis=1)))
    out["ibsa zombie at the end of 2018"] = float(np.mean(matrix[:, q("2018Q4")] == rules.ZOMBIE))
    out["ibsa not dead at the end of 2024"] = float(np.mean(matrix[:, q("2024Q4")] != rules.DEAD))
    no_rival = load_scenario("generic-5", {**values, "world.rival_pull": 0.0})
    _, summary = states(no_rival, runs)
    out["generic-5 without a rival bloc: runs with an exit"] = float(np.mean(summary["exits"] > 0))
    return out


def population(values: dict) -> dict:
    """The shipped population at `values` (every group), read as its report reads it."""
    spec = load_population(POPULATION)
    if values:  # the same values in every drawn group: through the base scenarios' strata
        import dataclasses

        from sim.model.scenario_files import with_overrides
        strata = tuple(dataclasses.replace(s, base=with_overrides(s.base, values))
                       for s in spec.strata)
        spec = dataclasses.replace(spec, strata=strata)
    with tempfile.TemporaryDirectory() as folder:
        result = run_population(spec, Path(folder) / "population", workers=2)
    t = result.tables
    life = t.life_table.set_index(["stratum", "age"])
    hazard = t.hazard.set_index(["stratum", "ages"])
    causes = t.causes.set_index(["stratum", "cause"])
    out = {}
    for stratum in ("formal", "informal"):
        row = life.loc[(stratum, 30)]
        out[f"{stratum} at 30 years"] = {n: float(row[f"share_{n}"]) for n in GRAY_30}
        band = {b: float(hazard.loc[(stratum, b), "rate_per_100"]) for b in ("1-10", "21-30")}
        out[f"{stratum} deaths per 100 group-years, ages 1-10 / 21-30"] = band
        out[f"{stratum} deaths at ages 1-10"] = int(hazard.loc[(stratum, "1-10"), "deaths"])
        dead = causes.loc[stratum]
        decided = dead.loc[list(DECISIONS), "deaths"].sum()
        total = dead["deaths"].sum()
        out[f"{stratum} share of deaths by members' decisions"] = float(decided / total) \
            if total else float("nan")
        out[f"{stratum} deaths by cause"] = {str(c): int(n) for c, n in dead["deaths"].items()}
    cox = t.cox.set_index("covariate")
    out["cox hazard ratios"] = {k: float(cox.loc[k, "hazard_ratio"]) for k in cox.index}
    out["targets inside"] = f"{int(t.targets['inside'].sum())} of {len(t.targets)}"
    out["targets"] = t.targets[["figure", "role", "simulated", "published", "tolerance",
                                "inside"]].to_dict("records")
    return out


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    values = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else {}
    print(json.dumps({"cases": cases(runs, values), "population": population(values)},
                     indent=1, default=float))
