"""A worker told to send on some channels only (a relay holding some providers' secrets) leaves
the other rows, interrupted ones included, to the workers that can send them."""

from __future__ import annotations

from sqlalchemy import select

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, OutboxStatus
from core.outbox.worker import OutboxWorker
from core.storage import tables as t
from tests.unit.outbox.conftest import Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime


async def _statuses(scene: Scene) -> dict[str, str]:
    async with scene.service.db.session() as session:
        query = select(t.OutboxRow.channel_type, t.OutboxRow.status)
        return dict((await session.execute(query)).all())


async def test_rows_on_other_channels_are_left_alone(scene: Scene) -> None:
    outbound = scene.service.outbound
    await outbound.send_reply(scene.conversation_id, ReplyDraft(text="Par SMS"), Channel.SMS)
    await outbound.send_reply(scene.conversation_id, ReplyDraft(text="Par mail"), Channel.EMAIL)
    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL)
    runtime = FakeRuntime(sms, email)

    await OutboxWorker(
        scene.service.ctx, runtime, worker_id="relay", channels=[Channel.SMS]
    ).drain()
    assert [m.text for m in sms.sent] == ["Par SMS"] and email.sent == []
    assert await _statuses(scene) == {"sms": OutboxStatus.SENT, "email": OutboxStatus.PENDING}

    await OutboxWorker(scene.service.ctx, runtime, worker_id="app").drain()
    assert [m.text for m in email.sent] == ["Par mail"] and len(sms.sent) == 1
    assert await _statuses(scene) == {"sms": OutboxStatus.SENT, "email": OutboxStatus.SENT}


async def test_a_worker_with_no_channel_takes_nothing(scene: Scene) -> None:
    await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    sms = FakeAdapter(Channel.SMS)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms), worker_id="relay", channels=[])
    assert await worker.run_once() == 0
    assert sms.sent == []


async def test_an_interrupted_row_on_another_channel_is_not_settled(scene, clock) -> None:
    await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Par mail"), Channel.EMAIL
    )
    async with scene.service.db.session() as session:
        row = (await session.execute(select(t.OutboxRow))).scalar_one()
        row.status, row.lease_owner, row.attempts = OutboxStatus.SENDING, "dead", 1
        row.lease_expires_at = clock.now
    clock.advance(seconds=1)
    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL, lookup=True)
    runtime = FakeRuntime(sms, email)
    relay = OutboxWorker(scene.service.ctx, runtime, worker_id="relay", channels=[Channel.SMS])
    assert await relay.reconcile() == 0
    assert await _statuses(scene) == {"email": OutboxStatus.SENDING}
    assert await OutboxWorker(scene.service.ctx, runtime, worker_id="app").reconcile() == 1
