"""Agendas as a spreadsheet-friendly CSV and as a printable, self-contained HTML page."""

from __future__ import annotations

import csv
import io
from html import escape

from app.meetings.schemas import AgendaRead

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


_CSS = """
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
p.meta { margin: 0 0 1em; color: #333; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: .3em .5em; vertical-align: top; text-align: left; }
th { background: #eee; }
td.num { text-align: right; }
ul { margin: 0; padding-left: 1.2em; }
.sev-urgent { font-weight: bold; }
.notes { height: 4em; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; font-size: 10pt; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
}
"""


def agenda_html(agenda: AgendaRead) -> str:
    m = agenda.meeting
    kind = m.kind.value.upper()
    title = f"{kind} agenda, {m.starts_at:%A %d %B %Y %H:%M}"
    window = (
        f" Window {agenda.window.start:%d %b %H:%M} to {agenda.window.end:%d %b %H:%M}."
        if agenda.window
        else ""
    )
    rows = []
    for n, item in enumerate(agenda.items, start=1):
        reasons = "".join(
            f'<li class="sev-{escape(r.severity)}"><b>{escape(r.code)}</b>: {escape(r.detail)}</li>'
            for r in item.reasons
        )
        late = f"<p><i>Late item: {escape(item.late_reason)}</i></p>" if item.late_reason else ""
        rows.append(
            "<tr>"
            f'<td class="num">{n}</td>'
            f"<td>{escape(item.pseudonym)}</td>"
            f"<td>{escape(item.risk_level or 'not assessed')}</td>"
            f'<td class="num">{item.priority}</td>'
            f"<td><ul>{reasons}</ul>{late}</td>"
            f"<td>{escape(item.added_by)}</td>"
            '<td class="notes"></td>'
            "</tr>"
        )
    body = "".join(rows) or '<tr><td colspan="7">No cases on this agenda.</td></tr>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Agenda {escape(agenda.status.value)} as of '
        f"{agenda.as_of.astimezone(m.starts_at.tzinfo):%d %B %Y %H:%M} ({escape(m.timezone)})."
        f"{escape(window)} {len(agenda.items)} case(s). OFFICIAL-SENSITIVE: pseudonyms only.</p>"
        "<table><thead><tr><th>#</th><th>Case</th><th>Risk</th><th>Priority</th>"
        "<th>Reasons</th><th>Added by</th><th>Notes</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )
