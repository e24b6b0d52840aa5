"""Threads read before they are opened: the inbox's highlighted conversation's, and the next
unread one's, read while the agent rests on a row, so that Enter (or ``n``) only draws."""

from __future__ import annotations

import time

from core.domain.models import Thread
from core.events import ConversationChanged, MessageChanged, PresenceChanged, ProspectChanged

#: A thread read ahead is shown when it is opened within this many seconds (and nothing
#: changed meanwhile); later, it is read again.
AHEAD_SECONDS = 5.0


class ThreadsAhead:
    """The threads read ahead, each with the count of changes seen when its read began: a
    read during which a change was seen (a core event) is not kept, and a change drops the
    kept threads it may concern."""

    def __init__(self) -> None:
        self.generation = 0
        self._kept: dict[int, tuple[int, int, float, Thread]] = {}

    def changed(self, event: object) -> None:
        """``event`` was seen: drop the threads it may concern (a change of one conversation
        or prospect: theirs; anything else but presence, not part of a thread: all). A read under
        way when it is seen is not kept."""
        if isinstance(event, PresenceChanged):
            return
        self.generation += 1
        if isinstance(event, ConversationChanged | MessageChanged):
            concerned = lambda thread: event.conversation_id in _conversations(thread)  # noqa: E731
        elif isinstance(event, ProspectChanged):
            concerned = lambda thread: thread.prospect.id == event.prospect_id  # noqa: E731
        else:
            self._kept.clear()
            return
        self._kept = {i: kept for i, kept in self._kept.items() if not concerned(kept[3])}

    def only(self, conversation_ids: list[int]) -> None:
        """Forget the threads of any other conversation."""
        self._kept = {i: kept for i, kept in self._kept.items() if i in conversation_ids}

    def has(self, conversation_id: int) -> bool:
        """Whether the thread of ``conversation_id`` is kept, and fresh."""
        kept = self._kept.get(conversation_id)
        return kept is not None and self._fresh(kept)

    def keep(self, conversation_id: int, limit: int, generation: int, thread: Thread) -> None:
        """Keep ``thread``, read from ``generation`` on, unless something changed since."""
        if generation == self.generation:
            self._kept[conversation_id] = (generation, limit, time.monotonic(), thread)

    def take(self, conversation_id: int, limit: int) -> Thread | None:
        """The thread of ``conversation_id`` if it was read ahead with ``limit`` messages,
        recently and with nothing changed since (once: it is then forgotten)."""
        kept = self._kept.pop(conversation_id, None)
        if kept is None or kept[1] != limit or not self._fresh(kept):
            return None
        return kept[3]

    @staticmethod
    def _fresh(kept: tuple[int, int, float, Thread]) -> bool:
        return time.monotonic() - kept[2] <= AHEAD_SECONDS


def _conversations(thread: Thread) -> set[int]:
    """The conversations ``thread`` shows (the prospect's other ones included)."""
    return {thread.conversation.id, *(c.id for c in thread.related)}
