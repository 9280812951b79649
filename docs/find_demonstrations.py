"""Seeds for docs/teaching.md's demonstrations, and the shares over 300 seeds that the guide quotes.

For each demonstration: the first seeds (from 0) where the run with the levers moved ends as the
demonstration needs and the unchanged scenario, with the same seed, ends as it should; then the
share of 300 seeds alive / zombie / dead with and without the levers (fast engine). Run it after
a change of the model, then update docs/teaching.md, tests/test_app.py's DEMONSTRATIONS and the
screenshots (`benchmarks/bench_app.py --screenshots docs/images`).

    python docs/find_demonstrations.py [--seeds 200] [--show 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from sim.app.story import TeachingModel, lever_changes
from sim.model.scenario_files import load_scenario
from sim.model.simulation import simulate
from sim.reporting.narrative import headline

SCENARIO = "mikta"
# name, levers (the page's), what the changed run's headline must start with, the unchanged one's;
# "…, after" is looked for among the seeds found for the entry before it (the same shocks)
DEMONSTRATIONS: list[tuple[str, dict, str, str | None]] = [
    ("austerity", {"budget_trend": -0.03}, "ZOMBIE", "ALIVE"),
    ("vacuum", {"chair_boost": 0.0}, "ZOMBIE", "ALIVE"),
    ("secretariat, before", {"budget_trend": -0.06}, "ZOMBIE", "ALIVE"),
    ("secretariat, after", {"budget_trend": -0.06, "secretariat": True}, "ALIVE", None),
    ("brics", {"rival_pull": 5.0}, "ZOMBIE", "ALIVE"),
]


def titles(seed: int, levers: dict) -> list[str]:
    """The headlines of the changed run and of the unchanged scenario, with one seed."""
    model = TeachingModel(SCENARIO, seed=seed, compare=True, **levers)
    while model.running:
        model.step()
    return [headline(run.trajectory, run.scenario).title for run in model.runs]


def shares(overrides: dict, runs: int = 300) -> str:
    """Alive / zombie / dead in % over `runs` seeds (fast engine)."""
    outcomes = [s["outcome"] for s in simulate(load_scenario(SCENARIO, overrides),
                                               list(range(runs))).summaries]
    return " / ".join(f"{100 * np.mean([o == k for o in outcomes]):.0f} %"
                      for k in ("alive", "zombie", "dead"))


def overrides_of(levers: dict) -> dict:
    """The scenario keys the page's levers set (as the page sets them)."""
    return lever_changes(levers, {})


def find(levers: dict, changed: str, unchanged: str | None, seeds, show: int
         ) -> list[tuple[int, list[str]]]:
    """Up to `show` of `seeds` where the two runs end as wanted, with their headlines."""
    found = []
    for seed in seeds:
        pair = titles(seed, levers)
        if pair[0].startswith(changed) and (unchanged is None or pair[1] == unchanged):
            found.append((seed, pair))
            if len(found) == show:
                break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--show", type=int, default=3)
    args = parser.parse_args()
    print(f"{SCENARIO} unchanged, 300 seeds (alive / zombie / dead): {shares({})}")
    found: list[tuple[int, list[str]]] = []
    for name, levers, changed, unchanged in DEMONSTRATIONS:
        print(f"\n{name}: {levers}; 300 seeds: {shares(overrides_of(levers))}")
        after = name.endswith("after")  # among the seeds found for "before", the same shocks
        seeds = [seed for seed, _ in found] if after else range(args.seeds)
        found = find(levers, changed, unchanged, seeds, len(seeds) if after else args.show)
        for seed, pair in found:
            print(f"  seed {seed}: {pair[0]}  |  unchanged: {pair[1]}")


if __name__ == "__main__":
    main()
