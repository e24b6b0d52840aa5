"""What the prospect is told when an agent books, moves or cancels, and the re-booking offer.

Reminders go out too; these tests look at the notices only (``meta["notice"]``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.booking.appointments import AppointmentDraft
from core.channels.segments import count_segments
from core.domain.enums import AppointmentStatus, Channel, Direction, MessageKind, SenderType
from core.errors import InvalidInput
from core.events import Alert
from core.storage import tables as t
from tests.factories import add_prospect
from tests.unit.appointments.test_booking import paris


@pytest.fixture
async def agent(service) -> int:
    for channel in (Channel.SMS, Channel.EMAIL):
        await service.tenant_settings.save_channel(channel, enabled=True)
    return (await service.agents.add("Alice Martin")).id


async def told(service, prospect_id: int) -> list[t.MessageRow]:
    """The notices queued to the prospect (not the reminders), oldest first."""
    M = t.MessageRow
    async with service.db.session() as session:
        rows = await session.execute(
            select(M)
            .where(
                M.prospect_id == prospect_id,
                M.direction == Direction.OUTBOUND,
                M.kind == MessageKind.MESSAGE,
            )
            .order_by(M.id)
        )
        return [row for row in rows.scalars() if (row.meta or {}).get("notice")]


async def test_an_agents_book_move_and_cancel_are_each_told_once(service, agent) -> None:
    prospect = await add_prospect(service, "Marie Dupont", phone="+33612345678")
    booked = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    await service.booking.move(booked.id, paris(2026, 3, 11, 15, 0))
    await service.booking.confirm(booked.id)  # the prospect's OUI: answered elsewhere
    await service.booking.cancel(booked.id, "empêchement")
    notices = await told(service, prospect)
    # booked without the prospect's agreement: a proposal, which never says "confirmé"
    assert [m.meta["notice"] for m in notices] == ["proposal", "moved", "cancelled"]
    texts = [m.content for m in notices]
    assert "nous vous proposons un rendez-vous (visite) le mercredi 11 mars à 10:00" in texts[0]
    assert "avec Alice Martin" in texts[0] and "confirmé" not in texts[0]
    assert "est déplacé au mercredi 11 mars à 15:00" in texts[1]
    assert "du mercredi 11 mars à 15:00 est annulé" in texts[2]
    assert {m.channel_type for m in notices} == {Channel.SMS}


async def test_a_notice_is_weighed_on_the_text_it_sends(service, agent) -> None:
    """The decision's length reason is the SMS's own text's (two segments), not a stand-in's
    ("mercredi 11 mars à 10:00", one segment): what the agent reads is what was sent."""
    prospect = await add_prospect(service, "Marie Dupont", phone="+33612345678")
    await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    (proposal,) = await told(service, prospect)
    sent = count_segments(proposal.content)
    (length,) = [r for r in proposal.meta["decision"]["reasons"] if r["criterion"] == "length"]
    assert length["params"]["units"] == sent.units > 160
    assert length["params"]["segments"] == sent.segments == 2


async def test_a_prospects_own_cancellation_is_not_told_back(service, agent) -> None:
    """The prospect's booking is confirmed; their cancellation is answered where they made it."""
    prospect = await add_prospect(service, "Marie Dupont", phone="+33612345678")
    booked = await service.booking.book(
        prospect, paris(2026, 3, 11, 10, 0), by=SenderType.PROSPECT, confirmed=True
    )
    await service.booking.cancel(booked.id, by=SenderType.PROSPECT)
    assert [m.meta["notice"] for m in await told(service, prospect)] == ["confirmation"]


async def test_a_prospect_no_channel_reaches_keeps_the_booking_and_alerts(service, agent) -> None:
    prospect = await add_prospect(service, "Sans Contact", telegram_chat_id=42)  # telegram off
    async with service.bus.subscribe() as queue:
        booked = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
        events = [queue.get_nowait() for _ in range(queue.qsize())]
    alerts = [e for e in events if isinstance(e, Alert)]
    assert [a.key for a in alerts] == [f"appointment-notice:{booked.id}"]
    assert "the prospect could not be told" in alerts[0].message
    assert (await service.appointments.get(booked.id)).status == AppointmentStatus.PROPOSED
    assert await told(service, prospect) == []


async def test_the_rebooking_offer_lists_free_slots_only_after_a_no_show(
    service, agent, clock
) -> None:
    prospect = await add_prospect(service, "Luc Moreau", phone="+33611223344")
    start = clock.now - timedelta(hours=1)
    missed = await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect,
            agent_id=agent,
            starts_at=start,
            ends_at=start + timedelta(minutes=45),
            status=AppointmentStatus.CONFIRMED,
        )
    )
    with pytest.raises(InvalidInput, match="only a missed appointment"):
        await service.booking_notices.offer_rebooking(missed.id)
    await service.booking.mark_no_show(missed.id)
    assert await told(service, prospect) == []  # marking a no-show sends nothing by itself
    assert await service.booking_notices.offer_rebooking(missed.id) == Channel.SMS
    (offer,) = await told(service, prospect)
    assert offer.meta["notice"] == "rebook"
    assert offer.content.startswith("Nous vous avons attendu pour votre visite")
    assert "- mar. 10 mars 14:00" in offer.content


async def reminder_times(service, appointment_id: int) -> dict[str, object]:
    """The pending reminders of an appointment: purpose -> when it may go out."""
    out = t.OutboxRow
    async with service.db.session() as session:
        rows = await session.execute(
            select(out).where(out.appointment_id == appointment_id, out.status == "pending")
        )
        return {
            row.purpose: row.not_before
            for row in rows.scalars()
            if row.purpose.startswith("reminder_")
        }


async def test_a_proposed_appointment_is_reminded_only_to_be_confirmed(service, agent) -> None:
    """Until the prospect agrees, only the day-before reminder (it asks OUI or NON) is queued:
    no "in 2 hours", no "waiting for you", no survey for a visit never agreed to."""
    prospect = await add_prospect(service, "Marie Dupont", phone="+33612345678")
    booked = await service.booking.book(prospect, paris(2026, 3, 12, 10, 0))
    assert set(await reminder_times(service, booked.id)) == {"reminder_h24"}
    await service.booking.confirm(booked.id)
    assert set(await reminder_times(service, booked.id)) == {
        "reminder_h24",
        "reminder_h2",
        "reminder_m30",
        "reminder_survey",
    }


async def test_moving_an_appointment_re_plans_its_reminders(service, agent) -> None:
    prospect = await add_prospect(service, "Marie Dupont", phone="+33612345678")
    booked = await service.booking.book(prospect, paris(2026, 3, 12, 10, 0))
    await service.booking.confirm(booked.id)
    before = await reminder_times(service, booked.id)
    assert before["reminder_m30"] == paris(2026, 3, 12, 9, 30)
    await service.booking.move(booked.id, paris(2026, 3, 13, 15, 0))
    after = await reminder_times(service, booked.id)
    assert after.keys() == before.keys()
    assert after["reminder_m30"] == paris(2026, 3, 13, 14, 30)
    assert after["reminder_h24"] == paris(2026, 3, 12, 15, 0)


async def test_an_agents_notice_is_signed_by_that_agent(service, agent) -> None:
    """The thread shows the agent who booked as the proposal's sender, not "Agent"."""
    service.ctx.agent_id = agent
    prospect = await add_prospect(service, "Marie Dupont", phone="+33612345678")
    await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    [proposal] = await told(service, prospect)
    assert (proposal.sender_type, proposal.sender_id) == (SenderType.AGENT, agent)
    thread = await service.conversations.thread(proposal.conversation_id)
    [shown] = [m for m in thread.messages if m.id == proposal.id]
    assert shown.sender_name == "Alice Martin"
