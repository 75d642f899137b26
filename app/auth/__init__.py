"""API keys, roles, the calling Principal and which cases it may read."""
