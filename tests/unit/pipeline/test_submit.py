"""``core.pipeline.submit``: a batch in one call, times from the due time, each channel's own
rendering, channels left out with their reason, the automation policy seam."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.config.settings import OrchestratorSettings
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageStatus, OutboxStatus, Urgency
from core.domain.models import ProspectDraft
from core.errors import InvalidInput
from core.outbox.worker import OutboxWorker
from core.pipeline import Kind, Origin, OutgoingRequest, Rendering, Verdict, submit
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.factories import add_prospect
from tests.unit.outbox.conftest import PHONE, Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime, server_error

TEMPLATE = {"name": "rappel", "language": "fr", "parameters": ["Marie"], "content_sid": "HX1"}


def request(scene: Scene, **fields: object) -> OutgoingRequest:
    fields.setdefault("draft", ReplyDraft(text="Bonjour"))
    return OutgoingRequest(
        tenant_id=scene.service.ctx.tenant_id,
        prospect_id=scene.prospect_id,
        kind=fields.pop("kind", Kind.REMINDER),
        origin=fields.pop("origin", Origin.AUTOMATION),
        **fields,
    )


async def run(scene: Scene, requests: list[OutgoingRequest], **options: object):
    ctx = scene.service.ctx
    async with ctx.write() as (session, events):
        return await submit(session, requests, now=ctx.now(), events=events, **options)


async def with_whatsapp(scene: Scene) -> None:
    prospects = scene.service.prospects
    marie = await prospects.get(scene.prospect_id)
    await prospects.update(
        scene.prospect_id,
        ProspectDraft(display_name=marie.display_name, phone=PHONE, whatsapp=PHONE),
    )


async def test_a_batch_of_200_requests_goes_through_one_submit(scene: Scene) -> None:
    service = scene.service
    ids = [await add_prospect(service, f"P {i}", phone=f"+336120{i:05d}") for i in range(200)]
    tenant = service.ctx.tenant_id
    batch = [
        OutgoingRequest(
            tenant_id=tenant,
            prospect_id=pid,
            kind=Kind.BROADCAST,
            draft=ReplyDraft(text="Portes ouvertes samedi"),
            key=f"bc:test:{pid}",
            broadcast_id="test",
        )
        for pid in ids
    ]
    outcomes = await run(scene, batch)
    assert [o.status for o in outcomes] == ["queued"] * 200
    async with service.db.session() as session:
        count = select(func.count()).where(t.OutboxRow.broadcast_id == "test")
        assert await session.scalar(count) == 200
    again = await run(scene, batch)  # resumed: nothing is queued twice
    assert {o.status for o in again} == {"duplicate"}


async def test_a_batch_reads_set_based_and_writes_in_one_flush(scene: Scene) -> None:
    """Queueing a batch costs the same number of reads for 5 prospects as for 60, and every
    message of it is written in the flush at its end (their ids and events after it)."""
    from sqlalchemy import event

    service = scene.service
    ids = [await add_prospect(service, f"Q {i}", phone=f"+336130{i:05d}") for i in range(65)]
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany) -> None:
        statements.append(statement.split()[0].upper())

    def batch(pids: list[int], tag: str) -> list[OutgoingRequest]:
        return [
            OutgoingRequest(
                tenant_id=service.ctx.tenant_id,
                prospect_id=pid,
                kind=Kind.BROADCAST,
                draft=ReplyDraft(text="Portes ouvertes samedi"),
                key=f"bc:{tag}:{pid}",
                broadcast_id=tag,
            )
            for pid in pids
        ]

    engine = service.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        outcomes = await run(scene, batch(ids[:5], "small"))
        small = statements.count("SELECT")
        statements.clear()
        outcomes += await run(scene, batch(ids[5:], "large"))
        large = statements.count("SELECT")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert small == large
    assert all(o.message is not None and o.message.id for o in outcomes)
    assert len({o.message.id for o in outcomes if o.message}) == 65


async def test_a_batch_inserts_each_table_in_one_statement_each_row_with_its_own_ids(
    scene: Scene,
) -> None:
    """A batch's new conversations, messages and outbox rows are inserted in one statement per
    table (on SQLite too: ``batch_sqlite_inserts``), and every id lands on its own row: each
    outbox row points at its prospect's message, in its prospect's conversation."""
    from sqlalchemy import event

    service = scene.service
    ids = [await add_prospect(service, f"R {i}", phone=f"+336140{i:05d}") for i in range(40)]
    inserts: list[str] = []

    def seen(conn, cursor, statement, params, context, executemany) -> None:
        if statement.startswith("INSERT INTO"):
            inserts.append(statement.split()[2])

    batch = [
        OutgoingRequest(
            tenant_id=service.ctx.tenant_id,
            prospect_id=pid,
            kind=Kind.BROADCAST,
            draft=ReplyDraft(text=f"Bonjour R {pid}"),
            key=f"bc:ids:{pid}",
            broadcast_id="ids",
        )
        for pid in ids
    ]
    engine = service.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        outcomes = await run(scene, batch)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [o.status for o in outcomes] == ["queued"] * 40
    assert sorted(inserts) == ["conversations", "messages", "outbox"]
    async with service.db.session() as session:
        rows = await session.execute(
            select(t.OutboxRow.prospect_id, t.MessageRow.content, t.ConversationRow.prospect_id)
            .join(t.MessageRow, t.MessageRow.id == t.OutboxRow.message_id)
            .join(t.ConversationRow, t.ConversationRow.id == t.MessageRow.conversation_id)
            .where(t.OutboxRow.broadcast_id == "ids")
        )
        found = sorted(rows.all())
    assert found == [(pid, f"Bonjour R {pid}", pid) for pid in sorted(ids)]
    for outcome in outcomes:
        assert outcome.message is not None and outcome.row is not None
        assert outcome.row.message_id == outcome.message.id
        assert outcome.message.content == f"Bonjour R {outcome.request.prospect_id}"


async def test_times_are_counted_from_the_due_time_not_the_enqueue_time(
    scene: Scene, clock: FakeClock
) -> None:
    """Queued two days ahead for 23:00 (Paris) by email: the SMS fallback waits for the end of
    that night's quiet hours, 08:00 the day after the due time, not two days early."""
    due = datetime(2026, 3, 12, 22, 0, tzinfo=UTC)
    assert due - clock.now > timedelta(days=2)
    [outcome] = await run(
        scene,
        [
            request(
                scene,
                due_at=due,
                allowed=frozenset({Channel.EMAIL, Channel.SMS}),
                channel=Channel.EMAIL,
            )
        ],
    )
    row = outcome.row
    assert outcome.status == MessageStatus.SCHEDULED
    assert row.not_before.astimezone(UTC) == due
    [sms] = row.fallback_chain
    assert sms["channel"] == "sms"
    assert datetime.fromisoformat(sms["not_before"]) == datetime(2026, 3, 13, 7, 0, tzinfo=UTC)


async def test_whatsapp_outside_the_window_carries_the_approved_template(scene: Scene) -> None:
    await with_whatsapp(scene)
    template = Rendering(text="Bonjour Marie (modèle)", template=TEMPLATE)
    [outcome] = await run(
        scene,
        [
            request(
                scene,
                channel=Channel.SMS,
                whatsapp_template=template,
                allowed=frozenset({Channel.SMS, Channel.WHATSAPP}),
                priority=Urgency.URGENT,
            )
        ],
    )
    payload = outcome.row.payload
    assert payload["variants"]["whatsapp"]["template"] == TEMPLATE
    assert payload["variants"]["whatsapp"]["text"] == "Bonjour Marie (modèle)"
    assert payload["template"] is None and payload["text"] == "Bonjour"  # the SMS sends text
    assert "whatsapp" in [step["channel"] for step in outcome.row.fallback_chain]


async def test_whatsapp_without_template_or_with_a_missing_parameter_is_left_out(
    scene: Scene,
) -> None:
    await with_whatsapp(scene)
    allowed = frozenset({Channel.SMS, Channel.WHATSAPP})
    hole = Rendering(text="Bonjour", template={**TEMPLATE, "parameters": [""]})
    outcomes = await run(
        scene,
        [
            request(scene, allowed=allowed, channel=Channel.SMS),
            request(scene, allowed=allowed, channel=Channel.SMS, whatsapp_template=hole),
        ],
    )
    keys = [next(iter(o.row.payload["left_out"].values()))["key"] for o in outcomes]
    assert keys == ["pipeline.left_out.no_template", "pipeline.left_out.missing_parameter"]
    for outcome in outcomes:
        assert "whatsapp" not in outcome.row.payload["variants"]
        assert outcome.row.fallback_chain == []
        assert outcome.decision.warnings[-1].key.startswith("pipeline.left_out.")
    with pytest.raises(InvalidInput, match="approved template"):
        await run(scene, [request(scene, channel=Channel.WHATSAPP, on_refused="raise")])


async def test_a_rendering_that_fails_leaves_its_channel_out(scene: Scene) -> None:
    async def renderer(session, channel: Channel) -> Rendering:
        if channel == Channel.EMAIL:
            raise KeyError("calendar_link")
        return Rendering(text=f"pour {channel}")

    [outcome] = await run(scene, [request(scene, draft=None, renderer=renderer)])
    assert outcome.decision.channel == Channel.SMS and outcome.row.payload["text"] == "pour sms"
    assert "email" not in outcome.row.payload["variants"]
    assert outcome.row.payload["left_out"]["email"]["key"] == "pipeline.left_out.render_failed"


async def test_the_automation_policy_is_asked_for_automated_requests_only(
    scene: Scene, monkeypatch
) -> None:
    asked = []

    async def quiet(session, req, now) -> Verdict:
        asked.append(req.kind)
        if req.kind == Kind.SARA_ANSWER:
            return Verdict(False, "orchestrator.blocked.no_channel")
        return Verdict(False, "orchestrator.blocked.no_channel", hold=True)

    monkeypatch.setattr(sys.modules["core.pipeline.submit"], "policy_check", lambda: quiet)
    said, held, agent = await run(
        scene,
        [
            request(scene, kind=Kind.SARA_ANSWER),
            request(scene, kind=Kind.REMINDER),
            request(scene, kind=Kind.REPLY, origin=Origin.AGENT),
        ],
    )
    assert asked == [Kind.SARA_ANSWER, Kind.REMINDER]
    assert said.status == "quiet" and said.row is None and said.reason
    # core.automation marks it: paused in the outbox (never sent until released), held in the thread
    assert held.row.status == OutboxStatus.PAUSED and held.message.status == MessageStatus.HELD
    assert held.message.meta["automation"]["reason"] == "orchestrator.blocked.no_channel"
    assert agent.status == MessageStatus.QUEUED


async def test_default_priority_applies_to_requests_that_state_none(
    scene: Scene, clock: FakeClock
) -> None:
    """ORCHESTRATOR_DEFAULT_PRIORITY=urgent: at 23:00 an SMS that states no priority passes
    the quiet hours (urgent may pass); one that says normal is held."""
    clock.now = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    settings = OrchestratorSettings(default_priority="urgent")
    sms = frozenset({Channel.SMS})
    unstated, normal = await run(
        scene,
        [
            request(scene, allowed=sms),
            request(scene, allowed=sms, draft=ReplyDraft(text="x", urgency=Urgency.NORMAL)),
        ],
        settings=settings,
    )
    assert unstated.decision.held_until is None and unstated.status == MessageStatus.QUEUED
    assert normal.decision.held_until is not None and normal.status == MessageStatus.HELD
    [default] = await run(scene, [request(scene, allowed=sms)])
    assert default.status == MessageStatus.HELD  # the seed's default: normal


async def test_a_fallback_reapplies_its_channels_allowed_sending_hours(
    scene: Scene, clock: FakeClock
) -> None:
    """E-mail may only go out 09:00–12:00 (Paris). Decided at 11:50, the SMS fails through its
    retries until 12:11: the e-mail fallback waits for 09:00 the next day."""
    store = scene.service.tenant_settings
    mine = (await store.get()).model_dump(mode="json")
    mine["limits"] = {"email": {"allowed_start": "09:00", "allowed_end": "12:00"}}
    await store.save(mine)
    clock.now = datetime(2026, 3, 10, 10, 50, tzinfo=UTC)  # 11:50 in Paris
    [outcome] = await run(
        scene,
        [request(scene, channel=Channel.SMS, allowed=frozenset({Channel.SMS, Channel.EMAIL}))],
    )
    assert [s["channel"] for s in outcome.row.fallback_chain] == ["email"]
    sms = FakeAdapter(Channel.SMS, [server_error()] * 4)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms, FakeAdapter(Channel.EMAIL)))
    for wait in (0, 60, 300, 900):
        clock.advance(seconds=wait)
        await worker.run_once()
    async with scene.service.db.session() as session:
        row = await session.get(t.OutboxRow, outcome.row.id)
    assert row.channel_type == Channel.EMAIL and row.status == OutboxStatus.HELD
    assert row.not_before.astimezone(UTC) == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)


async def test_a_batch_loads_what_its_requests_share_once(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chunk facts (today's sends on limited channels, the template's approval) are read
    # once per batch, with a daily limit too: the batch counts the messages it queues on top
    # (core.pipeline.shared; that the limit holds inside a batch: test_bulk.py).
    from core.domain.tenant_settings import ChannelLimits

    shared_module = sys.modules["core.pipeline.shared"]
    service = scene.service
    ids = [await add_prospect(service, f"S {i}", phone=f"+336140{i:05d}") for i in range(4)]
    calls: list[int] = []
    read = shared_module.chunk_facts

    async def counted(*args: object, **kwargs: object):
        calls.append(1)
        return await read(*args, **kwargs)

    monkeypatch.setattr(shared_module, "chunk_facts", counted)

    def batch(tag: str) -> list[OutgoingRequest]:
        return [
            OutgoingRequest(
                tenant_id=service.ctx.tenant_id,
                prospect_id=pid,
                kind=Kind.BROADCAST,
                draft=ReplyDraft(text="Portes ouvertes samedi"),
                key=f"{tag}:{pid}",
            )
            for pid in ids
        ]

    assert {o.status for o in await run(scene, batch("cf"))} == {"queued"}
    assert len(calls) == 1
    settings = await service.tenant_settings.get()
    settings.limits = {Channel.SMS: ChannelLimits(daily_limit=100)}
    await service.tenant_settings.save(settings)
    calls.clear()
    assert {o.status for o in await run(scene, batch("cf2"))} == {"queued"}
    assert len(calls) == 1
