"""Small-number suppression for published tables, as official statistics do it.

Primary suppression hides any count from 1 to 4, and any count that rests on fewer than five
children (seven missing episodes of two children is still two children). Zeros are shown:
they single nobody out, and statistical releases (DfE, ONS) publish them.

Secondary suppression stops a hidden cell being recovered by subtraction. A table here is a
set of group rows under a total row that is published elsewhere unsuppressed (the overview),
so every column total is known. Each row is split into segments whose cells add up to the
row's total (levels add up to open cases; overdue plus not overdue does too). Every *line* (a
row segment with its row total, or a column of group cells) is one equation with a published
sum, so a line must hide none of its cells or at least two. Until that holds everywhere, a
line with one hidden cell hides its smallest other cell too: the row total last, and never a
cell that a published zero total shows to be zero. This is the standard "no lone suppression
in a line" protection; it does not defeat a full linear-programming attack, which tables of
this size and sensitivity do not warrant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

THRESHOLD = 5
TOTAL = "total"

Key = tuple[str, str]  # (row, column)


def primary(count: int, children: int | None = None) -> bool:
    """Whether a count is too small to publish on its own."""
    people = count if children is None else children
    return 0 < count < THRESHOLD or 0 < people < THRESHOLD


def protect(
    counts: Mapping[str, Mapping[str, int]],
    segments: Sequence[Sequence[str]],
    children: Mapping[str, Mapping[str, int]] | None = None,
) -> set[Key]:
    """The (row, column) cells to suppress in a table of group rows.

    `counts[row][column]` holds every column of every segment and the row's `TOTAL`;
    `children`, where given, the number of distinct children behind each cell.
    """
    rows = list(counts)
    columns = [c for segment in segments for c in segment]
    order = {c: i for i, c in enumerate([*columns, TOTAL])}

    def value(key: Key) -> int:
        return counts[key[0]][key[1]]

    column_sums = {c: sum(counts[r][c] for r in rows) for c in [*columns, TOTAL]}

    def known_zero(key: Key) -> bool:
        # A cell whose row or column adds up to a published zero is zero, hidden or not: it
        # protects nothing.
        return counts[key[0]][TOTAL] == 0 or column_sums[key[1]] == 0

    hidden: set[Key] = {
        (r, c)
        for r in rows
        for c in [*columns, TOTAL]
        if primary(counts[r][c], children[r][c] if children is not None else None)
    }
    lines: list[list[Key]] = [
        [*((r, c) for c in segment), (r, TOTAL)] for r in rows for segment in segments
    ]
    lines += [[(r, c) for r in rows] for c in [*columns, TOTAL]]

    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(key in hidden for key in line) != 1:
                continue
            useful = [key for key in line if key not in hidden and not known_zero(key)]
            if not useful:
                # Every other cell is a published zero: the hidden one equals the published
                # column total, which the overview gives anyway; hiding zeros would not help.
                continue
            complement = min(
                useful,
                key=lambda k: (k[1] == TOTAL, value(k), order[k[1]], rows.index(k[0])),
            )
            hidden.add(complement)
            changed = True
    return hidden
