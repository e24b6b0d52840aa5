"""Campaigns run with the fake clock over the provider sandbox, one condition at a time.

Each step is queued by the runner through the orchestrator, sent by the real outbox worker
through the real adapters, and checked at the sandbox (what Twilio and SendGrid were asked to
send). Conditions come from real provider events: SendGrid opens and clicks, the personas'
answers (a question, "OUI" to the appointment, "STOP"), all through the relay and ingest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.booking.appointments import AppointmentDraft
from core.campaigns.model import Condition, StepDraft
from core.domain.enums import AppointmentStatus, Channel, EnrolmentStatus, MessageStatus
from core.service import InboxService
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.factories import add_prospect
from tests.integration.campaigns.conftest import World, start_campaign, subject_of, text_of

#: Personas of the sandbox (``providers.sandbox.personas``) and what they answer.
CAMILLE = ("Camille Martin", "+33612000001", "camille@prospects.test")  # "OUI"
LEA = ("Léa Petit", "+33612000003", "lea@prospects.test")  # asks a question
PAUL = ("Paul Durand", "+33612000005", "paul@prospects.test")  # "STOP"

FOLLOW_UP = "c'est Julie d'Agence Immobilière Demo. Avez-vous pu réfléchir"
ALERT = "nouvelle propriété disponible : 3 rue des Lilas"


async def prospect(service: InboxService, name: str, phone: str, email: str | None) -> int:
    return await add_prospect(service, name, phone=phone, email=email)


async def with_appointment(service: InboxService, prospect_id: int, clock: FakeClock) -> int:
    agent = await service.agents.by_name("Julie Martin") or await service.agents.add("Julie Martin")
    start = clock.now + timedelta(days=3)
    appointment = await service.appointments.create(
        AppointmentDraft(
            prospect_id=prospect_id,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            agent_id=agent.id,
            location="12 rue de Rivoli, Paris",
        )
    )
    return appointment.id


async def campaign_rows(world: World, prospect_id: int) -> list[t.OutboxRow]:
    return await world.rows(
        t.OutboxRow, t.OutboxRow.purpose == "campaign", t.OutboxRow.prospect_id == prospect_id
    )


async def test_email_opened_link_clicked_and_no_reply_from_sendgrid_events(
    world: World, clock: FakeClock
) -> None:
    service = world.service
    campaign_id = await start_campaign(
        service,
        [
            StepDraft(channel=Channel.EMAIL, template="welcome"),
            StepDraft(
                channel=Channel.SMS,
                delay_seconds=86400,
                template="follow_up",
                condition=Condition.EMAIL_OPENED,
            ),
            StepDraft(
                channel=Channel.EMAIL,
                delay_seconds=3600,
                template="follow_up",
                condition=Condition.LINK_CLICKED,
            ),
            StepDraft(
                channel="auto",
                delay_seconds=86400,
                template="new_property_alert",
                condition=Condition.NO_REPLY,
            ),
        ],
        agent_name="Julie",
        property_address="3 rue des Lilas",
        property_price="350 000 €",
    )
    marie = await prospect(service, "Marie Dupont", "+33698000001", "marie@example.fr")
    jean = await prospect(service, "Jean Morel", "+33698000002", "jean@example.fr")
    sophie = await prospect(service, "Sophie Blanc", "+33698000003", "sophie@example.fr")
    await service.campaigns.enrol(campaign_id, [marie, jean, sophie])

    # Step 1, the welcome email: Marie opens and clicks, Sophie only opens, Jean does neither.
    withhold = {"jean@example.fr": ("open", "click"), "sophie@example.fr": ("click",)}
    report = await world.tick(withhold=withhold)
    assert report.sent == 3
    for address in ("marie@example.fr", "jean@example.fr", "sophie@example.fr"):
        [mail] = world.mails_to(address)
        assert subject_of(mail) == "Bienvenue chez Agence Immobilière Demo"
    opened = {
        row.prospect_id: (row.read_at is not None, bool(row.meta.get("clicked_at")))
        for row in await world.rows(t.MessageRow, t.MessageRow.channel_type == Channel.EMAIL)
    }
    assert opened == {marie: (True, True), jean: (False, False), sophie: (True, False)}
    progress = await service.campaigns.progress(campaign_id)
    assert (progress.steps[0].sent, progress.steps[1].waiting) == (3, 3)

    # Step 2, an SMS a day later to those who opened.
    clock.advance(days=1)
    report = await world.tick()
    assert (report.sent, report.skipped) == (2, 1)
    assert len(world.sms_to("+33698000001")) == 1 and FOLLOW_UP in world.sms_to("+33698000001")[0]
    assert len(world.sms_to("+33698000003")) == 1
    assert world.sms_to("+33698000002") == []

    # Step 3, an email an hour later to those who clicked a link (Marie).
    clock.advance(hours=1)
    report = await world.tick()
    assert (report.sent, report.skipped) == (1, 2)
    assert [subject_of(m) for m in world.mails_to("marie@example.fr")] == [
        "Bienvenue chez Agence Immobilière Demo",
        "Votre projet immobilier",
    ]
    assert len(world.mails_to("sophie@example.fr")) == len(world.mails_to("jean@example.fr")) == 1

    # Step 4, "auto", a day later to whoever has not answered: everyone; the orchestrator chose.
    clock.advance(days=1)
    report = await world.tick()
    assert (report.sent, report.completed) == (3, 3)
    for person, phone, address in (
        (marie, "+33698000001", "marie@example.fr"),
        (jean, "+33698000002", "jean@example.fr"),
        (sophie, "+33698000003", "sophie@example.fr"),
    ):
        last = (await campaign_rows(world, person))[-1]
        assert last.status == "sent" and last.idempotency_key.endswith(":3")
        received = (
            world.sms_to(phone)
            if last.channel_type == Channel.SMS
            else [text_of(m) for m in world.mails_to(address)]
        )
        assert ALERT in received[-1]
        [message] = await world.rows(t.MessageRow, t.MessageRow.id == last.message_id)
        assert message.meta["decision"]["channel"] == last.channel_type
        assert message.meta["decision"]["reasons"]
    progress = await service.campaigns.progress(campaign_id)
    assert [(s.sent, s.skipped, s.queued, s.deferred) for s in progress.steps] == [
        (3, 0, 0, 0),
        (2, 1, 0, 0),
        (1, 2, 0, 0),
        (3, 0, 0, 0),
    ]
    assert progress.completed == 3


async def test_replies_confirmations_and_stop_from_the_personas(
    world: World, clock: FakeClock
) -> None:
    service = world.service
    campaign_id = await start_campaign(
        service,
        [
            # asks for an answer: the personas answer what asks, not an acknowledgement
            StepDraft(channel=Channel.SMS, template="rdv_reminder_24h"),
            StepDraft(
                channel=Channel.SMS,
                delay_seconds=3600,
                template="rdv_reminder_2h",
                condition=Condition.APPOINTMENT_CONFIRMED,
            ),
            StepDraft(channel=Channel.SMS, delay_seconds=3600, template="rdv_reminder_30min"),
        ],
    )
    people = {}
    for name, phone, email in (CAMILLE, LEA, PAUL, ("Marc Lemoine", "+33698000009", None)):
        people[phone] = await prospect(service, name, phone, email)
        await with_appointment(service, people[phone], clock)
    await service.campaigns.enrol(campaign_id, list(people.values()))

    assert (await world.tick()).sent == 4
    for phone in people:
        [sms] = world.sms_to(phone)
        assert "Confirmez en répondant OUI" in sms
    # Camille answered "OUI": Sara confirmed her appointment; Léa asked a question; Paul: STOP.
    [camille_rdv] = await service.appointments.for_prospect(people[CAMILLE[1]])
    assert camille_rdv.status == AppointmentStatus.CONFIRMED
    paul = await service.prospects.get(people[PAUL[1]])
    assert Channel.SMS in paul.opted_out_channels

    clock.advance(hours=1)
    report = await world.tick()
    assert (report.sent, report.skipped, report.left) == (1, 1, 2)
    assert "votre RDV est dans 2 h" in world.sms_to(CAMILLE[1])[-1]
    clock.advance(hours=1)
    report = await world.tick()
    assert (report.sent, report.completed) == (2, 2)

    campaign_texts = ("Rappel : RDV demain", "votre RDV est dans 2 h", "vous attend dans")

    def campaign_sms(phone: str) -> list[str]:
        return [s for s in world.sms_to(phone) if any(k in s for k in campaign_texts)]

    assert len(campaign_sms(CAMILLE[1])) == 3
    assert len(campaign_sms("+33698000009")) == 2  # not confirmed: the 2 h reminder skipped
    assert len(campaign_sms(LEA[1])) == len(campaign_sms(PAUL[1])) == 1
    enrolments = {e.prospect_id: e for e in await service.campaigns.enrolments(campaign_id)}
    assert enrolments[people[LEA[1]]].left_reason == "replied"
    assert enrolments[people[PAUL[1]]].left_reason == "opted_out"
    assert enrolments[people[CAMILLE[1]]].status == EnrolmentStatus.COMPLETED
    progress = await service.campaigns.progress(campaign_id)
    assert [(s.sent, s.skipped, s.left) for s in progress.steps] == [
        (4, 0, 0),
        (1, 1, 2),
        (2, 0, 0),
    ]
    assert progress.left_reasons == {"replied": 1, "opted_out": 1}


async def test_pause_resume_and_a_restart_continue_where_it_was(
    world: World, clock: FakeClock, db
) -> None:
    service = world.service
    steps = [
        StepDraft(channel=Channel.SMS, template="welcome"),
        StepDraft(channel=Channel.SMS, delay_seconds=3600, template="follow_up"),
        StepDraft(channel=Channel.EMAIL, delay_seconds=3600, template="follow_up"),
    ]
    campaign_id = await start_campaign(service, steps, agent_name="Julie")
    marc = await prospect(service, "Marc Lemoine", "+33698000009", "marc@example.fr")
    await service.campaigns.enrol(campaign_id, [marc])
    await world.tick()
    [welcome] = world.sms_to("+33698000009")
    assert welcome.startswith("Bienvenue Marc Lemoine !")

    await service.campaigns.pause(campaign_id)
    clock.advance(hours=3)
    assert (await world.tick()).processed == 0
    assert len(world.sms_to("+33698000009")) == 1

    # A new process over the same database: new service, runner and workers.
    world.restart(await InboxService.connect(db, "acme", clock=clock))
    await world.service.campaigns.resume(campaign_id)
    assert (await world.tick()).sent == 1
    assert FOLLOW_UP in world.sms_to("+33698000009")[-1]
    assert (await world.tick()).processed == 0  # the next step is an hour after this one
    clock.advance(hours=1)
    assert (await world.tick()).completed == 1
    [mail] = world.mails_to("marc@example.fr")
    assert subject_of(mail) == "Votre projet immobilier"
    assert len(world.sms_to("+33698000009")) == 2
    rows = await campaign_rows(world, marc)
    assert [r.status for r in rows] == ["sent"] * 3
    assert len({r.idempotency_key for r in rows}) == 3


async def test_a_step_due_at_night_is_sent_when_quiet_hours_end(world: World, db) -> None:
    clock = FakeClock(datetime(2026, 3, 10, 22, 30, tzinfo=UTC))  # 23:30 in Paris
    service = await InboxService.connect(db, "acme", clock=clock)
    world.restart(service)
    steps = [
        StepDraft(channel=Channel.SMS, template="welcome"),
        StepDraft(channel=Channel.SMS, delay_seconds=3600, template="follow_up"),
    ]
    campaign_id = await start_campaign(service, steps, agent_name="Julie")
    marc = await prospect(service, "Marc Lemoine", "+33698000009", None)
    await service.campaigns.enrol(campaign_id, [marc])

    report = await world.tick()
    assert (report.sent, report.held) == (1, 1)
    assert world.sms_to("+33698000009") == []  # not at night
    [row] = await campaign_rows(world, marc)
    morning = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert (row.status, row.not_before) == ("held", morning)
    [message] = await world.rows(t.MessageRow, t.MessageRow.id == row.message_id)
    assert message.status == MessageStatus.HELD and message.meta["decision"]["held_until"]
    progress = await service.campaigns.progress(campaign_id)
    assert (progress.steps[0].deferred, progress.steps[0].sent) == (1, 0)
    # The next step counts its delay from the morning send, not from the night.
    (enrolment,) = await service.campaigns.enrolments(campaign_id)
    assert enrolment.next_run_at == morning + timedelta(hours=1)

    clock.now = morning - timedelta(minutes=1)
    await world.tick()
    assert world.sms_to("+33698000009") == []
    clock.now = morning
    await world.tick()
    [welcome] = world.sms_to("+33698000009")
    assert welcome.startswith("Bienvenue Marc Lemoine !")
    progress = await service.campaigns.progress(campaign_id)
    assert (progress.steps[0].deferred, progress.steps[0].sent) == (0, 1)
    clock.advance(hours=1)
    assert (await world.tick()).sent == 1
    assert len(world.sms_to("+33698000009")) == 2


async def test_a_failed_sms_step_falls_back_to_the_email_template(world: World) -> None:
    service = world.service
    steps = [StepDraft(channel=Channel.SMS, template="follow_up")]
    campaign_id = await start_campaign(service, steps, agent_name="Julie")
    # The sandbox always answers 21211 (invalid number) for this one.
    nadia = await prospect(service, "Nadia Haddad", "+33612000901", "nadia@example.fr")
    await service.campaigns.enrol(campaign_id, [nadia])
    await world.tick()
    assert world.sms_to("+33612000901")  # tried by SMS first
    [mail] = world.mails_to("nadia@example.fr")
    assert subject_of(mail) == "Votre projet immobilier"  # the email template, not the SMS text
    [row] = await campaign_rows(world, nadia)
    assert (row.status, row.channel_type, row.fallback_attempts) == ("sent", "email", 1)
    [message] = await world.rows(t.MessageRow, t.MessageRow.id == row.message_id)
    assert message.channel_type == "email" and message.subject == "Votre projet immobilier"
    assert message.meta["fallback_attempted"] and message.meta["attempts"][0]["code"] == "21211"
    progress = await service.campaigns.progress(campaign_id)
    assert progress.steps[0].sent == 1
