"""``load_contexts`` (a chunk's routing contexts in a few queries) equals ``load_context`` for
each prospect: WhatsApp window, engagement, unreachable channels, opt-outs, time zones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.config.settings import OrchestratorSettings
from core.domain.enums import Channel, Direction, MessageType, Urgency
from core.orchestrator.loader import (
    latest_conversations,
    load_context,
    load_contexts,
    load_contexts_by_id,
    load_tenant_inputs,
)
from core.service import InboxService
from core.storage import tables as t
from tests.factories import add_message, add_prospect


async def test_a_chunk_loads_the_same_contexts_as_one_by_one(service: InboxService) -> None:
    now = service.ctx.now()
    ids = [
        await add_prospect(service, "Marie", phone="+33612345678", email="m@example.fr"),
        await add_prospect(service, "Paul", whatsapp="+33612345679", timezone="America/New_York"),
        await add_prospect(service, "Zoé", email="z@example.fr", opted_out_channels=["sms"]),
        await add_prospect(service, "Nobody", email="n@example.fr"),
    ]
    for hours in (50, 30, 3):  # history: sent, answered, WhatsApp window
        at = now - timedelta(hours=hours)
        await add_message(service, ids[0], "offre", direction=Direction.OUTBOUND, at=at)
        await add_message(service, ids[0], "oui", at=at + timedelta(minutes=5))
        await add_message(service, ids[1], "wa", channel=Channel.WHATSAPP, at=at)
    async with service.db.session() as session:
        bad = (
            (await session.execute(select(t.MessageRow).where(t.MessageRow.prospect_id == ids[0])))
            .scalars()
            .first()
        )
        bad.meta = {"attempts": [{"channel": "sms", "outcome": "permanent", "code": "21211"}]}
    settings = OrchestratorSettings(enable_analytics=True)
    options = {"message_type": MessageType.MARKETING, "urgency": Urgency.LOW}
    async with service.db.session() as session:
        inputs = await load_tenant_inputs(session, service.ctx.tenant_id, settings, now)
        prospects = [await session.get(t.ProspectRow, pid) for pid in ids]
        batched = await load_contexts(session, inputs, prospects, now, **options)
        one_by_one = {
            p.id: await load_context(session, inputs, p, now, **options) for p in prospects
        }
        by_id = await load_contexts_by_id(session, inputs, [*ids, 999_999], now, **options)
        conversations = await latest_conversations(session, ids)
    assert batched == one_by_one
    assert by_id == one_by_one  # an unknown id is left out
    assert batched[ids[0]].unreachable == frozenset({Channel.SMS})
    assert batched[ids[0]].engagement and batched[ids[1]].whatsapp_last_inbound_at is not None
    assert set(conversations) == {(ids[0], Channel.SMS), (ids[1], Channel.WHATSAPP)}


async def test_a_chunk_shares_todays_sends_and_the_template_approval(service: InboxService) -> None:
    # What every prospect of a chunk shares is read once (``chunk_facts``), and is the same as
    # what ``load_context`` reads for each: today's sends on a limited channel, an approved
    # WhatsApp template.
    from core.domain.enums import ApprovalStatus
    from core.domain.models import TemplateDraft
    from core.domain.tenant_settings import ChannelLimits

    now = service.ctx.now()
    settings = await service.tenant_settings.get()
    settings.limits = {Channel.SMS: ChannelLimits(daily_limit=5)}
    await service.tenant_settings.save(settings)
    template = await service.templates.save(
        TemplateDraft(
            channel=Channel.WHATSAPP,
            name="offre",
            language="fr",
            template_type="marketing",
            content="Bonjour {{1}}",
            variables=["prospect_name"],
            whatsapp_name="offre",
            approval_status=ApprovalStatus.APPROVED,
            content_sid="HX" + "0" * 32,
        )
    )
    ids = [
        await add_prospect(service, "Marie", phone="+33612345678", whatsapp="+33612345678"),
        await add_prospect(service, "Paul", phone="+33612345679"),
    ]
    await add_message(service, ids[0], "offre", direction=Direction.OUTBOUND, at=now)
    await add_message(service, ids[1], "offre", direction=Direction.OUTBOUND, at=now)
    options = {"message_type": MessageType.MARKETING, "template_id": template.id}
    async with service.db.session() as session:
        inputs = await load_tenant_inputs(
            session, service.ctx.tenant_id, OrchestratorSettings(), now
        )
        prospects = [await session.get(t.ProspectRow, pid) for pid in ids]
        batched = await load_contexts(session, inputs, prospects, now, **options)
        one_by_one = {
            p.id: await load_context(session, inputs, p, now, **options) for p in prospects
        }
    assert batched == one_by_one
    assert all(c.sent_today == {Channel.SMS: 2} for c in batched.values())
    assert all(c.whatsapp_template_approved for c in batched.values())
