"""The appendix: where the results come from, the design, and the experiment as resolved."""

from __future__ import annotations

import json

import pandas as pd

from sim.reporting.document import Code, Section, Table
from sim.reporting.results import Results
from sim.reporting.sections.common import fmt


def make(results: Results, settings: dict) -> Section:
    """The provenance table, the factors, the seeds and the experiment as resolved."""
    m, e = results.manifest, results.experiment
    section = Section("Provenance", appendix=True)
    if e.get("description"):
        section.add(e["description"])
    section.add(Table(pd.DataFrame(_rows(results, settings), columns=["", "value"])))
    factors = []
    for key, spec in e["factors"].items():
        if "values" in spec:
            levels = ", ".join(fmt(v) for v in spec["values"])
        else:
            levels = f"{fmt(spec['min'])} to {fmt(spec['max'])}" + (
                f" in {spec['steps']} steps" if spec.get("steps") else "")
        factors.append((f"`{key}`", levels))
    section.add("Factors:")
    section.add(Table(pd.DataFrame(factors, columns=["factor", "values"])))
    section.add("Each run's seed is in `runs.parquet` (column `seed`); the seeds derive from the "
                f"experiment seed as follows: {m.get('seeds', {}).get('derivation', '?')}.")
    posterior = e.get("posterior")
    shown = {**e, "posterior": {k: v for k, v in posterior.items() if k not in ("values", "rows")}
                                | {"values": "(one row per set: see manifest.json)"}} \
        if posterior else e
    resolved = json.dumps(shown, indent=2, default=str)
    section.add("The experiment as resolved:")
    section.add(Code(resolved))
    return section


def _rows(results: Results, settings: dict) -> list[tuple[str, str]]:
    """The provenance table's rows: what ran, how, when and by which command."""
    m, e = results.manifest, results.experiment
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
        rows.insert(3, ("fixed", ", ".join(f"`{k}` = {fmt(v)}" for k, v in e["fixed"].items())))
    posterior = e.get("posterior")
    if posterior:
        rows.insert(5, ("parameter sets", f"{posterior['sets']} drawn by weight from "
                        f"`{posterior['source']}/posterior.parquet` (keys: "
                        f"{', '.join(f'`{k}`' for k in posterior['keys'])}); replicate r runs "
                        "set r mod sets at every point, so each point's shares are mixed over "
                        "the posterior; the column `posterior_set` of `runs.parquet` names it"))
    if settings["_ignored"]:
        rows.append(("ignored in [report]", "; ".join(settings["_ignored"])))
    return rows


def _duration(manifest: dict) -> str:
    seconds = manifest.get("seconds")
    if seconds is None:
        return "?"
    rate = manifest.get("runs_per_second")
    text = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    return text + (f" ({rate:,.0f} runs/s)" if rate else "")
