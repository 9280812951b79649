"""Runs of an experiment simulated again from their seeds, for the sections that need their
series (trajectories, the outcome rule's sensitivity, shares measured from a date).

`simulate_runs` is the one place the report runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.experiments.evaluation import TRAJECTORIES, evaluate
from sim.experiments.posterior import SET_COLUMN, PosteriorSets, overrides_of
from sim.inference import statistics
from sim.model.params import Scenario
from sim.model.trajectory import Trajectory
from sim.reporting.results import Results


@dataclass
class Regenerated:
    """The chosen runs of one design point, simulated again from their seeds."""

    point_id: int
    scenario: Scenario  # the point's scenario
    runs: pd.DataFrame  # their rows of runs.parquet
    trajectories: list[Trajectory]  # one per row, in the same order
    mismatched: int  # runs that end differently from runs.parquet


def simulate_runs(scenario: Scenario, seeds: list[int],
                  parameter_sets: list[dict] | None = None) -> tuple[list[str], list[Trajectory]]:
    """The outcome and the recorded trajectory of each run, simulated from its seed on the fast
    engine through the evaluation path (with its parameter set over `scenario`, if given)."""
    runs = evaluate(scenario, seeds, TRAJECTORIES, parameter_sets=parameter_sets)
    return runs["outcome"].tolist(), runs["trajectory"].tolist()


def chosen_runs(results: Results, point_ids: list[int], per_point: int) -> pd.DataFrame:
    """The rows of runs.parquet of the first `per_point` replicates of each point."""
    return (results.runs[results.runs["point_id"].isin(point_ids)]
            .sort_values(["point_id", "replicate"]).groupby("point_id").head(per_point))


def regenerate(results: Results, scenario: Scenario, chosen: pd.DataFrame) -> list[Regenerated]:
    """The chosen runs, point by point, from their seeds."""
    posterior = results.experiment.get("posterior")
    sets = PosteriorSets.from_resolved(posterior) if posterior else None
    points = []
    for point_id, runs in chosen.groupby("point_id", sort=True):
        point_scenario = results.point_scenario(scenario, point_id)
        if sets is None:
            outcomes, trajectories = simulate_runs(point_scenario, runs["seed"].tolist())
        else:  # each run's parameter set over the experiment's scenario, in one batch
            fixed = results.experiment.get("fixed") or {}
            overrides = [overrides_of({k: runs[k].iat[i] for k in results.factor_keys}, sets,
                                      int(runs[SET_COLUMN].iat[i]), fixed)
                         for i in range(len(runs))]
            outcomes, trajectories = simulate_runs(scenario, runs["seed"].tolist(), overrides)
        mismatched = int(np.sum(np.array(outcomes) != runs["outcome"].to_numpy()))
        points.append(Regenerated(int(point_id), point_scenario, runs, trajectories, mismatched))
    return points


def not_regenerated(reason: Exception) -> str:
    """Why a section left out its regenerated runs, e.g. for results of an older model."""
    return f"the runs could not be regenerated from the manifest's scenario ({reason})."


def regenerated_note(points: list[Regenerated], per_point: int, why: str) -> str:
    """Where the runs come from, and whether they end as runs.parquet says."""
    mismatched = sum(p.mismatched for p in points)
    note = (f"The runs were regenerated from their seeds (fast engine, at most {per_point} per "
            f"point), {why}")
    return note + ("; every regenerated run ends as recorded in `runs.parquet`." if not mismatched
                   else f"; {mismatched} of {sum(len(p.runs) for p in points)} regenerated runs "
                   "end differently from `runs.parquet` (a different project version?).")


def point_series(results: Results, scenario: Scenario, point_ids: list[int], per_point: int
                 ) -> tuple[pd.DataFrame, str]:
    """Per-quarter state, outputs and mean engagement of up to `per_point` runs per point: read
    from timeseries.parquet if it was written, else regenerated from the runs' seeds; and a
    sentence saying which."""
    chosen = chosen_runs(results, point_ids, per_point)
    recorded = results.recorded_series(chosen["run_id"].tolist())
    if recorded is not None:
        return recorded, "Read from `timeseries.parquet`."
    points = regenerate(results, scenario, chosen)
    states = np.asarray(statistics.STATE_NAMES, dtype=object)
    parts = []
    for point in points:
        for run_id, trajectory in zip(point.runs["run_id"], point.trajectories, strict=True):
            parts.append(pd.DataFrame({
                "run_id": run_id, "point_id": point.point_id,
                "quarter": np.arange(trajectory.quarters_run),
                "state": states[trajectory.upto("state")],
                "outputs": trajectory.upto("outputs"),
                "mean_engagement": trajectory.upto("mean_engagement")}))
    note = regenerated_note(points, per_point, "since the experiment did not record time series")
    return pd.concat(parts, ignore_index=True), note
