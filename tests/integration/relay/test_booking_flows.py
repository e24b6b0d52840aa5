"""Booking from the prospect's side, end to end: the sandbox's Telegram, Twilio and SendGrid,
the relay, ingest, Sara, ``service.booking`` and its hooks, the outbox worker and the real SDKs.

Nothing is faked but the clock: inbound updates are posted by the sandbox to the relay, what we
send is read back from the sandbox's request log.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.booking.slots import slot_token
from core.domain.enums import AppointmentStatus, Channel, MessageKind, OutboxStatus, Provider
from core.i18n.deferred import render
from core.ingest.worker import IngestWorker
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from tests.factories import add_prospect
from tests.integration.relay.test_end_to_end import World, telegram_update, world_for
from tests.unit.appointments.test_ics import split_line, unfold

PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"
CHAT = 4242


@pytest.fixture
async def world(service: InboxService) -> AsyncIterator[World]:
    await service.agents.add("Alice Martin", "alice@agence-demo.fr")
    async for value in world_for(service, Provider.TWILIO):
        bot = value.runtime.adapter(Channel.TELEGRAM)
        await bot.set_webhook(
            f"{value.relay_url}/webhooks/telegram/{value.sandbox.telegram.bot_id}"
        )
        yield value


async def send_all(world: World) -> None:
    """What the outbox holds goes out through the real adapters to the sandbox."""
    await OutboxWorker(world.service.ctx, world.runtime).drain()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def sent_to_chat(world: World) -> list[dict[str, Any]]:
    return [r.body for r in world.sandbox.requests("telegram", "/sendMessage")]


def sms_texts(world: World) -> list[str]:
    return [r.body["Body"][0] for r in world.sandbox.requests("twilio", "/Messages.json")]


def tap(world: World, data: str, message_id: int = 1) -> str:
    """The prospect taps a button whose callback data is ``data``; the query's id."""
    query_id = f"q{len(world.sandbox.telegram._queries)}-{message_id}"
    user = {"id": CHAT, "is_bot": False, "first_name": "Lucie"}
    world.sandbox.telegram.push(
        {
            "callback_query": {
                "id": query_id,
                "from": user,
                "chat_instance": "1",
                "message": {
                    "message_id": message_id,
                    "chat": {"id": CHAT, "type": "private"},
                    "date": 1773000000,
                    "text": "…",
                },
                "data": data,
            }
        }
    )
    return query_id


async def appointments(world: World) -> list[t.AppointmentRow]:
    return await world.rows(t.AppointmentRow)


async def outbox(world: World, **where: Any) -> list[t.OutboxRow]:
    rows = await world.rows(t.OutboxRow)
    return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]


async def test_nouveau_rdv_buttons_book_a_slot_with_reminders_and_confirmation(
    world: World,
) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Lucie Bernard", phone=PHONE, telegram_chat_id=CHAT)
    box.telegram.push(telegram_update(CHAT, "/nouveau_rdv"))
    await world.flush()
    await send_all(world)

    [offer] = sent_to_chat(world)
    keyboard = offer["reply_markup"]["inline_keyboard"]
    assert "créneaux libres" in offer["text"] and len(keyboard) == 4
    first = keyboard[0][0]
    assert first["callback_data"].startswith("rdv:visit.") and "14:00" in first["text"]
    assert await appointments(world) == []

    query_id = tap(world, first["callback_data"])
    await world.flush()
    [booked] = await appointments(world)
    assert booked.prospect_id == prospect and booked.status == AppointmentStatus.CONFIRMED
    assert booked.starts_at.astimezone(PARIS) == paris(2026, 3, 10, 14, 0)
    reminders = {r.purpose for r in await outbox(world, appointment_id=booked.id)}
    assert {"reminder_m30", "reminder_h2", "reminder_survey"} <= reminders
    assert "appointment_confirmation" in reminders

    await send_all(world)
    assert box.telegram.answered == [query_id]
    assert box.telegram.answer_texts[query_id] == "Réservé ✓"
    confirmation = sent_to_chat(world)[-1]["text"]
    assert "confirmé le mardi 10 mars à 14:00" in confirmation and "Alice Martin" in confirmation
    # a visit booked from the chat has no place yet: the prospect is asked for the address,
    # never told "à préciser", and the thread tells the agent
    assert "à préciser" not in confirmation
    assert "(adresse du bien à nous indiquer en réponse)" in confirmation
    # the reminders do not ask (30 minutes before is too late for an answer no one reads)
    texts = {r.purpose: r.payload["text"] for r in await outbox(world, appointment_id=booked.id)}
    for purpose in ("reminder_h2", "reminder_m30"):
        assert "à nous indiquer" not in texts[purpose]
    assert (
        "vous attend dans 30 min : lieu à confirmer avec votre conseiller." in texts["reminder_m30"]
    )
    events = await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert [e.meta["action"] for e in events if e.meta.get("action") == "no_place"] == ["no_place"]
    [conversation] = await world.rows(
        t.ConversationRow, t.ConversationRow.channel_type == Channel.TELEGRAM
    )
    assert conversation.unread_count == 0  # Sara dealt with it


async def test_a_taken_stale_or_forged_button_books_nothing_and_offers_fresh_slots(
    world: World,
) -> None:
    service, box = world.service, world.sandbox
    await add_prospect(service, "Lucie Bernard", telegram_chat_id=CHAT)
    other = await add_prospect(service, "Marc", phone="+33698765432")
    slot = (await service.booking.propose_slots("visit", count=1))[0]
    box.telegram.push(telegram_update(CHAT, "/nouveau_rdv"))
    await world.flush()
    await send_all(world)
    data = sent_to_chat(world)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await service.booking.book_slot(other, slot)  # an agent gave it to someone else meanwhile

    taken = tap(world, data)
    stale = tap(world, "rdv:visit.1.12", message_id=2)  # malformed start: not a slot token
    forged = tap(world, "rdv:visit.999.1773147600", message_id=3)  # no such agent
    await world.flush()
    await send_all(world)

    assert len(await appointments(world)) == 1  # only the agent's booking
    assert set(box.telegram.answered) == {taken, stale, forged}
    assert box.telegram.answer_texts[taken] == "Créneau indisponible"
    replies = sent_to_chat(world)[1:]
    assert len(replies) == 3
    for reply in replies:
        assert reply["text"].startswith("Ce créneau n'est plus disponible")
        fresh = [row[0]["callback_data"] for row in reply["reply_markup"]["inline_keyboard"]]
        assert data not in fresh and len(fresh) == 4
    assert "vient d'être pris" in replies[0]["text"]


async def test_annuler_lists_appointments_as_buttons_and_a_tap_cancels_with_reminders(
    world: World,
) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Lucie Bernard", phone=PHONE, telegram_chat_id=CHAT)
    first = await service.booking.book(
        prospect, paris(2026, 3, 11, 10, 0), confirmed=True, location="12 rue Lepic"
    )
    second = await service.booking.book(prospect, paris(2026, 3, 12, 15, 0))
    assert len(await outbox(world, appointment_id=first.id, purpose="reminder_h2")) == 1

    box.telegram.push(telegram_update(CHAT, "/annuler"))
    await world.flush()
    await send_all(world)
    menu = [m for m in sent_to_chat(world) if m.get("reply_markup")][-1]
    assert menu["text"] == "Quel rendez-vous voulez-vous annuler ?"
    buttons = [row[0] for row in menu["reply_markup"]["inline_keyboard"]]
    assert [b["callback_data"] for b in buttons] == [f"annuler:{first.id}", f"annuler:{second.id}"]
    assert "mer. 11 mars 10:00" in buttons[0]["text"]

    query_id = tap(world, buttons[0]["callback_data"])
    await world.flush()
    await send_all(world)
    assert (await service.appointments.get(first.id)).status == AppointmentStatus.CANCELLED
    assert (await service.appointments.get(second.id)).status == AppointmentStatus.PROPOSED
    assert box.telegram.answer_texts[query_id] == "Annulé ✓"
    assert "est annulé" in sent_to_chat(world)[-1]["text"]
    left = await outbox(world, appointment_id=first.id)
    reminders = [r for r in left if r.purpose.startswith("reminder_")]
    assert reminders and all(r.status == OutboxStatus.CANCELLED for r in reminders)

    again = tap(world, buttons[0]["callback_data"], message_id=7)  # the same button, twice
    await world.flush()
    await send_all(world)
    assert box.telegram.answer_texts[again] == "Ce bouton n'est plus valable"
    assert (await service.appointments.get(second.id)).status == AppointmentStatus.PROPOSED


async def test_a_no_show_rebooking_offer_by_sms_and_demain_15h_books_one(
    world: World, clock
) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Marie Dupont", phone=PHONE)
    missed = await service.booking.book(
        prospect, paris(2026, 3, 10, 14, 0), confirmed=True, location="12 rue Lepic"
    )
    clock.now = paris(2026, 3, 10, 15, 0)
    await service.booking.mark_no_show(missed.id)
    await service.booking_notices.offer_rebooking(missed.id)  # the agent says yes
    await send_all(world)
    proposal = sms_texts(world)[-1]
    assert proposal.startswith("Nous vous avons attendu pour votre visite du mardi 10 mars")
    assert "- mar. 10 mars 16:30" in proposal and '"demain 15h"' in proposal
    open_reminders = await outbox(world, appointment_id=missed.id, status=OutboxStatus.PENDING)
    assert [r.purpose for r in open_reminders] == []  # withdrawn, survey included

    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "Demain à 15h, merci")
    await world.flush()
    [_, booked] = await appointments(world)
    assert booked.starts_at == paris(2026, 3, 11, 15, 0)
    assert booked.status == AppointmentStatus.CONFIRMED
    await send_all(world)
    assert "confirmé le mercredi 11 mars à 15:00" in sms_texts(world)[-1]
    assert await outbox(world, appointment_id=booked.id, purpose="reminder_h2")
    [conversation] = await world.rows(t.ConversationRow)
    assert conversation.unread_count == 0


async def test_unclear_or_unavailable_answers_never_book(world: World, clock) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Marie Dupont", phone=PHONE)
    missed = await service.booking.book(prospect, paris(2026, 3, 10, 14, 0))
    clock.now = paris(2026, 3, 10, 15, 0)
    await service.booking.mark_no_show(missed.id)
    await service.booking_notices.offer_rebooking(missed.id)  # the agent says yes

    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "demain 15h ou 16h ?")
    await world.flush()

    assert len(await appointments(world)) == 1
    [conversation] = await world.rows(t.ConversationRow)
    assert conversation.unread_count == 1  # left to an agent, with an explanation
    events = await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert events[-1].meta["action"] == "unclear" and "demain 15h ou 16h" in render(
        events[-1].meta["line"]
    )

    await send_all(world)
    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "dimanche matin")  # a full window
    await world.flush()
    await send_all(world)
    assert sms_texts(world)[-1].startswith(
        "Le dimanche 15 mars n'est pas possible (aucun créneau n'est libre à ce moment-là)"
    )
    before = len(sms_texts(world))
    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "dimanche 15h")  # closed
    await world.flush()
    assert len(await appointments(world)) == 1
    await send_all(world)
    [alternatives] = sms_texts(world)[before:]
    assert alternatives.startswith("Le dimanche 15 mars à 15:00 n'est pas possible")
    assert "personne n'est disponible ce jour-là" in alternatives
    assert "- lun. 16 mars 09:00" in alternatives

    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "lundi 16 mars à 10h")
    await world.flush()
    assert [a.starts_at for a in await appointments(world)][-1] == paris(2026, 3, 16, 10, 0)


async def test_email_confirmation_has_the_html_template_the_link_and_a_valid_ics(
    world: World,
) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Jane Smith", email="jane@example.com", language="en")
    booked = await service.booking.book(
        prospect, paris(2026, 3, 30, 10, 0), location="12 rue Lepic", confirmed=True
    )  # the Monday after the clocks changed (UTC+2); confirmed: the confirmation email
    await send_all(world)
    [request] = box.requests("sendgrid", "/v3/mail/send")
    mail = request.body
    assert mail["personalizations"][0]["to"][0]["email"] == "jane@example.com"
    assert mail["subject"] == "Your appointment on Monday 30 March is confirmed"
    page = next(c["value"] for c in mail["content"] if c["type"] == "text/html")
    assert "Appointment confirmed" in page and "12 rue Lepic" in page
    link = await service.booking.calendar_link(booked.id)
    assert link.replace("&", "&amp;") in page
    [attachment] = mail["attachments"]
    assert attachment["filename"] == "appointment.ics"
    assert attachment["type"].startswith("text/calendar")
    lines = [split_line(x) for x in unfold(base64.b64decode(attachment["content"]).decode())]
    assert lines[0] == ("BEGIN", {}, "VCALENDAR") and lines[-1] == ("END", {}, "VCALENDAR")
    props = {name: (params, value) for name, params, value in lines if name.startswith("DT")}
    assert props["DTSTART"] == ({"TZID": "Europe/Paris"}, "20260330T100000")
    assert props["DTEND"] == ({"TZID": "Europe/Paris"}, "20260330T104500")
    assert ("TZID", {}, "Europe/Paris") in lines and ("BEGIN", {}, "VTIMEZONE") in lines
    offsets = {v for n, _, v in lines if n == "TZOFFSETTO"}
    assert offsets == {"+0200", "+0100"}


async def test_a_prospect_abroad_sees_both_times_in_the_confirmation(world: World, clock) -> None:
    service = world.service
    prospect = await add_prospect(
        service, "John Smith", phone="+12125550100", timezone="America/New_York"
    )
    clock.now = paris(2026, 3, 10, 16, 0)  # 11:00 in New York: not their quiet hours
    await service.booking.book(prospect, paris(2026, 3, 11, 15, 0))
    await send_all(world)
    [text] = sms_texts(world)
    assert "15:00, heure de l'agence (10:00 chez vous, America/New_York)" in text


async def test_done_sends_the_survey_now_and_the_rating_is_recorded(world: World, clock) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Marie Dupont", phone=PHONE)
    visit = await service.booking.book(
        prospect, paris(2026, 3, 10, 14, 0), confirmed=True, location="12 rue Lepic"
    )
    await send_all(world)
    clock.now = paris(2026, 3, 10, 14, 50)  # the survey is planned for 15:15
    await service.booking.mark_done(visit.id)
    await send_all(world)
    survey = sms_texts(world)[-1]
    assert "1" in survey and "5" in survey
    [row] = await outbox(world, appointment_id=visit.id, purpose="reminder_survey")
    assert row.status == OutboxStatus.SENT
    [message] = await world.rows(t.MessageRow, t.MessageRow.id == row.message_id)
    assert message.meta["survey"] is True

    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "5")
    await world.flush()

    [message] = await world.rows(t.MessageRow, t.MessageRow.id == row.message_id)
    assert message.meta["rating"] == 5
    # marking it done again is refused, and no second survey goes out
    async with service.db.session() as session:
        surveys = await session.execute(
            select(t.OutboxRow).where(t.OutboxRow.purpose == "reminder_survey")
        )
        assert len(surveys.scalars().all()) == 1


async def test_an_agent_moving_or_cancelling_tells_the_prospect_and_replans(world: World) -> None:
    service = world.service
    prospect = await add_prospect(service, "Marie Dupont", phone=PHONE)
    booked = await service.booking.book(
        prospect, paris(2026, 3, 12, 10, 0), confirmed=True, location="12 rue Lepic"
    )
    await send_all(world)
    moved = await service.booking.move(booked.id, paris(2026, 3, 13, 15, 0))
    await send_all(world)
    assert sms_texts(world)[-1].startswith(
        "Bonjour Marie, votre rendez-vous (visite) est déplacé au vendredi 13 mars à 15:00"
    )
    rows = await outbox(world, appointment_id=moved.id)
    h24 = [r for r in rows if r.purpose == "reminder_h24"]
    assert {r.status for r in h24} == {OutboxStatus.CANCELLED, OutboxStatus.PENDING}
    assert [r.payload["appointment_starts_at"] for r in h24 if r.status == "pending"] == [
        "2026-03-13T14:00:00+00:00"
    ]

    await service.booking.cancel(moved.id, "agent malade")
    await send_all(world)
    assert sms_texts(world)[-1].startswith(
        "Bonjour Marie, votre rendez-vous (visite) du vendredi 13 mars à 15:00 est annulé"
    )
    left = await outbox(world, appointment_id=moved.id, status=OutboxStatus.PENDING)
    assert left == []
    texts = sms_texts(world)
    assert len(texts) == 3  # confirmation, move, cancellation: each once


async def test_two_prospects_tapping_the_same_slot_at_once_get_it_once(world: World) -> None:
    service, box = world.service, world.sandbox
    await add_prospect(service, "Lucie Bernard", telegram_chat_id=CHAT)
    await add_prospect(service, "Paul Martin", telegram_chat_id=CHAT + 1)
    slot = (await service.booking.propose_slots("visit", count=1))[0]
    data = "rdv:" + slot_token(slot)
    tap(world, data)
    second = {"id": CHAT + 1, "is_bot": False, "first_name": "Paul"}
    box.telegram.push(
        {
            "callback_query": {
                "id": "paul-tap",
                "from": second,
                "chat_instance": "2",
                "message": {"message_id": 5, "chat": {"id": CHAT + 1, "type": "private"}},
                "data": data,
            }
        }
    )
    await box.flush()  # stored by the relay, not yet ingested
    events = await world.rows(t.InboundEventRow)
    assert len(events) == 2
    first_worker, second_worker = world.worker, IngestWorker(service.ctx, world.worker.adapters)
    settings, providers = await first_worker._tenant_setup()
    await asyncio.gather(
        first_worker.process(events[0].id, settings, providers),
        second_worker.process(events[1].id, settings, providers),
    )
    assert [e.status for e in await world.rows(t.InboundEventRow)] == ["processed"] * 2
    [booked] = await appointments(world)
    assert booked.starts_at == slot.start
    await send_all(world)
    replies = sent_to_chat(world)
    assert len(replies) == 2  # the winner's confirmation, the other's fresh slots
    texts = sorted(r["text"][:30] for r in replies)
    assert texts[0].startswith("Bonjour") and texts[1].startswith("Ce créneau n'est plus")


async def test_on_whatsapp_lundi_matin_books_the_first_free_slot_that_morning(
    world: World, clock
) -> None:
    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE)
    missed = await service.booking.book(prospect, paris(2026, 3, 10, 14, 0))
    clock.now = paris(2026, 3, 10, 14, 55)
    box.twilio.enqueue_inbound(
        PHONE, box.twilio.whatsapp_number, "Je suis en retard", whatsapp=True
    )
    await world.flush()
    clock.now = paris(2026, 3, 10, 15, 0)
    await service.booking.mark_no_show(missed.id)
    await service.booking_notices.offer_rebooking(missed.id)  # the agent says yes
    await send_all(world)
    [proposal] = [
        r.body["Body"][0]
        for r in box.requests("twilio", "/Messages.json")
        if r.body["To"][0].startswith("whatsapp:")
    ]
    assert proposal.startswith("Nous vous avons attendu")

    box.twilio.enqueue_inbound(PHONE, box.twilio.whatsapp_number, "lundi matin", whatsapp=True)
    await world.flush()
    booked = (await appointments(world))[-1]
    assert booked.id != missed.id and booked.starts_at == paris(2026, 3, 16, 9, 0)
    await send_all(world)
    last = box.requests("twilio", "/Messages.json")[-1].body
    assert last["To"][0] == f"whatsapp:{PHONE}"
    assert "confirmé le lundi 16 mars à 09:00" in last["Body"][0]


async def test_the_tenants_own_confirmation_template_is_the_one_sent(world: World) -> None:
    from core.domain.models import TemplateDraft
    from core.service.templates import seed_templates

    service, box = world.service, world.sandbox
    await seed_templates(service)
    stored = await service.templates.by_name(Channel.EMAIL, "rdv_confirmation", "fr")
    html = stored.html.replace("À bientôt", "Code du portail : 1234. À bientôt")
    draft = TemplateDraft(
        channel=Channel.EMAIL,
        name="rdv_confirmation",
        language="fr",
        template_type=stored.template_type,
        subject="RDV du {{rdv_date}} à {{rdv_time}}",
        content=stored.content,
        html=html,
        variables=list(stored.variables),
    )
    await service.templates.save(draft, stored.id)
    prospect = await add_prospect(service, "<i>Zoé</i> Durand", email="zoe@example.fr")
    await service.booking.book(
        prospect, paris(2026, 3, 11, 10, 0), confirmed=True, location="12 rue Lepic"
    )
    await send_all(world)
    [request] = box.requests("sendgrid", "/v3/mail/send")
    assert request.body["subject"] == "RDV du mercredi 11 mars à 10:00"
    page = next(c["value"] for c in request.body["content"] if c["type"] == "text/html")
    assert "Code du portail : 1234" in page
    assert "Bonjour &lt;i&gt;Zoé&lt;/i&gt;," in page and "<i>" not in page  # text, not markup
