"""Threads read before they are opened: the inbox's highlighted conversation's, and the next
unread one's, read while the agent rests on a row, so that Enter (or ``n``) only draws."""

from __future__ import annotations

import time

from core.domain.models import Thread
from core.events import ConversationChanged, MessageChanged, PresenceChanged, ProspectChanged

#: A thread read ahead is shown when it is opened within this many seconds (and nothing
#: changed meanwhile); later, it is read again.
AHEAD_SECONDS = 5.0
#: Events remembered to tell whether one seen during a read concerns it.
SEEN = 64


class ThreadsAhead:
    """The threads read ahead. A change seen (a core event) drops the kept threads it may
    concern, and a read during which such a change was seen is not kept."""

    def __init__(self) -> None:
        self.generation = 0
        self._kept: dict[int, tuple[int, int, float, Thread]] = {}
        #: The latest events seen, each with the generation it started.
        self._seen: list[tuple[int, object]] = []

    def changed(self, event: object) -> None:
        """``event`` was seen: drop the threads it may concern (a change of one conversation
        or prospect: theirs; anything else but presence, not part of a thread: all). A read
        under way when it is seen is not kept if the event may concern it."""
        self.generation += 1
        self._seen.append((self.generation, event))
        del self._seen[:-SEEN]
        self._kept = {i: kept for i, kept in self._kept.items() if not _concerns(event, kept[3])}

    def only(self, conversation_ids: list[int]) -> None:
        """Forget the threads of any other conversation."""
        self._kept = {i: kept for i, kept in self._kept.items() if i in conversation_ids}

    def has(self, conversation_id: int) -> bool:
        """Whether the thread of ``conversation_id`` is kept, and fresh."""
        kept = self._kept.get(conversation_id)
        return kept is not None and self._fresh(kept)

    def keep(self, conversation_id: int, limit: int, generation: int, thread: Thread) -> None:
        """Keep ``thread``, read from ``generation`` on, unless a change seen since may concern
        it (or too many were seen to tell)."""
        since = [event for seen, event in self._seen if seen > generation]
        if self.generation - generation > len(since):
            return
        if not any(_concerns(event, thread) for event in since):
            self._kept[conversation_id] = (generation, limit, time.monotonic(), thread)

    def peek(self, conversation_id: int, limit: int) -> Thread | None:
        """The thread ``take`` would give now, kept (None: none)."""
        kept = self._kept.get(conversation_id)
        if kept is None or kept[1] != limit or not self._fresh(kept):
            return None
        return kept[3]

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


def _concerns(event: object, thread: Thread) -> bool:
    """Whether ``event`` may change what ``thread`` shows."""
    if isinstance(event, PresenceChanged):
        return False  # presence is not part of a thread: the screen reads it when shown
    if isinstance(event, ConversationChanged | MessageChanged):
        return event.conversation_id in _conversations(thread)
    if isinstance(event, ProspectChanged):
        return thread.prospect.id == event.prospect_id
    return True


def _conversations(thread: Thread) -> set[int]:
    """The conversations ``thread`` shows (the prospect's other ones included)."""
    return {thread.conversation.id, *(c.id for c in thread.related)}
