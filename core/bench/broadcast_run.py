"""One broadcast queued in a clean process, for ``core.bench.broadcast``:

    python -m core.bench.broadcast_run DATABASE TENANT COUNT

(DATABASE: an SQLite file, or a database URL such as PostgreSQL's) prints one JSON line:
prospects, seconds, this process's CPU seconds and the SQL statements over the same span
(the garbage collector settled as the app settles it), progress, and its peak resident memory
(its own VmHWM, so nothing measured before in the bench process is counted).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, select

from core.bench.startup import vm_hwm_kb
from core.collector import settle_collector
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType, Provider
from core.storage import tables as t
from core.storage.database import Database, sqlite_url

if TYPE_CHECKING:
    from core.service import InboxService

TEXT = "Bonjour, nouvelles annonces dans votre quartier cette semaine."


def first_prospects(path: Path, count: int) -> list[int]:
    """The ids of the first ``count`` prospects of the dataset at ``path``."""
    with closing(sqlite3.connect(path)) as con:
        query = "SELECT id FROM prospects ORDER BY id LIMIT ?"
        return [row[0] for row in con.execute(query, (count,))]


async def _first_prospects(db: Database, count: int) -> list[int]:
    """``first_prospects`` of any database."""
    async with db.session() as session:
        query = select(t.ProspectRow.id).order_by(t.ProspectRow.id).limit(count)
        return list((await session.execute(query)).scalars())


async def broadcasting_service(db: Database, tenant: str) -> InboxService:
    """``tenant``'s service with SMS (Twilio) and e-mail (SendGrid) set up to send."""
    from core.service import InboxService

    service = await InboxService.connect(db, tenant)
    await service.tenant_settings.save_channel(
        Channel.SMS, provider=Provider.TWILIO, config={"from_number": "+33700000000"}
    )
    await service.tenant_settings.save_channel(
        Channel.EMAIL, provider=Provider.SENDGRID, config={"from_email": "agence@example.fr"}
    )
    return service


async def run(database: str, tenant: str, count: int) -> dict[str, object]:
    """Queue one marketing broadcast to the first ``count`` prospects of ``database`` (an
    SQLite file or a URL)."""
    url = database if "://" in database else sqlite_url(Path(database))
    db = await Database.open(url)
    try:
        ids = await _first_prospects(db, count)
        service = await broadcasting_service(db, tenant)
        draft = ReplyDraft(text=TEXT, message_type=MessageType.MARKETING)
        settle_collector()  # as in the app, where a broadcast runs (``inbox_app.memory``)
        statements = _count_statements(db)
        start, cpu = time.perf_counter(), time.process_time()
        broadcast_id = await service.outbound.broadcast(ids, draft)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        counted = len(statements)
        progress = await service.outbound.broadcast_progress(broadcast_id)
    finally:
        await db.close()
    return {
        "prospects": len(ids),
        "broadcast_id": broadcast_id,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "statements": counted,
        "progress": asdict(progress),
        "peak_rss_mb": vm_hwm_kb("self") / 1024,
    }


def _count_statements(db: Database) -> list[None]:
    """A list that grows by one with each statement sent to the database (an executemany
    counts once)."""
    seen: list[None] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *_: seen.append(None))
    return seen


if __name__ == "__main__":
    found = asyncio.run(run(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    print(json.dumps(found), flush=True)
