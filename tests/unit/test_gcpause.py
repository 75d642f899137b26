"""The collector pauses for overlapping sections and resumes only when the last one ends."""

import gc

from app.gcpause import gc_paused


def test_collector_resumes_after_the_last_overlapping_section() -> None:
    assert gc.isenabled()
    outer = gc_paused()
    outer.__enter__()
    assert not gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the outer section is still running
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_collector_resumes_after_an_error_and_stays_off_if_it_was_off() -> None:
    try:
        with gc_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
