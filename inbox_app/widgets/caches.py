"""Textual's LRU caches, emptied without leaving their entries to the garbage collector.

``textual.cache.LRUCache`` keeps its entries in a ring of ``[prev, next, key, value]`` lists.
Its ``clear()`` drops the ring as a whole: a cycle, which reference counting never frees, so
every entry and what it holds (a ``Strip`` is a dozen tracked objects: its segments, seven
small caches) waits for a collection. A table empties its caches on every change (a row added
or patched, the cursor shown, a resize): in a long keys run that left up to 230,000 objects
of rings for the full collection to find, and made each young and middle collection walk the
rings still young. ``UnlinkedLRUCache`` unlinks its ring when it is emptied, so the entries
are freed at once, as the rest of a repaint's garbage is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip


class UnlinkedLRUCache(LRUCache[Any, Any]):
    """An ``LRUCache`` whose ``clear()`` breaks its ring (its entries freed at once)."""

    __slots__ = ()

    def clear(self) -> None:
        """Empty the cache; its entries are freed by reference counting."""
        for entry in self._cache.values():
            entry.clear()
        self._head.clear()
        super().clear()


def unlinked(*caches: LRUCache[Any, Any]) -> None:
    """Make Textual's own caches of a widget (made by its ``__init__``) unlink on ``clear()``.

    The class is swapped in place (same slots, no state copied), so every reference the
    widget's code holds keeps working.
    """
    for cache in caches:
        if type(cache) is LRUCache:
            cache.__class__ = UnlinkedLRUCache


def untie_strips() -> None:
    """Stop Textual's ``Strip`` from caching itself in itself (once per process).

    ``Strip.divide`` caches its result in the strip, and when the cut is the strip's own
    length that result is ``[self]``: the compositor divides every line of every widget it
    paints, so each painted line became a cycle (the strip, its seven small caches, its
    segments) that reference counting never frees. In a keys run that was most of what the
    collector found, and a line kept a while (a table's or the sidebar's drawn lines) reached
    the old generation before it was dropped, to wait there for a full collection.
    ``crop_extend`` to the strip's own span does the same. Both now return the strip without
    caching it: the same result, nothing kept.
    """
    if getattr(Strip.divide, "_untied", False):
        return
    divide = Strip.divide
    crop_extend = Strip.crop_extend

    def untied_divide(self: Strip, cuts: Iterable[int]) -> list[Strip]:
        cell_length = self.cell_length
        cuts = [cut for cut in cuts if cut <= cell_length]
        if cuts == [cell_length]:
            return [self]
        return divide(self, cuts)

    def untied_crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
        if start <= 0 and end == self.cell_length:
            return self
        return crop_extend(self, start, end, style)

    untied_divide._untied = True  # type: ignore[attr-defined]
    Strip.divide = untied_divide  # type: ignore[method-assign]
    Strip.crop_extend = untied_crop_extend  # type: ignore[method-assign]
