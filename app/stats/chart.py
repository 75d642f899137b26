"""The risk trend chart as a small, self-contained SVG, readable printed in black and white.

Hand-written rather than drawn by a plotting library: one step line and a few shapes do not
earn a dependency. Nothing here relies on colour: the level is the line's height and the
marker's shape (none ○, low ●, medium ■, high ◆), missing episodes are hatched bands with a
dashed edge, and every mark carries a `<title>` for screen readers and hover.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from app.risk.flags import LONDON
from app.stats.history import RiskHistory

LEVELS = ("none", "low", "medium", "high")
WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 64, 14, 26, 50
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
ROW = PLOT_H / len(LEVELS)


def _day(moment: dt.datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%b %Y}"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _marker(level: str, x: float, y: float) -> str:
    xs, ys = _n(x), _n(y)
    if level == "none":
        return f'<circle cx="{xs}" cy="{ys}" r="4" fill="#fff" stroke="#000" stroke-width="1.5"/>'
    if level == "low":
        return f'<circle cx="{xs}" cy="{ys}" r="4" fill="#000"/>'
    if level == "medium":
        return f'<rect x="{_n(x - 4)}" y="{_n(y - 4)}" width="8" height="8" fill="#000"/>'
    return (
        f'<path d="M{xs} {_n(y - 6)} L{_n(x + 6)} {ys} L{xs} {_n(y + 6)} L{_n(x - 6)} {ys}Z" '
        'fill="#000"/>'
    )


def risk_history_svg(h: RiskHistory, *, element_id: str = "risk", inline: bool = False) -> str:
    """The chart; `element_id` keeps ids unique when several charts share one page.

    `inline` leaves out the namespace declaration, which SVG inside HTML does not need (and
    which would be the only URL in a printed agenda).
    """
    span = (h.end - h.start).total_seconds() or 1.0

    def x(moment: dt.datetime) -> float:
        share = (moment - h.start).total_seconds() / span
        return LEFT + max(0.0, min(1.0, share)) * PLOT_W

    def y(level: str) -> float:
        return TOP + (len(LEVELS) - 1 - LEVELS.index(level)) * ROW + ROW / 2

    title = f"Risk level over time, {h.pseudonym}"
    if h.points:
        current = h.points[-1]
        summary = (
            f"{len(h.points)} assessment(s) from {_day(h.points[0].at)}; "
            f"current level {current.level} since {_day(current.at)}. "
        )
    else:
        summary = "No risk assessment yet. "
    open_episodes = sum(e.ended_at is None for e in h.episodes)
    summary += f"{len(h.episodes)} missing episode(s)"
    summary += f", {open_episodes} still open." if open_episodes else "."
    tid, did, hatch = f"{element_id}-title", f"{element_id}-desc", f"{element_id}-hatch"

    namespace = "" if inline else ' xmlns="http://www.w3.org/2000/svg"'
    out = [
        f'<svg{namespace} class="risk-history" role="img" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{tid} {did}" font-family="sans-serif" font-size="11">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<desc id="{did}">{escape(summary)}</desc>',
        f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#000" '
        'stroke-width="1.2" stroke-opacity="0.45"/></pattern></defs>',
        f'<text x="{LEFT}" y="15" font-weight="bold">{escape(title)}</text>',
    ]
    # Level rows: dotted guides and their names.
    for level in LEVELS:
        yy = _n(y(level))
        out.append(
            f'<line x1="{LEFT}" y1="{yy}" x2="{LEFT + PLOT_W}" y2="{yy}" stroke="#000" '
            'stroke-opacity="0.35" stroke-dasharray="1 3"/>'
            f'<text x="{LEFT - 8}" y="{yy}" text-anchor="end" dominant-baseline="middle">'
            f"{level}</text>"
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{_n(PLOT_H)}" fill="none" '
        'stroke="#000" stroke-width="1"/>'
    )
    # Missing episodes: hatched bands over the whole height, dashed where still open.
    for e in h.episodes:
        x1 = x(e.started_at)
        x2 = max(x(e.ended_at or h.end), x1 + 2)
        label = (
            f"{e.kind.capitalize()} from {_day(e.started_at)} to {_day(e.ended_at)}"
            if e.ended_at
            else f"{e.kind.capitalize()} since {_day(e.started_at)}, not yet returned"
        )
        dash = ' stroke-dasharray="4 2"' if e.ended_at is None else ""
        out.append(
            f'<g class="missing-episode" data-start="{e.started_at.isoformat()}" '
            f'data-end="{e.ended_at.isoformat() if e.ended_at else ""}">'
            f"<title>{escape(label)}</title>"
            f'<rect x="{_n(x1)}" y="{TOP}" width="{_n(x2 - x1)}" height="{_n(PLOT_H)}" '
            f'fill="url(#{hatch})" stroke="#000" stroke-width="0.8"{dash}/>'
            f'<path d="M{_n(x1)} {_n(TOP + PLOT_H + 2)} l4 7 h-8z" fill="#000"/></g>'
        )
    # The step line: flat at each level until the next assessment, then up or down.
    if h.points:
        first = h.points[0]
        d = [f"M{_n(x(first.at))} {_n(y(first.level))}"]
        for p in h.points[1:]:
            d.append(f"H{_n(x(p.at))} V{_n(y(p.level))}")
        d.append(f"H{_n(x(h.end))}")
        out.append(
            f'<path class="risk-line" d="{" ".join(d)}" fill="none" stroke="#000" '
            'stroke-width="2"/>'
        )
        for p in h.points:
            out.append(
                f'<g class="risk-point" data-level="{p.level}" data-at="{p.at.isoformat()}">'
                f"<title>Assessed {escape(_day(p.at))}: {p.level}</title>"
                f"{_marker(p.level, x(p.at), y(p.level))}</g>"
            )
    else:
        out.append(
            f'<text x="{_n(LEFT + PLOT_W / 2)}" y="{_n(TOP + PLOT_H / 2)}" '
            'text-anchor="middle">No risk assessment yet</text>'
        )
    # Dates along the bottom and a legend that needs no colour.
    base = TOP + PLOT_H
    out.append(
        f'<text x="{LEFT}" y="{base + 20}">{escape(_day(h.start))}</text>'
        f'<text x="{LEFT + PLOT_W}" y="{base + 20}" text-anchor="end">'
        f"{escape(_day(h.end))}</text>"
    )
    legend_y = base + 40
    out.append(
        f'<g class="legend"><line x1="{LEFT}" y1="{legend_y - 4}" x2="{LEFT + 22}" '
        f'y2="{legend_y - 4}" stroke="#000" stroke-width="2"/>'
        f'<text x="{LEFT + 28}" y="{legend_y}">risk level</text>'
        f'<rect x="{LEFT + 104}" y="{legend_y - 10}" width="18" height="11" '
        f'fill="url(#{hatch})" stroke="#000" stroke-width="0.8"/>'
        f'<text x="{LEFT + 128}" y="{legend_y}">missing episode (dashed: still missing)</text>'
        "</g>"
    )
    out.append("</svg>")
    return "".join(out)
