"""Pausing the cyclic garbage collector around a burst of allocation (an agenda build).

Building an agenda at scale allocates hundreds of thousands of short-lived objects (rows,
facts, flags, reason dicts). With the collector on, that allocation triggers repeated full
collections that walk every live object: at 100,000 cases they took about a second of the
build's two and a half (measured, `bench/agenda.py`). Reference counting still frees all of
this as it goes; only reference cycles wait, and the collector runs again as soon as the last
paused section ends. Sections may overlap (concurrent requests): the collector resumes when
none is left, and only if it was on to begin with.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _paused, _was_enabled
    if _paused == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0 and _was_enabled:
            gc.enable()
