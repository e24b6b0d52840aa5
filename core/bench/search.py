"""Full-text search: 20 French and English queries through the facade, the storage function and
the bare FTS5 query run with the ``sqlite3`` module (the reference)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from functools import partial
from typing import Any

from core.bench.context import BenchContext, timed, timed_sync
from core.bench.results import Result, Summary, Target
from core.service import InboxFilter
from core.storage.search import fts5_query, search_message_ids

#: Words, phrases, prefixes, accents, names, a subject, a call summary, and a query with no match.
QUERIES = (
    "rendez-vous",
    "rdv demain",
    "appartement",
    "Haussmann",
    "dossier location",
    "estimation gratuite",
    "charges mensuelles",
    "parking prix",
    "Élodie",
    "helene dupont",
    "disponible",
    "viewing",
    "rental application",
    "monthly service charges",
    "Vincennes",
    "copropriété",
    "rend",
    "jeudi",
    "compromis de vente",
    "introuvable xylophone",
)
REFERENCE_SQL = (
    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 50"
)


async def measure(ctx: BenchContext) -> list[Result]:
    """Time every query ``ctx.runs`` times (after one warm-up round) three ways."""
    facade, storage, bare = [], [], []
    async with ctx.service() as service:
        tenant_id = service.ctx.tenant_id
        for round_ in range(ctx.runs + 1):
            for query in QUERIES:
                ms, _ = await timed(partial(service.conversations.page, InboxFilter(search=query)))
                if round_:
                    facade.append(ms)
                async with service.db.session() as session:
                    ms, _ = await timed(partial(search_message_ids, session, tenant_id, query))
                if round_:
                    storage.append(ms)
    with closing(sqlite3.connect(ctx.dataset.path)) as con:
        for round_ in range(ctx.runs + 1):
            for query in QUERIES:
                ms, _ = timed_sync(partial(_reference, con, query))
                if round_:
                    bare.append(ms)
    reference = Summary.of(bare)
    return [
        Result(
            "search.inbox",
            "ms",
            Summary.of(facade),
            "p95",
            "search.reference",
            reference,
            Target("p95", 30),
            {"queries": len(QUERIES)},
        ),
        Result(
            "search.messages",
            "ms",
            Summary.of(storage),
            "p95",
            "search.reference",
            reference,
            details={"queries": len(QUERIES)},
        ),
    ]


def _reference(con: sqlite3.Connection, query: str) -> list[Any]:
    return con.execute(REFERENCE_SQL, (fts5_query(query),)).fetchall()
