"""The automation policy over the sandbox: loops end, machines are not answered, pauses explain.

Real adapters, the sandbox's personas, the relay, ingest, Sara and the outbox worker; only the
clock is pinned — at 03:00 (agency closed: the out-of-hours reply is due) and at 14:00 Paris —
and a whole day is simulated by moving it.

Bounds (the README's "Automation policy" states them):
- the echoing prospect (``echoes``: "OUI" to every message) gets at most ``max_per_hour``
  (default 5) automated messages over the day: one confirmation, then the echoes are left to
  an agent (a "OUI" right after a confirmation may only repeat it); with that guard off, one
  answer per appointment (a second "OUI" for a confirmed appointment gets nothing), then
  automation pauses, and stays paused until an agent resumes it;
- without an appointment, the echoing prospect gets at most one automated message a day (the
  out-of-hours reply at 03:00; nothing at 14:00);
- the e-mail auto-responder (``away``: "Je suis absente…", ``Auto-Submitted: auto-replied``)
  gets no automated message at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.booking.appointments import AppointmentDraft
from core.domain.decision import ReplyDraft
from core.domain.enums import AppointmentStatus, Channel, MessageKind, Provider, SenderType
from core.events import Alert
from core.i18n.deferred import render as render_line
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import conversation_for
from providers.sandbox.personas import PERSONAS
from tests.conftest import FakeClock
from tests.factories import add_prospect
from tests.integration.relay.test_end_to_end import World, world_for

PARIS = ZoneInfo("Europe/Paris")
ECHOES = next(p for p in PERSONAS if p.key == "echoes")
AWAY = next(p for p in PERSONAS if p.key == "away")
#: The default ceiling (``TenantSettings.automation.max_per_hour``).
CEILING = 5


@pytest.fixture(params=[3, 14], ids=["03h00-paris", "14h00-paris"])
def clock(request: pytest.FixtureRequest) -> FakeClock:
    """Tuesday 10 March 2026 at 03:00 or 14:00 in Paris."""
    local = datetime(2026, 3, 10, request.param, 0, tzinfo=PARIS)
    return FakeClock(local.astimezone(UTC))


@pytest.fixture
async def world(service: InboxService) -> AsyncIterator[World]:
    async for value in world_for(service, Provider.TWILIO):
        yield value


async def run_day(world: World, clock: FakeClock, hours: float = 24) -> None:
    """Let the day go by: send what is due, post the sandbox's webhooks, ingest; a minute at a
    time while something happens, an hour at a time when all is quiet."""
    end = clock.now + timedelta(hours=hours)
    outbox = OutboxWorker(world.service.ctx, world.runtime)
    while clock.now < end:
        before = len(world.sandbox.received)
        await outbox.drain()
        posted = await world.flush()
        busy = posted or len(world.sandbox.received) != before
        clock.advance(minutes=1) if busy else clock.advance(hours=1)


def sms_to(world: World, phone: str) -> list[str]:
    return [
        r.body["Body"][0]
        for r in world.sandbox.requests("twilio", "/Messages.json")
        if r.method == "POST" and r.body.get("To") == [phone]
    ]


def mails_to(world: World, address: str) -> list[dict]:
    return [
        r.body
        for r in world.sandbox.requests("sendgrid", "/mail/send")
        if r.body["personalizations"][0]["to"][0]["email"] == address
    ]


async def automated(world: World, prospect_id: int) -> list[t.MessageRow]:
    return [
        m
        for m in await world.rows(t.MessageRow, t.MessageRow.prospect_id == prospect_id)
        if m.sender_type == SenderType.SARA and m.kind == MessageKind.MESSAGE
    ]


async def propose(service: InboxService, prospect_id: int, days: int) -> int:
    start = service.ctx.now() + timedelta(days=days)
    appointment = await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status=AppointmentStatus.PROPOSED,
            location="12 rue des Lilas",
        )
    )
    return appointment.id


async def test_an_echoing_prospect_with_proposals_gets_one_confirmation(
    world: World, clock: FakeClock
) -> None:
    """Each "OUI" echoed back would confirm the next proposal: Sara confirms the first and
    leaves the echoes to an agent, saying why (the proposals stay to be confirmed)."""
    service = world.service
    prospect = await add_prospect(service, ECHOES.name, phone=ECHOES.phone)
    proposals = [await propose(service, prospect, days) for days in range(3, 11)]
    clock.advance(minutes=1)  # the prospect answers after the proposals were made
    world.sandbox.twilio.enqueue_inbound(ECHOES.phone, world.sandbox.twilio.sms_number, "OUI")
    await run_day(world, clock)

    statuses = [(await service.appointments.get(p)).status for p in proposals]
    assert statuses == [AppointmentStatus.CONFIRMED] + [AppointmentStatus.PROPOSED] * 7
    confirmations = [text for text in sms_to(world, ECHOES.phone) if "confirmé" in text]
    assert len(confirmations) == 1
    events = await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert any((m.meta or {}).get("action") == "echo" for m in events)
    assert await world.rows(t.AutomationPauseRow) == []


async def test_an_echoing_prospect_with_appointments_pauses_automation_at_the_ceiling(
    world: World, clock: FakeClock
) -> None:
    """The ceiling is the backstop of every loop: with the echo guard off, each "OUI" confirms
    the next proposal until automation pauses."""
    world.worker.echo_guard = False
    service = world.service
    prospect = await add_prospect(service, ECHOES.name, phone=ECHOES.phone)
    for days in range(3, 11):  # eight proposals: each "OUI" confirms the next one
        await propose(service, prospect, days)
    alerts: list[Alert] = []
    async with service.bus.subscribe() as queue:
        world.sandbox.twilio.enqueue_inbound(ECHOES.phone, world.sandbox.twilio.sms_number, "OUI")
        await run_day(world, clock)
        while not queue.empty():
            event = queue.get_nowait()
            if isinstance(event, Alert):
                alerts.append(event)

    sent = sms_to(world, ECHOES.phone)
    assert len(sent) == CEILING, sent  # the bound: max_per_hour over the whole day
    assert all("confirmé" in text for text in sent)
    held = [m for m in await automated(world, prospect) if m.status == "held"]
    assert len(held) == 1 and held[0].meta["automation"] == {"outcome": "held", "reason": "ceiling"}
    [conversation] = await world.rows(t.ConversationRow)
    [pause] = await world.rows(t.AutomationPauseRow)
    assert pause.conversation_id == conversation.id and pause.resumed_at is None
    assert pause.details == {"count": CEILING, "limit": CEILING}
    [event] = [
        m
        for m in await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
        if (m.meta or {}).get("event") == "automation_paused_ceiling"
    ]
    shown = render_line(event.meta["line"])  # stored untranslated, read in the agent's language
    assert event.meta["internal"] and ECHOES.name in shown and event.content == ""
    assert f"{CEILING}" in shown and event.id > held[0].id - 5
    [alert] = alerts
    assert alert.key == f"automation_paused:{conversation.id}" and ECHOES.name in alert.message
    state = await service.automation.state(conversation.id)
    assert state.paused and state.reason == "ceiling" and state.held == 1

    # The agent resumes and releases what was held: it goes out, the count starts afresh.
    assert await service.automation.resume_automation(conversation.id, release=True) == 1
    assert not (await service.automation.state(conversation.id)).paused
    await run_day(world, clock, hours=2)
    after = sms_to(world, ECHOES.phone)
    assert CEILING < len(after) <= 2 * CEILING + 1  # released + at most one more hour's worth
    resumed = await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert any((m.meta or {}).get("event") == "automation_resumed" for m in resumed)
    [entry] = [
        a
        for a in await world.rows(t.AuditLogRow)
        if a.action == "automation_resume" and a.subject_id == conversation.id
    ]
    assert entry.details == {"released": 1}


async def test_a_second_oui_gets_no_second_confirmation(world: World, clock: FakeClock) -> None:
    service = world.service
    prospect = await add_prospect(service, ECHOES.name, phone=ECHOES.phone)
    appointment = await propose(service, prospect, 3)
    world.sandbox.twilio.enqueue_inbound(ECHOES.phone, world.sandbox.twilio.sms_number, "OUI")
    await run_day(world, clock)

    assert (await service.appointments.get(appointment)).status == AppointmentStatus.CONFIRMED
    sent = sms_to(world, ECHOES.phone)
    assert len(sent) == 1 and "confirmé" in sent[0]  # the echo of it got nothing
    inbound = await world.rows(t.MessageRow, t.MessageRow.direction == "inbound")
    assert [m.content for m in inbound] == ["OUI", "OUI"]
    log = await world.rows(t.AutomationLogRow)
    acks = [(r.intent, r.outcome, r.reason) for r in log if r.intent.startswith("confirm_ack")]
    assert acks == [
        (f"confirm_ack:appointment:{appointment}", "sent", "allowed"),
        (f"confirm_ack:appointment:{appointment}", "quiet", "repeat"),
    ]
    # the confirmation planned the appointment's reminders once, the echo nothing more
    planned = [r.intent.split(":")[0] for r in log if r.outcome == "planned"]
    assert sorted(planned) == sorted(set(planned)) and "reminder_m30" in planned
    assert await world.rows(t.AutomationPauseRow) == []
    # the thread says the echo found it confirmed already, not that it was confirmed again
    lines = [
        m.meta["line"]["key"]
        for m in await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
        if "line" in (m.meta or {}) and m.meta["line"]["key"].startswith("sara.")
    ]
    assert lines == ["sara.event_confirmed", "sara.event_already_confirmed_quiet"]


async def test_an_echoing_prospect_without_appointment_gets_one_reply_a_day_at_most(
    world: World, clock: FakeClock
) -> None:
    service = world.service
    prospect = await add_prospect(service, ECHOES.name, phone=ECHOES.phone)
    world.sandbox.twilio.enqueue_inbound(ECHOES.phone, world.sandbox.twilio.sms_number, "OUI")
    closed = clock.now.astimezone(PARIS).hour == 3
    await run_day(world, clock)

    sent = sms_to(world, ECHOES.phone)
    assert len(sent) == (1 if closed else 0)  # the bound: one out-of-hours reply a day
    inbound = await world.rows(t.MessageRow, t.MessageRow.direction == "inbound")
    assert len(inbound) == 1 + len(sent)
    assert len(await automated(world, prospect)) == len(sent)


async def test_an_email_auto_responder_is_never_answered(world: World, clock: FakeClock) -> None:
    service = world.service
    prospect = await add_prospect(service, AWAY.name, email=AWAY.email)
    await service.outbound.send_unified(
        prospect,
        ReplyDraft(text="Bonjour Inès, la visite de jeudi vous convient-elle ?", subject="Visite"),
        preferred_channel=Channel.EMAIL,
    )
    await run_day(world, clock)

    assert len(mails_to(world, AWAY.email)) == 1  # the agent's; nothing automated answered
    assert await automated(world, prospect) == []
    [reply] = await world.rows(t.MessageRow, t.MessageRow.direction == "inbound")
    assert reply.content.startswith("Bonjour, je suis absente")
    assert reply.meta["automated"] == "auto_submitted"
    assert reply.meta["extra"]["auto_headers"]["auto-submitted"] == "auto-replied"
    decided = await world.rows(t.AutomationLogRow)
    assert decided == []  # Sara did not even try: the machine's message is left to an agent


async def test_the_policy_checks_in_the_same_transaction_it_records(
    service: InboxService, clock: FakeClock
) -> None:
    """``check`` called directly (as the pipeline will): allowed, then a repeat."""
    from core.automation import AutomatedSend, check

    prospect = await add_prospect(service, "Léa", phone="+33600000001")
    async with service.db.session() as session:
        row = await session.get(t.ProspectRow, prospect)
        conversation = await conversation_for(session, row, Channel.SMS, "+33600000001")
        send = AutomatedSend(service.ctx.tenant_id, prospect, conversation.id, "reminder", "a:1")
        first = await check(session, send, clock.now)
        second = await check(session, send, clock.now + timedelta(minutes=5))
        other = await check(
            session,
            AutomatedSend(service.ctx.tenant_id, prospect, conversation.id, "reminder", "a:2"),
            clock.now,
        )
    assert (first.allowed, first.reason) == (True, "allowed")
    assert (second.allowed, second.held, second.reason) == (False, False, "repeat")
    assert other.allowed
    async with service.db.session() as session:
        count = len((await session.execute(select(t.AutomationLogRow))).scalars().all())
    assert count == 3


async def test_a_reminder_queued_before_the_pause_is_held_when_due(
    world: World, clock: FakeClock
) -> None:
    """The pause also holds automated messages queued before it (at send time, in the outbox)."""
    from core.automation import AutomatedSend, check

    service = world.service
    await service.agents.add("Alice Martin", "alice@agence-demo.fr")
    prospect = await add_prospect(service, "Léa Petit", phone="+33612000003")
    start = (clock.now + timedelta(days=1)).astimezone(PARIS).replace(hour=15, minute=0)
    appointment = await service.booking.book(
        prospect, start, confirmed=True, location="12 rue des Lilas"
    )
    outbox = OutboxWorker(service.ctx, world.runtime)
    await outbox.drain()  # the booking's confirmation goes now
    reminders = await world.rows(t.OutboxRow, t.OutboxRow.appointment_id == appointment.id)
    h2 = next(r for r in reminders if r.purpose == "reminder_h2")
    async with service.db.session() as session:
        for n in range(CEILING + 1):
            send = AutomatedSend(service.ctx.tenant_id, prospect, h2.conversation_id, f"t:{n}")
            verdict = await check(session, send, clock.now)
    assert verdict.held
    before = len(sms_to(world, "+33612000003"))
    clock.now = start.astimezone(UTC) - timedelta(hours=2)
    await outbox.drain()
    [row] = await world.rows(t.OutboxRow, t.OutboxRow.id == h2.id)
    [message] = await world.rows(t.MessageRow, t.MessageRow.id == h2.message_id)
    assert row.status == "paused" and message.status == "held"
    assert message.meta["automation"] == {"outcome": "held", "reason": "paused"}
    assert len(sms_to(world, "+33612000003")) == before
    assert (await service.automation.state(h2.conversation_id)).held >= 1

    released = await service.automation.resume_automation(h2.conversation_id, release=True)
    await outbox.drain()
    [row] = await world.rows(t.OutboxRow, t.OutboxRow.id == h2.id)
    assert row.status == "sent" and released >= 1
    assert len(sms_to(world, "+33612000003")) == before + released  # released, sent once each
