"""Multi-step campaigns run with the fake clock: conditions, leaving, pause/resume, restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.booking.appointments import AppointmentDraft
from core.campaigns.model import CampaignDraft, Condition, StepDraft
from core.domain.enums import (
    AppointmentStatus,
    ApprovalStatus,
    Channel,
    Direction,
    EnrolmentStatus,
    MessageStatus,
)
from core.domain.models import TemplateDraft
from core.errors import InvalidInput, NotFound
from core.service import InboxService
from core.service.templates import seed_templates
from core.storage import tables as t
from core.storage.timeline import apply_status
from tests.factories import add_message, add_prospect

SEED_CAMPAIGN = [
    StepDraft(channel=Channel.EMAIL, delay_seconds=0, template="welcome"),
    StepDraft(
        channel=Channel.SMS,
        delay_seconds=86400,
        template="rdv_reminder_24h",
        condition=Condition.EMAIL_OPENED,
    ),
    StepDraft(channel=Channel.SMS, delay_seconds=7200, template="rdv_reminder_2h"),
]


async def prospect_with_rdv(service: InboxService, name: str, clock, **fields) -> int:
    fields = {"phone": "+33612345678", "email": "marie@example.fr", **fields}
    prospect_id = await add_prospect(service, name, **fields)
    agent = await service.agents.by_name("Julie Martin") or await service.agents.add("Julie Martin")
    start = clock.now + timedelta(days=2)
    await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            agent_id=agent.id,
            location="12 rue de Rivoli, Paris",
        )
    )
    return prospect_id


async def outbox(service: InboxService) -> list[t.OutboxRow]:
    async with service.db.session() as session:
        query = select(t.OutboxRow).order_by(t.OutboxRow.id)
        return list((await session.execute(query)).scalars())


async def mark_read(service: InboxService, message_id: int, at) -> None:
    async with service.db.session() as session:
        apply_status(await session.get(t.MessageRow, message_id), MessageStatus.READ, at=at)


async def enable_channels(service: InboxService) -> None:
    for channel in (Channel.SMS, Channel.EMAIL, Channel.WHATSAPP, Channel.TELEGRAM):
        await service.tenant_settings.save_channel(channel)


async def started(service: InboxService, steps, **extra) -> int:
    await enable_channels(service)
    await seed_templates(service)
    campaign = await service.campaigns.create(CampaignDraft(name="Bienvenue", steps=steps, **extra))
    await service.campaigns.start(campaign.id)
    return campaign.id


async def test_the_seed_campaign_sends_step_two_only_to_who_opened_the_email(service, clock):
    campaign_id = await started(service, SEED_CAMPAIGN)
    opener = await prospect_with_rdv(service, "Marie Dupont", clock)
    other = await prospect_with_rdv(service, "Jean Martin", clock, email="jean@example.fr")
    assert await service.campaigns.enrol(campaign_id, [opener, other, opener]) == 2
    assert await service.campaigns.enrol(campaign_id, [opener]) == 0

    report = await service.campaigns.run_due()
    assert (report.sent, report.skipped) == (2, 0)
    assert (await service.campaigns.run_due()).processed == 0  # idempotent
    rows = await outbox(service)
    assert [(r.channel_type, r.purpose, r.status) for r in rows] == [
        ("email", "campaign", "pending")
    ] * 2
    enrolments = await service.campaigns.enrolments(campaign_id)
    assert rows[0].idempotency_key == f"campaign:{enrolments[0].id}:0"
    assert rows[0].payload["subject"] == "Bienvenue chez Agence Immobilière Demo"
    assert rows[0].payload["contacts"]["email"] == "marie@example.fr"
    assert "-- \nL'équipe Agence Immobilière Demo" in rows[0].payload["text"]
    async with service.db.session() as session:
        message = await session.get(t.MessageRow, rows[0].message_id)
        assert message.status == MessageStatus.QUEUED
        assert message.direction == Direction.OUTBOUND
    await mark_read(service, rows[0].message_id, clock.now + timedelta(hours=1))

    clock.advance(hours=23)
    assert (await service.campaigns.run_due()).processed == 0  # not due yet
    clock.advance(hours=1)
    report = await service.campaigns.run_due()
    assert (report.sent, report.skipped) == (1, 1)
    sms = (await outbox(service))[-1]
    assert sms.channel_type == "sms" and sms.prospect_id == opener
    assert sms.payload["text"].startswith("Bonjour Marie Dupont,\n\nRappel : RDV demain à ")
    assert "avec Julie Martin." in sms.payload["text"]

    clock.advance(hours=2)
    report = await service.campaigns.run_due()
    assert (report.sent, report.completed) == (2, 2)
    progress = await service.campaigns.progress(campaign_id)
    assert (progress.enrolled, progress.completed, progress.active) == (2, 2, 0)
    # No outbox worker ran here: the steps are in the outbox, not yet handed to a provider.
    assert [(s.queued, s.sent, s.skipped, s.waiting) for s in progress.steps] == [
        (2, 0, 0, 0),
        (1, 0, 1, 0),
        (2, 0, 0, 0),
    ]


async def test_a_prospect_who_replies_leaves_the_campaign(service, clock):
    campaign_id = await started(service, SEED_CAMPAIGN)
    prospect_id = await prospect_with_rdv(service, "Marie Dupont", clock)
    await service.campaigns.enrol(campaign_id, [prospect_id])
    await service.campaigns.run_due()
    clock.advance(hours=3)
    await add_message(service, prospect_id, "Merci, je vous rappelle", channel=Channel.EMAIL)
    clock.advance(hours=21)
    report = await service.campaigns.run_due()
    assert report.left == 1
    (enrolment,) = await service.campaigns.enrolments(campaign_id)
    assert (enrolment.status, enrolment.left_reason) == (EnrolmentStatus.LEFT, "replied")
    progress = await service.campaigns.progress(campaign_id)
    assert progress.steps[1].left == 1 and progress.left_reasons == {"replied": 1}
    assert len(await outbox(service)) == 1


async def test_a_prospect_who_opts_out_leaves_the_campaign(service, clock):
    campaign_id = await started(service, SEED_CAMPAIGN)
    prospect_id = await prospect_with_rdv(service, "Marie Dupont", clock)
    await service.campaigns.enrol(campaign_id, [prospect_id])
    await service.campaigns.run_due()
    await service.prospects.set_opt_out(prospect_id, Channel.SMS, True)
    clock.advance(days=1)
    assert (await service.campaigns.run_due()).left == 1
    (enrolment,) = await service.campaigns.enrolments(campaign_id)
    assert enrolment.left_reason == "opted_out"


async def _two_step(service, clock, condition: Condition):
    steps = [
        StepDraft(channel=Channel.EMAIL, template="welcome"),
        StepDraft(
            channel=Channel.SMS, delay_seconds=3600, template="follow_up", condition=condition
        ),
    ]
    campaign_id = await started(service, steps, variables={"agent_name": "Julie"})
    prospect_id = await prospect_with_rdv(service, "Marie Dupont", clock)
    await service.campaigns.enrol(campaign_id, [prospect_id])
    await service.campaigns.run_due()
    (first,) = await outbox(service)
    return campaign_id, prospect_id, first


async def _second_step_sent(service, clock) -> bool:
    clock.advance(hours=1)
    report = await service.campaigns.run_due()
    assert report.processed == 1
    return report.sent == 1


@pytest.mark.parametrize("clicked", [True, False])
async def test_link_clicked(service, clock, clicked):
    _, _, first = await _two_step(service, clock, Condition.LINK_CLICKED)
    if clicked:
        async with service.db.session() as session:
            message = await session.get(t.MessageRow, first.message_id)
            message.meta = {**message.meta, "clicked_at": clock.now.isoformat()}
    assert await _second_step_sent(service, clock) is clicked


@pytest.mark.parametrize("answer", [True, False])
async def test_replied_and_no_reply(service, clock, answer):
    condition = Condition.REPLIED if answer else Condition.NO_REPLY
    _, prospect_id, _ = await _two_step(service, clock, condition)
    await add_message(service, prospect_id, "Oui je suis intéressée", channel=Channel.SMS)
    if answer:  # a campaign that waits for replies keeps those who reply
        assert await _second_step_sent(service, clock)
    else:  # a reply leaves the campaign before "no_reply" is even asked
        clock.advance(hours=1)
        assert (await service.campaigns.run_due()).left == 1


async def test_no_reply_sends_to_the_silent(service, clock):
    await _two_step(service, clock, Condition.NO_REPLY)
    assert await _second_step_sent(service, clock)


async def test_replied_skips_the_silent(service, clock):
    await _two_step(service, clock, Condition.REPLIED)
    assert not await _second_step_sent(service, clock)


@pytest.mark.parametrize("confirmed", [True, False])
async def test_appointment_confirmed(service, clock, confirmed):
    _, prospect_id, _ = await _two_step(service, clock, Condition.APPOINTMENT_CONFIRMED)
    if confirmed:
        (rdv,) = await service.appointments.for_prospect(prospect_id)
        await service.appointments.set_status(rdv.id, AppointmentStatus.CONFIRMED)
    assert await _second_step_sent(service, clock) is confirmed


async def test_pause_resume_and_a_restart_lose_nothing(service, db, clock):
    campaign_id = await started(service, SEED_CAMPAIGN[:1] + SEED_CAMPAIGN[2:])
    prospect_id = await prospect_with_rdv(service, "Marie Dupont", clock)
    await service.campaigns.enrol(campaign_id, [prospect_id])
    await service.campaigns.pause(campaign_id)
    assert (await service.campaigns.run_due()).processed == 0
    with pytest.raises(InvalidInput):
        await service.campaigns.pause(campaign_id)

    restarted = await InboxService.connect(db, "acme", clock=clock)  # a new process, same DB
    await restarted.campaigns.resume(campaign_id)
    assert (await restarted.campaigns.run_due()).sent == 1
    clock.advance(hours=2)
    assert (await restarted.campaigns.run_due()).completed == 1
    assert len(await outbox(restarted)) == 2


async def test_auto_lets_the_orchestrator_choose_among_the_template_channels(service, clock):
    steps = [StepDraft(channel="auto", template="rdv_confirmation")]
    link = {"calendar_link": "https://agence-demo.fr/rdv.ics"}
    campaign_id = await started(service, steps, variables=link)
    email_only = await prospect_with_rdv(service, "Léa", clock, phone=None, language="en")
    whatsapp = await prospect_with_rdv(
        service, "Paul", clock, email=None, preferred_channel=Channel.WHATSAPP
    )
    await service.campaigns.enrol(campaign_id, [email_only, whatsapp])
    await service.campaigns.run_due()
    first, second = await outbox(service)
    assert first.channel_type == "email" and first.payload["subject"].startswith("Your appointment")
    # Paul prefers WhatsApp, but the template is not approved by Meta and he never wrote there:
    # the orchestrator blocks WhatsApp (24-hour window) and falls to SMS, with its own text.
    assert second.channel_type == "sms"
    assert second.payload["text"].startswith("Bonjour Paul, votre RDV est confirmé")
    assert set(second.payload["variants"]) == {"sms", "telegram", "whatsapp", "email"}
    async with service.db.session() as session:
        message = await session.get(t.MessageRow, second.message_id)
    decision = message.meta["decision"]
    assert decision["channel"] == "sms" and decision["reasons"]
    assert message.meta["campaign"]["step"] == 0 and message.meta["template"] == "rdv_confirmation"


@pytest.mark.parametrize("approved", [True, False])
async def test_a_whatsapp_step_needs_an_approved_template_outside_the_window(
    service, clock, approved
):
    steps = [StepDraft(channel=Channel.WHATSAPP, template="rdv_confirmation")]
    campaign_id = await started(service, steps, variables={"calendar_link": "https://x.fr/r"})
    if approved:
        template = await service.templates.by_name(Channel.WHATSAPP, "rdv_confirmation")
        kept = set(TemplateDraft.model_fields) - {"name", "approval_status"}
        fields = template.model_dump(include=kept)
        draft = TemplateDraft(**fields, name=template.name, approval_status=ApprovalStatus.APPROVED)
        await service.templates.save(draft, template.id)
    paul = await prospect_with_rdv(service, "Paul", clock, email=None, whatsapp="+33612345678")
    await service.campaigns.enrol(campaign_id, [paul])
    await service.campaigns.run_due()
    if not approved:  # Meta would refuse it: nothing is queued, and the reason says why
        assert await outbox(service) == []
        (enrolment,) = await service.campaigns.enrolments(campaign_id)
        assert enrolment.left_reason == "whatsapp_window"
        return
    (row,) = await outbox(service)
    assert row.channel_type == "whatsapp"
    assert row.payload["template"]["name"] == "rdv_confirmation_fr"
    assert len(row.payload["template"]["parameters"]) == 5
    # the fallbacks are the other channels Paul has and the template exists for
    assert {step["channel"] for step in row.fallback_chain} <= {"sms", "telegram"}
    assert row.fallback_chain


async def test_a_missing_variable_makes_the_prospect_leave_with_its_name(service, clock):
    campaign_id = await started(
        service, [StepDraft(channel=Channel.SMS, template="rdv_reminder_2h")]
    )
    prospect_id = await add_prospect(service, "Sans RDV", phone="+33611111111")
    await service.campaigns.enrol(campaign_id, [prospect_id])
    assert (await service.campaigns.run_due()).left == 1
    (enrolment,) = await service.campaigns.enrolments(campaign_id)
    assert enrolment.left_reason == "missing_variable:rdv_time"


async def test_bad_campaigns_and_enrolments_are_refused_whole(service, clock):
    await seed_templates(service)
    with pytest.raises(InvalidInput):
        await service.campaigns.create(
            CampaignDraft(name="x", steps=[StepDraft(channel=Channel.SMS, template="nope")])
        )
    assert await service.campaigns.list() == []
    campaign_id = await started(service, SEED_CAMPAIGN)
    prospect_id = await add_prospect(service, "Marie")
    with pytest.raises(NotFound):
        await service.campaigns.enrol(campaign_id, [prospect_id, 999999])
    assert await service.campaigns.enrolments(campaign_id) == []
    with pytest.raises(ValueError):
        StepDraft(channel="pigeon", template="welcome")
    with pytest.raises(ValueError):
        StepDraft(template="welcome", condition="email_read")


async def test_two_runners_at_once_send_each_step_once(service, db, clock):
    campaign_id = await started(service, SEED_CAMPAIGN)
    ids = [
        await prospect_with_rdv(service, f"P{i}", clock, email=f"p{i}@example.fr") for i in range(4)
    ]
    await service.campaigns.enrol(campaign_id, ids)
    other = await InboxService.connect(db, "acme", clock=clock)
    reports = await asyncio.gather(service.campaigns.run_due(), other.campaigns.run_due())
    assert sum(r.sent for r in reports) == 4
    rows = await outbox(service)
    assert len(rows) == len({r.idempotency_key for r in rows}) == 4


async def test_a_prospect_without_any_address_leaves_as_unreachable(service, clock):
    campaign_id = await started(service, [StepDraft(channel="auto", template="welcome")])
    prospect_id = await add_prospect(service, "Anonyme")
    await service.campaigns.enrol(campaign_id, [prospect_id])
    assert (await service.campaigns.run_due()).left == 1
    (enrolment,) = await service.campaigns.enrolments(campaign_id)
    assert enrolment.left_reason == "unreachable"


async def test_campaign_steps_are_sent_by_the_outbox_worker(service, clock):
    from core.outbox.worker import OutboxWorker
    from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime

    for channel in (Channel.SMS, Channel.EMAIL, Channel.WHATSAPP):
        await service.tenant_settings.save_channel(channel)
    await started(service, SEED_CAMPAIGN)
    marie = await prospect_with_rdv(service, "Marie Dupont", clock)
    [campaign] = await service.campaigns.list()
    await service.campaigns.enrol(campaign.id, [marie])
    await service.campaigns.run_due()
    email = FakeAdapter(Channel.EMAIL, clock=clock)
    worker = OutboxWorker(service.ctx, FakeRuntime(email, FakeAdapter(Channel.SMS, clock=clock)))
    await worker.run_once()
    [sent] = email.sent
    assert sent.to == "marie@example.fr" and sent.subject.startswith("Bienvenue")
    [row] = await outbox(service)
    assert row.status == "sent"


async def test_a_daily_limit_postpones_the_step_to_the_next_day(service, clock):
    from core.domain.tenant_settings import ChannelLimits

    campaign_id = await started(service, [StepDraft(channel=Channel.SMS, template="welcome")])
    settings = await service.tenant_settings.get()
    settings.limits = {Channel.SMS: ChannelLimits(daily_limit=1)}
    await service.tenant_settings.save(settings)
    first = await add_prospect(service, "Marie", phone="+33611111111")
    second = await add_prospect(service, "Jean", phone="+33622222222")
    await service.campaigns.enrol(campaign_id, [first, second])
    report = await service.campaigns.run_due()
    assert (report.sent, report.postponed, report.left) == (1, 1, 0)
    progress = await service.campaigns.progress(campaign_id)
    assert (progress.steps[0].queued, progress.steps[0].waiting) == (1, 1)
    postponed = next(
        e for e in await service.campaigns.enrolments(campaign_id) if e.current_step == 0
    )
    midnight_in_paris = clock.now.replace(hour=23, minute=0)  # 00:00 on the 11th, UTC+1
    assert postponed.next_run_at == midnight_in_paris
    clock.now = midnight_in_paris
    report = await service.campaigns.run_due()
    # the next day has room again; at midnight the SMS waits for the end of quiet hours
    assert (report.sent, report.held, report.completed) == (1, 1, 1)
    rows = await outbox(service)
    assert [r.status for r in rows] == ["pending", "held"]
    progress = await service.campaigns.progress(campaign_id)
    assert (progress.steps[0].queued, progress.steps[0].deferred) == (1, 1)


async def test_a_confirmation_made_before_the_campaign_wrote_does_not_count(service, clock):
    """Confirmed before the first step went out: not the campaign's doing; after it: counts."""
    steps = [
        StepDraft(channel=Channel.EMAIL, template="welcome"),
        StepDraft(
            channel=Channel.SMS,
            delay_seconds=3600,
            template="follow_up",
            condition=Condition.APPOINTMENT_CONFIRMED,
        ),
    ]
    campaign_id = await started(service, steps, variables={"agent_name": "Julie"})
    before = await prospect_with_rdv(service, "Marie Dupont", clock)
    after = await prospect_with_rdv(service, "Paul Durand", clock, phone="+33698765432")
    (early,) = await service.appointments.for_prospect(before)
    await service.appointments.set_status(early.id, AppointmentStatus.CONFIRMED)
    clock.advance(minutes=5)
    await service.campaigns.enrol(campaign_id, [before, after])
    await service.campaigns.run_due()  # the welcome email to both
    clock.advance(minutes=10)
    (late,) = await service.appointments.for_prospect(after)
    await service.appointments.set_status(late.id, AppointmentStatus.CONFIRMED)
    clock.advance(hours=1)
    report = await service.campaigns.run_due()
    assert report.processed == 2 and report.sent == 1
    second = [r for r in await outbox(service) if r.channel_type == Channel.SMS]
    assert [r.prospect_id for r in second] == [after]


async def test_a_step_above_the_cost_cap_on_every_channel_says_so(service, clock):
    """A long SMS (several segments) above the per-message cap, and no other address."""
    steps = [StepDraft(channel=Channel.SMS, template="follow_up")]
    signature = "Julie Martin, conseillère senior de l'agence du onzième arrondissement, " * 3
    campaign_id = await started(service, steps, variables={"agent_name": signature})
    prospect_id = await add_prospect(service, "Luc Moreau", phone="+33611223344")
    await service.campaigns.enrol(campaign_id, [prospect_id])
    report = await service.campaigns.run_due()
    (enrolment,) = await service.campaigns.enrolments(campaign_id)
    # With that signature the follow-up takes three segments or more: above the €0.10 cap.
    assert report.left == 1 and enrolment.left_reason == "too_expensive"
    assert await outbox(service) == []
