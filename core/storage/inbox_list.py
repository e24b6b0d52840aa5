"""The inbox list's statements that need no SQLAlchemy: the page the app opens on and the
counts per channel, with the page's keyset cursor and its rows as the list shows them.

They are the one home of these two statements: the service runs them through its session
(``core.service.conversations``), and the app's start reads its first screen with them through
``sqlite3`` before SQLAlchemy, its ORM mapping and the service are imported
(``read_first_screen``): the first page is painted without them.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.domain import models as m
from core.domain.enums import Channel, Priority
from core.domain.tenant_settings import TenantSettings, known_zone
from core.storage.demo_marks import DEMO_MARKER, DEMO_STARTED
from core.storage.revision import HEAD_REVISION

#: The list the app opens on (``InboxFilter()``: open and pending, newest first), with what the
#: list shows beside each conversation: one row per conversation and label, its assignee's name
#: and whether it has a draft. ``:limit`` is one more than the page, to know if another follows.
FIRST_PAGE_SQL = """
SELECT page.*, conversation_labels.label AS label, agents.name AS assignee_name,
  EXISTS (SELECT drafts.conversation_id FROM drafts
          WHERE drafts.conversation_id = page.id) AS has_draft
FROM (SELECT id, prospect_id, prospect_name, channel_type, status, priority, assignee_id,
        subject, last_message_at, last_message_preview, last_message_direction, unread_count,
        waiting_since, snoozed_until, message_count
      FROM conversations
      WHERE tenant_id = :tenant_id AND status IN ('open', 'pending')
        AND last_message_at IS NOT NULL
      ORDER BY last_message_at DESC, id DESC
      LIMIT :limit) AS page
LEFT OUTER JOIN conversation_labels ON conversation_labels.conversation_id = page.id
LEFT OUTER JOIN agents ON agents.id = page.assignee_id
ORDER BY page.last_message_at DESC, page.id DESC
"""

#: Per channel: conversations, and unread ones, among the open and pending. Every channel is
#: named so that the counts index (tenant, channel, status, unread) is sought per channel and
#: state: by the tenant alone, SQLite walked every conversation, the closed ones too.
COUNTS_SQL = (
    "SELECT channel_type, count(*) AS total, count(*) FILTER (WHERE unread_count > 0) AS unread"
    " FROM conversations WHERE tenant_id = :tenant_id"
    " AND channel_type IN ({channels}) AND status IN ('open', 'pending')"
    " GROUP BY channel_type"
).format(channels=", ".join(f"'{channel.value}'" for channel in Channel))

#: The conversation row's timestamps a page shows.
_MOMENTS = ("last_message_at", "waiting_since", "snoozed_until")


def utc(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite keeps naive UTC text)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def summary_fields(row: Any, labels: tuple[str, ...], assignee: str | None) -> dict[str, Any]:
    """What an inbox row shows of a conversation row (``row``: attributes named as columns)."""
    return {
        "id": row.id,
        "prospect_id": row.prospect_id,
        "prospect_name": row.prospect_name,
        "channel": row.channel_type,
        "status": row.status,
        "priority": Priority.from_rank(row.priority),
        "assignee_id": row.assignee_id,
        "assignee_name": assignee,
        "labels": labels,
        "subject": row.subject,
        "last_message_at": utc(row.last_message_at),
        "last_message_preview": row.last_message_preview,
        "last_message_direction": row.last_message_direction,
        "unread_count": row.unread_count,
        "waiting_since": utc(row.waiting_since),
        "snoozed_until": utc(row.snoozed_until),
        "message_count": row.message_count,
    }


def encode_cursor(moment: datetime, row_id: int, priority: int | None = None) -> str:
    """The keyset cursor after a row: its sort moment and id (and priority, for that sort)."""
    key: list[Any] = [moment.isoformat(), row_id]
    if priority is not None:
        key.insert(0, priority)
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def grouped_labels(rows: Iterable[Any]) -> list[tuple[Any, tuple[str, ...]]]:
    """Each conversation's first row and its labels (sorted), in the rows' order (a page's
    statement joins one row per label; a conversation's rows come together: the order ends
    with its unique id)."""
    grouped: list[tuple[Any, list[str]]] = []
    for row in rows:
        if not grouped or grouped[-1][0].id != row.id:
            grouped.append((row, []))
        if row.label is not None:
            grouped[-1][1].append(row.label)
    return [(row, tuple(sorted(labels))) for row, labels in grouped]


def first_page(rows: Iterable[Any], limit: int) -> m.Page[m.ConversationSummary]:
    """``FIRST_PAGE_SQL``'s rows (read with ``limit + 1``) as the page the list shows."""
    grouped = grouped_labels(rows)
    items = tuple(
        m.ConversationSummary(
            **summary_fields(row, labels, row.assignee_name),
            has_draft=bool(row.has_draft),
        )
        for row, labels in grouped[:limit]
    )
    next_cursor = None
    if len(grouped) > limit:
        last = items[-1]
        assert last.last_message_at is not None, "the first page leaves them out"
        next_cursor = encode_cursor(last.last_message_at, last.id)
    return m.Page[m.ConversationSummary](items=items, next_cursor=next_cursor)


def counts(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[int, int]]:
    """``COUNTS_SQL``'s rows as the sidebar shows them: (unread, total) per channel and "all"."""
    result = {str(channel): (int(unread or 0), int(total)) for channel, total, unread in rows}
    result["all"] = (sum(u for u, _ in result.values()), sum(n for _, n in result.values()))
    return result


def stored_zone(stored: Mapping[str, Any]) -> str | None:
    """The time zone in a tenant's stored settings when it is a known zone's name, else None
    (then the settings model decides: ``TenantSettingsStore.get``)."""
    zone = stored.get("timezone", TenantSettings.model_fields["timezone"].default)
    return zone if isinstance(zone, str) and known_zone(zone) else None


@dataclass(frozen=True)
class FirstScreen:
    """What the inbox shows first, read before the service is open."""

    page: m.Page[m.ConversationSummary]
    #: The page's size asked for (the page holds fewer items when no other page follows).
    page_size: int
    counts: dict[str, tuple[int, int]]
    timezone: str


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite database URL (``sqlite+aiosqlite:///path``); None for any other."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return Path(path) if path and path != ":memory:" else None


def read_first_screen(
    url: str, tenant: str, page_size: int, *, demo: bool = False
) -> FirstScreen | None:
    """The first screen of ``tenant`` in the SQLite file at ``url``, read only; None when it
    cannot be read that way (another database, a file missing, not at this version's schema,
    no such tenant yet, a zone the settings model has to decide, a ``demo`` whose seeding was
    cut short and is done again when the service opens): the service reads it then."""
    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        if demo and _seeding_unfinished(connection):
            return None
        return _read(connection, tenant, page_size)
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _seeding_unfinished(connection: sqlite3.Connection) -> bool:
    marks = connection.execute(
        "SELECT DISTINCT action FROM audit_log WHERE action IN (?, ?)", (DEMO_STARTED, DEMO_MARKER)
    )
    found = {action for (action,) in marks}
    return DEMO_STARTED in found and DEMO_MARKER not in found


def _read(connection: sqlite3.Connection, tenant: str, page_size: int) -> FirstScreen | None:
    revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    if revision is None or revision[0] != HEAD_REVISION:
        return None
    found = connection.execute("SELECT id, settings FROM tenants WHERE slug = ?", (tenant,))
    tenant_row = found.fetchone()
    if tenant_row is None:
        return None
    tenant_id, settings = tenant_row
    stored = json.loads(settings) if settings else {}
    zone = stored_zone(stored) if isinstance(stored, dict) else None
    if zone is None:
        return None
    params = {"tenant_id": tenant_id, "limit": page_size + 1}
    cursor = connection.execute(FIRST_PAGE_SQL, params)
    names = [column[0] for column in cursor.description]
    rows = [_Row(zip(names, values, strict=True)) for values in cursor]
    page = first_page(rows, page_size)
    counted = counts(connection.execute(COUNTS_SQL, {"tenant_id": tenant_id}))
    return FirstScreen(page=page, page_size=page_size, counts=counted, timezone=zone)


class _Row(dict[str, Any]):
    """A row read through ``sqlite3``, its columns as attributes (as SQLAlchemy's rows)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


__all__ = ["COUNTS_SQL", "FIRST_PAGE_SQL", "FirstScreen", "read_first_screen"]
