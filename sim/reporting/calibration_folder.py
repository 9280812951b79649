"""A calibration file fitted into its results folder: what `minilat calibrate` does.

`calibrate_file` validates the file (one case record or several, `joint.load_joint`), fits it by
its method (`joint_fit.calibrate_joint`: ABC-SMC or rejection), writes the results folder and its
report, and returns what it found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sim.errors import UserError, path_argument
from sim.experiments.evaluation import check_execution
from sim.experiments.storage import FolderLock, atomic_write_bytes, writing_folder
from sim.inference.joint import METHODS, JointCalibration, load_joint
from sim.inference.joint_fit import JointResult, calibrate_joint
from sim.inference.smc import Generation
from sim.reporting.calibration_report import write_joint_results


@dataclass
class CalibrationRun:
    """What `calibrate_file` did: the file as validated, its result, the results folder and its
    report."""

    spec: JointCalibration
    result: JointResult
    folder: Path

    @property
    def report(self) -> Path:
        return self.folder / "report.md"


def calibrate_file(path: str | Path, out: str | Path | None = None, *, draws: int | None = None,
                   workers: int | None = None, force: bool = False, backend: str = "local",
                   scheduler: str | None = None, resume: bool = False, method: str | None = None,
                   progress: Callable[[Generation], None] | None = None,
                   stage: Callable[[str], None] | None = None) -> CalibrationRun:
    """Calibrate by a calibration file into `out` (default results/<name>).

    `draws` and `method` override the file's; `resume` goes on with an interrupted ABC-SMC
    calibration in `out`; `progress(generation)` follows ABC-SMC's generations and
    `stage(message)` says what the fit is about to do. Without `force` an earlier calibration
    in `out` is refused.
    """
    stage = stage or (lambda message: None)
    workers = check_execution(backend, workers, scheduler)
    path = path_argument(path, "calibrate_file", "path")
    if out is not None:
        out = path_argument(out, "calibrate_file", "out")
    spec = load_joint(path, draws=draws)
    if method is not None:
        if method not in METHODS:
            raise UserError(f"--method {method}: unknown method. Allowed: smc, rejection.")
        spec = dataclasses.replace(spec, method=method)
    if draws is not None and spec.method == "smc":
        raise UserError(f"--draws {draws}: sets the prior draws of a rejection calibration, "
                        f"and {path} runs by ABC-SMC (method \"smc\"), which reads no draws: "
                        "it stops at max_populations or max_simulations. Allowed: --draws with "
                        "--method rejection, or the file's population_size and max_simulations.")
    if resume and spec.method != "smc":
        raise UserError(f"{path}: --resume goes on with an ABC-SMC calibration; this file's "
                        f'method is "{spec.method}".')
    folder = Path(out) if out is not None else Path("results") / spec.name
    text = path.read_bytes()
    if resume:
        lock = FolderLock(folder)
        kept = folder / "calibration.toml"
        if not kept.is_file() or kept.read_bytes() != text:
            raise UserError(f"{folder}: holds no calibration of {path} to resume (its "
                            "calibration.toml is missing or differs from the file). Run "
                            "without --resume.")
    else:
        lock = writing_folder(folder, force, "calibration")
    names = ", ".join(c.record.name for c in spec.cases)
    with lock:
        atomic_write_bytes(folder / "calibration.toml", text)
        stage(f"ABC-SMC of {names}, {spec.population_size:,} sets a generation"
              if spec.method == "smc" else f"{spec.draws:,} draws of {names}")
        result = calibrate_joint(spec, workers, folder, backend, scheduler, resume, progress)
        write_joint_results(spec, result, folder)
    return CalibrationRun(spec, result, folder)
