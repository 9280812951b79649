"""The population as a level of a joint calibration: one parameter set's statistics over a
fixed sample of drawn groups, compared with the published figures of the population file's
`fit` targets.

Every parameter set runs the same groups with the same seeds (common random numbers: the
founding conditions and every run's draws are the population file's, so two sets differ by
their values alone). A parameter set gives the groups' behavioural values; the drawn founding
conditions stay as drawn, and a target's reading keeps its own outcome-rule windows (a source's
rule for dating a death is not a behavioural value), so those keys of a set are left out of the
runs read that way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.evaluation import Evaluator, batch_size, evaluate
from sim.inference.population import YearlyStates, read_scenario, run_table
from sim.inference.population_draw import Drawn, draw_population
from sim.inference.population_file import Population, load_population
from sim.inference.population_tables import simulate_statistic

PREFIX = "population"  # statistic names: population:<figure id>


@dataclass(frozen=True)
class PopulationLevel:
    """A population file's drawn groups and `fit` targets, read as one level of a fit."""

    population: Population
    drawn: Drawn
    runs: pd.DataFrame  # run_table: run_id, group_id, replicate, reading, seed
    observed: pd.Series  # population:<figure> -> the published figure

    @property
    def name(self) -> str:
        return PREFIX

    def targets(self):
        return [t for t in self.population.targets if t.role == "fit"]

    def statistics(self, parameter_sets: Sequence[Mapping[str, Any]],
                   evaluator: Evaluator | None = None) -> pd.DataFrame:
        """One row per parameter set: each fit target's statistic over the sample's runs."""
        if not len(parameter_sets):
            return pd.DataFrame(columns=self.observed.index, dtype=float)
        scenarios, sets, seeds = self.run_inputs(parameter_sets)
        workers = evaluator.workers if evaluator is not None else 1
        table = evaluate(scenarios, seeds, YearlyStates(), parameter_sets=sets,
                         engine=self.population.engine,
                         batch=batch_size(len(seeds), workers), evaluator=evaluator)
        per_set = len(self.runs)
        rows = [self.read(table.iloc[k * per_set:(k + 1) * per_set])
                for k in range(len(parameter_sets))]
        return pd.DataFrame(rows, columns=self.observed.index, dtype=float)

    def run_inputs(self, parameter_sets: Sequence[Mapping[str, Any]]
                   ) -> tuple[list, list[dict], list[int]]:
        """Each set's runs: the group's scenario under its reading, the set without the keys
        the reading fixes, and the run's own seed."""
        readings = self.population.readings
        base = [read_scenario(self.drawn.scenarios[g], readings[r]) for g, r in
                zip(self.runs["group_id"], self.runs["reading"], strict=True)]
        fixed = [{f"group.{k}" for k, _ in readings[r].windows} for r in self.runs["reading"]]
        seeds = self.runs["seed"].tolist()
        scenarios, sets, all_seeds = [], [], []
        for values in parameter_sets:
            plain = dict(values)
            scenarios += base
            sets += [plain if not keys else {k: v for k, v in plain.items() if k not in keys}
                     for keys in fixed]
            all_seeds += seeds
        return scenarios, sets, all_seeds

    def frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """One set's runs as the population tables read them: identifiers, reading, founding
        conditions, summary and yearly states."""
        readings = self.population.readings
        frame = self.runs.reset_index(drop=True).copy()
        frame["reading"] = [readings[r].label for r in self.runs["reading"]]
        frame["death_dated"] = [readings[r].death_dated for r in self.runs["reading"]]
        conditions = self.drawn.conditions.set_index("group_id").loc[self.runs["group_id"]]
        frame["stratum"] = conditions["stratum"].to_numpy()
        frame["members"] = conditions["members"].to_numpy()
        frame["dormant_months"] = [dict(readings[r].windows).get(
            "dormant_months", self.drawn.scenarios[g].group.dormant_months)
            for g, r in zip(self.runs["group_id"], self.runs["reading"], strict=True)]
        table = table.reset_index(drop=True)
        for column in ("states", "death_quarter", "death_cause", "outcome"):
            frame[column] = table[column].to_numpy()
        return frame

    def read(self, table: pd.DataFrame) -> dict[str, float]:
        """Each fit target's statistic over one set's runs."""
        frame = self.frame(table)
        out = {}
        for target in self.targets():
            chosen = frame[(frame["reading"] == target.reading.label)
                           & frame["stratum"].isin(target.strata)]
            out[f"{PREFIX}:{target.figure}"] = simulate_statistic(
                target, chosen, self.population.years)[0]
        return out


def population_level(path: str | Path, groups: int) -> PopulationLevel:
    """A population file's level with `groups` drawn groups (split over its strata)."""
    population = load_population(path, groups=groups)
    drawn = draw_population(population)
    runs = run_table(population, drawn)
    observed = pd.Series({f"{PREFIX}:{t.figure}": float(population.figures.loc[t.figure, "value"])
                          for t in population.targets if t.role == "fit"}, dtype=float)
    return PopulationLevel(population, drawn, runs, observed)
