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

from sim.model import group_rules, rules
from sim.model.files import Refused, check_value
from sim.model.params import DECLARED, GroupParams

LEVELS = rules.LEVEL_NAMES
ACTIVITY_KINDS = ("meeting", "document", "fund")  # what counts as activity
APEX_KINDS = ("meeting", "document")  # what can set or keep the apex level
STATE_NAMES = rules.STATE_NAMES
RULE_FIELDS = ("apex_repeat", "apex_window_months", "grace_months", "zombie_months",
               "dormant_months")


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
        for name in RULE_FIELDS:  # in the ranges of the group's parameters of the same names
            kind, spec = DECLARED[GroupParams][name]
            value = getattr(self, name)
            try:
                check_value(value, kind, spec)
            except Refused:
                raise ValueError(f"{name} = {value!r}: allowed a whole number {spec.low} to "
                                 f"{spec.high}") from None
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


def members_by_quarter(events: Iterable[Event], quarters: int, founders: int) -> np.ndarray:
    """Members in each of the first `quarters` quarters: the founders with the joins and exits."""
    change = np.zeros(quarters, dtype=np.int64)
    for e in events:
        if e.kind in ("join", "exit") and 0 <= e.quarter < quarters:
            change[e.quarter] += 1 if e.kind == "join" else -1
    return founders + np.cumsum(change)


def label(events: Iterable[Event], quarters: int, founders: int, min_members: int,
          rule: Rule | None = None) -> Labels:
    """The state of a group in each of its first `quarters` quarters, from its events."""
    counts = np.zeros((len(LEVELS), quarters), dtype=np.int64)  # meetings and documents
    active = np.zeros(quarters, dtype=bool)
    formats: dict[int, int] = {}
    terminated = np.zeros(quarters, dtype=bool)
    events = list(events)
    for e in events:
        if not 0 <= e.quarter < quarters:
            continue
        if e.kind in APEX_KINDS:
            counts[e.level, e.quarter] += 1
        if e.kind in ACTIVITY_KINDS:
            active[e.quarter] = True
        elif e.kind == "format":
            formats[e.quarter] = e.level
        elif e.kind == "termination":
            terminated[e.quarter:] = True
    members = members_by_quarter(events, quarters, founders)
    return label_series(*counts, active, members, min_members, rule, terminated, formats)


def label_series(officials, ministers, leaders, active, members, min_members: int,
                 rule: Rule | None = None, terminated=None, formats=None,
                 dissolution=None) -> Labels:
    """The outcome rule over series of one group, quarter by quarter, with the rules the
    engines apply in their `assess_outcome` phase: meetings and documents per level, whether
    the group was active at any level, its members, termination (a record's act, or a run's
    vacant chair terms), the members' dissolution (runs) and format changes (records)."""
    states, apex, causes = label_batch(
        np.asarray([officials]), np.asarray([ministers]), np.asarray([leaders]),
        np.asarray([active]), np.asarray([members]), min_members, rule,
        None if terminated is None else np.asarray([terminated]), formats,
        None if dissolution is None else np.asarray([dissolution]))
    cause = None if causes[0] == rules.NO_CAUSE else rules.CAUSE_NAMES[int(causes[0])]
    return Labels(states[0], apex[0], cause)


def label_batch(officials, ministers, leaders, active, members, min_members: int,
                rule: Rule | None = None, terminated=None, formats=None, dissolution=None):
    """`label_series` for R groups at once: series (R, T); returns states (R, T), apex levels
    (R, T) and death causes (R,). Quarters after a group's death are DEAD."""
    rule = rule or Rule()
    runs, quarters = np.shape(officials)
    terminated = np.zeros((runs, quarters), bool) if terminated is None else terminated
    dissolution = np.zeros((runs, quarters), bool) if dissolution is None else dissolution
    formats = formats or {}
    window_q, grace_q = rule.quarters("apex_window_months"), rule.quarters("grace_months")
    zombie_q, dormant_q = rule.quarters("zombie_months"), rule.quarters("dormant_months")
    levels = np.stack([officials, ministers, leaders]).astype(np.int64)  # (3, R, T)
    cumulative = np.concatenate([np.zeros((3, runs, 1), np.int64), np.cumsum(levels, -1)], -1)
    state = np.zeros((runs, quarters), dtype=np.int8)
    apex_levels = np.zeros((runs, quarters), dtype=np.int8)
    apex = np.full(runs, rules.OFFICIALS, dtype=np.int64)
    last_apex = np.zeros(runs, dtype=np.int64)
    last_active = np.zeros(runs, dtype=np.int64)
    cause = np.full(runs, rules.NO_CAUSE, dtype=np.int64)
    dead_before = np.zeros(runs, dtype=bool)
    counted_from = 0
    for q in range(quarters):
        if q in formats:  # a new format: earlier events no longer set the apex
            counted_from, apex[:] = q, formats[q]
        window = cumulative[:, :, q + 1] - cumulative[:, :, max(counted_from, q + 1 - window_q)]
        apex = group_rules.apex_step(apex, window[0], window[1], window[2], rule.apex_repeat)
        happened = group_rules.apex_event(apex, levels[0, :, q], levels[1, :, q], levels[2, :, q])
        last_apex = group_rules.last_quarter(last_apex, happened, q)
        last_active = group_rules.last_quarter(last_active, np.asarray(active[:, q], bool), q)
        dead, why = group_rules.death(np.asarray(members[:, q]), min_members, q - last_active,
                                      dormant_q, np.asarray(terminated[:, q], bool),
                                      np.asarray(dissolution[:, q], bool))
        dying = dead & ~dead_before
        cause = np.where(dying, why, cause)
        dead_before = dead_before | dead
        apex_levels[:, q] = np.where(dead_before & ~dying, apex_levels[:, max(q - 1, 0)], apex)
        state[:, q] = group_rules.group_state(dead_before, q, q - last_apex, grace_q, zombie_q)
    return state, apex_levels, cause


def rule_of(group) -> Rule:
    """The outcome rule a scenario's group parameters set."""
    return Rule(group.apex_repeat, group.apex_window_months, group.grace_months,
                group.zombie_months, group.dormant_months)
