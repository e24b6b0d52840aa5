"""Signed webhooks through the relay, then the ingest worker: what lands in the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.domain.enums import Channel, ConversationStatus, MessageKind, MessageStatus, Provider
from core.events import MessageChanged, ProspectChanged
from core.ingest.worker import IngestWorker
from core.service import InboxFilter, InboxService
from core.storage import tables as t
from core.storage.timeline import append_message, conversation_for
from tests.factories import add_prospect
from tests.relay_fakes import body, message, status
from tests.relay_harness import RunningRelay, running_relay


async def rows(service: InboxService, table, *where, order=None):
    async with service.db.session() as session:
        query = select(table).where(*where).order_by(order if order is not None else table.id)
        return list((await session.execute(query)).scalars().all())


async def sent_message(
    service: InboxService, prospect_id: int, pmid: str, provider=Provider.TWILIO
):
    """An outbound message we sent earlier, known by its provider id."""
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        conversation = await conversation_for(session, prospect, Channel.SMS, prospect.phone)
        row = await append_message(
            session,
            conversation,
            direction="outbound",
            sender_type="agent",
            content="Votre visite est confirmée",
            status=MessageStatus.SENT,
            provider=provider,
            provider_message_id=pmid,
        )
        return row.id


async def deliver(relay: RunningRelay, path: str, *events: dict) -> None:
    code, _, _ = await relay.post(path, body(*events))
    assert code == 200
    await relay.worker.run_once()


async def test_same_number_on_sms_whatsapp_and_voice_is_one_prospect(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/twilio/sms", message("SM1", "06 12 34 56 78", "Bonjour"))
        await deliver(
            relay, "/webhooks/twilio/whatsapp", message("SM2", "whatsapp:+33612345678", "Re")
        )
        await deliver(
            relay,
            "/webhooks/vapi",
            {
                "type": "call",
                "key": "call-1",
                "id": "call-1",
                "phone": "+33612345678",
                "duration": 95.0,
                "summary": "Veut visiter le T3",
                "transcript": "AI: Bonjour…",
                "recording_url": "https://rec.example/1.wav",
            },
        )
        [prospect] = await rows(service, t.ProspectRow)
        assert prospect.phone == prospect.whatsapp == "+33612345678"
        assert prospect.display_name == "+33612345678"
        conversations = await rows(service, t.ConversationRow)
        assert sorted(c.channel_type for c in conversations) == ["sms", "voice", "whatsapp"]
        assert all(c.status == "open" and c.unread_count == 1 for c in conversations)
        [call] = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.CALL)
        assert call.content == "Veut visiter le T3"
        assert call.meta["duration_seconds"] == 95.0
        assert call.meta["transcript"] == "AI: Bonjour…"
        assert call.meta["recording_url"] == "https://rec.example/1.wav"
        events = await relay.stored()
        assert {e.status for e in events} == {"processed"}


async def test_email_and_telegram_link_to_known_prospects_or_create_them(
    service: InboxService,
) -> None:
    known = await add_prospect(service, "Lucie Bernard", telegram_chat_id=4242)
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/telegram/777", message("u1", "4242", "Bonjour"))
        await deliver(
            relay,
            "/webhooks/sendgrid/inbound",
            message("e1", "Marie Dupont <marie@example.fr>", "Question", subject="T3"),
        )
        await deliver(
            relay, "/webhooks/sendgrid/inbound", message("e2", "jean.martin@example.fr", "?")
        )
        await deliver(relay, "/webhooks/telegram/777", message("u2", "5151", "hi", name="Tom Lee"))
    prospects = {p.display_name: p for p in await rows(service, t.ProspectRow)}
    assert set(prospects) == {"Lucie Bernard", "Marie Dupont", "Jean Martin", "Tom Lee"}
    assert prospects["Marie Dupont"].email == "marie@example.fr"
    assert prospects["Tom Lee"].telegram_chat_id == 5151
    [lucie_conv] = await rows(service, t.ConversationRow, t.ConversationRow.prospect_id == known)
    assert lucie_conv.channel_type == "telegram" and lucie_conv.unread_count == 1


async def test_new_inbound_reopens_a_closed_conversation(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/twilio/sms", message("SM1", "+33612345678", "Bonjour"))
        [conversation] = await rows(service, t.ConversationRow)
        await service.conversations.set_status(conversation.id, ConversationStatus.CLOSED)
        await deliver(relay, "/webhooks/twilio/sms", message("SM2", "+33612345678", "Encore moi"))
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.unread_count == 2
    assert conversation.last_message_preview == "Encore moi"
    found = await service.conversations.page(InboxFilter(search="encore"))
    assert [c.id for c in found.items] == [conversation.id]


async def test_statuses_only_move_forward_and_keep_times_and_errors(service: InboxService) -> None:
    prospect = await add_prospect(service, phone="+33612345678")
    message_id = await sent_message(service, prospect, "SMout1")
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/twilio/status", status("SMout1", "delivered", cost="0.05"))
        await deliver(relay, "/webhooks/twilio/status", status("SMout1", "sent"))
        [row] = await rows(service, t.MessageRow, t.MessageRow.id == message_id)
        assert row.status == "delivered" and row.delivered_at is not None
        assert row.cost_micros == 50_000
        await deliver(
            relay, "/webhooks/twilio/status", status("SMout1", "undelivered", error_code="30003")
        )
    [row] = await rows(service, t.MessageRow, t.MessageRow.id == message_id)
    assert (row.status, row.error_code) == ("undelivered", "30003")


async def test_status_for_an_unknown_message_is_recorded_and_ignored(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/twilio/status", status("SMnobody", "delivered"))
        [event] = await relay.stored()
        assert event.status == "processed"
        assert "unknown message SMnobody" in event.error
        assert await relay.count(t.MessageRow) == 0


async def test_sendgrid_event_ids_match_by_prefix(service: InboxService) -> None:
    prospect = await add_prospect(service, phone="+33612345678", email="a@example.fr")
    message_id = await sent_message(service, prospect, "14c5d75ce93", Provider.SENDGRID)
    async with running_relay(service) as relay:
        await deliver(
            relay,
            "/webhooks/sendgrid/events",
            status("14c5d75ce93.filter0001.16648.5515E0B88.0", "delivered", prefix=True),
            {
                "type": "engagement",
                "key": "sg-open-1",
                "id": "14c5d75ce93.filter0001.16648.5515E0B88.0",
                "kind": "click",
                "url": "https://agence.example/t3",
                "prefix": True,
            },
        )
    [row] = await rows(service, t.MessageRow, t.MessageRow.id == message_id)
    assert row.status == "delivered"
    assert row.meta["engagement"][0]["url"] == "https://agence.example/t3"


async def test_a_replayed_message_never_creates_a_second_one(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/twilio/sms", message("SM1", "+33612345678", "Bonjour"))
        # the same message reaching us again under another dedupe key (e.g. polling + webhook)
        again = {**message("SM1", "+33612345678", "Bonjour"), "key": "poll:SM1"}
        await deliver(relay, "/webhooks/twilio/sms", again)
        assert len(await relay.stored()) == 2
        assert await relay.count(t.MessageRow) == 1
        [conversation] = await rows(service, t.ConversationRow)
        assert conversation.unread_count == 1


async def test_each_event_is_processed_once_even_by_two_workers(service: InboxService) -> None:
    async with running_relay(service) as relay:
        for i in range(10):
            await relay.post(
                "/webhooks/twilio/sms", body(message(f"SM{i}", "+33612345678", f"m{i}"))
            )
        other = IngestWorker(service.ctx, relay.adapters)
        import asyncio

        done = await asyncio.gather(relay.worker.run_once(), other.run_once())
        assert sum(done) >= 10
        assert await relay.count(t.MessageRow) == 10
        [conversation] = await rows(service, t.ConversationRow)
        assert conversation.unread_count == 10 and conversation.message_count == 10
        assert {e.attempts for e in await relay.stored()} == {1}


async def test_bad_sender_fails_that_event_only(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await relay.post("/webhooks/twilio/sms", body(message("SM1", "not a number", "x")))
        await relay.post("/webhooks/twilio/sms", body(message("SM2", "+33612345678", "ok")))
        await relay.worker.run_once()
        first, second = await relay.stored()
        assert first.status == "parked" and "phone" in first.error
        assert second.status == "processed"
        assert await relay.count(t.MessageRow) == 1


async def test_changes_are_published_after_commit(service: InboxService) -> None:
    async with running_relay(service) as relay, service.bus.subscribe() as queue:
        await deliver(relay, "/webhooks/twilio/sms", message("SM1", "+33612345678", "Bonjour"))
        published = []
        while not queue.empty():
            published.append(queue.get_nowait())
    assert any(isinstance(e, ProspectChanged) for e in published)
    [row] = await rows(service, t.MessageRow)
    assert MessageChanged(row.id, row.conversation_id) in published


async def test_messages_keep_the_provider_time_unless_it_is_in_the_future(
    service: InboxService,
) -> None:
    now = service.ctx.now()
    earlier = (now - timedelta(minutes=30)).isoformat()
    later = (now + timedelta(days=1)).isoformat()
    async with running_relay(service) as relay:
        await deliver(
            relay, "/webhooks/twilio/sms", message("SM1", "+33612345678", "a", at=earlier)
        )
        await deliver(relay, "/webhooks/twilio/sms", message("SM2", "+33612345678", "b", at=later))
    first, second = await rows(service, t.MessageRow)
    # The provider's time is to the second: read as the end of that second.
    assert first.created_at == (now - timedelta(minutes=30)).replace(microsecond=999_999)
    assert second.created_at == now


async def test_an_answer_stamped_to_the_second_follows_the_message_it_answers(
    service: InboxService,
) -> None:
    """Telegram and Meta give a message's time to the second; our message went out 0.4 s into
    that second, and the prospect's answer came within it: the thread shows the answer after."""
    prospect = await add_prospect(service, "Lucie Bernard", phone="+33612345678")
    ours = await sent_message(service, prospect, "SM-ours")
    second = service.ctx.now().replace(microsecond=0) - timedelta(seconds=5)
    async with service.db.session() as session:
        row = await session.get(t.MessageRow, ours)
        row.created_at = second + timedelta(milliseconds=400)
    async with running_relay(service) as relay:
        answer = message("SM-answer", "+33612345678", "Oui, jeudi", at=second.isoformat())
        await deliver(relay, "/webhooks/twilio/sms", answer)
    conversation = (await rows(service, t.ConversationRow))[0]
    thread = await service.conversations.thread(conversation.id)
    assert [m.content for m in thread.messages] == ["Votre visite est confirmée", "Oui, jeudi"]


class FailingAfterEffects(IngestWorker):
    """A worker whose apply of one chosen event breaks after it wrote the message."""

    fail_on = "SM2"

    async def _apply(self, step, row):
        notes = await super()._apply(step, row)
        if any(getattr(e, "provider_message_id", "") == self.fail_on for e in row.events):
            raise ValueError("broken after writing")
        return notes


async def test_an_event_failing_mid_batch_keeps_the_others_and_none_of_its_own(
    service: InboxService,
) -> None:
    async with running_relay(service) as relay:
        for i in range(1, 4):
            await relay.post(
                "/webhooks/twilio/sms", body(message(f"SM{i}", "+33612345678", f"m{i}"))
            )
        worker = FailingAfterEffects(service.ctx, relay.adapters)
        assert await worker.run_once() == 3
        first, second, third = await relay.stored()
        # the failing one is scheduled for another attempt (core.ingest.retry), not dropped
        assert [first.status, second.status, third.status] == ["processed", "pending", "processed"]
        assert second.error.startswith("ValueError") and second.attempts == 1
        assert second.next_attempt_at is not None
        kept = await rows(service, t.MessageRow)
        assert [m.provider_message_id for m in kept] == ["SM1", "SM3"]
        [conversation] = await rows(service, t.ConversationRow)
        assert conversation.unread_count == 2 and conversation.message_count == 2


async def test_a_calls_summary_arriving_later_becomes_the_inbox_preview(
    service: InboxService,
) -> None:
    """VAPI reports a call as it starts (no summary yet), then its end-of-call report: the
    inbox row shows the summary, not the empty text the call started with."""
    call = {"type": "call", "id": "call-7", "phone": "+33612000006", "direction": "inbound"}
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/vapi", {**call, "key": "call-7-start"})
        [conversation] = await rows(service, t.ConversationRow)
        assert conversation.last_message_preview == ""
        summary = "Jade confirme le rendez-vous de jeudi."
        await deliver(relay, "/webhooks/vapi", {**call, "key": "call-7-end", "summary": summary})
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.last_message_preview == summary
    [item] = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.CALL)
    assert item.content == summary
