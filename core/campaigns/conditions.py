"""Reading, from the messages and appointments, whether a step's condition holds.

Engagement is read from the campaign's own messages (found through their outbox rows):
"opened" is a ``read_at`` timestamp (ingest records an email open as the READ status) and
"clicked" is ``meta["clicked_at"]`` or a ``click`` in ``meta["engagement"]`` (both set by ingest
on a provider click event). A reply is any inbound message from the prospect, on any channel,
after the enrolment; a STOP (as Sara recognised it) is an opt-out. An appointment counts as
confirmed when it was confirmed (``confirmed_at``, still confirmed or done) at or after the
campaign's first message to the prospect (their enrolment while none went out): a confirmation
made before the campaign wrote cannot be its effect, as ``core.analytics.aggregate`` counts
conversions.
"""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.analytics.aggregate import CONFIRMED
from core.campaigns.model import Condition
from core.domain.enums import Channel, Direction, MessageKind
from core.storage import tables as t

M, Ob = t.MessageRow, t.OutboxRow
_ANSWERS_LOOKED_AT = 50


async def answers(session: AsyncSession, enrolment: t.CampaignEnrolmentRow) -> list[str]:
    """What the prospect sent since they were enrolled, oldest first: for each message or call,
    the intent Sara recognised and acted on ("opt_out", "confirm", …), or "" for a plain reply."""
    query = (
        select(M.meta)
        .where(
            M.prospect_id == enrolment.prospect_id,
            M.direction == Direction.INBOUND,
            M.kind.in_([MessageKind.MESSAGE, MessageKind.CALL]),
            M.created_at >= enrolment.enrolled_at,
        )
        .order_by(M.id)
        .limit(_ANSWERS_LOOKED_AT)
    )
    return [
        str((meta or {}).get("sara") or "") for meta in (await session.execute(query)).scalars()
    ]


async def replied(session: AsyncSession, enrolment: t.CampaignEnrolmentRow) -> bool:
    """Whether the prospect wrote (or called) since they were enrolled."""
    query = select(
        exists().where(
            M.prospect_id == enrolment.prospect_id,
            M.direction == Direction.INBOUND,
            M.kind.in_([MessageKind.MESSAGE, MessageKind.CALL]),
            M.created_at >= enrolment.enrolled_at,
        )
    )
    return bool(await session.scalar(query))


def clicked(message: t.MessageRow) -> bool:
    """Whether a link of ``message`` was clicked (ingest records each click event)."""
    meta = message.meta or {}
    if meta.get("clicked_at"):
        return True
    return any(e.get("kind") == "click" for e in meta.get("engagement") or ())


async def _campaign_messages(
    session: AsyncSession, enrolment: t.CampaignEnrolmentRow, channel: Channel | None = None
) -> list[t.MessageRow]:
    query = (
        select(M).join(Ob, Ob.message_id == M.id).where(Ob.campaign_enrolment_id == enrolment.id)
    )
    if channel is not None:
        query = query.where(M.channel_type == channel)
    return list((await session.execute(query)).scalars())


async def condition_met(
    session: AsyncSession, enrolment: t.CampaignEnrolmentRow, condition: Condition | None
) -> bool:
    """Whether ``condition`` holds for ``enrolment`` now (no condition always holds)."""
    match condition:
        case None:
            return True
        case Condition.EMAIL_OPENED:
            emails = await _campaign_messages(session, enrolment, Channel.EMAIL)
            return any(m.read_at is not None for m in emails)
        case Condition.LINK_CLICKED:
            sent = await _campaign_messages(session, enrolment)
            return any(clicked(m) for m in sent)
        case Condition.REPLIED:
            return await replied(session, enrolment)
        case Condition.NO_REPLY:
            return not await replied(session, enrolment)
        case Condition.APPOINTMENT_CONFIRMED:
            return await _appointment_confirmed(session, enrolment)
    raise AssertionError(condition)  # pragma: no cover - the enum is closed


async def _appointment_confirmed(session: AsyncSession, enrolment: t.CampaignEnrolmentRow) -> bool:
    A = t.AppointmentRow
    first = await session.scalar(
        select(func.min(M.created_at))
        .join(Ob, Ob.message_id == M.id)
        .where(Ob.campaign_enrolment_id == enrolment.id)
    )
    since = max(d for d in (first, enrolment.enrolled_at) if d is not None)
    query = select(func.count()).where(
        A.prospect_id == enrolment.prospect_id,
        A.status.in_(CONFIRMED),
        A.confirmed_at >= since,
    )
    return bool(await session.scalar(query))
