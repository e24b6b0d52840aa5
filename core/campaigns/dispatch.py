"""Sending a rendered template through the orchestrator: campaign steps and A/B test sends.

The orchestrator decides like for any other send (``core.outbox.routing`` loads the same
context): among the channels the template was rendered for ("auto"), or about the step's fixed
channel, each channel weighed with its own rendering (``core.orchestrator.per_channel``).
Opt-outs, daily limits, the cost cap and the WhatsApp window apply; quiet hours hold the send
until the next allowed time (the outbox row's ``not_before``) instead of dropping it; the other
eligible channels with the template become the fallback chain, each sending its own rendering
(``payload["variants"]``). The decision and its reasons are stored with the message.

The idempotency key ``campaign:<enrolment id>:<step>`` makes a step impossible to queue twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.campaigns.render import Renderings
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, SenderType
from core.events import ConversationChanged, Event, MessageChanged
from core.orchestrator.loader import TenantInputs
from core.orchestrator.per_channel import decide_per_channel
from core.outbox.drafts import Prepared
from core.outbox.enqueue import enqueue
from core.outbox.routing import Routed, routing_context, tenant_providers
from core.storage import tables as t
from core.storage.timeline import conversation_for
from core.templates.message import RenderedMessage


def idempotency_key(enrolment_id: int, step: int) -> str:
    """The outbox key of a campaign step."""
    return f"campaign:{enrolment_id}:{step}"


async def route_rendered(
    session: AsyncSession,
    inputs: TenantInputs,
    prospect: t.ProspectRow,
    renderings: Renderings,
    now: datetime,
    channel: Channel | None = None,
) -> Routed:
    """The orchestrator's decision for ``renderings``: ``channel``, or its choice when None.

    Only the channels the template was rendered for are candidates (and fallbacks), each
    weighed with its own rendering.
    """
    contents = {c: _prepared(renderings, c) for c in renderings.by_channel}
    first = contents[channel] if channel is not None else next(iter(contents.values()))
    context = await routing_context(
        session, inputs, prospect, first, now, allowed=renderings.channels
    )
    drafts = {c: prepared.draft for c, prepared in contents.items()}
    decision = decide_per_channel(context, drafts, channel)
    chosen = contents[decision.channel] if decision.channel is not None else first
    return Routed(chosen, context, decision)


async def enqueue_routed(
    session: AsyncSession,
    routed: Routed,
    renderings: Renderings,
    prospect: t.ProspectRow,
    *,
    key: str,
    purpose: str,
    now: datetime,
    events: list[Event],
    campaign_enrolment_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[t.MessageRow, t.OutboxRow]:
    """Queue the decided channel's rendering as a Sara message and its outbox row.

    ``context`` (what sent it) goes into the message's metadata and the payload.
    """
    decision = routed.decision
    assert decision.channel is not None, "only a decision with a channel can be queued"
    chosen = renderings.by_channel[decision.channel]
    variants = {str(c): _content(r) for c, r in renderings.by_channel.items()}
    payload = routed.payload() | _content(chosen) | {"variants": variants, **(context or {})}
    payload["template_name"] = chosen.template_name
    conversation = await conversation_for(
        session, prospect, decision.channel, routed.context.contacts.get(decision.channel)
    )
    message, row = await enqueue(
        session,
        conversation,
        decision,
        payload,
        now,
        sender_type=SenderType.SARA,
        providers=await tenant_providers(session, prospect.tenant_id),
        key=key,
        purpose=purpose,
        campaign_enrolment_id=campaign_enrolment_id,
        meta={**(context or {}), "template": chosen.template_name},
    )
    events += [MessageChanged(message.id, conversation.id), ConversationChanged(conversation.id)]
    return message, row


def _content(rendered: RenderedMessage) -> dict[str, Any]:
    return {"text": rendered.text, "subject": rendered.subject, "html": rendered.html}


def _prepared(renderings: Renderings, channel: Channel) -> Prepared:
    """The draft the orchestrator weighs, and the WhatsApp template if Meta approved it."""
    rendered = renderings.by_channel[channel]
    whatsapp = renderings.by_channel.get(Channel.WHATSAPP)
    template = None
    if whatsapp is not None and whatsapp.template is not None and whatsapp.approved:
        ref = whatsapp.template
        template = {
            "name": ref.name,
            "language": ref.language,
            "parameters": list(ref.parameters),
            "content_sid": ref.content_sid,
        }
    draft = ReplyDraft(
        text=rendered.text,
        subject=rendered.subject,
        html=rendered.html,
        message_type=renderings.message_type,
        template_id=renderings.whatsapp_template_id if template else None,
    )
    return Prepared(draft, template)
