"""Writing a decided request: the thread message and its outbox row, in the caller's
transaction, so that either both exist or neither does. The only place outbox rows are made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from core.channels.segments import count_segments
from core.domain.decision import ChannelScore, Decision, Reason
from core.domain.enums import (
    DEFAULT_PROVIDER,
    Channel,
    Direction,
    MessageStatus,
    OutboxStatus,
)
from core.orchestrator.channels import DELIVERY_SECONDS
from core.pipeline.request import OutgoingRequest
from core.storage import tables as t
from core.storage.timeline import ConversationFields, append_message


class Conversation(ConversationFields, Protocol):
    """What queueing reads of the conversation (an ORM row, or a batch's ``bulk.Thread``)."""

    @property
    def context(self) -> dict[str, Any]: ...


#: ``not_before`` of a message the automation policy held: it waits for an agent to release it.
POLICY_HOLD = datetime(9999, 12, 30, tzinfo=UTC)


def new_key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


@lru_cache(maxsize=1024)
def sms_segments(text: str) -> int:
    """How many SMS ``text`` takes (a broadcast sends one text to many)."""
    return count_segments(text).segments


def fallback_chain(decision: Decision, due: datetime) -> list[dict[str, Any]]:
    """The decision's alternatives as the row's fallback chain, each with its own hold counted
    from the message's due time (not from when it was queued)."""
    chain = []
    for alt in decision.alternatives:
        wait = alt.estimated_delivery_seconds - DELIVERY_SECONDS.get(alt.channel, 0.0)
        hold = None
        if wait > 1:
            # UTC only: equal moments in other zones have other texts, and hash alike
            hold = (
                _utc_held_until(due, wait)
                if due.tzinfo is UTC
                else (due + timedelta(seconds=wait)).isoformat()
            )
        chain.append({"channel": str(alt.channel), "not_before": hold})
    return chain


@lru_cache(maxsize=1024)
def _utc_held_until(due: datetime, wait: float) -> str:
    # A broadcast's fallbacks wait alike (same moment, same quiet hours): worked out once.
    return (due + timedelta(seconds=wait)).isoformat()


def decision_record(decision: Decision, records: Records | None = None) -> dict[str, Any]:
    """The decision as stored on the row and the message (JSON); through ``records`` for a
    batch (its shared explanations dumped once)."""
    if records is not None:
        return records.record(decision)
    return decision.model_dump(mode="json")


class Records:
    """``decision_record`` for a batch, without pydantic's walk over every decision: the
    explanations a broadcast's decisions share (``decide`` caches its reasons) are dumped once
    each, the rest of a record is built from its values as ``model_dump(mode="json")`` would
    (``test_records`` compares them)."""

    def __init__(self) -> None:
        #: Each reason's dump by identity, with the reason: held here, its id cannot be given
        #: to another reason while the batch lasts.
        self._reasons: dict[int, tuple[Reason, dict[str, Any]]] = {}

    def record(self, decision: Decision) -> dict[str, Any]:
        """``decision.model_dump(mode="json")``."""
        return {
            "channel": _text(decision.channel),
            "confidence": float(decision.confidence),
            "reasons": self._dumped(decision.reasons),
            "alternatives": [self._score(a) for a in decision.alternatives],
            "estimated_cost": str(decision.estimated_cost),
            "estimated_delivery_seconds": float(decision.estimated_delivery_seconds),
            "held_until": _moment(decision.held_until),
            "warnings": self._dumped(decision.warnings),
            "blocked": self._dumped(decision.blocked),
        }

    def _score(self, score: ChannelScore) -> dict[str, Any]:
        return {
            "channel": _text(score.channel),
            "confidence": float(score.confidence),
            "score": float(score.score),
            "reasons": self._dumped(score.reasons),
            "estimated_cost": str(score.estimated_cost),
            "estimated_delivery_seconds": float(score.estimated_delivery_seconds),
            "eligible": bool(score.eligible),
        }

    def _dumped(self, reasons: tuple[Reason, ...]) -> list[dict[str, Any]]:
        out = []
        for reason in reasons:
            found = self._reasons.get(id(reason))
            if found is None:
                found = self._reasons[id(reason)] = (reason, reason.model_dump(mode="json"))
            out.append(found[1])
        return out


_MOMENT: TypeAdapter[datetime] = TypeAdapter(datetime)


def _text(channel: Channel | None) -> str | None:
    return None if channel is None else str(channel)


def _moment(at: datetime | None) -> Any:
    return None if at is None else _MOMENT.dump_python(at, mode="json")


@dataclass(slots=True)
class Planned:
    """A decided request's message (``append_message``'s keyword arguments) and outbox row
    (its values, but for the message and conversation ids), before anything is written."""

    message: dict[str, Any]
    row: dict[str, Any]


def plan(
    conversation: Conversation,
    request: OutgoingRequest,
    decision: Decision,
    payload: dict[str, Any],
    now: datetime,
    *,
    providers: dict[Channel, str],
    held_by_policy: bool = False,
    records: Records | None = None,
) -> Planned:
    """The outgoing message to ``conversation`` and its outbox row, as values (``records``:
    a batch's ``decision_record``).

    The message is SCHEDULED (due later), HELD (quiet hours, or the automation policy held it
    for an agent) or QUEUED.
    """
    assert decision.channel is not None, "only a decision with a channel is queued"
    channel = decision.channel
    due = request.due_at if request.due_at is not None and request.due_at > now else now
    not_before = max(d for d in (due, decision.held_until, now) if d is not None)
    if held_by_policy:
        status, row_status = MessageStatus.HELD, OutboxStatus.HELD
        not_before = POLICY_HOLD
    elif due > now:
        status, row_status = MessageStatus.SCHEDULED, OutboxStatus.PENDING
    elif decision.held_until is not None and decision.held_until > now:
        status, row_status = MessageStatus.HELD, OutboxStatus.HELD
    else:
        status, row_status = MessageStatus.QUEUED, OutboxStatus.PENDING
    provider = written_through(conversation, channel) or providers.get(channel)
    provider = provider or DEFAULT_PROVIDER[channel]
    text = payload.get("text") or ""
    message = {
        "direction": Direction.OUTBOUND,
        "sender_type": request.sender,
        "sender_id": request.sender_id,
        "kind": request.message_kind,
        "channel": channel,
        "content": text,
        "subject": payload.get("subject"),
        "status": status,
        "provider": provider,
        "segments": sms_segments(text) if channel == Channel.SMS else None,
        "meta": {
            **request.meta,
            "pipeline": request.tag(),
            "decision": decision_record(decision, records),
            "attempts": [],
            "scheduled_for": not_before.isoformat()
            if not_before > now and not held_by_policy
            else None,
        },
        "created_at": now,
    }
    row = {
        "tenant_id": conversation.tenant_id,
        "prospect_id": conversation.prospect_id,
        "appointment_id": request.appointment_id,
        "broadcast_id": request.broadcast_id,
        "campaign_enrolment_id": request.campaign_enrolment_id,
        "purpose": request.row_purpose,
        "channel_type": channel,
        "provider": provider,
        "idempotency_key": request.key or new_key(),
        "payload": payload,
        "decision": {"estimated_cost": str(decision.estimated_cost), "channel": str(channel)},
        "fallback_chain": fallback_chain(decision, due),
        "attempts_log": [],
        "status": row_status,
        "attempts": 0,
        "fallback_attempts": 0,
        "not_before": not_before,
        "expires_at": request.expires_at,
        "created_at": now,
        "updated_at": now,
    }
    return Planned(message, row)


async def write(
    session: AsyncSession,
    conversation: t.ConversationRow,
    planned: Planned,
    *,
    flush: bool = True,
) -> tuple[t.MessageRow, t.OutboxRow]:
    """Append the planned message to ``conversation`` and queue it; nothing is sent here.

    ``flush=False`` leaves the message and its row pending (the conversation may be pending
    too): a batch inserts them all in one flush.
    """
    message = await append_message(session, conversation, **planned.message, flush=flush)
    row = t.OutboxRow(message_id=message.id, conversation_id=conversation.id, **planned.row)
    if message.id is None:
        row.message = message
    if conversation.id is None:
        row.conversation = conversation
    session.add(row)
    if flush:
        await session.flush()
    return message, row


def refused_values(
    request: OutgoingRequest,
    decision: Decision,
    now: datetime,
    records: Records | None = None,
) -> dict[str, Any]:
    """A request no channel can carry, recorded as failed with the reasons (a broadcast
    recipient: the broadcast's progress counts it): the outbox row's values."""
    why = "; ".join(r.text for r in decision.blocked)[:500]
    return {
        "tenant_id": request.tenant_id,
        "prospect_id": request.prospect_id,
        "broadcast_id": request.broadcast_id,
        "purpose": request.row_purpose,
        "channel_type": "none",
        "provider": "none",
        "idempotency_key": request.key or new_key(),
        "payload": {},
        "decision": decision_record(decision, records),
        "fallback_chain": [],
        "attempts_log": [],
        "status": OutboxStatus.FAILED,
        "last_error": why,
        "created_at": now,
        "updated_at": now,
    }


def refused_row(request: OutgoingRequest, decision: Decision, now: datetime) -> t.OutboxRow:
    """``refused_values`` as an ORM row."""
    return t.OutboxRow(**refused_values(request, decision, now))


def direct_row(
    request: OutgoingRequest,
    message: t.MessageRow | None,
    channel: Channel,
    provider: str,
    payload: dict[str, Any],
    now: datetime,
) -> t.OutboxRow:
    """An answer in the conversation the prospect just wrote in (Sara), or a notice to someone
    other than a prospect (``message`` None): on that channel, now, no fallback."""
    return t.OutboxRow(
        tenant_id=request.tenant_id,
        message_id=message.id if message is not None else None,
        conversation_id=request.conversation_id,
        prospect_id=request.prospect_id or None,
        purpose=request.row_purpose,
        channel_type=channel,
        provider=provider,
        idempotency_key=request.key or new_key(),
        payload=payload,
        status=OutboxStatus.PENDING,
        created_at=now,
    )


def add_notice(
    session: AsyncSession,
    *,
    tenant_id: int,
    channel: Channel,
    provider: str,
    payload: dict[str, Any],
    purpose: str,
    key: str,
    now: datetime,
    conversation_id: int | None = None,
) -> t.OutboxRow:
    """Queue a message that is not to a prospect (a Telegram group, a forward address) or is
    no thread item (a button tap's acknowledgement): on ``channel``, now, no fallback."""
    row = t.OutboxRow(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        purpose=purpose,
        channel_type=channel,
        provider=provider,
        idempotency_key=key,
        payload=payload,
        status=OutboxStatus.PENDING,
        created_at=now,
    )
    session.add(row)
    return row


def written_through(conversation: Conversation, channel: Channel) -> str | None:
    """The provider the prospect last wrote through on ``channel`` (a channel may have two,
    e.g. WhatsApp on Twilio and on Meta): replies go out the same way."""
    if conversation.channel_type != channel:
        return None
    provider = (conversation.context or {}).get("provider")
    return str(provider) if provider else None
