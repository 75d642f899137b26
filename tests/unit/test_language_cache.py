"""The language check's memo: same findings as a fresh check, bounded, and no text kept."""

from __future__ import annotations

from app.risk import language


def test_a_repeated_check_gives_the_same_findings():
    text = "He was seen with an older boyfriend and chose to go missing; plan reviewed."
    first = language.check(text)
    assert first == language._check(text)
    again = language.check(text)
    assert again == first
    again.clear()  # a caller changing its list does not change the next answer
    assert language.check(text) == first


def test_the_memo_is_bounded_and_holds_no_text(monkeypatch):
    monkeypatch.setattr(language, "_CHECKED_MAX", 5)
    monkeypatch.setattr(language, "_checked", {})
    for i in range(20):
        language.check(f"note {i}: she put herself at risk")
    assert len(language._checked) <= 5
    assert all(isinstance(k, bytes) and len(k) == 16 for k in language._checked)
    assert not any("note" in str(v) for v in language._checked.values())
