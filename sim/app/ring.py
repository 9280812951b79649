"""The member ministries as agents: a ring of the group's members around the group, drawn as
SVG for the page from the Mesa agents' state after the last quarter shown.

Each ministry is a disc whose area is its budget for the group (1 = the founding level) and
whose fill is its engagement (pale: none, dark: full); a spoke to the group in the middle,
as thick as the engagement, in the member's colour of every chart. A star marks the chair, a
dashed red ring a domestic crisis, a diamond membership of the rival bloc, a cross a member
that has left. The group in the middle takes its state's colour.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from matplotlib import colormaps
from matplotlib.colors import to_hex

from sim.model import rules
from sim.model.mesa_engine import MinilateralModel
from sim.reporting.figures import STATE_COLORS, member_colors

FONT_PX = 14  # the smallest text a projector shows legibly at 1024 pixels wide
NOT_STARTED = "#9e9e9e"
ENGAGEMENT_COLORS = colormaps["YlGnBu"]
CRISIS_COLOR = "#d62728"
CHAIR_COLOR = "#b8860b"
MAX_BUDGET = 2.0  # budgets above twice the founding level are drawn at that size


@dataclass(frozen=True)
class Ministry:
    """What the ring shows of one member after the last quarter shown."""

    name: str
    code: str
    color: str  # the member's own colour in every chart
    budget: float
    engagement: float
    status: int  # rules.PENDING, ACTIVE or EXITED
    crisis: bool
    in_rival: bool
    chair: bool


def ministries(model: MinilateralModel) -> list[Ministry]:
    """The member agents' state as the ring draws it."""
    colors = member_colors(model.scenario)
    shown = model.trajectory.quarters_run
    chair = int(model.trajectory.chair[shown - 1]) if shown else rules.VACANT
    return [Ministry(agent.name, agent.code, colors[i], float(agent.budget),
                     float(agent.engagement), int(agent.status), bool(agent.crisis),
                     bool(agent.in_rival), i == chair)
            for i, agent in enumerate(model.member_list)]


def engagement_color(engagement: float) -> str:
    """The fill of a ministry with this engagement: pale at 0, dark at 1."""
    return to_hex(ENGAGEMENT_COLORS(0.1 + 0.85 * min(max(engagement, 0.0), 1.0)))


def disc_radius(budget: float, full: float) -> float:
    """A disc's radius: its area proportional to the budget, `full` at the founding level."""
    return full * math.sqrt(min(max(budget, 0.0), MAX_BUDGET))


def ring_svg(model: MinilateralModel, width: int, height: int, rival: str = "",
             short: bool = False) -> str:
    """The ring of `model`'s ministries as an SVG element `width` x `height` pixels; `short`
    names the members by their codes, for a smaller ring."""
    members = ministries(model)
    shown = model.trajectory.quarters_run
    state = (rules.STATE_NAMES[int(model.trajectory.state[shown - 1])] if shown
             else "not started")
    cx, cy = width / 2, height / 2
    full = min(width, height) / 12  # a disc's radius at the founding budget
    label = FONT_PX * (1.6 if short else 3.4)  # half the width of a member's label
    rx = width / 2 - label  # an ellipse: the members spread over the width
    ry = height / 2 - full * 1.42 - FONT_PX * 1.2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="minilat-ring-svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="the member ministries">']
    spots = []
    for i, m in enumerate(members):
        angle = -math.pi / 2 + 2 * math.pi * i / len(members)
        x, y = cx + rx * math.cos(angle), cy + ry * math.sin(angle)
        spots.append((x, y))
        if m.status == rules.ACTIVE:
            parts.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" '
                         f'stroke="{m.color}" stroke-width="{1 + 7 * max(m.engagement, 0):.1f}"'
                         ' stroke-linecap="round" opacity="0.8"/>')
    group = STATE_COLORS.get(state, NOT_STARTED)
    parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{full * 0.8:.1f}" fill="{group}" '
                 f'class="minilat-ring-group" data-state="{state}"/>')
    for m, (x, y) in zip(members, spots, strict=True):
        above = y < cy - ry / 2  # the top member's name goes above its disc
        parts.extend(ministry_svg(m, x, y, full, shown > 0, rival, short, above))
    parts.append("</svg>")
    return "".join(parts)


def ministry_svg(m: Ministry, x: float, y: float, full: float, started: bool, rival: str,
                 short: bool = False, above: bool = False) -> list[str]:
    """One ministry: its disc, its marks and its name with its engagement."""
    r = disc_radius(m.budget, full)
    left = m.status == rules.EXITED
    fill = NOT_STARTED if not started else "#ffffff" if left else engagement_color(m.engagement)
    data = (f'data-member="{m.code}" data-budget="{m.budget:.4f}" '
            f'data-engagement="{m.engagement:.4f}" data-chair="{str(m.chair).lower()}" '
            f'data-crisis="{str(m.crisis).lower()}" data-left="{str(left).lower()}" '
            f'data-rival="{str(m.in_rival).lower()}"')
    parts = [f'<g class="minilat-ministry" {data}>',
             f'<title>{html.escape(m.name)}: budget {m.budget:.2f}, engagement '
             f'{m.engagement:.2f}</title>',
             f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{max(r, 3):.1f}" fill="{fill}" '
             f'stroke="{m.color}" stroke-width="3"'
             + (' stroke-dasharray="4 3"' if left else "") + "/>"]
    if m.crisis and not left:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r + 5:.1f}" fill="none" '
                     f'stroke="{CRISIS_COLOR}" stroke-width="2.5" stroke-dasharray="5 3"/>')
    if left:
        parts.append(f'<text x="{x:.1f}" y="{y + FONT_PX * 0.35:.1f}" text-anchor="middle" '
                     f'font-size="{FONT_PX + 4}" fill="{CRISIS_COLOR}">✕</text>')
    if m.chair:
        parts.append(f'<text x="{x + r + 2:.1f}" y="{y + FONT_PX * 0.45:.1f}" font-size="'
                     f'{FONT_PX + 6}" fill="{CHAIR_COLOR}" class="minilat-chair">★</text>')
    if m.in_rival:  # a diamond on the disc's upper left
        dx, dy, d = x - r * 0.8, y - r * 0.8, FONT_PX * 0.45
        parts.append(f'<polygon class="minilat-rival" points="{dx:.1f},{dy - d:.1f} '
                     f'{dx + d:.1f},{dy:.1f} {dx:.1f},{dy + d:.1f} {dx - d:.1f},{dy:.1f}" '
                     f'fill="#333333" stroke="#ffffff"><title>in {html.escape(rival)}</title>'
                     '</polygon>')
    name = m.code if short else m.name
    label = name if not left else f"{name} (left)"
    detail = "" if not started or left or short else f" {m.engagement:.2f}"
    reach = full * math.sqrt(MAX_BUDGET) * 0.8
    parts.append(f'<text x="{x:.1f}" y="{y - reach - 4 if above else y + reach + FONT_PX:.1f}" '
                 f'text-anchor="middle" font-size="{FONT_PX}" fill="{m.color}" font-weight="bold">'
                 f"{html.escape(label)}{detail}</text>")
    parts.append("</g>")
    return parts
