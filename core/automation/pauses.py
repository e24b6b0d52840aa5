"""Pausing automation for a conversation, and what the agent does about it.

A pause is an ``automation_pauses`` row without ``resumed_at``. While it lasts, the policy holds
every automated message of the conversation: the message stays in the thread (status ``held``,
``meta["automation"]``) and in the outbox (status ``paused``), never sent. Pausing writes an
internal event in the thread (translated for the agent; never sent to the prospect) and an
``Alert`` for the agents. The agent resumes automation (``resume``), and releases or discards
the held messages (``release_held``, ``discard_held``): nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import i18n
from core.domain.enums import MessageStatus, OutboxStatus, SenderType
from core.events import Alert, ConversationChanged, Event, MessageChanged
from core.i18n.deferred import line
from core.storage import tables as t
from core.storage.timeline import record_event

P = t.AutomationPauseRow
Out = t.OutboxRow


@dataclass(frozen=True, slots=True)
class Resumed:
    """What resuming did: whether a pause was open, and the held messages released."""

    was_paused: bool
    released: int
    events: tuple[Event, ...] = ()


async def active_pause(session: AsyncSession, conversation_id: int) -> P | None:
    """The conversation's open pause, if automation is paused."""
    query = (
        select(P)
        .where(P.conversation_id == conversation_id, P.resumed_at.is_(None))
        .order_by(P.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def last_resumed(session: AsyncSession, conversation_id: int) -> datetime | None:
    """When an agent last resumed the conversation's automation."""
    query = (
        select(P.resumed_at)
        .where(P.conversation_id == conversation_id, P.resumed_at.is_not(None))
        .order_by(P.resumed_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _event(
    session: AsyncSession,
    conversation: t.ConversationRow,
    key: str,
    params: dict[str, Any],
    now: datetime,
) -> t.MessageRow:
    """An internal thread event: for the agent (translated when shown), never sent."""
    return await record_event(
        session,
        conversation,
        line(f"automation.{key}", **params),
        sender_type=SenderType.SARA,
        meta={"internal": True, "event": f"automation_{key}"},
        created_at=now,
    )


async def pause(
    session: AsyncSession,
    conversation_id: int,
    reason: str,
    details: dict[str, Any],
    now: datetime,
) -> tuple[Event, ...]:
    """Pause automation for the conversation; say why in the thread and alert the agents."""
    conversation = await session.get(t.ConversationRow, conversation_id)
    if conversation is None or await active_pause(session, conversation_id) is not None:
        return ()
    session.add(
        P(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation_id,
            reason=str(reason),
            details=details,
            paused_at=now,
        )
    )
    params = {"name": conversation.prospect_name, **details}
    event = await _event(session, conversation, f"paused_{reason}", params, now)
    alert = i18n.t(f"automation.alert_{reason}", **params)
    return (
        MessageChanged(event.id, conversation_id),
        ConversationChanged(conversation_id),
        Alert(f"automation_paused:{conversation_id}", alert),
    )


def hold(message: t.MessageRow, row: Out, verdict: Any) -> None:
    """Keep a just-queued automated message unsent: the policy held it (``verdict``)."""
    from core.automation.policy import HELD_OUTBOX_STATUS

    row.status = HELD_OUTBOX_STATUS
    message.status = MessageStatus.HELD
    automation = {"outcome": "held", "reason": str(getattr(verdict, "reason", "") or "")}
    message.meta = {**(message.meta or {}), "automation": automation}


async def held_rows(session: AsyncSession, conversation_id: int) -> list[Out]:
    """The automated messages held for the conversation, oldest first."""
    query = (
        select(Out)
        .where(Out.conversation_id == conversation_id, Out.status == OutboxStatus.PAUSED)
        .order_by(Out.id)
    )
    return list((await session.execute(query)).scalars().all())


async def _settle_held(
    session: AsyncSession, conversation_id: int, now: datetime, *, release: bool
) -> int:
    rows = await held_rows(session, conversation_id)
    for row in rows:
        row.status = OutboxStatus.PENDING if release else OutboxStatus.CANCELLED
        if release:  # a reminder held before its time still waits for it (not "forever")
            waits = (
                row.not_before is not None and now < row.not_before and row.not_before.year < 9000
            )
            row.not_before = row.not_before if waits else now
        if row.message_id is not None:
            message = await session.get(t.MessageRow, row.message_id)
            if message is not None:
                message.status = MessageStatus.QUEUED if release else MessageStatus.CANCELLED
                automation = {**(message.meta or {}).get("automation", {})}
                automation["settled"] = "released" if release else "discarded"
                message.meta = {**(message.meta or {}), "automation": automation}
    return len(rows)


async def resume(
    session: AsyncSession,
    conversation_id: int,
    now: datetime,
    *,
    agent_id: int | None = None,
    release: bool = False,
) -> Resumed:
    """End the conversation's pause (the hourly count starts afresh) and say so in the thread.

    ``release`` also sends the held messages; otherwise they stay held for
    ``release_held``/``discard_held``.
    """
    conversation = await session.get(t.ConversationRow, conversation_id)
    pause_row = await active_pause(session, conversation_id)
    if conversation is None or pause_row is None:
        return Resumed(False, 0)
    pause_row.resumed_at = now
    pause_row.resumed_by = agent_id
    agent = await session.get(t.AgentRow, agent_id) if agent_id is not None else None
    name = agent.name if agent is not None else i18n.t("automation.an_agent")
    event = await _event(session, conversation, "resumed", {"agent": name}, now)
    released = await _settle_held(session, conversation_id, now, release=True) if release else 0
    return Resumed(
        True,
        released,
        (MessageChanged(event.id, conversation_id), ConversationChanged(conversation_id)),
    )


async def release_held(session: AsyncSession, conversation_id: int, now: datetime) -> int:
    """Send the conversation's held automated messages now; how many."""
    return await _settle_held(session, conversation_id, now, release=True)


async def discard_held(session: AsyncSession, conversation_id: int, now: datetime) -> int:
    """Cancel the conversation's held automated messages (kept in the thread as cancelled)."""
    return await _settle_held(session, conversation_id, now, release=False)
