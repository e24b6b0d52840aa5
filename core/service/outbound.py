"""Sending: decide the channel, queue durably, and follow up (the facade's ``outbound`` part).

    decision = await service.outbound.decide(conversation_id, ReplyDraft(text="Bonjour"))
    message = await service.outbound.send_reply(conversation_id, draft)      # Auto channel
    broadcast_id = await service.outbound.broadcast(prospect_ids, draft)

Nothing here calls a provider except ``route_message`` (decide + enqueue + send now, the seed's
``routeMessage``); everything else is queued for the ``OutboxWorker``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.collector import paused
from core.config.settings import OrchestratorSettings
from core.domain import models as m
from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import (
    Channel,
    ConversationStatus,
    MessageKind,
    MessageStatus,
    OutboxStatus,
    SenderType,
)
from core.domain.tenant_settings import QuietHours, TenantSettings
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged, Event, MessageChanged
from core.i18n import t as tr
from core.i18n.deferred import channel as channel_word
from core.i18n.deferred import line
from core.i18n.prospect import prospect_language, text_in
from core.orchestrator.context import RoutingContext
from core.orchestrator.loader import (
    TenantInputs,
    contacts_of,
    load_context,
    load_tenant_inputs,
    quiet_hours_source,
    with_defaults,
)
from core.outbox import held
from core.pipeline import Kind, Origin, Outcome, OutgoingRequest, preview, submit
from core.pipeline.resend import resend
from core.reminders.service import Reminders
from core.service.broadcasting import queue_overlapped
from core.service.conversations import Conversations
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.storage.timeline import open_conversation, record_event
from core.team import audit

if TYPE_CHECKING:
    from core.outbox.worker import AdapterSource

Out = t.OutboxRow
#: Prospects per broadcast transaction: each chunk pays its reads (tenant inputs, keys, history)
#: once; 500 costs a fifth less CPU per prospect than 200 (the write lock is still only taken
#: for the chunk's final inserts, about 0.1 s for 500).
BROADCAST_CHUNK = 500
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
class SwitchPreview:
    """What a channel switch would send: the transition (in ``language``, the prospect's) and
    the orchestrator's decision for it on ``channel``."""

    channel: Channel
    text: str
    language: str
    decision: Decision


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
            conversation = await self._conversation(session, conversation_id)
            request = self._request(
                conversation.prospect_id,
                Kind.REPLY,
                draft,
                conversation_id=conversation.id,
                channel=channel,
            )
            outcome = await preview(session, request, now=self.ctx.now(), settings=self.settings)
        assert outcome.decision is not None
        return outcome.decision

    async def decide_first(
        self, prospect_id: int, draft: ReplyDraft, channel: Channel | None = None
    ) -> Decision:
        """The decision for a first message to a prospect, in no conversation yet (the
        new-conversation composer; Auto when ``channel`` is None).

        Raises:
            InvalidInput: unknown template or a missing template variable.
        """
        async with self.ctx.db.session() as session:
            await self._prospect(session, prospect_id)
            request = self._request(prospect_id, Kind.REPLY, draft, channel=channel)
            outcome = await preview(session, request, now=self.ctx.now(), settings=self.settings)
        assert outcome.decision is not None
        return outcome.decision

    async def send_first(
        self,
        prospect_id: int,
        draft: ReplyDraft,
        channel: Channel | None = None,
        send_at: datetime | None = None,
    ) -> m.Message:
        """Start writing to a prospect: the message goes through the pipeline into their
        conversation on the chosen channel (opened if they have none there).

        Raises:
            InvalidInput: as ``send_reply``; nothing is queued then.
        """
        return await self._agent_message(draft, channel, send_at, prospect_id=prospect_id)

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
            return await load_context(
                session,
                inputs,
                prospect,
                self.ctx.now(),
                message_type=draft.message_type,
                urgency=draft.urgency,
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
        return await self._agent_message(draft, channel, send_at, conversation_id=conversation_id)

    async def _agent_message(
        self,
        draft: ReplyDraft,
        channel: Channel | None,
        send_at: datetime | None,
        *,
        prospect_id: int | None = None,
        conversation_id: int | None = None,
    ) -> m.Message:
        """An agent's message through the pipeline: into ``conversation_id``, or to
        ``prospect_id`` on the channel chosen (their conversation there, opened if none)."""
        if send_at is not None and send_at.tzinfo is None:
            raise InvalidInput("send_at", send_at, "a date and time with a time zone")
        async with self.ctx.write() as (session, events):
            if conversation_id is not None:
                conversation = await self._conversation(session, conversation_id)
                prospect_id = conversation.prospect_id
            else:
                assert prospect_id is not None
                await self._prospect(session, prospect_id)
            request = self._request(
                prospect_id,
                Kind.REPLY,
                draft,
                conversation_id=conversation_id,
                channel=channel,
                due_at=send_at,
                check_length=channel is not None,
                on_refused="raise",
                purpose="reply",
            )
            outcome = await self._submit(session, events, request)
            assert outcome.message is not None
            return convert.message(outcome.message)

    async def resend(self, message_id: int) -> m.Message:
        """Queue again a failed, expired or "outcome unknown" message, on its last channel,
        decided again there first (an opt-out, a closed WhatsApp window or quiet hours since).

        Raises:
            InvalidInput: the message is not in a state that can be resent, or its channel
                refuses it now (the message says why); nothing is queued then.
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
            await resend(session, message, last, now, self.settings)
            await session.flush()
            events += [
                MessageChanged(message.id, message.conversation_id),
                ConversationChanged(message.conversation_id),
            ]
            return convert.message(message)

    async def preview_switch(self, conversation_id: int, to_channel: Channel) -> SwitchPreview:
        """What ``switch_channel`` would send, before anything is sent: the transition message
        in the prospect's language and the orchestrator's decision for it on ``to_channel``.

        Raises:
            InvalidInput: same channel as the conversation's.
        """
        to_channel = Channel(to_channel)
        async with self.ctx.db.session() as session:
            old = await self._conversation(session, conversation_id)
            prospect = await self._prospect(session, old.prospect_id)
            _other_channel(old, to_channel)
            language = await self._prospect_language(session, prospect)
            text = _transition(prospect, to_channel, language)
            request = self._switch_request(prospect.id, old.id, to_channel, text)
            outcome = await preview(session, request, now=self.ctx.now(), settings=self.settings)
        assert outcome.decision is not None
        return SwitchPreview(to_channel, text, language, outcome.decision)

    async def _prospect_language(self, session: AsyncSession, prospect: t.ProspectRow) -> str:
        inputs = await self._inputs(session)
        return prospect_language(prospect.language, inputs.settings.language)

    async def _transition_text(
        self, session: AsyncSession, prospect: t.ProspectRow, channel: Channel
    ) -> str:
        return _transition(prospect, channel, await self._prospect_language(session, prospect))

    def _switch_request(
        self, prospect_id: int, conversation_id: int, channel: Channel, text: str
    ) -> OutgoingRequest:
        return self._request(
            prospect_id,
            Kind.SWITCH_TRANSITION,
            ReplyDraft(text=text.strip() or " "),
            conversation_id=conversation_id,
            channel=channel,
            on_refused="raise",
            purpose="reply",
        )

    async def send_now(self, message_id: int, reason: str) -> m.Message:
        """Send a message held by quiet hours now, on purpose: ``reason`` is required and goes
        into the audit trail with the agent and the time it would otherwise have left.

        Raises:
            InvalidInput: no reason, or the message is not held.
            NotFound: no such message.
        """
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            released = await held.send_now(session, self.ctx.tenant_id, message_id, reason, now)
            await audit.record(
                session,
                self.ctx,
                "quiet_hours_override",
                "message",
                message_id,
                reason=" ".join(reason.split()),
                held_until=released.held_until.isoformat() if released.held_until else None,
                conversation=released.conversation_id,
            )
            if released.conversation_id is not None:
                events += [
                    MessageChanged(message_id, released.conversation_id),
                    ConversationChanged(released.conversation_id),
                ]
            message = await session.get(t.MessageRow, message_id)
            assert message is not None
            return convert.message(message)

    async def switch_channel(
        self, conversation_id: int, to_channel: Channel, text: str | None = None
    ) -> m.Conversation:
        """Continue a conversation on another channel: a new linked conversation carrying the
        context, priority, labels, assignee and snooze, with the transition message queued.

        ``text`` is the transition as the agent left it (None: the default one, in the
        prospect's language; empty: nothing is sent). The old thread gets a link event.

        Raises:
            InvalidInput: same channel, or the prospect cannot be reached on ``to_channel``.
        """
        to_channel = Channel(to_channel)
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            old = await self._conversation(session, conversation_id)
            prospect = await self._prospect(session, old.prospect_id)
            _other_channel(old, to_channel)
            if text is None:
                text = await self._transition_text(session, prospect, to_channel)
            request = self._switch_request(prospect.id, old.id, to_channel, text)
            if not text.strip() and not contacts_of(prospect).get(to_channel):
                name = tr(f"common.channel.{to_channel}")
                why = tr("orchestrator.blocked.no_contact", channel=name)
                expected = tr("orchestrator.error.no_channel", why=why)
                raise InvalidInput("channel", str(to_channel), expected)
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
                identifier=contacts_of(prospect).get(to_channel),
                subject=old.subject,
                switched_from_id=old.id,
                context=carried,
                created_at=now,
            )
            await _carry_triage(session, old, new)
            await record_event(
                session,
                old,
                line("orchestrator.switch.event", channel=channel_word(to_channel)),
                sender_id=self.ctx.agent_id,
                meta={"switched_to_id": new.id, "channel": str(to_channel)},
                created_at=now,
            )
            if text.strip():  # left empty by the agent: nothing is sent
                request.conversation_id = new.id  # refused: raises, nothing above is kept
                await self._submit(session, events, request)
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
            events += [ConversationChanged(old.id), ConversationChanged(new.id)]
            new_id = new.id
        return await Conversations(self.ctx).get(new_id)

    async def send_unified(
        self, prospect_id: int, draft: ReplyDraft, preferred_channel: Channel | None = None
    ) -> RouteResult:
        """The seed's unified response: the best channel for the prospect (``preferred_channel``
        counts as their preference), in their conversation on it; queued, not sent here."""
        async with self.ctx.write() as (session, events):
            await self._prospect(session, prospect_id)
            request = self._request(
                prospect_id,
                Kind.UNIFIED,
                draft,
                preferred=preferred_channel,
                purpose="reply",
            )
            outcome = await self._submit(session, events, request)
            decision = outcome.decision
            assert decision is not None
            if outcome.message is None:
                return _refused(decision)
            return RouteResult(
                True,
                decision.channel,
                outcome.message.id,
                outcome.message.status,
                decision=decision,
            )

    async def route_message(self, context: RoutingContext, content: ReplyDraft) -> RouteResult:
        """The seed's ``routeMessage``: decide, queue durably, and send now (falling back at
        once on a permanent failure). A transient failure leaves the message queued for retry.
        """
        if context.prospect_id is None:
            raise InvalidInput("context", "prospect_id", "the prospect to send to")
        async with self.ctx.write() as (session, events):
            await self._prospect(session, context.prospect_id)
            request = self._request(
                context.prospect_id,
                Kind.ROUTE,
                content,
                context=context,
                sender_type=SenderType.SARA,
                purpose="reply",
            )
            outcome = await self._submit(session, events, request)
            decision = outcome.decision
            assert decision is not None
            if outcome.row is None or outcome.message is None:
                return _refused(decision)
            outbox_id, message_id = outcome.row.id, outcome.message.id
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
        async with self.ctx.write() as (session, events):
            await self._prospect(session, prospect_id)
            request = self._request(
                prospect_id,
                Kind.CALL,
                ReplyDraft(text=tr("orchestrator.call.note")),
                channel=Channel.VOICE,
                message_kind=MessageKind.CALL,
                no_alternatives=True,
                on_refused="raise",
            )
            outcome = await self._submit(session, events, request)
            assert outcome.message is not None
            return convert.message(outcome.message)

    def _request(
        self, prospect_id: int, kind: Kind, draft: ReplyDraft, **options: Any
    ) -> OutgoingRequest:
        """An agent's request to ``prospect_id`` (the sender is the agent of this context)."""
        options.setdefault("sender_id", self.ctx.agent_id)
        return OutgoingRequest(
            tenant_id=self.ctx.tenant_id,
            prospect_id=prospect_id,
            kind=kind,
            origin=Origin.AGENT,
            draft=draft,
            **options,
        )

    async def _submit(
        self, session: AsyncSession, events: list[Event], request: OutgoingRequest
    ) -> Outcome:
        """Submit one request; its changes are published after commit."""
        (outcome,) = await submit(
            session, [request], now=self.ctx.now(), settings=self.settings, events=events
        )
        return outcome

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
        chunks = self._broadcast_chunks(prospect_ids, broadcast_id, draft, chunk_size)
        await queue_overlapped(self.ctx, chunks, self.settings, self._broadcast_chunk)
        return broadcast_id

    async def _broadcast_chunks(
        self,
        prospect_ids: Iterable[int] | AsyncIterator[int],
        broadcast_id: str,
        draft: ReplyDraft,
        chunk_size: int,
    ) -> AsyncIterator[list[OutgoingRequest]]:
        """The broadcast's requests, ``chunk_size`` prospects at a time."""
        chunk: list[OutgoingRequest] = []
        async for prospect_id in _aiter(prospect_ids):
            pid = int(prospect_id)
            chunk.append(
                self._request(
                    pid,
                    Kind.BROADCAST,
                    draft,
                    key=f"bc:{broadcast_id}:{pid}",
                    purpose="broadcast",
                    broadcast_id=broadcast_id,
                    on_refused="record",
                )
            )
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def _broadcast_chunk(self, requests: list[OutgoingRequest]) -> None:
        """A chunk that cannot be planned apart (a prospect twice), in one transaction."""
        with paused():  # a chunk's objects live until it ends: collecting only walks them
            async with self.ctx.write() as (session, events):
                await submit(
                    session,
                    requests,
                    now=self.ctx.now(),
                    settings=self.settings,
                    events=events,
                    rows=False,
                )

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

    async def quiet_hours(self) -> tuple[QuietHours, str]:
        """The quiet hours decisions use, and where they come from (for the settings screen):
        ``tenant`` (its own), ``environment`` (``ORCHESTRATOR_QUIET_HOURS_START/END``) or
        ``default``."""
        async with self.ctx.db.session() as session:
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
        own = TenantSettings.model_validate((tenant.settings if tenant else None) or {})
        effective = with_defaults(own, self.settings).quiet_hours
        return effective, quiet_hours_source(own, self.settings)

    # ----------------------------------------------------------------------------------------
    # Loading

    async def _inputs(self, session: AsyncSession) -> TenantInputs:
        return await load_tenant_inputs(session, self.ctx.tenant_id, self.settings, self.ctx.now())

    async def _conversation(self, session: AsyncSession, conversation_id: int) -> t.ConversationRow:
        conversation = await session.get(t.ConversationRow, conversation_id)
        if conversation is None or conversation.tenant_id != self.ctx.tenant_id:
            raise NotFound("conversation", conversation_id)
        return conversation

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


def _other_channel(conversation: t.ConversationRow, channel: Channel) -> None:
    if conversation.channel_type == channel:
        raise InvalidInput("channel", channel, tr("orchestrator.error.same_channel"))


def _transition(prospect: t.ProspectRow, channel: Channel, language: str) -> str:
    """The seed's transition message, in the prospect's ``language``."""
    first = (prospect.display_name or "").split(" ")[0]
    name = text_in(language, f"common.channel.{channel}")
    return text_in(language, "orchestrator.switch.transition", name=first, channel=name)


async def _carry_triage(
    session: AsyncSession, old: t.ConversationRow, new: t.ConversationRow
) -> None:
    """The agent's triage follows the prospect to the new channel: assignee, priority,
    labels and snooze."""
    new.assignee_id = old.assignee_id
    new.priority = old.priority
    if old.status == ConversationStatus.SNOOZED:
        new.status, new.snoozed_until = old.status, old.snoozed_until
    L = t.ConversationLabelRow
    labels = (await session.execute(select(L.label).where(L.conversation_id == old.id))).scalars()
    session.add_all(L(conversation_id=new.id, label=label) for label in labels.all())


def _refused(decision: Decision) -> RouteResult:
    why = "; ".join(r.text for r in decision.blocked) or tr("orchestrator.blocked.no_channel")
    return RouteResult(False, None, None, str(OutboxStatus.FAILED), decision=decision, error=why)


async def _aiter(items: Iterable[int] | AsyncIterator[int]) -> AsyncIterator[int]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


__all__ = ["BroadcastProgress", "BudgetStatus", "Outbound", "RouteResult", "SwitchPreview"]
