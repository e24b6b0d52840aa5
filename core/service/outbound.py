"""Sending: decide the channel, queue durably, and follow up (the facade's ``outbound`` part).

    decision = await service.outbound.decide(conversation_id, ReplyDraft(text="Bonjour"))
    message = await service.outbound.send_reply(conversation_id, draft)      # Auto channel
    broadcast_id = await service.outbound.broadcast(prospect_ids, draft)

Nothing here calls a provider except ``route_message`` (decide + enqueue + send now, the seed's
``routeMessage``); everything else is queued for the ``OutboxWorker``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config.settings import OrchestratorSettings
from core.domain import models as m
from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import (
    Channel,
    Direction,
    MessageKind,
    MessageStatus,
    OutboxStatus,
    SenderType,
)
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged, Event, MessageChanged
from core.i18n import t as tr
from core.orchestrator.channels import NAMES
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide
from core.orchestrator.loader import (
    TenantInputs,
    latest_conversations,
    load_contexts,
    load_tenant_inputs,
    with_spending,
)
from core.outbox.drafts import Prepared, check_length
from core.outbox.enqueue import enqueue, new_key
from core.outbox.payload import build_payload, hold_policy
from core.outbox.routing import Routed, route, routing_context, tenant_providers
from core.reminders.service import Reminders
from core.service.conversations import Conversations
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.storage.timeline import append_message, conversation_for, open_conversation
from core.team import audit

if TYPE_CHECKING:
    from core.outbox.worker import AdapterSource

Out = t.OutboxRow
BROADCAST_CHUNK = 200
_RESENDABLE = (
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.UNKNOWN,
    MessageStatus.EXPIRED,
)


@dataclass(frozen=True)
class RouteResult:
    """The seed's ``routeMessage`` result.

    ``channel`` is the channel first chosen; ``fallback_channel`` the one finally used when a
    fallback happened. ``message_id`` is our message's id; ``provider_message_id`` the provider's.
    """

    success: bool
    channel: Channel | None
    message_id: int | None
    status: str
    fallback_attempted: bool = False
    fallback_channel: Channel | None = None
    provider_message_id: str | None = None
    decision: Decision | None = None
    error: str | None = None


@dataclass(frozen=True)
class BroadcastProgress:
    """Where a broadcast stands."""

    sent: int
    failed: int
    held: int
    remaining: int
    unknown: int = 0
    total: int = 0


@dataclass(frozen=True)
class BudgetStatus:
    """This month's messaging spending against the budget."""

    spent: Decimal
    budget: Decimal
    ratio: float
    threshold: float
    alert: bool


class Outbound:
    """Deciding, queuing and following outgoing messages.

    ``runtime`` (the channel adapters) is only needed by ``route_message``, which sends at once;
    attach it later with ``attach_runtime`` once the app has built it.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        settings: OrchestratorSettings | None = None,
        runtime: AdapterSource | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings or OrchestratorSettings()
        self.runtime = runtime
        self.reminders = Reminders(ctx, self.settings)

    def attach_runtime(self, runtime: AdapterSource) -> None:
        """Give the adapters ``route_message`` sends with."""
        self.runtime = runtime

    # ----------------------------------------------------------------------------------------
    # Deciding

    async def decide(
        self, conversation_id: int, draft: ReplyDraft, channel: Channel | None = None
    ) -> Decision:
        """The decision for ``draft`` in a conversation (Auto when ``channel`` is None).

        Raises:
            InvalidInput: unknown template or a missing template variable.
        """
        async with self.ctx.db.session() as session:
            conversation, prospect = await self._conversation(session, conversation_id)
            routed = await self._route(session, prospect, draft, channel, conversation)
        return routed.decision

    async def routing_context(
        self,
        prospect_id: int,
        draft: ReplyDraft | None = None,
        *,
        preferred: Channel | None = None,
        allowed: frozenset[Channel] | None = None,
    ) -> RoutingContext:
        """Everything ``decide`` needs about a prospect now (for ``route_message``)."""
        draft = draft or ReplyDraft()
        async with self.ctx.db.session() as session:
            prospect = await self._prospect(session, prospect_id)
            inputs = await self._inputs(session)
            return await routing_context(
                session,
                inputs,
                prospect,
                Prepared(draft),
                self.ctx.now(),
                preferred=preferred,
                allowed=allowed,
            )

    # ----------------------------------------------------------------------------------------
    # Sending

    async def send_reply(
        self,
        conversation_id: int,
        draft: ReplyDraft,
        channel: Channel | None = None,
        send_at: datetime | None = None,
    ) -> m.Message:
        """Queue a reply; returns the message at once (queued, scheduled or held).

        Raises:
            InvalidInput: unknown template, missing variable, text over the channel's limit, or
                no channel can reach the prospect; nothing is queued then.
        """
        if send_at is not None and send_at.tzinfo is None:
            raise InvalidInput("send_at", send_at, "a date and time with a time zone")
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            conversation, prospect = await self._conversation(session, conversation_id)
            routed = await self._route(session, prospect, draft, channel, conversation)
            if channel is not None:
                check_length(routed.draft, Channel(channel))
            decision = _usable(routed.decision, channel)
            message, _ = await self._queue(
                session,
                events,
                conversation,
                decision,
                routed.payload(),
                now,
                send_at=send_at,
                sender_id=self.ctx.agent_id,
            )
            return convert.message(message)

    async def resend(self, message_id: int) -> m.Message:
        """Queue again a failed, expired or "outcome unknown" message, on its last channel.

        Raises:
            InvalidInput: the message is not in a state that can be resent.
        """
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            message = await session.get(t.MessageRow, message_id)
            if message is None or message.tenant_id != self.ctx.tenant_id:
                raise NotFound("message", message_id)
            if message.status not in _RESENDABLE:
                raise InvalidInput(
                    "message", message.status, tr("orchestrator.error.not_resendable")
                )
            last = (
                await session.execute(
                    select(Out).where(Out.message_id == message_id).order_by(Out.id.desc()).limit(1)
                )
            ).scalar_one_or_none()
            if last is None:
                raise InvalidInput("message", message_id, tr("orchestrator.error.not_resendable"))
            row = Out(
                tenant_id=message.tenant_id,
                message_id=message.id,
                conversation_id=message.conversation_id,
                prospect_id=message.prospect_id,
                appointment_id=last.appointment_id,
                broadcast_id=last.broadcast_id,
                purpose=last.purpose,
                channel_type=message.channel_type,
                provider=last.provider,
                idempotency_key=new_key(),
                payload=last.payload,
                decision={"channel": message.channel_type},
                fallback_chain=[],
                attempts_log=[],
                status=OutboxStatus.PENDING,
                not_before=now,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            message.status = MessageStatus.QUEUED
            message.error_code = message.error_message = None
            message.meta = {
                **(message.meta or {}),
                "resent": (message.meta or {}).get("resent", 0) + 1,
            }
            await session.flush()
            events += [
                MessageChanged(message.id, message.conversation_id),
                ConversationChanged(message.conversation_id),
            ]
            return convert.message(message)

    async def switch_channel(self, conversation_id: int, to_channel: Channel) -> m.Conversation:
        """Continue a conversation on another channel: a new linked conversation carrying the
        context, with the seed's transition message queued on it.

        Raises:
            InvalidInput: same channel, or the prospect cannot be reached on ``to_channel``.
        """
        to_channel = Channel(to_channel)
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            old, prospect = await self._conversation(session, conversation_id)
            if old.channel_type == to_channel:
                raise InvalidInput("channel", to_channel, tr("orchestrator.error.same_channel"))
            first = (prospect.display_name or "").split(" ")[0]
            text = tr("orchestrator.switch.transition", name=first, channel=NAMES[to_channel])
            prepared = Prepared(ReplyDraft(text=text))
            routed = await self._route(session, prospect, prepared, to_channel, old)
            context = routed.context
            decision = _usable(routed.decision, to_channel)
            carried = {
                **(old.context or {}),
                "previous_channel": old.channel_type,
                "switched_from_id": old.id,
                "switched_at": now.isoformat(),
            }
            new = await open_conversation(
                session,
                prospect,
                to_channel,
                identifier=context.contacts.get(to_channel),
                subject=old.subject,
                switched_from_id=old.id,
                context=carried,
                created_at=now,
            )
            new.assignee_id = old.assignee_id
            await append_message(
                session,
                old,
                direction=Direction.OUTBOUND,
                sender_type=SenderType.AGENT,
                sender_id=self.ctx.agent_id,
                kind=MessageKind.EVENT,
                content=tr("orchestrator.switch.event", channel=NAMES[to_channel]),
                status=MessageStatus.SENT,
                meta={"switched_to_id": new.id, "channel": str(to_channel)},
                created_at=now,
            )
            await self._queue(
                session,
                events,
                new,
                decision,
                routed.payload(),
                now,
                sender_id=self.ctx.agent_id,
            )
            await audit.record(
                session,
                self.ctx,
                "switch_channel",
                "conversation",
                new.id,
                source=old.id,
                channel=str(to_channel),
                previous=str(old.channel_type),
            )
            events.append(ConversationChanged(old.id))
            new_id = new.id
        return await Conversations(self.ctx).get(new_id)

    async def send_unified(
        self, prospect_id: int, draft: ReplyDraft, preferred_channel: Channel | None = None
    ) -> RouteResult:
        """The seed's unified response: the best channel for the prospect (``preferred_channel``
        counts as their preference), in their conversation on it; queued, not sent here."""
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            prospect = await self._prospect(session, prospect_id)
            routed = await self._route(session, prospect, draft, preferred=preferred_channel)
            decision = routed.decision
            if decision.channel is None:
                return _refused(decision)
            conversation = await conversation_for(
                session, prospect, decision.channel, routed.context.contacts.get(decision.channel)
            )
            message, _ = await self._queue(
                session,
                events,
                conversation,
                decision,
                routed.payload(),
                now,
                sender_id=self.ctx.agent_id,
            )
            return RouteResult(
                True, decision.channel, message.id, message.status, decision=decision
            )

    async def route_message(self, context: RoutingContext, content: ReplyDraft) -> RouteResult:
        """The seed's ``routeMessage``: decide, queue durably, and send now (falling back at
        once on a permanent failure). A transient failure leaves the message queued for retry.
        """
        if context.prospect_id is None:
            raise InvalidInput("context", "prospect_id", "the prospect to send to")
        decision = decide(context, content)
        if decision.channel is None:
            return _refused(decision)
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            prospect = await self._prospect(session, context.prospect_id)
            conversation = await conversation_for(
                session, prospect, decision.channel, context.contacts.get(decision.channel)
            )
            policy = hold_policy(context.timezone, context.urgency, context.message_type)
            payload = build_payload(content, dict(context.contacts), policy=policy)
            message, row = await self._queue(
                session,
                events,
                conversation,
                decision,
                payload,
                now,
                sender_type=SenderType.SARA,
            )
            outbox_id, message_id = row.id, message.id
        if self.runtime is not None and decision.held_until is None:
            # Imported here: the worker imports the service package, which imports this module.
            from core.outbox.worker import OutboxWorker

            worker = OutboxWorker(self.ctx, self.runtime, self.settings)
            for _ in range(self.settings.max_fallback_attempts + 1):
                await worker.process_now(outbox_id)
        async with self.ctx.db.session() as session:
            row = await session.get(Out, outbox_id)
            assert row is not None
            fell_back = row.fallback_attempts > 0
            return RouteResult(
                success=row.status == OutboxStatus.SENT,
                channel=decision.channel,
                message_id=message_id,
                status=str(row.status),
                fallback_attempted=fell_back,
                fallback_channel=Channel(row.channel_type) if fell_back else None,
                provider_message_id=row.provider_message_id,
                decision=decision,
                error=row.last_error if row.status != OutboxStatus.SENT else None,
            )

    async def call(self, prospect_id: int) -> m.Message:
        """Queue an outgoing VAPI call to the prospect, like any send.

        Raises:
            InvalidInput: the prospect has no phone number or voice is not set up.
        """
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            prospect = await self._prospect(session, prospect_id)
            prepared = Prepared(ReplyDraft(text=tr("orchestrator.call.note")))
            routed = await self._route(session, prospect, prepared, Channel.VOICE)
            decision = _usable(routed.decision, Channel.VOICE)
            conversation = await conversation_for(
                session, prospect, Channel.VOICE, routed.context.contacts.get(Channel.VOICE)
            )
            message, _ = await self._queue(
                session,
                events,
                conversation,
                decision.model_copy(update={"alternatives": ()}),
                routed.payload(),
                now,
                sender_id=self.ctx.agent_id,
                kind=MessageKind.CALL,
                purpose="call",
            )
            return convert.message(message)

    async def _queue(
        self,
        session: AsyncSession,
        events: list[Event],
        conversation: t.ConversationRow,
        decision: Decision,
        payload: dict[str, Any],
        now: datetime,
        **options: Any,
    ) -> tuple[t.MessageRow, t.OutboxRow]:
        """Queue one send with the tenant's providers; its changes are published after commit."""
        message, row = await enqueue(
            session,
            conversation,
            decision,
            payload,
            now,
            providers=await tenant_providers(session, self.ctx.tenant_id),
            **options,
        )
        events += [
            MessageChanged(message.id, conversation.id),
            ConversationChanged(conversation.id),
        ]
        return message, row

    # ----------------------------------------------------------------------------------------
    # Broadcast

    async def broadcast(
        self,
        prospect_ids: Iterable[int] | AsyncIterator[int],
        draft: ReplyDraft,
        *,
        broadcast_id: str | None = None,
        chunk_size: int = BROADCAST_CHUNK,
    ) -> str:
        """Queue ``draft`` to every prospect, one decision each, in chunks (memory stays flat).

        Passing the ``broadcast_id`` of an interrupted broadcast resumes it: prospects already
        queued are skipped. A prospect no channel reaches gets a failed entry saying why.
        """
        broadcast_id = broadcast_id or uuid.uuid4().hex[:16]
        chunk: list[int] = []
        async for prospect_id in _aiter(prospect_ids):
            chunk.append(int(prospect_id))
            if len(chunk) >= chunk_size:
                await self._broadcast_chunk(broadcast_id, chunk, draft)
                chunk = []
        if chunk:
            await self._broadcast_chunk(broadcast_id, chunk, draft)
        return broadcast_id

    async def _broadcast_chunk(self, broadcast_id: str, ids: list[int], draft: ReplyDraft) -> None:
        now = self.ctx.now()
        keys = {pid: f"bc:{broadcast_id}:{pid}" for pid in ids}
        async with self.ctx.write() as (session, events):
            done = set(
                (
                    await session.execute(
                        select(Out.idempotency_key).where(Out.idempotency_key.in_(keys.values()))
                    )
                )
                .scalars()
                .all()
            )
            inputs = await self._inputs(session)
            providers = await tenant_providers(session, self.ctx.tenant_id)
            prospects = {
                p.id: p
                for p in (
                    await session.execute(
                        select(t.ProspectRow).where(
                            t.ProspectRow.id.in_(ids), t.ProspectRow.tenant_id == self.ctx.tenant_id
                        )
                    )
                ).scalars()
            }
            todo = [prospects[pid] for pid in ids if keys[pid] not in done and pid in prospects]
            # One render and a few set-based queries for the whole chunk (the draft is the
            # same for every prospect; only a template's variables differ).
            contexts = await load_contexts(
                session,
                inputs,
                todo,
                now,
                message_type=draft.message_type,
                urgency=draft.urgency,
                template_id=draft.template_id,
            )
            conversations = await latest_conversations(session, [p.id for p in todo])
            for prospect in todo:
                pid = prospect.id
                routed = await route(session, inputs, prospect, draft, now, context=contexts[pid])
                decision = routed.decision
                if decision.channel is None:
                    session.add(
                        _refused_row(
                            self.ctx.tenant_id, pid, broadcast_id, keys[pid], decision, now
                        )
                    )
                    continue
                conversation = conversations.get((pid, decision.channel))
                if conversation is None:
                    conversation = await open_conversation(
                        session,
                        prospect,
                        decision.channel,
                        identifier=routed.context.contacts.get(decision.channel),
                    )
                    conversations[pid, decision.channel] = conversation
                await enqueue(
                    session,
                    conversation,
                    decision,
                    routed.payload(),
                    now,
                    sender_id=self.ctx.agent_id,
                    providers=providers,
                    key=keys[pid],
                    purpose="broadcast",
                    broadcast_id=broadcast_id,
                )
                inputs = with_spending(inputs, decision.estimated_cost)
                events.append(ConversationChanged(conversation.id))

    async def broadcast_progress(self, broadcast_id: str) -> BroadcastProgress:
        """Counts of a broadcast's sends by outcome."""
        async with self.ctx.db.session() as session:
            rows = await session.execute(
                select(Out.status, func.count())
                .where(Out.broadcast_id == broadcast_id, Out.tenant_id == self.ctx.tenant_id)
                .group_by(Out.status)
            )
            counts = {OutboxStatus(s): n for s, n in rows}
        failed = sum(
            counts.get(s, 0)
            for s in (OutboxStatus.FAILED, OutboxStatus.EXPIRED, OutboxStatus.CANCELLED)
        )
        return BroadcastProgress(
            sent=counts.get(OutboxStatus.SENT, 0),
            failed=failed,
            held=counts.get(OutboxStatus.HELD, 0),
            remaining=counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
            unknown=counts.get(OutboxStatus.UNKNOWN, 0),
            total=sum(counts.values()),
        )

    # ----------------------------------------------------------------------------------------
    # Budget

    async def budget_status(self) -> BudgetStatus:
        """This month's spending, the budget, and whether the alert threshold is crossed."""
        async with self.ctx.db.session() as session:
            inputs = await self._inputs(session)
        budget = inputs.monthly_budget
        spent = inputs.spent_this_month
        ratio = float(spent / budget) if budget else 0.0
        threshold = self.settings.budget_alert_threshold
        return BudgetStatus(spent, budget, ratio, threshold, bool(budget) and ratio >= threshold)

    # ----------------------------------------------------------------------------------------
    # Loading

    async def _inputs(self, session: AsyncSession) -> TenantInputs:
        return await load_tenant_inputs(session, self.ctx.tenant_id, self.settings, self.ctx.now())

    async def _route(
        self,
        session: AsyncSession,
        prospect: t.ProspectRow,
        draft: ReplyDraft | Prepared,
        channel: Channel | None = None,
        conversation: t.ConversationRow | None = None,
        *,
        preferred: Channel | None = None,
    ) -> Routed:
        """Render ``draft`` and decide, with the tenant's inputs as they are now."""
        inputs = await self._inputs(session)
        return await route(
            session,
            inputs,
            prospect,
            draft,
            self.ctx.now(),
            channel=channel,
            conversation=conversation,
            preferred=preferred,
        )

    async def _conversation(
        self, session: AsyncSession, conversation_id: int
    ) -> tuple[t.ConversationRow, t.ProspectRow]:
        conversation = await session.get(t.ConversationRow, conversation_id)
        if conversation is None or conversation.tenant_id != self.ctx.tenant_id:
            raise NotFound("conversation", conversation_id)
        return conversation, await self._prospect(session, conversation.prospect_id)

    async def _prospect(self, session: AsyncSession, prospect_id: int) -> t.ProspectRow:
        prospect = await session.get(t.ProspectRow, prospect_id)
        if prospect is None or prospect.tenant_id != self.ctx.tenant_id:
            raise NotFound("prospect", prospect_id)
        return prospect


def _usable(decision: Decision, channel: Channel | None) -> Decision:
    """``decision`` if it has a channel, else a clear InvalidInput saying why not."""
    if decision.channel is not None:
        return decision
    why = "; ".join(r.text for r in decision.blocked) or tr("orchestrator.blocked.no_channel")
    if channel is None:
        raise InvalidInput("channel", "auto", tr("orchestrator.error.no_channel", why=why))
    raise InvalidInput("channel", str(channel), tr("orchestrator.error.channel_blocked", why=why))


def _refused(decision: Decision) -> RouteResult:
    why = "; ".join(r.text for r in decision.blocked) or tr("orchestrator.blocked.no_channel")
    return RouteResult(False, None, None, str(OutboxStatus.FAILED), decision=decision, error=why)


def _refused_row(
    tenant_id: int, prospect_id: int, broadcast_id: str, key: str, decision: Decision, now: datetime
) -> t.OutboxRow:
    """A broadcast recipient no channel reaches: recorded as failed, with the reasons."""
    why = "; ".join(r.text for r in decision.blocked)[:500]
    return Out(
        tenant_id=tenant_id,
        prospect_id=prospect_id,
        broadcast_id=broadcast_id,
        purpose="broadcast",
        channel_type="none",
        provider="none",
        idempotency_key=key,
        payload={},
        decision=decision.model_dump(mode="json"),
        fallback_chain=[],
        attempts_log=[],
        status=OutboxStatus.FAILED,
        last_error=why,
        created_at=now,
        updated_at=now,
    )


async def _aiter(items: Iterable[int] | AsyncIterator[int]) -> AsyncIterator[int]:
    if hasattr(items, "__aiter__"):
        async for item in items:  # type: ignore[union-attr]
            yield item
    else:
        for item in items:  # type: ignore[union-attr]
            yield item


__all__ = ["BroadcastProgress", "BudgetStatus", "Outbound", "RouteResult"]
