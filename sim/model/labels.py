"""The outcome rule: alive, zombie or dead, from dated activity typed by level.

One rule for a case record and for a simulated run: both are lists of events (quarter, level,
kind), and the rule reads nothing else. It follows Gray (2018), whose zombies are organizations
that go on existing and meeting without progress toward their mandates, and adapts it to informal
groups, whose record is their meetings and joint documents (docs/validation.md):

- The group's **apex level** is the highest level (officials < ministers < leaders) at which it
  has had at least `apex_repeat` events (meetings or joint documents) within `apex_window_months`.
  It only moves up, unless a `format` event sets it (the group decides to change its format).
- After a founding grace period of `grace_months`, the group is a **zombie** in a quarter when it
  has had no meeting or document at its apex level for `zombie_months`; it revives at its next
  apex event. Officials' work, a secretariat's own included, keeps a group from death, not from
  zombiehood.
- It is **dead** (for good) after a termination act, when fewer than `min_members` members
  remain, or after `dormant_months` with no activity at any level. A vacant chair is not death.

Months are counted in whole quarters (a window of 24 months is 8 quarters).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

LEVELS = ("officials", "ministers", "leaders")
ACTIVITY_KINDS = ("meeting", "document", "fund")  # what counts as activity
APEX_KINDS = ("meeting", "document")  # what can set or keep the apex level
ALIVE, ZOMBIE, DEAD = 0, 1, 2
STATE_NAMES = ("alive", "zombie", "dead")


@dataclass(frozen=True)
class Rule:
    """The rule's windows (months, whole quarters) and counts; defaults as in docs/validation.md.

    apex_repeat: events at a level within apex_window_months that make it the apex (1 to 10).
    apex_window_months: window for the apex level (3 to 120 months).
    grace_months: founding period in which a group is not yet judged a zombie (0 to 120).
    zombie_months: months without an apex event after which a group is a zombie (3 to 120).
    dormant_months: months without any activity after which a group is dead (3 to 240).
    """

    apex_repeat: int = 2
    apex_window_months: int = 36
    grace_months: int = 24
    zombie_months: int = 24
    dormant_months: int = 60

    def __post_init__(self):
        for name, low, high in (("apex_repeat", 1, 10), ("apex_window_months", 3, 120),
                                ("grace_months", 0, 120), ("zombie_months", 3, 120),
                                ("dormant_months", 3, 240)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} = {value!r}: allowed a whole number {low} to {high}")
            if name.endswith("months") and value % 3:
                raise ValueError(f"{name} = {value}: allowed whole quarters (a multiple of 3)")

    def quarters(self, name: str) -> int:
        return getattr(self, name) // 3

    def scaled(self, factor: float) -> Rule:
        """Every window times `factor`, rounded to whole quarters (for sensitivity analysis)."""
        def months(value: int, low: int) -> int:
            return max(low, 3 * round(value * factor / 3))

        return Rule(self.apex_repeat, months(self.apex_window_months, 3),
                    months(self.grace_months, 0), months(self.zombie_months, 3),
                    months(self.dormant_months, 3))


@dataclass(frozen=True)
class Event:
    """One dated item of activity or of membership: quarter from the start (0 = founding)."""

    quarter: int
    level: int  # index into LEVELS
    kind: str  # meeting, document, fund, format, termination, join, exit, chair
    member: str = ""


@dataclass(frozen=True)
class Labels:
    """Per quarter: the state (ALIVE, ZOMBIE, DEAD), the apex level and why a group died."""

    state: np.ndarray  # int8, one per quarter
    apex: np.ndarray  # int8, index into LEVELS
    death_cause: str | None

    def names(self) -> list[str]:
        return [STATE_NAMES[s] for s in self.state]


def label(events: Iterable[Event], quarters: int, founders: int, min_members: int,
          rule: Rule | None = None) -> Labels:
    """The state of a group in each of its first `quarters` quarters, from its events."""
    rule = rule or Rule()
    events = sorted(events, key=lambda e: e.quarter)
    counts = np.zeros((quarters, len(LEVELS)), dtype=np.int64)  # apex events per level
    active = np.zeros(quarters, dtype=bool)
    members = np.zeros(quarters, dtype=np.int64)
    formats: dict[int, int] = {}
    terminated_at = None
    change = np.zeros(quarters + 1, dtype=np.int64)
    for e in events:
        if not 0 <= e.quarter < quarters:
            continue
        if e.kind in APEX_KINDS:
            counts[e.quarter, e.level] += 1
        if e.kind in ACTIVITY_KINDS:
            active[e.quarter] = True
        elif e.kind == "format":
            formats[e.quarter] = e.level
        elif e.kind == "termination" and terminated_at is None:
            terminated_at = e.quarter
        elif e.kind in ("join", "exit"):
            change[e.quarter] += 1 if e.kind == "join" else -1
    members[:] = founders + np.cumsum(change[:quarters])
    window = rule.quarters("apex_window_months")
    grace, zombie_after = rule.quarters("grace_months"), rule.quarters("zombie_months")
    dormant = rule.quarters("dormant_months")
    state = np.zeros(quarters, dtype=np.int8)
    apex_levels = np.zeros(quarters, dtype=np.int8)
    apex = 0
    last_apex = 0  # founding counts as an apex event
    last_active = 0
    counted_from = 0
    cause = None
    cumulative = np.vstack([np.zeros((1, len(LEVELS)), dtype=np.int64), np.cumsum(counts, 0)])
    for q in range(quarters):
        if cause is None:
            if q in formats:  # a new format: events before it no longer set the apex
                counted_from = q
            in_window = cumulative[q + 1] - cumulative[max(counted_from, q + 1 - window)]
            qualified = [lv for lv in range(len(LEVELS)) if in_window[lv] >= rule.apex_repeat]
            if q in formats:
                apex = formats[q]
            elif qualified and max(qualified) > apex:
                apex = max(qualified)
            if counts[q, apex:].sum() > 0:
                last_apex = q
            if active[q]:
                last_active = q
            if terminated_at is not None and q >= terminated_at:
                cause = "termination"
            elif members[q] < min_members:
                cause = "members"
            elif q - last_active >= dormant:
                cause = "dormant"
        apex_levels[q] = apex
        if cause is not None:
            state[q] = DEAD
        elif q >= grace and q - last_apex >= zombie_after:
            state[q] = ZOMBIE
        else:
            state[q] = ALIVE
    return Labels(state, apex_levels, cause)
