"""Full-text search behind one function per question, on SQLite (FTS5) and PostgreSQL (tsvector).

The user's text is never passed to the engine's query language: it is split into folded words
here, and each word becomes a quoted term, all of which must match: a prefix term, except short
words before the last ("de", "la", "rdv"), which match whole: as prefixes they merge the lists
of hundreds of words and one query can take 100 ms on a million messages. Results come newest
first (by id), which both engines answer from the index without ranking every match.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.text import tokens

#: How many matching messages a conversation search looks at (newest first).
MESSAGE_MATCH_LIMIT = 2000
MAX_TERMS = 8
#: Words shorter than this match whole unless last (the last one may still be being typed).
PREFIX_MIN_LENGTH = 4


def _terms(query: str) -> list[tuple[str, bool]]:
    """(word, as a prefix) for each word of ``query``."""
    words = tokens(query)[:MAX_TERMS]
    last = len(words) - 1
    return [(w, i == last or len(w) >= PREFIX_MIN_LENGTH) for i, w in enumerate(words)]


def fts5_query(query: str) -> str:
    """An FTS5 MATCH expression: every word quoted, a prefix unless short and not last."""
    return " ".join(f'"{word}"*' if prefix else f'"{word}"' for word, prefix in _terms(query))


def tsquery(query: str) -> str:
    """A PostgreSQL to_tsquery expression: every word, all required, prefixes as in FTS5."""
    return " & ".join(f"{word}:*" if prefix else word for word, prefix in _terms(query))


async def search_message_ids(
    session: AsyncSession, tenant_id: int, query: str, limit: int = 50, before_id: int | None = None
) -> list[tuple[int, int]]:
    """(message id, conversation id) of messages matching ``query``, newest first."""
    if not _terms(query):
        return []
    bound = before_id if before_id is not None else 2**62
    if session.get_bind().dialect.name == "sqlite":
        sql = text(
            "SELECT m.id, m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid "
            "WHERE messages_fts MATCH :q AND f.rowid < :bound AND m.tenant_id = :tenant "
            "ORDER BY f.rowid DESC LIMIT :limit"
        )
        params = {"q": fts5_query(query), "bound": bound, "tenant": tenant_id, "limit": limit}
    else:
        sql = text(
            "SELECT id, conversation_id FROM messages "
            "WHERE search_vector @@ to_tsquery('simple', :q) AND id < :bound "
            "AND tenant_id = :tenant "
            "ORDER BY id DESC LIMIT :limit"
        )
        params = {"q": tsquery(query), "bound": bound, "tenant": tenant_id, "limit": limit}
    rows = await session.execute(sql, params)
    return [(int(a), int(b)) for a, b in rows.all()]


async def search_prospect_ids(
    session: AsyncSession, tenant_id: int, query: str, limit: int = 200
) -> list[int]:
    """Prospects whose name or email matches ``query``."""
    if not _terms(query):
        return []
    if session.get_bind().dialect.name == "sqlite":
        sql = text(
            "SELECT p.id FROM prospects_fts f JOIN prospects p ON p.id = f.rowid "
            "WHERE prospects_fts MATCH :q AND p.tenant_id = :tenant ORDER BY f.rowid DESC "
            "LIMIT :limit"
        )
        params = {"q": fts5_query(query), "tenant": tenant_id, "limit": limit}
    else:
        sql = text(
            "SELECT id FROM prospects WHERE search_vector @@ to_tsquery('simple', :q) "
            "AND tenant_id = :tenant ORDER BY id DESC LIMIT :limit"
        )
        params = {"q": tsquery(query), "tenant": tenant_id, "limit": limit}
    return [int(r) for r in (await session.execute(sql, params)).scalars().all()]


async def search_conversation_ids(session: AsyncSession, tenant_id: int, query: str) -> set[int]:
    """Conversations with a matching message, or of a prospect whose name matches."""
    return set(await search_conversations(session, tenant_id, query))


async def search_conversations(
    session: AsyncSession, tenant_id: int, query: str
) -> dict[int, int | None]:
    """Matching conversations -> the id of their newest matching message (None when only the
    prospect's name or e-mail matches): what a result's snippet shows."""
    found: dict[int, int | None] = {}
    for message_id, conv in await search_message_ids(
        session, tenant_id, query, MESSAGE_MATCH_LIMIT
    ):
        found.setdefault(conv, message_id)  # newest first: the first seen is the newest
    prospects = await search_prospect_ids(session, tenant_id, query)
    if prospects:
        rows = await session.execute(
            text("SELECT id FROM conversations WHERE prospect_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": prospects},
        )
        for conv in rows.scalars().all():
            found.setdefault(int(conv), None)
    return found


def among(session: AsyncSession, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """``column IN ids`` for the long lists of ids a search finds, bound as one value (a JSON
    array on SQLite, an integer array on PostgreSQL) rather than one parameter per id, which
    costs the program more to write out and bind than the database to read."""
    if session.get_bind().dialect.name == "sqlite":
        values: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(json.dumps(list(ids)))
        )
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY  # not imported by an app on SQLite

    return column == any_(bindparam("among_ids", list(ids), type_=ARRAY(Integer)))
