"""LISTEN/NOTIFY between app cores sharing one PostgreSQL schema."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap

import pytest
from sqlalchemy import text

from core.events import ConnectionState, ConversationChanged, MessageChanged, Resync
from tests.factories import add_message, add_prospect
from tests.integration.team.helpers import next_event, open_core

pytestmark = pytest.mark.postgres


@pytest.fixture
async def cores(pg_schema):
    """Two agents' cores (Claire's and Marc's) and a conversation they share."""
    first = await open_core(pg_schema)
    await first.agents.add("Claire")
    await first.agents.add("Marc")
    await first.close()
    claire = await open_core(pg_schema, "Claire")
    marc = await open_core(pg_schema, "Marc")
    prospect = await add_prospect(claire, phone="+33612345678")
    conversation, _ = await add_message(claire, prospect, "Bonjour, le T3 est-il libre ?")
    try:
        yield claire, marc, conversation
    finally:
        await claire.close()
        await marc.close()


async def test_a_note_written_by_one_agent_reaches_the_other(cores) -> None:
    claire, marc, conversation = cores
    async with marc.bus.subscribe() as events:
        note = await claire.messages.add_note(conversation, "J'appelle le propriétaire.")
        got = await next_event(events, lambda e: isinstance(e, MessageChanged))
        assert got == MessageChanged(note.id, conversation)
        got = await next_event(events, lambda e: isinstance(e, ConversationChanged))
        assert got == ConversationChanged(conversation)


async def test_own_events_are_not_received_twice(cores) -> None:
    claire, marc, conversation = cores
    async with claire.bus.subscribe() as mine, marc.bus.subscribe() as theirs:
        note = await claire.messages.add_note(conversation, "Premier")
        await next_event(theirs, lambda e: e == MessageChanged(note.id, conversation))
        reply = await marc.messages.add_note(conversation, "Reçu")
        # Notifications arrive in order: once Marc's is in, an echo of Claire's would be too.
        seen = []
        await next_event(
            mine, lambda e: seen.append(e) or e == MessageChanged(reply.id, conversation)
        )
    assert seen.count(MessageChanged(note.id, conversation)) == 1


async def test_two_agents_replying_at_once_both_succeed_and_see_each_other(cores) -> None:
    claire, marc, conversation = cores
    async with claire.bus.subscribe() as at_claire, marc.bus.subscribe() as at_marc:
        mine, theirs = await asyncio.gather(
            claire.messages.add_note(conversation, "Je prends"),
            marc.messages.add_note(conversation, "Je prends aussi"),
        )
        await next_event(at_claire, lambda e: e == MessageChanged(theirs.id, conversation))
        await next_event(at_marc, lambda e: e == MessageChanged(mine.id, conversation))
    for service in (claire, marc):
        thread = await service.conversations.thread(conversation)
        contents = [m.content for m in thread.messages]
        assert "Je prends" in contents and "Je prends aussi" in contents


async def test_listener_killed_goes_offline_then_back_with_a_resync(cores, pg_schema) -> None:
    claire, marc, conversation = cores
    bridge = claire.team.bridge
    pid = bridge._connection.get_server_pid()
    async with claire.bus.subscribe() as events:
        async with marc.db.engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await next_event(events, lambda e: e == ConnectionState(False))
        await next_event(events, lambda e: e == ConnectionState(True))
        await next_event(events, lambda e: isinstance(e, Resync))
        assert bridge.online is True
        assert bridge._connection.get_server_pid() != pid
        note = await marc.messages.add_note(conversation, "Toujours là ?")
        await next_event(events, lambda e: e == MessageChanged(note.id, conversation))


async def test_state_callback_reports_reconnecting(pg_schema) -> None:
    states: list[bool] = []
    first = await open_core(pg_schema)
    bridge = first.team.bridge
    bridge._on_state = states.append
    try:
        pid = bridge._connection.get_server_pid()
        async with first.db.engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with asyncio.timeout(10):  # a TimeoutError if the loss is never reported
            while states[-2:] != [False, True]:
                await asyncio.sleep(0.02)
        assert False in states  # told "offline" (the app shows "reconnecting"), then back
        assert states[-1] is True and bridge.online is True
    finally:
        await first.close()


async def test_a_write_from_another_process_reaches_the_app(cores, pg_schema) -> None:
    claire, _marc, conversation = cores
    script = textwrap.dedent(
        f"""
        import asyncio
        from core.service import InboxService
        from core.storage.database import Database

        async def main():
            db = await Database.open({pg_schema.base_url!r}, **{pg_schema.engine_options!r})
            service = await InboxService.connect(db, "acme")
            await service.team.start()
            note = await service.messages.add_note({conversation}, "Écrit par un autre process")
            await service.close()
            print(note.id)

        asyncio.run(main())
        """
    )
    async with claire.bus.subscribe() as events:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        assert process.returncode == 0
        note_id = int(out.decode().split()[-1])
        await next_event(events, lambda e: e == MessageChanged(note_id, conversation))


async def test_pooled_connections_killed_by_a_restart_are_replaced(cores) -> None:
    claire, marc, conversation = cores
    pooled = []
    async with contextlib.AsyncExitStack() as stack:  # hold every pooled connection at once
        for _ in range(max(1, claire.db.engine.pool.checkedin())):
            conn = await stack.enter_async_context(claire.db.engine.connect())
            pooled.append((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    async with marc.db.engine.connect() as conn:
        for pid in pooled:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await conn.commit()
        await asyncio.sleep(0.2)  # as after a real restart, the sockets are closed by now
    # Every pooled connection is dead; each use checks first and takes a fresh one.
    note = await claire.messages.add_note(conversation, "Après le redémarrage")
    assert (await marc.messages.get(note.id)).content == "Après le redémarrage"


async def test_a_link_that_cannot_start_keeps_trying(pg_schema, monkeypatch) -> None:
    from core.team import pg_listen as notify

    real = notify.listener_params
    reachable = [False]

    def params(db):
        found = real(db)
        return found if reachable[0] else {**found, "port": 1}

    monkeypatch.setattr(notify, "listener_params", params)
    service = await open_core(pg_schema)
    try:
        assert service.team.online is False  # started anyway; the app works without live updates
        async with service.bus.subscribe() as events:
            reachable[0] = True
            await next_event(events, lambda e: e == ConnectionState(True))
            await next_event(events, lambda e: isinstance(e, Resync))
    finally:
        await service.close()


async def test_the_notification_is_part_of_the_writing_transaction(cores) -> None:
    claire, marc, conversation = cores
    seen: list[str] = []
    # The bridge's best-effort sender is not used: the commit itself carries the NOTIFY.
    claire.team.bridge._notify = lambda payloads: seen.extend(payloads)  # type: ignore[assignment]
    async with marc.bus.subscribe() as events:
        note = await claire.messages.add_note(conversation, "Dans la transaction")
        await next_event(events, lambda e: e == MessageChanged(note.id, conversation))
    assert seen == []


async def test_a_rolled_back_change_is_never_announced(cores) -> None:
    claire, marc, conversation = cores

    class Abort(Exception):
        pass

    async with marc.bus.subscribe() as events:
        with pytest.raises(Abort):
            async with claire.ctx.write() as (session, changed):
                await session.execute(text("SELECT 1"))
                changed.append(ConversationChanged(conversation))
                raise Abort
        note = await claire.messages.add_note(conversation, "Après l'annulation")
        received = []
        await next_event(
            events, lambda e: received.append(e) or e == MessageChanged(note.id, conversation)
        )
    # Notifications arrive in commit order: the rolled-back one would have come first.
    assert received[0] == MessageChanged(note.id, conversation)


async def test_a_transaction_with_savepoints_announces_its_events_once_at_commit(cores) -> None:
    # The ingest applies each webhook in a savepoint of one batch transaction: releasing a
    # savepoint must neither announce early nor make the commit's events go out a second time.
    claire, marc, conversation = cores
    best_effort: list[str] = []
    claire.team.bridge._notify = lambda payloads: best_effort.extend(payloads)  # type: ignore[assignment]
    async with marc.bus.subscribe() as events:
        async with claire.ctx.write() as (session, changed):
            async with session.begin_nested():
                await session.execute(text("SELECT 1"))
                changed.append(MessageChanged(1, conversation))
            changed.append(ConversationChanged(conversation))  # after the savepoint
        await next_event(events, lambda e: e == MessageChanged(1, conversation))
        await next_event(events, lambda e: e == ConversationChanged(conversation))
    await claire.team.bridge.flush()
    assert best_effort == []
