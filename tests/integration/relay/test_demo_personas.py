"""The demo's simulated prospects cannot start a loop: ten simulated minutes, every persona active.

Every persona of the sandbox is a prospect with two proposed visits; the agent writes to each on
every channel that reaches them (SMS, e-mail, Telegram: WhatsApp is closed until they write)
at 14:00 Paris, and the
personas answer as they do (once per message, never an acknowledgement; ``echoes`` answers
everything "OUI"; ``away`` is an e-mail auto-responder). The clock then moves a minute at a time
for ten minutes while the outbox sends, the sandbox posts its webhooks and Sara answers.

The bound: the agent's own messages (3 per persona, 24) plus, per prospect, at most
``max_per_hour`` (5) automated messages — 64 in all, whatever the personas do. Measured: 36
(24 + 12 automated), all in the first minute; the nine minutes after it are silent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.booking.appointments import AppointmentDraft
from core.domain.decision import ReplyDraft
from core.domain.enums import AppointmentStatus, Channel, Provider, SenderType
from core.domain.models import ProspectDraft
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import conversation_for
from providers.sandbox.personas import PERSONAS
from tests.conftest import FakeClock
from tests.integration.relay.test_end_to_end import World, world_for

PARIS = ZoneInfo("Europe/Paris")
CEILING = 5
#: The program's sending endpoints in the sandbox (what reaches a prospect).
SENDS = (
    ("twilio", "/Messages.json"),
    ("sendgrid", "/mail/send"),
    ("telegram", "/sendMessage"),
    ("telegram", "/sendPhoto"),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 10, 14, 0, tzinfo=PARIS).astimezone(UTC))


@pytest.fixture
async def world(service: InboxService) -> AsyncIterator[World]:
    async for value in world_for(service, Provider.TWILIO):
        bot = value.runtime.adapter(Channel.TELEGRAM)
        await bot.set_webhook(
            f"{value.relay_url}/webhooks/telegram/{value.sandbox.telegram.bot_id}"
        )
        yield value


def sent(world: World) -> int:
    return sum(
        1
        for provider, path in SENDS
        for r in world.sandbox.requests(provider, path)
        if r.method == "POST"
    )


async def greet_everyone(service: InboxService) -> int:
    """Each persona: a prospect, two proposed visits, the agent's question on each channel."""
    written = 0
    for persona in PERSONAS:
        prospect = await service.prospects.create(
            ProspectDraft(
                display_name=persona.name,
                phone=persona.phone,
                whatsapp=persona.phone,
                email=persona.email,
                telegram_chat_id=persona.chat_id,
            )
        )
        for days in (2, 4):
            start = service.ctx.now() + timedelta(days=days)
            await service.appointments.create(
                AppointmentDraft(
                    prospect_id=prospect.id,
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    status=AppointmentStatus.PROPOSED,
                    location="8 rue Oberkampf",
                )
            )
        for channel, address in (
            (Channel.SMS, persona.phone),
            (Channel.EMAIL, persona.email),
            (Channel.TELEGRAM, str(persona.chat_id)),
        ):
            async with service.db.session() as session:
                row = await session.get(t.ProspectRow, prospect.id)
                conversation = await conversation_for(session, row, channel, address)
            await service.outbound.send_reply(
                conversation.id,
                ReplyDraft(
                    text=f"Bonjour {persona.name}, la visite de jeudi vous convient-elle ?",
                    subject="Votre visite",
                ),
                channel=channel,
            )
            written += 1
    return written


async def test_ten_minutes_of_demo_with_every_persona_send_a_bounded_number(
    world: World, clock: FakeClock
) -> None:
    service = world.service
    by_agent = await greet_everyone(service)
    clock.advance(seconds=30)  # the personas answer after the questions were asked
    outbox = OutboxWorker(service.ctx, world.runtime)
    per_minute = []
    for _ in range(10):
        before = sent(world)
        for _ in range(3):  # answers to answers within the minute
            await outbox.drain()
            await world.flush()
        per_minute.append(sent(world) - before)
        clock.advance(minutes=1)

    total = sent(world)
    bound = by_agent + CEILING * len(PERSONAS)
    assert by_agent == 3 * len(PERSONAS)
    assert total <= bound, (total, bound, per_minute)
    assert per_minute[-3:] == [0, 0, 0], per_minute  # it settles: nothing loops
    async with service.db.session() as session:
        M = t.MessageRow
        query = (
            select(M.prospect_id, func.count())
            .where(M.sender_type == SenderType.SARA, M.kind == "message", M.status != "held")
            .group_by(M.prospect_id)
        )
        automated = dict((await session.execute(query)).all())
        appointments = (await session.execute(select(t.AppointmentRow))).scalars().all()
    assert automated and max(automated.values()) <= CEILING, automated
    confirmed = [a.prospect_id for a in appointments if a.status == AppointmentStatus.CONFIRMED]
    assert confirmed and len(confirmed) == len(set(confirmed)), confirmed  # one "OUI", one visit
