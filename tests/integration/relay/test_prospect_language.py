"""Appointment messages in the prospect's language, whatever language the app runs in, and the
approved WhatsApp template outside the 24-hour window: through the sandbox's SendGrid, Twilio
and Meta with the real SDKs, the outbox worker and a fake clock.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core import i18n
from core.domain.enums import ApprovalStatus, Channel, Provider
from core.domain.models import TemplateDraft
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.service.templates import seed_templates
from core.storage import tables as t
from tests.factories import add_prospect
from tests.integration.relay.test_end_to_end import World, world_for
from tests.unit.appointments.test_ics import split_line, unfold

PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"
#: Thursday 12 March 2026, 15:00 in Paris (the fake clock starts on Tuesday 10 March).
START = datetime(2026, 3, 12, 15, 0, tzinfo=PARIS)
LATER = START + timedelta(hours=2)

#: What each language's messages say (the library's templates and the catalogs).
EXPECTED = {
    "en": {
        "subject": "Your appointment on Thursday 12 March is confirmed",
        "page": "Appointment confirmed",
        "summary": "Visit — Agence Immobilière Demo",
        "description": "Visit with Alice Martin.",
        "h24": "Reminder: your appointment tomorrow at 15:00",
        "h24_sms": "Reminder: appointment tomorrow at 17:00 with Alice Martin",
        "confirmed": "your appointment is confirmed on Thursday 12 March at 17:00",
        "survey_subject": "Your opinion matters",
        "sms": ("your appointment is in 2 hours", "will meet you in 30 min", "Rate your"),
        "foreign": ("Bonjour", "Rappel", "Merci"),
    },
    "fr": {
        "subject": "Votre rendez-vous du jeudi 12 mars est confirmé",
        "page": "Rendez-vous confirmé",
        "summary": "Visite — Agence Immobilière Demo",
        "description": "Visite avec Alice Martin.",
        "h24": "Rappel : votre rendez-vous demain à 15:00",
        "h24_sms": "Rappel : RDV demain à 17:00 avec Alice Martin",
        "confirmed": "votre RDV est confirmé le jeudi 12 mars à 17:00",
        "survey_subject": "Votre avis compte",
        "sms": ("votre RDV est dans 2 h", "vous attend dans 30 min", "Notez votre expérience"),
        "foreign": ("Hello", "Reminder", "Thank you"),
    },
}


async def _world(service: InboxService, provider: Provider) -> AsyncIterator[World]:
    await service.agents.add("Alice Martin", "alice@agence-demo.fr")
    async for value in world_for(service, provider):
        yield value


@pytest.fixture
async def world(service: InboxService) -> AsyncIterator[World]:
    async for value in _world(service, Provider.TWILIO):
        yield value


@pytest.fixture
async def meta_world(service: InboxService) -> AsyncIterator[World]:
    async for value in _world(service, Provider.META):
        yield value


@pytest.fixture
def app_language():
    """Set the app's (the agent's) language for a test, and put the previous one back."""
    previous = i18n.language()
    yield i18n.set_language
    i18n.set_language(previous)


async def send_all(world: World) -> None:
    await OutboxWorker(world.service.ctx, world.runtime).drain()


def mails(world: World) -> list[dict[str, Any]]:
    return [r.body for r in world.sandbox.requests("sendgrid", "/v3/mail/send")]


def sms_texts(world: World) -> list[str]:
    requests = world.sandbox.requests("twilio", "/Messages.json")
    return [r.body["Body"][0] for r in requests if not r.body["To"][0].startswith("whatsapp:")]


def ics_of(mail: dict[str, Any]) -> dict[str, str]:
    [attachment] = mail["attachments"]
    text = base64.b64decode(attachment["content"]).decode()
    return {name: value for name, _, value in (split_line(x) for x in unfold(text))}


@pytest.mark.parametrize(("language", "app"), [("en", "fr"), ("fr", "en")])
async def test_confirmation_reminders_survey_and_ics_are_in_the_prospects_language(
    world: World, clock, app_language, language: str, app: str
) -> None:
    """An English prospect of the French demo agency gets English messages while the app runs
    in French, and a French prospect French ones while the app runs in English."""
    app_language(app)
    expected = EXPECTED[language]
    service = world.service
    by_email = await add_prospect(
        service, "Jane Smith", email="jane@example.com", language=language
    )
    by_sms = await add_prospect(service, "John Smith", phone=PHONE, language=language)
    await service.booking.book(by_email, START, confirmed=True, location="12 rue Lepic")
    await service.booking.book(by_sms, LATER, confirmed=True, location="12 rue Lepic")
    await send_all(world)
    [confirmation] = mails(world)
    assert confirmation["subject"] == expected["subject"]
    page = next(c["value"] for c in confirmation["content"] if c["type"] == "text/html")
    assert expected["page"] in page
    ics = ics_of(confirmation)
    assert ics["SUMMARY"] == expected["summary"]
    assert ics["DESCRIPTION"].startswith(expected["description"])
    [sms_confirmation] = sms_texts(world)
    assert expected["confirmed"] in sms_confirmation

    moments = sorted(
        moment
        for start in (START, LATER)
        for moment in (
            start - timedelta(hours=24),
            start - timedelta(hours=2),
            start - timedelta(minutes=30),
            start + timedelta(hours=1, minutes=30),  # the survey, after the 45-minute visit
        )
    )
    for moment in moments:
        clock.now = moment
        await send_all(world)
    emails = mails(world)
    assert emails[1]["subject"] == expected["h24"]  # the 24 h reminder, by email
    assert expected["survey_subject"] == emails[-1]["subject"]  # the survey, by email
    assert expected["sms"][-1] in next(c["value"] for c in emails[-1]["content"])
    texts = sms_texts(world)
    assert expected["h24_sms"] in texts[1]
    for phrase in expected["sms"]:
        assert any(phrase in text for text in texts), (phrase, texts)
    for text in texts + [m["subject"] for m in emails]:
        assert not any(text.startswith(word) for word in expected["foreign"]), text


async def test_a_prospect_without_a_language_gets_the_tenants_default(world: World) -> None:
    service = world.service
    settings = await service.tenant_settings.get()
    await service.tenant_settings.save(settings.model_copy(update={"language": "en"}))
    prospect = await add_prospect(service, "Jane Smith", phone=PHONE)  # language unknown
    await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    await send_all(world)
    [text] = sms_texts(world)
    assert text.startswith("Hello Jane, your appointment is confirmed on Thursday 12 March")


async def approve_whatsapp_confirmation(service: InboxService, content_sid: str | None) -> None:
    """The agency had the library's ``rdv_confirmation_fr`` approved by Meta."""
    await seed_templates(service)
    stored = await service.templates.by_name(Channel.WHATSAPP, "rdv_confirmation", "fr")
    draft = TemplateDraft(
        **{
            **stored.model_dump(include=set(TemplateDraft.model_fields) - {"channel", "name"}),
            "channel": Channel.WHATSAPP,
            "name": stored.name,
            "approval_status": ApprovalStatus.APPROVED,
            "content_sid": content_sid,
        }
    )
    await service.templates.save(draft, stored.id)


PARAMETERS = ["Marie", "jeudi 12 mars", "15:00", "12 rue Lepic", "Agence Immobilière Demo"]


async def test_whatsapp_confirmation_outside_the_window_is_the_approved_template_on_meta(
    meta_world: World,
) -> None:
    service, box = meta_world.service, meta_world.sandbox
    await approve_whatsapp_confirmation(service, None)
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE)  # never wrote
    booked = await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    await send_all(meta_world)
    [request] = box.requests("meta", "/messages")
    body = request.body
    assert body["type"] == "template" and "text" not in body
    template = body["template"]
    assert template["name"] == "rdv_confirmation_fr"
    assert template["language"] == {"policy": "deterministic", "code": "fr"}
    assert template["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": p} for p in PARAMETERS]}
    ]
    [row] = await meta_world.rows(
        t.OutboxRow,
        t.OutboxRow.appointment_id == booked.id,
        t.OutboxRow.purpose == "appointment_confirmation",
    )
    assert row.status == "sent" and row.payload["template"]["approved"] is True
    [message] = await meta_world.rows(t.MessageRow, t.MessageRow.id == row.message_id)
    # The thread shows the template as the prospect reads it.
    assert message.content.startswith("*Confirmation de rendez-vous*\n\nBonjour Marie,")
    assert "📅 jeudi 12 mars\n🕐 15:00\n📍 12 rue Lepic" in message.content
    assert message.content.endswith("Message de Agence Immobilière Demo")


async def test_whatsapp_confirmation_outside_the_window_uses_the_content_sid_on_twilio(
    world: World,
) -> None:
    service, box = world.service, world.sandbox
    await approve_whatsapp_confirmation(service, "HX0123456789abcdef0123456789abcdef")
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE)
    await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    await send_all(world)
    [request] = box.requests("twilio", "/Messages.json")
    form = {k: v[0] for k, v in request.body.items()}
    assert form["To"] == f"whatsapp:{PHONE}"
    assert form["ContentSid"] == "HX0123456789abcdef0123456789abcdef"
    assert json.loads(form["ContentVariables"]) == {
        str(i): p for i, p in enumerate(PARAMETERS, start=1)
    }
    assert "Body" not in form  # Twilio refuses a template sent as Body (63016)


async def test_inside_the_window_whatsapp_gets_the_free_text(world: World, clock) -> None:
    service, box = world.service, world.sandbox
    await approve_whatsapp_confirmation(service, "HX0123456789abcdef0123456789abcdef")
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE)
    box.twilio.enqueue_inbound(PHONE, box.twilio.whatsapp_number, "Bonjour", whatsapp=True)
    await world.flush()
    await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    await send_all(world)
    last = {k: v[0] for k, v in box.requests("twilio", "/Messages.json")[-1].body.items()}
    assert "ContentSid" not in last
    assert last["Body"].startswith("Bonjour Marie, votre RDV est confirmé le jeudi 12 mars")


async def test_without_an_approved_template_whatsapp_is_not_used_outside_the_window(
    world: World,
) -> None:
    service, box = world.service, world.sandbox
    await seed_templates(service)  # the library's WhatsApp templates are drafts
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE)
    await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    await send_all(world)
    assert box.requests("twilio", "/Messages.json") == []
    events = await world.rows(t.MessageRow, t.MessageRow.kind == "event")
    assert events and events[-1].meta["not_sent"] == "confirmation"


async def test_a_whatsapp_reminder_outside_the_window_is_the_approved_reminder_template(
    meta_world: World, clock
) -> None:
    """The 2 h reminder may go on WhatsApp: outside the window, as the tenant's approved
    template of that reminder (named variables mapped to {{1}}…)."""
    service, box = meta_world.service, meta_world.sandbox
    await service.templates.save(
        TemplateDraft(
            channel=Channel.WHATSAPP,
            name="rdv_reminder_2h",
            language="fr",
            template_type="rdv_reminder",
            content="Bonjour {{1}}, votre RDV est à {{2}} ({{3}}). {{4}}",
            variables=["prospect_name", "rdv_time", "location", "company_name"],
            whatsapp_name="rappel_rdv_2h",
            approval_status=ApprovalStatus.APPROVED,
        )
    )
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE)
    booked = await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    [h2] = await meta_world.rows(
        t.OutboxRow, t.OutboxRow.appointment_id == booked.id, t.OutboxRow.purpose == "reminder_h2"
    )
    assert h2.channel_type == Channel.WHATSAPP
    clock.now = START - timedelta(hours=2)
    await send_all(meta_world)
    [request] = box.requests("meta", "/messages")
    template = request.body["template"]
    assert (template["name"], template["language"]) == (
        "rappel_rdv_2h",
        {"policy": "deterministic", "code": "fr"},
    )
    parameters = [p["text"] for p in template["components"][0]["parameters"]]
    assert parameters == ["Marie", "15:00", "12 rue Lepic", "Agence Immobilière Demo"]


async def test_an_approved_template_asking_for_an_unknown_value_is_not_used(
    meta_world: World,
) -> None:
    """A template the confirmation cannot fill goes unused: the SMS carries it instead of a
    crash or a template with a hole."""
    service, box = meta_world.service, meta_world.sandbox
    await service.templates.save(
        TemplateDraft(
            channel=Channel.WHATSAPP,
            name="rdv_confirmation",
            language="fr",
            content="Bonjour {{1}}, bien pour {{2}} ?",
            variables=["prospect_name", "property_address"],
            whatsapp_name="rdv_confirmation_fr",
            approval_status=ApprovalStatus.APPROVED,
        )
    )
    prospect = await add_prospect(service, "Marie Dupont", whatsapp=PHONE, phone=PHONE)
    await service.booking.book(prospect, START, confirmed=True, location="12 rue Lepic")
    await send_all(meta_world)
    assert box.requests("meta", "/messages") == []
    [text] = sms_texts(meta_world)
    assert text.startswith("Bonjour Marie, votre RDV est confirmé le jeudi 12 mars à 15:00")
