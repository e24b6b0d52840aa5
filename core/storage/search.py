"""Full-text search behind one function per question, on SQLite (FTS5) and PostgreSQL (tsvector).

The user's text is never passed to the engine's query language: it is split into folded words
here, and each word becomes a quoted term, all of which must match: a prefix term, except short
words before the last ("de", "la", "rdv"), which match whole: as prefixes they merge the lists
of hundreds of words and one query can take 100 ms on a million messages. Results come newest
first (by id), which both engines answer from the index without ranking every match.
"""

from __future__ import annotations

from sqlalchemy import Integer, Subquery, column, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.text import tokens

#: How many matching messages a conversation search looks at (newest first).
MESSAGE_MATCH_LIMIT = 2000
#: How many prospects whose name or e-mail matches a conversation search looks at (newest first).
PROSPECT_MATCH_LIMIT = 200
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


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _messages_sql(sqlite: bool) -> str:
    """(conversation ``cid``, message ``mid``) of the messages matching ``:messages_q``,
    newest first, below ``:messages_bound``."""
    if sqlite:
        return (
            "SELECT m.conversation_id AS cid, m.id AS mid FROM messages_fts f "
            "JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH :messages_q "
            "AND f.rowid < :messages_bound AND m.tenant_id = :messages_tenant "
            "ORDER BY f.rowid DESC LIMIT :messages_limit"
        )
    return (
        "SELECT conversation_id AS cid, id AS mid FROM messages "
        "WHERE search_vector @@ to_tsquery('simple', :messages_q) AND id < :messages_bound "
        "AND tenant_id = :messages_tenant ORDER BY id DESC LIMIT :messages_limit"
    )


def _prospects_sql(sqlite: bool) -> str:
    """Ids of the prospects whose name or e-mail matches ``:prospects_q``, newest first."""
    if sqlite:
        return (
            "SELECT p.id FROM prospects_fts f JOIN prospects p ON p.id = f.rowid "
            "WHERE prospects_fts MATCH :prospects_q AND p.tenant_id = :prospects_tenant "
            "ORDER BY f.rowid DESC LIMIT :prospects_limit"
        )
    return (
        "SELECT id FROM prospects WHERE search_vector @@ to_tsquery('simple', :prospects_q) "
        "AND tenant_id = :prospects_tenant ORDER BY id DESC LIMIT :prospects_limit"
    )


def _engine_query(sqlite: bool, query: str) -> str:
    return fts5_query(query) if sqlite else tsquery(query)


async def search_message_ids(
    session: AsyncSession, tenant_id: int, query: str, limit: int = 50, before_id: int | None = None
) -> list[tuple[int, int]]:
    """(message id, conversation id) of messages matching ``query``, newest first."""
    if not _terms(query):
        return []
    sqlite = _sqlite(session)
    params = {
        "messages_q": _engine_query(sqlite, query),
        "messages_bound": before_id if before_id is not None else 2**62,
        "messages_tenant": tenant_id,
        "messages_limit": limit,
    }
    rows = await session.execute(text(_messages_sql(sqlite)), params)
    return [(int(message), int(conversation)) for conversation, message in rows.all()]


async def search_prospect_ids(
    session: AsyncSession, tenant_id: int, query: str, limit: int = PROSPECT_MATCH_LIMIT
) -> list[int]:
    """Prospects whose name or email matches ``query``."""
    if not _terms(query):
        return []
    sqlite = _sqlite(session)
    params = {
        "prospects_q": _engine_query(sqlite, query),
        "prospects_tenant": tenant_id,
        "prospects_limit": limit,
    }
    return [int(r) for r in (await session.execute(text(_prospects_sql(sqlite)), params)).scalars()]


def matched_params(session: AsyncSession, query: str) -> dict[str, object] | None:
    """What ``matched_conversations`` binds for ``query`` (its words and the limits), by name
    (None: no word to look for): a statement made with it for one search serves another given
    these values."""
    if not _terms(query):
        return None
    engine_query = _engine_query(_sqlite(session), query)
    return {
        "messages_q": engine_query,
        "messages_limit": MESSAGE_MATCH_LIMIT,
        "prospects_q": engine_query,
        "prospects_limit": PROSPECT_MATCH_LIMIT,
    }


def matched_conversations(session: AsyncSession, tenant_id: int, query: str) -> Subquery | None:
    """What a conversation search finds, to join the conversations to (None: no word to look
    for): ``cid``, each conversation with one of the newest ``MESSAGE_MATCH_LIMIT`` matching
    messages or of one of the newest ``PROSPECT_MATCH_LIMIT`` prospects whose name or e-mail
    matches, and ``mid``, its newest matching message (NULL when only the prospect's name or
    e-mail matches): what a result's snippet shows.

    Read in the same statement as the page of conversations it is joined to: the matches
    never come to the program (each key of a search as you type used to read two thousand of
    them, then send their conversations back as a list).
    """
    if not _terms(query):
        return None
    sqlite = _sqlite(session)
    engine_query = _engine_query(sqlite, query)
    sql = (
        "SELECT cid, max(mid) AS mid FROM ("
        f"SELECT cid, mid FROM ({_messages_sql(sqlite)}) AS hits "
        "UNION ALL SELECT id, NULL FROM conversations "
        f"WHERE prospect_id IN ({_prospects_sql(sqlite)})"
        ") AS found GROUP BY cid"
    )
    return (
        text(sql)
        .bindparams(
            messages_q=engine_query,
            messages_bound=2**62,
            messages_tenant=tenant_id,
            messages_limit=MESSAGE_MATCH_LIMIT,
            prospects_q=engine_query,
            prospects_tenant=tenant_id,
            prospects_limit=PROSPECT_MATCH_LIMIT,
        )
        .columns(column("cid", Integer), column("mid", Integer))
        .subquery("matched")
    )
