"""The garbage collector around start-up: held while the app loads, then kept out of the way.

A full collection walks every live object; right after start-up most of them (modules, classes,
the stylesheet, the first screen) live as long as the app. Collecting while importing only slows
the start, and collecting them again and again during key presses only stalls frames. So the
collector is held until the first page is on screen, those objects are then frozen out of its
reach (``gc.freeze``), and the thresholds are raised so that the collections that remain are
short (``coccinelle bench`` measures them: ``keys.gc_pause``); ``settle_collector`` is the
core's (``core.collector``), which a measurement of what runs in the app applies too.

What reaches the old generation is collected when the agent has stopped typing
(``IdleCollector``): a full collection walks every object made since start-up that is still
there (tens of milliseconds), which no key should wait for. The automatic full collection stays
as a bound on memory for a session that never pauses.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from core.collector import THRESHOLDS, settle_collector

__all__ = [
    "IDLE_MIDDLE_COLLECTIONS",
    "IDLE_SECONDS",
    "THRESHOLDS",
    "IdleCollector",
    "freeze_long_lived",
    "hold_collector",
    "release_collector",
    "settle_collector",
]

#: Seconds without a key or a click before the old generation is collected: longer than the
#: gaps of someone typing or moving through the list (a full collection takes tens of
#: milliseconds, 100–250 under load, which a key arriving then would wait for).
IDLE_SECONDS = 5.0
#: Middle collections since the last full one (each moves its survivors to the old
#: generation) before an idle full collection is worth its pause.
IDLE_MIDDLE_COLLECTIONS = 10


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


def freeze_long_lived() -> None:
    """Freeze what a late start-up step made (the conversation screen's modules, imported a
    moment after the first page): out of every later collection's reach, as start-up's own
    objects are. Only for what lives as long as the app (a cycle frozen is never freed)."""
    gc.freeze()


class IdleCollector:
    """A full collection once the agent has stopped typing, if the old generation has grown.

    ``touched()`` on every key or click; ``collect_if_idle()`` from a timer. Young and middle
    collections run as usual (``THRESHOLDS``); only the full one, which walks everything made
    since start-up, is moved to a moment when no key waits for it.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_input = clock()
        #: Full collections run so far (for the bench and tests).
        self.collections = 0

    def touched(self) -> None:
        """A key or a click came in: not idle."""
        self._last_input = self._clock()

    def collect_if_idle(self) -> bool:
        """Collect every generation if no input came for ``IDLE_SECONDS`` and enough middle
        collections have promoted objects since the last full one; True when it collected."""
        if self._clock() - self._last_input < IDLE_SECONDS:
            return False
        if gc.get_count()[2] < IDLE_MIDDLE_COLLECTIONS:
            return False
        gc.collect()
        self.collections += 1
        return True
