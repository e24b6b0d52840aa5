"""Sending a rendered template through the pipeline: campaign steps and A/B test sends.

The template rendered per channel becomes each channel's own rendering of one
``OutgoingRequest``; the pipeline weighs each channel with what it would send
(``weigh_each_rendering``), among the channels the template was rendered for ("auto") or about
the step's fixed channel. Opt-outs, daily limits, the cost cap and the WhatsApp window apply
(outside it, only an approved WhatsApp template carries the message); quiet hours hold the send
instead of dropping it; the other eligible channels become the fallback chain, each sending its
own rendering. The decision and its reasons are stored with the message.

The idempotency key ``campaign:<enrolment id>:<step>`` makes a step impossible to queue twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.campaigns.render import Renderings
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel
from core.events import Event
from core.orchestrator.loader import TenantInputs
from core.pipeline import Kind, Origin, Outcome, OutgoingRequest, Rendering, submit
from core.storage import tables as t
from core.templates.message import RenderedMessage


def idempotency_key(enrolment_id: int, step: int) -> str:
    """The outbox key of a campaign step."""
    return f"campaign:{enrolment_id}:{step}"


def request_for(
    prospect: t.ProspectRow,
    renderings: Renderings,
    *,
    kind: Kind,
    key: str,
    purpose: str,
    channel: Channel | None = None,
    campaign_enrolment_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> OutgoingRequest:
    """The request of one rendered template to ``prospect`` (``channel`` fixes the channel).

    ``context`` (what sent it) goes into the message's metadata and the payload.
    """
    by_channel = {c: _rendering(r) for c, r in renderings.by_channel.items()}
    whatsapp = renderings.by_channel.get(Channel.WHATSAPP)
    template = None
    if whatsapp is not None and whatsapp.template is not None and whatsapp.approved:
        template = _rendering(whatsapp, with_template=True)
    return OutgoingRequest(
        tenant_id=prospect.tenant_id,
        prospect_id=prospect.id,
        kind=kind,
        origin=Origin.CAMPAIGN,
        draft=ReplyDraft(message_type=renderings.message_type),
        renderings=by_channel,
        whatsapp_template=template,
        channel=channel,
        allowed=renderings.channels,
        weigh_each_rendering=True,
        key=key,
        intent=key,  # one per step: the policy's once-per-window never holds a later step
        purpose=purpose,
        campaign_enrolment_id=campaign_enrolment_id,
        meta={**(context or {})},
        extra={**(context or {})},
    )


async def submit_rendered(
    session: AsyncSession,
    inputs: TenantInputs,
    request: OutgoingRequest,
    now: datetime,
    events: list[Event],
) -> Outcome:
    """Submit one rendered template (a refused one says why in ``decision.blocked``)."""
    (outcome,) = await submit(
        session, [request], now=now, settings=inputs.orchestrator, events=events, inputs=inputs
    )
    return outcome


def _rendering(rendered: RenderedMessage, *, with_template: bool = False) -> Rendering:
    template = rendered.payload().get("template") if with_template else None
    return Rendering(
        text=rendered.text,
        subject=rendered.subject,
        html=rendered.html,
        template=template,
        template_name=rendered.template_name,
    )
