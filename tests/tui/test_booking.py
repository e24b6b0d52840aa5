"""The booking panel (``b``) and the appointment keys of a conversation: move, cancel, done and
no-show, with their notices to the prospect and the refusals shown in the panel."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import select
from textual.widgets import Input, OptionList, Static

from core.booking.appointments import AppointmentDraft
from core.domain.enums import AppointmentStatus, Channel, MessageStatus
from core.storage import tables as t
from inbox_app.app import InboxApp
from inbox_app.screens.booking import BookingScreen
from inbox_app.screens.calendar import CalendarScreen
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.help import HelpScreen
from inbox_app.screens.inbox import InboxScreen
from tests.factories import add_prospect
from tests.tui.calendar_data import paris
from tests.tui.helpers import settle
from tests.tui.scenario import NOW, say
from tests.tui.test_conversation import open_conversation, timeline_text

QUEUED = (MessageStatus.QUEUED, MessageStatus.SCHEDULED, MessageStatus.HELD)


def problem(app) -> str:
    return str(app.screen.query_one("#problem", Static).render())


def slot_texts(app) -> list[str]:
    options = app.screen.query_one("#slots", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def notices(service, prospect_id: int, words: str) -> list:
    """The prospect's outgoing messages containing ``words``."""
    async with service.db.session() as session:
        rows = await session.execute(
            select(t.MessageRow).where(
                t.MessageRow.prospect_id == prospect_id, t.MessageRow.content.contains(words)
            )
        )
        return list(rows.scalars())


async def choose(app, pilot, option_id: str) -> None:
    """Pick ``option_id`` in the open ChoiceScreen."""
    assert isinstance(app.screen, ChoiceScreen)
    options = app.screen.query_one(OptionList)
    options.highlighted = options.get_option_index(option_id)
    await pilot.press("enter")
    await settle(pilot)


async def type_time(app, pilot, text: str) -> None:
    field = app.screen.query_one("#at", Input)
    field.value = ""
    field.focus()
    await pilot.press(*text, "enter")
    await settle(pilot)


async def test_b_books_the_chosen_free_slot_and_the_prospect_is_told(app, service, ids) -> None:
    expected = await service.booking.propose_slots("visit", count=8)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BookingScreen)
        assert app.screen.slots == expected
        assert slot_texts(app)[0] == "Tue 10 Mar 14:00 — Camille"
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert "Appointment proposed: visit on Tuesday 10 March 2026 at 14:30" in timeline_text(app)
        # a proposal (the prospect confirms), not a confirmation
        proposal = "nous vous proposons un rendez-vous (visite) le mardi 10 mars à 14:30 avec"
        assert proposal in timeline_text(app)
    booked = [a for a in await service.booking.upcoming(ids["marie"]) if a.agent_id]
    assert [(a.starts_at, a.agent_id) for a in booked] == [(expected[1].start, ids["agent"])]
    told = await notices(service, ids["marie"], "nous vous proposons")
    assert len(told) == 1 and told[0].status in QUEUED
    assert told[0].meta["notice"] == "proposal"
    assert not await notices(service, ids["marie"], "confirmé")


async def test_refusals_show_in_the_panel_which_stays_open(app, service, ids) -> None:
    other = await service.booking.book(ids["jean"], paris(11, 10), agent_id=ids["agent"])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("b")
        await settle(pilot)
        for typed, why in (
            ("2026-03-09 10:00", "this time is already past"),
            ("2026-04-06 10:00", "the agency is closed that day (Easter Monday)"),
            ("2026-03-11 21:00", "outside Camille's working hours"),
            ("2026-03-11 10:00", "Camille already has an appointment at that time"),
            ("whenever you like", "time not understood"),
        ):
            await type_time(app, pilot, typed)
            assert isinstance(app.screen, BookingScreen), typed
            assert why in problem(app), (typed, problem(app))
        # A slot taken by someone else after the panel listed it: refused, list refreshed.
        first = app.screen.slots[0]
        await service.booking.book(ids["luc"], first.start, agent_id=first.agent_id)
        app.screen.query_one("#slots", OptionList).focus()
        app.screen.query_one("#slots", OptionList).highlighted = 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BookingScreen)
        assert "already has an appointment" in problem(app)
        assert app.screen.slots and app.screen.slots[0].start != first.start
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
    mine = await service.booking.upcoming(ids["marie"])
    assert all(a.agent_id is None for a in mine)  # only the scenario's own appointment
    assert (await service.appointments.get(other.id)).status == AppointmentStatus.PROPOSED


async def test_words_book_an_exact_time_or_narrow_the_slots(app, service, ids) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("b")
        await settle(pilot)
        await type_time(app, pilot, "wednesday afternoon")
        assert isinstance(app.screen, BookingScreen)
        starts = [s.start for s in app.screen.slots]
        assert starts and all(paris(11, 12) <= s < paris(11, 18) for s in starts)
        assert slot_texts(app)[0] == "Wed 11 Mar 14:00 — Camille"
        await type_time(app, pilot, "demain 15h")
        assert isinstance(app.screen, ConversationScreen)
    booked = [a for a in await service.booking.upcoming(ids["marie"]) if a.agent_id]
    assert [a.starts_at for a in booked] == [paris(11, 15)]


async def test_a_prospect_abroad_sees_both_times(app, service, ids) -> None:
    john = await add_prospect(
        service, "John Smith", phone="+12125550100", timezone="America/New_York"
    )
    conversation, _ = await say(service, john, "Can we visit next week?")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, conversation)
        await pilot.press("b")
        await settle(pilot)
        zones = str(app.screen.query_one("#zones", Static).render())
        assert "Europe/Paris" in zones and "America/New_York" in zones
        # 14:00 in Paris is 09:00 in New York (the US is already on summer time on 10 March).
        assert (
            slot_texts(app)[0] == "Tue 10 Mar 14:00 — Camille (prospect's time: Tue 10 Mar 09:00)"
        )


async def test_move_then_cancel_from_the_conversation(app, service, ids) -> None:
    mine = await service.booking.book(
        ids["marie"], paris(11, 10), agent_id=ids["agent"], conversation_id=ids["marie_sms"]
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("M")
        await settle(pilot)
        if isinstance(app.screen, ChoiceScreen):  # Marie has two appointments to move
            await choose(app, pilot, str(mine.id))
        assert isinstance(app.screen, BookingScreen) and app.screen.moving is not None
        assert app.screen.moving.id == mine.id
        assert mine.starts_at not in [s.start for s in app.screen.slots]
        target = app.screen.slots[2]
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert "Appointment moved: visit now on" in timeline_text(app)
        moved = await service.appointments.get(mine.id)
        assert moved.starts_at == target.start

        # Cancel: asked first; Escape keeps it.
        for answer in ("escape", "yes"):
            await pilot.press("X")
            await settle(pilot)
            if isinstance(app.screen, ChoiceScreen) and app.screen.choices[0][0] != "yes":
                await choose(app, pilot, str(mine.id))
            assert isinstance(app.screen, ChoiceScreen)
            assert "The prospect will be told" in str(app.screen.query_one(Static).render())
            if answer == "escape":
                await pilot.press("escape")
                await settle(pilot)
                live = await service.appointments.get(mine.id)
                assert live.status == AppointmentStatus.PROPOSED
            else:
                await choose(app, pilot, "yes")
        assert "Appointment cancelled: visit on" in timeline_text(app)
    assert (await service.appointments.get(mine.id)).status == AppointmentStatus.CANCELLED
    assert len(await notices(service, ids["marie"], "est déplacé au")) == 1
    assert len(await notices(service, ids["marie"], "est annulé")) == 1


async def past_appointment(service, ids, prospect: str) -> int:
    appointment = await service.appointments.create(
        AppointmentDraft(
            prospect_id=ids[prospect],
            agent_id=ids["agent"],
            starts_at=NOW - timedelta(minutes=55),
            ends_at=NOW - timedelta(minutes=10),
            status=AppointmentStatus.CONFIRMED,
        )
    )
    return appointment.id


@contextlib.asynccontextmanager
async def reminders_following(service):
    """The engine's reminder worker: re-plans reminders whenever an appointment changes."""
    stop = asyncio.Event()
    task = asyncio.create_task(service.outbound.reminders.follow(stop))
    await asyncio.sleep(0)
    try:
        yield
    finally:
        stop.set()
        await task


async def reminder_rows(service, appointment_id: int) -> list:
    async with service.db.session() as session:
        rows = await session.execute(
            select(t.OutboxRow).where(t.OutboxRow.appointment_id == appointment_id)
        )
        return list(rows.scalars())


async def wait_for(predicate, tries: int = 100) -> None:
    for _ in range(tries):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_done_queues_the_survey(app, service, ids) -> None:
    appointment = await past_appointment(service, ids, "luc")
    async with reminders_following(service), app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["luc_voice"])
        await pilot.press("D")
        await settle(pilot)
        assert "Appointment done: visit on" in timeline_text(app)

        async def survey() -> bool:
            rows = await reminder_rows(service, appointment)
            return [r.purpose for r in rows] == ["reminder_survey"]

        await wait_for(survey)
    assert (await service.appointments.get(appointment)).status == AppointmentStatus.DONE


async def test_no_show_then_the_rebooking_offer(app, service, ids) -> None:
    appointment = await past_appointment(service, ids, "luc")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["luc_voice"])
        await pilot.press("N")
        await settle(pilot)
        assert (await service.appointments.get(appointment)).status == AppointmentStatus.NO_SHOW
        assert isinstance(app.screen, ChoiceScreen)
        assert "Offer Luc Moreau another appointment?" in str(app.screen.query_one(Static).render())
        await choose(app, pilot, "yes")
        assert isinstance(app.screen, ConversationScreen)
        assert "No-show: visit on" in timeline_text(app)
        # A second N finds nothing started and still open.
        await pilot.press("N")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
    offer = await notices(service, ids["luc"], "Nous vous avons attendu pour votre visite")
    assert len(offer) == 1 and offer[0].channel_type == Channel.SMS
    assert offer[0].meta["notice"] == "rebook" and "- mar. 10 mars 14:00" in offer[0].content


async def test_a_refused_change_is_explained_and_changes_nothing(app, service, ids) -> None:
    future = await service.booking.book(ids["luc"], paris(11, 10), agent_id=ids["agent"])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["luc_voice"])
        await pilot.press("D")  # not started yet: nothing to mark
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        notes = [str(n.message) for n in app._notifications]
        assert any("No started, still open appointment" in n for n in notes)
    assert (await service.appointments.get(future.id)).status == AppointmentStatus.PROPOSED


async def test_the_help_lists_the_appointment_keys_without_clashes(app, ids) -> None:
    for screen in (InboxScreen, ConversationScreen, CalendarScreen):
        keys = [b.key for b in [*screen.BINDINGS, *InboxApp.BINDINGS]]
        split = [k for key in keys for k in key.split(",")]
        assert len(split) == len(set(split)), screen
    async with app.run_test(size=(120, 60)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#keys", Static).render())
        for key, words in (
            ("b", "Book"),
            ("M", "Move appt"),
            ("X", "Cancel appt"),
            ("D", "Appt done"),
            ("N", "No-show"),
        ):
            assert any(
                line.strip().startswith(key) and words in line for line in text.splitlines()
            ), key
