"""The garbage collector around start-up: held while the app loads, then kept out of the way.

A full collection walks every live object; right after start-up most of them (modules, classes,
the stylesheet, the first screen) live as long as the app. Collecting while importing only slows
the start, and collecting them again and again during key presses only stalls frames. So the
collector is held until the first page is on screen, those objects are then frozen out of its
reach (``gc.freeze``), and the thresholds are raised so that the collections that remain are
short (``coccinelle bench`` measures them: ``keys.gc_pause``).
"""

from __future__ import annotations

import gc

#: Allocations between young collections, young collections per middle one, middle per full.
#: Young and middle collections stay small (a few milliseconds at most); full ones, which walk
#: everything made since start-up, become rare.
THRESHOLDS = (2_000, 10, 1_000)


def hold_collector() -> bool:
    """No automatic collection until ``settle_collector`` or ``release_collector`` (start-up
    only); True when it was running (what ``release_collector`` restores)."""
    was_running = gc.isenabled()
    gc.disable()
    return was_running


def release_collector(was_running: bool = True) -> None:
    """Let the collector run again if it ran before ``hold_collector`` (a sub-command, or the
    app has ended)."""
    if was_running:
        gc.enable()


def settle_collector() -> None:
    """Freeze what start-up built, raise the thresholds and let the collector run again.

    No collection first: it would walk every object start-up made (a stall right after the
    first paint) to free the little garbage start-up leaves.
    """
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()
