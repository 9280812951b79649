"""Outcomes of runs: the alive / zombie / dead classification and the run summary.

After Gray (2018): a group is dead when it has too few active members or its chair has lapsed
too long; a zombie when it exists on paper with little real activity (vitality, the mean output
over the last `zombie_window` quarters relative to the base rate, below `zombie_threshold`);
alive otherwise. Death is absorbing; a zombie can revive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.model import rules
from sim.model.params import GroupParams
from sim.model.trajectory import Trajectory

SUMMARY_KEYS = ("outcome", "death_quarter", "death_cause", "first_zombie_quarter",
                "zombie_quarters", "revivals", "exits", "vacancies", "total_outputs",
                "rival_joins", "seed")


def classify_series(outputs, active_members, term_vacant, group: GroupParams,
                    ) -> tuple[np.ndarray, int]:
    """States quarter by quarter of a hand-made (or recorded) series, and the death cause.

    `term_vacant[t]` is True if a chair term starting at t found no chair. Quarters after death
    are DEAD.
    """
    outputs = np.asarray(outputs)
    states = np.full(len(outputs), rules.DEAD, dtype=np.int8)
    vacant_in_a_row = 0
    for t in range(len(outputs)):
        vacant_in_a_row = int(rules.vacancies_in_a_row(
            vacant_in_a_row, rules.is_term_start(t, group.chair_term), term_vacant[t]))
        dead, cause = rules.death(active_members[t], group.min_members, vacant_in_a_row,
                                  group.vacancy_limit)
        window_full = t + 1 >= group.zombie_window
        window = outputs[max(0, t - group.zombie_window + 1): t + 1].sum()
        vitality = rules.vitality(window, group.zombie_window, group.base_rate)
        states[t] = rules.group_state(dead, vitality, window_full, group.zombie_threshold)
        if dead:
            return states, int(cause)
    return states, rules.NO_CAUSE


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
        "total_outputs": np.where(ran, outputs, 0).sum(axis=-1),
        "rival_joins": (final_rival & ~np.asarray(rival_at_start)).sum(axis=-1),
    }


def summarize(trajectory: Trajectory) -> dict[str, Any]:
    """The run summary: the keys of `SUMMARY_KEYS`, as plain Python values (None for 'never')."""
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
