"""The outbox's plain records (``core.outbox.loaded``): read with Core, the rules' changes
written back in one statement per table and set of changed columns, dropped on ``forget``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, update

from core.outbox.loaded import load, write_back
from core.storage import tables as t
from tests.factories import add_message
from tests.unit.outbox.conftest import Scene


async def _three_messages(scene: Scene) -> list[int]:
    ids = []
    for text in ("un", "deux", "trois"):
        _, message_id = await add_message(scene.service, scene.prospect_id, text)
        ids.append(message_id)
    return ids


async def test_changes_are_written_in_one_statement_per_shape(scene: Scene) -> None:
    ids = await _three_messages(scene)
    updates: list[tuple[str, bool]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE MESSAGES"):
            updates.append((statement, many))

    engine = scene.service.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with scene.service.db.session() as session:
            found = await load(session, t.MessageRow, ids, lock=True)
            for message in found.values():
                message.status = "sending"
                message.meta = {**(message.meta or {}), "attempts": [{"outcome": "sent"}]}
            found[ids[2]].error_code = "30003"
            await write_back(session, found.values())
            await write_back(session, found.values())  # nothing left to write
            await session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(updates) == 2  # two shapes: (meta, status) for two, (error, meta, status) for one
    async with scene.service.db.session() as session:
        rows = (await session.execute(select(t.MessageRow).where(t.MessageRow.id.in_(ids)))).all()
    for (row,) in rows:
        assert row.status == "sending"
        assert row.meta["attempts"] == [{"outcome": "sent"}]
        assert row.error_code == ("30003" if row.id == ids[2] else None)
        assert row.content in ("un", "deux", "trois")  # untouched columns kept


async def test_forget_drops_what_was_set_and_an_unknown_column_is_refused(scene: Scene) -> None:
    ids = await _three_messages(scene)
    async with scene.service.db.session() as session:
        found = await load(session, t.MessageRow, ids[:1])
        message = found[ids[0]]
        before = message.snapshot()
        message.status = "failed"
        message.forget(before)
        assert message.status != "failed"
        with pytest.raises(AttributeError):
            message.no_such_column = 1
        await write_back(session, found.values())
        await session.commit()
    async with scene.service.db.session() as session:
        status = await session.scalar(select(t.MessageRow.status).where(t.MessageRow.id == ids[0]))
    assert status != "failed"


async def test_may_hold_reads_a_json_columns_text_without_decoding_it(scene: Scene) -> None:
    ids = await _three_messages(scene)
    async with scene.service.db.session() as session:
        await session.execute(
            update(t.MessageRow).where(t.MessageRow.id == ids[0]).values(meta={"unsurfaced": True})
        )
        await session.commit()
    async with scene.service.db.session() as session:
        found = await load(session, t.MessageRow, ids[:2])
    assert found[ids[0]].may_hold("meta", "unsurfaced")
    assert found[ids[0]].meta["unsurfaced"] is True
    lacking = found[ids[1]]
    if scene.service.db.engine.dialect.name == "sqlite":  # JSON's text, told without decoding
        assert not lacking.may_hold("meta", "unsurfaced")
    # (asyncpg hands JSONB over decoded: a record there says "may" and is read)
    assert "unsurfaced" not in lacking.meta
