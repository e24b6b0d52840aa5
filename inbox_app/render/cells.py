"""One-line table cells rendered straight to segments.

A DataTable renders each cell through Rich's general machinery (padding, wrapping, cropping and
line splitting), which costs more than the rest of a page switch together. A cell of the inbox
list is one line of styled text, so it is cut to its width and padded here instead, giving the
same segments as the general path (the inbox snapshots hold it to that).
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

_NULL = Style()


def fits_one_line(cell: object) -> bool:
    """Whether ``cell`` can take the one-line path: text without a line break or a tab."""
    return isinstance(cell, Text) and "\n" not in cell.plain and "\t" not in cell.plain


def one_line_cell(
    console: Console,
    cell: Text,
    width: int,
    padding: int,
    pre_style: Style,
    post_style: Style,
) -> list[list[Segment]]:
    """``cell`` as the single line of ``width`` cells (``padding`` of them each side) that a
    DataTable draws, with ``pre_style`` under and ``post_style`` over its own styles."""
    inner = max(0, width - 2 * padding)
    if len(cell) <= inner and cell.cell_len <= inner:
        line = cell  # nothing to cut: drawn as it is (``render`` leaves out its end)
    else:
        line = cell.copy()
        line.end = ""
        line.rstrip_end(inner)
        line.truncate(inner, overflow=cell.overflow or "fold")
    segments = [Segment(" " * padding, _NULL)] if padding else []
    # a Text without spans renders unstyled: its own style goes under its segments here
    own = console.get_style(line.style, default=_NULL) if line.style else None
    segments.extend(Segment.apply_style(line.render(console), own))
    fill = inner - line.cell_len + padding
    if fill > 0:
        segments.append(Segment(" " * fill, _NULL))
    return [list(Segment.apply_style(segments, pre_style, post_style))]
