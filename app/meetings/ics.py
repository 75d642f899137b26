"""The meetings as an iCalendar feed (RFC 5545), with each zone's VTIMEZONE so clients agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from app.models import Meeting

TITLES = {"dram": "DRAM (daily risk assessment meeting)", "mace": "MACE (multi-agency meeting)"}


def calendar_feed(meetings: Sequence[Meeting], now: dt.datetime, host: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//riskreg//meetings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "riskreg meetings")
    for meeting in meetings:
        zone = ZoneInfo(meeting.timezone)
        cutoff = meeting.agenda_cutoff.astimezone(zone)
        event = Event()
        event.add("uid", f"meeting-{meeting.id}@{host}")
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", meeting.starts_at.astimezone(zone))
        event.add("dtend", meeting.ends_at.astimezone(zone))
        event.add("summary", TITLES.get(meeting.kind, meeting.kind.upper()))
        event.add(
            "description",
            f"Agenda cutoff {cutoff:%A %d %B %Y %H:%M} ({meeting.timezone}). "
            f"Agenda: /api/v1/meetings/{meeting.id}/agenda",
        )
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    cal.add_missing_timezones()  # a VTIMEZONE for every TZID the events use
    return cal.to_ical()
