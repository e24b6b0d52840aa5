"""The garbage collector around start-up: held while the app loads, then kept out of the way.

A full collection walks every live object; right after start-up most of them (modules, classes,
the stylesheet, the first screen) live as long as the app. Collecting while importing only slows
the start, and collecting them again and again during key presses only stalls frames. So the
collector is held until the first page is on screen, those objects are then frozen out of its
reach (``gc.freeze``), and the thresholds are raised so that the collections that remain are
short (``coccinelle bench`` measures them: ``keys.gc_pause``); ``settle_collector`` is the
core's (``core.collector``), which a measurement of what runs in the app applies too.
"""

from __future__ import annotations

import gc

from core.collector import THRESHOLDS, settle_collector

__all__ = ["THRESHOLDS", "hold_collector", "release_collector", "settle_collector"]


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
