"""The garbage collector as a long-running process of the app sets it once started.

A full collection walks every live object; most of those a process has once started (modules,
classes, SQLAlchemy's and pydantic's structures) live as long as it. So they are frozen out of
the collector's reach (``gc.freeze``) and the thresholds are raised, so that the collections
that remain are short and rare (``coccinelle bench`` measures them: ``keys.gc_pause``). The app
settles its collector so after its first page (``inbox_app.memory``); a measurement of what
runs in the app does the same.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between young collections, young collections per middle one, middle per full.
#: A middle collection walks the young generation and the survivors of the young collections
#: since the last one: about 2,000 + 2 × 2,000 objects at most, a few milliseconds even at
#: 1.4 µs an object (seen at load 15 on 2 cores). With 10 young per middle it walked up to
#: 22,000 objects (the app's kept lines, their strips and caches): 17–22 ms of CPU, more than
#: a frame; with 3, up to 11,000 and 16 ms at that load. Full ones, which walk everything made
#: since start-up, stay rare: the app runs them when no key is pressed
#: (``inbox_app.memory.IdleCollector``).
THRESHOLDS = (2_000, 2, 1_000)


def settle_collector() -> None:
    """Freeze what start-up built, raise the thresholds and let the collector run again.

    No collection first: it would walk every object start-up made (a stall right after the
    first paint) to free the little garbage start-up leaves.
    """
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()


def collect_young() -> None:
    """Collect the young and middle generations now (inside ``paused``, whose blocks get no
    automatic collection): the cycles a long paused run leaves are freed as it goes."""
    gc.collect(1)


#: Blocks inside ``paused`` now, and whether the collector was on when the first began.
_paused = {"depth": 0, "was_enabled": False}


@contextmanager
def paused() -> Iterator[None]:
    """The collector off while the block runs, as it was after the last of overlapping blocks.

    For a batch whose objects all live until its end (a broadcast chunk): a collection during
    it would only walk them (a tenth of a broadcast's main thread), and what the batch leaves
    is freed by reference counting as it ends; the next young collection takes any cycle.
    """
    state = _paused
    if state["depth"] == 0:
        state["was_enabled"] = gc.isenabled()
        gc.disable()
    state["depth"] += 1
    try:
        yield
    finally:
        state["depth"] -= 1
        if state["depth"] == 0 and state["was_enabled"]:
            gc.enable()
