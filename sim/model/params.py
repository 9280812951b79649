"""Typed parameters of a scenario, each declared once: the group, its members, the world, dated
events and changes, and the dotted keys that name them.

Every parameter is declared here with its type, default, allowed range, unit and meaning. Reading
scenario files is sim.model.scenario_files; `--set` options, sim.model.keys.

Value units: one value unit is what taking part in a normally engaged group costs a ministry of
`cost_burden` 1 at its founding budget (M5). Values, the outside option and the costs of leaving
are in these units; `value_sensitivity` is per value unit. Fixing the unit by this convention
leaves no free scale: multiplying every value by k changes the runs.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sim.errors import InputError
from sim.model.quarters import QUARTERS_PER_YEAR, format_quarter, parse_quarter

MIN_MEMBERS, MAX_MEMBERS = 3, 12
EVENT_KINDS = ("budget", "attention", "crisis", "rival_invite", "rival_join", "rival_round",
               "global_crisis")
MEMBER_EVENT_KINDS = ("budget", "attention", "crisis", "rival_invite", "rival_join")
RIVAL_DRAWS = ("rival_invite", "rival_round")  # rival events that are draws, not facts


# --------------------------------------------------------------------------------------------
# Parameter declarations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What a parameter means and which values it may take."""

    meaning: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()  # for a string: the values it may take

    def allowed(self, kind: type) -> str:
        """The allowed values in words, e.g. 'a number from 0 to 1 (share of attention)'."""
        noun = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
        text = noun.get(kind, "a list of member codes")
        if self.choices:
            text = "one of " + ", ".join(f'"{c}"' for c in self.choices)
        if self.low is not None and self.high is not None:
            lo = "above" if self.low_open else "from"
            hi = "below" if self.high_open else "to"
            text += f" {lo} {_num(self.low)} {hi} {_num(self.high)}"
        elif self.low is not None:
            text += f" {'above' if self.low_open else 'at least'} {_num(self.low)}"
        unit = f"{self.unit}: " if self.unit else ""
        return f"{text} ({unit}{self.meaning})."

    def contains(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (
            self.high is not None and (value > self.high or (self.high_open and value == self.high))
        )


def _num(x: float) -> str:
    return f"{x:g}"


def param(default: Any, meaning: str, unit: str = "", low=None, high=None, **open_ends) -> Any:
    """Declare a dataclass field with its `Spec` (meaning, unit, range)."""
    spec = Spec(meaning, unit, low, high, **open_ends)
    if isinstance(default, list | tuple):
        return field(default_factory=lambda: tuple(default), metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


def variant(default: str, meaning: str, choices: tuple[str, ...]) -> Any:
    """Declare a structural variant: a string field that takes one of `choices`."""
    return field(default=default, metadata={"spec": Spec(meaning, choices=choices)})


@dataclass(frozen=True)
class GroupParams:
    """The group: its institutional design, its rules, and how members value it (M4–M8, M10–M12)."""

    secretariat: bool = param(False, "a dedicated staffed secretariat (M11)")
    treaty: bool = param(False, "a founding treaty that makes leaving costly (M11)")
    agenda_breadth: int = param(7, "number of priority areas on the agenda (M4, M12)",
                                "priority areas", 1, 30)
    reference_breadth: int = param(7, "agenda breadth at which network value and output are at "
                                   "base level", "priority areas", 1, 30)
    focus_elasticity: float = param(0.5, "how strongly a narrower agenda raises output (M12)",
                                    "elasticity", 0, 3)
    breadth_elasticity: float = param(0.5, "how strongly a broader agenda raises the network "
                                      "value (M4, M12)", "elasticity", 0, 3)
    min_members: int = param(3, "fewer active members than this and the group is dead",
                             "members", 2, MAX_MEMBERS)
    apex_repeat: int = param(2, "events at one level within apex_window_months that make it the "
                             "group's apex level (outcome rule)", "events", 1, 10)
    apex_window_months: int = param(36, "window in which apex_repeat events set the apex level "
                                    "(outcome rule; whole quarters)", "months", 3, 120)
    grace_months: int = param(24, "founding period in which a group is not yet judged a zombie "
                              "(outcome rule; whole quarters)", "months", 0, 120)
    zombie_months: int = param(24, "months without a meeting or document at the apex level that "
                               "make the group a zombie (outcome rule; whole quarters)",
                               "months", 3, 120)
    dormant_months: int = param(60, "months without activity at any level that make the group "
                                "dead (outcome rule; whole quarters)", "months", 3, 240)
    officials_share: float = param(0.5, "share of a normally engaged group's joint outputs made by "
                                   "officials and missions rather than ministers (M8)", "share",
                                   0, 1)
    summit_interval: float = param(0.0, "years between leaders' summits while every member's "
                                   "government is committed; 0 = no summit process (M8)",
                                   "years", 0, 10)
    summit_commitment: float = param(0.365, "engagement every active member needs for its leader "
                                     "to attend a summit (M8)", "engagement", 0, 1)
    base_rate: float = param(2.68, "ministers' and officials' joint outputs per quarter of a "
                             "normally engaged group (drive = reference_drive) (M8)",
                             "outputs per quarter", 0, 100, low_open=True)
    reference_drive: float = param(0.5, "drive (chair effort x mean engagement) of a normally "
                                   "engaged group, which produces the base rate (M8)", "drive",
                                   0, 1, low_open=True)
    chair_term: int = param(4, "length of one chair term", "quarters", 1, 12)
    chair_order: tuple[str, ...] = param((), "rotation order of the chair (member codes); "
                                         "empty = the order members are listed")
    chair_threshold: float = param(0.5, "share of a chair term's cost a member's budget must "
                                   "cover for it to take its turn in the chair (M7)", "share",
                                   0, 1)
    chair_cost: float = param(0.5, "budget at which a member covers a chair term in full (M7)",
                              "share of founding budget", 0, 10, low_open=True)
    convene_threshold: float = param(0.0, "willingness (engagement x the budget's cover of a "
                                     "chair term's cost) below which a member whose turn has "
                                     "come will not convene the group: the turn passes on, and "
                                     "a term nobody convenes is vacant; 0 = every member whose "
                                     "budget allows takes its turn (M7)", "willingness", 0, 1)
    termination_terms: int = param(0, "chair terms in a row that pass without a convener after "
                                   "which the members have stopped convening and the group is "
                                   "wound up (death by termination); 0 = never (M7, M10)",
                                   "chair terms", 0, 20)
    dissolve_value: float = param(0.0, "mean staying value of the group to its active members "
                                  "(value minus the cost of the engagement given and the "
                                  "outside option, M10) below which, at the start of a chair "
                                  "term, it no longer serves them (dissolution)",
                                  "value units", -5, 5)
    dissolve_terms: int = param(0, "chair terms in a row at whose start the members' mean "
                                "staying value fell short of dissolve_value, after which they "
                                "wind it up (death by dissolution); 0 = never (M10)",
                                "chair terms", 0, 20)
    secretariat_reprieve: int = param(0, "chair terms a secretariat adds to dissolve_terms: its "
                                      "staff argue for the group and look for a new task for it "
                                      "(M10, M11)", "chair terms", 0, 20)
    chair_boost: float = param(0.214, "extra engagement the chair aims for during its term (M6)",
                               "engagement", 0, 1)
    standby: float = param(0.0934, "floor of the group's pull: the low-maintenance tool kept "
                           "on standby (M6)", "share", 0, 1)
    value_sensitivity: float = param(12.0, "steepness of engagement's response to net value "
                                     "(mechanisms.engagement = \"logistic\") and of a new "
                                     "government's review (mechanisms.review = \"as_used\") "
                                     "(M6, M10)", "per value unit", 0, 50)
    relative_sensitivity: float = param(4.0, "steepness of engagement's response to net value "
                                        "relative to what is at stake, net value / (value + "
                                        "cost + outside option), which lies in [-1, 1], under "
                                        "mechanisms.engagement = \"relative\" (M6; a "
                                        "placeholder until the joint refit)",
                                        "per unit of relative net value", 0, 6)
    adjust_rate: float = param(0.122, "share of the gap to its target engagement closes each "
                               "quarter (M6)", "per quarter", 0, 1, low_open=True)
    personalization: float = param(1.0, "how far engagement depends on the foreign minister's "
                                   "enthusiasm (M3)", "share", 0, 1)
    ownership_carry: float = param(0.409, "share of the predecessor's enthusiasm a new foreign "
                                   "minister carries when the group is part of the ministry's "
                                   "routine (a normally active group; less when it is less "
                                   "active) (M3)", "share", 0, 1)
    network_weight: float = param(3.04, "value of capacity building and network sharing with "
                                  "fully engaged partners (M4)", "value units", 0, 10)
    network_partners: int = param(4, "number of partners whose engagement gives the full "
                                  "network value, and the group size at base coordination cost",
                                  "members", 1, MAX_MEMBERS - 1)
    coordination_elasticity: float = param(1.0, "how fast the cost of coordinating grows with "
                                           "the number of members (M12)", "elasticity", 0, 3)
    visibility_weight: float = param(3.96, "value of the group's visibility to a member with no "
                                     "regional fit (M4)", "value units", 0, 10)
    founding_visibility: float = param(0.233, "visibility the group's launch gives it at the "
                                       "start: expectations the start-up must then live up to "
                                       "(M4, M8)",
                                       "share of base rate", 0, 10)
    visibility_smoothing: float = param(0.25, "weight of this quarter's outputs in visibility "
                                        "(M8)", "per quarter", 0, 1, low_open=True)
    diversification_value: float = param(0.25, "standing value of an extra channel to a member "
                                         "with no regional home (M4)", "value units", 0, 10)
    maintenance_share: float = param(0.436, "share of the cost of taking part that does not fall "
                                     "with the group's pace: focal points, the chair's year, the "
                                     "yearly meetings (M5)", "share", 0, 1)
    secretariat_dues: float = param(0.1, "yearly dues for a secretariat, off each member's "
                                    "budget (M1, M11)", "share of founding budget", 0, 1)
    secretariat_dues_growth: float = param(0.03, "growth of the dues with the secretariat's "
                                           "age, under mechanisms.dues = \"growing\" (M11; "
                                           "an assumption)", "per year", 0, 0.5)
    secretariat_saving: float = param(0.3, "share of the participation cost a secretariat saves "
                                      "(M5, M11)", "share", 0, 1)
    secretariat_floor: float = param(0.3, "outputs a secretariat produces on its own (M8, M11)",
                                     "outputs per quarter", 0, 100)
    secretariat_support: float = param(0.5, "chair effort a secretariat guarantees; with one, "
                                       "chair terms never lapse (M7, M11)", "effort", 0, 1)
    treaty_exit_cost: float = param(0.375, "extra cost of leaving under a treaty (M10, M11)",
                                    "value units", 0, 10)
    exit_threshold: float = param(0.1, "engagement below which a member counts as disengaged "
                                  "(M10)", "engagement", 0, 1)
    exit_patience: int = param(8, "quarters of disengagement before a member weighs leaving "
                               "(M10)", "quarters", 1, 80)
    review_exit: float = param(0.0492, "chance that a new government takes its country out of a "
                               "group worth far less to it than leaving costs, under "
                               "mechanisms.review = \"as_used\" (M10)",
                               "probability", 0, 1)
    review_spread: float = param(0.5, "spread of a new government's own valuation of the group "
                                 "around what the group gives it: the scale of the logistic "
                                 "difference a change of government draws, under "
                                 "mechanisms.review = \"own_valuation\" (M10; a placeholder "
                                 "until the joint refit)", "value units", 0, 5, low_open=True)


@dataclass(frozen=True)
class WorldParams:
    """The world around the group: the rival bloc (M9), global crises (M12), budgets' floor."""

    rival_name: str = param("BRICS", "name of the rival bloc, used in event logs")
    rival_pull: float = param(1.0, "strength of the rival bloc: 1 = the scenario's own, "
                              "0 = no rival bloc, 3 = three times as strong (M9)", "multiplier",
                              0, 10)
    rival_round_rate: float = param(0.1, "expansion rounds of the rival bloc beyond the dated "
                                    "ones, after `rival_known_through` (M9)", "rounds per year",
                                    0, 4)
    rival_known_through: str = param("", "last quarter through which the record shows who "
                                     "joined the rival bloc, e.g. '2025Q4': until then joins "
                                     "are the dated `rival_join` facts only, and random rounds "
                                     "and invitations begin after it; empty = no record (M9)")
    rival_outside_value: float = param(0.182, "value of the outside option to a member of the "
                                       "rival bloc, at pull 1 (M9)", "value units", 0, 10)
    rival_split: float = param(0.381, "share of attention a member of both groups gives to the "
                               "rival bloc (M9)", "share of attention", 0, 1)
    rival_agenda_overlap: float = param(0.5, "share of the group's agenda the rival bloc also "
                                        "covers: a member meeting its partners in the bloc too "
                                        "values the group that much less, in proportion to the "
                                        "share of its partners it meets there (M9: absorption)",
                                        "share of the agenda", 0, 1)
    outside_event_rate: float = param(0.929, "outside events (attacks, disasters, nuclear tests) "
                                      "a year that invite a joint statement of the ministers; "
                                      "each is answered with probability the members' mean "
                                      "engagement (M8)", "events per year", 0, 52)
    global_crisis_rate: float = param(0.05, "global crises beyond the dated ones (M12)",
                                      "crises per year", 0, 4)
    global_crisis_years: float = param(2.0, "duration of an undated global crisis (M12)",
                                       "years", 0, 10, low_open=True)
    crisis_hazard_factor: float = param(1.5, "multiplier of every member's crisis hazard during a "
                                        "global crisis (M12)", "multiplier", 1, 10)
    crisis_coordination_value: float = param(0.625, "value of coordinating in a global crisis "
                                             "under a fully capable chair (M12)", "value units",
                                             0, 10)
    budget_floor: float = param(0.05, "smallest budget a ministry keeps for the group (M1, M5)",
                                "share of founding budget", 0, 1, low_open=True)


@dataclass(frozen=True)
class MemberParams:
    """A member foreign ministry (one Mesa agent): budget, shocks, minister, interests (M1–M10)."""

    code: str = param("", "short code of the member, e.g. MEX")
    name: str = param("", "display name; empty = the code")
    color: str = param("", "colour in figures and the app, '#rrggbb'; empty = a default palette")
    joins: str = param("", "quarter the member joins, e.g. '2021Q1'; empty = a founding member")
    in_rival: bool = param(False, "already a member of the rival bloc at the start (M9)")
    initial_engagement: float = param(0.513, "engagement at the start", "engagement", 0, 1)
    budget_trend: float = param(0.0, "per-year drift of the log budget for the group (M1); "
                                "a key that sets it (members.*.budget_trend, dated or not) "
                                "sets budget_trend_after too, so it holds to the horizon",
                                "log units per year", -1, 1)
    budget_trend_until: str = param("", "last quarter of `budget_trend`, as far as a source "
                                    "dates the trend, e.g. '2018Q2'; empty = to the horizon "
                                    "(M1)")
    budget_trend_after: float = param(0.0, "per-year drift of the log budget after "
                                      "`budget_trend_until`: the scenario's stated assumption "
                                      "(M1)", "log units per year", -1, 1)
    budget_volatility: float = param(0.1, "size of random budget changes (M1)",
                                     "log units per sqrt(year)", 0, 2)
    budget_reversion: float = param(0.5, "pull of the budget back to its trend path (M1)",
                                    "per year", 0, 4)
    crisis_rate: float = param(0.3, "domestic-priority shocks (M2)", "crises a year", 0, 12)
    crisis_years: float = param(0.75, "mean duration of a domestic-priority shock (M2)",
                                "years", 0, 10, low_open=True)
    crisis_depth: float = param(0.5, "share of attention a crisis takes away (M2)",
                                "share of attention", 0, 1)
    election_interval: float = param(4.0, "years between elections (M3)", "years", 0.25, 20)
    first_election: str = param("", "quarter of a dated election, e.g. '2018Q4'; the others "
                                "follow every election_interval; empty = a random phase (M3)")
    first_election_changed: bool = param(True, "whether that dated election changed the "
                                         "government (false: re-elected, the minister stays) "
                                         "(M3)")
    turnover: float = param(0.5, "chance that an election after the first changes the "
                            "government (a re-elected one keeps its minister) (M3)",
                            "probability", 0, 1)
    reshuffle_rate: float = param(0.15, "foreign ministers replaced between changes of "
                                  "government (M3)", "per year", 0, 4)
    founding_enthusiasm: float = param(0.9, "enthusiasm of the minister in office at the start "
                                       "(founders created the group) or when the member joins "
                                       "(M3)", "enthusiasm", 0, 1)
    enthusiasm_mean: float = param(0.7, "average enthusiasm of a new foreign minister (M3)",
                                   "enthusiasm", 0, 1)
    enthusiasm_spread: float = param(0.3, "half-width of the range of a new minister's "
                                     "enthusiasm (M3)", "enthusiasm", 0, 1)
    capacity_need: float = param(0.5, "how much the ministry gains from shared capacity and "
                                 "networks (M4)", "share", 0, 1)
    regional_fit: float = param(0.5, "how well the member fits a regional grouping; low = the "
                                "group's visibility and diversification matter more (M4)",
                                "share", 0, 1)
    reach: float = param(1.0, "network the member brings to the others, e.g. missions in "
                         "regions they lack (M4, M12)", "multiplier", 0, 5)
    rival_affinity: float = param(0.0, "closeness to the rival bloc (M9)", "share", 0, 1)
    exit_cost: float = param(0.822, "cost of leaving an informal group (M10)", "value units", 0,
                             10)
    cost_burden: float = param(1.0, "weight of the group's cost for this ministry, e.g. "
                               "capacity-constrained ones (M5)", "multiplier", 0, 5)


@dataclass(frozen=True)
class MechanismParams:
    """Structural variants: forms of a mechanism the sources do not fix (docs/ODD.md §7, §9).
    The first choice of each is the model's own form."""

    exit: str = variant("engagement", "M10: how a member comes to leave: weighing a cost of "
                        "staying in proportion to the engagement it gives (engagement) or the "
                        "full cost of membership whatever it gives (fixed), besides a new "
                        "government's review; or by that review alone (review)",
                        ("engagement", "fixed", "review"))
    dues: str = variant("capped", "M1, M11: secretariat dues off the budget, never below the "
                        "floor (capped), in full even below it (full), or growing with the "
                        "secretariat's age by secretariat_dues_growth (growing)",
                        ("capped", "full", "growing"))
    agenda_cost: str = variant("workload", "M5: the participation cost grows with the work the "
                               "group's activity asks (workload) or with the number of areas "
                               "on its agenda, however busy (per_area)",
                               ("workload", "per_area"))
    engagement: str = variant("logistic", "M6: engagement's pull is a logistic in net value "
                              "(logistic) or in net value relative to what is at stake, value "
                              "plus cost plus outside option, which cannot saturate (relative)",
                              ("logistic", "relative"))
    review: str = variant("as_used", "M10: a new government weighs the group as its predecessor "
                          "used it and leaves with at most review_exit's chance (as_used), or "
                          "values it afresh, what it gives shifted by a view of its own of "
                          "spread review_spread, and leaves when that falls short of staying "
                          "by more than leaving costs (own_valuation)",
                          ("as_used", "own_valuation"))


@dataclass(frozen=True)
class Event:
    """A dated event of the scenario: a budget step, an attention shift, a crisis, a rival move."""

    date: str = param("", "quarter of the event, e.g. '2017Q4'")
    kind: str = param("", "one of " + ", ".join(EVENT_KINDS))
    member: str = param("", "member code (budget, attention, crisis, rival_invite, rival_join)")
    factor: float = param(1.0, "multiplier of the budget or of attention", "multiplier", 0, 10)
    years: float = param(0.0, "duration (attention, budget: 0 = permanent; crisis, "
                         "global_crisis: required)", "years", 0, 100)
    note: str = param("", "source or reason for the event")


@dataclass(frozen=True)
class Change:
    """A policy adopted at a date: from the start of quarter `date` on, `key` takes `value`.

    Written as `KEY=VALUE@QUARTER` on `--set`, `"KEY@QUARTER"` as an experiment factor, or an
    `[[events]]` table of kind "set" in a scenario file. The runs apply it before any mechanism
    reads the quarter (sim.model.schedule).
    """

    parameter: Key  # a key `scenarios show NAME --keys` lists, one sim.model.keys.UNDATED allows
    value: Any  # in the key's type
    quarter: int  # absolute, as `parse_quarter` numbers it
    note: str = ""

    @property
    def key(self) -> str:
        """The dotted key as written."""
        return self.parameter.text

    @property
    def date(self) -> str:
        """The quarter as written, 'YYYYQn'."""
        return format_quarter(self.quarter)


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: everything a run needs besides the seed."""

    name: str
    title: str
    description: str
    start: str
    years: int
    group: GroupParams
    world: WorldParams
    members: tuple[MemberParams, ...]
    events: tuple[Event, ...]
    source: str = ""
    mechanisms: MechanismParams = field(default_factory=lambda: MechanismParams())
    changes: tuple[Change, ...] = ()  # policies adopted at a date, in date order

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.members)

    @property
    def quarters(self) -> int:
        return self.years * QUARTERS_PER_YEAR

    @property
    def start_quarter(self) -> int:
        """Absolute index (year * 4 + quarter - 1) of the first simulated quarter."""
        return parse_quarter(self.start)

    @property
    def chair_rotation(self) -> tuple[int, ...]:
        """Member indices in chair order."""
        order = self.group.chair_order or self.codes
        return tuple(self.codes.index(c) for c in order)

    def quarter_index(self, date: str) -> int:
        """Quarters from the start to `date` (negative if before the start)."""
        return parse_quarter(date) - self.start_quarter

    def quarter_label(self, quarter: int) -> str:
        return format_quarter(self.start_quarter + quarter)

    def member_values(self, name: str) -> list:
        return [getattr(m, name) for m in self.members]


SCENARIO_KEYS = {
    "extends": (str, Spec("built-in name or path (relative to this file) of a scenario this one "
                          "changes; its tables are merged key by key, its events kept")),
    "name": (str, Spec("short name of the scenario")),
    "title": (str, Spec("one-line title")),
    "description": (str, Spec("what the scenario represents")),
    "start": (str, Spec("first simulated quarter, e.g. '2014Q1'")),
    "years": (int, Spec("default horizon", "years", 1, 200)),
}


def mechanism_codes(scenario: Scenario) -> dict[str, int]:
    """Each structural variant as the index of its choice: `mechanism_<name>` for the phases."""
    return {f"mechanism_{f.name}": f.metadata["spec"].choices.index(
        getattr(scenario.mechanisms, f.name)) for f in dataclasses.fields(MechanismParams)}


def variant_code(name: str, choice: str) -> int:
    """The code `mechanism_codes` gives `choice` of structural variant `name`."""
    spec = next(f for f in dataclasses.fields(MechanismParams) if f.name == name).metadata["spec"]
    return spec.choices.index(choice)


MECHANISM_PARAMETERS = tuple(f"mechanism_{f.name}" for f in dataclasses.fields(MechanismParams))
SECTION_CLASSES = {"group": GroupParams, "world": WorldParams, "members": MemberParams,
                   "mechanisms": MechanismParams}


def _declared_kind(f: dataclasses.Field) -> type:
    hint = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if hint.startswith("tuple"):
        return tuple
    return {"bool": bool, "int": int, "float": float, "str": str}[hint]


# Each table's fields: {name: (type, Spec)}, derived once from the declarations
DECLARED: dict[type, dict[str, tuple[type, Spec]]] = {
    cls: {f.name: (_declared_kind(f), f.metadata["spec"]) for f in dataclasses.fields(cls)}
    for cls in (GroupParams, WorldParams, MemberParams, MechanismParams, Event)}


def numeric_fields(cls: type) -> list[str]:
    """Names of a parameter table's numeric and true/false fields, by their declared types."""
    return [name for name, (kind, _) in DECLARED[cls].items() if kind in (bool, int, float)]


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------

KEY_FORMS = ("group.<key>, world.<key>, members.<CODE>.<key>, members.*.<key>, years; "
             "`minilat scenarios show NAME` lists them all.")


@dataclass(frozen=True)
class Key:
    """A dotted parameter key, parsed once: its section, member (a code, `*` or none), field,
    declared type and `Spec`."""

    text: str
    section: str  # "scenario", "group", "world", "mechanisms" or "members"
    member: str | None
    field: str
    kind: type
    spec: Spec

    @classmethod
    def parse(cls, text: str, label: str = "--set") -> Key:
        """The key `text` as typed; an `InputError` naming `label` if no parameter has it."""
        parts = tuple(text.split("."))
        section = parts[0]
        if section in ("years", "start") and len(parts) == 1:
            return cls(text, "scenario", None, section, *SCENARIO_KEYS[section])
        if section == "scenario" and parts[1:] == ("extends",):
            raise InputError(label, "cannot be overridden: the scenario a file extends is read "
                             "with the file, before any value is set.", key=text,
                             allowed="a scenario file with `extends` in its [scenario] table, "
                             "given by its path.")
        if section == "scenario" and len(parts) == 2 and parts[1] in SCENARIO_KEYS:
            return cls(text, "scenario", None, parts[1], *SCENARIO_KEYS[parts[1]])
        if section in ("group", "world", "mechanisms") and len(parts) == 2:
            return cls(text, section, None, parts[1],
                       *_declared(SECTION_CLASSES[section], parts[1], text, label))
        if section == "members" and len(parts) == 3:
            return cls(text, section, parts[1], parts[2],
                       *_declared(MemberParams, parts[2], text, label))
        raise InputError(label, "is not a parameter key.", key=text, allowed=KEY_FORMS)

    @classmethod
    def of_member(cls, code: str, name: str) -> Key:
        """The key `members.<code>.<name>` of a declared member field."""
        return cls(f"members.{code}.{name}", "members", code, name, *DECLARED[MemberParams][name])

    def paths(self, codes: Iterable[str], label: str = "--set") -> list[tuple[str, ...]]:
        """Concrete key paths in a scenario with these member codes: `members.*.x` gives one
        per member."""
        if self.section != "members":
            return [(self.section, self.field)]
        codes = list(codes)
        if self.member == "*":
            return [("members", code, self.field) for code in codes]
        if self.member not in codes:
            raise InputError(label, "names no member of the scenario.", key=self.text,
                             allowed=f"members.<CODE>.<key> with CODE one of {', '.join(codes)}, "
                             "or members.*.<key> for every member.")
        return [("members", self.member, self.field)]

    def values_in(self, scenario: Scenario) -> list[Any]:
        """The scenario's values of the key: one, or one per member for `members.*`."""
        if self.section == "scenario":
            return [getattr(scenario, self.field)]
        if self.section in ("group", "world", "mechanisms"):
            return [getattr(getattr(scenario, self.section), self.field)]
        return [getattr(scenario.members[scenario.codes.index(code)], self.field)
                for _, code, _ in self.paths(scenario.codes)]


def _declared(cls: type, name: str, key: str, label: str) -> tuple[type, Spec]:
    fields = DECLARED[cls]
    if name not in fields:
        raise InputError(label, "is not a parameter key.", key=key,
                         allowed=suggest_key(name, list(fields), key.rsplit(".", 1)[0]))
    return fields[name]


def suggest_key(name: str, names: list[str], prefix: str = "") -> str:
    """'did you mean `prefix.closest`? Keys here: ...' for a key `name` not among `names`."""
    close = difflib.get_close_matches(name, names, n=1)
    shown = f"{prefix}.{close[0]}" if close and prefix else (close[0] if close else "")
    hint = f"did you mean `{shown}`? " if close else ""
    return f"{hint}Keys here: {', '.join(names)}."
