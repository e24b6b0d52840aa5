"""The seam between the pipeline and the automation policy (``core.automation``).

For every automated request (origin automation or campaign) the pipeline asks
``core.automation.check(session, request, now)`` whether it may go out, in the transaction that
would queue it. The request carries what the policy keys on: ``tenant_id``, ``prospect_id``,
``conversation_id``, ``intent`` (else ``kind``), ``about`` and ``answers_message_id``.

The verdict is read by its attributes: ``allowed``; ``held`` (or ``hold``) — kept, queued
held for an agent to release, rather than dropped; ``reason``; ``events`` to publish after
commit. A held message is marked by ``core.automation.pauses.hold(message, row, verdict)`` when
that exists, else queued as held with no release time.

Until ``core.automation`` exists on the branch, everything is allowed (``allow_all``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession

from core.events import Event

if TYPE_CHECKING:
    from core.pipeline.request import OutgoingRequest
    from core.storage import tables as t


@dataclass(frozen=True)
class Verdict:
    """The pipeline's default verdict shape (``core.automation`` has its own, read alike)."""

    allowed: bool
    reason: str | None = None
    hold: bool = False
    events: tuple[Event, ...] = field(default=())

    @property
    def held(self) -> bool:
        """Kept and queued, but not sent until an agent releases it."""
        return self.hold


ALLOWED = Verdict(True)


class PolicyCheck(Protocol):
    """What the pipeline calls for each automated request."""

    async def __call__(
        self, session: AsyncSession, request: OutgoingRequest, now: datetime
    ) -> Any: ...


async def allow_all(session: AsyncSession, request: OutgoingRequest, now: datetime) -> Verdict:
    """The default policy: every automated message may go out."""
    return ALLOWED


@cache
def policy_check() -> PolicyCheck:
    """``core.automation.check`` when that package exists, else ``allow_all``."""
    try:
        from core.automation import check
    except ImportError:
        return allow_all
    return check


@cache
def policy_snapshot() -> Any:
    """``core.automation.snapshot.read_snapshot`` (the policy's reads for a batch of
    requests, read once), or None without ``core.automation``."""
    try:
        from core.automation.snapshot import read_snapshot
    except ImportError:
        return None
    return read_snapshot


async def batch_check(
    session: AsyncSession, requests: list[OutgoingRequest], now: datetime, check: PolicyCheck
) -> PolicyCheck:
    """``check`` for the requests of one batch: with more than one automated request, the
    automation policy's reads are done once for all of them (set-based), not per request."""
    automated = [request for request in requests if request.automated]
    read = policy_snapshot()
    if len(automated) < 2 or read is None or check is not policy_check():
        return check  # another policy (a test's) reads as it likes
    snapshot = await read(session, automated, now)
    if snapshot is None:
        return check
    automation: Any = check  # core.automation.check, which takes the snapshot
    return cast("PolicyCheck", partial(automation, snapshot=snapshot))


def is_held(verdict: Any) -> bool:
    """Whether ``verdict`` keeps the message, held, rather than dropping it."""
    return bool(getattr(verdict, "held", False) or getattr(verdict, "hold", False))


def mark_held(message: t.MessageRow, row: t.OutboxRow, verdict: Any) -> None:
    """Let the automation policy mark a message it held (``core.automation.pauses.hold``)."""
    try:
        from core.automation.pauses import hold
    except ImportError:
        reason = getattr(verdict, "reason", None)
        message.meta = {**(message.meta or {}), "held_by_automation": str(reason)}
        return
    hold(message, row, verdict)
