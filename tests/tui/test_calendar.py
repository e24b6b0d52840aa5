"""The calendar (``c`` from the inbox): day and week, per agent, states and reminders' states,
one query per view, opening a conversation from an appointment."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from textual.widgets import Static

from core.domain.enums import AppointmentStatus, MessageStatus
from core.i18n import language, set_language
from inbox_app.screens.calendar import CalendarScreen, CalendarTable
from inbox_app.screens.conversation import ConversationScreen
from tests.tui.calendar_data import fill_calendar, paris
from tests.tui.helpers import settle
from tests.tui.scenario import say


def table_rows(app) -> list[list[str]]:
    table = app.screen.query_one(CalendarTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def title(app) -> str:
    return str(app.screen.query_one("#title", Static).render())


def details(app) -> str:
    return str(app.screen.query_one("#details", Static).render())


async def open_calendar(pilot) -> None:
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CalendarScreen)


async def test_today_shows_every_state_and_the_reminders(app, service, ids) -> None:
    await fill_calendar(service, ids)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_calendar(pilot)
        assert title(app) == "Calendar — Tuesday 10 March 2026 · all agents"
        rows = table_rows(app)
        assert [(r[0], r[2], r[1]) for r in rows] == [
            ("Tue 10 Mar 09:00", "Luc Moreau", "done"),
            ("Tue 10 Mar 10:00", "Marie Dupont", "no-show"),
            ("Tue 10 Mar 15:00", "Sophie Bernard", "confirmed"),
            ("Tue 10 Mar 17:00", "Jean Martin", "cancelled"),
        ]
        assert all(r[3] == "Camille" for r in rows)
        booked = rows[2]
        assert booked[5] == "delivered ×1 · scheduled ×2"
        assert rows[0][5] == "none"
        table = app.screen.query_one(CalendarTable)
        table.move_cursor(row=2)
        await settle(pilot)
        text = details(app)
        assert "Sophie Bernard" in text and "When: Tuesday 10 March 2026 at 15:00" in text
        assert "• 2 h before by SMS, Tue 10 Mar 13:00: delivered" in text
        assert "• 30 min before by SMS, Tue 10 Mar 14:30: scheduled" in text
        assert "• survey by SMS, Tue 10 Mar 16:15: scheduled" in text


async def test_a_proposed_appointment_says_its_reminders_come_once_confirmed(
    app, service, ids
) -> None:
    await service.booking.book(ids["luc"], paris(10, 18), agent_id=ids["agent"])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_calendar(pilot)
        [proposed] = [r for r in table_rows(app) if r[1] == "proposed"]
        assert proposed[5] == "once confirmed"
        assert "Reminders: once confirmed" in details(app)


async def test_a_proposed_appointment_gone_by_has_no_reminder_to_come(
    app, service, ids, clock
) -> None:
    await service.booking.book(ids["luc"], paris(10, 18), agent_id=ids["agent"])
    clock.now = paris(10, 19)  # never confirmed, and now over
    async with app.run_test(size=(160, 40)) as pilot:
        await open_calendar(pilot)
        [proposed] = [r for r in table_rows(app) if r[1] == "proposed"]
        assert proposed[5] == "none"
        assert "Reminders: none" in details(app)


async def test_week_agents_and_moving_through_periods(app, service, ids) -> None:
    await fill_calendar(service, ids)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_calendar(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert title(app) == "Calendar — week of Mon 9 Mar to Sun 15 Mar 2026 · all agents"
        rows = table_rows(app)
        assert len(rows) == 5 and rows[-1][0] == "Thu 12 Mar 15:00"  # the scenario's own
        assert rows[-1][3] == "—"  # no agent
        await pilot.press("a")
        await settle(pilot)
        assert title(app).endswith("· Camille")
        assert len(table_rows(app)) == 4
        await pilot.press("a")
        await settle(pilot)
        assert title(app).endswith("· all agents")
        await pilot.press("n")
        await settle(pilot)
        assert title(app).startswith("Calendar — week of Mon 16 Mar")
        assert table_rows(app) == [] and details(app) == "No appointment in this period."
        await pilot.press("t", "d")
        await settle(pilot)
        assert title(app) == "Calendar — Tuesday 10 March 2026 · all agents"
        await pilot.press("p")
        await settle(pilot)
        assert title(app).startswith("Calendar — Monday 9 March 2026")


async def test_enter_opens_the_conversation_and_keys_act_on_the_row(app, service, ids) -> None:
    made = await fill_calendar(service, ids)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_calendar(pilot)
        table = app.screen.query_one(CalendarTable)
        table.move_cursor(row=2)  # Sophie's booked appointment
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert app.screen.thread is not None
        assert app.screen.thread.prospect.id == ids["sophie"]
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        # Cancel from the calendar: asked, then done; the row shows it at once.
        await pilot.press("X")
        await settle(pilot)
        await pilot.press("enter")  # "Yes, cancel the appointment" is the first choice
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert table_rows(app)[2][1] == "cancelled"
    cancelled = await service.appointments.get(made["booked"])
    assert cancelled.status == AppointmentStatus.CANCELLED


async def test_french_dates_and_words(app, service, ids) -> None:
    await fill_calendar(service, ids)
    previous = language()
    set_language("fr")
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await open_calendar(pilot)
            assert title(app) == "Agenda — mardi 10 mars 2026 · tous les conseillers"
            rows = table_rows(app)
            assert rows[2][0] == "mar. 10 mars 15:00"
            assert [r[1] for r in rows] == ["effectué", "absent", "confirmé", "annulé"]
            assert rows[2][5] == "délivré ×1 · programmé ×2"
    finally:
        set_language(previous)


async def test_one_query_per_view_whatever_the_number_of_appointments(service, ids) -> None:
    await fill_calendar(service, ids)
    for day in range(11, 14):  # more appointments, each with its reminders
        booked = await service.booking.book(ids["luc"], paris(day, 10), agent_id=ids["agent"])
        await service.booking.confirm(booked.id)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = service.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        start = paris(9, 0)
        entries = await service.agenda.between(start, start + timedelta(days=7))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(entries) == 8
    assert sum(len(e.reminders) for e in entries) >= 10
    assert len(statements) == 1


async def test_reminders_written_without_the_worker_count_too(service, ids) -> None:
    """Reminders imported (or written by the demo) have no outbox row: their message counts."""
    made = await fill_calendar(service, ids)
    await say(
        service,
        ids["luc"],
        "Rappel : visite ce matin à 9h.",
        outbound=True,
        status=MessageStatus.READ,
        meta={"appointment_id": made["done"], "purpose": "reminder"},
    )
    await say(service, ids["luc"], "Un autre message", outbound=True)  # not a reminder
    start = paris(10, 0)
    entries = {
        e.appointment.id: e for e in await service.agenda.between(start, start + timedelta(days=1))
    }
    done = entries[made["done"]]
    assert [(r.kind, r.channel, r.status) for r in done.reminders] == [
        ("reminder", "sms", MessageStatus.READ)
    ]
    booked = entries[made["booked"]]
    assert [r.kind for r in booked.reminders] == ["h2", "m30", "survey"]
    assert booked.conversation_id is not None
