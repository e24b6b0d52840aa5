"""Appointment reminders: the seed's strategy, cancellation on cancel/move, expiry, survey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.booking.appointments import AppointmentDraft
from core.domain.enums import AppointmentStatus, Channel, MessageStatus, OutboxStatus
from core.outbox.worker import OutboxWorker
from core.reminders.plan import ReminderKind, plan
from core.storage import tables as t
from core.storage.timeline import preview_of
from tests.conftest import FakeClock
from tests.unit.outbox.conftest import Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime, server_error

#: Thursday 12 March 2026, 15:00 in Paris.
START = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)


async def book(scene: Scene, start: datetime = START) -> int:
    appointment = await scene.service.appointments.create(
        AppointmentDraft(
            prospect_id=scene.prospect_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            location="12 rue des Lilas",
            status=AppointmentStatus.CONFIRMED,
        )
    )
    return appointment.id


async def rows(scene: Scene) -> dict[str, t.OutboxRow]:
    async with scene.service.db.session() as session:
        found = (await session.execute(select(t.OutboxRow).order_by(t.OutboxRow.id))).scalars()
        return {r.purpose + ("" if r.status != "cancelled" else ":cancelled"): r for r in found}


def test_plan_follows_the_seed_strategy() -> None:
    now = START - timedelta(days=3)
    planned = {r.kind: r for r in plan(START, START + timedelta(hours=1), now)}
    assert planned[ReminderKind.H24].send_at == START - timedelta(hours=24)
    assert planned[ReminderKind.H24].allowed == {Channel.EMAIL, Channel.SMS}
    assert planned[ReminderKind.H2].allowed == {Channel.SMS, Channel.WHATSAPP}
    assert planned[ReminderKind.H2].expires_at == START - timedelta(minutes=30)
    assert planned[ReminderKind.M30].allowed == {Channel.SMS}
    assert planned[ReminderKind.M30].expires_at == START
    survey = planned[ReminderKind.SURVEY]
    assert survey.send_at - (START + timedelta(hours=1)) <= timedelta(hours=1)
    # Booked 90 minutes ahead: only the 30-minute reminder and the survey remain.
    late = plan(START, START + timedelta(hours=1), START - timedelta(minutes=90))
    assert [r.kind for r in late] == [ReminderKind.M30, ReminderKind.SURVEY]


def test_the_survey_is_marked_so_that_sara_reads_the_answer() -> None:
    from core.reminders.service import reminder_meta

    assert reminder_meta(ReminderKind.SURVEY, 7) == {
        "reminder": "survey",
        "appointment_id": 7,
        "survey": True,
    }
    assert "survey" not in reminder_meta(ReminderKind.H24, 7)


async def test_reminders_are_queued_and_sent_at_their_moments(
    scene: Scene, clock: FakeClock
) -> None:
    appointment_id = await book(scene)
    assert await scene.service.outbound.reminders.sync(appointment_id) == 4
    assert await scene.service.outbound.reminders.sync(appointment_id) == 0  # idempotent
    queued = await rows(scene)
    assert set(queued) == {"reminder_h24", "reminder_h2", "reminder_m30", "reminder_survey"}
    assert queued["reminder_m30"].channel_type == Channel.SMS
    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms, email))
    clock.now = START - timedelta(hours=24)
    await worker.drain()
    assert len(sms.sent) + len(email.sent) == 1
    assert "15:00" in (sms.sent or email.sent)[0].text
    clock.now = START - timedelta(hours=2)
    await worker.drain()
    clock.now = START - timedelta(minutes=30)
    await worker.drain()
    clock.now = START + timedelta(hours=1, minutes=30)
    await worker.drain()
    texts = [m.text for m in sms.sent + email.sent]
    # A prospect without a language gets the tenant's (French), whatever the app speaks.
    assert len(texts) == 4 and "Notez votre expérience de 1 à 5" in texts[-1]


async def conversations(scene: Scene) -> list[tuple[str, int, str]]:
    """Each of the prospect's conversations as the inbox lists it: preview, count, direction."""
    async with scene.service.db.session() as session:
        query = select(t.ConversationRow).where(t.ConversationRow.prospect_id == scene.prospect_id)
        found = (await session.execute(query)).scalars()
        return sorted(
            (c.last_message_preview, c.message_count, c.last_message_direction) for c in found
        )


async def test_a_reminder_shows_in_the_inbox_when_it_goes_out_not_when_it_is_planned(
    scene: Scene, clock: FakeClock
) -> None:
    before = await conversations(scene)
    appointment_id = await book(scene)
    await scene.service.outbound.reminders.sync(appointment_id)
    # planned a day ahead: counted, but the inbox still shows the prospect's question
    assert [(p, d) for p, _, d in await conversations(scene)] == [(p, d) for p, _, d in before]
    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL)
    clock.now = START - timedelta(hours=24)
    await OutboxWorker(scene.service.ctx, FakeRuntime(sms, email)).drain()
    [sent] = sms.sent + email.sent
    previews = [p for p, _, d in await conversations(scene) if d == "outbound"]
    # an e-mail is listed by its subject, an SMS by its text (it carries no subject)
    expected = "Rappel de rendez-vous" if email.sent else preview_of(sent.text)
    assert previews == [expected]


async def test_cancelled_appointment_withdraws_its_reminders(
    scene: Scene, clock: FakeClock
) -> None:
    appointment_id = await book(scene)
    await scene.service.outbound.reminders.sync(appointment_id)
    await scene.service.appointments.set_status(appointment_id, AppointmentStatus.CANCELLED)
    await scene.service.outbound.reminders.sync(appointment_id)
    async with scene.service.db.session() as session:
        statuses = set((await session.execute(select(t.OutboxRow.status))).scalars())
        messages = set(
            (
                await session.execute(
                    select(t.MessageRow.status).where(t.MessageRow.direction == "outbound")
                )
            ).scalars()
        )
    assert statuses == {OutboxStatus.CANCELLED} and messages == {MessageStatus.CANCELLED}


async def test_worker_cancels_a_reminder_whose_appointment_moved_without_a_sync(
    scene: Scene, clock: FakeClock
) -> None:
    appointment_id = await book(scene)
    await scene.service.outbound.reminders.sync(appointment_id)
    moved = START + timedelta(days=2)
    async with scene.service.db.session() as session:  # changed behind the booking's back
        row = await session.get(t.AppointmentRow, appointment_id)
        row.starts_at, row.ends_at = moved, moved + timedelta(hours=1)
    sms = FakeAdapter(Channel.SMS)
    clock.now = START - timedelta(minutes=30)
    await OutboxWorker(scene.service.ctx, FakeRuntime(sms, FakeAdapter(Channel.EMAIL))).drain()
    assert not sms.sent
    # Syncing plans the new ones; the old ones are all closed.
    assert await scene.service.outbound.reminders.sync(appointment_id) == 4
    current = await rows(scene)
    assert current["reminder_m30"].not_before == moved - timedelta(minutes=30)


async def test_a_2h_reminder_held_past_its_moment_expires(scene: Scene, clock: FakeClock) -> None:
    appointment_id = await book(scene)
    await scene.service.outbound.reminders.sync(appointment_id)
    sms = FakeAdapter(Channel.SMS, [server_error()] * 3)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms, FakeAdapter(Channel.EMAIL)))
    clock.now = START - timedelta(hours=2)
    await worker.drain()  # 2 h reminder fails (retry at +60 s)
    clock.now = START - timedelta(minutes=31)
    await worker.drain()  # fails again; the next retry would be after its expiry
    h2 = (await rows(scene))["reminder_h2"]
    assert h2.status == OutboxStatus.EXPIRED
    async with scene.service.db.session() as session:
        message = await session.get(t.MessageRow, h2.message_id)
        assert message.status == MessageStatus.EXPIRED


async def _prefer_email(scene: Scene) -> None:
    from core.domain.models import ProspectDraft

    prospect = await scene.service.prospects.get(scene.prospect_id)
    await scene.service.prospects.update(
        scene.prospect_id,
        ProspectDraft(
            display_name=prospect.display_name,
            phone=prospect.phone,
            email=prospect.email,
            preferred_channel=Channel.EMAIL,
        ),
    )


async def test_email_reminder_not_opened_after_6h_is_followed_by_sms(
    scene: Scene, clock: FakeClock
) -> None:
    await _prefer_email(scene)
    appointment_id = await book(scene)
    assert await scene.service.outbound.reminders.sync(appointment_id) == 5
    queued = await rows(scene)
    assert queued["reminder_h24"].channel_type == Channel.EMAIL
    assert queued["reminder_h24_unread"].channel_type == Channel.SMS
    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms, email))
    clock.now = START - timedelta(hours=24)
    await worker.drain()
    assert len(email.sent) == 1 and not sms.sent
    clock.now = START - timedelta(hours=18)
    await worker.drain()
    assert len(sms.sent) == 1  # the email was not opened


async def test_opened_email_reminder_cancels_the_sms_follow_up(
    scene: Scene, clock: FakeClock
) -> None:
    await _prefer_email(scene)
    appointment_id = await book(scene)
    await scene.service.outbound.reminders.sync(appointment_id)
    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms, email))
    clock.now = START - timedelta(hours=24)
    await worker.drain()
    h24 = (await rows(scene))["reminder_h24"]
    async with scene.service.db.session() as session:
        message = await session.get(t.MessageRow, h24.message_id)
        message.read_at = clock.now + timedelta(hours=1)
        message.status = MessageStatus.READ
    clock.now = START - timedelta(hours=18)
    await worker.drain()
    assert not sms.sent
    assert (await rows(scene))["reminder_h24_unread:cancelled"].status == OutboxStatus.CANCELLED


async def test_follow_listens_to_appointment_changes(scene: Scene) -> None:
    import asyncio

    stop = asyncio.Event()
    task = asyncio.create_task(scene.service.outbound.reminders.follow(stop))
    await asyncio.sleep(0.05)
    appointment_id = await book(scene)
    for _ in range(100):
        if len(await rows(scene)) == 4:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert {r.appointment_id for r in (await rows(scene)).values()} == {appointment_id}


async def test_a_survey_sent_on_done_is_not_planned_again_by_a_later_sync(
    scene: Scene, clock: FakeClock
) -> None:
    """Marked done before any sync (an appointment entered by hand): one survey, not two."""
    appointment_id = await book(scene)
    clock.now = START + timedelta(minutes=50)
    await scene.service.appointments.set_status(appointment_id, AppointmentStatus.DONE)
    reminders = scene.service.outbound.reminders
    assert await reminders.survey_now(appointment_id)
    await reminders.sync(appointment_id)  # what the engine's follower does on the change
    surveys = [r for r in (await rows(scene)).values() if r.purpose == "reminder_survey"]
    assert len(surveys) == 1 and surveys[0].not_before == clock.now


async def test_only_an_email_reminder_carries_a_subject(scene: Scene) -> None:
    """The reminder's subject is the e-mail's: an SMS (first choice or fallback) carries none."""
    await scene.service.outbound.reminders.sync(await book(scene))
    async with scene.service.db.session() as session:
        messages = (await session.execute(select(t.MessageRow))).scalars().all()
        outbox = (await session.execute(select(t.OutboxRow))).scalars().all()
    reminders = [m for m in messages if m.direction == "outbound"]
    assert {m.channel_type for m in reminders} >= {Channel.SMS}
    for message in reminders:
        assert (message.subject is not None) == (message.channel_type == Channel.EMAIL)
    for row in outbox:
        for channel, variant in row.payload.get("variants", {}).items():
            assert (variant.get("subject") is not None) == (channel == Channel.EMAIL), channel
