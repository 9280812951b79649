"""What each route to exit and death does: a small sweep over `generic-5` and `mikta` with the
decay routes of docs/ODD.md §9 switched on, one at a time and together, at plausible values
(placeholders until the joint refit), with budgets as the scenario has them and falling 3 % a
year for every member (the sources' shrinking resources).

    python docs/decay_routes.py [RUNS]    # prints the table of docs/ODD.md §9 (1,000 runs)
"""

from __future__ import annotations

import sys

import numpy as np

from sim.model import rules
from sim.model.fast_engine import run_batch
from sim.model.response import STEEP_FLOOR, WEIGHED, count_steep
from sim.model.scenario_files import load_scenario

SCENARIOS = ("generic-5", "mikta")
REVIEW = {"mechanisms.review": "own_valuation", "group.review_spread": 0.5}
CONVENE = {"group.convene_threshold": 0.1}  # a member as disengaged as M10's exit threshold
TERMINATION = {**CONVENE, "group.termination_terms": 2}
RELATIVE = {"mechanisms.engagement": "relative", "group.relative_sensitivity": 4.0}
FORMS = {
    "defaults": {},
    "(a) own valuation": REVIEW,
    "(a) without a rival bloc": {**REVIEW, "world.rival_pull": 0.0},
    "(c) chair will not convene": CONVENE,
    "(b) + (c) termination": TERMINATION,
    "value: relative": RELATIVE,
    "all": {**REVIEW, **TERMINATION, **RELATIVE},
}
BUDGETS = {"own": {}, "-3 %/yr": {"members.*.budget_trend": -0.03,
                                  "members.*.budget_trend_after": -0.03}}
RECORD_END = "2025Q4"  # the end of MIKTA's record: no exit, no vacant chair term


def row(name: str, form: dict, budget: dict, runs: int) -> list[str]:
    """One line of the table: shares of runs in %, and the steep share of member-quarters."""
    scenario = load_scenario(name, {**form, **budget})
    batch = run_batch(scenario, range(runs), also_record=WEIGHED)
    s = batch.summary
    record = scenario.quarter_index(RECORD_END) + 1
    by_record = np.mean([(t.upto("status")[:record] == rules.EXITED).any()
                         or (t.upto("new_term")[:record] & (t.upto("chair")[:record] == -1)).any()
                         for t in batch.trajectories])
    cause = {c: np.mean(s["death_cause"] == c) for c in (rules.CAUSE_MEMBERS, rules.CAUSE_DORMANT,
                                                         rules.CAUSE_TERMINATION)}
    steep = count_steep(batch.trajectories, [scenario] * runs)
    shares = [np.mean(s["exits"] > 0), np.mean(s["vacancies"] > 0), *cause.values(),
              np.mean(s["outcome"] == rules.DEAD), np.mean(s["outcome"] == rules.ZOMBIE),
              by_record, steep.share]
    return [name, "−3 %/yr" if budget else "own", *(f"{100 * x:.1f}" for x in shares)]


def table(runs: int) -> str:
    head = ["scenario", "budgets", "exits", "vacancy", "dead: members", "dead: dormant",
            "dead: termination", "dead at 30 y", "zombie at 30 y",
            f"exit or vacancy by {RECORD_END}", f"steep (> {STEEP_FLOOR}/unit)"]
    lines = ["| form | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for label, form in FORMS.items():
        for name in SCENARIOS:
            for budget in BUDGETS.values():
                lines.append(f"| {label} | " + " | ".join(row(name, form, budget, runs)) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(f"% of {int(sys.argv[1]) if len(sys.argv) > 1 else 1000} runs (steep: % of active "
          "member-quarters), 30 years, fast engine, seeds 0 ...")
    print(table(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
