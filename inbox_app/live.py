"""Core events delivered to the screens as Textual messages.

The app listens to the core's event bus once and posts a ``CoreEvent`` to every screen in its
stack; a screen that shows live data mixes in ``LiveScreen`` and says what to refresh in
``core_event``. A refresh that fails is told to the agent and never takes the app down.
"""

from __future__ import annotations

from textual.message import Message

from core.events import Event
from inbox_app.errors import notify_error


class CoreEvent(Message, bubble=False):
    """Something changed in the core (``event``)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class LiveScreen:
    """Mixed into a screen that refreshes on core events: override ``core_event``."""

    async def core_event(self, event: Event) -> None:
        """Refresh what ``event`` changed (nothing by default)."""

    async def on_core_event(self, message: CoreEvent) -> None:
        try:
            await self.core_event(message.event)
        except Exception as exc:  # a refresh must never take the app down
            notify_error(self.app, exc)  # type: ignore[attr-defined]  # mixed into a Screen
