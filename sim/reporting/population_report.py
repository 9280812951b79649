"""A population's report: findings in words first, then the life table, the hazard by age, the
survival curves, the Cox model, the causes of death and the table against the published figures;
figures in figures/, provenance last."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.storage import provenance
from sim.inference.population import PopulationRun
from sim.inference.population_tables import AGE_BANDS, PopulationTables
from sim.model.rules import STATE_NAMES
from sim.reporting.document import Bullets, Document, Figure, Section, Table, write_document

AT_AGE = 30  # the age of the shares the findings lead with


def write_population_report(run: PopulationRun) -> Path:
    """report.md and report.html, with figures, into the population's folder."""
    t, population, folder = run.tables, run.population, run.folder
    (folder / "figures").mkdir(exist_ok=True)
    doc = Document(f"Population {population.name}: life table against published figures")
    doc.sections.append(Section("Findings").add(Bullets(findings(t))))
    age = min(AT_AGE, t.years)
    life = Section("Life table")
    _plot_life_table(t, folder / "figures" / "life-table.png")
    life.add(Figure("figures/life-table.png", "Share of groups alive, zombie and dead at the end "
                    "of each year of age, by stratum (the scenario's own outcome rule)."))
    shown = t.life_table[t.life_table["age"].isin(sorted({1, 10, 20, age, t.years}))]
    life.add(Table(_formatted(shown, ["share_alive", "share_zombie", "share_dead"], "{:.1%}")))
    doc.sections.append(life)
    hazard = Section("Death hazard by age")
    _plot_hazard(t, population, folder / "figures" / "hazard.png")
    hazard.add(Figure("figures/hazard.png", "Deaths per 100 group-years by age band and stratum "
                      "(bars, 95 % Poisson intervals) against Eilstrup-Sangiovanni's formal "
                      "IGOs (dots)."))
    hazard.add(Table(_formatted(t.hazard.drop(columns=["first", "last"]),
                                ["rate_per_100", "low", "high"], "{:.3f}")))
    doc.sections.append(hazard)
    survival = Section("Survival")
    _plot_survival(t, folder / "figures" / "survival.png")
    survival.add(Figure("figures/survival.png", "Kaplan–Meier curves of time to death "
                        "(lifelines), by founding size, secretariat and stratum, with 95 % bands."))
    doc.sections.append(survival)
    cox = Section("Cox model of time to death")
    if len(t.cox):
        cox.add(Table(_formatted(t.cox, ["hazard_ratio", "low", "high", "p"], "{:.3g}")))
    cox.add(Bullets(t.notes or ["Every covariate entered the model."]))
    doc.sections.append(cox)
    causes = Section("Deaths by cause")
    causes.add(Table(_formatted(t.causes, ["share_of_deaths"], "{:.0%}")))
    doc.sections.append(causes)
    doc.sections.append(_targets_section(t))
    footer = Section("Provenance", appendix=True)
    footer.add(Table(pd.DataFrame([{**{k: str(v) for k, v in provenance().items()},
                                    "file": population.source, "seed": str(population.seed),
                                    "groups": str(t.groups), "runs": str(run.total),
                                    "seconds": f"{run.seconds:.1f}", "workers": str(run.workers)}
                                   ])))
    doc.sections.append(footer)
    return write_document(doc, folder)


def findings(t: PopulationTables) -> list[str]:
    """The findings in words: the shares at 30 years, deaths and their causes, what dies most,
    and how many published patterns the population reproduces."""
    age = min(AT_AGE, t.years)
    lines = []
    at = t.life_table[t.life_table["age"] == age]
    for row in at.itertuples():
        lines.append(f"**{row.stratum}** ({row.groups:,} groups) at {age} years: "
                     + ", ".join(f"{getattr(row, 'share_' + n):.1%} {n}" for n in STATE_NAMES)
                     + ".")
    everyone = t.causes[t.causes["stratum"] == "all"]
    deaths = int(everyone["deaths"].sum())
    decided = int(everyone[everyone["kind"] == "members' decision"]["deaths"].sum())
    lines.append(f"{deaths:,} of {t.groups:,} groups died in {t.years} years; "
                 f"{decided:,} of the deaths came from the members' decisions (too few members "
                 f"or termination), {deaths - decided:,} from dormancy."
                 + (" No death comes from the members: death is chance silence."
                    if deaths and not decided else ""))
    first = t.hazard[(t.hazard["stratum"] == "all") & (t.hazard["first"] == AGE_BANDS[0][0])]
    third = t.hazard[(t.hazard["stratum"] == "all") & (t.hazard["first"] == AGE_BANDS[2][0])]
    if len(first) and len(third):
        a, b = first.iloc[0], third.iloc[0]
        lines.append(f"Deaths per 100 group-years: {a.rate_per_100:.2f} at ages {a.ages} "
                     f"({a.deaths} deaths), {b.rate_per_100:.2f} at ages {b.ages} ({b.deaths}); "
                     "published for formal IGOs: 0.95 and 1.56 (Eilstrup-Sangiovanni's data).")
    for row in t.cox.itertuples():
        lines.append(f"Cox model: {row.meaning}: hazard ratio {row.hazard_ratio:.2f} "
                     f"({row.low:.2f} – {row.high:.2f}).")
    lines += t.notes
    inside = t.targets[t.targets["inside"]]
    lines.append(f"**{len(inside)} of {len(t.targets)} published patterns are reproduced** "
                 "(inside their tolerance): " + (", ".join(inside["figure"]) or "none") + ".")
    missed = t.targets[~t.targets["inside"]]
    if len(missed):
        lines.append("Does not fit: " + "; ".join(
            f"{r.figure} (simulated {r.shown}, published {_number(r.published)})"
            for r in missed.itertuples()) + ".")
    return lines


def _targets_section(t: PopulationTables) -> Section:
    section = Section("Against the published figures")
    section.add("Each row compares one simulated statistic with one figure of "
                "seeds/population/figures.csv in the figure's own unit: shares of group-years "
                "with Gray's shares of organization-years (never with shares of groups), death "
                "rates with deaths per 100 organization-years. `inside`: the simulated value "
                "lies within the stated tolerance of the figure (for a direction: it holds). "
                "The simulated interval is 95 %.")
    frame = t.targets.assign(
        published=[_number(v) for v in t.targets["published"]],
        tolerance=[_number(v) for v in t.targets["tolerance"]],
        inside=["yes" if v else "**no**" for v in t.targets["inside"]],
        source=[f"{s}, {loc}" for s, loc in zip(t.targets["source"], t.targets["locator"],
                                                 strict=True)])
    section.add(Table(frame[["figure", "strata", "reading", "shown", "published", "tolerance",
                             "inside", "unit", "source", "reference_class", "role"]].rename(
        columns={"shown": "simulated"}).astype(str)))
    return section


def _number(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:g}"


def _formatted(frame: pd.DataFrame, columns: list[str], form: str) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = [form.format(v) if pd.notna(v) else "–" for v in out[column]]
    return out.astype(str)


def _plot_life_table(t: PopulationTables, path: Path) -> None:
    from sim.reporting.figures import STATE_COLORS, subplots

    strata = list(dict.fromkeys(t.life_table["stratum"]))
    fig, axes = subplots(1, len(strata), figsize=(5 * len(strata), 3.6), dpi=130, sharey=True,
                         squeeze=False, layout="constrained")
    for ax, stratum in zip(axes[0], strata, strict=True):
        part = t.life_table[t.life_table["stratum"] == stratum]
        ax.stackplot(part["age"], *(part[f"share_{n}"] for n in STATE_NAMES),
                     colors=[STATE_COLORS[n] for n in STATE_NAMES], labels=STATE_NAMES)
        ax.set_title(stratum, fontsize=10)
        ax.set_xlabel("age (years)")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("share of groups")
    axes[0][0].legend(fontsize=7, frameon=False, loc="lower left")
    fig.savefig(path)


def _plot_hazard(t: PopulationTables, population, path: Path) -> None:
    from sim.reporting.figures import PALETTE, subplots

    fig, ax = subplots(figsize=(8, 3.6), dpi=130, layout="constrained")
    bands = list(dict.fromkeys(t.hazard["ages"]))
    strata = [s for s in dict.fromkeys(t.hazard["stratum"]) if s != "all"]
    width = 0.8 / max(1, len(strata))
    for i, stratum in enumerate(strata):
        part = t.hazard[t.hazard["stratum"] == stratum].set_index("ages").reindex(bands)
        x = np.arange(len(bands)) + (i - (len(strata) - 1) / 2) * width
        rate, low, high = (part[c].to_numpy(dtype=float) for c in ("rate_per_100", "low",
                                                                    "high"))
        ax.bar(x, rate, width, color=PALETTE[i % len(PALETTE)], label=stratum,
               yerr=np.array([rate - low, high - rate]), error_kw={"lw": 0.8})
    published = population.figures[(population.figures["source"] == "es2020")
                                   & (population.figures["quantity"] == "death_rate")
                                   & population.figures["stratum"].str.startswith("age")]
    for row in published.itertuples():
        first = int(row.stratum.split()[1].split("-")[0].rstrip("+"))
        match = [k for k, band in enumerate(bands) if band.startswith(f"{first}-")]
        if match:
            ax.plot(match[0], row.value, "o", color="#222222", ms=5,
                    label="formal IGOs (published)" if match[0] == 0 else None)
    ax.set_xticks(range(len(bands)), bands)
    ax.set_xlabel("age band (years)")
    ax.set_ylabel("deaths per 100 group-years")
    ax.legend(fontsize=7, frameon=False)
    fig.savefig(path)


def _plot_survival(t: PopulationTables, path: Path) -> None:
    from sim.reporting.figures import PALETTE, subplots

    groupings = list(dict.fromkeys(t.survival["grouping"]))
    fig, axes = subplots(1, len(groupings), figsize=(4.5 * len(groupings), 3.4), dpi=130,
                         sharey=True, squeeze=False, layout="constrained")
    for ax, grouping in zip(axes[0], groupings, strict=True):
        part = t.survival[t.survival["grouping"] == grouping]
        for i, (level, curve) in enumerate(part.groupby("level", sort=True)):
            color = PALETTE[i % len(PALETTE)]
            times = np.append(curve["time"], t.years)
            ax.step(times, np.append(curve["survival"], curve["survival"].iloc[-1]),
                    where="post", color=color, label=str(level))
            ax.fill_between(times, np.append(curve["low"], curve["low"].iloc[-1]),
                            np.append(curve["high"], curve["high"].iloc[-1]), step="post",
                            color=color, alpha=0.15, lw=0)
        ax.set_title(grouping, fontsize=10)
        ax.set_xlabel("age (years)")
        ax.set_xlim(0, t.years)
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, frameon=False, loc="lower left")
    axes[0][0].set_ylabel("share not dead")
    fig.savefig(path)
