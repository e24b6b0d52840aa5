"""The automation policy: the one place that decides whether an automated message may go out.

Every message the program sends on its own — Sara's answers and acknowledgements, the
out-of-hours reply, confirmations a prospect triggers from a chat, reminders — asks ``check``
first, in the transaction that would queue it. In order:

1. never answer a machine: a message answering an inbound message marked automated
   (``core.automation.detect``) stays quiet (``answers_automated``);
2. once per intent: a conversation gets one automated answer per intent (and per appointment)
   per window (``TenantSettings.automation.repeat_window_minutes``; Telegram commands
   ``command_repeat_minutes``; the out-of-hours reply once per local day) — a second "OUI" for an
   appointment already confirmed gets no second confirmation (``repeat``);
3. paused: a conversation whose automation is paused keeps its automated messages, held
   (``paused``);
4. ceiling: a prospect who already got ``max_per_hour`` automated messages in the last hour
   (since the last resume) pauses the conversation: the message is held, the thread says why and
   the agents are alerted (``ceiling``).

A request due later (a reminder planned days ahead) is ``planned``: allowed, not counted in
the hour it was planned; when it falls due, the outbox holds it if the conversation is paused
(``core.outbox.paused``).

Every decision is written to ``automation_log``; the ceiling and the window count its ``sent``
rows. A held message must be queued with ``HELD_OUTBOX_STATUS`` so the outbox never sends it
until an agent releases it (``core.automation.pauses``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import OutboxStatus
from core.domain.tenant_settings import TenantSettings
from core.events import Event
from core.storage import tables as t

if TYPE_CHECKING:
    from core.automation.snapshot import Snapshot

Log = t.AutomationLogRow
#: The outbox status of a held automated message: the worker leaves it alone.
HELD_OUTBOX_STATUS = OutboxStatus.PAUSED
#: A request due later than this is planned (a reminder), not sent now.
PLANNED_AFTER = timedelta(minutes=1)
#: Intents answered once per local day rather than per sliding window.
DAILY_INTENTS = frozenset({"auto_reply"})


class Reason(StrEnum):
    """Why the policy decided as it did (stored in ``automation_log.reason``)."""

    ALLOWED = "allowed"
    PLANNED = "planned"
    ANSWERS_AUTOMATED = "answers_automated"
    REPEAT = "repeat"
    PAUSED = "paused"
    CEILING = "ceiling"


class Outcome(StrEnum):
    """What becomes of the message: sent, kept but held, or not written at all."""

    SENT = "sent"
    HELD = "held"
    QUIET = "quiet"
    #: Due later (a reminder): allowed now, checked against pauses when it falls due (the
    #: outbox holds it then), not counted in the hour it was planned.
    PLANNED = "planned"


@dataclass(frozen=True, slots=True)
class AutomatedSend:
    """What the policy needs to know about one automated message.

    ``intent`` names what it answers or announces (``confirm``, ``auto_reply``,
    ``command:rdv``, ``reminder``…); ``about`` narrows it (an appointment: ``appointment:12``).
    ``answers_message_id`` is the inbound message it answers, if any.
    """

    tenant_id: int
    prospect_id: int | None
    conversation_id: int | None
    intent: str
    about: str | None = None
    answers_message_id: int | None = None
    #: Answered once per window (rule 2); False for a request that names no intent or subject
    #: (a campaign step, a reminder): only the ceiling and pauses apply to it.
    once: bool = True
    #: When it is due (None: now).
    due_at: datetime | None = None


class Checked(Protocol):
    """Any request object with these attributes can be checked (the pipeline's request)."""

    @property
    def tenant_id(self) -> int: ...
    @property
    def prospect_id(self) -> int | None: ...
    @property
    def conversation_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """The policy's answer. ``events`` go on the bus once the caller's transaction commits."""

    allowed: bool
    reason: Reason
    outcome: Outcome
    events: tuple[Event, ...] = field(default=())

    @property
    def held(self) -> bool:
        """Kept in the thread and the outbox, but not sent until an agent releases it."""
        return self.outcome == Outcome.HELD


def intent_key(intent: str, about: str | None = None) -> str:
    """The ledger's intent: ``intent`` narrowed by ``about`` (``confirm:appointment:12``)."""
    return f"{intent}:{about}"[:120] if about else intent[:120]


def fields_of(request: AutomatedSend | Checked) -> AutomatedSend:
    """What the policy reads of ``request`` (an ``AutomatedSend`` or a pipeline request)."""
    if isinstance(request, AutomatedSend):
        return request
    explicit = getattr(request, "intent", None)
    about = getattr(request, "about", None)
    intent = explicit or getattr(request, "kind", None) or "automated"
    return AutomatedSend(
        tenant_id=request.tenant_id,
        prospect_id=request.prospect_id,
        conversation_id=request.conversation_id,
        intent=str(intent),
        about=about,
        answers_message_id=getattr(request, "answers_message_id", None),
        once=bool(explicit or about),
        due_at=getattr(request, "due_at", None),
    )


async def check(
    session: AsyncSession,
    request: AutomatedSend | Checked,
    now: datetime,
    *,
    settings: TenantSettings | None = None,
    snapshot: Snapshot | None = None,
) -> Verdict:
    """Decide whether the automated message ``request`` may be sent now, and record it.

    Runs in the caller's transaction: the ledger row (and a pause, when the ceiling is crossed)
    commit or roll back with the message itself. ``snapshot``: what the policy reads, read
    once for a batch of requests (``core.automation.snapshot``) and kept up to date here.
    """
    from core.automation import pauses  # pauses writes the timeline; imported when needed

    send = fields_of(request)
    if snapshot is not None and not snapshot.covers(send):
        snapshot = None
    if snapshot is not None:
        settings = snapshot.settings
    settings = settings or await tenant_settings(session, send.tenant_id)
    key = intent_key(send.intent, send.about)
    events: tuple[Event, ...] = ()
    if send.due_at is not None and send.due_at > now + PLANNED_AFTER:
        reason, outcome = Reason.PLANNED, Outcome.PLANNED
    elif await _answers_automated(session, send.answers_message_id):
        reason, outcome = Reason.ANSWERS_AUTOMATED, Outcome.QUIET
    elif await _repeated(session, send, key, now, settings, snapshot):
        reason, outcome = Reason.REPEAT, Outcome.QUIET
    elif send.conversation_id and await _paused(session, send.conversation_id, snapshot):
        reason, outcome = Reason.PAUSED, Outcome.HELD
    else:
        if snapshot is not None:
            count = snapshot.sent_in_last_hour(send, now)
        else:
            count = await sent_in_last_hour(session, send, now)
        if count >= settings.automation.max_per_hour and send.conversation_id:
            reason, outcome = Reason.CEILING, Outcome.HELD
            details = {"count": count, "limit": settings.automation.max_per_hour}
            events = await pauses.pause(session, send.conversation_id, Reason.CEILING, details, now)
            if snapshot is not None:
                snapshot.paused.add(send.conversation_id)
        else:
            reason, outcome = Reason.ALLOWED, Outcome.SENT
    if snapshot is not None:
        snapshot.record(send, key, outcome, now)
    session.add(
        Log(
            tenant_id=send.tenant_id,
            prospect_id=send.prospect_id,
            conversation_id=send.conversation_id,
            intent=key,
            outcome=outcome,
            reason=reason,
            created_at=now,
        )
    )
    return Verdict(outcome in (Outcome.SENT, Outcome.PLANNED), reason, outcome, events)


async def tenant_settings(session: AsyncSession, tenant_id: int) -> TenantSettings:
    """The tenant's settings as stored (defaults for what is not)."""
    tenant = await session.get(t.TenantRow, tenant_id)
    return TenantSettings.model_validate((tenant.settings if tenant else None) or {})


async def _answers_automated(session: AsyncSession, message_id: int | None) -> bool:
    if message_id is None:
        return False
    message = await session.get(t.MessageRow, message_id)
    return bool(message is not None and (message.meta or {}).get("automated"))


def window_start(intent: str, now: datetime, settings: TenantSettings) -> datetime:
    """Since when an earlier answer to ``intent`` counts as a repeat."""
    family = intent.split(":", 1)[0]
    if family in DAILY_INTENTS:
        local = now.astimezone(ZoneInfo(settings.timezone))
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    if family == "command":
        return now - timedelta(minutes=settings.automation.command_repeat_minutes)
    return now - timedelta(minutes=settings.automation.repeat_window_minutes)


async def _paused(session: AsyncSession, conversation_id: int, snapshot: Snapshot | None) -> bool:
    from core.automation import pauses

    if snapshot is not None:
        return conversation_id in snapshot.paused
    return await pauses.active_pause(session, conversation_id) is not None


async def _repeated(
    session: AsyncSession,
    send: AutomatedSend,
    key: str,
    now: datetime,
    settings: TenantSettings,
    snapshot: Snapshot | None = None,
) -> bool:
    if send.conversation_id is None or not send.once:
        return False
    if snapshot is not None:
        return snapshot.repeated(send, key, now)
    since = window_start(send.intent, now, settings)
    query = select(func.count()).where(
        Log.conversation_id == send.conversation_id,
        Log.intent == key,
        Log.outcome.in_((Outcome.SENT, Outcome.HELD)),
        Log.created_at > since,
    )
    return bool((await session.execute(query)).scalar_one())


async def sent_in_last_hour(session: AsyncSession, send: AutomatedSend, now: datetime) -> int:
    """Automated messages sent to the prospect in the last hour, counted from the last resume
    of this conversation when that is later (a resume starts a fresh count)."""
    from core.automation import pauses

    if send.prospect_id is None:
        return 0
    since = now - timedelta(hours=1)
    if send.conversation_id is not None:
        resumed = await pauses.last_resumed(session, send.conversation_id)
        if resumed is not None and resumed > since:
            since = resumed
    query = select(func.count()).where(
        Log.tenant_id == send.tenant_id,
        Log.prospect_id == send.prospect_id,
        Log.outcome == Outcome.SENT,
        Log.created_at > since,
    )
    return int((await session.execute(query)).scalar_one())


def describe(verdict: Verdict) -> dict[str, Any]:
    """The verdict as message metadata (``meta["automation"]``)."""
    return {"outcome": str(verdict.outcome), "reason": str(verdict.reason)}
