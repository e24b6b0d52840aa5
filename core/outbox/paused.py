"""At send time, the outbox keeps the automation policy's pause (``core.automation``).

A reminder or a Sara answer queued before its conversation's automation paused is held when it
falls due: status ``paused`` (the worker never picks it up), its thread item ``held`` with the
reason, until an agent releases it. The outbox sits below the policy, so it reads the pause row
itself; the policy (``core.automation.pauses``) writes and ends pauses.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import MessageStatus, OutboxStatus
from core.storage import tables as t

#: Outbox purposes of automated messages (Sara, reminders, appointment notices): a pause holds
#: them even when they were queued before it (an agent's reply or a campaign step is not held).
AUTOMATED_PURPOSES = ("sara", "reminder_", "appointment_")


def is_automated(purpose: str | None) -> bool:
    """Whether an outbox row of ``purpose`` is an automated message to the prospect."""
    return bool(purpose) and str(purpose).startswith(AUTOMATED_PURPOSES)


async def hold_if_paused(
    session: AsyncSession, row: t.OutboxRow, message: t.MessageRow | None
) -> bool:
    """Hold ``row`` when it is automated and its conversation's automation is paused."""
    if row.conversation_id is None or not is_automated(row.purpose):
        return False
    P = t.AutomationPauseRow
    query = select(P.id).where(P.conversation_id == row.conversation_id, P.resumed_at.is_(None))
    if (await session.execute(query.limit(1))).scalar_one_or_none() is None:
        return False
    row.status = OutboxStatus.PAUSED
    row.lease_owner = None
    row.lease_expires_at = None
    if message is not None:
        message.status = MessageStatus.HELD
        automation = {"outcome": "held", "reason": "paused"}
        message.meta = {**(message.meta or {}), "automation": automation}
    return True
