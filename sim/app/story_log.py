"""The page's event log: the story of the group by default, every member's routine on request.

The story is what happens to the group: changes at a date, the chair passing on, meetings at
the top level resuming or lapsing, leaders' summits, the world's shocks and the rival bloc's
rounds and joins, members joining or leaving, zombie spells, revivals and death. The routine
is each member's domestic crises, new ministers and the rival bloc's invitations. Both come
from the run's record (`sim.reporting.narrative`), so the log of a run stepped on the page is
the log of the same run made in one go.
"""

from __future__ import annotations

from sim.model import rules
from sim.model.params import Scenario
from sim.model.trajectory import Trajectory
from sim.reporting.narrative import LogEntry, event_log, quarter_date

LAPSE = 4  # quarters without a meeting at the apex level that the story reports: a year
MEMBERSHIP = ("joins the group", "leaves the group")  # a member's entries that are the group's


def is_routine(entry: LogEntry) -> bool:
    """Whether an entry is a member's routine rather than the group's story."""
    if entry.kind == "member":
        return not entry.text.endswith(MEMBERSHIP)
    return entry.kind == "rival" and " invites " in entry.text


def meetings(trajectory: Trajectory, scenario: Scenario) -> list[LogEntry]:
    """The group's top-level meetings as the story tells them: each leaders' summit, a year
    without a meeting at the apex level, and the first meeting after such a lapse."""
    entries = []
    leaders = trajectory.upto("outputs_leaders")
    apex = trajectory.upto("apex")
    since = trajectory.upto("since_apex")
    for t in range(trajectory.quarters_run):
        date = quarter_date(scenario, t)
        if leaders[t] > 0:
            entries.append(LogEntry(t, date, "leaders' summit", "summit"))
        level = rules.LEVEL_NAMES[int(apex[t])]
        if since[t] == LAPSE:
            entries.append(LogEntry(t, date, f"a year without a meeting of {level}",
                                    "summit"))
        elif since[t] == 0 and t > 0 and since[t - 1] >= LAPSE:
            quarters = int(since[t - 1]) + 1
            entries.append(LogEntry(t, date, f"{level} meet again, for the first time in "
                                    f"{quarters} quarters", "summit"))
    return entries


def story_log(trajectory: Trajectory, scenario: Scenario, routine: bool = False
              ) -> list[LogEntry]:
    """The log, oldest first: the group's story, and with `routine` every member's routine
    as well. The story's meetings come first within their quarter, before the group's state."""
    story = [e for e in event_log(trajectory, scenario) if routine or not is_routine(e)]
    return sorted([*story, *meetings(trajectory, scenario)],
                  key=lambda e: (e.quarter, e.kind == "group"))


def story_logs(runs: list[tuple[Trajectory, Scenario]], tags: tuple[str, ...],
               routine: bool = False) -> list[tuple[LogEntry, str]]:
    """The logs of the story's runs as one, oldest first: an event of every run once, with no
    tag; an event of only some runs with the tag of each (the class sees what the change
    did)."""
    logs = [story_log(trajectory, scenario, routine) for trajectory, scenario in runs]
    seen = [{(e.quarter, e.text) for e in log} for log in logs]
    merged: list[tuple[LogEntry, str]] = []
    for i, log in enumerate(logs):
        for entry in log:
            key = (entry.quarter, entry.text)
            everywhere = all(key in s for s in seen)
            if everywhere and i > 0:
                continue
            merged.append((entry, "" if everywhere else tags[i]))
    return sorted(merged, key=lambda pair: pair[0].quarter)
