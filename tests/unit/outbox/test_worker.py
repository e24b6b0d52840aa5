"""The outbox worker with a recording adapter: sending, retries at the configured delays,
Retry-After, fallback chains, crash reconciliation, holds and terminal states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.config.settings import OrchestratorSettings
from core.domain.decision import ReplyDraft
from core.domain.enums import (
    OUTBOX_TERMINAL,
    Channel,
    MessageStatus,
    MessageType,
    OutboxStatus,
    Urgency,
)
from core.errors import InvalidInput
from core.events import Alert
from core.outbox.worker import OutboxWorker
from core.storage import tables as t
from core.storage.timeline import UNSURFACED
from tests.conftest import FakeClock
from tests.factories import add_message
from tests.unit.orchestrator.helpers import context
from tests.unit.outbox.conftest import EMAIL, PHONE, Scene
from tests.unit.outbox.fakes import (
    FakeAdapter,
    FakeRuntime,
    invalid_number,
    rate_limited,
    refused,
    server_error,
    timeout,
)


def worker(scene: Scene, runtime: FakeRuntime, **settings: object) -> OutboxWorker:
    return OutboxWorker(
        scene.service.ctx, runtime, OrchestratorSettings(**settings), worker_id="w1"
    )


async def outbox_rows(scene: Scene) -> list[t.OutboxRow]:
    async with scene.service.db.session() as session:
        return list((await session.execute(select(t.OutboxRow).order_by(t.OutboxRow.id))).scalars())


async def test_a_reply_is_queued_then_sent_and_recorded(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS)
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Oui, visite possible samedi.")
    )
    assert message.status == MessageStatus.QUEUED and message.channel == Channel.SMS
    assert not sms.sent  # queued, nothing sent yet
    await worker(scene, FakeRuntime(sms)).run_once()
    assert [m.to for m in sms.sent] == [PHONE]
    sent = await scene.service.messages.get(message.id)
    assert sent.status == MessageStatus.SENT
    assert sent.provider_message_id == sms.accepted[sms.sent[0].reference].provider_message_id
    assert sent.metadata["attempts"][0]["outcome"] == "sent"
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.SENT and row.provider_message_id == sent.provider_message_id


async def test_transient_failures_retry_at_60_300_900_then_fall_back(
    scene: Scene, clock: FakeClock
) -> None:
    sms = FakeAdapter(Channel.SMS, [server_error()] * 4)
    email = FakeAdapter(Channel.EMAIL)
    w = worker(scene, FakeRuntime(sms, email))
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Bonjour"), Channel.SMS
    )
    await w.run_once()
    for delay in (60, 300, 900):
        (row,) = await outbox_rows(scene)
        assert row.status == OutboxStatus.PENDING
        assert row.not_before == clock.now + timedelta(seconds=delay)
        clock.advance(seconds=delay - 1)
        assert await w.run_once() == 0  # not due yet
        clock.advance(seconds=1)
        await w.run_once()
    # Fourth failure: retries spent, fall back to email, sent on the next round.
    await w.run_once()
    assert sum(sms.calls.values()) == 4 and len(email.sent) == 1
    assert email.sent[0].to == EMAIL
    final = await scene.service.messages.get(message.id)
    assert final.status == MessageStatus.SENT and final.channel == Channel.EMAIL
    assert final.metadata["fallback_attempted"] is True
    assert final.metadata["fallback_channel"] == "email"
    outcomes = [a["outcome"] for a in final.metadata["attempts"]]
    assert outcomes == ["transient"] * 4 + ["fallback", "sent"]


async def test_retry_after_from_the_provider_is_honoured(scene: Scene, clock: FakeClock) -> None:
    sms = FakeAdapter(Channel.SMS, [rate_limited(retry_after=600), rate_limited(5)])
    w = worker(scene, FakeRuntime(sms))
    await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    (row,) = await outbox_rows(scene)
    assert row.not_before == clock.now + timedelta(seconds=600)  # more than the 60 s configured
    clock.advance(seconds=600)
    await w.run_once()
    (row,) = await outbox_rows(scene)
    assert row.not_before == clock.now + timedelta(seconds=300)  # the configured delay is larger
    clock.advance(seconds=300)
    await w.run_once()
    assert len(sms.sent) == 1


async def test_configured_retry_delays_are_used(scene: Scene, clock: FakeClock) -> None:
    sms = FakeAdapter(Channel.SMS, [server_error()])
    w = worker(scene, FakeRuntime(sms), retry_delays=[7])
    await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    (row,) = await outbox_rows(scene)
    assert row.not_before == clock.now + timedelta(seconds=7)


async def test_seed_example_4_invalid_number_falls_back_to_email(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS, [invalid_number()])
    email = FakeAdapter(Channel.EMAIL)
    outbound = scene.service.outbound
    outbound.attach_runtime(FakeRuntime(sms, email))
    ctx = context(
        now=scene.service.ctx.now(),
        prospect_id=scene.prospect_id,
        contacts={Channel.SMS: PHONE, Channel.EMAIL: EMAIL},
        urgency=Urgency.URGENT,
        message_type=MessageType.NOTIFICATION,
    )
    result = await outbound.route_message(ctx, ReplyDraft(text="Votre RDV est avancé à 14h."))
    assert result.success is True
    assert result.channel == Channel.SMS
    assert result.status == "sent"
    assert result.fallback_attempted is True
    assert result.fallback_channel == Channel.EMAIL
    assert result.provider_message_id == email.accepted[email.sent[0].reference].provider_message_id
    message = await scene.service.messages.get(result.message_id)
    attempts = message.metadata["attempts"]
    assert attempts[0]["code"] == "21211" and attempts[0]["outcome"] == "permanent"


async def test_no_fallback_left_means_failed_with_the_error(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS, [invalid_number()])
    w = worker(scene, FakeRuntime(sms))  # email not set up in the runtime: no fallback possible
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    failed = await scene.service.messages.get(message.id)
    assert failed.status == MessageStatus.FAILED and failed.error_code == "21211"
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.FAILED


async def test_fallback_chain_is_bounded_by_max_fallback_attempts(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS, [invalid_number()])
    email = FakeAdapter(Channel.EMAIL)
    w = worker(scene, FakeRuntime(sms, email), max_fallback_attempts=0)
    await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.drain()
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.FAILED and not email.sent


async def test_every_row_ends_terminal_under_mixed_failures(scene: Scene, clock: FakeClock) -> None:
    errors = [server_error(), rate_limited(30), invalid_number(), timeout(), None] * 6
    sms = FakeAdapter(Channel.SMS, errors)
    email = FakeAdapter(Channel.EMAIL, [server_error(), invalid_number()])
    w = worker(scene, FakeRuntime(sms, email))
    for i in range(12):
        await scene.service.outbound.send_reply(
            scene.conversation_id, ReplyDraft(text=f"message {i}"), Channel.SMS
        )
    for _ in range(30):
        await w.drain()
        clock.advance(seconds=901)
    rows = await outbox_rows(scene)
    assert all(OutboxStatus(r.status) in OUTBOX_TERMINAL for r in rows)
    accepted = [m.reference for m in sms.sent + email.sent]
    assert len(accepted) == len(set(accepted))  # nothing accepted twice
    assert all(calls <= 4 for calls in sms.calls.values())  # first try + three retries at most
    sent = [r for r in rows if r.status == OutboxStatus.SENT]
    assert len(sent) == len(accepted)
    statuses = {OutboxStatus(r.status) for r in rows}
    assert OutboxStatus.SENT in statuses and OutboxStatus.FAILED in statuses


async def test_interrupted_send_without_lookup_is_outcome_unknown_then_resent_on_request(
    scene: Scene, clock: FakeClock
) -> None:
    sms = FakeAdapter(Channel.SMS)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await _crash_mid_send(scene, clock)
    w = worker(scene, FakeRuntime(sms))
    await w.run_once()
    unknown = await scene.service.messages.get(message.id)
    assert unknown.status == MessageStatus.UNKNOWN
    assert not sms.sent  # never sent blindly again
    await scene.service.outbound.resend(message.id)
    await w.run_once()
    resent = await scene.service.messages.get(message.id)
    assert resent.status == MessageStatus.SENT and len(sms.sent) == 1
    assert resent.metadata["resent"] == 1


async def test_a_resend_after_an_opt_out_is_refused_with_its_reason(
    scene: Scene, clock: FakeClock
) -> None:
    """A resend is decided again: the prospect opted out of SMS since, so nothing is queued."""
    sms = FakeAdapter(Channel.SMS)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await _crash_mid_send(scene, clock)
    await worker(scene, FakeRuntime(sms)).run_once()
    await scene.service.prospects.set_opt_out(scene.prospect_id, Channel.SMS, True)
    rows_before = len(await outbox_rows(scene))
    with pytest.raises(InvalidInput) as refused:
        await scene.service.outbound.resend(message.id)
    assert "opt" in str(refused.value).lower()
    assert len(await outbox_rows(scene)) == rows_before
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.UNKNOWN
    await worker(scene, FakeRuntime(sms)).drain()
    assert not sms.sent


async def test_interrupted_send_found_by_lookup_is_sent_else_unknown(
    scene: Scene, clock: FakeClock
) -> None:
    sms = FakeAdapter(Channel.SMS, lookup=True, clock=clock)
    first = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="a"))
    second = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="b"))
    rows = await outbox_rows(scene)
    # The first really reached the provider before the crash; the second did not.
    await sms.send(_outgoing(rows[0]))
    await _crash_mid_send(scene, clock)
    await worker(scene, FakeRuntime(sms)).drain()
    assert (await scene.service.messages.get(first.id)).status == MessageStatus.SENT
    # A look-up that finds nothing proves nothing: shown as unknown, never sent blindly.
    assert (await scene.service.messages.get(second.id)).status == MessageStatus.UNKNOWN
    assert sum(sms.calls.values()) == 1


async def test_interrupted_send_is_settled_by_the_providers_message_list(
    scene: Scene, clock: FakeClock
) -> None:
    sms = FakeAdapter(Channel.SMS, recent=True, clock=clock)
    first = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="a"))
    second = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="b"))
    rows = await outbox_rows(scene)
    await _crash_mid_send(scene, clock)
    await sms.send(_outgoing(rows[0]))  # reached the provider just before the crash
    clock.advance(seconds=121)
    await worker(scene, FakeRuntime(sms)).drain()
    assert (await scene.service.messages.get(first.id)).status == MessageStatus.SENT
    assert (await scene.service.messages.get(second.id)).status == MessageStatus.SENT
    assert set(sms.calls.values()) == {1}  # each sent exactly once


async def test_ambiguous_timeout_is_looked_up_before_a_retry(
    scene: Scene, clock: FakeClock
) -> None:
    sms = FakeAdapter(Channel.SMS, [timeout()], lookup=True, accept_on_timeout=True, clock=clock)
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    clock.advance(seconds=60)
    await w.run_once()
    assert sum(sms.calls.values()) == 1
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.SENT


async def test_ambiguous_timeout_is_found_in_the_providers_message_list_before_a_retry(
    scene: Scene, clock: FakeClock
) -> None:
    """Twilio keeps no reference of ours (its ``lookup`` knows SIDs only): a send it took whose
    answer was lost (a timeout, or the round's bound on a loaded machine) is found in its message
    list, as an interrupted send is. Before, the look-up before the retry asked ``lookup`` only,
    found nothing and sent the message a second time (the chaos test's double auto reply)."""
    sms = FakeAdapter(Channel.SMS, [timeout()], recent=True, accept_on_timeout=True, clock=clock)
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    clock.advance(seconds=60)
    await w.run_once()
    assert sum(sms.calls.values()) == 1  # never twice
    sent = await scene.service.messages.get(message.id)
    assert sent.status == MessageStatus.SENT
    assert sent.provider_message_id == next(iter(sms.accepted.values())).provider_message_id


async def test_ambiguous_timeout_the_providers_list_proves_absent_is_sent_again(
    scene: Scene, clock: FakeClock
) -> None:
    sms = FakeAdapter(Channel.SMS, [timeout()], recent=True, clock=clock)
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    clock.advance(seconds=60)
    await w.run_once()
    assert len(sms.sent) == 1 and sum(sms.calls.values()) == 2
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.SENT


@pytest.mark.parametrize("lookup", [True, False], ids=["lookup-finds-nothing", "no-lookup"])
async def test_ambiguous_timeout_without_proof_is_outcome_unknown_never_resent_blindly(
    scene: Scene, clock: FakeClock, lookup: bool
) -> None:
    """The provider may have the message and nothing can tell: shown as outcome unknown (an
    agent checks and resends), as an interrupted send is."""
    sms = FakeAdapter(Channel.SMS, [timeout()], lookup=lookup, accept_on_timeout=True, clock=clock)
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    sms.accepted.clear()  # the provider took it, and its look-up does not find it
    clock.advance(seconds=60)
    await w.drain()
    assert sum(sms.calls.values()) == 1
    unknown = await scene.service.messages.get(message.id)
    assert unknown.status == MessageStatus.UNKNOWN
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.UNKNOWN and row.attempts_log[-1]["outcome"] == "unknown"


async def test_a_send_no_connection_could_carry_is_retried_without_asking(
    scene: Scene, clock: FakeClock
) -> None:
    """Refused before any byte left (the agent's laptop offline, the provider's host down):
    nothing can have been taken, so it is sent again at its retry, even where the provider
    cannot be asked — never left as outcome unknown."""
    sms = FakeAdapter(Channel.SMS, [refused()], lookup=False, clock=clock)
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.PENDING and not row.attempts_log[-1].get("ambiguous")
    clock.advance(seconds=60)
    await w.drain()
    assert len(sms.sent) == 1
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.SENT


async def test_quiet_hours_hold_then_release_at_the_end_of_the_window(
    scene: Scene, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    sms = FakeAdapter(Channel.SMS)
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Bonne nouvelle"), Channel.SMS
    )
    assert message.status == MessageStatus.HELD
    await w.run_once()
    assert not sms.sent
    clock.now = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    await w.run_once()
    assert len(sms.sent) == 1


async def test_scheduled_send_waits_for_its_time(scene: Scene, clock: FakeClock) -> None:
    sms = FakeAdapter(Channel.SMS)
    w = worker(scene, FakeRuntime(sms))
    later = clock.now + timedelta(hours=2)
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="x"), Channel.SMS, send_at=later
    )
    assert message.status == MessageStatus.SCHEDULED
    await w.run_once()
    assert not sms.sent
    clock.now = later
    await w.run_once()
    assert len(sms.sent) == 1
    # going out, it becomes its conversation's latest activity (and no longer waits to)
    sent = await scene.service.messages.get(message.id)
    assert UNSURFACED not in sent.metadata
    async with scene.service.db.session() as session:
        conversation = await session.get(t.ConversationRow, scene.conversation_id)
    assert conversation is not None and conversation.last_message_at == later


async def test_expired_row_is_not_sent_late(scene: Scene, clock: FakeClock) -> None:
    sms = FakeAdapter(Channel.SMS, [server_error()])
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    async with scene.service.db.session() as session:
        await session.execute(
            update(t.OutboxRow).values(expires_at=clock.now + timedelta(seconds=30))
        )
    await w.run_once()  # fails; the retry (60 s) would come after the expiry
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.EXPIRED
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.EXPIRED


async def test_budget_alert_when_crossing_the_threshold(scene: Scene) -> None:
    settings = await scene.service.tenant_settings.get()
    settings.monthly_budget = settings.prices[Channel.SMS] * 2
    await scene.service.tenant_settings.save(settings)
    sms = FakeAdapter(Channel.SMS)
    w = worker(scene, FakeRuntime(sms))
    async with scene.service.bus.subscribe() as events:
        for text in ("a", "b"):
            await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text=text))
            await w.run_once()
        alerts = []
        while not events.empty():
            event = events.get_nowait()
            if isinstance(event, Alert):
                alerts.append(event)
    assert [a.key for a in alerts] == ["budget"]
    status = await scene.service.outbound.budget_status()
    assert status.alert and status.ratio == 1.0


async def test_two_workers_never_send_the_same_row_twice(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS)
    runtime = FakeRuntime(sms)
    for i in range(30):
        await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text=str(i)))
    a = OutboxWorker(scene.service.ctx, runtime, worker_id="a", batch_size=7)
    b = OutboxWorker(scene.service.ctx, runtime, worker_id="b", batch_size=7)
    import asyncio

    await asyncio.gather(a.drain(), b.drain())
    assert len(sms.sent) == 30 and set(sms.calls.values()) == {1}


# --------------------------------------------------------------------------------------------


async def _crash_mid_send(scene: Scene, clock: FakeClock) -> None:
    """Leave every row as a worker killed between "sending" and "sent" would."""
    async with scene.service.db.session() as session:
        await session.execute(
            update(t.OutboxRow).values(
                status=OutboxStatus.SENDING,
                lease_owner="dead",
                lease_expires_at=clock.now + timedelta(seconds=120),
                attempts=1,
            )
        )
        await session.execute(
            update(t.MessageRow)
            .where(t.MessageRow.direction == "outbound")
            .values(status=MessageStatus.SENDING)
        )
    clock.advance(seconds=121)


def _outgoing(row: t.OutboxRow):
    from core.outbox.payload import outgoing
    from core.outbox.worker import reference_of

    return outgoing(row.payload, Channel(row.channel_type), reference_of(row))


async def test_a_retry_falling_in_quiet_hours_waits_for_the_morning(
    scene: Scene, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 10, 20, 59, 30, tzinfo=UTC)  # 21:59:30 in Paris
    sms = FakeAdapter(Channel.SMS, [server_error()])
    w = worker(scene, FakeRuntime(sms))
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="x"), Channel.SMS
    )
    await w.run_once()
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.HELD
    assert row.not_before == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.HELD
    clock.now = row.not_before
    await w.run_once()
    assert len(sms.sent) == 1


async def test_an_urgent_retry_is_not_held_by_quiet_hours(scene: Scene, clock: FakeClock) -> None:
    clock.now = datetime(2026, 3, 10, 20, 59, 30, tzinfo=UTC)
    sms = FakeAdapter(Channel.SMS, [server_error()])
    w = worker(scene, FakeRuntime(sms))
    await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="x", urgency=Urgency.URGENT), Channel.SMS
    )
    await w.run_once()
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.PENDING
    assert row.not_before == clock.now + timedelta(seconds=60)


async def test_an_email_without_subject_gets_its_first_line(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS, [invalid_number()])
    email = FakeAdapter(Channel.EMAIL)
    text = "Votre dossier est complet.\nÀ bientôt"
    await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text=text))
    await worker(scene, FakeRuntime(sms, email)).drain()
    assert email.sent[0].subject == "Votre dossier est complet."
    assert sms.sent == [] and sms.calls


async def wrote_an_email(scene: Scene) -> None:
    """Marie wrote an e-mail "Visite du 12 rue des Lilas" (Message-ID <abc@mail.example>)."""
    await add_message(
        scene.service,
        scene.prospect_id,
        "Je voudrais visiter.",
        channel=Channel.EMAIL,
        subject="Visite du 12 rue des Lilas",
        provider_message_id="<abc@mail.example>",
    )


async def test_an_email_without_subject_answers_the_prospects_email_thread(scene: Scene) -> None:
    """The prospect wrote an e-mail: a reply without a subject falls back to e-mail as "Re:" of
    it, answering their message (In-Reply-To, References), and the thread shows that subject."""
    await wrote_an_email(scene)
    sms = FakeAdapter(Channel.SMS, [invalid_number()])
    email = FakeAdapter(Channel.EMAIL)
    await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Avec plaisir.\nÀ bientôt")
    )
    await worker(scene, FakeRuntime(sms, email)).drain()
    [sent] = email.sent
    assert sent.subject == "Re: Visite du 12 rue des Lilas"
    assert sent.in_reply_to == "<abc@mail.example>" and sent.references == ("<abc@mail.example>",)
    assert sms.sent == [] and sms.calls
    again = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Encore moi."), Channel.EMAIL
    )
    await worker(scene, FakeRuntime(sms, email)).drain()
    assert email.sent[1].subject == "Re: Visite du 12 rue des Lilas"  # not "Re: Re: …"
    assert (await scene.service.messages.get(again.id)).subject == "Re: Visite du 12 rue des Lilas"


async def test_a_broadcast_email_is_not_a_reply_to_the_prospects_thread(scene: Scene) -> None:
    """A broadcast is news, not an answer: without a subject it takes its first line, even for
    a prospect who has an e-mail thread with the agency."""
    await wrote_an_email(scene)
    await scene.service.outbound.broadcast(
        [scene.prospect_id], ReplyDraft(text="Nouvelles annonces cette semaine.\nÀ bientôt")
    )
    (row,) = await outbox_rows(scene)
    email = row.payload["variants"].get("email", row.payload)
    assert email.get("subject") in (None, "") and "in_reply_to" not in email


async def test_an_invalid_number_makes_sms_unreachable_for_the_next_decisions(
    scene: Scene,
) -> None:
    sms = FakeAdapter(Channel.SMS, [invalid_number()])
    email = FakeAdapter(Channel.EMAIL)
    await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="a"))
    await worker(scene, FakeRuntime(sms, email)).drain()
    decision = await scene.service.outbound.decide(scene.conversation_id, ReplyDraft(text="b"))
    assert decision.channel == Channel.EMAIL
    blocked = await scene.service.outbound.decide(
        scene.conversation_id, ReplyDraft(text="b"), Channel.SMS
    )
    assert blocked.channel is None
    assert "orchestrator.blocked.unreachable" in [r.key for r in blocked.blocked]


async def test_a_failure_reported_after_the_send_falls_back(scene: Scene) -> None:
    from core.storage.timeline import apply_status

    sms, email = FakeAdapter(Channel.SMS), FakeAdapter(Channel.EMAIL)
    w = worker(scene, FakeRuntime(sms, email))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    async with scene.service.db.session() as session:  # the status callback, as ingest applies it
        row = await session.get(t.MessageRow, message.id)
        apply_status(
            row, MessageStatus.UNDELIVERED, error_code="30003", error_message="unreachable"
        )
    await w.drain()
    final = await scene.service.messages.get(message.id)
    assert final.status == MessageStatus.SENT and final.channel == Channel.EMAIL
    assert [a["outcome"] for a in final.metadata["attempts"]] == [
        "sent",
        "delivery_failed",
        "fallback",
        "sent",
    ]
    assert final.error_code is None and len(email.sent) == 1


async def test_a_failure_reported_with_no_fallback_left_closes_the_row(scene: Scene) -> None:
    from core.storage.timeline import apply_status

    sms = FakeAdapter(Channel.SMS)
    w = worker(scene, FakeRuntime(sms), enable_fallback=False)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await w.run_once()
    async with scene.service.db.session() as session:
        row = await session.get(t.MessageRow, message.id)
        apply_status(row, MessageStatus.FAILED, error_code="30007", error_message="filtered")
    await w.drain()
    (row,) = await outbox_rows(scene)
    assert row.status == OutboxStatus.FAILED
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.FAILED


async def test_a_status_callback_applied_while_the_result_is_written_is_kept(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the provider's "delivered" is applied by ingest between the worker reading the
    message and writing "sent"; it must not be overwritten (the message left "sent" for good)."""
    import asyncio

    import core.outbox.worker as worker_module
    from core.storage.timeline import apply_status

    sms = FakeAdapter(Channel.SMS)
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Oui, visite possible samedi.")
    )
    db = scene.service.db
    read_rows = worker_module._rows_and_messages
    callbacks: list[asyncio.Task[None]] = []

    async def callback() -> None:  # what ingest does with the status callback
        async with db.session() as session:
            row = await session.get(t.MessageRow, message.id)
            assert row is not None
            apply_status(row, MessageStatus.DELIVERED)

    async def message_then_a_callback(session, ids):  # type: ignore[no-untyped-def]
        found = await read_rows(session, ids)
        if sms.sent and not callbacks:  # the results' write, the send done
            callbacks.append(asyncio.create_task(callback()))
            # it commits now unless the worker's transaction keeps it waiting
            await asyncio.wait(callbacks, timeout=1.0)
        return found

    monkeypatch.setattr(worker_module, "_rows_and_messages", message_then_a_callback)
    await worker(scene, FakeRuntime(sms)).run_once()
    await asyncio.gather(*callbacks)
    assert callbacks
    final = await scene.service.messages.get(message.id)
    assert final.status == MessageStatus.DELIVERED
    assert final.provider_message_id == sms.accepted[sms.sent[0].reference].provider_message_id
