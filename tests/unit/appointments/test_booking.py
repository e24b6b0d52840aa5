"""Booking through the facade, on SQLite and PostgreSQL, with the fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.booking import service as booking_module
from core.booking.errors import BookingRefused, SlotTaken
from core.booking.service import AppointmentChange, ChangeKind
from core.domain.enums import AppointmentStatus, MessageKind, SenderType
from core.errors import InvalidInput
from core.events import Alert, AppointmentChanged
from core.i18n.deferred import render
from core.storage import tables as t
from tests.factories import add_message, add_prospect

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
async def agents(service) -> list[int]:
    alice = await service.agents.add("Alice Martin", "alice@agence-demo.fr")
    bruno = await service.agents.add("Bruno Petit")
    return [alice.id, bruno.id]


@pytest.fixture
async def prospect(service) -> int:
    return await add_prospect(service, phone="0612345678", email="marie@example.fr")


@pytest.fixture
def changes(service) -> list[AppointmentChange]:
    seen: list[AppointmentChange] = []

    async def record(change: AppointmentChange) -> None:
        seen.append(change)

    service.booking.on_change.append(record)
    return seen


async def count_appointments(service) -> int:
    async with service.db.session() as session:
        return (await session.execute(select(func.count()).select_from(t.AppointmentRow))).scalar()


async def events_of(service, prospect_id: int) -> list[t.MessageRow]:
    async with service.db.session() as session:
        query = select(t.MessageRow).where(
            t.MessageRow.prospect_id == prospect_id, t.MessageRow.kind == MessageKind.EVENT
        )
        return list((await session.execute(query.order_by(t.MessageRow.id))).scalars())


async def test_propose_then_book_records_the_event_and_calls_the_hooks(
    service, agents, prospect, changes
) -> None:
    conversation_id, _ = await add_message(service, prospect, "Bonjour, je voudrais visiter")
    slots = await service.booking.propose_slots("visit", count=3)
    assert [s.start.astimezone(PARIS).hour for s in slots] == [14, 14, 15]
    # "Any agent" spreads the offer: the second 14:xx slot goes to the other, idle agent.
    assert [s.agent_id for s in slots] == [agents[0], agents[1], agents[0]]
    async with service.bus.subscribe() as queue:
        appointment = await service.booking.book_slot(prospect, slots[0], location="12 rue Lepic")
        published = [queue.get_nowait() for _ in range(queue.qsize())]
    assert appointment.status == AppointmentStatus.PROPOSED
    assert appointment.starts_at == paris(2026, 3, 10, 14, 0)
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=45)
    assert appointment.location == "12 rue Lepic"
    assert AppointmentChanged(appointment.id) in published
    [event] = await events_of(service, prospect)
    assert event.conversation_id == conversation_id
    assert event.sender_type == SenderType.AGENT
    assert event.meta["event"] == "appointment.booked"
    assert event.meta["appointment_id"] == appointment.id
    assert event.content == ""  # an internal event: a key and parameters, put into words when shown
    assert "14:00" in render(event.meta["line"])
    [change] = changes
    assert change.kind == ChangeKind.BOOKED and change.previous is None
    assert change.appointment == appointment and change.conversation_id == conversation_id


async def test_book_defaults_the_place_from_the_type(service, agents, prospect) -> None:
    signing = await service.booking.book(prospect, paris(2026, 3, 12, 9, 0), kind="signing")
    assert signing.location == "15 rue de la Paix, 75002 Paris"
    assert signing.ends_at - signing.starts_at == timedelta(minutes=90)
    call = await service.booking.book(prospect, paris(2026, 3, 12, 14, 0), kind="call")
    assert call.location is None
    # With no conversation yet, the event opened one on a channel the prospect can be reached on.
    assert len(await events_of(service, prospect)) == 2


@pytest.mark.parametrize(
    ("start", "reason", "words"),
    [
        (paris(2026, 3, 10, 10, 0), "past", "past"),
        (paris(2026, 4, 6, 10, 0), "holiday", "Easter Monday"),
        (paris(2026, 3, 15, 10, 0), "day_off", "does not work"),
        (paris(2026, 3, 11, 12, 0), "outside_hours", "09:00–12:30, 14:00–19:00"),
        (paris(2026, 3, 11, 19, 0), "outside_hours", "working hours"),
    ],
)
async def test_bad_times_are_refused_clearly_and_nothing_is_written(
    service, agents, prospect, changes, start, reason, words
) -> None:
    with pytest.raises(BookingRefused) as caught:
        await service.booking.book(prospect, start, agent_id=agents[0])
    assert caught.value.reason == reason
    assert words in str(caught.value)
    assert await count_appointments(service) == 0
    assert await events_of(service, prospect) == [] and changes == []


async def test_bad_requests_are_refused(service, agents, prospect) -> None:
    start = paris(2026, 3, 11, 10, 0)
    with pytest.raises(BookingRefused, match="visit, valuation") as caught:
        await service.booking.book(prospect, start, kind="picnic")
    assert caught.value.reason == "unknown_kind"
    with pytest.raises(BookingRefused) as caught:
        await service.booking.book(prospect, start.replace(tzinfo=None))
    assert caught.value.reason == "not_aware"
    with pytest.raises(BookingRefused) as caught:
        await service.booking.book(prospect, start, agent_id=9999)
    assert caught.value.reason == "agent_unavailable"
    with pytest.raises(LookupError):
        await service.booking.book(9999, start)
    assert await count_appointments(service) == 0


async def test_no_agent_no_booking(service, prospect) -> None:
    with pytest.raises(BookingRefused) as caught:
        await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    assert caught.value.reason == "no_agent"


async def test_an_agent_is_never_double_booked_buffers_included(service, agents, prospect) -> None:
    alice = agents[0]
    await service.booking.book(prospect, paris(2026, 3, 11, 10, 0), agent_id=alice)
    for start in (paris(2026, 3, 11, 10, 0), paris(2026, 3, 11, 10, 30), paris(2026, 3, 11, 9, 30)):
        with pytest.raises(SlotTaken, match="Alice Martin already has"):
            await service.booking.book(prospect, start, agent_id=alice)
    # 10:45 end + 15 min buffer: 11:00 is free again; 9:00 + 45 + 15 ends at 10:00 exactly.
    await service.booking.book(prospect, paris(2026, 3, 11, 11, 0), agent_id=alice)
    await service.booking.book(prospect, paris(2026, 3, 11, 9, 0), agent_id=alice)
    # Any agent: Bruno takes the taken time.
    other = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    assert other.agent_id == agents[1]
    with pytest.raises(SlotTaken):
        await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))


async def test_move_rechecks_and_ignores_itself(service, agents, prospect, changes) -> None:
    alice = agents[0]
    first = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0), agent_id=alice)
    other = await service.booking.book(prospect, paris(2026, 3, 11, 14, 0), agent_id=alice)
    moved = await service.booking.move(first.id, paris(2026, 3, 11, 10, 30))
    assert moved.starts_at == paris(2026, 3, 11, 10, 30) and moved.agent_id == alice
    with pytest.raises(SlotTaken):
        await service.booking.move(first.id, paris(2026, 3, 11, 14, 30))
    with pytest.raises(BookingRefused) as caught:
        await service.booking.move(first.id, paris(2026, 4, 6, 10, 0))
    assert caught.value.reason == "holiday"
    to_bruno = await service.booking.move(first.id, paris(2026, 3, 11, 14, 0), agent_id=agents[1])
    assert to_bruno.agent_id == agents[1]
    assert (await service.appointments.get(other.id)).starts_at == paris(2026, 3, 11, 14, 0)
    assert [c.kind for c in changes] == ["booked", "booked", "moved", "moved"]
    assert changes[2].previous.starts_at == paris(2026, 3, 11, 10, 0)
    last = (await events_of(service, prospect))[-1]
    assert last.meta["previous_starts_at"] == paris(2026, 3, 11, 10, 30).astimezone(UTC).isoformat()


async def test_cancel_frees_the_slot_and_is_final(service, agents, prospect, changes) -> None:
    start = paris(2026, 3, 11, 10, 0)
    first = await service.booking.book(prospect, start, agent_id=agents[0])
    cancelled = await service.booking.cancel(first.id, "Le client a trouvé ailleurs")
    assert cancelled.status == AppointmentStatus.CANCELLED
    again = await service.booking.book(prospect, start, agent_id=agents[0])
    assert again.id != first.id
    with pytest.raises(BookingRefused) as caught:
        await service.booking.cancel(first.id)
    assert caught.value.reason == "final"
    with pytest.raises(BookingRefused):
        await service.booking.move(first.id, paris(2026, 3, 12, 10, 0))
    cancel_event = (await events_of(service, prospect))[1]
    assert cancel_event.meta["reason"] == "Le client a trouvé ailleurs"
    assert (
        changes[1].kind == ChangeKind.CANCELLED and changes[1].reason == cancel_event.meta["reason"]
    )


async def test_confirm_done_and_no_show_follow_the_clock(service, agents, prospect, clock) -> None:
    first = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    second = await service.booking.book(
        prospect, paris(2026, 3, 11, 14, 0), confirmed=True, location="12 rue Lepic"
    )
    assert second.status == AppointmentStatus.CONFIRMED
    assert (await service.booking.confirm(first.id)).status == AppointmentStatus.CONFIRMED
    with pytest.raises(BookingRefused) as caught:
        await service.booking.mark_done(first.id)
    assert caught.value.reason == "not_started"
    clock.advance(days=1, hours=5)
    assert (await service.booking.mark_done(first.id)).status == AppointmentStatus.DONE
    assert (await service.booking.mark_no_show(second.id)).status == AppointmentStatus.NO_SHOW
    with pytest.raises(BookingRefused):
        await service.booking.mark_done(second.id)
    kinds = [e.meta["event"] for e in await events_of(service, prospect)]
    assert kinds[-3:] == ["appointment.confirmed", "appointment.done", "appointment.no_show"]


async def test_a_failing_hook_never_loses_the_booking(service, agents, prospect) -> None:
    async def broken(change: AppointmentChange) -> None:
        raise RuntimeError("reminders are down")

    service.booking.on_change.append(broken)
    async with service.bus.subscribe() as queue:
        appointment = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
        alerts = [
            e
            for e in [queue.get_nowait() for _ in range(queue.qsize())]
            if isinstance(e, Alert) and e.key.startswith("appointment-hook:")
        ]
    assert (await service.appointments.get(appointment.id)).id == appointment.id
    assert len(alerts) == 1 and "reminders or messages may be missing" in alerts[0].message


async def test_a_prospect_abroad_sees_both_times(service, agents) -> None:
    abroad = await add_prospect(
        service, "John Smith", phone="+12125550100", timezone="America/New_York"
    )
    at_home = await add_prospect(service, "Marie Dupont", phone="0612345678")
    a = await service.booking.book(abroad, paris(2026, 3, 11, 15, 0))
    b = await service.booking.book(at_home, paris(2026, 3, 11, 10, 0))
    both = await service.booking.when(a)
    assert both.prospect is not None and "10:00" in both.prospect and "15:00" in both.agency
    assert "America/New_York" in str(both) and "15:00" in str(both)
    single = await service.booking.when(b)
    assert single.prospect is None and str(single) == single.agency


async def test_ics_and_calendar_link_of_a_booking(service, agents, prospect, clock) -> None:
    appointment = await service.booking.book(prospect, paris(2026, 3, 11, 15, 0), kind="signing")
    text = await service.booking.ics(appointment.id)
    assert "DTSTART;TZID=Europe/Paris:20260311T150000\r\n" in text
    assert "DTEND;TZID=Europe/Paris:20260311T163000\r\n" in text
    assert "LOCATION:15 rue de la Paix\\, 75002 Paris\r\n" in text
    assert "SEQUENCE:0\r\n" in text
    link = await service.booking.calendar_link(appointment.id)
    assert "dates=20260311T140000Z/20260311T153000Z" in link
    clock.advance(minutes=1)  # the cancellation comes later (its SEQUENCE counts from it)
    await service.booking.cancel(appointment.id)
    cancelled = await service.booking.ics(appointment.id)
    assert "STATUS:CANCELLED" in cancelled and "SEQUENCE:0" not in cancelled


@pytest.fixture
def slow_reads(monkeypatch):
    """Widen the race: every read of an agent's diary waits a little before the check."""
    real = booking_module._busy

    async def slow(*args, **kwargs):
        found = await real(*args, **kwargs)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(booking_module, "_busy", slow)


async def test_two_concurrent_bookings_of_one_slot_one_wins(
    service, agents, prospect, slow_reads
) -> None:
    start = paris(2026, 3, 11, 10, 0)
    other = await add_prospect(service, "Paul Durand", phone="0698765432")
    results = await asyncio.gather(
        service.booking.book(prospect, start, agent_id=agents[0]),
        service.booking.book(other, start, agent_id=agents[0]),
        return_exceptions=True,
    )
    booked = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(booked) == 1 and len(refused) == 1
    assert isinstance(refused[0], SlotTaken)
    assert await count_appointments(service) == 1


async def test_two_concurrent_any_agent_bookings_get_two_agents(
    service, agents, prospect, slow_reads
) -> None:
    start = paris(2026, 3, 11, 10, 0)
    results = await asyncio.gather(
        service.booking.book(prospect, start), service.booking.book(prospect, start)
    )
    assert sorted(r.agent_id for r in results) == sorted(agents)


async def test_an_answer_books_only_when_it_is_clear(service, agents, prospect, changes) -> None:
    when = await service.booking.read_answer("Demain à 15h, parfait")
    assert when is not None and when.exact
    appointment = await service.booking.book(
        prospect, when.start, by=SenderType.PROSPECT, confirmed=True
    )
    assert appointment.starts_at == paris(2026, 3, 11, 15, 0)
    [event] = await events_of(service, prospect)
    assert event.sender_type == SenderType.SARA and event.meta["by"] == "prospect"
    assert await service.booking.read_answer("pas demain, peut-être jeudi") is None
    window = await service.booking.read_answer("jeudi matin")
    slots = await service.booking.propose_slots(after=window.start, before=window.end, count=10)
    assert [s.start.astimezone(PARIS).strftime("%H:%M") for s in slots] == [
        "09:00", "09:30", "10:00", "10:30", "11:00",
    ]  # fmt: skip
    assert {s.start.astimezone(PARIS).day for s in slots} == {12}


async def test_upcoming_and_a_second_confirmation(service, agents, prospect, clock) -> None:
    first = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    second = await service.booking.book(prospect, paris(2026, 3, 12, 10, 0))
    third = await service.booking.book(prospect, paris(2026, 3, 13, 10, 0))
    await service.booking.cancel(third.id)
    assert [a.id for a in await service.booking.upcoming(prospect)] == [first.id, second.id]
    await service.booking.confirm(first.id)
    again = await service.booking.confirm(first.id)
    assert again.status == AppointmentStatus.CONFIRMED
    confirmations = [
        e for e in await events_of(service, prospect) if e.meta["event"] == "appointment.confirmed"
    ]
    assert len(confirmations) == 1
    clock.advance(days=1, hours=2)
    assert [a.id for a in await service.booking.upcoming(prospect)] == [second.id]


async def test_events_do_not_touch_the_inbox_row(service, agents, prospect) -> None:
    conversation_id, _ = await add_message(service, prospect, "Bonjour")
    before = await service.conversations.thread(conversation_id)
    await service.booking.book(prospect, paris(2026, 3, 11, 10, 0))
    after = await service.conversations.thread(conversation_id)
    assert after.conversation.unread_count == before.conversation.unread_count
    assert after.conversation.last_message_preview == "Bonjour"
    assert after.messages[-1].kind == MessageKind.EVENT


async def test_booking_settings_live_in_the_tenant_settings(service, agents, prospect) -> None:
    settings = await service.tenant_settings.get()
    hours = {"mon": [], "tue": [], "wed": [{"start": "08:00", "end": "10:00"}], "thu": [],
             "fri": [], "sat": [], "sun": []}  # fmt: skip
    data = settings.model_dump(mode="json")
    data["booking"]["agent_hours"] = {str(agents[1]): hours}
    await service.tenant_settings.save(data)
    slots = await service.booking.propose_slots("call", agent_id=agents[1], count=3)
    assert [s.start.astimezone(PARIS).strftime("%a %H:%M") for s in slots] == [
        "Wed 08:00", "Wed 08:30", "Wed 09:00",
    ]  # fmt: skip
    data["booking"]["agent_hours"] = {str(agents[1]): {**hours, "wed": [
        {"start": "08:00", "end": "10:00"}, {"start": "09:00", "end": "11:00"}]}}  # fmt: skip
    with pytest.raises(InvalidInput, match="overlap"):
        await service.tenant_settings.save(data)
    with pytest.raises(InvalidInput):
        await service.booking.propose_slots(count=0)


@pytest.fixture
def french():
    from core import i18n

    previous = i18n.language()
    i18n.set_language("fr")
    yield
    i18n.set_language(previous)


async def test_refusals_and_thread_lines_in_french(service, agents, prospect, french) -> None:
    with pytest.raises(
        BookingRefused, match="l'agence est fermée ce jour-là \\(lundi de Pâques\\)"
    ):
        await service.booking.book(prospect, paris(2026, 4, 6, 10, 0))
    appointment = await service.booking.book(prospect, paris(2026, 3, 11, 10, 0), kind="valuation")
    await service.booking.move(appointment.id, paris(2026, 3, 11, 14, 0))
    lines = [render(e.meta["line"]) for e in await events_of(service, prospect)]
    assert lines == [
        "Rendez-vous proposé : estimation le mercredi 11 mars 2026 à 10:00 "
        "(le prospect doit le confirmer)",
        "Rendez-vous déplacé : estimation désormais le mercredi 11 mars 2026 à 14:00 "
        "(au lieu du mercredi 11 mars 2026 à 10:00)",
    ]


async def test_a_telegram_button_books_through_its_token(service, agents, prospect) -> None:
    from core.booking.slots import parse_slot_token, slot_token

    [slot] = await service.booking.propose_slots("visit", count=1)
    chosen = parse_slot_token(slot_token(slot), await service.booking.calendar())
    appointment = await service.booking.book_slot(prospect, chosen, by=SenderType.PROSPECT)
    assert (appointment.starts_at, appointment.agent_id) == (slot.start, slot.agent_id)
    with pytest.raises(SlotTaken):  # the same button pressed twice
        await service.booking.book_slot(prospect, chosen, by=SenderType.PROSPECT)
