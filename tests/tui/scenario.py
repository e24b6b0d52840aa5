"""A small, fixed set of conversations for the app's tests, snapshots and screenshots.

Built through the facade and the product's write path (``append_message``), with a fixed "now",
so that relative times and ids are the same on every run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.booking.appointments import AppointmentDraft
from core.domain.enums import Channel, Direction, MessageKind, MessageStatus, Priority, SenderType
from core.domain.models import TemplateDraft
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import append_message, conversation_for
from tests.factories import add_prospect

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
EVIL_NAME = "[bold red]Evil[/] \x1b[31mCorp\x1b]0;pwned\x07"


def fixed_now() -> datetime:
    """The scenario's "now": Tuesday 10 March 2026, 10:00 UTC."""
    return NOW


async def say(
    service: InboxService,
    prospect_id: int,
    text: str,
    *,
    channel: Channel = Channel.SMS,
    minutes_ago: float = 0,
    outbound: bool = False,
    status: MessageStatus | None = None,
    kind: MessageKind = MessageKind.MESSAGE,
    **extra: Any,
) -> tuple[int, int]:
    """Add one thread item; returns (conversation id, message id)."""
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        assert prospect is not None
        conversation = await conversation_for(session, prospect, channel, None)
        row = await append_message(
            session,
            conversation,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            sender_type=extra.pop("sender", SenderType.AGENT if outbound else SenderType.PROSPECT),
            content=text,
            status=status or (MessageStatus.DELIVERED if outbound else MessageStatus.RECEIVED),
            kind=kind,
            created_at=NOW - timedelta(minutes=minutes_ago),
            **extra,
        )
        return conversation.id, row.id


async def build(service: InboxService) -> dict[str, int]:
    """Create the scenario; returns the ids the tests need by name."""
    ids: dict[str, int] = {}
    for channel in Channel:
        await service.tenant_settings.save_channel(channel, enabled=True)
    marie = await add_prospect(
        service,
        "Marie Dupont",
        phone="+33612345678",
        email="marie@example.fr",
        whatsapp="+33612345678",
        preferred_channel=Channel.SMS,
        timezone="Europe/Paris",
    )
    jean = await add_prospect(service, "Jean Martin", email="jean.martin@example.com")
    sophie = await add_prospect(
        service, "Sophie Bernard", telegram_chat_id=424242, phone="+33698765432"
    )
    luc = await add_prospect(service, "Luc Moreau", phone="+33611223344")
    evil = await add_prospect(service, EVIL_NAME, phone="+33600000001")
    ids.update(marie=marie, jean=jean, sophie=sophie, luc=luc, evil=evil)

    ids["marie_email"], _ = await say(
        service,
        marie,
        "Bonjour, je cherche un T3 à Lyon.",
        channel=Channel.EMAIL,
        minutes_ago=3 * 24 * 60,
        subject="Recherche appartement",
    )
    await say(
        service,
        marie,
        "Merci, voici les annonces.",
        channel=Channel.EMAIL,
        minutes_ago=3 * 24 * 60 - 30,
        outbound=True,
        meta={"attachments": [{"filename": "annonces-lyon.pdf"}]},
    )
    ids["marie_sms"], _ = await say(
        service, marie, "Est-ce que la visite de jeudi tient toujours ?", minutes_ago=5
    )
    _, ids["failed"] = await say(
        service, marie, "Oui, jeudi 14h.", minutes_ago=4, outbound=True, status=MessageStatus.FAILED
    )
    async with service.db.session() as session:
        row = await session.get(t.MessageRow, ids["failed"])
        row.error_code, row.error_message = "30003", "Unreachable destination handset"
    await service.messages.add_note(ids["marie_sms"], "Cliente sérieuse, budget 350 k€.")

    ids["jean_email"], _ = await say(
        service,
        jean,
        "Pouvez-vous m'envoyer le dossier de location ?",
        channel=Channel.EMAIL,
        minutes_ago=90,
        subject="Dossier location",
    )
    ids["sophie_telegram"], _ = await say(
        service,
        sophie,
        "Je suis devant l'agence",
        channel=Channel.TELEGRAM,
        minutes_ago=180,
        meta={
            "location": {
                "latitude": 48.8686,
                "longitude": 2.3314,
                "address": "15 rue de la Paix, Paris",
            }
        },
    )
    ids["luc_voice"], _ = await say(
        service,
        luc,
        "",
        channel=Channel.VOICE,
        minutes_ago=26 * 60,
        kind=MessageKind.CALL,
        sender=SenderType.SARA,
        meta={
            "duration_seconds": 200,
            "summary": "Luc veut vendre sa maison à Nantes avant l'été.",
            "transcript": "Sara: Bonjour, Agence Demo.\nLuc: Je souhaite vendre ma maison.",
        },
    )
    ids["evil_sms"], _ = await say(
        service,
        evil,
        "[link=file:///etc/passwd]click[/link] \x1b[2J\x1b[31mred\x1b[0m",
        minutes_ago=30,
    )
    await service.conversations.set_priority(ids["marie_sms"], Priority.URGENT)
    await service.conversations.set_labels(ids["marie_sms"], ["visite", "acheteur"])
    await service.conversations.set_priority(ids["jean_email"], Priority.HIGH)
    await service.conversations.mark_read(ids["luc_voice"])
    agent = await service.agents.add("Camille")
    ids["agent"] = agent.id
    await service.conversations.assign(ids["jean_email"], agent.id)
    await service.appointments.create(
        AppointmentDraft(
            prospect_id=marie,
            starts_at=NOW + timedelta(days=2, hours=4),
            ends_at=NOW + timedelta(days=2, hours=5),
            location="12 rue Mercière, Lyon",
        )
    )
    template = await service.templates.save(
        TemplateDraft(
            channel=Channel.SMS,
            name="rappel_rdv",
            content=(
                "Bonjour {{prospect_name}}, RDV le {{rdv_date}} à {{rdv_time}}. {{company_name}}"
            ),
        )
    )
    ids["template"] = template.id
    return ids
