"""The claims' report: report.md and report.html with a figure per claim, and claims.json."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from sim.experiments.storage import atomic_write_bytes, atomic_write_parquet, provenance
from sim.inference.claims import (
    METRIC_LABELS,
    METRICS,
    SHARES,
    VERDICT_COLORS,
    Claim,
    ClaimsResult,
    ClaimSuite,
)
from sim.inference.robustness import INTERIM_LEVEL
from sim.inference.verdicts import CLAIM_VERDICTS, FEW_PAIRS, corrected_confidence, few_pairs
from sim.model.keys import reach, split_dated
from sim.model.params import Key
from sim.reporting.document import Bullets, Document, Figure, Section, Table, write_document
from sim.reporting.style import STATE_COLORS, save, styled, subplots


def _fmt_effect(row) -> str:
    """The effect with its corrected interval: '-0.5 points (-1.1 to +0.1)'."""
    if row.metric in SHARES:
        return (f"{100 * row.effect:+.1f} points ({100 * row.low:+.1f} to {100 * row.high:+.1f})")
    return f"{row.effect:+.2f} ({row.low:+.2f} to {row.high:+.2f})"


def _fmt_bound(row) -> str:
    return f"{100 * row.bound:g} points" if row.metric in SHARES else f"{row.bound:g}"


def _fmt_level(metric: str, value: float) -> str:
    return f"{100 * value:.1f} %" if metric in SHARES else f"{value:.2f}"


LABELS = METRIC_LABELS
CLAIM_WORDS = {"holds": "hold", "reversed": "reversed", "no measurable effect":
               "with no measurable effect", "depends": "depend on a condition",
               "undecided": "undecided at the cap", "not representable": "not representable"}
HEADS = {"holds": "Holds", "reversed": "Reversed", "no measurable effect": "No measurable effect",
         "depends": "Depends", "undecided": "Undecided at the cap of runs",
         "not representable": "Not representable"}


def sentence(claim: Claim, verdict: dict, effects: pd.DataFrame,
             deciding: pd.DataFrame | None = None) -> str:
    """The claim's verdict in one sentence: each contrast's effects with their categories, runs
    and discordant pairs (saying so where they are fewer than 30), and the parameters whose
    change flips it, an unsourced one named as such."""
    rows = effects[(effects["claim"] == claim.id) & (effects["expected"] != "")]
    parts = []
    for contrast in claim.contrasts:
        mine = rows[rows["contrast"] == contrast.name]
        said = [f"{r.verdict} for {LABELS[r.metric]} {_fmt_effect(r)}{few_pairs(r)}"
                for r in mine.itertuples()]
        parts.append(f"{contrast.name} ({int(mine['runs'].max()):,} paired runs): "
                     + "; ".join(said))
    head = HEADS[verdict["verdict"]]
    if verdict["verdict"] == "not representable":
        head += f" ({verdict['condition']}); as run"
    elif verdict["verdict"] == "depends":
        head += " on the contrast and metric, as follows"
    text = f"{head} — " + " | ".join(parts) + "."
    if deciding is not None:
        text += " " + deciding_words(claim, deciding)
    return text


def deciding_words(claim: Claim, deciding: pd.DataFrame) -> str:
    """'Decided by ...': the parameters whose change over their documented range flips one of
    the claim's effects, each with its source status; the unsourced ones said so."""
    mine = deciding[deciding["claim"] == claim.id]
    if mine.empty:
        return "No parameter flips it over its documented range (one at a time)."
    parts = [f"`{r.parameter}` {r.flips} ({r.status})" for r in mine.itertuples()]
    unsourced = mine[mine["status"] == "unsourced"]
    lead = (f"Decided by an unsourced value: {', '.join(f'`{p}`' for p in unsourced['parameter'])}"
            f" flips it. " if len(unsourced) else "")
    return lead + "Parameters that flip it: " + "; ".join(parts) + "."


def write_claims_report(suite: ClaimSuite, result: ClaimsResult, folder: Path,
                        robustness=None, found: pd.DataFrame | None = None,
                        variants: pd.DataFrame | None = None,
                        screening: pd.DataFrame | None = None) -> Path:
    """claims.csv, effects.parquet, report.md, report.html and figures/ into `folder` (with a
    section per claim on its effects across a posterior's parameter sets, where run)."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    atomic_write_parquet(folder / "effects.parquet", result.effects)
    atomic_write_bytes(folder / "claims.csv", result.verdicts.to_csv(index=False).encode())
    atomic_write_bytes(folder / "shares.csv", result.shares.to_csv(index=False).encode())
    plot_claims_overview(suite, result, figures / "claims.png")
    doc = Document("The sources' claims as paired experiments"
                   + (f" ({suite.name})" if suite.name != "claims" else ""))
    predicted = result.effects[result.effects["expected"] != ""]
    holm_p = predicted["p_holm"]
    deciding = screening.attrs.get("deciding") if screening is not None else None
    doc.sections.append(_findings_section(suite, result, holm_p, robustness, found))
    doc.sections.append(_verdicts_section(suite, result, robustness, found, variants,
                                          deciding))
    if screening is not None:
        doc.sections.append(_screening_section(screening))
    for claim, verdict in zip(suite.claims, result.verdicts.to_dict("records"), strict=True):
        doc.sections.append(_claim_section(claim, verdict, result, holm_p, figures, robustness,
                                           found, deciding))
    appendix = Section("Provenance", appendix=True)
    appendix.add(suite.description)
    appendix.add(Bullets([f"claims file: `{suite.source}`", f"{suite.replicates:,} paired runs "
                          f"per arm (common random numbers), up to {suite.cap:,} where "
                          f"undecided, {suite.years} years, seed {suite.seed}, intervals "
                          f"{int(100 * suite.confidence)} % together over {suite.family} "
                          "predicted effects",
                          f"wall time {result.seconds:.0f} s (fast engine)",
                          f"minilateral-sim {provenance().get('version', '?')}"]))
    doc.sections.append(appendix)
    report = write_document(doc, folder)
    summary_json = {"name": suite.name, "replicates": suite.replicates, "years": suite.years,
                    "seconds": round(result.seconds, 1), **provenance(),
                    "verdicts": result.verdicts.to_dict("records")}
    atomic_write_bytes(folder / "claims.json", json.dumps(summary_json, indent=2).encode())
    return report


def _findings_section(suite: ClaimSuite, result: ClaimsResult, holm_p: pd.Series,
                      robustness, found: pd.DataFrame | None) -> Section:
    """The findings in sentences, the overview figure and how to read the verdicts."""
    findings = Section("Findings")
    findings.add(Bullets(claims_findings(suite, result, holm_p, robustness, found)))
    findings.add(Figure("figures/claims.png", "Outcome shares of each contrast's baseline "
                        "(upper bar) and treatment (lower bar); the verdict of each claim on "
                        "the left."))
    level = 100 * corrected_confidence(suite.confidence, suite.family)
    findings.add(f"Each predicted effect is treatment minus baseline over runs paired by seed "
                 f"({suite.replicates:,}, and more in batches of as many, up to "
                 f"{suite.cap:,}, while its verdict is undecided), with an interval corrected "
                 f"for the {suite.family} predicted effects of the file (Bonferroni: each at "
                 f"{level:.2f} %, {int(100 * suite.confidence)} % together; the p-values "
                 "Holm-adjusted, `p (Holm)`). An effect holds or is reversed when that "
                 "interval lies on one side of zero, is no measurable effect when it lies "
                 "within the file's equivalence bound, and is undecided otherwise; "
                 f"a verdict on fewer than {FEW_PAIRS} discordant pairs (pairs whose runs "
                 "differ) says so. Provenance is in the appendix.")
    return findings


def _verdicts_section(suite: ClaimSuite, result: ClaimsResult, robustness,
                      found: pd.DataFrame | None, variants: pd.DataFrame | None,
                      deciding: pd.DataFrame | None = None) -> Section:
    """Every claim's verdict in a sentence, then across the posterior, under the structural
    variants and over the priors, where they ran."""
    head = Section("Verdicts")
    summary = result.verdicts.assign(sentence=[
        sentence(c, v, result.effects, deciding) for c, v in zip(suite.claims,
                                                       result.verdicts.to_dict("records"),
                                       strict=True)])
    head.add(Table(summary[["claim", "title", "verdict", "runs", "sentence"]].astype(str)))
    if robustness is not None:
        head.add(f"Across the posterior: every contrast also ran under "
                 f"{int(robustness.table['sets'].max())} parameter sets drawn by weight from a "
                 f"calibration's posterior, {_set_runs(suite)} on the same seeds "
                 f"({robustness.runs:,} runs, {robustness.seconds:.0f} s). An "
                 "effect holds in a set when its 95 % interval lies on the predicted side of "
                 "zero; it is robust where it holds in at least 90 % of the sets, conditional "
                 "in 10 – 90 %, and does not hold below 10 % (`robustness.csv`; per set, with "
                 "the parameter values, `robustness_sets.csv`).")
        head.add(Table(_robustness_table(robustness.table)))
    if variants is not None and len(variants):
        head.add("Under structural variants: every claim again, with both arms of every contrast "
                 "under one variant of a mechanism the sources do not fix (the claims file's "
                 "`[variants]`; docs/ODD.md §7, §9), at the same values and seeds "
                 "(`variants.csv`).")
        wide = variants.assign(verdict=[v + (f": {c}" if c else "") for v, c in zip(
            variants["verdict"], variants["condition"], strict=True)]).pivot(
            index="claim", columns="variant", values="verdict")
        wide.insert(0, "as the model has it", result.verdicts.set_index("claim")["verdict"])
        head.add(Table(wide.reset_index().astype(str)))
    if found is not None:
        words = found.attrs["claims"]
        crossed = (" and over the structural variants of `[variants]` (each set takes one "
                   "form of each mechanism, every form in equal numbers of sets)"
                   if suite.variants else "")
        head.add(f"Assumed or found: every contrast also ran under "
                 f"{int(found['prior_sets'].max())} parameter sets spread over the calibration's "
                 f"priors{crossed} ({found.attrs['runs']:,} runs, "
                 f"{found.attrs['seconds']:.0f} s). An effect that is on the opposite side of "
                 "zero (95 % interval) in no more of them than chance allows (2.5 %), overall "
                 "and under each form, follows from the model's form: its mechanism moves it "
                 "one way only. One that is opposite in more is a finding, conditional on where "
                 "it holds (`assumed_or_found.csv`).")
        head.add(Table(words.assign(claim=words["claim"].astype(str))))
    return head


def _set_runs(suite: ClaimSuite) -> str:
    """The paired runs per arm and set of the robustness passes, in words."""
    first, cap = suite.robustness_first, suite.replicates
    if first == cap:
        return f"{cap:,} paired runs per arm and set"
    return (f"{first:,} paired runs per arm and set, and {first:,} more at a time while a set "
            f"is undecided (its interval at {INTERIM_LEVEL * 100:.1f} % crosses zero), up to "
            f"{cap:,}")


def _claim_section(claim: Claim, verdict: dict, result: ClaimsResult, holm_p: pd.Series,
                   figures: Path, robustness, found: pd.DataFrame | None,
                   deciding: pd.DataFrame | None = None) -> Section:
    """One claim: its predicted effects, their figure, the verdict and why the tests are fair."""
    section = Section(f"Claim {claim.id}: {claim.title}")
    section.add(f"*{claim.statement}* ({claim.source})")
    rows = result.effects[(result.effects["claim"] == claim.id)
                          & (result.effects["expected"] != "")]
    table = pd.DataFrame([{
        "contrast": r.contrast, "metric": LABELS[r.metric], "predicted": r.expected,
        "baseline": _fmt_level(r.metric, r.baseline),
        "treatment": _fmt_level(r.metric, r.treatment),
        "effect (corrected interval)": _fmt_effect(r), "paired runs": f"{r.runs:,}",
        "discordant pairs": f"{r.discordant:,}", "bound": f"±{_fmt_bound(r)}",
        "p": f"{r.p:.2g}", "p (Holm)": f"{holm_p[r.Index]:.2g}", "verdict": r.verdict}
        for r in rows.itertuples()])
    section.add(Table(table))
    name = f"claim-{claim.id}.png"
    plot_claim(claim, result, figures / name)
    section.add(Figure(f"figures/{name}", f"Claim {claim.id}: predicted effects (treatment "
                       "minus baseline) with corrected intervals, by contrast."))
    if claim.reference:
        section.add(_reference_text(claim, result))
    section.add(f"**{sentence(claim, verdict, result.effects, deciding)}**")
    for contrast in claim.contrasts:
        if contrast.why:
            section.add(f"Why *{contrast.name}* is a fair test: {contrast.why}")
        section.add(f"What *{contrast.name}* changes: {arm_changes(contrast)}.")
    if robustness is not None:
        section.add(_robustness_text(claim, robustness))
    if found is not None:
        section.add(_found_text(claim, found))
    return section


def arm_changes(contrast) -> str:
    """Each arm's scenario and settings in words, with the members and dated forms each
    `members.` key reaches."""
    def words(scenario, changes: dict, other) -> str:
        parts = [f"`{text}` = {value!r}" + (f" ({reach(scenario, Key.parse(name), since)})"
                                            if name.startswith("members.") else "")
                 for text, value in changes.items()
                 for name, since in [split_dated(text)]]
        if scenario.name != other.name:
            parts.insert(0, f"scenario {scenario.name}")
        return "; ".join(parts) or "the scenario as it is"

    b, t = contrast.baseline, contrast.treatment
    return (f"baseline: {words(b, contrast.baseline_changes, t)}; "
            f"treatment: {words(t, contrast.treatment_changes, b)}")


def _screening_section(screening: pd.DataFrame) -> Section:
    """The deciding parameters: the one-at-a-time screening's flips, claim by claim."""
    section = Section("Deciding parameters")
    deciding = screening.attrs["deciding"]
    section.add(f"Every numeric parameter moved alone over its documented range "
                f"({screening.attrs['levels']} values each, {screening.attrs['runs']:,} paired "
                f"runs per arm and value, {screening.attrs['seconds']:.0f} s; "
                "`screening.csv`): a parameter decides a claim when some value of it turns "
                "one of the claim's effects from one decided category into another (holds, "
                "reversed, no measurable effect), at the same runs as the screening's own "
                "point at the scenario's values. Each is marked calibrated (among the "
                "calibration's priors), sourced (its scenario value cites a source) or "
                "unsourced (`deciding.csv`).")
    if len(deciding):
        section.add(Table(deciding.assign(claim=deciding["claim"].astype(str))))
    else:
        section.add("No parameter flips any claim's effect.")
    return section


def claims_findings(suite: ClaimSuite, result: ClaimsResult, holm_p: pd.Series,
                    robustness=None, found: pd.DataFrame | None = None) -> list[str]:
    """Three to six sentences on what the claims' experiments found, with their numbers."""
    verdicts = result.verdicts
    groups = []
    for word in CLAIM_VERDICTS:
        ids = verdicts.loc[verdicts["verdict"] == word, "claim"].astype(str).tolist()
        if ids:
            groups.append(f"{len(ids)} {CLAIM_WORDS[word]} ({', '.join(ids)})")
    out = [f"Of {len(verdicts)} claims, at the scenario's values ({suite.replicates:,} to "
           f"{suite.cap:,} paired runs per arm, {suite.years} years): " + "; ".join(groups)
           + "."]
    predicted = result.effects[result.effects["expected"] != ""]
    holding = predicted[predicted["verdict"] == "holds"]
    if len(holding):
        scale = holding.apply(lambda r: abs(r.effect) / max(abs(r.high - r.low), 1e-12), axis=1)
        top = holding.loc[scale.idxmax()]
        out.append(f"The clearest predicted effect: claim {top.claim}, {top.contrast}: "
                   f"{LABELS[top.metric]} {_fmt_level(top.metric, top.baseline)} → "
                   f"{_fmt_level(top.metric, top.treatment)}, {_fmt_effect(top)}.")
    opposite = predicted[predicted["verdict"] == "reversed"]
    if len(opposite):
        parts = [f"claim {r.claim}, {r.contrast}: {LABELS[r.metric]} {_fmt_effect(r)}"
                 for r in opposite.itertuples()]
        out.append("Reversed: " + "; ".join(parts[:3])
                   + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "") + ".")
    counts = predicted["verdict"].value_counts()
    few = predicted[(predicted["discordant"] < FEW_PAIRS)
                    & predicted["verdict"].isin(["holds", "reversed"])]
    out.append(f"Of the {len(predicted)} predicted effects, {counts.get('holds', 0)} hold, "
               f"{counts.get('reversed', 0)} are reversed, {counts.get('no measurable effect', 0)}"
               f" are no measurable effect (within the equivalence bound) and "
               f"{counts.get('undecided', 0)} are undecided at the cap; {len(few)} of those that "
               f"hold or are reversed rest on fewer than {FEW_PAIRS} discordant pairs; "
               f"{int((holm_p[holding.index] < 1 - suite.confidence).sum())} of those that hold "
               f"keep p < {1 - suite.confidence:.2g} after Holm's adjustment.")
    if robustness is not None:
        table = robustness.table
        counts = table["verdict"].value_counts()
        out.append(f"Across {int(table['sets'].max())} parameter sets of the posterior: "
                   f"{counts.get('robust', 0)} of {len(table)} predicted effects are robust "
                   f"(hold in ≥ 90 % of the sets), {counts.get('conditional', 0)} conditional, "
                   f"{counts.get('does not hold', 0)} do not hold.")
    if found is not None:
        form = int((found["assumed_or_found"] == "follows from the model's form").sum())
        out.append(f"Over {int(found['prior_sets'].max())} parameter sets spread over the "
                   f"priors{' and the structural variants' if suite.variants else ''}: "
                   f"{form} of {len(found)} predicted effects follow from the model's form (their "
                   f"sign never reverses beyond chance), {len(found) - form} are findings.")
    return out[:6]


def _found_text(claim: Claim, found: pd.DataFrame) -> str:
    rows = found[found["claim"] == claim.id]
    parts = [f"{LABELS[r.metric]} {r.predicted} in {r.contrast}: {r.assumed_or_found}"
             + (f", {r.condition}" if r.condition else "")
             + f" (holds in {r.share_holding:.0%} of {r.prior_sets} sets, opposite in "
               f"{r.share_opposite:.0%}"
             + (f"; opposite under {r.opposite_under}" if r.opposite_under else "") + ")"
             for r in rows.itertuples()]
    decided = f" Decided by: {claim.decided_by}." if claim.decided_by else ""
    return "Over the priors: " + "; ".join(parts) + "." + decided


def _robustness_table(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{
        "claim": str(r.claim), "contrast": r.contrast,
        "metric": f"{LABELS[r.metric]} {r.predicted}",
        "sets holding": f"{r.share_holding:.0%}",
        "effect over the posterior (95 %)": f"{r.effect:+.3g} ({r.effect_lo:+.3g} to "
                                            f"{r.effect_hi:+.3g})",
        "verdict": r.verdict} for r in table.itertuples()])


def _robustness_text(claim: Claim, robustness) -> str:
    """The claim's effects across the posterior, with the rule of each conditional one."""
    rows = robustness.table[robustness.table["claim"] == claim.id]
    parts = []
    for r in rows.itertuples():
        text = (f"{LABELS[r.metric]} {r.predicted} in {r.contrast}: {r.verdict}, holding in "
                f"{r.share_holding:.0%} of {r.sets} parameter sets (effect over the posterior "
                f"{r.effect:+.3g}, 95 % {r.effect_lo:+.3g} to {r.effect_hi:+.3g})")
        rule = robustness.rules[(robustness.rules["claim"] == claim.id)
                                & (robustness.rules["contrast"] == r.contrast)
                                & (robustness.rules["metric"] == r.metric)]
        if len(rule):
            text += f"; {rule['sentence'].iloc[0]}"
        parts.append(text)
    return "Across the posterior: " + "; ".join(parts) + "."


def _reference_text(claim: Claim, result: ClaimsResult) -> str:
    ref = claim.reference
    arm = result.shares[(result.shares["claim"] == claim.id)
                        & (result.shares["contrast"] == claim.contrasts[0].name)
                        & (result.shares["arm"] == "treatment")].iloc[0]
    parts = [f"{name} {100 * arm[name]:.0f} % (reference {100 * ref[name]:.0f} %)"
             for name in SHARES if name in ref]
    return (f"How far the treatment of '{claim.contrasts[0].name}' approaches the reference "
            f"({ref.get('source', '')}): " + ", ".join(parts) + ".")


@styled
def plot_claims_overview(suite: ClaimSuite, result: ClaimsResult, path: Path) -> None:
    """Stacked outcome shares of both arms of every contrast, grouped by claim."""
    rows = []
    for claim, verdict in zip(suite.claims, result.verdicts.to_dict("records"), strict=True):
        for contrast in claim.contrasts:
            for arm in ("baseline", "treatment"):
                share = result.shares[(result.shares["claim"] == claim.id)
                                      & (result.shares["contrast"] == contrast.name)
                                      & (result.shares["arm"] == arm)].iloc[0]
                rows.append((claim, verdict["verdict"], contrast.name, arm, share))
    headers = len(suite.claims)
    fig, ax = subplots(figsize=(10, 0.22 * (len(rows) + headers) + 1.4))
    y = 0.0
    ticks, labels, bold, last_claim = [], [], [], None
    for claim, verdict, contrast, arm, share in rows:
        if claim.id != last_claim:
            ticks.append(y)
            labels.append(f"{claim.id}. {claim.title}: {verdict.upper()}")
            bold.append(True)
            y += 1.0
            last_claim = claim.id
        left = 0.0
        for state in SHARES:
            ax.barh(y, share[state], left=left, color=STATE_COLORS[state], height=0.8,
                    edgecolor="white", linewidth=0.4)
            left += share[state]
        ticks.append(y)
        name = textwrap.shorten(contrast, 50, placeholder=" …")
        labels.append(f"{name}: treatment" if arm == "treatment" else "baseline")
        bold.append(False)
        y += 1.0
    ax.set_yticks(ticks, labels, fontsize=7)
    for label, is_bold in zip(ax.get_yticklabels(), bold, strict=True):
        if is_bold:
            label.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_ylim(y - 0.4, -0.6)
    ax.set_xlabel(f"share of {suite.replicates:,} runs at the horizon ({suite.years} years)")
    handles = [Rectangle((0, 0), 1, 1, color=STATE_COLORS[s]) for s in SHARES]
    ax.legend(handles, SHARES, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    save(fig, path)


@styled
def plot_claim(claim: Claim, result: ClaimsResult, path: Path) -> None:
    """Predicted effects of one claim with their intervals, one panel per metric."""
    rows = result.effects[(result.effects["claim"] == claim.id)
                          & (result.effects["expected"] != "")]
    metrics_used = list(dict.fromkeys(rows["metric"]))
    fig, axes = subplots(1, len(metrics_used), figsize=(3.4 * len(metrics_used) + 1.6,
                                                        0.6 * len(claim.contrasts) + 1.8),
                         squeeze=False)
    for ax, metric in zip(axes[0], metrics_used, strict=True):
        part = rows[rows["metric"] == metric]
        scale = 100 if metric in SHARES else 1
        for i, r in enumerate(part.itertuples()):
            color = VERDICT_COLORS[r.verdict]
            ax.errorbar(scale * r.effect, i, xerr=[[scale * (r.effect - r.low)],
                                                   [scale * (r.high - r.effect)]],
                        fmt="o", color=color, capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(part)), [textwrap.fill(c, 26) for c in part["contrast"]],
                      fontsize=7)
        ax.set_ylim(len(part) - 0.5, -0.5)
        unit = "percentage points" if metric in SHARES else METRICS[metric].split(" (")[0]
        ax.set_xlabel(textwrap.fill(f"{LABELS[metric]}: treatment − baseline ({unit}; "
                                    f"predicted {part['expected'].iloc[0]})", 36), fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=v)
               for v, c in VERDICT_COLORS.items()]
    fig.legend(handles=handles, loc="outside right upper", title="effect")
    fig.suptitle(f"Claim {claim.id}: {claim.title}", fontsize=9)
    save(fig, path)
