"""riskreg: a multi-agency child exploitation risk register and meeting scheduler."""
