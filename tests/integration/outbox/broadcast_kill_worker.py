"""A process queueing a broadcast until killed, for the broadcast kill test:

    python broadcast_kill_worker.py <database url> <tenant> <broadcast id> <chunk> [<pg schema>]

It queues the tenant's prospects (in id order) in chunks of ``chunk``, its next chunk read and
decided while the last one is written, as ``outbound.broadcast`` does.
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import select

from core.domain.decision import ReplyDraft
from core.domain.enums import MessageType
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database

DRAFT = ReplyDraft(text="Portes ouvertes samedi", message_type=MessageType.NOTIFICATION)


async def prospect_ids(db: Database) -> list[int]:
    """Every prospect's id, in order."""
    async with db.session() as session:
        query = select(t.ProspectRow.id).order_by(t.ProspectRow.id)
        return list((await session.execute(query)).scalars())


async def main(url: str, tenant: str, broadcast_id: str, chunk: int, schema: str | None) -> None:
    options = {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {}
    db = await Database.open(url, **options)
    try:
        service = await InboxService.connect(db, tenant)
        ids = await prospect_ids(db)
        await service.outbound.broadcast(ids, DRAFT, broadcast_id=broadcast_id, chunk_size=chunk)
    finally:
        await db.close()


if __name__ == "__main__":
    schema = sys.argv[5] if len(sys.argv) > 5 else None
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), schema))
