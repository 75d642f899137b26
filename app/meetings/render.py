"""Agendas as a spreadsheet-friendly CSV and as a printable, self-contained HTML page.

The HTML page is for chairs who read agendas on paper: per item the pseudonym, the level, the
reasons in plain words and the risk trend chart inline (SVG), a print stylesheet that keeps an
item on one page, and nothing fetched from anywhere: no fonts, scripts, images or links.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.schemas import AgendaItemRead, AgendaRead
from app.stats.chart import risk_history_svg
from app.stats.history import histories

CSV_COLUMNS = [
    "position",
    "pseudonym",
    "case_id",
    "risk_level",
    "priority",
    "reasons",
    "reason_details",
    "added_by",
    "late_reason",
]


def _formula_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets; quote it as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def agenda_csv(agenda: AgendaRead) -> bytes:
    """UTF-8 with a byte-order mark so Excel opens it as UTF-8; one row per item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for n, item in enumerate(agenda.items, start=1):
        writer.writerow(
            [
                n,
                item.pseudonym,
                str(item.case_id),
                item.risk_level or "",
                item.priority,
                "; ".join(r.code for r in item.reasons),
                _formula_safe(" | ".join(r.detail for r in item.reasons)),
                item.added_by,
                _formula_safe(item.late_reason or ""),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# What each flag means, in the words a chair would use; the flag's own detail follows it.
FLAG_LABELS: dict[str, str] = {
    "new_referral": "New referral",
    "risk_escalated": "Risk has gone up",
    "risk_reduced": "Risk has come down",
    "new_missing_episode": "Missing since the last meeting",
    "currently_missing": "Missing now",
    "repeat_missing": "Repeatedly missing",
    "return_interview_overdue": "Return home interview overdue",
    "assessment_overdue": "Risk review overdue",
    "no_assessment": "Not yet assessed",
    "judgement_below_tool": "Judgement set the risk below the tool",
    "assessor_disagreement": "Agencies disagree about the risk",
    "unaddressed_indicator": "Warning sign without a referral",
    "criminalised_victim": "May be treated as an offender, not a victim",
    "placement_instability": "Frequent placement moves",
    "missing_education": "Out of education",
    "actions_overdue": "Agreed actions overdue",
    "stalled": "No progress",
    "language_concern": "Records use language that may blame the child",
    "risk_high": "High risk",
    "escalated_by_dram": "Escalated by the DRAM",
}
LEVEL_WORDS = {
    "high": "HIGH (significant)",
    "medium": "MEDIUM (moderate)",
    "low": "LOW (emerging)",
    "none": "NO RISK identified",
}

_CSS = """
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2em;
  color: #000; background: #fff; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
p.meta { margin: 0 0 1em; color: #333; }
ol.items { list-style: none; margin: 0; padding: 0; }
li.item { border: 1px solid #777; padding: .6em .8em; margin: 0 0 1em; }
li.item header { display: flex; flex-wrap: wrap; gap: .3em 1.2em; align-items: baseline;
  border-bottom: 1px solid #bbb; padding-bottom: .3em; margin-bottom: .4em; }
.num { font-weight: bold; }
.pseudonym { font-size: 13pt; font-weight: bold; letter-spacing: .04em; }
.level { border: 1.5px solid #000; padding: 0 .4em; font-weight: bold; }
.level-high { background: #000; color: #fff; }
.level-medium { border-style: double; border-width: 3px; }
.level-low { border-style: dashed; }
.body { display: grid; grid-template-columns: 1fr auto; gap: .4em 1em; }
ul.reasons { margin: 0; padding-left: 1.2em; }
ul.reasons li { margin: 0 0 .25em; }
.flag { font-weight: bold; }
.urgent { font-weight: bold; text-transform: uppercase; margin-right: .3em; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
.notes { border-top: 1px dashed #777; margin-top: .5em; padding-top: .3em; min-height: 4.5em;
  color: #555; font-size: 9pt; }
.empty { font-style: italic; }
@media (max-width: 60em) { .body { grid-template-columns: 1fr; } }
@media print {
  @page { size: A4 portrait; margin: 12mm; }
  body { margin: 0; font-size: 10pt; }
  h1 { break-after: avoid; page-break-after: avoid; }
  li.item { break-inside: avoid; page-break-inside: avoid; }
  .body { grid-template-columns: 1fr; }
  .level-high { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _reason(code: str, severity: str, detail: str) -> str:
    urgent = '<span class="urgent">Urgent:</span>' if severity == "urgent" else ""
    label = FLAG_LABELS.get(code, code.replace("_", " ").capitalize())
    return (
        f'<li class="sev-{escape(severity)}" data-code="{escape(code)}">{urgent}'
        f'<span class="flag">{escape(label)}.</span> {escape(detail)}</li>'
    )


def _item(n: int, item: AgendaItemRead, chart: str | None) -> str:
    level = item.risk_level or "not assessed"
    reasons = "".join(_reason(r.code, r.severity, r.detail) for r in item.reasons)
    if not reasons:
        reasons = '<li class="empty">Added without a flag.</li>'
    late = ""
    if item.late_reason:
        late = f'<p class="late"><i>Late item: {escape(item.late_reason)}</i></p>'

    figure = f"<figure>{chart}</figure>" if chart else ""
    return (
        f'<li class="item" data-case="{item.case_id}">'
        f'<header><span class="num">{n}.</span>'
        f'<span class="pseudonym">{escape(item.pseudonym)}</span>'
        f'<span class="level level-{escape(item.risk_level or "none")}">Risk: '
        f"{escape(LEVEL_WORDS.get(level, level))}</span>"
        f"<span>priority {item.priority}</span>"
        f"<span>added by {escape(item.added_by)}</span></header>"
        f'<div class="body"><div><ul class="reasons">{reasons}</ul>{late}</div>{figure}</div>'
        '<div class="notes">Decision, agreed level, actions (owner, due date):</div>'
        "</li>"
    )


async def agenda_charts(session: AsyncSession, agenda: AgendaRead) -> dict[uuid.UUID, str]:
    """Each item's trend chart as the agenda knew it (its `as_of`), so a published agenda
    prints the same charts however many records arrive later."""
    found = await histories(
        session, {item.case_id: item.pseudonym for item in agenda.items}, agenda.as_of
    )
    return {
        case_id: risk_history_svg(h, element_id=f"chart-{n}", inline=True)
        for n, (case_id, h) in enumerate(found.items(), start=1)
    }


def agenda_html(agenda: AgendaRead, charts: Mapping[uuid.UUID, str] | None = None) -> str:
    m = agenda.meeting
    charts = charts or {}
    kind = m.kind.value.upper()
    title = f"{kind} agenda, {m.starts_at:%A %d %B %Y %H:%M}"
    window = (
        f" Window {agenda.window.start:%d %b %H:%M} to {agenda.window.end:%d %b %H:%M}."
        if agenda.window
        else ""
    )
    items = "".join(
        _item(n, item, charts.get(item.case_id)) for n, item in enumerate(agenda.items, start=1)
    )
    body = (
        f'<ol class="items">{items}</ol>'
        if items
        else '<p class="empty">No cases on this agenda.</p>'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Agenda {escape(agenda.status.value)} as of '
        f"{agenda.as_of.astimezone(m.starts_at.tzinfo):%d %B %Y %H:%M} ({escape(m.timezone)})."
        f"{escape(window)} {len(agenda.items)} case(s). OFFICIAL-SENSITIVE: pseudonyms only.</p>"
        f"{body}</body></html>"
    )
