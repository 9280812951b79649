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

import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.errors import UserError
from sim.experiments.storage import (
    MANIFEST,
    RUNS,
    TIMESERIES,
    FolderLock,
    ResultsFolder,
    atomic_write_bytes,
)
from sim.inference import statistics
from sim.model.quarters import format_quarter, parse_quarter, quarter_within, quarters_within

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURES = "figures"
REPORT_KEYS = ("contrast", "trajectories", "trajectory_runs", "from")
MAX_TWIN_FIGURES = 3  # pairs drawn as twins in the section measured from a date
MAX_FROM_RUNS = 50_000  # runs whose state series the section measured from a date regenerates
MAX_LISTED_POINTS = 24  # more points: pooled shares and a sorted figure instead of a table
MAX_SURVIVAL_POINTS = 12
MAX_DEFAULT_CONTRASTS = 8  # points up to which each is contrasted with point 0 by default


# ------------------------------------------------------------------------------ document


# A report is a list of sections of blocks, written once as Markdown and once as HTML. Text
# blocks are plain strings in which `code` and **bold** are the only markup.


@dataclass
class Table:
    frame: pd.DataFrame  # cells already formatted as text


@dataclass
class Figure:
    file: str  # relative to the results folder
    caption: str


@dataclass
class Code:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    appendix: bool = False  # after the body; collapsed in the HTML version

    def add(self, block) -> Section:
        self.blocks.append(block)
        return self


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)
    omitted: list[tuple[str, str]] = field(default_factory=list)  # (section, why)


def to_markdown(doc: Document) -> str:
    """The report as Markdown (report.md): the body, what is left out, then the appendix."""
    lines = [f"# {doc.title}", ""]
    for section in _in_order(doc):
        if section is None:
            lines += ["## Not in this report", ""]
            lines += [f"- **{name}**: {why}" for name, why in doc.omitted] + [""]
            continue
        lines += [f"## {'Appendix: ' if section.appendix else ''}{section.title}", ""]
        for block in section.blocks:
            if isinstance(block, str):
                lines += [block, ""]
            elif isinstance(block, Table):
                lines += [_markdown_table(block.frame), ""]
            elif isinstance(block, Figure):
                lines += [f"![{block.caption}]({block.file})", "", f"*{block.caption}*", ""]
            elif isinstance(block, Code):
                lines += ["```", block.text, "```", ""]
            elif isinstance(block, Bullets):
                lines += [f"- {item}" for item in block.items] + [""]
    return "\n".join(lines)


def _in_order(doc: Document) -> list[Section | None]:
    """The body's sections, None where the list of what is left out goes, then the appendix."""
    body = [section for section in doc.sections if not section.appendix]
    appendix = [section for section in doc.sections if section.appendix]
    return body + ([None] if doc.omitted else []) + appendix


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    rows = ["| " + " | ".join(cell(c) for c in frame.columns) + " |",
            "|" + "|".join("---" for _ in frame.columns) + "|"]
    rows += ["| " + " | ".join(cell(v) for v in row) + " |"
             for row in frame.itertuples(index=False)]
    return "\n".join(rows)


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def _inline_html(text: str) -> str:
    """Backticks and double asterisks of the Markdown text as <code> and <strong>."""
    out, last = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        code, strong = match.groups()
        out.append(f"<code>{html.escape(code)}</code>" if code is not None
                   else f"<strong>{html.escape(strong)}</strong>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 64rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } img { max-width: 100%; }
figcaption { font-size: .85rem; color: #555; }
pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; font-size: .8rem; }
code { background: #f3f3f3; padding: 0 .2rem; }
"""


def to_html(doc: Document) -> str:
    """The report as one HTML page with its style inline (report.html); figures are linked."""
    parts = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
             f"<title>{html.escape(doc.title)}</title>", f"<style>{CSS}</style>", "</head>",
             "<body>", f"<h1>{html.escape(doc.title)}</h1>"]
    for section in _in_order(doc):
        if section is None:
            parts.append("<h2>Not in this report</h2><ul>")
            parts += [f"<li><strong>{html.escape(name)}</strong>: {_inline_html(why)}</li>"
                      for name, why in doc.omitted]
            parts.append("</ul>")
            continue
        if section.appendix:  # collapsed until opened
            parts.append(f"<details><summary><h2 style=\"display: inline\">Appendix: "
                         f"{html.escape(section.title)}</h2></summary>")
        else:
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, str):
                parts.append(f"<p>{_inline_html(block)}</p>")
            elif isinstance(block, Table):
                head = "".join(f"<th>{html.escape(str(c))}</th>" for c in block.frame.columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{_inline_html(str(v))}</td>" for v in row) + "</tr>"
                    for row in block.frame.itertuples(index=False))
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                             "</table>")
            elif isinstance(block, Figure):
                parts.append(f"<figure><img src=\"{html.escape(block.file)}\" "
                             f"alt=\"{html.escape(block.caption)}\"><figcaption>"
                             f"{_inline_html(block.caption)}</figcaption></figure>")
            elif isinstance(block, Code):
                parts.append(f"<pre>{html.escape(block.text)}</pre>")
            elif isinstance(block, Bullets):
                parts.append("<ul>" + "".join(f"<li>{_inline_html(item)}</li>"
                                              for item in block.items) + "</ul>")
        if section.appendix:
            parts.append("</details>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ inputs


@dataclass
class Results:
    """What the report reads: the manifest, the finished runs and what the design implies."""

    folder: Path
    manifest: dict
    runs: pd.DataFrame  # runs that did not fail
    failed: int

    @property
    def experiment(self) -> dict:
        return self.manifest["experiment"]

    @property
    def factor_keys(self) -> list[str]:
        return list(self.experiment["factors"])

    @property
    def varied(self) -> list[str]:
        """Factors that take more than one value among the runs."""
        return [k for k in self.factor_keys if self.runs[k].nunique() > 1]

    @property
    def horizon(self) -> int:
        return int(self.experiment["years"]) * 4

    @property
    def points(self) -> int:
        return int(self.runs["point_id"].nunique())


def load_results(folder: str | Path) -> Results:
    """Read a finished experiment's results folder; a user error says what is missing."""
    path = Path(folder)
    expected = ("a results folder written by `minilat experiment`, holding manifest.json and "
                "runs.parquet")
    if not path.is_dir():
        raise UserError(f"{path}: no such folder. Expected {expected}.")
    if not (path / MANIFEST).is_file() or not (path / RUNS).exists():
        missing = " and ".join(name for name in (MANIFEST, RUNS) if not (path / name).exists())
        raise UserError(f"{path} is not a results folder: it has no {missing}. Expected "
                        f"{expected}.")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path / MANIFEST}: cannot read the manifest ({exc}).") from None
    if not isinstance(manifest, dict) or "experiment" not in manifest:
        raise UserError(f"{path / MANIFEST} is not the manifest of an experiment (no "
                        f"`experiment` entry). Expected {expected}.")
    status = manifest.get("status")
    if status != "finished":
        source = manifest.get("experiment_file") or "FILE"
        raise UserError(f"{path} holds an unfinished experiment (status: {status}). Finish it "
                        f"with `minilat experiment {source} --resume --out {path}`; its report "
                        "is written at the end.")
    folder = ResultsFolder(path)
    source = manifest.get("experiment_file") or "FILE"
    remedy = (f"`minilat experiment {source} --resume --out {path}` recomputes them from their "
              "seeds; the other runs are kept")
    damaged = folder.damaged_chunks(manifest.get("chunks", {}).get("files") or {})
    if damaged:
        shown = ", ".join(damaged[:5]) + (f" and {len(damaged) - 5} more" if len(damaged) > 5
                                          else "")
        raise UserError(f"{path}: {len(damaged)} file{'s' if len(damaged) != 1 else ''} of "
                        f"finished chunks changed or went missing since they were written "
                        f"(their checksums differ from the manifest's): {shown}. {remedy}.")
    try:
        runs = folder.read_runs()
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise UserError(f"{path / RUNS}: cannot be read ({exc}). {remedy}.") from None
    failed = int(runs["failed"].sum())
    runs = runs[~runs["failed"]].reset_index(drop=True)
    if runs.empty:
        raise UserError(f"{path}: every run failed; there is nothing to report. The errors are "
                        f"in {path / 'errors.jsonl'}.")
    return Results(path, manifest, runs, failed)


# ------------------------------------------------------------------------------ the report


def write_report(folder: str | Path, contrasts: Sequence[Sequence[int]] | None = None,
                 trajectories: int | None = None, trajectory_runs: int | None = None,
                 progress: Callable[[str], None] | None = None, since: str | None = None
                 ) -> Path:
    """Write report.md, report.html and figures/ into a results folder; returns report.md's path.

    `contrasts`, `trajectories`, `trajectory_runs` and `since` (the `from` quarter) override
    the experiment's `[report]` table. `progress(message)` is told which section is being
    made. The folder is locked while the report is written (one writer per folder).
    """
    if not Path(folder).is_dir():
        load_results(folder)  # says what is missing, before a lock would create the folder
    with FolderLock(folder):
        return _write_report(folder, contrasts, trajectories, trajectory_runs, progress, since)


def _write_report(folder, contrasts, trajectories, trajectory_runs, progress, since=None
                  ) -> Path:
    results = load_results(folder)
    if since is not None:
        _from_quarter(results, since, "--from")  # a user error before anything is written
    points = set(results.runs["point_id"].unique().tolist())
    for pair in contrasts or ():
        a, b = (int(x) for x in pair)
        if a == b or a not in points or b not in points:
            raise UserError(f"--contrast {a},{b}: needs two different design points of this "
                            f"experiment. Allowed: point ids {min(points)} to {max(points)}.")
    figures = results.folder / FIGURES
    figures.mkdir(exist_ok=True)
    settings = _settings(results.experiment.get("report") or {},
                         contrast=[list(pair) for pair in contrasts] if contrasts else None,
                         trajectories=trajectories, trajectory_runs=trajectory_runs,
                         **{"from": since})
    title = f"Experiment report: {results.experiment['name']}"
    doc = Document(title)
    written: list[str] = []
    steps = [("Outcome shares", _shares),
             ("Trajectories", _trajectories), ("Survival", _survival),
             ("Outcome rule sensitivity", _rule_sensitivity), ("Paired contrasts", _contrasts),
             ("Measured from a date", _from_date),
             ("Phase diagram", _phase_diagram),
             ("Global sensitivity", _sensitivity), ("Regions that lead to zombies", _regions)]
    for name, make in steps:
        if progress:
            progress(name)
        outcome = make(results, settings, figures, written)
        if isinstance(outcome, Section):
            doc.sections.append(outcome)
        else:
            doc.omitted.append((name, outcome))
    if progress:
        progress("Findings")
    doc.sections.insert(0, _findings(results, written))
    provenance = _provenance(results, settings, figures, written)
    provenance.appendix = True
    doc.sections.append(provenance)
    for stale in figures.glob("*.png"):  # figures of an earlier report that no longer apply
        if stale.name not in written:
            stale.unlink()
    atomic_write_bytes(results.folder / REPORT_HTML, to_html(doc).encode())
    atomic_write_bytes(results.folder / REPORT_MD, to_markdown(doc).encode())
    return results.folder / REPORT_MD


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


def _save(fig_path: Path, written: list[str], draw: Callable[[Path], Any]) -> str:
    """Draw a figure to a temporary file and move it into place; returns its relative path."""
    tmp = fig_path.with_name(f".{fig_path.stem}.tmp.png")
    draw(tmp)
    tmp.replace(fig_path)
    written.append(fig_path.name)
    return f"{FIGURES}/{fig_path.name}"


# ------------------------------------------------------------------------------ sections


def _provenance(results: Results, settings: dict, figures: Path, written: list) -> Section:
    m, e = results.manifest, results.experiment
    section = Section("Provenance")
    if e.get("description"):
        section.add(e["description"])
    counts = m.get("counts", {})
    design = e["design"] + (f", {e['samples']} base samples" if e["design"] in ("lhs", "sobol")
                            else "")
    scenario = m.get("scenario", {})
    rows = [
        ("experiment file", f"`{m.get('experiment_file') or '?'}`"),
        ("scenario", f"`{e['scenario']}` ({scenario.get('source', '?')})"),
        ("design", design),
        ("design points", str(counts.get("points", results.points))),
        ("replicates per point", str(e["replicates"])),
        ("runs", f"{counts.get('runs', '?')} ({results.failed} failed)"),
        ("horizon", f"{e['years']} years ({results.horizon} quarters)"),
        ("experiment seed", str(e["seed"])),
        ("common random numbers", "yes: replicate r has the same seed at every point"
         if e["common_random_numbers"] else "no"),
        ("engine", f"{m.get('engine', e['engine'])} ({m.get('backend', '?')} backend, "
                   f"workers: {m.get('workers', '?')})"),
        ("project version", f"minilateral-sim {m.get('version', '?')}"),
        ("experiment hash", f"`{str(m.get('hash', '?'))[:12]}`"),
        ("started", str(m.get("started"))),
        ("finished", str(m.get("finished"))),
        ("resumed", ", ".join(m.get("resumed") or []) or "never"),
        ("duration", _duration(m)),
        ("command", f"`{' '.join(m.get('command') or [])}`"),
    ]
    if e.get("fixed"):
        rows.insert(3, ("fixed", ", ".join(f"`{k}` = {_fmt(v)}" for k, v in e["fixed"].items())))
    posterior = e.get("posterior")
    if posterior:
        rows.insert(5, ("parameter sets", f"{posterior['sets']} drawn by weight from "
                        f"`{posterior['source']}/posterior.parquet` (keys: "
                        f"{', '.join(f'`{k}`' for k in posterior['keys'])}); replicate r runs "
                        "set r mod sets at every point, so each point's shares are mixed over "
                        "the posterior; the column `posterior_set` of `runs.parquet` names it"))
    if settings["_ignored"]:
        rows.append(("ignored in [report]", "; ".join(settings["_ignored"])))
    section.add(Table(pd.DataFrame(rows, columns=["", "value"])))
    factors = []
    for key, spec in e["factors"].items():
        if "values" in spec:
            levels = ", ".join(_fmt(v) for v in spec["values"])
        else:
            levels = f"{_fmt(spec['min'])} to {_fmt(spec['max'])}" + (
                f" in {spec['steps']} steps" if spec.get("steps") else "")
        factors.append((f"`{key}`", levels))
    section.add("Factors:")
    section.add(Table(pd.DataFrame(factors, columns=["factor", "values"])))
    section.add("Each run's seed is in `runs.parquet` (column `seed`); the seeds derive from the "
                f"experiment seed as follows: {m.get('seeds', {}).get('derivation', '?')}.")
    shown = {**e, "posterior": {k: v for k, v in posterior.items() if k not in ("values", "rows")}
                                | {"values": "(one row per set: see manifest.json)"}} \
        if posterior else e
    resolved = json.dumps(shown, indent=2, default=str)
    section.add("The experiment as resolved:")
    section.add(Code(resolved))
    return section


def _findings(results: Results, written: list) -> Section:
    """What the experiment found, in sentences with their numbers, and the figure of it."""
    from sim.reporting.findings import experiment_findings

    section = Section("Findings")
    e = results.experiment
    section.add(Bullets(experiment_findings(results.runs, results.factor_keys, results.varied,
                                            results.horizon, e["common_random_numbers"],
                                            e["design"], fmt=_fmt)))
    if "outcome_shares.png" in written:
        section.add(Figure(f"{FIGURES}/outcome_shares.png", "Outcome shares per design point "
                           "(dead at the bottom, alive on top); the tables follow."))
    section.add("Effects between points are paired by replicate (common random numbers); "
                "every interval is a 95 % interval. Provenance, the design and the experiment "
                "as resolved are in the appendix.")
    return section


def _duration(manifest: dict) -> str:
    seconds = manifest.get("seconds")
    if seconds is None:
        return "?"
    rate = manifest.get("runs_per_second")
    text = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    return text + (f" ({rate:,.0f} runs/s)" if rate else "")


def _shares(results: Results, settings: dict, figures: Path, written: list) -> Section:
    section = Section("Outcome shares")
    table = statistics.shares_by_point(results.runs, results.factor_keys)
    labels = _point_labels(results)
    section.add("Share of runs that end alive, zombie or dead after "
                f"{results.experiment['years']} years, with Wilson 95 % intervals.")
    if len(table) <= MAX_LISTED_POINTS:
        shown = pd.DataFrame({"point": table["point_id"]})
        for key in results.factor_keys:
            shown[f"`{key}`"] = table[key].map(_fmt)
        shown["runs"] = table["runs"]
        for name in ("alive", "zombie", "dead"):
            shown[name] = [_share(row[name], row[f"{name}_low"], row[f"{name}_high"])
                           for _, row in table.iterrows()]
        section.add(Table(shown))
    else:
        pooled = statistics.outcome_shares(results.runs["outcome"])
        section.add(f"{len(table):,} design points: the table pools all "
                    f"{len(results.runs):,} runs; the shares per point are in `runs.parquet`.")
        section.add(Table(pd.DataFrame({
            "outcome": pooled["outcome"], "runs": pooled["count"],
            "share": [_share(r.share, r.low, r.high) for r in pooled.itertuples()]})))
        spread = table[["alive", "zombie", "dead"]].describe(percentiles=[0.05, 0.5, 0.95])
        section.add("Across design points, the share of runs in each outcome ranges as follows:")
        section.add(Table(pd.DataFrame({
            "outcome": ["alive", "zombie", "dead"],
            **{label: [f"{spread.loc[stat, n]:.0%}" for n in ("alive", "zombie", "dead")]
               for label, stat in (("min", "min"), ("5 %", "5%"), ("median", "50%"),
                                   ("95 %", "95%"), ("max", "max"))}})))
    file = _save(figures / "outcome_shares.png", written, lambda p: _plots().plot_outcome_shares(
        table, [labels[i] for i in table["point_id"]], p,
        title=f"{results.experiment['name']}: outcome after {results.experiment['years']} "
              "years"))
    section.add(Figure(file, "Outcome shares per design point (dead at the bottom, alive on "
                             "top); error bars: Wilson 95 % intervals of the dead share (red) "
                             "and the alive share (blue)." if len(table) <= 40 else
                       "Outcome shares of every design point, the points sorted by their dead "
                       "share (dead at the bottom, alive on top)."))
    return section


def _trajectories(results: Results, settings: dict, figures: Path, written: list
                  ) -> Section | str:
    chosen = _trajectory_points(results, settings, "trajectories")
    if isinstance(chosen, str):
        return chosen
    point_ids, per_point = chosen
    try:
        scenario = _base_scenario(results)
        series, source = _point_series(results, scenario, point_ids, per_point)
    except (UserError, ValueError) as exc:  # e.g. results of an older version of the model
        return f"the runs could not be regenerated from the manifest's scenario ({exc})."
    section = Section("Trajectories")
    which = ("each design point" if len(point_ids) == results.points
             else f"the first {len(point_ids)} design points")
    section.add(f"For {which}: the share of runs alive, zombie and "
                "dead quarter by quarter, and fan charts (median, 50 % and 90 % of runs) of "
                "joint outputs per quarter (0 once dead) and of the members' mean engagement "
                f"(among groups not yet dead). {source}")
    labels = _point_labels(results)
    start_year = scenario.start_quarter / 4
    for point_id in point_ids:
        part = series[series["point_id"] == point_id]
        full = statistics.complete_series(part, results.horizon)
        shares = statistics.state_shares_by_quarter(full)
        activity = statistics.quantile_bands(full, "outputs")
        engagement = statistics.quantile_bands(full, "mean_engagement")
        runs = part["run_id"].nunique()
        marks = _change_marks(_point_scenario(results, scenario, point_id))
        file = _save(figures / f"trajectories_point_{point_id:03d}.png", written,
                     lambda p, s=shares, a=activity, g=engagement, pid=point_id, n=runs,
                     m=marks: _plots().plot_trajectories(
                         s, a, g, start_year, p, title=f"Point {pid}: {labels[pid]} ({n} runs)",
                         marks=m))
        section.add(Figure(file, f"Point {point_id} ({labels[point_id]}): state shares, "
                                 "outputs per quarter and mean engagement by year. A group is a "
                                 "zombie after two years without a meeting or document at its "
                                 "apex level (docs/validation.md)."))
    return section


def _trajectory_points(results: Results, settings: dict, subject: str
                       ) -> tuple[list[int], int] | str:
    """The design points the [report] table's `trajectories` and `trajectory_runs` choose, and
    the runs per point; or why the section about their `subject` is left out."""
    design = results.experiment["design"]
    if design in ("lhs", "sobol"):
        return (f"a {design} design samples points at random; {subject} of single points say "
                "little (see global sensitivity).")
    count = int(settings.get("trajectories", 6))
    per_point = int(settings.get("trajectory_runs", 200))
    if count < 1 or per_point < 1:
        return "turned off in the experiment's [report] table."
    return sorted(results.runs["point_id"].unique())[:count], per_point


def _chosen_runs(results: Results, point_ids: list[int], per_point: int) -> pd.DataFrame:
    """The rows of runs.parquet of the first `per_point` replicates of each point."""
    return (results.runs[results.runs["point_id"].isin(point_ids)]
            .sort_values(["point_id", "replicate"]).groupby("point_id").head(per_point))


@dataclass
class Regenerated:
    """The chosen runs of one design point, simulated again from their seeds."""

    point_id: int
    scenario: Any  # the point's scenario
    runs: pd.DataFrame  # their rows of runs.parquet
    trajectories: list  # one per row, in the same order
    mismatched: int  # runs that end differently from runs.parquet


def _regenerate(results: Results, scenario, chosen: pd.DataFrame) -> list[Regenerated]:
    """The chosen runs, point by point, from their seeds on the fast engine."""
    from sim.experiments.posterior import PosteriorSets, run_scenarios
    from sim.model.simulation import simulate

    posterior = results.experiment.get("posterior")
    sets = PosteriorSets.from_resolved(posterior) if posterior else None
    points = []
    for point_id, runs in chosen.groupby("point_id", sort=True):
        point_scenario = _point_scenario(results, scenario, point_id)
        per_run = point_scenario if sets is None else run_scenarios(
            scenario, results.factor_keys, runs.reset_index(drop=True), sets,
            results.experiment.get("fixed") or {})
        batch = simulate(per_run, runs["seed"].tolist(), record=True)
        again = np.array([r["outcome"] for r in batch.summaries])
        points.append(Regenerated(int(point_id), point_scenario, runs, batch.trajectories,
                                  int(np.sum(again != runs["outcome"].to_numpy()))))
    return points


def _regenerated_note(points: list[Regenerated], per_point: int, why: str) -> str:
    """Where the runs come from, and whether they end as runs.parquet says."""
    mismatched = sum(p.mismatched for p in points)
    note = (f"The runs were regenerated from their seeds (fast engine, at most {per_point} per "
            f"point), {why}")
    return note + ("; every regenerated run ends as recorded in `runs.parquet`." if not mismatched
                   else f"; {mismatched} of {sum(len(p.runs) for p in points)} regenerated runs "
                   "end differently from `runs.parquet` (a different project version?).")


def _point_series(results: Results, scenario, point_ids: list[int], per_point: int
                  ) -> tuple[pd.DataFrame, str]:
    """Per-quarter state, outputs and mean engagement of up to `per_point` runs per point: read
    from timeseries.parquet if it was written, else regenerated from the runs' seeds."""
    chosen = _chosen_runs(results, point_ids, per_point)
    columns = ["run_id", "quarter", "state", "outputs", "mean_engagement"]
    path = results.folder / TIMESERIES
    if results.manifest.get("timeseries") and path.exists():
        import pyarrow.dataset as ds

        dataset = ds.dataset(path, format="parquet", partitioning="hive")
        table = dataset.to_table(columns=[*columns, "point_id"],
                                 filter=ds.field("run_id").isin(chosen["run_id"].tolist()))
        frame = (table.to_pandas().drop_duplicates(["run_id", "quarter"])
                 .sort_values(["run_id", "quarter"]))
        frame["state"] = frame["state"].astype(object)
        return frame, "Read from `timeseries.parquet`."
    points = _regenerate(results, scenario, chosen)
    parts = []
    for point in points:
        for run_id, trajectory in zip(point.runs["run_id"], point.trajectories, strict=True):
            t = trajectory.quarters_run
            parts.append(pd.DataFrame({
                "run_id": run_id, "point_id": point.point_id, "quarter": np.arange(t),
                "state": np.asarray(statistics.STATE_NAMES, dtype=object)[trajectory.upto("state")],
                "outputs": trajectory.upto("outputs"),
                "mean_engagement": trajectory.upto("mean_engagement")}))
    note = _regenerated_note(points, per_point, "since the experiment did not record time series")
    return pd.concat(parts, ignore_index=True), note


def _survival(results: Results, settings: dict, figures: Path, written: list) -> Section | str:
    design = results.experiment["design"]
    if design in ("lhs", "sobol"):
        return f"a {design} design has too few runs per point for survival curves."
    if results.points > MAX_SURVIVAL_POINTS:
        return (f"{results.points} design points are too many curves to compare (at most "
                f"{MAX_SURVIVAL_POINTS}).")
    section = Section("Survival")
    section.add("Kaplan–Meier estimates of the time to death and to the first zombie quarter, "
                "per design point, with 95 % bands (log(−log) Greenwood, lifelines). Runs still "
                f"going at the horizon are censored at {results.experiment['years']} years; for "
                "the first zombie quarter, runs that die before ever being zombies are censored "
                "at their death.")
    labels = _point_labels(results)
    horizon_years = results.horizon / 4
    medians = {}
    for event, what, ylabel in (("death", "time to death", "share of groups not yet dead"),
                                ("zombie", "time to the first zombie quarter",
                                 "share of groups never yet zombie")):
        curves, table = statistics.survival_by_point(results.runs, event, results.horizon)
        medians[event] = table
        file = _save(figures / f"survival_{event}.png", written,
                     lambda p, c=curves, w=what, y=ylabel: _plots().plot_survival(
                         c, labels, p, title=f"Kaplan–Meier: {w}", ylabel=y,
                         horizon_years=horizon_years))
        section.add(Figure(file, f"Kaplan–Meier estimate of the {what} per design point, "
                                 "with 95 % bands."))
    table = pd.DataFrame({"point": medians["death"]["point_id"],
                          "design point": [labels[i] for i in medians["death"]["point_id"]],
                          "runs": medians["death"]["runs"]})
    for event, name in (("death", "deaths"), ("zombie", "became zombies")):
        m = medians[event]
        table[name] = m["events"].to_numpy()
        table[f"median years to {'death' if event == 'death' else 'first zombie'} (95 % CI)"] = [
            _median(r.median, r.low, r.high) for r in m.itertuples()]
    section.add("Median survival (years; “not reached” when more than half the runs never "
                "have the event within the horizon):")
    section.add(Table(table))
    if results.points < 2:
        return section
    pairs = [(0, b) for b in sorted(results.runs["point_id"].unique()) if b != 0]
    if 0 not in set(results.runs["point_id"]):
        pairs = []
    tests = []
    for event, name in (("death", "death"), ("zombie", "first zombie")):
        if medians[event]["events"].sum() == 0:
            section.add(f"No run has a {name} event: no log-rank test.")
            continue
        overall, tested = statistics.logrank_tests(results.runs, event, results.horizon, pairs)
        section.add(f"Log-rank test that all points share one curve of time to {name}: "
                    f"χ² = {overall['statistic']:.1f} on {overall['df']} df, "
                    f"{_p_is(overall['p'])}.")
        tests.append(tested.assign(event=name))
    if pairs and tests:
        both = pd.concat(tests, ignore_index=True)
        both["p_holm"] = statistics.holm(both["p"])
        section.add(f"Log-rank tests of each point against point 0, one family of {len(both)} "
                    "tests adjusted by Holm's method:")
        section.add(Table(pd.DataFrame({
            "time to": both["event"], "point": both["b"],
            "design point": both["b"].map(labels), "against": both["a"],
            "χ²": both["statistic"].map(lambda v: f"{v:.2f}"), "p": both["p"].map(_p),
            "p (Holm)": both["p_holm"].map(_p)})))
    return section


def _rule_sensitivity(results: Results, settings: dict, figures: Path, written: list
                      ) -> Section | str:
    from sim.inference.validation import WINDOWS, relabelled_shares, rule_variants
    from sim.model.labels import rule_of

    chosen = _trajectory_points(results, settings, "relabelled shares")
    if isinstance(chosen, str):
        return chosen
    point_ids, per_point = chosen
    try:
        points = _regenerate(results, _base_scenario(results),
                             _chosen_runs(results, point_ids, per_point))
    except (UserError, ValueError) as exc:  # e.g. results of an older version of the model
        return f"the runs could not be regenerated from the manifest's scenario ({exc})."
    end = results.horizon - 1
    tables = {}
    for point in points:
        try:
            variants = rule_variants(rule_of(point.scenario.group))
        except ValueError as exc:
            return (f"a window of point {point.point_id} made half as long again leaves the "
                    f"outcome rule's allowed range ({exc}).")
        tables[point.point_id] = relabelled_shares(
            point.trajectories, point.scenario.group.min_members, variants, end)
    first = points[0].point_id
    which = ("each design point" if len(points) == results.points
             else f"the first {len(points)} design points")
    section = Section("Outcome rule sensitivity")
    section.add(f"For {which}: the shares of runs alive / zombie / dead (%) after "
                f"{results.experiment['years']} years when the runs are labelled again under "
                "the outcome rule with each of its windows, then all of them, halved or made "
                "half as long again (rounded to whole quarters; docs/validation.md). "
                + _regenerated_note(points, per_point, "to be labelled again from their "
                                    "meetings and documents per level and their members"))
    section.add("A run stops at its death and is relabelled with no activity after it: a rule "
                "with a longer window sees it dormant, never revived, so the fall in the death "
                "share under a longer window is a lower bound of the change.")
    base = tables[first]
    shown = pd.DataFrame({"rule": base["rule"].map(_code_windows),
                          **{f"`{w}`": base[w] for w in WINDOWS}})
    for point_id, table in tables.items():
        shown[f"point {point_id}"] = [
            " / ".join(f"{100 * row[state]:.1f}" for state in statistics.STATE_NAMES)
            for _, row in table.iterrows()]
    section.add(Table(shown))
    if any(not tables[p][list(WINDOWS)].equals(base[list(WINDOWS)]) for p in tables):
        section.add(f"The windows shown are point {first}'s; every point's variants scale the "
                    "windows it sets.")
    section.add(_largest_zombie_change(tables))
    return section


def _largest_zombie_change(tables: dict[int, pd.DataFrame]) -> str:
    """The sentence naming the point and rule variant whose zombie share moves most from the
    rule as set (the first row)."""
    moves = [(abs(table["zombie"].iloc[k] - table["zombie"].iloc[0]), point_id, k)
             for point_id, table in tables.items() for k in range(1, len(table))]
    change, point_id, k = max(moves, key=lambda move: move[0])
    if change == 0:
        return "No variant of the rule changes the zombie share at any point."
    table = tables[point_id]
    variant = _code_windows(table["rule"].iloc[k]).replace(" × ", " is multiplied by ")
    return (f"The zombie share at point {point_id} moves most, from "
            f"{100 * table['zombie'].iloc[0]:.1f} % to {100 * table['zombie'].iloc[k]:.1f} %, "
            f"when {variant}.")


def _contrasts(results: Results, settings: dict, figures: Path, written: list
               ) -> Section | str:
    if not results.experiment["common_random_numbers"]:
        return ("runs are paired only under common random numbers "
                "(`common_random_numbers = true`).")
    if results.points < 2:
        return "one design point: nothing to contrast."
    point_ids = set(results.runs["point_id"].unique())
    notes = []
    requested = settings.get("contrast")
    if requested is not None:
        pairs, notes = _parse_pairs(requested, point_ids)
    elif results.points <= MAX_DEFAULT_CONTRASTS:
        pairs = [(0, b) for b in sorted(point_ids) if b != 0] if 0 in point_ids else []
    else:
        return (f"{results.points} design points: name the pairs to contrast in the experiment's "
                "[report] table, e.g. `contrast = [[0, 1], [0, 2]]`.")
    if not pairs:
        return "no valid pair of design points to contrast" + (
            f" ({'; '.join(notes)})" if notes else "") + "."
    table = _contrast_table(results, pairs)
    section = Section("Paired contrasts")
    section.add("Under common random numbers replicate r meets the same shocks at every design "
                "point, so runs are paired by replicate. For each pair of points, point b minus "
                "point a on every outcome: the shares alive, zombie and dead (percentage points, "
                "paired asymptotic interval; McNemar's exact test on the discordant pairs) and "
                "the years before a first zombie quarter or death (paired bootstrap interval, "
                "2,000 resamples; Wilcoxon's signed-rank test). The p-values are one family, "
                f"adjusted for {len(table)} comparisons by Holm's method; a difference "
                "counts where its adjusted p is below 0.05.")
    section.add(Bullets([_contrast_sentence(results, table[(table["a"] == a) & (table["b"] == b)])
                         for a, b in pairs]))
    section.add(Table(pd.DataFrame({
        "a": table["a"], "b": table["b"], "outcome": table["outcome"], "pairs": table["pairs"],
        "a value": [_value(o, v) for o, v in zip(table["outcome"], table["value_a"],
                                                 strict=True)],
        "b value": [_value(o, v) for o, v in zip(table["outcome"], table["value_b"],
                                                 strict=True)],
        "b − a": [_value(o, v, sign=True) for o, v in zip(table["outcome"], table["difference"],
                                                          strict=True)],
        "95 % CI": [f"{_value(o, lo, sign=True)} to {_value(o, hi, sign=True)}".replace(
            " points to", " to")
                    for o, lo, hi in zip(table["outcome"], table["low"], table["high"],
                                         strict=True)],
        "p": table["p"].map(_p), "p (Holm)": table["p_holm"].map(_p)})))
    for note in notes:
        section.add(f"Ignored: {note}.")
    return section


def _from_quarter(results: Results, text: Any, where: str) -> int:
    """The quarter index of a `from` date, or a user error naming `where`."""
    try:
        start = _base_start(results)
    except (UserError, ValueError) as exc:
        raise UserError(f"{where} {text}: the manifest's scenario cannot be read ({exc}).") \
            from None
    try:
        return quarter_within(text, start, results.horizon)
    except ValueError as exc:
        raise UserError(f"{where} {text}: {exc} Allowed: "
                        f"{quarters_within(start, results.horizon)}.") from None


def _base_start(results: Results) -> int:
    return _base_scenario(results).start_quarter


def _change_marks(scenario) -> list[tuple[float, str]]:
    """(year, label) of each date at which the point's scenario changes a value."""
    dates: dict[str, list[str]] = {}
    for change in scenario.changes:
        dates.setdefault(change.date, []).append(change.key)
    return [(parse_quarter(date) / 4, f"{date}: {', '.join(sorted(set(keys)))}")
            for date, keys in sorted(dates.items())]


def _from_date(results: Results, settings: dict, figures: Path, written: list
               ) -> Section | str:
    since = settings.get("from")
    if since is None:
        dated = [k for k in results.factor_keys if "@" in k]
        return ("no `from` quarter: `[report] from = \"2027Q1\"` or `minilat report DIR --from "
                "2027Q1` measures shares, survival and contrasts from it" + (
                    f" (the factors {', '.join(f'`{k}`' for k in dated)} change at a date)"
                    if dated else "") + ".")
    try:
        quarter = _from_quarter(results, since, "[report] from")
    except UserError as exc:
        return f"{exc}"
    date = format_quarter(_base_start(results) + quarter)
    if len(results.runs) > MAX_FROM_RUNS:
        return (f"{len(results.runs):,} runs are more than the {MAX_FROM_RUNS:,} whose series "
                "it regenerates.")
    try:
        scenario = _base_scenario(results)
        per_point = int(results.runs.groupby("point_id").size().max())
        series, source = _point_series(results, scenario, sorted(results.runs["point_id"]
                                                                 .unique()), per_point)
    except (UserError, ValueError) as exc:
        return f"the runs could not be regenerated from the manifest's scenario ({exc})."
    runs = statistics.measured_from(results.runs, series, quarter)
    when = date.replace("Q", " Q")
    section = Section(f"Measured from {when}")
    left = len(results.runs) - len(runs)
    horizon = results.horizon - quarter
    section.add(f"The same runs measured again from the start of {when}, among the "
                f"{len(runs):,} runs not dead before it ({left:,} died earlier): the outcome "
                f"{horizon / 4:g} years later, the time from {when} to death, and to the first "
                f"zombie quarter from then on among the groups alive (not zombies) in the "
                f"quarter before. Under common random numbers a run and its twin with a change "
                f"at {when} are the same run before it, so these measure what the change did "
                f"from its date. {source}")
    labels = _point_labels(results)
    table = statistics.shares_by_point(runs, results.factor_keys)
    before = pd.crosstab(runs["point_id"], runs["state_before"]).reindex(
        index=table["point_id"], columns=["alive", "zombie"], fill_value=0)
    shown = pd.DataFrame({"point": table["point_id"],
                          "design point": [labels[i] for i in table["point_id"]],
                          "runs": table["runs"],
                          f"zombie before {when}": before["zombie"].to_numpy()})
    for name in ("alive", "zombie", "dead"):
        shown[name] = [_share(row[name], row[f"{name}_low"], row[f"{name}_high"])
                       for _, row in table.iterrows()]
    section.add(f"Outcome at the horizon of the runs not dead before {when} (Wilson 95 % "
                "intervals):")
    section.add(Table(shown))
    at_risk = {"death": runs, "zombie": runs[runs["state_before"] == "alive"]}
    rows = []
    for event, what, ylabel in (("death", "time to death", "share of groups not yet dead"),
                                ("zombie", "time to the first zombie quarter",
                                 "share of groups not yet zombie")):
        if at_risk[event].empty:
            continue
        curves, medians = statistics.survival_by_point(at_risk[event], event, horizon)
        file = _save(figures / f"survival_{event}_from.png", written,
                     lambda p, c=curves, w=what, y=ylabel: _plots().plot_survival(
                         c, labels, p, title=f"Kaplan–Meier from {when}: {w}", ylabel=y,
                         horizon_years=horizon / 4, since=when))
        section.add(Figure(file, f"Kaplan–Meier estimate of the {what} from {when}, per design "
                                 "point, with 95 % bands."))
        rows.append(medians.assign(event=event))
    if rows:
        medians = pd.concat(rows, ignore_index=True)
        section.add(Table(pd.DataFrame({
            "time from " + when + " to": medians["event"].map({"death": "death",
                                                                "zombie": "first zombie"}),
            "point": medians["point_id"], "runs at risk": medians["runs"],
            "events": medians["events"],
            "median years (95 % CI)": [_median(r.median, r.low, r.high)
                                       for r in medians.itertuples()]})))
    pairs = _from_pairs(results, settings, runs)
    start_year = scenario.start_quarter / 4
    for a, b in pairs[:MAX_TWIN_FIGURES]:
        twins = statistics.twin_series(series, results.runs, a, b, results.horizon)
        before = float(twins["differ"].iloc[:quarter].max()) if quarter else 0.0
        file = _save(figures / f"twins_{a:03d}_{b:03d}.png", written,
                     lambda p, t=twins, a=a, b=b: _plots().plot_twins(
                         t, start_year, start_year + quarter / 4, (labels[a], labels[b]), p,
                         title=f"Point {b} against point {a}, paired by replicate"))
        section.add(Figure(file, f"Point {b} ({labels[b]}) against point {a} ({labels[a]}): "
                                 "mean joint outputs per quarter and the share of runs alive, "
                                 "and the share of pairs (replicates) whose runs differ in each "
                                 f"quarter: {before:.0%} before {when}."))
    if pairs:
        contrasts = pd.concat([statistics.paired_contrasts(runs, pairs, outcome)
                               .assign(outcome=outcome) for outcome in ("dead", "zombie")],
                              ignore_index=True)
        section.add(f"Paired contrasts of the share of runs that end dead, or a zombie, over "
                    f"the pairs of runs where neither arm died before {when}:")
        section.add(Table(pd.DataFrame({
            "share": contrasts["outcome"], "a": contrasts["a"], "b": contrasts["b"],
            "pairs": contrasts["pairs"],
            "share a": contrasts["share_a"].map(lambda v: f"{v:.1%}"),
            "share b": contrasts["share_b"].map(lambda v: f"{v:.1%}"),
            "b − a (points)": contrasts["difference"].map(lambda v: f"{100 * v:+.1f}"),
            "95 % CI, bootstrap": [f"{100 * lo:+.1f} to {100 * hi:+.1f}" for lo, hi in
                                   zip(contrasts["boot_low"], contrasts["boot_high"],
                                       strict=True)],
            "McNemar exact p": contrasts["mcnemar_exact_p"].map(_p)})))
    return section


def _from_pairs(results: Results, settings: dict, runs: pd.DataFrame) -> list[tuple[int, int]]:
    """The pairs the paired contrasts use, among the points with runs left."""
    if not results.experiment["common_random_numbers"] or results.points < 2:
        return []
    point_ids = set(runs["point_id"].unique())
    requested = settings.get("contrast")
    if requested is not None:
        return _parse_pairs(requested, point_ids)[0]
    if results.points <= MAX_DEFAULT_CONTRASTS and 0 in point_ids:
        return [(0, b) for b in sorted(point_ids) if b != 0]
    return []


def _parse_pairs(requested: Any, point_ids: set) -> tuple[list[tuple[int, int]], list[str]]:
    """`[a, b]` or `[[a, b], ...]` from the [report] table; bad entries become notes."""
    def is_id(value: Any) -> bool:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    if isinstance(requested, list | tuple) and len(requested) == 2 and all(map(is_id, requested)):
        requested = [requested]
    if not isinstance(requested, list | tuple):
        return [], [f"`contrast = {requested!r}` is not a pair or a list of pairs of point ids"]
    pairs, notes = [], []
    for entry in requested:
        if not (isinstance(entry, list | tuple) and len(entry) == 2 and all(map(is_id, entry))):
            notes.append(f"contrast entry {entry!r} is not a pair of point ids")
        elif entry[0] not in point_ids or entry[1] not in point_ids:
            notes.append(f"contrast {list(entry)} names a point that has no runs")
        elif entry[0] == entry[1]:
            notes.append(f"contrast {list(entry)} compares a point with itself")
        else:
            pairs.append((int(entry[0]), int(entry[1])))
    return pairs, notes


def _contrast_table(results: Results, pairs: list[tuple[int, int]]) -> pd.DataFrame:
    """Every pair on every outcome: values, paired difference, interval, p and Holm's p."""
    from sim.inference.claims import metrics
    from sim.reporting.findings import paired_rows

    measured = metrics(results.runs, results.horizon)
    table = pd.DataFrame([row for a, b in pairs
                          for row in paired_rows(results.runs, measured, a, b)])
    table["outcome"] = table["outcome"].replace({"active_years": "active years"})
    table["p_holm"] = statistics.holm(table["p"])
    return table


def _value(outcome: str, value: float, sign: bool = False) -> str:
    if outcome == "active years":
        return f"{value:+.2f}" if sign else f"{value:.2f}"
    return f"{100 * value:+.1f} points" if sign else f"{value:.1%}"


def _contrast_sentence(results: Results, rows: pd.DataFrame) -> str:
    """One pair in words: what moved, by its largest change of share, and the active years."""
    first = rows.iloc[0]
    a = results.runs[results.runs["point_id"] == first.a].iloc[0]
    b = results.runs[results.runs["point_id"] == first.b].iloc[0]
    moved = [k for k in results.factor_keys if a[k] != b[k]]
    what = ", ".join(f"`{k}` = {_fmt(b[k])}" for k in moved) or "the same factors"
    against = ", ".join(f"{_fmt(a[k])}" for k in moved)
    shares = rows[rows["outcome"] != "active years"]
    top = shares.loc[shares["difference"].abs().idxmax()]
    years = rows[rows["outcome"] == "active years"].iloc[0]
    counts = top["p_holm"] < 0.05
    change = (f"moves the {top.outcome} share most, {top.value_a:.1%} → {top.value_b:.1%} "
              f"({100 * top.difference:+.1f} points, 95 % CI {100 * top.low:+.1f} to "
              f"{100 * top.high:+.1f}; Holm-adjusted {_p_is(top.p_holm)})" if counts else
              f"moves no share detectably (largest: {top.outcome} {100 * top.difference:+.1f} "
              f"points, Holm-adjusted {_p_is(top.p_holm)})")
    return (f"**Point {first.b} against point {first.a}**: {what} (instead of {against}) "
            f"{change}; years before a first zombie quarter or death {years.difference:+.2f} "
            f"({years.low:+.2f} to {years.high:+.2f}).")


def _phase_diagram(results: Results, settings: dict, figures: Path, written: list
                   ) -> Section | str:
    if results.experiment["design"] != "grid" or len(results.varied) != 2:
        return ("needs a grid over exactly two varying factors (this experiment: "
                f"{results.experiment['design']} design, {len(results.varied)} varying).")
    x_key, y_key = results.varied[::-1] if results.runs[results.varied[0]].dtype == bool \
        else results.varied
    table = statistics.shares_by_point(results.runs, results.factor_keys)
    section = Section("Phase diagram")
    section.add(f"Share of runs dead and zombie after {results.experiment['years']} years over "
                f"the grid of `{x_key}` and `{y_key}`.")
    file = _save(figures / "phase_diagram.png", written, lambda p: _plots().plot_phase_diagram(
        table, x_key, y_key, p, title=f"{results.experiment['name']}: outcome after "
                                      f"{results.experiment['years']} years"))
    section.add(Figure(file, f"Dead share (left) and zombie share (right) over `{x_key}` and "
                             f"`{y_key}`."))
    return section


def _sensitivity(results: Results, settings: dict, figures: Path, written: list
                 ) -> Section | str:
    design = results.experiment["design"]
    if design == "sobol":
        return _sobol(results, figures, written)
    if design == "oat":
        return _oat(results, figures, written)
    return f"Sobol indices need a sobol design, tornado charts an oat design (this: {design})."


def _sobol(results: Results, figures: Path, written: list) -> Section | str:
    e = results.experiment
    keys = results.factor_keys
    expected = int(e["samples"]) * (len(keys) + 2)
    outputs = statistics.point_outputs(results.runs, results.horizon)
    if len(outputs) != expected or outputs.index.max() != expected - 1:
        return (f"the Sobol analysis needs every one of the {expected} design points, and "
                f"{len(outputs)} have runs that did not fail.")
    problem = {"num_vars": len(keys), "names": keys,
               "bounds": [[e["factors"][k]["min"], e["factors"][k]["max"]] for k in keys]}
    indices = statistics.sobol_indices(problem, outputs)
    section = Section("Global sensitivity")
    section.add(f"Sobol indices (SALib, Saltelli sampling of {e['samples']} base samples, "
                f"{expected} design points × {e['replicates']} replicates) of three outputs "
                "per design point, averaged over its replicates: the **death share**, the mean "
                "**years to death** (runs not dead count at the horizon) and the mean **total "
                "outputs**. S1 is the share of the output's variance due to a factor alone, ST "
                "the share it takes part in, interactions included; intervals are 95 % "
                "bootstrap intervals. What replicates leave of the noise in a point's mean adds "
                "to every ST.")
    for output in dict.fromkeys(indices["output"]):
        part = indices[indices["output"] == output].sort_values("ST", ascending=False)
        top = part.iloc[0]
        section.add(f"**{output}** ({_plots().OUTPUT_UNITS[output]}): ranges "
                    f"{outputs[output].min():.3g} to {outputs[output].max():.3g} across points; "
                    f"most influential: `{top['factor']}` (ST = {top['ST']:.2f}, "
                    f"S1 = {top['S1']:.2f}).")
        section.add(Table(pd.DataFrame({
            "factor": part["factor"].map(lambda k: f"`{k}`"),
            "S1": [f"{s:.3f} ± {c:.3f}" for s, c in zip(part["S1"], part["S1_conf"],
                                                       strict=True)],
            "ST": [f"{s:.3f} ± {c:.3f}" for s, c in zip(part["ST"], part["ST_conf"],
                                                       strict=True)]})))
    file = _save(figures / "sobol.png", written, lambda p: _plots().plot_sobol(
        indices, p, title=f"{e['name']}: Sobol indices ({expected} points × "
                          f"{e['replicates']} replicates)"))
    section.add(Figure(file, "First-order (S1) and total (ST) Sobol indices per factor, with "
                             "95 % bootstrap intervals, for each output."))
    return section


def _oat(results: Results, figures: Path, written: list) -> Section | str:
    table = statistics.shares_by_point(results.runs, results.factor_keys)
    effects = statistics.oat_effects(table, results.factor_keys)
    if effects.empty:
        return "no design point moves a single factor away from the base point."
    section = Section("Global sensitivity")
    section.add("One factor at a time, from the base point (point 0): the dead and zombie "
                "shares at each level tried, and their change from the base point.")
    section.add(Table(pd.DataFrame({
        "factor": effects["factor"].map(lambda k: f"`{k}`"),
        "level": effects["level"].map(_fmt), "point": effects["point_id"],
        "dead": effects["dead"].map(lambda v: f"{v:.1%}"),
        "change in dead (points)": effects["dead_change"].map(lambda v: f"{100 * v:+.1f}"),
        "zombie": effects["zombie"].map(lambda v: f"{v:.1%}"),
        "change in zombie (points)": effects["zombie_change"].map(lambda v: f"{100 * v:+.1f}"),
    })))
    file = _save(figures / "tornado.png", written, lambda p: _plots().plot_tornado(
        effects, p, title=f"{results.experiment['name']}: one factor at a time"))
    section.add(Figure(file, "Tornado chart: the dead and zombie shares at each factor's "
                             "levels, from the base point's (vertical line); widest on top."))
    return section


def _regions(results: Results, settings: dict, figures: Path, written: list) -> Section | str:
    varied = results.varied
    if not varied:
        return "no factor varies."
    not_alive = results.runs["outcome"] != "alive"
    if not_alive.all() or not not_alive.any():
        return f"every run ends {'zombie or dead' if not_alive.all() else 'alive'}."
    leaves = statistics.zombie_regions(results.runs, varied)
    section = Section("Regions that lead to zombies")
    base = not_alive.mean()
    section.add("A decision tree (scikit-learn, depth ≤ 3, leaves of at least 2 % of the runs) "
                f"over the varying factors separates runs that end zombie or dead ({base:.1%} "
                "of all runs) from those that end alive. Each rule below is a leaf where most "
                "runs end zombie or dead. **Coverage**: the share of all zombie or dead runs "
                "that fall under the rule; **density**: the share of the rule's runs that end "
                "zombie or dead.")
    predicted = leaves[leaves["predicted"]]
    if predicted.empty:
        section.add("No region has a majority of zombie or dead runs; the densest is:")
        predicted = leaves.head(1)
    section.add(Table(pd.DataFrame({
        "rule": predicted["rule"].map(_code_rule),
        "runs": predicted["runs"],
        "share of runs": (predicted["runs"] / len(results.runs)).map(lambda v: f"{v:.1%}"),
        "coverage": predicted["coverage"].map(lambda v: f"{v:.1%}"),
        "density": predicted["density"].map(lambda v: f"{v:.1%}")})))
    return section


# ------------------------------------------------------------------------------ helpers


def _plots():
    from sim.reporting import figures

    return figures


def _base_scenario(results: Results):
    from sim.model.scenario_files import resolve

    scenario = results.manifest.get("scenario", {})
    return resolve(scenario["resolved"], source=scenario.get("source", "<manifest>"),
                   recorded=True)


def _point_scenario(results: Results, base, point_id: int):
    from sim.model.scenario_files import with_overrides

    runs = results.runs[results.runs["point_id"] == point_id]  # by column: keeps each type
    return with_overrides(base, {k: _plain(runs[k].iloc[0]) for k in results.factor_keys})


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _short_keys(keys: list[str]) -> dict[str, str]:
    """`members.*.budget_trend` → `budget_trend`, `group.secretariat` → `secretariat`, unless
    two keys would then look the same."""
    short = {k: k.split(".", 1)[1].removeprefix("*.") if "." in k else k for k in keys}
    return short if len(set(short.values())) == len(short) else {k: k for k in keys}


def _point_labels(results: Results) -> dict[int, str]:
    """Each point as the values of the factors that vary, e.g. `secretariat=true`."""
    keys = results.varied or results.factor_keys
    short = _short_keys(keys)
    first = results.runs.groupby("point_id", sort=True)[keys].first()
    return {int(point_id): ", ".join(f"{short[k]}={_fmt(row[k])}" for k in keys)
            for point_id, row in first.iterrows()}


def _fmt(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def _share(share: float, low: float, high: float) -> str:
    return f"{share:.1%} ({low:.1%}–{high:.1%})"


def _median(median: float, low: float, high: float) -> str:
    def years(value: float) -> str:
        return "not reached" if not np.isfinite(value) else f"{value:.2f}"

    if not np.isfinite(median):
        return "not reached"
    return f"{years(median)} ({years(low)}–{years(high)})"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _p_is(p: float) -> str:
    text = _p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _code_windows(variant: str) -> str:
    """The outcome rule's window names in a variant's name set as code."""
    return re.sub(r"\b\w+_months\b", r"`\g<0>`", variant)


def _code_rule(rule: str) -> str:
    """Factor keys in a rule set as code."""
    return re.sub(r"((?:group|world|members)\.[\w*]+(?:\.\w+)?)", r"`\1`", rule)
