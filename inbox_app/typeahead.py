"""Keys typed faster than the app handles them keep their order and reach the screen they
were typed for.

Textual routes a key to the focused widget as soon as the key arrives, before the keys ahead
of it were handled. So when ``r`` opens the composer (or ``N`` the new-conversation search),
the letters typed right behind it had already been routed to the conversation screen, or to
the new screen before its input had focus, and were lost: "r" then "bonjour" typed quickly, or
arriving in one burst over SSH, wrote "onjour" or nothing. Here the app hands keys on one at a
time while several are queued: a key goes on once the one before it has been handled (a marker
posted behind it has come back up to the app) and the screen on top is ready (mounted, its
focus set).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from textual import events
from textual.message import Message

#: Seconds between two looks at a screen being built.
LOOK_SECONDS = 0.01
#: Seconds after a key opened a screen during which the next key gives it one more look (the
#: focus its mounting asked for lands after it); later keys find it settled.
SETTLE_SECONDS = 0.1
#: Seconds a key waits for a new screen at most (then it goes on as it is), and after which a
#: key whose marker never came back (its widget went away) counts as handled.
GIVE_UP_SECONDS = 1.0


class KeyHandled(Message):
    """Posted to the widget a key went to, behind the key: its arrival at the app says the
    key was handled there (and its bindings, up to the app's, have run)."""


class TypeAhead:
    """Mixed into the app (before ``App``): keys go on one at a time while keys are queued."""

    screen: Any
    focused: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: deque[events.Key] = deque()
        #: When the key in flight was handed on (None: none is).
        self._sent_at: float | None = None
        #: When the first held key started waiting for the screen.
        self._waiting_since: float | None = None
        #: The screen the key in flight went to, and a screen that key opened.
        self._sent_screen: object = None
        self._sent_target: Any = None
        self._opened: tuple[object, float] | None = None  # the screen, and when
        self._look: tuple[float, Any] | None = None  # when, and its timer

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)  # type: ignore[misc]
            return
        self._held.append(event)
        await self._release()

    async def on_key_handled(self, _: KeyHandled) -> None:
        self._landed()
        await self._release()

    async def _release(self) -> None:
        """Hand on the next held key if the one before it was handled and the screen takes
        keys; else look again a little later."""
        if not self._held:
            return
        now = time.monotonic()
        if self._sent_at is not None and not self._in_flight_done(now):
            self._look_again(GIVE_UP_SECONDS)  # its marker releases the next key before
            return
        if not self._screen_takes_keys():
            self._waiting_since = self._waiting_since or now
            if now - self._waiting_since < GIVE_UP_SECONDS:
                self._look_again(LOOK_SECONDS)
                return
        self._waiting_since = None
        key = self._held.popleft()
        self._sent_target = self.focused or self.screen
        self._sent_at, self._sent_screen = now, self._top()
        await super().on_event(key)  # type: ignore[misc]
        self._sent_target.post_message(KeyHandled())

    def _in_flight_done(self, now: float) -> bool:
        """Whether the key in flight is done with, its marker not back yet: it changed the
        screen (the next key is for the new one), its widget went away with its marker, or
        too long ago."""
        target = self._sent_target
        gone = target is None or not target.is_attached or self._top() is not self._sent_screen
        if gone or now - (self._sent_at or now) > GIVE_UP_SECONDS:
            self._landed()
            return True
        return False

    def _landed(self) -> None:
        """The key in flight is handled: a screen it opened (or went back to) gets a look."""
        if self._sent_at is not None and self._top() is not self._sent_screen:
            self._opened = (self._top(), time.monotonic())
        self._sent_at = None

    def _look_again(self, seconds: float) -> None:
        """``_release`` in ``seconds`` (one look pending at a time: the sooner one)."""
        due = time.monotonic() + seconds
        if self._look is not None:
            if self._look[0] <= due:
                return
            self._look[1].stop()
        self._look = (due, self.set_timer(seconds, self._looked))  # type: ignore[attr-defined]

    async def _looked(self) -> None:
        self._look = None
        await self._release()

    def _top(self) -> object:
        try:
            return self.screen
        except Exception:  # no screen yet, or no more
            return None

    def _screen_takes_keys(self) -> bool:
        """Whether the screen on top can take a key: mounted; a screen the previous key opened
        gets one more look once mounted (the focus its mounting asked for lands after it)."""
        screen = self._top()
        if screen is None:
            return True  # Textual's own handling applies
        if not screen.is_mounted:
            return False
        if self._opened is not None and self._opened[0] is screen:
            opened_at, self._opened = self._opened[1], None
            return time.monotonic() - opened_at >= SETTLE_SECONDS
        return True
