"""``submit(..., rows=False)``: a batch written without ORM objects writes the same rows as with
them, in one INSERT per table, its events after the write; daily limits hold within it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType
from core.domain.tenant_settings import ChannelLimits
from core.events import ConversationChanged, MessageChanged, OutboxQueued
from core.pipeline import Kind, OutgoingRequest, submit
from core.storage import bulk_sqlite
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.factories import add_message, add_prospect
from tests.unit.outbox.conftest import Scene

C, M, O = t.ConversationRow.__table__, t.MessageRow.__table__, t.OutboxRow.__table__  # noqa: E741
#: Columns left out of the comparison: ids (compared through what they point at) and the
#: conversation's own clock readings (``utcnow``, not the service's clock).
_IDS = frozenset({"id", "conversation_id", "message_id"})
_CLOCK = frozenset({"created_at", "updated_at"})


def broadcast(scene: Scene, ids: list[int], tag: str, **fields: Any) -> list[OutgoingRequest]:
    """One broadcast chunk's requests, as ``Outbound.broadcast`` makes them."""
    draft = ReplyDraft(text="Portes ouvertes samedi", message_type=MessageType.MARKETING)
    return [
        OutgoingRequest(
            tenant_id=scene.service.ctx.tenant_id,
            prospect_id=pid,
            kind=Kind.BROADCAST,
            draft=draft,
            key=f"bc:{tag}:{pid}",
            purpose="broadcast",
            broadcast_id=tag,
            on_refused="record",
            **fields,
        )
        for pid in ids
    ]


async def prospects(scene: Scene) -> list[int]:
    """Marie and Paul (who wrote by SMS), and prospects reachable in every other way."""
    service = scene.service
    paul = await add_prospect(service, "Paul Martin", phone="+33611000001")
    await add_message(service, paul, "Toujours dispo ?")  # his SMS conversation gets the message
    return [
        scene.prospect_id,
        paul,
        await add_prospect(service, "Léa Petit", email="lea@example.com"),
        await add_prospect(service, "Jean Roux", phone="+33611000002", email="jean@example.com"),
        await add_prospect(service, "Ana Silva", phone="+33611000003", whatsapp="+33611000003"),
        await add_prospect(
            service, "Zoé Blanc", phone="+33611000004", opted_out_channels=[Channel.SMS]
        ),
        await add_prospect(service, "Nul Part", phone="+33611000005", timezone="Asia/Tokyo"),
    ]


async def written(scene: Scene, requests: list[OutgoingRequest], rows: bool) -> dict[str, Any]:
    """What submitting ``requests`` writes (rolled back afterwards), comparable across runs."""
    service = scene.service
    async with service.db.sessions() as session:
        await session.begin()
        before = {
            table.name: await session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
            for table in (C, M, O)
        }
        events: list[Any] = []
        outcomes = await submit(session, requests, now=service.ctx.now(), events=events, rows=rows)
        found = await _snapshot(session, before)
        await session.rollback()
    found["outcomes"] = [(o.status, o.queued) for o in outcomes]
    return found


async def _snapshot(session: Any, before: dict[str, int]) -> dict[str, Any]:
    threads = {r.id: (r.prospect_id, r.channel_type) for r in await session.execute(select(C))}
    conversations = sorted(
        (threads[r.id], _values(r, _CLOCK)) for r in await session.execute(select(C))
    )
    messages = {
        r.id: (threads[r.conversation_id], r.content)
        for r in await session.execute(select(M).where(M.c.id > before["messages"]))
    }
    message_rows = sorted(
        (threads[r.conversation_id], _values(r))
        for r in await session.execute(select(M).where(M.c.id > before["messages"]))
    )
    outbox = sorted(
        (
            r.idempotency_key,
            messages.get(r.message_id),
            threads.get(r.conversation_id),
            _values(r),
        )
        for r in await session.execute(select(O).where(O.c.id > before["outbox"]))
    )
    return {"conversations": conversations, "messages": message_rows, "outbox": outbox}


def _values(row: Any, leave_out: frozenset[str] = frozenset()) -> str:
    values = {k: v for k, v in row._mapping.items() if k not in _IDS | leave_out}
    return repr(sorted(values.items()))


async def test_a_batch_without_orm_rows_writes_the_same_rows(
    scene: Scene, clock: FakeClock
) -> None:
    ids = await prospects(scene)
    now = broadcast(scene, ids, "same")
    later = broadcast(scene, ids, "later", due_at=clock.now + timedelta(hours=13))
    for requests in (now, later):
        with_rows = await written(scene, requests, rows=True)
        without = await written(scene, requests, rows=False)
        assert without == with_rows
        assert len(with_rows["outbox"]) == len(ids)  # a refused prospect's row is recorded too
        assert {status for status, _ in with_rows["outcomes"]} >= {"refused"}


async def test_a_batch_without_orm_rows_inserts_once_per_table_then_announces(
    scene: Scene,
) -> None:
    service = scene.service
    ids = await prospects(scene)
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()[:3]))

    events: list[Any] = []
    engine = service.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with service.ctx.write() as (session, _):
            outcomes = await submit(
                session,
                broadcast(scene, ids, "once"),
                now=service.ctx.now(),
                events=events,
                rows=False,
            )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    writes = [s for s in statements if not s.startswith("SELECT")]
    assert sorted(w for w in writes if w.startswith("INSERT")) == [
        "INSERT INTO conversations",
        "INSERT INTO messages",
        "INSERT INTO outbox",
        "INSERT INTO outbox",  # the refused prospect's record sets other columns
    ]
    assert [w for w in writes if w.startswith("UPDATE")] == ["UPDATE conversations SET"]
    queued = [o for o in outcomes if o.queued]
    assert queued and all(o.message is None and o.row is None for o in queued)
    expected: list[Any] = []
    for o in queued:
        assert o.message_id and o.row_id and o.conversation_id
        expected += [MessageChanged(o.message_id, o.conversation_id)]
        expected += [ConversationChanged(o.conversation_id)]
    assert events == [*expected, OutboxQueued()]
    async with service.db.session() as session:
        pairs = await session.execute(select(O.c.id, O.c.message_id, O.c.conversation_id))
        stored = {row_id: (mid, cid) for row_id, mid, cid in pairs}
        threads = await session.execute(select(M.c.id, M.c.conversation_id))
        message_thread = dict(threads.all())
    for o in queued:
        assert stored[o.row_id] == (o.message_id, o.conversation_id)
        assert message_thread[o.message_id] == o.conversation_id


async def test_a_daily_limit_holds_within_a_broadcast_chunk(scene: Scene) -> None:
    """The chunk's messages are written at its end, yet its later prospects see the earlier
    ones counted against the day's limit."""
    service = scene.service
    settings = await service.tenant_settings.get()
    settings.limits = {Channel.SMS: ChannelLimits(daily_limit=3)}
    await service.tenant_settings.save(settings)
    ids = [await add_prospect(service, f"S {i}", phone=f"+3361200{i:04d}") for i in range(6)]
    broadcast_id = await service.outbound.broadcast(ids, ReplyDraft(text="Bonjour"))
    async with service.db.session() as session:
        rows = await session.execute(
            select(O.c.channel_type, func.count())
            .where(O.c.broadcast_id == broadcast_id)
            .group_by(O.c.channel_type)
        )
        by_channel = dict(rows.all())
    assert by_channel == {"sms": 3, "none": 3}


async def test_a_batch_writes_each_prospect_the_payload_a_lone_request_gets(
    scene: Scene,
) -> None:
    """A batch works a payload's content out once per prepared draft and channel (its rows
    share it): each row still carries its own channel's content, addresses and left-out
    channels, as when each request is submitted alone."""
    ids = await prospects(scene)
    ids.append(  # Jean's channels, but by SMS
        await add_prospect(
            scene.service,
            "Ève Noir",
            phone="+33611000006",
            email="eve@example.com",
            opted_out_channels=[Channel.EMAIL],
        )
    )
    batch = await written(scene, broadcast(scene, ids, "payload"), rows=False)
    alone: list[Any] = []
    for pid in ids:
        alone += (await written(scene, broadcast(scene, [pid], "payload"), rows=False))["outbox"]
    assert batch["outbox"] == sorted(alone)
    kinds = ("sms", "email", "none")
    chosen = {c for r in batch["outbox"] for c in kinds if f"('channel_type', '{c}')" in r[-1]}
    assert chosen == {"sms", "email", "none"}  # rows of several channels, and a refusal


async def test_a_batch_split_over_several_sqlite_statements_writes_the_same_rows(
    scene: Scene, monkeypatch: Any
) -> None:
    # SQLite caps a statement's parameters: a chunk's rows then go in several statements,
    # whose ids must still be matched to the right rows (a message's outbox row, its thread).
    monkeypatch.setattr(bulk_sqlite, "_MAX_PARAMETERS", 40)  # two rows or fewer each
    ids = await prospects(scene)
    requests = broadcast(scene, ids, "pages")
    assert await written(scene, requests, rows=False) == await written(scene, requests, rows=True)
