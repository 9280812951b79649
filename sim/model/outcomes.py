"""Outcomes of runs: the alive / zombie / dead classification and the run summary.

The classification is the outcome rule of `sim.model.labels` (docs/validation.md), applied by
the engines quarter by quarter in their `assess_outcome` phase: a zombie has had no meeting or
document at its apex level for `zombie_months`; a group is dead when too few members remain or
it has had no activity at any level for `dormant_months`. Death is absorbing; a zombie revives
at its next apex event.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.errors import typed_argument
from sim.model import group_rules, rules
from sim.model.labels import label_series, rule_of
from sim.model.params import GroupParams
from sim.model.trajectory import Trajectory

SUMMARY_KEYS = ("outcome", "death_quarter", "death_cause", "first_zombie_quarter",
                "zombie_quarters", "revivals", "exits", "vacancies", "chair_repeats",
                "total_outputs",
                "rival_joins", "seed")


def classify_series(officials, ministers, leaders, active_members, group: GroupParams,
                    vacant_in_a_row=None, undefended_in_a_row=None) -> tuple[np.ndarray, int]:
    """States quarter by quarter of a hand-made (or recorded) series of outputs per level and
    active members (and, where the members wind the group up after `termination_terms` vacant
    chair terms in a row or dissolve it after `dissolve_terms` terms without a defender, of
    those terms), and the death cause; quarters after death are DEAD."""
    officials, ministers, leaders = (np.asarray(a) for a in (officials, ministers, leaders))
    terminated = None if vacant_in_a_row is None else group_rules.wound_up(
        vacant_in_a_row, group.termination_terms)
    dissolution = None if undefended_in_a_row is None else group_rules.dissolved(
        undefended_in_a_row, group.dissolve_terms, group.secretariat,
        group.secretariat_reprieve)
    labels = label_series(officials, ministers, leaders, officials + ministers + leaders > 0,
                          np.asarray(active_members), group.min_members, rule_of(group),
                          terminated, dissolution=dissolution)
    cause = rules.NO_CAUSE if labels.death_cause is None else rules.CAUSE_NAMES.index(
        labels.death_cause)
    return labels.state, cause


def summary_arrays(state, outputs, chair, new_term, status, in_rival, rival_at_start,
                   quarters_run, death_cause) -> dict[str, np.ndarray]:
    """Summary columns of one run or a batch (leading axes), from recorded series.

    Shapes: group series (..., T); member series (..., T, N); `rival_at_start` (..., N);
    `quarters_run` and `death_cause` (...). Quarters from `quarters_run` on are ignored.
    """
    state = np.asarray(state)
    t = np.arange(state.shape[-1])
    quarters_run = np.asarray(quarters_run)
    ran = t < quarters_run[..., None]
    last = np.maximum(quarters_run - 1, 0)[..., None]
    final = np.take_along_axis(state, last, axis=-1)[..., 0]
    zombie = ran & (state == rules.ZOMBIE)
    revived = ran[..., 1:] & (state[..., :-1] == rules.ZOMBIE) & (state[..., 1:] == rules.ALIVE)
    final_status = np.take_along_axis(np.asarray(status), last[..., None], axis=-2)[..., 0, :]
    final_rival = np.take_along_axis(np.asarray(in_rival), last[..., None], axis=-2)[..., 0, :]
    return {
        "outcome": final,
        "death_quarter": np.where(final == rules.DEAD, quarters_run - 1, -1),
        "death_cause": np.where(final == rules.DEAD, death_cause, rules.NO_CAUSE),
        "first_zombie_quarter": np.where(zombie.any(axis=-1), zombie.argmax(axis=-1), -1),
        "zombie_quarters": zombie.sum(axis=-1),
        "revivals": revived.sum(axis=-1),
        "exits": (final_status == rules.EXITED).sum(axis=-1),
        "vacancies": (ran & np.asarray(new_term) & (np.asarray(chair) == rules.VACANT)).sum(-1),
        "chair_repeats": (ran & group_rules.chair_repeats(chair, new_term)).sum(axis=-1),
        "total_outputs": np.where(ran, outputs, 0).sum(axis=-1),
        "rival_joins": (final_rival & ~np.asarray(rival_at_start)).sum(axis=-1),
    }


def states_of_runs(states, quarters_run) -> np.ndarray:
    """Each run's state in every quarter of the horizon (runs, quarters) as int8: quarters after
    a run's death, which were not simulated, are DEAD (death is absorbing)."""
    states = np.array(states, dtype=np.int8, ndmin=2)
    after = np.arange(states.shape[-1]) >= np.asarray(quarters_run).reshape(-1, 1)
    states[after] = rules.DEAD
    return states


def summarize(trajectory: Trajectory) -> dict[str, Any]:
    """The run summary: the keys of `SUMMARY_KEYS`, as plain Python values (None for 'never')."""
    typed_argument(trajectory, Trajectory, "summarize", "trajectory",
                   "a run's Trajectory (MinilateralModel.trajectory)")
    s = trajectory.series
    arrays = summary_arrays(s["state"], s["outputs"], s["chair"], s["new_term"], s["status"],
                            s["in_rival"], trajectory.rival_at_start, trajectory.quarters_run,
                            trajectory.death_cause)
    return to_records(arrays, np.array([trajectory.seed]))[0]


def to_records(arrays: dict[str, np.ndarray], seeds) -> list[dict[str, Any]]:
    """Summary arrays (one entry per run) as dicts with names and None for 'never'."""
    out = []
    for r, seed in enumerate(np.ravel(seeds)):
        row: dict[str, Any] = {}
        for key in SUMMARY_KEYS:
            if key == "seed":
                row[key] = int(seed)
                continue
            value = int(np.ravel(arrays[key])[r])
            if key == "outcome":
                row[key] = rules.STATE_NAMES[value]
            elif key == "death_cause":
                row[key] = rules.CAUSE_NAMES[value]
            elif key in ("death_quarter", "first_zombie_quarter"):
                row[key] = None if value < 0 else value
            else:
                row[key] = value
        out.append(row)
    return out
