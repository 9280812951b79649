"""The experiment report: report.md and report.html, with figures, from a results folder.

Each section appears only where the experiment's design supports it; the report ends with the
sections left out and why. An experiment file's optional `[report]` table may set:
`contrast` (a pair of point ids, or a list of pairs, for the paired contrasts), `trajectories`
(how many design points get trajectory figures and the outcome rule's sensitivity table,
default 6), `trajectory_runs` (runs per point regenerated for them, default 200) and `from`
(a quarter, e.g. "2027Q1": shares, survival and contrasts measured again from its start, among
the runs not dead before it; `minilat report --from` sets it too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sim.errors import UserError, path_argument
from sim.experiments.storage import FolderLock
from sim.reporting.document import Document, Section, write_document
from sim.reporting.results import Results, load_results
from sim.reporting.sections import (
    contrasts,
    findings,
    from_date,
    phase_diagram,
    provenance,
    regions,
    rule_sensitivity,
    sensitivity,
    shares,
    survival,
    trajectories,
)
from sim.reporting.sections.common import FIGURES, FigureFolder

REPORT_KEYS = ("contrast", "trajectories", "trajectory_runs", "from")
SECTIONS = (("Outcome shares", shares.make), ("Trajectories", trajectories.make),
            ("Survival", survival.make), ("Outcome rule sensitivity", rule_sensitivity.make),
            ("Paired contrasts", contrasts.make), ("Measured from a date", from_date.make),
            ("Phase diagram", phase_diagram.make), ("Global sensitivity", sensitivity.make),
            ("Regions that lead to zombies", regions.make))


def write_report(folder: str | Path, contrasts: Sequence[Sequence[int]] | None = None,
                 trajectories: int | None = None, trajectory_runs: int | None = None,
                 progress: Callable[[str], None] | None = None, since: str | None = None
                 ) -> Path:
    """Write report.md, report.html and figures/ into a results folder; returns report.md's path.

    `contrasts`, `trajectories`, `trajectory_runs` and `since` (the `from` quarter) override
    the experiment's `[report]` table. `progress(message)` is told which section is being
    made. The folder is locked while the report is written (one writer per folder).
    """
    folder = path_argument(folder, "write_report", "folder")
    if not folder.is_dir():
        load_results(folder)  # says what is missing, before a lock would create the folder
    with FolderLock(folder):
        results = load_results(folder)
        _check_options(results, contrasts, since)
        settings = _settings(results.experiment.get("report") or {},
                             contrast=[list(pair) for pair in contrasts] if contrasts else None,
                             trajectories=trajectories, trajectory_runs=trajectory_runs,
                             **{"from": since})
        return _write(results, settings, progress)


def _check_options(results: Results, contrasts: Sequence[Sequence[int]] | None,
                   since: str | None) -> None:
    """A user error for a `--from` or `--contrast` this experiment cannot have, before anything
    is written."""
    if since is not None:
        from_date.from_quarter(results, since, "--from")
    points = set(results.runs["point_id"].unique().tolist())
    for pair in contrasts or ():
        a, b = (int(x) for x in pair)
        if a == b or a not in points or b not in points:
            raise UserError(f"--contrast {a},{b}: needs two different design points of this "
                            f"experiment. Allowed: point ids {min(points)} to {max(points)}.")


def _write(results: Results, settings: dict, progress: Callable[[str], None] | None) -> Path:
    """Make every section the design supports, then write the report and drop stale figures."""
    figures = FigureFolder(results.folder / FIGURES)
    figures.path.mkdir(exist_ok=True)
    doc = Document(f"Experiment report: {results.experiment['name']}")
    for name, make in SECTIONS:
        if progress:
            progress(name)
        outcome = make(results, settings, figures)
        if isinstance(outcome, Section):
            doc.sections.append(outcome)
        else:
            doc.omitted.append((name, outcome))
    if progress:
        progress("Findings")
    doc.sections.insert(0, findings.make(results, figures))
    doc.sections.append(provenance.make(results, settings))
    for stale in figures.path.glob("*.png"):  # figures of an earlier report that no longer apply
        if stale.name not in figures.written:
            stale.unlink()
    return write_document(doc, results.folder)


def _settings(table: dict, **overrides) -> dict:
    """The [report] table with overrides applied; entries that cannot be used are listed under
    `_ignored` (the report says so) instead of failing after the experiment has run."""
    settings = {**table, **{k: v for k, v in overrides.items() if v is not None}}
    ignored = [f"`{k}` (known: {', '.join(REPORT_KEYS)})" for k in settings
               if k not in REPORT_KEYS]
    for key in ("trajectories", "trajectory_runs"):
        value = settings.get(key)
        if key in settings and (isinstance(value, bool) or not isinstance(value, int)
                                or value < 0):
            ignored.append(f"`{key} = {value!r}` (a whole number, 0 or more)")
            del settings[key]
    return {k: v for k, v in settings.items() if k in REPORT_KEYS} | {"_ignored": ignored}
