"""The record of a run, quarter by quarter: what both engines write and outcomes/plots read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.model import phases, rules
from sim.model.params import Scenario

GROUP_SERIES = {v.name: (v.dtype, v.fill) for v in phases.RECORDED_GROUP}  # name: dtype, fill
MEMBER_SERIES = {v.name: (v.dtype, v.fill) for v in phases.RECORDED_MEMBER}
STATUS_NAMES = ("pending", "active", "exited")


@dataclass
class Trajectory:
    """Per-quarter arrays of one run: group series (T,) and member series (T, N).

    Quarters from `quarters_run` on were not simulated (the group died earlier) and hold fill
    values.
    """

    seed: int
    quarters: int
    n_members: int
    rival_at_start: np.ndarray
    quarters_run: int = 0
    death_cause: int = rules.NO_CAUSE
    series: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        for name, (dtype, fill) in GROUP_SERIES.items():
            self.series.setdefault(name, np.full(self.quarters, fill, dtype=dtype))
        for name, (dtype, fill) in MEMBER_SERIES.items():
            self.series.setdefault(name, np.full((self.quarters, self.n_members), fill,
                                                 dtype=dtype))

    def __getattr__(self, name: str) -> np.ndarray:
        series = self.__dict__.get("series", {})
        if name in series:
            return series[name]
        raise AttributeError(name)

    def upto(self, name: str) -> np.ndarray:
        """A series cut to the quarters actually simulated."""
        return self.series[name][: self.quarters_run]

    def to_frame(self, scenario: Scenario) -> pd.DataFrame:
        """Long format: one row per simulated quarter and member, group columns repeated."""
        t = self.quarters_run
        n = self.n_members
        codes = np.array(scenario.codes, dtype=object)
        chair = self.upto("chair")
        chair_code = np.where(chair >= 0, codes[np.maximum(chair, 0)], "")
        quarter = np.arange(t)
        frame = {
            "quarter": np.repeat(quarter, n),
            "date": np.repeat([scenario.quarter_label(q) for q in quarter], n),
            "member": np.tile(codes, t),
        }
        for name in MEMBER_SERIES:
            frame[name] = self.upto(name).reshape(-1)
        frame["status"] = np.array(STATUS_NAMES, dtype=object)[frame["status"]]
        frame["is_chair"] = np.repeat(chair, n) == np.tile(np.arange(n), t)
        frame["chair"] = np.repeat(chair_code, n)
        for name in GROUP_SERIES:
            if name != "chair":
                frame[name] = np.repeat(self.upto(name), n)
        frame["state"] = np.array(rules.STATE_NAMES, dtype=object)[frame["state"]]
        df = pd.DataFrame(frame)
        for column in ("date", "member", "status", "chair", "state"):
            df[column] = df[column].astype("string")
        return df

    def equal(self, other: Trajectory, tolerance: float = 0.0) -> tuple[bool, str]:
        """Whether two trajectories agree; if not, the first differing quarter and variable."""
        t_run = min(self.quarters_run, other.quarters_run)
        first: tuple[int, str] | None = None
        for name, a in self.series.items():
            x, y = a[:t_run], other.series[name][:t_run]
            if a.dtype.kind == "f":
                differs = ~np.isclose(x, y, rtol=0, atol=tolerance, equal_nan=True)
            else:
                differs = x != y
            differs = differs.reshape(t_run, -1).any(axis=1)
            if differs.any():
                t = int(np.argmax(differs))
                if first is None or t < first[0]:
                    first = (t, name)
        if first is not None:
            t, name = first
            return False, (f"quarter {t}, {name}: {self.series[name][t]} != "
                           f"{other.series[name][t]}")
        if self.quarters_run != other.quarters_run:
            return False, (f"quarter {t_run}: one run ends, the other goes on (quarters_run "
                           f"{self.quarters_run} != {other.quarters_run})")
        if self.death_cause != other.death_cause:
            return False, f"death_cause {self.death_cause} != {other.death_cause}"
        return True, ""
