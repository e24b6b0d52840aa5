"""Sara's automatic answers, through signed webhooks, the relay and the ingest worker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.booking.appointments import AppointmentDraft
from core.domain.enums import AppointmentStatus, Channel, MessageKind, MessageStatus
from core.i18n.deferred import render
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import append_message, conversation_for
from tests.factories import add_prospect
from tests.relay_fakes import body, message
from tests.relay_harness import RunningRelay, running_relay

PHONE = "+33612345678"


async def rows(service: InboxService, table, *where):
    async with service.db.session() as session:
        query = select(table).where(*where).order_by(table.id)
        return list((await session.execute(query)).scalars().all())


async def say(
    relay: RunningRelay,
    text: str,
    key: str,
    *,
    sender: str = PHONE,
    path: str = "/webhooks/twilio/sms",
    **extra,
) -> None:
    code, _, _ = await relay.post(path, body(message(key, sender, text, **extra)))
    assert code == 200
    await relay.worker.run_once()


async def book(
    service: InboxService, prospect_id: int, *, days: int = 2, status=AppointmentStatus.PROPOSED
) -> int:
    start = service.ctx.now() + timedelta(days=days)
    appointment = await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status=status,
            location="12 rue des Lilas",
        )
    )
    return appointment.id


async def outbox(service: InboxService) -> list[t.OutboxRow]:
    return await rows(service, t.OutboxRow)


async def test_oui_confirms_the_next_appointment_and_says_why(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE)
    appointment = await book(service, prospect)
    later = await book(service, prospect, days=9)
    async with running_relay(service) as relay:
        await say(relay, "Oui !", "SM1")
    assert (await service.appointments.get(appointment)).status == AppointmentStatus.CONFIRMED
    assert (await service.appointments.get(later)).status == AppointmentStatus.PROPOSED
    [reply] = await outbox(service)
    assert (reply.purpose, reply.status, reply.channel_type) == ("sara", "pending", "sms")
    assert reply.payload["text"].startswith("Merci ! Votre rendez-vous du jeudi 12 mars")
    assert reply.idempotency_key.startswith("sara:") and reply.payload["to"] == PHONE
    queued = await rows(service, t.MessageRow, t.MessageRow.id == reply.message_id)
    assert (queued[0].sender_type, queued[0].status) == ("sara", MessageStatus.QUEUED)
    [event] = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert event.sender_type == "sara"
    said = render(event.meta["line"])  # stored untranslated, put into words when shown
    assert "confirmé" in said or "confirmed" in said
    assert event.meta["appointment_id"] == appointment and event.meta["reason"] == "Oui !"
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.unread_count == 0 and conversation.waiting_since is None


async def test_confirmation_words_and_thumbs(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        for i, word in enumerate(["OUI", "ok", "d'accord", "yes", "👍"]):
            appointment = await book(service, prospect, days=1)
            await say(relay, word, f"SM{i}")
            assert (await service.appointments.get(appointment)).status == "confirmed", word


async def test_annuler_and_non_cancel(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE)
    first = await book(service, prospect, status=AppointmentStatus.CONFIRMED)
    async with running_relay(service) as relay:
        await say(relay, "ANNULER", "SM1")
        assert (await service.appointments.get(first)).status == AppointmentStatus.CANCELLED
        second = await book(service, prospect)
        await say(relay, "non.", "SM2")
        assert (await service.appointments.get(second)).status == AppointmentStatus.CANCELLED
        third = await book(service, prospect, status=AppointmentStatus.CONFIRMED)
        await say(relay, "no", "SM3")  # a bare "no" does not undo a confirmed appointment
        assert (await service.appointments.get(third)).status == AppointmentStatus.CONFIRMED
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert [e.meta["to"] for e in events] == ["cancelled", "cancelled"]
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.unread_count == 1  # the "no" Sara did not act on waits for an agent


async def test_oui_without_an_appointment_is_left_to_an_agent(service: InboxService) -> None:
    await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "oui", "SM1")
    assert await outbox(service) == []
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.unread_count == 1 and conversation.status == "open"


async def test_sms_stop_opts_out_without_an_sms_acknowledgement(service: InboxService) -> None:
    """Twilio answers STOP on SMS itself and refuses every later SMS (21610): Sara records the
    opt-out and says so in the thread, but queues no acknowledgement that could only fail."""
    prospect = await add_prospect(service, phone=PHONE, email="marie@example.fr")
    async with running_relay(service) as relay:
        await say(relay, "STOP", "SM1")
        await say(relay, "Arrêt", "SM2")
    assert (await service.prospects.get(prospect)).opted_out_channels == (Channel.SMS,)
    assert await outbox(service) == []  # no SMS ack, and no ack on another channel either
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert len(events) == 1 and events[0].meta["action"] == "opt_out"
    said = render(events[0].meta["line"])
    assert "SMS" in said and "STOP" in said and "Twilio" in said


async def test_sms_opt_out_word_twilio_does_not_handle_is_acknowledged_once(
    service: InboxService,
) -> None:
    """ "Arrêt" is not one of Twilio's keywords: Twilio neither confirms nor blocks, Sara does."""
    prospect = await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "Arrêt", "SM1")
        await say(relay, "STOP", "SM2")
    assert (await service.prospects.get(prospect)).opted_out_channels == (Channel.SMS,)
    [ack] = await outbox(service)
    assert ack.payload["text"].startswith("C'est noté")
    assert ack.idempotency_key.endswith(":opt_out_ack")


async def test_optouttype_stop_counts_as_twilio_confirming(service: InboxService) -> None:
    """With Advanced Opt-Out the keywords may differ: Twilio's ``OptOutType=STOP`` decides."""
    await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "Désinscrire", "SM1", extra={"OptOutType": "STOP"})
    assert await outbox(service) == []


async def test_sms_start_after_stop_turns_sms_back_on(service: InboxService) -> None:
    """Twilio lifts its block on START, YES or UNSTOP from a number that had said STOP (and
    answers it itself): SMS is the prospect's channel again, said in the thread, nothing sent."""
    prospect = await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "STOP", "SM1")
        await say(relay, "start", "SM2")
    assert (await service.prospects.get(prospect)).opted_out_channels == ()
    assert await outbox(service) == []
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert [e.meta["action"] for e in events] == ["opt_out", "opt_in"]
    said = render(events[1].meta["line"])
    assert "SMS" in said and "start" in said and "Twilio" in said


async def test_optouttype_start_turns_sms_back_on(service: InboxService) -> None:
    """With Advanced Opt-Out the keywords may differ: Twilio's ``OptOutType=START`` decides."""
    prospect = await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "STOP", "SM1")
        await say(relay, "Réactiver", "SM2", extra={"OptOutType": "START"})
    assert (await service.prospects.get(prospect)).opted_out_channels == ()


async def test_yes_from_a_prospect_who_never_said_stop_still_answers_a_proposal(
    service: InboxService,
) -> None:
    """YES is one of Twilio's opt-in words, but only a number Twilio blocks is opted in by it:
    for anyone else it keeps answering the proposed appointment."""
    prospect = await add_prospect(service, phone=PHONE)
    appointment = await book(service, prospect)
    async with running_relay(service) as relay:
        await say(relay, "YES", "SM1")
    [row] = await rows(service, t.AppointmentRow, t.AppointmentRow.id == appointment)
    assert row.status == AppointmentStatus.CONFIRMED
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert "opt_in" not in [e.meta.get("action") for e in events]


async def test_opt_out_words_on_other_channels(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE, email="marie@example.fr", language="en")
    async with running_relay(service) as relay:
        await say(
            relay, "unsubscribe", "e1", sender="marie@example.fr", path="/webhooks/sendgrid/inbound"
        )
        await say(
            relay, "Désinscrire", "w1", sender="whatsapp:" + PHONE, path="/webhooks/twilio/whatsapp"
        )
    opted = (await service.prospects.get(prospect)).opted_out_channels
    assert set(opted) == {Channel.EMAIL, Channel.WHATSAPP}
    texts = [o.payload["text"] for o in await outbox(service)]
    assert texts == ["Noted: you will not receive any more messages from us on this channel."] * 2


async def survey(service: InboxService, prospect_id: int) -> int:
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        conversation = await conversation_for(session, prospect, Channel.SMS, PHONE)
        row = await append_message(
            session,
            conversation,
            direction="outbound",
            sender_type="sara",
            content="Notez notre service de 1 à 5",
            status=MessageStatus.DELIVERED,
            meta={"survey": True},
        )
        return row.id


async def test_ratings_count_only_in_answer_to_a_survey(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "4", "SM0")  # no survey yet: an ordinary message
        assert await outbox(service) == []
        survey_id = await survey(service, prospect)
        await say(relay, "5/5", "SM1")
        await say(relay, "3", "SM2")  # the survey is answered already
    [survey_row] = await rows(service, t.MessageRow, t.MessageRow.id == survey_id)
    assert survey_row.meta["rating"] == 5
    [thanks] = await outbox(service)
    assert thanks.payload["text"] == "Merci pour votre note de 5/5 !"


async def test_telegram_commands_answer_from_real_data(service: InboxService) -> None:
    prospect = await add_prospect(service, "Lucie Bernard", telegram_chat_id=4242)
    appointment = await book(service, prospect, status=AppointmentStatus.CONFIRMED)
    settings = await service.tenant_settings.get()
    settings.company.name = "Agence du Port"
    settings.company.phone = "+33491000000"
    await service.tenant_settings.save(settings)
    tg = {"sender": "4242", "path": "/webhooks/telegram/777"}
    async with running_relay(service) as relay:
        for i, command in enumerate(["/start", "/rdv", "/info", "/contact", "/help", "/annuler"]):
            await say(relay, command, f"u{i}", **tg)
    replies = await outbox(service)
    texts = [o.payload["text"] for o in replies]
    assert texts[0].startswith("Bonjour Lucie Bernard") and "Agence du Port" in texts[0]
    assert "12 rue des Lilas" in texts[1] and "confirmé" in texts[1]
    assert texts[2].startswith("Agence du Port")
    assert "+33491000000" in texts[3]
    assert "/nouveau_rdv" in texts[4]
    # /annuler asks which one: a button per appointment; nothing is cancelled before a tap
    assert texts[5] == "Quel rendez-vous voulez-vous annuler ?"
    assert [b["id"] for b in replies[5].payload["buttons"]] == [f"annuler:{appointment}"]
    assert (await service.appointments.get(appointment)).status == AppointmentStatus.CONFIRMED
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.unread_count == 1  # /contact asks for a person


async def test_commands_are_plain_text_off_telegram(service: InboxService) -> None:
    await add_prospect(service, phone=PHONE)
    async with running_relay(service) as relay:
        await say(relay, "/annuler", "SM1")
    assert await outbox(service) == []


async def test_out_of_hours_auto_reply_once_per_conversation_per_day(
    service: InboxService, clock
) -> None:
    clock.advance(hours=11)  # Tuesday 22:00 in Paris
    async with running_relay(service) as relay:
        await say(relay, "Bonsoir, le T3 est dispo ?", "SM1")
        await say(relay, "Et le parking ?", "SM2")
        await say(relay, "Hello, is the flat free?", "SM3", sender="+33698765432")
        clock.advance(days=1)
        await say(relay, "Toujours là ?", "SM4")
    replies = [o for o in await outbox(service) if o.purpose == "sara"]
    assert [o.idempotency_key.split(":")[-1] for o in replies] == ["auto_reply"] * 3
    conversations = await rows(service, t.ConversationRow)
    assert all(c.unread_count >= 1 for c in conversations)


async def test_no_auto_reply_during_opening_hours(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await say(relay, "Bonjour", "SM1")
    assert await outbox(service) == []


async def test_english_prospect_gets_english_auto_reply(service: InboxService, clock) -> None:
    await add_prospect(service, "Tom", phone=PHONE, language="en")
    clock.advance(hours=11)
    async with running_relay(service) as relay:
        await say(relay, "Hello", "SM1")
    [reply] = await outbox(service)
    assert reply.payload["text"].startswith("Thank you for your message!")


async def test_forwarding_rules_apply_to_inbound_email(service: InboxService) -> None:
    settings = await service.tenant_settings.get()
    await service.tenant_settings.save(
        {
            **settings.model_dump(mode="json"),
            "forwarding_rules": [
                {"field": "subject", "contains": "facture", "forward_to": "compta@agence.fr"},
                {"field": "sender", "contains": "@notaire.fr", "forward_to": "juridique@agence.fr"},
                {"field": "keyword", "contains": "urgent", "forward_to": "compta@agence.fr"},
            ],
        }
    )
    email = {"path": "/webhooks/sendgrid/inbound"}
    async with running_relay(service) as relay:
        await say(
            relay, "Ci-joint", "e1", sender="maitre@notaire.fr", subject="Facture mars", **email
        )
        await say(relay, "Bonjour", "e2", sender="marie@example.fr", subject="Visite", **email)
    forwards = [o for o in await outbox(service) if o.purpose == "forward"]
    assert sorted(o.payload["to"] for o in forwards) == ["compta@agence.fr", "juridique@agence.fr"]
    assert forwards[0].payload["subject"].endswith("Facture mars")
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert len(events) == 2 and all(e.sender_type == "sara" for e in events)


async def test_telegram_groups_hear_of_new_conversations_and_urgent_messages(
    service: InboxService,
) -> None:
    settings = await service.tenant_settings.get()
    settings.telegram_notify_chat_ids = [-1001, -1002]
    await service.tenant_settings.save(settings)
    async with running_relay(service) as relay:
        await say(relay, "Bonjour", "SM1")
        await say(relay, "Rebonjour", "SM2")
        await say(relay, "C'est URGENT, fuite d'eau", "SM3")
    notices = [o for o in await outbox(service) if o.purpose == "notify"]
    assert [(o.channel_type, o.payload["to"]) for o in notices] == [
        ("telegram", "-1001"),
        ("telegram", "-1002"),
    ] * 2
    assert "URGENT" in notices[2].payload["text"]
    [conversation] = await rows(service, t.ConversationRow)
    assert conversation.priority == 0


async def test_replayed_event_never_answers_twice(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE)
    await book(service, prospect)
    async with running_relay(service) as relay:
        await say(relay, "oui", "SM1")
        await say(relay, "oui", "SM1")
    assert len(await outbox(service)) == 1


async def test_appointment_hooks_hear_of_sara_changes_after_commit(service: InboxService) -> None:
    prospect = await add_prospect(service, phone=PHONE)
    appointment = await book(service, prospect)
    heard = []

    async def hook(change) -> None:
        async with service.db.session() as session:  # already committed when told
            row = await session.get(t.AppointmentRow, change.appointment_id)
            heard.append((change.status, change.previous, change.reason, row.status))

    async def broken(change) -> None:
        raise RuntimeError("a hook failing must not undo the change")

    async with running_relay(service) as relay:
        relay.worker.appointment_hooks = [broken, hook]
        await say(relay, "Annuler", "SM1")
    assert heard == [("cancelled", "proposed", "Annuler", "cancelled")]
    assert (await service.appointments.get(appointment)).status == AppointmentStatus.CANCELLED


async def test_a_yes_repeated_on_another_channel_does_not_confirm_the_other_proposal(
    service: InboxService, clock
) -> None:
    """Two visits proposed; the prospect answers "OUI" on SMS, then again on WhatsApp: the
    first confirms the nearer visit, the second may only repeat it, so Sara confirms nothing
    more and tells the agent why (the other visit stays to be confirmed)."""
    prospect = await add_prospect(service, phone=PHONE)
    nearer = await book(service, prospect)
    later = await book(service, prospect, days=9)
    clock.advance(minutes=5)
    async with running_relay(service) as relay:
        await say(relay, "OUI", "SM1")
        clock.advance(seconds=40)
        await say(relay, "OUI", "w1", sender="whatsapp:" + PHONE, path="/webhooks/twilio/whatsapp")
    assert (await service.appointments.get(nearer)).status == AppointmentStatus.CONFIRMED
    assert (await service.appointments.get(later)).status == AppointmentStatus.PROPOSED
    assert len(await outbox(service)) == 1  # one confirmation, nothing for the echo
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    echo = [e for e in events if e.meta.get("action") == "echo"]
    assert len(echo) == 1 and echo[0].meta["appointment_id"] == later
    said = render(echo[0].meta["line"])
    assert "laissé à un agent" in said or "left to an agent" in said
    whatsapp = [c for c in await rows(service, t.ConversationRow) if c.channel_type == "whatsapp"]
    assert whatsapp[0].unread_count == 1  # waiting for an agent


async def answer_twice(relay: RunningRelay, clock, word: str) -> None:
    """``word`` by SMS, then again by WhatsApp 40 seconds later (the same answer sent twice)."""
    await say(relay, word, "SM1")
    clock.advance(seconds=40)
    await say(relay, word, "w1", sender="whatsapp:" + PHONE, path="/webhooks/twilio/whatsapp")


async def echo_events(service: InboxService) -> list[t.MessageRow]:
    events = await rows(service, t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    return [e for e in events if e.meta.get("action") == "echo"]


async def test_a_cancel_repeated_on_another_channel_cancels_one_visit(
    service: InboxService, clock
) -> None:
    """Two confirmed visits; "ANNULER" by SMS, then again by WhatsApp: the first cancels the
    nearer visit, the second may only repeat it, so the other visit is kept, the prospect gets
    one acknowledgement (naming the visit cancelled) and the agent is told why."""
    prospect = await add_prospect(service, phone=PHONE)
    nearer = await book(service, prospect, status=AppointmentStatus.CONFIRMED)
    later = await book(service, prospect, days=9, status=AppointmentStatus.CONFIRMED)
    clock.advance(minutes=5)
    async with running_relay(service) as relay:
        await answer_twice(relay, clock, "ANNULER")
    assert (await service.appointments.get(nearer)).status == AppointmentStatus.CANCELLED
    assert (await service.appointments.get(later)).status == AppointmentStatus.CONFIRMED
    [ack] = await outbox(service)  # one acknowledgement, on the channel that cancelled
    assert ack.channel_type == "sms" and "annulé" in ack.payload["text"]
    [echo] = await echo_events(service)
    assert echo.meta["appointment_id"] == later
    said = render(echo.meta["line"])
    assert "laissé à un agent" in said or "left to an agent" in said
    assert "reste confirmé" in said or "stays confirmed" in said
    whatsapp = [c for c in await rows(service, t.ConversationRow) if c.channel_type == "whatsapp"]
    assert whatsapp[0].unread_count == 1  # waiting for an agent


async def test_a_no_repeated_on_another_channel_declines_one_proposal(
    service: InboxService, clock
) -> None:
    """Two visits proposed; "non" by SMS, then again by WhatsApp: only the nearer one is
    declined, the other stays to be confirmed and the agent is told why."""
    prospect = await add_prospect(service, phone=PHONE)
    nearer = await book(service, prospect)
    later = await book(service, prospect, days=9)
    clock.advance(minutes=5)
    async with running_relay(service) as relay:
        await answer_twice(relay, clock, "non")
    assert (await service.appointments.get(nearer)).status == AppointmentStatus.CANCELLED
    assert (await service.appointments.get(later)).status == AppointmentStatus.PROPOSED
    assert len(await outbox(service)) == 1
    [echo] = await echo_events(service)
    assert echo.meta["appointment_id"] == later
    said = render(echo.meta["line"])
    assert "reste à confirmer" in said or "still to be confirmed" in said


async def test_a_cancel_the_next_day_is_not_an_echo(service: InboxService, clock) -> None:
    """Past the echo window, a second "annuler" is a new answer: it cancels the other visit."""
    prospect = await add_prospect(service, phone=PHONE)
    nearer = await book(service, prospect, days=3, status=AppointmentStatus.CONFIRMED)
    later = await book(service, prospect, days=9, status=AppointmentStatus.CONFIRMED)
    clock.advance(minutes=5)
    async with running_relay(service) as relay:
        await say(relay, "annuler", "SM1")
        clock.advance(days=1, minutes=1)
        await say(relay, "annuler", "SM2")
    assert (await service.appointments.get(nearer)).status == AppointmentStatus.CANCELLED
    assert (await service.appointments.get(later)).status == AppointmentStatus.CANCELLED
    assert await echo_events(service) == []


async def test_a_yes_answers_the_proposal_this_conversation_asked_about(
    service: InboxService,
) -> None:
    """The conversation's last message was about the later visit: "oui" confirms that one,
    not the nearer one."""
    prospect = await add_prospect(service, phone=PHONE)
    nearer = await book(service, prospect)
    later = await book(service, prospect, days=9)
    async with service.db.session() as session:
        row = await session.get(t.ProspectRow, prospect)
        conversation = await conversation_for(session, row, Channel.SMS, PHONE)
        await append_message(
            session,
            conversation,
            direction="outbound",
            sender_type="agent",
            content="Pouvez-vous confirmer la visite du 19 mars ?",
            status=MessageStatus.DELIVERED,
            meta={"appointment_id": later},
        )
    async with running_relay(service) as relay:
        await say(relay, "oui", "SM1")
    assert (await service.appointments.get(later)).status == AppointmentStatus.CONFIRMED
    assert (await service.appointments.get(nearer)).status == AppointmentStatus.PROPOSED


async def test_saras_email_answer_stays_in_the_prospects_thread(service: InboxService) -> None:
    """Sara answers an e-mail as "Re:" of its subject, replying to it (not with her own first
    line as the subject, which started a new thread in the prospect's mailbox)."""
    await add_prospect(service, phone=PHONE, email="marie@example.fr")
    async with running_relay(service) as relay:
        await say(
            relay,
            "unsubscribe",
            "<m1@mail.example>",
            sender="marie@example.fr",
            path="/webhooks/sendgrid/inbound",
            subject="Votre visite",
        )
    [ack] = await outbox(service)
    assert ack.payload["subject"] == "Re: Votre visite"
    assert ack.payload["in_reply_to"] == "<m1@mail.example>"
