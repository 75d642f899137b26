"""Short pseudonyms safe to say aloud: no 0/O, 1/I/L, so a meeting never mishears one."""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PREFIX = "CE-"
LENGTH = 6


def new_pseudonym() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
