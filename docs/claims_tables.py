"""The tables of docs/claims.md, from a folder `minilat claims` wrote.

    python docs/claims_tables.py results/claims    # prints the page's tables in Markdown
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from sim.inference.claims import METRIC_LABELS
from sim.reporting.claims_report import SHARES

STATUSES = ("unsourced", "calibrated", "sourced")


def effect(metric: str, value: float, low: float, high: float) -> str:
    if metric in SHARES:
        return f"{100 * value:+.1f} points ({100 * low:+.1f} to {100 * high:+.1f})"
    return f"{value:+.2f} ({low:+.2f} to {high:+.2f})"


def across_sets(table: pd.DataFrame) -> str:
    """robustness.csv or prior.csv as the page shows it."""
    rows = ["| claim | contrast | metric (predicted) | sets holding | effect mixed over the sets "
            "| verdict |", "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        rows.append(f"| {r.claim} | {r.contrast} | {METRIC_LABELS[r.metric]} ({r.predicted}) | "
                    f"{100 * r.share_holding:.0f} % of {r.sets} | "
                    f"{effect(r.metric, r.effect, r.effect_lo, r.effect_hi)} | {r.verdict} |")
    return "\n".join(rows)


def deciding(table: pd.DataFrame, claims: list[int]) -> str:
    """deciding.csv grouped by claim and status."""
    rows = ["| claim | " + " | ".join(STATUSES) + " |", "|---|---|---|---|"]
    for claim in claims:
        mine = table[table["claim"] == claim]
        cells = [", ".join(f"`{p}`" for p in mine.loc[mine["status"] == s, "parameter"]) or "–"
                 for s in STATUSES]
        rows.append(f"| {claim} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def variants(table: pd.DataFrame, point: pd.DataFrame) -> str:
    """variants.csv beside the verdicts at the scenario's values."""
    wide = table.pivot(index="claim", columns="variant", values="verdict")
    forms = sorted(wide.columns)
    rows = ["| claim | as the model has it | " + " | ".join(forms) + " |",
            "|---|---|" + "---|" * len(forms)]
    verdict = point.set_index("claim")["verdict"]
    for claim in wide.index:
        rows.append(f"| {claim} | {verdict[claim]} | "
                    + " | ".join(wide.loc[claim, f] for f in forms) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    point = pd.read_csv(folder / "claims.csv")
    found = pd.read_csv(folder / "deciding.csv")
    print("## Deciding parameters\n")
    print(deciding(found, point["claim"].tolist()), "\n")
    for name in ("robustness", "prior"):
        if (folder / f"{name}.csv").exists():
            print(f"## {name}.csv\n")
            print(across_sets(pd.read_csv(folder / f"{name}.csv")), "\n")
    print("## variants.csv\n")
    print(variants(pd.read_csv(folder / "variants.csv"), point))
