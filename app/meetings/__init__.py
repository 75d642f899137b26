"""Meetings: series, working-day calendar, materialisation, agendas, decisions, actions, jobs."""
