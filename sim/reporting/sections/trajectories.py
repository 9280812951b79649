"""Trajectories: state shares and fan charts quarter by quarter for the first design points."""

from __future__ import annotations

from sim.errors import UserError
from sim.inference import statistics
from sim.model.params import Scenario
from sim.model.quarters import parse_quarter
from sim.reporting.document import Figure, Section
from sim.reporting.regeneration import not_regenerated, point_series
from sim.reporting.results import Results
from sim.reporting.sections.common import (
    FigureFolder,
    plots,
    point_labels,
    point_titles,
    trajectory_points,
)


def make(results: Results, settings: dict, figures: FigureFolder) -> Section | str:
    """A figure per chosen point, from the recorded or regenerated series of its runs."""
    chosen = trajectory_points(results, settings, "trajectories")
    if isinstance(chosen, str):
        return chosen
    point_ids, per_point = chosen
    try:
        scenario = results.scenario()
        series, source = point_series(results, scenario, point_ids, per_point)
    except (UserError, ValueError) as exc:  # e.g. results of an older version of the model
        return not_regenerated(exc)
    section = Section("Trajectories")
    which = ("each design point" if len(point_ids) == results.points
             else f"the first {len(point_ids)} design points")
    section.add(f"For {which}: the share of runs alive, zombie and "
                "dead quarter by quarter, and fan charts (median, 50 % and 90 % of runs) of "
                "joint outputs per quarter (0 once dead) and of the members' mean engagement "
                f"(among groups not yet dead). {source}")
    labels, titles = point_labels(results), point_titles(results)
    start_year = scenario.start_quarter / 4
    for point_id in point_ids:
        part = series[series["point_id"] == point_id]
        full = statistics.complete_series(part, results.horizon)
        shares = statistics.state_shares_by_quarter(full)
        activity = statistics.quantile_bands(full, "outputs")
        engagement = statistics.quantile_bands(full, "mean_engagement")
        runs = part["run_id"].nunique()
        marks = _change_marks(results.point_scenario(scenario, point_id))
        file = figures.save(f"trajectories_point_{point_id:03d}.png",
                            lambda p, s=shares, a=activity, g=engagement, pid=point_id, n=runs,
                            m=marks: plots().plot_trajectories(
                                s, a, g, start_year, p,
                                title=f"Point {pid}: {titles[pid]} ({n} runs)", marks=m))
        section.add(Figure(file, f"Point {point_id} ({labels[point_id]}): state shares, "
                                 "outputs per quarter and mean engagement by year. A group is a "
                                 "zombie after two years without a meeting or document at its "
                                 "apex level (docs/validation.md)."))
    return section


def _change_marks(scenario: Scenario) -> list[tuple[float, str]]:
    """(year, label) of each date at which the point's scenario changes a value."""
    dates: dict[str, list[str]] = {}
    for change in scenario.changes:
        dates.setdefault(change.date, []).append(change.key)
    return [(parse_quarter(date) / 4, f"{date}: {', '.join(sorted(set(keys)))}")
            for date, keys in sorted(dates.items())]
