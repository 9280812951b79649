"""ABC-SMC over case records with pyabc: the default method of a joint calibration.

pyabc (Klinger, Rickert and Hasenauer 2018) runs sequential Monte Carlo ABC: a population of
parameter sets is drawn from the priors, and each generation perturbs the last one's accepted sets
and keeps those whose runs come within a tolerance that falls from generation to generation. Its
history (every generation's particles, weights and distances) is an SQLite database in the
calibration's folder, `history.db`, from which an interrupted calibration resumes.

The distance is pyabc's adaptive weighted Euclidean distance (Prangle 2017) over every case's
statistics: each statistic is scaled, every generation, by its spread over that generation's runs
(the median absolute deviation, or the standard deviation where that is 0, as
`joint.statistic_scales`; a statistic that never varies is left out), and weighs 1 / sqrt(n) for a
case with n statistics, so that each case counts by the root mean square of its differences and
neither dominates. The scales are fitted on the accepted sets of the last generation (the sets a
history keeps), so that a resumed calibration scales as an uninterrupted one. The tolerance of each
generation is the median of the last one's distances. A particle's statistics are those of one
run of each case on the fast engine, or the means over `replicates` runs.

pyabc's own samplers run one parameter set per model call; a run of the fast engine costs nearly
what a batch of a thousand does. `BatchSampler` proposes a chunk of parameter sets at once, from the
generation's transition (or the prior) with a Generator seeded by the calibration's seed, the
generation and the chunk, runs them in one evaluation per case (`evaluate`, on the calibration's
workers), then lets pyabc weigh and accept them in the order proposed, until the population is
full. Nothing draws from numpy's global generator, and a generation's proposals depend only on the
seed and the last generation as the history holds it: a killed calibration resumed from its
history ends as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from sim.errors import UserError
from sim.experiments.evaluation import Evaluator, batch_size, evaluate, open_evaluator
from sim.inference.joint import (
    MAD_TO_SD,
    CaseStatistics,
    JointCalibration,
)

HISTORY = "history.db"
STATISTICS = "statistics"  # pyabc's name of the array of every case's statistics
IDENTITY_TABLE = "minilat_calibration"  # our table in pyabc's database: what it belongs to


UNREACHED = 1e9  # a statistic the runs cannot give: far from every record


def scale_mad_or_sd(samples: np.ndarray, **_: Any) -> np.ndarray:
    """Each statistic's spread over a generation's runs: MAD x 1.4826, else the sd (pyabc's
    scale-function signature); runs that cannot give the statistic (`UNREACHED`) are left out,
    and a statistic no run gives has spread 1."""
    samples = np.sort(np.asarray(samples, dtype=float), axis=0)  # the same in any order
    samples = np.where(samples == UNREACHED, np.nan, samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column with no value: spread 1
        median = np.nanmedian(samples, axis=0)
        mad = np.nanmedian(np.abs(samples - median), axis=0) * MAD_TO_SD
        sd = np.nanstd(samples, axis=0)
    return np.nan_to_num(np.where(mad > 0, mad, sd), nan=1.0)


def from_unbounded(prior, z: float) -> float:
    """A prior's value from pyabc's unbounded parameter: low + (high - low) * logistic(z).

    pyabc samples z, whose prior is the standard logistic distribution: the image of a uniform
    prior on [low, high] under the logit. Its Gaussian perturbations then never leave the prior's
    support, which in many dimensions most of them would (a uniform prior on a 17-dimensional
    box holds under 5 % of them), and its importance weights stay finite.
    """
    return prior.low + (prior.high - prior.low) * float(expit(z))


def parameter_names(calibration: JointCalibration) -> dict[str, str]:
    """pyabc's name of each prior (`p0`, `p1`, ...: names safe in its database) -> the key."""
    return {f"p{i}": prior.key for i, prior in enumerate(calibration.priors)}


class JointModel:
    """pyabc's model: a parameter set -> each case's statistics (one run each, or the means over
    `replicates` runs), as one array `statistics` in the order of `observed` (pyabc's history
    keeps an array in one row, a statistic of its own in a row each). `simulate` runs a chunk of
    sets at once; a set called afterwards is looked up, not run again."""

    def __init__(self, calibration: JointCalibration):
        self.calibration = calibration
        self.names = parameter_names(calibration)
        self.casts = {name: prior.cast for name, prior in
                      zip(self.names, calibration.priors, strict=True)}
        self.statistics = [name for _, observed in calibration.levels for name in observed.index]
        self.done: dict[tuple[float, ...], dict[str, np.ndarray]] = {}

    def values(self, parameter: dict) -> dict[str, Any]:
        return {key: self.casts[name](from_unbounded(prior, float(parameter[name])))
                for (name, key), prior in zip(self.names.items(), self.calibration.priors,
                                              strict=True)}

    def seeds(self, parameter: dict) -> list[int]:
        """The runs' seeds, from the calibration's seed and the parameter set itself: the same
        set gets the same runs whichever worker, in whatever order, simulates it."""
        values = np.array([float(parameter[name]) for name in self.names], dtype=float)
        entropy = [self.calibration.seed, *np.frombuffer(values.tobytes(), dtype=np.uint32)]
        rng = np.random.default_rng(np.random.SeedSequence([int(e) for e in entropy]))
        return [int(s) for s in rng.integers(0, 2**62, size=self.calibration.replicates,
                                             dtype=np.int64)]

    def key(self, parameter: dict) -> tuple[float, ...]:
        return tuple(float(parameter[name]) for name in self.names)

    def simulate(self, parameters: list[dict], evaluator: Evaluator | None = None) -> None:
        """Every case's statistics of `parameters`, one evaluation per case, kept for the calls
        that follow (and those of an earlier chunk dropped)."""
        replicates = self.calibration.replicates
        sets = [self.values(p) for p in parameters for _ in range(replicates)]
        seeds = [s for p in parameters for s in self.seeds(p)]
        workers = evaluator.workers if evaluator is not None else 1
        per_set = np.repeat(np.arange(len(parameters)), replicates)
        tables = [evaluate(case.scenario, seeds, CaseStatistics(case), parameter_sets=sets,
                           batch=batch_size(len(seeds), workers), evaluator=evaluator)
                  .groupby(per_set).mean() for case in self.calibration.cases]
        if self.calibration.population is not None:  # its own groups and seeds, once per set
            tables.append(self.calibration.population.statistics(
                [self.values(p) for p in parameters], evaluator))
        rows = pd.concat([t.reset_index(drop=True) for t in tables], axis=1
                         )[self.statistics].to_numpy(dtype=float)
        # a statistic the runs cannot give (a death rate at ages no group lived to) puts the
        # set far from every record, rather than making every distance undefined
        rows = np.where(np.isnan(rows), UNREACHED, rows)
        self.done = {self.key(p): {STATISTICS: row} for p, row in zip(parameters, rows,
                                                                     strict=True)}

    def __call__(self, parameter: dict) -> dict[str, np.ndarray]:
        if self.key(parameter) not in self.done:
            self.simulate([parameter])
        return self.done[self.key(parameter)]


def abc_smc(calibration: JointCalibration, sampler):
    """The pyabc ABCSMC object of a calibration: priors, model, distance, population, sampler."""
    import pyabc

    names = parameter_names(calibration)
    prior = pyabc.Distribution(**{
        name: pyabc.RV("logistic", 0, 1)
        for name, p in zip(names, calibration.priors, strict=True)})
    # one adaptive Euclidean distance over every statistic; a statistic of a case with n of them
    # weighs 1 / sqrt(n), so each case's part is the root mean square of its scaled differences
    # and a case with many statistics weighs no more than one with few (as `joint_distance`)
    weights = dict(enumerate(1 / np.sqrt(len(observed)) for _, observed in calibration.levels
                             for _ in observed.index))
    weights = {f"{STATISTICS}:{i}": weight for i, weight in weights.items()}
    distance = pyabc.distance.AdaptivePNormDistance(p=2, scale_function=scale_mad_or_sd,
                                                    fixed_weights=weights,
                                                    all_particles_for_scale=False)
    # perturb each parameter with its own kernel: a product of one-dimensional kernel densities
    # keeps the importance weights from collapsing in many dimensions, where one joint Gaussian
    # mixture leaves a few particles all the weight (docs/calibration.md)
    transitions = pyabc.AggregatedTransition(
        mapping={name: pyabc.MultivariateNormalTransition() for name in names})
    return pyabc.ABCSMC(sampler.model, prior, distance,
                        population_size=calibration.population_size, sampler=sampler,
                        transitions=transitions)


def observed(calibration: JointCalibration) -> dict[str, np.ndarray]:
    """The records' statistics as pyabc compares them: one array, the cases' in turn."""
    return {STATISTICS: np.concatenate([observed.to_numpy(dtype=float)
                                        for _, observed in calibration.levels])}


@dataclass
class Generation:
    """One generation as pyabc reports it."""

    t: int
    epsilon: float
    simulations: int
    accepted: int
    ess: float

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.simulations if self.simulations else float("nan")


class _Progress(logging.Handler):
    """pyabc's log lines of each generation, passed on as `Generation`s."""

    NUMBER = r"(\d[0-9]*(?:\.[0-9]+)?(?:e[+-]\d+)?|inf)"
    EPS = re.compile(rf"^t: (-?\d+), eps: {NUMBER}")
    ACCEPTED = re.compile(rf"^Accepted: (\d+) / (\d+) = {NUMBER}, ESS: {NUMBER}")

    def __init__(self, report: Callable[[Generation], None]):
        super().__init__(logging.INFO)
        self.report = report
        self.t, self.eps = None, None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if match := self.EPS.match(message):
                self.t, self.eps = int(match.group(1)), float(match.group(2))
            elif (match := self.ACCEPTED.match(message)) and self.t is not None:
                self.report(Generation(self.t, self.eps, int(match.group(2)),
                                       int(match.group(1)), float(match.group(4))))
        except Exception:  # a line of another form is not progress; the run goes on
            return


def run_smc(calibration: JointCalibration, folder: Path, workers: int = 2,
            backend: str = "local", scheduler: str | None = None, resume: bool = False,
            report: Callable[[Generation], None] | None = None,
            evaluator: Evaluator | None = None):
    """Run (or resume) the calibration's ABC-SMC into `folder/history.db`, its parameter sets
    run on `evaluator` (or one started on `backend` with `workers`); its pyabc History."""
    db_path = folder / HISTORY
    if resume and not db_path.is_file():
        raise UserError(f"{folder}: no {HISTORY} to resume from. Run without --resume.")
    folder.mkdir(parents=True, exist_ok=True)
    from sim.inference.smc_sampler import BatchSampler  # imports pyabc: its console handler
    # is replaced below

    handler = _Progress(report or (lambda generation: None))
    logger = logging.getLogger("ABC")  # pyabc's loggers are "ABC" and "ABC.<part>"
    level, handlers, propagate = logger.level, logger.handlers[:], logger.propagate
    logger.handlers = [handler]  # its lines become our progress, not its console output
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with open_evaluator(evaluator, workers, backend, scheduler) as pool:
            sampler = BatchSampler(JointModel(calibration), pool, calibration.seed)
            return fit_history(calibration, abc_smc(calibration, sampler), db_path, resume)
    finally:
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


def fit_history(calibration: JointCalibration, abc, db_path: Path, resume: bool):
    """Run pyabc's ABCSMC `abc` into a new history at `db_path`, or on with the one there
    (refused unless it was written by this calibration: `check_history`)."""
    db = f"sqlite:///{db_path}"
    identity = history_identity(calibration)
    if resume:
        check_history(db_path, identity)
        history = abc.load(db, 1)
        check_generations(history, calibration, db_path)
        done = history.max_t + 1
        left = calibration.max_populations - done
        if left <= 0:
            return history
    else:
        history = abc.new(db, observed(calibration))
        write_identity(db_path, identity)
        left = calibration.max_populations
    start = time.perf_counter()
    abc.run(minimum_epsilon=calibration.min_epsilon, max_nr_populations=left,
            max_total_nr_simulations=calibration.max_simulations)
    history.seconds = time.perf_counter() - start
    return history


def history_identity(calibration: JointCalibration) -> dict[str, Any]:
    """What a history belongs to: the calibration file (its path and the digest of its bytes),
    the parameters fitted, and the digest of the statistics of the records it is fitted to."""
    try:
        file_digest = hashlib.sha256(Path(calibration.source).read_bytes()).hexdigest()
    except OSError:
        file_digest = ""
    statistics = {name: float(value) for _, observed in calibration.levels
                  for name, value in observed.items()}
    return {"file": str(calibration.source), "file_sha256": file_digest,
            "parameters": [prior.key for prior in calibration.priors],
            "statistics_sha256": hashlib.sha256(json.dumps(statistics, sort_keys=True)
                                                .encode()).hexdigest()}


def write_identity(db_path: Path, identity: dict[str, Any]) -> None:
    """Store `identity` in the history's database, beside pyabc's tables."""
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"create table if not exists {IDENTITY_TABLE} "
                           "(key text primary key, value text)")
        connection.executemany(f"insert or replace into {IDENTITY_TABLE} values (?, ?)",
                               [(k, json.dumps(v)) for k, v in identity.items()])
    connection.close()


def read_identity(db_path: Path) -> dict[str, Any] | None:
    """The identity stored in a history (None if it holds none); a file that is not a whole
    pyabc history is refused."""
    def refuse(problem: str) -> UserError:
        return UserError(f"{db_path}: {problem}, so there is nothing to resume. Run without "
                         "--resume (with --force to start the calibration again).")

    try:
        connection = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            if connection.execute("pragma quick_check").fetchone()[0] != "ok":
                raise refuse("is damaged (the database's own check fails)")
            tables = {row[0] for row in connection.execute(
                "select name from sqlite_master where type = 'table'")}
            if not {"abc_smc", "populations"} <= tables:
                raise refuse("is not a calibration history (it has no pyabc tables)")
            if not connection.execute("select count(*) from abc_smc").fetchone()[0]:
                raise refuse("holds no calibration run")
            if IDENTITY_TABLE not in tables:
                return None
            rows = connection.execute(f"select key, value from {IDENTITY_TABLE}").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise refuse(f"cannot be read as a calibration history ({exc})") from None
    try:
        return {key: json.loads(value) for key, value in rows}
    except (TypeError, ValueError):
        raise refuse("holds a damaged record of its calibration") from None


def check_history(db_path: Path, identity: dict[str, Any]) -> None:
    """Refuse to resume a history that another calibration wrote (another file, other
    parameters or other records), naming both sides."""
    stored = read_identity(db_path)
    if stored is None:
        raise UserError(f"{db_path}: does not say which calibration wrote it (a history of "
                        "another program or an older version), so it cannot be resumed as "
                        f"{identity['file']}'s. Run without --resume (with --force to start "
                        "again).")
    differs = [label for key, label in (("file_sha256", "its file's contents"),
                                        ("parameters", "its parameters"),
                                        ("statistics_sha256", "its records' statistics"))
               if stored.get(key) != identity[key]]
    if differs:
        raise UserError(
            f"{db_path}: was written by the calibration {stored.get('file', '?')} (parameters "
            f"{', '.join(map(str, stored.get('parameters') or [])) or 'none'}), not by "
            f"{identity['file']} (parameters {', '.join(identity['parameters'])}): "
            f"{' and '.join(differs)} differ. Resume a calibration in its own folder, or run "
            "this one without --resume.")


def check_generations(history, calibration: JointCalibration, db_path: Path) -> None:
    """Refuse to resume a history whose start or stored generations cannot be read back whole:
    each generation's parameter sets, with this calibration's parameters and finite weights."""
    names = sorted(parameter_names(calibration))
    try:
        stored = history.get_all_populations()["t"].astype(int).tolist()
        if -1 not in stored:  # pyabc writes its start (t = -1) before any generation
            raise ValueError("it holds no record of the calibration's start")
        for t in sorted(t for t in stored if t >= 0):
            frame, weights = history.get_distribution(m=0, t=t)
            if sorted(frame.columns) != names or not len(frame) or \
                    not np.all(np.isfinite(np.asarray(weights, dtype=float))):
                raise ValueError(f"generation {t} holds {len(frame)} parameter sets of "
                                 f"{len(frame.columns)} parameters, not whole sets of "
                                 f"{len(names)}")
    except Exception as exc:
        reason = str(exc) if isinstance(exc, ValueError) else \
            f"{type(exc).__name__}: {exc}"
        raise UserError(f"{db_path}: is damaged ({reason}), so there is nothing to resume. "
                        "Run without --resume (with --force to start the calibration "
                        "again).") from None


def generations(history) -> pd.DataFrame:
    """t, epsilon, simulations, accepted, acceptance_rate, ess per generation of a history."""
    from pyabc.weighted_statistics import effective_sample_size

    rows = []
    for row in history.get_all_populations().itertuples():
        if row.t < 0:
            continue
        frame, weights = history.get_distribution(m=0, t=row.t)
        rows.append({"t": int(row.t), "epsilon": float(row.epsilon),
                     "simulations": int(row.samples), "accepted": len(frame),
                     "acceptance_rate": len(frame) / row.samples if row.samples else np.nan,
                     "ess": float(effective_sample_size(weights))})
    return pd.DataFrame(rows)


def posterior_generation(table: pd.DataFrame, min_effective: float) -> int:
    """The generation a calibration reports as its posterior: the last one with at least
    `min_effective` effective sets, else the last one.

    Each generation is a weighted sample of the ABC posterior at its own tolerance. Where the
    importance weights of the last ones collapse onto a few sets, an earlier generation, at a
    wider tolerance, describes the posterior with a sample that can; the later generations stay
    in `generations.csv`."""
    enough = table[table["ess"] >= min_effective]
    return int(enough["t"].iloc[-1] if len(enough) else table["t"].iloc[-1])


def posterior_sets(calibration: JointCalibration, history, t: int | None = None
                   ) -> pd.DataFrame:
    """Generation `t`'s parameter sets (the last one by default): one row each, dotted-key
    columns and `weight`."""
    frame, weights = history.get_distribution(m=0, t=history.max_t if t is None else t)
    names = parameter_names(calibration)
    out = pd.DataFrame({key: [prior.cast(from_unbounded(prior, float(v))) for v in frame[name]]
                        for (name, key), prior in zip(names.items(), calibration.priors,
                                                      strict=True)})
    out["weight"] = np.asarray(weights, dtype=float) / np.sum(weights)
    return out
