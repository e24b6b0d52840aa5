"""A "2 h before" reminder whose SMS fails for good falls back to WhatsApp with the approved
template outside the 24 h window, and to nothing when there is none (the message says why).

Over the sandbox's Twilio and Meta with the real SDKs, the real relay and the outbox worker, the
clock pinned at 03:00 and at 14:00 in Paris.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.availability import WEEKDAYS, WeeklyHours
from core.domain.enums import ApprovalStatus, Channel, MessageStatus, Provider
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.service.templates import TemplateDraft
from core.storage import tables as t
from tests.factories import add_prospect
from tests.integration.relay.test_end_to_end import World, world_for

PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"
CONTENT_SID = "HX" + "2" * 32
#: The SMS attempts the outbox makes before falling back: the first and one per retry delay.
SMS_ATTEMPTS = 4


@pytest.fixture(params=[Provider.TWILIO, Provider.META], ids=["twilio", "meta"])
async def world(request, service: InboxService) -> AsyncIterator[World]:
    await service.agents.add("Alice Martin", "alice@agence-demo.fr")
    async for value in world_for(service, request.param):
        yield value


async def approve_reminder_template(service: InboxService) -> None:
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
            content_sid=CONTENT_SID,
        )
    )


async def h2_reminder(world: World, clock, hour: int) -> t.MessageRow:
    """Book at ``hour`` (Paris) + 2 h 30; move to the 2 h reminder; make its SMS fail for good
    while WhatsApp refuses free text (closed window); run the worker through the retries."""
    service, box = world.service, world.sandbox
    settings = await service.tenant_settings.get()
    day = [{"start": "00:00", "end": "23:30"}]  # an agency that books around the clock
    booking = settings.booking.model_copy(
        update={"default_hours": WeeklyHours(**{d: day for d in WEEKDAYS})}
    )
    await service.tenant_settings.save(settings.model_copy(update={"booking": booking}))
    clock.now = datetime(2026, 3, 12, hour, 0, tzinfo=PARIS)
    prospect = await add_prospect(service, "Marie Dupont", phone=PHONE, whatsapp=PHONE)
    start = clock.now + timedelta(hours=2, minutes=30)
    booked = await service.booking.book(prospect, start, confirmed=True, location="12 rue Lepic")
    worker = OutboxWorker(service.ctx, world.runtime)
    await worker.drain()  # the confirmation (held by the night at 03:00)
    box.received.clear()
    clock.now = start - timedelta(hours=2)
    box.inject("twilio", "server_error", to=PHONE, times=SMS_ATTEMPTS)
    box.inject("twilio", "outside_window", to=f"whatsapp:{PHONE}", times=5)
    box.inject("meta", "outside_window", to=PHONE, times=5)
    for wait in (0, 60, 300, 900, 120):
        clock.advance(seconds=wait)
        await worker.drain()
    await world.flush()
    await worker.drain()
    [row] = await world.rows(
        t.OutboxRow, t.OutboxRow.appointment_id == booked.id, t.OutboxRow.purpose == "reminder_h2"
    )
    [message] = await world.rows(t.MessageRow, t.MessageRow.id == row.message_id)
    return message


def whatsapp_requests(world: World) -> list:
    box = world.sandbox
    twilio = [
        r
        for r in box.requests("twilio", "/Messages.json")
        if r.method == "POST" and r.body["To"][0].startswith("whatsapp:")
    ]
    return twilio + [r for r in box.requests("meta", "/messages") if r.method == "POST"]


def sms_requests(world: World) -> list:
    return [
        r
        for r in world.sandbox.requests("twilio", "/Messages.json")
        if r.method == "POST" and not r.body["To"][0].startswith("whatsapp:")
    ]


@pytest.mark.parametrize("hour", [3, 14])
async def test_failed_sms_reminder_falls_back_to_the_approved_whatsapp_template(
    world: World, clock, hour: int
) -> None:
    await approve_reminder_template(world.service)
    message = await h2_reminder(world, clock, hour)
    assert len(sms_requests(world)) == SMS_ATTEMPTS
    [request] = whatsapp_requests(world)
    if request.provider == "twilio":
        assert request.body["ContentSid"] == [CONTENT_SID]
        assert "Body" not in request.body  # the template reference, never free text
    else:
        assert request.body["type"] == "template" and "text" not in request.body
        assert request.body["template"]["name"] == "rappel_rdv_2h"
    assert message.channel_type == Channel.WHATSAPP
    assert message.status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
    assert message.content.startswith("Bonjour Marie, votre RDV est à")
    assert message.meta["fallback_channel"] == "whatsapp"


@pytest.mark.parametrize("hour", [3, 14])
async def test_without_an_approved_template_whatsapp_is_not_tried_and_the_message_says_why(
    world: World, clock, hour: int
) -> None:
    message = await h2_reminder(world, clock, hour)
    assert len(sms_requests(world)) == SMS_ATTEMPTS
    assert whatsapp_requests(world) == []  # no free text outside the window
    assert message.status == MessageStatus.FAILED and message.channel_type == Channel.SMS
    [why] = message.meta["left_out"]
    assert why["key"] == "pipeline.left_out.no_template" and why["params"]["channel"]
    warnings = [w["key"] for w in message.meta["decision"]["warnings"]]
    assert "pipeline.left_out.no_template" in warnings
