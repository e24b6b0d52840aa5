"""The benchmark generator writes data the app reads as real: consistent, seeded, searchable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.bench.generate import generate
from core.service import InboxService
from core.storage import tables as t

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


async def test_small_dataset_is_consistent_and_usable(db) -> None:
    dataset = await generate(db, "small", now=NOW)
    assert (dataset.conversations, dataset.messages) == (1_000, 10_000)
    async with db.session() as session:
        counted = dict(
            (
                await session.execute(
                    select(t.MessageRow.conversation_id, func.count()).group_by(
                        t.MessageRow.conversation_id
                    )
                )
            ).all()
        )
        rows = (await session.execute(select(t.ConversationRow))).scalars().all()
        channels = set(
            (await session.execute(select(t.MessageRow.channel_type).distinct())).scalars()
        )
        last = dict(
            (
                await session.execute(
                    select(
                        t.MessageRow.conversation_id, func.max(t.MessageRow.created_at)
                    ).group_by(t.MessageRow.conversation_id)
                )
            ).all()
        )
    assert channels == {"voice", "sms", "email", "whatsapp", "telegram"}
    assert all(row.message_count == counted[row.id] for row in rows)
    assert all(row.last_message_at == last[row.id] for row in rows)
    service = await InboxService.connect(db, "bench")
    page = await service.conversations.page(limit=10)
    assert len(page.items) == 10 and page.next_cursor
    assert page.items[0].last_message_at >= page.items[-1].last_message_at


async def test_same_seed_same_data_and_no_second_fill(tmp_path) -> None:
    from core.storage.database import Database, sqlite_url

    contents = []
    for name in ("a.db", "b.db"):
        db = await Database.open(sqlite_url(tmp_path / name))
        await generate(db, "small", seed=3, now=NOW)
        async with db.session() as session:
            query = select(t.MessageRow.content, t.MessageRow.created_at).order_by(t.MessageRow.id)
            contents.append((await session.execute(query.limit(200))).all())
        if name == "b.db":
            with pytest.raises(ValueError, match="already has"):
                await generate(db, "small", seed=3, now=NOW)
        await db.close()
    assert contents[0] == contents[1] and len(contents[0]) == 200
