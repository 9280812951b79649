"""The levers a class argues about: what each sets, where the page's controls open, and what
is in force in a run from its next quarter on.

One source for the three places the page says what is in force: the sliders, the "In force"
line and the heading of changes all read the functions here.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sim.model.keys import parse_assignments, spec_of
from sim.model.params import Key, Scenario
from sim.model.scenario_files import load_scenario
from sim.model.schedule import segments

SCENARIO_ENV = "MINILAT_APP_SCENARIO"  # the scenario the page opens with (`minilat app NAME`)
SEED_ENV = "MINILAT_APP_SEED"


@dataclass(frozen=True)
class Lever:
    """A control of the page: the dotted key it sets and the slider's range and step."""

    key: str
    label: str
    low: float = 0
    high: float = 1
    step: float = 0.05
    also: tuple[str, ...] = ()  # keys set to the same value when the lever moves

    @property
    def unit(self) -> str:
        return spec_of(self.key)[1].unit

    @property
    def is_switch(self) -> bool:
        return spec_of(self.key)[0] is bool

    @property
    def is_whole(self) -> bool:
        return spec_of(self.key)[0] is int


LEVERS = {
    # the drift the class sets holds for the whole run, also after a trend the sources date
    "budget_trend": Lever("members.*.budget_trend", "Budget trend", -0.3, 0.3, 0.01,
                          also=("members.*.budget_trend_after",)),
    "crisis_rate": Lever("members.*.crisis_rate", "Domestic crises", 0, 2, 0.05),
    "rival_pull": Lever("world.rival_pull", "Rival bloc pull", 0, 5, 0.1),
    "secretariat": Lever("group.secretariat", "Secretariat"),
    "treaty": Lever("group.treaty", "Treaty"),
    "agenda_breadth": Lever("group.agenda_breadth", "Agenda breadth", 1, 20, 1),
    "chair_boost": Lever("group.chair_boost", "Chair boost"),
    "standby": Lever("group.standby", "Standby floor", 0, 0.6),
    "secretariat_floor": Lever("group.secretariat_floor", "Secretariat outputs", 0, 3, 0.1),
}
LABELS = {lever.key: lever.label for lever in LEVERS.values()}
NAMES = {lever.key: name for name, lever in LEVERS.items()}


def shown(value: Any) -> str:
    """A lever's value as the page writes it everywhere: true / false, or the number (%g)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{round(value, 6):g}"
    return str(value)


def lever_changes(levers: dict[str, Any], neutral: dict[str, Any]) -> dict[str, Any]:
    """Dotted-key overrides of the levers that were moved.

    A slider snaps a value that is not on its steps (a scenario's 0.214 on steps of 0.05) to
    the nearest step, so any value within half a step of the neutral one counts as unmoved.
    """
    changes = {}
    for name, value in levers.items():
        lever = LEVERS[name]
        if value is None:
            continue
        if isinstance(value, bool) or name not in neutral:
            moved = value != neutral.get(name)
        else:
            moved = abs(value - neutral[name]) >= lever.step / 2
        if moved:
            for key in (lever.key, *lever.also):
                changes[key] = round(value, 6) if isinstance(value, float) else value
    return changes


def parse_more(text: str) -> dict[str, Any]:
    """'KEY=VALUE; KEY=VALUE' as typed in the page's box, as overrides."""
    items = [item.strip() for item in str(text or "").replace("\n", ";").split(";")]
    return parse_assignments([item for item in items if item])


@dataclass(frozen=True)
class ChangeItem:
    """One change the class made, as the heading lists it."""

    key: str  # the dotted key, without a date
    label: str  # the lever's label, or the key for a change typed in the box
    value: Any
    date: str = ""  # '2030 Q1' for a change from a quarter on; '' for the whole run

    def __str__(self) -> str:
        when = f" from {self.date}" if self.date else ""
        return f"{self.label} = {shown(self.value)}{when}"


def change_items(changes: dict[str, Any]) -> list[ChangeItem]:
    """The changes in force, in the page's words; a lever's companion keys are left out."""
    companions = {(key, changed.partition("@")[2]) for lever in LEVERS.values()
                  for changed in changes if changed.partition("@")[0] == lever.key
                  for key in lever.also}
    items = []
    for key, value in changes.items():
        name, _, date = key.partition("@")
        if (name, date) in companions:
            continue
        items.append(ChangeItem(name, LABELS.get(name, name), value, date.replace("Q", " Q")))
    return items


def describe_changes(changes: dict[str, Any]) -> str:
    """The changes in force as one line: 'Budget trend = -0.06; Secretariat = true from 2030
    Q1'."""
    return "; ".join(str(item) for item in change_items(changes))


@dataclass(frozen=True)
class InForce:
    """A lever's value in a run from a quarter on: the value most members have, the members
    with another, and the date of the change that set it ('' if in force from the start)."""

    name: str
    label: str
    value: Any
    others: tuple[tuple[str, Any], ...] = ()
    since: str = ""

    def __str__(self) -> str:
        others = ", ".join(f"{who} {shown(v)}" for who, v in self.others)
        return (f"{self.label} {shown(self.value)}" + (f" ({others})" if others else "")
                + (f" from {self.since}" if self.since else ""))


def in_force(s: Scenario, quarter: int) -> dict[str, InForce]:
    """Every lever's value in force in quarter `quarter` of a run of `s` (its dated changes
    applied): what the next Step runs on."""
    stretches = segments(s)
    current = max(i for i, (first, _) in enumerate(stretches) if first <= max(quarter, 0))
    levers = {}
    for name, lever in LEVERS.items():
        key = Key.parse(lever.key)
        values = key.values_in(stretches[current][1])
        since = current
        while since > 0 and key.values_in(stretches[since - 1][1]) == values:
            since -= 1
        first = stretches[since][0]
        common = Counter(values).most_common(1)[0][0]
        others = ()
        if key.section == "members":
            others = tuple((m.name or m.code, v) for m, v in zip(s.members, values, strict=True)
                           if v != common)
        levers[name] = InForce(name, lever.label, common, others,
                               s.quarter_label(first).replace("Q", " Q") if first else "")
    return levers


def value_in(s: Scenario, key: str) -> Any:
    """A key's value in a scenario; for a member key, the value most members have."""
    return Counter(Key.parse(key).values_in(s)).most_common(1)[0][0]


def caption(name: str, s: Scenario) -> str:
    """What a slider says under it: its unit and the scenario's own value."""
    lever = LEVERS[name]
    unit = f"{lever.unit} · " if lever.unit else ""
    return f"{unit}scenario: {shown(value_in(s, lever.key))}"


def opening_values(scenario: str | None = None, seed: int | str | None = None) -> dict[str, Any]:
    """The values the page's controls open with: the opening scenario's own."""
    name = scenario or os.environ.get(SCENARIO_ENV, "mikta")
    s = load_scenario(name)
    values: dict[str, Any] = {"scenario": name,
                              "seed": str(seed if seed is not None
                                          else os.environ.get(SEED_ENV, "1")),
                              "years": s.years}
    for lever_name, lever in LEVERS.items():
        values[lever_name] = value_in(s, lever.key)
    values["more"] = ""
    values["compare"] = False
    values["from_now"] = True
    values["neutral"] = {k: v for k, v in values.items() if k in LEVERS or k == "years"}
    return values
