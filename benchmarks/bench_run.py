"""Time one 30-year run of the Mesa engine on the mikta scenario: the median of 20 runs.

Usage: python benchmarks/bench_run.py [--runs 20] [--scenario mikta] [--years 30]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from sim.model.mesa_engine import MinilateralModel
from sim.model.scenario_files import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenario", default="mikta")
    parser.add_argument("--years", type=int, default=30)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, years=args.years)
    MinilateralModel(scenario, seed=10_000).run()  # warm-up: imports and caches
    times, quarters = [], []
    for seed in range(args.runs):
        start = time.perf_counter()
        trajectory = MinilateralModel(scenario, seed=seed).run()
        times.append(time.perf_counter() - start)
        quarters.append(trajectory.quarters_run)
    median = statistics.median(times)
    print(f"scenario {args.scenario}, {args.years} years, Mesa engine, {args.runs} runs "
          f"(seeds 0-{args.runs - 1}) on {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    print(f"median {median * 1000:.1f} ms per run "
          f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}); "
          f"{statistics.mean(quarters):.0f} quarters simulated on average; "
          f"{median / statistics.mean(quarters) * 1e6:.0f} µs per quarter")


if __name__ == "__main__":
    main()
