"""A run told in words: the dated event log and the group's state as a headline.

Read from the run's record (`Trajectory`) and its scenario only, so the log of a run is the same
whether it was stepped in the teaching page or run in one go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.errors import format_value
from sim.model import rules
from sim.model.params import Change, Scenario
from sim.model.trajectory import Trajectory

CAUSE_TEXT = {
    "members": "too few members (fewer than {min_members} active)",
    "dormant": "dormancy (no activity at any level for {dormant_months} months)",
    "termination": "termination (the members stopped convening: {termination_terms} chair terms "
                   "in a row without a convener)",
    "dissolution": "dissolution (the members wound the group up: {dissolve_terms} chair terms in "
                   "a row in which no member valued it at {dissolve_value} or more)",
}


@dataclass(frozen=True)
class LogEntry:
    """One line of the event log."""

    quarter: int
    date: str  # e.g. '2017 Q4'
    text: str  # e.g. 'Australia: budget ×0.5'
    kind: str  # policy, scenario, world, chair, member, rival or group
    note: str = ""  # the scenario's source or reason, for scenario events

    def __str__(self) -> str:
        return f"{self.date} — {self.text}"


@dataclass(frozen=True)
class Headline:
    """The group's state after the last simulated quarter, for a banner."""

    state: str  # alive, zombie, dead; 'alive' before the first quarter
    title: str  # ALIVE / ZOMBIE since 2019 Q3 / DEAD in 2024 Q1 of cause: ...
    detail: str  # the quarter, apex level, chair and members active


# How a change at a date of a true/false key reads: (when it becomes true, when false)
SWITCH_TEXT = {
    "group.secretariat": ("the members adopt a secretariat", "the members close the secretariat"),
    "group.treaty": ("the members sign a treaty", "the members end the treaty"),
}


def change_text(change: Change, scenario: Scenario) -> str:
    """A change at a date in words: its note if it has one, else what it sets."""
    if change.note:
        return change.note
    return change_label(change, scenario)


def change_label(change: Change, scenario: Scenario) -> str:
    """A change at a date, short: 'the members adopt a secretariat', 'Korea: budget_trend =
    -0.08 from now on'."""
    if change.key in SWITCH_TEXT and isinstance(change.value, bool):
        return SWITCH_TEXT[change.key][0 if change.value else 1]
    section, *rest = change.key.split(".")
    value = format_value(change.value)
    if section == "members":
        code, name = rest
        who = "every member" if code == "*" else next(
            (m.name or m.code for m in scenario.members if m.code == code), code)
        return f"{who}: {name} = {value} from now on"
    return f"{change.key} = {value} from now on"


def quarter_date(scenario: Scenario, quarter: int) -> str:
    """Quarter index as a date for people: '2017 Q4'."""
    return scenario.quarter_label(quarter).replace("Q", " Q")


def event_log(trajectory: Trajectory, scenario: Scenario) -> list[LogEntry]:
    """Every event of the quarters simulated so far, oldest first.

    Within a quarter: the changes at a date (policies), the scenario's dated events, the world
    (rival rounds, global crises), the chair, members (crises, ministers, invitations, joins,
    exits), then the group's state.
    """
    s = {name: trajectory.upto(name) for name in trajectory.series}
    names = [m.name or m.code for m in scenario.members]
    rival = scenario.world.rival_name
    dated = _dated_events(scenario)
    changes: dict[int, list[Change]] = {}
    for change in scenario.changes:
        changes.setdefault(scenario.quarter_index(change.date), []).append(change)
    entries: list[LogEntry] = []
    for t in range(trajectory.quarters_run):
        date = quarter_date(scenario, t)

        def add(text: str, kind: str, note: str = "", t=t, date=date) -> None:
            entries.append(LogEntry(t, date, text, kind, note))

        for change in changes.get(t, []):
            add(change_text(change, scenario), "policy",
                f"{change.key} = {format_value(change.value)} from {change.date}")

        status = s["status"][t]
        before = s["status"][t - 1] if t else np.full_like(status, rules.PENDING)
        forced = set()
        for i, kind, text, note in dated.get(t, []):
            if status[i] == rules.ACTIVE:
                add(f"{names[i]}: {text}", "scenario", note)
                if kind == "crisis":
                    forced.add(i)
        if s["rival_round"][t]:
            add(f"{rival} expansion round", "world")
        if s["global_crisis"][t] and not (t and s["global_crisis"][t - 1]):
            add("global crisis begins", "world")
        if s["new_term"][t]:
            chair = s["chair"][t]
            if chair == rules.VACANT:
                row = s["vacant_in_a_row"][t]
                add("chair term vacant: no member takes the chair"
                    + (f" ({row} in a row)" if row > 1 else ""), "chair")
            elif t and chair == s["chair"][t - 1]:
                add(f"{names[chair]} keeps the chair for another term: no other member can "
                    "take it", "chair")
            else:
                add(f"{names[chair]} takes the chair", "chair")
        for i, name in enumerate(names):
            if status[i] == rules.ACTIVE and before[i] == rules.PENDING and t > 0:
                add(f"{name} joins the group", "member")
            if status[i] == rules.EXITED and before[i] == rules.ACTIVE:
                add(f"{name} leaves the group", "member")
            if status[i] != rules.ACTIVE and before[i] != rules.ACTIVE:
                continue  # not a member during this quarter (one that left in it still was)
            crisis_began = s["crisis"][t, i] and not (t and s["crisis"][t - 1, i])
            if crisis_began and i not in forced:
                add(f"{name}: domestic crisis", "member")
            if s["new_minister"][t, i]:
                change = "new government and " if s["new_government"][t, i] else ""
                add(f"{name}: {change}new foreign minister (enthusiasm "
                    f"{s['enthusiasm'][t, i]:.2f})", "member")
            if s["invited"][t, i]:
                add(f"{rival} invites {name}", "rival")
            was_in = s["in_rival"][t - 1, i] if t else trajectory.rival_at_start[i]
            if s["in_rival"][t, i] and not was_in:
                add(f"{name} joins {rival}", "rival")
        state = s["state"][t]
        previous = s["state"][t - 1] if t else rules.ALIVE
        if state != previous:
            if state == rules.DEAD:
                add(f"the group dies of {_cause(trajectory, scenario)}", "group")
            elif state == rules.ZOMBIE:
                add("the group becomes a zombie", "group")
            else:
                add("the group revives", "group")
    return entries


def headline(trajectory: Trajectory, scenario: Scenario) -> Headline:
    """ALIVE, ZOMBIE since when, or DEAD when and why, after the last simulated quarter."""
    t = trajectory.quarters_run
    if t == 0:
        return Headline("alive", "ALIVE", f"{quarter_date(scenario, 0)} · not started yet")
    last = t - 1
    state = int(trajectory.state[last])
    date = quarter_date(scenario, last)
    if state == rules.ZOMBIE:
        since = last
        while since > 0 and trajectory.state[since - 1] == rules.ZOMBIE:
            since -= 1
        title = f"ZOMBIE since {quarter_date(scenario, since)}"
    elif state == rules.DEAD:
        title = f"DEAD in {date} of cause: {_cause(trajectory, scenario)}"
    else:
        title = "ALIVE"
    apex = rules.LEVEL_NAMES[int(trajectory.apex[last])]
    since = int(trajectory.since_apex[last])
    chair = int(trajectory.chair[last])
    detail = " · ".join([
        date,
        f"apex level: {apex}, last met at it {since} quarter{'s' if since != 1 else ''} ago",
        "chair vacant" if chair == rules.VACANT
        else f"chair {scenario.members[chair].name or scenario.members[chair].code}",
        f"{int(trajectory.active_members[last])} members active",
    ])
    return Headline(rules.STATE_NAMES[state], title, detail)


def _cause(trajectory: Trajectory, scenario: Scenario) -> str:
    name = rules.CAUSE_NAMES[trajectory.death_cause]
    g = scenario.group
    return CAUSE_TEXT[name].format(min_members=g.min_members, dormant_months=g.dormant_months,
                                   termination_terms=g.termination_terms,
                                   dissolve_terms=g.dissolve_terms
                                   + g.secretariat_reprieve * g.secretariat,
                                   dissolve_value=format_value(g.dissolve_value))


def _dated_events(scenario: Scenario) -> dict[int, list[tuple[int, str, str, str]]]:
    """Member events of the scenario by quarter: (member index, kind, text, note).

    Invitations, expansion rounds and global crises are left to the record, which has them
    whether dated or drawn.
    """
    by_quarter: dict[int, list[tuple[int, str, str, str]]] = {}
    for event in scenario.events:
        if event.kind == "budget":
            text = f"budget ×{event.factor:g}"
        elif event.kind == "attention":
            span = f" for {event.years:g} years" if event.years else ""
            text = f"attention ×{event.factor:g}{span}"
        elif event.kind == "crisis":
            text = f"domestic crisis ({event.years:g} years)"
        else:
            continue
        i = scenario.codes.index(event.member)
        by_quarter.setdefault(scenario.quarter_index(event.date), []).append(
            (i, event.kind, text, event.note))
    return by_quarter
