"""Small-number suppression on pure tables: primary, secondary, children, published zeros."""

from __future__ import annotations

from app.stats.suppression import TOTAL, primary, protect


def test_primary_is_one_to_four_or_fewer_than_five_children():
    assert not primary(0)
    assert all(primary(n) for n in range(1, 5))
    assert not primary(5)
    assert primary(7, children=2)  # seven episodes of two children
    assert not primary(7, children=5)


def test_nothing_hidden_when_every_count_is_five_or_more_or_zero():
    table = {"a": {"x": 5, "y": 0, TOTAL: 5}, "b": {"x": 6, "y": 9, TOTAL: 15}}
    assert protect(table, [("x", "y")]) == set()


def test_a_lone_small_cell_takes_a_partner_in_its_row_and_its_column():
    table = {
        "a": {"x": 3, "y": 9, TOTAL: 12},
        "b": {"x": 6, "y": 7, TOTAL: 13},
        "c": {"x": 0, "y": 0, TOTAL: 0},
    }
    hidden = protect(table, [("x", "y")])
    assert hidden == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    # Row "c" adds up to a published zero: hiding its cells would protect nothing.
    assert not any(row == "c" for row, _ in hidden)


def test_every_line_hides_none_or_at_least_two():
    table = {
        "a": {"x": 1, "y": 2, "z": 8, TOTAL: 11},
        "b": {"x": 9, "y": 0, "z": 5, TOTAL: 14},
        "c": {"x": 6, "y": 7, "z": 4, TOTAL: 17},
    }
    hidden = protect(table, [("x", "y", "z")])
    for row in table:
        assert sum((row, c) in hidden for c in ("x", "y", "z", TOTAL)) != 1
    for column in ("x", "y", "z", TOTAL):
        assert sum((row, column) in hidden for row in table) != 1
    assert {("a", "x"), ("a", "y"), ("c", "z")} <= hidden


def test_two_segments_share_the_row_total():
    # Levels add up to open cases, and so do overdue and not overdue.
    table = {
        "a": {"low": 5, "high": 5, "overdue": 2, "in_date": 8, TOTAL: 10},
        "b": {"low": 6, "high": 6, "overdue": 6, "in_date": 6, TOTAL: 12},
    }
    hidden = protect(table, [("low", "high"), ("overdue", "in_date")])
    assert hidden == {("a", "overdue"), ("a", "in_date"), ("b", "overdue"), ("b", "in_date")}


def test_no_useless_complement_when_the_rest_of_a_column_is_published_zeros():
    table = {
        "a": {"x": 1, "y": 0, TOTAL: 1},
        "b": {"x": 0, "y": 0, TOTAL: 0},
        "c": {"x": 0, "y": 0, TOTAL: 0},
    }
    assert protect(table, [("x", "y")]) == {("a", "x"), ("a", TOTAL)}
