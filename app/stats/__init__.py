"""Statistics: counts, timeliness and equality over a period, and a case's risk over time."""
