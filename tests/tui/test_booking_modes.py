"""Booking from the app says what it does: *propose* (the prospect confirms; the appointment stays
proposed; the text never says "confirmed") or *confirm* (the prospect agreed; confirmed; a place,
by phone or video, is required — never "to be specified"). Reminders are listed with the times
they will be sent, in the notification and in the thread."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.widgets import Select

from core.domain.enums import AppointmentStatus, Channel, MessageKind, MessageStatus
from core.storage import tables as t
from inbox_app.screens.booking import CONFIRM, BookingScreen
from inbox_app.screens.conversation import ConversationScreen
from tests.factories import add_prospect
from tests.integration.campaigns.conftest import world  # noqa: F401
from tests.tui.helpers import settle
from tests.tui.scenario import say
from tests.tui.test_booking import problem, type_time
from tests.tui.test_conversation import open_conversation, timeline_text
from tests.tui.test_switch_channel import ui_language

FRIDAY = "2026-03-13 15:00"  # three days after the scenario's "now"
PHONE = "+33655443322"


async def notices_to(service, prospect_id: int) -> list[t.MessageRow]:
    """The booking notices queued to the prospect (not reminders, not events)."""
    async with service.db.session() as session:
        rows = await session.execute(
            select(t.MessageRow)
            .where(t.MessageRow.prospect_id == prospect_id)
            .where(t.MessageRow.kind == MessageKind.MESSAGE)
            .order_by(t.MessageRow.id)
        )
        return [r for r in rows.scalars() if (r.meta or {}).get("notice")]


async def prospect_in(service, language: str) -> tuple[int, int]:
    """A prospect writing in ``language`` by SMS; (prospect id, conversation id)."""
    name = "Paul Durand" if language == "fr" else "Paul Smith"
    prospect = await add_prospect(
        service, name, phone=PHONE, language=language, timezone="Europe/Paris"
    )
    conversation, _ = await say(service, prospect, "Bonjour / Hello", minutes_ago=2)
    return prospect, conversation


async def book_on(app, pilot, conversation: int, *, confirm: bool, place: str | None) -> None:
    await open_conversation(app, pilot, conversation)
    await pilot.press("b")
    await settle(pilot)
    assert isinstance(app.screen, BookingScreen)
    if confirm:
        app.screen.query_one("#mode", Select).value = CONFIRM
    if place is not None:
        app.screen.query_one("#location", Select).value = place
    await settle(pilot)
    await type_time(app, pilot, FRIDAY)


@pytest.mark.parametrize(
    ("ui", "language", "proposed", "confirmed", "phone"),
    [
        ("en", "fr", "nous vous proposons un rendez-vous", "est confirmé", "par téléphone"),
        ("fr", "en", "we propose an appointment", "is confirmed", "by phone"),
    ],
)
async def test_propose_then_confirm_texts_match_the_appointment_state(
    app,
    ids,
    service,
    world,  # noqa: F811
    ui,
    language,
    proposed,
    confirmed,
    phone,
) -> None:
    prospect, conversation = await prospect_in(service, language)
    with ui_language(ui):
        async with app.run_test(size=(120, 40)) as pilot:
            # Propose: the prospect is asked, nothing is called confirmed.
            await book_on(app, pilot, conversation, confirm=False, place=None)
            assert isinstance(app.screen, ConversationScreen)
            [first] = await service.booking.upcoming(prospect)
            assert first.status == AppointmentStatus.PROPOSED
            [proposal] = await notices_to(service, prospect)
            assert proposal.meta["notice"] == "proposal"
            assert proposed in proposal.content
            for wrong in ("confirm\u00e9", "is confirmed", "à préciser", "to be specified"):
                assert wrong not in proposal.content
            await world.outbox.drain()  # the real Twilio SDK, to the provider sandbox
            assert any(proposed in body for body in world.sms_to(PHONE))
            # Confirm with no place: refused in the panel, nothing booked.
            await book_on(app, pilot, conversation, confirm=True, place=None)
            assert isinstance(app.screen, BookingScreen)
            needs = "needs a place" if ui == "en" else "a besoin d'un lieu"
            assert needs in problem(app)
            await pilot.press("escape")
            await settle(pilot)
            assert len(await service.booking.upcoming(prospect)) == 1
            # Confirm by phone: confirmed, and the text says so, with the place.
            await service.booking.cancel(first.id)
            await book_on(app, pilot, conversation, confirm=True, place="phone")
            assert isinstance(app.screen, ConversationScreen)
    live = await service.booking.upcoming(prospect)
    assert [(a.status, a.location) for a in live] == [(AppointmentStatus.CONFIRMED, "phone")]
    confirmation = (await notices_to(service, prospect))[-1]
    assert confirmation.meta["notice"] == "confirmation"
    assert confirmed in confirmation.content and phone in confirmation.content
    await world.outbox.drain()
    assert any(confirmed in body and phone in body for body in world.sms_to(PHONE))
    for wrong in ("à préciser", "to be specified"):
        assert wrong not in confirmation.content


async def test_the_core_refuses_a_confirmed_booking_without_a_place(service, ids) -> None:
    from core.booking.errors import BookingRefused
    from tests.tui.calendar_data import paris

    with pytest.raises(BookingRefused, match="needs a place"):
        await service.booking.book(ids["luc"], paris(13, 15), confirmed=True)
    call = await service.booking.book(ids["luc"], paris(13, 15), kind="call", confirmed=True)
    assert (call.status, call.location) == (AppointmentStatus.CONFIRMED, "phone")


@pytest.mark.parametrize(
    ("ui", "planned", "reminder"),
    [("en", "planned for", "24 h before: Thu 12 Mar 15:00"), ("fr", "prévu le", "24 h avant")],
)
async def test_reminders_are_listed_with_their_send_times(
    app, ids, service, ui, planned, reminder
) -> None:
    prospect, conversation = await prospect_in(service, "fr")
    with ui_language(ui):
        async with app.run_test(size=(120, 40)) as pilot:
            await book_on(app, pilot, conversation, confirm=True, place="phone")
            assert isinstance(app.screen, ConversationScreen)
            shown = "\n".join(n.message for n in app._notifications)
            assert reminder in shown
            await settle(pilot)
            thread = timeline_text(app)
    async with service.db.session() as session:
        rows = (
            await session.execute(
                select(t.OutboxRow).where(
                    t.OutboxRow.prospect_id == prospect, t.OutboxRow.purpose.like("reminder_%")
                )
            )
        ).scalars()
        due = sorted(r.not_before for r in rows)
    assert due, "the booking planned reminders"
    reminders = [
        m
        for m in (await service.conversations.thread(conversation)).messages
        if (m.metadata or {}).get("reminder") and m.status == MessageStatus.SCHEDULED
    ]
    assert reminders and all(m.channel in Channel for m in reminders)
    # each waiting reminder shows when it leaves, not when it was booked
    assert thread.count(planned) >= len(reminders)


@pytest.mark.parametrize(
    ("ui", "unsaid"), [("en", "the proposal will not say where"), ("fr", "ne dira pas où venir")]
)
async def test_proposing_a_visit_with_no_place_says_the_proposal_will_not_say_where(
    app, ids, service, ui, unsaid
) -> None:
    _, conversation = await prospect_in(service, "fr")
    with ui_language(ui):
        async with app.run_test(size=(120, 40)) as pilot:
            await open_conversation(app, pilot, conversation)
            await pilot.press("b")
            await settle(pilot)
            assert isinstance(app.screen, BookingScreen)

            def hint() -> str:
                return str(app.screen.query_one("#mode_hint").render())

            assert unsaid in hint()  # a visit's usual place is the property: none chosen yet
            app.screen.query_one("#location", Select).value = "phone"
            await settle(pilot)
            assert unsaid not in hint()
