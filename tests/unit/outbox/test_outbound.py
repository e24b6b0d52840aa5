"""The ``outbound`` facade: validation before queuing, decisions, switch, broadcast, calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, Direction, MessageKind, MessageStatus, MessageType
from core.domain.models import TemplateDraft
from core.errors import InvalidInput
from core.outbox.worker import OutboxWorker
from core.storage import tables as t
from tests.factories import add_message, add_prospect
from tests.unit.outbox.conftest import Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime


async def count(scene: Scene, table) -> int:
    async with scene.service.db.session() as session:
        return await session.scalar(select(func.count()).select_from(table))


async def test_decide_through_the_facade_answers_in_the_conversation(scene: Scene) -> None:
    decision = await scene.service.outbound.decide(scene.conversation_id, ReplyDraft(text="Oui"))
    assert decision.channel == Channel.SMS
    assert "orchestrator.reason.type.conversation" in [r.key for r in decision.reasons]


async def test_decide_with_an_explicit_channel_warns_about_the_whatsapp_window(
    scene: Scene,
) -> None:
    service = scene.service
    prospect = await service.prospects.get(scene.prospect_id)
    await service.prospects.update(scene.prospect_id, _draft_with_whatsapp(prospect))
    await add_message(
        service,
        scene.prospect_id,
        "Hello",
        channel=Channel.WHATSAPP,
        at=service.ctx.now() - timedelta(hours=23, minutes=30),
    )
    decision = await service.outbound.decide(
        scene.conversation_id, ReplyDraft(text="x"), Channel.WHATSAPP
    )
    assert decision.channel == Channel.WHATSAPP
    assert [w.key for w in decision.warnings] == ["orchestrator.warning.window_closing"]


def _draft_with_whatsapp(prospect):
    from core.domain.models import ProspectDraft

    return ProspectDraft(
        display_name=prospect.display_name,
        phone=prospect.phone,
        email=prospect.email,
        whatsapp=prospect.phone,
    )


async def test_unknown_template_is_refused_before_anything_is_queued(scene: Scene) -> None:
    before = await count(scene, t.MessageRow)
    with pytest.raises(InvalidInput, match=r"template: '999'.*existing template"):
        await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(template_id=999))
    assert await count(scene, t.MessageRow) == before
    assert await count(scene, t.OutboxRow) == 0


async def test_missing_template_variable_is_named(scene: Scene) -> None:
    template = await scene.service.templates.save(
        TemplateDraft(
            channel=Channel.SMS,
            name="RAPPEL",
            content="Bonjour {{firstName}}, RDV à {{appointmentTime}}.",
            variables=["firstName", "appointmentTime"],
        )
    )
    with pytest.raises(InvalidInput, match="appointmentTime"):
        await scene.service.outbound.send_reply(
            scene.conversation_id, ReplyDraft(template_id=template.id)
        )
    assert await count(scene, t.OutboxRow) == 0
    message = await scene.service.outbound.send_reply(
        scene.conversation_id,
        ReplyDraft(template_id=template.id, variables={"appointmentTime": "15h"}),
    )
    assert message.content == "Bonjour Marie, RDV à 15h."


@pytest.mark.parametrize("channel", [Channel.TELEGRAM, Channel.WHATSAPP])
async def test_body_over_the_hard_limit_is_refused(scene: Scene, channel: Channel) -> None:
    with pytest.raises(InvalidInput, match="4097 characters") as caught:
        await scene.service.outbound.send_reply(
            scene.conversation_id, ReplyDraft(text="x" * 4097), channel
        )
    assert "4096" in str(caught.value)
    assert await count(scene, t.OutboxRow) == 0


async def test_empty_draft_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidInput, match="text"):
        await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="  "))


async def test_no_reachable_channel_is_a_clear_error_not_a_crash(scene: Scene) -> None:
    lonely = await add_prospect(scene.service, "Paul Sans Contact")
    conversation_id, _ = await add_message(scene.service, lonely, "x", channel=Channel.VOICE)
    decision = await scene.service.outbound.decide(conversation_id, ReplyDraft(text="Bonjour"))
    assert decision.channel is None and decision.blocked
    with pytest.raises(InvalidInput, match=r"No channel can reach|No SMS contact"):
        await scene.service.outbound.send_reply(conversation_id, ReplyDraft(text="Bonjour"))


async def test_opted_out_channel_is_refused_when_asked_explicitly(scene: Scene) -> None:
    await scene.service.prospects.set_opt_out(scene.prospect_id, Channel.SMS, True)
    with pytest.raises(InvalidInput, match="opted out"):
        await scene.service.outbound.send_reply(
            scene.conversation_id, ReplyDraft(text="x"), Channel.SMS
        )
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    assert message.channel == Channel.EMAIL


async def test_switch_channel_links_both_threads_and_queues_the_transition(scene: Scene) -> None:
    service = scene.service
    new = await service.outbound.switch_channel(scene.conversation_id, Channel.EMAIL)
    assert new.channel == Channel.EMAIL
    assert new.switched_from_id == scene.conversation_id
    assert new.context["previous_channel"] == "sms"
    old = await service.conversations.get(scene.conversation_id)
    assert old.switched_to_ids == (new.id,)
    assert (await service.conversations.thread(old.id)).conversation == old
    thread = await service.conversations.thread(new.id)
    transition = [m for m in thread.messages if m.conversation_id == new.id]
    # the prospect's language (here the tenant's, French), not the agent's (English here)
    assert transition[0].content == "Bonjour Marie, je continue notre conversation via E-mail."
    assert transition[0].status == MessageStatus.QUEUED
    event = [m for m in thread.messages if m.kind == MessageKind.EVENT]
    assert event and event[0].metadata["switched_to_id"] == new.id
    [entry] = await service.audit.recent(limit=5, subject=("conversation", new.id))
    assert entry.action == "switch_channel"
    assert entry.details == {"source": scene.conversation_id, "channel": "email", "previous": "sms"}
    with pytest.raises(InvalidInput):
        await service.outbound.switch_channel(new.id, Channel.EMAIL)
    with pytest.raises(InvalidInput):
        await service.outbound.switch_channel(new.id, Channel.TELEGRAM)


async def test_send_unified_picks_the_preferred_channel(scene: Scene) -> None:
    result = await scene.service.outbound.send_unified(
        scene.prospect_id, ReplyDraft(text="Les documents sont prêts."), Channel.EMAIL
    )
    assert result.success and result.channel == Channel.EMAIL
    message = await scene.service.messages.get(result.message_id)
    assert message.channel == Channel.EMAIL and message.status == MessageStatus.QUEUED


async def test_broadcast_one_decision_each_progress_and_resume(scene: Scene) -> None:
    service = scene.service
    ids = [scene.prospect_id]
    for i in range(6):
        ids.append(await add_prospect(service, f"Email {i}", email=f"p{i}@example.com"))
    ids.append(await add_prospect(service, "Nobody"))  # no channel at all
    draft = ReplyDraft(text="Nouvelle propriété", message_type=MessageType.MARKETING)
    bid = await service.outbound.broadcast(iter(ids[:4]), draft, chunk_size=3)
    progress = await service.outbound.broadcast_progress(bid)
    assert progress.remaining == 4 and progress.total == 4
    # Resume with the whole list: the first four are not queued twice.
    assert await service.outbound.broadcast(ids, draft, broadcast_id=bid, chunk_size=3) == bid
    progress = await service.outbound.broadcast_progress(bid)
    assert progress.total == 8 and progress.failed == 1 and progress.remaining == 7
    runtime = FakeRuntime(FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL))
    await OutboxWorker(service.ctx, runtime).drain()
    progress = await service.outbound.broadcast_progress(bid)
    assert (progress.sent, progress.failed, progress.remaining) == (7, 1, 0)
    assert all(len(a.sent) <= 7 for a in runtime.adapters.values())


async def test_broadcast_accepts_an_async_iterator(scene: Scene) -> None:
    async def ids():
        yield scene.prospect_id

    bid = await scene.service.outbound.broadcast(ids(), ReplyDraft(text="x"))
    assert (await scene.service.outbound.broadcast_progress(bid)).total == 1


async def test_a_broadcast_chunk_is_decided_with_the_collector_paused(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from core.service import broadcasting

    seen: list[tuple[str, bool]] = []

    def watch(name: str) -> None:
        real = getattr(broadcasting, name)

        async def watched(*args: object, **kwargs: object) -> object:
            seen.append((name, gc.isenabled()))
            return await real(*args, **kwargs)

        monkeypatch.setattr(broadcasting, name, watched)

    watch("plan")  # reading and deciding
    watch("write_plan")  # writing
    was = gc.isenabled()
    gc.enable()
    try:
        await scene.service.outbound.broadcast([scene.prospect_id], ReplyDraft(text="x"))
        assert seen == [("plan", False), ("write_plan", False)]
        assert gc.isenabled()
    finally:
        if not was:
            gc.disable()


async def test_call_is_queued_like_any_send(scene: Scene) -> None:
    await scene.service.tenant_settings.save_channel(Channel.VOICE)
    message = await scene.service.outbound.call(scene.prospect_id)
    assert message.kind == MessageKind.CALL and message.channel == Channel.VOICE
    assert message.direction == Direction.OUTBOUND and message.status == MessageStatus.QUEUED
    voice = FakeAdapter(Channel.VOICE)
    await OutboxWorker(scene.service.ctx, FakeRuntime(voice)).drain()
    assert voice.sent[0].to == "+33612345678"


async def test_resend_refuses_a_message_that_went_out(scene: Scene) -> None:
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    with pytest.raises(InvalidInput):
        await scene.service.outbound.resend(message.id)


async def test_route_message_with_a_loaded_context_sends_now(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS)
    scene.service.outbound.attach_runtime(FakeRuntime(sms))
    draft = ReplyDraft(text="Votre dossier est complet.", message_type=MessageType.NOTIFICATION)
    ctx = await scene.service.outbound.routing_context(scene.prospect_id, draft)
    assert ctx.contacts[Channel.SMS] == "+33612345678" and ctx.enabled >= {Channel.SMS}
    result = await scene.service.outbound.route_message(ctx, draft)
    assert (result.success, result.channel, result.status) == (True, Channel.SMS, "sent")
    assert not result.fallback_attempted and result.fallback_channel is None
    assert result.provider_message_id == sms.accepted[sms.sent[0].reference].provider_message_id


async def test_route_message_without_a_channel_says_why(scene: Scene) -> None:
    lonely = await add_prospect(scene.service, "Paul Sans Contact")
    ctx = await scene.service.outbound.routing_context(lonely)
    result = await scene.service.outbound.route_message(ctx, ReplyDraft(text="x"))
    assert not result.success and result.channel is None and "No " in (result.error or "")
