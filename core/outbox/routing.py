"""From a draft to a decision: render it, load the prospect's routing context, decide.

Every orchestrated send starts here (agent replies, unified replies, broadcasts, channel
switches, calls, campaign steps, A/B test sends), so that all of them obey the same rules:
opt-outs, quiet hours, daily limits, the cost cap, the WhatsApp window, and a fallback chain made
of the other eligible channels. Nothing is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import Channel
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide
from core.orchestrator.loader import TenantInputs, load_context
from core.outbox.drafts import Prepared, prepare
from core.outbox.payload import build_payload, hold_policy
from core.storage import tables as t


@dataclass(frozen=True)
class Routed:
    """A rendered draft, the prospect's routing context, and the orchestrator's decision."""

    prepared: Prepared
    context: RoutingContext
    decision: Decision

    @property
    def draft(self) -> ReplyDraft:
        """The draft as rendered."""
        return self.prepared.draft

    def payload(self) -> dict[str, Any]:
        """The outbox payload: the content, every address it may fall back to, the quiet rules."""
        return build_payload(
            self.prepared.draft,
            dict(self.context.contacts),
            template=self.prepared.template,
            policy=hold_policy(
                self.context.timezone, self.context.urgency, self.context.message_type
            ),
        )


async def routing_context(
    session: AsyncSession,
    inputs: TenantInputs,
    prospect: t.ProspectRow,
    prepared: Prepared,
    now: datetime,
    *,
    conversation: t.ConversationRow | None = None,
    preferred: Channel | None = None,
    allowed: frozenset[Channel] | None = None,
) -> RoutingContext:
    """What ``decide`` needs about ``prospect`` for ``prepared`` at ``now``."""
    draft = prepared.draft
    return await load_context(
        session,
        inputs,
        prospect,
        now,
        message_type=draft.message_type,
        urgency=draft.urgency,
        conversation=conversation,
        template_id=draft.template_id if prepared.template else None,
        allowed=allowed,
        preferred=preferred,
    )


async def route(
    session: AsyncSession,
    inputs: TenantInputs,
    prospect: t.ProspectRow,
    draft: ReplyDraft | Prepared,
    now: datetime,
    *,
    channel: Channel | None = None,
    conversation: t.ConversationRow | None = None,
    preferred: Channel | None = None,
    allowed: frozenset[Channel] | None = None,
    context: RoutingContext | None = None,
) -> Routed:
    """Render ``draft`` (a ``Prepared`` one is taken as is) and decide its channel.

    ``channel`` asks for that channel (the decision then says whether it can be used, and its
    alternatives are the fallback chain); None lets the orchestrator choose. ``context`` is the
    prospect's routing context when already loaded (``load_contexts`` for a whole chunk).

    Raises:
        InvalidInput: unknown template, a missing template variable, or nothing to send.
    """
    if isinstance(draft, Prepared):
        prepared = draft
    else:
        prepared = await prepare(session, inputs.tenant_id, draft, prospect, inputs.settings)
    if context is None:
        context = await routing_context(
            session,
            inputs,
            prospect,
            prepared,
            now,
            conversation=conversation,
            preferred=preferred,
            allowed=allowed,
        )
    return Routed(prepared, context, decide(context, prepared.draft, channel))


async def tenant_providers(session: AsyncSession, tenant_id: int) -> dict[Channel, str]:
    """The provider the tenant set up for each channel (the outbox row records it)."""
    rows = await session.execute(
        select(t.ChannelRow.channel_type, t.ChannelRow.provider).where(
            t.ChannelRow.tenant_id == tenant_id
        )
    )
    return {Channel(c): p for c, p in rows}
