"""What the inbox list shows: its filter, sorts and saved views.

Plain values with no storage behind them: the app's first screen builds its filter before the
database layer is imported (``core.storage.first_page`` reads that screen's first page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.domain.enums import Channel, ConversationStatus


class Sort(StrEnum):
    """Orders of the inbox list."""

    NEWEST = "newest"
    PRIORITY = "priority"
    WAITING = "waiting"  # longest waiting first; only conversations awaiting an answer


class View(StrEnum):
    """The sidebar's saved views."""

    ALL = "all"  # open and pending
    MINE = "mine"
    UNASSIGNED = "unassigned"
    SNOOZED = "snoozed"
    CLOSED = "closed"


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox list shows; every part is optional and they combine."""

    view: View = View.ALL
    channel: Channel | None = None
    statuses: frozenset[ConversationStatus] = frozenset()
    label: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    sort: Sort = Sort.NEWEST
    agent_id: int | None = field(default=None, compare=False)

    def is_first_screen(self) -> bool:
        """Whether this is the list the app opens on: every open and pending conversation,
        newest first, nothing narrowed."""
        return self == InboxFilter()
