"""Book, move and cancel from a conversation with the engine on: the prospect is told through the
sandbox and the reminders follow.

Nothing is faked: the app starts the sandbox, the relay, the outbox worker and the reminder
worker as ``coccinelle`` does; each notice goes through the orchestrator, the outbox and the
real provider SDK to the sandbox, on the channel the orchestrator picks for that prospect.
"""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import Select

from core.domain.decision import ReplyDraft
from core.domain.enums import (
    DEFAULT_PROVIDER,
    AppointmentStatus,
    Channel,
    Direction,
    MessageKind,
    MessageType,
    OutboxStatus,
)
from core.orchestrator.decide import decide
from core.reminders.service import planned_for
from core.storage import tables as t
from inbox_app.app import InboxApp
from inbox_app.screens.booking import CONFIRM, BookingScreen
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.conversation import ConversationScreen
from tests.tui.helpers import settle
from tests.tui.test_booking import choose
from tests.tui.test_end_to_end import demo_service, first_conversation, wait_until  # noqa: F401

OPEN = (OutboxStatus.PENDING, OutboxStatus.HELD)


async def expected_channel(service, prospect_id: int) -> Channel:
    """The channel the orchestrator picks now for an appointment message to the prospect."""
    draft = ReplyDraft(text="Rendez-vous", message_type=MessageType.APPOINTMENT)
    context = await service.outbound.routing_context(prospect_id, draft)
    channel = decide(context, draft).channel
    assert channel is not None
    return channel


async def last_notice(service, prospect_id: int) -> t.MessageRow | None:
    """The latest confirmation or notice queued to the prospect (not a reminder)."""
    M = t.MessageRow
    async with service.db.session() as session:
        rows = await session.execute(
            select(M)
            .where(
                M.prospect_id == prospect_id,
                M.direction == Direction.OUTBOUND,
                M.kind == MessageKind.MESSAGE,
            )
            .order_by(M.id.desc())
            .limit(50)
        )
        return next((row for row in rows.scalars() if (row.meta or {}).get("notice")), None)


async def reminders(service, appointment_id: int) -> list[t.OutboxRow]:
    O = t.OutboxRow  # noqa: E741
    async with service.db.session() as session:
        rows = await session.execute(
            select(O).where(O.appointment_id == appointment_id, O.purpose.like("reminder_%"))
        )
        return list(rows.scalars())


async def pick_appointment(app, pilot, appointment_id: int) -> None:
    """Answer "which appointment?" when the prospect has more than one."""
    screen = app.screen
    if isinstance(screen, ChoiceScreen) and str(appointment_id) in dict(screen.choices):
        await choose(app, pilot, str(appointment_id))


async def test_book_move_and_cancel_reach_the_prospect_and_replan_reminders(
    demo_service,  # noqa: F811
) -> None:
    service, settings = demo_service
    conversation = await first_conversation(service, Channel.SMS)
    prospect = (await service.conversations.thread(conversation)).prospect
    app = InboxApp(service=service, settings=settings, engine=True)
    async with app.run_test(size=(120, 40)) as pilot:

        async def engine_ready() -> bool:
            return app.engine is not None

        await wait_until(pilot, engine_ready)
        sandbox = app.engine.sandbox

        async def told(previous_id: int | None, what: str) -> t.MessageRow:
            """Wait for a new notice, check its kind and channel, and that the sandbox got it."""
            channel = await expected_channel(service, prospect.id)

            async def queued() -> bool:
                notice = await last_notice(service, prospect.id)
                return notice is not None and notice.id != previous_id

            await wait_until(pilot, queued)
            notice = await last_notice(service, prospect.id)
            assert notice is not None and notice.meta["notice"] == what
            assert notice.channel_type == channel
            provider = str(DEFAULT_PROVIDER[channel])

            async def received() -> bool:
                return any(
                    r.provider == provider and notice.content[:40] in str(r.body)
                    for r in sandbox.received
                )

            await wait_until(pilot, received)
            return notice

        before = await last_notice(service, prospect.id)
        before_id = before.id if before is not None else None

        # Book, confirmed by phone (the prospect agreed): the first free slot.
        app.push_screen(ConversationScreen(conversation))
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BookingScreen)
        app.screen.query_one("#mode", Select).value = CONFIRM
        app.screen.query_one("#location", Select).value = "phone"
        await settle(pilot)
        app.screen.query_one("#slots").focus()
        await settle(pilot)
        slot = app.screen.slots[0]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        booked = next(
            a for a in await service.booking.upcoming(prospect.id) if a.starts_at == slot.start
        )
        confirmation = await told(before_id, "confirmation")

        async def planned_for_start() -> bool:
            rows = await reminders(service, booked.id)
            return bool(rows) and all(
                r.status in OPEN and r.payload["appointment_starts_at"] == planned_for(slot.start)
                for r in rows
            )

        await wait_until(pilot, planned_for_start)
        first_plan = {r.id for r in await reminders(service, booked.id)}

        # Move: the second free slot of the panel.
        await pilot.press("M")
        await settle(pilot)
        await pick_appointment(app, pilot, booked.id)
        assert isinstance(app.screen, BookingScreen) and app.screen.moving is not None
        new = app.screen.slots[1]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert (await service.appointments.get(booked.id)).starts_at == new.start
        change = await told(confirmation.id, "moved")

        async def replanned() -> bool:
            rows = await reminders(service, booked.id)
            old = [r for r in rows if r.id in first_plan]
            fresh = [r for r in rows if r.id not in first_plan]
            return (
                all(r.status == OutboxStatus.CANCELLED for r in old)
                and bool(fresh)
                and all(
                    r.status in OPEN
                    and r.payload["appointment_starts_at"] == planned_for(new.start)
                    for r in fresh
                )
            )

        await wait_until(pilot, replanned)

        # Cancel: confirmed first.
        await pilot.press("X")
        await settle(pilot)
        await pick_appointment(app, pilot, booked.id)
        await choose(app, pilot, "yes")
        assert (await service.appointments.get(booked.id)).status == AppointmentStatus.CANCELLED
        await told(change.id, "cancelled")

        async def all_cancelled() -> bool:
            rows = await reminders(service, booked.id)
            return all(r.status == OutboxStatus.CANCELLED for r in rows)

        await wait_until(pilot, all_cancelled)
    assert app.engine is not None and app.engine.sandbox is None
